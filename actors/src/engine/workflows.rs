//! Workflow rules from configuration: when a trigger holds for an
//! incident (declared, severity reached, status became), do something
//! (tell conversations, page targets, post a checklist). Each rule runs
//! once per incident, recorded on its timeline, so a restart or a second
//! trip through the same severity does not run it again.

use super::duties::{page_target, tell};
use super::run::commit;
use super::EngineCore;
use crate::incident::{parse_duration, DomainEvent, Incident, RoleName, Severity, Status};
use crate::store::PendingTimer;
use chrono::{DateTime, Duration, Utc};
use firebreak_adapters::{Message, RichText};
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRule {
    pub name: String,
    pub when: Trigger,
    pub notify: Vec<String>,
    pub page: Vec<String>,
    pub checklist: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    Declared,
    /// The incident is at this severity or a more severe one.
    SeverityReaches(Severity),
    StatusBecomes(Status),
    /// Nobody has had `role` for `after` since the incident was declared.
    RoleUnfilledFor {
        role: RoleName,
        after: Duration,
    },
}

impl Trigger {
    pub fn holds(&self, incident: &Incident, now: DateTime<Utc>) -> bool {
        match self {
            Trigger::Declared => true,
            Trigger::SeverityReaches(severity) => incident.severity() <= *severity,
            Trigger::StatusBecomes(status) => incident.status() == *status,
            Trigger::RoleUnfilledFor { role, after } => {
                Self::role_still_unfilled(incident, role) && now >= incident.declared_at() + *after
            }
        }
    }

    /// When a time-bound trigger is due to hold, if nothing changes first.
    fn due(&self, incident: &Incident) -> Option<DateTime<Utc>> {
        match self {
            Trigger::RoleUnfilledFor { role, after }
                if Self::role_still_unfilled(incident, role) =>
            {
                Some(incident.declared_at() + *after)
            }
            _ => None,
        }
    }

    fn role_still_unfilled(incident: &Incident, role: &RoleName) -> bool {
        incident.status().is_active() && incident.role(role).is_none()
    }
}

/// The reminder key of a workflow's timer in the timers table.
pub const WORKFLOW_TIMER: &str = "workflow:";

/// Timers for the time-bound rules that have not run yet.
pub(super) fn workflow_timers(rules: &[WorkflowRule], incident: &Incident) -> Vec<PendingTimer> {
    rules
        .iter()
        .filter(|rule| !incident.has_run_workflow(&rule.name))
        .filter_map(|rule| {
            rule.when.due(incident).map(|due_at| PendingTimer {
                reminder: format!("{WORKFLOW_TIMER}{}", rule.name),
                due_at,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a trigger: write `declared`, `severity:N`, `status:NAME` or `role_unfilled:ROLE:DURATION`")]
pub struct TriggerError(pub String);

impl FromStr for Trigger {
    type Err = TriggerError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || TriggerError(text.to_owned());
        let text = text.trim();
        if text.eq_ignore_ascii_case("declared") {
            return Ok(Trigger::Declared);
        }
        let (kind, value) = text.split_once(':').ok_or_else(error)?;
        match kind.trim() {
            "severity" => value
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|level| Severity::new(level).ok())
                .map(Trigger::SeverityReaches)
                .ok_or_else(error),
            "status" => value
                .parse::<Status>()
                .map(Trigger::StatusBecomes)
                .map_err(|_| error()),
            "role_unfilled" => {
                let (role, after) = value.split_once(':').ok_or_else(error)?;
                Ok(Trigger::RoleUnfilledFor {
                    role: role.parse().map_err(|_| error())?,
                    after: parse_duration(after).map_err(|_| error())?,
                })
            }
            _ => Err(error()),
        }
    }
}

/// Runs every rule whose trigger now holds and that has not run yet.
pub(super) async fn run_workflows(core: &EngineCore, incident: &mut Incident) {
    // A rule added to the config later must not fire for incidents long
    // over.
    if incident.is_report_only() || incident.is_final() {
        return;
    }
    for rule in &core.workflows {
        if incident.has_run_workflow(&rule.name) || !rule.when.holds(incident, core.clock.now()) {
            continue;
        }
        let event = DomainEvent::WorkflowRan {
            name: rule.name.clone(),
        };
        if let Err(error) = commit(core, incident, &[event], None, None).await {
            tracing::error!(incident = %incident.id(), workflow = %rule.name, %error, "could not record a workflow");
            continue;
        }
        let reason = format!("workflow {}", rule.name);
        for target in &rule.page {
            page_target(core, incident, target, &reason).await;
        }
        for conversation in &rule.notify {
            let text = RichText::new()
                .strong(format!(
                    "{} (severity {})",
                    incident.id(),
                    core.policy.severity_label(incident.severity())
                ))
                .text(format!(": {}", incident.title()));
            tell(core, incident, conversation, Message::rich(text)).await;
        }
        if !rule.checklist.is_empty() {
            if let Some(conversation) = incident
                .conversation()
                .map(|conversation| conversation.id.clone())
            {
                let mut message =
                    Message::default().with_heading(format!("Checklist: {}", rule.name));
                for item in &rule.checklist {
                    message = message.with_paragraph(RichText::plain(format!("☐ {item}")));
                }
                tell(core, incident, &conversation, message).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_parse_from_their_written_form() {
        assert_eq!("declared".parse(), Ok(Trigger::Declared));
        assert_eq!(
            "severity:1".parse(),
            Ok(Trigger::SeverityReaches(Severity::MOST_SEVERE))
        );
        assert_eq!(
            "status:mitigated".parse(),
            Ok(Trigger::StatusBecomes(Status::Mitigated))
        );
        assert_eq!(
            "role_unfilled:comms:10m".parse(),
            Ok(Trigger::RoleUnfilledFor {
                role: "comms".parse().expect("valid role"),
                after: Duration::minutes(10),
            })
        );
        for bad in [
            "",
            "severity:9",
            "status:sideways",
            "when:ever",
            "sev1",
            "role_unfilled:comms",
            "role_unfilled:lead:5m",
        ] {
            assert!(bad.parse::<Trigger>().is_err(), "{bad:?}");
        }
    }
}
