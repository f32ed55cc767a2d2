//! Liveness and readiness.

use super::AppState;
use actix_web::{web, HttpResponse};
use firebreak_actors::engine::IsReady;

/// The process is up and answering.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Ready for traffic: the database answers and the open incidents are
/// back in memory.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.core.store.ping().await.is_ok();
    let actors = state.supervisor.send(IsReady).await.unwrap_or(false);
    let body = serde_json::json!({ "database": database, "actors": actors });
    if database && actors {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
