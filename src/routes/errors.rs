//! The HTTP edge's one error type. Every failure becomes JSON
//! `{"error": "…"}` with a status that says whose fault it was; an
//! unexpected failure is a 500 with an opaque body and the cause in the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use firebreak_actors::engine::EngineError;
use firebreak_actors::store::StoreError;
use std::fmt;

#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized,
    NotFound(String),
    /// A command the incident's rules refuse, with the reason.
    Conflict(String),
    Unprocessable(String),
    Unavailable(String),
    Internal(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::BadRequest(reason)
            | ApiError::NotFound(reason)
            | ApiError::Conflict(reason)
            | ApiError::Unprocessable(reason)
            | ApiError::Unavailable(reason) => f.write_str(reason),
            ApiError::Unauthorized => f.write_str("missing or wrong bearer token"),
            ApiError::Internal(_) => f.write_str("internal error"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(serde_json::json!({ "error": self.to_string() }))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            // 503: Slack, Teams and the others retry what was not stored.
            StoreError::Database(_) | StoreError::Unavailable(_) => {
                ApiError::Unavailable("the database is unavailable".to_owned())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Rejected(rejection) => ApiError::Conflict(rejection.to_string()),
            EngineError::Unparsable(parse) => ApiError::BadRequest(parse.to_string()),
            EngineError::NotFound(id) => ApiError::NotFound(format!("no incident {id}")),
            EngineError::Unavailable(_)
            | EngineError::NotOwned(_)
            | EngineError::Restarting(_)
            | EngineError::Batch { .. } => ApiError::Unavailable(error.to_string()),
            EngineError::Store(store) => store.into(),
            // The actor stopped mid-command; it is restarted from the store,
            // and whatever it stored stands.
            EngineError::Mailbox(_) => ApiError::Unavailable(
                "the incident stopped while handling the command; check its timeline and retry"
                    .to_owned(),
            ),
        }
    }
}
