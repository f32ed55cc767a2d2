//! A fake Slack Web API on loopback: answers the methods the bot calls
//! with responses shaped like Slack's docs, checks the bot token, and
//! records every call for assertions. Also signs requests the way Slack
//! signs the ones it sends.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const BOT_TOKEN: &str = "xoxb-test-token";
pub const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const BOT_USER: &str = "UBOT";
pub const ANNOUNCE: &str = "C0ANNOUNCE";

pub struct FakeSlack {
    pub server: MockServer,
}

/// Answers `ok: true` with fresh ids, echoing the channel it was given.
struct Answer {
    method: &'static str,
    next: Arc<AtomicU64>,
}

/// A request's parameters: JSON for writes, form-encoded for the read
/// methods (as Slack requires for those).
fn parameters(request: &Request) -> Value {
    if let Ok(json) = serde_json::from_slice::<Value>(&request.body) {
        return json;
    }
    serde_urlencoded::from_bytes::<std::collections::BTreeMap<String, String>>(&request.body)
        .map(|fields| json!(fields))
        .unwrap_or(Value::Null)
}

impl Respond for Answer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = parameters(request);
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let channel = body["channel"].as_str().unwrap_or("C0UNKNOWN").to_owned();
        let answer = match self.method {
            "auth.test" => {
                json!({ "ok": true, "user_id": BOT_USER, "bot_id": "B0BOT", "team_id": "T0TEAM", "team": "Test", "user": "firebreak", "url": "https://test.slack.com/" })
            }
            "chat.postMessage" => {
                json!({ "ok": true, "channel": channel, "ts": format!("1700000000.{n:06}"), "message": { "text": body["text"], "ts": format!("1700000000.{n:06}") } })
            }
            "chat.update" => {
                json!({ "ok": true, "channel": channel, "ts": body["ts"], "text": body["text"] })
            }
            "conversations.create" => {
                json!({ "ok": true, "channel": { "id": format!("C0INC{n:04}"), "name": body["name"], "is_channel": true, "is_private": body["is_private"] } })
            }
            "views.open" => {
                json!({ "ok": true, "view": { "id": format!("V0VIEW{n:04}"), "type": "modal", "hash": "1.abc" } })
            }
            "users.info" => {
                json!({ "ok": true, "user": { "id": body["user"], "name": "someone", "real_name": "Some One", "profile": { "display_name": "someone" } } })
            }
            "conversations.info" => {
                json!({ "ok": true, "channel": { "id": channel, "name": "general" } })
            }
            _ => json!({ "ok": true }),
        };
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

const METHODS: [&str; 13] = [
    "auth.test",
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "conversations.create",
    "conversations.invite",
    "conversations.setTopic",
    "conversations.rename",
    "conversations.join",
    "conversations.info",
    "pins.add",
    "views.open",
    "users.info",
];

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let server = MockServer::start().await;
        let next = Arc::new(AtomicU64::new(1));
        for name in METHODS {
            Mock::given(method("POST"))
                .and(path(format!("/api/{name}")))
                .and(header(
                    "authorization",
                    format!("Bearer {BOT_TOKEN}").as_str(),
                ))
                .respond_with(Answer {
                    method: name,
                    next: next.clone(),
                })
                .with_priority(10)
                .mount(&server)
                .await;
        }
        FakeSlack { server }
    }

    pub fn api_base_url(&self) -> String {
        format!("{}/api/", self.server.uri())
    }

    /// Every call so far to `name`, as (request JSON body) in order.
    pub async fn calls(&self, name: &str) -> Vec<Value> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|request| request.url.path() == format!("/api/{name}"))
            .map(parameters)
            .collect()
    }
}

/// `X-Slack-Request-Timestamp` and `X-Slack-Signature` for a body sent now.
pub fn signed_headers(body: &str) -> (String, String) {
    let now = chrono::Utc::now().timestamp();
    let signature =
        firebreak_adapters::slack::verify::sign(SIGNING_SECRET.as_bytes(), now, body.as_bytes());
    (now.to_string(), signature)
}
