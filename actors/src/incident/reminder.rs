//! Which reminder is meant: the bot's own (no lead, a role unfilled, an
//! update due, mitigated but unresolved, resolved but unclosed) or one
//! someone set with `remind`.
//!
//! A [`ReminderKind`] names a reminder across its whole life: the schedule,
//! the stored events (`reminder_sent`, `snoozed`, `dismissed`) and what
//! people type to `snooze` or `dismiss` it. Its stored form is a short
//! string (`no_lead`, `role_unfilled:comms`, `custom:3`), which also keys
//! the nag counts and is what [`fmt::Display`] writes.

use super::policy::{RoleName, RoleNameError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ReminderKind {
    /// Nobody has taken the lead.
    NoLead,
    /// A role the current severity requires has nobody in it.
    RoleUnfilled(RoleName),
    /// Stakeholders are owed an update.
    UpdateDue,
    /// Mitigated for a while without being resolved.
    MitigatedUnresolved,
    /// Resolved for a while without being closed.
    ResolvedUnclosed,
    /// One set with `remind <duration> <text>`, by its number.
    Custom(u32),
}

/// Why some text does not name a reminder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReminderKindError {
    #[error("`{0}` is not a reminder: use lead, role:<role>, update, mitigated, resolved or a reminder's number.")]
    Unknown(String),
    #[error("`{given}` is not a reminder: {reason}.")]
    BadRole {
        given: String,
        reason: RoleNameError,
    },
}

impl ReminderKind {
    /// How people name it in `snooze` and `dismiss`: `lead`, `role:comms`,
    /// `update`, `mitigated`, `resolved`, `3`.
    pub fn short_name(&self) -> String {
        match self {
            ReminderKind::NoLead => "lead".to_owned(),
            ReminderKind::RoleUnfilled(role) => format!("role:{role}"),
            ReminderKind::UpdateDue => "update".to_owned(),
            ReminderKind::MitigatedUnresolved => "mitigated".to_owned(),
            ReminderKind::ResolvedUnclosed => "resolved".to_owned(),
            ReminderKind::Custom(number) => number.to_string(),
        }
    }

    /// What the reminder is about, as a phrase: `no lead yet`.
    pub fn about(&self) -> String {
        match self {
            ReminderKind::NoLead => "no lead yet".to_owned(),
            ReminderKind::RoleUnfilled(role) => format!("nobody has the role {role}"),
            ReminderKind::UpdateDue => "a stakeholder update is due".to_owned(),
            ReminderKind::MitigatedUnresolved => "mitigated but not resolved".to_owned(),
            ReminderKind::ResolvedUnclosed => "resolved but not closed".to_owned(),
            ReminderKind::Custom(number) => format!("reminder {number}"),
        }
    }

    /// The command that settles the reminder, for the chat message that
    /// sends it, so the easiest reply is the right one. `None` for a
    /// reminder someone set: its text says what to do.
    pub fn remedy(&self) -> Option<String> {
        let remedy = match self {
            ReminderKind::NoLead => {
                "take the lead with `lead`, or give it with `lead @someone`".to_owned()
            }
            ReminderKind::RoleUnfilled(role) => format!("give it with `role {role} @someone`"),
            ReminderKind::UpdateDue => "post one with `update <text>`".to_owned(),
            ReminderKind::MitigatedUnresolved => {
                "`status resolved` once it is fixed, or `reopen` if it is back".to_owned()
            }
            ReminderKind::ResolvedUnclosed => {
                "`close` it once the follow-up actions are written down".to_owned()
            }
            ReminderKind::Custom(_) => return None,
        };
        Some(format!(
            "{remedy}; or `snooze {name} <duration>`, or `dismiss {name}`",
            name = self.short_name()
        ))
    }
}

impl fmt::Display for ReminderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReminderKind::NoLead => f.write_str("no_lead"),
            ReminderKind::RoleUnfilled(role) => write!(f, "role_unfilled:{role}"),
            ReminderKind::UpdateDue => f.write_str("update_due"),
            ReminderKind::MitigatedUnresolved => f.write_str("mitigated_unresolved"),
            ReminderKind::ResolvedUnclosed => f.write_str("resolved_unclosed"),
            ReminderKind::Custom(number) => write!(f, "custom:{number}"),
        }
    }
}

/// Lenient on purpose, since people type it: case and `-`/`_` don't
/// matter, and every stored form parses too. A bare word that is no other
/// reminder is taken as a role name (`snooze comms 10m`); whether the role
/// exists is for the caller, who knows the policy.
impl FromStr for ReminderKind {
    type Err = ReminderKindError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let given = text.trim();
        let word = given.to_ascii_lowercase().replace('-', "_");
        let reminder = match word.as_str() {
            "lead" | "no_lead" | "nolead" => ReminderKind::NoLead,
            "update" | "updates" | "update_due" => ReminderKind::UpdateDue,
            "mitigated" | "mitigated_unresolved" => ReminderKind::MitigatedUnresolved,
            "resolved" | "close" | "resolved_unclosed" => ReminderKind::ResolvedUnclosed,
            _ => {
                if let Some(number) = word
                    .strip_prefix("custom:")
                    .or_else(|| word.strip_prefix('#'))
                    .or(Some(word.as_str()))
                    .filter(|digits| {
                        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
                    })
                {
                    return match number.parse::<u32>() {
                        Ok(number) if number > 0 => Ok(ReminderKind::Custom(number)),
                        _ => Err(ReminderKindError::Unknown(given.to_owned())),
                    };
                }
                let role = word
                    .strip_prefix("role_unfilled:")
                    .or_else(|| word.strip_prefix("role:"))
                    .unwrap_or(&word);
                if role.is_empty() || role.contains(':') {
                    return Err(ReminderKindError::Unknown(given.to_owned()));
                }
                // Role names keep `-` as typed; undo the normalisation. Both
                // strings have the same bytes but for ASCII case and `-`, so
                // the suffix always exists; `role` is only a fallback.
                let role_as_typed = given.get(given.len() - role.len()..).unwrap_or(role);
                match role_as_typed.parse::<RoleName>() {
                    Ok(role) => ReminderKind::RoleUnfilled(role),
                    Err(RoleNameError::Invalid(_)) => {
                        return Err(ReminderKindError::Unknown(given.to_owned()))
                    }
                    Err(reason) => {
                        return Err(ReminderKindError::BadRole {
                            given: given.to_owned(),
                            reason,
                        })
                    }
                }
            }
        };
        Ok(reminder)
    }
}

impl TryFrom<String> for ReminderKind {
    type Error = ReminderKindError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<ReminderKind> for String {
    fn from(reminder: ReminderKind) -> String {
        reminder.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str) -> RoleName {
        name.parse().expect("a valid role name")
    }

    #[test]
    fn the_stored_form_is_a_string_that_reads_back() {
        let cases = [
            (ReminderKind::NoLead, "no_lead"),
            (
                ReminderKind::RoleUnfilled(role("comms")),
                "role_unfilled:comms",
            ),
            (ReminderKind::UpdateDue, "update_due"),
            (ReminderKind::MitigatedUnresolved, "mitigated_unresolved"),
            (ReminderKind::ResolvedUnclosed, "resolved_unclosed"),
            (ReminderKind::Custom(3), "custom:3"),
        ];
        for (reminder, stored) in cases {
            assert_eq!(reminder.to_string(), stored);
            let json = serde_json::to_value(&reminder).expect("serialisable");
            assert_eq!(json, serde_json::json!(stored));
            let loaded: ReminderKind = serde_json::from_value(json).expect("loads back");
            assert_eq!(loaded, reminder);
            assert_eq!(stored.parse::<ReminderKind>(), Ok(reminder.clone()));
            assert_eq!(
                reminder.short_name().parse::<ReminderKind>(),
                Ok(reminder),
                "the short name reads back"
            );
        }
        assert!(serde_json::from_str::<ReminderKind>(r#""custom:0""#).is_err());
    }

    #[test]
    fn people_can_name_reminders_loosely() {
        let cases = [
            ("lead", ReminderKind::NoLead),
            ("no-lead", ReminderKind::NoLead),
            ("No_Lead", ReminderKind::NoLead),
            ("role:comms", ReminderKind::RoleUnfilled(role("comms"))),
            ("comms", ReminderKind::RoleUnfilled(role("comms"))),
            ("Role:Comms", ReminderKind::RoleUnfilled(role("comms"))),
            ("on-call", ReminderKind::RoleUnfilled(role("on-call"))),
            ("role:on-call", ReminderKind::RoleUnfilled(role("on-call"))),
            ("update", ReminderKind::UpdateDue),
            ("updates", ReminderKind::UpdateDue),
            ("update-due", ReminderKind::UpdateDue),
            ("mitigated", ReminderKind::MitigatedUnresolved),
            ("resolved", ReminderKind::ResolvedUnclosed),
            ("close", ReminderKind::ResolvedUnclosed),
            ("3", ReminderKind::Custom(3)),
            ("#3", ReminderKind::Custom(3)),
            ("custom:3", ReminderKind::Custom(3)),
            (" 12 ", ReminderKind::Custom(12)),
        ];
        for (text, expected) in cases {
            assert_eq!(
                text.parse::<ReminderKind>(),
                Ok(expected),
                "parsing {text:?}"
            );
        }
    }

    #[test]
    fn what_is_not_a_reminder_is_named() {
        for text in [
            "",
            "0",
            "custom:",
            "custom:x",
            "role:",
            "a:b",
            "two words",
            "99999999999",
            "!",
        ] {
            assert_eq!(
                text.parse::<ReminderKind>(),
                Err(ReminderKindError::Unknown(text.trim().to_owned())),
                "parsing {text:?}"
            );
        }
        assert_eq!(
            "role:lead"
                .parse::<ReminderKind>()
                .map_err(|error| error.to_string()),
            Err(
                "`role:lead` is not a reminder: `lead` is not a role: use the `lead` command."
                    .to_owned()
            )
        );
        assert_eq!(
            "soon".parse::<ReminderKind>(),
            Ok(ReminderKind::RoleUnfilled(role("soon"))),
            "any role-like word is a role; the command checks the policy"
        );
    }

    #[test]
    fn reminders_say_what_they_are_about() {
        assert_eq!(ReminderKind::NoLead.about(), "no lead yet");
        assert_eq!(
            ReminderKind::RoleUnfilled(role("comms")).about(),
            "nobody has the role comms"
        );
        assert_eq!(ReminderKind::Custom(2).about(), "reminder 2");
        assert_eq!(
            ReminderKind::RoleUnfilled(role("comms")).remedy().as_deref(),
            Some("give it with `role comms @someone`; or `snooze role:comms <duration>`, or `dismiss role:comms`")
        );
        assert_eq!(ReminderKind::Custom(2).remedy(), None);
    }
}
