//! The messages actors exchange, each named for what the sender wants.

use super::EngineError;
use crate::incident::{Incident, Report, Severity};
use actix::Message;
use firebreak_adapters::{ChatEvent, ConversationRef, Platform, UserRef};

/// Where a command came from, which decides where its answer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Typed in chat: answers go back to that conversation.
    Chat(ConversationRef),
    /// Sent through the admin API: the answer is the HTTP response.
    Api,
    /// From somewhere shared (a button on the headline): answers go to the
    /// incident's own conversation rather than the announcement channel.
    IncidentConversation,
}

/// A new incident, from the API, a chat command or a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclareRequest {
    pub title: String,
    pub severity: Option<Severity>,
    pub summary: Option<String>,
    pub impact: Option<String>,
    pub reporter: UserRef,
    pub lead: Option<UserRef>,
    pub platform: Platform,
    pub private: bool,
    pub report: Option<Report>,
    pub labels: std::collections::BTreeMap<String, String>,
    /// Where to announce it, when not the platform's announcement
    /// conversation.
    pub announce: Option<ConversationRef>,
}

/// Declare an incident; answered with its state once it is stored (its
/// conversation and headline follow from the new actor). `None` when the
/// inbox row it came from was already applied.
#[derive(Message)]
#[rtype(result = "Result<Option<Incident>, EngineError>")]
pub struct Declare {
    pub request: DeclareRequest,
    pub origin: Option<i64>,
}

/// Command text (`severity 1`) for one incident: a line of chat, or an
/// API command.
#[derive(Debug, Clone)]
pub struct Execute {
    pub text: String,
    pub user: UserRef,
    pub source: Source,
    /// The inbox row this came from, claimed in the same transaction as
    /// the events so it applies once.
    pub origin: Option<i64>,
}

/// What a command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The answer for a person: what changed, or the answer to a question.
    pub text: String,
    /// How many events were appended.
    pub changes: usize,
}

/// Route one inbound chat event.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Handled, EngineError>")]
pub struct HandleChatEvent {
    pub event: ChatEvent,
    /// The inbox row, when it carries this one event alone.
    pub origin: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Reached an incident or declared one.
    Applied,
    /// Answered in chat without changing anything (help, a rejection).
    Answered,
    /// Nothing to do (not about any incident).
    Ignored,
}

/// Ask for an incident's current state.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Incident")]
pub struct Snapshot;

/// Apply an already-built command (a pin, a button press) to an incident.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Reply, EngineError>")]
pub struct ApplyCommand {
    pub command: crate::incident::Command,
    pub user: UserRef,
    pub source: Source,
    pub origin: Option<i64>,
}

/// Someone joined the incident conversation: greet and brief them.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Reply, EngineError>")]
pub struct Welcome {
    pub user: UserRef,
}

/// Run command text against an incident by id (the admin API's way in).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Reply, EngineError>")]
pub struct RunCommand {
    pub incident: crate::incident::IncidentId,
    pub text: String,
    pub user: UserRef,
}

/// Apply a typed command to an incident by id: what the admin API and
/// the web pages send when there is no text to parse (review edits).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Reply, EngineError>")]
pub struct RunTypedCommand {
    pub incident: crate::incident::IncidentId,
    pub command: crate::incident::Command,
    pub user: UserRef,
}

/// Open the edit form for someone who pressed Edit.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Reply, EngineError>")]
pub struct OpenEditForm {
    pub user: UserRef,
    pub trigger: Option<String>,
}

/// The edit form came back: change whatever differs from now.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Reply, EngineError>")]
pub struct ApplyEdits {
    pub values: std::collections::BTreeMap<String, String>,
    pub user: UserRef,
    pub origin: Option<i64>,
}

/// The incident conversation was renamed on the platform.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Reply, EngineError>")]
pub struct RecordConversationRename {
    pub name: String,
    pub origin: Option<i64>,
}

/// One of the incident's timers fell due.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Reply, EngineError>")]
pub struct FireTimer {
    /// The reminder, in its stored form (`update_due`, `role_unfilled:comms`).
    pub reminder: String,
}

/// Someone said something (not a command) in the incident conversation.
#[derive(Debug, Clone)]
pub struct MessageSaid {
    pub user: UserRef,
    pub text: String,
    pub source: Source,
    pub origin: Option<i64>,
}

/// Lines of chat in the incident's conversation, in the order they were
/// said, applied as one change (see `chat`). The outer error is the
/// write's and holds for every line; the inner results are each line's.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<Result<Reply, EngineError>>, EngineError>")]
pub struct ApplyChat {
    pub lines: Vec<super::chat::Said>,
}

/// Route chat events of one conversation, each from its own inbox row and
/// in order; answered with each one's outcome.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Vec<Result<Handled, EngineError>>")]
pub struct HandleChatBatch {
    pub conversation: ConversationRef,
    pub events: Vec<(ChatEvent, i64)>,
}

/// Place a delivery of alerts from the inbox: a new incident is opened
/// (or the delivery recorded) before this is answered; a delivery for an
/// open incident is answered with where it goes, for [`FileAlerts`].
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<super::alert_intake::Placed, EngineError>")]
pub struct PlaceAlerts {
    pub batch: firebreak_adapters::alerts::AlertBatch,
    pub origin: i64,
}

/// Deliveries of alerts for one open incident, applied as one change.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<Result<Reply, EngineError>>, EngineError>")]
pub struct FileAlerts {
    pub incident: crate::incident::IncidentId,
    pub deliveries: Vec<ApplyCommand>,
}
