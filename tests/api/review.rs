//! Editing the timeline for the post-incident review, through the API and
//! the incident page: entries added at the time they happened, entries
//! corrected with the original kept.

use crate::support::{TestApp, TestDatabase};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

#[tokio::test]
async fn the_review_adds_and_corrects_timeline_entries_of_a_closed_incident() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let incident = app.declare(json!({ "title": "Queue stuck" })).await;
    let id = incident["id"].as_i64().expect("id");
    let declared: DateTime<Utc> = incident["declared_at"]
        .as_str()
        .expect("time")
        .parse()
        .expect("RFC 3339");
    app.command(id, "lead @ana").await;
    app.command(id, "status resolved").await;
    app.command(id, "close").await;
    assert_eq!(app.incident(id).await["status"], "closed");

    let path = format!("/api/v1/incidents/{id}/timeline");
    let alert_at = declared - Duration::minutes(5);
    let response = app
        .post_json(&path, &json!({ "text": "Queue depth alert fired", "at": alert_at.to_rfc3339(), "user": "bo" }))
        .await;
    assert_eq!(response.status(), 201);
    let response = app
        .client
        .patch(app.url(&path))
        .bearer_auth(crate::support::TOKEN)
        .json(&json!({ "seq": 1, "text": "Declared by Bo after the alert" }))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);

    let timeline = app.get_json(&path).await;
    let entries = timeline["entries"].as_array().expect("entries");
    assert_eq!(
        entries[0]["text"], "Queue depth alert fired",
        "placed at the time it happened"
    );
    assert_eq!(
        entries[0]["at"]
            .as_str()
            .map(|at| at.parse::<DateTime<Utc>>().ok()),
        Some(Some(alert_at))
    );
    assert_eq!(entries[0]["actor"]["id"], "bo");
    let first: &Value = entries
        .iter()
        .find(|entry| entry["seq"] == 1)
        .expect("entry 1");
    assert_eq!(first["text"], "Declared by Bo after the alert");
    assert!(first["original_text"]
        .as_str()
        .is_some_and(|text| text.starts_with("Declared: Queue stuck")));
    assert!(
        entries
            .iter()
            .any(|entry| entry["kind"] == "timeline_entry_corrected"),
        "the correction itself is in the audit trail"
    );

    // Refused: a future time, an entry that does not exist, nonsense.
    let future = (Utc::now() + Duration::hours(1)).to_rfc3339();
    assert_eq!(
        app.post_json(&path, &json!({ "text": "x", "at": future }))
            .await
            .status(),
        409
    );
    let missing = app
        .client
        .patch(app.url(&path))
        .bearer_auth(crate::support::TOKEN)
        .json(&json!({ "seq": 999, "text": "x" }))
        .send()
        .await
        .expect("answered");
    assert_eq!(missing.status(), 409);
    assert_eq!(
        app.post_json(&path, &json!({ "text": "x", "at": "teatime" }))
            .await
            .status(),
        400
    );
    let anonymous = app
        .client
        .post(app.url(&path))
        .json(&json!({ "text": "x", "at": future }))
        .send()
        .await
        .expect("answered");
    assert_eq!(anonymous.status(), 401);

    let report = app
        .get(&format!("/api/v1/incidents/{id}/report.md"))
        .await
        .text()
        .await
        .expect("text");
    assert!(
        report.contains("Queue depth alert fired")
            && report.contains("Declared by Bo after the alert"),
        "{report}"
    );
}

#[tokio::test]
async fn the_incident_page_edits_the_timeline() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn_with(&database, |settings| settings.web.open = true).await;
    let id = app.declare(json!({ "title": "Search slow" })).await["id"]
        .as_i64()
        .expect("id");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = format!("/incidents/INC-{id}/timeline");
    let added = browser
        .post(app.url(&page))
        .form(&[
            ("edit", "add"),
            ("at", "2026-11-24T08:15"),
            ("text", "Index rebuild <started>"),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(added.status(), 303);
    let corrected = browser
        .post(app.url(&page))
        .form(&[
            ("edit", "correct"),
            ("seq", "1"),
            ("text", "Declared from the pager"),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(corrected.status(), 303);
    let html = browser
        .get(app.url(&format!("/incidents/INC-{id}")))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("Index rebuild &lt;started&gt;"), "{html}");
    assert!(html.contains("2026-11-24 08:15 UTC"), "{html}");
    assert!(
        html.contains("Declared from the pager") && html.contains("Corrected; it read:"),
        "{html}"
    );
}
