//! Socket Mode against a fake Slack on loopback: `wiremock` answers
//! `apps.connections.open`, and a `TcpListener` plays the WebSocket end.
//! The fake completes a WebSocket handshake only when a test asks for the
//! next connection, so each test decides when the client's new connection
//! opens. Channels tell the test what the client and handler did; the
//! timeouts are safety nets that only fire when a test is failing, and the
//! only real wait is the 20 ms keepalive in the silent-socket test.

use super::*;
use crate::slack::inbound::{self, parse_command, parse_interaction, Interaction, Received};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use std::sync::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP_TOKEN: &str = "xapp-1-A0123-4567-very-secret";
const SAFETY_NET: Duration = Duration::from_secs(10);
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

const APP_MENTION: &str = include_str!("../fixtures/app_mention.json");
const HELLO: &str = include_str!("fixtures/hello.json");
const DISCONNECT: &str = include_str!("fixtures/disconnect.json");
const SLASH_COMMANDS: &str = include_str!("fixtures/slash_commands.json");
const INTERACTIVE: &str = include_str!("fixtures/interactive.json");

// ---- the fake Slack ----

struct FakeSlack {
    api: MockServer,
    listener: TcpListener,
    ws_url: String,
}

impl FakeSlack {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("bound address").port();
        FakeSlack {
            api: MockServer::start().await,
            listener,
            ws_url: format!("ws://127.0.0.1:{port}/link/?ticket=1234-5678"),
        }
    }

    /// `apps.connections.open` answers with our WebSocket URL, `times`
    /// times, and only to the app token.
    async fn opens(&self, times: impl Into<wiremock::Times>) {
        Mock::given(method("POST"))
            .and(path("/api/apps.connections.open"))
            .and(header(
                "authorization",
                format!("Bearer {APP_TOKEN}").as_str(),
            ))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "url": self.ws_url })),
            )
            .expect(times)
            .mount(&self.api)
            .await;
    }

    /// `apps.connections.open` refuses with `code` for the next `times`
    /// calls (mounted first, so it wins while it lasts).
    async fn refuses(&self, code: &str, times: u64) {
        Mock::given(method("POST"))
            .and(path("/api/apps.connections.open"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({ "ok": false, "error": code })),
            )
            .up_to_n_times(times)
            .expect(times)
            .mount(&self.api)
            .await;
    }

    /// Completes the handshake of the client's next connection.
    async fn next_connection(&self) -> SlackSide {
        let accepted = async {
            let (tcp, _) = self.listener.accept().await.expect("accept");
            tokio_tungstenite::accept_async(tcp)
                .await
                .expect("WebSocket handshake")
        };
        SlackSide(
            tokio::time::timeout(SAFETY_NET, accepted)
                .await
                .expect("the client connected in time"),
        )
    }
}

/// Slack's end of one connection.
struct SlackSide(WebSocketStream<TcpStream>);

impl SlackSide {
    async fn send(&mut self, frame: &str) {
        self.0
            .send(Message::text(frame.to_owned()))
            .await
            .expect("send to the client");
    }

    async fn hello(&mut self) {
        self.send(HELLO).await;
    }

    async fn next_message(&mut self) -> Option<Message> {
        tokio::time::timeout(SAFETY_NET, self.0.next())
            .await
            .expect("the client sent something in time")
            .and_then(Result::ok)
    }

    /// The next text frame (an ack), as JSON.
    async fn next_json(&mut self) -> Value {
        loop {
            match self.next_message().await {
                Some(Message::Text(text)) => {
                    return serde_json::from_str(text.as_str()).expect("the client sends JSON")
                }
                Some(Message::Ping(_) | Message::Pong(_)) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Reads until the client closes; any text frame on the way fails.
    async fn expect_closed(&mut self) {
        loop {
            match self.next_message().await {
                None | Some(Message::Close(_)) => return,
                Some(Message::Ping(_) | Message::Pong(_)) => continue,
                Some(other) => panic!("expected the client to close, got {other:?}"),
            }
        }
    }
}

fn events_envelope(envelope_id: &str, event_id: &str) -> String {
    let mut payload: Value = serde_json::from_str(APP_MENTION).expect("fixture is JSON");
    payload["event_id"] = json!(event_id);
    json!({
        "envelope_id": envelope_id,
        "payload": payload,
        "type": "events_api",
        "accepts_response_payload": false,
        "retry_attempt": 0,
        "retry_reason": ""
    })
    .to_string()
}

fn ack(envelope_id: &str) -> Value {
    json!({ "envelope_id": envelope_id })
}

// ---- the application side ----

type Answer = Box<dyn Fn(RequestKind, &str) -> Result<Option<Value>, String> + Send + Sync>;

/// Reports every call on a channel and answers with `answer`. A call whose
/// body contains a held marker waits until the test releases it.
struct TestHandler {
    calls: mpsc::UnboundedSender<(RequestKind, String)>,
    answer: Answer,
    held: Mutex<Vec<(String, oneshot::Receiver<()>)>>,
}

impl TestHandler {
    fn answering(
        answer: impl Fn(RequestKind, &str) -> Result<Option<Value>, String> + Send + Sync + 'static,
    ) -> (Arc<Self>, Calls) {
        let (calls, received) = mpsc::unbounded_channel();
        let handler = Arc::new(TestHandler {
            calls,
            answer: Box::new(answer),
            held: Mutex::new(Vec::new()),
        });
        (handler, Calls(received))
    }

    fn storing() -> (Arc<Self>, Calls) {
        Self::answering(|_, _| Ok(None))
    }

    /// Calls whose body contains `marker` wait until the sender is used
    /// (or dropped).
    fn hold(&self, marker: &str) -> oneshot::Sender<()> {
        let (release, gate) = oneshot::channel();
        self.held
            .lock()
            .expect("held lock")
            .push((marker.to_owned(), gate));
        release
    }
}

#[async_trait]
impl SocketHandler for TestHandler {
    async fn handle(&self, kind: RequestKind, body: String) -> Result<Option<Value>, String> {
        let _ = self.calls.send((kind, body.clone()));
        let gate = {
            let mut held = self.held.lock().expect("held lock");
            held.iter()
                .position(|(marker, _)| body.contains(marker.as_str()))
                .map(|index| held.remove(index).1)
        };
        if let Some(gate) = gate {
            let _ = gate.await;
        }
        (self.answer)(kind, &body)
    }
}

struct Calls(mpsc::UnboundedReceiver<(RequestKind, String)>);

impl Calls {
    async fn next(&mut self) -> (RequestKind, String) {
        tokio::time::timeout(SAFETY_NET, self.0.recv())
            .await
            .expect("the handler was called in time")
            .expect("the handler is alive")
    }

    fn none_pending(&mut self) -> bool {
        self.0.try_recv().is_err()
    }
}

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

/// Reports the wait and never ends it: the client stays in backoff.
struct ParkedSleeper(mpsc::UnboundedSender<Duration>);

#[async_trait]
impl Sleeper for ParkedSleeper {
    async fn sleep(&self, delay: Duration) {
        let _ = self.0.send(delay);
        std::future::pending::<()>().await;
    }
}

/// `SocketMode::run` on its own task (which also proves its future is
/// `Send`, as `main` needs).
struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    async fn stopped(mut self) {
        self.signal_stop();
        tokio::time::timeout(SAFETY_NET, &mut self.task)
            .await
            .expect("run returned in time after shutdown")
            .expect("run did not panic");
    }
}

fn client(slack: &FakeSlack, sleeper: Arc<dyn Sleeper>) -> SocketMode {
    SocketMode::new(&format!("{}/api", slack.api.uri()), APP_TOKEN.to_owned())
        .expect("valid settings")
        .with_retry(RetryPolicy {
            max_attempts: 1,
            first_backoff: FIRST_BACKOFF,
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        })
        .with_sleeper(sleeper)
}

fn run(socket_mode: SocketMode, handler: Arc<TestHandler>) -> Running {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(socket_mode.run(handler, async move {
        let _ = stopped.await;
    }));
    Running {
        stop: Some(stop),
        task,
    }
}

fn start(slack: &FakeSlack, handler: Arc<TestHandler>) -> (Running, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    (run(client(slack, sleeper.clone()), handler), sleeper)
}

// ---- envelopes reach the handler in their HTTP form, acks follow ----

#[tokio::test]
async fn an_events_api_envelope_is_handled_then_acknowledged_with_its_envelope_id() {
    let slack = FakeSlack::start().await;
    slack.opens(1).await;
    let (handler, mut calls) = TestHandler::storing();
    let (running, sleeper) = start(&slack, handler);

    let mut socket = slack.next_connection().await;
    socket.hello().await;
    socket.send(&events_envelope("env-1", "Ev1")).await;

    let (kind, body) = calls.next().await;
    assert_eq!(kind, RequestKind::Events);
    let mut expected: Value = serde_json::from_str(APP_MENTION).expect("fixture is JSON");
    expected["event_id"] = json!("Ev1");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("body is JSON"),
        expected
    );
    assert!(
        matches!(inbound::classify(kind, &body), Ok(Received::Store { .. })),
        "the HTTP pipeline takes the body as it is"
    );
    assert_eq!(socket.next_json().await, ack("env-1"));

    running.stopped().await;
    socket.expect_closed().await;
    assert_eq!(sleeper.delays(), vec![]);
}

#[tokio::test]
async fn a_slash_command_reaches_the_handler_as_the_form_slack_would_post() {
    let slack = FakeSlack::start().await;
    slack.opens(1).await;
    let (handler, mut calls) = TestHandler::storing();
    let (running, _) = start(&slack, handler);

    let mut socket = slack.next_connection().await;
    socket.hello().await;
    socket.send(SLASH_COMMANDS).await;

    let (kind, body) = calls.next().await;
    assert_eq!(kind, RequestKind::Command);
    let command = parse_command(&body).expect("the commands route's parser accepts it");
    assert_eq!(command.command, "/incident");
    assert_eq!(command.channel_id.as_str(), "C123ABC456");
    assert_eq!(
        command.trigger_id.as_str(),
        "37053613634.26768298162.440952c06ef4de2653466a48fe495f93"
    );
    assert_eq!(
        socket.next_json().await,
        ack("dbdd0ef3-1543-4f94-bfb4-133d0e6c1545")
    );
    running.stopped().await;
}

#[tokio::test]
async fn a_modal_submissions_response_rides_on_its_ack() {
    let slack = FakeSlack::start().await;
    slack.opens(1).await;
    let errors = json!({ "response_action": "errors", "errors": { "title": "Too short." } });
    let response = errors.clone();
    let (handler, mut calls) = TestHandler::answering(move |_, _| Ok(Some(response.clone())));
    let (running, _) = start(&slack, handler);

    let mut socket = slack.next_connection().await;
    socket.hello().await;
    socket.send(INTERACTIVE).await;

    let (kind, body) = calls.next().await;
    assert_eq!(kind, RequestKind::Interaction);
    assert!(
        matches!(
            parse_interaction(&body),
            Ok(Interaction::ViewSubmission { ref callback_id, .. }) if callback_id == "declare"
        ),
        "{body}"
    );
    assert_eq!(
        socket.next_json().await,
        json!({ "envelope_id": "dbdd0ef3-1543-4f94-bfb4-133d0e6c1545", "payload": errors })
    );
    running.stopped().await;
}

#[tokio::test]
async fn a_response_to_an_envelope_that_accepts_none_is_left_out_of_the_ack() {
    let slack = FakeSlack::start().await;
    slack.opens(1).await;
    let (handler, _calls) = TestHandler::answering(|_, _| Ok(Some(json!({ "text": "hi" }))));
    let (running, _) = start(&slack, handler);

    let mut socket = slack.next_connection().await;
    socket.hello().await;
    socket.send(&events_envelope("env-1", "Ev1")).await;

    assert_eq!(socket.next_json().await, ack("env-1"));
    running.stopped().await;
}

#[tokio::test]
async fn an_envelope_whose_handler_fails_is_not_acknowledged() {
    let slack = FakeSlack::start().await;
    slack.opens(1).await;
    let (handler, mut calls) = TestHandler::answering(|_, body| {
        if body.contains("EvBAD") {
            Err("the inbox is unavailable".to_owned())
        } else {
            Ok(None)
        }
    });
    let (running, _) = start(&slack, handler);

    let mut socket = slack.next_connection().await;
    socket.hello().await;
    socket.send(&events_envelope("env-bad", "EvBAD")).await;
    socket.send(&events_envelope("env-good", "EvGOOD")).await;

    assert!(calls.next().await.1.contains("EvBAD"));
    assert!(calls.next().await.1.contains("EvGOOD"));
    assert_eq!(socket.next_json().await, ack("env-good"));
    // Shutdown sends every ack still owed before closing, so an ack for
    // the failed envelope would show up here.
    running.stopped().await;
    socket.expect_closed().await;
}

#[tokio::test]
async fn a_slow_handler_does_not_hold_back_the_acks_behind_it() {
    let slack = FakeSlack::start().await;
    slack.opens(1).await;
    let (handler, mut calls) = TestHandler::storing();
    let release_slow = handler.hold("EvSLOW");
    let (running, _) = start(&slack, handler);

    let mut socket = slack.next_connection().await;
    socket.hello().await;
    socket.send(&events_envelope("env-slow", "EvSLOW")).await;
    assert!(calls.next().await.1.contains("EvSLOW"));
    socket.send(&events_envelope("env-fast", "EvFAST")).await;

    assert_eq!(socket.next_json().await, ack("env-fast"));
    release_slow.send(()).expect("the slow call is waiting");
    assert_eq!(socket.next_json().await, ack("env-slow"));
    running.stopped().await;
}

#[tokio::test]
async fn unknown_envelopes_are_acknowledged_and_unreadable_frames_skipped() {
    let slack = FakeSlack::start().await;
    slack.opens(1).await;
    let (handler, mut calls) = TestHandler::storing();
    let (running, _) = start(&slack, handler);

    let mut socket = slack.next_connection().await;
    socket.hello().await;
    socket.send("this is not JSON").await;
    socket
        .0
        .send(Message::binary(vec![1_u8, 2, 3]))
        .await
        .expect("send binary");
    socket
        .send(r#"{"type":"slash_commands","envelope_id":"env-broken","payload":"text"}"#)
        .await;
    socket
        .send(r#"{"type":"function_executed","envelope_id":"env-new","payload":{},"accepts_response_payload":false}"#)
        .await;
    socket.send(&events_envelope("env-1", "Ev1")).await;

    assert_eq!(socket.next_json().await, ack("env-new"));
    assert_eq!(socket.next_json().await, ack("env-1"));
    assert!(calls.next().await.1.contains("Ev1"));
    assert!(calls.none_pending(), "only the events envelope was handled");
    running.stopped().await;
    socket.expect_closed().await;
}

// ---- reconnecting ----

#[tokio::test]
async fn a_disconnect_opens_a_new_connection_while_the_old_one_keeps_serving() {
    let slack = FakeSlack::start().await;
    slack.opens(2).await;
    let (handler, mut calls) = TestHandler::storing();
    let (running, sleeper) = start(&slack, handler);

    let mut old = slack.next_connection().await;
    old.hello().await;
    old.send(DISCONNECT).await;
    // The new connection cannot open until the test accepts it, so this
    // envelope arrives on the old one during the switch.
    old.send(&events_envelope("env-during", "EvDURING")).await;
    assert_eq!(old.next_json().await, ack("env-during"));
    assert!(calls.next().await.1.contains("EvDURING"));

    let mut new = slack.next_connection().await;
    old.expect_closed().await;
    new.hello().await;
    new.send(&events_envelope("env-after", "EvAFTER")).await;
    assert_eq!(new.next_json().await, ack("env-after"));
    assert!(calls.next().await.1.contains("EvAFTER"));

    running.stopped().await;
    new.expect_closed().await;
    assert_eq!(
        sleeper.delays(),
        vec![],
        "a requested refresh is not a failure"
    );
}

#[tokio::test]
async fn a_socket_closed_by_slack_is_reopened_at_once() {
    let slack = FakeSlack::start().await;
    slack.opens(2).await;
    let (handler, mut calls) = TestHandler::storing();
    let (running, sleeper) = start(&slack, handler);

    let mut first = slack.next_connection().await;
    first.hello().await;
    first.0.close(None).await.expect("close");

    let mut second = slack.next_connection().await;
    second.hello().await;
    second.send(&events_envelope("env-1", "Ev1")).await;
    assert_eq!(second.next_json().await, ack("env-1"));
    assert!(calls.next().await.1.contains("Ev1"));
    running.stopped().await;
    assert_eq!(sleeper.delays(), vec![]);
}

#[tokio::test]
async fn a_connection_dropped_before_hello_is_retried_after_a_backoff() {
    let slack = FakeSlack::start().await;
    slack.opens(2).await;
    let (handler, _calls) = TestHandler::storing();
    let (running, sleeper) = start(&slack, handler);

    let mut first = slack.next_connection().await;
    first.0.close(None).await.expect("close");

    let mut second = slack.next_connection().await;
    second.hello().await;
    running.stopped().await;
    second.expect_closed().await;
    assert_eq!(sleeper.delays(), vec![FIRST_BACKOFF]);
}

#[tokio::test]
async fn socket_mode_switched_off_is_retried_after_a_backoff() {
    let slack = FakeSlack::start().await;
    slack.opens(2).await;
    let (handler, _calls) = TestHandler::storing();
    let (running, sleeper) = start(&slack, handler);

    let mut first = slack.next_connection().await;
    first.hello().await;
    first
        .send(r#"{"type":"disconnect","reason":"link_disabled","debug_info":{"host":"wss-111.slack.com"}}"#)
        .await;

    let _second = slack.next_connection().await;
    running.stopped().await;
    assert_eq!(sleeper.delays(), vec![FIRST_BACKOFF]);
}

#[tokio::test]
async fn a_refused_app_token_is_retried_after_a_backoff() {
    let slack = FakeSlack::start().await;
    slack.refuses("invalid_auth", 1).await;
    slack.opens(1).await;
    let (handler, mut calls) = TestHandler::storing();
    let (running, sleeper) = start(&slack, handler);

    let mut socket = slack.next_connection().await;
    assert_eq!(sleeper.delays(), vec![FIRST_BACKOFF]);
    socket.hello().await;
    socket.send(&events_envelope("env-1", "Ev1")).await;
    assert_eq!(socket.next_json().await, ack("env-1"));
    assert!(calls.next().await.1.contains("Ev1"));
    running.stopped().await;
}

#[tokio::test]
async fn backoff_doubles_while_attempts_keep_failing() {
    let slack = FakeSlack::start().await;
    slack.refuses("invalid_auth", 3).await;
    slack.opens(1).await;
    let (handler, _calls) = TestHandler::storing();
    let (running, sleeper) = start(&slack, handler);

    let _socket = slack.next_connection().await;
    assert_eq!(
        sleeper.delays(),
        vec![FIRST_BACKOFF, FIRST_BACKOFF * 2, FIRST_BACKOFF * 4]
    );
    running.stopped().await;
}

#[tokio::test]
async fn a_rate_limited_open_waits_as_long_as_slack_asks() {
    let slack = FakeSlack::start().await;
    // Longer than the client's `max_retry_after`, so the Web API client
    // gives up at once and the reconnect loop does the waiting.
    Mock::given(method("POST"))
        .and(path("/api/apps.connections.open"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&slack.api)
        .await;
    slack.opens(1).await;
    let (handler, _calls) = TestHandler::storing();
    let (running, sleeper) = start(&slack, handler);

    let _socket = slack.next_connection().await;
    assert_eq!(sleeper.delays(), vec![Duration::from_secs(120)]);
    running.stopped().await;
}

#[tokio::test]
async fn a_silent_socket_is_pinged_then_replaced() {
    let slack = FakeSlack::start().await;
    // A third connection may open if the test is slow to stop the client;
    // what matters is the second.
    slack.opens(2..).await;
    let (handler, _calls) = TestHandler::storing();
    let sleeper = Arc::new(RecordingSleeper::default());
    let running = run(
        client(&slack, sleeper).with_keepalive(Duration::from_millis(20)),
        handler,
    );

    let mut silent = slack.next_connection().await;
    silent.hello().await;
    // Not reading `silent` means no pong goes back to the client's ping.
    let _second = slack.next_connection().await;
    assert!(
        matches!(silent.next_message().await, Some(Message::Ping(_))),
        "the client pinged before giving up"
    );
    running.stopped().await;
}

// ---- shutting down ----

#[tokio::test]
async fn shutdown_closes_the_socket_and_returns() {
    let slack = FakeSlack::start().await;
    slack.opens(1).await;
    let (handler, _calls) = TestHandler::storing();
    let (running, _) = start(&slack, handler);

    let mut socket = slack.next_connection().await;
    socket.hello().await;
    running.stopped().await;
    socket.expect_closed().await;
}

#[tokio::test]
async fn shutdown_lets_the_handler_in_hand_finish_and_sends_its_ack() {
    let slack = FakeSlack::start().await;
    slack.opens(1).await;
    let (handler, mut calls) = TestHandler::storing();
    let release = handler.hold("EvINHAND");
    let (mut running, _) = start(&slack, handler);

    let mut socket = slack.next_connection().await;
    socket.hello().await;
    socket
        .send(&events_envelope("env-in-hand", "EvINHAND"))
        .await;
    assert!(calls.next().await.1.contains("EvINHAND"));

    running.signal_stop();
    release.send(()).expect("the call is waiting");
    assert_eq!(socket.next_json().await, ack("env-in-hand"));
    socket.expect_closed().await;
    running.stopped().await;
}

#[tokio::test]
async fn shutdown_interrupts_the_backoff_wait() {
    let slack = FakeSlack::start().await;
    slack.refuses("invalid_auth", 1).await;
    let (handler, _calls) = TestHandler::storing();
    let (waits, mut waiting) = mpsc::unbounded_channel();
    let running = run(client(&slack, Arc::new(ParkedSleeper(waits))), handler);

    let delay = tokio::time::timeout(SAFETY_NET, waiting.recv())
        .await
        .expect("the client backed off in time");
    assert_eq!(delay, Some(FIRST_BACKOFF));
    running.stopped().await;
}

// ---- settings ----

#[test]
fn only_an_app_level_token_is_accepted() {
    for token in ["", "   ", "xoxb-123-456-abc", "xoxp-1"] {
        assert!(
            matches!(
                SocketMode::new("https://slack.com/api/", token.to_owned()),
                Err(SocketError::InvalidConfig(_))
            ),
            "{token:?}"
        );
    }
    assert!(SocketMode::new("https://slack.com/api/", format!("{APP_TOKEN}\n")).is_ok());
    assert!(matches!(
        SocketMode::new("not a url", APP_TOKEN.to_owned()),
        Err(SocketError::InvalidConfig(_))
    ));
}

#[test]
fn neither_debug_output_nor_errors_show_the_app_token() {
    let socket_mode =
        SocketMode::new("https://slack.com/api/", APP_TOKEN.to_owned()).expect("valid settings");
    let debug = format!("{socket_mode:?}");
    assert!(!debug.contains("very-secret"), "{debug}");
    let error = SocketMode::new("https://slack.com/api/", "xoxb-very-secret".to_owned())
        .expect_err("a bot token is refused");
    assert!(!error.to_string().contains("very-secret"), "{error}");
}
