//! The actor shell around the incident domain.
//!
//! * [`Supervisor`] — one per process: owns the map of live incident
//!   actors, routes chat events to them by conversation, declares new
//!   incidents, rehydrates open ones at start-up and restarts crashed ones
//!   from the store. Which incidents this process owns is decided here and
//!   nowhere else.
//! * [`IncidentActor`] — one per live incident: serialises everything that
//!   happens to it (decide → persist → effects).
//! * [`InboxWorker`] — drains the durable inbox into the supervisor.

mod alert_intake;
mod answer;
mod chat;
mod core;
mod duties;
mod inbox_worker;
mod incident_actor;
mod messages;
mod run;
mod supervisor;
mod timers;
mod workflows;

pub use self::core::{EngineCore, Keywords, PlatformEndpoint, Platforms};
pub use alert_intake::{AlertRoute, AlertRules};
pub use inbox_worker::InboxWorker;
pub use incident_actor::IncidentActor;
pub use messages::{
    ApplyCommand, Declare, DeclareRequest, Execute, HandleChatEvent, Handled, Reply, RunCommand,
    RunTypedCommand, Snapshot, Source, Welcome,
};
pub use supervisor::{IsReady, Rehydrate, Supervisor, TimerFired, DECLARE_FORM};
pub use timers::{AttachSupervisor, PendingCount, Reschedule, TimerWheel};
pub use workflows::{Trigger, TriggerError, WorkflowRule};

use crate::incident::{IncidentId, ParseError, Rejection};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The command was understood but is not allowed now.
    #[error("{0}")]
    Rejected(#[from] Rejection),
    /// The text is not a command.
    #[error("{0}")]
    Unparsable(#[from] ParseError),
    #[error("no incident {0}")]
    NotFound(IncidentId),
    /// The incident's actor kept crashing and is left stopped.
    #[error("{0} is unavailable after repeated failures; see the logs")]
    Unavailable(IncidentId),
    /// The incident's actor crashed and is being started again.
    #[error("{0} is restarting; try again shortly")]
    Restarting(IncidentId),
    /// This process does not own the incident (another replica does).
    #[error("{0} is owned by another replica")]
    NotOwned(IncidentId),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("actor mailbox error: {0}")]
    Mailbox(#[from] actix::MailboxError),
    /// The write of a run of chat lines failed, and so each of them.
    #[error("{reason}")]
    Batch { reason: String, transient: bool },
}

impl EngineError {
    /// The same failure for each of `count` requests that shared it (one
    /// write for several lines): what names the incident is kept, so an
    /// API caller still learns "not found"; the rest is carried as text.
    pub(crate) fn shared(self, count: usize) -> Vec<EngineError> {
        let copy = |error: &EngineError| match error {
            EngineError::NotFound(id) => EngineError::NotFound(*id),
            EngineError::Unavailable(id) => EngineError::Unavailable(*id),
            EngineError::Restarting(id) => EngineError::Restarting(*id),
            EngineError::NotOwned(id) => EngineError::NotOwned(*id),
            other => EngineError::Batch {
                reason: other.to_string(),
                transient: other.is_transient(),
            },
        };
        let mut all: Vec<EngineError> = (1..count).map(|_| copy(&self)).collect();
        if count > 0 {
            all.insert(0, self);
        }
        all
    }

    /// Whether trying again later could succeed (the inbox keeps the row).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            EngineError::Store(_)
                | EngineError::Mailbox(_)
                | EngineError::NotOwned(_)
                | EngineError::Batch {
                    transient: true,
                    ..
                }
        )
    }
}
