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
