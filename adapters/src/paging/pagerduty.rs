//! [`PagerDuty`]: paging through the PagerDuty Events API v2.
//!
//! One endpoint takes every event: `POST {base}/v2/enqueue` with a JSON body
//! naming the service's integration (`routing_key`), what to do
//! (`event_action`: `trigger` or `resolve`) and the alert (`dedup_key`).
//! PagerDuty answers `202 {"status", "message", "dedup_key"}`, `400` for an
//! invalid event and `429` when the integration is sending too fast
//! (<https://developer.pagerduty.com/docs/events-api-v2/trigger-events/>,
//! <https://developer.pagerduty.com/docs/events-api-v2/resolve-events/>).
//!
//! A trigger with a dedup key that already has an open alert adds to that
//! alert instead of paging again, which is what makes retries and repeat
//! pages safe. The routing key travels in the body; it is held as a secret
//! and scrubbed from errors in case PagerDuty echoes the event back.

use super::delivery::{self, Delivery};
use super::secret::Secret;
use super::{
    check_dedup_key, check_target, clamped_severity, summary_or_reference, truncate_chars, Page,
    PageReceipt, Pager, PagingError,
};
use crate::retry::{RetryPolicy, Sleeper};
use async_trait::async_trait;
use reqwest::Url;
use serde_json::{json, Map, Value};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Where PagerDuty serves the Events API. Configurable so tests, proxies
/// and PagerDuty's EU service region (`https://events.eu.pagerduty.com`)
/// can be used.
pub const DEFAULT_API_BASE_URL: &str = "https://events.pagerduty.com";

/// PagerDuty's documented maximum for `payload.summary`.
const SUMMARY_MAX_CHARS: usize = 1024;

/// A PagerDuty Events API v2 integration, one per configured target.
#[derive(Clone)]
pub struct PagerDuty {
    target: String,
    /// `{base}/v2/enqueue`, worked out once.
    enqueue_url: Url,
    routing_key: Secret,
    delivery: Delivery,
}

impl PagerDuty {
    /// A pager named `target` (`exec-oncall`) that sends to the Events API
    /// at `api_base_url` (normally [`DEFAULT_API_BASE_URL`]) with the
    /// service integration's `routing_key`.
    pub fn new(target: &str, api_base_url: &str, routing_key: String) -> Result<Self, PagingError> {
        let target = check_target(target)?;
        let base = delivery::parse_base_url("PagerDuty API base URL", api_base_url)
            .map_err(PagingError::InvalidConfig)?;
        let enqueue_url =
            delivery::endpoint(&base, &["v2", "enqueue"]).map_err(PagingError::InvalidConfig)?;
        let routing_key = Secret::new(routing_key).ok_or_else(|| {
            PagingError::InvalidConfig(format!("the PagerDuty routing key for {target} is empty"))
        })?;
        let mut delivery = Delivery::new().map_err(PagingError::InvalidConfig)?;
        delivery.redact(&routing_key);
        Ok(PagerDuty {
            target,
            enqueue_url,
            routing_key,
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

    async fn enqueue(&self, what: &str, event: &Value) -> Result<Value, PagingError> {
        let delivered = self
            .delivery
            .send(what, || {
                self.delivery
                    .http()
                    .post(self.enqueue_url.clone())
                    .json(event)
            })
            .await?;
        // The 202 already says the event was accepted; a body we cannot
        // read only costs us PagerDuty's echo of the dedup key.
        Ok(serde_json::from_slice(&delivered.body).unwrap_or(Value::Null))
    }
}

#[async_trait]
impl Pager for PagerDuty {
    fn target(&self) -> &str {
        &self.target
    }

    #[tracing::instrument(
        name = "page_trigger",
        skip_all,
        fields(target = %self.target, provider = "pagerduty", dedup_key = %page.dedup_key)
    )]
    async fn trigger(&self, page: &Page) -> Result<PageReceipt, PagingError> {
        check_dedup_key(&page.dedup_key)?;
        let event = trigger_event(self.routing_key.expose(), page);
        let answer = self.enqueue("PagerDuty trigger", &event).await?;
        let reference = answer
            .get("dedup_key")
            .and_then(Value::as_str)
            .unwrap_or(&page.dedup_key)
            .to_owned();
        tracing::info!(reference = %reference, "PagerDuty accepted the page");
        Ok(PageReceipt {
            target: self.target.clone(),
            reference: Some(reference),
        })
    }

    #[tracing::instrument(
        name = "page_resolve",
        skip_all,
        fields(target = %self.target, provider = "pagerduty", dedup_key = %dedup_key)
    )]
    async fn resolve(&self, dedup_key: &str) -> Result<(), PagingError> {
        check_dedup_key(dedup_key)?;
        let event = json!({
            "routing_key": self.routing_key.expose(),
            "event_action": "resolve",
            "dedup_key": dedup_key,
        });
        self.enqueue("PagerDuty resolve", &event).await?;
        tracing::info!("PagerDuty accepted the resolve");
        Ok(())
    }
}

impl fmt::Debug for PagerDuty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDuty")
            .field("target", &self.target)
            .field("enqueue_url", &self.enqueue_url.as_str())
            .field("routing_key", &self.routing_key)
            .field("delivery", &self.delivery)
            .finish()
    }
}

/// PagerDuty's four severities, most urgent first: incident severity 1 is
/// `critical`, 4 is `info`.
fn severity_name(severity: u8) -> &'static str {
    match severity {
        1 => "critical",
        2 => "error",
        3 => "warning",
        _ => "info",
    }
}

fn trigger_event(routing_key: &str, page: &Page) -> Value {
    let mut payload = Map::new();
    payload.insert(
        "summary".to_owned(),
        truncate_chars(summary_or_reference(page), SUMMARY_MAX_CHARS).into(),
    );
    // `source` is required; an empty one would get the whole event refused.
    let source = if page.source.trim().is_empty() {
        "firebreak"
    } else {
        &page.source
    };
    payload.insert("source".to_owned(), source.into());
    payload.insert(
        "severity".to_owned(),
        severity_name(clamped_severity(page)).into(),
    );
    if !page.details.is_null() {
        payload.insert("custom_details".to_owned(), page.details.clone());
    }
    let links: Vec<Value> = page
        .links
        .iter()
        .map(|(label, url)| json!({ "href": url, "text": label }))
        .collect();
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": page.dedup_key,
        "payload": payload,
        "links": links,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::test_support::{test_policy, RecordingSleeper};
    use wiremock::matchers::{body_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const ROUTING_KEY: &str = "R0UT1NG-K3Y-secret-0123456789ab";

    fn pager_for(server: &MockServer) -> (PagerDuty, Arc<RecordingSleeper>) {
        let sleeper = Arc::new(RecordingSleeper::default());
        let pager = PagerDuty::new("exec-oncall", &server.uri(), ROUTING_KEY.to_owned())
            .expect("pager")
            .with_retry(test_policy())
            .with_sleeper(sleeper.clone());
        (pager, sleeper)
    }

    fn page(severity: u8) -> Page {
        Page {
            dedup_key: "INC-42".to_owned(),
            summary: "SEV2: payments failing".to_owned(),
            severity,
            source: "firebreak".to_owned(),
            details: json!({ "lead": "ana", "status": "investigating" }),
            links: vec![(
                "Incident".to_owned(),
                "https://firebreak.example/incidents/42".to_owned(),
            )],
        }
    }

    fn accepted() -> ResponseTemplate {
        ResponseTemplate::new(202).set_body_json(json!({
            "status": "success",
            "message": "Event processed",
            "dedup_key": "INC-42",
        }))
    }

    #[tokio::test]
    async fn trigger_sends_the_routing_key_dedup_key_and_mapped_severity() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/enqueue"))
            .and(body_json(json!({
                "routing_key": ROUTING_KEY,
                "event_action": "trigger",
                "dedup_key": "INC-42",
                "payload": {
                    "summary": "SEV2: payments failing",
                    "source": "firebreak",
                    "severity": "error",
                    "custom_details": { "lead": "ana", "status": "investigating" },
                },
                "links": [
                    { "href": "https://firebreak.example/incidents/42", "text": "Incident" }
                ],
            })))
            .respond_with(accepted())
            .expect(1)
            .mount(&server)
            .await;
        let (pager, sleeper) = pager_for(&server);

        let receipt = pager.trigger(&page(2)).await.expect("paged");

        assert_eq!(
            receipt,
            PageReceipt {
                target: "exec-oncall".to_owned(),
                reference: Some("INC-42".to_owned()),
            }
        );
        assert!(sleeper.delays().is_empty());
    }

    #[tokio::test]
    async fn resolve_sends_the_same_dedup_key() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/enqueue"))
            .and(body_json(json!({
                "routing_key": ROUTING_KEY,
                "event_action": "resolve",
                "dedup_key": "INC-42",
            })))
            .respond_with(accepted())
            .expect(1)
            .mount(&server)
            .await;
        let (pager, _) = pager_for(&server);

        pager.resolve("INC-42").await.expect("resolved");
    }

    #[test]
    fn severities_map_to_pagerduty_names_and_out_of_range_is_clamped() {
        let names: Vec<_> = [0, 1, 2, 3, 4, 9]
            .into_iter()
            .map(|severity| trigger_event("k", &page(severity))["payload"]["severity"].clone())
            .collect();
        assert_eq!(
            names,
            ["critical", "critical", "error", "warning", "info", "info"]
        );
    }

    #[tokio::test]
    async fn a_rate_limit_is_waited_out_and_retried_once() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/enqueue"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v2/enqueue"))
            .respond_with(accepted())
            .expect(1)
            .mount(&server)
            .await;
        let (pager, sleeper) = pager_for(&server);

        pager.trigger(&page(1)).await.expect("paged after the wait");

        assert_eq!(sleeper.delays(), vec![Duration::from_secs(2)]);
    }

    #[tokio::test]
    async fn an_invalid_event_is_rejected_without_retry_and_without_the_key() {
        let server = MockServer::start().await;
        // Echoing the routing key back is the worst case for a leak.
        Mock::given(method("POST"))
            .and(path("/v2/enqueue"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": [format!("routing_key {ROUTING_KEY} is not valid")],
            })))
            .expect(1)
            .mount(&server)
            .await;
        let (pager, sleeper) = pager_for(&server);

        let error = pager.trigger(&page(1)).await.expect_err("rejected");

        let PagingError::Rejected(reason) = &error else {
            panic!("expected Rejected, got {error:?}");
        };
        assert!(reason.contains("Event object is invalid"), "{reason}");
        assert!(!error.to_string().contains(ROUTING_KEY), "{error}");
        assert!(sleeper.delays().is_empty());
    }

    #[tokio::test]
    async fn persistent_outage_is_surfaced_as_unavailable_after_backing_off() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/enqueue"))
            .respond_with(ResponseTemplate::new(503))
            .expect(3)
            .mount(&server)
            .await;
        let (pager, sleeper) = pager_for(&server);

        let error = pager.resolve("INC-42").await.expect_err("unavailable");

        assert!(
            matches!(&error, PagingError::Unavailable(reason) if reason.contains("3 attempts")),
            "{error:?}"
        );
        assert_eq!(
            sleeper.delays(),
            vec![Duration::from_millis(100), Duration::from_millis(200)]
        );
    }

    #[tokio::test]
    async fn a_page_without_a_dedup_key_is_refused_before_sending() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(accepted())
            .expect(0)
            .mount(&server)
            .await;
        let (pager, _) = pager_for(&server);
        let mut page = page(1);
        page.dedup_key = " ".to_owned();

        let error = pager.trigger(&page).await.expect_err("refused");

        assert!(matches!(error, PagingError::Rejected(_)), "{error:?}");
    }

    #[test]
    fn debug_does_not_show_the_routing_key() {
        let pager = PagerDuty::new("exec-oncall", DEFAULT_API_BASE_URL, ROUTING_KEY.to_owned())
            .expect("pager");

        let debug = format!("{pager:?}");

        assert!(!debug.contains(ROUTING_KEY), "{debug}");
        assert!(debug.contains("exec-oncall"), "{debug}");
    }

    #[test]
    fn unusable_configuration_is_refused() {
        for (target, base, key) in [
            ("", DEFAULT_API_BASE_URL, "key"),
            ("oncall", "events.pagerduty.com", "key"),
            ("oncall", DEFAULT_API_BASE_URL, " \n"),
        ] {
            let error = PagerDuty::new(target, base, key.to_owned()).expect_err("refused");
            assert!(matches!(error, PagingError::InvalidConfig(_)), "{error:?}");
        }
    }

    #[test]
    fn calls_can_be_awaited_from_send_futures() {
        fn assert_send<T: Send>(_: &T) {}
        let pager =
            PagerDuty::new("oncall", DEFAULT_API_BASE_URL, "key".to_owned()).expect("pager");
        assert_send(&pager.trigger(&page(1)));
        assert_send(&pager.resolve("INC-42"));
    }
}
