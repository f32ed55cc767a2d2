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
    let said = app.memory.posted_texts(&lobby);
    assert!(
        said[0].contains("declare") && said[0].contains("severity"),
        "help lists commands: {}",
        said[0]
    );
    assert!(said[1].contains("not an incident"), "{}", said[1]);
    assert!(
        said[2].contains("declare"),
        "usage for declare: {}",
        said[2]
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
