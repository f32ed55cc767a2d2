//! A whole incident, declared through the API and driven from chat.

use crate::support::{chat_command, event_id, wait_for, wait_until, TestApp, TestDatabase};
use firebreak_adapters::memory::Call;
use serde_json::json;

#[tokio::test]
async fn declared_incident_gets_a_conversation_a_headline_and_a_timeline_of_every_change() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;

    let incident = app
        .declare(json!({ "title": "Payments failing", "severity": 2 }))
        .await;
    let id = incident["id"].as_i64().expect("id");
    assert_eq!(incident["reference"], format!("INC-{id}"));
    assert_eq!(incident["status"], "triage");
    assert_eq!(incident["severity_name"], "major");

    let conversation = app.conversation_of(id).await;
    let created = app.memory.calls().into_iter().find_map(|call| match call {
        Call::CreateConversation { spec, created } if created == conversation => Some(spec),
        _ => None,
    });
    assert_eq!(
        created.map(|spec| spec.name),
        Some(format!("inc-{id}-payments-failing"))
    );
    wait_until("the headline is posted", || async {
        app.headline("Payments failing").is_some()
    })
    .await;
    let brief = app.memory.posted_texts(&conversation);
    assert!(
        brief[0].contains(&format!("INC-{id}: Payments failing")),
        "brief: {brief:?}"
    );

    for (text, user) in [
        ("severity 1", "bo"),
        ("lead @ana", "bo"),
        ("status investigating", "ana"),
        ("status mitigated", "ana"),
    ] {
        app.inject(&chat_command(&event_id(), &conversation.id, user, text))
            .await;
    }
    wait_until("all four commands are applied", || async {
        app.incident(id).await["status"] == "mitigated"
    })
    .await;

    let incident = app.incident(id).await;
    assert_eq!(incident["severity"], 1);
    assert_eq!(incident["lead"]["id"], "ana");
    assert!(incident["acknowledged_at"].is_string());
    assert!(incident["mitigated_at"].is_string());

    let headline = app
        .headline("Payments failing")
        .expect("headline")
        .to_plain();
    assert!(headline.contains("Status: mitigated"), "{headline}");
    assert!(headline.contains("Severity: 1 (critical)"), "{headline}");
    assert!(headline.contains("Lead: @ana"), "{headline}");
    assert!(!headline.contains("[I'll lead]"), "{headline}");

    let timeline = app.timeline_texts(id).await;
    let changes: Vec<&str> = timeline
        .iter()
        .map(String::as_str)
        .filter(|text| {
            !text.starts_with("Conversation")
                && !text.starts_with("Announcement")
                && !text.contains("duties")
        })
        .collect();
    assert_eq!(
        changes,
        [
            "Declared: Payments failing (severity 2 (major))",
            "Severity changed from 2 (major) to 1 (critical)",
            "Lead set to ana",
            "Status changed from triage to investigating",
            "Status changed from investigating to mitigated",
        ]
    );

    // The brief is pinned, and the topic follows severity, status and lead.
    let calls = app.memory.calls();
    assert!(
        calls.iter().any(
            |call| matches!(call, Call::Pin { message } if message.conversation == conversation)
        ),
        "the brief is pinned"
    );
    let topic = calls.iter().rev().find_map(|call| match call {
        Call::SetTopic {
            conversation: c,
            topic,
        } if *c == conversation => Some(topic.clone()),
        _ => None,
    });
    assert_eq!(
        topic.as_deref(),
        Some(format!("INC-{id} · Sev 1 (critical) · mitigated · Lead: ana").as_str())
    );

    // Each change is announced in the incident conversation, by whom (a
    // paragraph each; changes applied together share one post).
    let said_lines = || {
        app.memory
            .posted_texts(&conversation)
            .iter()
            .flat_map(|text| text.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect::<Vec<String>>()
    };
    wait_until("the last change is announced", || async {
        said_lines()
            .iter()
            .any(|line| line == "@ana: Status changed from investigating to mitigated")
    })
    .await;
    let said = said_lines();
    assert!(
        said.iter()
            .any(|line| line == "@bo: Severity changed from 2 (major) to 1 (critical)"),
        "{said:?}"
    );
}

#[tokio::test]
async fn rejected_and_unknown_chat_commands_are_answered_in_chat_and_change_nothing() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Search slow" })).await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;

    app.inject(&chat_command(&event_id(), &conversation.id, "bo", "close"))
        .await;
    app.inject(&chat_command(
        &event_id(),
        &conversation.id,
        "bo",
        "frobnicate",
    ))
    .await;
    app.inject(&chat_command(
        &event_id(),
        &conversation.id,
        "bo",
        "status investigating",
    ))
    .await;
    app.inject(&chat_command(&event_id(), &conversation.id, "bo", "close"))
        .await;
    wait_until("all are answered", || async {
        app.memory.posted_texts(&conversation).len() >= 5
    })
    .await;

    let said = app.memory.posted_texts(&conversation);
    assert!(
        said.iter().any(|text| text.contains("still in triage")),
        "closing from triage is refused with the reason: {said:?}"
    );
    assert!(
        said.iter().any(|text| text.contains("no lead")),
        "closing without a lead is refused with the reason: {said:?}"
    );
    assert!(
        said.iter()
            .any(|text| text.contains("frobnicate") && text.contains("help")),
        "an unknown command gets help: {said:?}"
    );
    let incident = app.incident(id).await;
    assert_eq!(
        incident["status"], "investigating",
        "only the valid command changed it"
    );
    let changes = app
        .timeline_texts(id)
        .await
        .into_iter()
        .filter(|text| {
            text.starts_with("Status") || text.starts_with("Closed") || text.starts_with("Lead")
        })
        .count();
    assert_eq!(changes, 1, "only `status investigating` changed anything");
}

#[tokio::test]
async fn an_incident_runs_to_closed_and_then_refuses_changes() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app
        .declare(json!({ "title": "DNS outage", "lead": "@ana" }))
        .await["id"]
        .as_i64()
        .expect("id");

    for text in [
        "status investigating",
        "summary Resolver pool exhausted",
        "action Add resolver capacity alerts",
        "status resolved",
        "close",
    ] {
        let (status, body) = app.command(id, text).await;
        assert_eq!(status, 200, "{text}: {body}");
    }
    let incident = app.incident(id).await;
    assert_eq!(incident["status"], "closed");
    assert!(incident["closed_at"].is_string());
    assert_eq!(incident["summary"], "Resolver pool exhausted");
    assert_eq!(
        incident["actions"][0]["text"],
        "Add resolver capacity alerts"
    );

    let (status, body) = app.command(id, "severity 1").await;
    assert_eq!(status, 409);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|error| error.contains("closed")),
        "{body}"
    );

    // Questions still get answers after closing.
    let (status, body) = app.command(id, "actions").await;
    assert_eq!(status, 200);
    assert!(
        body["reply"]
            .as_str()
            .is_some_and(|reply| reply.contains("Add resolver capacity alerts")),
        "{body}"
    );
}

#[tokio::test]
async fn declaring_in_the_announcement_conversation_opens_an_incident() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;

    app.inject(&chat_command(
        &event_id(),
        "announce",
        "bo",
        "declare Checkout errors spiking",
    ))
    .await;
    let id = wait_for("the incident exists", || async {
        app.get_json("/api/v1/incidents").await["incidents"][0]["id"].as_i64()
    })
    .await;
    let incident = app.incident(id).await;
    assert_eq!(incident["title"], "Checkout errors spiking");
    assert_eq!(incident["reporter"]["id"], "bo");
    assert_eq!(incident["platform"], "memory");
    app.conversation_of(incident["id"].as_i64().expect("id"))
        .await;
}

#[tokio::test]
async fn pinned_and_pushpin_reacted_messages_join_the_timeline() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Queue backlog" })).await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    let message = |message_id: &str| json!({ "conversation": { "platform": "memory", "id": conversation.id }, "id": message_id });

    app.inject(&json!({
        "platform": "memory", "event_id": event_id(), "type": "reaction_added",
        "user": { "platform": "memory", "id": "bo" }, "message": message("m-100"),
        "reaction": "pushpin", "text": "Consumers restarted at 10:02",
    }))
    .await;
    app.inject(&json!({
        "platform": "memory", "event_id": event_id(), "type": "reaction_added",
        "user": { "platform": "memory", "id": "bo" }, "message": message("m-101"),
        "reaction": "thumbsup", "text": "not for the timeline",
    }))
    .await;
    app.inject(&json!({
        "platform": "memory", "event_id": event_id(), "type": "message_pinned",
        "user": { "platform": "memory", "id": "ana" }, "message": message("m-102"),
        "text": "Backlog draining",
    }))
    .await;
    wait_until("both pins are on the timeline", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .filter(|text| text.starts_with("Pinned"))
            .count()
            == 2
    })
    .await;
    let timeline = app.timeline_texts(id).await.join("\n");
    assert!(
        timeline.contains("Consumers restarted at 10:02"),
        "{timeline}"
    );
    assert!(timeline.contains("Backlog draining"), "{timeline}");
    assert!(!timeline.contains("not for the timeline"), "{timeline}");
}

#[tokio::test]
async fn the_headline_button_makes_the_presser_lead() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Login broken" })).await["id"]
        .as_i64()
        .expect("id");
    wait_until("the headline is posted", || async {
        app.headline("Login broken").is_some()
    })
    .await;
    let button = app
        .headline("Login broken")
        .expect("headline")
        .buttons
        .into_iter()
        .find(|button| button.action_id == firebreak_actors::render::actions::CLAIM_LEAD)
        .expect("an I'll lead button");

    app.inject(&json!({
        "platform": "memory", "event_id": event_id(), "type": "button_pressed",
        "conversation": { "platform": "memory", "id": "announce" },
        "user": { "platform": "memory", "id": "cy", "name": "Cy" },
        "action_id": button.action_id, "value": button.value,
    }))
    .await;
    wait_until("cy leads", || async {
        app.incident(id).await["lead"]["id"] == "cy"
    })
    .await;
    wait_until("the headline shows it", || async {
        app.headline("Login broken")
            .is_some_and(|headline| headline.to_plain().contains("Lead: @Cy"))
    })
    .await;
}

#[tokio::test]
async fn a_platform_failure_is_recorded_on_the_timeline_not_lost() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    app.memory
        .fail_next(firebreak_adapters::AdapterError::Unavailable(
            "platform down".into(),
        ));
    let id = app.declare(json!({ "title": "Cache stampede" })).await["id"]
        .as_i64()
        .expect("id");
    wait_until("the failure is on the timeline", || async {
        app.timeline_texts(id).await.iter().any(|text| {
            text.contains("create the incident conversation") && text.contains("platform down")
        })
    })
    .await;
}

#[tokio::test]
async fn what_a_platform_cannot_do_is_not_reported_as_a_failure() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    app.memory
        .fail_next(firebreak_adapters::AdapterError::Unsupported(
            "no conversations here",
        ));
    let id = app.declare(json!({ "title": "Queue backlog" })).await["id"]
        .as_i64()
        .expect("id");
    wait_until("the headline is posted all the same", || async {
        app.headline("Queue backlog").is_some()
    })
    .await;
    let timeline = app.timeline_texts(id).await;
    assert!(
        !timeline.iter().any(|text| text.contains("not supported")),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn keywords_in_an_incident_conversation_get_their_reply() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn_with(&database, |settings| {
        settings.keywords.insert(
            "statuspage".into(),
            "Update the status page at https://status.example.test".into(),
        );
    })
    .await;
    let id = app.declare(json!({ "title": "Widget outage" })).await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    let message = |id: &str, text: &str| {
        json!({
            "platform": "memory", "event_id": id, "type": "message",
            "conversation": { "platform": "memory", "id": conversation.id },
            "user": { "platform": "memory", "id": "bo" },
            "message": { "conversation": { "platform": "memory", "id": conversation.id }, "id": id },
            "text": text,
        })
    };
    app.inject(&message(&event_id(), "nothing to see")).await;
    app.inject(&message(&event_id(), "who updates the StatusPage?"))
        .await;
    wait_until("the keyword is answered", || async {
        app.memory
            .posted_texts(&conversation)
            .iter()
            .any(|text| text == "Update the status page at https://status.example.test")
    })
    .await;
    let replies = app
        .memory
        .posted_texts(&conversation)
        .iter()
        .filter(|text| text.contains("status page"))
        .count();
    assert_eq!(replies, 1);
}

#[tokio::test]
async fn a_private_incident_gets_a_private_conversation_and_no_public_headline() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app
        .declare(json!({ "title": "Suspected breach", "private": true }))
        .await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    let spec = app.memory.calls().into_iter().find_map(|call| match call {
        Call::CreateConversation { spec, created } if created == conversation => Some(spec),
        _ => None,
    });
    assert_eq!(spec.map(|spec| spec.private), Some(true));
    // A command is handled only after the actor's start-up reconciliation,
    // so by its answer any headline would have been posted.
    assert_eq!(app.command(id, "note checked").await.0, 200);
    assert!(app.headline("Suspected breach").is_none());
}

/// Presses a headline button of the incident titled `title`.
async fn press(app: &TestApp, title: &str, action_id: &str, user: &str) {
    let button = app
        .headline(title)
        .expect("headline")
        .buttons
        .into_iter()
        .find(|button| button.action_id == action_id)
        .expect("the button is on the headline");
    app.inject(&json!({
        "platform": "memory", "event_id": event_id(), "type": "button_pressed",
        "conversation": { "platform": "memory", "id": "announce" },
        "user": { "platform": "memory", "id": user },
        "action_id": button.action_id, "value": button.value, "trigger": "trigger-1",
    }))
    .await;
}

#[tokio::test]
async fn the_headline_close_button_closes_and_refusals_go_to_the_incident_channel() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app.declare(json!({ "title": "Batch late" })).await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    assert_eq!(app.command(id, "status investigating").await.0, 200);
    wait_until("the headline is posted", || async {
        app.headline("Batch late").is_some()
    })
    .await;

    press(
        &app,
        "Batch late",
        firebreak_actors::render::actions::CLOSE,
        "bo",
    )
    .await;
    wait_until("the refusal is said in the incident channel", || async {
        app.memory
            .posted_texts(&conversation)
            .iter()
            .any(|text| text.contains("no lead"))
    })
    .await;
    assert!(!app
        .memory
        .posted_texts(&firebreak_adapters::ConversationRef::new(
            firebreak_adapters::Platform::Memory,
            "announce"
        ))
        .iter()
        .any(|text| text.contains("no lead")));

    assert_eq!(app.command(id, "lead @ana").await.0, 200);
    press(
        &app,
        "Batch late",
        firebreak_actors::render::actions::CLOSE,
        "ana",
    )
    .await;
    wait_until("it is closed", || async {
        app.incident(id).await["status"] == "closed"
    })
    .await;
    wait_until("the headline drops its buttons", || async {
        app.headline("Batch late")
            .is_some_and(|headline| headline.buttons.iter().all(|button| button.url.is_some()))
    })
    .await;
}

#[tokio::test]
async fn the_edit_button_opens_a_filled_form_and_its_answers_change_the_incident_at_once() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app
        .declare(json!({ "title": "Slow pages", "summary": "p99 up", "severity": 3 }))
        .await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    wait_until("the headline is posted", || async {
        app.headline("Slow pages").is_some()
    })
    .await;

    press(
        &app,
        "Slow pages",
        firebreak_actors::render::actions::EDIT,
        "bo",
    )
    .await;
    let form = crate::support::wait_for("the form opens", || async {
        app.memory.calls().into_iter().find_map(|call| match call {
            Call::OpenForm { form, .. } => Some(form),
            _ => None,
        })
    })
    .await;
    assert_eq!(form.id, format!("incident.edit:{id}"));
    let initial: Vec<Option<String>> = form
        .inputs
        .iter()
        .map(|input| input.initial.clone())
        .collect();
    assert_eq!(
        initial,
        [
            Some("Slow pages".into()),
            Some("p99 up".into()),
            None,
            Some("3".into())
        ]
    );

    app.inject(&json!({
        "platform": "memory", "event_id": event_id(), "type": "form_submitted",
        "user": { "platform": "memory", "id": "bo" }, "form_id": form.id,
        "values": { "title": "Slow checkout pages", "summary": "p99 up", "severity": "2" },
    }))
    .await;
    wait_until("both changes are applied", || async {
        let incident = app.incident(id).await;
        incident["title"] == "Slow checkout pages" && incident["severity"] == 2
    })
    .await;
    let timeline = app.timeline_texts(id).await;
    assert!(
        !timeline.iter().any(|text| text.starts_with("Summary")),
        "the unchanged summary is not rewritten"
    );
    assert!(app.memory.calls().iter().any(|call| matches!(
        call,
        Call::Rename { conversation: c, name } if *c == conversation && name == &format!("inc-{id}-slow-checkout-pages")
    )));
}
