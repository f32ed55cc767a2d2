//! Typed wrappers for the Web API methods the Slack adapter uses: each
//! builds the documented request, calls [`SlackClient::call`], and returns
//! only what the engine needs (ids and names).
//!
//! Some refusals mean the goal is already reached (`already_in_channel`,
//! `already_pinned`, `already_reacted`); an effect replayed after a restart
//! hits them, so they count as success here.

use super::{SlackClient, SlackError};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::time::Instant;

/// Where a posted message landed: Slack names a message by its channel and
/// timestamp (<https://api.slack.com/methods/chat.postMessage#examples>).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PostedMessage {
    pub channel: String,
    pub ts: String,
}

/// A conversation's id and name
/// (<https://api.slack.com/types/conversation>).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChannelInfo {
    pub id: String,
    /// Empty for direct messages, which have no name.
    #[serde(default)]
    pub name: String,
}

/// An opened modal (<https://api.slack.com/methods/views.open>); its id is
/// what `views.update` needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ViewInfo {
    pub id: String,
}

/// The names Slack knows a person by
/// (<https://api.slack.com/methods/users.info>). Empty names are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub id: String,
    /// The legacy username (`ana.lima`).
    pub name: String,
    pub real_name: Option<String>,
    /// What Slack shows in the message list, when the person set one.
    pub display_name: Option<String>,
}

impl UserInfo {
    /// The name Slack itself would show: display name, else real name,
    /// else username.
    pub fn preferred_name(&self) -> &str {
        self.display_name
            .as_deref()
            .or(self.real_name.as_deref())
            .unwrap_or(&self.name)
    }
}

/// Who the token belongs to (<https://api.slack.com/methods/auth.test>).
/// The engine learns the bot's own `user_id` at start-up, to ignore its own
/// messages and recognise mentions of itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthInfo {
    pub user_id: String,
    /// Present for bot tokens only.
    #[serde(default)]
    pub bot_id: Option<String>,
    pub team_id: String,
}

impl SlackClient {
    /// `chat.postMessage`: posts `payload` (`{"text": …, "blocks": […]}`)
    /// to `channel`, in the thread of `thread_ts` when given.
    pub async fn post_message(
        &self,
        channel: &str,
        payload: Value,
        thread_ts: Option<&str>,
    ) -> Result<PostedMessage, SlackError> {
        const METHOD: &str = "chat.postMessage";
        let mut body = object_payload(METHOD, payload)?;
        body.insert("channel".to_owned(), json!(channel));
        if let Some(thread_ts) = thread_ts {
            body.insert("thread_ts".to_owned(), json!(thread_ts));
        }
        let answer = self.call(METHOD, &Value::Object(body)).await?;
        parse(METHOD, answer)
    }

    /// `chat.update`: replaces the content of the message `ts` in `channel`.
    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        payload: Value,
    ) -> Result<(), SlackError> {
        const METHOD: &str = "chat.update";
        let mut body = object_payload(METHOD, payload)?;
        body.insert("channel".to_owned(), json!(channel));
        body.insert("ts".to_owned(), json!(ts));
        self.call(METHOD, &Value::Object(body)).await?;
        Ok(())
    }

    /// `chat.postEphemeral`: shows `payload` to `user` only, in `channel`.
    /// Ephemeral messages cannot be updated, so nothing is returned.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        payload: Value,
    ) -> Result<(), SlackError> {
        const METHOD: &str = "chat.postEphemeral";
        let mut body = object_payload(METHOD, payload)?;
        body.insert("channel".to_owned(), json!(channel));
        body.insert("user".to_owned(), json!(user));
        self.call(METHOD, &Value::Object(body)).await?;
        Ok(())
    }

    /// `conversations.create`. A taken name comes back as
    /// [`SlackError::Api`] with code `name_taken`; the caller picks another.
    pub async fn create_conversation(
        &self,
        name: &str,
        is_private: bool,
    ) -> Result<ChannelInfo, SlackError> {
        const METHOD: &str = "conversations.create";
        let answer = self
            .call(METHOD, &json!({ "name": name, "is_private": is_private }))
            .await?;
        parse_channel(METHOD, answer)
    }

    /// `conversations.invite`. People already in the channel are fine.
    ///
    /// Slack refuses a whole batch when any one invitee fails
    /// (<https://api.slack.com/methods/conversations.invite>), so when a
    /// batch is refused with `already_in_channel` the others may not have
    /// been added: each is then invited on their own.
    pub async fn invite(&self, channel: &str, users: &[&str]) -> Result<(), SlackError> {
        let mut distinct: Vec<&str> = Vec::with_capacity(users.len());
        for user in users {
            if !distinct.contains(user) {
                distinct.push(user);
            }
        }
        match self.invite_batch(channel, &distinct).await {
            Err(error) if error.code() == Some(ALREADY_IN_CHANNEL) && distinct.len() > 1 => {
                tracing::debug!("batch invite refused as already_in_channel; inviting one by one");
                for user in distinct {
                    self.invite_batch(channel, &[user]).await?;
                }
                Ok(())
            }
            other => other,
        }
    }

    /// `conversations.setTopic`.
    pub async fn set_topic(&self, channel: &str, topic: &str) -> Result<(), SlackError> {
        self.call(
            "conversations.setTopic",
            &json!({ "channel": channel, "topic": topic }),
        )
        .await?;
        Ok(())
    }

    /// `conversations.rename`.
    pub async fn rename(&self, channel: &str, name: &str) -> Result<(), SlackError> {
        self.call(
            "conversations.rename",
            &json!({ "channel": channel, "name": name }),
        )
        .await?;
        Ok(())
    }

    /// `conversations.join`: puts the bot itself in a public channel.
    pub async fn join(&self, channel: &str) -> Result<(), SlackError> {
        self.call("conversations.join", &json!({ "channel": channel }))
            .await?;
        Ok(())
    }

    /// `conversations.info` (a read method, so form-encoded).
    pub async fn conversation_info(&self, channel: &str) -> Result<ChannelInfo, SlackError> {
        const METHOD: &str = "conversations.info";
        let answer = self.call_form(METHOD, &[("channel", channel)]).await?;
        parse_channel(METHOD, answer)
    }

    /// `pins.add`. A message already pinned is fine.
    pub async fn pin(&self, channel: &str, ts: &str) -> Result<(), SlackError> {
        let result = self
            .call("pins.add", &json!({ "channel": channel, "timestamp": ts }))
            .await;
        succeed_if_already(result, "already_pinned")
    }

    /// `views.open`: opens a modal for the interaction that gave
    /// `trigger_id` (valid for 3 s after the click).
    pub async fn open_view(&self, trigger_id: &str, view: Value) -> Result<ViewInfo, SlackError> {
        const METHOD: &str = "views.open";
        let answer = self
            .call(METHOD, &json!({ "trigger_id": trigger_id, "view": view }))
            .await?;
        parse_field(METHOD, answer, "view")
    }

    /// `views.update`: replaces the content of the open modal `view_id`.
    pub async fn update_view(&self, view_id: &str, view: Value) -> Result<(), SlackError> {
        self.call("views.update", &json!({ "view_id": view_id, "view": view }))
            .await?;
        Ok(())
    }

    /// `users.info` (a read method, so form-encoded), answered from the
    /// cache while the last answer is fresh.
    pub async fn user_info(&self, user: &str) -> Result<UserInfo, SlackError> {
        const METHOD: &str = "users.info";
        if let Some(cached) = self.users.get(user, Instant::now()) {
            return Ok(cached);
        }
        let answer = self.call_form(METHOD, &[("user", user)]).await?;
        let wire: WireUser = parse_field(METHOD, answer, "user")?;
        let info = UserInfo {
            id: wire.id,
            name: wire.name,
            real_name: non_empty(wire.real_name).or_else(|| non_empty(wire.profile.real_name)),
            display_name: non_empty(wire.profile.display_name),
        };
        self.users.insert(info.clone(), Instant::now());
        Ok(info)
    }

    /// `reactions.add`: reacts with emoji `name` (`white_check_mark`; colons
    /// are stripped). A reaction already there is fine.
    pub async fn add_reaction(
        &self,
        channel: &str,
        ts: &str,
        name: &str,
    ) -> Result<(), SlackError> {
        let result = self
            .call(
                "reactions.add",
                &json!({ "channel": channel, "timestamp": ts, "name": name.trim_matches(':') }),
            )
            .await;
        succeed_if_already(result, "already_reacted")
    }

    /// `auth.test`: who this token is.
    pub async fn auth_test(&self) -> Result<AuthInfo, SlackError> {
        const METHOD: &str = "auth.test";
        let answer = self.call(METHOD, &json!({})).await?;
        parse(METHOD, answer)
    }

    async fn invite_batch(&self, channel: &str, users: &[&str]) -> Result<(), SlackError> {
        if users.is_empty() {
            return Ok(());
        }
        let result = self
            .call(
                "conversations.invite",
                &json!({ "channel": channel, "users": users.join(",") }),
            )
            .await;
        if users.len() == 1 {
            succeed_if_already(result, ALREADY_IN_CHANNEL)
        } else {
            result.map(|_| ())
        }
    }
}

const ALREADY_IN_CHANNEL: &str = "already_in_channel";

/// `users.info`'s `user` object, reduced to the names we keep.
#[derive(Deserialize)]
struct WireUser {
    id: String,
    name: String,
    #[serde(default)]
    real_name: Option<String>,
    #[serde(default)]
    profile: WireProfile,
}

#[derive(Deserialize, Default)]
struct WireProfile {
    #[serde(default)]
    real_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

/// Message payloads are merged with the method's own fields, so they must
/// be JSON objects.
fn object_payload(method: &str, payload: Value) -> Result<Map<String, Value>, SlackError> {
    match payload {
        Value::Object(fields) => Ok(fields),
        other => Err(SlackError::InvalidRequest {
            method: method.to_owned(),
            reason: format!("the payload must be a JSON object, not {}", kind_of(&other)),
        }),
    }
}

fn succeed_if_already(result: Result<Value, SlackError>, code: &str) -> Result<(), SlackError> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some(code) => {
            tracing::debug!(code, "nothing to do");
            Ok(())
        }
        Err(error) => Err(error),
    }
}

fn parse<T: DeserializeOwned>(method: &str, answer: Value) -> Result<T, SlackError> {
    serde_json::from_value(answer).map_err(|error| SlackError::InvalidResponse {
        method: method.to_owned(),
        reason: error.to_string(),
    })
}

fn parse_field<T: DeserializeOwned>(
    method: &str,
    mut answer: Value,
    field: &str,
) -> Result<T, SlackError> {
    match answer.get_mut(field).map(Value::take) {
        Some(value) => parse(method, value).map_err(|error| match error {
            SlackError::InvalidResponse { method, reason } => SlackError::InvalidResponse {
                method,
                reason: format!("`{field}`: {reason}"),
            },
            other => other,
        }),
        None => Err(SlackError::InvalidResponse {
            method: method.to_owned(),
            reason: format!("no `{field}` in the answer"),
        }),
    }
}

fn parse_channel(method: &str, answer: Value) -> Result<ChannelInfo, SlackError> {
    parse_field(method, answer, "channel")
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
