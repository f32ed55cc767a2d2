//! [`SlackError`]: every way a Web API call can fail, in the terms a caller
//! branches on, and its mapping into the platform-neutral [`AdapterError`].
//!
//! None of these carry the bot token: errors end up on the incident
//! timeline and in logs, so they hold only the method name, Slack's error
//! code and our own description of what happened.

use crate::adapter::AdapterError;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// Slack kept answering HTTP 429 (or `"error": "ratelimited"`) until the
    /// retries ran out, or asked for a longer wait than
    /// [`RetryPolicy::max_retry_after`](super::RetryPolicy::max_retry_after)
    /// allows. `retry_after` is Slack's last word on when to try again.
    #[error("Slack is rate limiting this call (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// Slack or the network kept failing (5xx, timeouts, refused
    /// connections, `internal_error`…) until the retries ran out.
    #[error("Slack unavailable: {0}")]
    Unavailable(String),
    /// Slack answered `"ok": false`: the request itself was refused
    /// (<https://api.slack.com/web#responses>). `needed`/`provided` are the
    /// scopes Slack reports with `missing_scope`.
    #[error("Slack refused {method}: {code}{}", needed_scope_suffix(.needed))]
    Api {
        method: String,
        code: String,
        needed: Option<String>,
        provided: Option<String>,
    },
    /// Slack answered something that is not the documented JSON shape.
    /// Not retried: the same request would most likely get the same answer.
    #[error("Slack's answer to {method} was not understood: {reason}")]
    InvalidResponse { method: String, reason: String },
    /// We could not build the request (a payload that is not a JSON object,
    /// a malformed method name); a bug on our side, never sent to Slack.
    #[error("could not build the {method} request: {reason}")]
    InvalidRequest { method: String, reason: String },
    /// The client was configured with something unusable (base URL, token).
    #[error("invalid Slack client configuration: {0}")]
    InvalidConfig(String),
}

impl SlackError {
    /// Slack's error code (`name_taken`, `channel_not_found`, …) when Slack
    /// refused the call, so callers can branch on the ones they handle.
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl From<SlackError> for AdapterError {
    fn from(error: SlackError) -> Self {
        match error {
            SlackError::RateLimited { retry_after } => AdapterError::RateLimited { retry_after },
            SlackError::Unavailable(reason) => AdapterError::Unavailable(reason),
            SlackError::Api {
                method,
                code,
                needed,
                ..
            } => {
                AdapterError::Rejected(format!("{method}: {code}{}", needed_scope_suffix(&needed)))
            }
            // A response we cannot read is Slack (or something in front of
            // it) misbehaving, not our request being wrong: worth trying
            // again later rather than giving up on the effect.
            SlackError::InvalidResponse { method, reason } => {
                AdapterError::Unavailable(format!("{method}: unexpected response: {reason}"))
            }
            SlackError::InvalidRequest { method, reason } => {
                AdapterError::Rejected(format!("{method}: {reason}"))
            }
            // Only construction returns this; an operator fixes the
            // configuration and the platform becomes reachable again.
            SlackError::InvalidConfig(reason) => {
                AdapterError::Unavailable(format!("Slack client misconfigured: {reason}"))
            }
        }
    }
}

/// The scope a `missing_scope` refusal names is what an operator must add to
/// the Slack app, so it travels with the code onto the timeline.
fn needed_scope_suffix(needed: &Option<String>) -> String {
    match needed {
        Some(scope) => format!(" (needs scope {scope})"),
        None => String::new(),
    }
}
