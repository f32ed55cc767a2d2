//! Alertmanager's API v2 for silences
//! (<https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml>):
//! `POST /api/v2/silences` makes one and answers its `silenceID`.
//!
//! 5xx and network failures are retried a few times; a refusal (4xx) is
//! returned at once with Alertmanager's reason. Creating is not
//! idempotent: a create whose answer was lost and is retried can leave two
//! identical silences, which expire together; a silence never made is
//! worse.

use crate::retry::{describe_transport_error, RetryPolicy, Sleeper, TokioSleeper};
use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How long one request may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Most of a refusal's text kept: enough for Alertmanager's reason, not
/// enough for a proxy's whole error page to reach the chat.
const MAX_REASON_CHARS: usize = 300;

/// One label that must equal `value` for an alert to be silenced; sent
/// as an exact, positive match (`isRegex: false`, `isEqual: true`), since
/// a silence made from an incident names label values it was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub name: String,
    pub value: String,
}

/// A silence to make: the alerts all `matchers` match stay quiet from
/// `starts_at` to `ends_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
}

/// Why no silence was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("`{0}` is not an Alertmanager URL")]
    BadUrl(String),
    #[error("Alertmanager refused the silence: {0}")]
    Refused(String),
    #[error("Alertmanager did not answer: {0}")]
    Unavailable(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireMatcher<'a> {
    name: &'a str,
    value: &'a str,
    is_regex: bool,
    is_equal: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireSilence<'a> {
    matchers: Vec<WireMatcher<'a>>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    created_by: &'a str,
    comment: &'a str,
}

/// One Alertmanager's silences API.
pub struct SilenceApi {
    base: Url,
    http: reqwest::Client,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
}

impl SilenceApi {
    /// `base_url` is Alertmanager's address (`http://alertmanager:9093`).
    pub fn new(base_url: &str, http: reqwest::Client) -> Result<Self, SilenceError> {
        let mut base =
            Url::parse(base_url).map_err(|_| SilenceError::BadUrl(base_url.to_owned()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(SilenceError::BadUrl(base_url.to_owned()));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(Self {
            base,
            http,
            retry: RetryPolicy {
                max_attempts: 3,
                first_backoff: Duration::from_millis(200),
                ..RetryPolicy::default()
            },
            sleeper: Arc::new(TokioSleeper),
        })
    }

    /// Waits between retries through `sleeper`, so tests need not sleep.
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    fn url(&self, path: &str) -> Result<Url, SilenceError> {
        self.base
            .join(path)
            .map_err(|_| SilenceError::BadUrl(self.base.to_string()))
    }

    /// Makes the silence; answers its id.
    pub async fn create(&self, silence: &NewSilence) -> Result<String, SilenceError> {
        let body = WireSilence {
            matchers: silence
                .matchers
                .iter()
                .map(|matcher| WireMatcher {
                    name: &matcher.name,
                    value: &matcher.value,
                    is_regex: false,
                    is_equal: true,
                })
                .collect(),
            starts_at: silence.starts_at,
            ends_at: silence.ends_at,
            created_by: &silence.created_by,
            comment: &silence.comment,
        };
        let url = self.url("api/v2/silences")?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .http
                .post(url.clone())
                .timeout(TIMEOUT)
                .json(&body)
                .send()
                .await;
            let failure = match sent {
                Ok(response) if response.status().is_success() => {
                    let answer: Value = response
                        .json()
                        .await
                        .map_err(|error| SilenceError::Unavailable(error.to_string()))?;
                    return answer["silenceID"]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            SilenceError::Unavailable("the answer has no silenceID".into())
                        });
                }
                Ok(response) if response.status().is_client_error() => {
                    // Alertmanager's 400 body is its reason in plain text
                    // ("start time must be before end time"); a 4xx without
                    // one is named by its status.
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    let text: String = text.trim().chars().take(MAX_REASON_CHARS).collect();
                    return Err(SilenceError::Refused(if text.is_empty() {
                        format!("HTTP {status}")
                    } else {
                        text
                    }));
                }
                Ok(response) => format!("HTTP {}", response.status()),
                Err(error) => describe_transport_error("POST /api/v2/silences", &error, TIMEOUT),
            };
            if attempt >= self.retry.max_attempts {
                return Err(SilenceError::Unavailable(failure));
            }
            self.sleeper.sleep(self.retry.backoff(attempt)).await;
        }
    }

    /// Every silence Alertmanager knows, as it lists them (expired ones
    /// too, until Alertmanager forgets them). Not retried: it serves
    /// checks and tests, which can ask again.
    pub async fn list(&self) -> Result<Vec<Value>, SilenceError> {
        let response = self
            .http
            .get(self.url("api/v2/silences")?)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|error| SilenceError::Unavailable(error.to_string()))?;
        if !response.status().is_success() {
            return Err(SilenceError::Unavailable(format!(
                "HTTP {}",
                response.status()
            )));
        }
        response
            .json()
            .await
            .map_err(|error| SilenceError::Unavailable(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use serde_json::json;
    use std::sync::Mutex;
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[derive(Default)]
    struct Recorded(Mutex<Vec<Duration>>);

    #[async_trait]
    impl Sleeper for Recorded {
        async fn sleep(&self, delay: Duration) {
            self.0.lock().expect("not poisoned").push(delay);
        }
    }

    fn silence() -> NewSilence {
        let starts_at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 25, 10, 0, 0)
            .single()
            .expect("a time");
        NewSilence {
            matchers: vec![Matcher {
                name: "service".into(),
                value: "db".into(),
            }],
            starts_at,
            ends_at: starts_at + chrono::Duration::hours(1),
            created_by: "firebreak".into(),
            comment: "INC-3: db down".into(),
        }
    }

    #[tokio::test]
    async fn a_silence_is_posted_as_alertmanager_takes_it_and_its_id_returned() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v2/silences"))
            .and(body_partial_json(json!({
                "matchers": [{"name": "service", "value": "db", "isRegex": false, "isEqual": true}],
                "startsAt": "2026-11-25T10:00:00Z",
                "endsAt": "2026-11-25T11:00:00Z",
                "createdBy": "firebreak",
                "comment": "INC-3: db down",
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"silenceID": "7f9c"})))
            .expect(1)
            .mount(&server)
            .await;
        let api = SilenceApi::new(&server.uri(), reqwest::Client::new()).expect("a URL");
        assert_eq!(api.create(&silence()).await, Ok("7f9c".to_owned()));
    }

    #[tokio::test]
    async fn an_outage_is_retried_and_a_refusal_is_not() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"silenceID": "s2"})))
            .with_priority(2)
            .mount(&server)
            .await;
        let sleeper = Arc::new(Recorded::default());
        let api = SilenceApi::new(&format!("{}/", server.uri()), reqwest::Client::new())
            .expect("a URL")
            .with_sleeper(sleeper.clone());
        assert_eq!(api.create(&silence()).await, Ok("s2".to_owned()));
        assert_eq!(
            *sleeper.0.lock().expect("not poisoned"),
            [Duration::from_millis(200)]
        );

        let refusing = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(400).set_body_string("start time must be before end time"),
            )
            .expect(1)
            .mount(&refusing)
            .await;
        let api = SilenceApi::new(&refusing.uri(), reqwest::Client::new()).expect("a URL");
        match api.create(&silence()).await {
            Err(SilenceError::Refused(reason)) => {
                assert!(reason.contains("before end time"), "{reason}")
            }
            other => panic!("refused, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_server_error_is_retried_after_200ms_then_400ms_and_then_given_up() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/v2/silences"))
            .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
            .up_to_n_times(2)
            .with_priority(1)
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/api/v2/silences"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"silenceID": "s3"})))
            .with_priority(2)
            .expect(1)
            .mount(&server)
            .await;
        let sleeper = Arc::new(Recorded::default());
        let api = SilenceApi::new(&server.uri(), reqwest::Client::new())
            .expect("a URL")
            .with_sleeper(sleeper.clone());
        assert_eq!(api.create(&silence()).await, Ok("s3".to_owned()));
        assert_eq!(
            *sleeper.0.lock().expect("not poisoned"),
            [Duration::from_millis(200), Duration::from_millis(400)]
        );

        let down = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .expect(3)
            .mount(&down)
            .await;
        let sleeper = Arc::new(Recorded::default());
        let api = SilenceApi::new(&down.uri(), reqwest::Client::new())
            .expect("a URL")
            .with_sleeper(sleeper.clone());
        match api.create(&silence()).await {
            Err(SilenceError::Unavailable(reason)) => assert!(reason.contains("500"), "{reason}"),
            other => panic!("unavailable, not {other:?}"),
        }
        assert_eq!(sleeper.0.lock().expect("not poisoned").len(), 2);
    }

    #[tokio::test]
    async fn a_network_failure_is_retried_too() {
        // A port that was just listening and is now closed refuses at once.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
            listener.local_addr().expect("an address")
        };
        let sleeper = Arc::new(Recorded::default());
        let api = SilenceApi::new(&format!("http://{closed}"), reqwest::Client::new())
            .expect("a URL")
            .with_sleeper(sleeper.clone());
        assert!(matches!(
            api.create(&silence()).await,
            Err(SilenceError::Unavailable(_))
        ));
        assert_eq!(sleeper.0.lock().expect("not poisoned").len(), 2);
    }

    #[tokio::test]
    async fn a_refusal_keeps_at_most_300_characters_of_its_reason() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(400).set_body_string("é".repeat(1000)))
            .expect(1)
            .mount(&server)
            .await;
        let api = SilenceApi::new(&server.uri(), reqwest::Client::new()).expect("a URL");
        assert_eq!(
            api.create(&silence()).await,
            Err(SilenceError::Refused("é".repeat(300)))
        );
    }

    #[tokio::test]
    async fn silences_are_listed_as_alertmanager_answers() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v2/silences"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"id": "s1", "status": {"state": "active"}, "matchers": [], "createdBy": "firebreak"}
            ])))
            .mount(&server)
            .await;
        let api =
            SilenceApi::new(&format!("{}/", server.uri()), reqwest::Client::new()).expect("a URL");
        let silences = api.list().await.expect("listed");
        assert_eq!(silences.len(), 1);
        assert_eq!(silences[0]["id"], "s1");
    }

    #[test]
    fn only_http_urls_are_taken() {
        assert!(SilenceApi::new("ftp://am", reqwest::Client::new()).is_err());
        assert!(SilenceApi::new("not a url", reqwest::Client::new()).is_err());
    }
}
