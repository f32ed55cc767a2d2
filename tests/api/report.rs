//! The post-incident report of a scripted incident: every duration exact.

use crate::support::{chat_command, event_id, wait_until, TestApp, TestDatabase};
use chrono::{Duration, TimeZone, Utc};
use firebreak_actors::clock::ManualClock;
use serde_json::{json, Value};
use std::sync::Arc;

#[tokio::test]
async fn a_scripted_incident_reports_exact_durations_people_and_actions() {
    let database = TestDatabase::new().await;
    let start = Utc
        .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
        .single()
        .expect("time");
    let clock = ManualClock::new(start);
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |_| {}).await;
    let id = app
        .declare(json!({ "title": "Checkout | errors", "severity": 2, "summary": "Card payments time out" }))
        .await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;

    clock.advance(Duration::minutes(4) + Duration::seconds(30));
    app.command(id, "lead @ana").await;
    // People talk in the conversation; the report counts who said what.
    for (user, text) in [
        ("ana", "looking at the gateway"),
        ("bo", "errors from eu-west"),
        ("ana", "rolling back"),
    ] {
        app.inject(&json!({
            "platform": "memory", "event_id": event_id(), "type": "message",
            "conversation": { "platform": "memory", "id": conversation.id },
            "user": { "platform": "memory", "id": user, "name": user },
            "message": { "conversation": { "platform": "memory", "id": conversation.id }, "id": event_id() },
            "text": text,
        }))
        .await;
    }
    app.inject(&chat_command(
        &event_id(),
        &conversation.id,
        "bo",
        "action add a gateway alert",
    ))
    .await;
    wait_until("the action is added", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.contains("gateway alert"))
    })
    .await;
    clock.advance(Duration::minutes(20));
    app.command(id, "status mitigated").await;
    clock.advance(Duration::hours(1) + Duration::seconds(15));
    app.command(id, "status resolved").await;

    let response = app.get(&format!("/api/v1/incidents/{id}/report.md")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/markdown"));
    let report = response.text().await.expect("text");
    for expected in [
        "# INC-1: Checkout \\| errors",
        "- Time to acknowledge: 4m 30s (at 2026-11-24 09:04:30)",
        "- Time to mitigate: 24m 30s (at 2026-11-24 09:24:30)",
        "- Time to resolve: 1h 24m 45s (at 2026-11-24 10:24:45)",
        "| ana | lead | 2 |",
        "| bo | — | 2 |",
        "- [ ] 1. add a gateway alert (owner: bo)",
        "Card payments time out",
        "## Root cause",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    let unauthorised = app
        .client
        .get(app.url(&format!("/api/v1/incidents/{id}/report.md")))
        .send()
        .await
        .expect("answered");
    assert_eq!(unauthorised.status(), 401);
    let missing: Value = app
        .get("/api/v1/incidents/99/report.md")
        .await
        .json()
        .await
        .expect("json");
    assert!(missing["error"].is_string());
}
