//! The in-process chat platform's door: events are injected here and go
//! through the durable inbox exactly as a real platform's webhook would;
//! what the bot said can be read back. Only present when
//! `[memory] enabled = true`, and behind the API token.

use super::auth::ApiCaller;
use super::{errors::ApiError, AppState};
use actix_web::{web, HttpResponse};
use firebreak_actors::store::InboxInsert;
use firebreak_adapters::{ChatAdapter, Platform};

pub async fn inject(
    _caller: ApiCaller,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let adapter = state
        .memory
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("the memory platform is not enabled".to_owned()))?;
    let payload = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("body is not UTF-8".to_owned()))?;
    // Refuse what could never be processed, as a webhook verifies first.
    let events = adapter
        .decode(payload)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let event_id = events
        .iter()
        .map(|event| event.event_id.as_str())
        .collect::<Vec<_>>()
        .join(",");
    if event_id.is_empty() {
        return Err(ApiError::BadRequest("no events in the body".to_owned()));
    }
    let outcome = state
        .store_event(Platform::Memory, &event_id, payload)
        .await?;
    let status = match outcome {
        InboxInsert::Inserted(_) => "stored",
        InboxInsert::Duplicate => "duplicate",
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({ "inbox": status })))
}

pub async fn calls(
    _caller: ApiCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let adapter = state
        .memory
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("the memory platform is not enabled".to_owned()))?;
    Ok(HttpResponse::Ok().json(adapter.calls()))
}
