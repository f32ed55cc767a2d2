//! A real browser (headless Chromium, driven over WebDriver by
//! chromedriver) logs in, opens the list, opens an incident and sees its
//! timeline; a screenshot is kept in `target/test-artifacts/`.
//!
//! Skips with a message when chromedriver is not installed, unless
//! `FIREBREAK_TEST_BROWSER_REQUIRED` is set (CI sets it and installs
//! Debian's `chromium` and `chromium-driver`).

use crate::support::{free_port, wait_for, TestApp, TestDatabase, TOKEN};
use base64::Engine as _;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Driver {
    process: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

async fn driver() -> Option<Driver> {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("FIREBREAK_TEST_BROWSER_REQUIRED").is_none(),
            "the browser test is required but {CHROMEDRIVER} or {CHROMIUM} is missing"
        );
        eprintln!("SKIPPED: the browser test needs Debian's chromium and chromium-driver");
        return None;
    }
    let port = free_port();
    let process = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        process,
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
    };
    wait_for("chromedriver is ready", || async {
        let status: Value = driver
            .http
            .get(format!("{}/status", driver.base))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        status["value"]["ready"].as_bool().filter(|ready| *ready)
    })
    .await;
    Some(driver)
}

impl Driver {
    async fn session(&self) -> Session<'_> {
        let answer: Value = self
            .http
            .post(format!("{}/session", self.base))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,900"]
                }
            }}}))
            .send()
            .await
            .expect("session request")
            .json()
            .await
            .expect("session answer");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        Session { driver: self, id }
    }
}

impl Session<'_> {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.base, self.id);
        let mut request = self.driver.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("WebDriver call")
            .json()
            .await
            .expect("JSON");
        assert!(
            answer["value"]["error"].is_null(),
            "WebDriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let element = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        element
            .as_object()
            .and_then(|object| object.values().next())
            .and_then(Value::as_str)
            .expect("an element reference")
            .to_owned()
    }

    async fn find_all(&self, css: &str) -> Vec<String> {
        let elements = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        elements
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|element| {
                        element
                            .as_object()?
                            .values()
                            .next()?
                            .as_str()
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn text(&self, element: &str) -> String {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    async fn type_into(&self, element: &str, text: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, element: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn screenshot(&self, file: &Path) {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 PNG"))
            .expect("PNG bytes");
        std::fs::create_dir_all(file.parent().expect("a directory")).expect("artifact directory");
        std::fs::write(file, bytes).expect("screenshot written");
    }

    async fn close(self) {
        let _ = self
            .driver
            .http
            .delete(format!("{}/session/{}", self.driver.base, self.id))
            .send()
            .await;
    }
}

#[tokio::test]
async fn a_browser_logs_in_and_reads_an_incident_timeline() {
    let Some(driver) = driver().await else { return };
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app
        .declare(json!({ "title": "Payments failing", "severity": 2, "summary": "Card payments time out" }))
        .await["id"]
        .as_i64()
        .expect("id");
    app.command(id, "severity 1").await;
    app.command(id, "lead @ana").await;
    app.command(id, "status mitigated").await;

    let session = driver.session().await;
    session.open(&app.url("/incidents")).await;
    assert!(
        session.url().await.contains("/login"),
        "sent to the login form first"
    );
    let token = session.find("#token").await;
    session.type_into(&token, TOKEN).await;
    let submit = session.find("button[type=submit]").await;
    session.click(&submit).await;
    wait_for("the list shows after logging in", || async {
        session.url().await.ends_with("/incidents").then_some(())
    })
    .await;

    let link = session.find("table a").await;
    assert_eq!(
        session.text(&link).await,
        format!("INC-{id}: Payments failing")
    );
    session.click(&link).await;
    let rows = wait_for("the incident page shows its timeline", || async {
        let rows = session.find_all("table.timeline tbody tr").await;
        (rows.len() >= 4).then_some(rows)
    })
    .await;
    let mut texts = Vec::new();
    for row in &rows {
        texts.push(session.text(row).await);
    }
    let all = texts.join("\n");
    for expected in [
        "Declared: Payments failing",
        "Severity changed from 2 (major) to 1 (critical)",
        "Lead set to ana",
        "Status changed from triage to mitigated",
    ] {
        assert!(
            all.contains(expected),
            "{expected:?} not visible in:\n{all}"
        );
    }
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../test-artifacts");
    session
        .screenshot(&artifacts.join("incident-page.png"))
        .await;
    session.close().await;
}
