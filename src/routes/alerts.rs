//! Alert receivers: `POST /api/v1/alerts/{alertmanager,grafana,generic}`.
//!
//! A delivery is verified against the sources configured for that format
//! (each its own token or HMAC secret, which also names the source),
//! parsed, stored in the durable inbox and only then answered; the inbox
//! worker files it with an incident. The same delivery sent twice (a
//! sender retrying) is stored once.

use super::{errors::ApiError, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use firebreak_actors::store::InboxInsert;
use firebreak_adapters::alerts::{self, verify, AlertSourceKind};
use sha2::{Digest, Sha256};

pub async fn receive(
    request: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let kind: AlertSourceKind = path
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no alert receiver `{path}`")))?;
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let body = read_body(payload).await?;
    let now = Utc::now();
    // Every source of this format is tried: the credential that fits
    // says which source sent it.
    let source = state
        .alert_receivers
        .iter()
        .filter(|receiver| receiver.kind == kind)
        .find(|receiver| verify::verify(&receiver.credential, header, &body, now).is_ok())
        .ok_or_else(|| {
            tracing::warn!(receiver = %kind, "alert delivery with a missing or wrong credential");
            ApiError::Unauthorized
        })?;
    let mut batch =
        alerts::parse(kind, &body).map_err(|error| ApiError::BadRequest(error.to_string()))?;
    batch.source = source.name.clone();
    let payload =
        serde_json::to_string(&batch).map_err(|error| ApiError::Internal(error.to_string()))?;
    let outcome = state
        .core
        .store
        .inbox_insert_alerts(&delivery_id(&source.name, &body), &payload, now)
        .await?;
    let status = match outcome {
        InboxInsert::Inserted(_) => {
            state.inbox_wake.notify_one();
            "accepted"
        }
        InboxInsert::Duplicate => "duplicate",
    };
    tracing::info!(source = %source.name, alerts = batch.alerts.len(), status, "alert delivery");
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "status": status })))
}

/// Largest delivery taken: a storm's group of a thousand alerts, with
/// room to spare. Larger than the rest of the API allows, so read here.
const MAX_DELIVERY_BYTES: usize = 4 * 1024 * 1024;

async fn read_body(mut payload: web::Payload) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|error| ApiError::BadRequest(format!("could not read the body: {error}")))?;
        if body.len() + chunk.len() > MAX_DELIVERY_BYTES {
            return Err(ApiError::BadRequest(format!(
                "the delivery is larger than {} MiB; send fewer alerts per notification",
                MAX_DELIVERY_BYTES / 1024 / 1024
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Identifies a delivery by its source and exact bytes: a retry of the
/// same notification is the same delivery, any change (an alert more, a
/// resolution) a new one.
fn delivery_id(source: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(source.as_bytes());
    hash.update([0]);
    hash.update(body);
    hex::encode(hash.finalize())
}
