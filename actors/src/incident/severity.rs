//! Severity: 1 (critical) to 4 (trivial). Names are configurable
//! ([`crate::incident::Policy`]); the number is what rules compare.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Severity(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("severity must be 1 (most severe) to 4, not {0}")]
pub struct SeverityError(pub i64);

impl Severity {
    pub const MOST_SEVERE: Severity = Severity(1);
    pub const LEAST_SEVERE: Severity = Severity(4);
    pub const ALL: [Severity; 4] = [Severity(1), Severity(2), Severity(3), Severity(4)];

    pub fn new(level: i64) -> Result<Self, SeverityError> {
        match level {
            1..=4 => Ok(Severity(level as u8)),
            _ => Err(SeverityError(level)),
        }
    }

    pub fn level(self) -> u8 {
        self.0
    }

    /// Whether `self` is more severe than `other` (a lower number).
    pub fn is_more_severe_than(self, other: Severity) -> bool {
        self.0 < other.0
    }
}

impl TryFrom<u8> for Severity {
    type Error = SeverityError;
    fn try_from(level: u8) -> Result<Self, Self::Error> {
        Severity::new(i64::from(level))
    }
}

impl From<Severity> for u8 {
    fn from(severity: Severity) -> u8 {
        severity.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
