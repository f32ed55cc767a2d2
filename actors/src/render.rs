//! What the engine says in chat: the headline in the announcement
//! conversation, the brief in the incident conversation, and the notices
//! that follow each change. Platform-neutral [`Message`]s; each adapter
//! renders them in its own format.

use crate::incident::{DomainEvent, Incident, Policy, Status};
use firebreak_adapters::{
    Button, ButtonStyle, Form, FormInput, FormInputKind, Message, RichText, UserRef,
};

/// Button ids the engine understands when they come back pressed.
pub mod actions {
    /// "I'll lead": the presser becomes the lead.
    pub const CLAIM_LEAD: &str = "incident.claim_lead";
    /// Opens the edit form.
    pub const EDIT: &str = "incident.edit";
    /// Closes the incident (the rules still apply: it needs a lead).
    pub const CLOSE: &str = "incident.close";
    /// On a reminder: quiet it for half an hour, or until its condition
    /// changes. The value is `<incident id>:<reminder>`.
    pub const SNOOZE: &str = "reminder.snooze";
    pub const DISMISS: &str = "reminder.dismiss";
    /// Link buttons; their presses carry nothing to do.
    pub const JOIN: &str = "incident.join";
    pub const PAGE: &str = "incident.page";
}

/// The edit form's id is this followed by the incident number, so the
/// submission names its incident.
pub const EDIT_FORM_PREFIX: &str = "incident.edit:";

/// The declare dialog, prefilled with what the person already typed (the
/// slash command's text, or the message a shortcut was used on). Its
/// answers come back as a form submission with the same input ids.
pub fn declare_form(policy: &Policy, title: Option<&str>, summary: Option<&str>) -> Form {
    let severities = severity_options(policy);
    Form {
        id: crate::engine::DECLARE_FORM.to_owned(),
        title: "Declare incident".to_owned(),
        submit_label: "Declare".to_owned(),
        inputs: vec![
            input("title", "Title", FormInputKind::Line, true, title),
            input(
                "summary",
                "What is happening?",
                FormInputKind::Paragraph,
                false,
                summary,
            ),
            input(
                "impact",
                "Who or what is affected?",
                FormInputKind::Paragraph,
                false,
                None,
            ),
            input(
                "severity",
                "Severity",
                FormInputKind::Select {
                    options: severities,
                },
                true,
                None,
            ),
            input("lead", "Lead", FormInputKind::User, false, None),
            input(
                "private",
                "Private incident (no public announcement)",
                FormInputKind::Checkbox,
                false,
                None,
            ),
        ],
    }
}

/// The edit dialog for an incident's headline facts, filled with their
/// current values.
pub fn edit_form(incident: &Incident, policy: &Policy) -> Form {
    let severities = severity_options(policy);
    Form {
        id: format!("{EDIT_FORM_PREFIX}{}", incident.id().0),
        title: format!("Edit {}", incident.id()),
        submit_label: "Save".to_owned(),
        inputs: vec![
            input(
                "title",
                "Title",
                FormInputKind::Line,
                true,
                Some(incident.title()),
            ),
            input(
                "summary",
                "What is happening?",
                FormInputKind::Paragraph,
                false,
                incident.summary(),
            ),
            input(
                "impact",
                "Who or what is affected?",
                FormInputKind::Paragraph,
                false,
                incident.impact(),
            ),
            input(
                "severity",
                "Severity",
                FormInputKind::Select {
                    options: severities,
                },
                true,
                Some(&incident.severity().level().to_string()),
            ),
        ],
    }
}

fn input(
    id: &str,
    label: &str,
    kind: FormInputKind,
    required: bool,
    initial: Option<&str>,
) -> FormInput {
    FormInput {
        id: id.to_owned(),
        label: label.to_owned(),
        kind,
        required,
        initial: initial
            .map(str::to_owned)
            .filter(|text| !text.trim().is_empty()),
    }
}

/// `(value, label)` for each severity: `("1", "1 (critical)")`.
fn severity_options(policy: &Policy) -> Vec<(String, String)> {
    crate::incident::Severity::ALL
        .into_iter()
        .map(|severity| {
            (
                severity.level().to_string(),
                policy.severity_label(severity),
            )
        })
        .collect()
}

/// Links the messages can point at; empty when not configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The incident's own web page.
    pub page: Option<String>,
    /// A link into the incident conversation.
    pub conversation: Option<String>,
}

/// The headline: one message per incident in the announcement
/// conversation, updated in place as the incident changes.
pub fn headline(incident: &Incident, policy: &Policy, links: &Links) -> Message {
    let mut message = Message::default().with_heading(format!(
        "{} {}: {}",
        status_marker(incident.status()),
        incident.id(),
        incident.title()
    ));
    if let Some(summary) = incident.summary() {
        message = message.with_paragraph(RichText::plain(summary));
    }
    message = message
        .with_field("Status", RichText::new().strong(incident.status().as_str()))
        .with_field(
            "Severity",
            RichText::plain(policy.severity_label(incident.severity())),
        )
        .with_field("Lead", user_or(incident.lead(), "nobody yet"))
        .with_field(
            "Reporter",
            RichText::new().mention(incident.reporter().clone()),
        );
    if let Some(impact) = incident.impact() {
        message = message.with_field("Impact", RichText::plain(impact));
    }
    if !incident.alerts().is_empty() {
        message = message.with_field("Alerts", RichText::plain(alert_count(incident)));
    }
    // A running clock would be stale between updates; the duration is
    // shown once it is settled.
    if let Some(resolved_at) = incident.resolved_at() {
        let lasted = crate::incident::human_duration(incident.open_for(resolved_at));
        message = message.with_field("Duration", RichText::plain(lasted));
    }
    if let Some(url) = &links.conversation {
        message = message.with_button(Button::link(actions::JOIN, "Join channel", url.clone()));
    }
    if let Some(url) = &links.page {
        message = message.with_button(Button::link(actions::PAGE, "Incident page", url.clone()));
    }
    if !incident.is_final() {
        let id = incident.id().0.to_string();
        if incident.lead().is_none() {
            message = message.with_button(
                Button::action(actions::CLAIM_LEAD, "I'll lead", id.clone())
                    .with_style(ButtonStyle::Primary),
            );
        }
        message = message
            .with_button(Button::action(actions::EDIT, "Edit", id.clone()))
            .with_button(
                Button::action(actions::CLOSE, "Close", id).with_style(ButtonStyle::Danger),
            );
    }
    message.with_context(RichText::plain(format!(
        "Declared {} UTC",
        incident.declared_at().format("%Y-%m-%d %H:%M")
    )))
}

/// `3 firing, 1 resolved`.
pub fn alert_count(incident: &Incident) -> String {
    let alerts = incident.alerts();
    match (alerts.firing(), alerts.resolved()) {
        (firing, 0) => format!("{firing} firing"),
        (0, resolved) => format!("{resolved} resolved, none firing"),
        (firing, resolved) => format!("{firing} firing, {resolved} resolved"),
    }
}

/// What the alerts among `events` suggest people do: say `status
/// mitigated` when they left the incident with alerts but none firing
/// while nobody has mitigated it, say `reopen` when alerts fire again on a
/// mitigated or resolved incident.
pub fn alert_suggestion(incident: &Incident, events: &[DomainEvent]) -> Option<Message> {
    use firebreak_adapters::alerts::AlertStatus;
    let received = |status: AlertStatus| -> Vec<&str> {
        events
            .iter()
            .filter_map(|event| match event {
                DomainEvent::AlertsReceived { alerts, .. } => Some(alerts),
                _ => None,
            })
            .flatten()
            .filter(|alert| alert.status == status)
            .map(|alert| alert.name())
            .collect()
    };
    let alerts = incident.alerts();
    match incident.status() {
        Status::Mitigated | Status::Resolved => {
            let firing = received(AlertStatus::Firing);
            let first = firing.first()?;
            let more = match firing.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            Some(Message::rich(
                RichText::plain(format!(
                    "🔥 {first}{more} firing again on {}, which is {}. If the problem is back, say ",
                    incident.id(),
                    incident.status()
                ))
                .code("reopen")
                .text("."),
            ))
        }
        Status::Triage | Status::Investigating
            if !received(AlertStatus::Resolved).is_empty()
                && !alerts.is_empty()
                && alerts.firing() == 0 =>
        {
            let resolved = match alerts.resolved() {
                1 => format!("The alert of {} has resolved", incident.id()),
                n => format!("All {n} alerts of {} have resolved", incident.id()),
            };
            Some(Message::rich(
                RichText::plain(format!("✅ {resolved}. If the problem is over too, say "))
                    .code("status mitigated")
                    .text("."),
            ))
        }
        _ => None,
    }
}

/// The first message in a new incident conversation: what this is and how
/// to drive it.
pub fn brief(incident: &Incident, policy: &Policy) -> Message {
    let mut message = Message::default()
        .with_heading(format!("{}: {}", incident.id(), incident.title()))
        .with_paragraph(
            RichText::plain("This conversation is for ")
                .strong(incident.id().to_string())
                .text(format!(
                    ", severity {}.",
                    policy.severity_label(incident.severity())
                )),
        );
    message = match incident.lead() {
        Some(lead) => message.with_paragraph(RichText::plain("Lead: ").mention(lead.clone())),
        None => message.with_paragraph(
            RichText::plain("Nobody leads yet: say ")
                .code("lead")
                .text(" to take it, or ")
                .code("lead @someone")
                .text(" to hand it over."),
        ),
    };
    message.with_paragraph(
        RichText::plain("Say ")
            .code("help")
            .text(" for every command."),
    )
}

/// What changes did, for the incident's conversation: one paragraph per
/// change, `@who: what; what`, in one message, so a burst of commands is
/// one post (chat platforms limit posts per conversation). `None` when
/// nothing is worth saying.
pub fn change_notice(
    changes: &[(Vec<DomainEvent>, Option<UserRef>)],
    policy: &Policy,
) -> Option<Message> {
    let mut paragraphs = changes.iter().filter_map(|(events, actor)| {
        let lines: Vec<String> = events
            .iter()
            .filter(|event| is_worth_announcing(event))
            .map(|event| event.describe(policy))
            .collect();
        if lines.is_empty() {
            return None;
        }
        let mut text = RichText::new();
        if let Some(actor) = actor {
            text = text.mention(actor.clone()).text(": ");
        }
        Some(text.text(lines.join("; ")))
    });
    let first = paragraphs.next()?;
    Some(paragraphs.fold(Message::rich(first), Message::with_paragraph))
}

/// A plain reply: an answer, a rejection or the help text.
pub fn reply(text: impl Into<String>) -> Message {
    Message::text(text)
}

/// Bookkeeping events are on the timeline but not worth a chat message.
fn is_worth_announcing(event: &DomainEvent) -> bool {
    !matches!(
        event,
        DomainEvent::ConversationOpened { .. }
            | DomainEvent::AnnouncementPosted { .. }
            | DomainEvent::EffectFailed { .. }
            | DomainEvent::DutiesTriggered { .. }
            | DomainEvent::PageSent { .. }
            | DomainEvent::ReminderSent { .. }
    )
}

fn user_or(user: Option<&UserRef>, missing: &str) -> RichText {
    match user {
        Some(user) => RichText::new().mention(user.clone()),
        None => RichText::plain(missing),
    }
}

fn status_marker(status: Status) -> &'static str {
    match status {
        Status::Triage => "🟠",
        Status::Investigating => "🔴",
        Status::Mitigated => "🟡",
        Status::Resolved => "🟢",
        Status::Closed | Status::Declined => "⚪",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{IncidentId, Severity};
    use chrono::{TimeZone, Utc};
    use firebreak_adapters::Platform;

    fn incident(lead: Option<UserRef>) -> Incident {
        let declared = DomainEvent::Declared {
            title: "Payments failing".into(),
            severity: Severity::new(2).expect("valid severity"),
            summary: Some("Card payments time out".into()),
            impact: None,
            reporter: UserRef::new(Platform::Memory, "bo").with_name("Bo"),
            lead,
            platform: Platform::Memory,
            private: false,
            report: None,
            labels: Default::default(),
            announce: None,
        };
        let at = Utc
            .with_ymd_and_hms(2026, 11, 24, 9, 30, 0)
            .single()
            .expect("valid time");
        Incident::from_declared(IncidentId(7), &declared, at).expect("declared event")
    }

    #[test]
    fn headline_shows_the_facts_and_offers_the_lead_while_nobody_leads() {
        let links = Links {
            page: Some("https://firebreak.test/incidents/7".into()),
            conversation: None,
        };
        let message = headline(&incident(None), &Policy::default(), &links);
        assert_eq!(
            message.to_plain(),
            "🟠 INC-7: Payments failing\nCard payments time out\nStatus: triage\nSeverity: 2 (major)\n\
             Lead: nobody yet\nReporter: @Bo\n[Incident page]\n[I'll lead]\n[Edit]\n[Close]\n\
             Declared 2026-11-24 09:30 UTC"
        );
        assert_eq!(
            message.buttons[0].url.as_deref(),
            Some("https://firebreak.test/incidents/7")
        );
        assert_eq!(message.buttons[1].value, "7");
    }

    #[test]
    fn headline_drops_the_lead_button_once_someone_leads() {
        let ana = UserRef::new(Platform::Memory, "ana").with_name("Ana");
        let message = headline(&incident(Some(ana)), &Policy::default(), &Links::default());
        let actions: Vec<&str> = message
            .buttons
            .iter()
            .map(|button| button.action_id.as_str())
            .collect();
        assert_eq!(actions, [actions::EDIT, actions::CLOSE]);
        assert!(message.to_plain().contains("Lead: @Ana"));
    }

    #[test]
    fn a_resolved_headline_shows_how_long_it_lasted() {
        let mut resolved = incident(None);
        let later = resolved.declared_at() + chrono::Duration::minutes(95);
        resolved.apply(
            &DomainEvent::StatusChanged {
                from: Status::Triage,
                to: Status::Resolved,
            },
            later,
        );
        let text = headline(&resolved, &Policy::default(), &Links::default()).to_plain();
        assert!(text.contains("Duration: 1h 35m"), "{text}");
        assert!(
            !headline(&incident(None), &Policy::default(), &Links::default())
                .to_plain()
                .contains("Duration")
        );
    }

    #[test]
    fn alerts_suggest_mitigating_once_all_resolve_and_reopening_when_they_fire_again() {
        use firebreak_adapters::alerts::{Alert, AlertStatus};
        let received = |status| DomainEvent::AlertsReceived {
            source: "prod".into(),
            group_key: "g".into(),
            group_labels: Default::default(),
            storm_key: None,
            alerts: vec![Alert {
                fingerprint: "f1".into(),
                status,
                labels: [("alertname".to_owned(), "DatabaseDown".to_owned())].into(),
                annotations: Default::default(),
                starts_at: None,
                ends_at: None,
                links: Vec::new(),
            }],
        };
        let at = Utc
            .with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
            .single()
            .expect("valid time");
        let mut incident = incident(None);
        let suggest = |incident: &Incident, event: &DomainEvent| {
            alert_suggestion(incident, std::slice::from_ref(event)).map(|m| m.to_plain())
        };
        let firing = received(AlertStatus::Firing);
        incident.apply(&firing, at);
        assert_eq!(
            suggest(&incident, &firing),
            None,
            "firing in triage is news, not a nudge"
        );
        let resolved = received(AlertStatus::Resolved);
        incident.apply(&resolved, at);
        assert_eq!(
            suggest(&incident, &resolved).as_deref(),
            Some("✅ The alert of INC-7 has resolved. If the problem is over too, say status mitigated.")
        );
        let mitigated = DomainEvent::StatusChanged {
            from: Status::Triage,
            to: Status::Mitigated,
        };
        incident.apply(&mitigated, at);
        assert_eq!(suggest(&incident, &resolved), None);
        incident.apply(&firing, at);
        assert_eq!(
            suggest(&incident, &firing).as_deref(),
            Some("🔥 DatabaseDown firing again on INC-7, which is mitigated. If the problem is back, say reopen.")
        );
    }

    #[test]
    fn bookkeeping_events_make_no_notice() {
        let events = [DomainEvent::EffectFailed {
            effect: "post".into(),
            error: "down".into(),
        }];
        assert_eq!(
            change_notice(&[(events.to_vec(), None)], &Policy::default()),
            None
        );
    }

    #[test]
    fn a_burst_of_changes_is_one_notice_with_a_paragraph_each() {
        let alice = UserRef::new(Platform::Memory, "U1").with_name("alice");
        let bob = UserRef::new(Platform::Memory, "U2").with_name("bob");
        let note = |text: &str| DomainEvent::NoteAdded {
            text: text.to_owned(),
        };
        let changes = [
            (vec![note("db failover started")], Some(alice)),
            (
                vec![DomainEvent::EffectFailed {
                    effect: "post".into(),
                    error: "down".into(),
                }],
                None,
            ),
            (vec![note("replica lag 3 s"), note("paged dba")], Some(bob)),
        ];
        let notice = change_notice(&changes, &Policy::default()).expect("a notice");
        assert_eq!(notice.paragraphs.len(), 2, "nothing for the bookkeeping");
        let text = notice.to_plain();
        let (first, second) = (
            text.find("db failover started").expect("alice's note"),
            text.find("replica lag 3 s").expect("bob's note"),
        );
        assert!(first < second, "in the order they happened: {text}");
        assert!(text.contains("bob") && text.contains("paged dba"), "{text}");
    }
}
