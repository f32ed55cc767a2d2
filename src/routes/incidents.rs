//! The admin API over incidents: list, show, timeline, declare, command.
//! Reads come from the store; changes go to the incident's actor, the only
//! writer.

use super::auth::ApiCaller;
use super::{errors::ApiError, AppState};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use firebreak_actors::engine::{Declare, DeclareRequest, RunCommand, RunTypedCommand};
use firebreak_actors::incident::{Command, IncidentId, Report, Severity, Status};
use firebreak_actors::store::{IncidentFilter, IncidentRecord};
use firebreak_adapters::{Platform, UserRef};
use serde::{Deserialize, Serialize};

const DEFAULT_PAGE: u64 = 50;
const MAX_PAGE: u64 = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Comma-separated statuses.
    pub(super) status: Option<String>,
    /// Comma-separated severities, by number or name.
    pub(super) severity: Option<String>,
    pub(super) platform: Option<String>,
    pub(super) since: Option<String>,
    pub(super) until: Option<String>,
    pub(super) q: Option<String>,
    pub(super) limit: Option<u64>,
    pub(super) cursor: Option<String>,
}

#[derive(Debug, Serialize)]
struct UserDto {
    platform: Platform,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl From<&UserRef> for UserDto {
    fn from(user: &UserRef) -> Self {
        Self {
            platform: user.platform,
            id: user.id.clone(),
            name: user.name.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
struct IncidentDto {
    id: i64,
    reference: String,
    title: String,
    summary: Option<String>,
    impact: Option<String>,
    status: String,
    severity: i16,
    severity_name: String,
    platform: String,
    private: bool,
    report_only: bool,
    reporter: UserDto,
    lead: Option<UserDto>,
    conversation_id: Option<String>,
    started_at: DateTime<Utc>,
    declared_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    mitigated_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct RoleDto {
    role: String,
    user: UserDto,
}

#[derive(Debug, Serialize)]
struct ActionDto {
    number: i32,
    text: String,
    created_at: DateTime<Utc>,
    done_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
struct IncidentDetailDto {
    #[serde(flatten)]
    incident: IncidentDto,
    roles: Vec<RoleDto>,
    actions: Vec<ActionDto>,
    alerts: Vec<AlertDto>,
    silences: Vec<SilenceDto>,
}

#[derive(Debug, Serialize)]
struct AlertDto {
    source: String,
    group_key: String,
    fingerprint: String,
    name: String,
    status: &'static str,
    labels: std::collections::BTreeMap<String, String>,
    annotations: std::collections::BTreeMap<String, String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    links: Vec<String>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct SilenceDto {
    source: String,
    id: String,
    until: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct TimelineEntryDto {
    seq: i64,
    at: DateTime<Utc>,
    kind: &'static str,
    text: String,
    /// What the entry said before the review corrected it.
    #[serde(skip_serializing_if = "Option::is_none")]
    original_text: Option<String>,
    actor: Option<UserDto>,
}

/// `POST /api/v1/incidents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclareBody {
    title: String,
    summary: Option<String>,
    impact: Option<String>,
    /// A number (`1`) or a severity name (`"critical"`).
    severity: Option<serde_json::Value>,
    /// Who leads: a user id on the incident's platform (`@ana` or `ana`).
    lead: Option<String>,
    /// Who declares it; `api` when not given.
    reporter: Option<String>,
    #[serde(default)]
    private: bool,
    platform: Option<String>,
    /// Record an incident that already happened, with its times.
    report: Option<ReportBody>,
    /// What it is about: `{"service": "payments", "region": "eu"}`.
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    started_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/incidents/{id}/commands`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandBody {
    text: String,
    /// Who is running it; `api` when not given.
    user: Option<String>,
}

pub async fn list(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, limit) = filter_from(&state, &query.into_inner())?;
    let page = state.core.store.list_incidents(&filter, limit).await?;
    let incidents: Vec<IncidentDto> = page
        .items
        .iter()
        .map(|record| incident_dto(&state, record))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "incidents": incidents,
        "next_cursor": page.next.map(|id| id.to_string()),
    })))
}

/// The incidents `query` asks for, and how many per page: shared by the
/// API and the list page.
pub(super) fn filter_from(
    state: &AppState,
    query: &ListQuery,
) -> Result<(IncidentFilter, u64), ApiError> {
    let policy = &state.core.policy;
    let mut filter = IncidentFilter::default();
    for status in split_list(query.status.as_deref()) {
        filter.statuses.push(
            status
                .parse::<Status>()
                .map_err(|error| ApiError::BadRequest(error.to_string()))?,
        );
    }
    for severity in split_list(query.severity.as_deref()) {
        filter.severities.push(
            policy
                .severity_by_name(severity)
                .ok_or_else(|| ApiError::BadRequest(format!("`{severity}` is not a severity")))?,
        );
    }
    if let Some(platform) = query.platform.as_deref().filter(|p| !p.is_empty()) {
        filter.platform = Some(platform.parse().map_err(
            |error: firebreak_adapters::PlatformParseError| ApiError::BadRequest(error.to_string()),
        )?);
    }
    filter.since = query
        .since
        .as_deref()
        .map(|text| parse_time("since", text))
        .transpose()?;
    filter.until = query
        .until
        .as_deref()
        .map(|text| parse_time("until", text))
        .transpose()?;
    filter.text = query.q.clone();
    filter.after = query
        .cursor
        .as_deref()
        .filter(|cursor| !cursor.is_empty())
        .map(|cursor| {
            cursor.parse::<i64>().map_err(|_| {
                ApiError::BadRequest(format!("`{cursor}` is not a cursor from a previous page"))
            })
        })
        .transpose()?;
    let limit = match query.limit {
        None => DEFAULT_PAGE,
        Some(limit @ 1..=MAX_PAGE) => limit,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "limit must be 1 to {MAX_PAGE}, not {other}"
            )));
        }
    };
    Ok((filter, limit))
}

pub async fn show(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = incident_id(&path)?;
    let record = find(&state, id).await?;
    let roles = state.core.store.incident_roles(id).await?;
    let actions = state.core.store.incident_actions(id).await?;
    // Alerts live in the event log, not the projection.
    let incident = state.core.store.load_incident(id).await?;
    let (alerts, silences) = incident
        .as_ref()
        .map(|incident| {
            let alerts = incident.alerts();
            let attached = alerts
                .attached()
                .into_iter()
                .map(|known| AlertDto {
                    source: known.source.clone(),
                    group_key: known.group_key.clone(),
                    fingerprint: known.alert.fingerprint.clone(),
                    name: known.alert.name().to_owned(),
                    status: known.alert.status.as_str(),
                    labels: known.alert.labels.clone(),
                    annotations: known.alert.annotations.clone(),
                    starts_at: known.alert.starts_at,
                    ends_at: known.alert.ends_at,
                    links: known.alert.links.clone(),
                    first_seen: known.first_seen,
                    last_seen: known.last_seen,
                })
                .collect();
            let silences = alerts
                .silences()
                .iter()
                .map(|silence| SilenceDto {
                    source: silence.source.clone(),
                    id: silence.id.clone(),
                    until: silence.until,
                })
                .collect();
            (attached, silences)
        })
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(IncidentDetailDto {
        alerts,
        silences,
        incident: incident_dto(&state, &record),
        roles: roles
            .iter()
            .map(|role| RoleDto {
                role: role.role.clone(),
                user: UserDto::from(&role.user),
            })
            .collect(),
        actions: actions
            .into_iter()
            .map(|action| ActionDto {
                number: action.number,
                text: action.text,
                created_at: action.created_at,
                done_at: action.done_at,
            })
            .collect(),
    }))
}

/// Groups of alerts recorded without an incident (too mild to open one,
/// and none open), latest first.
pub async fn recorded_alerts(
    _caller: ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let groups = state.core.store.recorded_alert_groups(200).await?;
    let groups: Vec<serde_json::Value> = groups
        .into_iter()
        .map(|group| {
            serde_json::json!({
                "source": group.source,
                "group_key": group.group_key,
                "status": group.status,
                "alerts": group.alerts,
                "first_seen": group.first_seen,
                "last_seen": group.last_seen,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "recorded": groups })))
}

/// The post-incident report as Markdown.
pub async fn report(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = incident_id(&path)?;
    Ok(HttpResponse::Ok()
        .content_type("text/markdown; charset=utf-8")
        .body(report_text(&state, id).await?))
}

/// The report of incident `id`, for the API and the report page.
pub(super) async fn report_text(state: &AppState, id: IncidentId) -> Result<String, ApiError> {
    let Some(incident) = state.core.store.load_incident(id).await? else {
        return Err(ApiError::NotFound(format!("{id} does not exist")));
    };
    let timeline = state.core.store.timeline(id).await?;
    let participants = state.core.store.participants(id).await?;
    let links = state.core.links(&incident);
    Ok(crate::report::render(&crate::report::ReportInput {
        incident: &incident,
        timeline: &timeline,
        participants: &participants,
        policy: &state.core.policy,
        page_url: links.page,
        conversation_url: links.conversation,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    pub(super) since: Option<String>,
    pub(super) until: Option<String>,
}

/// Counts and response times over a period (default: everything).
pub async fn stats(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(stats_for(&state, &query).await?))
}

pub(super) async fn stats_for(
    state: &AppState,
    query: &PeriodQuery,
) -> Result<crate::stats::Stats, ApiError> {
    let mut filter = IncidentFilter {
        since: query
            .since
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(|text| parse_time("since", text))
            .transpose()?,
        until: query
            .until
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(|text| parse_time("until", text))
            .transpose()?,
        ..IncidentFilter::default()
    };
    let mut records = Vec::new();
    loop {
        let page = state.core.store.list_incidents(&filter, 1_000).await?;
        records.extend(page.items);
        match page.next {
            Some(next) => filter.after = Some(next),
            None => break,
        }
    }
    Ok(crate::stats::compute(
        &records,
        &state.core.policy,
        filter.since,
        filter.until,
    ))
}

pub async fn timeline(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = incident_id(&path)?;
    find(&state, id).await?;
    let records = state.core.store.timeline(id).await?;
    let entries: Vec<TimelineEntryDto> = crate::timeline::entries(&records, &state.core.policy)
        .into_iter()
        .map(timeline_entry)
        .collect();
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "incident": id.to_string(), "entries": entries })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEntryBody {
    text: String,
    /// When it happened (RFC 3339).
    at: String,
    user: Option<String>,
}

/// Adds an entry the timeline is missing, at the time it happened.
pub async fn add_entry(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<NewEntryBody>,
) -> Result<HttpResponse, ApiError> {
    let id = incident_id(&path)?;
    let body = body.into_inner();
    let command = Command::AddTimelineEntry {
        text: body.text,
        at: parse_time("at", &body.at)?,
    };
    review_edit(&state, id, command, body.user.as_deref()).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "incident": id.to_string() })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    seq: u64,
    text: String,
    user: Option<String>,
}

/// Corrects an entry's text; the original stays in the event log.
pub async fn correct_entry(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CorrectionBody>,
) -> Result<HttpResponse, ApiError> {
    let id = incident_id(&path)?;
    let body = body.into_inner();
    let command = Command::CorrectTimelineEntry {
        seq: body.seq,
        text: body.text,
    };
    review_edit(&state, id, command, body.user.as_deref()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "incident": id.to_string() })))
}

/// Sends a review edit to the incident's actor, the one writer.
pub(super) async fn review_edit(
    state: &AppState,
    id: IncidentId,
    command: Command,
    user: Option<&str>,
) -> Result<(), ApiError> {
    find(state, id).await?;
    let user = user_on(Platform::Api, user.unwrap_or("api"))?;
    state
        .supervisor
        .send(RunTypedCommand {
            incident: id,
            command,
            user,
        })
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))??;
    Ok(())
}

pub async fn declare(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    body: web::Json<DeclareBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let platforms = &state.core.platforms;
    let platform = match body.platform.as_deref() {
        Some(name) => {
            let platform: Platform =
                name.parse()
                    .map_err(|error: firebreak_adapters::PlatformParseError| {
                        ApiError::Unprocessable(error.to_string())
                    })?;
            if platform != Platform::Api && platforms.get(platform).is_none() {
                return Err(ApiError::Unprocessable(format!(
                    "platform {platform} is not configured"
                )));
            }
            platform
        }
        None => platforms.default_platform().ok_or_else(|| {
            ApiError::Unprocessable(
                "several chat platforms are configured: say which with `platform`".to_owned(),
            )
        })?,
    };
    let severity = body
        .severity
        .as_ref()
        .map(|value| parse_severity(&state, value))
        .transpose()?;
    let lead = body
        .lead
        .as_deref()
        .map(|lead| user_on(platform, lead))
        .transpose()?;
    let reporter = user_on(Platform::Api, body.reporter.as_deref().unwrap_or("api"))?;
    let request = DeclareRequest {
        title: body.title,
        severity,
        summary: non_empty(body.summary),
        impact: non_empty(body.impact),
        reporter,
        lead,
        platform,
        private: body.private,
        report: body.report.map(|report| Report {
            started_at: report.started_at,
            resolved_at: report.resolved_at,
        }),
        labels: labels(body.labels)?,
        announce: None,
    };
    let declared = state
        .supervisor
        .send(Declare {
            request,
            origin: None,
        })
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?
        .map_err(|error| match error {
            // A declaration's problems are in the body.
            firebreak_actors::engine::EngineError::Rejected(rejection) => {
                ApiError::Unprocessable(rejection.to_string())
            }
            other => other.into(),
        })?
        .ok_or_else(|| ApiError::Internal("declaration was not stored".to_owned()))?;
    let record = find(&state, declared.id()).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/incidents/{}", declared.id().0)))
        .json(incident_dto(&state, &record)))
}

pub async fn command(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CommandBody>,
) -> Result<HttpResponse, ApiError> {
    let id = incident_id(&path)?;
    let body = body.into_inner();
    find(&state, id).await?;
    let user = user_on(Platform::Api, body.user.as_deref().unwrap_or("api"))?;
    let reply = state
        .supervisor
        .send(RunCommand {
            incident: id,
            text: body.text,
            user,
        })
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))??;
    let record = find(&state, id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "reply": reply.text,
        "changes": reply.changes,
        "incident": incident_dto(&state, &record),
    })))
}

async fn find(state: &AppState, id: IncidentId) -> Result<IncidentRecord, ApiError> {
    state
        .core
        .store
        .get_incident(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no incident {id}")))
}

pub(super) fn incident_id(text: &str) -> Result<IncidentId, ApiError> {
    text.parse::<IncidentId>()
        .map_err(|error| ApiError::NotFound(error.to_string()))
}

fn parse_severity(state: &AppState, value: &serde_json::Value) -> Result<Severity, ApiError> {
    let text = match value {
        serde_json::Value::Number(number) => number.to_string(),
        serde_json::Value::String(text) => text.clone(),
        other => {
            return Err(ApiError::Unprocessable(format!(
                "severity must be a number or a name, not {other}"
            )))
        }
    };
    state.core.policy.severity_by_name(&text).ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "`{text}` is not a severity (1 to 4 or a severity name)"
        ))
    })
}

/// A user named in an API body: `@ana` or `ana`, on the given platform.
fn user_on(platform: Platform, text: &str) -> Result<UserRef, ApiError> {
    let id = text.trim().trim_start_matches('@');
    if id.is_empty() || id.len() > 255 || id.contains(char::is_whitespace) {
        return Err(ApiError::Unprocessable(format!(
            "`{text}` is not a user id"
        )));
    }
    Ok(UserRef::new(platform, id))
}

/// Labels as given, within sane bounds: they end up in every listing.
fn labels(
    labels: std::collections::BTreeMap<String, String>,
) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    if labels.len() > 20 {
        return Err(ApiError::BadRequest("at most 20 labels".to_owned()));
    }
    for (key, value) in &labels {
        if key.trim().is_empty() || key.len() > 64 || value.len() > 200 {
            return Err(ApiError::BadRequest(format!(
                "label `{key}`: keys are 1–64 characters, values up to 200"
            )));
        }
    }
    Ok(labels)
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

fn split_list(text: Option<&str>) -> impl Iterator<Item = &str> {
    text.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
}

/// RFC 3339 (`2026-11-24T10:00:00Z`) or a date (`2026-11-24`, midnight UTC).
fn parse_time(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{name} must be an RFC 3339 time or a date, not `{text}`"
            ))
        })
}

fn user_dto(platform: Option<&str>, id: Option<&String>, name: Option<&String>) -> Option<UserDto> {
    Some(UserDto {
        platform: platform
            .and_then(|p| p.parse().ok())
            .unwrap_or(Platform::Api),
        id: id?.clone(),
        name: name.cloned(),
    })
}

fn incident_dto(state: &AppState, record: &IncidentRecord) -> IncidentDto {
    let severity_name = Severity::new(i64::from(record.severity))
        .map(|severity| state.core.policy.severity_name(severity).to_owned())
        .unwrap_or_default();
    let id = IncidentId(record.id);
    IncidentDto {
        id: record.id,
        reference: id.to_string(),
        title: record.title.clone(),
        summary: record.summary.clone(),
        impact: record.impact.clone(),
        status: record.status.clone(),
        severity: record.severity,
        severity_name,
        platform: record.platform.clone(),
        private: record.private,
        report_only: record.report_only,
        reporter: UserDto {
            platform: record.reporter_platform.parse().unwrap_or(Platform::Api),
            id: record.reporter_id.clone(),
            name: record.reporter_name.clone(),
        },
        lead: user_dto(
            record.lead_platform.as_deref(),
            record.lead_id.as_ref(),
            record.lead_name.as_ref(),
        ),
        conversation_id: record.conversation_id.clone(),
        started_at: record.started_at,
        declared_at: record.declared_at,
        acknowledged_at: record.acknowledged_at,
        mitigated_at: record.mitigated_at,
        resolved_at: record.resolved_at,
        closed_at: record.closed_at,
        updated_at: record.updated_at,
        url: state
            .core
            .web_base_url
            .as_ref()
            .map(|base| format!("{}/incidents/{id}", base.trim_end_matches('/'))),
        labels: record
            .labels
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default(),
    }
}

fn timeline_entry(entry: crate::timeline::Entry<'_>) -> TimelineEntryDto {
    TimelineEntryDto {
        seq: entry.record.seq,
        at: entry.at,
        kind: entry.record.event.kind(),
        text: entry.text,
        original_text: entry.original,
        actor: entry.record.actor.as_ref().map(UserDto::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_dates() {
        assert_eq!(
            parse_time("since", "2026-11-24")
                .map(|t| t.to_rfc3339())
                .ok(),
            Some("2026-11-24T00:00:00+00:00".to_owned())
        );
        assert_eq!(
            parse_time("since", "2026-11-24T10:00:00+01:00")
                .map(|t| t.to_rfc3339())
                .ok(),
            Some("2026-11-24T09:00:00+00:00".to_owned())
        );
        assert!(parse_time("since", "yesterday").is_err());
    }

    #[test]
    fn users_in_bodies_are_single_ids() {
        assert_eq!(
            user_on(Platform::Memory, "@ana").map(|u| u.id).ok(),
            Some("ana".to_owned())
        );
        assert!(user_on(Platform::Memory, "two words").is_err());
        assert!(user_on(Platform::Memory, "@").is_err());
    }
}
