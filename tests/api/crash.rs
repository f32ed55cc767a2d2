//! Crash safety of the real binary: signed Slack events stream in, the
//! process is killed with SIGKILL mid-stream and started again on the same
//! database, the sender redelivers whatever was not acknowledged (as Slack
//! does), and in the end every event is applied exactly once.

use crate::support::fake_slack::{signed_headers, FakeSlack, ANNOUNCE, BOT_TOKEN, SIGNING_SECRET};
use crate::support::{free_port, wait_for, TestDatabase, TOKEN};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const EVENTS: usize = 1_000;
const SENDERS: usize = 8;

struct Process {
    child: Child,
    base: String,
}

impl Process {
    fn start(database: &TestDatabase, slack: &FakeSlack, port: u16) -> Process {
        let child = Command::new(env!("CARGO_BIN_EXE_firebreak"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database.url())
            .env("FIREBREAK__SERVER__ADDR", format!("127.0.0.1:{port}"))
            .env("FIREBREAK__API__TOKEN", TOKEN)
            .env("FIREBREAK__SLACK__BOT_TOKEN", BOT_TOKEN)
            // The fake Web API has no rate limits; pace in milliseconds.
            .env("FIREBREAK__SLACK__PACING_SPEED", "1000")
            .env("FIREBREAK__SLACK__SIGNING_SECRET", SIGNING_SECRET)
            .env("FIREBREAK__SLACK__API_BASE_URL", slack.api_base_url())
            .env("FIREBREAK__SLACK__ANNOUNCE_CHANNEL", ANNOUNCE)
            .env(
                "FIREBREAK__LOG__LEVEL",
                if std::env::var_os("TEST_LOG").is_some() {
                    "info"
                } else {
                    "warn"
                },
            )
            .stdout(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("the binary starts");
        Process {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn ready(&self, client: &reqwest::Client) {
        wait_for("the binary is ready", || async {
            let response = client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .ok()?;
            (response.status() == 200).then_some(())
        })
        .await;
    }

    /// SIGKILL: no shutdown, no flushing, like an OOM kill.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `n`th event: a mention asking for a note that names `n`.
fn event(channel: &str, n: usize) -> String {
    let ts = format!("1700001000.{n:06}");
    json!({
        "token": "XXYYZZ", "team_id": "T0TEAM", "api_app_id": "A0APP", "type": "event_callback",
        "event_id": format!("EvCRASH{n:05}"), "event_time": 1_700_001_000,
        "authorizations": [{ "team_id": "T0TEAM", "user_id": "UBOT", "is_bot": true }],
        "event": {
            "type": "app_mention", "user": "U0ANA", "text": format!("<@UBOT> note crash-{n:05}"),
            "ts": ts, "channel": channel, "event_ts": ts
        }
    })
    .to_string()
}

/// Sends `indexes`, answering those acknowledged.
async fn send(
    client: &reqwest::Client,
    base: &str,
    channel: &str,
    indexes: Vec<usize>,
    sent: &AtomicUsize,
) -> Vec<usize> {
    stream::iter(indexes)
        .map(|n| async move {
            let body = event(channel, n);
            let (timestamp, signature) = signed_headers(&body);
            let answer = client
                .post(format!("{base}/slack/events"))
                .header("content-type", "application/json")
                .header("X-Slack-Request-Timestamp", timestamp)
                .header("X-Slack-Signature", signature)
                .body(body)
                .send()
                .await;
            sent.fetch_add(1, Ordering::Relaxed);
            matches!(answer, Ok(response) if response.status() == 200).then_some(n)
        })
        .buffer_unordered(SENDERS)
        .filter_map(|acked| async move { acked })
        .collect()
        .await
}

async fn wait_longer<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_killed_process_loses_and_repeats_no_acknowledged_event() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let client = reqwest::Client::new();
    let port = free_port();
    let process = Process::start(&database, &slack, port);
    process.ready(&client).await;
    let base = process.base.clone();

    let declared: Value = client
        .post(format!("{base}/api/v1/incidents"))
        .bearer_auth(TOKEN)
        .json(&json!({ "title": "Crash test" }))
        .send()
        .await
        .expect("declared")
        .json()
        .await
        .expect("JSON");
    let id = declared["id"].as_i64().expect("id");
    let channel = wait_for("the incident has its channel", || async {
        let incident: Value = client
            .get(format!("{base}/api/v1/incidents/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        incident["conversation_id"].as_str().map(str::to_owned)
    })
    .await;

    // Stream everything; kill the process once a third has been sent.
    let sent = Arc::new(AtomicUsize::new(0));
    let streaming = {
        let (client, base, channel, sent) =
            (client.clone(), base.clone(), channel.clone(), sent.clone());
        tokio::spawn(
            async move { send(&client, &base, &channel, (0..EVENTS).collect(), &sent).await },
        )
    };
    wait_for("a third of the events are sent", || async {
        (sent.load(Ordering::Relaxed) >= EVENTS / 3).then_some(())
    })
    .await;
    process.kill();
    let acknowledged = streaming.await.expect("sender finished");
    assert!(
        acknowledged.len() < EVENTS,
        "the kill interrupted the stream"
    );

    // Start again on the same database; redeliver what was not acknowledged.
    let process = Process::start(&database, &slack, free_port());
    process.ready(&client).await;
    let mut missing: Vec<usize> = (0..EVENTS).filter(|n| !acknowledged.contains(n)).collect();
    // Slack also redelivers some acknowledged ones, when unsure.
    missing.extend(acknowledged.iter().take(25));
    let mut attempts = 0;
    while !missing.is_empty() {
        attempts += 1;
        assert!(attempts <= 5, "{} events never acknowledged", missing.len());
        let acked = send(
            &client,
            &process.base,
            &channel,
            missing.clone(),
            &AtomicUsize::new(0),
        )
        .await;
        missing.retain(|n| !acked.contains(n));
    }

    // A thousand commands on a loaded two-core machine take a while:
    // more patience than the usual wait.
    let notes = wait_longer("every event is applied", || async {
        let timeline: Value = client
            .get(format!("{}/api/v1/incidents/{id}/timeline", process.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let mut notes: HashMap<String, usize> = HashMap::new();
        for entry in timeline["entries"].as_array()? {
            if let Some(note) = entry["text"]
                .as_str()
                .and_then(|text| text.strip_prefix("Note: crash-"))
            {
                *notes.entry(note.to_owned()).or_default() += 1;
            }
        }
        (notes.len() == EVENTS).then_some(notes)
    })
    .await;
    let repeated: Vec<(&String, &usize)> = notes.iter().filter(|(_, count)| **count > 1).collect();
    assert!(repeated.is_empty(), "applied more than once: {repeated:?}");
}
