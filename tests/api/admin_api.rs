//! The admin API: auth, validation, listing, filters and paging.

use crate::support::{wait_until, TestApp, TestDatabase, TOKEN};
use serde_json::{json, Value};

#[tokio::test]
async fn requests_without_the_right_token_are_refused() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let url = app.url("/api/v1/incidents");

    let missing = app.client.get(&url).send().await.expect("response");
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let wrong = app
        .client
        .get(&url)
        .bearer_auth(format!("{TOKEN}x"))
        .send()
        .await
        .expect("response");
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.expect("json");
    assert!(body["error"].is_string());
    let declare = app
        .client
        .post(&url)
        .bearer_auth("nope")
        .json(&json!({ "title": "x" }))
        .send()
        .await
        .expect("response");
    assert_eq!(declare.status(), 401);
    // Nothing was declared.
    assert_eq!(
        app.get_json("/api/v1/incidents").await["incidents"],
        json!([])
    );
    // Probes stay open.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("response")
            .status(),
        200
    );
}

#[tokio::test]
async fn bad_bodies_get_422_with_a_reason() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let post_raw = |body: &'static str| {
        app.client
            .post(app.url("/api/v1/incidents"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    for (body, reason) in [
        ("{\"title\": ", "EOF"),
        ("{\"severity\": 1}", "missing field `title`"),
        (
            "{\"title\": \"x\", \"sevrity\": 1}",
            "unknown field `sevrity`",
        ),
        ("{\"title\": \"x\", \"severity\": 9}", "not a severity"),
        ("{\"title\": \"   \"}", "title"),
        (
            "{\"title\": \"x\", \"platform\": \"slack\"}",
            "not configured",
        ),
    ] {
        let response = post_raw(body).await.expect("response");
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.expect("json");
        let text = error["error"].as_str().unwrap_or_default();
        assert!(text.contains(reason), "{body} → {text}");
    }
}

#[tokio::test]
async fn commands_through_the_api_answer_409_with_the_rules_reason() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app
        .declare(json!({ "title": "Timeouts", "severity": "major" }))
        .await["id"]
        .as_i64()
        .expect("id");

    let (status, body) = app.command(id, "severity major").await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("already")),
        "{body}"
    );
    let (status, body) = app.command(id, "status sideways").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app.command(id, "sev 1").await;
    // The raise and, once per severity, that severity's duties.
    assert_eq!((status, body["changes"].as_i64()), (200, Some(2)), "{body}");
    assert_eq!(body["incident"]["severity"], 1);
    let missing = app
        .post_json(
            "/api/v1/incidents/INC-999/commands",
            &json!({ "text": "help" }),
        )
        .await;
    assert_eq!(missing.status(), 404);
    assert_eq!(app.get("/api/v1/incidents/nonsense").await.status(), 404);
}

#[tokio::test]
async fn the_list_filters_and_pages_newest_first() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let mut ids = Vec::new();
    for (title, severity) in [
        ("Payments latency", 1),
        ("Search errors", 2),
        ("Payments 500s", 2),
        ("Email delays", 3),
        ("Payments retries", 4),
    ] {
        ids.push(
            app.declare(json!({ "title": title, "severity": severity, "lead": "ana" }))
                .await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    assert_eq!(app.command(ids[1], "status investigating").await.0, 200);

    let titles = |list: &Value| -> Vec<String> {
        list["incidents"]
            .as_array()
            .expect("incidents")
            .iter()
            .map(|incident| incident["title"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let all = app.get_json("/api/v1/incidents").await;
    assert_eq!(
        titles(&all),
        [
            "Payments retries",
            "Email delays",
            "Payments 500s",
            "Search errors",
            "Payments latency"
        ]
    );
    assert_eq!(all["next_cursor"], Value::Null);

    let payments = app
        .get_json("/api/v1/incidents?q=PAYMENTS&severity=1,2")
        .await;
    assert_eq!(titles(&payments), ["Payments 500s", "Payments latency"]);
    let investigating = app.get_json("/api/v1/incidents?status=investigating").await;
    assert_eq!(titles(&investigating), ["Search errors"]);
    let by_name = app
        .get_json("/api/v1/incidents?severity=minor&platform=memory")
        .await;
    assert_eq!(titles(&by_name), ["Email delays"]);
    let none = app.get_json("/api/v1/incidents?since=2999-01-01").await;
    assert_eq!(titles(&none), Vec::<String>::new());
    let literal = app.get_json("/api/v1/incidents?q=%25").await;
    assert_eq!(
        titles(&literal),
        Vec::<String>::new(),
        "% is matched literally"
    );

    // Pages of two, following the cursor to the end.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get_json(&format!("/api/v1/incidents?limit=2&cursor={cursor}"))
            .await;
        assert!(page["incidents"]
            .as_array()
            .is_some_and(|items| items.len() <= 2));
        seen.extend(titles(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(titles(&all), seen);

    for bad in [
        "status=bogus",
        "severity=7",
        "since=yesterday",
        "limit=0",
        "limit=1000",
        "cursor=abc",
        "platform=irc",
        "colour=red",
    ] {
        let response = app.get(&format!("/api/v1/incidents?{bad}")).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.expect("json");
        assert!(body["error"].is_string(), "{bad}");
    }
}

#[tokio::test]
async fn incidents_live_in_the_api_alone_when_no_chat_platform_is_configured() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn_with(&database, |settings| settings.memory.enabled = false).await;
    let incident = app
        .declare(json!({ "title": "No chat today", "summary": "API only" }))
        .await;
    let id = incident["id"].as_i64().expect("id");
    assert_eq!(incident["platform"], "api");
    let (status, body) = app.command(id, "lead").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["incident"]["lead"]["id"], "ana");
    let detail = app.get_json(&format!("/api/v1/incidents/INC-{id}")).await;
    assert_eq!(detail["conversation_id"], Value::Null);
    assert_eq!(detail["summary"], "API only");
}

#[tokio::test]
async fn a_report_records_a_past_incident_without_a_conversation() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let incident = app
        .declare(json!({
            "title": "Overnight batch failed",
            "report": { "started_at": "2026-11-20T01:00:00Z", "resolved_at": "2026-11-20T02:30:00Z" },
        }))
        .await;
    let id = incident["id"].as_i64().expect("id");
    assert_eq!(incident["report_only"], true);
    assert_eq!(incident["status"], "resolved");
    assert_eq!(incident["started_at"], "2026-11-20T01:00:00Z");
    wait_until("the headline records it", || async {
        app.headline("Overnight batch failed").is_some()
    })
    .await;
    assert_eq!(app.incident(id).await["conversation_id"], Value::Null);
    let future = app
        .post_json(
            "/api/v1/incidents",
            &json!({ "title": "x", "report": { "started_at": "2999-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(future.status(), 422);
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    app.declare(json!({ "title": "Metered", "severity": 2 }))
        .await;
    assert_eq!(
        app.get_json("/readyz").await,
        json!({ "database": true, "actors": true })
    );
    let response = app.get("/metrics").await;
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain")));
    let text = response.text().await.expect("text");
    assert!(
        text.contains("firebreak_incidents{status=\"triage\",severity=\"2\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE firebreak_command_duration_seconds histogram"),
        "{text}"
    );
}

#[tokio::test]
async fn the_readme_walk_through_works_with_plain_curl_bodies() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    // `curl -d` sends application/x-www-form-urlencoded.
    let post = |path: String, body: &'static str| {
        app.client
            .post(app.url(&path))
            .bearer_auth(TOKEN)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let declared = post(
        "/api/v1/incidents".into(),
        r#"{"title":"Payments failing","severity":2}"#,
    )
    .await
    .expect("response");
    assert_eq!(declared.status(), 201);
    let id = declared.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");
    for body in [r#"{"text":"lead @ana"}"#, r#"{"text":"status mitigated"}"#] {
        let response = post(format!("/api/v1/incidents/{id}/commands"), body)
            .await
            .expect("response");
        assert_eq!(response.status(), 200, "{body}");
    }
    let timeline = app.timeline_texts(id).await;
    let changes: Vec<&String> = timeline
        .iter()
        .filter(|text| {
            text.starts_with("Declared") || text.starts_with("Lead") || text.starts_with("Status")
        })
        .collect();
    assert_eq!(
        changes,
        [
            "Declared: Payments failing (severity 2 (major))",
            "Lead set to ana",
            "Status changed from triage to mitigated"
        ]
    );
}
