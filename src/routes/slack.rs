//! Slack's doors: `POST /slack/events`, `/slack/commands` and
//! `/slack/interactions`. Every request is verified with the signing
//! secret, then stored in the durable inbox and answered at once; the
//! engine processes it from there. The one Web API call made before
//! answering is `views.open`, because its `trigger_id` expires 3 s after
//! Slack sent it.

use super::{errors::ApiError, AppState};
use crate::config::Secret;
use crate::slack_manifest::{DECLARE_FROM_MESSAGE, DECLARE_SHORTCUT};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use firebreak_actors::engine::DECLARE_FORM;
use firebreak_actors::incident::validate_declaration;
use firebreak_actors::render;
use firebreak_actors::store::InboxInsert;
use firebreak_adapters::slack::inbound::{self, Interaction, Received, RequestKind, StoredRequest};
use firebreak_adapters::slack::{verify, SlackAdapter};
use firebreak_adapters::{ChatAdapter, ConversationRef, Platform, UserRef};
use std::sync::Arc;

/// Slack as the routes need it.
pub struct SlackEndpoint {
    pub adapter: Arc<SlackAdapter>,
    pub signing_secret: Secret,
}

pub async fn events(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let text = verified(&state, &request, &body)?;
    match inbound::classify(RequestKind::Events, text)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?
    {
        Received::UrlVerification { challenge } => {
            Ok(HttpResponse::Ok().json(serde_json::json!({ "challenge": challenge })))
        }
        Received::Store { key } => {
            store(&state, RequestKind::Events, &key, text).await?;
            Ok(HttpResponse::Ok().finish())
        }
        Received::Ignore => Ok(HttpResponse::Ok().finish()),
    }
}

pub async fn commands(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let text = verified(&state, &request, &body)?;
    let command =
        inbound::parse_command(text).map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let channel = ConversationRef::new(Platform::Slack, command.channel_id.to_string());
    let in_incident = state
        .core
        .store
        .incident_by_conversation(&channel)
        .await?
        .is_some();
    let wants_help = command.text.trim().eq_ignore_ascii_case("help");
    if !in_incident && !wants_help {
        let typed = command.text.trim();
        let title = typed
            .strip_prefix("declare")
            .map(str::trim)
            .unwrap_or(typed);
        let user = UserRef::new(Platform::Slack, command.user_id.to_string());
        return open_declare_form(
            &state,
            &user,
            command.trigger_id.as_str(),
            Some(title),
            None,
        )
        .await;
    }
    if let Received::Store { key } = inbound::classify(RequestKind::Command, text)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?
    {
        store(&state, RequestKind::Command, &key, text).await?;
    }
    Ok(HttpResponse::Ok().finish())
}

pub async fn interactions(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let text = verified(&state, &request, &body)?;
    let interaction = inbound::parse_interaction(text)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    match &interaction {
        Interaction::Shortcut {
            callback_id,
            trigger_id,
            user,
            ..
        } if callback_id == DECLARE_SHORTCUT => {
            let user = user.to_user_ref();
            return open_declare_form(&state, &user, trigger_id.as_str(), None, None).await;
        }
        Interaction::MessageAction {
            callback_id,
            trigger_id,
            user,
            message_text,
            ..
        } if callback_id == DECLARE_FROM_MESSAGE => {
            let user = user.to_user_ref();
            return open_declare_form(
                &state,
                &user,
                trigger_id.as_str(),
                None,
                Some(message_text.as_str()),
            )
            .await;
        }
        Interaction::ViewSubmission {
            callback_id,
            values,
            ..
        } if callback_id == DECLARE_FORM => {
            // Slack shows these next to the fields and keeps the modal open.
            let mut errors = serde_json::Map::new();
            let title = values.get("title").map(String::as_str).unwrap_or_default();
            if let Err(rejection) = validate_declaration(title, None, Utc::now()) {
                errors.insert("title".to_owned(), rejection.to_string().into());
            }
            let severity = values
                .get("severity")
                .map(String::as_str)
                .unwrap_or_default();
            if state.core.policy.severity_by_name(severity).is_none() {
                errors.insert("severity".to_owned(), "Choose a severity.".into());
            }
            if !errors.is_empty() {
                return Ok(HttpResponse::Ok()
                    .json(serde_json::json!({ "response_action": "errors", "errors": errors })));
            }
        }
        _ => {}
    }
    if let Received::Store { key } = inbound::classify(RequestKind::Interaction, text)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?
    {
        store(&state, RequestKind::Interaction, &key, text).await?;
    }
    Ok(HttpResponse::Ok().finish())
}

/// Checks the signing secret; answers the body as text.
fn verified<'a>(
    state: &AppState,
    request: &HttpRequest,
    body: &'a [u8],
) -> Result<&'a str, ApiError> {
    let slack = state
        .slack
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("Slack is not configured".to_owned()))?;
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    verify::verify(
        slack.signing_secret.expose().as_bytes(),
        header("X-Slack-Request-Timestamp"),
        header("X-Slack-Signature"),
        body,
        Utc::now().timestamp(),
    )
    .map_err(|error| {
        tracing::warn!(platform = "slack", %error, "rejected an unverified request");
        ApiError::Unauthorized
    })?;
    std::str::from_utf8(body).map_err(|_| ApiError::BadRequest("body is not UTF-8".to_owned()))
}

async fn store(state: &AppState, kind: RequestKind, key: &str, body: &str) -> Result<(), ApiError> {
    let payload = serde_json::to_string(&StoredRequest {
        kind,
        body: body.to_owned(),
    })
    .map_err(|error| ApiError::Internal(error.to_string()))?;
    let outcome = state
        .core
        .store
        .inbox_insert(Platform::Slack, key, &payload, Utc::now())
        .await?;
    if outcome == InboxInsert::Duplicate {
        tracing::debug!(platform = "slack", key, "redelivery dropped");
    }
    state.inbox_wake.notify_one();
    Ok(())
}

async fn open_declare_form(
    state: &AppState,
    user: &UserRef,
    trigger_id: &str,
    title: Option<&str>,
    summary: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let Some(slack) = &state.slack else {
        return Err(ApiError::NotFound("Slack is not configured".to_owned()));
    };
    let form = render::declare_form(&state.core.policy, title, summary);
    match slack.adapter.open_form(user, Some(trigger_id), &form).await {
        Ok(()) => Ok(HttpResponse::Ok().finish()),
        Err(error) => {
            tracing::warn!(platform = "slack", %error, "could not open the declare dialog");
            Ok(HttpResponse::Ok().json(serde_json::json!({
                "response_type": "ephemeral",
                "text": format!("Could not open the declare dialog ({error}). Try again, or declare with `POST /api/v1/incidents`."),
            })))
        }
    }
}
