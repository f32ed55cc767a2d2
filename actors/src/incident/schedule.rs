//! Timer decisions: which reminders an incident has pending and when each
//! is due ([`schedule`]), and what a wake-up should do ([`on_timer`]).
//!
//! Both are pure functions of the incident, the policy and (for
//! `on_timer`) the time, so the timer shell can persist due times, lose
//! its wake-ups in a restart and simply ask again. A wake-up is never
//! trusted on its own: `on_timer` recomputes the schedule and acts only if
//! the reminder is still due, which is what makes a stale or superseded
//! wake-up harmless (a resolved incident has no update reminder left to
//! send, however many wake-ups were queued for it).

use super::event::DomainEvent;
use super::policy::Policy;
use super::reminder::ReminderKind;
use super::state::Incident;
use super::status::Status;
use chrono::{DateTime, Duration, Utc};

/// One pending reminder and when it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub reminder: ReminderKind,
    pub at: DateTime<Utc>,
}

/// Every reminder `incident` has pending, earliest first.
///
/// A reminder is pending while its condition holds: no lead; a role the
/// current severity requires unfilled; an update cadence; mitigated but
/// not resolved; resolved but not closed; a `remind` not yet gone off. A
/// resolved incident keeps only the closing reminder and the `remind`s;
/// a closed, declined or report-only one has none. Once a reminder has
/// been sent it recurs one interval later, for as long as nothing changes;
/// a snooze pushes it back, a dismissal drops it until its condition
/// changes.
pub fn schedule(incident: &Incident, policy: &Policy) -> Vec<Due> {
    if incident.is_final() || incident.is_report_only() {
        return Vec::new();
    }
    let delays = &policy.duties.reminders;
    let duties = policy.duties_for(incident.severity());
    // (reminder, first due time, interval between nags); a `remind` goes
    // off once, so it has no interval.
    let mut conditions: Vec<(ReminderKind, DateTime<Utc>, Option<Duration>)> = Vec::new();
    if incident.status() == Status::Resolved {
        if let Some(resolved_at) = incident.resolved_at() {
            let delay = delays.resolved_unclosed_after;
            conditions.push((
                ReminderKind::ResolvedUnclosed,
                resolved_at + delay,
                Some(delay),
            ));
        }
    } else {
        if incident.lead().is_none() {
            let delay = delays.no_lead_after;
            conditions.push((
                ReminderKind::NoLead,
                incident.declared_at() + delay,
                Some(delay),
            ));
        }
        for role in &duties.require_roles {
            if incident.role(role).is_none() {
                let delay = delays.unfilled_role_after;
                conditions.push((
                    ReminderKind::RoleUnfilled(role.clone()),
                    incident.severity_set_at() + delay,
                    Some(delay),
                ));
            }
        }
        if let Some(every) = duties.update_every {
            let last = incident
                .last_update_at()
                .or(incident.acknowledged_at())
                .unwrap_or(incident.declared_at());
            conditions.push((ReminderKind::UpdateDue, last + every, Some(every)));
        }
        if let (Status::Mitigated, Some(mitigated_at)) =
            (incident.status(), incident.mitigated_at())
        {
            let delay = delays.mitigated_unresolved_after;
            conditions.push((
                ReminderKind::MitigatedUnresolved,
                mitigated_at + delay,
                Some(delay),
            ));
        }
    }
    for custom in incident.custom_reminders() {
        conditions.push((ReminderKind::Custom(custom.number), custom.due_at, None));
    }

    let mut pending: Vec<Due> = conditions
        .into_iter()
        .filter(|(reminder, _, _)| !incident.dismissed().contains(reminder))
        .map(|(reminder, first_due, interval)| {
            let mut at = first_due;
            if let (Some((_, last_sent)), Some(interval)) =
                (incident.nags().get(&reminder), interval)
            {
                at = at.max(*last_sent + interval);
            }
            if let Some(until) = incident.snoozed().get(&reminder) {
                at = at.max(*until);
            }
            Due { reminder, at }
        })
        .collect();
    pending.sort_by(|a, b| (a.at, &a.reminder).cmp(&(b.at, &b.reminder)));
    pending
}

/// What to do when the timer for `reminder` wakes up at `now`: send it if
/// it is still due (and, for the update cadence, escalate when the misses
/// reach the policy's limit), else nothing.
pub fn on_timer(
    incident: &Incident,
    reminder: &ReminderKind,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Vec<DomainEvent> {
    let still_due = schedule(incident, policy)
        .iter()
        .any(|due| &due.reminder == reminder && due.at <= now);
    if !still_due {
        return Vec::new();
    }
    let nag = incident
        .nags()
        .get(reminder)
        .map_or(0, |(count, _)| *count)
        .saturating_add(1);
    let mut events = vec![DomainEvent::ReminderSent {
        reminder: reminder.clone(),
        nag,
    }];
    if *reminder == ReminderKind::UpdateDue {
        let duties = policy.duties_for(incident.severity());
        let limit = duties.escalate_after_missed_updates;
        // Exactly at the limit: one page per run of misses, not one per
        // nag after it. An update starts the count again.
        if limit != 0 && nag == limit {
            let reason = missed_updates(limit);
            events.extend(duties.page.iter().map(|target| DomainEvent::Escalated {
                target: target.clone(),
                message: None,
                reason: reason.clone(),
            }));
        }
    }
    events
}

/// `2 updates missed`: the reason an escalation gives on the timeline.
fn missed_updates(count: u32) -> String {
    match count {
        1 => "1 update missed".to_owned(),
        _ => format!("{count} updates missed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::event::Report;
    use crate::incident::fixtures::{
        declared, declared_at_severity, lead, moved, severity, t, user, ID,
    };
    use crate::incident::policy::RoleName;
    use crate::incident::severity::Severity;
    use firebreak_adapters::Platform;
    use ReminderKind::*;
    use Status::*;

    /// Events at the given minutes.
    type Log = Vec<(i64, DomainEvent)>;
    /// Pending reminders at the given minutes.
    type Timetable = Vec<(ReminderKind, i64)>;

    /// The default policy, with severity 1 paging `exec-oncall`.
    fn policy() -> Policy {
        let mut policy = Policy::default();
        policy.duties.escalation_targets = vec!["exec-oncall".into()];
        policy.duties.severities[0].page = vec!["exec-oncall".into()];
        policy
    }

    /// An incident from events at the given minutes.
    fn log(events: Log) -> Incident {
        Incident::replay(
            ID,
            events.into_iter().map(|(minute, event)| (event, t(minute))),
        )
        .expect("test logs start with one declaration")
    }

    /// The schedule as (reminder, minute) pairs, to compare with a table.
    fn due(incident: &Incident, policy: &Policy) -> Timetable {
        schedule(incident, policy)
            .into_iter()
            .map(|due| (due.reminder, (due.at - t(0)).num_minutes()))
            .collect()
    }

    fn role(name: &str) -> RoleName {
        name.parse().expect("a valid role name")
    }

    fn comms() -> ReminderKind {
        RoleUnfilled(role("comms"))
    }

    fn raised(from: i64, to: i64) -> DomainEvent {
        DomainEvent::SeverityChanged {
            from: severity(from),
            to: severity(to),
        }
    }

    fn role_given(name: &str) -> DomainEvent {
        DomainEvent::RoleAssigned {
            role: role(name),
            user: user("bo"),
            previous: None,
        }
    }

    fn update() -> DomainEvent {
        DomainEvent::UpdatePosted {
            text: "rolled back".into(),
        }
    }

    fn sent(reminder: ReminderKind, nag: u32) -> DomainEvent {
        DomainEvent::ReminderSent { reminder, nag }
    }

    fn remind(number: u32, due_minute: i64) -> DomainEvent {
        DomainEvent::ReminderSet {
            number,
            due_at: t(due_minute),
            text: "check the cache".into(),
        }
    }

    #[test]
    fn each_reminder_is_scheduled_while_its_condition_holds() {
        let cases: Vec<(&str, Log, Timetable)> = vec![
            (
                "severity 2, nobody leads",
                vec![(0, declared("x"))],
                vec![(NoLead, 5), (UpdateDue, 30)],
            ),
            (
                "a lead cancels the no-lead reminder; updates count from the acknowledgement",
                vec![(0, declared("x")), (2, lead("ana"))],
                vec![(UpdateDue, 32)],
            ),
            (
                "severity 1 requires comms and updates every 15 minutes",
                vec![(0, declared_at_severity("x", 1))],
                vec![(NoLead, 5), (comms(), 10), (UpdateDue, 15)],
            ),
            (
                "filling the role cancels its reminder",
                vec![(0, declared_at_severity("x", 1)), (3, role_given("comms"))],
                vec![(NoLead, 5), (UpdateDue, 15)],
            ),
            (
                "another role does not",
                vec![(0, declared_at_severity("x", 1)), (3, role_given("scribe"))],
                vec![(NoLead, 5), (comms(), 10), (UpdateDue, 15)],
            ),
            (
                "an update resets the cadence",
                vec![
                    (0, declared_at_severity("x", 1)),
                    (1, lead("ana")),
                    (10, update()),
                ],
                vec![(comms(), 10), (UpdateDue, 25)],
            ),
            (
                "severity 4 has no cadence",
                vec![(0, declared_at_severity("x", 4))],
                vec![(NoLead, 5)],
            ),
            (
                "leaving triage acknowledges, which starts the cadence",
                vec![(0, declared("x")), (4, moved(Triage, Investigating))],
                vec![(NoLead, 5), (UpdateDue, 34)],
            ),
            (
                "mitigated for an hour",
                vec![
                    (0, declared("x")),
                    (0, lead("ana")),
                    (20, moved(Triage, Mitigated)),
                ],
                vec![(UpdateDue, 30), (MitigatedUnresolved, 80)],
            ),
            (
                "a role becomes required when the severity is raised",
                vec![(0, declared("x")), (0, lead("ana")), (20, raised(2, 1))],
                vec![(UpdateDue, 15), (comms(), 30)],
            ),
            (
                "lowering drops the role and slows the cadence",
                vec![
                    (0, declared_at_severity("x", 1)),
                    (0, lead("ana")),
                    (20, raised(1, 3)),
                ],
                vec![(UpdateDue, 120)],
            ),
            (
                "a reminder someone set",
                vec![(0, declared("x")), (0, lead("ana")), (3, remind(1, 20))],
                vec![(Custom(1), 20), (UpdateDue, 30)],
            ),
            (
                "reopening brings the active reminders back",
                vec![
                    (0, declared("x")),
                    (0, lead("ana")),
                    (20, moved(Triage, Resolved)),
                    (50, moved(Resolved, Investigating)),
                ],
                vec![(UpdateDue, 30)],
            ),
        ];
        for (case, events, expected) in cases {
            assert_eq!(due(&log(events), &policy()), expected, "{case}");
        }
    }

    #[test]
    fn resolving_stops_every_reminder_but_closing_and_closing_stops_all() {
        // Mitigating at minute 20 also acknowledges, so updates are due from
        // then.
        let active = vec![
            (0, declared_at_severity("x", 1)),
            (10, remind(1, 500)),
            (20, moved(Triage, Mitigated)),
        ];
        assert_eq!(
            due(&log(active.clone()), &policy()),
            vec![
                (NoLead, 5),
                (comms(), 10),
                (UpdateDue, 35),
                (MitigatedUnresolved, 80),
                (Custom(1), 500)
            ]
        );
        let mut resolved = active;
        resolved.push((40, lead("ana")));
        resolved.push((40, moved(Mitigated, Resolved)));
        assert_eq!(
            due(&log(resolved.clone()), &policy()),
            vec![(Custom(1), 500), (ResolvedUnclosed, 40 + 24 * 60)]
        );
        let mut closed = resolved;
        closed.push((60, moved(Resolved, Closed)));
        assert_eq!(due(&log(closed), &policy()), vec![]);

        let declined = vec![(0, declared("x")), (1, moved(Triage, Declined))];
        assert_eq!(due(&log(declined), &policy()), vec![]);
    }

    #[test]
    fn a_report_has_no_reminders() {
        let report = DomainEvent::Declared {
            title: "Yesterday".into(),
            severity: Severity::MOST_SEVERE,
            summary: None,
            impact: None,
            reporter: user("rita"),
            lead: None,
            platform: Platform::Api,
            private: false,
            report: Some(Report {
                started_at: t(-120),
                resolved_at: Some(t(-60)),
            }),
            labels: Default::default(),
            announce: None,
        };
        assert_eq!(due(&log(vec![(0, report)]), &policy()), vec![]);
    }

    #[test]
    fn a_stale_or_early_wake_up_does_nothing() {
        let unled = vec![(0, declared("x"))];
        let cases: Vec<(&str, Log, ReminderKind, i64)> = vec![
            ("too early", unled.clone(), NoLead, 4),
            (
                "a lead was assigned since",
                vec![(0, declared("x")), (3, lead("ana"))],
                NoLead,
                5,
            ),
            (
                "the update came in since",
                vec![(0, declared("x")), (0, lead("ana")), (25, update())],
                UpdateDue,
                30,
            ),
            (
                "resolved since",
                vec![
                    (0, declared("x")),
                    (0, lead("ana")),
                    (20, moved(Triage, Resolved)),
                ],
                UpdateDue,
                90,
            ),
            (
                "closed since",
                vec![
                    (0, declared("x")),
                    (0, lead("ana")),
                    (20, moved(Triage, Resolved)),
                    (21, moved(Resolved, Closed)),
                ],
                ResolvedUnclosed,
                5000,
            ),
            (
                "already sent at this due time",
                vec![(0, declared("x")), (5, sent(NoLead, 1))],
                NoLead,
                5,
            ),
            ("never scheduled", unled.clone(), MitigatedUnresolved, 500),
            ("no such reminder", unled, Custom(7), 500),
        ];
        for (case, events, reminder, minute) in cases {
            assert_eq!(
                on_timer(&log(events), &reminder, t(minute), &policy()),
                vec![],
                "{case}"
            );
        }
    }

    #[test]
    fn a_reminder_nags_again_only_while_nothing_changes() {
        let policy = policy();
        let mut incident = log(vec![(0, declared("x"))]);
        assert_eq!(
            on_timer(&incident, &NoLead, t(5), &policy),
            vec![sent(NoLead, 1)]
        );
        incident.apply(&sent(NoLead, 1), t(5));
        assert_eq!(incident.nags().get(&NoLead), Some(&(1, t(5))));
        assert_eq!(
            due(&incident, &policy)[0],
            (NoLead, 10),
            "one interval later"
        );
        assert_eq!(on_timer(&incident, &NoLead, t(9), &policy), vec![]);
        // A late wake-up still counts from the last nag, not the first due.
        assert_eq!(
            on_timer(&incident, &NoLead, t(12), &policy),
            vec![sent(NoLead, 2)]
        );
        incident.apply(&sent(NoLead, 2), t(12));
        assert_eq!(due(&incident, &policy)[0], (NoLead, 17));

        incident.apply(&lead("ana"), t(13));
        assert_eq!(incident.nags().get(&NoLead), None, "the count starts over");
        assert!(due(&incident, &policy)
            .iter()
            .all(|(reminder, _)| *reminder != NoLead));
        assert_eq!(on_timer(&incident, &NoLead, t(17), &policy), vec![]);
    }

    #[test]
    fn a_snooze_puts_a_reminder_off_until_its_condition_changes() {
        let policy = policy();
        let snoozed = |reminder, minute| DomainEvent::Snoozed {
            reminder,
            until: t(minute),
        };
        let mut incident = log(vec![(0, declared("x")), (1, snoozed(NoLead, 30))]);
        assert_eq!(due(&incident, &policy), vec![(NoLead, 30), (UpdateDue, 30)]);
        assert_eq!(on_timer(&incident, &NoLead, t(5), &policy), vec![]);
        assert_eq!(
            on_timer(&incident, &NoLead, t(30), &policy),
            vec![sent(NoLead, 1)]
        );

        // A snooze shorter than the wait changes nothing.
        incident.apply(&snoozed(UpdateDue, 10), t(2));
        assert_eq!(due(&incident, &policy), vec![(NoLead, 30), (UpdateDue, 30)]);

        incident.apply(&update(), t(20));
        assert_eq!(incident.snoozed().get(&UpdateDue), None);
        assert_eq!(incident.snoozed().get(&NoLead), Some(&t(30)));
        incident.apply(&lead("ana"), t(21));
        assert!(
            incident.snoozed().is_empty(),
            "the lead ends the no-lead snooze"
        );
    }

    #[test]
    fn a_dismissal_drops_a_reminder_until_its_condition_changes() {
        let policy = policy();
        let dismissed = |reminder| DomainEvent::Dismissed { reminder };
        let mut incident = log(vec![
            (0, declared("x")),
            (0, lead("ana")),
            (20, moved(Triage, Mitigated)),
            (21, dismissed(UpdateDue)),
            (22, dismissed(MitigatedUnresolved)),
        ]);
        assert_eq!(due(&incident, &policy), vec![]);
        assert_eq!(on_timer(&incident, &UpdateDue, t(100), &policy), vec![]);

        incident.apply(&update(), t(40));
        assert_eq!(due(&incident, &policy), vec![(UpdateDue, 70)]);

        incident.apply(&moved(Mitigated, Investigating), t(50));
        incident.apply(&moved(Investigating, Mitigated), t(55));
        assert_eq!(
            due(&incident, &policy),
            vec![(UpdateDue, 70), (MitigatedUnresolved, 115)],
            "mitigated again is a new situation"
        );
    }

    #[test]
    fn the_second_missed_update_escalates_once() {
        let policy = policy();
        let escalated = DomainEvent::Escalated {
            target: "exec-oncall".into(),
            message: None,
            reason: "2 updates missed".into(),
        };
        let mut incident = log(vec![
            (0, declared_at_severity("x", 1)),
            (0, lead("ana")),
            (0, role_given("comms")),
        ]);
        let mut fire = |minute: i64| {
            let events = on_timer(&incident, &UpdateDue, t(minute), &policy);
            for event in &events {
                incident.apply(event, t(minute));
            }
            events
        };
        assert_eq!(
            fire(15),
            vec![sent(UpdateDue, 1)],
            "the first miss only reminds"
        );
        assert_eq!(fire(29), vec![], "not yet due again");
        assert_eq!(fire(30), vec![sent(UpdateDue, 2), escalated.clone()]);
        assert_eq!(
            fire(45),
            vec![sent(UpdateDue, 3)],
            "paged once per run of misses"
        );

        incident.apply(&update(), t(50));
        let mut fire = |minute: i64| {
            let events = on_timer(&incident, &UpdateDue, t(minute), &policy);
            for event in &events {
                incident.apply(event, t(minute));
            }
            events
        };
        assert_eq!(
            fire(65),
            vec![sent(UpdateDue, 1)],
            "an update starts the count over"
        );
        assert_eq!(fire(80), vec![sent(UpdateDue, 2), escalated]);
    }

    #[test]
    fn missed_updates_escalate_only_where_the_policy_says() {
        let two_misses = vec![
            (0, declared_at_severity("x", 1)),
            (0, lead("ana")),
            (15, sent(UpdateDue, 1)),
        ];
        let mut never = policy();
        never.duties.severities[0].escalate_after_missed_updates = 0;
        assert_eq!(
            on_timer(&log(two_misses.clone()), &UpdateDue, t(30), &never),
            vec![sent(UpdateDue, 2)]
        );
        // Severity 2 pages nobody by default.
        let mut quiet = two_misses.clone();
        quiet.push((16, raised(1, 2)));
        quiet.push((46, sent(UpdateDue, 1)));
        assert_eq!(
            on_timer(&log(quiet), &UpdateDue, t(76), &policy()),
            vec![sent(UpdateDue, 2)]
        );
        let mut first = policy();
        first.duties.severities[0].escalate_after_missed_updates = 1;
        first.duties.escalation_targets.push("db-oncall".into());
        first.duties.severities[0].page.push("db-oncall".into());
        let reason = "1 update missed".to_owned();
        assert_eq!(
            on_timer(
                &log(vec![(0, declared_at_severity("x", 1)), (0, lead("ana"))]),
                &UpdateDue,
                t(15),
                &first
            ),
            vec![
                sent(UpdateDue, 1),
                DomainEvent::Escalated {
                    target: "exec-oncall".into(),
                    message: None,
                    reason: reason.clone()
                },
                DomainEvent::Escalated {
                    target: "db-oncall".into(),
                    message: None,
                    reason
                },
            ]
        );
    }

    #[test]
    fn a_new_severity_starts_its_role_and_update_reminders_over() {
        let policy = policy();
        let mut incident = log(vec![
            (0, declared_at_severity("x", 1)),
            (0, lead("ana")),
            (10, sent(comms(), 1)),
            (15, sent(UpdateDue, 1)),
            (16, DomainEvent::Dismissed { reminder: comms() }),
        ]);
        incident.apply(&raised(1, 2), t(20));
        incident.apply(&raised(2, 1), t(21));
        assert!(incident.nags().is_empty());
        assert!(incident.dismissed().is_empty());
        assert_eq!(incident.severity_set_at(), t(21));
        assert_eq!(
            due(&incident, &policy),
            vec![(UpdateDue, 15), (comms(), 31)]
        );
        assert_eq!(
            on_timer(&incident, &UpdateDue, t(21), &policy),
            vec![sent(UpdateDue, 1)],
            "overdue at once, but counted as the first miss"
        );
    }

    #[test]
    fn a_reminder_someone_set_goes_off_once() {
        let policy = policy();
        let mut incident = log(vec![
            (0, declared("x")),
            (0, lead("ana")),
            (3, remind(1, 20)),
        ]);
        assert_eq!(incident.next_reminder_number(), 2);
        assert_eq!(on_timer(&incident, &Custom(1), t(19), &policy), vec![]);
        let events = on_timer(&incident, &Custom(1), t(20), &policy);
        assert_eq!(events, vec![sent(Custom(1), 1)]);
        incident.apply(&events[0], t(20));
        assert!(incident.custom_reminders().is_empty());
        assert_eq!(on_timer(&incident, &Custom(1), t(20), &policy), vec![]);
        assert_eq!(on_timer(&incident, &Custom(1), t(500), &policy), vec![]);
        assert_eq!(
            incident.next_reminder_number(),
            2,
            "a number is never handed out twice"
        );
        assert_eq!(due(&incident, &policy), vec![(UpdateDue, 30)]);
    }
}
