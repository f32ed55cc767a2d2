//! A real Synapse homeserver on loopback, started once per test run with
//! `tests/tools/matrix-homeserver.sh`, and people on it.
//!
//! Without Synapse (no Python, no PyPI) the Matrix tests skip with a clear
//! message, unless `FIREBREAK_TEST_SYNAPSE_REQUIRED` is set (CI sets it),
//! in which case failing to start it fails them.

use firebreak_adapters::matrix::client::MatrixClient;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub struct Synapse {
    pub url: String,
    secret: String,
}

/// The shared homeserver, or `None` (after saying why) when it cannot run
/// here.
pub fn synapse() -> Option<&'static Synapse> {
    static SYNAPSE: OnceLock<Result<Synapse, String>> = OnceLock::new();
    match SYNAPSE.get_or_init(start) {
        Ok(synapse) => Some(synapse),
        Err(reason) => {
            assert!(
                std::env::var_os("FIREBREAK_TEST_SYNAPSE_REQUIRED").is_none(),
                "Synapse is required (FIREBREAK_TEST_SYNAPSE_REQUIRED) but could not be started: {reason}"
            );
            eprintln!("SKIPPED: the Matrix tests need a Synapse homeserver, which could not be started: {reason}");
            None
        }
    }
}

fn tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools")
}

fn start() -> Result<Synapse, String> {
    let dir = std::env::var("FIREBREAK_TEST_SYNAPSE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_TARGET_TMPDIR")).join("synapse"));
    let port = std::env::var("FIREBREAK_TEST_SYNAPSE_PORT").unwrap_or_else(|_| "18448".into());
    let output = Command::new("bash")
        .arg(tools().join("matrix-homeserver.sh"))
        .arg("start")
        .arg(&dir)
        .arg(&port)
        .output()
        .map_err(|error| format!("could not run matrix-homeserver.sh: {error}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
    }
    let url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let secret = std::fs::read_to_string(dir.join("shared_secret"))
        .map_err(|error| format!("no shared secret in {}: {error}", dir.display()))?;
    Ok(Synapse { url, secret })
}

/// Someone with an account on the test homeserver.
pub struct MatrixUser {
    pub user_id: String,
    pub token: String,
    pub client: MatrixClient,
    base: String,
    http: reqwest::Client,
}

impl Synapse {
    /// A new account whose name starts with `name` (made unique, so tests
    /// sharing the homeserver never meet).
    pub fn register(&self, name: &str) -> MatrixUser {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let localpart = format!(
            "{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let output = Command::new("python3")
            .arg(tools().join("matrix-register.py"))
            .arg(&self.url)
            .arg(&self.secret)
            .arg(&localpart)
            .arg("correct-horse-battery")
            .output()
            .expect("python3 runs matrix-register.py");
        assert!(
            output.status.success(),
            "registering {localpart}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answer: Value =
            serde_json::from_slice(&output.stdout).expect("JSON from matrix-register.py");
        let user_id = answer["user_id"].as_str().expect("user_id").to_owned();
        let token = answer["access_token"].as_str().expect("token").to_owned();
        MatrixUser {
            client: MatrixClient::new(&self.url, &token).expect("client"),
            user_id,
            token,
            base: self.url.clone(),
            http: reqwest::Client::new(),
        }
    }
}

impl MatrixUser {
    pub async fn create_room(&self, request: Value) -> String {
        self.client
            .create_room(&request)
            .await
            .expect("room created")
    }

    /// Sends a text message as a person's client does; answers its id.
    pub async fn say(&self, room: &str, text: &str) -> String {
        self.client
            .send(
                room,
                "m.room.message",
                None,
                &json!({ "msgtype": "m.text", "body": text }),
            )
            .await
            .expect("message sent")
    }

    pub async fn react(&self, room: &str, event_id: &str, key: &str) -> String {
        self.client
            .send(
                room,
                "m.reaction",
                None,
                &json!({ "m.relates_to": {
                    "rel_type": "m.annotation", "event_id": event_id, "key": key
                }}),
            )
            .await
            .expect("reaction sent")
    }

    /// The room's latest events (up to 200), oldest first.
    pub async fn events(&self, room: &str) -> Vec<Value> {
        let mut url = reqwest::Url::parse(&self.base).expect("base URL");
        url.path_segments_mut()
            .expect("base")
            .pop_if_empty()
            .extend(["_matrix", "client", "v3", "rooms", room, "messages"]);
        url.query_pairs_mut()
            .append_pair("dir", "b")
            .append_pair("limit", "200");
        let page: Value = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("messages")
            .json()
            .await
            .expect("JSON");
        let mut events = page["chunk"].as_array().cloned().unwrap_or_default();
        events.reverse();
        events
    }

    /// The bodies of the notices `sender` posted in `room`, oldest first.
    pub async fn notices_from(&self, room: &str, sender: &str) -> Vec<Value> {
        self.events(room)
            .await
            .into_iter()
            .filter(|event| {
                event["sender"] == sender
                    && event["type"] == "m.room.message"
                    && event["content"]["msgtype"] == "m.notice"
            })
            .collect()
    }
}
