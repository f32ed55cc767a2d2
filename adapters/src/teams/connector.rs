//! [`Connector`]: the Bot Connector REST API at an activity's
//! `serviceUrl`, authenticated with the bot's client-credentials token.
//!
//! Rate limits (429 with `Retry-After`) and 5xx are retried through the
//! shared loop; anything else is an answer. [`call`] is shared with the
//! Graph client, so both give up the same way.

use super::token::TokenSource;
use crate::adapter::AdapterError;
use crate::retry::describe_transport_error;
use crate::retry::{with_retries, Attempt, GaveUp, RetryPolicy, Sleeper, TokioSleeper};
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Where multi-tenant bots get their tokens.
pub const DEFAULT_TOKEN_URL: &str =
    "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token";
/// What the bot's token is for.
pub const BOT_SCOPE: &str = "https://api.botframework.com/.default";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamsError {
    #[error("Teams is rate limiting this call (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    #[error("Teams unavailable: {0}")]
    Unavailable(String),
    #[error("Teams refused {call}: HTTP {status}: {message}")]
    Refused {
        call: String,
        status: u16,
        message: String,
    },
    #[error("could not get a bot token: {0}")]
    Token(String),
    #[error("Teams' answer to {call} was not understood")]
    InvalidResponse { call: String },
}

impl From<TeamsError> for AdapterError {
    fn from(error: TeamsError) -> Self {
        match error {
            TeamsError::RateLimited { retry_after } => AdapterError::RateLimited { retry_after },
            TeamsError::Unavailable(reason) => AdapterError::Unavailable(reason),
            error @ (TeamsError::Token(_) | TeamsError::InvalidResponse { .. }) => {
                AdapterError::Unavailable(error.to_string())
            }
            error @ TeamsError::Refused { .. } => AdapterError::Rejected(error.to_string()),
        }
    }
}

/// How calls are made: one HTTP client, one token, one retry policy.
#[derive(Clone)]
pub struct Caller {
    http: reqwest::Client,
    tokens: Arc<TokenSource>,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
}

impl Caller {
    pub fn new(tokens: TokenSource) -> Self {
        Self {
            http: reqwest::Client::new(),
            tokens: Arc::new(tokens),
            retry: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
        }
    }

    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// One JSON call, retried; answers the JSON body (`null` when empty).
    pub async fn call(
        &self,
        what: &str,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, TeamsError> {
        let label = format!("Teams {what}");
        with_retries(&self.retry, &*self.sleeper, &label, || async {
            let token = self
                .tokens
                .get()
                .await
                .map_err(|reason| Attempt::Final(TeamsError::Token(reason)))?;
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token)
                .timeout(REQUEST_TIMEOUT);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|error| {
                Attempt::Transient(describe_transport_error(what, &error, REQUEST_TIMEOUT))
            })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = response.text().await.map_err(|error| {
                Attempt::Transient(describe_transport_error(what, &error, REQUEST_TIMEOUT))
            })?;
            if status == StatusCode::TOO_MANY_REQUESTS {
                return Err(Attempt::RateLimited { retry_after });
            }
            if status.is_server_error() {
                return Err(Attempt::Transient(format!("{what}: HTTP {status}")));
            }
            if status == StatusCode::UNAUTHORIZED {
                // A revoked or expired token: the next try gets a new one.
                self.tokens.invalidate().await;
            }
            if !status.is_success() {
                return Err(Attempt::Final(TeamsError::Refused {
                    call: what.to_owned(),
                    status: status.as_u16(),
                    message: text.chars().take(300).collect(),
                }));
            }
            Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
        })
        .await
        .map_err(|gave_up| match gave_up {
            GaveUp::Final(error) => error,
            GaveUp::RateLimited { retry_after } => TeamsError::RateLimited { retry_after },
            GaveUp::Unavailable(reason) => TeamsError::Unavailable(reason),
        })
    }
}

#[derive(Clone)]
pub struct Connector {
    caller: Caller,
}

impl Connector {
    pub fn new(caller: Caller) -> Self {
        Self { caller }
    }

    /// Posts an activity into a conversation; answers its id.
    pub async fn send(
        &self,
        service_url: &str,
        conversation: &str,
        activity: &Value,
    ) -> Result<String, TeamsError> {
        let url = format!(
            "{}/v3/conversations/{}/activities",
            base(service_url),
            encode(conversation)
        );
        let answer = self
            .caller
            .call("send", Method::POST, &url, Some(activity))
            .await?;
        Ok(answer["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Replies to an activity (in a channel: in its thread).
    pub async fn reply(
        &self,
        service_url: &str,
        conversation: &str,
        activity_id: &str,
        activity: &Value,
    ) -> Result<String, TeamsError> {
        let url = format!(
            "{}/v3/conversations/{}/activities/{}",
            base(service_url),
            encode(conversation),
            encode(activity_id)
        );
        let answer = self
            .caller
            .call("reply", Method::POST, &url, Some(activity))
            .await?;
        Ok(answer["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Replaces an activity the bot sent (the headline card).
    pub async fn update(
        &self,
        service_url: &str,
        conversation: &str,
        activity_id: &str,
        activity: &Value,
    ) -> Result<(), TeamsError> {
        let url = format!(
            "{}/v3/conversations/{}/activities/{}",
            base(service_url),
            encode(conversation),
            encode(activity_id)
        );
        self.caller
            .call("update", Method::PUT, &url, Some(activity))
            .await?;
        Ok(())
    }

    /// A member of a conversation (`TeamsChannelAccount`: name, directory
    /// id, email), looked up by their Bot Framework id.
    pub async fn member(
        &self,
        service_url: &str,
        conversation: &str,
        user: &str,
    ) -> Result<Value, TeamsError> {
        let url = format!(
            "{}/v3/conversations/{}/members/{}",
            base(service_url),
            encode(conversation),
            encode(user)
        );
        self.caller.call("member", Method::GET, &url, None).await
    }

    /// Starts a conversation (a new thread in a channel); answers the
    /// conversation id and the first activity's id.
    pub async fn create_conversation(
        &self,
        service_url: &str,
        parameters: &Value,
    ) -> Result<(String, Option<String>), TeamsError> {
        let url = format!("{}/v3/conversations", base(service_url));
        let answer = self
            .caller
            .call("create conversation", Method::POST, &url, Some(parameters))
            .await?;
        let id = answer["id"]
            .as_str()
            .ok_or_else(|| TeamsError::InvalidResponse {
                call: "create conversation".into(),
            })?;
        Ok((
            id.to_owned(),
            answer["activityId"].as_str().map(str::to_owned),
        ))
    }
}

/// A conversation-creation request for a new thread in `channel`, opened
/// by `activity`.
pub fn new_thread(channel: &str, tenant: Option<&str>, activity: &Value) -> Value {
    let mut channel_data = json!({ "channel": { "id": channel } });
    if let Some(tenant) = tenant {
        channel_data["tenant"] = json!({ "id": tenant });
    }
    json!({
        "isGroup": true,
        "channelData": channel_data,
        "activity": activity,
    })
}

fn base(service_url: &str) -> &str {
    service_url.trim_end_matches('/')
}

/// Conversation and activity ids carry `:`, `@` and `;`: encoded as one
/// path segment.
pub(super) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(
            encode("19:abc@thread.tacv2;messageid=1700"),
            "19%3Aabc%40thread.tacv2%3Bmessageid%3D1700"
        );
    }

    #[test]
    fn a_thread_is_started_in_the_channel_of_the_tenant() {
        let request = new_thread("19:c@thread.tacv2", Some("t1"), &json!({"type": "message"}));
        assert_eq!(request["isGroup"], true);
        assert_eq!(request["channelData"]["channel"]["id"], "19:c@thread.tacv2");
        assert_eq!(request["channelData"]["tenant"]["id"], "t1");
        assert_eq!(request["activity"]["type"], "message");
    }
}
