//! Bursts: lines of chat that queue up behind a busy incident are applied
//! together, in order and once each; API commands sent at once each get
//! their own answer.

use crate::support::{chat_command, event_id, wait_until, TestApp, TestDatabase};
use serde_json::json;

#[tokio::test]
async fn chat_that_queued_behind_a_busy_incident_is_applied_in_order_with_one_notice() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Queue backs up" })).await["id"]
        .as_i64()
        .expect("id");
    let channel = app.conversation_of(id).await;

    // The first note's notice hangs, as under a platform's rate limit, so
    // the incident is busy while the rest arrive.
    app.memory.hold(channel.clone());
    app.inject(&chat_command(&event_id(), &channel.id, "bo", "note step 0"))
        .await;
    wait_until("the first note is stored", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.contains("step 0"))
    })
    .await;
    for n in 1..=10 {
        let text = format!("note step {n}");
        app.inject(&chat_command(&event_id(), &channel.id, "bo", &text))
            .await;
    }
    app.memory.release();

    wait_until("every note is stored", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.contains("step 10"))
    })
    .await;
    let notes: Vec<String> = app
        .timeline_texts(id)
        .await
        .into_iter()
        .filter(|text| text.contains("step "))
        .collect();
    let expected: Vec<String> = (0..=10).map(|n| format!("step {n}")).collect();
    assert_eq!(notes.len(), expected.len(), "each once: {notes:?}");
    for (note, step) in notes.iter().zip(&expected) {
        assert!(note.ends_with(step.as_str()), "in order: {notes:?}");
    }

    wait_until("the queued notes are announced", || async {
        app.memory
            .posted_texts(&channel)
            .iter()
            .any(|text| text.contains("step 10"))
    })
    .await;
    let notices: Vec<String> = app
        .memory
        .posted_texts(&channel)
        .into_iter()
        .filter(|text| text.contains("step "))
        .collect();
    for step in &expected {
        let told = notices
            .iter()
            .filter(|notice| {
                notice.contains(&format!("{step}\n")) || notice.ends_with(step.as_str())
            })
            .count();
        assert_eq!(told, 1, "{step} announced once: {notices:?}");
    }
    assert!(
        notices.len() < expected.len() - 1,
        "the ten that queued were announced together, not one post each: {notices:?}"
    );
}

#[tokio::test]
async fn api_commands_sent_at_once_each_get_their_own_answer() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Many hands" })).await["id"]
        .as_i64()
        .expect("id");
    app.conversation_of(id).await;

    let commands = (0..12).map(|n| {
        let app = &app;
        async move {
            let text = if n == 5 {
                // Refused, among accepted ones: only its own caller hears.
                "status resolved-ish".to_owned()
            } else {
                format!("note hand {n}")
            };
            (n, app.command(id, &text).await)
        }
    });
    let answers = futures_util::future::join_all(commands).await;
    for (n, (status, body)) in answers {
        if n == 5 {
            assert_eq!(status, 400, "{body}");
            continue;
        }
        assert_eq!(status, 200, "{body}");
        let reply = body.to_string();
        assert!(
            reply.contains(&format!("hand {n}\"")),
            "answer {n}: {reply}"
        );
    }
    let notes = app
        .timeline_texts(id)
        .await
        .into_iter()
        .filter(|text| text.contains("hand "))
        .count();
    assert_eq!(notes, 11, "each accepted command once");
}
