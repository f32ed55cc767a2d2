//! Chat outside incident conversations.

use crate::support::{chat_command, event_id, wait_until, TestApp, TestDatabase};
use firebreak_adapters::{ConversationRef, Platform};

#[tokio::test]
async fn help_and_stray_commands_outside_incidents_are_answered() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let lobby = ConversationRef::new(Platform::Memory, "lobby");

    app.inject(&chat_command(&event_id(), "lobby", "bo", "help"))
        .await;
    app.inject(&chat_command(&event_id(), "lobby", "bo", "severity 1"))
        .await;
    app.inject(&chat_command(&event_id(), "lobby", "bo", "declare"))
        .await;
    wait_until("three answers", || async {
        app.memory.posted_texts(&lobby).len() == 3
    })
    .await;
    // Outside incidents there is no per-conversation order to keep: each
    // answer is checked on its own.
    let said = app.memory.posted_texts(&lobby);
    assert!(
        said.iter()
            .any(|text| text.contains("declare <title>") && text.contains("severity")),
        "help lists the commands: {said:?}"
    );
    assert!(
        said.iter().any(|text| text.contains("not an incident")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|text| text.contains("declare")
            && !text.contains("severity")
            && !text.contains("not an incident")),
        "usage for a bare declare: {said:?}"
    );
}

#[tokio::test]
async fn joining_an_incident_conversation_brings_a_welcome_and_the_brief() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app
        .declare(serde_json::json!({ "title": "Cert expired" }))
        .await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    app.inject(&serde_json::json!({
        "platform": "memory", "event_id": event_id(), "type": "user_joined",
        "conversation": { "platform": "memory", "id": conversation.id },
        "user": { "platform": "memory", "id": "dee", "name": "Dee" },
    }))
    .await;
    wait_until("Dee is welcomed", || async {
        app.memory
            .posted_texts(&conversation)
            .iter()
            .any(|text| text.contains("Welcome, @Dee"))
    })
    .await;
}

#[tokio::test]
async fn submitting_the_declare_form_declares_with_everything_it_asked() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    app.inject(&serde_json::json!({
        "platform": "memory", "event_id": event_id(), "type": "form_submitted",
        "user": { "platform": "memory", "id": "bo" },
        "form_id": firebreak_actors::engine::DECLARE_FORM,
        "values": {
            "title": "Ledger mismatch", "summary": "Balances disagree", "impact": "Finance reports",
            "severity": "1", "lead": "ana", "private": "true",
        },
    }))
    .await;
    let id = crate::support::wait_for("the incident exists", || async {
        app.get_json("/api/v1/incidents").await["incidents"][0]["id"].as_i64()
    })
    .await;
    let incident = app.incident(id).await;
    assert_eq!(incident["title"], "Ledger mismatch");
    assert_eq!(incident["summary"], "Balances disagree");
    assert_eq!(incident["impact"], "Finance reports");
    assert_eq!(incident["severity"], 1);
    assert_eq!(incident["lead"]["id"], "ana");
    assert_eq!(incident["private"], true);
    assert_eq!(incident["reporter"]["id"], "bo");
}

#[tokio::test]
async fn the_declare_form_asks_for_every_field_and_prefills_what_was_typed() {
    let form = firebreak_actors::render::declare_form(
        &firebreak_actors::incident::Policy::default(),
        Some("Checkout down"),
        Some("from a message"),
    );
    let ids: Vec<&str> = form.inputs.iter().map(|input| input.id.as_str()).collect();
    assert_eq!(
        ids,
        ["title", "summary", "impact", "severity", "lead", "private"]
    );
    assert_eq!(form.inputs[0].initial.as_deref(), Some("Checkout down"));
    assert_eq!(form.inputs[1].initial.as_deref(), Some("from a message"));
    assert_eq!(form.id, firebreak_actors::engine::DECLARE_FORM);
}
