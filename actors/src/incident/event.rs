//! Domain events: what happened to an incident. They are appended to the
//! incident's event log, which is the timeline, the audit trail and the
//! source the state is rebuilt from.
//!
//! The serde form here *is* the stored event format (the `payload` column
//! of `incident_events`, tagged by `type`), so variants and fields may be
//! added but never renamed or removed: old rows must still load.

use super::policy::{Policy, RoleName};
use super::reminder::ReminderKind;
use super::severity::Severity;
use super::status::Status;
use chrono::{DateTime, Utc};
use firebreak_adapters::alerts::Alert;
use firebreak_adapters::{ConversationRef, MessageRef, Platform, UserRef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
        /// What the incident is about (`service=payments`), for grouping
        /// and statistics.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        labels: BTreeMap<String, String>,
        /// Where the headline goes when not the platform's announcement
        /// conversation (an alert source's rule chose it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        announce: Option<ConversationRef>,
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
    /// A follow-up action was done.
    ActionCompleted {
        number: u32,
    },
    /// Open follow-up actions of a closed incident were brought up.
    FollowUpsDigested {},
    /// The lead said something in the incident conversation, which (where
    /// configured) counts as an update for the update reminder.
    LeadSpoke {},
    /// A configured workflow rule ran for this incident (each runs once).
    WorkflowRan {
        name: String,
    },
    /// A public status page update was asked for (the engine posts it).
    StatusPageUpdated {
        state: super::status_page::StatusPageState,
        message: String,
    },
    /// The status page incident this incident updates from now on.
    StatusPageLinked {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
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
    /// A stakeholder update from the responders; the engine also sends it
    /// to the headline thread and the severity's notify conversations.
    UpdatePosted {
        text: String,
    },
    /// The incident reached `severity` for the first time and that
    /// severity's duties were taken on: the engine pages `page` and tells
    /// `notify`, recording each page with [`DomainEvent::PageSent`].
    /// Recorded even when both lists are empty, so "once per severity"
    /// holds whatever the policy says later.
    DutiesTriggered {
        severity: Severity,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        page: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notify: Vec<String>,
    },
    /// The outcome of paging an escalation target.
    PageSent {
        target: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        detail: String,
    },
    /// The bot reminded people of `reminder`; `nag` counts the times since
    /// its condition last changed, 1 for the first.
    ReminderSent {
        reminder: ReminderKind,
        #[serde(default = "first_nag")]
        nag: u32,
    },
    /// Someone (or a missed duty) asked for `target` to be paged.
    Escalated {
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        reason: String,
    },
    /// Someone set a one-off reminder with `remind`.
    ReminderSet {
        number: u32,
        due_at: DateTime<Utc>,
        text: String,
    },
    /// A reminder was put off until `until`.
    Snoozed {
        reminder: ReminderKind,
        until: DateTime<Utc>,
    },
    /// A reminder was turned off until its condition changes.
    Dismissed {
        reminder: ReminderKind,
    },
    /// Added in the review: something that happened at `occurred_at`.
    TimelineEntryAdded {
        text: String,
        occurred_at: DateTime<Utc>,
    },
    /// Corrected in the review: entry `seq` reads `text` from now on.
    TimelineEntryCorrected {
        seq: u64,
        text: String,
    },
    /// A monitoring tool sent a group of alerts for this incident.
    AlertsReceived {
        source: String,
        group_key: String,
        /// The labels the group's alerts share, which a silence matches.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        group_labels: BTreeMap<String, String>,
        /// The storm-window labels' values (`service=db`) when the group
        /// had them, so later groups sharing them fold in here.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        storm_key: Option<String>,
        alerts: Vec<Alert>,
    },
    /// Someone split an alert out: the incident no longer counts it.
    AlertDetached {
        source: String,
        fingerprint: String,
        name: String,
    },
    /// Someone asked for the incident's alerts to be silenced until
    /// `until`; the engine creates the silences.
    SilenceRequested {
        until: DateTime<Utc>,
    },
    /// The alert source made a silence.
    Silenced {
        source: String,
        id: String,
        until: DateTime<Utc>,
    },
    /// The incident's alerts had opened `previous` before, which is closed.
    FollowsIncident {
        previous: super::IncidentId,
    },
}

fn first_nag() -> u32 {
    1
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
            DomainEvent::StatusPageUpdated { .. } => "status_page_updated",
            DomainEvent::WorkflowRan { .. } => "workflow_ran",
            DomainEvent::LeadSpoke {} => "lead_spoke",
            DomainEvent::ActionCompleted { .. } => "action_completed",
            DomainEvent::FollowUpsDigested {} => "follow_ups_digested",
            DomainEvent::StatusPageLinked { .. } => "status_page_linked",
            DomainEvent::AnnouncementPosted { .. } => "announcement_posted",
            DomainEvent::EffectFailed { .. } => "effect_failed",
            DomainEvent::UpdatePosted { .. } => "update_posted",
            DomainEvent::DutiesTriggered { .. } => "duties_triggered",
            DomainEvent::PageSent { .. } => "page_sent",
            DomainEvent::ReminderSent { .. } => "reminder_sent",
            DomainEvent::Escalated { .. } => "escalated",
            DomainEvent::ReminderSet { .. } => "reminder_set",
            DomainEvent::Snoozed { .. } => "snoozed",
            DomainEvent::Dismissed { .. } => "dismissed",
            DomainEvent::TimelineEntryAdded { .. } => "timeline_entry_added",
            DomainEvent::TimelineEntryCorrected { .. } => "timeline_entry_corrected",
            DomainEvent::AlertsReceived { .. } => "alerts_received",
            DomainEvent::AlertDetached { .. } => "alert_detached",
            DomainEvent::SilenceRequested { .. } => "silence_requested",
            DomainEvent::Silenced { .. } => "silenced",
            DomainEvent::FollowsIncident { .. } => "follows_incident",
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
            DomainEvent::StatusPageUpdated { state, message } => {
                format!("Status page: {state}: {message}")
            }
            DomainEvent::WorkflowRan { name } => format!("Workflow {name} ran"),
            DomainEvent::LeadSpoke {} => {
                "The lead spoke in the conversation (counts as an update)".to_owned()
            }
            DomainEvent::ActionCompleted { number } => format!("Action {number} done"),
            DomainEvent::FollowUpsDigested {} => "Open follow-up actions brought up".to_owned(),
            DomainEvent::StatusPageLinked { url, .. } => match url {
                Some(url) => format!("Status page incident opened: {url}"),
                None => "Status page incident opened".to_owned(),
            },
            DomainEvent::AnnouncementPosted { .. } => "Announcement posted".to_owned(),
            DomainEvent::EffectFailed { effect, error } => format!("Failed: {effect}: {error}"),
            DomainEvent::UpdatePosted { text } => format!("Update: {text}"),
            DomainEvent::DutiesTriggered {
                severity,
                page,
                notify,
            } => {
                let mut duties = Vec::new();
                if !page.is_empty() {
                    duties.push(format!("paging {}", page.join(", ")));
                }
                if !notify.is_empty() {
                    duties.push(format!("notifying {}", notify.join(", ")));
                }
                if duties.is_empty() {
                    duties.push("nothing to page or notify".to_owned());
                }
                format!(
                    "Severity {} duties: {}",
                    policy.severity_label(*severity),
                    duties.join("; ")
                )
            }
            DomainEvent::PageSent { target, ok, detail } => {
                let outcome = if *ok {
                    format!("Paged {target}")
                } else {
                    format!("Paging {target} failed")
                };
                if detail.is_empty() {
                    outcome
                } else {
                    format!("{outcome}: {detail}")
                }
            }
            DomainEvent::ReminderSent { reminder, nag } => {
                let repeated = if *nag > 1 {
                    format!(" (reminded {nag} times)")
                } else {
                    String::new()
                };
                format!("Reminder: {}{repeated}", reminder.about())
            }
            DomainEvent::Escalated {
                target,
                message,
                reason,
            } => match message {
                Some(message) => format!("Escalated to {target} ({reason}): {message}"),
                None => format!("Escalated to {target} ({reason})"),
            },
            DomainEvent::ReminderSet {
                number,
                due_at,
                text,
            } => format!("Reminder {number} set for {}: {text}", at_minute(*due_at)),
            DomainEvent::Snoozed { reminder, until } => format!(
                "Reminder snoozed until {}: {}",
                at_minute(*until),
                reminder.about()
            ),
            DomainEvent::Dismissed { reminder } => {
                format!("Reminder dismissed: {}", reminder.about())
            }
            DomainEvent::TimelineEntryAdded { text, .. } => text.clone(),
            DomainEvent::TimelineEntryCorrected { seq, text } => {
                format!("Entry {seq} corrected to: {text}")
            }
            DomainEvent::AlertsReceived { source, alerts, .. } => {
                format!("{} ({source})", super::alerts::describe_received(alerts))
            }
            DomainEvent::AlertDetached {
                name, fingerprint, ..
            } => format!("Alert {name} ({fingerprint}) detached: it no longer counts here"),
            DomainEvent::SilenceRequested { until } => {
                format!(
                    "Silence of the alerts asked for, until {}",
                    at_minute(*until)
                )
            }
            DomainEvent::Silenced { source, id, until } => {
                format!(
                    "Alerts silenced in {source} until {} (silence {id})",
                    at_minute(*until)
                )
            }
            DomainEvent::FollowsIncident { previous } => {
                format!("The same alerts opened {previous} before, which is closed")
            }
        }
    }
}

/// `2026-03-02 09:45 UTC`: the timeline is read by people in many time
/// zones, so it says which one it uses.
fn at_minute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
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
            labels: Default::default(),
            announce: None,
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
            (
                DomainEvent::ConversationRenamed {
                    name: "inc-4-cards-declined".into(),
                },
                "Conversation renamed to #inc-4-cards-declined",
            ),
            (
                DomainEvent::UpdatePosted {
                    text: "Rolled back; errors falling".into(),
                },
                "Update: Rolled back; errors falling",
            ),
            (
                DomainEvent::DutiesTriggered {
                    severity: severity(1),
                    page: vec!["exec-oncall".into()],
                    notify: vec!["C0EXEC".into(), "C0OPS".into()],
                },
                "Severity 1 (critical) duties: paging exec-oncall; notifying C0EXEC, C0OPS",
            ),
            (
                DomainEvent::DutiesTriggered {
                    severity: severity(4),
                    page: vec![],
                    notify: vec![],
                },
                "Severity 4 (trivial) duties: nothing to page or notify",
            ),
            (
                DomainEvent::PageSent {
                    target: "exec-oncall".into(),
                    ok: true,
                    detail: String::new(),
                },
                "Paged exec-oncall",
            ),
            (
                DomainEvent::PageSent {
                    target: "exec-oncall".into(),
                    ok: false,
                    detail: "HTTP 503 after 3 tries".into(),
                },
                "Paging exec-oncall failed: HTTP 503 after 3 tries",
            ),
            (
                DomainEvent::ReminderSent {
                    reminder: ReminderKind::NoLead,
                    nag: 1,
                },
                "Reminder: no lead yet",
            ),
            (
                DomainEvent::ReminderSent {
                    reminder: ReminderKind::RoleUnfilled(role("comms")),
                    nag: 3,
                },
                "Reminder: nobody has the role comms (reminded 3 times)",
            ),
            (
                DomainEvent::Escalated {
                    target: "exec-oncall".into(),
                    message: None,
                    reason: "2 updates missed".into(),
                },
                "Escalated to exec-oncall (2 updates missed)",
            ),
            (
                DomainEvent::Escalated {
                    target: "db-oncall".into(),
                    message: Some("primary is down".into()),
                    reason: "escalated by hand".into(),
                },
                "Escalated to db-oncall (escalated by hand): primary is down",
            ),
            (
                DomainEvent::ReminderSet {
                    number: 2,
                    due_at: t(45),
                    text: "check the cache".into(),
                },
                "Reminder 2 set for 2026-03-02 09:45 UTC: check the cache",
            ),
            (
                DomainEvent::Snoozed {
                    reminder: ReminderKind::UpdateDue,
                    until: t(90),
                },
                "Reminder snoozed until 2026-03-02 10:30 UTC: a stakeholder update is due",
            ),
            (
                DomainEvent::Dismissed {
                    reminder: ReminderKind::ResolvedUnclosed,
                },
                "Reminder dismissed: resolved but not closed",
            ),
        ];
        let mut kinds: Vec<&str> = cases.iter().map(|(event, _)| event.kind()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), 23, "every variant is described: {kinds:?}");
        for (event, line) in cases {
            assert_eq!(event.describe(&Policy::default()), line);
        }
    }

    #[test]
    fn descriptions_use_the_configured_severity_names() {
        let policy = Policy {
            severity_names: ["p1", "p2", "p3", "p4"].map(String::from),
            roles: vec![],
            ..Policy::default()
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

    #[test]
    fn the_new_events_round_trip_in_their_stored_form() {
        let cases: Vec<(DomainEvent, serde_json::Value)> = vec![
            (
                DomainEvent::UpdatePosted { text: "u".into() },
                serde_json::json!({"type": "update_posted", "text": "u"}),
            ),
            (
                DomainEvent::DutiesTriggered {
                    severity: severity(1),
                    page: vec!["exec-oncall".into()],
                    notify: vec!["C0EXEC".into()],
                },
                serde_json::json!({"type": "duties_triggered", "severity": 1, "page": ["exec-oncall"], "notify": ["C0EXEC"]}),
            ),
            (
                DomainEvent::DutiesTriggered {
                    severity: severity(4),
                    page: vec![],
                    notify: vec![],
                },
                serde_json::json!({"type": "duties_triggered", "severity": 4}),
            ),
            (
                DomainEvent::PageSent {
                    target: "exec-oncall".into(),
                    ok: false,
                    detail: "HTTP 503".into(),
                },
                serde_json::json!({"type": "page_sent", "target": "exec-oncall", "ok": false, "detail": "HTTP 503"}),
            ),
            (
                DomainEvent::ReminderSent {
                    reminder: ReminderKind::RoleUnfilled(role("comms")),
                    nag: 2,
                },
                serde_json::json!({"type": "reminder_sent", "reminder": "role_unfilled:comms", "nag": 2}),
            ),
            (
                DomainEvent::Escalated {
                    target: "exec-oncall".into(),
                    message: None,
                    reason: "2 updates missed".into(),
                },
                serde_json::json!({"type": "escalated", "target": "exec-oncall", "reason": "2 updates missed"}),
            ),
            (
                DomainEvent::ReminderSet {
                    number: 3,
                    due_at: t(30),
                    text: "check".into(),
                },
                serde_json::json!({"type": "reminder_set", "number": 3, "due_at": "2026-03-02T09:30:00Z", "text": "check"}),
            ),
            (
                DomainEvent::Snoozed {
                    reminder: ReminderKind::Custom(3),
                    until: t(30),
                },
                serde_json::json!({"type": "snoozed", "reminder": "custom:3", "until": "2026-03-02T09:30:00Z"}),
            ),
            (
                DomainEvent::Dismissed {
                    reminder: ReminderKind::UpdateDue,
                },
                serde_json::json!({"type": "dismissed", "reminder": "update_due"}),
            ),
        ];
        for (event, stored) in cases {
            assert_eq!(
                serde_json::to_value(&event).expect("serialisable"),
                stored,
                "{}",
                event.kind()
            );
            assert_eq!(stored["type"], event.kind());
            let loaded: DomainEvent = serde_json::from_value(stored).expect("loads back");
            assert_eq!(loaded, event);
        }
    }

    #[test]
    fn rows_without_the_optional_fields_still_load() {
        let rows = [
            (
                r#"{"type":"reminder_sent","reminder":"no_lead"}"#,
                DomainEvent::ReminderSent {
                    reminder: ReminderKind::NoLead,
                    nag: 1,
                },
            ),
            (
                r#"{"type":"page_sent","target":"exec-oncall","ok":true}"#,
                DomainEvent::PageSent {
                    target: "exec-oncall".into(),
                    ok: true,
                    detail: String::new(),
                },
            ),
            (
                r#"{"type":"duties_triggered","severity":2}"#,
                DomainEvent::DutiesTriggered {
                    severity: severity(2),
                    page: vec![],
                    notify: vec![],
                },
            ),
            // Rows written before this feature load exactly as before.
            (
                r#"{"type":"severity_changed","from":2,"to":1}"#,
                DomainEvent::SeverityChanged {
                    from: severity(2),
                    to: severity(1),
                },
            ),
            (
                r#"{"type":"note_added","text":"n"}"#,
                DomainEvent::NoteAdded { text: "n".into() },
            ),
        ];
        for (row, event) in rows {
            let loaded: DomainEvent = serde_json::from_str(row).expect("the row loads");
            assert_eq!(loaded, event, "{row}");
        }
        assert!(
            serde_json::from_str::<DomainEvent>(r#"{"type":"dismissed","reminder":"soon!"}"#)
                .is_err(),
            "a reminder that is none is refused"
        );
    }
}
