//! [`Webhook`]: paging anything that can take an HTTP POST (an in-house
//! pager, a chat-ops relay, a ticketing bridge).
//!
//! Each trigger or resolve is one JSON POST to the configured URL:
//!
//! ```json
//! {"event": "trigger", "dedup_key": "INC-42", "summary": "…", "severity": 1,
//!  "source": "firebreak", "details": {…}, "links": [{"label": "…", "url": "…"}]}
//! {"event": "resolve", "dedup_key": "INC-42"}
//! ```
//!
//! With a secret configured, every request carries
//! `X-Firebreak-Timestamp: <unix seconds>` and
//! `X-Firebreak-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`:
//! the timestamp header's text, a `.`, then the raw body bytes. Signing the
//! timestamp with the body lets a receiver refuse replays: check the
//! signature with [`verify_signature`] (constant time) and refuse
//! timestamps more than a few minutes from its own clock. Each retry is
//! signed afresh with the time it is sent.
//!
//! Any 2xx is success; 429, 5xx and network failures are retried with
//! backoff; any other 4xx is [`PagingError::Rejected`]. The receiver should
//! treat a repeated `dedup_key` as the same page, since a retry after a
//! lost answer delivers it twice. The URL may itself carry a token, so
//! neither `Debug` nor errors show more than its scheme and host.

use super::delivery::Delivery;
use super::{
    check_dedup_key, check_target, clamped_severity, summary_or_reference, Page, PageReceipt,
    Pager, PagingError,
};
use crate::retry::{RetryPolicy, Sleeper};
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use reqwest::header::CONTENT_TYPE;
use reqwest::Url;
use serde_json::{json, Value};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Carries `sha256=<hex digest>` when the webhook has a secret.
pub const SIGNATURE_HEADER: &str = "X-Firebreak-Signature";
/// Carries the Unix time in seconds the request was signed at.
pub const TIMESTAMP_HEADER: &str = "X-Firebreak-Timestamp";

const SIGNATURE_PREFIX: &str = "sha256=";

/// The current Unix time in seconds; a parameter so tests can pin it.
type UnixClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A signed JSON webhook, one per configured target.
#[derive(Clone)]
pub struct Webhook {
    target: String,
    url: Url,
    /// The HMAC keyed with the secret, ready to clone per request; the raw
    /// secret itself is not kept.
    signer: Option<Hmac<Sha256>>,
    clock: UnixClock,
    delivery: Delivery,
}

impl Webhook {
    /// A pager named `target` that POSTs to `url`, signing each request
    /// with `secret` when one is given (surrounding whitespace trimmed).
    pub fn new(target: &str, url: &str, secret: Option<String>) -> Result<Self, PagingError> {
        let target = check_target(target)?;
        let url = parse_webhook_url(url).map_err(|reason| {
            PagingError::InvalidConfig(format!("the webhook URL for {target} {reason}"))
        })?;
        let signer = match secret {
            None => None,
            Some(raw) => {
                let trimmed = raw.trim();
                if trimmed.is_empty() {
                    return Err(PagingError::InvalidConfig(format!(
                        "the webhook secret for {target} is empty; leave it out to send unsigned"
                    )));
                }
                Some(keyed_hmac(trimmed.as_bytes()).ok_or_else(|| {
                    PagingError::InvalidConfig("the webhook secret cannot key an HMAC".to_owned())
                })?)
            }
        };
        let delivery = Delivery::new().map_err(PagingError::InvalidConfig)?;
        Ok(Webhook {
            target,
            url,
            signer,
            clock: Arc::new(|| chrono::Utc::now().timestamp()),
            delivery,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.delivery.set_retry(retry);
        self
    }

    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.delivery.set_sleeper(sleeper);
        self
    }

    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.delivery.set_request_timeout(timeout);
        self
    }

    /// Replaces the clock that stamps `X-Firebreak-Timestamp` (Unix
    /// seconds), so tests can pin the time.
    pub fn with_clock(mut self, now_unix: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(now_unix);
        self
    }

    async fn deliver(&self, what: &str, payload: &Value) -> Result<(), PagingError> {
        let body = serde_json::to_vec(payload).map_err(|error| {
            PagingError::Rejected(format!("{what}: the payload is not serialisable: {error}"))
        })?;
        self.delivery
            .send(what, || {
                let timestamp = (self.clock)().to_string();
                let mut request = self
                    .delivery
                    .http()
                    .post(self.url.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .header(TIMESTAMP_HEADER, timestamp.as_str());
                if let Some(signer) = &self.signer {
                    request = request.header(SIGNATURE_HEADER, sign(signer, &timestamp, &body));
                }
                request.body(body.clone())
            })
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Pager for Webhook {
    fn target(&self) -> &str {
        &self.target
    }

    #[tracing::instrument(
        name = "page_trigger",
        skip_all,
        fields(target = %self.target, provider = "webhook", dedup_key = %page.dedup_key)
    )]
    async fn trigger(&self, page: &Page) -> Result<PageReceipt, PagingError> {
        check_dedup_key(&page.dedup_key)?;
        let links: Vec<Value> = page
            .links
            .iter()
            .map(|(label, url)| json!({ "label": label, "url": url }))
            .collect();
        let payload = json!({
            "event": "trigger",
            "dedup_key": page.dedup_key,
            "summary": summary_or_reference(page),
            "severity": clamped_severity(page),
            "source": page.source,
            "details": page.details,
            "links": links,
        });
        self.deliver("webhook trigger", &payload).await?;
        tracing::info!("webhook accepted the page");
        Ok(PageReceipt {
            target: self.target.clone(),
            reference: None,
        })
    }

    #[tracing::instrument(
        name = "page_resolve",
        skip_all,
        fields(target = %self.target, provider = "webhook", dedup_key = %dedup_key)
    )]
    async fn resolve(&self, dedup_key: &str) -> Result<(), PagingError> {
        check_dedup_key(dedup_key)?;
        let payload = json!({ "event": "resolve", "dedup_key": dedup_key });
        self.deliver("webhook resolve", &payload).await?;
        tracing::info!("webhook accepted the resolve");
        Ok(())
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("target", &self.target)
            .field("url", &redacted_url(&self.url))
            .field("secret", &self.signer.as_ref().map(|_| "<redacted>"))
            .field("delivery", &self.delivery)
            .finish()
    }
}

/// Whether `header` (`sha256=<hex>`) is the signature of `body` sent with
/// `timestamp` (the `X-Firebreak-Timestamp` header's text) under `secret`.
///
/// The comparison runs in constant time. It does not judge the timestamp:
/// a receiver should also refuse one too far from its own clock, or a
/// captured request can be replayed.
pub fn verify_signature(secret: &[u8], timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(presented) = header
        .trim()
        .strip_prefix(SIGNATURE_PREFIX)
        .and_then(|digest| hex::decode(digest).ok())
    else {
        return false;
    };
    let Some(mac) = keyed_hmac(secret) else {
        return false;
    };
    signed_message(mac, timestamp, body)
        .verify_slice(&presented)
        .is_ok()
}

/// HMAC accepts keys of any length, so this is only `None` if that ever
/// stopped being true.
fn keyed_hmac(secret: &[u8]) -> Option<Hmac<Sha256>> {
    Hmac::<Sha256>::new_from_slice(secret).ok()
}

fn signed_message(mut mac: Hmac<Sha256>, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn sign(signer: &Hmac<Sha256>, timestamp: &str, body: &[u8]) -> String {
    let digest = signed_message(signer.clone(), timestamp, body)
        .finalize()
        .into_bytes();
    format!("{SIGNATURE_PREFIX}{}", hex::encode(digest))
}

/// Like a base URL, but a query string is allowed: some receivers take
/// their token there.
fn parse_webhook_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|_| "is not a URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() {
        return Err("must be a plain http(s) URL".to_owned());
    }
    // Credentials in the URL would be sent as Basic auth and printed by
    // anything that prints the URL; a secret goes in `secret` instead.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".to_owned());
    }
    Ok(url)
}

/// Scheme, host and port only: the path or query may hold a token.
fn redacted_url(url: &Url) -> String {
    format!("{}/…", url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::test_support::{test_policy, RecordingSleeper};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    const SECRET: &str = "whsec-very-secret-value";
    const NOW: i64 = 1_764_000_000;

    fn pager_for(server: &MockServer) -> (Webhook, Arc<RecordingSleeper>) {
        let sleeper = Arc::new(RecordingSleeper::default());
        let pager = Webhook::new(
            "ops-relay",
            &format!("{}/hooks/firebreak?token=abc", server.uri()),
            Some(SECRET.to_owned()),
        )
        .expect("pager")
        .with_retry(test_policy())
        .with_sleeper(sleeper.clone())
        .with_clock(|| NOW);
        (pager, sleeper)
    }

    fn page() -> Page {
        Page {
            dedup_key: "INC-42".to_owned(),
            summary: "SEV1: payments failing".to_owned(),
            severity: 1,
            source: "firebreak".to_owned(),
            details: json!({ "lead": "ana" }),
            links: vec![(
                "Incident".to_owned(),
                "https://firebreak.example/incidents/42".to_owned(),
            )],
        }
    }

    fn header_text<'a>(request: &'a Request, name: &str) -> &'a str {
        request
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    async fn received(server: &MockServer) -> Vec<Request> {
        server.received_requests().await.expect("recording on")
    }

    #[tokio::test]
    async fn trigger_posts_the_documented_json_signed_over_timestamp_and_body() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hooks/firebreak"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let (pager, _) = pager_for(&server);

        let receipt = pager.trigger(&page()).await.expect("delivered");

        let requests = received(&server).await;
        let request = &requests[0];
        let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
        assert_eq!(
            body,
            json!({
                "event": "trigger",
                "dedup_key": "INC-42",
                "summary": "SEV1: payments failing",
                "severity": 1,
                "source": "firebreak",
                "details": { "lead": "ana" },
                "links": [{ "label": "Incident", "url": "https://firebreak.example/incidents/42" }],
            })
        );
        let timestamp = header_text(request, TIMESTAMP_HEADER);
        let signature = header_text(request, SIGNATURE_HEADER);
        assert_eq!(timestamp, NOW.to_string());
        assert!(verify_signature(
            SECRET.as_bytes(),
            timestamp,
            &request.body,
            signature
        ));
        assert_eq!(receipt.target, "ops-relay");
        assert_eq!(receipt.reference, None);
    }

    #[tokio::test]
    async fn the_signature_does_not_verify_a_tampered_body_timestamp_or_secret() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let (pager, _) = pager_for(&server);

        pager.resolve("INC-42").await.expect("delivered");

        let requests = received(&server).await;
        let request = &requests[0];
        let timestamp = header_text(request, TIMESTAMP_HEADER);
        let signature = header_text(request, SIGNATURE_HEADER);
        let tampered = String::from_utf8_lossy(&request.body).replace("INC-42", "INC-43");
        assert!(verify_signature(
            SECRET.as_bytes(),
            timestamp,
            &request.body,
            signature
        ));
        assert!(!verify_signature(
            SECRET.as_bytes(),
            timestamp,
            tampered.as_bytes(),
            signature
        ));
        assert!(!verify_signature(
            SECRET.as_bytes(),
            "1764000001",
            &request.body,
            signature
        ));
        assert!(!verify_signature(
            b"another-secret",
            timestamp,
            &request.body,
            signature
        ));
        assert!(!verify_signature(
            SECRET.as_bytes(),
            timestamp,
            &request.body,
            "sha256=zz"
        ));
    }

    #[tokio::test]
    async fn server_errors_are_retried_with_backoff_until_delivered() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let (pager, sleeper) = pager_for(&server);

        pager.trigger(&page()).await.expect("delivered third time");

        let requests = received(&server).await;
        assert_eq!(requests.len(), 3);
        assert_eq!(
            sleeper.delays(),
            vec![Duration::from_millis(100), Duration::from_millis(200)]
        );
        // Every attempt carries a valid signature of the same body.
        for request in &requests {
            assert!(verify_signature(
                SECRET.as_bytes(),
                header_text(request, TIMESTAMP_HEADER),
                &request.body,
                header_text(request, SIGNATURE_HEADER),
            ));
            assert_eq!(request.body, requests[0].body);
        }
    }

    #[tokio::test]
    async fn a_client_error_is_rejected_without_retry() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(403).set_body_string("bad signature"))
            .expect(1)
            .mount(&server)
            .await;
        let (pager, sleeper) = pager_for(&server);

        let error = pager.trigger(&page()).await.expect_err("rejected");

        assert!(
            matches!(&error, PagingError::Rejected(reason) if reason.contains("bad signature")),
            "{error:?}"
        );
        assert!(sleeper.delays().is_empty());
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/hooks/firebreak"))
            .respond_with(
                ResponseTemplate::new(307).insert_header("location", "http://elsewhere.invalid/"),
            )
            .expect(1)
            .mount(&server)
            .await;
        let (pager, _) = pager_for(&server);

        let error = pager.trigger(&page()).await.expect_err("rejected");

        assert!(matches!(error, PagingError::Rejected(_)), "{error:?}");
    }

    #[tokio::test]
    async fn without_a_secret_requests_go_unsigned() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let pager = Webhook::new("relay", &server.uri(), None).expect("pager");

        pager.resolve("INC-42").await.expect("delivered");

        let requests = received(&server).await;
        assert!(requests[0].headers.get(SIGNATURE_HEADER).is_none());
        assert!(requests[0].headers.get(TIMESTAMP_HEADER).is_some());
    }

    #[tokio::test]
    async fn an_unreachable_receiver_is_unavailable_without_its_url_in_the_error() {
        // Port 9 on loopback (discard) is closed on any sane test machine.
        let sleeper = Arc::new(RecordingSleeper::default());
        let pager = Webhook::new(
            "relay",
            "http://127.0.0.1:9/hook?token=url-token",
            Some(SECRET.to_owned()),
        )
        .expect("pager")
        .with_retry(test_policy())
        .with_sleeper(sleeper.clone());

        let error = pager.resolve("INC-42").await.expect_err("unreachable");

        assert!(matches!(error, PagingError::Unavailable(_)), "{error:?}");
        assert!(!error.to_string().contains("url-token"), "{error}");
        assert_eq!(sleeper.delays().len(), 2);
    }

    #[test]
    fn debug_shows_neither_the_secret_nor_the_url_path() {
        let pager = Webhook::new(
            "relay",
            "https://hooks.example.com/T000/secret-path?token=url-token",
            Some(SECRET.to_owned()),
        )
        .expect("pager");

        let debug = format!("{pager:?}");

        assert!(!debug.contains(SECRET), "{debug}");
        assert!(!debug.contains("url-token"), "{debug}");
        assert!(!debug.contains("secret-path"), "{debug}");
        assert!(debug.contains("https://hooks.example.com"), "{debug}");
    }

    #[test]
    fn unusable_configuration_is_refused() {
        for (url, secret) in [
            ("ftp://example.com/hook", None),
            ("https://user:pass@example.com/hook", None),
            ("https://example.com/hook", Some(" ".to_owned())),
        ] {
            let error = Webhook::new("relay", url, secret).expect_err("refused");
            assert!(matches!(error, PagingError::InvalidConfig(_)), "{error:?}");
        }
    }
}
