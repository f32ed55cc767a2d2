//! Duties and reminders end to end, on a manual clock: nothing here waits
//! for real minutes.

use crate::support::{wait_until, TestApp, TestDatabase};
use chrono::{Duration, Utc};
use firebreak::config::{Secret, SeveritySettings, TargetSettings};
use firebreak_actors::clock::ManualClock;
use firebreak_actors::store::Store;
use serde_json::{json, Value};
use std::sync::Arc;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A fake PagerDuty Events API v2.
async fn pagerduty() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "status": "success", "message": "Event processed", "dedup_key": "srv01/HTTP"
        })))
        .mount(&server)
        .await;
    server
}

async fn pages(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|request| serde_json::from_slice(&request.body).unwrap_or(Value::Null))
        .collect()
}

/// Severity 1 pages `exec-oncall` (PagerDuty at `pagerduty`) and tells
/// the `exec` conversation.
fn paging_to(pagerduty: &MockServer) -> impl FnOnce(&mut firebreak::config::Settings) {
    let base = pagerduty.uri();
    move |settings| {
        settings.escalation.targets.insert(
            "exec-oncall".into(),
            TargetSettings {
                kind: "pagerduty".into(),
                routing_key: Some(Secret::new("R0UTINGKEY0123456789012345678901")),
                api_base_url: Some(base),
                ..TargetSettings::default()
            },
        );
        settings.severity.insert(
            "1".into(),
            SeveritySettings {
                page: Some(vec!["exec-oncall".into()]),
                notify: Some(vec!["exec".into()]),
                ..SeveritySettings::default()
            },
        );
    }
}

async fn reminders_sent(app: &TestApp, id: i64, about: &str) -> usize {
    app.timeline_texts(id)
        .await
        .iter()
        .filter(|text| text.starts_with("Reminder: ") && text.contains(about))
        .count()
}

#[tokio::test]
async fn the_no_lead_reminder_fires_when_due_and_lead_cancels_it() {
    let database = TestDatabase::new().await;
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |_| {}).await;
    let id = app.declare(json!({ "title": "Nobody home" })).await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;

    clock.advance(Duration::minutes(5));
    wait_until("the timers are pending", || async {
        let metrics = app.get("/metrics").await.text().await.unwrap_or_default();
        metrics
            .lines()
            .any(|line| line.starts_with("firebreak_pending_timers ") && !line.ends_with(" 0"))
    })
    .await;
    wait_until("the no-lead reminder is posted", || async {
        app.memory
            .posted_texts(&conversation)
            .iter()
            .any(|text| text.contains("no lead yet"))
    })
    .await;

    assert_eq!(app.command(id, "lead @ana").await.0, 200);
    // A later reminder is the barrier: the wheel fires in due order, so by
    // the time it shows, a surviving no-lead reminder would have too.
    assert_eq!(app.command(id, "remind 30m check the queue").await.0, 200);
    clock.advance(Duration::minutes(30));
    wait_until("the custom reminder fires", || async {
        app.memory
            .posted_texts(&conversation)
            .iter()
            .any(|text| text.contains("Reminder: check the queue"))
    })
    .await;
    let nags = app
        .memory
        .posted_texts(&conversation)
        .iter()
        .filter(|text| text.contains("no lead yet"))
        .count();
    assert_eq!(nags, 1, "assigning a lead cancelled the no-lead reminder");
}

#[tokio::test]
async fn raising_to_severity_one_pages_once_and_resolving_resolves_the_page() {
    let database = TestDatabase::new().await;
    let pager = pagerduty().await;
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), paging_to(&pager)).await;
    let id = app
        .declare(json!({ "title": "Core banking down", "severity": 2, "lead": "ana" }))
        .await["id"]
        .as_i64()
        .expect("id");
    app.conversation_of(id).await;

    for text in ["sev 1", "sev 2", "sev 1"] {
        assert_eq!(app.command(id, text).await.0, 200, "{text}");
    }
    wait_until("the page is recorded", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.contains("exec-oncall"))
    })
    .await;
    let exec =
        firebreak_adapters::ConversationRef::new(firebreak_adapters::Platform::Memory, "exec");
    let told = app.memory.posted_texts(&exec);
    assert_eq!(
        told.len(),
        1,
        "the exec conversation is told once: {told:?}"
    );
    assert!(
        told[0].contains(&format!("INC-{id} is severity 1 (critical)")),
        "{told:?}"
    );

    assert_eq!(app.command(id, "status resolved").await.0, 200);
    wait_until("the page is resolved", || async {
        pages(&pager).await.len() == 2
    })
    .await;
    let sent = pages(&pager).await;
    assert_eq!(sent[0]["event_action"], "trigger");
    assert_eq!(sent[0]["payload"]["severity"], "critical");
    assert_eq!(sent[1]["event_action"], "resolve");
    assert_eq!(sent[0]["dedup_key"], format!("INC-{id}"));
    assert_eq!(sent[1]["dedup_key"], sent[0]["dedup_key"]);
    assert_eq!(sent[0]["routing_key"], "R0UTINGKEY0123456789012345678901");
}

#[tokio::test]
async fn update_cadence_nags_is_reset_by_an_update_and_escalates_after_two_misses() {
    let database = TestDatabase::new().await;
    let pager = pagerduty().await;
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), paging_to(&pager)).await;
    let id = app
        .declare(json!({ "title": "Payments down", "severity": 1, "lead": "ana" }))
        .await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    assert_eq!(app.command(id, "role comms @bo").await.0, 200);
    wait_until("the declaration paged", || async {
        pages(&pager).await.len() == 1
    })
    .await;

    clock.advance(Duration::minutes(15));
    wait_until("the first update reminder", || async {
        reminders_sent(&app, id, "update").await == 1
    })
    .await;
    assert!(
        app.memory
            .posted_texts(&conversation)
            .iter()
            .any(|text| text.contains("@ana")),
        "the lead is named"
    );

    let (status, body) = app
        .command(id, "update Card auths recovering, watching error rate")
        .await;
    assert_eq!(status, 200, "{body}");
    clock.advance(Duration::minutes(15));
    wait_until("a fresh first reminder", || async {
        reminders_sent(&app, id, "update").await == 2
    })
    .await;
    assert_eq!(
        pages(&pager).await.len(),
        1,
        "one missed update does not escalate"
    );

    clock.advance(Duration::minutes(15));
    wait_until("the second miss escalates", || async {
        pages(&pager).await.len() == 2
    })
    .await;
    let escalation = &pages(&pager).await[1];
    assert_eq!(escalation["event_action"], "trigger");
    assert!(
        escalation["payload"]["summary"]
            .as_str()
            .is_some_and(|summary| summary.contains("missed")),
        "{escalation}"
    );
    let timeline = app.timeline_texts(id).await.join("\n");
    assert!(
        timeline.contains("Update: Card auths recovering"),
        "{timeline}"
    );
    // The update also went under the headline, as a thread reply.
    let under_headline = app.memory.calls().into_iter().any(|call| match call {
        firebreak_adapters::memory::Call::Reply {
            parent, message, ..
        } => {
            parent.conversation.id == "announce"
                && message.to_plain().contains("Card auths recovering")
        }
        _ => false,
    });
    assert!(under_headline);
}

#[tokio::test]
async fn after_a_restart_overdue_timers_fire_once_and_the_rest_stay_pending() {
    let database = TestDatabase::new().await;
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |_| {}).await;
    let id = app.declare(json!({ "title": "Overnight" })).await["id"]
        .as_i64()
        .expect("id");
    app.conversation_of(id).await;
    assert_eq!(
        app.command(id, "remind 3h look at the dashboards").await.0,
        200
    );
    app.stop();

    // Down for ten minutes: the no-lead reminder (5 min) fell due meanwhile.
    clock.advance(Duration::minutes(10));
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |_| {}).await;
    wait_until("the overdue reminder fires at start-up", || async {
        reminders_sent(&app, id, "lead").await == 1
    })
    .await;
    app.stop();

    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |_| {}).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    // A command goes through the actor after its start-up, so any repeat
    // would be on the timeline by its answer.
    assert_eq!(app.command(id, "note still here").await.0, 200);
    assert_eq!(reminders_sent(&app, id, "lead").await, 1, "not fired twice");

    let store = Store::connect(&database.url()).await.expect("connect");
    let pending: Vec<String> = store
        .pending_timers()
        .await
        .expect("timers")
        .into_iter()
        .filter(|(incident, _)| incident.0 == id)
        .map(|(_, timer)| timer.reminder)
        .collect();
    assert!(
        pending
            .iter()
            .any(|reminder| reminder.starts_with("custom")),
        "{pending:?}"
    );
    assert!(
        pending.iter().any(|reminder| reminder == "no_lead"),
        "it nags again later: {pending:?}"
    );

    // Closing clears every timer of the incident.
    for text in ["lead @ana", "status resolved", "close"] {
        assert_eq!(app.command(id, text).await.0, 200, "{text}");
    }
    let left = store
        .pending_timers()
        .await
        .expect("timers")
        .into_iter()
        .filter(|(incident, _)| incident.0 == id)
        .count();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn statuspage_opens_a_public_incident_then_updates_it() {
    let database = TestDatabase::new().await;
    let statuspage = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/pages/pg0/incidents"))
        .and(wiremock::matchers::header("authorization", "OAuth sp-key"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "sp123", "name": "Checkout errors", "status": "investigating", "shortlink": "http://stspg.io/abc"
        })))
        .expect(1)
        .mount(&statuspage)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/pages/pg0/incidents/sp123"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "sp123", "status": "monitoring" })),
        )
        .expect(1)
        .mount(&statuspage)
        .await;
    let base = statuspage.uri();
    let app = TestApp::spawn_with(&database, move |settings| {
        settings.statuspage = Some(firebreak::config::StatusPageSettings {
            api_base_url: base,
            page_id: "pg0".into(),
            api_key: Secret::new("sp-key"),
        });
    })
    .await;
    let id = app.declare(json!({ "title": "Checkout errors" })).await["id"]
        .as_i64()
        .expect("id");
    for text in [
        "statuspage investigating We are looking into checkout errors",
        "statuspage monitoring A fix is out",
    ] {
        let (status, body) = app.command(id, text).await;
        assert_eq!(status, 200, "{text}: {body}");
    }
    let timeline = app.timeline_texts(id).await.join("\n");
    assert!(
        timeline.contains("Status page incident opened: http://stspg.io/abc"),
        "{timeline}"
    );
    assert!(
        timeline.contains("Status page: monitoring: A fix is out"),
        "{timeline}"
    );
    assert!(!timeline.contains("Failed"), "{timeline}");
    let (status, body) = app.command(id, "statuspage fixed soon").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_reminder_can_be_dismissed_from_its_own_button() {
    let database = TestDatabase::new().await;
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |_| {}).await;
    let id = app.declare(json!({ "title": "Quiet please" })).await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    clock.advance(Duration::minutes(5));
    let reminder = crate::support::wait_for("the reminder is posted", || async {
        app.memory.calls().into_iter().find_map(|call| match call {
            firebreak_adapters::memory::Call::Post {
                conversation: c,
                message,
                ..
            } if c == conversation && message.to_plain().contains("no lead yet") => Some(message),
            _ => None,
        })
    })
    .await;
    let dismiss = reminder
        .buttons
        .iter()
        .find(|button| button.action_id == firebreak_actors::render::actions::DISMISS)
        .expect("a Dismiss button");
    app.inject(&json!({
        "platform": "memory", "event_id": crate::support::event_id(), "type": "button_pressed",
        "conversation": { "platform": "memory", "id": conversation.id },
        "user": { "platform": "memory", "id": "bo" },
        "action_id": dismiss.action_id, "value": dismiss.value,
    }))
    .await;
    wait_until("the dismissal is recorded", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.starts_with("Reminder dismissed"))
    })
    .await;
    // Nothing nags about the lead any more, however long it stays empty.
    assert_eq!(app.command(id, "remind 1h barrier").await.0, 200);
    clock.advance(Duration::hours(1));
    wait_until("the barrier fires", || async {
        app.memory
            .posted_texts(&conversation)
            .iter()
            .any(|text| text.contains("Reminder: barrier"))
    })
    .await;
    assert_eq!(reminders_sent(&app, id, "lead").await, 1);
}

#[tokio::test]
async fn workflow_rules_run_once_when_their_trigger_first_holds() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn_with(&database, |settings| {
        let rule = |name: &str, when: &str, notify: &[&str], checklist: &[&str]| {
            firebreak::config::WorkflowSettings {
                name: name.into(),
                when: when.into(),
                notify: notify.iter().map(|s| s.to_string()).collect(),
                page: vec![],
                checklist: checklist.iter().map(|s| s.to_string()).collect(),
            }
        };
        settings.workflows = vec![
            rule("kickoff", "declared", &[], &["Open the dashboards"]),
            rule(
                "mitigation-review",
                "status:mitigated",
                &["reviews"],
                &["Confirm the fix holds"],
            ),
        ];
    })
    .await;
    let id = app
        .declare(json!({ "title": "Flapping", "lead": "ana" }))
        .await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    wait_until("the kickoff checklist is posted", || async {
        app.memory
            .posted_texts(&conversation)
            .iter()
            .any(|text| text.contains("☐ Open the dashboards"))
    })
    .await;

    for text in ["status mitigated", "reopen", "status mitigated"] {
        assert_eq!(app.command(id, text).await.0, 200, "{text}");
    }
    let reviews =
        firebreak_adapters::ConversationRef::new(firebreak_adapters::Platform::Memory, "reviews");
    assert_eq!(
        app.memory.posted_texts(&reviews).len(),
        1,
        "told once, though mitigated twice"
    );
    let checklists = app
        .memory
        .posted_texts(&conversation)
        .iter()
        .filter(|text| text.contains("☐ Confirm the fix holds"))
        .count();
    assert_eq!(checklists, 1);
    let ran: Vec<String> = app
        .timeline_texts(id)
        .await
        .into_iter()
        .filter(|text| text.starts_with("Workflow"))
        .collect();
    assert_eq!(
        ran,
        ["Workflow kickoff ran", "Workflow mitigation-review ran"]
    );
}

#[tokio::test]
async fn where_configured_the_lead_speaking_resets_the_update_reminder() {
    let database = TestDatabase::new().await;
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |settings| {
        settings.reminders.lead_message_counts_as_update = true;
    })
    .await;
    // Severity 2: an update every 30 minutes.
    let id = app
        .declare(json!({ "title": "Chatty lead", "severity": 2, "lead": "ana" }))
        .await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;

    clock.advance(Duration::minutes(20));
    let said = |user: &str, text: &str| {
        let id = crate::support::event_id();
        json!({
            "platform": "memory", "event_id": id, "type": "message",
            "conversation": { "platform": "memory", "id": conversation.id },
            "user": { "platform": "memory", "id": user },
            "message": { "conversation": { "platform": "memory", "id": conversation.id }, "id": id },
            "text": text,
        })
    };
    app.inject(&said("bo", "anyone looking at the db?")).await;
    app.inject(&said("ana", "yes, failing over the primary now"))
        .await;
    wait_until("the lead's message counts", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text.starts_with("The lead spoke"))
    })
    .await;

    // Due at 30m without it; now at 50m. A reminder at 45m is the barrier.
    assert_eq!(app.command(id, "remind 25m barrier").await.0, 200);
    clock.advance(Duration::minutes(25));
    wait_until("the barrier fires", || async {
        app.memory
            .posted_texts(&conversation)
            .iter()
            .any(|text| text.contains("Reminder: barrier"))
    })
    .await;
    assert_eq!(reminders_sent(&app, id, "update").await, 0);
    clock.advance(Duration::minutes(5));
    wait_until("the update reminder comes at 50m", || async {
        reminders_sent(&app, id, "update").await == 1
    })
    .await;
    let spoke = app
        .timeline_texts(id)
        .await
        .iter()
        .filter(|text| text.starts_with("The lead spoke"))
        .count();
    assert_eq!(spoke, 1, "only the lead's message counted");
}

#[tokio::test]
async fn a_role_left_unfilled_for_its_time_runs_its_workflow() {
    let database = TestDatabase::new().await;
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |settings| {
        settings.workflows = vec![firebreak::config::WorkflowSettings {
            name: "find-comms".into(),
            when: "role_unfilled:comms:10m".into(),
            notify: vec!["staffing".into()],
            page: vec![],
            checklist: vec![],
        }];
    })
    .await;
    let unstaffed = app.declare(json!({ "title": "No comms" })).await["id"]
        .as_i64()
        .expect("id");
    let staffed = app.declare(json!({ "title": "Has comms" })).await["id"]
        .as_i64()
        .expect("id");
    app.conversation_of(unstaffed).await;
    app.conversation_of(staffed).await;
    assert_eq!(app.command(staffed, "role comms @bo").await.0, 200);

    clock.advance(Duration::minutes(10));
    wait_until("the workflow runs for the unstaffed incident", || async {
        app.timeline_texts(unstaffed)
            .await
            .iter()
            .any(|text| text == "Workflow find-comms ran")
    })
    .await;
    let staffing =
        firebreak_adapters::ConversationRef::new(firebreak_adapters::Platform::Memory, "staffing");
    let told = app.memory.posted_texts(&staffing);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains(&format!("INC-{unstaffed}")), "{told:?}");
    assert!(!app
        .timeline_texts(staffed)
        .await
        .iter()
        .any(|text| text.starts_with("Workflow")));
}

#[tokio::test]
async fn a_closed_incident_brings_up_its_open_follow_ups_weekly_even_across_restarts() {
    let database = TestDatabase::new().await;
    let clock = ManualClock::new(Utc::now());
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |_| {}).await;
    let id = app
        .declare(json!({ "title": "Cache outage", "lead": "ana" }))
        .await["id"]
        .as_i64()
        .expect("id");
    let conversation = app.conversation_of(id).await;
    for text in [
        "action Add cache hit-rate alert",
        "action Write the runbook",
        "done 1",
        "status resolved",
        "close",
    ] {
        let (status, body) = app.command(id, text).await;
        assert_eq!(status, 200, "{text}: {body}");
    }
    app.stop();

    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), |_| {}).await;
    clock.advance(Duration::days(7));
    wait_until("the digest is recorded", || async {
        app.timeline_texts(id)
            .await
            .iter()
            .any(|text| text == "Open follow-up actions brought up")
    })
    .await;
    let digest = app
        .memory
        .posted_texts(&conversation)
        .into_iter()
        .find(|text| text.starts_with(&format!("Open follow-up actions of INC-{id}")))
        .expect("the digest is posted in the incident conversation");
    assert!(digest.contains("2. Write the runbook"), "{digest}");
    assert!(
        !digest.contains("cache hit-rate"),
        "done actions are left out: {digest}"
    );

    // Follow-ups get done after closing; then there is nothing to bring up.
    let (status, body) = app.command(id, "done 2").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.command(id, "done 2").await;
    assert_eq!(status, 409, "already done");
    let store = Store::connect(&database.url()).await.expect("connect");
    let pending = store
        .pending_timers()
        .await
        .expect("timers")
        .into_iter()
        .filter(|(incident, _)| incident.0 == id)
        .count();
    assert_eq!(pending, 0);
    let detail = app.incident(id).await;
    assert!(detail["actions"]
        .as_array()
        .is_some_and(|actions| actions.iter().all(|action| action["done_at"].is_string())));
}

#[tokio::test]
async fn a_webhook_page_that_fails_twice_is_retried_signed_and_recorded() {
    let database = TestDatabase::new().await;
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&hook)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&hook)
        .await;
    let clock = ManualClock::new(Utc::now());
    let url = format!("{}/hook", hook.uri());
    let app = TestApp::spawn_clocked(&database, Arc::new(clock.clone()), move |settings| {
        settings.escalation.targets.insert(
            "platform-hook".into(),
            TargetSettings {
                kind: "webhook".into(),
                url: Some(url),
                secret: Some(Secret::new("hook-secret")),
                ..TargetSettings::default()
            },
        );
    })
    .await;
    let id = app.declare(json!({ "title": "Queue on fire" })).await["id"]
        .as_i64()
        .expect("id");
    app.conversation_of(id).await;

    // The page's back-offs wait on the engine's clock: run the command
    // and move time along until the third delivery gets through.
    let escalate = app.command(id, "escalate platform-hook the queue is melting");
    let advance = async {
        while hook.received_requests().await.unwrap_or_default().len() < 3 {
            clock.advance(Duration::seconds(1));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    let ((status, body), ()) = tokio::join!(escalate, advance);
    assert_eq!(status, 200, "{body}");

    let requests = hook.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 3, "two failures, then success");
    let last = &requests[2];
    let header = |name: &str| {
        last.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(firebreak_adapters::paging::verify_signature(
        b"hook-secret",
        &header(firebreak_adapters::paging::webhook::TIMESTAMP_HEADER),
        &last.body,
        &header(firebreak_adapters::paging::webhook::SIGNATURE_HEADER),
    ));
    let sent: Value = serde_json::from_slice(&last.body).expect("JSON body");
    assert_eq!(sent["dedup_key"], format!("INC-{id}"));
    let timeline = app.timeline_texts(id).await.join("\n");
    assert!(timeline.contains("platform-hook"), "{timeline}");
    assert!(!timeline.contains("Failed"), "{timeline}");
}
