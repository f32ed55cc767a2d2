//! Nothing is lost and nothing is applied twice: redeliveries, restarts,
//! events that arrived before a crash.

use crate::support::{chat_command, event_id, wait_for, wait_until, TestApp, TestDatabase};
use firebreak_actors::store::Store;
use firebreak_adapters::Platform;
use serde_json::json;

#[tokio::test]
async fn the_same_inbound_event_delivered_twice_is_applied_once() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Disk full" })).await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;

    let event = chat_command(
        &event_id(),
        &conversation.id,
        "bo",
        "action Add disk alerts",
    );
    assert_eq!(app.inject(&event).await["inbox"], "stored");
    assert_eq!(app.inject(&event).await["inbox"], "duplicate");
    // A later, different event proves the first two were processed.
    app.inject(&chat_command(
        &event_id(),
        &conversation.id,
        "bo",
        "note checked",
    ))
    .await;
    wait_until("the note is on the timeline", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.contains("checked"))
    })
    .await;

    let actions = app
        .timeline_texts(id)
        .await
        .iter()
        .filter(|text| text.starts_with("Action"))
        .count();
    assert_eq!(actions, 1);
    assert_eq!(
        app.incident(id).await["actions"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn a_restarted_app_rehydrates_open_incidents_and_keeps_accepting_commands() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let open = app
        .declare(json!({ "title": "Still burning", "severity": 2 }))
        .await["id"]
        .as_i64()
        .expect("id");
    let closed = app
        .declare(json!({ "title": "Done already", "lead": "ana" }))
        .await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(open).await;
    app.conversation_of(closed).await;
    for text in ["status resolved", "close"] {
        assert_eq!(app.command(closed, text).await.0, 200);
    }
    app.stop();

    let app = TestApp::spawn(&database).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(
        metrics.contains("firebreak_live_incidents 1\n"),
        "only the open incident is live:\n{metrics}"
    );

    // The conversation still reaches its incident after the restart.
    app.inject(&chat_command(
        &event_id(),
        &conversation.id,
        "ana",
        "severity 1",
    ))
    .await;
    wait_until("the command is applied", || async {
        app.incident(open).await["severity"] == 1
    })
    .await;
    // The restarted actor did not open a second conversation.
    assert!(!app.memory.calls().iter().any(|call| matches!(
        call,
        firebreak_adapters::memory::Call::CreateConversation { .. }
    )));
    // And the headline it keeps updating is the one from before.
    let (status, _) = app.command(open, "lead @ana").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn events_stored_before_a_crash_are_processed_at_start_up_exactly_once() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Crashy" })).await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    app.stop();

    // Acked by a webhook, then the process died before processing it.
    let store = Store::connect(&database.url()).await.expect("connect");
    let event = chat_command("before-crash", &conversation.id, "bo", "severity 1");
    store
        .inbox_insert(
            Platform::Memory,
            "before-crash",
            &event.to_string(),
            chrono::Utc::now(),
        )
        .await
        .expect("insert");

    let app = TestApp::spawn(&database).await;
    wait_until("the stored event is applied", || async {
        app.incident(id).await["severity"] == 1
    })
    .await;
    assert_eq!(store.inbox_backlog().await.expect("backlog"), 0);
    app.stop();

    // Started again: the row is done and is not applied a second time.
    let app = TestApp::spawn(&database).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let severity_changes = app
        .timeline_texts(id)
        .await
        .iter()
        .filter(|text| text.starts_with("Severity changed"))
        .count();
    assert_eq!(severity_changes, 1);
}

#[tokio::test]
async fn an_undecodable_inbox_row_is_set_aside_and_does_not_block_the_queue() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Poison" })).await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    app.stop();

    let store = Store::connect(&database.url()).await.expect("connect");
    store
        .inbox_insert(
            Platform::Memory,
            "garbage",
            "{\"not\":\"an event\"}",
            chrono::Utc::now(),
        )
        .await
        .expect("insert");
    let after = chat_command("after-garbage", &conversation.id, "bo", "severity 2");
    store
        .inbox_insert(
            Platform::Memory,
            "after-garbage",
            &after.to_string(),
            chrono::Utc::now(),
        )
        .await
        .expect("insert");

    let app = TestApp::spawn(&database).await;
    wait_until("the good event behind it is applied", || async {
        app.incident(id).await["severity"] == 2
    })
    .await;
    wait_until("the bad one is set aside", || async {
        store.inbox_backlog().await.ok() == Some(0)
    })
    .await;
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(
        metrics.contains("firebreak_inbox_failures_total 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_crashed_incident_actor_is_restarted_from_the_store() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Flaky" })).await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;

    // The actor panics while announcing the change, after storing it.
    app.memory.panic_next(1);
    app.inject(&chat_command(
        &event_id(),
        &conversation.id,
        "bo",
        "severity 2",
    ))
    .await;
    wait_until("the change is stored", || async {
        app.incident(id).await["severity"] == 2
    })
    .await;
    wait_until("the actor is restarted", || async {
        let metrics = app.get("/metrics").await.text().await.unwrap_or_default();
        metrics.contains("firebreak_actor_restarts_total 1\n")
    })
    .await;

    // The new actor carries on from the stored state.
    app.inject(&chat_command(
        &event_id(),
        &conversation.id,
        "bo",
        "severity 1",
    ))
    .await;
    wait_until("the next command is applied", || async {
        app.incident(id).await["severity"] == 1
    })
    .await;
    let severity_changes = app
        .timeline_texts(id)
        .await
        .iter()
        .filter(|text| text.starts_with("Severity changed"))
        .count();
    assert_eq!(severity_changes, 2);
}

#[tokio::test]
async fn an_incident_that_keeps_crashing_is_left_stopped_and_reported_unavailable() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Poisoned" })).await["id"]
        .as_i64()
        .expect("id");
    app.conversation_of(id).await;

    // Every call panics: each command crashes the actor again, and each
    // restart crashes it while reconciling.
    app.memory.panic_next(1000);
    // Commands that arrive while a restart is under way are told so (503,
    // "restarting"); the ones that reach an actor crash it again, until the
    // restart limit leaves the incident stopped.
    wait_for("the incident is left stopped", || async {
        let (status, body) = app.command(id, "note again").await;
        let unavailable = body["error"]
            .as_str()
            .is_some_and(|error| error.contains("unavailable"));
        (status == 503 && unavailable).then_some(())
    })
    .await;
    // The rest of the engine is unaffected.
    assert_eq!(app.get("/readyz").await.status(), 200);
    let metrics = app.get("/metrics").await.text().await.expect("text");
    assert!(
        metrics.contains("firebreak_actor_restarts_total 3\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_incident_held_up_by_its_platform_does_not_hold_up_the_others() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let slow = app.declare(json!({ "title": "Slow channel" })).await["id"]
        .as_i64()
        .expect("id");
    let fast = app.declare(json!({ "title": "Fast channel" })).await["id"]
        .as_i64()
        .expect("id");
    let slow_channel = app.conversation_of(slow).await;
    let fast_channel = app.conversation_of(fast).await;

    // Posting to the slow incident's channel now hangs, as under a
    // platform's per-channel rate limit.
    app.memory.hold(slow_channel.clone());
    app.inject(&chat_command(
        &event_id(),
        &slow_channel.id,
        "bo",
        "severity 1",
    ))
    .await;
    wait_until("the slow incident stored its change", || async {
        app.incident(slow).await["severity"] == 1
    })
    .await;

    app.inject(&chat_command(
        &event_id(),
        &fast_channel.id,
        "bo",
        "severity 1",
    ))
    .await;
    wait_until("the other incident is not held up", || async {
        app.incident(fast).await["severity"] == 1
    })
    .await;

    app.memory.release();
    wait_until("the held notice goes out once released", || async {
        app.memory
            .posted_texts(&slow_channel)
            .iter()
            .any(|text| text.contains("Severity changed"))
    })
    .await;
}
