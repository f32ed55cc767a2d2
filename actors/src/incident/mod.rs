//! The incident domain: state, command grammar and the state machine.
//!
//! Plain data and plain functions, free of actix, the database and the
//! clock (time comes in as a value), so every rule lives here and is unit
//! tested here. The actor shell receives, calls [`decide`], persists the
//! events and then calls [`Incident::apply`].

mod command;
mod decide;
mod event;
#[cfg(test)]
mod fixtures;
mod policy;
mod reference;
mod severity;
mod state;
mod status;

pub use command::{
    help_text, parse_request, Command, ParseError, Query, Request, MAX_TEXT_CHARS, MAX_TITLE_CHARS,
};
pub use decide::{answer, decide, human_duration, validate_declaration, Context, Rejection};
pub use event::{DomainEvent, Report};
pub use policy::{Policy, RoleName, RoleNameError};
pub use reference::{IncidentId, IncidentIdError};
pub use severity::{Severity, SeverityError};
pub use state::{FollowUpAction, Incident, Pin, ReplayError};
pub use status::{Status, StatusError};
