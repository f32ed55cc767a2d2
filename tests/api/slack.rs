//! Slack end to end: requests signed and shaped as Slack sends them, the
//! Web API faked on loopback.

use crate::support::fake_slack::{signed_headers, FakeSlack, ANNOUNCE, BOT_TOKEN, SIGNING_SECRET};
use crate::support::{wait_for, wait_until, TestApp, TestDatabase};
use firebreak::config::Secret;
use serde_json::{json, Value};

async fn spawn(database: &TestDatabase, slack: &FakeSlack) -> TestApp {
    let api = slack.api_base_url();
    TestApp::spawn_with(database, move |settings| {
        settings.memory.enabled = false;
        settings.slack.bot_token = Some(Secret::new(BOT_TOKEN));
        // The fake Web API has no rate limits; pace in milliseconds.
        settings.slack.pacing_speed = 1000.0;
        settings.slack.signing_secret = Some(Secret::new(SIGNING_SECRET));
        settings.slack.api_base_url = api;
        settings.slack.announce_channel = Some(ANNOUNCE.to_owned());
    })
    .await
}

impl TestApp {
    /// Sends `body` to a Slack route, signed as Slack signs it.
    async fn slack(&self, route: &str, content_type: &str, body: &str) -> reqwest::Response {
        let (timestamp, signature) = signed_headers(body);
        self.client
            .post(self.url(route))
            .header("content-type", content_type)
            .header("X-Slack-Request-Timestamp", timestamp)
            .header("X-Slack-Signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .expect("request reaches the app")
    }

    async fn slack_event(&self, event_id: &str, event: Value) -> reqwest::Response {
        let body = json!({
            "token": "XXYYZZ", "team_id": "T0TEAM", "api_app_id": "A0APP",
            "event": event, "type": "event_callback", "event_id": event_id,
            "event_time": 1_700_000_000, "authorizations": [{ "team_id": "T0TEAM", "user_id": "UBOT", "is_bot": true }]
        });
        self.slack("/slack/events", "application/json", &body.to_string())
            .await
    }

    async fn slack_interaction(&self, payload: Value) -> reqwest::Response {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form");
        self.slack(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &body,
        )
        .await
    }
}

fn slash_command(channel: &str, text: &str, trigger: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", "T0TEAM"),
        ("team_domain", "example"),
        ("channel_id", channel),
        ("channel_name", "general"),
        ("user_id", "U0ANA"),
        ("user_name", "ana"),
        ("command", "/incident"),
        ("text", text),
        ("api_app_id", "A0APP"),
        ("response_url", "https://hooks.slack.com/commands/1234/5678"),
        ("trigger_id", trigger),
    ])
    .expect("form")
}

fn declare_submission(title: &str, severity: Option<&str>) -> Value {
    let severity = match severity {
        Some(value) => {
            json!({ "type": "static_select", "selected_option": { "text": { "type": "plain_text", "text": value }, "value": value } })
        }
        None => json!({ "type": "static_select", "selected_option": null }),
    };
    json!({
        "type": "view_submission",
        "team": { "id": "T0TEAM", "domain": "example" },
        "user": { "id": "U0ANA", "username": "ana", "name": "ana", "team_id": "T0TEAM" },
        "api_app_id": "A0APP",
        "token": "XXYYZZ",
        "trigger_id": "12345.98765.abcd2358fdea",
        "view": {
            "id": "V0VIEW0001", "team_id": "T0TEAM", "type": "modal",
            "callback_id": firebreak_actors::engine::DECLARE_FORM,
            "hash": format!("156772938.{}", title.len()), "private_metadata": "",
            "state": { "values": {
                "title": { "title": { "type": "plain_text_input", "value": title } },
                "summary": { "summary": { "type": "plain_text_input", "value": "Cards are declined" } },
                "impact": { "impact": { "type": "plain_text_input", "value": null } },
                "severity": { "severity": severity },
                "lead": { "lead": { "type": "users_select", "selected_user": "U0BO" } },
                "private": { "private": { "type": "checkboxes", "selected_options": [] } }
            } }
        }
    })
}

/// Declares through the modal and waits for the channel; answers its id.
async fn declare(app: &TestApp, slack: &FakeSlack, title: &str) -> (i64, String) {
    let response = app
        .slack_interaction(declare_submission(title, Some("2")))
        .await;
    assert_eq!(response.status(), 200);
    let id = wait_for("the incident exists", || async {
        app.get_json("/api/v1/incidents").await["incidents"]
            .as_array()
            .and_then(|items| items.iter().find(|item| item["title"] == title))
            .and_then(|item| item["id"].as_i64())
    })
    .await;
    let channel = wait_for("its channel exists", || async {
        app.incident(id).await["conversation_id"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    wait_until("the headline is posted", || async {
        slack
            .calls("chat.postMessage")
            .await
            .iter()
            .any(|call| call["channel"] == ANNOUNCE)
    })
    .await;
    (id, channel)
}

#[tokio::test]
async fn url_verification_is_answered_with_the_challenge() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let body = json!({ "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification" });
    let response = app
        .slack("/slack/events", "application/json", &body.to_string())
        .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(
        answer["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
}

#[tokio::test]
async fn unsigned_forged_and_stale_requests_get_401_and_nothing_is_applied() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let body = slash_command("C0GENERAL", "Payments failing", "1.2.3");
    let url = app.url("/slack/commands");
    let send = |timestamp: Option<String>, signature: Option<String>| {
        let mut request = app
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
        if let Some(timestamp) = timestamp {
            request = request.header("X-Slack-Request-Timestamp", timestamp);
        }
        if let Some(signature) = signature {
            request = request.header("X-Slack-Signature", signature);
        }
        request.send()
    };
    let (timestamp, signature) = signed_headers(&body);
    let stale_time = chrono::Utc::now().timestamp() - 6 * 60;
    let stale = stale_time.to_string();
    let stale_signature = firebreak_adapters::slack::verify::sign(
        SIGNING_SECRET.as_bytes(),
        stale_time,
        body.as_bytes(),
    );
    for (what, timestamp, signature) in [
        ("no headers", None, None),
        ("no signature", Some(timestamp.clone()), None),
        ("no timestamp", None, Some(signature.clone())),
        (
            "forged",
            Some(timestamp.clone()),
            Some(format!("v0={}", "0".repeat(64))),
        ),
        ("stale", Some(stale), Some(stale_signature)),
    ] {
        let response = send(timestamp, signature).await.expect("response");
        assert_eq!(response.status(), 401, "{what}");
    }
    assert!(
        slack.calls("views.open").await.is_empty(),
        "nothing was acted on"
    );
    assert_eq!(
        app.get_json("/api/v1/incidents").await["incidents"],
        json!([])
    );
}

#[tokio::test]
async fn the_slash_command_opens_the_declare_modal_prefilled_with_the_title() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let response = app
        .slack(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            &slash_command(
                "C0GENERAL",
                "Payments failing",
                "13345224609.738474920.8088930838d88f008e0",
            ),
        )
        .await;
    assert_eq!(response.status(), 200);
    let opened = slack.calls("views.open").await;
    assert_eq!(opened.len(), 1, "views.open is made before answering");
    assert_eq!(
        opened[0]["trigger_id"],
        "13345224609.738474920.8088930838d88f008e0"
    );
    let view = &opened[0]["view"];
    assert_eq!(view["type"], "modal");
    assert_eq!(view["callback_id"], firebreak_actors::engine::DECLARE_FORM);
    let title_input = view["blocks"]
        .as_array()
        .and_then(|blocks| blocks.iter().find(|block| block["block_id"] == "title"))
        .expect("a title input");
    assert_eq!(title_input["element"]["initial_value"], "Payments failing");
}

#[tokio::test]
async fn submitting_the_modal_opens_a_channel_invites_briefs_and_announces() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let (id, channel) = declare(&app, &slack, "Payments failing").await;

    let created = slack.calls("conversations.create").await;
    assert_eq!(created[0]["name"], format!("inc-{id}-payments-failing"));
    let invited = slack.calls("conversations.invite").await;
    let users = invited[0]["users"].as_str().unwrap_or_default();
    assert!(
        users.contains("U0ANA") && users.contains("U0BO"),
        "reporter and lead invited: {users}"
    );
    assert!(slack
        .calls("conversations.setTopic")
        .await
        .iter()
        .any(|call| call["channel"] == channel.as_str()));
    let posts = slack.calls("chat.postMessage").await;
    assert!(
        posts.iter().any(|call| call["channel"] == channel.as_str()),
        "brief posted in the channel"
    );
    assert!(
        slack
            .calls("pins.add")
            .await
            .iter()
            .any(|call| call["channel"] == channel.as_str()),
        "brief pinned"
    );
    let headline = posts
        .iter()
        .find(|call| call["channel"] == ANNOUNCE)
        .expect("headline");
    assert_eq!(headline["blocks"][0]["type"], "header");
    let incident = app.incident(id).await;
    assert_eq!(incident["severity"], 2);
    assert_eq!(incident["lead"]["id"], "U0BO");
    assert_eq!(incident["reporter"]["id"], "U0ANA");
}

#[tokio::test]
async fn an_invalid_submission_keeps_the_modal_open_with_errors_on_the_fields() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let response = app.slack_interaction(declare_submission("   ", None)).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["response_action"], "errors");
    assert!(answer["errors"]["title"].is_string(), "{answer}");
    assert!(answer["errors"]["severity"].is_string(), "{answer}");
    assert!(slack.calls("conversations.create").await.is_empty());
}

#[tokio::test]
async fn a_mention_in_the_channel_runs_the_command_and_updates_headline_and_topic() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let (id, channel) = declare(&app, &slack, "Search down").await;

    let mention = json!({
        "type": "app_mention", "user": "U0ANA", "text": "<@UBOT> severity 1",
        "ts": "1700000100.000100", "channel": channel, "event_ts": "1700000100.000100"
    });
    assert_eq!(app.slack_event("Ev0MENTION", mention).await.status(), 200);
    wait_until("severity 1", || async {
        app.incident(id).await["severity"] == 1
    })
    .await;
    wait_until("the headline is updated", || async {
        slack.calls("chat.update").await.iter().any(|call| {
            call["channel"] == ANNOUNCE
                && call["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("critical"))
        })
    })
    .await;
    wait_until("the topic follows", || async {
        slack
            .calls("conversations.setTopic")
            .await
            .iter()
            .any(|call| {
                call["topic"]
                    .as_str()
                    .is_some_and(|t| t.contains("1 (critical)"))
            })
    })
    .await;
    let lead = json!({
        "type": "app_mention", "user": "U0ANA", "text": "<@UBOT> lead <@U0CY>",
        "ts": "1700000101.000100", "channel": channel, "event_ts": "1700000101.000100"
    });
    assert_eq!(app.slack_event("Ev0LEAD", lead).await.status(), 200);
    wait_until("the new lead is on the timeline by name", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.starts_with("Lead set to someone"))
    })
    .await;
    assert_eq!(app.incident(id).await["lead"]["id"], "U0CY");
    wait_until("the change is announced in the channel", || async {
        slack.calls("chat.postMessage").await.iter().any(|call| {
            call["channel"] == channel.as_str()
                && call["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("Severity changed"))
        })
    })
    .await;
}

#[tokio::test]
async fn a_retried_event_and_its_message_twin_are_applied_once() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let (id, channel) = declare(&app, &slack, "Queue stuck").await;
    let event = |kind: &str| {
        json!({
            "type": kind, "user": "U0ANA", "text": "<@UBOT> action Add queue depth alert",
            "ts": "1700000500.000500", "channel": channel, "event_ts": "1700000500.000500", "channel_type": "channel"
        })
    };
    assert_eq!(
        app.slack_event("Ev0ACTION", event("app_mention"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.slack_event("Ev0ACTION", event("app_mention"))
            .await
            .status(),
        200,
        "retry"
    );
    assert_eq!(
        app.slack_event("Ev0TWIN", event("message")).await.status(),
        200,
        "same message as a message event"
    );
    // A later event through the same inbox is the barrier: once it is
    // applied, the ones before it have been.
    let barrier = json!({
        "type": "app_mention", "user": "U0ANA", "text": "<@UBOT> note done",
        "ts": "1700000600.000600", "channel": channel, "event_ts": "1700000600.000600"
    });
    app.slack_event("Ev0BARRIER", barrier).await;
    wait_until("the note is there", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|t| t.contains("done"))
    })
    .await;
    let actions = app.incident(id).await["actions"].as_array().map(Vec::len);
    assert_eq!(actions, Some(1));
}

#[tokio::test]
async fn a_pushpin_reaction_puts_the_message_on_the_timeline() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let (id, channel) = declare(&app, &slack, "Cert expiry").await;
    let reaction = json!({
        "type": "reaction_added", "user": "U0ANA", "reaction": "pushpin", "item_user": "U0BO",
        "item": { "type": "message", "channel": channel, "ts": "1700000200.000200" },
        "event_ts": "1700000300.000300"
    });
    assert_eq!(app.slack_event("Ev0PIN", reaction).await.status(), 200);
    wait_until("the pin is on the timeline", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.starts_with("Pinned"))
    })
    .await;
}

#[tokio::test]
async fn a_taken_channel_name_gets_a_numbered_one() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/api/conversations.create"))
        .and(wiremock::matchers::body_partial_json(
            json!({ "name": "inc-1-dns-down" }),
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(json!({ "ok": false, "error": "name_taken" })),
        )
        .with_priority(1)
        .mount(&slack.server)
        .await;
    let app = spawn(&database, &slack).await;
    let (_, _) = declare(&app, &slack, "DNS down").await;
    let names: Vec<Value> = slack
        .calls("conversations.create")
        .await
        .iter()
        .map(|call| call["name"].clone())
        .collect();
    assert_eq!(names, [json!("inc-1-dns-down"), json!("inc-1-dns-down-2")]);
}

#[tokio::test]
async fn slack_rate_limits_are_waited_out_and_the_call_succeeds() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    wiremock::Mock::given(wiremock::matchers::path("/api/conversations.create"))
        .respond_with(wiremock::ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&slack.server)
        .await;
    let app = spawn(&database, &slack).await;
    let (id, _) = declare(&app, &slack, "Rate limited").await;
    assert_eq!(
        slack.calls("conversations.create").await.len(),
        2,
        "retried once after the 429"
    );
    assert!(!app
        .timeline_texts(id)
        .await
        .iter()
        .any(|text| text.starts_with("Failed")));
}

#[tokio::test]
async fn both_shortcuts_open_the_declare_modal_the_message_one_with_its_text() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let global = json!({
        "type": "shortcut", "token": "XXYYZZ", "action_ts": "1581106241.371594",
        "team": { "id": "T0TEAM", "domain": "example" }, "user": { "id": "U0ANA", "username": "ana", "team_id": "T0TEAM" },
        "callback_id": "declare_incident", "trigger_id": "944799105734.773906753841.38b5894552bdd4a780554ee59d1f3bbb"
    });
    assert_eq!(app.slack_interaction(global).await.status(), 200);
    let on_message = json!({
        "type": "message_action", "token": "XXYYZZ", "action_ts": "1581106241.371594",
        "team": { "id": "T0TEAM", "domain": "example" }, "user": { "id": "U0ANA", "name": "ana" },
        "channel": { "id": "C0GENERAL", "name": "general" },
        "callback_id": "declare_incident_from_message", "trigger_id": "13345224609.8534564800.6f8ab1f53e13d0cd15f96106292d5536",
        "message_ts": "1581106200.000100", "response_url": "https://hooks.slack.com/app-actions/T0/1/2",
        "message": { "type": "message", "user": "U0BO", "ts": "1581106200.000100", "text": "checkout is throwing 502s" }
    });
    assert_eq!(app.slack_interaction(on_message).await.status(), 200);
    let opened = slack.calls("views.open").await;
    assert_eq!(opened.len(), 2);
    let summary = |view: &Value| {
        view["blocks"]
            .as_array()
            .and_then(|blocks| blocks.iter().find(|block| block["block_id"] == "summary"))
            .map(|block| block["element"]["initial_value"].clone())
    };
    assert_eq!(summary(&opened[0]["view"]), Some(Value::Null));
    assert_eq!(
        summary(&opened[1]["view"]),
        Some(json!("checkout is throwing 502s"))
    );
}

#[tokio::test]
async fn the_headline_edit_button_opens_the_edit_modal_at_once() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let (id, _) = declare(&app, &slack, "Billing lag").await;
    let press = json!({
        "type": "block_actions",
        "user": { "id": "U0ANA", "username": "ana", "name": "ana", "team_id": "T0TEAM" },
        "api_app_id": "A0APP", "token": "XXYYZZ", "trigger_id": "13345224609.8534564800.edit",
        "team": { "id": "T0TEAM", "domain": "example" },
        "container": { "type": "message", "message_ts": "1700000000.000009", "channel_id": ANNOUNCE, "is_ephemeral": false },
        "channel": { "id": ANNOUNCE, "name": "incidents" },
        "message": { "type": "message", "ts": "1700000000.000009", "text": "headline" },
        "response_url": "https://hooks.slack.com/actions/T0/1/2",
        "actions": [{ "action_id": "incident.edit", "block_id": "b1", "text": { "type": "plain_text", "text": "Edit" },
                      "value": id.to_string(), "type": "button", "action_ts": "1700000010.000000" }]
    });
    assert_eq!(app.slack_interaction(press).await.status(), 200);
    let opened = slack.calls("views.open").await;
    let edit = opened
        .iter()
        .find(|call| call["view"]["callback_id"] == format!("incident.edit:{id}"))
        .expect("the edit modal was opened before answering");
    assert_eq!(edit["trigger_id"], "13345224609.8534564800.edit");
}

#[tokio::test]
async fn a_channel_renamed_in_slack_is_kept_on_the_timeline_but_the_bots_own_renames_are_not() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let (id, channel) = declare(&app, &slack, "Disk pressure").await;
    let rename = |name: &str| json!({ "type": "channel_rename", "channel": { "id": channel, "name": name, "created": 1_360_782_804 } });
    assert_eq!(
        app.slack_event("Ev0OWN", rename(&format!("inc-{id}-disk-pressure")))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.slack_event("Ev0THEIRS", rename("war-room"))
            .await
            .status(),
        200
    );
    wait_until("the rename is on the timeline", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text == "Conversation renamed to #war-room")
    })
    .await;
    let renames = app
        .timeline_texts(id)
        .await
        .iter()
        .filter(|text| text.starts_with("Conversation renamed"))
        .count();
    assert_eq!(renames, 1);
}

/// Slack's side of a Socket Mode connection: accepts the bot's WebSocket,
/// says hello, and lets the test send envelopes and read acks.
struct SocketSlack {
    socket: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
}

impl SocketSlack {
    async fn accept(listener: &tokio::net::TcpListener) -> SocketSlack {
        let (stream, _) =
            tokio::time::timeout(std::time::Duration::from_secs(15), listener.accept())
                .await
                .expect("the bot connects in time")
                .expect("accept");
        let mut socket = tokio_tungstenite::accept_async(stream)
            .await
            .expect("handshake");
        let hello = json!({ "type": "hello", "num_connections": 1, "connection_info": { "app_id": "A0APP" } });
        socket
            .send(Message::text(hello.to_string()))
            .await
            .expect("hello");
        SocketSlack { socket }
    }

    /// Sends an envelope and answers the bot's ack for it.
    async fn deliver(&mut self, envelope_id: &str, kind: &str, payload: Value) -> Value {
        let envelope = json!({
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": ""
        });
        self.socket
            .send(Message::text(envelope.to_string()))
            .await
            .expect("send envelope");
        loop {
            let frame =
                tokio::time::timeout(std::time::Duration::from_secs(15), self.socket.next())
                    .await
                    .expect("an ack in time")
                    .expect("socket open")
                    .expect("frame");
            if let Message::Text(text) = frame {
                let ack: Value = serde_json::from_str(&text).expect("JSON ack");
                if ack["envelope_id"] == envelope_id {
                    return ack;
                }
            }
        }
    }
}

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn socket_mode_runs_an_incident_without_a_public_url() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "ws://{}/link/?ticket=1",
        listener.local_addr().expect("address")
    );
    wiremock::Mock::given(wiremock::matchers::path("/api/apps.connections.open"))
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer xapp-1-A0APP-test",
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "url": url })),
        )
        .mount(&slack.server)
        .await;
    let api = slack.api_base_url();
    let app = TestApp::spawn_with(&database, move |settings| {
        settings.memory.enabled = false;
        settings.slack.bot_token = Some(Secret::new(BOT_TOKEN));
        // The fake Web API has no rate limits; pace in milliseconds.
        settings.slack.pacing_speed = 1000.0;
        settings.slack.app_token = Some(Secret::new("xapp-1-A0APP-test"));
        settings.slack.api_base_url = api;
        settings.slack.announce_channel = Some(ANNOUNCE.to_owned());
    })
    .await;
    let mut socket = SocketSlack::accept(&listener).await;

    // An invalid submission is answered in the ack, as over HTTP.
    let ack = socket
        .deliver("env-1", "interactive", declare_submission(" ", None))
        .await;
    assert_eq!(ack["payload"]["response_action"], "errors");

    let ack = socket
        .deliver(
            "env-2",
            "interactive",
            declare_submission("Socket incident", Some("3")),
        )
        .await;
    assert_eq!(ack, json!({ "envelope_id": "env-2" }));
    let id = wait_for("the incident exists", || async {
        app.get_json("/api/v1/incidents").await["incidents"][0]["id"].as_i64()
    })
    .await;
    let channel = wait_for("its channel exists", || async {
        app.incident(id).await["conversation_id"]
            .as_str()
            .map(str::to_owned)
    })
    .await;

    let mention = json!({
        "token": "XXYYZZ", "team_id": "T0TEAM", "api_app_id": "A0APP", "type": "event_callback",
        "event_id": "Ev0SOCKET", "event_time": 1_700_000_000,
        "event": { "type": "app_mention", "user": "U0ANA", "text": "<@UBOT> sev 1", "ts": "1700000900.000100", "channel": channel, "event_ts": "1700000900.000100" }
    });
    socket.deliver("env-3", "events_api", mention).await;
    wait_until("the command arrived over the socket", || async {
        app.incident(id).await["severity"] == 1
    })
    .await;

    // With no signing secret, the HTTP doors stay shut.
    let response = app.slack("/slack/events", "application/json", "{}").await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn an_update_is_threaded_under_the_headline() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let app = spawn(&database, &slack).await;
    let (_, channel) = declare(&app, &slack, "Ledger drift").await;
    let update = json!({
        "type": "app_mention", "user": "U0ANA", "text": "<@UBOT> update Reconciliation job restarted",
        "ts": "1700000700.000700", "channel": channel, "event_ts": "1700000700.000700"
    });
    assert_eq!(app.slack_event("Ev0UPDATE", update).await.status(), 200);
    let threaded = wait_for("the update is threaded under the headline", || async {
        slack
            .calls("chat.postMessage")
            .await
            .into_iter()
            .find(|call| call["channel"] == ANNOUNCE && call["thread_ts"].is_string())
    })
    .await;
    assert!(threaded["text"]
        .as_str()
        .is_some_and(|text| text.contains("Reconciliation job restarted")));
}
