//! The incident domain: state, command grammar and the state machine, plus
//! the duties a severity carries and the reminders that enforce them.
//!
//! Plain data and plain functions, free of actix, the database and the
//! clock (time comes in as a value), so every rule lives here and is unit
//! tested here. The actor shell receives, calls [`decide`], persists the
//! events and then calls [`Incident::apply`]; its timers ask [`schedule`]
//! when to wake up and [`on_timer`] what to do then.

mod alerts;
mod command;
mod decide;
mod duration;
mod duties;
mod event;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod hostile;
mod policy;
mod reference;
mod reminder;
mod schedule;
mod severity;
mod state;
mod status;
mod status_page;

pub use alerts::{label_text, AlertGroup, AttachedAlert, IncidentAlerts, Silence};
pub use command::{
    help_text, parse_request, AlertDelivery, Command, ParseError, Query, Request, MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
};
pub use decide::{answer, decide, validate_declaration, Context, Rejection, ESCALATED_BY_HAND};
pub use duration::{
    format_duration, human_duration, parse_duration, DurationError, MAX_DURATION_DAYS,
};
pub use duties::duties_on_declare;
pub use event::{DomainEvent, Report};
pub use policy::{
    DutyPolicy, Policy, PolicyError, ReminderDelays, RoleName, RoleNameError, SeverityDuties,
    DEFAULT_ESCALATE_AFTER_MISSED_UPDATES,
};
pub use reference::{IncidentId, IncidentIdError};
pub use reminder::{ReminderKind, ReminderKindError};
pub use schedule::{on_timer, schedule, Due};
pub use severity::{Severity, SeverityError};
pub use state::{CustomReminder, FollowUpAction, Incident, Pin, ReplayError};
pub use status::{Status, StatusError};
pub use status_page::StatusPageState;
