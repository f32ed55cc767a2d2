//! Shared test data for the incident domain: a fixed clock, people, and
//! incidents brought to a given status the only way the real code can, by
//! replaying events.

use super::event::DomainEvent;
use super::reference::IncidentId;
use super::severity::Severity;
use super::state::Incident;
use super::status::Status;
use chrono::{DateTime, TimeZone, Utc};
use firebreak_adapters::{ConversationRef, MessageRef, Platform, UserRef};

pub const ID: IncidentId = IncidentId(4);

/// `minutes` after a fixed moment, so expected times read as small numbers.
pub fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("a valid fixed date")
        + chrono::Duration::minutes(minutes)
}

pub fn user(id: &str) -> UserRef {
    UserRef::new(Platform::Memory, id)
}

pub fn severity(level: i64) -> Severity {
    Severity::new(level).expect("test severities are 1 to 4")
}

pub fn message(id: &str) -> MessageRef {
    MessageRef::new(ConversationRef::new(Platform::Memory, "war-room"), id)
}

/// A plain declaration by `rita`: severity 2, no lead, not a report.
pub fn declared(title: &str) -> DomainEvent {
    DomainEvent::Declared {
        title: title.to_owned(),
        severity: severity(2),
        summary: None,
        impact: None,
        reporter: user("rita"),
        lead: None,
        platform: Platform::Memory,
        private: false,
        report: None,
        labels: Default::default(),
        announce: None,
    }
}

/// Like [`declared`], at severity `level`.
pub fn declared_at_severity(title: &str, level: i64) -> DomainEvent {
    DomainEvent::Declared {
        title: title.to_owned(),
        severity: severity(level),
        summary: None,
        impact: None,
        reporter: user("rita"),
        lead: None,
        platform: Platform::Memory,
        private: false,
        report: None,
        labels: Default::default(),
        announce: None,
    }
}

pub fn moved(from: Status, to: Status) -> DomainEvent {
    DomainEvent::StatusChanged { from, to }
}

pub fn lead(id: &str) -> DomainEvent {
    DomainEvent::LeadAssigned {
        lead: user(id),
        previous: None,
    }
}

/// Replays `events` (declared at minute 0, then one a minute).
pub fn incident(events: impl IntoIterator<Item = DomainEvent>) -> Incident {
    let timed = events
        .into_iter()
        .zip(0..)
        .map(|(event, minute)| (event, t(minute)));
    Incident::replay(ID, timed).expect("test logs start with one declaration")
}

/// "Payments failing", led by `ana`, brought to `status` through the moves
/// a real incident would make. Its severity's duties were carried out on
/// declaration, as the engine does.
pub fn led_incident_in(status: Status) -> Incident {
    use Status::*;
    let path: &[(Status, Status)] = match status {
        Triage => &[],
        Investigating => &[(Triage, Investigating)],
        Mitigated => &[(Triage, Investigating), (Investigating, Mitigated)],
        Resolved => &[
            (Triage, Investigating),
            (Investigating, Mitigated),
            (Mitigated, Resolved),
        ],
        Closed => &[
            (Triage, Investigating),
            (Investigating, Resolved),
            (Resolved, Closed),
        ],
        Declined => &[(Triage, Declined)],
    };
    let duties = DomainEvent::DutiesTriggered {
        severity: severity(2),
        page: vec![],
        notify: vec![],
    };
    let events = [declared("Payments failing"), duties, lead("ana")]
        .into_iter()
        .chain(path.iter().map(|(from, to)| moved(*from, *to)));
    let incident = incident(events);
    assert_eq!(
        incident.status(),
        status,
        "the fixture reaches the status asked for"
    );
    incident
}
