//! [`TokenSource`]: an OAuth2 client-credentials token, fetched when
//! needed and kept until shortly before it expires. The Bot Connector and
//! Microsoft Graph each use one, with their own scope.

use crate::retry::describe_transport_error;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Tokens are renewed this long before they expire, so none runs out
/// mid-request.
const RENEW_EARLY: Duration = Duration::from_secs(300);

/// Client credentials for one application.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub token_url: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

struct Cached {
    value: String,
    renew_at: Instant,
}

pub struct TokenSource {
    http: reqwest::Client,
    credentials: Credentials,
    scope: String,
    cached: Mutex<Option<Cached>>,
}

impl TokenSource {
    pub fn new(credentials: Credentials, scope: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            credentials,
            scope: scope.to_owned(),
            cached: Mutex::new(None),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.credentials.client_id
    }

    /// A valid token; the error text carries no secret.
    pub async fn get(&self) -> Result<String, String> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached
            .as_ref()
            .filter(|token| token.renew_at > Instant::now())
        {
            return Ok(token.value.clone());
        }
        let response = self
            .http
            .post(&self.credentials.token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.credentials.client_id.as_str()),
                ("client_secret", self.credentials.client_secret.as_str()),
                ("scope", self.scope.as_str()),
            ])
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|error| describe_transport_error("token", &error, REQUEST_TIMEOUT))?;
        let status = response.status();
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        let Some(value) = answer["access_token"]
            .as_str()
            .filter(|_| status.is_success())
        else {
            return Err(format!(
                "HTTP {status}: {} {}",
                answer["error"].as_str().unwrap_or_default(),
                answer["error_description"].as_str().unwrap_or_default()
            ));
        };
        let lifetime = Duration::from_secs(answer["expires_in"].as_u64().unwrap_or(3600));
        let keep = lifetime
            .saturating_sub(RENEW_EARLY)
            .max(Duration::from_secs(30));
        *cached = Some(Cached {
            value: value.to_owned(),
            renew_at: Instant::now() + keep,
        });
        Ok(value.to_owned())
    }

    /// Drops the cached token (it was refused), so the next call fetches
    /// a new one.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}
