//! [`MatrixClient`]: the Client-Server API calls the bot makes, over
//! reqwest, with the shared retry loop.
//!
//! Rate limits (`429 M_LIMIT_EXCEEDED`) wait the `retry_after_ms` the
//! homeserver gives; 5xx, timeouts and refused connections back off. Sends
//! are `PUT …/send/{type}/{txnId}`: the homeserver recognises a repeated
//! `txnId` from the same access token and answers the first event's id, so
//! a retry (ours, or a repeat after a crash when the caller gives a
//! durable key) never posts twice.

use crate::adapter::AdapterError;
use crate::retry::{with_retries, Attempt, GaveUp, RetryPolicy, Sleeper, TokioSleeper};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long one ordinary request may take before it counts as failed.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The wait when the homeserver rate-limits without saying how long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatrixError {
    #[error("the homeserver is rate limiting this call (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    #[error("homeserver unavailable: {0}")]
    Unavailable(String),
    /// The homeserver refused the request (`errcode`, e.g. `M_FORBIDDEN`).
    #[error("homeserver refused {call}: {errcode} {message}")]
    Refused {
        call: String,
        status: u16,
        errcode: String,
        message: String,
    },
    #[error("the homeserver's answer to {call} was not understood: {reason}")]
    InvalidResponse { call: String, reason: String },
    #[error("invalid Matrix configuration: {0}")]
    InvalidConfig(String),
}

impl MatrixError {
    /// The Matrix error code when the homeserver refused the call.
    pub fn errcode(&self) -> Option<&str> {
        match self {
            MatrixError::Refused { errcode, .. } => Some(errcode),
            _ => None,
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            MatrixError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<MatrixError> for AdapterError {
    fn from(error: MatrixError) -> Self {
        match error {
            MatrixError::RateLimited { retry_after } => AdapterError::RateLimited { retry_after },
            MatrixError::Unavailable(reason) => AdapterError::Unavailable(reason),
            // A homeserver (or proxy) answering garbage is worth trying
            // again later, not a verdict on our request.
            error @ MatrixError::InvalidResponse { .. } => {
                AdapterError::Unavailable(error.to_string())
            }
            error => AdapterError::Rejected(error.to_string()),
        }
    }
}

/// One Matrix account's access to its homeserver. Cheap to clone.
#[derive(Clone)]
pub struct MatrixClient {
    http: reqwest::Client,
    base: Url,
    authorization: HeaderValue,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    request_timeout: Duration,
    /// Makes transaction ids unique for sends without a durable key.
    txn_counter: Arc<AtomicU64>,
    txn_prefix: String,
}

impl MatrixClient {
    /// A client for the homeserver at `homeserver_url` using
    /// `access_token`.
    pub fn new(homeserver_url: &str, access_token: &str) -> Result<Self, MatrixError> {
        let base = base_url(homeserver_url)?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {access_token}"))
            .map_err(|_| MatrixError::InvalidConfig("the access token is not valid".into()))?;
        authorization.set_sensitive(true);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        Ok(Self {
            http: http_client()?,
            base,
            authorization,
            retry: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            txn_counter: Arc::new(AtomicU64::new(0)),
            txn_prefix: format!("fb{started:x}"),
        })
    }

    /// Logs in with a password (`m.login.password`) and answers the new
    /// access token. Each login makes a new device, so operators should
    /// prefer a configured token; this is for setups that only have a
    /// password.
    pub async fn login(
        homeserver_url: &str,
        user_id: &str,
        password: &str,
    ) -> Result<String, MatrixError> {
        let base = base_url(homeserver_url)?;
        let url = endpoint(&base, &["login"])?;
        let body = json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
            "initial_device_display_name": "Firebreak",
        });
        let response = http_client()?
            .post(url)
            .json(&body)
            .timeout(DEFAULT_REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|error| MatrixError::Unavailable(describe("login", &error)))?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .map_err(|error| MatrixError::Unavailable(describe("login", &error)))?;
        if !status.is_success() {
            return Err(refusal("login", status, &answer));
        }
        string_field("login", &answer, "access_token")
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// `GET /account/whoami`: the user id the token belongs to.
    pub async fn whoami(&self) -> Result<String, MatrixError> {
        let answer = self
            .call(Method::GET, &["account", "whoami"], &[], None)
            .await?;
        string_field("whoami", &answer, "user_id")
    }

    /// Joins a room by id or alias; answers its room id.
    pub async fn join(&self, room: &str) -> Result<String, MatrixError> {
        let answer = self
            .call(Method::POST, &["join", room], &[], Some(&json!({})))
            .await?;
        string_field("join", &answer, "room_id")
    }

    /// Uploads a sync filter and answers its id.
    pub async fn create_filter(
        &self,
        user_id: &str,
        filter: &Value,
    ) -> Result<String, MatrixError> {
        let answer = self
            .call(
                Method::POST,
                &["user", user_id, "filter"],
                &[],
                Some(filter),
            )
            .await?;
        string_field("filter", &answer, "filter_id")
    }

    /// One `/sync`, long-polling up to `timeout` for something new. Not
    /// retried here: the sync loop has its own back-off and never gives up.
    pub async fn sync(
        &self,
        since: Option<&str>,
        filter_id: &str,
        timeout: Duration,
    ) -> Result<String, MatrixError> {
        let timeout_ms = timeout.as_millis().to_string();
        let mut query = vec![("filter", filter_id), ("timeout", timeout_ms.as_str())];
        if let Some(since) = since {
            query.push(("since", since));
        }
        let url = self.url(&["sync"], &query)?;
        // The homeserver holds the request for `timeout`; give the answer
        // time to arrive on top of it.
        let request = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.authorization.clone())
            .timeout(timeout + self.request_timeout);
        match self.attempt("sync", request).await {
            Ok(body) => Ok(body),
            Err(Attempt::Final(error)) => Err(error),
            Err(Attempt::RateLimited { retry_after }) => Err(MatrixError::RateLimited {
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            }),
            Err(Attempt::Transient(reason)) => Err(MatrixError::Unavailable(reason)),
        }
    }

    /// One page of `/rooms/{room}/messages` going back from `from`,
    /// stopping at `to` (a sync token), as the raw JSON body.
    pub async fn messages_before(
        &self,
        room: &str,
        from: &str,
        to: Option<&str>,
        filter: &Value,
        limit: u32,
    ) -> Result<String, MatrixError> {
        let filter = filter.to_string();
        let limit = limit.to_string();
        let mut query = vec![
            ("dir", "b"),
            ("from", from),
            ("limit", limit.as_str()),
            ("filter", filter.as_str()),
        ];
        if let Some(to) = to {
            query.push(("to", to));
        }
        let url = self.url(&["rooms", room, "messages"], &query)?;
        self.retried_text("messages", Method::GET, url, None).await
    }

    /// Sends a room event idempotently: the same `key` is the same send.
    /// Without a key the transaction id is still reused by our own
    /// retries, so a timeout followed by a retry never posts twice.
    pub async fn send(
        &self,
        room: &str,
        event_type: &str,
        key: Option<&str>,
        content: &Value,
    ) -> Result<String, MatrixError> {
        let txn = self.txn_id(key);
        let answer = self
            .call(
                Method::PUT,
                &["rooms", room, "send", event_type, &txn],
                &[],
                Some(content),
            )
            .await?;
        string_field("send", &answer, "event_id")
    }

    pub async fn put_state(
        &self,
        room: &str,
        event_type: &str,
        state_key: &str,
        content: &Value,
    ) -> Result<String, MatrixError> {
        let answer = self
            .call(
                Method::PUT,
                &["rooms", room, "state", event_type, state_key],
                &[],
                Some(content),
            )
            .await?;
        string_field("state", &answer, "event_id")
    }

    /// The content of a state event, `None` when the room has none.
    pub async fn get_state(
        &self,
        room: &str,
        event_type: &str,
        state_key: &str,
    ) -> Result<Option<Value>, MatrixError> {
        match self
            .call(
                Method::GET,
                &["rooms", room, "state", event_type, state_key],
                &[],
                None,
            )
            .await
        {
            Ok(content) => Ok(Some(content)),
            Err(error) if error.errcode() == Some("M_NOT_FOUND") => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `POST /createRoom`; answers the new room's id.
    pub async fn create_room(&self, request: &Value) -> Result<String, MatrixError> {
        let answer = self
            .call(Method::POST, &["createRoom"], &[], Some(request))
            .await?;
        string_field("createRoom", &answer, "room_id")
    }

    /// Invites `user_id`; someone already in the room counts as invited.
    pub async fn invite(&self, room: &str, user_id: &str) -> Result<(), MatrixError> {
        let body = json!({ "user_id": user_id });
        match self
            .call(Method::POST, &["rooms", room, "invite"], &[], Some(&body))
            .await
        {
            Ok(_) => Ok(()),
            // Synapse answers 403 for someone already joined or invited.
            Err(MatrixError::Refused {
                status: 403,
                message,
                ..
            }) if message.contains("already in the room")
                || message.contains("already invited") =>
            {
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// One event of a room, as the homeserver serves it.
    pub async fn event(&self, room: &str, event_id: &str) -> Result<Value, MatrixError> {
        self.call(Method::GET, &["rooms", room, "event", event_id], &[], None)
            .await
    }

    /// A user's display name, `None` if they set none.
    pub async fn display_name(&self, user_id: &str) -> Result<Option<String>, MatrixError> {
        match self
            .call(Method::GET, &["profile", user_id, "displayname"], &[], None)
            .await
        {
            Ok(answer) => Ok(answer
                .get("displayname")
                .and_then(Value::as_str)
                .map(str::to_owned)),
            Err(error) if error.status() == Some(404) => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn txn_id(&self, key: Option<&str>) -> String {
        match key {
            // Hashed: keys are readable text, a txnId is a path segment,
            // and the hash keeps it short whatever the key.
            Some(key) => {
                let digest = Sha256::digest(key.as_bytes());
                format!("fbk{}", hex::encode(&digest[..16]))
            }
            None => format!(
                "{}-{}",
                self.txn_prefix,
                self.txn_counter.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, MatrixError> {
        let mut url = endpoint(&self.base, segments)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, MatrixError> {
        let url = self.url(segments, query)?;
        let what = segments.first().copied().unwrap_or("request");
        let text = self.retried_text(what, method, url, body).await?;
        serde_json::from_str(&text).map_err(|_| MatrixError::InvalidResponse {
            call: what.to_owned(),
            reason: "the body is not JSON".into(),
        })
    }

    async fn retried_text(
        &self,
        what: &str,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<String, MatrixError> {
        let label = format!("Matrix {what}");
        with_retries(&self.retry, &*self.sleeper, &label, || {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, self.authorization.clone())
                .timeout(self.request_timeout);
            if let Some(body) = body {
                request = request.json(body);
            }
            self.attempt(what, request)
        })
        .await
        .map_err(|gave_up| match gave_up {
            GaveUp::Final(error) => error,
            GaveUp::RateLimited { retry_after } => MatrixError::RateLimited { retry_after },
            GaveUp::Unavailable(reason) => MatrixError::Unavailable(reason),
        })
    }

    async fn attempt(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<String, Attempt<MatrixError>> {
        let response = request
            .send()
            .await
            .map_err(|error| Attempt::Transient(describe(what, &error)))?;
        let status = response.status();
        let header_wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response
            .text()
            .await
            .map_err(|error| Attempt::Transient(describe(what, &error)))?;
        if status.is_success() {
            return Ok(text);
        }
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status == StatusCode::TOO_MANY_REQUESTS {
            // The spec puts the wait in the body (`retry_after_ms`); newer
            // servers also send Retry-After.
            let body_wait = answer
                .get("retry_after_ms")
                .and_then(Value::as_u64)
                .map(Duration::from_millis);
            return Err(Attempt::RateLimited {
                retry_after: Some(body_wait.or(header_wait).unwrap_or(DEFAULT_RETRY_AFTER)),
            });
        }
        if status.is_server_error() {
            return Err(Attempt::Transient(format!("{what}: HTTP {status}")));
        }
        Err(Attempt::Final(refusal(what, status, &answer)))
    }
}

impl fmt::Debug for MatrixClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatrixClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

fn http_client() -> Result<reqwest::Client, MatrixError> {
    reqwest::Client::builder()
        .user_agent(concat!("firebreak/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| MatrixError::InvalidConfig(format!("HTTP client: {error}")))
}

fn base_url(homeserver_url: &str) -> Result<Url, MatrixError> {
    let url = Url::parse(homeserver_url.trim_end_matches('/')).map_err(|error| {
        MatrixError::InvalidConfig(format!("homeserver URL `{homeserver_url}`: {error}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(MatrixError::InvalidConfig(format!(
            "homeserver URL `{homeserver_url}` is not an http(s) URL"
        )));
    }
    Ok(url)
}

/// `{base}/_matrix/client/v3/{segments…}`, each segment percent-encoded
/// (room ids carry `!` and `:`, aliases `#`, event ids `$`).
fn endpoint(base: &Url, segments: &[&str]) -> Result<Url, MatrixError> {
    let mut url = base.clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|_| MatrixError::InvalidConfig("homeserver URL cannot take a path".into()))?;
        path.pop_if_empty();
        path.extend(["_matrix", "client", "v3"]);
        path.extend(segments);
    }
    Ok(url)
}

fn refusal(what: &str, status: StatusCode, answer: &Value) -> MatrixError {
    MatrixError::Refused {
        call: what.to_owned(),
        status: status.as_u16(),
        errcode: answer
            .get("errcode")
            .and_then(Value::as_str)
            .unwrap_or("M_UNKNOWN")
            .to_owned(),
        message: answer
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or(""))
            .to_owned(),
    }
}

fn string_field(what: &str, answer: &Value, field: &str) -> Result<String, MatrixError> {
    answer
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| MatrixError::InvalidResponse {
            call: what.to_owned(),
            reason: format!("no `{field}`"),
        })
}

fn describe(what: &str, error: &reqwest::Error) -> String {
    crate::retry::describe_transport_error(what, error, DEFAULT_REQUEST_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// Records the waits instead of waiting.
    #[derive(Default)]
    struct Waits(std::sync::Mutex<Vec<Duration>>);

    #[async_trait::async_trait]
    impl Sleeper for Waits {
        async fn sleep(&self, delay: Duration) {
            if let Ok(mut waits) = self.0.lock() {
                waits.push(delay);
            }
        }
    }

    fn client(server: &MockServer) -> MatrixClient {
        client_waiting(server, Arc::new(Waits::default()))
    }

    fn client_waiting(server: &MockServer, waits: Arc<Waits>) -> MatrixClient {
        MatrixClient::new(&server.uri(), "secret-token")
            .expect("client")
            .with_sleeper(waits)
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        let base = base_url("https://matrix.example.org/").expect("url");
        let url = endpoint(
            &base,
            &["rooms", "!abc:example.org", "send", "m.room.message", "t1"],
        )
        .expect("endpoint");
        assert_eq!(
            url.as_str(),
            "https://matrix.example.org/_matrix/client/v3/rooms/!abc:example.org/send/m.room.message/t1"
        );
        let url = endpoint(&base, &["join", "#ops:example.org"]).expect("endpoint");
        assert_eq!(
            url.as_str(),
            "https://matrix.example.org/_matrix/client/v3/join/%23ops:example.org"
        );
        assert!(base_url("ftp://x").is_err());
    }

    #[test]
    fn a_durable_key_always_gives_the_same_transaction_id() {
        let a = MatrixClient::new("http://127.0.0.1:1", "t").expect("client");
        let b = MatrixClient::new("http://127.0.0.1:1", "t").expect("client");
        assert_eq!(
            a.txn_id(Some("INC-1/v3/notice")),
            b.txn_id(Some("INC-1/v3/notice"))
        );
        assert_ne!(
            a.txn_id(Some("INC-1/v3/notice")),
            a.txn_id(Some("INC-1/v4/notice"))
        );
        assert_ne!(a.txn_id(None), a.txn_id(None));
    }

    #[tokio::test]
    async fn a_rate_limited_send_waits_and_retries_with_the_same_transaction_id() {
        let server = MockServer::start().await;
        Mock::given(method("PUT"))
            .and(path_regex(
                r"^/_matrix/client/v3/rooms/.+/send/m.room.message/.+$",
            ))
            .respond_with(ResponseTemplate::new(429).set_body_json(json!({
                "errcode": "M_LIMIT_EXCEEDED",
                "error": "Too many requests",
                "retry_after_ms": 2000
            })))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path_regex(
                r"^/_matrix/client/v3/rooms/.+/send/m.room.message/.+$",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"event_id": "$e1"})))
            .mount(&server)
            .await;
        let event = client(&server)
            .send(
                "!r:localhost",
                "m.room.message",
                Some("k"),
                &json!({"body": "hi"}),
            )
            .await
            .expect("sent");
        assert_eq!(event, "$e1");
        let requests = server.received_requests().await.expect("recorded");
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].url.path(), requests[1].url.path());
        assert_eq!(
            requests[0]
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer secret-token")
        );
    }

    #[tokio::test]
    async fn refusals_carry_the_errcode_and_missing_state_is_none() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path_regex(r"/state/m.room.pinned_events/$"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({
                "errcode": "M_NOT_FOUND", "error": "Event not found."
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/_matrix/client/v3/join/!private:localhost"))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({
                "errcode": "M_FORBIDDEN", "error": "You are not invited to this room."
            })))
            .mount(&server)
            .await;
        let client = client(&server);
        assert_eq!(
            client
                .get_state("!r:localhost", "m.room.pinned_events", "")
                .await
                .expect("read"),
            None
        );
        let error = client
            .join("!private:localhost")
            .await
            .expect_err("refused");
        assert_eq!(error.errcode(), Some("M_FORBIDDEN"));
        assert!(!AdapterError::from(error).is_transient());
    }
}
