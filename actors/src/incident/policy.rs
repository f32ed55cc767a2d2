//! The organisation's incident process as far as the grammar and the state
//! machine need it: what the severities are called and which roles exist.

use super::severity::Severity;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A configurable role such as `comms` or `scribe`. Lower-case letters,
/// digits, `-` and `_`, 1 to 32 characters. `lead` is not a role name: the
/// lead is its own field with its own command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleNameError {
    #[error("a role name needs 1 to 32 characters of a-z, 0-9, - or _; `{0}` is not one")]
    Invalid(String),
    #[error("`lead` is not a role: use the `lead` command")]
    Lead,
}

impl RoleName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RoleName {
    type Err = RoleNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let name = text.trim().to_ascii_lowercase();
        let valid = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            return Err(RoleNameError::Invalid(text.trim().to_owned()));
        }
        if name == "lead" {
            return Err(RoleNameError::Lead);
        }
        Ok(RoleName(name))
    }
}

impl TryFrom<String> for RoleName {
    type Error = RoleNameError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<RoleName> for String {
    fn from(role: RoleName) -> String {
        role.0
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Severity names and roles, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Names of severities 1 to 4, in that order; matched case-insensitively.
    pub severity_names: [String; 4],
    pub roles: Vec<RoleName>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            severity_names: ["critical", "major", "minor", "trivial"].map(String::from),
            roles: ["comms", "scribe", "ops"]
                .into_iter()
                .filter_map(|name| name.parse().ok())
                .collect(),
        }
    }
}

impl Policy {
    pub fn severity_name(&self, severity: Severity) -> &str {
        &self.severity_names[usize::from(severity.level() - 1)]
    }

    /// `1 (critical)`: how a severity is shown to people.
    pub fn severity_label(&self, severity: Severity) -> String {
        format!("{} ({})", severity.level(), self.severity_name(severity))
    }

    /// A severity by number (`1`), by name (`critical`) or as `sev1`.
    pub fn severity_by_name(&self, text: &str) -> Option<Severity> {
        let text = text.trim();
        let lowered = text.to_ascii_lowercase();
        let number = lowered.strip_prefix("sev").unwrap_or(&lowered);
        if let Ok(level) = number.parse::<i64>() {
            return Severity::new(level).ok();
        }
        Severity::ALL
            .into_iter()
            .find(|severity| self.severity_name(*severity).eq_ignore_ascii_case(text))
    }

    pub fn has_role(&self, role: &RoleName) -> bool {
        self.roles.contains(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_found_by_number_name_or_sev_prefix() {
        let policy = Policy::default();
        assert_eq!(policy.severity_by_name("1"), Severity::new(1).ok());
        assert_eq!(policy.severity_by_name("Critical"), Severity::new(1).ok());
        assert_eq!(policy.severity_by_name("sev3"), Severity::new(3).ok());
        assert_eq!(policy.severity_by_name("SEV4"), Severity::new(4).ok());
        assert_eq!(policy.severity_by_name("trivial"), Severity::new(4).ok());
        assert_eq!(policy.severity_by_name("0"), None);
        assert_eq!(policy.severity_by_name("5"), None);
        assert_eq!(policy.severity_by_name("huge"), None);
        assert_eq!(policy.severity_label(Severity::MOST_SEVERE), "1 (critical)");
    }

    #[test]
    fn configured_names_replace_the_defaults() {
        let policy = Policy {
            severity_names: ["p1", "p2", "p3", "p4"].map(String::from),
            roles: vec![],
        };
        assert_eq!(policy.severity_by_name("P2"), Severity::new(2).ok());
        assert_eq!(policy.severity_by_name("critical"), None);
    }

    #[test]
    fn role_names_are_validated() {
        assert_eq!(
            "Comms".parse::<RoleName>().map(|r| r.to_string()),
            Ok("comms".to_owned())
        );
        assert_eq!("lead".parse::<RoleName>(), Err(RoleNameError::Lead));
        for bad in ["", "two words", "émoji", &"x".repeat(33)] {
            assert!(
                bad.parse::<RoleName>().is_err(),
                "{bad:?} should be invalid"
            );
        }
    }
}
