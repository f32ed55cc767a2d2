//! The state machine: whether a command may happen to an incident, and
//! which events record it if so; plus the answers to queries.
//!
//! [`decide`] only looks: it never changes the incident. The actor persists
//! the events it returns and then applies them, so a command is either
//! recorded whole or not at all. A refusal is a [`Rejection`] whose text
//! goes back to the person as is, in chat or in an HTTP 409 body.

use super::command::{AlertDelivery, Command, Query, MAX_TITLE_CHARS};
use super::duration::{human_duration, MAX_DURATION_DAYS};
use super::duties::{duties_on_reaching, duties_on_reopening};
use super::event::{DomainEvent, Report};
use super::policy::{Policy, RoleName};
use super::reference::IncidentId;
use super::reminder::ReminderKind;
use super::schedule::schedule;
use super::state::Incident;
use super::status::Status;
use chrono::{DateTime, Duration, Utc};
use firebreak_adapters::UserRef;

/// The reason an `escalate` command gives on the timeline.
pub const ESCALATED_BY_HAND: &str = "escalated by hand";

/// Who is asking, and when.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub actor: UserRef,
    pub now: DateTime<Utc>,
    pub policy: &'a Policy,
}

/// Why a command was refused. Each message is a sentence for the person
/// who asked, naming the incident and, where there is one, the way forward.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("{id} is {status}; nothing can change any more.")]
    Final { id: IncidentId, status: Status },
    #[error("{id} has no timeline entry {seq}.")]
    NoSuchEntry { id: IncidentId, seq: u64 },
    #[error("A timeline entry of {id} cannot be in the future.")]
    InTheFuture { id: IncidentId },
    #[error("{id} has no follow-up action {number}: `actions` lists them.")]
    NoSuchAction { id: IncidentId, number: u32 },
    #[error("Action {number} of {id} is already done.")]
    ActionAlreadyDone { id: IncidentId, number: u32 },
    #[error("{lead} already leads {id}.")]
    AlreadyLead { id: IncidentId, lead: String },
    #[error("{id} is already severity {label}.")]
    SameSeverity { id: IncidentId, label: String },
    #[error("{id}'s status is already {status}.")]
    SameStatus { id: IncidentId, status: Status },
    #[error("{id} can't move from {from} to {to}; from {from} it can move to {allowed}.")]
    NotAllowed {
        id: IncidentId,
        from: Status,
        to: Status,
        allowed: String,
    },
    #[error("{id} has no lead: assign one with `lead @someone` before closing.")]
    NoLead { id: IncidentId },
    #[error("{id} is still in triage: `decline` it if it is not an incident, or move it forward (`status investigating`) before closing.")]
    CloseFromTriage { id: IncidentId },
    #[error("{id} is {status}, and only an incident in triage can be declined; `close` it once it is resolved.")]
    DeclineAfterTriage { id: IncidentId, status: Status },
    #[error("{id} is {status}, so there is nothing to reopen; only a mitigated or resolved incident can be reopened.")]
    NothingToReopen { id: IncidentId, status: Status },
    #[error("{id}'s {what} is already exactly that.")]
    Unchanged { id: IncidentId, what: &'static str },
    #[error("The {what} can't be empty.")]
    Blank { what: &'static str },
    #[error("{user} already has the role {role} on {id}.")]
    SameRole {
        id: IncidentId,
        role: RoleName,
        user: String,
    },
    #[error("`{role}` is not a role here: {known}.")]
    UnknownRole { role: RoleName, known: String },
    #[error("That message is already pinned to {id}'s timeline.")]
    AlreadyPinned { id: IncidentId },
    #[error("The title is too long: keep it to {max} characters or fewer.")]
    TitleTooLong { max: usize },
    #[error("An incident can't have started in the future.")]
    StartsInFuture,
    #[error("An incident can't be resolved in the future.")]
    ResolvedInFuture,
    #[error("An incident can't be resolved before it started.")]
    ResolvedBeforeStart,
    #[error("`{target}` is not an escalation target: {known}.")]
    UnknownEscalationTarget { target: String, known: String },
    #[error("{id} has no `{reminder}` reminder pending; {pending}.")]
    NotPending {
        id: IncidentId,
        reminder: String,
        pending: String,
    },
    #[error(
        "A reminder can only be set or snoozed for more than zero and at most {max_days} days."
    )]
    DelayOutOfRange { max_days: i64 },
    #[error("{id} has no alert `{given}`: `alerts` lists them with their fingerprints.")]
    NoSuchAlert { id: IncidentId, given: String },
    #[error("`{given}` fits {fits} alerts of {id}: write more of the fingerprint.")]
    AmbiguousAlert {
        id: IncidentId,
        given: String,
        fits: usize,
    },
    #[error("{id} has no alerts to silence.")]
    NoAlerts { id: IncidentId },
    #[error("Every alert of that delivery was detached from {id}.")]
    OnlyDetachedAlerts { id: IncidentId },
}

/// The events that record `command` happening to `incident`, or why it
/// can't happen.
pub fn decide(
    incident: &Incident,
    command: &Command,
    ctx: &Context,
) -> Result<Vec<DomainEvent>, Rejection> {
    let id = incident.id();
    // Follow-ups are mostly done after the incident is over.
    if let Command::ActionDone(number) = command {
        return match incident
            .actions()
            .iter()
            .find(|action| action.number == *number)
        {
            None => Err(Rejection::NoSuchAction {
                id,
                number: *number,
            }),
            Some(action) if action.done_at.is_some() => Err(Rejection::ActionAlreadyDone {
                id,
                number: *number,
            }),
            Some(_) => Ok(vec![DomainEvent::ActionCompleted { number: *number }]),
        };
    }
    // The review edits the timeline, usually of a closed incident.
    if let Some(event) = edit_timeline(incident, command, ctx)? {
        return Ok(vec![event]);
    }
    if incident.is_final() {
        return Err(Rejection::Final {
            id,
            status: incident.status(),
        });
    }
    let event = match command {
        Command::Lead(lead) => {
            let lead = lead.clone().unwrap_or_else(|| ctx.actor.clone());
            if incident.lead() == Some(&lead) {
                return Err(Rejection::AlreadyLead {
                    id,
                    lead: lead.display().to_owned(),
                });
            }
            DomainEvent::LeadAssigned {
                lead,
                previous: incident.lead().cloned(),
            }
        }
        Command::Severity(to) => {
            let from = incident.severity();
            if from == *to {
                return Err(Rejection::SameSeverity {
                    id,
                    label: ctx.policy.severity_label(from),
                });
            }
            let mut events = vec![DomainEvent::SeverityChanged { from, to: *to }];
            // Only raising brings new duties; lowering keeps the ones done.
            if to.is_more_severe_than(from) {
                events.extend(duties_on_reaching(incident, *to, ctx.policy));
            }
            return Ok(events);
        }
        Command::Status(to) => {
            return change_status(incident, *to)
                .map(|events| with_reopen_duties(incident, events, ctx.policy))
        }
        Command::Close => return close(incident),
        Command::Decline => return decline(incident),
        Command::Reopen => {
            let from = incident.status();
            if !matches!(from, Status::Mitigated | Status::Resolved) {
                return Err(Rejection::NothingToReopen { id, status: from });
            }
            let reopened = DomainEvent::StatusChanged {
                from,
                to: Status::Investigating,
            };
            return Ok(with_reopen_duties(incident, vec![reopened], ctx.policy));
        }
        Command::Summary(summary) => {
            let summary = changed_text(incident, "summary", incident.summary(), summary)?;
            DomainEvent::SummaryChanged { summary }
        }
        Command::Impact(impact) => {
            let impact = changed_text(incident, "impact", incident.impact(), impact)?;
            DomainEvent::ImpactChanged { impact }
        }
        Command::Rename(title) => {
            let to = changed_text(incident, "title", Some(incident.title()), title)?;
            if to.chars().count() > MAX_TITLE_CHARS {
                return Err(Rejection::TitleTooLong {
                    max: MAX_TITLE_CHARS,
                });
            }
            DomainEvent::Renamed {
                from: incident.title().to_owned(),
                to,
            }
        }
        Command::Role { role, user } => {
            // The parser checks this too, but commands also arrive from the
            // API and the policy may have changed since the text was parsed.
            if !ctx.policy.has_role(role) {
                return Err(Rejection::UnknownRole {
                    role: role.clone(),
                    known: known_roles(ctx.policy),
                });
            }
            let previous = incident.role(role).cloned();
            if previous.as_ref() == Some(user) {
                return Err(Rejection::SameRole {
                    id,
                    role: role.clone(),
                    user: user.display().to_owned(),
                });
            }
            DomainEvent::RoleAssigned {
                role: role.clone(),
                user: user.clone(),
                previous,
            }
        }
        Command::Action(text) => DomainEvent::ActionAdded {
            number: incident.next_action_number(),
            text: non_blank("action", text)?,
        },
        Command::Note(text) => DomainEvent::NoteAdded {
            text: non_blank("note", text)?,
        },
        // Handled before the final-incident check, above.
        Command::ActionDone(number) => DomainEvent::ActionCompleted { number: *number },
        Command::AddTimelineEntry { .. } | Command::CorrectTimelineEntry { .. } => {
            return Ok(edit_timeline(incident, command, ctx)?.into_iter().collect())
        }
        Command::Update(text) => DomainEvent::UpdatePosted {
            text: non_blank("update", text)?,
        },
        Command::StatusPage { state, message } => DomainEvent::StatusPageUpdated {
            state: *state,
            message: non_blank("status page message", message)?,
        },
        Command::Escalate { target, message } => {
            // The parser matched the target, but commands also arrive from
            // the API and the policy may have changed since.
            let target = ctx.policy.escalation_target(target).ok_or_else(|| {
                Rejection::UnknownEscalationTarget {
                    target: target.clone(),
                    known: ctx.policy.known_escalation_targets(),
                }
            })?;
            DomainEvent::Escalated {
                target: target.to_owned(),
                message: message
                    .as_deref()
                    .map(str::trim)
                    .filter(|message| !message.is_empty())
                    .map(str::to_owned),
                reason: ESCALATED_BY_HAND.to_owned(),
            }
        }
        Command::Remind { after, text } => DomainEvent::ReminderSet {
            number: incident.next_reminder_number(),
            due_at: ctx.now + within_range(*after)?,
            text: non_blank("reminder", text)?,
        },
        Command::Snooze { reminder, duration } => {
            let duration = within_range(*duration)?;
            pending(incident, reminder, ctx.policy)?;
            DomainEvent::Snoozed {
                reminder: reminder.clone(),
                until: ctx.now + duration,
            }
        }
        Command::ReceiveAlerts(delivery) => return receive_alerts(incident, delivery, ctx),
        Command::Detach(given) => match incident.alerts().find(given) {
            Ok(known) => DomainEvent::AlertDetached {
                source: known.source.clone(),
                fingerprint: known.alert.fingerprint.clone(),
                name: known.alert.name().to_owned(),
            },
            Err(0) => {
                return Err(Rejection::NoSuchAlert {
                    id,
                    given: given.clone(),
                })
            }
            Err(fits) => {
                return Err(Rejection::AmbiguousAlert {
                    id,
                    given: given.clone(),
                    fits,
                })
            }
        },
        Command::Silence(duration) => {
            if incident.alerts().groups().is_empty() {
                return Err(Rejection::NoAlerts { id });
            }
            DomainEvent::SilenceRequested {
                until: ctx.now + within_range(*duration)?,
            }
        }
        Command::Dismiss(reminder) => {
            pending(incident, reminder, ctx.policy)?;
            DomainEvent::Dismissed {
                reminder: reminder.clone(),
            }
        }
        Command::Pin {
            message,
            text,
            author,
        } => {
            if incident.has_pinned(message) {
                return Err(Rejection::AlreadyPinned { id });
            }
            DomainEvent::Pinned {
                message: message.clone(),
                text: text.clone(),
                author: author.clone(),
            }
        }
    };
    Ok(vec![event])
}

/// Checks what a declaration says before the incident exists, so a bad
/// one is refused rather than recorded.
pub fn validate_declaration(
    title: &str,
    report: Option<&Report>,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let title = title.trim();
    if title.is_empty() {
        return Err(Rejection::Blank { what: "title" });
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(Rejection::TitleTooLong {
            max: MAX_TITLE_CHARS,
        });
    }
    if let Some(report) = report {
        if report.started_at > now {
            return Err(Rejection::StartsInFuture);
        }
        if let Some(resolved_at) = report.resolved_at {
            if resolved_at < report.started_at {
                return Err(Rejection::ResolvedBeforeStart);
            }
            if resolved_at > now {
                return Err(Rejection::ResolvedInFuture);
            }
        }
    }
    Ok(())
}

/// The reply to a query, as chat text.
pub fn answer(incident: &Incident, query: &Query, now: DateTime<Utc>, policy: &Policy) -> String {
    match query {
        Query::Actions => answer_actions(incident),
        Query::Duration => answer_duration(incident, now),
        Query::Status => answer_status(incident, now, policy),
        Query::Reminders => answer_reminders(incident, now, policy),
        Query::Alerts => answer_alerts(incident),
    }
}

fn answer_alerts(incident: &Incident) -> String {
    let alerts = incident.alerts();
    if alerts.is_empty() {
        return format!("{} has no alerts attached.", incident.id());
    }
    let mut text = format!(
        "{} has {} alerts: {} firing, {} resolved.",
        incident.id(),
        alerts.firing() + alerts.resolved(),
        alerts.firing(),
        alerts.resolved()
    );
    for known in alerts.attached() {
        let marker = match known.alert.status {
            firebreak_adapters::alerts::AlertStatus::Firing => "🔥",
            firebreak_adapters::alerts::AlertStatus::Resolved => "✅",
        };
        let labels = super::alerts::label_text(&known.alert);
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!(" {{{labels}}}")
        };
        text.push_str(&format!(
            "\n{marker} {}{labels}: {} since {} (`{}`, {})",
            known.alert.name(),
            known.alert.status,
            known
                .alert
                .starts_at
                .unwrap_or(known.first_seen)
                .format("%H:%M UTC"),
            known.alert.fingerprint,
            known.source
        ));
    }
    for silence in alerts.silences() {
        text.push_str(&format!(
            "\n🔕 Silenced in {} until {} (silence {})",
            silence.source,
            silence.until.format("%Y-%m-%d %H:%M UTC"),
            silence.id
        ));
    }
    text
}

/// Takes in a delivery of alerts, leaving out those people detached; when
/// the source's rule says so, the last firing alert resolving mitigates.
fn receive_alerts(
    incident: &Incident,
    delivery: &AlertDelivery,
    ctx: &Context,
) -> Result<Vec<DomainEvent>, Rejection> {
    let batch = &delivery.batch;
    let alerts: Vec<_> = batch
        .alerts
        .iter()
        .filter(|alert| {
            !incident
                .alerts()
                .is_detached(&batch.source, &alert.fingerprint)
        })
        .cloned()
        .collect();
    if alerts.is_empty() {
        return Err(Rejection::OnlyDetachedAlerts { id: incident.id() });
    }
    let mut events = vec![delivery.received(alerts)];
    let firing = batch
        .alerts
        .iter()
        .any(|alert| alert.status == firebreak_adapters::alerts::AlertStatus::Firing);
    if let Some(to) = delivery
        .severity
        .filter(|to| firing && to.is_more_severe_than(incident.severity()))
    {
        events.push(DomainEvent::SeverityChanged {
            from: incident.severity(),
            to,
        });
        events.extend(duties_on_reaching(incident, to, ctx.policy));
    }
    let from = incident.status();
    if delivery.mitigate_when_resolved && matches!(from, Status::Triage | Status::Investigating) {
        let mut after = incident.clone();
        after.apply(&events[0], ctx.now);
        if after.alerts().firing() == 0 {
            events.push(DomainEvent::StatusChanged {
                from,
                to: Status::Mitigated,
            });
        }
    }
    Ok(events)
}

/// A reopened incident needs people again, so it owes the duties of its
/// severity if it never carried them out (its severity was raised while it
/// was resolved, say).
fn with_reopen_duties(
    incident: &Incident,
    mut events: Vec<DomainEvent>,
    policy: &Policy,
) -> Vec<DomainEvent> {
    let reopens = events.iter().any(|event| {
        matches!(event, DomainEvent::StatusChanged { from, to } if Status::is_reopen(*from, *to))
    });
    if reopens {
        events.extend(duties_on_reopening(incident, policy));
    }
    events
}

/// Durations from the API were not parsed from text, so the range
/// [`parse_duration`](super::parse_duration) guarantees is checked again.
fn within_range(duration: Duration) -> Result<Duration, Rejection> {
    if duration > Duration::zero() && duration <= Duration::days(MAX_DURATION_DAYS) {
        Ok(duration)
    } else {
        Err(Rejection::DelayOutOfRange {
            max_days: MAX_DURATION_DAYS,
        })
    }
}

/// Only a pending reminder can be snoozed or dismissed: anything else
/// would be recorded and never matter, while the person believes it did.
fn pending(incident: &Incident, reminder: &ReminderKind, policy: &Policy) -> Result<(), Rejection> {
    let scheduled = schedule(incident, policy);
    if scheduled.iter().any(|due| &due.reminder == reminder) {
        return Ok(());
    }
    let pending = if scheduled.is_empty() {
        "no reminder is pending".to_owned()
    } else {
        let names: Vec<String> = scheduled
            .iter()
            .map(|due| format!("`{}`", due.reminder.short_name()))
            .collect();
        format!("pending now: {}", names.join(", "))
    };
    Err(Rejection::NotPending {
        id: incident.id(),
        reminder: reminder.short_name(),
        pending,
    })
}

fn change_status(incident: &Incident, to: Status) -> Result<Vec<DomainEvent>, Rejection> {
    let (id, from) = (incident.id(), incident.status());
    if from == to {
        return Err(Rejection::SameStatus { id, status: from });
    }
    // The final statuses have rules of their own (a lead, two steps), which
    // must hold whichever way they are asked for.
    match to {
        Status::Closed => close(incident),
        Status::Declined => decline(incident),
        _ if from.can_move_to(to) => Ok(vec![DomainEvent::StatusChanged { from, to }]),
        _ => Err(Rejection::NotAllowed {
            id,
            from,
            to,
            allowed: allowed_moves(from),
        }),
    }
}

/// Closing resolves first if need be, so the timeline and the resolved time
/// say when it was over, then closes.
fn close(incident: &Incident) -> Result<Vec<DomainEvent>, Rejection> {
    let (id, from) = (incident.id(), incident.status());
    if from == Status::Triage {
        return Err(Rejection::CloseFromTriage { id });
    }
    if incident.lead().is_none() {
        return Err(Rejection::NoLead { id });
    }
    let mut events = Vec::with_capacity(2);
    if from != Status::Resolved {
        events.push(DomainEvent::StatusChanged {
            from,
            to: Status::Resolved,
        });
    }
    events.push(DomainEvent::StatusChanged {
        from: Status::Resolved,
        to: Status::Closed,
    });
    Ok(events)
}

fn decline(incident: &Incident) -> Result<Vec<DomainEvent>, Rejection> {
    let (id, from) = (incident.id(), incident.status());
    if from != Status::Triage {
        return Err(Rejection::DeclineAfterTriage { id, status: from });
    }
    Ok(vec![DomainEvent::StatusChanged {
        from,
        to: Status::Declined,
    }])
}

fn changed_text(
    incident: &Incident,
    what: &'static str,
    current: Option<&str>,
    new: &str,
) -> Result<String, Rejection> {
    let new = non_blank(what, new)?;
    if current == Some(new.as_str()) {
        return Err(Rejection::Unchanged {
            id: incident.id(),
            what,
        });
    }
    Ok(new)
}

/// The event of a review's timeline edit; `None` for other commands.
fn edit_timeline(
    incident: &Incident,
    command: &Command,
    ctx: &Context,
) -> Result<Option<DomainEvent>, Rejection> {
    let id = incident.id();
    Ok(Some(match command {
        Command::AddTimelineEntry { text, at } => {
            if *at > ctx.now {
                return Err(Rejection::InTheFuture { id });
            }
            DomainEvent::TimelineEntryAdded {
                text: non_blank("timeline entry", text)?,
                occurred_at: *at,
            }
        }
        Command::CorrectTimelineEntry { seq, text } => {
            if *seq == 0 || *seq > incident.version() {
                return Err(Rejection::NoSuchEntry { id, seq: *seq });
            }
            DomainEvent::TimelineEntryCorrected {
                seq: *seq,
                text: non_blank("timeline entry", text)?,
            }
        }
        _ => return Ok(None),
    }))
}

fn non_blank(what: &'static str, text: &str) -> Result<String, Rejection> {
    match text.trim() {
        "" => Err(Rejection::Blank { what }),
        text => Ok(text.to_owned()),
    }
}

/// What `from` can move to, counting `closed` where `close` would allow it.
fn allowed_moves(from: Status) -> String {
    let allowed: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|to| from.can_move_to(*to) || (*to == Status::Closed && can_close_from(from)))
        .map(Status::as_str)
        .collect();
    match allowed.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn can_close_from(from: Status) -> bool {
    matches!(
        from,
        Status::Investigating | Status::Mitigated | Status::Resolved
    )
}

fn known_roles(policy: &Policy) -> String {
    if policy.roles.is_empty() {
        return "no roles are configured".to_owned();
    }
    let names: Vec<&str> = policy.roles.iter().map(RoleName::as_str).collect();
    format!("the roles are {}", names.join(", "))
}

fn answer_actions(incident: &Incident) -> String {
    if incident.actions().is_empty() {
        return format!(
            "No follow-up actions yet for {}: add one with `action <text>`.",
            incident.id()
        );
    }
    let mut text = format!("Follow-up actions for {}:", incident.id());
    for action in incident.actions() {
        let done = if action.done_at.is_some() {
            " (done)"
        } else {
            ""
        };
        text.push_str(&format!("\n{}. {}{done}", action.number, action.text));
    }
    text
}

fn answer_duration(incident: &Incident, now: DateTime<Utc>) -> String {
    let id = incident.id();
    let lasted = human_duration(incident.open_for(now));
    let mut text = match incident.resolved_at().or(incident.closed_at()) {
        Some(_) => format!("{id} lasted {lasted}."),
        None => format!("{id} has been going on for {lasted}."),
    };
    let milestones: Vec<String> = [
        ("acknowledged", incident.acknowledged_at()),
        ("mitigated", incident.mitigated_at()),
        ("resolved", incident.resolved_at()),
    ]
    .into_iter()
    .filter_map(|(what, at)| {
        let after = (at? - incident.started_at()).max(chrono::Duration::zero());
        Some(format!("{what} after {}", human_duration(after)))
    })
    .collect();
    if !milestones.is_empty() {
        text.push_str(&format!(" It was {}.", and_list(&milestones)));
    }
    text
}

fn answer_status(incident: &Incident, now: DateTime<Utc>, policy: &Policy) -> String {
    let mut text = format!(
        "{} “{}” is {}, severity {}.",
        incident.id(),
        incident.title(),
        incident.status(),
        policy.severity_label(incident.severity())
    );
    match incident.lead() {
        Some(lead) => text.push_str(&format!(" Lead: {}.", lead.display())),
        None => text.push_str(" No lead yet."),
    }
    if !incident.roles().is_empty() {
        let roles: Vec<String> = incident
            .roles()
            .iter()
            .map(|(role, user)| format!("{role} {}", user.display()))
            .collect();
        text.push_str(&format!(" Roles: {}.", roles.join(", ")));
    }
    let lasted = human_duration(incident.open_for(now));
    if incident.is_report_only() {
        text.push_str(&format!(" Recorded after the fact; it lasted {lasted}."));
    } else if incident.status().is_active() {
        text.push_str(&format!(" Going on for {lasted}."));
    } else {
        text.push_str(&format!(" It lasted {lasted}."));
    }
    // Free text last, each on its own line, so what people wrote is never
    // run together with the bot's sentences.
    if let Some(summary) = incident.summary() {
        text.push_str(&format!("\nSummary: {summary}"));
    }
    if let Some(impact) = incident.impact() {
        text.push_str(&format!("\nImpact: {impact}"));
    }
    text
}

fn answer_reminders(incident: &Incident, now: DateTime<Utc>, policy: &Policy) -> String {
    let scheduled = schedule(incident, policy);
    if scheduled.is_empty() {
        return format!("No reminders are pending for {}.", incident.id());
    }
    let mut text = format!("Reminders pending for {}:", incident.id());
    for due in scheduled {
        let about = match &due.reminder {
            ReminderKind::Custom(number) => incident
                .custom_reminder(*number)
                .map_or_else(|| due.reminder.about(), |custom| custom.text.clone()),
            other => other.about(),
        };
        let when = if due.at <= now {
            "due now".to_owned()
        } else {
            format!("in {}", human_duration(due.at - now))
        };
        text.push_str(&format!(
            "\n• `{}` {about}: {when}",
            due.reminder.short_name()
        ));
    }
    text.push_str(
        "\nPut one off with `snooze <reminder> <duration>`, or stop it with `dismiss <reminder>`.",
    );
    text
}

/// `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::fixtures::{
        declared, incident, lead, led_incident_in, message, moved, severity, t, user,
    };
    use Status::*;

    fn ctx(policy: &Policy) -> Context<'_> {
        Context {
            actor: user("sam"),
            now: t(100),
            policy,
        }
    }

    fn role(name: &str) -> RoleName {
        name.parse().expect("a valid role name")
    }

    /// The moves `decide` allows, for an incident with a lead. `closed` is
    /// reachable from everywhere `close` works; `declined` only from triage.
    const ALLOWED: [(Status, Status); 12] = [
        (Triage, Investigating),
        (Triage, Mitigated),
        (Triage, Resolved),
        (Triage, Declined),
        (Investigating, Mitigated),
        (Investigating, Resolved),
        (Investigating, Closed),
        (Mitigated, Investigating),
        (Mitigated, Resolved),
        (Mitigated, Closed),
        (Resolved, Investigating),
        (Resolved, Closed),
    ];

    #[test]
    fn the_review_edits_the_timeline_even_of_a_closed_incident() {
        let policy = Policy::default();
        let closed = led_incident_in(Closed);
        let added = decide(
            &closed,
            &Command::AddTimelineEntry {
                text: " DB failover began ".into(),
                at: t(50),
            },
            &ctx(&policy),
        );
        assert_eq!(
            added,
            Ok(vec![DomainEvent::TimelineEntryAdded {
                text: "DB failover began".into(),
                occurred_at: t(50)
            }])
        );
        let corrected = decide(
            &closed,
            &Command::CorrectTimelineEntry {
                seq: 1,
                text: "Declared by the on-call".into(),
            },
            &ctx(&policy),
        );
        assert_eq!(
            corrected,
            Ok(vec![DomainEvent::TimelineEntryCorrected {
                seq: 1,
                text: "Declared by the on-call".into()
            }])
        );
        let id = closed.id();
        let future = Command::AddTimelineEntry {
            text: "x".into(),
            at: t(101),
        };
        assert_eq!(
            decide(&closed, &future, &ctx(&policy)),
            Err(Rejection::InTheFuture { id })
        );
        let beyond = closed.version() + 1;
        let missing = Command::CorrectTimelineEntry {
            seq: beyond,
            text: "x".into(),
        };
        assert_eq!(
            decide(&closed, &missing, &ctx(&policy)),
            Err(Rejection::NoSuchEntry { id, seq: beyond })
        );
        let blank = Command::CorrectTimelineEntry {
            seq: 1,
            text: "  ".into(),
        };
        assert!(matches!(
            decide(&closed, &blank, &ctx(&policy)),
            Err(Rejection::Blank { .. })
        ));
    }

    #[test]
    fn every_status_pair_is_allowed_exactly_as_the_table_says() {
        let policy = Policy::default();
        for from in Status::ALL {
            for to in Status::ALL {
                let mut incident = led_incident_in(from);
                let decided = decide(&incident, &Command::Status(to), &ctx(&policy));
                if ALLOWED.contains(&(from, to)) {
                    let events = decided
                        .unwrap_or_else(|rejection| panic!("{from} → {to} refused: {rejection}"));
                    for event in &events {
                        incident.apply(event, t(100));
                    }
                    assert_eq!(incident.status(), to, "{from} → {to} ends in {to}");
                } else {
                    assert!(
                        decided.is_err(),
                        "{from} → {to} should be refused, got {decided:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_table_agrees_with_the_status_machine_apart_from_closing_shortcuts() {
        for from in Status::ALL {
            for to in Status::ALL {
                let shortcut = to == Closed && matches!(from, Investigating | Mitigated);
                assert_eq!(
                    ALLOWED.contains(&(from, to)),
                    from.can_move_to(to) || shortcut,
                    "{from} → {to}"
                );
            }
        }
    }

    #[test]
    fn a_status_move_emits_one_status_change() {
        let policy = Policy::default();
        let incident = led_incident_in(Triage);
        assert_eq!(
            decide(&incident, &Command::Status(Investigating), &ctx(&policy)),
            Ok(vec![moved(Triage, Investigating)])
        );
    }

    #[test]
    fn closing_resolves_first_when_needed() {
        let policy = Policy::default();
        for from in [Investigating, Mitigated] {
            for command in [Command::Close, Command::Status(Closed)] {
                assert_eq!(
                    decide(&led_incident_in(from), &command, &ctx(&policy)),
                    Ok(vec![moved(from, Resolved), moved(Resolved, Closed)]),
                    "{command:?} from {from}"
                );
            }
        }
        assert_eq!(
            decide(&led_incident_in(Resolved), &Command::Close, &ctx(&policy)),
            Ok(vec![moved(Resolved, Closed)])
        );
    }

    #[test]
    fn declining_and_reopening_move_the_status() {
        let policy = Policy::default();
        assert_eq!(
            decide(&led_incident_in(Triage), &Command::Decline, &ctx(&policy)),
            Ok(vec![moved(Triage, Declined)])
        );
        for from in [Mitigated, Resolved] {
            assert_eq!(
                decide(&led_incident_in(from), &Command::Reopen, &ctx(&policy)),
                Ok(vec![moved(from, Investigating)])
            );
        }
    }

    #[test]
    fn lead_defaults_to_the_sender_and_remembers_the_previous_one() {
        let policy = Policy::default();
        let unled = incident([declared("Payments failing")]);
        assert_eq!(
            decide(&unled, &Command::Lead(None), &ctx(&policy)),
            Ok(vec![DomainEvent::LeadAssigned {
                lead: user("sam"),
                previous: None
            }])
        );
        assert_eq!(
            decide(
                &led_incident_in(Investigating),
                &Command::Lead(Some(user("bo"))),
                &ctx(&policy)
            ),
            Ok(vec![DomainEvent::LeadAssigned {
                lead: user("bo"),
                previous: Some(user("ana"))
            }])
        );
    }

    #[test]
    fn field_commands_emit_their_events() {
        let policy = Policy::default();
        let incident = incident([
            declared("Payments failing"),
            DomainEvent::RoleAssigned {
                role: role("comms"),
                user: user("bo"),
                previous: None,
            },
            DomainEvent::ActionAdded {
                number: 1,
                text: "first".into(),
            },
        ]);
        let cases: Vec<(Command, DomainEvent)> = vec![
            (
                Command::Severity(severity(3)),
                DomainEvent::SeverityChanged {
                    from: severity(2),
                    to: severity(3),
                },
            ),
            (
                Command::Summary(" cards declined ".into()),
                DomainEvent::SummaryChanged {
                    summary: "cards declined".into(),
                },
            ),
            (
                Command::Impact("EU".into()),
                DomainEvent::ImpactChanged {
                    impact: "EU".into(),
                },
            ),
            (
                Command::Rename("Cards declined".into()),
                DomainEvent::Renamed {
                    from: "Payments failing".into(),
                    to: "Cards declined".into(),
                },
            ),
            (
                Command::Role {
                    role: role("comms"),
                    user: user("cy"),
                },
                DomainEvent::RoleAssigned {
                    role: role("comms"),
                    user: user("cy"),
                    previous: Some(user("bo")),
                },
            ),
            (
                Command::Role {
                    role: role("scribe"),
                    user: user("cy"),
                },
                DomainEvent::RoleAssigned {
                    role: role("scribe"),
                    user: user("cy"),
                    previous: None,
                },
            ),
            (
                Command::Action("add an alert".into()),
                DomainEvent::ActionAdded {
                    number: 2,
                    text: "add an alert".into(),
                },
            ),
            (
                Command::Note("rolled back".into()),
                DomainEvent::NoteAdded {
                    text: "rolled back".into(),
                },
            ),
            (
                Command::Pin {
                    message: message("m1"),
                    text: "it's DNS".into(),
                    author: Some(user("bo")),
                },
                DomainEvent::Pinned {
                    message: message("m1"),
                    text: "it's DNS".into(),
                    author: Some(user("bo")),
                },
            ),
        ];
        for (command, event) in cases {
            assert_eq!(
                decide(&incident, &command, &ctx(&policy)),
                Ok(vec![event]),
                "{command:?}"
            );
        }
    }

    #[test]
    fn every_rejection_says_why() {
        let policy = Policy::default();
        let triage = incident([declared("Payments failing")]);
        let busy = incident([
            declared("Payments failing"),
            lead("ana"),
            moved(Triage, Investigating),
            DomainEvent::SummaryChanged {
                summary: "cards declined".into(),
            },
            DomainEvent::ImpactChanged {
                impact: "EU".into(),
            },
            DomainEvent::RoleAssigned {
                role: role("comms"),
                user: user("bo"),
                previous: None,
            },
            DomainEvent::Pinned {
                message: message("m1"),
                text: "it's DNS".into(),
                author: None,
            },
        ]);
        let closed = led_incident_in(Closed);
        let declined = led_incident_in(Declined);
        let resolved = led_incident_in(Resolved);
        let unled = incident([declared("Payments failing"), moved(Triage, Investigating)]);
        let cases: Vec<(&Incident, Command, &str)> = vec![
            (&closed, Command::Note("late".into()), "INC-4 is closed; nothing can change any more."),
            (&declined, Command::Reopen, "INC-4 is declined; nothing can change any more."),
            (&busy, Command::Lead(Some(user("ana"))), "ana already leads INC-4."),
            (&busy, Command::Severity(severity(2)), "INC-4 is already severity 2 (major)."),
            (&busy, Command::Status(Investigating), "INC-4's status is already investigating."),
            (
                &busy,
                Command::Status(Triage),
                "INC-4 can't move from investigating to triage; from investigating it can move to mitigated, resolved or closed.",
            ),
            (
                &resolved,
                Command::Status(Mitigated),
                "INC-4 can't move from resolved to mitigated; from resolved it can move to investigating or closed.",
            ),
            (
                &unled,
                Command::Close,
                "INC-4 has no lead: assign one with `lead @someone` before closing.",
            ),
            (
                &triage,
                Command::Close,
                "INC-4 is still in triage: `decline` it if it is not an incident, or move it forward (`status investigating`) before closing.",
            ),
            (
                &busy,
                Command::Decline,
                "INC-4 is investigating, and only an incident in triage can be declined; `close` it once it is resolved.",
            ),
            (
                &busy,
                Command::Status(Declined),
                "INC-4 is investigating, and only an incident in triage can be declined; `close` it once it is resolved.",
            ),
            (
                &busy,
                Command::Reopen,
                "INC-4 is investigating, so there is nothing to reopen; only a mitigated or resolved incident can be reopened.",
            ),
            (&busy, Command::Summary("cards declined".into()), "INC-4's summary is already exactly that."),
            (&busy, Command::Impact(" EU ".into()), "INC-4's impact is already exactly that."),
            (&busy, Command::Rename("Payments failing".into()), "INC-4's title is already exactly that."),
            (&busy, Command::Rename(" ".into()), "The title can't be empty."),
            (&busy, Command::Action("".into()), "The action can't be empty."),
            (&busy, Command::Note("\n".into()), "The note can't be empty."),
            (&busy, Command::Summary("".into()), "The summary can't be empty."),
            (&busy, Command::Rename("x".repeat(201)), "The title is too long: keep it to 200 characters or fewer."),
            (&busy, Command::Role { role: role("comms"), user: user("bo") }, "bo already has the role comms on INC-4."),
            (
                &busy,
                Command::Role { role: role("chef"), user: user("bo") },
                "`chef` is not a role here: the roles are comms, scribe, ops.",
            ),
            (
                &busy,
                Command::Pin { message: message("m1"), text: "again".into(), author: None },
                "That message is already pinned to INC-4's timeline.",
            ),
        ];
        for (incident, command, message) in cases {
            let rejection =
                decide(incident, &command, &ctx(&policy)).expect_err("the case is refused");
            assert_eq!(rejection.to_string(), message, "{command:?}");
        }
    }

    #[test]
    fn a_final_incident_refuses_every_command() {
        let policy = Policy::default();
        let commands = [
            Command::Lead(None),
            Command::Severity(severity(1)),
            Command::Status(Investigating),
            Command::Summary("s".into()),
            Command::Impact("i".into()),
            Command::Role {
                role: role("comms"),
                user: user("bo"),
            },
            Command::Action("a".into()),
            Command::Rename("r".into()),
            Command::Note("n".into()),
            Command::Close,
            Command::Reopen,
            Command::Decline,
            Command::Pin {
                message: message("m9"),
                text: "p".into(),
                author: None,
            },
            Command::Update("u".into()),
            Command::Escalate {
                target: "exec-oncall".into(),
                message: None,
            },
            Command::Remind {
                after: Duration::minutes(5),
                text: "r".into(),
            },
            Command::Snooze {
                reminder: ReminderKind::ResolvedUnclosed,
                duration: Duration::minutes(5),
            },
            Command::Dismiss(ReminderKind::ResolvedUnclosed),
        ];
        for status in [Closed, Declined] {
            let incident = led_incident_in(status);
            for command in &commands {
                assert_eq!(
                    decide(&incident, command, &ctx(&policy)),
                    Err(Rejection::Final {
                        id: incident.id(),
                        status
                    }),
                    "{command:?} on a {status} incident"
                );
            }
        }
    }

    #[test]
    fn severity_rejections_use_the_configured_names() {
        let policy = Policy {
            severity_names: ["p1", "p2", "p3", "p4"].map(String::from),
            roles: vec![],
            ..Policy::default()
        };
        let rejection = decide(
            &led_incident_in(Triage),
            &Command::Severity(severity(2)),
            &ctx(&policy),
        )
        .expect_err("same severity");
        assert_eq!(rejection.to_string(), "INC-4 is already severity 2 (p2).");
        let rejection = decide(
            &led_incident_in(Triage),
            &Command::Role {
                role: role("comms"),
                user: user("bo"),
            },
            &ctx(&policy),
        )
        .expect_err("no roles configured");
        assert_eq!(
            rejection.to_string(),
            "`comms` is not a role here: no roles are configured."
        );
    }

    #[test]
    fn declarations_are_validated() {
        let report = |started_at, resolved_at| Report {
            started_at,
            resolved_at,
        };
        let cases: Vec<(&str, Option<Report>, Result<(), &str>)> = vec![
            ("Payments failing", None, Ok(())),
            ("é", None, Ok(())),
            ("  ", None, Err("The title can't be empty.")),
            ("Yesterday", Some(report(t(-60), Some(t(-30)))), Ok(())),
            ("Yesterday", Some(report(t(-60), None)), Ok(())),
            ("Instant", Some(report(t(-60), Some(t(-60)))), Ok(())),
            ("Up to now", Some(report(t(-60), Some(t(0)))), Ok(())),
            (
                "Tomorrow",
                Some(report(t(1), None)),
                Err("An incident can't have started in the future."),
            ),
            (
                "Backwards",
                Some(report(t(-30), Some(t(-60)))),
                Err("An incident can't be resolved before it started."),
            ),
            (
                "Later",
                Some(report(t(-30), Some(t(5)))),
                Err("An incident can't be resolved in the future."),
            ),
        ];
        for (title, report, expected) in cases {
            let result = validate_declaration(title, report.as_ref(), t(0))
                .map_err(|rejection| rejection.to_string());
            assert_eq!(
                result,
                expected.map_err(str::to_owned),
                "{title:?} {report:?}"
            );
        }
        let long = "x".repeat(201);
        assert_eq!(
            validate_declaration(&long, None, t(0)),
            Err(Rejection::TitleTooLong { max: 200 })
        );
        assert_eq!(validate_declaration(&long[..200], None, t(0)), Ok(()));
    }

    #[test]
    fn actions_are_listed_by_number() {
        let policy = Policy::default();
        let none = incident([declared("Payments failing")]);
        assert_eq!(
            answer(&none, &Query::Actions, t(10), &policy),
            "No follow-up actions yet for INC-4: add one with `action <text>`."
        );
        let some = incident([
            declared("Payments failing"),
            DomainEvent::ActionAdded {
                number: 1,
                text: "Add an alert".into(),
            },
            DomainEvent::ActionAdded {
                number: 2,
                text: "Write the review".into(),
            },
        ]);
        assert_eq!(
            answer(&some, &Query::Actions, t(10), &policy),
            "Follow-up actions for INC-4:\n1. Add an alert\n2. Write the review"
        );
    }

    #[test]
    fn duration_gives_the_time_so_far_and_the_milestones() {
        let policy = Policy::default();
        let mut incident = incident([declared("Payments failing")]);
        assert_eq!(
            answer(&incident, &Query::Duration, t(65), &policy),
            "INC-4 has been going on for 1h 5m."
        );
        incident.apply(&lead("ana"), t(3));
        incident.apply(&moved(Triage, Mitigated), t(40));
        assert_eq!(
            answer(&incident, &Query::Duration, t(65), &policy),
            "INC-4 has been going on for 1h 5m. It was acknowledged after 3m and mitigated after 40m."
        );
        incident.apply(&moved(Mitigated, Resolved), t(125));
        assert_eq!(
            answer(&incident, &Query::Duration, t(900), &policy),
            "INC-4 lasted 2h 5m. It was acknowledged after 3m, mitigated after 40m and resolved after 2h 5m."
        );
    }

    #[test]
    fn status_sums_up_the_incident() {
        let policy = Policy::default();
        let mut incident = incident([declared("Payments failing")]);
        assert_eq!(
            answer(&incident, &Query::Status, t(30), &policy),
            "INC-4 “Payments failing” is triage, severity 2 (major). No lead yet. Going on for 30m."
        );
        for event in [
            lead("ana"),
            moved(Triage, Investigating),
            DomainEvent::RoleAssigned {
                role: role("scribe"),
                user: user("cy").with_name("Cy"),
                previous: None,
            },
            DomainEvent::RoleAssigned {
                role: role("comms"),
                user: user("bo"),
                previous: None,
            },
            DomainEvent::SummaryChanged {
                summary: "Cards declined.".into(),
            },
            DomainEvent::ImpactChanged {
                impact: "All EU customers".into(),
            },
        ] {
            incident.apply(&event, t(5));
        }
        assert_eq!(
            answer(&incident, &Query::Status, t(30), &policy),
            "INC-4 “Payments failing” is investigating, severity 2 (major). Lead: ana. Roles: comms bo, scribe Cy. \
             Going on for 30m.\nSummary: Cards declined.\nImpact: All EU customers"
        );
        incident.apply(&moved(Investigating, Resolved), t(45));
        assert!(answer(&incident, &Query::Status, t(90), &policy)
            .contains("is resolved, severity 2 (major). Lead: ana."),);
        assert!(answer(&incident, &Query::Status, t(90), &policy).contains(" It lasted 45m."));
    }

    #[test]
    fn a_report_says_it_was_recorded_after_the_fact() {
        let policy = Policy::default();
        let event = DomainEvent::Declared {
            title: "Outage".into(),
            severity: severity(1),
            summary: None,
            impact: None,
            reporter: user("rita"),
            lead: None,
            platform: firebreak_adapters::Platform::Api,
            private: false,
            report: Some(Report {
                started_at: t(-90),
                resolved_at: Some(t(-30)),
            }),
            labels: Default::default(),
            announce: None,
        };
        let incident = Incident::replay(IncidentId(9), [(event, t(0))]).expect("a report");
        assert_eq!(
            answer(&incident, &Query::Status, t(10), &policy),
            "INC-9 “Outage” is resolved, severity 1 (critical). No lead yet. Recorded after the fact; it lasted 1h."
        );
    }

    /// The default policy with an `exec-oncall` target that severity 1
    /// pages, and a `C0EXEC` conversation it notifies.
    fn paging_policy() -> Policy {
        let mut policy = Policy::default();
        policy.duties.escalation_targets = vec!["exec-oncall".into(), "db-oncall".into()];
        policy.duties.severities[0].page = vec!["exec-oncall".into()];
        policy.duties.severities[0].notify = vec!["C0EXEC".into()];
        policy
    }

    fn duties(level: i64, page: &[&str], notify: &[&str]) -> DomainEvent {
        DomainEvent::DutiesTriggered {
            severity: severity(level),
            page: page.iter().map(|target| (*target).to_owned()).collect(),
            notify: notify.iter().map(|id| (*id).to_owned()).collect(),
        }
    }

    fn changed(from: i64, to: i64) -> DomainEvent {
        DomainEvent::SeverityChanged {
            from: severity(from),
            to: severity(to),
        }
    }

    /// Decides `command` and applies what it decided, as the actor does.
    fn run(incident: &mut Incident, command: Command, policy: &Policy) -> Vec<DomainEvent> {
        let events = decide(incident, &command, &ctx(policy)).expect("the command is accepted");
        for event in &events {
            incident.apply(event, t(100));
        }
        events
    }

    #[test]
    fn raising_the_severity_carries_out_its_duties_once() {
        let policy = paging_policy();
        // Declared at 2, whose duties the engine carried out at once.
        let mut incident = led_incident_in(Investigating);
        let steps: Vec<(i64, Vec<DomainEvent>)> = vec![
            (
                1,
                vec![changed(2, 1), duties(1, &["exec-oncall"], &["C0EXEC"])],
            ),
            (3, vec![changed(1, 3)]),
            (1, vec![changed(3, 1)]),
            (4, vec![changed(1, 4)]),
            (3, vec![changed(4, 3), duties(3, &[], &[])]),
            (2, vec![changed(3, 2)]),
        ];
        for (level, expected) in steps {
            assert_eq!(
                run(&mut incident, Command::Severity(severity(level)), &policy),
                expected,
                "to severity {level}"
            );
        }
        assert_eq!(
            incident
                .duties_triggered()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            vec![severity(1), severity(2), severity(3)]
        );
    }

    #[test]
    fn a_resolved_incident_owes_its_duties_only_once_reopened() {
        let policy = paging_policy();
        let mut incident = led_incident_in(Resolved);
        assert_eq!(
            run(&mut incident, Command::Severity(severity(1)), &policy),
            vec![changed(2, 1)],
            "correcting the severity afterwards pages nobody"
        );
        assert_eq!(
            run(&mut incident, Command::Reopen, &policy),
            vec![
                moved(Resolved, Investigating),
                duties(1, &["exec-oncall"], &["C0EXEC"])
            ]
        );
        run(&mut incident, Command::Status(Resolved), &policy);
        assert_eq!(
            run(&mut incident, Command::Status(Investigating), &policy),
            vec![moved(Resolved, Investigating)],
            "reopening again owes nothing new"
        );
    }

    #[test]
    fn duty_commands_emit_their_events() {
        let policy = paging_policy();
        let incident = led_incident_in(Investigating);
        let cases: Vec<(Command, DomainEvent)> = vec![
            (
                Command::Update(" Rolled back ".into()),
                DomainEvent::UpdatePosted {
                    text: "Rolled back".into(),
                },
            ),
            (
                Command::Escalate {
                    target: "Exec-Oncall".into(),
                    message: Some("the database is gone".into()),
                },
                DomainEvent::Escalated {
                    target: "exec-oncall".into(),
                    message: Some("the database is gone".into()),
                    reason: "escalated by hand".into(),
                },
            ),
            (
                Command::Escalate {
                    target: "db-oncall".into(),
                    message: Some("  ".into()),
                },
                DomainEvent::Escalated {
                    target: "db-oncall".into(),
                    message: None,
                    reason: "escalated by hand".into(),
                },
            ),
            (
                Command::Remind {
                    after: Duration::minutes(30),
                    text: "check the cache".into(),
                },
                DomainEvent::ReminderSet {
                    number: 1,
                    due_at: t(130),
                    text: "check the cache".into(),
                },
            ),
            (
                Command::Snooze {
                    reminder: ReminderKind::UpdateDue,
                    duration: Duration::minutes(20),
                },
                DomainEvent::Snoozed {
                    reminder: ReminderKind::UpdateDue,
                    until: t(120),
                },
            ),
            (
                Command::Dismiss(ReminderKind::UpdateDue),
                DomainEvent::Dismissed {
                    reminder: ReminderKind::UpdateDue,
                },
            ),
        ];
        for (command, event) in cases {
            assert_eq!(
                decide(&incident, &command, &ctx(&policy)),
                Ok(vec![event]),
                "{command:?}"
            );
        }
    }

    #[test]
    fn reminders_are_numbered_in_turn_and_can_be_snoozed_or_dismissed() {
        let policy = Policy::default();
        let mut incident = led_incident_in(Investigating);
        let remind = |text: &str| Command::Remind {
            after: Duration::minutes(10),
            text: text.into(),
        };
        run(&mut incident, remind("one"), &policy);
        let second = run(&mut incident, remind("two"), &policy);
        assert!(matches!(
            second[..],
            [DomainEvent::ReminderSet { number: 2, .. }]
        ));
        let snoozed = run(
            &mut incident,
            Command::Snooze {
                reminder: ReminderKind::Custom(2),
                duration: Duration::hours(1),
            },
            &policy,
        );
        assert_eq!(
            snoozed,
            vec![DomainEvent::Snoozed {
                reminder: ReminderKind::Custom(2),
                until: t(160)
            }]
        );
        run(
            &mut incident,
            Command::Dismiss(ReminderKind::Custom(1)),
            &policy,
        );
        assert_eq!(
            schedule(&incident, &policy)
                .into_iter()
                .map(|due| due.reminder)
                .collect::<Vec<_>>(),
            vec![ReminderKind::UpdateDue, ReminderKind::Custom(2)]
        );
    }

    #[test]
    fn duty_commands_say_why_they_are_refused() {
        let policy = paging_policy();
        let busy = led_incident_in(Investigating);
        let resolved = led_incident_in(Resolved);
        let cases: Vec<(&Incident, Command, &str)> = vec![
            (
                &busy,
                Command::Update(" ".into()),
                "The update can't be empty.",
            ),
            (
                &busy,
                Command::Remind {
                    after: Duration::minutes(5),
                    text: "".into(),
                },
                "The reminder can't be empty.",
            ),
            (
                &busy,
                Command::Remind {
                    after: Duration::zero(),
                    text: "r".into(),
                },
                "A reminder can only be set or snoozed for more than zero and at most 30 days.",
            ),
            (
                &busy,
                Command::Snooze {
                    reminder: ReminderKind::UpdateDue,
                    duration: Duration::days(31),
                },
                "A reminder can only be set or snoozed for more than zero and at most 30 days.",
            ),
            (
                &busy,
                Command::Escalate {
                    target: "ceo".into(),
                    message: None,
                },
                "`ceo` is not an escalation target: the targets are exec-oncall, db-oncall.",
            ),
            (
                &busy,
                Command::Snooze {
                    reminder: ReminderKind::NoLead,
                    duration: Duration::minutes(5),
                },
                "INC-4 has no `lead` reminder pending; pending now: `update`.",
            ),
            (
                &busy,
                Command::Dismiss(ReminderKind::Custom(3)),
                "INC-4 has no `3` reminder pending; pending now: `update`.",
            ),
            (
                &resolved,
                Command::Dismiss(ReminderKind::UpdateDue),
                "INC-4 has no `update` reminder pending; pending now: `resolved`.",
            ),
        ];
        for (incident, command, message) in cases {
            let rejection =
                decide(incident, &command, &ctx(&policy)).expect_err("the case is refused");
            assert_eq!(rejection.to_string(), message, "{command:?}");
        }
        let nothing = Policy::default();
        let mut quiet = nothing.clone();
        quiet.duties.severities[1].update_every = None;
        assert_eq!(
            decide(
                &busy,
                &Command::Dismiss(ReminderKind::UpdateDue),
                &ctx(&quiet)
            )
            .map_err(|rejection| rejection.to_string()),
            Err("INC-4 has no `update` reminder pending; no reminder is pending.".to_owned())
        );
        assert_eq!(
            decide(
                &busy,
                &Command::Escalate {
                    target: "exec-oncall".into(),
                    message: None
                },
                &ctx(&nothing)
            )
            .map_err(|rejection| rejection.to_string()),
            Err(
                "`exec-oncall` is not an escalation target: no escalation targets are configured."
                    .to_owned()
            )
        );
    }

    #[test]
    fn reminders_lists_what_is_pending_and_when() {
        let policy = Policy::default();
        let mut incident = incident([declared("Payments failing")]);
        incident.apply(
            &DomainEvent::ReminderSet {
                number: 1,
                due_at: t(90),
                text: "check the cache".into(),
            },
            t(1),
        );
        assert_eq!(
            answer(&incident, &Query::Reminders, t(10), &policy),
            "Reminders pending for INC-4:\n\
             • `lead` no lead yet: due now\n\
             • `update` a stakeholder update is due: in 20m\n\
             • `1` check the cache: in 1h 20m\n\
             Put one off with `snooze <reminder> <duration>`, or stop it with `dismiss <reminder>`."
        );
        assert_eq!(
            answer(&led_incident_in(Closed), &Query::Reminders, t(10), &policy),
            "No reminders are pending for INC-4."
        );
    }
}

#[cfg(test)]
mod follow_up_tests {
    use super::*;
    use crate::incident::fixtures::{led_incident_in, t, user};
    use crate::incident::Status;

    #[test]
    fn follow_ups_are_done_even_after_closing_but_only_once_and_only_if_they_exist() {
        let policy = Policy::default();
        let context = Context {
            actor: user("ana"),
            now: t(60),
            policy: &policy,
        };
        let mut incident = led_incident_in(Status::Resolved);
        let added = decide(
            &incident,
            &Command::Action("write the runbook".into()),
            &context,
        )
        .expect("added");
        for event in &added {
            incident.apply(event, t(61));
        }
        for event in decide(&incident, &Command::Close, &context).expect("closes") {
            incident.apply(&event, t(62));
        }
        assert!(incident.is_final());
        assert!(
            decide(&incident, &Command::Note("late".into()), &context).is_err(),
            "closed is final"
        );

        let done =
            decide(&incident, &Command::ActionDone(1), &context).expect("done after closing");
        assert_eq!(done, [DomainEvent::ActionCompleted { number: 1 }]);
        incident.apply(&done[0], t(63));
        assert_eq!(incident.open_actions().count(), 0);
        assert_eq!(
            decide(&incident, &Command::ActionDone(1), &context)
                .map_err(|rejection| rejection.to_string()),
            Err(format!("Action 1 of {} is already done.", incident.id()))
        );
        assert!(matches!(
            decide(&incident, &Command::ActionDone(9), &context),
            Err(Rejection::NoSuchAction { number: 9, .. })
        ));
    }
}

#[cfg(test)]
mod alert_tests {
    use super::*;
    use crate::incident::fixtures::{led_incident_in, t, user};
    use crate::incident::Severity;
    use firebreak_adapters::alerts::{parse, AlertBatch, AlertSourceKind};

    /// Grafana's documented webhook shape: one group of two alerts.
    fn batch(statuses: [&str; 2]) -> AlertBatch {
        let alert = |n: usize| {
            format!(
                r#"{{"status": "{}", "labels": {{"alertname": "High memory usage", "zone": "us-{n}"}},
                   "annotations": {{"summary": "memory high"}}, "startsAt": "2026-03-02T09:00:00Z",
                   "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "fp{n}aa",
                   "silenceURL": "", "dashboardURL": "", "panelURL": "", "valueString": ""}}"#,
                statuses[n]
            )
        };
        let body = format!(
            r#"{{"receiver": "firebreak", "status": "firing", "orgId": 1, "alerts": [{}, {}],
                "groupLabels": {{"alertname": "High memory usage"}},
                "commonLabels": {{"alertname": "High memory usage"}}, "commonAnnotations": {{}},
                "externalURL": "https://grafana.example/", "version": "1",
                "groupKey": "{{}}:{{alertname=\"High memory usage\"}}", "truncatedAlerts": 0,
                "title": "[FIRING:2] High memory usage", "state": "alerting", "message": ""}}"#,
            alert(0),
            alert(1)
        );
        let mut batch = parse(AlertSourceKind::Grafana, body.as_bytes()).expect("valid");
        batch.source = "grafana".into();
        batch
    }

    fn receive(statuses: [&str; 2], mitigate: bool) -> Command {
        Command::ReceiveAlerts(Box::new(AlertDelivery {
            batch: batch(statuses),
            group_key: "g".into(),
            storm_key: None,
            mitigate_when_resolved: mitigate,
            severity: None,
        }))
    }

    fn run(
        incident: &mut Incident,
        command: &Command,
        policy: &Policy,
    ) -> Result<Vec<DomainEvent>, Rejection> {
        let context = Context {
            actor: user("grafana"),
            now: t(100),
            policy,
        };
        let events = decide(incident, command, &context)?;
        for event in &events {
            incident.apply(event, t(100));
        }
        Ok(events)
    }

    #[test]
    fn alerts_are_taken_in_and_the_last_to_resolve_mitigates_only_when_asked() {
        let policy = Policy::default();
        for mitigate in [false, true] {
            let mut incident = led_incident_in(Status::Investigating);
            let events = run(
                &mut incident,
                &receive(["firing", "firing"], mitigate),
                &policy,
            )
            .expect("taken in");
            assert_eq!(events.len(), 1);
            assert_eq!(incident.alerts().firing(), 2);
            run(
                &mut incident,
                &receive(["resolved", "firing"], mitigate),
                &policy,
            )
            .expect("taken in");
            assert_eq!(incident.status(), Status::Investigating, "one still fires");
            let events = run(
                &mut incident,
                &receive(["resolved", "resolved"], mitigate),
                &policy,
            )
            .expect("taken in");
            let expected = if mitigate {
                Status::Mitigated
            } else {
                Status::Investigating
            };
            assert_eq!(incident.status(), expected);
            assert_eq!(events.len(), if mitigate { 2 } else { 1 });
            assert_eq!(
                events[0].describe(&policy),
                "2 alerts resolved: High memory usage ×2 (grafana)"
            );
        }
    }

    #[test]
    fn a_detached_alert_is_left_out_and_silence_needs_alerts() {
        let policy = Policy::default();
        let mut incident = led_incident_in(Status::Investigating);
        assert_eq!(
            run(
                &mut incident,
                &Command::Silence(chrono::Duration::hours(1)),
                &policy
            ),
            Err(Rejection::NoAlerts { id: incident.id() })
        );
        assert_eq!(
            answer(&incident, &Query::Alerts, t(100), &policy),
            "INC-4 has no alerts attached."
        );
        run(
            &mut incident,
            &receive(["firing", "firing"], false),
            &policy,
        )
        .expect("taken in");
        assert_eq!(
            run(&mut incident, &Command::Detach("fp".into()), &policy),
            Err(Rejection::AmbiguousAlert {
                id: incident.id(),
                given: "fp".into(),
                fits: 2
            })
        );
        assert!(matches!(
            run(&mut incident, &Command::Detach("zz".into()), &policy),
            Err(Rejection::NoSuchAlert { .. })
        ));
        let events = run(&mut incident, &Command::Detach("FP1".into()), &policy).expect("detached");
        assert_eq!(
            events[0].describe(&policy),
            "Alert High memory usage (fp1aa) detached: it no longer counts here"
        );
        assert_eq!(incident.alerts().firing(), 1);
        // The group fires again, the detached alert with it: left out.
        run(
            &mut incident,
            &receive(["firing", "firing"], false),
            &policy,
        )
        .expect("taken in");
        assert_eq!(incident.alerts().firing(), 1);
        let listed = answer(&incident, &Query::Alerts, t(100), &policy);
        assert!(
            listed.starts_with("INC-4 has 1 alerts: 1 firing, 0 resolved."),
            "{listed}"
        );
        assert!(
            listed.contains("High memory usage {zone=us-0}: firing"),
            "{listed}"
        );
        let events = run(
            &mut incident,
            &Command::Silence(chrono::Duration::hours(1)),
            &policy,
        )
        .expect("silence asked for");
        assert_eq!(events, [DomainEvent::SilenceRequested { until: t(160) }]);
        assert!(matches!(
            run(
                &mut incident,
                &Command::Silence(chrono::Duration::days(400)),
                &policy
            ),
            Err(Rejection::DelayOutOfRange { .. })
        ));
    }

    #[test]
    fn a_more_severe_alert_raises_the_incident_and_a_milder_one_does_not() {
        let policy = Policy::default();
        let mut incident = led_incident_in(Status::Investigating);
        assert_eq!(incident.severity().level(), 2);
        let with = |level: i64, statuses| {
            let Command::ReceiveAlerts(mut delivery) = receive(statuses, false) else {
                unreachable!("receive builds a delivery")
            };
            delivery.severity = Some(Severity::new(level).expect("a severity"));
            Command::ReceiveAlerts(delivery)
        };
        let events = run(&mut incident, &with(3, ["firing", "firing"]), &policy).expect("taken in");
        assert_eq!(
            events.len(),
            1,
            "a milder alert changes nothing but the alerts"
        );
        let events =
            run(&mut incident, &with(1, ["resolved", "resolved"]), &policy).expect("taken in");
        assert_eq!(events.len(), 1, "resolved alerts raise nothing");
        let events = run(&mut incident, &with(1, ["firing", "firing"]), &policy).expect("taken in");
        assert!(
            matches!(events[1], DomainEvent::SeverityChanged { .. }),
            "{events:?}"
        );
        assert_eq!(incident.severity().level(), 1);
    }
}
