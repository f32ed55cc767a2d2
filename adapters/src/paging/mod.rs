//! Outbound paging: waking a person up when an incident needs them.
//!
//! The engine's severity duties say who is paged when an incident reaches a
//! severity (`[escalation.targets.NAME]`); each configured target is one
//! [`Pager`]: [`PagerDuty`] (Events API v2), [`Opsgenie`] (Alert API) or a
//! signed JSON [`Webhook`] for anything else. A [`Page`] is keyed by the
//! incident reference (`INC-42`), which every provider uses to
//! de-duplicate, so paging twice for the same incident does not wake anyone
//! twice and [`Pager::resolve`] finds the alert again.
//!
//! Every call follows DESIGN.md rule 5: rate limits (429 with
//! `Retry-After`), 5xx, timeouts and network failures are retried with
//! backoff through the shared [`RetryPolicy`] and injected
//! [`Sleeper`]; a failure that persists comes back as a [`PagingError`] for
//! the engine to record on the timeline. A 4xx is the request or the
//! configuration being wrong, so it is returned at once as
//! [`PagingError::Rejected`]: the same request would be refused again.
//!
//! Routing keys, API keys and webhook secrets never appear in `Debug`
//! output, errors or logs.
//!
//! [`RetryPolicy`]: crate::retry::RetryPolicy
//! [`Sleeper`]: crate::retry::Sleeper

pub(crate) mod delivery;
pub mod opsgenie;
pub mod pagerduty;
pub(crate) mod secret;
#[cfg(test)]
pub(crate) mod test_support;
pub mod webhook;

pub use opsgenie::Opsgenie;
pub use pagerduty::PagerDuty;
pub use webhook::{verify_signature, Webhook};

use async_trait::async_trait;
use delivery::DeliveryError;
use std::time::Duration;

/// What to page about.
///
/// `dedup_key` is the incident reference (`INC-42`), so a repeat page for
/// the same incident does not page twice and a resolve finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub dedup_key: String,
    /// One line saying what is wrong; providers show it as the alert title.
    pub summary: String,
    /// The incident severity, 1 (critical) … 4 (trivial). Values outside
    /// that range are clamped into it rather than refused: a page that goes
    /// out at the nearest severity beats a page that does not go out.
    pub severity: u8,
    /// What is affected or who is raising the page (`firebreak`,
    /// `payments-api`); PagerDuty requires it.
    pub source: String,
    /// Extra context shown with the alert (a JSON object is best).
    pub details: serde_json::Value,
    /// `(label, url)` pairs: the incident page, the chat channel, a runbook.
    pub links: Vec<(String, String)>,
}

/// What a provider said when it accepted a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageReceipt {
    /// The configured target name that was paged (`exec-oncall`).
    pub target: String,
    /// The provider's handle on the alert, for the timeline: PagerDuty's
    /// dedup key, Opsgenie's alias. `None` when the provider gives none
    /// (webhooks).
    pub reference: Option<String>,
}

/// Every way a page or a resolve can fail, in the terms the engine branches
/// on: try again later ([`is_transient`](Self::is_transient)) or tell a
/// person to fix the configuration.
///
/// None of these carries a routing key, API key or webhook secret: errors
/// end up on the incident timeline and in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    /// The provider refused the request (a 4xx other than a rate limit, or a
    /// redirect), or it was refused before sending: the routing key or API
    /// key is wrong, or the payload is. Not retried; the same request would
    /// be refused again.
    #[error("the paging provider rejected the request: {0}")]
    Rejected(String),
    /// The provider or the network kept failing (5xx, timeouts, refused
    /// connections) until the retries ran out.
    #[error("the paging provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider kept answering 429 until the retries ran out, or asked
    /// for a longer wait than the [`RetryPolicy`](crate::retry::RetryPolicy)
    /// allows. `retry_after` is its last word on when to try again.
    #[error("the paging provider is rate limiting us (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// The pager was configured with something unusable (empty key, a base
    /// URL that is not http(s)); only construction returns this.
    #[error("invalid paging configuration: {0}")]
    InvalidConfig(String),
}

impl PagingError {
    /// Whether the same page might get through if tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PagingError::Unavailable(_) | PagingError::RateLimited { .. }
        )
    }
}

/// One configured paging target. Implementations retry transient failures
/// themselves; an error means the page did not get through.
#[async_trait]
pub trait Pager: Send + Sync + 'static {
    /// The configured target name, e.g. `exec-oncall`.
    fn target(&self) -> &str;

    /// Opens (or, for the same `dedup_key`, repeats without re-notifying)
    /// an alert.
    async fn trigger(&self, page: &Page) -> Result<PageReceipt, PagingError>;

    /// Resolves the alert opened for `dedup_key`.
    async fn resolve(&self, dedup_key: &str) -> Result<(), PagingError>;
}

impl From<DeliveryError> for PagingError {
    fn from(error: DeliveryError) -> Self {
        match error {
            DeliveryError::Rejected(reason) => PagingError::Rejected(reason),
            DeliveryError::RateLimited { retry_after } => PagingError::RateLimited { retry_after },
            DeliveryError::Unavailable(reason) => PagingError::Unavailable(reason),
        }
    }
}

/// The page's severity forced into 1..=4, warning when it had to be: the
/// domain only builds 1..=4, so anything else is a bug upstream, but not one
/// worth leaving someone un-paged for.
fn clamped_severity(page: &Page) -> u8 {
    let severity = page.severity.clamp(1, 4);
    if severity != page.severity {
        tracing::warn!(
            given = page.severity,
            used = severity,
            "page severity outside 1..=4; paging at the nearest one"
        );
    }
    severity
}

/// The configured target name, trimmed; an empty one would make the
/// timeline say "paged ''".
fn check_target(target: &str) -> Result<String, PagingError> {
    let target = target.trim();
    if target.is_empty() {
        return Err(PagingError::InvalidConfig(
            "the paging target name is empty".to_owned(),
        ));
    }
    Ok(target.to_owned())
}

/// Without a dedup key a provider makes up its own, and a later resolve
/// could never find the alert; refused before anything is sent.
fn check_dedup_key(dedup_key: &str) -> Result<(), PagingError> {
    if dedup_key.trim().is_empty() {
        return Err(PagingError::Rejected(
            "the page has no dedup key (incident reference); nothing was sent".to_owned(),
        ));
    }
    Ok(())
}

/// Providers refuse an empty title; the incident reference is a better
/// title than none.
fn summary_or_reference(page: &Page) -> &str {
    if page.summary.trim().is_empty() {
        &page.dedup_key
    } else {
        &page.summary
    }
}

/// At most `max_chars` characters of `text`, cut on a character boundary
/// and marked with `…` when cut, so an over-long summary is shortened by us
/// instead of refused by the provider.
fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some(_) => {
            let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
            format!("{kept}…")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(truncate_chars("short", 10), "short");
        assert_eq!(truncate_chars("exactly10!", 10), "exactly10!");
        assert_eq!(truncate_chars("ééééééé", 4), "ééé…");
    }

    #[test]
    fn only_rate_limits_and_outages_are_transient() {
        assert!(PagingError::Unavailable("x".to_owned()).is_transient());
        assert!(PagingError::RateLimited {
            retry_after: Duration::from_secs(1)
        }
        .is_transient());
        assert!(!PagingError::Rejected("x".to_owned()).is_transient());
        assert!(!PagingError::InvalidConfig("x".to_owned()).is_transient());
    }

    #[test]
    fn pagers_can_be_held_as_trait_objects() {
        // The engine keeps one `Arc<dyn Pager>` per configured target.
        fn assert_object_safe(_: Option<std::sync::Arc<dyn Pager>>) {}
        assert_object_safe(None);
    }
}
