//! [`Graph`]: the Microsoft Graph calls that give each incident its own
//! channel in the incidents team, which the Bot Framework cannot do.
//! Needs an application with the admin-consented `Channel.Create` and
//! `ChannelSettings.ReadWrite.All` permissions.

use super::connector::{encode, Caller, TeamsError};
use reqwest::Method;
use serde_json::{json, Value};

pub const DEFAULT_API_BASE_URL: &str = "https://graph.microsoft.com/v1.0";
pub const SCOPE: &str = "https://graph.microsoft.com/.default";

/// Channel names a team may not repeat: numbered names are tried this
/// many times before giving up.
const NAME_ATTEMPTS: usize = 10;
/// Graph's limit on a channel's display name.
const MAX_NAME: usize = 50;

#[derive(Clone)]
pub struct Graph {
    caller: Caller,
    base: String,
    /// The incidents team's id (its Microsoft 365 group id).
    team: String,
}

impl Graph {
    pub fn new(caller: Caller, base: &str, team: &str) -> Self {
        Self {
            caller,
            base: base.trim_end_matches('/').to_owned(),
            team: team.to_owned(),
        }
    }

    /// Creates a standard channel named `name` (numbered if the name is
    /// taken); answers its id, which is also its Bot Framework
    /// conversation id.
    pub async fn create_channel(
        &self,
        name: &str,
        description: &str,
    ) -> Result<String, TeamsError> {
        let url = format!("{}/teams/{}/channels", self.base, encode(&self.team));
        let base: String = name.chars().take(MAX_NAME - 3).collect();
        for attempt in 1..=NAME_ATTEMPTS {
            let display_name = if attempt == 1 {
                base.clone()
            } else {
                format!("{base}-{attempt}")
            };
            let request = json!({
                "displayName": display_name,
                "description": description.chars().take(1024).collect::<String>(),
                "membershipType": "standard",
            });
            match self
                .caller
                .call("create channel", Method::POST, &url, Some(&request))
                .await
            {
                Ok(channel) => {
                    return channel["id"].as_str().map(str::to_owned).ok_or_else(|| {
                        TeamsError::InvalidResponse {
                            call: "create channel".into(),
                        }
                    })
                }
                // Graph answers 400 `NameAlreadyExists` (or 409) for a
                // name in use.
                Err(TeamsError::Refused {
                    status: 400 | 409,
                    message,
                    ..
                }) if message.contains("NameAlreadyExists")
                    || message.contains("already exists") =>
                {
                    continue
                }
                Err(error) => return Err(error),
            }
        }
        Err(TeamsError::Refused {
            call: "create channel".into(),
            status: 409,
            message: format!("every name like {base} is taken"),
        })
    }

    /// Renames a channel and sets its description.
    pub async fn update_channel(
        &self,
        channel: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<(), TeamsError> {
        let url = format!(
            "{}/teams/{}/channels/{}",
            self.base,
            encode(&self.team),
            encode(channel)
        );
        let mut patch = serde_json::Map::new();
        if let Some(name) = name {
            patch.insert(
                "displayName".into(),
                Value::from(name.chars().take(MAX_NAME).collect::<String>()),
            );
        }
        if let Some(description) = description {
            patch.insert("description".into(), Value::from(description));
        }
        self.caller
            .call(
                "update channel",
                Method::PATCH,
                &url,
                Some(&Value::Object(patch)),
            )
            .await?;
        Ok(())
    }
}
