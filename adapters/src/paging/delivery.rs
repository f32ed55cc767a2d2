//! How one outbound call to a paging or status-page provider is delivered:
//! the HTTP client, the per-request timeout, and the retry loop DESIGN.md
//! rule 5 asks for.
//!
//! PagerDuty, Opsgenie, Statuspage and webhook receivers all speak plain
//! HTTP status codes, so one classification serves them all: 2xx is done;
//! 429 (and any provider-specific rate-limit status) waits `Retry-After`
//! and tries again; 5xx, 408, timeouts and connection failures back off and
//! try again; any other 4xx or a redirect is final. The Slack client's
//! [`RetryPolicy`] and [`Sleeper`] are reused, so the schedule is
//! configured and tested the same way everywhere and no test really sleeps.
//!
//! Redirects are not followed: a request carrying an API key or a signed
//! payload must not be sent somewhere the operator did not configure.
//! Error texts pass through [`Delivery::scrub`], which blanks out the
//! client's secrets in case a provider echoes them back in an error body.

use super::secret::Secret;
use crate::retry::{with_retries, Attempt, GaveUp, RetryPolicy, Sleeper, TokioSleeper};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode, Url};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How long one request may take before it counts as a transient failure.
/// The providers answer in well under a second when healthy; an incident
/// actor waits on this call, so a hung connection must not hold it long.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a refusal's body goes into the error: enough for the
/// provider's reason (`"Event object is invalid"`), not a whole HTML page.
const ERROR_BODY_EXCERPT_CHARS: usize = 300;

/// Why a delivery failed for good, before each client maps it into its own
/// error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeliveryError {
    Rejected(String),
    RateLimited { retry_after: Duration },
    Unavailable(String),
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub(crate) struct Delivered {
    pub(crate) body: Vec<u8>,
}

/// An HTTP client with a retry schedule. Cheap to clone; clones share the
/// connection pool.
#[derive(Clone)]
pub(crate) struct Delivery {
    http: reqwest::Client,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    request_timeout: Duration,
    /// A status besides 429 that the provider uses for "slow down"
    /// (Statuspage answers 420).
    extra_rate_limit_status: Option<StatusCode>,
    /// Values blanked out of every error text.
    secrets: Vec<Secret>,
}

impl Delivery {
    pub(crate) fn new() -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("firebreak/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| format!("could not build the HTTP client: {error}"))?;
        Ok(Delivery {
            http,
            retry: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            extra_rate_limit_status: None,
            secrets: Vec::new(),
        })
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn set_retry(&mut self, retry: RetryPolicy) {
        self.retry = retry;
    }

    pub(crate) fn set_sleeper(&mut self, sleeper: Arc<dyn Sleeper>) {
        self.sleeper = sleeper;
    }

    pub(crate) fn set_request_timeout(&mut self, timeout: Duration) {
        self.request_timeout = timeout;
    }

    pub(crate) fn treat_as_rate_limit(&mut self, status: StatusCode) {
        self.extra_rate_limit_status = Some(status);
    }

    /// Blanks `secret` out of every error text this delivery produces.
    pub(crate) fn redact(&mut self, secret: &Secret) {
        self.secrets.push(secret.clone());
    }

    /// Sends the request `build` makes, rebuilding it for each attempt (so
    /// a signature can carry the time of the attempt), until it succeeds,
    /// fails for good, or the [`RetryPolicy`] runs out. `what` names the
    /// call in errors and logs ("PagerDuty trigger"); it must not hold a
    /// secret or a URL that could.
    ///
    /// Retrying a write whose answer was lost can apply it twice. Paging
    /// providers de-duplicate on the dedup key; elsewhere a duplicate is
    /// better than a lost call.
    pub(crate) async fn send<F>(&self, what: &str, build: F) -> Result<Delivered, DeliveryError>
    where
        F: Fn() -> RequestBuilder + Sync,
    {
        with_retries(&self.retry, &*self.sleeper, what, || {
            self.attempt(what, build())
        })
        .await
        .map_err(|gave_up| match gave_up {
            GaveUp::Final(reason) => {
                tracing::warn!(%reason, "{what} refused; not retrying");
                DeliveryError::Rejected(reason)
            }
            GaveUp::RateLimited { retry_after } => DeliveryError::RateLimited { retry_after },
            GaveUp::Unavailable(reason) => DeliveryError::Unavailable(reason),
        })
    }

    /// One request and the classification of its answer. Every text in a
    /// [`Failure`] is already scrubbed.
    async fn attempt(&self, what: &str, request: RequestBuilder) -> Result<Delivered, Failure> {
        let response = request
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|error| Attempt::Transient(self.describe_transport_error(what, error)))?;

        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || Some(status) == self.extra_rate_limit_status {
            return Err(Attempt::RateLimited {
                retry_after: parse_retry_after(response.headers()),
            });
        }
        // 408 is the server giving up on a slow request: the network, not
        // the request, was at fault.
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            return Err(Attempt::Transient(format!("{what}: HTTP {status}")));
        }
        if status.is_redirection() {
            return Err(Attempt::Final(format!(
                "{what}: HTTP {status}; redirects are not followed, configure the final URL"
            )));
        }
        if status.is_success() {
            // A body cut off mid-way is the network failing, not an answer.
            let body = response
                .bytes()
                .await
                .map_err(|error| Attempt::Transient(self.describe_transport_error(what, error)))?;
            return Ok(Delivered {
                body: body.to_vec(),
            });
        }
        // The provider's own reason is what an operator needs to fix the
        // configuration; without a readable body the status has to do.
        let excerpt = match response.bytes().await {
            Ok(body) => excerpt(&body),
            Err(_) => String::new(),
        };
        let reason = if excerpt.is_empty() {
            format!("{what}: HTTP {status}")
        } else {
            format!("{what}: HTTP {status}: {excerpt}")
        };
        Err(Attempt::Final(self.scrub(reason)))
    }

    /// reqwest's own message is generic ("error sending request"); the
    /// cause ("connection refused", "dns error") is further down the chain.
    /// The URL is dropped: a webhook URL may carry a token.
    fn describe_transport_error(&self, what: &str, error: reqwest::Error) -> String {
        let error = error.without_url();
        self.scrub(crate::retry::describe_transport_error(
            what,
            &error,
            self.request_timeout,
        ))
    }

    /// `text` with every secret of this client replaced by `<redacted>`.
    pub(crate) fn scrub(&self, mut text: String) -> String {
        for secret in &self.secrets {
            if text.contains(secret.expose()) {
                text = text.replace(secret.expose(), "<redacted>");
            }
        }
        text
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// How one attempt went when it did not succeed; texts already scrubbed.
type Failure = Attempt<String>;

/// A provider's base URL: http(s), no query or fragment, so endpoint paths
/// can be appended to it. `what` names the setting in the error.
pub(crate) fn parse_base_url(what: &str, raw: &str) -> Result<Url, String> {
    let parsed =
        Url::parse(raw.trim()).map_err(|error| format!("{what} {raw:?} is not a URL: {error}"))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(format!("{what} {raw:?} must be a plain http(s) URL"));
    }
    Ok(parsed)
}

/// `base` with `segments` appended to its path, each percent-encoded as
/// one segment, so an alias or id containing `/` or `?` cannot redirect
/// the request to another endpoint.
pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Result<Url, String> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| format!("{base} cannot have a path appended"))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// Whole seconds only, as PagerDuty and Statuspage send it; anything else
/// counts as absent.
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

/// The start of an error body on one line.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    super::truncate_chars(&one_line, ERROR_BODY_EXCERPT_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_appends_encoded_segments_to_the_base_path() {
        let base = parse_base_url("base URL", "http://127.0.0.1:9/proxy/").expect("url");
        let url = endpoint(&base, &["v2", "alerts", "INC/42?x"]).expect("endpoint");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/proxy/v2/alerts/INC%2F42%3Fx"
        );
    }

    #[test]
    fn base_urls_must_be_plain_http() {
        assert!(parse_base_url("base URL", "ftp://example.com").is_err());
        assert!(parse_base_url("base URL", "https://example.com/?q=1").is_err());
        assert!(parse_base_url("base URL", "not a url").is_err());
        assert!(parse_base_url("base URL", " https://events.pagerduty.com ").is_ok());
    }

    #[test]
    fn scrub_blanks_out_every_secret() {
        let mut delivery = Delivery::new().expect("client");
        delivery.redact(&Secret::new("key-123".to_owned()).expect("secret"));
        assert_eq!(
            delivery.scrub("bad key key-123 (key-123)".to_owned()),
            "bad key <redacted> (<redacted>)"
        );
    }

    #[test]
    fn error_bodies_are_cut_to_one_short_line() {
        assert_eq!(
            excerpt(b"{\n  \"message\": \"bad\"\n}"),
            "{ \"message\": \"bad\" }"
        );
        assert_eq!(
            excerpt("x".repeat(1000).as_bytes()).chars().count(),
            ERROR_BODY_EXCERPT_CHARS
        );
    }
}
