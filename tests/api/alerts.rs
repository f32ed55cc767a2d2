//! Alert intake end to end: a real Prometheus Alertmanager on loopback
//! delivering to the app's webhook receiver, and Grafana-shaped and
//! generic deliveries sent as those tools send them.

use crate::support::alertmanager::Alertmanager;
use crate::support::fake_slack::{FakeSlack, ANNOUNCE, BOT_TOKEN, SIGNING_SECRET};
use crate::support::{free_port, wait_for, wait_until, TestApp, TestDatabase};
use firebreak::config::{AlertSourceSettings, Secret, Settings};
use serde_json::{json, Value};

const ALERT_TOKEN: &str = "alert-token-0123456789";
const GRAFANA_SECRET: &str = "grafana-hmac-secret";

/// An Alertmanager source named `prod`, folding storms by `service`.
fn alertmanager_source(alertmanager_port: u16) -> AlertSourceSettings {
    AlertSourceSettings {
        kind: "alertmanager".to_owned(),
        token: Some(Secret::new(ALERT_TOKEN)),
        storm_labels: vec!["service".to_owned()],
        alertmanager_url: Some(format!("http://127.0.0.1:{alertmanager_port}")),
        ..AlertSourceSettings::default()
    }
}

fn with_sources(settings: &mut Settings, alertmanager_port: u16) {
    let sources = &mut settings.alerts.sources;
    sources.insert("prod".to_owned(), alertmanager_source(alertmanager_port));
    sources.insert(
        "grafana".to_owned(),
        AlertSourceSettings {
            kind: "grafana".to_owned(),
            hmac_secret: Some(Secret::new(GRAFANA_SECRET)),
            timestamp_header: Some("X-Grafana-Alerting-Timestamp".to_owned()),
            ..AlertSourceSettings::default()
        },
    );
    sources.insert(
        "scripts".to_owned(),
        AlertSourceSettings {
            kind: "generic".to_owned(),
            token: Some(Secret::new(ALERT_TOKEN)),
            ..AlertSourceSettings::default()
        },
    );
}

/// The app on Slack (faked), with the alert sources, and a real
/// Alertmanager delivering to it.
async fn on_slack(database: &TestDatabase, slack: &FakeSlack) -> Option<(TestApp, Alertmanager)> {
    let port = free_port();
    let api = slack.api_base_url();
    let app = TestApp::spawn_with(database, move |settings| {
        settings.memory.enabled = false;
        settings.slack.bot_token = Some(Secret::new(BOT_TOKEN));
        settings.slack.pacing_speed = 1000.0;
        settings.slack.signing_secret = Some(Secret::new(SIGNING_SECRET));
        settings.slack.api_base_url = api;
        settings.slack.announce_channel = Some(ANNOUNCE.to_owned());
        with_sources(settings, port);
    })
    .await;
    let webhook = app.url("/api/v1/alerts/alertmanager");
    let alertmanager = Alertmanager::start(port, &webhook, ALERT_TOKEN).await?;
    Some((app, alertmanager))
}

/// An alert as Prometheus pushes it to `POST /api/v2/alerts`.
fn alert(name: &str, service: &str, instance: &str, severity: &str) -> Value {
    json!({
        "labels": {
            "alertname": name,
            "service": service,
            "instance": instance,
            "severity": severity,
        },
        "annotations": { "summary": format!("{service} is not answering") },
        "generatorURL": "http://prometheus.example/graph?g0.expr=up%3D%3D0",
    })
}

/// The same alert, resolved a moment ago.
fn resolved(mut alert: Value) -> Value {
    let now = chrono::Utc::now();
    alert["startsAt"] = json!((now - chrono::Duration::minutes(5)).to_rfc3339());
    alert["endsAt"] = json!((now - chrono::Duration::seconds(1)).to_rfc3339());
    alert
}

/// Waits for the first incident and answers its id.
async fn first_incident(app: &TestApp, what: &str) -> i64 {
    wait_for(what, || async {
        incidents(app)
            .await
            .first()
            .and_then(|item| item["id"].as_i64())
    })
    .await
}

async fn incidents(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/v1/incidents").await["incidents"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn alert_statuses(app: &TestApp, id: i64) -> Vec<String> {
    app.incident(id).await["alerts"]
        .as_array()
        .map(|alerts| {
            alerts
                .iter()
                .map(|alert| alert["status"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_critical_alert_opens_an_incident_its_group_keeps_resolves_and_silences() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let Some((app, alertmanager)) = on_slack(&database, &slack).await else {
        return;
    };

    alertmanager
        .push(&json!([alert("DatabaseDown", "db", "db-1", "critical")]))
        .await;
    let id = first_incident(&app, "the alert opens an incident").await;
    let incident = app.incident(id).await;
    assert_eq!(incident["title"], "DatabaseDown: db is not answering");
    assert_eq!(incident["severity"], 1, "critical maps to severity 1");
    assert_eq!(incident["reporter"]["id"], "alerts:prod");
    wait_until("its channel is created", || async {
        app.incident(id).await["conversation_id"].is_string()
    })
    .await;
    let headline = wait_for("the headline is posted", || async {
        slack
            .calls("chat.postMessage")
            .await
            .into_iter()
            .find(|call| call["channel"] == ANNOUNCE)
    })
    .await;
    assert!(
        headline.to_string().contains("1 firing"),
        "the headline counts the alerts: {headline}"
    );

    // Another instance fails: Alertmanager sends the group again, with
    // both alerts, and the incident takes it in.
    alertmanager
        .push(&json!([
            alert("DatabaseDown", "db", "db-1", "critical"),
            alert("DatabaseDown", "db", "db-2", "critical"),
        ]))
        .await;
    wait_until("the second alert joins the incident", || async {
        alert_statuses(&app, id).await == ["firing", "firing"]
    })
    .await;
    assert_eq!(
        incidents(&app).await.len(),
        1,
        "the group opened nothing more"
    );
    let timeline = app.timeline_texts(id).await;
    assert!(
        timeline
            .iter()
            .any(|text| text.starts_with("2 alerts firing: DatabaseDown ×2")),
        "{timeline:?}"
    );
    wait_until("the headline shows two firing", || async {
        slack
            .calls("chat.update")
            .await
            .iter()
            .any(|call| call.to_string().contains("2 firing"))
    })
    .await;
    let listed = app.command(id, "alerts").await;
    assert_eq!(listed.0, 200, "{listed:?}");
    assert!(
        listed.1.to_string().contains("2 firing, 0 resolved"),
        "{listed:?}"
    );

    // Both resolve: the timeline says so and chat suggests mitigating.
    alertmanager
        .push(&json!([
            resolved(alert("DatabaseDown", "db", "db-1", "critical")),
            resolved(alert("DatabaseDown", "db", "db-2", "critical")),
        ]))
        .await;
    wait_until("the alerts resolve on the incident", || async {
        alert_statuses(&app, id).await == ["resolved", "resolved"]
    })
    .await;
    let channel = app.incident(id).await["conversation_id"]
        .as_str()
        .map(str::to_owned)
        .expect("the incident has a channel");
    wait_until("chat suggests mitigating", || async {
        slack.calls("chat.postMessage").await.iter().any(|call| {
            call["channel"] == channel.as_str() && call.to_string().contains("status mitigated")
        })
    })
    .await;
    assert!(app
        .timeline_texts(id)
        .await
        .iter()
        .any(|text| text.starts_with("2 alerts resolved: DatabaseDown ×2")));
    assert_eq!(
        app.incident(id).await["status"],
        "triage",
        "suggested, not set"
    );

    // `silence 1h` makes a silence in Alertmanager for the group.
    let (status, body) = app.command(id, "silence 1h").await;
    assert_eq!(status, 200, "{body}");
    let silence = wait_for("the silence exists in Alertmanager", || async {
        alertmanager.silences().await.into_iter().find(|silence| {
            silence["comment"]
                .as_str()
                .is_some_and(|comment| comment.starts_with(&format!("INC-{id}:")))
        })
    })
    .await;
    let mut matchers: Vec<(String, String)> = silence["matchers"]
        .as_array()
        .expect("matchers")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or_default().to_owned(),
                m["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    matchers.sort();
    assert_eq!(
        matchers,
        [
            ("alertname".to_owned(), "DatabaseDown".to_owned()),
            ("service".to_owned(), "db".to_owned())
        ],
        "the silence matches the group's labels"
    );
    assert_eq!(silence["status"]["state"], "active");
    wait_until("the silence is on the timeline", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.starts_with("Alerts silenced in prod until"))
    })
    .await;
    let shown = app.incident(id).await;
    assert_eq!(shown["silences"][0]["id"], silence["id"]);
    app.stop();
}

#[tokio::test]
async fn forty_alerts_of_one_service_within_the_window_are_one_incident() {
    let database = TestDatabase::new().await;
    let port = free_port();
    let app = TestApp::spawn_with(&database, move |settings| with_sources(settings, port)).await;
    let Some(alertmanager) =
        Alertmanager::start(port, &app.url("/api/v1/alerts/alertmanager"), ALERT_TOKEN).await
    else {
        return;
    };
    // Forty different alerts: forty groups in Alertmanager, one problem.
    let storm: Vec<Value> = (1..=40)
        .map(|n| {
            alert(
                &format!("CheckoutCheck{n}"),
                "checkout",
                "web-1",
                "critical",
            )
        })
        .collect();
    alertmanager.push(&Value::Array(storm)).await;
    let id = first_incident(&app, "the storm opens an incident").await;
    wait_until("all forty alerts are on it", || async {
        alert_statuses(&app, id).await.len() == 40
    })
    .await;
    assert_eq!(incidents(&app).await.len(), 1, "one incident for the storm");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("firebreak_incidents_opened_by_alerts_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("firebreak_alerts_received_total 40\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("firebreak_alerts_grouped_total 39\n"),
        "{metrics}"
    );
    app.stop();
}

/// A body sent to a receiver with headers.
async fn deliver(
    app: &TestApp,
    kind: &str,
    headers: &[(&str, String)],
    body: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/alerts/{kind}")))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("the app answers")
}

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

fn generic(dedup_key: &str, severity: &str, status: &str) -> String {
    json!({
        "dedup_key": dedup_key,
        "title": "Nightly backup failed",
        "status": status,
        "severity": severity,
        "source": "backup-cron",
        "details": { "exit_code": 2 },
        "links": ["https://runbooks.example/backup"],
    })
    .to_string()
}

#[tokio::test]
async fn forged_unauthenticated_and_malformed_deliveries_are_refused_and_apply_nothing() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn_with(&database, |settings| with_sources(settings, free_port())).await;
    let body = generic("backup-1", "critical", "firing");
    let refused = [
        vec![],
        vec![bearer("not-the-token")],
        vec![("authorization", ALERT_TOKEN.to_owned())],
        vec![bearer(crate::support::TOKEN)],
    ];
    for headers in refused {
        let response = deliver(&app, "generic", &headers, &body).await;
        assert_eq!(response.status(), 401, "{headers:?}");
    }
    // A Grafana delivery signed with another secret.
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let forged = sign_grafana("not-the-secret", &timestamp, &grafana_body());
    let response = deliver(
        &app,
        "grafana",
        &[
            ("X-Grafana-Alerting-Signature", forged),
            ("X-Grafana-Alerting-Timestamp", timestamp),
        ],
        &grafana_body(),
    )
    .await;
    assert_eq!(response.status(), 401);
    // The right token on the wrong receiver is no credential either.
    let response = deliver(&app, "alertmanager", &[bearer("wrong")], &body).await;
    assert_eq!(response.status(), 401);

    for (malformed, reason) in [
        ("{not json", "not JSON of the expected shape"),
        (r#"{"title": "x", "status": "firing"}"#, "dedup_key"),
        (
            r#"{"dedup_key": "k", "title": "x", "status": "exploded"}"#,
            "status",
        ),
    ] {
        let response = deliver(&app, "generic", &[bearer(ALERT_TOKEN)], malformed).await;
        assert_eq!(response.status(), 400, "{malformed}");
        let text = response.text().await.expect("a reason");
        assert!(text.contains(reason), "{malformed}: {text}");
    }
    let response = deliver(&app, "nagios", &[bearer(ALERT_TOKEN)], &body).await;
    assert_eq!(response.status(), 404);

    // Nothing of that reached the engine: a good delivery now is the
    // first incident, and the inbox has nothing else.
    let response = deliver(&app, "generic", &[bearer(ALERT_TOKEN)], &body).await;
    assert_eq!(response.status(), 202);
    wait_until("the good delivery opens an incident", || async {
        incidents(&app).await.len() == 1
    })
    .await;
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("firebreak_alerts_received_total 1\n"),
        "{metrics}"
    );
    app.stop();
}

#[tokio::test]
async fn generic_and_grafana_deliveries_open_group_record_and_apply_once() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn_with(&database, |settings| {
        with_sources(settings, free_port());
        settings.web.open = true;
    })
    .await;

    // Sent twice (a retry): applied once.
    let body = generic("backup-1", "critical", "firing");
    let first = deliver(&app, "generic", &[bearer(ALERT_TOKEN)], &body).await;
    assert_eq!(first.status(), 202);
    let again = deliver(&app, "generic", &[bearer(ALERT_TOKEN)], &body).await;
    assert_eq!(again.status(), 202);
    assert_eq!(
        again.json::<Value>().await.expect("json")["status"],
        "duplicate"
    );
    let id = first_incident(&app, "the generic alert opens an incident").await;
    let incident = app.incident(id).await;
    assert_eq!(incident["title"], "Nightly backup failed");
    assert_eq!(incident["alerts"][0]["fingerprint"], "backup-1");
    assert_eq!(
        incident["alerts"][0]["links"][0],
        "https://runbooks.example/backup"
    );
    let page = app
        .client
        .get(app.url(&format!("/incidents/{id}")))
        .send()
        .await
        .expect("the page")
        .text()
        .await
        .expect("HTML");
    assert!(
        page.contains(r#"<a href="https://runbooks.example/backup">Nightly backup failed</a>"#),
        "the page lists the alert: {page}"
    );

    // A warning opens nothing: it is recorded.
    let warning = generic("disk-70", "warning", "firing");
    assert_eq!(
        deliver(&app, "generic", &[bearer(ALERT_TOKEN)], &warning)
            .await
            .status(),
        202
    );
    let recorded = wait_for("the warning is recorded", || async {
        let listed = app.get_json("/api/v1/alerts").await;
        listed["recorded"]
            .as_array()
            .and_then(|groups| groups.iter().find(|g| g["group_key"] == "disk-70").cloned())
    })
    .await;
    assert_eq!(recorded["source"], "scripts");
    assert_eq!(incidents(&app).await.len(), 1);

    // Grafana, signed with its HMAC secret and timestamp.
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature = sign_grafana(GRAFANA_SECRET, &timestamp, &grafana_body());
    let response = deliver(
        &app,
        "grafana",
        &[
            ("X-Grafana-Alerting-Signature", signature),
            ("X-Grafana-Alerting-Timestamp", timestamp),
        ],
        &grafana_body(),
    )
    .await;
    assert_eq!(response.status(), 202);
    let grafana = wait_for("the Grafana alert opens an incident", || async {
        incidents(&app)
            .await
            .into_iter()
            .find(|item| item["title"] == "[FIRING:1] High CPU usage")
            .and_then(|item| item["id"].as_i64())
    })
    .await;
    assert_eq!(app.incident(grafana).await["severity"], 1);

    // Detaching: the alert leaves the incident; the same group firing
    // again leaves it out.
    let (status, body) = app.command(id, "detach backup").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(alert_statuses(&app, id).await.len(), 0);
    let (status, body) = app.command(id, "detach nothing-like-it").await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app.command(id, "silence 1h").await;
    assert_eq!(status, 200, "{body}");
    wait_until(
        "a source without Alertmanager's API fails visibly",
        || async {
            app.timeline_texts(id).await.iter().any(|text| {
                text.contains("silence the alerts of scripts") && text.contains("alertmanager_url")
            })
        },
    )
    .await;

    // Closed, the group's next alert opens a new incident that links it.
    for command in ["lead @ana", "status resolved", "close"] {
        let (status, body) = app.command(id, command).await;
        assert_eq!(status, 200, "{command}: {body}");
    }
    let reopened = generic("backup-1", "critical", "firing").replace("failed", "failed again");
    assert_eq!(
        deliver(&app, "generic", &[bearer(ALERT_TOKEN)], &reopened)
            .await
            .status(),
        202
    );
    let next = wait_for("the group opens a new incident", || async {
        incidents(&app)
            .await
            .into_iter()
            .find(|item| item["title"] == "Nightly backup failed again")
            .and_then(|item| item["id"].as_i64())
    })
    .await;
    assert_ne!(next, id);
    assert!(app.timeline_texts(next).await.contains(&format!(
        "The same alerts opened INC-{id} before, which is closed"
    )));
    app.stop();
}

/// Grafana's webhook payload (its documentation's example, trimmed).
fn grafana_body() -> String {
    json!({
        "receiver": "firebreak",
        "status": "firing",
        "orgId": 1,
        "alerts": [{
            "status": "firing",
            "labels": { "alertname": "High CPU usage", "team": "blue", "severity": "critical" },
            "annotations": { "summary": "CPU over 90% for 5 minutes" },
            "startsAt": "2026-11-25T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example/alerting/grafana/abc/view",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://grafana.example/alerting/silence/new",
            "dashboardURL": "",
            "panelURL": "",
            "valueString": "[ var='B' labels={} value=93.2 ]"
        }],
        "groupLabels": { "alertname": "High CPU usage" },
        "commonLabels": { "alertname": "High CPU usage", "team": "blue", "severity": "critical" },
        "commonAnnotations": { "summary": "CPU over 90% for 5 minutes" },
        "externalURL": "https://grafana.example/",
        "version": "1",
        "groupKey": "{}:{alertname=\"High CPU usage\"}",
        "truncatedAlerts": 0,
        "title": "[FIRING:1] High CPU usage",
        "state": "alerting",
        "message": "**Firing**\n\nValue: B=93.2"
    })
    .to_string()
}

fn sign_grafana(secret: &str, timestamp: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}:{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
