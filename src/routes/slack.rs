//! Slack's doors: `POST /slack/events`, `/slack/commands` and
//! `/slack/interactions`, and the same requests arriving over Socket Mode.
//! Every HTTP request is verified with the signing secret; then, whatever
//! the transport, [`ingest`] stores it in the durable inbox and it is
//! answered at once, the engine processing it from there. The only Web API
//! calls made before answering are `views.open`, because a `trigger_id`
//! expires 3 s after Slack sent it.

use super::{errors::ApiError, AppState};
use crate::config::Secret;
use crate::slack_manifest::{DECLARE_FROM_MESSAGE, DECLARE_SHORTCUT};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use firebreak_actors::engine::DECLARE_FORM;
use firebreak_actors::incident::{validate_declaration, IncidentId};
use firebreak_actors::render;
use firebreak_adapters::slack::inbound::{self, Interaction, Received, RequestKind, StoredRequest};
use firebreak_adapters::slack::socket::SocketHandler;
use firebreak_adapters::slack::{verify, SlackAdapter};
use firebreak_adapters::{ChatAdapter, ConversationRef, Form, Platform, UserRef};
use serde_json::Value;
use std::sync::Arc;

/// Slack as the routes need it.
pub struct SlackEndpoint {
    pub adapter: Arc<SlackAdapter>,
    /// `None` when only Socket Mode is configured: then the HTTP doors
    /// stay shut.
    pub signing_secret: Option<Secret>,
}

/// Socket Mode's way in: the same [`ingest`] as HTTP, without the
/// signature check (the socket itself was opened with the app token).
pub struct SlackSocket {
    state: web::Data<AppState>,
}

impl SlackSocket {
    pub fn new(state: web::Data<AppState>) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl SocketHandler for SlackSocket {
    async fn handle(&self, kind: RequestKind, body: String) -> Result<Option<Value>, String> {
        match ingest(&self.state, kind, &body).await {
            Ok(answer) => Ok(answer),
            // It will never parse; acking stops Slack sending it again.
            Err(ApiError::BadRequest(reason)) => {
                tracing::warn!(platform = "slack", mode = "socket", %reason, "dropped a malformed request");
                Ok(None)
            }
            // Not acked: Slack redelivers it.
            Err(error) => Err(error.to_string()),
        }
    }
}

pub async fn events(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let text = verified(&state, &request, &body)?;
    respond(ingest(&state, RequestKind::Events, text).await?)
}

pub async fn commands(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let text = verified(&state, &request, &body)?;
    respond(ingest(&state, RequestKind::Command, text).await?)
}

pub async fn interactions(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let text = verified(&state, &request, &body)?;
    respond(ingest(&state, RequestKind::Interaction, text).await?)
}

/// Handles one verified Slack request, from HTTP or the socket. Answers
/// the JSON to send back, if any (a challenge, form errors, an ephemeral
/// note).
pub async fn ingest(
    state: &AppState,
    kind: RequestKind,
    body: &str,
) -> Result<Option<Value>, ApiError> {
    let bad = |error: inbound::InboundError| ApiError::BadRequest(error.to_string());
    match kind {
        RequestKind::Events => {}
        RequestKind::Command => {
            let command = inbound::parse_command(body).map_err(bad)?;
            let channel = ConversationRef::new(Platform::Slack, command.channel_id.to_string());
            let in_incident = state
                .core
                .store
                .incident_by_conversation(&channel)
                .await?
                .is_some();
            let typed = command.readable_text();
            let typed = typed.trim();
            if !in_incident && !typed.eq_ignore_ascii_case("help") {
                let title = typed
                    .strip_prefix("declare")
                    .map(str::trim)
                    .unwrap_or(typed);
                let user = UserRef::new(Platform::Slack, command.user_id.to_string());
                let form = render::declare_form(&state.core.policy, Some(title), None);
                return open_form(state, &user, command.trigger_id.as_str(), &form).await;
            }
        }
        RequestKind::Interaction => {
            if let Some(answer) =
                answer_interaction(state, inbound::parse_interaction(body).map_err(bad)?).await?
            {
                return Ok(answer);
            }
        }
    }
    match inbound::classify(kind, body).map_err(bad)? {
        Received::UrlVerification { challenge } => {
            Ok(Some(serde_json::json!({ "challenge": challenge })))
        }
        Received::Store { key } => {
            store(state, kind, &key, body).await?;
            Ok(None)
        }
        Received::Ignore => Ok(None),
    }
}

/// Interactions answered on the spot: dialogs to open, declare forms to
/// check. `None` means: store it for the engine like any other.
async fn answer_interaction(
    state: &AppState,
    interaction: Interaction,
) -> Result<Option<Option<Value>>, ApiError> {
    match interaction {
        Interaction::Shortcut {
            callback_id,
            trigger_id,
            user,
        } if callback_id == DECLARE_SHORTCUT => {
            let form = render::declare_form(&state.core.policy, None, None);
            Ok(Some(
                open_form(state, &user.to_user_ref(), trigger_id.as_str(), &form).await?,
            ))
        }
        Interaction::MessageAction {
            callback_id,
            trigger_id,
            user,
            message_text,
            ..
        } if callback_id == DECLARE_FROM_MESSAGE => {
            let form = render::declare_form(&state.core.policy, None, Some(&message_text));
            Ok(Some(
                open_form(state, &user.to_user_ref(), trigger_id.as_str(), &form).await?,
            ))
        }
        Interaction::BlockActions {
            user,
            trigger_id,
            actions,
            ..
        } => {
            let Some(action) = actions
                .first()
                .filter(|action| action.action_id == render::actions::EDIT)
            else {
                return Ok(None);
            };
            let Some(Ok(id)) = action.value.as_deref().map(str::parse::<IncidentId>) else {
                return Ok(Some(None));
            };
            let Some(incident) = state.core.store.load_incident(id).await? else {
                return Ok(Some(None));
            };
            let form = render::edit_form(&incident, &state.core.policy);
            Ok(Some(
                open_form(state, &user.to_user_ref(), trigger_id.as_str(), &form).await?,
            ))
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
            if errors.is_empty() {
                return Ok(None);
            }
            Ok(Some(Some(
                serde_json::json!({ "response_action": "errors", "errors": errors }),
            )))
        }
        _ => Ok(None),
    }
}

fn respond(answer: Option<Value>) -> Result<HttpResponse, ApiError> {
    Ok(match answer {
        Some(body) => HttpResponse::Ok().json(body),
        None => HttpResponse::Ok().finish(),
    })
}

/// Checks the signing secret; answers the body as text.
fn verified<'a>(
    state: &AppState,
    request: &HttpRequest,
    body: &'a [u8],
) -> Result<&'a str, ApiError> {
    let secret = state
        .slack
        .as_ref()
        .and_then(|slack| slack.signing_secret.as_ref())
        .ok_or_else(|| ApiError::NotFound("Slack over HTTP is not configured".to_owned()))?;
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    verify::verify(
        secret.expose().as_bytes(),
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
    let payload = StoredRequest::new(kind, body).to_payload();
    state.store_event(Platform::Slack, key, &payload).await?;
    Ok(())
}

async fn open_form(
    state: &AppState,
    user: &UserRef,
    trigger_id: &str,
    form: &Form,
) -> Result<Option<Value>, ApiError> {
    let Some(slack) = &state.slack else {
        return Err(ApiError::NotFound("Slack is not configured".to_owned()));
    };
    match slack.adapter.open_form(user, Some(trigger_id), form).await {
        Ok(()) => Ok(None),
        Err(error) => {
            tracing::warn!(platform = "slack", %error, "could not open a dialog");
            Ok(Some(serde_json::json!({
                "response_type": "ephemeral",
                "text": format!("Could not open the dialog ({error}). Please try again."),
            })))
        }
    }
}
