//! Bearer-token access to the admin API.

use super::errors::ApiError;
use super::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::{ready, Ready};

/// Present in a handler's arguments when the caller showed the API token
/// (or none is configured, in which case the server listens on loopback
/// only).
pub struct ApiCaller;

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let Some(state) = request.app_data::<web::Data<AppState>>() else {
            return ready(Err(ApiError::Internal("application state missing".into())));
        };
        let Some(token) = &state.api_token else {
            return ready(Ok(ApiCaller));
        };
        let presented = request
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        ready(match presented {
            Some(candidate) if token.matches(candidate) => Ok(ApiCaller),
            _ => Err(ApiError::Unauthorized),
        })
    }
}
