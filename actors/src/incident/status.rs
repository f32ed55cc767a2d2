//! The status of an incident and which moves between statuses are allowed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// `triage → investigating → mitigated → resolved → closed`, plus
/// `declined` from triage. Closed and declined are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Triage,
    Investigating,
    Mitigated,
    Resolved,
    Closed,
    Declined,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Triage,
        Status::Investigating,
        Status::Mitigated,
        Status::Resolved,
        Status::Closed,
        Status::Declined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Triage => "triage",
            Status::Investigating => "investigating",
            Status::Mitigated => "mitigated",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Declined => "declined",
        }
    }

    /// No command changes a final incident any more.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Declined)
    }

    /// Still needs people: not yet resolved (or beyond).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Status::Triage | Status::Investigating | Status::Mitigated
        )
    }

    /// Whether moving from `self` to `to` is allowed by the status machine.
    /// Forward moves may skip steps (an incident can be declared after it
    /// was already mitigated); going back to investigating is a reopen and
    /// is only possible from mitigated or resolved.
    pub fn can_move_to(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (Triage, Investigating | Mitigated | Resolved | Declined)
                | (Investigating, Mitigated | Resolved)
                | (Mitigated, Resolved | Investigating)
                | (Resolved, Closed | Investigating)
        )
    }

    /// A move back to investigating.
    pub fn is_reopen(from: Status, to: Status) -> bool {
        matches!(from, Status::Mitigated | Status::Resolved) && to == Status::Investigating
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a status (triage, investigating, mitigated, resolved, closed, declined)")]
pub struct StatusError(pub String);

impl FromStr for Status {
    type Err = StatusError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| StatusError(text.trim().to_owned()))
    }
}
