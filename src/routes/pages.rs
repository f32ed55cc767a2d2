//! The web pages: the incident list, one page per incident, and the login
//! that guards them. Server-rendered with maud, which escapes every value
//! it interpolates, so text typed in chat (a title of `<script>`) renders
//! as text. No JavaScript.

use super::errors::ApiError;
use super::incidents::{filter_from, incident_id, ListQuery};
use super::session;
use super::AppState;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use firebreak_actors::incident::{human_duration, Command, IncidentId, Severity};
use firebreak_adapters::ConversationRef;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::fmt;
use std::future::{ready, Ready};

/// Small, readable on a phone, no external assets.
const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#e8590c;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:60rem;margin:0 auto;padding:1rem}
table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:.45rem;border-bottom:1px solid #e5e5e5;vertical-align:top}
.badge{display:inline-block;padding:.1rem .45rem;border-radius:.6rem;font-size:.8rem;background:#e5e5e5}
.sev-1{background:#c92a2a;color:#fff}.sev-2{background:#e8590c;color:#fff}.sev-3{background:#f59f00}.sev-4{background:#ced4da}
.st-resolved,.st-closed{background:#2b8a3e;color:#fff}.st-mitigated{background:#74b816}.st-declined{background:#868e96;color:#fff}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:1rem}
.muted{color:#6b6b6b;font-size:.85rem}
@media(max-width:40rem){.wide{display:none}}
"#;

fn page(title: &str, body: Markup) -> HttpResponse {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Firebreak" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a href="/incidents" { "Firebreak" }
                    a href="/incidents" { "Incidents" }
                    a href="/stats" { "Statistics" }
                }
                main { (body) }
            }
        }
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

/// Someone allowed to see the pages. Taking one as a handler argument is
/// the check: anyone else is sent to the login form, which brings them
/// back to the page they asked for.
pub struct Viewer;

impl FromRequest for Viewer {
    type Error = LoginFirst;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let allowed = request
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| session::allowed(state, request));
        ready(if allowed {
            Ok(Viewer)
        } else {
            let next = request
                .uri()
                .path_and_query()
                .map(|target| target.as_str())
                .unwrap_or("/incidents");
            Err(LoginFirst(format!("/login?next={}", urlencode(next))))
        })
    }
}

/// The redirect to the login form, carrying where to come back to.
#[derive(Debug)]
pub struct LoginFirst(String);

impl fmt::Display for LoginFirst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "log in first at {}", self.0)
    }
}

impl ResponseError for LoginFirst {
    fn status_code(&self) -> StatusCode {
        StatusCode::SEE_OTHER
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, self.0.as_str()))
            .finish()
    }
}

pub async fn list(
    _viewer: Viewer,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (filter, limit) = filter_from(&state, &query)?;
    let page_of = state.core.store.list_incidents(&filter, limit).await?;
    let policy = &state.core.policy;
    let severities: Vec<(i64, String)> = (1..=4)
        .filter_map(|level| Severity::new(level).ok())
        .map(|severity| (i64::from(severity.level()), policy.severity_label(severity)))
        .collect();
    let statuses = [
        "triage",
        "investigating",
        "mitigated",
        "resolved",
        "closed",
        "declined",
    ];
    let body = html! {
        h1 { "Incidents" }
        form.filters method="get" action="/incidents" {
            select name="status" aria-label="Status" {
                option value="" { "Any status" }
                @for status in statuses {
                    option value=(status) selected[query.status.as_deref() == Some(status)] { (status) }
                }
            }
            select name="severity" aria-label="Severity" {
                option value="" { "Any severity" }
                @for (level, label) in &severities {
                    option value=(level) selected[query.severity.as_deref() == Some(level.to_string().as_str())] { (label) }
                }
            }
            input type="search" name="q" placeholder="Search titles" value=[query.q.as_deref()];
            button type="submit" { "Filter" }
        }
        @if page_of.items.is_empty() {
            p.muted { "No incidents match." }
        } @else {
            table {
                thead { tr { th { "Incident" } th { "Status" } th { "Severity" } th.wide { "Lead" } th.wide { "Declared" } } }
                tbody {
                    @for record in &page_of.items {
                        tr {
                            td {
                                a href=(format!("/incidents/{}", IncidentId(record.id))) {
                                    (IncidentId(record.id)) ": " (record.title)
                                }
                            }
                            td { (status_badge(&record.status)) }
                            td { (severity_badge(&state, record.severity)) }
                            td.wide { (record.lead_name.as_deref().or(record.lead_id.as_deref()).unwrap_or("—")) }
                            td.wide { (time(record.declared_at)) }
                        }
                    }
                }
            }
            @if let Some(next) = page_of.next {
                p { a href=(format!("/incidents?cursor={next}")) { "Older incidents →" } }
            }
        }
    };
    Ok(page("Incidents", body))
}

pub async fn show(
    _viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = incident_id(&path)?;
    let Some(incident) = state.core.store.load_incident(id).await? else {
        return Err(ApiError::NotFound(format!("{id} does not exist")));
    };
    let timeline = state.core.store.timeline(id).await?;
    let policy = &state.core.policy;
    let entries = crate::timeline::entries(&timeline, policy);
    let conversation_link = incident
        .conversation()
        .and_then(|conversation| link(&state, conversation));
    let since_start = |at: Option<DateTime<Utc>>| {
        at.map(|at| human_duration((at - incident.started_at()).max(chrono::Duration::zero())))
    };
    let body = html! {
        h1 { (id) ": " (incident.title()) }
        p {
            (status_badge(incident.status().as_str())) " "
            (severity_badge(&state, i16::from(incident.severity().level())))
            @if incident.is_private() { " " span.badge { "private" } }
        }
        dl {
            dt { "Lead" } dd { (incident.lead().map(|u| u.display().to_owned()).unwrap_or_else(|| "nobody yet".into())) }
            @for (role, user) in incident.roles() {
                dt { (role.as_str()) } dd { (user.display()) }
            }
            dt { "Reporter" } dd { (incident.reporter().display()) }
            @if !incident.labels().is_empty() {
                dt { "Labels" } dd { @for (key, value) in incident.labels() { span.badge { (key) "=" (value) } " " } }
            }
            dt { "Summary" } dd { (incident.summary().unwrap_or("—")) }
            dt { "Impact" } dd { (incident.impact().unwrap_or("—")) }
            dt { "Started" } dd { (time(incident.started_at())) }
            dt { "Acknowledged after" } dd { (since_start(incident.acknowledged_at()).unwrap_or_else(|| "—".into())) }
            dt { "Mitigated after" } dd { (since_start(incident.mitigated_at()).unwrap_or_else(|| "—".into())) }
            dt { "Resolved after" } dd { (since_start(incident.resolved_at()).unwrap_or_else(|| "—".into())) }
            @if let Some(url) = &conversation_link {
                dt { "Conversation" } dd { a href=(url) { "Open in " (incident.platform().as_str()) } }
            }
        }
        p { a href=(format!("/incidents/{id}/report")) { "Copy report" } }
        @if !incident.alerts().is_empty() {
            h2 { "Alerts" }
            table.alerts {
                thead { tr { th { "Alert" } th { "State" } th { "Labels" } th { "Since" } th { "Source" } } }
                tbody {
                    @for known in incident.alerts().attached() {
                        tr {
                            td {
                                // Only web links: the tool's links are not ours to trust.
                                @match known.alert.links.iter().find(|url| url.starts_with("https://") || url.starts_with("http://")) {
                                    Some(url) => a href=(url) { (known.alert.name()) },
                                    None => (known.alert.name()),
                                }
                            }
                            td { (known.alert.status.as_str()) }
                            td { (firebreak_actors::incident::label_text(&known.alert)) }
                            td { (time(known.alert.starts_at.unwrap_or(known.first_seen))) }
                            td { (known.source) }
                        }
                    }
                }
            }
        }
        h2 { "Timeline" }
        table.timeline {
            thead { tr { th { "When" } th { "Who" } th { "What" } } }
            tbody {
                @for entry in &entries {
                    (timeline_row(entry))
                }
            }
        }
        details {
            summary { "Edit the timeline for the review" }
            form method="post" action=(format!("/incidents/{id}/timeline")) {
                input type="hidden" name="edit" value="add";
                p {
                    label { "Add what happened at (UTC) " input type="datetime-local" name="at" required; }
                    " "
                    label { "what " input type="text" name="text" required; }
                    " "
                    button type="submit" { "Add entry" }
                }
            }
            form method="post" action=(format!("/incidents/{id}/timeline")) {
                input type="hidden" name="edit" value="correct";
                p {
                    label { "Correct entry " select name="seq" {
                        @for entry in &entries { option value=(entry.record.seq) { (entry.record.seq) } }
                    } }
                    " "
                    label { "to read " input type="text" name="text" required; }
                    " "
                    button type="submit" { "Correct" }
                }
            }
        }
        h2 { "Follow-up actions" }
        @if incident.actions().is_empty() {
            p.muted { "None yet." }
        } @else {
            ul {
                @for action in incident.actions() {
                    li {
                        (action.number) ". " (action.text)
                        @if action.done_at.is_some() { " " span.badge.st-resolved { "done" } }
                    }
                }
            }
        }
        p.muted { "Severity: " (policy.severity_label(incident.severity())) }
    };
    Ok(page(&format!("{id}: {}", incident.title()), body))
}

fn timeline_row(entry: &crate::timeline::Entry<'_>) -> Markup {
    html! {
        tr id=(format!("entry-{}", entry.record.seq)) {
            td.muted { (time(entry.at)) }
            td { (entry.record.actor.as_ref().map(|user| user.display().to_owned()).unwrap_or_else(|| "Firebreak".into())) }
            td {
                (entry.text)
                @if let Some(original) = &entry.original {
                    br; span.muted { "Corrected; it read: " (original) }
                }
            }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct TimelineEdit {
    edit: String,
    text: String,
    at: Option<String>,
    seq: Option<u64>,
}

/// The review's timeline edits from the incident page.
pub async fn edit_timeline(
    _viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<TimelineEdit>,
) -> Result<HttpResponse, ApiError> {
    let id = incident_id(&path)?;
    let form = form.into_inner();
    let command = match form.edit.as_str() {
        "add" => {
            let at = form.at.as_deref().unwrap_or_default();
            // `datetime-local` sends `2026-11-24T09:55`, read as UTC.
            let at = chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S"))
                .map_err(|_| ApiError::BadRequest(format!("`{at}` is not a date and time")))?
                .and_utc();
            Command::AddTimelineEntry {
                text: form.text,
                at,
            }
        }
        "correct" => Command::CorrectTimelineEntry {
            seq: form
                .seq
                .ok_or_else(|| ApiError::BadRequest("which entry?".to_owned()))?,
            text: form.text,
        },
        other => return Err(ApiError::BadRequest(format!("`{other}` is not an edit"))),
    };
    super::incidents::review_edit(&state, id, command, Some("web")).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/incidents/{id}")))
        .finish())
}

/// The report as Markdown to copy into the review document.
pub async fn report(
    _viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = incident_id(&path)?;
    let text = super::incidents::report_text(&state, id).await?;
    let body = html! {
        h1 { "Report of " (id) }
        p.muted { "Select all and copy into the review document. " a href=(format!("/api/v1/incidents/{id}/report.md")) { "Download report.md" } }
        pre style="white-space:pre-wrap;background:#fff;padding:1rem;border:1px solid #e5e5e5" { (text) }
    };
    Ok(page(&format!("Report of {id}"), body))
}

pub async fn stats(
    _viewer: Viewer,
    state: web::Data<AppState>,
    query: web::Query<super::incidents::PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    let stats = super::incidents::stats_for(&state, &query).await?;
    let duration = |quantiles: &Option<crate::stats::Quantiles>| match quantiles {
        Some(q) => format!(
            "{} / {}",
            human_duration(chrono::Duration::seconds(q.median_seconds)),
            human_duration(chrono::Duration::seconds(q.p90_seconds))
        ),
        None => "—".to_owned(),
    };
    let body = html! {
        h1 { "Statistics" }
        form.filters method="get" action="/stats" {
            label { "From " input type="date" name="since" value=[query.since.as_deref()]; }
            label { "to " input type="date" name="until" value=[query.until.as_deref()]; }
            button type="submit" { "Show" }
        }
        p { (stats.total) " incidents." }
        h2 { "Incidents per week" }
        (crate::stats::weekly_chart(&stats))
        h2 { "Median time to resolve, per week" }
        (crate::stats::resolve_trend_chart(&stats))
        h2 { "Response times (median / p90)" }
        table {
            thead { tr { th { "Severity" } th { "Count" } th { "Acknowledge" } th { "Mitigate" } th { "Resolve" } } }
            tbody {
                @for times in &stats.times {
                    tr {
                        td { (times.severity) " (" (times.name) ")" }
                        td { (stats.by_severity.get(&times.severity).copied().unwrap_or(0)) }
                        td { (duration(&times.acknowledge)) }
                        td { (duration(&times.mitigate)) }
                        td { (duration(&times.resolve)) }
                    }
                }
            }
        }
        h2 { "Busiest labels" }
        @if stats.busiest_labels.is_empty() { p.muted { "No incident has labels." } }
        ul { @for (label, count) in &stats.busiest_labels { li { (label) ": " (count) } } }
        h2 { "By status" }
        ul { @for (status, count) in &stats.by_status { li { (status) ": " (count) } } }
    };
    Ok(page("Statistics", body))
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    failed: Option<String>,
}

pub async fn login_form(query: web::Query<LoginQuery>) -> HttpResponse {
    let body = html! {
        h1 { "Log in" }
        @if query.failed.is_some() { p role="alert" { "That token is not right." } }
        form method="post" action="/login" {
            input type="hidden" name="next" value=(safe_next(query.next.as_deref()));
            label for="token" { "API token" } " "
            input id="token" type="password" name="token" autocomplete="current-password" required;
            " "
            button type="submit" { "Log in" }
        }
    };
    page("Log in", body)
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    token: String,
    next: Option<String>,
}

pub async fn login(state: web::Data<AppState>, form: web::Form<LoginForm>) -> HttpResponse {
    let next = safe_next(form.next.as_deref());
    match session::issue(&state, &form.token, Utc::now()) {
        Some(cookie) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, next))
            .insert_header((header::SET_COOKIE, cookie))
            .finish(),
        None => HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/login?failed=1&next={}", urlencode(&next)),
            ))
            .finish(),
    }
}

pub async fn logout() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .insert_header((header::SET_COOKIE, session::cleared()))
        .finish()
}

/// Only paths on this site: a login link cannot send anyone elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/incidents".to_owned(),
    }
}

fn link(state: &AppState, conversation: &ConversationRef) -> Option<String> {
    state
        .core
        .platforms
        .adapter(conversation.platform)
        .and_then(|adapter| adapter.conversation_link(conversation))
}

fn status_badge(status: &str) -> Markup {
    html! { span class=(format!("badge st-{status}")) { (status) } }
}

fn severity_badge(state: &AppState, severity: i16) -> Markup {
    let label = Severity::new(i64::from(severity))
        .map(|severity| state.core.policy.severity_label(severity))
        .unwrap_or_else(|_| severity.to_string());
    html! { span class=(format!("badge sev-{severity}")) { (label) } }
}

fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_only_sends_people_to_this_site() {
        assert_eq!(safe_next(Some("/incidents/INC-1")), "/incidents/INC-1");
        assert_eq!(safe_next(Some("//evil.example")), "/incidents");
        assert_eq!(safe_next(Some("https://evil.example")), "/incidents");
        assert_eq!(safe_next(Some("/\\evil.example")), "/incidents");
        assert_eq!(safe_next(None), "/incidents");
    }
}
