//! A real Prometheus Alertmanager on loopback (Debian's
//! `prometheus-alertmanager`), one per test, with a webhook receiver
//! pointing at the app under test.
//!
//! Without the binary the alert tests skip with a clear message, unless
//! `FIREBREAK_TEST_ALERTMANAGER_REQUIRED` is set (CI sets it).

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Alertmanager {
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
    client: reqwest::Client,
}

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FIREBREAK_TEST_ALERTMANAGER") {
        return Some(PathBuf::from(path));
    }
    [
        "/usr/bin/prometheus-alertmanager",
        "/usr/local/bin/alertmanager",
        "/usr/bin/alertmanager",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|path| path.exists())
}

impl Alertmanager {
    /// Starts one on `port` that sends every group to `webhook` with `token`, grouped
    /// by alert name and service, quickly (100 ms to the first
    /// notification of a group, 1 s between updates of it). `None`, after
    /// saying why, when there is no Alertmanager here.
    pub async fn start(port: u16, webhook: &str, token: &str) -> Option<Alertmanager> {
        let Some(binary) = binary() else {
            assert!(
                std::env::var_os("FIREBREAK_TEST_ALERTMANAGER_REQUIRED").is_none(),
                "Alertmanager is required (FIREBREAK_TEST_ALERTMANAGER_REQUIRED) but prometheus-alertmanager is not installed"
            );
            eprintln!("SKIPPED: the alert tests need Prometheus Alertmanager (apt-get install prometheus-alertmanager)");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: firebreak\n  group_by: ['alertname', 'service']\n  group_wait: 100ms\n  group_interval: 1s\n  repeat_interval: 1h\n\
                 receivers:\n  - name: firebreak\n    webhook_configs:\n      - url: '{webhook}'\n        send_resolved: true\n        http_config:\n          authorization:\n            type: Bearer\n            credentials: '{token}'\n"
            ),
        )
        .expect("write the config");
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // No gossip: one instance, and no port of its own to clash.
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("could not start {}: {error}", binary.display()));
        let alertmanager = Alertmanager {
            url: format!("http://127.0.0.1:{port}"),
            child,
            _dir: dir,
            client: reqwest::Client::new(),
        };
        super::wait_until("Alertmanager is ready", || async {
            alertmanager
                .client
                .get(format!("{}/-/ready", alertmanager.url))
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success())
        })
        .await;
        Some(alertmanager)
    }

    /// `POST /api/v2/alerts`, as Prometheus pushes them.
    pub async fn push(&self, alerts: &Value) {
        let response = self
            .client
            .post(format!("{}/api/v2/alerts", self.url))
            .json(alerts)
            .send()
            .await
            .expect("Alertmanager answers");
        assert!(
            response.status().is_success(),
            "pushing alerts: {} {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }

    /// `GET /api/v2/silences`.
    pub async fn silences(&self) -> Vec<Value> {
        self.client
            .get(format!("{}/api/v2/silences", self.url))
            .send()
            .await
            .expect("Alertmanager answers")
            .json()
            .await
            .expect("silences as JSON")
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
