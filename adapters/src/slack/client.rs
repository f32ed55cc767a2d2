//! The Slack Web API client: one authenticated POST per method call, with
//! the retrying DESIGN.md rule 5 asks for ("outbound calls are retried, not
//! lost").
//!
//! Slack answers almost everything with HTTP 200 and a JSON body whose `ok`
//! field says whether the call worked (<https://api.slack.com/web#responses>).
//! The HTTP status matters for rate limits (429 with `Retry-After` in
//! seconds, <https://api.slack.com/apis/rate-limits>) and for Slack's own
//! outages (5xx). [`SlackClient::call`] retries what may pass (rate limits,
//! 5xx, timeouts, refused connections, and the `ok: false` codes that mean
//! "our fault, try again"), waiting through an injected [`Sleeper`], and
//! returns a [`SlackError`] for what still fails after
//! [`RetryPolicy::max_attempts`], so the caller can record it.
//!
//! The typed wrappers (`post_message`, `create_conversation`, `invite`, …)
//! live in `methods`; they build each method's documented request and pick
//! out the ids the engine needs.
//!
//! The bot token is a secret: it lives only in a header value marked
//! sensitive, and neither `Debug` nor any error or log line shows it.

mod error;
mod methods;
mod pacing;

#[cfg(test)]
mod tests;
mod user_cache;

pub use error::SlackError;
pub use methods::{AuthInfo, ChannelInfo, PostedMessage, UserInfo, ViewInfo};
pub use pacing::{per_channel, published_per_minute, Pacer};

use crate::retry::{with_retries, Attempt, GaveUp, RetryPolicy, Sleeper, TokioSleeper};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use user_cache::UserCache;

/// Where Slack serves the Web API. Configurable (DESIGN.md: every
/// platform's API base URL is) so tests and proxies can point elsewhere.
pub const DEFAULT_API_BASE_URL: &str = "https://slack.com/api/";

/// How long one request may take before it counts as a transient failure.
/// Slack answers in well under a second when healthy; an incident actor
/// waits on this call, so a hung connection must not hold it for long.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a `users.info` answer is reused.
pub const DEFAULT_USER_CACHE_TTL: Duration = Duration::from_secs(60 * 60);

/// The wait when Slack rate-limits without a usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Slack warns (`missing_charset`) when a JSON body does not name its charset.
const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// `ok: false` codes that mean Slack failed, not our request
/// (<https://api.slack.com/methods/chat.postMessage#errors>): retried like
/// a 5xx.
const TRANSIENT_ERROR_CODES: [&str; 3] = ["internal_error", "fatal_error", "service_unavailable"];

/// A Slack Web API client for one bot token. Cheap to clone; clones share
/// the connection pool and the user cache.
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    /// The base URL without its trailing slash, so `{base}/{method}` is
    /// right whichever way the operator wrote it.
    base_url: String,
    /// `Bearer <token>`, marked sensitive so the HTTP stack never prints it.
    authorization: HeaderValue,
    retry: RetryPolicy,
    request_timeout: Duration,
    sleeper: Arc<dyn Sleeper>,
    users: Arc<UserCache>,
    pacer: Arc<Pacer>,
}

impl SlackClient {
    /// A client for the Web API at `api_base_url` (normally
    /// [`DEFAULT_API_BASE_URL`]; with or without a trailing slash) that
    /// authenticates with `bot_token` (`xoxb-…`).
    pub fn new(api_base_url: &str, bot_token: String) -> Result<Self, SlackError> {
        let base_url = normalise_base_url(api_base_url)?;
        let authorization = bearer_header(bot_token)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("firebreak/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                SlackError::InvalidConfig(format!("could not build the HTTP client: {error}"))
            })?;
        Ok(SlackClient {
            http,
            base_url,
            authorization,
            retry: RetryPolicy::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            sleeper: Arc::new(TokioSleeper),
            users: Arc::new(UserCache::new(DEFAULT_USER_CACHE_TTL)),
            pacer: Arc::new(Pacer::new(1.0)),
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Paces calls as if Slack's limits were `speed` times as generous:
    /// 1 (the default) for Slack itself, more only for a fake Web API that
    /// speeds its limits up the same way. See [`Pacer`].
    pub fn with_pacing_speed(mut self, speed: f64) -> Self {
        self.pacer = Arc::new(Pacer::new(speed));
        self
    }

    /// Starts a fresh user cache that keeps answers for `ttl`.
    pub fn with_user_cache_ttl(mut self, ttl: Duration) -> Self {
        self.users = Arc::new(UserCache::new(ttl));
        self
    }

    /// Calls Web API `method` (`chat.postMessage`) with a JSON body and
    /// returns Slack's whole answer when it says `"ok": true`.
    ///
    /// Rate limits, 5xx, timeouts, connection errors and the codes
    /// `ratelimited`, `internal_error`, `fatal_error`, `service_unavailable`
    /// are retried per the [`RetryPolicy`]; any other `"ok": false` is
    /// returned at once as [`SlackError::Api`].
    ///
    /// Retrying a write whose response was lost (timeout, 5xx, `fatal_error`)
    /// can apply it twice; Slack offers no idempotency key, and a duplicate
    /// message is better than a lost one.
    #[tracing::instrument(name = "slack_call", skip_all, fields(method = %method))]
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SlackError> {
        let bytes = serde_json::to_vec(body).map_err(|error| SlackError::InvalidRequest {
            method: method.to_owned(),
            reason: format!("body is not serialisable JSON: {error}"),
        })?;
        let channel = body.get("channel").and_then(Value::as_str);
        self.call_with_retries(
            method,
            EncodedBody {
                content_type: JSON_CONTENT_TYPE,
                bytes,
                channel: channel.map(str::to_owned),
            },
        )
        .await
    }

    /// Like [`call`](Self::call), but sends the arguments form-encoded.
    /// Slack's read methods (`users.info`, `conversations.info`) ignore a
    /// JSON body and answer as if no arguments were sent (`users.info`
    /// says `user_not_found`), so they must go this way.
    #[tracing::instrument(name = "slack_call", skip_all, fields(method = %method))]
    pub async fn call_form(
        &self,
        method: &str,
        fields: &[(&str, &str)],
    ) -> Result<Value, SlackError> {
        let encoded =
            serde_urlencoded::to_string(fields).map_err(|error| SlackError::InvalidRequest {
                method: method.to_owned(),
                reason: format!("arguments cannot be form-encoded: {error}"),
            })?;
        let channel = fields
            .iter()
            .find(|(name, _)| *name == "channel")
            .map(|(_, value)| (*value).to_owned());
        self.call_with_retries(
            method,
            EncodedBody {
                content_type: FORM_CONTENT_TYPE,
                bytes: encoded.into_bytes(),
                channel,
            },
        )
        .await
    }

    async fn call_with_retries(
        &self,
        method: &str,
        body: EncodedBody,
    ) -> Result<Value, SlackError> {
        check_method_name(method)?;
        let what = format!("Slack {method}");
        // Only the first request waits for a slot: a retry already waited
        // out its backoff or `Retry-After`.
        let first = AtomicBool::new(true);
        let (first, body) = (&first, &body);
        with_retries(&self.retry, &*self.sleeper, &what, move || async move {
            if first.swap(false, Ordering::Relaxed) {
                self.wait_for_slot(method, body).await;
            }
            let outcome = self.attempt(method, body).await;
            if let Err(Attempt::RateLimited {
                retry_after: Some(retry_after),
            }) = &outcome
            {
                self.pacer.pause(
                    method,
                    body.channel.as_deref(),
                    Instant::now(),
                    *retry_after,
                );
            }
            outcome
        })
        .await
        .map_err(|gave_up| match gave_up {
            GaveUp::Final(error) => error,
            GaveUp::RateLimited { retry_after } => SlackError::RateLimited { retry_after },
            GaveUp::Unavailable(reason) => SlackError::Unavailable(reason),
        })
    }

    /// Waits for the call's slot under Slack's limits. On the real clock,
    /// not the injected sleeper: the limits are Slack's wall-clock ones,
    /// whatever clock the incidents run on.
    async fn wait_for_slot(&self, method: &str, body: &EncodedBody) {
        let wait = self
            .pacer
            .reserve(method, body.channel.as_deref(), Instant::now());
        if !wait.is_zero() {
            tracing::debug!(
                method,
                wait_ms = wait.as_millis() as u64,
                "pacing a Slack call"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&self, method: &str, body: &EncodedBody) -> Result<Value, Failure> {
        let response = self
            .http
            .post(format!("{}/{}", self.base_url, method))
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, body.content_type)
            .body(body.bytes.clone())
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|error| Attempt::Transient(self.describe_transport_error(method, &error)))?;

        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Attempt::RateLimited {
                retry_after: Some(retry_after.unwrap_or(DEFAULT_RETRY_AFTER)),
            });
        }
        if status.is_server_error() {
            return Err(Attempt::Transient(format!("{method}: HTTP {status}")));
        }
        // A body cut off mid-way is the network failing, not Slack answering.
        let bytes = response
            .bytes()
            .await
            .map_err(|error| Attempt::Transient(self.describe_transport_error(method, &error)))?;
        let answer: Value = serde_json::from_slice(&bytes).map_err(|_| {
            Attempt::Final(invalid_response(
                method,
                format!("HTTP {status} with a body that is not JSON"),
            ))
        })?;

        match answer.get("ok").and_then(Value::as_bool) {
            Some(true) if status.is_success() => Ok(answer),
            Some(false) => Err(classify_refusal(method, &answer, retry_after)),
            _ => Err(Attempt::Final(invalid_response(
                method,
                format!("HTTP {status} without the documented boolean `ok`"),
            ))),
        }
    }

    fn describe_transport_error(&self, method: &str, error: &reqwest::Error) -> String {
        crate::retry::describe_transport_error(method, error, self.request_timeout)
    }
}

impl fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackClient")
            .field("base_url", &self.base_url)
            .field("bot_token", &"<redacted>")
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// A request body encoded once and re-sent on each attempt.
struct EncodedBody {
    content_type: &'static str,
    bytes: Vec<u8>,
    /// The `channel` argument, for pacing per channel.
    channel: Option<String>,
}

/// How one attempt went when it did not succeed.
type Failure = Attempt<SlackError>;

fn classify_refusal(method: &str, answer: &Value, retry_after: Option<Duration>) -> Failure {
    let text_field = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
    let code = text_field("error").unwrap_or_else(|| "unknown_error".to_owned());
    if code == "ratelimited" {
        return Attempt::RateLimited {
            retry_after: Some(retry_after.unwrap_or(DEFAULT_RETRY_AFTER)),
        };
    }
    if TRANSIENT_ERROR_CODES.contains(&code.as_str()) {
        return Attempt::Transient(format!("{method}: {code}"));
    }
    Attempt::Final(SlackError::Api {
        method: method.to_owned(),
        code,
        needed: text_field("needed"),
        provided: text_field("provided"),
    })
}

fn invalid_response(method: &str, reason: String) -> SlackError {
    SlackError::InvalidResponse {
        method: method.to_owned(),
        reason,
    }
}

/// Slack sends whole seconds (<https://api.slack.com/apis/rate-limits>);
/// anything else counts as absent.
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

fn normalise_base_url(api_base_url: &str) -> Result<String, SlackError> {
    let parsed = reqwest::Url::parse(api_base_url.trim()).map_err(|error| {
        SlackError::InvalidConfig(format!(
            "API base URL {api_base_url:?} is not a URL: {error}"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(SlackError::InvalidConfig(format!(
            "API base URL {api_base_url:?} must be a plain http(s) URL"
        )));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// The token is trimmed because secrets read from files often end in a
/// newline; error messages describe it without ever quoting it.
fn bearer_header(bot_token: String) -> Result<HeaderValue, SlackError> {
    let token = bot_token.trim();
    if token.is_empty() {
        return Err(SlackError::InvalidConfig(
            "the bot token is empty".to_owned(),
        ));
    }
    let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
        SlackError::InvalidConfig(
            "the bot token contains characters not allowed in an HTTP header".to_owned(),
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Method names go into the URL path: only Slack's `family.method` shape
/// is let through, so a stray `/` or `?` cannot send the request elsewhere.
fn check_method_name(method: &str) -> Result<(), SlackError> {
    let well_formed = !method.is_empty()
        && method
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    if well_formed {
        Ok(())
    } else {
        Err(SlackError::InvalidRequest {
            method: method.to_owned(),
            reason: "not a Web API method name".to_owned(),
        })
    }
}
