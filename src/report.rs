//! The post-incident report: a Markdown skeleton with the facts filled in
//! from the event log (times, people, pages, status-page updates, follow-up
//! actions) and headed sections for what only people can write.

use chrono::{DateTime, Duration, Utc};
use firebreak_actors::incident::{DomainEvent, Incident, Policy};
use firebreak_actors::store::{Participant, TimelineRecord};
use std::fmt::Write as _;

pub struct ReportInput<'a> {
    pub incident: &'a Incident,
    pub timeline: &'a [TimelineRecord],
    pub participants: &'a [Participant],
    pub policy: &'a Policy,
    pub page_url: Option<String>,
    pub conversation_url: Option<String>,
}

/// A duration to the second, so the report can be checked against the
/// timeline: `2h 05m 00s`, `12m 30s`, `45s`.
pub fn exact(duration: Duration) -> String {
    let total = duration.num_seconds().max(0);
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m {seconds:02}s"),
        _ => format!("{hours}h {minutes:02}m {seconds:02}s"),
    }
}

pub fn render(input: &ReportInput<'_>) -> String {
    let incident = input.incident;
    let mut out = String::new();
    let id = incident.id();
    let line = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(&mut out, format!("# {id}: {}", md(incident.title())));
    line(&mut out, String::new());
    line(&mut out, "| | |".into());
    line(&mut out, "|---|---|".into());
    line(&mut out, format!("| Status | {} |", incident.status()));
    line(
        &mut out,
        format!(
            "| Severity | {} |",
            md(&input.policy.severity_label(incident.severity()))
        ),
    );
    line(
        &mut out,
        format!(
            "| Lead | {} |",
            incident
                .lead()
                .map(|lead| md(lead.display()))
                .unwrap_or_else(|| "nobody".into())
        ),
    );
    line(
        &mut out,
        format!("| Reporter | {} |", md(incident.reporter().display())),
    );
    line(&mut out, format!("| Platform | {} |", incident.platform()));
    if let Some(url) = &input.page_url {
        line(&mut out, format!("| Incident page | <{url}> |"));
    }
    if let Some(url) = &input.conversation_url {
        line(&mut out, format!("| Conversation | <{url}> |"));
    }
    line(&mut out, String::new());

    line(&mut out, "## Summary".into());
    line(&mut out, String::new());
    line(
        &mut out,
        incident
            .summary()
            .map(md)
            .unwrap_or_else(|| "_No summary was given._".into()),
    );
    line(&mut out, String::new());
    line(&mut out, "## Impact".into());
    line(&mut out, String::new());
    line(
        &mut out,
        incident
            .impact()
            .map(md)
            .unwrap_or_else(|| "_No impact was recorded._".into()),
    );
    line(&mut out, String::new());

    line(&mut out, "## Key times".into());
    line(&mut out, String::new());
    let started = incident.started_at();
    line(&mut out, format!("- Started: {}", time(started)));
    line(
        &mut out,
        format!("- Declared: {}", time(incident.declared_at())),
    );
    for (what, at) in [
        ("acknowledge", incident.acknowledged_at()),
        ("mitigate", incident.mitigated_at()),
        ("resolve", incident.resolved_at()),
    ] {
        let text = match at {
            Some(at) => format!("{} (at {})", exact(at - started), time(at)),
            None => "not reached".into(),
        };
        line(&mut out, format!("- Time to {what}: {text}"));
    }
    if let Some(closed) = incident.closed_at() {
        line(&mut out, format!("- Closed: {}", time(closed)));
    }
    line(&mut out, String::new());

    line(&mut out, "## People".into());
    line(&mut out, String::new());
    line(
        &mut out,
        "| Person | Role | Messages in the conversation |".into(),
    );
    line(&mut out, "|---|---|---|".into());
    let mut people: Vec<(String, String)> = Vec::new();
    if let Some(lead) = incident.lead() {
        people.push((lead.id.clone(), "lead".into()));
    }
    for (role, user) in incident.roles() {
        people.push((user.id.clone(), role.as_str().to_owned()));
    }
    people.push((incident.reporter().id.clone(), "reporter".into()));
    let mut listed: Vec<String> = Vec::new();
    let mut person_line = |out: &mut String, id: &str, name: &str| {
        if listed.iter().any(|seen| seen == id) {
            return;
        }
        listed.push(id.to_owned());
        let roles: Vec<&str> = people
            .iter()
            .filter(|(person, _)| person == id)
            .map(|(_, role)| role.as_str())
            .collect();
        let messages = input
            .participants
            .iter()
            .find(|participant| participant.user.id == id)
            .map(|participant| participant.messages)
            .unwrap_or(0);
        let roles = if roles.is_empty() {
            "—".to_owned()
        } else {
            roles.join(", ")
        };
        out.push_str(&format!("| {} | {roles} | {messages} |\n", md(name)));
    };
    let known = incident
        .lead()
        .into_iter()
        .chain(incident.roles().values())
        .chain(std::iter::once(incident.reporter()));
    for user in known {
        person_line(&mut out, &user.id, user.display());
    }
    for participant in input.participants {
        person_line(&mut out, &participant.user.id, participant.user.display());
    }
    line(&mut out, String::new());

    event_section(&mut out, input, "Pages", "_Nobody was paged._", |event| {
        matches!(
            event,
            DomainEvent::PageSent { .. } | DomainEvent::Escalated { .. }
        )
    });
    event_section(
        &mut out,
        input,
        "Updates and status page",
        "_No updates were posted._",
        |event| {
            matches!(
                event,
                DomainEvent::StatusPageUpdated { .. } | DomainEvent::UpdatePosted { .. }
            )
        },
    );

    line(&mut out, "## Timeline".into());
    line(&mut out, String::new());
    line(&mut out, "| Time (UTC) | Who | What |".into());
    line(&mut out, "|---|---|---|".into());
    for entry in input.timeline {
        let who = entry
            .actor
            .as_ref()
            .map(|user| md(user.display()))
            .unwrap_or_else(|| "Firebreak".into());
        line(
            &mut out,
            format!(
                "| {} | {who} | {} |",
                time(entry.occurred_at),
                md(&entry.event.describe(input.policy))
            ),
        );
    }
    line(&mut out, String::new());

    line(&mut out, "## Follow-up actions".into());
    line(&mut out, String::new());
    if incident.actions().is_empty() {
        line(&mut out, "_None recorded._".into());
    }
    for action in incident.actions() {
        let done = if action.done_at.is_some() { "x" } else { " " };
        // Whoever raised an action owns it until the review says otherwise.
        let owner = input
            .timeline
            .iter()
            .find(|entry| matches!(&entry.event, DomainEvent::ActionAdded { number, .. } if *number == action.number))
            .and_then(|entry| entry.actor.as_ref())
            .map(|user| md(user.display()))
            .unwrap_or_else(|| "_to assign_".into());
        line(
            &mut out,
            format!(
                "- [{done}] {}. {} (owner: {owner})",
                action.number,
                md(&action.text)
            ),
        );
    }
    line(&mut out, String::new());

    for heading in [
        "What happened",
        "Root cause",
        "What went well",
        "What could have gone better",
        "Lessons",
    ] {
        let _ = writeln!(out, "## {heading}\n\n_To be written._\n");
    }
    out
}

/// A headed list of the timeline entries `wanted` picks, or `none` in
/// italics when there are none, so an empty section says so rather than
/// looking forgotten.
fn event_section(
    out: &mut String,
    input: &ReportInput<'_>,
    heading: &str,
    none: &str,
    wanted: impl Fn(&DomainEvent) -> bool,
) {
    let _ = writeln!(out, "## {heading}\n");
    let mut any = false;
    for entry in input.timeline.iter().filter(|entry| wanted(&entry.event)) {
        any = true;
        let _ = writeln!(
            out,
            "- {} {}",
            time(entry.occurred_at),
            md(&entry.event.describe(input.policy))
        );
    }
    if !any {
        let _ = writeln!(out, "{none}");
    }
    out.push('\n');
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Text from chat, made safe for a Markdown table cell: pipes and line
/// breaks would break the table, angle brackets could become HTML.
fn md(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_exact_to_the_second() {
        assert_eq!(exact(Duration::seconds(45)), "45s");
        assert_eq!(exact(Duration::seconds(12 * 60 + 5)), "12m 05s");
        assert_eq!(exact(Duration::seconds(2 * 3600 + 3 * 60)), "2h 03m 00s");
        assert_eq!(exact(Duration::seconds(-5)), "0s");
    }

    #[test]
    fn chat_text_cannot_break_the_markdown() {
        assert_eq!(md("a|b\nc <x>"), "a\\|b c &lt;x&gt;");
    }
}
