//! Carrying out duties: paging escalation targets (and resolving those
//! pages when the incident resolves), telling the notify conversations,
//! and reminding people in the incident conversation. Every page and its
//! outcome lands on the timeline.

use super::run::{commit, record_failure};
use super::EngineCore;
use crate::incident::{DomainEvent, Incident, ReminderKind, Status};
use crate::render::actions;
use chrono::{DateTime, Utc};
use firebreak_adapters::alerts::silences::{Matcher, NewSilence};
use firebreak_adapters::paging::Page;
use firebreak_adapters::statuspage::StatusPageState;
use firebreak_adapters::{Button, ConversationRef, Message, RichText};

/// What the duties among `events` call for, carried out after they are
/// stored. Works with no chat platform at all: paging does not need one.
pub(super) async fn carry_out_duties(
    core: &EngineCore,
    incident: &mut Incident,
    events: &[DomainEvent],
) {
    for event in events {
        match event {
            DomainEvent::DutiesTriggered {
                severity,
                page,
                notify,
            } => {
                let reason = format!("severity {} reached", core.policy.severity_label(*severity));
                for target in page {
                    page_target(core, incident, target, &reason).await;
                }
                for conversation in notify {
                    let text = RichText::new()
                        .strong(format!(
                            "{} is severity {}",
                            incident.id(),
                            core.policy.severity_label(*severity)
                        ))
                        .text(format!(": {}", incident.title()));
                    tell(core, incident, conversation, Message::rich(text)).await;
                }
            }
            DomainEvent::Escalated {
                target,
                message,
                reason,
            } => {
                let reason = match message {
                    Some(message) => format!("{reason}: {message}"),
                    None => reason.clone(),
                };
                page_target(core, incident, target, &reason).await;
            }
            DomainEvent::StatusPageUpdated { state, message } => {
                post_status_page(core, incident, state.as_str(), message).await;
            }
            DomainEvent::SilenceRequested { until } => {
                silence_alerts(core, incident, *until).await;
            }
            DomainEvent::UpdatePosted { text } => {
                // Under the headline too, so its thread reads as the story.
                if let (Some(adapter), Some(headline)) = (
                    core.platforms.adapter(incident.platform()).cloned(),
                    incident.announcement().cloned(),
                ) {
                    let update =
                        Message::rich(RichText::new().strong("Update").text(format!(": {text}")));
                    if let Err(error) = adapter.reply_in_thread(&headline, &update).await {
                        tracing::warn!(incident = %incident.id(), %error, "could not post the update under the headline");
                    }
                }
                let notify = core.policy.duties_for(incident.severity()).notify.clone();
                for conversation in &notify {
                    let update = RichText::new()
                        .strong(format!("{} update", incident.id()))
                        .text(format!(": {text}"));
                    tell(core, incident, conversation, Message::rich(update)).await;
                }
            }
            DomainEvent::StatusChanged {
                to: Status::Resolved | Status::Closed | Status::Declined,
                ..
            } => {
                resolve_pages(core, incident).await;
            }
            _ => {}
        }
    }
}

/// The chat message for a reminder that fell due, read from the incident
/// as it was before the reminder was recorded (a custom reminder's text
/// leaves the state when it fires).
pub(super) fn reminder_message(incident: &Incident, reminder: &ReminderKind) -> Message {
    let mut text = RichText::plain("⏰ ");
    if let ReminderKind::Custom(number) = reminder {
        let said = incident
            .custom_reminder(*number)
            .map(|custom| custom.text.clone())
            .unwrap_or_default();
        return Message::rich(text.text(format!("Reminder: {said}")));
    }
    if let (ReminderKind::UpdateDue, Some(lead)) = (reminder, incident.lead()) {
        text = text.mention(lead.clone()).text(", ");
    }
    text = text.text(format!("{}: {}.", incident.id(), reminder.about()));
    if let Some(remedy) = reminder.remedy() {
        text = text.text(format!(" {remedy}"));
    }
    let value = format!("{}:{reminder}", incident.id().0);
    Message::rich(text)
        .with_button(Button::action(actions::SNOOZE, "Snooze 30m", value.clone()))
        .with_button(Button::action(actions::DISMISS, "Dismiss", value))
}

/// The command a reminder button stands for: `<incident>:<reminder>`.
pub(super) fn reminder_button(
    action_id: &str,
    value: &str,
) -> Option<(crate::incident::IncidentId, crate::incident::Command)> {
    let (incident, reminder) = value.split_once(':')?;
    let incident = incident.parse().ok()?;
    let reminder: ReminderKind = reminder.parse().ok()?;
    let command = match action_id {
        actions::SNOOZE => crate::incident::Command::Snooze {
            reminder,
            duration: chrono::Duration::minutes(30),
        },
        actions::DISMISS => crate::incident::Command::Dismiss(reminder),
        _ => return None,
    };
    Some((incident, command))
}

pub(super) async fn page_target(
    core: &EngineCore,
    incident: &mut Incident,
    target: &str,
    reason: &str,
) {
    let (ok, detail) = match core.pagers.get(target) {
        None => (
            false,
            format!("no escalation target named {target} is configured"),
        ),
        Some(pager) => {
            let page = Page {
                dedup_key: incident.id().to_string(),
                summary: format!("{}: {} ({reason})", incident.id(), incident.title()),
                severity: incident.severity().level(),
                source: "firebreak".to_owned(),
                details: serde_json::json!({
                    "incident": incident.id().to_string(),
                    "status": incident.status().as_str(),
                    "severity": core.policy.severity_label(incident.severity()),
                    "lead": incident.lead().map(|lead| lead.display().to_owned()),
                    "reason": reason,
                }),
                links: core
                    .links(incident)
                    .page
                    .map(|url| vec![("Incident".to_owned(), url)])
                    .unwrap_or_default(),
            };
            match pager.trigger(&page).await {
                Ok(receipt) => (
                    true,
                    format!(
                        "paged ({})",
                        receipt.reference.unwrap_or_else(|| "sent".to_owned())
                    ),
                ),
                Err(error) => (false, error.to_string()),
            }
        }
    };
    if !ok {
        tracing::warn!(incident = %incident.id(), target, %detail, "page failed");
    }
    record_page(core, incident, target, ok, detail).await;
}

/// Resolves every page this incident raised that is not resolved yet.
async fn resolve_pages(core: &EngineCore, incident: &mut Incident) {
    let timeline = match core.store.timeline(incident.id()).await {
        Ok(timeline) => timeline,
        Err(error) => {
            tracing::warn!(incident = %incident.id(), %error, "could not read which targets were paged");
            return;
        }
    };
    let mut open = Vec::new();
    for record in &timeline {
        if let DomainEvent::PageSent {
            target,
            ok: true,
            detail,
        } = &record.event
        {
            let resolved = detail.starts_with(RESOLVED);
            open.retain(|paged: &String| paged != target);
            if !resolved {
                open.push(target.clone());
            }
        }
    }
    for target in open {
        let Some(pager) = core.pagers.get(&target) else {
            continue;
        };
        let (ok, detail) = match pager.resolve(&incident.id().to_string()).await {
            Ok(()) => (true, RESOLVED.to_owned()),
            Err(error) => (false, format!("could not resolve the page: {error}")),
        };
        record_page(core, incident, &target, ok, detail).await;
    }
}

const RESOLVED: &str = "resolved";

/// Creates the incident's status page incident the first time, updates it
/// after; the outcome lands on the timeline.
async fn post_status_page(core: &EngineCore, incident: &mut Incident, state: &str, message: &str) {
    let outcome = match (&core.status_page, state.parse::<StatusPageState>()) {
        (None, _) => Err("no status page is configured ([statuspage])".to_owned()),
        (Some(_), Err(_)) => Err(format!("`{state}` is not a status page state")),
        (Some(page), Ok(state)) => match incident.status_page().map(str::to_owned) {
            Some(id) => page
                .update(&id, state, message)
                .await
                .map(|_| None)
                .map_err(|error| error.to_string()),
            None => page
                .create(incident.title(), state, message)
                .await
                .map(|created| Some((created.id, created.shortlink)))
                .map_err(|error| error.to_string()),
        },
    };
    let event = match outcome {
        Ok(None) => return,
        Ok(Some((id, url))) => DomainEvent::StatusPageLinked { id, url },
        Err(error) => DomainEvent::EffectFailed {
            effect: "update the status page".to_owned(),
            error,
        },
    };
    if let Err(error) = commit(core, incident, &[event], None, None).await {
        tracing::error!(incident = %incident.id(), %error, "could not record the status page outcome");
    }
}

/// Silences each group of the incident's alerts at its source, matching
/// the labels the group's alerts share; each outcome lands on the
/// timeline.
async fn silence_alerts(core: &EngineCore, incident: &mut Incident, until: DateTime<Utc>) {
    let now = core.clock.now();
    let mut events = Vec::new();
    for group in incident.alerts().groups().to_vec() {
        let failed = |error: String| DomainEvent::EffectFailed {
            effect: format!("silence the alerts of {}", group.source),
            error,
        };
        let Some(api) = core
            .alert_sources
            .get(&group.source)
            .and_then(|rules| rules.silences.clone())
        else {
            events.push(failed(format!(
                "source {} has no Alertmanager API configured (alertmanager_url)",
                group.source
            )));
            continue;
        };
        if group.labels.is_empty() {
            events.push(failed(
                "the group's alerts share no labels, so a silence would match everything".into(),
            ));
            continue;
        }
        let silence = NewSilence {
            matchers: group
                .labels
                .iter()
                .map(|(name, value)| Matcher {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            starts_at: now,
            ends_at: until,
            created_by: "firebreak".to_owned(),
            comment: format!("{}: {}", incident.id(), incident.title()),
        };
        events.push(match api.create(&silence).await {
            Ok(id) => DomainEvent::Silenced {
                source: group.source.clone(),
                id,
                until,
            },
            Err(error) => failed(error.to_string()),
        });
    }
    if events.is_empty() {
        return;
    }
    if let Err(error) = commit(core, incident, &events, None, None).await {
        tracing::error!(incident = %incident.id(), %error, "could not record the silences");
    }
}

async fn record_page(
    core: &EngineCore,
    incident: &mut Incident,
    target: &str,
    ok: bool,
    detail: String,
) {
    let event = DomainEvent::PageSent {
        target: target.to_owned(),
        ok,
        detail,
    };
    if let Err(error) = commit(core, incident, &[event], None, None).await {
        tracing::error!(incident = %incident.id(), %error, "could not record a page on the timeline");
    }
}

/// Posts to a conversation on the incident's platform, by id.
pub(super) async fn tell(
    core: &EngineCore,
    incident: &mut Incident,
    conversation: &str,
    message: Message,
) {
    let Some(adapter) = core.platforms.adapter(incident.platform()).cloned() else {
        return;
    };
    let conversation = ConversationRef::new(incident.platform(), conversation);
    if let Err(error) = adapter.post_message(&conversation, &message).await {
        let effect = format!("notify {}", conversation.id);
        if let Err(error) = record_failure(core, incident, &effect, &error).await {
            tracing::error!(incident = %incident.id(), %error, "could not record an effect failure");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Command, IncidentId, RoleName};

    #[test]
    fn reminder_buttons_name_their_incident_and_reminder() {
        let role: RoleName = "comms".parse().expect("valid role");
        let value = format!("42:{}", ReminderKind::RoleUnfilled(role.clone()));
        assert_eq!(
            reminder_button(actions::DISMISS, &value),
            Some((
                IncidentId(42),
                Command::Dismiss(ReminderKind::RoleUnfilled(role))
            ))
        );
        assert!(matches!(
            reminder_button(actions::SNOOZE, "42:update_due"),
            Some((
                IncidentId(42),
                Command::Snooze {
                    reminder: ReminderKind::UpdateDue,
                    ..
                }
            ))
        ));
        assert_eq!(reminder_button(actions::SNOOZE, "nonsense"), None);
        assert_eq!(reminder_button("other", "42:update_due"), None);
    }
}
