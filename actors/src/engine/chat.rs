//! Chat in an incident's conversation: commands and plain messages.
//!
//! Each is decided in turn against the state the ones before it left, and
//! everything a run of them changed is written as one change, with the
//! inbox rows they came from. A conversation's backlog (a busy channel, a
//! burst of commands) thereby costs one transaction instead of one per
//! line, which is what the database's round trips, not the CPU, limit.

use super::messages::{ApplyCommand, Execute, MessageSaid, Reply, Source};
use super::run::{answer_in_chat, carry_out_all, named, schedule_of};
use super::timers::Reschedule;
use super::{EngineCore, EngineError};
use crate::incident::{
    answer, decide, help_text, parse_request, Command, Context, DomainEvent, Incident, Request,
};
use crate::metrics::EngineMetrics;
use crate::store::{AppendOutcome, Change, RecordedEvent, StoreError};
use chrono::{DateTime, Utc};
use firebreak_adapters::{ChatEventKind, UserRef};
use std::time::Instant;

/// One line of chat, from its own inbox row, or a command already built
/// (a button, a pin).
#[derive(Debug, Clone)]
pub enum Said {
    Command(Execute),
    Message(MessageSaid),
    Typed(ApplyCommand),
}

impl Said {
    /// The line of chat an event in `source`'s conversation is, if it is
    /// one; anything else comes back as it was.
    pub(super) fn from_event(
        kind: ChatEventKind,
        source: Source,
        origin: Option<i64>,
    ) -> Result<Self, Box<ChatEventKind>> {
        match kind {
            ChatEventKind::Command { text, user, .. } => Ok(Said::Command(Execute {
                text,
                user,
                source,
                origin,
            })),
            ChatEventKind::Message { text, user, .. } => Ok(Said::Message(MessageSaid {
                user,
                text,
                source,
                origin,
            })),
            other => Err(Box::new(other)),
        }
    }

    /// Whether an event would be a line of chat in an incident's
    /// conversation, so that it can be applied with its neighbours.
    pub fn is_line(kind: &ChatEventKind) -> bool {
        matches!(
            kind,
            ChatEventKind::Command { .. } | ChatEventKind::Message { .. }
        )
    }
}

/// A change being put together: the state it leads to and everything
/// that must be written with it.
pub(super) struct Staged {
    next: Incident,
    events: Vec<RecordedEvent>,
    /// What each accepted command changed and who asked: its effects.
    effects: Vec<(Vec<DomainEvent>, Option<UserRef>)>,
    origins: Vec<i64>,
    speakers: Vec<UserRef>,
    /// When each accepted command started, for the latency metric.
    accepted: Vec<Instant>,
}

impl Staged {
    pub(super) fn new(incident: &Incident) -> Self {
        Self {
            next: incident.clone(),
            events: Vec::new(),
            effects: Vec::new(),
            origins: Vec::new(),
            speakers: Vec::new(),
            accepted: Vec::new(),
        }
    }

    pub(super) fn record(
        &mut self,
        events: &[DomainEvent],
        actor: Option<&UserRef>,
        at: DateTime<Utc>,
    ) {
        for event in events {
            self.next.apply(event, at);
            self.events.push(RecordedEvent {
                event: event.clone(),
                actor: actor.cloned(),
                at,
            });
        }
    }

    pub(super) fn claim(&mut self, origin: Option<i64>) {
        self.origins.extend(origin);
    }

    /// Writes the change and, once it is stored, makes `incident` its
    /// state. On a write conflict the incident is reloaded, so the actor
    /// never keeps a state the store does not have.
    pub(super) async fn write(
        &mut self,
        core: &EngineCore,
        incident: &mut Incident,
    ) -> Result<AppendOutcome, EngineError> {
        if self.events.is_empty() && self.origins.is_empty() && self.speakers.is_empty() {
            return Ok(AppendOutcome::Appended);
        }
        let events = std::mem::take(&mut self.events);
        let appended = events.len() as u64;
        // Only events move timers; a run of plain messages skips both
        // schedules.
        let timers = (appended > 0).then(|| schedule_of(core, &self.next));
        let change = Change {
            timers: timers
                .clone()
                .filter(|timers| *timers != schedule_of(core, incident)),
            origins: std::mem::take(&mut self.origins),
            speakers: std::mem::take(&mut self.speakers),
            ..Change::new(incident, self.next.clone(), events)
        };
        match core.changes.append(change).await {
            Ok(AppendOutcome::Appended) => {
                *incident = self.next.clone();
                if let Some(timers) = timers {
                    core.timers.do_send(Reschedule {
                        incident: incident.id(),
                        timers,
                    });
                    EngineMetrics::add(&core.metrics.events_appended, appended);
                }
                EngineMetrics::add(&core.metrics.commands_accepted, self.accepted.len() as u64);
                for started in &self.accepted {
                    core.metrics.observe_command(started.elapsed());
                }
                Ok(AppendOutcome::Appended)
            }
            Ok(AppendOutcome::AlreadyApplied) => Ok(AppendOutcome::AlreadyApplied),
            Err(StoreError::Conflict(id)) => {
                if let Some(stored) = core.store.load_incident(incident.id()).await? {
                    *incident = stored;
                }
                Err(StoreError::Conflict(id).into())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Writes the change and carries out its effects; `reply` is what the
    /// one line it holds answered.
    async fn settle(
        mut self,
        core: &EngineCore,
        incident: &mut Incident,
        reply: Result<Reply, EngineError>,
    ) -> Result<Reply, EngineError> {
        match self.write(core, incident).await? {
            AppendOutcome::Appended => {
                carry_out_all(core, incident, &self.effects).await;
                reply
            }
            AppendOutcome::AlreadyApplied => Ok(Reply {
                text: "Already applied.".to_owned(),
                changes: 0,
            }),
        }
    }
}

/// Applies lines of chat in order as one change. The outer error is the
/// write's, and holds for every line; the inner results are each line's.
pub(super) async fn apply_chat(
    core: &EngineCore,
    incident: &mut Incident,
    lines: &[Said],
) -> Result<Vec<Result<Reply, EngineError>>, EngineError> {
    if let [line] = lines {
        return Ok(vec![apply_line(core, incident, line).await]);
    }
    let mut staged = Staged::new(incident);
    let mut replies = Vec::with_capacity(lines.len());
    for line in lines {
        replies.push(stage_line(core, &mut staged, line).await);
    }
    match staged.write(core, incident).await? {
        AppendOutcome::Appended => {
            carry_out_all(core, incident, &staged.effects).await;
            Ok(replies)
        }
        AppendOutcome::AlreadyApplied => {
            // One of the rows was applied before (a replay after a crash):
            // each line again on its own, so each claims only its row.
            // Answers given while staging may be given twice.
            let mut replies = Vec::with_capacity(lines.len());
            for line in lines {
                replies.push(apply_line(core, incident, line).await);
            }
            Ok(replies)
        }
    }
}

/// Applies one line of chat: a command, or a message.
pub(super) async fn apply_line(
    core: &EngineCore,
    incident: &mut Incident,
    line: &Said,
) -> Result<Reply, EngineError> {
    let mut staged = Staged::new(incident);
    let reply = stage_line(core, &mut staged, line).await;
    staged.settle(core, incident, reply).await
}

async fn stage_line(
    core: &EngineCore,
    staged: &mut Staged,
    line: &Said,
) -> Result<Reply, EngineError> {
    match line {
        Said::Command(command) => stage_text(core, staged, command).await,
        Said::Message(message) => stage_message(core, staged, message).await,
        Said::Typed(typed) => {
            let ApplyCommand {
                command,
                user,
                source,
                origin,
            } = typed;
            stage_command(core, staged, command, user, source, *origin).await
        }
    }
}

async fn stage_text(
    core: &EngineCore,
    staged: &mut Staged,
    said: &Execute,
) -> Result<Reply, EngineError> {
    let incident = &staged.next;
    if matches!(&said.source, Source::Chat(conversation) if Some(conversation) == incident.conversation())
    {
        staged.speakers.push(said.user.clone());
    }
    let request = match parse_request(&said.text, incident.platform(), &core.policy) {
        Ok(request) => request,
        Err(error) => {
            answer_in_chat(core, incident, &said.source, &error.to_string()).await;
            return Err(error.into());
        }
    };
    let text = match request {
        Request::Help => help_text(&core.policy),
        Request::Query(query) => answer(incident, &query, core.clock.now(), &core.policy),
        Request::Declare { .. } => format!(
            "This conversation already belongs to {}. Declare new incidents in the announcement conversation.",
            incident.id()
        ),
        Request::Command(command) => {
            return stage_command(core, staged, &command, &said.user, &said.source, said.origin).await
        }
    };
    answer_in_chat(core, incident, &said.source, &text).await;
    staged.claim(said.origin);
    Ok(Reply { text, changes: 0 })
}

async fn stage_command(
    core: &EngineCore,
    staged: &mut Staged,
    command: &Command,
    user: &UserRef,
    source: &Source,
    origin: Option<i64>,
) -> Result<Reply, EngineError> {
    let started = Instant::now();
    let user = &named(core, user).await;
    let command = &match command {
        Command::Lead(Some(lead)) => Command::Lead(Some(named(core, lead).await)),
        Command::Role { role, user } => Command::Role {
            role: role.clone(),
            user: named(core, user).await,
        },
        other => other.clone(),
    };
    let now = core.clock.now();
    let context = Context {
        actor: user.clone(),
        now,
        policy: &core.policy,
    };
    let events = match decide(&staged.next, command, &context) {
        Ok(events) => events,
        Err(rejection) => {
            EngineMetrics::add(&core.metrics.commands_rejected, 1);
            answer_in_chat(core, &staged.next, source, &rejection.to_string()).await;
            return Err(rejection.into());
        }
    };
    let text = events
        .iter()
        .map(|event| event.describe(&core.policy))
        .collect::<Vec<_>>()
        .join("\n");
    let changes = events.len();
    staged.record(&events, Some(user), now);
    staged.effects.push((events, Some(user.clone())));
    staged.accepted.push(started);
    staged.claim(origin);
    Ok(Reply { text, changes })
}

/// Keyword replies, and (where configured) the lead speaking counts as an
/// update, so a lead who keeps the channel informed is not nagged for a
/// formal `update`.
async fn stage_message(
    core: &EngineCore,
    staged: &mut Staged,
    said: &MessageSaid,
) -> Result<Reply, EngineError> {
    // For the report: who spoke, and how much.
    staged.speakers.push(said.user.clone());
    staged.claim(said.origin);
    let replies = core.keywords.replies_to(&said.text);
    if !replies.is_empty() {
        answer_in_chat(core, &staged.next, &said.source, &replies.join("\n")).await;
    }
    let now = core.clock.now();
    let incident = &staged.next;
    let counts = core.lead_message_counts_as_update
        && incident.status().is_active()
        && incident.lead() == Some(&said.user)
        && core
            .policy
            .duties_for(incident.severity())
            .update_every
            .is_some_and(|every| {
                // Only worth recording once the cadence is half gone; every
                // message of a chatty lead would otherwise fill the timeline.
                let since = incident.last_update_at().unwrap_or(incident.declared_at());
                now - since >= every / 2
            });
    if !counts {
        return Ok(Reply {
            text: replies.join("\n"),
            changes: 0,
        });
    }
    let event = DomainEvent::LeadSpoke {};
    let text = event.describe(&core.policy);
    staged.record(std::slice::from_ref(&event), Some(&said.user), now);
    Ok(Reply { text, changes: 1 })
}
