//! Severity duties: what reaching a severity obliges the engine to do
//! (page its escalation targets, notify its conversations), once per
//! severity per incident.
//!
//! "Once" is a fact in the event log (`duties_triggered`), not a flag in
//! memory, so a restart, a replay or lowering and raising the severity
//! again never pages twice.

use super::event::DomainEvent;
use super::policy::Policy;
use super::severity::Severity;
use super::state::Incident;

/// The duties of a newly declared incident's severity, for the engine to
/// record right after the declaration. `None` for a report (it is over, so
/// nobody is paged) and for an incident whose duties are already done.
pub fn duties_on_declare(incident: &Incident, policy: &Policy) -> Option<DomainEvent> {
    duties_on_reaching(incident, incident.severity(), policy)
}

/// The duties of `severity` if the incident reaching it now owes them:
/// not yet triggered, and the incident still needs people. A resolved
/// incident whose severity is corrected afterwards pages nobody; should
/// it be reopened, [`duties_on_reopening`] catches up.
pub(super) fn duties_on_reaching(
    incident: &Incident,
    severity: Severity,
    policy: &Policy,
) -> Option<DomainEvent> {
    if !incident.status().is_active() {
        return None;
    }
    duties_owed(incident, severity, policy)
}

/// The duties of the current severity, if never carried out, for an
/// incident that is being reopened (so it is about to need people again).
pub(super) fn duties_on_reopening(incident: &Incident, policy: &Policy) -> Option<DomainEvent> {
    duties_owed(incident, incident.severity(), policy)
}

fn duties_owed(incident: &Incident, severity: Severity, policy: &Policy) -> Option<DomainEvent> {
    if incident.is_report_only() || incident.duties_triggered().contains(&severity) {
        return None;
    }
    let duties = policy.duties_for(severity);
    Some(DomainEvent::DutiesTriggered {
        severity,
        page: duties.page.clone(),
        notify: duties.notify.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::event::Report;
    use crate::incident::fixtures::{
        declared, declared_at_severity, incident, led_incident_in, severity, t, user,
    };
    use crate::incident::status::Status;
    use firebreak_adapters::Platform;

    fn paging_policy() -> Policy {
        let mut policy = Policy::default();
        policy.duties.escalation_targets = vec!["exec-oncall".into()];
        policy.duties.severities[0].page = vec!["exec-oncall".into()];
        policy.duties.severities[0].notify = vec!["C0EXEC".into()];
        policy
    }

    #[test]
    fn a_declaration_triggers_its_severitys_duties_once() {
        let policy = paging_policy();
        let mut incident = incident([declared_at_severity("Payments failing", 1)]);
        let duties = duties_on_declare(&incident, &policy);
        assert_eq!(
            duties,
            Some(DomainEvent::DutiesTriggered {
                severity: severity(1),
                page: vec!["exec-oncall".into()],
                notify: vec!["C0EXEC".into()],
            })
        );
        incident.apply(&duties.expect("duties"), t(0));
        assert_eq!(duties_on_declare(&incident, &policy), None, "only once");
    }

    #[test]
    fn a_severity_without_duties_still_records_them_once() {
        let policy = Policy::default();
        let incident = incident([declared("Payments failing")]);
        assert_eq!(
            duties_on_declare(&incident, &policy),
            Some(DomainEvent::DutiesTriggered {
                severity: severity(2),
                page: vec![],
                notify: vec![],
            })
        );
    }

    #[test]
    fn reports_and_finished_incidents_owe_no_duties() {
        let policy = paging_policy();
        let report = incident([DomainEvent::Declared {
            title: "Yesterday".into(),
            severity: severity(1),
            summary: None,
            impact: None,
            reporter: user("rita"),
            lead: Some(user("ana")),
            platform: Platform::Api,
            private: false,
            report: Some(Report {
                started_at: t(-60),
                resolved_at: None,
            }),
            labels: Default::default(),
            announce: None,
        }]);
        assert_eq!(duties_on_declare(&report, &policy), None);
        for status in [Status::Resolved, Status::Closed, Status::Declined] {
            assert_eq!(
                duties_on_declare(&led_incident_in(status), &policy),
                None,
                "{status}"
            );
        }
    }
}
