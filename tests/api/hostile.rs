//! Hostile requests at the HTTP doors: bodies too big are refused before
//! they are read whole, and nothing of them is applied.

use crate::support::fake_slack::{signed_headers, FakeSlack, ANNOUNCE, BOT_TOKEN, SIGNING_SECRET};
use crate::support::{TestApp, TestDatabase, TOKEN};
use firebreak::config::Secret;

#[tokio::test]
async fn oversized_bodies_are_refused_and_nothing_is_stored() {
    let database = TestDatabase::new().await;
    let slack = FakeSlack::start().await;
    let api = slack.api_base_url();
    let app = TestApp::spawn_with(&database, move |settings| {
        settings.slack.bot_token = Some(Secret::new(BOT_TOKEN));
        // The fake Web API has no rate limits; pace in milliseconds.
        settings.slack.pacing_speed = 1000.0;
        settings.slack.signing_secret = Some(Secret::new(SIGNING_SECRET));
        settings.slack.api_base_url = api;
        settings.slack.announce_channel = Some(ANNOUNCE.to_owned());
    })
    .await;
    // Validly signed, so only the size can refuse it.
    let huge = format!(
        r#"{{"type":"event_callback","event_id":"Ev1","event":{{"type":"message","text":"{}"}}}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let (timestamp, signature) = signed_headers(&huge);
    let response = app
        .client
        .post(app.url("/slack/events"))
        .header("content-type", "application/json")
        .header("X-Slack-Request-Timestamp", timestamp)
        .header("X-Slack-Signature", signature)
        .body(huge.clone())
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 413);
    let response = app
        .client
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(format!(r#"{{"title":"{}"}}"#, "y".repeat(1024 * 1024)))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 413);
    let list = app.get_json("/api/v1/incidents").await;
    assert_eq!(list["incidents"].as_array().map(Vec::len), Some(0));
    let metrics = app.get("/metrics").await.text().await.unwrap_or_default();
    assert!(
        metrics.contains("firebreak_inbox_backlog 0"),
        "nothing reached the inbox:\n{metrics}"
    );
}
