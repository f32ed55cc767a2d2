//! The organisation's incident process as far as the grammar and the state
//! machine need it: what the severities are called, which roles exist, and
//! the duties each severity carries (who is paged and notified, which roles
//! must be filled, how often stakeholders hear from the lead) with the
//! delays after which people are reminded of what is left undone.

use super::severity::Severity;
use chrono::Duration;
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

/// Severity names, roles and duties, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Names of severities 1 to 4, in that order; matched case-insensitively.
    pub severity_names: [String; 4],
    pub roles: Vec<RoleName>,
    pub duties: DutyPolicy,
}

/// What the organisation expects to happen while an incident is open, and
/// when the bot should nudge people about what hasn't.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutyPolicy {
    pub reminders: ReminderDelays,
    /// Duties of severities 1 to 4, in that order.
    pub severities: [SeverityDuties; 4],
    /// The escalation targets that exist (configured by name with their
    /// paging integration); `escalate <target>` and `page` lists may only
    /// name these.
    pub escalation_targets: Vec<String>,
}

/// How long a condition may last before the bot reminds people of it. A
/// reminder repeats every same interval while the condition holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderDelays {
    /// Counted from the declaration.
    pub no_lead_after: Duration,
    /// Counted from when the incident reached its current severity, since
    /// that is when the role became required.
    pub unfilled_role_after: Duration,
    pub mitigated_unresolved_after: Duration,
    pub resolved_unclosed_after: Duration,
}

/// The duties one severity carries. Its default is no duties at all,
/// apart from escalating after [`DEFAULT_ESCALATE_AFTER_MISSED_UPDATES`]
/// should a cadence be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityDuties {
    /// Escalation targets paged when an incident reaches this severity, and
    /// when its updates are missed too often.
    pub page: Vec<String>,
    /// Conversation ids, on the incident's own platform, told when an
    /// incident reaches this severity and sent every stakeholder update.
    pub notify: Vec<String>,
    /// Roles someone must hold at this severity.
    pub require_roles: Vec<RoleName>,
    /// How often stakeholders must hear from the lead; `None` for no cadence.
    pub update_every: Option<Duration>,
    /// After this many update reminders in a row the `page` targets are
    /// paged; 0 never escalates.
    pub escalate_after_missed_updates: u32,
}

/// The second missed update escalates: one miss is a busy lead, two is a
/// lead who needs help.
pub const DEFAULT_ESCALATE_AFTER_MISSED_UPDATES: u32 = 2;

/// Why a policy does not hang together; found at start-up rather than when
/// an incident needs it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "severity {severity} requires the role `{role}`, which is not one of the configured roles"
    )]
    UnknownRequiredRole { severity: Severity, role: RoleName },
    #[error("severity {severity} pages `{target}`, which is not a configured escalation target")]
    UnknownPageTarget { severity: Severity, target: String },
    #[error("{what} must be more than zero")]
    NotPositive { what: String },
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            severity_names: ["critical", "major", "minor", "trivial"].map(String::from),
            roles: ["comms", "scribe", "ops"]
                .into_iter()
                .filter_map(|name| name.parse().ok())
                .collect(),
            duties: DutyPolicy::default(),
        }
    }
}

impl Default for SeverityDuties {
    fn default() -> Self {
        Self {
            page: Vec::new(),
            notify: Vec::new(),
            require_roles: Vec::new(),
            update_every: None,
            escalate_after_missed_updates: DEFAULT_ESCALATE_AFTER_MISSED_UPDATES,
        }
    }
}

impl Default for ReminderDelays {
    fn default() -> Self {
        Self {
            no_lead_after: Duration::minutes(5),
            unfilled_role_after: Duration::minutes(10),
            mitigated_unresolved_after: Duration::hours(1),
            resolved_unclosed_after: Duration::hours(24),
        }
    }
}

/// Severity 1 needs a comms person and an update every 15 minutes, 2 and 3
/// an update every 30 minutes and 2 hours, 4 nothing but the reminders
/// every incident gets. Nothing is paged or notified by default: no
/// escalation target or conversation exists until one is configured.
impl Default for DutyPolicy {
    fn default() -> Self {
        let duties = |update_every: Option<Duration>, require_roles: &[&str]| SeverityDuties {
            require_roles: require_roles
                .iter()
                .filter_map(|name| name.parse().ok())
                .collect(),
            update_every,
            ..SeverityDuties::default()
        };
        Self {
            reminders: ReminderDelays::default(),
            severities: [
                duties(Some(Duration::minutes(15)), &["comms"]),
                duties(Some(Duration::minutes(30)), &[]),
                duties(Some(Duration::hours(2)), &[]),
                duties(None, &[]),
            ],
            escalation_targets: Vec::new(),
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

    pub fn duties_for(&self, severity: Severity) -> &SeverityDuties {
        &self.duties.severities[usize::from(severity.level() - 1)]
    }

    /// A configured escalation target by name, case-insensitively, spelled
    /// as configured.
    pub fn escalation_target(&self, name: &str) -> Option<&str> {
        self.duties
            .escalation_targets
            .iter()
            .find(|target| target.eq_ignore_ascii_case(name.trim()))
            .map(String::as_str)
    }

    /// `the targets are a, b`, or `no escalation targets are configured`:
    /// the end of a sentence refusing a target that does not exist.
    pub fn known_escalation_targets(&self) -> String {
        let targets = &self.duties.escalation_targets;
        if targets.is_empty() {
            "no escalation targets are configured".to_owned()
        } else {
            format!("the targets are {}", targets.join(", "))
        }
    }

    /// Checks that the duties only name roles and targets that exist and
    /// that every delay is positive. The configuration loader calls it, so
    /// a bad policy stops the start rather than a reminder.
    pub fn check(&self) -> Result<(), PolicyError> {
        let reminders = &self.duties.reminders;
        let mut delays = vec![
            (
                "reminders.no_lead_after".to_owned(),
                reminders.no_lead_after,
            ),
            (
                "reminders.unfilled_role_after".to_owned(),
                reminders.unfilled_role_after,
            ),
            (
                "reminders.mitigated_unresolved_after".to_owned(),
                reminders.mitigated_unresolved_after,
            ),
            (
                "reminders.resolved_unclosed_after".to_owned(),
                reminders.resolved_unclosed_after,
            ),
        ];
        for severity in Severity::ALL {
            let duties = self.duties_for(severity);
            if let Some(role) = duties
                .require_roles
                .iter()
                .find(|role| !self.has_role(role))
            {
                return Err(PolicyError::UnknownRequiredRole {
                    severity,
                    role: role.clone(),
                });
            }
            if let Some(target) = duties
                .page
                .iter()
                .find(|target| !self.duties.escalation_targets.contains(target))
            {
                return Err(PolicyError::UnknownPageTarget {
                    severity,
                    target: target.clone(),
                });
            }
            if let Some(every) = duties.update_every {
                delays.push((format!("severity.{severity}.update_every"), every));
            }
        }
        match delays
            .into_iter()
            .find(|(_, delay)| *delay <= Duration::zero())
        {
            Some((what, _)) => Err(PolicyError::NotPositive { what }),
            None => Ok(()),
        }
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
            ..Policy::default()
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

    #[test]
    fn default_duties_grow_with_severity() {
        let policy = Policy::default();
        let sev = |level| Severity::new(level).expect("a severity");
        let critical = policy.duties_for(sev(1));
        assert_eq!(critical.require_roles, vec![role("comms")]);
        assert_eq!(critical.update_every, Some(Duration::minutes(15)));
        assert_eq!(critical.escalate_after_missed_updates, 2);
        assert_eq!(
            policy.duties_for(sev(2)).update_every,
            Some(Duration::minutes(30))
        );
        assert_eq!(
            policy.duties_for(sev(3)).update_every,
            Some(Duration::hours(2))
        );
        assert_eq!(policy.duties_for(sev(4)), &SeverityDuties::default());
        assert_eq!(SeverityDuties::default().escalate_after_missed_updates, 2);
        for severity in Severity::ALL {
            let duties = policy.duties_for(severity);
            assert!(duties.page.is_empty() && duties.notify.is_empty());
        }
        assert_eq!(
            policy.duties.reminders,
            ReminderDelays {
                no_lead_after: Duration::minutes(5),
                unfilled_role_after: Duration::minutes(10),
                mitigated_unresolved_after: Duration::hours(1),
                resolved_unclosed_after: Duration::hours(24),
            }
        );
        assert_eq!(policy.check(), Ok(()));
    }

    #[test]
    fn escalation_targets_are_found_by_name() {
        let mut policy = Policy::default();
        policy.duties.escalation_targets = vec!["exec-oncall".into()];
        assert_eq!(
            policy.escalation_target(" Exec-Oncall"),
            Some("exec-oncall")
        );
        assert_eq!(policy.escalation_target("db-oncall"), None);
    }

    #[test]
    fn a_policy_naming_what_does_not_exist_is_refused() {
        let sev1 = Severity::MOST_SEVERE;
        let unknown_role = Policy {
            roles: vec![role("scribe")],
            ..Policy::default()
        };
        assert_eq!(
            unknown_role.check(),
            Err(PolicyError::UnknownRequiredRole {
                severity: sev1,
                role: role("comms")
            })
        );

        let mut unknown_target = Policy::default();
        unknown_target.duties.severities[0].page = vec!["exec-oncall".into()];
        assert_eq!(
            unknown_target.check(),
            Err(PolicyError::UnknownPageTarget {
                severity: sev1,
                target: "exec-oncall".into()
            })
        );
        unknown_target.duties.escalation_targets = vec!["exec-oncall".into()];
        assert_eq!(unknown_target.check(), Ok(()));

        let mut zero = Policy::default();
        zero.duties.severities[2].update_every = Some(Duration::zero());
        assert_eq!(
            zero.check().map_err(|error| error.to_string()),
            Err("severity.3.update_every must be more than zero".to_owned())
        );
        let mut negative = Policy::default();
        negative.duties.reminders.no_lead_after = Duration::minutes(-1);
        assert_eq!(
            negative.check().map_err(|error| error.to_string()),
            Err("reminders.no_lead_after must be more than zero".to_owned())
        );
    }

    fn role(name: &str) -> RoleName {
        name.parse().expect("a valid role name")
    }
}
