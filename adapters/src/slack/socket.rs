//! Slack Socket Mode: Slack's requests arrive over a WebSocket we open,
//! instead of as HTTP requests to a public URL
//! (<https://api.slack.com/apis/connections/socket>).
//!
//! [`SocketMode::run`] keeps one connection open: it asks
//! `apps.connections.open` (<https://api.slack.com/methods/apps.connections.open>,
//! authenticated with the app-level `xapp-…` token) for a WebSocket URL,
//! connects, hands every envelope to a [`SocketHandler`] in the form the
//! HTTP routes receive (so classification, the inbox and decoding are
//! shared), and acknowledges the envelope only after the handler returned
//! `Ok`: an event that could not be stored is not acknowledged, and Slack
//! redelivers it.
//!
//! Slack refreshes connections every few hours and announces it with a
//! `disconnect` frame. We open the replacement first and keep serving the
//! old connection until the new one is up, so nothing sent in between is
//! missed; then the old one finishes the handler calls it has in hand,
//! sends their acks, and closes. Closed or failed sockets are reopened
//! too; failed attempts (including a connection that ends before Slack's
//! `hello`) back off per the [`RetryPolicy`], waiting through the
//! injected [`Sleeper`], and the loop never gives up: Socket Mode is the
//! only way Slack reaches us when it is configured.
//!
//! The app token is a secret: it is only ever in the Web API client's
//! sensitive header. The WebSocket URL carries a one-use ticket, so only
//! its host is logged.

mod connection;
#[cfg(test)]
mod tests;
mod wire;

use crate::retry::{RetryPolicy, Sleeper, TokioSleeper};
use crate::slack::client::{SlackClient, SlackError};
use crate::slack::inbound::RequestKind;
use async_trait::async_trait;
use connection::{Connection, Ended};
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use wire::DisconnectReason;

/// After this long without a frame from Slack we ping; after twice this
/// long the connection counts as dead and is replaced.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(30);

/// How long the TCP, TLS and WebSocket handshakes may take together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the application does with a request that arrived over the socket:
/// exactly what it does with the same request over HTTP (store it in the
/// inbox, or open a modal on the fast path).
#[async_trait]
pub trait SocketHandler: Send + Sync + 'static {
    /// `body` is what the matching HTTP route would have received, so the
    /// rest of the pipeline is unchanged: for [`RequestKind::Events`] the
    /// event callback JSON; for [`RequestKind::Command`] the slash command
    /// fields form-encoded (`command=%2Fincident&text=…`, as
    /// [`parse_command`](crate::slack::inbound::parse_command) reads); for
    /// [`RequestKind::Interaction`] `payload=<JSON>` form-encoded.
    ///
    /// `Ok(Some(response))` puts `response` in the ack (a modal's
    /// `{"response_action":"errors",…}`, a slash command's reply); it is
    /// dropped, with a warning, for envelopes that accept none (Events API).
    /// `Err` leaves the envelope unacknowledged, so Slack redelivers it;
    /// the text is logged.
    ///
    /// Calls for different envelopes may run concurrently. Slack wants the
    /// ack within 3 s, so do only what the HTTP route does before
    /// answering.
    async fn handle(&self, kind: RequestKind, body: String) -> Result<Option<Value>, String>;
}

/// Why opening or keeping a Socket Mode connection failed. The run loop
/// logs these and tries again; only [`SocketMode::new`] returns one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketError {
    /// The settings cannot work (the token is not an app-level token, the
    /// API base URL is not a URL).
    #[error("invalid Socket Mode configuration: {0}")]
    InvalidConfig(String),
    /// `apps.connections.open` failed (after the Web API client's own
    /// retries); `invalid_auth` or `not_allowed_token_type` mean the app
    /// token is wrong.
    #[error("could not get a Socket Mode URL: {0}")]
    Open(SlackError),
    /// `apps.connections.open` answered without a usable `ws(s)://` URL.
    #[error("apps.connections.open gave no usable WebSocket URL: {0}")]
    InvalidUrl(String),
    /// The WebSocket handshake failed or timed out.
    #[error("could not connect to the Socket Mode URL: {0}")]
    Connect(String),
    /// Reading from or writing to an open socket failed.
    #[error("the Socket Mode connection failed: {0}")]
    Transport(String),
    /// Nothing arrived, not even a pong, for this long.
    #[error("no frame from Slack for {0:?}")]
    Silent(Duration),
    /// A frame that is not a Socket Mode frame; skipped.
    #[error("unreadable Socket Mode frame: {0}")]
    MalformedFrame(String),
    /// An envelope whose payload cannot be handed on; skipped, not
    /// acknowledged.
    #[error("unusable envelope {envelope_id}: {reason}")]
    MalformedEnvelope { envelope_id: String, reason: String },
}

/// A Socket Mode client for one Slack app.
pub struct SocketMode {
    /// Calls `apps.connections.open` with the app token, which it holds as
    /// a sensitive header.
    api: SlackClient,
    /// Only the backoff fields matter here: reconnecting never gives up.
    /// `max_attempts` bounds each `apps.connections.open` call's own
    /// retries inside the client.
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    keepalive: Duration,
}

impl SocketMode {
    /// A client that opens connections through the Web API at
    /// `api_base_url` (normally
    /// [`DEFAULT_API_BASE_URL`](crate::slack::client::DEFAULT_API_BASE_URL))
    /// with `app_token`, the app-level token (`xapp-…`) from the app's
    /// Basic Information page.
    pub fn new(api_base_url: &str, app_token: String) -> Result<Self, SocketError> {
        check_app_token(&app_token)?;
        let api = SlackClient::new(api_base_url, app_token).map_err(|error| match error {
            SlackError::InvalidConfig(reason) => SocketError::InvalidConfig(reason),
            other => SocketError::InvalidConfig(other.to_string()),
        })?;
        Ok(SocketMode {
            api,
            retry: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
            keepalive: DEFAULT_KEEPALIVE,
        })
    }

    /// Waits between reconnection attempts (and between the
    /// `apps.connections.open` client's retries) through `sleeper`.
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.api = self.api.with_sleeper(Arc::clone(&sleeper));
        self.sleeper = sleeper;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.api = self.api.with_retry(retry);
        self.retry = retry;
        self
    }

    /// See [`DEFAULT_KEEPALIVE`]. Zero is treated as one millisecond.
    pub fn with_keepalive(mut self, keepalive: Duration) -> Self {
        self.keepalive = keepalive.max(Duration::from_millis(1));
        self
    }

    /// Serves Slack until `shutdown` resolves, then stops reading, lets the
    /// handler calls in hand finish and sends their acks, closes the
    /// socket and returns. Never returns before that: every failure is
    /// logged and followed by a new connection (see the module docs).
    #[tracing::instrument(
        name = "slack_socket",
        skip_all,
        fields(platform = "slack", mode = "socket")
    )]
    pub async fn run(
        self,
        handler: Arc<dyn SocketHandler>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        let mut shutdown: Pin<Box<dyn Future<Output = ()> + Send + '_>> = Box::pin(shutdown);
        let mut attempts = Attempts::default();
        let Some(mut current) = self.open(&mut attempts, shutdown.as_mut()).await else {
            tracing::info!("shut down before a Socket Mode connection opened");
            return;
        };
        // The connection being replaced: it finishes its handler calls
        // while the new one serves.
        let mut retiring: Option<Connection> = None;
        loop {
            let (ended, ()) = tokio::join!(
                async {
                    tokio::select! {
                        biased;
                        () = shutdown.as_mut() => None,
                        ended = current.serve(&handler) => Some(ended),
                    }
                },
                async {
                    if let Some(old) = retiring.take() {
                        old.finish().await;
                    }
                },
            );
            let Some(ended) = ended else {
                tracing::info!(
                    connection = current.number(),
                    "shutting down: finishing the envelopes in hand"
                );
                current.finish().await;
                return;
            };
            if current.greeted() {
                attempts.consecutive_failures = 0;
            }
            match ended {
                Ended::Disconnect(DisconnectReason::LinkDisabled) => {
                    tracing::warn!(
                        connection = current.number(),
                        "Slack says Socket Mode is switched off for this app; retrying with backoff"
                    );
                    attempts.failed();
                }
                Ended::Disconnect(reason) => {
                    tracing::info!(
                        connection = current.number(),
                        %reason,
                        "Slack asked for a new connection; opening it before leaving this one"
                    );
                }
                Ended::Closed => {
                    tracing::info!(
                        connection = current.number(),
                        "connection closed; reconnecting"
                    );
                    if !current.greeted() {
                        attempts.failed();
                    }
                }
                Ended::Failed(error) => {
                    tracing::warn!(connection = current.number(), %error, "connection failed; reconnecting");
                    if !current.greeted() {
                        attempts.failed();
                    }
                }
            }
            let Some(next) = self
                .replace(&mut current, &handler, &mut attempts, shutdown.as_mut())
                .await
            else {
                tracing::info!(
                    connection = current.number(),
                    "shutting down while reconnecting"
                );
                current.finish().await;
                return;
            };
            retiring = Some(std::mem::replace(&mut current, next));
        }
    }

    /// Opens the next connection while `old` keeps serving for as long as
    /// it can (Slack may still deliver on it until it drops it), or else
    /// finishes the handler calls it has in hand. `None` on shutdown.
    async fn replace(
        &self,
        old: &mut Connection,
        handler: &Arc<dyn SocketHandler>,
        attempts: &mut Attempts,
        shutdown: Pin<&mut (dyn Future<Output = ()> + Send + '_)>,
    ) -> Option<Connection> {
        let opening = self.open(attempts, shutdown);
        tokio::pin!(opening);
        while old.is_usable() {
            tokio::select! {
                next = &mut opening => return next,
                ended = old.serve(handler) => match ended {
                    Ended::Disconnect(reason) => {
                        tracing::debug!(connection = old.number(), %reason, "another disconnect while reconnecting");
                    }
                    Ended::Closed => {
                        tracing::debug!(connection = old.number(), "old connection closed while reconnecting");
                    }
                    Ended::Failed(error) => {
                        tracing::debug!(connection = old.number(), %error, "old connection failed while reconnecting");
                    }
                },
            }
        }
        let (next, ()) = tokio::join!(&mut opening, old.drain());
        next
    }

    /// Opens a connection, backing off after failures, until one opens
    /// (`Some`) or `shutdown` resolves (`None`).
    async fn open(
        &self,
        attempts: &mut Attempts,
        mut shutdown: Pin<&mut (dyn Future<Output = ()> + Send + '_)>,
    ) -> Option<Connection> {
        loop {
            if attempts.consecutive_failures > 0 {
                // Slack's own word on when to come back wins over a shorter
                // backoff: apps.connections.open is a Tier 1 method.
                let delay = self
                    .retry
                    .backoff(attempts.consecutive_failures)
                    .max(attempts.retry_after.take().unwrap_or_default());
                tracing::info!(
                    failures = attempts.consecutive_failures,
                    delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "waiting before the next Socket Mode connection attempt"
                );
                tokio::select! {
                    biased;
                    () = shutdown.as_mut() => return None,
                    () = self.sleeper.sleep(delay) => {}
                }
            }
            attempts.opened += 1;
            let number = attempts.opened;
            tokio::select! {
                biased;
                () = shutdown.as_mut() => return None,
                opened = self.open_once(number) => match opened {
                    Ok(connection) => return Some(connection),
                    Err(error) => {
                        attempts.failed();
                        if let SocketError::Open(SlackError::RateLimited { retry_after }) = &error {
                            attempts.retry_after = Some(*retry_after);
                        }
                        if matches!(error, SocketError::Open(SlackError::Api { .. })) {
                            // Slack refused the token or the app: an
                            // operator has to act.
                            tracing::error!(connection = number, %error, "Slack refused to open a Socket Mode connection; check the app-level token");
                        } else {
                            tracing::warn!(connection = number, %error, "could not open a Socket Mode connection");
                        }
                    }
                },
            }
        }
    }

    async fn open_once(&self, number: u64) -> Result<Connection, SocketError> {
        let answer = self
            .api
            .call("apps.connections.open", &serde_json::json!({}))
            .await
            .map_err(SocketError::Open)?;
        let url = answer
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| SocketError::InvalidUrl("the answer has no `url`".to_owned()))?;
        let parsed = reqwest::Url::parse(url)
            .map_err(|error| SocketError::InvalidUrl(format!("not a URL: {error}")))?;
        if !matches!(parsed.scheme(), "wss" | "ws") {
            return Err(SocketError::InvalidUrl(format!(
                "scheme {:?} is not ws(s)",
                parsed.scheme()
            )));
        }
        let host = parsed.host_str().unwrap_or_default().to_owned();
        // Acks are small frames that must leave at once: no Nagle delay.
        let handshake = tokio_tungstenite::connect_async_with_config(url, None, true);
        let (socket, _response) = tokio::time::timeout(CONNECT_TIMEOUT, handshake)
            .await
            .map_err(|_| SocketError::Connect(format!("no handshake within {CONNECT_TIMEOUT:?}")))?
            .map_err(|error| SocketError::Connect(error.to_string()))?;
        tracing::info!(connection = number, %host, "connected to Slack Socket Mode");
        Ok(Connection::new(number, socket, self.keepalive))
    }
}

impl fmt::Debug for SocketMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketMode")
            .field("api", &self.api)
            .field("app_token", &"<redacted>")
            .field("retry", &self.retry)
            .field("keepalive", &self.keepalive)
            .finish_non_exhaustive()
    }
}

/// Connection attempts so far, for log lines and backoff.
#[derive(Debug, Default)]
struct Attempts {
    /// Connections tried since start; numbers each in the logs.
    opened: u64,
    /// Attempts that failed since a connection last got Slack's `hello`.
    consecutive_failures: u32,
    /// The `Retry-After` of a rate-limited `apps.connections.open` that
    /// the Web API client would not wait for itself.
    retry_after: Option<Duration>,
}

impl Attempts {
    fn failed(&mut self) {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
    }
}

/// Only app-level tokens can open Socket Mode connections; a bot token
/// here (an easy mistake: both are Slack tokens in the same settings
/// block) fails at start-up instead of in a retry loop. The error never
/// quotes the token.
fn check_app_token(app_token: &str) -> Result<(), SocketError> {
    let token = app_token.trim();
    if token.is_empty() {
        return Err(SocketError::InvalidConfig(
            "the app-level token is empty".to_owned(),
        ));
    }
    if !token.starts_with("xapp-") {
        return Err(SocketError::InvalidConfig(
            "the app-level token must start with `xapp-` (bot `xoxb-` and user `xoxp-` tokens cannot open Socket Mode connections)".to_owned(),
        ));
    }
    Ok(())
}
