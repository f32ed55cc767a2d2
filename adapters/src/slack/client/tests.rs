//! Tests of the Slack client against a fake Web API on loopback
//! (`wiremock`). Mocks declare how often they must be hit (`.expect(n)`,
//! checked when the server drops), and a recording sleeper stands in for
//! the timer, so retry schedules are asserted exactly and nothing waits.

use super::*;
use crate::adapter::AdapterError;
use async_trait::async_trait;
use serde_json::json;
use std::sync::Mutex;
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "xoxb-test-secret-token";

/// Records each requested delay and returns at once.
#[derive(Default)]
struct RecordingSleeper {
    delays: Mutex<Vec<Duration>>,
}

impl RecordingSleeper {
    fn delays(&self) -> Vec<Duration> {
        self.delays.lock().expect("sleeper lock").clone()
    }
}

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, delay: Duration) {
        self.delays.lock().expect("sleeper lock").push(delay);
    }
}

fn test_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        first_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(30),
        max_retry_after: Duration::from_secs(60),
    }
}

/// A client for `server`'s `/api` (no trailing slash, as an operator might
/// write it) and the sleeper it waits through.
fn client_for(server: &MockServer) -> (SlackClient, Arc<RecordingSleeper>) {
    client_at(&format!("{}/api", server.uri()))
}

fn client_at(base_url: &str) -> (SlackClient, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = SlackClient::new(base_url, TOKEN.to_owned())
        .expect("client")
        .with_retry(test_policy())
        .with_sleeper(sleeper.clone())
        // Waits of a few milliseconds: paced, but no test sits for seconds.
        .with_pacing_speed(1000.0);
    (client, sleeper)
}

fn ok(extra: Value) -> ResponseTemplate {
    let mut body = json!({ "ok": true });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn refused(code: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "ok": false, "error": code }))
}

async fn mount(server: &MockServer, api_method: &str, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path(format!("/api/{api_method}")))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

/// Answers with `first` `times` times, and with `then` after that.
async fn mount_sequence(
    server: &MockServer,
    api_method: &str,
    first: ResponseTemplate,
    times: u64,
    then: ResponseTemplate,
) {
    Mock::given(method("POST"))
        .and(path(format!("/api/{api_method}")))
        .respond_with(first)
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
    mount(server, api_method, then, 1).await;
}

// ---- the transport: auth, body, paths ----

#[tokio::test]
async fn call_posts_json_with_the_bearer_token_to_the_method_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(body_json(json!({ "channel": "C1", "text": "hello" })))
        .respond_with(ok(json!({ "channel": "C1", "ts": "1.2" })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, sleeper) = client_for(&server);

    let answer = client
        .call(
            "chat.postMessage",
            &json!({ "channel": "C1", "text": "hello" }),
        )
        .await
        .expect("call succeeds");

    assert_eq!(answer["ts"], "1.2");
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn base_url_works_with_and_without_a_trailing_slash() {
    let server = MockServer::start().await;
    mount(
        &server,
        "auth.test",
        ok(json!({ "user_id": "UB", "team_id": "T1" })),
        2,
    )
    .await;

    for base in [
        format!("{}/api", server.uri()),
        format!("{}/api/", server.uri()),
    ] {
        let (client, _) = client_at(&base);
        client.auth_test().await.expect("auth.test succeeds");
    }
}

#[test]
fn a_base_url_that_is_not_http_is_a_configuration_error() {
    for base in [
        "not a url",
        "ftp://slack.com/api",
        "https://slack.com/api?x=1",
    ] {
        let error = SlackClient::new(base, TOKEN.to_owned()).expect_err(base);
        assert!(
            matches!(error, SlackError::InvalidConfig(_)),
            "{base}: {error:?}"
        );
    }
}

#[test]
fn an_empty_or_unprintable_token_is_a_configuration_error_that_does_not_quote_it() {
    let empty = SlackClient::new(DEFAULT_API_BASE_URL, "  ".to_owned()).expect_err("empty");
    assert!(matches!(empty, SlackError::InvalidConfig(_)));

    let bad = SlackClient::new(DEFAULT_API_BASE_URL, "xoxb-secret\u{7f}".to_owned())
        .expect_err("control character");
    assert!(!bad.to_string().contains("xoxb-secret"), "{bad}");
}

#[test]
fn debug_output_does_not_reveal_the_token() {
    let client = SlackClient::new(DEFAULT_API_BASE_URL, TOKEN.to_owned()).expect("client");
    let debug = format!("{client:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[tokio::test]
async fn a_malformed_method_name_is_never_sent() {
    let server = MockServer::start().await;
    let (client, _) = client_for(&server);

    let error = client
        .call("../admin?x", &json!({}))
        .await
        .expect_err("rejected locally");

    assert!(
        matches!(error, SlackError::InvalidRequest { .. }),
        "{error:?}"
    );
    let received = server.received_requests().await.expect("recording on");
    assert!(received.is_empty());
}

// ---- refusals ----

#[tokio::test]
async fn ok_false_is_an_api_error_with_its_code_and_is_not_retried() {
    let server = MockServer::start().await;
    mount(
        &server,
        "chat.postMessage",
        ResponseTemplate::new(200).set_body_json(json!({
            "ok": false,
            "error": "missing_scope",
            "needed": "chat:write",
            "provided": "channels:read",
        })),
        1,
    )
    .await;
    let (client, sleeper) = client_for(&server);

    let error = client
        .call("chat.postMessage", &json!({ "channel": "C1" }))
        .await
        .expect_err("refused");

    assert_eq!(
        error,
        SlackError::Api {
            method: "chat.postMessage".to_owned(),
            code: "missing_scope".to_owned(),
            needed: Some("chat:write".to_owned()),
            provided: Some("channels:read".to_owned()),
        }
    );
    assert_eq!(error.code(), Some("missing_scope"));
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn a_transient_error_code_is_retried_like_a_server_error() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "chat.update",
        refused("internal_error"),
        1,
        ok(json!({})),
    )
    .await;
    let (client, sleeper) = client_for(&server);

    client
        .call("chat.update", &json!({}))
        .await
        .expect("succeeds on the second try");

    assert_eq!(sleeper.delays(), vec![Duration::from_millis(100)]);
}

#[tokio::test]
async fn a_200_that_is_not_slack_json_is_an_invalid_response_and_is_not_retried() {
    let server = MockServer::start().await;
    mount(
        &server,
        "auth.test",
        ResponseTemplate::new(200).set_body_string("<html>proxy login</html>"),
        1,
    )
    .await;
    let (client, sleeper) = client_for(&server);

    let error = client.auth_test().await.expect_err("not JSON");

    assert!(
        matches!(error, SlackError::InvalidResponse { .. }),
        "{error:?}"
    );
    assert!(sleeper.delays().is_empty());
}

// ---- retries ----

#[tokio::test]
async fn a_429_waits_the_retry_after_seconds_then_succeeds() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "chat.postMessage",
        ResponseTemplate::new(429).insert_header("Retry-After", "7"),
        1,
        ok(json!({ "channel": "C1", "ts": "1.2" })),
    )
    .await;
    let (client, sleeper) = client_for(&server);

    let posted = client
        .post_message("C1", json!({ "text": "hi" }), None)
        .await
        .expect("succeeds after one retry");

    assert_eq!(posted.ts, "1.2");
    assert_eq!(sleeper.delays(), vec![Duration::from_secs(7)]);
}

#[tokio::test]
async fn a_429_without_a_usable_retry_after_waits_one_second() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/auth.test"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_sequence(
        &server,
        "auth.test",
        ResponseTemplate::new(429).insert_header("Retry-After", "soon"),
        1,
        ok(json!({ "user_id": "UB", "team_id": "T1" })),
    )
    .await;
    let (client, sleeper) = client_for(&server);

    client.auth_test().await.expect("succeeds on the third try");

    assert_eq!(
        sleeper.delays(),
        vec![Duration::from_secs(1), Duration::from_secs(1)]
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_gives_up_at_once_without_waiting() {
    let server = MockServer::start().await;
    mount(
        &server,
        "chat.postMessage",
        ResponseTemplate::new(429).insert_header("Retry-After", "120"),
        1,
    )
    .await;
    let (client, sleeper) = client_for(&server);

    let error = client
        .call("chat.postMessage", &json!({}))
        .await
        .expect_err("gives up");

    assert_eq!(
        error,
        SlackError::RateLimited {
            retry_after: Duration::from_secs(120)
        }
    );
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn persistent_rate_limiting_is_rate_limited_after_max_attempts() {
    let server = MockServer::start().await;
    mount(
        &server,
        "chat.postMessage",
        ResponseTemplate::new(429).insert_header("Retry-After", "2"),
        3,
    )
    .await;
    let (client, sleeper) = client_for(&server);

    let error = client
        .call("chat.postMessage", &json!({}))
        .await
        .expect_err("gives up");

    assert_eq!(
        error,
        SlackError::RateLimited {
            retry_after: Duration::from_secs(2)
        }
    );
    assert_eq!(sleeper.delays(), vec![Duration::from_secs(2); 2]);
}

#[tokio::test]
async fn ratelimited_in_an_ok_false_body_honours_retry_after() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "reactions.add",
        refused("ratelimited").insert_header("Retry-After", "3"),
        1,
        ok(json!({})),
    )
    .await;
    let (client, sleeper) = client_for(&server);

    client
        .add_reaction("C1", "1.2", "eyes")
        .await
        .expect("succeeds after waiting");

    assert_eq!(sleeper.delays(), vec![Duration::from_secs(3)]);
}

#[tokio::test]
async fn server_errors_are_retried_with_doubling_backoff() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "conversations.setTopic",
        ResponseTemplate::new(500),
        2,
        ok(json!({})),
    )
    .await;
    let (client, sleeper) = client_for(&server);

    client
        .set_topic("C1", "Payments failing")
        .await
        .expect("succeeds on the third try");

    assert_eq!(
        sleeper.delays(),
        vec![Duration::from_millis(100), Duration::from_millis(200)]
    );
}

#[tokio::test]
async fn a_persistent_server_error_is_unavailable_after_max_attempts() {
    let server = MockServer::start().await;
    mount(&server, "chat.postMessage", ResponseTemplate::new(503), 3).await;
    let (client, sleeper) = client_for(&server);

    let error = client
        .call("chat.postMessage", &json!({}))
        .await
        .expect_err("gives up");

    let SlackError::Unavailable(reason) = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(reason.contains("503"), "{reason}");
    assert!(reason.contains("chat.postMessage"), "{reason}");
    assert!(!reason.contains(TOKEN), "{reason}");
    assert_eq!(
        sleeper.delays(),
        vec![Duration::from_millis(100), Duration::from_millis(200)]
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_unavailable() {
    // Bind and drop a listener: its port is then (almost surely) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port();
    let (client, sleeper) = client_at(&format!("http://127.0.0.1:{port}/api"));

    let error = client.auth_test().await.expect_err("nothing listens");

    assert!(matches!(error, SlackError::Unavailable(_)), "{error:?}");
    assert_eq!(sleeper.delays().len(), 2);
}

#[tokio::test]
async fn a_request_that_times_out_is_retried_then_unavailable() {
    let server = MockServer::start().await;
    mount(
        &server,
        "auth.test",
        ok(json!({})).set_delay(Duration::from_secs(5)),
        2,
    )
    .await;
    let (client, sleeper) = client_for(&server);
    let client = client
        .with_retry(RetryPolicy {
            max_attempts: 2,
            ..test_policy()
        })
        .with_request_timeout(Duration::from_millis(50));

    let error = client.auth_test().await.expect_err("times out");

    let SlackError::Unavailable(reason) = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(reason.contains("no answer within"), "{reason}");
    assert_eq!(sleeper.delays(), vec![Duration::from_millis(100)]);
}

#[test]
fn backoff_doubles_from_the_first_delay_up_to_the_cap() {
    let policy = RetryPolicy {
        max_attempts: 10,
        first_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(3),
        max_retry_after: Duration::from_secs(60),
    };
    let delays: Vec<u64> = (1..=5)
        .map(|attempt| policy.backoff(attempt).as_millis() as u64)
        .collect();
    assert_eq!(delays, vec![500, 1000, 2000, 3000, 3000]);
    assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(3));
}

// ---- mapping into AdapterError ----

#[test]
fn slack_errors_map_onto_adapter_errors() {
    let cases = [
        (
            SlackError::RateLimited {
                retry_after: Duration::from_secs(9),
            },
            AdapterError::RateLimited {
                retry_after: Duration::from_secs(9),
            },
        ),
        (
            SlackError::Unavailable("chat.update: HTTP 502".to_owned()),
            AdapterError::Unavailable("chat.update: HTTP 502".to_owned()),
        ),
        (
            SlackError::Api {
                method: "conversations.create".to_owned(),
                code: "name_taken".to_owned(),
                needed: None,
                provided: None,
            },
            AdapterError::Rejected("conversations.create: name_taken".to_owned()),
        ),
        (
            SlackError::Api {
                method: "pins.add".to_owned(),
                code: "missing_scope".to_owned(),
                needed: Some("pins:write".to_owned()),
                provided: None,
            },
            AdapterError::Rejected("pins.add: missing_scope (needs scope pins:write)".to_owned()),
        ),
    ];
    for (slack, adapter) in cases {
        assert_eq!(AdapterError::from(slack), adapter);
    }
    let unreadable = AdapterError::from(SlackError::InvalidResponse {
        method: "auth.test".to_owned(),
        reason: "not JSON".to_owned(),
    });
    assert!(
        matches!(unreadable, AdapterError::Unavailable(_)),
        "{unreadable:?}"
    );
}

// ---- typed methods ----

#[tokio::test]
async fn post_message_adds_channel_and_thread_to_the_payload() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(body_json(json!({
            "channel": "C1",
            "thread_ts": "100.1",
            "text": "Severity is now 1",
            "blocks": [],
        })))
        .respond_with(ok(json!({ "channel": "C1", "ts": "100.2", "message": {} })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let posted = client
        .post_message(
            "C1",
            json!({ "text": "Severity is now 1", "blocks": [] }),
            Some("100.1"),
        )
        .await
        .expect("posted");

    assert_eq!(
        posted,
        PostedMessage {
            channel: "C1".to_owned(),
            ts: "100.2".to_owned()
        }
    );
}

#[tokio::test]
async fn a_payload_that_is_not_an_object_is_refused_before_sending() {
    let server = MockServer::start().await;
    let (client, _) = client_for(&server);

    let error = client
        .post_message("C1", json!("just text"), None)
        .await
        .expect_err("not an object");

    assert!(
        matches!(error, SlackError::InvalidRequest { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_successful_answer_missing_the_ids_is_an_invalid_response() {
    let server = MockServer::start().await;
    mount(
        &server,
        "chat.postMessage",
        ok(json!({ "channel": "C1" })),
        1,
    )
    .await;
    let (client, _) = client_for(&server);

    let error = client
        .post_message("C1", json!({ "text": "hi" }), None)
        .await
        .expect_err("no ts");

    assert!(
        matches!(error, SlackError::InvalidResponse { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn update_message_and_post_ephemeral_name_their_target() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.update"))
        .and(body_json(
            json!({ "channel": "C1", "ts": "1.2", "text": "new" }),
        ))
        .respond_with(ok(json!({ "channel": "C1", "ts": "1.2" })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postEphemeral"))
        .and(body_json(
            json!({ "channel": "C1", "user": "U1", "text": "only you" }),
        ))
        .respond_with(ok(json!({ "message_ts": "1.3" })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    client
        .update_message("C1", "1.2", json!({ "text": "new" }))
        .await
        .expect("updated");
    client
        .post_ephemeral("C1", "U1", json!({ "text": "only you" }))
        .await
        .expect("posted");
}

#[tokio::test]
async fn create_conversation_returns_the_new_channel_and_surfaces_name_taken() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/conversations.create"))
        .and(body_json(
            json!({ "name": "inc-42-payments", "is_private": false }),
        ))
        .respond_with(ok(json!({
            "channel": { "id": "C42", "name": "inc-42-payments", "is_channel": true }
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/conversations.create"))
        .and(body_json(
            json!({ "name": "inc-43-taken", "is_private": true }),
        ))
        .respond_with(refused("name_taken"))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let created = client
        .create_conversation("inc-42-payments", false)
        .await
        .expect("created");
    let taken = client
        .create_conversation("inc-43-taken", true)
        .await
        .expect_err("taken");

    assert_eq!(
        created,
        ChannelInfo {
            id: "C42".to_owned(),
            name: "inc-42-payments".to_owned()
        }
    );
    assert_eq!(taken.code(), Some("name_taken"));
}

#[tokio::test]
async fn inviting_someone_already_in_the_channel_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/conversations.invite"))
        .and(body_json(json!({ "channel": "C1", "users": "U1" })))
        .respond_with(refused("already_in_channel"))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    client.invite("C1", &["U1"]).await.expect("nothing to do");
}

#[tokio::test]
async fn a_batch_refused_as_already_in_channel_invites_each_person_alone() {
    let server = MockServer::start().await;
    let invite = |users: &str| {
        Mock::given(method("POST"))
            .and(path("/api/conversations.invite"))
            .and(body_json(json!({ "channel": "C1", "users": users })))
    };
    invite("U1,U2")
        .respond_with(refused("already_in_channel"))
        .expect(1)
        .mount(&server)
        .await;
    invite("U1")
        .respond_with(refused("already_in_channel"))
        .expect(1)
        .mount(&server)
        .await;
    invite("U2")
        .respond_with(ok(json!({ "channel": { "id": "C1" } })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    client
        .invite("C1", &["U1", "U2", "U1"])
        .await
        .expect("U2 invited, U1 already there");
}

#[tokio::test]
async fn inviting_nobody_makes_no_request() {
    let server = MockServer::start().await;
    mount(&server, "conversations.invite", ok(json!({})), 0).await;
    let (client, _) = client_for(&server);

    client.invite("C1", &[]).await.expect("nothing to do");
}

#[tokio::test]
async fn other_invite_refusals_are_errors() {
    let server = MockServer::start().await;
    mount(&server, "conversations.invite", refused("cant_invite"), 1).await;
    let (client, _) = client_for(&server);

    let error = client
        .invite("C1", &["U1", "U2"])
        .await
        .expect_err("refused");

    assert_eq!(error.code(), Some("cant_invite"));
}

#[tokio::test]
async fn pinning_an_already_pinned_message_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/pins.add"))
        .and(body_json(json!({ "channel": "C1", "timestamp": "1.2" })))
        .respond_with(refused("already_pinned"))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    client.pin("C1", "1.2").await.expect("nothing to do");
}

#[tokio::test]
async fn reacting_twice_succeeds_and_colons_are_stripped() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/reactions.add"))
        .and(body_json(
            json!({ "channel": "C1", "timestamp": "1.2", "name": "pushpin" }),
        ))
        .respond_with(refused("already_reacted"))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    client
        .add_reaction("C1", "1.2", ":pushpin:")
        .await
        .expect("nothing to do");
}

#[tokio::test]
async fn channel_methods_send_their_documented_fields() {
    let server = MockServer::start().await;
    let expect_body = |api_method: &str, body: Value, answer: Value| {
        Mock::given(method("POST"))
            .and(path(format!("/api/{api_method}")))
            .and(body_json(body))
            .respond_with(ok(answer))
            .expect(1)
    };
    expect_body(
        "conversations.setTopic",
        json!({ "channel": "C1", "topic": "SEV1: payments" }),
        json!({}),
    )
    .mount(&server)
    .await;
    expect_body(
        "conversations.rename",
        json!({ "channel": "C1", "name": "inc-42-resolved" }),
        json!({ "channel": { "id": "C1", "name": "inc-42-resolved" } }),
    )
    .mount(&server)
    .await;
    expect_body("conversations.join", json!({ "channel": "C1" }), json!({}))
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    client
        .set_topic("C1", "SEV1: payments")
        .await
        .expect("topic");
    client
        .rename("C1", "inc-42-resolved")
        .await
        .expect("rename");
    client.join("C1").await.expect("join");
}

#[tokio::test]
async fn conversation_info_is_form_encoded_and_returns_the_channel() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/conversations.info"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("channel=C1"))
        .respond_with(ok(json!({ "channel": { "id": "C1", "name": "inc-42" } })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let info = client.conversation_info("C1").await.expect("info");

    assert_eq!(info.name, "inc-42");
}

#[tokio::test]
async fn open_view_returns_the_view_id_and_update_view_targets_it() {
    let server = MockServer::start().await;
    let view = json!({ "type": "modal", "title": { "type": "plain_text", "text": "Declare" } });
    Mock::given(method("POST"))
        .and(path("/api/views.open"))
        .and(body_json(
            json!({ "trigger_id": "T.123", "view": view.clone() }),
        ))
        .respond_with(ok(json!({ "view": { "id": "V1", "type": "modal" } })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/views.update"))
        .and(body_json(json!({ "view_id": "V1", "view": view.clone() })))
        .respond_with(ok(json!({ "view": { "id": "V1" } })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let opened = client
        .open_view("T.123", view.clone())
        .await
        .expect("opened");
    client.update_view(&opened.id, view).await.expect("updated");

    assert_eq!(
        opened,
        ViewInfo {
            id: "V1".to_owned()
        }
    );
}

#[tokio::test]
async fn user_info_is_form_encoded_and_cached() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/users.info"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("user=U1"))
        .respond_with(ok(json!({
            "user": {
                "id": "U1",
                "name": "ana.lima",
                "real_name": "Ana Lima",
                "profile": { "real_name": "Ana Lima", "display_name": "" }
            }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_for(&server);

    let first = client.user_info("U1").await.expect("fetched");
    let second = client.user_info("U1").await.expect("cached");

    assert_eq!(
        first,
        UserInfo {
            id: "U1".to_owned(),
            name: "ana.lima".to_owned(),
            real_name: Some("Ana Lima".to_owned()),
            display_name: None,
        }
    );
    assert_eq!(second, first);
    assert_eq!(first.preferred_name(), "Ana Lima");
}

#[tokio::test]
async fn user_info_asks_again_once_the_cache_entry_expired() {
    let server = MockServer::start().await;
    mount(
        &server,
        "users.info",
        ok(json!({ "user": { "id": "U1", "name": "ana", "profile": { "display_name": "ana 🔥" } } })),
        2,
    )
    .await;
    let (client, _) = client_for(&server);
    let client = client.with_user_cache_ttl(Duration::ZERO);

    let first = client.user_info("U1").await.expect("fetched");
    client.user_info("U1").await.expect("fetched again");

    assert_eq!(first.preferred_name(), "ana 🔥");
}

#[tokio::test]
async fn auth_test_learns_the_bots_own_ids() {
    let server = MockServer::start().await;
    mount(
        &server,
        "auth.test",
        ok(json!({
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "firebreak",
            "team_id": "T1",
            "user_id": "UBOT",
            "bot_id": "BBOT",
        })),
        1,
    )
    .await;
    let (client, _) = client_for(&server);

    let me = client.auth_test().await.expect("auth.test");

    assert_eq!(
        me,
        AuthInfo {
            user_id: "UBOT".to_owned(),
            bot_id: Some("BBOT".to_owned()),
            team_id: "T1".to_owned(),
        }
    );
}

#[test]
fn calls_can_be_awaited_from_send_futures() {
    // The ChatAdapter trait is `#[async_trait]`, whose futures must be
    // Send; this fails to compile if a call future ever stops being Send.
    fn assert_send<T: Send>(_: &T) {}
    let client = SlackClient::new(DEFAULT_API_BASE_URL, TOKEN.to_owned()).expect("client");
    assert_send(&client.call("auth.test", &json!({})));
    assert_send(&client.post_message("C1", json!({}), None));
    assert_send(&client.invite("C1", &["U1"]));
    assert_send(&client.user_info("U1"));
}
