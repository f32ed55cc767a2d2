//! Domain events: what happened to an incident. They are appended to the
//! incident's event log, which is the timeline, the audit trail and the
//! source the state is rebuilt from.
//!
//! The serde form here *is* the stored event format (the `payload` column
//! of `incident_events`, tagged by `type`), so variants and fields may be
//! added but never renamed or removed: old rows must still load.

use super::policy::{Policy, RoleName};
use super::severity::Severity;
use super::status::Status;
use chrono::{DateTime, Utc};
use firebreak_adapters::{ConversationRef, MessageRef, Platform, UserRef};
use serde::{Deserialize, Serialize};

/// The times of an incident recorded after the fact ("report only"): it is
/// kept on record, but gets no conversation and no reminders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    Declared {
        title: String,
        severity: Severity,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        summary: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        impact: Option<String>,
        reporter: UserRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lead: Option<UserRef>,
        platform: Platform,
        #[serde(default)]
        private: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report: Option<Report>,
    },
    SeverityChanged {
        from: Severity,
        to: Severity,
    },
    LeadAssigned {
        lead: UserRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<UserRef>,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    RoleAssigned {
        role: RoleName,
        user: UserRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<UserRef>,
    },
    SummaryChanged {
        summary: String,
    },
    ImpactChanged {
        impact: String,
    },
    ActionAdded {
        number: u32,
        text: String,
    },
    Renamed {
        from: String,
        to: String,
    },
    NoteAdded {
        text: String,
    },
    /// A message in the incident conversation was pinned or reacted to with
    /// the timeline emoji.
    Pinned {
        message: MessageRef,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author: Option<UserRef>,
    },
    /// The incident got its own conversation on its platform.
    ConversationOpened {
        conversation: ConversationRef,
    },
    /// The incident conversation got a new name on its platform.
    ConversationRenamed {
        name: String,
    },
    /// The headline message was posted to the announcement conversation;
    /// it is updated in place from then on.
    AnnouncementPosted {
        message: MessageRef,
    },
    /// An outbound call kept failing after its retries; recorded so the
    /// failure is visible on the timeline rather than lost.
    EffectFailed {
        effect: String,
        error: String,
    },
}

impl DomainEvent {
    /// The event's type as stored in the `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            DomainEvent::Declared { .. } => "declared",
            DomainEvent::SeverityChanged { .. } => "severity_changed",
            DomainEvent::LeadAssigned { .. } => "lead_assigned",
            DomainEvent::StatusChanged { .. } => "status_changed",
            DomainEvent::RoleAssigned { .. } => "role_assigned",
            DomainEvent::SummaryChanged { .. } => "summary_changed",
            DomainEvent::ImpactChanged { .. } => "impact_changed",
            DomainEvent::ActionAdded { .. } => "action_added",
            DomainEvent::Renamed { .. } => "renamed",
            DomainEvent::NoteAdded { .. } => "note_added",
            DomainEvent::Pinned { .. } => "pinned",
            DomainEvent::ConversationOpened { .. } => "conversation_opened",
            DomainEvent::ConversationRenamed { .. } => "conversation_renamed",
            DomainEvent::AnnouncementPosted { .. } => "announcement_posted",
            DomainEvent::EffectFailed { .. } => "effect_failed",
        }
    }

    /// One line of the human timeline: what happened, in words.
    pub fn describe(&self, policy: &Policy) -> String {
        match self {
            DomainEvent::Declared {
                title,
                severity,
                lead,
                report,
                ..
            } => {
                let verb = if report.is_some() {
                    "Reported after the fact"
                } else {
                    "Declared"
                };
                let led_by = lead
                    .as_ref()
                    .map(|lead| format!(", led by {}", lead.display()))
                    .unwrap_or_default();
                format!(
                    "{verb}: {title} (severity {}){led_by}",
                    policy.severity_label(*severity)
                )
            }
            DomainEvent::SeverityChanged { from, to } => format!(
                "Severity changed from {} to {}",
                policy.severity_label(*from),
                policy.severity_label(*to)
            ),
            DomainEvent::LeadAssigned { lead, previous } => {
                format!("Lead set to {}{}", lead.display(), was(previous.as_ref()))
            }
            DomainEvent::StatusChanged { from, to } => {
                let reopened = if Status::is_reopen(*from, *to) {
                    " (reopened)"
                } else {
                    ""
                };
                format!("Status changed from {from} to {to}{reopened}")
            }
            DomainEvent::RoleAssigned {
                role,
                user,
                previous,
            } => {
                format!(
                    "Role {role} given to {}{}",
                    user.display(),
                    was(previous.as_ref())
                )
            }
            DomainEvent::SummaryChanged { summary } => format!("Summary: {summary}"),
            DomainEvent::ImpactChanged { impact } => format!("Impact: {impact}"),
            DomainEvent::ActionAdded { number, text } => format!("Action {number} added: {text}"),
            DomainEvent::Renamed { from, to } => format!("Renamed from “{from}” to “{to}”"),
            DomainEvent::NoteAdded { text } => format!("Note: {text}"),
            DomainEvent::Pinned { text, author, .. } => match author {
                Some(author) => format!("Pinned from {}: {text}", author.display()),
                None => format!("Pinned: {text}"),
            },
            DomainEvent::ConversationOpened { .. } => "Conversation opened".to_owned(),
            DomainEvent::ConversationRenamed { name } => format!("Conversation renamed to #{name}"),
            DomainEvent::AnnouncementPosted { .. } => "Announcement posted".to_owned(),
            DomainEvent::EffectFailed { effect, error } => format!("Failed: {effect}: {error}"),
        }
    }
}

/// ` (was bo)` when someone was replaced, so the timeline shows the handover.
fn was(previous: Option<&UserRef>) -> String {
    previous
        .map(|previous| format!(" (was {})", previous.display()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::fixtures::{declared, message, severity, t, user};
    use firebreak_adapters::ConversationRef;

    fn role(name: &str) -> RoleName {
        name.parse().expect("a valid role name")
    }

    #[test]
    fn every_event_reads_as_a_timeline_line() {
        let reported = DomainEvent::Declared {
            title: "Outage".into(),
            severity: severity(1),
            summary: None,
            impact: None,
            reporter: user("rita"),
            lead: Some(user("ana").with_name("Ana")),
            platform: Platform::Api,
            private: false,
            report: Some(Report {
                started_at: t(-60),
                resolved_at: None,
            }),
        };
        let cases: Vec<(DomainEvent, &str)> = vec![
            (
                declared("Payments failing"),
                "Declared: Payments failing (severity 2 (major))",
            ),
            (
                reported,
                "Reported after the fact: Outage (severity 1 (critical)), led by Ana",
            ),
            (
                DomainEvent::SeverityChanged {
                    from: severity(2),
                    to: severity(1),
                },
                "Severity changed from 2 (major) to 1 (critical)",
            ),
            (
                DomainEvent::LeadAssigned {
                    lead: user("ana"),
                    previous: None,
                },
                "Lead set to ana",
            ),
            (
                DomainEvent::LeadAssigned {
                    lead: user("bo"),
                    previous: Some(user("ana")),
                },
                "Lead set to bo (was ana)",
            ),
            (
                DomainEvent::StatusChanged {
                    from: Status::Triage,
                    to: Status::Investigating,
                },
                "Status changed from triage to investigating",
            ),
            (
                DomainEvent::StatusChanged {
                    from: Status::Resolved,
                    to: Status::Investigating,
                },
                "Status changed from resolved to investigating (reopened)",
            ),
            (
                DomainEvent::RoleAssigned {
                    role: role("comms"),
                    user: user("bo"),
                    previous: None,
                },
                "Role comms given to bo",
            ),
            (
                DomainEvent::RoleAssigned {
                    role: role("comms"),
                    user: user("cy"),
                    previous: Some(user("bo")),
                },
                "Role comms given to cy (was bo)",
            ),
            (
                DomainEvent::SummaryChanged {
                    summary: "Cards declined".into(),
                },
                "Summary: Cards declined",
            ),
            (
                DomainEvent::ImpactChanged {
                    impact: "EU customers".into(),
                },
                "Impact: EU customers",
            ),
            (
                DomainEvent::ActionAdded {
                    number: 1,
                    text: "Add an alert".into(),
                },
                "Action 1 added: Add an alert",
            ),
            (
                DomainEvent::Renamed {
                    from: "Payments failing".into(),
                    to: "Cards declined".into(),
                },
                "Renamed from “Payments failing” to “Cards declined”",
            ),
            (
                DomainEvent::NoteAdded {
                    text: "Rolled back".into(),
                },
                "Note: Rolled back",
            ),
            (
                DomainEvent::Pinned {
                    message: message("m1"),
                    text: "It's DNS".into(),
                    author: None,
                },
                "Pinned: It's DNS",
            ),
            (
                DomainEvent::Pinned {
                    message: message("m1"),
                    text: "It's DNS".into(),
                    author: Some(user("bo")),
                },
                "Pinned from bo: It's DNS",
            ),
            (
                DomainEvent::ConversationOpened {
                    conversation: ConversationRef::new(Platform::Memory, "c1"),
                },
                "Conversation opened",
            ),
            (
                DomainEvent::AnnouncementPosted {
                    message: message("headline"),
                },
                "Announcement posted",
            ),
            (
                DomainEvent::EffectFailed {
                    effect: "post announcement".into(),
                    error: "HTTP 503".into(),
                },
                "Failed: post announcement: HTTP 503",
            ),
        ];
        let mut kinds: Vec<&str> = cases.iter().map(|(event, _)| event.kind()).collect();
        kinds.dedup();
        assert_eq!(kinds.len(), 14, "every variant is described: {kinds:?}");
        for (event, line) in cases {
            assert_eq!(event.describe(&Policy::default()), line);
        }
    }

    #[test]
    fn descriptions_use_the_configured_severity_names() {
        let policy = Policy {
            severity_names: ["p1", "p2", "p3", "p4"].map(String::from),
            roles: vec![],
        };
        assert_eq!(
            DomainEvent::SeverityChanged {
                from: severity(3),
                to: severity(1)
            }
            .describe(&policy),
            "Severity changed from 3 (p3) to 1 (p1)"
        );
    }

    #[test]
    fn the_stored_form_is_tagged_by_type_and_omits_empty_options() {
        let event = DomainEvent::LeadAssigned {
            lead: user("ana"),
            previous: None,
        };
        let stored = serde_json::to_value(&event).expect("serialisable");
        assert_eq!(
            stored,
            serde_json::json!({"type": "lead_assigned", "lead": {"platform": "memory", "id": "ana"}})
        );
        assert_eq!(stored["type"], event.kind());
        let loaded: DomainEvent = serde_json::from_value(stored).expect("loads back");
        assert_eq!(loaded, event);

        // Optional fields may be absent from a row; it still loads.
        let old: DomainEvent = serde_json::from_str(
            r#"{"type":"declared","title":"Old","severity":3,"reporter":{"platform":"memory","id":"U1"},"platform":"memory"}"#,
        )
        .expect("an old row loads");
        assert!(matches!(
            old,
            DomainEvent::Declared {
                private: false,
                report: None,
                ..
            }
        ));
    }
}
