//! What an incident actor does with a message, as plain async functions
//! over the shared core and the actor's own copy of the incident. The actor
//! runs them inside an atomic handler, so nothing else touches the incident
//! until they return.

use super::chat::Staged;
use super::messages::{Reply, Source};
use super::timers::Reschedule;
use super::{EngineCore, EngineError};
use crate::incident::{decide, Command, Context, DomainEvent, Incident};
use crate::metrics::EngineMetrics;
use crate::render;
use crate::store::AppendOutcome;
use firebreak_adapters::{AdapterError, ChatAdapter, Message, NewConversation, UserRef};
use std::sync::Arc;

/// `user` with a display name, asked of the platform when the event that
/// named them carried none, so the timeline reads as names, not ids.
pub(super) async fn named(core: &EngineCore, user: &UserRef) -> UserRef {
    if user.name.is_some() {
        return user.clone();
    }
    let Some(adapter) = core.platforms.adapter(user.platform) else {
        return user.clone();
    };
    match adapter.display_name(user).await {
        Some(name) => user.clone().with_name(name),
        None => user.clone(),
    }
}

/// Appends events and, once they are stored, applies them to `incident`.
pub(super) async fn commit(
    core: &EngineCore,
    incident: &mut Incident,
    events: &[DomainEvent],
    actor: Option<&UserRef>,
    origin: Option<i64>,
) -> Result<AppendOutcome, EngineError> {
    let mut staged = Staged::new(incident);
    staged.record(events, actor, core.clock.now());
    staged.claim(origin);
    staged.write(core, incident).await
}

/// The incident's pending reminders as the timers table keeps them.
pub(super) fn schedule_of(
    core: &EngineCore,
    incident: &Incident,
) -> Vec<crate::store::PendingTimer> {
    let mut timers: Vec<crate::store::PendingTimer> =
        crate::incident::schedule(incident, &core.policy)
            .into_iter()
            .map(|due| crate::store::PendingTimer {
                reminder: due.reminder.to_string(),
                due_at: due.at,
            })
            .collect();
    timers.extend(super::workflows::workflow_timers(&core.workflows, incident));
    if let (Some(every), Some(closed_at)) = (core.follow_up_digest_every, incident.closed_at()) {
        if incident.is_final() && incident.open_actions().next().is_some() {
            timers.push(crate::store::PendingTimer {
                reminder: DIGEST_TIMER.to_owned(),
                due_at: incident.last_digest_at().unwrap_or(closed_at) + every,
            });
        }
    }
    timers
}

/// The timer that brings up a closed incident's open follow-up actions.
const DIGEST_TIMER: &str = "follow_up_digest";

/// Lists the open follow-up actions of a closed incident in its
/// conversation, so they are not forgotten once the incident is over.
async fn digest_follow_ups(
    core: &EngineCore,
    incident: &mut Incident,
) -> Result<Reply, EngineError> {
    let due = schedule_of(core, incident)
        .into_iter()
        .any(|timer| timer.reminder == DIGEST_TIMER && timer.due_at <= core.clock.now());
    if !due {
        return Ok(Reply {
            text: "Nothing is due.".to_owned(),
            changes: 0,
        });
    }
    let mut message =
        Message::default().with_heading(format!("Open follow-up actions of {}", incident.id()));
    for action in incident.open_actions() {
        message = message.with_paragraph(firebreak_adapters::RichText::plain(format!(
            "{}. {}",
            action.number, action.text
        )));
    }
    message = message
        .with_context(firebreak_adapters::RichText::plain(
            "Say `done <number>` when one is done.",
        ))
        .with_delivery_key(delivery_key(incident, "digest"));
    if let (Some(adapter), Some(conversation)) = (
        core.platforms.adapter(incident.platform()).cloned(),
        incident.conversation().cloned(),
    ) {
        if let Err(error) = adapter.post_message(&conversation, &message).await {
            record_failure(core, incident, "post the follow-up digest", &error).await?;
        }
    }
    let event = DomainEvent::FollowUpsDigested {};
    commit(core, incident, std::slice::from_ref(&event), None, None).await?;
    Ok(Reply {
        text: event.describe(&core.policy),
        changes: 1,
    })
}

/// Brings the chat side in line with the stored state: the incident gets
/// its conversation and its headline if it has not got them yet. Run when
/// an actor starts, so a crash between storing an incident and creating
/// its conversation is repaired by the restart.
pub(super) async fn reconcile(
    core: &EngineCore,
    incident: &mut Incident,
) -> Result<(), EngineError> {
    // A new incident owes its severity's duties; so does one whose
    // process died before carrying them out.
    if let Some(event) = crate::incident::duties_on_declare(incident, &core.policy) {
        commit(core, incident, std::slice::from_ref(&event), None, None).await?;
        super::duties::carry_out_duties(core, incident, &[event]).await;
    }
    // The wheel follows the state as it is now. The timers on disk were
    // written with the incident's last change, and rehydration rewrites
    // those a policy change made stale.
    let timers = schedule_of(core, incident);
    core.timers.do_send(Reschedule {
        incident: incident.id(),
        timers,
    });
    reconcile_chat(core, incident).await?;
    super::workflows::run_workflows(core, incident).await;
    Ok(())
}

/// The incident's conversation and headline, if it owes them.
async fn reconcile_chat(core: &EngineCore, incident: &mut Incident) -> Result<(), EngineError> {
    let Some(endpoint) = core.platforms.get(incident.platform()).cloned() else {
        return Ok(());
    };
    let adapter = endpoint.adapter;
    if incident.needs_conversation() {
        let mut invite = vec![incident.reporter().clone()];
        invite.extend(incident.lead().cloned());
        invite.retain(|user| user.platform == incident.platform());
        invite.dedup();
        let spec = NewConversation {
            name: conversation_name(incident),
            topic: topic(incident, &core.policy),
            private: incident.is_private(),
            invite,
        };
        match adapter.create_conversation(&spec).await {
            Ok(conversation) => {
                let event = DomainEvent::ConversationOpened { conversation };
                commit(core, incident, &[event], None, None).await?;
                if let Some(conversation) = incident.conversation().cloned() {
                    let brief = render::brief(incident, &core.policy)
                        .with_delivery_key(delivery_key(incident, "brief"));
                    // Pinned, so the brief stays findable however long the
                    // conversation grows.
                    let posted = match adapter.post_message(&conversation, &brief).await {
                        Ok(message) => adapter
                            .pin(&message)
                            .await
                            .map_err(|error| ("pin the brief", error)),
                        Err(error) => Err(("post the brief", error)),
                    };
                    if let Err((effect, error)) = posted {
                        record_failure(core, incident, effect, &error).await?;
                    }
                }
            }
            Err(error) => {
                record_failure(core, incident, "create the incident conversation", &error).await?
            }
        }
    }
    // A private incident is not announced: its existence may be sensitive.
    if incident.announcement().is_none() && !incident.is_final() && !incident.is_private() {
        if let Some(announce) = incident.announce_to().or(endpoint.announce.as_ref()) {
            let headline = render::headline(incident, &core.policy, &core.links(incident))
                .with_delivery_key(delivery_key(incident, "headline"));
            match adapter.post_message(announce, &headline).await {
                Ok(message) => {
                    commit(
                        core,
                        incident,
                        &[DomainEvent::AnnouncementPosted { message }],
                        None,
                        None,
                    )
                    .await?;
                }
                Err(error) => record_failure(core, incident, "post the headline", &error).await?,
            }
        }
    }
    Ok(())
}

/// Carries out what accepted events mean on the chat platform. A call that
/// still fails after the adapter's retries is recorded on the timeline.
pub(super) async fn carry_out(
    core: &EngineCore,
    incident: &mut Incident,
    events: &[DomainEvent],
    actor: Option<&UserRef>,
) {
    carry_out_all(core, incident, &[(events.to_vec(), actor.cloned())]).await;
}

/// Carries out the effects of several changes at once, each its events and
/// who made it: one change notice, the topic and the headline for all of
/// them.
pub(super) async fn carry_out_all(
    core: &EngineCore,
    incident: &mut Incident,
    changes: &[(Vec<DomainEvent>, Option<UserRef>)],
) {
    if changes.is_empty() {
        return;
    }
    let events: Vec<DomainEvent> = changes
        .iter()
        .flat_map(|(events, _)| events.iter().cloned())
        .collect();
    super::duties::carry_out_duties(core, incident, &events).await;
    super::workflows::run_workflows(core, incident).await;
    let Some(adapter) = core.platforms.adapter(incident.platform()).cloned() else {
        return;
    };
    let mut failures = Vec::new();
    if let Some(conversation) = incident.conversation().cloned() {
        for event in &events {
            let outcome = match event {
                DomainEvent::Renamed { .. } => (
                    "rename the conversation",
                    adapter
                        .rename_conversation(&conversation, &conversation_name(incident))
                        .await,
                ),
                DomainEvent::LeadAssigned { lead: user, .. }
                | DomainEvent::RoleAssigned { user, .. }
                    if user.platform == conversation.platform =>
                {
                    (
                        "invite",
                        adapter
                            .invite(&conversation, std::slice::from_ref(user))
                            .await,
                    )
                }
                _ => continue,
            };
            if let (effect, Err(error)) = outcome {
                failures.push((effect, error));
            }
        }
        if events.iter().any(changes_topic) {
            if let Err(error) = adapter
                .set_topic(&conversation, &topic(incident, &core.policy))
                .await
            {
                failures.push(("set the topic", error));
            }
        }
        if let Some(notice) = render::change_notice(changes, &core.policy) {
            let notice = notice.with_delivery_key(delivery_key(incident, "notice"));
            if let Err(error) = adapter.post_message(&conversation, &notice).await {
                failures.push(("post the change notice", error));
            }
        }
        if let Some(suggestion) = render::alert_suggestion(incident, &events) {
            let suggestion =
                suggestion.with_delivery_key(delivery_key(incident, "alert-suggestion"));
            if let Err(error) = adapter.post_message(&conversation, &suggestion).await {
                failures.push(("post what the alerts suggest", error));
            }
        }
    }
    if let Err(error) = update_headline(core, adapter.as_ref(), incident).await {
        failures.push(("update the headline", error));
    }
    for (effect, error) in failures {
        if let Err(record_error) = record_failure(core, incident, effect, &error).await {
            tracing::error!(incident = %incident.id(), %record_error, "could not record an effect failure");
        }
    }
}

/// Keeps the timeline in step with a rename made on the platform. The
/// bot's own renames (to the incident's name) come back too and are not
/// news.
pub(super) async fn record_conversation_rename(
    core: &EngineCore,
    incident: &mut Incident,
    name: &str,
    origin: Option<i64>,
) -> Result<Reply, EngineError> {
    if name.ends_with(&conversation_name(incident)) {
        return Ok(Reply {
            text: "The conversation has the incident's name.".to_owned(),
            changes: 0,
        });
    }
    let event = DomainEvent::ConversationRenamed {
        name: name.to_owned(),
    };
    let text = event.describe(&core.policy);
    commit(core, incident, &[event], None, origin).await?;
    Ok(Reply { text, changes: 1 })
}

/// A timer fell due: the incident decides from its own state whether it
/// still means anything (a superseded wake-up changes nothing).
pub(super) async fn fire_timer(
    core: &EngineCore,
    incident: &mut Incident,
    reminder: &str,
) -> Result<Reply, EngineError> {
    let nothing = || Reply {
        text: "Nothing is due.".to_owned(),
        changes: 0,
    };
    if reminder == DIGEST_TIMER {
        return digest_follow_ups(core, incident).await;
    }
    if reminder.starts_with(super::workflows::WORKFLOW_TIMER) {
        super::workflows::run_workflows(core, incident).await;
        return Ok(nothing());
    }
    let Ok(kind) = reminder.parse::<crate::incident::ReminderKind>() else {
        tracing::warn!(incident = %incident.id(), reminder, "a timer names no known reminder");
        return Ok(nothing());
    };
    let events = crate::incident::on_timer(incident, &kind, core.clock.now(), &core.policy);
    if events.is_empty() {
        return Ok(nothing());
    }
    let before = incident.clone();
    if commit(core, incident, &events, None, None).await? == AppendOutcome::AlreadyApplied {
        return Ok(nothing());
    }
    let reminders: Vec<Message> = events
        .iter()
        .filter_map(|event| match event {
            DomainEvent::ReminderSent { reminder, .. } => {
                Some(super::duties::reminder_message(&before, reminder))
            }
            _ => None,
        })
        .collect();
    if let (Some(adapter), Some(conversation)) = (
        core.platforms.adapter(incident.platform()).cloned(),
        incident.conversation().cloned(),
    ) {
        let version = incident.version();
        for (number, message) in reminders.into_iter().enumerate() {
            let key = format!("{}/reminder-{number}", delivery_key_at(incident, version));
            let message = message.with_delivery_key(key);
            if let Err(error) = adapter.post_message(&conversation, &message).await {
                record_failure(core, incident, "post a reminder", &error).await?;
            }
        }
    }
    carry_out(core, incident, &events, None).await;
    Ok(Reply {
        text: events
            .iter()
            .map(|event| event.describe(&core.policy))
            .collect::<Vec<_>>()
            .join("\n"),
        changes: events.len(),
    })
}

/// Opens the edit form for `user`.
pub(super) async fn open_edit_form(
    core: &EngineCore,
    incident: &mut Incident,
    user: &UserRef,
    trigger: Option<&str>,
) {
    let Some(adapter) = core.platforms.adapter(incident.platform()).cloned() else {
        return;
    };
    let form = render::edit_form(incident, &core.policy);
    if let Err(error) = adapter.open_form(user, trigger, &form).await {
        tracing::warn!(incident = %incident.id(), %error, "could not open the edit form");
    }
}

/// Applies the edit form: one command per field that changed, decided in
/// turn and stored together, so an edit is all or nothing.
pub(super) async fn apply_edits(
    core: &EngineCore,
    incident: &mut Incident,
    values: &std::collections::BTreeMap<String, String>,
    user: &UserRef,
    origin: Option<i64>,
) -> Result<Reply, EngineError> {
    let field = |key: &str| {
        values
            .get(key)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    };
    let mut commands = Vec::new();
    if let Some(title) = field("title").filter(|title| *title != incident.title()) {
        commands.push(Command::Rename(title.to_owned()));
    }
    if let Some(summary) = field("summary").filter(|summary| Some(*summary) != incident.summary()) {
        commands.push(Command::Summary(summary.to_owned()));
    }
    if let Some(impact) = field("impact").filter(|impact| Some(*impact) != incident.impact()) {
        commands.push(Command::Impact(impact.to_owned()));
    }
    if let Some(severity) = field("severity").and_then(|text| core.policy.severity_by_name(text)) {
        if severity != incident.severity() {
            commands.push(Command::Severity(severity));
        }
    }
    let context = Context {
        actor: user.clone(),
        now: core.clock.now(),
        policy: &core.policy,
    };
    let mut draft = incident.clone();
    let mut events = Vec::new();
    for command in &commands {
        let decided = decide(&draft, command, &context)?;
        for event in &decided {
            draft.apply(event, context.now);
        }
        events.extend(decided);
    }
    if events.is_empty() {
        return Ok(Reply {
            text: "Nothing changed.".to_owned(),
            changes: 0,
        });
    }
    if commit(core, incident, &events, Some(user), origin).await? == AppendOutcome::AlreadyApplied {
        return Ok(Reply {
            text: "Already applied.".to_owned(),
            changes: 0,
        });
    }
    carry_out(core, incident, &events, Some(user)).await;
    Ok(Reply {
        text: events
            .iter()
            .map(|event| event.describe(&core.policy))
            .collect::<Vec<_>>()
            .join("\n"),
        changes: events.len(),
    })
}

/// Posts a welcome and the brief to someone who joined the conversation.
pub(super) async fn welcome(core: &EngineCore, incident: &mut Incident, user: &UserRef) {
    let (Some(adapter), Some(conversation)) = (
        core.platforms.adapter(incident.platform()).cloned(),
        incident.conversation().cloned(),
    ) else {
        return;
    };
    let mut message = render::brief(incident, &core.policy);
    message.paragraphs.insert(
        0,
        firebreak_adapters::RichText::plain("Welcome, ")
            .mention(user.clone())
            .text("."),
    );
    if let Err(error) = adapter.post_message(&conversation, &message).await {
        if let Err(record_error) = record_failure(core, incident, "post the welcome", &error).await
        {
            tracing::error!(incident = %incident.id(), %record_error, "could not record an effect failure");
        }
    }
}

async fn update_headline(
    core: &EngineCore,
    adapter: &dyn ChatAdapter,
    incident: &Incident,
) -> Result<(), AdapterError> {
    let Some(announcement) = incident.announcement() else {
        return Ok(());
    };
    let headline = render::headline(incident, &core.policy, &core.links(incident))
        .with_delivery_key(delivery_key(incident, "headline-edit"));
    adapter.update_message(announcement, &headline).await
}

/// Says something in the conversation a chat command came from. A failure
/// here is only logged: the answer is not part of the incident's record.
pub(super) async fn answer_in_chat(
    core: &EngineCore,
    incident: &Incident,
    source: &Source,
    text: &str,
) {
    let conversation = match source {
        Source::Chat(conversation) => conversation,
        Source::IncidentConversation => match incident.conversation() {
            Some(conversation) => conversation,
            None => return,
        },
        Source::Api => return,
    };
    let Some(adapter) = core.platforms.adapter(conversation.platform) else {
        return;
    };
    if let Err(error) = adapter
        .post_message(conversation, &Message::text(text))
        .await
    {
        tracing::warn!(incident = %incident.id(), %error, "could not answer in chat");
    }
}

pub(super) async fn record_failure(
    core: &EngineCore,
    incident: &mut Incident,
    effect: &str,
    error: &AdapterError,
) -> Result<(), EngineError> {
    // Something the platform cannot do at all (pin in Teams) is not a
    // failure to surface on every incident.
    if let AdapterError::Unsupported(what) = error {
        tracing::debug!(incident = %incident.id(), platform = %incident.platform(), effect, what, "not supported by the platform");
        return Ok(());
    }
    tracing::warn!(incident = %incident.id(), platform = %incident.platform(), effect, %error, "chat call failed");
    EngineMetrics::add(&core.metrics.effect_failures, 1);
    let event = DomainEvent::EffectFailed {
        effect: effect.to_owned(),
        error: error.to_string(),
    };
    commit(core, incident, &[event], None, None)
        .await
        .map(|_| ())
}

/// Names a message the incident sends at its current version, so a
/// platform with idempotent sends recognises a repeat (the same effect
/// carried out again after a crash or a timed-out call) and posts once.
/// The declaration time keeps keys apart should incident numbers ever be
/// reused (a fresh database with the same bot account).
fn delivery_key(incident: &Incident, what: &str) -> String {
    format!("{}/{what}", delivery_key_at(incident, incident.version()))
}

fn delivery_key_at(incident: &Incident, version: u64) -> String {
    format!(
        "{}@{}/v{version}",
        incident.id(),
        incident.declared_at().timestamp_millis()
    )
}

/// `42-payments-failing`: lower-case, dashes, short enough for every
/// platform's channel-name limit once the platform adds its prefix.
pub(crate) fn conversation_name(incident: &Incident) -> String {
    let mut slug = String::new();
    for c in incident.title().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut name = format!("{}-{}", incident.id().0, slug.trim_end_matches('-'));
    name.truncate(64);
    name.trim_end_matches('-').to_owned()
}

/// The conversation topic: the facts a responder needs at a glance,
/// kept current as they change.
fn topic(incident: &Incident, policy: &crate::incident::Policy) -> String {
    let lead = incident
        .lead()
        .map_or("nobody".to_owned(), |lead| lead.display().to_owned());
    format!(
        "{} · Sev {} · {} · Lead: {}",
        incident.id(),
        policy.severity_label(incident.severity()),
        incident.status(),
        lead
    )
}

fn changes_topic(event: &DomainEvent) -> bool {
    matches!(
        event,
        DomainEvent::SeverityChanged { .. }
            | DomainEvent::StatusChanged { .. }
            | DomainEvent::LeadAssigned { .. }
    )
}

/// Held by actors so the core outlives every handler future.
pub(super) type SharedCore = Arc<EngineCore>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{IncidentId, Severity};
    use chrono::Utc;
    use firebreak_adapters::Platform;

    #[test]
    fn conversation_names_are_slugs_with_the_reference() {
        let declared = DomainEvent::Declared {
            title: "  Payments: EU cards failing!! (again) ".into(),
            severity: Severity::new(2).expect("valid"),
            summary: None,
            impact: None,
            reporter: UserRef::new(Platform::Memory, "bo"),
            lead: None,
            platform: Platform::Memory,
            private: false,
            report: None,
            labels: Default::default(),
            announce: None,
        };
        let incident =
            Incident::from_declared(IncidentId(42), &declared, Utc::now()).expect("declared");
        assert_eq!(
            conversation_name(&incident),
            "42-payments-eu-cards-failing-again"
        );
    }
}
