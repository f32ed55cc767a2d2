//! [`Connector`]: the Bot Connector REST API at an activity's
//! `serviceUrl`, authenticated with an OAuth2 client-credentials token
//! for the bot (cached until shortly before it expires).
//!
//! Rate limits (429 with `Retry-After`) and 5xx are retried through the
//! shared loop; anything else is an answer.

use crate::adapter::AdapterError;
use crate::retry::{with_retries, Attempt, GaveUp, RetryPolicy, Sleeper, TokioSleeper};
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Where multi-tenant bots get their tokens.
pub const DEFAULT_TOKEN_URL: &str =
    "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token";
const SCOPE: &str = "https://api.botframework.com/.default";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
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

impl From<ConnectorError> for AdapterError {
    fn from(error: ConnectorError) -> Self {
        match error {
            ConnectorError::RateLimited { retry_after } => {
                AdapterError::RateLimited { retry_after }
            }
            ConnectorError::Unavailable(reason) => AdapterError::Unavailable(reason),
            error @ (ConnectorError::Token(_) | ConnectorError::InvalidResponse { .. }) => {
                AdapterError::Unavailable(error.to_string())
            }
            error @ ConnectorError::Refused { .. } => AdapterError::Rejected(error.to_string()),
        }
    }
}

/// The bot's credentials.
#[derive(Clone)]
pub struct Credentials {
    pub app_id: String,
    pub app_password: String,
    pub token_url: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("app_id", &self.app_id)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

struct CachedToken {
    value: String,
    expires: Instant,
}

#[derive(Clone)]
pub struct Connector {
    http: reqwest::Client,
    credentials: Credentials,
    token: Arc<Mutex<Option<CachedToken>>>,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
}

impl Connector {
    pub fn new(credentials: Credentials) -> Self {
        Self {
            http: reqwest::Client::new(),
            credentials,
            token: Arc::new(Mutex::new(None)),
            retry: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
        }
    }

    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    pub fn app_id(&self) -> &str {
        &self.credentials.app_id
    }

    /// Posts an activity into a conversation; answers its id.
    pub async fn send(
        &self,
        service_url: &str,
        conversation: &str,
        activity: &Value,
    ) -> Result<String, ConnectorError> {
        let url = format!(
            "{}/v3/conversations/{}/activities",
            base(service_url),
            encode(conversation)
        );
        let answer = self.call("send", Method::POST, &url, activity).await?;
        Ok(answer["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Replies to an activity (in a channel: in its thread).
    pub async fn reply(
        &self,
        service_url: &str,
        conversation: &str,
        activity_id: &str,
        activity: &Value,
    ) -> Result<String, ConnectorError> {
        let url = format!(
            "{}/v3/conversations/{}/activities/{}",
            base(service_url),
            encode(conversation),
            encode(activity_id)
        );
        let answer = self.call("reply", Method::POST, &url, activity).await?;
        Ok(answer["id"].as_str().unwrap_or_default().to_owned())
    }

    /// Replaces an activity the bot sent (the headline card).
    pub async fn update(
        &self,
        service_url: &str,
        conversation: &str,
        activity_id: &str,
        activity: &Value,
    ) -> Result<(), ConnectorError> {
        let url = format!(
            "{}/v3/conversations/{}/activities/{}",
            base(service_url),
            encode(conversation),
            encode(activity_id)
        );
        self.call("update", Method::PUT, &url, activity).await?;
        Ok(())
    }

    /// Starts a conversation (a new thread in a channel); answers the
    /// conversation id and the first activity's id.
    pub async fn create_conversation(
        &self,
        service_url: &str,
        parameters: &Value,
    ) -> Result<(String, Option<String>), ConnectorError> {
        let url = format!("{}/v3/conversations", base(service_url));
        let answer = self
            .call("create conversation", Method::POST, &url, parameters)
            .await?;
        let id = answer["id"]
            .as_str()
            .ok_or_else(|| ConnectorError::InvalidResponse {
                call: "create conversation".into(),
            })?;
        Ok((
            id.to_owned(),
            answer["activityId"].as_str().map(str::to_owned),
        ))
    }

    async fn call(
        &self,
        what: &str,
        method: Method,
        url: &str,
        body: &Value,
    ) -> Result<Value, ConnectorError> {
        let label = format!("Teams {what}");
        with_retries(&self.retry, &*self.sleeper, &label, || async {
            let token = self.token().await.map_err(Attempt::Final)?;
            let response = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token)
                .json(body)
                .timeout(REQUEST_TIMEOUT)
                .send()
                .await
                .map_err(|error| Attempt::Transient(describe(what, &error)))?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = response
                .text()
                .await
                .map_err(|error| Attempt::Transient(describe(what, &error)))?;
            if status == StatusCode::TOO_MANY_REQUESTS {
                return Err(Attempt::RateLimited { retry_after });
            }
            if status.is_server_error() {
                return Err(Attempt::Transient(format!("{what}: HTTP {status}")));
            }
            if status == StatusCode::UNAUTHORIZED {
                // A revoked or expired token: the next try gets a new one.
                *self.token.lock().await = None;
            }
            if !status.is_success() {
                return Err(Attempt::Final(ConnectorError::Refused {
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
            GaveUp::RateLimited { retry_after } => ConnectorError::RateLimited { retry_after },
            GaveUp::Unavailable(reason) => ConnectorError::Unavailable(reason),
        })
    }

    /// A bot token, fetched with the client-credentials grant when the
    /// cached one is missing or about to expire.
    async fn token(&self) -> Result<String, ConnectorError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached
            .as_ref()
            .filter(|token| token.expires > Instant::now())
        {
            return Ok(token.value.clone());
        }
        let response = self
            .http
            .post(&self.credentials.token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.credentials.app_id.as_str()),
                ("client_secret", self.credentials.app_password.as_str()),
                ("scope", SCOPE),
            ])
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|error| ConnectorError::Token(describe("token", &error)))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let Some(value) = answer["access_token"]
            .as_str()
            .filter(|_| status.is_success())
        else {
            // The error fields (`error`, `error_description`) carry no secret.
            return Err(ConnectorError::Token(format!(
                "HTTP {status}: {} {}",
                answer["error"].as_str().unwrap_or_default(),
                answer["error_description"].as_str().unwrap_or_default()
            )));
        };
        let lifetime = answer["expires_in"].as_u64().unwrap_or(3600);
        // Renewed a little early, so a token never expires mid-request.
        let expires = Instant::now() + Duration::from_secs(lifetime.saturating_sub(300).max(30));
        *cached = Some(CachedToken {
            value: value.to_owned(),
            expires,
        });
        Ok(value.to_owned())
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
fn encode(segment: &str) -> String {
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

fn describe(what: &str, error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("{what}: timed out");
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    format!("{what}: {text}")
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
