//! `POST /teams/messages`: where the Bot Framework delivers activities.
//!
//! The bearer token is verified first; a request that fails is answered
//! 401 and nothing of it is kept. A verified sender's malformed activity
//! is answered 400 with the reason. A verified activity is stored in the
//! durable inbox (keyed by its id, so a redelivery is dropped) and
//! answered at once. Forms are answered on the spot, like Slack's dialogs:
//! `declare` without a title gets the declare form as a card, the Edit
//! button the edit form, and a declare form that does not validate comes
//! back with its errors.

use super::{errors::ApiError, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use firebreak_actors::engine::DECLARE_FORM;
use firebreak_actors::incident::{validate_declaration, IncidentId};
use firebreak_actors::render;
use firebreak_adapters::teams::auth::{AuthError, TokenVerifier};
use firebreak_adapters::teams::{inbound, TeamsAdapter};
use firebreak_adapters::{ChatAdapter, ChatEventKind, Platform};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Teams as the route needs it.
pub struct TeamsEndpoint {
    pub adapter: Arc<TeamsAdapter>,
    pub verifier: TokenVerifier,
}

/// The platform-state name under which the learned service URL is kept.
pub const SERVICE_URL_STATE: &str = "teams:service_url";

/// The team channel the bot was first added to, kept as the incidents
/// channel for an installation that configured none.
pub const TEAM_CHANNEL_STATE: &str = "teams:team_channel";

/// That team's Microsoft 365 group id, which Graph calls it by.
pub const TEAM_GROUP_STATE: &str = "teams:team_group_id";

pub async fn messages(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let teams = state
        .teams
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("Teams is not configured".to_owned()))?;
    let authorization = request
        .headers()
        .get("Authorization")
        .and_then(|value| value.to_str().ok());
    let refused = |error: AuthError| {
        tracing::warn!(platform = "teams", %error, "rejected an unverified request");
        ApiError::Unauthorized
    };
    let token = teams
        .verifier
        .verify(authorization, Utc::now().timestamp())
        .await
        .map_err(refused)?;
    // Only now, from a verified sender, is the body worth reading.
    let activity: Value = serde_json::from_slice(&body)
        .map_err(|error| ApiError::BadRequest(format!("the activity is not JSON: {error}")))?;
    let service_url = activity["serviceUrl"]
        .as_str()
        .ok_or_else(|| ApiError::BadRequest("the activity has no serviceUrl".to_owned()))?;
    token
        .admits(service_url, activity["channelId"].as_str())
        .map_err(refused)?;
    if teams.adapter.learn_service_url(service_url) {
        state
            .core
            .store
            .set_platform_state(SERVICE_URL_STATE, service_url, Utc::now())
            .await?;
    }
    remember_team(&state, &activity).await?;
    let id = inbound::activity_id(&activity)
        .ok_or_else(|| ApiError::BadRequest("an activity needs an `id`".to_owned()))?
        .to_owned();
    if answered_on_the_spot(&state, teams, &activity).await? {
        return Ok(acknowledge(&activity));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("body is not UTF-8".to_owned()))?;
    state.store_event(Platform::Teams, &id, text).await?;
    Ok(acknowledge(&activity))
}

/// The bot was added to a team: its General channel (whose id is the
/// team's) is remembered, so an installation without a configured
/// incidents channel uses it from the next start.
async fn remember_team(state: &AppState, activity: &Value) -> Result<(), ApiError> {
    let bot = activity["recipient"]["id"].as_str().unwrap_or_default();
    let bot_added = activity["type"] == "conversationUpdate"
        && activity["membersAdded"]
            .as_array()
            .is_some_and(|members| members.iter().any(|member| member["id"] == bot));
    let Some(team) = activity["channelData"]["team"]["id"]
        .as_str()
        .filter(|_| bot_added)
    else {
        return Ok(());
    };
    tracing::info!(platform = "teams", channel = team, "added to a team");
    if state
        .core
        .store
        .platform_state(TEAM_CHANNEL_STATE)
        .await?
        .is_none()
    {
        state
            .core
            .store
            .set_platform_state(TEAM_CHANNEL_STATE, team, Utc::now())
            .await?;
    }
    Ok(())
}

/// An `invoke` expects an answer in the body; everything else just 200.
fn acknowledge(activity: &Value) -> HttpResponse {
    if activity["type"] == "invoke" {
        HttpResponse::Ok().json(json!({
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": "Received.",
        }))
    } else {
        HttpResponse::Ok().finish()
    }
}

/// Declare forms: posted for a `declare` without a title, sent back with
/// errors when a submission does not validate. True when handled here.
async fn answered_on_the_spot(
    state: &AppState,
    teams: &TeamsEndpoint,
    activity: &Value,
) -> Result<bool, ApiError> {
    let Ok(events) = teams.adapter.decode(&activity.to_string()) else {
        return Ok(false);
    };
    let Some(event) = events.into_iter().next() else {
        return Ok(false);
    };
    match event.kind {
        ChatEventKind::Command {
            conversation, text, ..
        } if text.trim().eq_ignore_ascii_case("declare") => {
            let form = render::declare_form(&state.core.policy, None, None);
            if let Err(error) = teams
                .adapter
                .post_form(
                    &conversation,
                    &form,
                    &BTreeMap::new(),
                    &BTreeMap::new(),
                    None,
                )
                .await
            {
                tracing::warn!(platform = "teams", %error, "could not post the declare form");
            }
            Ok(true)
        }
        ChatEventKind::FormSubmitted {
            conversation: Some(conversation),
            form_id,
            values,
            ..
        } if form_id == DECLARE_FORM => {
            let mut errors = BTreeMap::new();
            let title = values.get("title").map(String::as_str).unwrap_or_default();
            if let Err(rejection) = validate_declaration(title, None, Utc::now()) {
                errors.insert("title".to_owned(), rejection.to_string());
            }
            let severity = values
                .get("severity")
                .map(String::as_str)
                .unwrap_or_default();
            if state.core.policy.severity_by_name(severity).is_none() {
                errors.insert("severity".to_owned(), "Choose a severity.".to_owned());
            }
            if errors.is_empty() {
                return Ok(false);
            }
            let form = render::declare_form(&state.core.policy, None, None);
            let card = activity["replyToId"].as_str();
            if let Err(error) = teams
                .adapter
                .post_form(&conversation, &form, &values, &errors, card)
                .await
            {
                tracing::warn!(platform = "teams", %error, "could not show the form's errors");
            }
            Ok(true)
        }
        ChatEventKind::ButtonPressed {
            conversation,
            action_id,
            value,
            ..
        } if action_id == render::actions::EDIT => {
            let Ok(id) = value.parse::<IncidentId>() else {
                return Ok(true);
            };
            let Some(incident) = state.core.store.load_incident(id).await? else {
                return Ok(true);
            };
            let form = render::edit_form(&incident, &state.core.policy);
            if let Err(error) = teams
                .adapter
                .post_form(
                    &conversation,
                    &form,
                    &BTreeMap::new(),
                    &BTreeMap::new(),
                    None,
                )
                .await
            {
                tracing::warn!(platform = "teams", %error, "could not post the edit form");
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}
