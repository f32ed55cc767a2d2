//! Incident identity: the database id and its public form `INC-42`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An incident's id. Shown to people as `INC-<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentId(pub i64);

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "INC-{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an incident reference (expected INC-42 or 42)")]
pub struct IncidentIdError(pub String);

impl FromStr for IncidentId {
    type Err = IncidentIdError;

    /// Accepts `INC-42`, `inc-42` and `42`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let digits = match trimmed.get(..4) {
            Some(prefix) if prefix.eq_ignore_ascii_case("inc-") => &trimmed[4..],
            _ => trimmed,
        };
        match digits.parse::<i64>() {
            Ok(number) if number > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(IncidentId(number))
            }
            _ => Err(IncidentIdError(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_public_and_bare_references() {
        assert_eq!("INC-42".parse(), Ok(IncidentId(42)));
        assert_eq!("inc-7".parse(), Ok(IncidentId(7)));
        assert_eq!(" 3 ".parse(), Ok(IncidentId(3)));
        for bad in ["", "INC-", "INC-0", "INC--1", "-1", "INC-4x", "+4", "INC 4"] {
            assert!(
                bad.parse::<IncidentId>().is_err(),
                "{bad:?} should not parse"
            );
        }
        assert_eq!(IncidentId(42).to_string(), "INC-42");
    }
}
