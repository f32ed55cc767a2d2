//! [`StatusPage`]: telling customers about an incident on an Atlassian
//! Statuspage page.
//!
//! `POST {base}/v1/pages/{page_id}/incidents` opens a public incident and
//! `PATCH {base}/v1/pages/{page_id}/incidents/{incident_id}` posts an
//! update to it, each with a JSON body `{"incident": {…}}` and the header
//! `Authorization: OAuth <api key>`; the answer is the incident, whose `id`
//! the engine keeps for later updates and whose `shortlink` goes on the
//! timeline (<https://developer.statuspage.io/#tag/incidents>).
//!
//! Statuspage allows about one request a second per key and signals the
//! limit with 420 or 429; those, 5xx and network failures are retried with
//! backoff like the paging calls (DESIGN.md rule 5), and a failure that
//! persists is returned for the engine to record. Creating is not
//! idempotent: a create whose answer was lost and is retried can open the
//! incident twice, which an operator can delete; an incident never opened
//! is worse. The API key lives only in a header value marked sensitive.

use crate::paging::delivery::{self, Delivery, DeliveryError};
use crate::paging::secret::Secret;
use crate::retry::{RetryPolicy, Sleeper};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{StatusCode, Url};
use serde_json::{json, Value};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Where Atlassian serves the Statuspage management API.
pub const DEFAULT_API_BASE_URL: &str = "https://api.statuspage.io";

/// Statuspage's "Enhance your calm": its older rate-limit status.
const ENHANCE_YOUR_CALM: u16 = 420;

/// Where a public incident stands, as Statuspage names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusPageState {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl StatusPageState {
    /// The wire name (`investigating`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPageState::Investigating => "investigating",
            StatusPageState::Identified => "identified",
            StatusPageState::Monitoring => "monitoring",
            StatusPageState::Resolved => "resolved",
        }
    }
}

impl fmt::Display for StatusPageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status that is not one of Statuspage's four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a status page state; use investigating, identified, monitoring or resolved")]
pub struct UnknownStatusPageState(pub String);

impl FromStr for StatusPageState {
    type Err = UnknownStatusPageState;

    /// Case-insensitive, surrounding whitespace ignored: the text may come
    /// from a chat command (`statuspage Monitoring …`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "investigating" => Ok(StatusPageState::Investigating),
            "identified" => Ok(StatusPageState::Identified),
            "monitoring" => Ok(StatusPageState::Monitoring),
            "resolved" => Ok(StatusPageState::Resolved),
            _ => Err(UnknownStatusPageState(text.to_owned())),
        }
    }
}

/// The public incident Statuspage created or updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPageIncident {
    /// Statuspage's incident id, needed for every later update.
    pub id: String,
    /// The short public link to the incident, when Statuspage made one.
    pub shortlink: Option<String>,
}

/// Every way a Statuspage call can fail. None carries the API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusPageError {
    /// Statuspage refused the request (a 4xx other than a rate limit: wrong
    /// key, unknown page or incident, invalid field), or it was refused
    /// before sending. Not retried.
    #[error("Statuspage rejected the request: {0}")]
    Rejected(String),
    /// Statuspage or the network kept failing until the retries ran out.
    #[error("Statuspage is unavailable: {0}")]
    Unavailable(String),
    /// Statuspage kept rate limiting until the retries ran out, or asked
    /// for a longer wait than the [`RetryPolicy`] allows.
    #[error("Statuspage is rate limiting us (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// Statuspage said yes but its answer is not the documented incident
    /// (no `id`). Not retried: the change was probably made.
    #[error("Statuspage's answer was not understood: {0}")]
    InvalidResponse(String),
    /// The client was configured with something unusable; only
    /// construction returns this.
    #[error("invalid Statuspage configuration: {0}")]
    InvalidConfig(String),
}

impl StatusPageError {
    /// Whether the same call might succeed if tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StatusPageError::Unavailable(_) | StatusPageError::RateLimited { .. }
        )
    }
}

impl From<DeliveryError> for StatusPageError {
    fn from(error: DeliveryError) -> Self {
        match error {
            DeliveryError::Rejected(reason) => StatusPageError::Rejected(reason),
            DeliveryError::RateLimited { retry_after } => {
                StatusPageError::RateLimited { retry_after }
            }
            DeliveryError::Unavailable(reason) => StatusPageError::Unavailable(reason),
        }
    }
}

/// A Statuspage management API client for one page.
#[derive(Clone)]
pub struct StatusPage {
    page_id: String,
    /// `{base}/v1/pages/{page_id}/incidents`, worked out once.
    incidents_url: Url,
    /// `OAuth <key>`, marked sensitive so the HTTP stack never prints it.
    authorization: HeaderValue,
    delivery: Delivery,
}

impl StatusPage {
    /// A client for page `page_id` through the API at `api_base_url`
    /// (normally [`DEFAULT_API_BASE_URL`]), authenticated with `api_key`.
    pub fn new(
        api_base_url: &str,
        page_id: &str,
        api_key: String,
    ) -> Result<Self, StatusPageError> {
        let page_id = page_id.trim();
        if page_id.is_empty() {
            return Err(StatusPageError::InvalidConfig(
                "the Statuspage page id is empty".to_owned(),
            ));
        }
        let base = delivery::parse_base_url("Statuspage API base URL", api_base_url)
            .map_err(StatusPageError::InvalidConfig)?;
        let incidents_url = delivery::endpoint(&base, &["v1", "pages", page_id, "incidents"])
            .map_err(StatusPageError::InvalidConfig)?;
        let api_key = Secret::new(api_key).ok_or_else(|| {
            StatusPageError::InvalidConfig("the Statuspage API key is empty".to_owned())
        })?;
        let mut authorization = HeaderValue::try_from(format!("OAuth {}", api_key.expose()))
            .map_err(|_| {
                StatusPageError::InvalidConfig(
                    "the Statuspage API key contains characters not allowed in an HTTP header"
                        .to_owned(),
                )
            })?;
        authorization.set_sensitive(true);
        let mut delivery = Delivery::new().map_err(StatusPageError::InvalidConfig)?;
        delivery.redact(&api_key);
        if let Ok(status) = StatusCode::from_u16(ENHANCE_YOUR_CALM) {
            delivery.treat_as_rate_limit(status);
        }
        Ok(StatusPage {
            page_id: page_id.to_owned(),
            incidents_url,
            authorization,
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

    /// Opens a public incident called `name` in `status`, with `body` as
    /// its first update.
    #[tracing::instrument(name = "statuspage_create", skip_all, fields(page_id = %self.page_id, status = %status))]
    pub async fn create(
        &self,
        name: &str,
        status: StatusPageState,
        body: &str,
    ) -> Result<StatusPageIncident, StatusPageError> {
        let request = json!({
            "incident": { "name": name, "status": status.as_str(), "body": body }
        });
        let incidents_url = &self.incidents_url;
        let incident = self
            .send(
                "Statuspage create incident",
                || self.delivery.http().post(incidents_url.clone()),
                &request,
            )
            .await?;
        tracing::info!(incident_id = %incident.id, "Statuspage incident created");
        Ok(incident)
    }

    /// Moves incident `incident_id` to `status`, posting `body` as a new
    /// update.
    #[tracing::instrument(
        name = "statuspage_update",
        skip_all,
        fields(page_id = %self.page_id, incident_id = %incident_id, status = %status)
    )]
    pub async fn update(
        &self,
        incident_id: &str,
        status: StatusPageState,
        body: &str,
    ) -> Result<StatusPageIncident, StatusPageError> {
        if incident_id.trim().is_empty() {
            return Err(StatusPageError::Rejected(
                "no incident id to update; nothing was sent".to_owned(),
            ));
        }
        let url = delivery::endpoint(&self.incidents_url, &[incident_id])
            .map_err(StatusPageError::InvalidConfig)?;
        let request = json!({ "incident": { "status": status.as_str(), "body": body } });
        let incident = self
            .send(
                "Statuspage update incident",
                || self.delivery.http().patch(url.clone()),
                &request,
            )
            .await?;
        tracing::info!("Statuspage incident updated");
        Ok(incident)
    }

    async fn send<F>(
        &self,
        what: &str,
        method_and_url: F,
        body: &Value,
    ) -> Result<StatusPageIncident, StatusPageError>
    where
        F: Fn() -> reqwest::RequestBuilder + Sync,
    {
        let delivered = self
            .delivery
            .send(what, || {
                method_and_url()
                    .header(AUTHORIZATION, self.authorization.clone())
                    .json(body)
            })
            .await?;
        let answer: Value = serde_json::from_slice(&delivered.body).map_err(|_| {
            StatusPageError::InvalidResponse(format!("{what}: the answer is not JSON"))
        })?;
        parse_incident(&answer).ok_or_else(|| {
            StatusPageError::InvalidResponse(format!("{what}: the answer has no incident id"))
        })
    }
}

impl fmt::Debug for StatusPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusPage")
            .field("page_id", &self.page_id)
            .field("incidents_url", &self.incidents_url.as_str())
            .field("api_key", &"<redacted>")
            .field("delivery", &self.delivery)
            .finish()
    }
}

fn parse_incident(answer: &Value) -> Option<StatusPageIncident> {
    let id = answer.get("id")?.as_str()?.trim();
    if id.is_empty() {
        return None;
    }
    let shortlink = answer
        .get("shortlink")
        .and_then(Value::as_str)
        .filter(|link| !link.is_empty())
        .map(str::to_owned);
    Some(StatusPageIncident {
        id: id.to_owned(),
        shortlink,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::test_support::{test_policy, RecordingSleeper};
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const API_KEY: &str = "stat-page-api-key-secret";
    const PAGE_ID: &str = "kctbh9vrtdwd";

    fn client_for(server: &MockServer) -> (StatusPage, Arc<RecordingSleeper>) {
        let sleeper = Arc::new(RecordingSleeper::default());
        let client = StatusPage::new(&server.uri(), PAGE_ID, API_KEY.to_owned())
            .expect("client")
            .with_retry(test_policy())
            .with_sleeper(sleeper.clone());
        (client, sleeper)
    }

    fn incident_answer() -> ResponseTemplate {
        ResponseTemplate::new(201).set_body_json(json!({
            "id": "p31zjtct2jer",
            "name": "Payments failing",
            "status": "investigating",
            "shortlink": "http://stspg.io/p31zjtct2jer",
            "page_id": PAGE_ID,
        }))
    }

    #[tokio::test]
    async fn create_posts_the_incident_with_the_oauth_key_and_returns_its_id() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/v1/pages/{PAGE_ID}/incidents")))
            .and(header("authorization", format!("OAuth {API_KEY}").as_str()))
            .and(body_json(json!({
                "incident": {
                    "name": "Payments failing",
                    "status": "investigating",
                    "body": "Some card payments are failing. We are investigating.",
                }
            })))
            .respond_with(incident_answer())
            .expect(1)
            .mount(&server)
            .await;
        let (client, _) = client_for(&server);

        let incident = client
            .create(
                "Payments failing",
                StatusPageState::Investigating,
                "Some card payments are failing. We are investigating.",
            )
            .await
            .expect("created");

        assert_eq!(
            incident,
            StatusPageIncident {
                id: "p31zjtct2jer".to_owned(),
                shortlink: Some("http://stspg.io/p31zjtct2jer".to_owned()),
            }
        );
    }

    #[tokio::test]
    async fn update_patches_the_incident_status_and_body() {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .and(path(format!("/v1/pages/{PAGE_ID}/incidents/p31zjtct2jer")))
            .and(header("authorization", format!("OAuth {API_KEY}").as_str()))
            .and(body_json(json!({
                "incident": { "status": "monitoring", "body": "A fix is rolling out." }
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "p31zjtct2jer" })))
            .expect(1)
            .mount(&server)
            .await;
        let (client, _) = client_for(&server);

        let incident = client
            .update(
                "p31zjtct2jer",
                StatusPageState::Monitoring,
                "A fix is rolling out.",
            )
            .await
            .expect("updated");

        assert_eq!(incident.id, "p31zjtct2jer");
        assert_eq!(incident.shortlink, None);
    }

    #[tokio::test]
    async fn enhance_your_calm_is_a_rate_limit_and_is_retried() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(420).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(incident_answer())
            .expect(1)
            .mount(&server)
            .await;
        let (client, sleeper) = client_for(&server);

        client
            .create("Payments failing", StatusPageState::Identified, "Found it.")
            .await
            .expect("created after the wait");

        assert_eq!(sleeper.delays(), vec![Duration::from_secs(1)]);
    }

    #[tokio::test]
    async fn an_unknown_incident_is_rejected_without_retry() {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(json!({ "error": "Record not found" })),
            )
            .expect(1)
            .mount(&server)
            .await;
        let (client, sleeper) = client_for(&server);

        let error = client
            .update("nope", StatusPageState::Resolved, "Fixed.")
            .await
            .expect_err("rejected");

        assert!(
            matches!(&error, StatusPageError::Rejected(reason) if reason.contains("Record not found")),
            "{error:?}"
        );
        assert!(sleeper.delays().is_empty());
    }

    #[tokio::test]
    async fn a_success_without_an_incident_id_is_an_invalid_response() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "name": "x" })))
            .expect(1)
            .mount(&server)
            .await;
        let (client, _) = client_for(&server);

        let error = client
            .create("x", StatusPageState::Investigating, "x")
            .await
            .expect_err("no id");

        assert!(
            matches!(error, StatusPageError::InvalidResponse(_)),
            "{error:?}"
        );
    }

    #[test]
    fn states_parse_case_insensitively_and_round_trip() {
        for state in [
            StatusPageState::Investigating,
            StatusPageState::Identified,
            StatusPageState::Monitoring,
            StatusPageState::Resolved,
        ] {
            assert_eq!(state.as_str().parse(), Ok(state));
            assert_eq!(state.as_str().to_uppercase().parse(), Ok(state));
        }
        assert_eq!(" Monitoring ".parse(), Ok(StatusPageState::Monitoring));
        assert_eq!(
            "fixed".parse::<StatusPageState>(),
            Err(UnknownStatusPageState("fixed".to_owned()))
        );
    }

    #[test]
    fn debug_does_not_show_the_api_key() {
        let client =
            StatusPage::new(DEFAULT_API_BASE_URL, PAGE_ID, API_KEY.to_owned()).expect("client");

        let debug = format!("{client:?}");

        assert!(!debug.contains(API_KEY), "{debug}");
        assert!(debug.contains(PAGE_ID), "{debug}");
    }

    #[test]
    fn calls_can_be_awaited_from_send_futures() {
        // Actor effects run on a multi-threaded runtime; this stops
        // compiling if a call future ever stops being Send.
        fn assert_send<T: Send>(_: &T) {}
        let client =
            StatusPage::new(DEFAULT_API_BASE_URL, PAGE_ID, API_KEY.to_owned()).expect("client");
        assert_send(&client.create("x", StatusPageState::Investigating, "x"));
        assert_send(&client.update("id", StatusPageState::Resolved, "x"));
    }

    #[test]
    fn unusable_configuration_is_refused() {
        for (base, page_id, key) in [
            ("api.statuspage.io", PAGE_ID, API_KEY),
            (DEFAULT_API_BASE_URL, " ", API_KEY),
            (DEFAULT_API_BASE_URL, PAGE_ID, ""),
        ] {
            let error = StatusPage::new(base, page_id, key.to_owned()).expect_err("refused");
            assert!(
                matches!(error, StatusPageError::InvalidConfig(_)),
                "{error:?}"
            );
        }
    }
}
