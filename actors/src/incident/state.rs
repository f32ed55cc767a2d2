//! The state of one incident, as rebuilt from its events.
//!
//! [`Incident`] is a fold over the event log: it is created by the
//! `Declared` event and changes only through [`Incident::apply`], so the
//! state held in memory, the state rebuilt after a restart and the state
//! behind the timeline can never disagree. It has getters and no setters on
//! purpose.

use super::alerts::{IncidentAlerts, Silence};
use super::event::DomainEvent;
use super::policy::RoleName;
use super::reference::IncidentId;
use super::reminder::ReminderKind;
use super::severity::Severity;
use super::status::Status;
use chrono::{DateTime, Utc};
use firebreak_adapters::{ConversationRef, MessageRef, Platform, UserRef};
use std::collections::{BTreeMap, BTreeSet};

/// One incident. Built by [`Incident::from_declared`] or [`Incident::replay`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    id: IncidentId,
    title: String,
    summary: Option<String>,
    impact: Option<String>,
    status: Status,
    severity: Severity,
    platform: Platform,
    private: bool,
    /// Recorded after the fact: kept on record, but it gets no conversation,
    /// no announcement and no reminders.
    report_only: bool,
    reporter: UserRef,
    lead: Option<UserRef>,
    roles: BTreeMap<RoleName, UserRef>,
    actions: Vec<FollowUpAction>,
    pins: Vec<Pin>,
    conversation: Option<ConversationRef>,
    announcement: Option<MessageRef>,
    /// The public status page incident this incident updates.
    status_page: Option<String>,
    /// Workflow rules that already ran (each runs once per incident).
    workflows_run: BTreeSet<String>,
    /// When open follow-up actions were last brought up after closing.
    last_digest_at: Option<DateTime<Utc>>,
    /// When the problem started, which for a report is earlier than the
    /// declaration; durations and time-to-X figures count from here.
    started_at: DateTime<Utc>,
    declared_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    mitigated_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    /// When stakeholders last got an update; the update cadence counts
    /// from here.
    last_update_at: Option<DateTime<Utc>>,
    /// When the incident reached its current severity: the roles that
    /// severity requires are only overdue some time after that.
    severity_set_at: DateTime<Utc>,
    /// Severities whose duties (paging, notifying) were carried out, so
    /// lowering and raising again does not page twice.
    duties_triggered: BTreeSet<Severity>,
    /// How often each reminder was sent since its condition last changed,
    /// and when it was last sent; a recurring reminder is next due one
    /// interval after that.
    nags: BTreeMap<ReminderKind, (u32, DateTime<Utc>)>,
    /// Reminders put off until the given time.
    snoozed: BTreeMap<ReminderKind, DateTime<Utc>>,
    /// Reminders nobody wants while their condition stays as it is.
    dismissed: BTreeSet<ReminderKind>,
    /// Reminders set with `remind` that have not gone off yet.
    custom_reminders: Vec<CustomReminder>,
    /// The highest reminder number handed out, so numbers are never reused
    /// once a reminder has gone off and left the list.
    last_reminder_number: u32,
    /// What the incident is about (`service=payments`), from the declaration.
    labels: BTreeMap<String, String>,
    /// Where the headline goes, when not the platform's announcement
    /// conversation.
    announce: Option<ConversationRef>,
    /// The monitoring alerts this incident stands for.
    alerts: IncidentAlerts,
    /// How many events have been applied; equals the length of the event
    /// log, so the store can use it for optimistic concurrency.
    version: u64,
}

/// A one-off reminder someone set with `remind <duration> <text>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomReminder {
    pub number: u32,
    pub due_at: DateTime<Utc>,
    pub text: String,
}

/// Something to do after the incident, numbered so people can refer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpAction {
    pub number: u32,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// When it was marked done (`done <n>`), if it was.
    pub done_at: Option<DateTime<Utc>>,
}

/// A message from the incident conversation kept on the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub message: MessageRef,
    pub text: String,
    pub author: Option<UserRef>,
    pub at: DateTime<Utc>,
}

/// Why an event log could not be turned into an incident. Any of these
/// means the stored log is corrupt, not that a user did something wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("the event log is empty")]
    Empty,
    #[error("the event log does not start with `declared` but with `{0}`")]
    NotDeclaredFirst(&'static str),
    #[error("the event log declares the incident a second time (event {0})")]
    DeclaredTwice(u64),
}

impl Incident {
    /// The incident a `Declared` event creates; `None` for any other event.
    pub fn from_declared(
        id: IncidentId,
        event: &DomainEvent,
        at: DateTime<Utc>,
    ) -> Option<Incident> {
        let DomainEvent::Declared {
            title,
            severity,
            summary,
            impact,
            reporter,
            lead,
            platform,
            private,
            report,
            labels,
            announce,
        } = event
        else {
            return None;
        };
        let mut incident = Incident {
            id,
            title: title.clone(),
            summary: summary.clone(),
            impact: impact.clone(),
            status: Status::Triage,
            severity: *severity,
            platform: *platform,
            private: *private,
            report_only: false,
            reporter: reporter.clone(),
            lead: lead.clone(),
            roles: BTreeMap::new(),
            actions: Vec::new(),
            pins: Vec::new(),
            conversation: None,
            announcement: None,
            status_page: None,
            workflows_run: BTreeSet::new(),
            last_digest_at: None,
            started_at: at,
            declared_at: at,
            // Declaring with a lead means someone has already picked it up.
            acknowledged_at: lead.as_ref().map(|_| at),
            mitigated_at: None,
            resolved_at: None,
            closed_at: None,
            updated_at: at,
            last_update_at: None,
            severity_set_at: at,
            duties_triggered: BTreeSet::new(),
            nags: BTreeMap::new(),
            snoozed: BTreeMap::new(),
            dismissed: BTreeSet::new(),
            custom_reminders: Vec::new(),
            last_reminder_number: 0,
            labels: labels.clone(),
            announce: announce.clone(),
            alerts: IncidentAlerts::default(),
            version: 1,
        };
        if let Some(report) = report {
            // A report describes an incident that is already over: it was
            // handled from the moment it started, and over when it says so
            // (or, if it doesn't say, by the time it was written down).
            let over_at = report.resolved_at.unwrap_or(at);
            incident.report_only = true;
            incident.status = Status::Resolved;
            incident.started_at = report.started_at;
            incident.acknowledged_at = Some(report.started_at);
            incident.mitigated_at = Some(over_at);
            incident.resolved_at = Some(over_at);
        }
        Some(incident)
    }

    /// Rebuilds an incident from its whole event log, oldest first.
    pub fn replay(
        id: IncidentId,
        events: impl IntoIterator<Item = (DomainEvent, DateTime<Utc>)>,
    ) -> Result<Incident, ReplayError> {
        let mut events = events.into_iter();
        let (first, first_at) = events.next().ok_or(ReplayError::Empty)?;
        let mut incident = Incident::from_declared(id, &first, first_at)
            .ok_or(ReplayError::NotDeclaredFirst(first.kind()))?;
        for (event, at) in events {
            // `apply` ignores a second declaration so that it can stay total;
            // in a stored log one is a sign of corruption worth stopping for.
            if matches!(event, DomainEvent::Declared { .. }) {
                return Err(ReplayError::DeclaredTwice(incident.version + 1));
            }
            incident.apply(&event, at);
        }
        Ok(incident)
    }

    /// Folds one event into the state. Total and infallible: whether an
    /// event may happen is [`decide`](super::decide)'s business; once it is
    /// in the log it is a fact and must apply.
    pub fn apply(&mut self, event: &DomainEvent, at: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = at;
        match event {
            // Only the first event of a log declares; see `replay`.
            DomainEvent::Declared { .. } => {}
            DomainEvent::SeverityChanged { to, .. } => {
                self.severity = *to;
                self.severity_set_at = at;
                // The cadence and the required roles are the new
                // severity's now; reminders about the old ones start over.
                self.reset_reminders(|reminder| {
                    matches!(
                        reminder,
                        ReminderKind::UpdateDue | ReminderKind::RoleUnfilled(_)
                    )
                });
            }
            DomainEvent::LeadAssigned { lead, .. } => {
                self.lead = Some(lead.clone());
                self.acknowledged_at.get_or_insert(at);
                self.reset_reminders(|reminder| *reminder == ReminderKind::NoLead);
            }
            DomainEvent::StatusChanged { to, .. } => {
                self.change_status(*to, at);
                self.reset_reminders(|reminder| {
                    matches!(
                        reminder,
                        ReminderKind::MitigatedUnresolved | ReminderKind::ResolvedUnclosed
                    )
                });
            }
            DomainEvent::RoleAssigned { role, user, .. } => {
                self.roles.insert(role.clone(), user.clone());
                self.reset_reminders(|reminder| {
                    matches!(reminder, ReminderKind::RoleUnfilled(unfilled) if unfilled == role)
                });
            }
            DomainEvent::UpdatePosted { .. } | DomainEvent::LeadSpoke {} => {
                self.last_update_at = Some(at);
                self.reset_reminders(|reminder| *reminder == ReminderKind::UpdateDue);
            }
            DomainEvent::DutiesTriggered { severity, .. } => {
                self.duties_triggered.insert(*severity);
            }
            DomainEvent::ReminderSent { reminder, .. } => {
                let nag = self.nags.entry(reminder.clone()).or_insert((0, at));
                *nag = (nag.0.saturating_add(1), at);
                if let ReminderKind::Custom(number) = reminder {
                    self.custom_reminders
                        .retain(|custom| custom.number != *number);
                }
            }
            DomainEvent::ReminderSet {
                number,
                due_at,
                text,
            } => {
                self.custom_reminders.push(CustomReminder {
                    number: *number,
                    due_at: *due_at,
                    text: text.clone(),
                });
                self.last_reminder_number = self.last_reminder_number.max(*number);
            }
            DomainEvent::Snoozed { reminder, until } => {
                self.snoozed.insert(reminder.clone(), *until);
            }
            DomainEvent::Dismissed { reminder } => {
                self.dismissed.insert(reminder.clone());
            }
            DomainEvent::SummaryChanged { summary } => self.summary = Some(summary.clone()),
            DomainEvent::ImpactChanged { impact } => self.impact = Some(impact.clone()),
            DomainEvent::ActionAdded { number, text } => self.actions.push(FollowUpAction {
                number: *number,
                text: text.clone(),
                created_at: at,
                done_at: None,
            }),
            DomainEvent::ActionCompleted { number } => {
                if let Some(action) = self
                    .actions
                    .iter_mut()
                    .find(|action| action.number == *number)
                {
                    action.done_at = Some(at);
                }
            }
            DomainEvent::FollowUpsDigested {} => self.last_digest_at = Some(at),
            DomainEvent::Renamed { to, .. } => self.title = to.clone(),
            DomainEvent::Pinned {
                message,
                text,
                author,
            } => self.pins.push(Pin {
                message: message.clone(),
                text: text.clone(),
                author: author.clone(),
                at,
            }),
            DomainEvent::ConversationOpened { conversation } => {
                self.conversation = Some(conversation.clone());
            }
            DomainEvent::AnnouncementPosted { message } => {
                self.announcement = Some(message.clone())
            }
            DomainEvent::StatusPageLinked { id, .. } => self.status_page = Some(id.clone()),
            DomainEvent::WorkflowRan { name } => {
                self.workflows_run.insert(name.clone());
            }
            DomainEvent::AlertsReceived {
                source,
                group_key,
                group_labels,
                alerts,
                ..
            } => self
                .alerts
                .receive(source, group_key, group_labels, alerts, at),
            DomainEvent::AlertDetached {
                source,
                fingerprint,
                ..
            } => self.alerts.detach(source, fingerprint),
            DomainEvent::Silenced { source, id, until } => self.alerts.silenced(Silence {
                source: source.clone(),
                id: id.clone(),
                until: *until,
            }),
            // These live on the timeline only; the state has nothing to keep.
            DomainEvent::SilenceRequested { .. } | DomainEvent::FollowsIncident { .. } => {}
            DomainEvent::NoteAdded { .. }
            | DomainEvent::TimelineEntryAdded { .. }
            | DomainEvent::TimelineEntryCorrected { .. }
            | DomainEvent::EffectFailed { .. }
            | DomainEvent::ConversationRenamed { .. }
            | DomainEvent::StatusPageUpdated { .. }
            | DomainEvent::PageSent { .. }
            | DomainEvent::Escalated { .. } => {}
        }
    }

    /// Forgets how often the matching reminders were sent, and any snooze
    /// or dismissal of them: their condition changed, so whatever comes
    /// next is a new reminder about a new situation.
    fn reset_reminders(&mut self, matching: impl Fn(&ReminderKind) -> bool) {
        self.nags.retain(|reminder, _| !matching(reminder));
        self.snoozed.retain(|reminder, _| !matching(reminder));
        self.dismissed.retain(|reminder| !matching(reminder));
    }

    /// The status change itself and the milestones it marks. The previous
    /// status is taken from the state rather than the event: the state is
    /// what the milestones describe.
    fn change_status(&mut self, to: Status, at: DateTime<Utc>) {
        let from = self.status;
        self.status = to;
        if from == Status::Triage && to != Status::Triage {
            self.acknowledged_at.get_or_insert(at);
        }
        if Status::is_reopen(from, to) {
            // The problem is back: it is neither mitigated nor resolved any
            // more, and the next mitigation is the one that counts.
            self.mitigated_at = None;
            self.resolved_at = None;
        }
        match to {
            Status::Mitigated => self.mitigated_at = Some(at),
            Status::Resolved => {
                self.resolved_at = Some(at);
                // Resolving without a separate mitigation step mitigates too.
                self.mitigated_at.get_or_insert(at);
            }
            Status::Closed | Status::Declined => self.closed_at = Some(at),
            Status::Triage | Status::Investigating => {}
        }
    }

    /// Closed or declined: no command changes it any more.
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }

    /// The number the next follow-up action gets: one past the highest so
    /// far, so numbers stay unique even if an action were ever removed.
    pub fn next_action_number(&self) -> u32 {
        self.actions
            .iter()
            .map(|action| action.number)
            .max()
            .map_or(1, |highest| highest.saturating_add(1))
    }

    /// The number the next `remind` gets; never one used before.
    pub fn next_reminder_number(&self) -> u32 {
        self.last_reminder_number.saturating_add(1)
    }

    pub fn has_pinned(&self, message: &MessageRef) -> bool {
        self.pins.iter().any(|pin| &pin.message == message)
    }

    /// How long the problem lasted, or has lasted so far: from when it
    /// started until it was resolved (or declined), else until `now`.
    /// Never negative, even if `now` lags behind a recorded time.
    pub fn open_for(&self, now: DateTime<Utc>) -> chrono::Duration {
        let end = self.resolved_at.or(self.closed_at).unwrap_or(now);
        (end - self.started_at).max(chrono::Duration::zero())
    }

    /// Whether the engine still owes this incident its own conversation.
    pub fn needs_conversation(&self) -> bool {
        !self.report_only && !self.is_final() && self.conversation.is_none()
    }

    pub fn id(&self) -> IncidentId {
        self.id
    }

    /// Where the headline goes, when the declaration chose it.
    pub fn announce_to(&self) -> Option<&ConversationRef> {
        self.announce.as_ref()
    }

    pub fn alerts(&self) -> &IncidentAlerts {
        &self.alerts
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn summary(&self) -> Option<&str> {
        self.summary.as_deref()
    }

    pub fn impact(&self) -> Option<&str> {
        self.impact.as_deref()
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn severity(&self) -> Severity {
        self.severity
    }

    pub fn platform(&self) -> Platform {
        self.platform
    }

    pub fn is_private(&self) -> bool {
        self.private
    }

    pub fn is_report_only(&self) -> bool {
        self.report_only
    }

    pub fn reporter(&self) -> &UserRef {
        &self.reporter
    }

    pub fn lead(&self) -> Option<&UserRef> {
        self.lead.as_ref()
    }

    pub fn roles(&self) -> &BTreeMap<RoleName, UserRef> {
        &self.roles
    }

    pub fn role(&self, role: &RoleName) -> Option<&UserRef> {
        self.roles.get(role)
    }

    pub fn actions(&self) -> &[FollowUpAction] {
        &self.actions
    }

    pub fn pins(&self) -> &[Pin] {
        &self.pins
    }

    pub fn conversation(&self) -> Option<&ConversationRef> {
        self.conversation.as_ref()
    }

    pub fn announcement(&self) -> Option<&MessageRef> {
        self.announcement.as_ref()
    }

    pub fn status_page(&self) -> Option<&str> {
        self.status_page.as_deref()
    }

    pub fn last_digest_at(&self) -> Option<DateTime<Utc>> {
        self.last_digest_at
    }

    /// Follow-up actions not marked done.
    pub fn open_actions(&self) -> impl Iterator<Item = &FollowUpAction> {
        self.actions
            .iter()
            .filter(|action| action.done_at.is_none())
    }

    pub fn has_run_workflow(&self, name: &str) -> bool {
        self.workflows_run.contains(name)
    }

    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    pub fn declared_at(&self) -> DateTime<Utc> {
        self.declared_at
    }

    pub fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.acknowledged_at
    }

    pub fn mitigated_at(&self) -> Option<DateTime<Utc>> {
        self.mitigated_at
    }

    pub fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.resolved_at
    }

    pub fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.closed_at
    }

    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    pub fn last_update_at(&self) -> Option<DateTime<Utc>> {
        self.last_update_at
    }

    pub fn severity_set_at(&self) -> DateTime<Utc> {
        self.severity_set_at
    }

    pub fn duties_triggered(&self) -> &BTreeSet<Severity> {
        &self.duties_triggered
    }

    /// For each reminder sent since its condition last changed: how many
    /// times, and when last.
    pub fn nags(&self) -> &BTreeMap<ReminderKind, (u32, DateTime<Utc>)> {
        &self.nags
    }

    pub fn snoozed(&self) -> &BTreeMap<ReminderKind, DateTime<Utc>> {
        &self.snoozed
    }

    pub fn dismissed(&self) -> &BTreeSet<ReminderKind> {
        &self.dismissed
    }

    /// Reminders set with `remind` that have not gone off yet.
    pub fn custom_reminders(&self) -> &[CustomReminder] {
        &self.custom_reminders
    }

    pub fn custom_reminder(&self, number: u32) -> Option<&CustomReminder> {
        self.custom_reminders
            .iter()
            .find(|custom| custom.number == number)
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    pub fn version(&self) -> u64 {
        self.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::event::Report;
    use crate::incident::fixtures::{
        declared, incident, lead, led_incident_in, message, moved, severity, t, user, ID,
    };
    use firebreak_adapters::ConversationRef;
    use Status::*;

    #[test]
    fn a_declaration_starts_in_triage_unacknowledged() {
        let incident =
            Incident::from_declared(ID, &declared("Payments failing"), t(0)).expect("declared");
        assert_eq!(incident.id(), ID);
        assert_eq!(incident.title(), "Payments failing");
        assert_eq!(incident.status(), Triage);
        assert_eq!(incident.severity(), severity(2));
        assert_eq!(incident.platform(), Platform::Memory);
        assert_eq!(incident.reporter(), &user("rita"));
        assert_eq!(incident.lead(), None);
        assert!(!incident.is_private());
        assert!(!incident.is_report_only());
        assert_eq!(incident.started_at(), t(0));
        assert_eq!(incident.declared_at(), t(0));
        assert_eq!(incident.updated_at(), t(0));
        assert_eq!(incident.acknowledged_at(), None);
        assert_eq!(incident.mitigated_at(), None);
        assert_eq!(incident.resolved_at(), None);
        assert_eq!(incident.closed_at(), None);
        assert_eq!(incident.version(), 1);
        assert!(incident.needs_conversation());
        assert_eq!(incident.last_update_at(), None);
        assert_eq!(incident.severity_set_at(), t(0));
        assert!(incident.duties_triggered().is_empty());
        assert!(incident.nags().is_empty());
        assert!(incident.snoozed().is_empty());
        assert!(incident.dismissed().is_empty());
        assert!(incident.custom_reminders().is_empty());
        assert_eq!(incident.next_reminder_number(), 1);
    }

    #[test]
    fn a_declaration_with_a_lead_is_acknowledged_at_once() {
        let event = DomainEvent::Declared {
            title: "Search is slow".into(),
            severity: severity(3),
            summary: Some("p99 at 4s".into()),
            impact: Some("everyone searching".into()),
            reporter: user("rita"),
            lead: Some(user("ana")),
            platform: Platform::Memory,
            private: true,
            report: None,
            labels: Default::default(),
            announce: None,
        };
        let incident = Incident::from_declared(ID, &event, t(5)).expect("declared");
        assert_eq!(incident.lead(), Some(&user("ana")));
        assert_eq!(incident.acknowledged_at(), Some(t(5)));
        assert_eq!(incident.summary(), Some("p99 at 4s"));
        assert_eq!(incident.impact(), Some("everyone searching"));
        assert_eq!(incident.platform(), Platform::Memory);
        assert!(incident.is_private());
        assert_eq!(incident.status(), Triage);
    }

    #[test]
    fn a_report_starts_resolved_with_its_own_times() {
        let report = |resolved_at| DomainEvent::Declared {
            title: "Yesterday's outage".into(),
            severity: severity(1),
            summary: None,
            impact: None,
            reporter: user("rita"),
            lead: None,
            platform: Platform::Api,
            private: false,
            report: Some(Report {
                started_at: t(-120),
                resolved_at,
            }),
            labels: Default::default(),
            announce: None,
        };

        let with_end = Incident::from_declared(ID, &report(Some(t(-60))), t(0)).expect("declared");
        assert!(with_end.is_report_only());
        assert_eq!(with_end.status(), Resolved);
        assert_eq!(with_end.started_at(), t(-120));
        assert_eq!(with_end.declared_at(), t(0));
        assert_eq!(with_end.acknowledged_at(), Some(t(-120)));
        assert_eq!(with_end.mitigated_at(), Some(t(-60)));
        assert_eq!(with_end.resolved_at(), Some(t(-60)));
        assert_eq!(with_end.open_for(t(500)), chrono::Duration::minutes(60));
        assert!(!with_end.needs_conversation());

        let without_end = Incident::from_declared(ID, &report(None), t(0)).expect("declared");
        assert_eq!(without_end.mitigated_at(), Some(t(0)));
        assert_eq!(without_end.resolved_at(), Some(t(0)));
    }

    #[test]
    fn only_a_declaration_creates_an_incident() {
        assert_eq!(Incident::from_declared(ID, &lead("ana"), t(0)), None);
    }

    #[test]
    fn replay_refuses_logs_that_do_not_start_with_one_declaration() {
        let timed = |events: Vec<DomainEvent>| {
            events
                .into_iter()
                .map(|event| (event, t(0)))
                .collect::<Vec<_>>()
        };
        assert_eq!(Incident::replay(ID, timed(vec![])), Err(ReplayError::Empty));
        assert_eq!(
            Incident::replay(ID, timed(vec![lead("ana"), declared("x")])),
            Err(ReplayError::NotDeclaredFirst("lead_assigned"))
        );
        assert_eq!(
            Incident::replay(ID, timed(vec![declared("x"), lead("ana"), declared("y")])),
            Err(ReplayError::DeclaredTwice(3))
        );
        assert_eq!(
            ReplayError::NotDeclaredFirst("lead_assigned").to_string(),
            "the event log does not start with `declared` but with `lead_assigned`"
        );
    }

    #[test]
    fn replay_equals_applying_step_by_step() {
        let log = vec![
            (declared("Payments failing"), t(0)),
            (lead("ana"), t(1)),
            (moved(Triage, Investigating), t(2)),
            (
                DomainEvent::SeverityChanged {
                    from: severity(2),
                    to: severity(1),
                },
                t(3),
            ),
            (
                DomainEvent::ActionAdded {
                    number: 1,
                    text: "add an alert".into(),
                },
                t(4),
            ),
            (moved(Investigating, Resolved), t(5)),
        ];
        let mut stepped = Incident::from_declared(ID, &log[0].0, log[0].1).expect("declared");
        for (event, at) in &log[1..] {
            stepped.apply(event, *at);
        }
        let replayed = Incident::replay(ID, log).expect("a valid log");
        assert_eq!(replayed, stepped);
        assert_eq!(replayed.version(), 6);
        assert_eq!(replayed.updated_at(), t(5));
    }

    #[test]
    fn every_event_counts_towards_the_version_and_the_update_time() {
        let events = [
            declared("second declaration, ignored"),
            DomainEvent::SeverityChanged {
                from: severity(2),
                to: severity(3),
            },
            lead("ana"),
            moved(Triage, Investigating),
            DomainEvent::RoleAssigned {
                role: role("comms"),
                user: user("bo"),
                previous: None,
            },
            DomainEvent::SummaryChanged {
                summary: "s".into(),
            },
            DomainEvent::ImpactChanged { impact: "i".into() },
            DomainEvent::ActionAdded {
                number: 1,
                text: "a".into(),
            },
            DomainEvent::Renamed {
                from: "Payments failing".into(),
                to: "Card payments failing".into(),
            },
            DomainEvent::NoteAdded { text: "n".into() },
            DomainEvent::Pinned {
                message: message("m1"),
                text: "p".into(),
                author: None,
            },
            DomainEvent::ConversationOpened {
                conversation: ConversationRef::new(Platform::Memory, "c"),
            },
            DomainEvent::AnnouncementPosted {
                message: message("headline"),
            },
            DomainEvent::EffectFailed {
                effect: "post".into(),
                error: "429".into(),
            },
            DomainEvent::UpdatePosted { text: "u".into() },
            DomainEvent::DutiesTriggered {
                severity: severity(3),
                page: vec![],
                notify: vec![],
            },
            DomainEvent::PageSent {
                target: "exec-oncall".into(),
                ok: true,
                detail: String::new(),
            },
            DomainEvent::ReminderSent {
                reminder: ReminderKind::UpdateDue,
                nag: 1,
            },
            DomainEvent::Escalated {
                target: "exec-oncall".into(),
                message: None,
                reason: "escalated by hand".into(),
            },
            DomainEvent::ReminderSet {
                number: 1,
                due_at: t(60),
                text: "r".into(),
            },
            DomainEvent::Snoozed {
                reminder: ReminderKind::UpdateDue,
                until: t(60),
            },
            DomainEvent::Dismissed {
                reminder: ReminderKind::UpdateDue,
            },
        ];
        let mut incident = incident([declared("Payments failing")]);
        for (event, minute) in events.iter().zip(1..) {
            incident.apply(event, t(minute));
            assert_eq!(
                incident.version(),
                minute as u64 + 1,
                "after {}",
                event.kind()
            );
            assert_eq!(incident.updated_at(), t(minute), "after {}", event.kind());
        }
        assert_eq!(
            incident.title(),
            "Card payments failing",
            "the second declaration changed nothing"
        );
    }

    #[test]
    fn each_event_changes_what_it_records() {
        let mut incident = incident([declared("Payments failing")]);
        let before = incident.clone();

        incident.apply(
            &DomainEvent::SeverityChanged {
                from: severity(2),
                to: severity(1),
            },
            t(1),
        );
        assert_eq!(incident.severity(), severity(1));

        incident.apply(
            &DomainEvent::RoleAssigned {
                role: role("comms"),
                user: user("bo"),
                previous: None,
            },
            t(2),
        );
        incident.apply(
            &DomainEvent::RoleAssigned {
                role: role("comms"),
                user: user("cy"),
                previous: Some(user("bo")),
            },
            t(2),
        );
        assert_eq!(incident.role(&role("comms")), Some(&user("cy")));
        assert_eq!(incident.roles().len(), 1);

        incident.apply(
            &DomainEvent::SummaryChanged {
                summary: "cards declined".into(),
            },
            t(3),
        );
        incident.apply(
            &DomainEvent::ImpactChanged {
                impact: "all EU customers".into(),
            },
            t(3),
        );
        incident.apply(
            &DomainEvent::Renamed {
                from: "Payments failing".into(),
                to: "Cards declined".into(),
            },
            t(3),
        );
        assert_eq!(incident.summary(), Some("cards declined"));
        assert_eq!(incident.impact(), Some("all EU customers"));
        assert_eq!(incident.title(), "Cards declined");

        incident.apply(
            &DomainEvent::ActionAdded {
                number: 1,
                text: "add an alert".into(),
            },
            t(4),
        );
        assert_eq!(
            incident.actions(),
            [FollowUpAction {
                number: 1,
                text: "add an alert".into(),
                created_at: t(4),
                done_at: None,
            }]
        );
        assert_eq!(incident.next_action_number(), 2);

        let pinned = DomainEvent::Pinned {
            message: message("m1"),
            text: "it's the CDN".into(),
            author: Some(user("bo")),
        };
        incident.apply(&pinned, t(5));
        assert_eq!(
            incident.pins(),
            [Pin {
                message: message("m1"),
                text: "it's the CDN".into(),
                author: Some(user("bo")),
                at: t(5)
            }]
        );
        assert!(incident.has_pinned(&message("m1")));
        assert!(!incident.has_pinned(&message("m2")));

        let conversation = ConversationRef::new(Platform::Memory, "inc-4");
        incident.apply(
            &DomainEvent::ConversationOpened {
                conversation: conversation.clone(),
            },
            t(6),
        );
        assert_eq!(incident.conversation(), Some(&conversation));
        assert!(!incident.needs_conversation());
        incident.apply(
            &DomainEvent::AnnouncementPosted {
                message: message("headline"),
            },
            t(6),
        );
        assert_eq!(incident.announcement(), Some(&message("headline")));

        // Timeline-only events leave the state as it was, apart from the
        // bookkeeping every event does.
        let quiet = incident.clone();
        incident.apply(&DomainEvent::NoteAdded { text: "n".into() }, t(7));
        incident.apply(
            &DomainEvent::EffectFailed {
                effect: "post".into(),
                error: "timeout".into(),
            },
            t(7),
        );
        assert_eq!(incident.version(), quiet.version() + 2);
        assert_eq!(incident.status(), quiet.status());
        assert_eq!(incident.summary(), quiet.summary());
        assert_ne!(before, incident);
    }

    #[test]
    fn assigning_a_lead_acknowledges_once() {
        let mut incident = incident([declared("Payments failing")]);
        incident.apply(&lead("ana"), t(3));
        incident.apply(
            &DomainEvent::LeadAssigned {
                lead: user("bo"),
                previous: Some(user("ana")),
            },
            t(9),
        );
        assert_eq!(incident.lead(), Some(&user("bo")));
        assert_eq!(incident.acknowledged_at(), Some(t(3)));
    }

    #[test]
    fn status_milestones_are_stamped_as_the_incident_moves() {
        let mut incident = incident([declared("Payments failing")]);
        incident.apply(&moved(Triage, Investigating), t(2));
        assert_eq!(
            incident.acknowledged_at(),
            Some(t(2)),
            "leaving triage acknowledges"
        );
        incident.apply(&moved(Investigating, Mitigated), t(10));
        assert_eq!(incident.mitigated_at(), Some(t(10)));
        incident.apply(&moved(Mitigated, Resolved), t(30));
        assert_eq!(incident.resolved_at(), Some(t(30)));
        assert_eq!(
            incident.mitigated_at(),
            Some(t(10)),
            "resolving keeps the mitigation time"
        );
        incident.apply(&moved(Resolved, Closed), t(40));
        assert_eq!(incident.closed_at(), Some(t(40)));
        assert!(incident.is_final());
        assert!(!incident.needs_conversation());
        assert_eq!(incident.acknowledged_at(), Some(t(2)));
    }

    #[test]
    fn resolving_straight_away_also_mitigates() {
        let mut incident = incident([declared("Payments failing")]);
        incident.apply(&moved(Triage, Resolved), t(7));
        assert_eq!(incident.acknowledged_at(), Some(t(7)));
        assert_eq!(incident.mitigated_at(), Some(t(7)));
        assert_eq!(incident.resolved_at(), Some(t(7)));
    }

    #[test]
    fn declining_closes_it() {
        let mut incident = incident([declared("False alarm")]);
        incident.apply(&moved(Triage, Declined), t(3));
        assert_eq!(incident.status(), Declined);
        assert_eq!(incident.closed_at(), Some(t(3)));
        assert!(incident.is_final());
        assert_eq!(incident.open_for(t(100)), chrono::Duration::minutes(3));
    }

    #[test]
    fn reopening_clears_mitigation_and_resolution() {
        for from in [Mitigated, Resolved] {
            let mut incident = led_incident_in(from);
            let acknowledged = incident.acknowledged_at();
            incident.apply(&moved(from, Investigating), t(50));
            assert_eq!(incident.status(), Investigating);
            assert_eq!(incident.mitigated_at(), None, "reopened from {from}");
            assert_eq!(incident.resolved_at(), None, "reopened from {from}");
            assert_eq!(
                incident.acknowledged_at(),
                acknowledged,
                "reopened from {from}"
            );
            incident.apply(&moved(Investigating, Mitigated), t(60));
            assert_eq!(
                incident.mitigated_at(),
                Some(t(60)),
                "the new mitigation counts"
            );
        }
    }

    #[test]
    fn open_for_runs_until_resolved_and_never_backwards() {
        let mut incident = incident([declared("Payments failing")]);
        assert_eq!(incident.open_for(t(65)), chrono::Duration::minutes(65));
        assert_eq!(incident.open_for(t(-5)), chrono::Duration::zero());
        incident.apply(&moved(Triage, Resolved), t(30));
        assert_eq!(incident.open_for(t(65)), chrono::Duration::minutes(30));
    }

    #[test]
    fn action_numbers_follow_the_highest() {
        let mut incident = incident([declared("Payments failing")]);
        assert_eq!(incident.next_action_number(), 1);
        incident.apply(
            &DomainEvent::ActionAdded {
                number: 7,
                text: "x".into(),
            },
            t(1),
        );
        incident.apply(
            &DomainEvent::ActionAdded {
                number: 3,
                text: "y".into(),
            },
            t(2),
        );
        assert_eq!(incident.next_action_number(), 8);
    }

    fn role(name: &str) -> RoleName {
        name.parse().expect("a valid role name")
    }

    #[test]
    fn duty_events_change_what_they_record() {
        let mut incident = incident([declared("Payments failing")]);
        incident.apply(
            &DomainEvent::DutiesTriggered {
                severity: severity(2),
                page: vec![],
                notify: vec![],
            },
            t(0),
        );
        assert_eq!(
            incident
                .duties_triggered()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            vec![severity(2)]
        );
        incident.apply(&DomainEvent::UpdatePosted { text: "u".into() }, t(7));
        assert_eq!(incident.last_update_at(), Some(t(7)));
        incident.apply(
            &DomainEvent::SeverityChanged {
                from: severity(2),
                to: severity(1),
            },
            t(8),
        );
        assert_eq!(incident.severity_set_at(), t(8));
        let reminder = |number, minute| DomainEvent::ReminderSet {
            number,
            due_at: t(minute),
            text: format!("reminder {number}"),
        };
        incident.apply(&reminder(1, 30), t(9));
        incident.apply(&reminder(2, 40), t(9));
        assert_eq!(
            incident.custom_reminders(),
            [
                CustomReminder {
                    number: 1,
                    due_at: t(30),
                    text: "reminder 1".into()
                },
                CustomReminder {
                    number: 2,
                    due_at: t(40),
                    text: "reminder 2".into()
                }
            ]
        );
        assert_eq!(incident.next_reminder_number(), 3);
        incident.apply(
            &DomainEvent::ReminderSent {
                reminder: ReminderKind::Custom(1),
                nag: 1,
            },
            t(30),
        );
        assert_eq!(incident.custom_reminder(1), None);
        assert_eq!(incident.custom_reminder(2).map(|r| r.due_at), Some(t(40)));
        assert_eq!(incident.next_reminder_number(), 3);
    }

    #[test]
    fn a_change_of_condition_forgets_only_its_own_reminders() {
        use ReminderKind::*;
        let comms = RoleUnfilled(role("comms"));
        let scribe = RoleUnfilled(role("scribe"));
        let every = [
            NoLead,
            comms.clone(),
            scribe.clone(),
            UpdateDue,
            MitigatedUnresolved,
            ResolvedUnclosed,
            Custom(1),
        ];
        let nagged = || {
            let mut incident = incident([declared("Payments failing")]);
            for reminder in &every {
                for event in [
                    DomainEvent::ReminderSent {
                        reminder: reminder.clone(),
                        nag: 1,
                    },
                    DomainEvent::Snoozed {
                        reminder: reminder.clone(),
                        until: t(50),
                    },
                    DomainEvent::Dismissed {
                        reminder: reminder.clone(),
                    },
                ] {
                    incident.apply(&event, t(5));
                }
            }
            incident
        };
        let cases: Vec<(DomainEvent, Vec<ReminderKind>)> = vec![
            (lead("ana"), vec![NoLead]),
            (
                DomainEvent::RoleAssigned {
                    role: role("comms"),
                    user: user("bo"),
                    previous: None,
                },
                vec![comms.clone()],
            ),
            (
                DomainEvent::UpdatePosted { text: "u".into() },
                vec![UpdateDue],
            ),
            (
                moved(Triage, Investigating),
                vec![MitigatedUnresolved, ResolvedUnclosed],
            ),
            (
                DomainEvent::SeverityChanged {
                    from: severity(2),
                    to: severity(1),
                },
                vec![comms.clone(), scribe.clone(), UpdateDue],
            ),
            (DomainEvent::NoteAdded { text: "n".into() }, vec![]),
        ];
        for (event, cleared) in cases {
            let mut incident = nagged();
            incident.apply(&event, t(10));
            for reminder in &every {
                let kept = !cleared.contains(reminder);
                let what = format!("{reminder} after {}", event.kind());
                assert_eq!(
                    incident.nags().contains_key(reminder),
                    kept,
                    "nag of {what}"
                );
                assert_eq!(
                    incident.snoozed().contains_key(reminder),
                    kept,
                    "snooze of {what}"
                );
                assert_eq!(
                    incident.dismissed().contains(reminder),
                    kept,
                    "dismissal of {what}"
                );
            }
        }
    }

    #[test]
    fn each_reminder_sent_counts_once_more() {
        let mut incident = incident([declared("Payments failing")]);
        for minute in [5, 10, 15] {
            incident.apply(
                &DomainEvent::ReminderSent {
                    reminder: ReminderKind::NoLead,
                    nag: 1,
                },
                t(minute),
            );
        }
        assert_eq!(
            incident.nags().get(&ReminderKind::NoLead),
            Some(&(3, t(15)))
        );
    }
}
