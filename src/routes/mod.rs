//! Every HTTP route, registered in one place.

mod alerts;
mod auth;
mod errors;
mod health;
mod incidents;
mod memory;
mod metrics;
mod openapi;
mod pages;
mod session;
mod slack;
mod teams;

pub use errors::ApiError;
pub use slack::{SlackEndpoint, SlackSocket};
pub use teams::{TeamsEndpoint, SERVICE_URL_STATE, TEAM_CHANNEL_STATE, TEAM_GROUP_STATE};

use crate::config::Secret;
use actix::Addr;
use actix_web::{error::JsonPayloadError, web, HttpRequest};
use chrono::Utc;
use firebreak_actors::engine::{EngineCore, Supervisor};
use firebreak_actors::store::{InboxInsert, InboxWriter, NewInboxRow};
use firebreak_adapters::memory::MemoryAdapter;
use firebreak_adapters::Platform;
use std::sync::Arc;

/// What handlers share.
pub struct AppState {
    pub core: Arc<EngineCore>,
    pub supervisor: Addr<Supervisor>,
    /// Stores verified inbound events, group-committed with concurrent
    /// ones, and wakes the inbox worker.
    pub inbox: InboxWriter,
    pub api_token: Option<Secret>,
    pub memory: Option<MemoryAdapter>,
    pub slack: Option<SlackEndpoint>,
    pub teams: Option<TeamsEndpoint>,
    /// The web pages need no login (configured so, on loopback).
    pub web_open: bool,
    /// Who may deliver alerts, and as which source.
    pub alert_receivers: Vec<crate::alert_sources::AlertReceiver>,
    /// Wakes the inbox worker for rows stored outside the inbox writer.
    pub inbox_wake: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// Stores a verified inbound event in the durable inbox; once this
    /// returns, the event may be acknowledged.
    pub(crate) async fn store_event(
        &self,
        platform: Platform,
        event_id: &str,
        payload: &str,
    ) -> Result<InboxInsert, ApiError> {
        let outcome = self
            .inbox
            .insert(NewInboxRow {
                platform,
                event_id: event_id.to_owned(),
                payload: payload.to_owned(),
                received_at: Utc::now(),
            })
            .await?;
        if outcome == InboxInsert::Duplicate {
            tracing::debug!(%platform, event_id, "redelivery dropped");
        }
        Ok(outcome)
    }
}

/// Largest webhook body accepted; Slack's are a few kilobytes.
const MAX_WEBHOOK_BYTES: usize = 512 * 1024;

/// Largest JSON body the API accepts.
const MAX_JSON_BYTES: usize = 256 * 1024;

pub fn register(config: &mut web::ServiceConfig) {
    config
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_JSON_BYTES)
                // `curl -d` sends form encoding by default; the body is
                // what matters.
                .content_type_required(false)
                .error_handler(json_error),
        )
        .app_data(web::QueryConfig::default().error_handler(|error, _| {
            ApiError::BadRequest(format!("bad query string: {error}")).into()
        }))
        .route("/healthz", web::get().to(health::healthz))
        .route("/login", web::get().to(pages::login_form))
        .route("/login", web::post().to(pages::login))
        .route("/logout", web::post().to(pages::logout))
        .route("/incidents", web::get().to(pages::list))
        .route("/incidents/{id}", web::get().to(pages::show))
        .route("/incidents/{id}/report", web::get().to(pages::report))
        .route(
            "/incidents/{id}/timeline",
            web::post().to(pages::edit_timeline),
        )
        .route("/stats", web::get().to(pages::stats))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics))
        .service(
            web::scope("/api/v1")
                .route("/openapi.json", web::get().to(openapi::serve))
                .route("/stats", web::get().to(incidents::stats))
                .route("/incidents", web::get().to(incidents::list))
                .route("/incidents", web::post().to(incidents::declare))
                .route("/incidents/{id}", web::get().to(incidents::show))
                .route(
                    "/incidents/{id}/timeline",
                    web::get().to(incidents::timeline),
                )
                .route(
                    "/incidents/{id}/timeline",
                    web::post().to(incidents::add_entry),
                )
                .route(
                    "/incidents/{id}/timeline",
                    web::patch().to(incidents::correct_entry),
                )
                .route(
                    "/incidents/{id}/report.md",
                    web::get().to(incidents::report),
                )
                .route(
                    "/incidents/{id}/commands",
                    web::post().to(incidents::command),
                )
                .route("/alerts", web::get().to(incidents::recorded_alerts))
                .route("/alerts/{kind}", web::post().to(alerts::receive)),
        )
        .app_data(web::PayloadConfig::new(MAX_WEBHOOK_BYTES))
        .route("/slack/events", web::post().to(slack::events))
        .route("/slack/commands", web::post().to(slack::commands))
        .route("/slack/interactions", web::post().to(slack::interactions))
        .route("/teams/messages", web::post().to(teams::messages))
        .route("/memory/events", web::post().to(memory::inject))
        .route("/memory/calls", web::get().to(memory::calls));
}

/// A body that is not the JSON we expect is the client's to fix: 422 with
/// serde's reason (which names the field and position), 413 when too big.
fn json_error(error: JsonPayloadError, _request: &HttpRequest) -> actix_web::Error {
    match error {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            actix_web::error::InternalError::from_response(
                "body too large",
                actix_web::HttpResponse::PayloadTooLarge().json(
                    serde_json::json!({ "error": format!("body larger than {limit} bytes") }),
                ),
            )
            .into()
        }
        JsonPayloadError::ContentType => {
            ApiError::Unprocessable("expected Content-Type: application/json".to_owned()).into()
        }
        other => ApiError::Unprocessable(format!("invalid JSON body: {other}")).into(),
    }
}
