//! [`Opsgenie`]: paging through the Opsgenie Alert API.
//!
//! `POST {base}/v2/alerts` creates an alert and
//! `POST {base}/v2/alerts/{alias}/close?identifierType=alias` closes it,
//! both authenticated with `Authorization: GenieKey <api key>` (an API
//! integration's key). Opsgenie processes both asynchronously and answers
//! `202 {"result", "took", "requestId"}`
//! (<https://docs.opsgenie.com/docs/alert-api>).
//!
//! The incident reference is the alert's `alias`: Opsgenie keeps at most
//! one open alert per alias and a repeat create only bumps its count, which
//! makes retries and repeat pages safe, and the close addresses the alert
//! by the same alias. The API key lives only in a header value marked
//! sensitive.

use super::delivery::{self, Delivery};
use super::secret::Secret;
use super::{
    check_dedup_key, check_target, clamped_severity, summary_or_reference, truncate_chars, Page,
    PageReceipt, Pager, PagingError,
};
use crate::retry::{RetryPolicy, Sleeper};
use async_trait::async_trait;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::Url;
use serde_json::{json, Map, Value};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Where Opsgenie serves the Alert API. EU accounts use
/// `https://api.eu.opsgenie.com`.
pub const DEFAULT_API_BASE_URL: &str = "https://api.opsgenie.com";

/// Opsgenie's documented limits for `message` and `description`.
const MESSAGE_MAX_CHARS: usize = 130;
const DESCRIPTION_MAX_CHARS: usize = 15_000;

/// An Opsgenie API integration, one per configured target.
#[derive(Clone)]
pub struct Opsgenie {
    target: String,
    /// The base URL, to which `v2/alerts/…` is appended.
    base_url: Url,
    /// `GenieKey <key>`, marked sensitive so the HTTP stack never prints it.
    authorization: HeaderValue,
    delivery: Delivery,
}

impl Opsgenie {
    /// A pager named `target` that creates alerts through the Alert API at
    /// `api_base_url` (normally [`DEFAULT_API_BASE_URL`]) with an API
    /// integration's `api_key`.
    pub fn new(target: &str, api_base_url: &str, api_key: String) -> Result<Self, PagingError> {
        let target = check_target(target)?;
        let base_url = delivery::parse_base_url("Opsgenie API base URL", api_base_url)
            .map_err(PagingError::InvalidConfig)?;
        let api_key = Secret::new(api_key).ok_or_else(|| {
            PagingError::InvalidConfig(format!("the Opsgenie API key for {target} is empty"))
        })?;
        let mut authorization = HeaderValue::try_from(format!("GenieKey {}", api_key.expose()))
            .map_err(|_| {
                PagingError::InvalidConfig(format!(
                    "the Opsgenie API key for {target} contains characters not allowed in an HTTP header"
                ))
            })?;
        authorization.set_sensitive(true);
        let mut delivery = Delivery::new().map_err(PagingError::InvalidConfig)?;
        delivery.redact(&api_key);
        Ok(Opsgenie {
            target,
            base_url,
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

    async fn post(&self, what: &str, url: Url, body: &Value) -> Result<Value, PagingError> {
        let delivered = self
            .delivery
            .send(what, || {
                self.delivery
                    .http()
                    .post(url.clone())
                    .header(AUTHORIZATION, self.authorization.clone())
                    .json(body)
            })
            .await?;
        Ok(serde_json::from_slice(&delivered.body).unwrap_or(Value::Null))
    }
}

#[async_trait]
impl Pager for Opsgenie {
    fn target(&self) -> &str {
        &self.target
    }

    /// The receipt's reference is the alias: the alert id only exists once
    /// Opsgenie has processed the request, and the alias is what finds the
    /// alert in Opsgenie's UI and API.
    #[tracing::instrument(
        name = "page_trigger",
        skip_all,
        fields(target = %self.target, provider = "opsgenie", dedup_key = %page.dedup_key)
    )]
    async fn trigger(&self, page: &Page) -> Result<PageReceipt, PagingError> {
        check_dedup_key(&page.dedup_key)?;
        let url = delivery::endpoint(&self.base_url, &["v2", "alerts"])
            .map_err(PagingError::InvalidConfig)?;
        let answer = self
            .post("Opsgenie create alert", url, &create_alert_body(page))
            .await?;
        tracing::info!(
            request_id = request_id(&answer),
            "Opsgenie accepted the alert"
        );
        Ok(PageReceipt {
            target: self.target.clone(),
            reference: Some(page.dedup_key.clone()),
        })
    }

    #[tracing::instrument(
        name = "page_resolve",
        skip_all,
        fields(target = %self.target, provider = "opsgenie", dedup_key = %dedup_key)
    )]
    async fn resolve(&self, dedup_key: &str) -> Result<(), PagingError> {
        check_dedup_key(dedup_key)?;
        let mut url = delivery::endpoint(&self.base_url, &["v2", "alerts", dedup_key, "close"])
            .map_err(PagingError::InvalidConfig)?;
        url.query_pairs_mut().append_pair("identifierType", "alias");
        let body = json!({ "source": "firebreak", "note": "The incident was resolved." });
        let answer = self.post("Opsgenie close alert", url, &body).await?;
        tracing::info!(
            request_id = request_id(&answer),
            "Opsgenie accepted the close"
        );
        Ok(())
    }
}

impl fmt::Debug for Opsgenie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opsgenie")
            .field("target", &self.target)
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &"<redacted>")
            .field("delivery", &self.delivery)
            .finish()
    }
}

/// The id Opsgenie gives the queued request, for matching our logs with
/// its request status (`GET /v2/alerts/requests/{id}`).
fn request_id(answer: &Value) -> Option<&str> {
    answer.get("requestId").and_then(Value::as_str)
}

/// Incident severity 1 is Opsgenie's `P1`, 4 is `P4`; `P5` is never used.
fn priority(severity: u8) -> &'static str {
    match severity {
        1 => "P1",
        2 => "P2",
        3 => "P3",
        _ => "P4",
    }
}

fn create_alert_body(page: &Page) -> Value {
    let summary = summary_or_reference(page);
    // The message is cut at 130 characters, so the description carries the
    // whole summary, and the links, which the Alert API has no field for.
    let mut description = summary.to_owned();
    if !page.links.is_empty() {
        description.push('\n');
        for (label, url) in &page.links {
            description.push_str(&format!("\n{label}: {url}"));
        }
    }
    let mut body = Map::new();
    body.insert(
        "message".to_owned(),
        truncate_chars(summary, MESSAGE_MAX_CHARS).into(),
    );
    body.insert("alias".to_owned(), page.dedup_key.clone().into());
    body.insert(
        "description".to_owned(),
        truncate_chars(&description, DESCRIPTION_MAX_CHARS).into(),
    );
    body.insert(
        "priority".to_owned(),
        priority(clamped_severity(page)).into(),
    );
    if !page.source.trim().is_empty() {
        body.insert("source".to_owned(), page.source.clone().into());
    }
    let details = string_details(&page.details);
    if !details.is_empty() {
        body.insert("details".to_owned(), Value::Object(details));
    }
    Value::Object(body)
}

/// Opsgenie's `details` is a map of strings to strings: string values go as
/// they are, anything else as its JSON text, and a details value that is
/// not an object is kept whole under `details`.
fn string_details(details: &Value) -> Map<String, Value> {
    let as_text = |value: &Value| match value {
        Value::String(text) => Value::String(text.clone()),
        other => Value::String(other.to_string()),
    };
    match details {
        Value::Null => Map::new(),
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| (key.clone(), as_text(value)))
            .collect(),
        other => Map::from_iter([("details".to_owned(), as_text(other))]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::test_support::{test_policy, RecordingSleeper};
    use wiremock::matchers::{body_json, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const API_KEY: &str = "0psg3n13-ap1-k3y-secret";

    fn pager_for(server: &MockServer) -> (Opsgenie, Arc<RecordingSleeper>) {
        let sleeper = Arc::new(RecordingSleeper::default());
        let pager = Opsgenie::new("platform-oncall", &server.uri(), API_KEY.to_owned())
            .expect("pager")
            .with_retry(test_policy())
            .with_sleeper(sleeper.clone());
        (pager, sleeper)
    }

    fn page(severity: u8) -> Page {
        Page {
            dedup_key: "INC-42".to_owned(),
            summary: "SEV1: payments failing".to_owned(),
            severity,
            source: "firebreak".to_owned(),
            details: json!({ "lead": "ana", "customers_affected": 120 }),
            links: vec![(
                "Incident".to_owned(),
                "https://firebreak.example/incidents/42".to_owned(),
            )],
        }
    }

    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(202).set_body_json(json!({
            "result": "Request will be processed",
            "took": 0.302,
            "requestId": "43a29c5c-3dbf-4fa4-9c26-f4f71023e120",
        }))
    }

    #[tokio::test]
    async fn trigger_creates_an_alert_aliased_by_the_incident_with_the_genie_key() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/alerts"))
            .and(header("authorization", format!("GenieKey {API_KEY}").as_str()))
            .and(body_json(json!({
                "message": "SEV1: payments failing",
                "alias": "INC-42",
                "description": "SEV1: payments failing\n\nIncident: https://firebreak.example/incidents/42",
                "priority": "P1",
                "source": "firebreak",
                "details": { "lead": "ana", "customers_affected": "120" },
            })))
            .respond_with(accepted())
            .expect(1)
            .mount(&server)
            .await;
        let (pager, _) = pager_for(&server);

        let receipt = pager.trigger(&page(1)).await.expect("paged");

        assert_eq!(
            receipt,
            PageReceipt {
                target: "platform-oncall".to_owned(),
                reference: Some("INC-42".to_owned()),
            }
        );
    }

    #[tokio::test]
    async fn resolve_closes_the_alert_by_its_alias() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/alerts/INC-42/close"))
            .and(query_param("identifierType", "alias"))
            .and(header(
                "authorization",
                format!("GenieKey {API_KEY}").as_str(),
            ))
            .respond_with(accepted())
            .expect(1)
            .mount(&server)
            .await;
        let (pager, _) = pager_for(&server);

        pager.resolve("INC-42").await.expect("closed");
    }

    #[test]
    fn severities_map_to_priorities_one_to_one() {
        let priorities: Vec<_> = [1, 2, 3, 4]
            .into_iter()
            .map(|severity| create_alert_body(&page(severity))["priority"].clone())
            .collect();
        assert_eq!(priorities, ["P1", "P2", "P3", "P4"]);
    }

    #[test]
    fn a_long_summary_is_cut_to_the_message_limit_but_kept_whole_in_the_description() {
        let mut long = page(2);
        long.summary = "x".repeat(200);

        let body = create_alert_body(&long);

        assert_eq!(
            body["message"].as_str().map(|m| m.chars().count()),
            Some(MESSAGE_MAX_CHARS)
        );
        assert!(body["description"]
            .as_str()
            .is_some_and(|d| d.starts_with(&"x".repeat(200))));
    }

    #[tokio::test]
    async fn a_refused_key_is_rejected_without_retry() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/alerts"))
            .respond_with(ResponseTemplate::new(422).set_body_json(json!({
                "message": "Key format is not valid!",
                "took": 0.001,
                "requestId": "r-1",
            })))
            .expect(1)
            .mount(&server)
            .await;
        let (pager, sleeper) = pager_for(&server);

        let error = pager.trigger(&page(1)).await.expect_err("rejected");

        assert!(
            matches!(&error, PagingError::Rejected(reason) if reason.contains("Key format is not valid")),
            "{error:?}"
        );
        assert!(sleeper.delays().is_empty());
    }

    #[test]
    fn debug_does_not_show_the_api_key() {
        let pager = Opsgenie::new("platform-oncall", DEFAULT_API_BASE_URL, API_KEY.to_owned())
            .expect("pager");

        let debug = format!("{pager:?}");

        assert!(!debug.contains(API_KEY), "{debug}");
    }
}
