//! Statistics over scripted incidents: counts, and median / p90 response
//! times exactly as the times were scripted.

use crate::support::{TestApp, TestDatabase};
use chrono::{Duration, TimeZone, Utc};
use firebreak_actors::clock::ManualClock;
use serde_json::{json, Value};
use std::sync::Arc;

#[tokio::test]
async fn stats_give_counts_and_nearest_rank_response_times() {
    let database = TestDatabase::new().await;
    let start = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .expect("time");
    let clock = ManualClock::new(start);
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |_| {}).await;
    let mut ids = Vec::new();
    for (title, severity, service) in [
        ("A", 1, "payments"),
        ("B", 1, "payments"),
        ("C", 1, "search"),
        ("D", 3, ""),
    ] {
        let mut body = json!({ "title": title, "severity": severity });
        if !service.is_empty() {
            body["labels"] = json!({ "service": service });
        }
        let declared = app.declare(body).await;
        if !service.is_empty() {
            assert_eq!(declared["labels"]["service"], service);
        }
        ids.push(declared["id"].as_i64().expect("id"));
    }
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    let step = |minutes| clock.advance(Duration::minutes(minutes));
    step(2);
    app.command(a, "lead @ana").await;
    step(2);
    app.command(b, "lead @ana").await;
    step(2);
    app.command(c, "lead @ana").await;
    step(4);
    app.command(a, "status mitigated").await;
    step(10);
    app.command(b, "status mitigated").await;
    step(10);
    app.command(a, "status resolved").await;
    step(30);
    app.command(b, "status resolved").await;

    let stats = app.get_json("/api/v1/stats").await;
    assert_eq!(stats["total"], 4);
    assert_eq!(stats["by_severity"], json!({"1": 3, "3": 1}));
    assert_eq!(
        stats["busiest_labels"],
        json!([["service=payments", 2], ["service=search", 1]])
    );
    let sev1 = &stats["times"][0];
    assert_eq!(sev1["severity"], 1);
    let seconds = |what: &str| {
        (
            sev1[what]["median_seconds"].clone(),
            sev1[what]["p90_seconds"].clone(),
        )
    };
    assert_eq!(seconds("acknowledge"), (json!(240), json!(360)));
    assert_eq!(seconds("mitigate"), (json!(600), json!(1200)));
    assert_eq!(seconds("resolve"), (json!(1800), json!(3600)));
    assert_eq!(
        stats["times"][2]["resolve"],
        Value::Null,
        "nothing of severity 3 resolved"
    );
    assert_eq!(stats["weeks"][0]["start"], "2026-11-23");
    assert_eq!(stats["weeks"][0]["by_severity"], json!([3, 0, 1, 0]));

    let before = app.get_json("/api/v1/stats?until=2026-11-01").await;
    assert_eq!(before["total"], 0);
    assert_eq!(app.get("/api/v1/stats?since=someday").await.status(), 400);
    let anonymous = app
        .client
        .get(app.url("/api/v1/stats"))
        .send()
        .await
        .expect("answered");
    assert_eq!(anonymous.status(), 401);

    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(app.url("/stats"))
        .send()
        .await
        .expect("answered");
    assert_eq!(page.status(), 303, "the page needs a login");
}

#[tokio::test]
async fn the_stats_page_draws_its_charts_on_the_server() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn_with(&database, |settings| settings.web.open = true).await;
    let id = app
        .declare(json!({ "title": "Cache <b>cold</b>", "severity": 2 }))
        .await["id"]
        .as_i64()
        .expect("id");
    app.command(id, "status resolved").await;
    let html = app
        .client
        .get(app.url("/stats"))
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("text");
    assert!(html.contains("<svg") && html.contains("<rect"), "{html}");
    assert!(html.contains("1 incidents."), "{html}");
    assert!(!html.contains("<script"), "no scripts");
}
