//! The shared harness: a database per test (SQLite file, or a fresh
//! PostgreSQL database when `FIREBREAK_TEST_DATABASE_URL` is set), the app
//! started in its own thread and actix system (so stopping it is like
//! killing the process), an HTTP client, and `wait_until` instead of sleeps.

pub mod alertmanager;
mod database;
pub mod fake_slack;
pub mod fake_teams;
pub mod synapse;

pub use database::TestDatabase;

use firebreak::config::{Secret, Settings};
use firebreak::startup::Application;
use firebreak_actors::clock::{Clock, SystemClock};
use firebreak_adapters::memory::{Call, MemoryAdapter};
use firebreak_adapters::{ConversationRef, Message, Platform};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub const TOKEN: &str = "test-token-0123456789";

/// A running application.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub memory: MemoryAdapter,
    system: actix::System,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestApp {
    /// Starts the app on `database` with the memory platform and a token.
    pub async fn spawn(database: &TestDatabase) -> TestApp {
        Self::spawn_with(database, |_| {}).await
    }

    pub async fn spawn_with(
        database: &TestDatabase,
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        Self::spawn_clocked(database, Arc::new(SystemClock), configure).await
    }

    /// Starts the app with its time from `clock` (a manual clock drives
    /// reminders without waiting).
    pub async fn spawn_clocked(
        database: &TestDatabase,
        clock: Arc<dyn Clock>,
        configure: impl FnOnce(&mut Settings),
    ) -> TestApp {
        if std::env::var_os("TEST_LOG").is_some() {
            firebreak::telemetry::init(&Default::default());
        }
        let mut settings = Settings::default();
        settings.server.addr = "127.0.0.1:0".parse().expect("valid address");
        settings.database.url = Secret::new(database.url());
        settings.api.token = Some(Secret::new(TOKEN));
        settings.memory.enabled = true;
        configure(&mut settings);

        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            let system = actix::System::new();
            let started = system.block_on(async move {
                let app = Application::build_with_clock(settings, clock)
                    .await
                    .map_err(|error| format!("{error:#}"))?;
                let started = (app.address(), app.memory.clone(), actix::System::current());
                actix::spawn(app.run_until_stopped());
                Ok::<_, String>(started)
            });
            let ok = started.is_ok();
            let _ = ready_tx.send(started);
            if ok {
                // Runs until `System::stop`, like a process until it dies.
                let _ = system.run();
            }
        });
        let (address, memory, system) = match ready_rx.await.expect("app thread answers") {
            Ok(started) => started,
            Err(error) => panic!("app failed to start: {error}"),
        };
        TestApp {
            address: format!("http://{address}"),
            client: reqwest::Client::new(),
            memory: memory.unwrap_or_default(),
            system,
            thread: Some(thread),
        }
    }

    /// Stops the app's whole actix system, as if the process died: actors,
    /// inbox worker and HTTP server all go.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.system.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request reaches the app")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .expect("request reaches the app")
    }

    /// Declares through the API and returns the created incident.
    pub async fn declare(&self, body: Value) -> Value {
        let response = self.post_json("/api/v1/incidents", &body).await;
        assert_eq!(response.status(), 201, "declare {body}");
        response.json().await.expect("JSON body")
    }

    /// Runs a command through the API; returns status and body.
    pub async fn command(&self, incident: i64, text: &str) -> (u16, Value) {
        let response = self
            .post_json(
                &format!("/api/v1/incidents/{incident}/commands"),
                &json!({ "text": text, "user": "ana" }),
            )
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Delivers a chat event the way the memory platform's webhook does.
    pub async fn inject(&self, event: &Value) -> Value {
        let response = self.post_json("/memory/events", event).await;
        assert_eq!(response.status(), 200, "inject {event}");
        response.json().await.expect("JSON body")
    }

    pub async fn incident(&self, id: i64) -> Value {
        self.get_json(&format!("/api/v1/incidents/{id}")).await
    }

    /// The timeline's entry texts, in order.
    pub async fn timeline_texts(&self, id: i64) -> Vec<String> {
        let timeline = self
            .get_json(&format!("/api/v1/incidents/{id}/timeline"))
            .await;
        timeline["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|entry| entry["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits until the incident has its conversation, and returns it.
    pub async fn conversation_of(&self, id: i64) -> ConversationRef {
        let id = wait_for("the incident conversation is created", || async {
            self.incident(id).await["conversation_id"]
                .as_str()
                .map(str::to_owned)
        })
        .await;
        ConversationRef::new(Platform::Memory, id)
    }

    /// The headline's current content for an incident.
    pub fn headline(&self, title: &str) -> Option<Message> {
        let posted = self
            .memory
            .calls()
            .into_iter()
            .find_map(|call| match call {
                Call::Post {
                    conversation,
                    message,
                    posted,
                    ..
                } if conversation.id == "announce"
                    && message
                        .heading
                        .as_deref()
                        .is_some_and(|h| h.contains(title)) =>
                {
                    Some(posted)
                }
                _ => None,
            })?;
        self.memory.current_content(&posted)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Polls `condition` until it holds; fails the test after 15 s.
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(what, || {
        let check = condition();
        async move { check.await.then_some(()) }
    })
    .await
}

/// Polls `probe` until it yields a value; fails the test after 15 s.
pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A chat command event from the memory platform.
pub fn chat_command(event_id: &str, conversation: &str, user: &str, text: &str) -> Value {
    json!({
        "platform": "memory",
        "event_id": event_id,
        "type": "command",
        "conversation": { "platform": "memory", "id": conversation },
        "user": { "platform": "memory", "id": user, "name": user },
        "text": text,
    })
}

/// A port nothing listens on right now, for a process the test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A fresh event id per call, so tests never collide by accident.
pub fn event_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "ev-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
