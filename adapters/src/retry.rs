//! How hard every outbound integration (chat Web APIs, pagers, the status
//! page) tries before it gives up ([`RetryPolicy`]), how it waits between
//! tries ([`Sleeper`]), and the one retry loop they share ([`with_retries`]).
//!
//! Waiting goes through a trait so tests inject a sleeper that records the
//! delays and returns at once: the retry schedule is asserted exactly and
//! no test really sleeps.

use async_trait::async_trait;
use std::time::Duration;

/// When to retry a failed call and when to give up and surface the failure.
///
/// Every request counts towards `max_attempts`, whether it failed with a
/// rate limit or an outage, so a call never takes more than that many
/// requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests made at most, the first included. `0` is treated as `1`.
    pub max_attempts: u32,
    /// Wait after the first transient failure (5xx, timeout, connection
    /// error); it doubles after each further failure.
    pub first_backoff: Duration,
    /// The doubling stops here.
    pub max_backoff: Duration,
    /// The longest `Retry-After` we honour by waiting. Beyond it the call
    /// fails at once as rate limited:
    /// an incident actor must not sit for minutes on one chat call, and the
    /// caller records the failure instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Five requests over roughly 7.5 s of backoff (0.5 + 1 + 2 + 4) ride
    /// out a brief Slack blip; a Retry-After of up to a minute covers
    /// Slack's per-minute tiers (<https://api.slack.com/apis/rate-limits>).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `failed_attempt` (1-based):
    /// `first_backoff`, doubled for each earlier failure, capped at
    /// `max_backoff`.
    pub fn backoff(&self, failed_attempt: u32) -> Duration {
        let doublings = failed_attempt.saturating_sub(1).min(31);
        self.first_backoff
            .saturating_mul(1_u32 << doublings)
            .min(self.max_backoff)
    }
}

/// Waits between retries.
#[async_trait]
pub trait Sleeper: Send + Sync {
    async fn sleep(&self, delay: Duration);
}

/// The production [`Sleeper`]: a tokio timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, delay: Duration) {
        tokio::time::sleep(delay).await;
    }
}

/// What went wrong with a request that got no answer, for logs and the
/// timeline: reqwest's own message is generic ("error sending request"),
/// so the causes ("connection refused", "dns error") are appended.
pub(crate) fn describe_transport_error(
    what: &str,
    error: &reqwest::Error,
    timeout: Duration,
) -> String {
    if error.is_timeout() {
        return format!("{what}: no answer within {timeout:?}");
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    format!("{what}: {text}")
}

/// How one attempt of a retried call went, when it did not succeed.
#[derive(Debug)]
pub(crate) enum Attempt<E> {
    /// Retrying cannot help: stop with this.
    Final(E),
    /// Wait `retry_after` (the provider's `Retry-After`), or back off as
    /// for an outage when it gave none, then try again.
    RateLimited { retry_after: Option<Duration> },
    /// Back off, then try again; the text says what happened.
    Transient(String),
}

/// Why a retried call stopped without succeeding.
#[derive(Debug)]
pub(crate) enum GaveUp<E> {
    Final(E),
    RateLimited { retry_after: Duration },
    Unavailable(String),
}

/// Runs `attempt` until it succeeds, fails for good, or `policy` runs out,
/// waiting through `sleeper` between tries. Every Web API, paging and
/// status-page call retries through here, so they all give up the same
/// way. `what` names the call in logs and must hold no secret.
pub(crate) async fn with_retries<T, E, F, Fut>(
    policy: &RetryPolicy,
    sleeper: &dyn Sleeper,
    what: &str,
    mut attempt: F,
) -> Result<T, GaveUp<E>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Attempt<E>>>,
{
    let max_attempts = policy.max_attempts.max(1);
    let mut number = 1;
    loop {
        let failure = match attempt().await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        let (delay, reason) = match failure {
            Attempt::Final(error) => return Err(GaveUp::Final(error)),
            Attempt::RateLimited { retry_after } => {
                let retry_after = retry_after.unwrap_or_else(|| policy.backoff(number));
                if retry_after > policy.max_retry_after {
                    tracing::warn!(
                        retry_after_s = retry_after.as_secs(),
                        max_retry_after_s = policy.max_retry_after.as_secs(),
                        "{what}: asked to wait longer than we allow; giving up"
                    );
                    return Err(GaveUp::RateLimited { retry_after });
                }
                if number >= max_attempts {
                    tracing::warn!(attempt = number, "{what}: still rate limited; giving up");
                    return Err(GaveUp::RateLimited { retry_after });
                }
                (retry_after, "rate limited".to_owned())
            }
            Attempt::Transient(reason) => {
                if number >= max_attempts {
                    tracing::warn!(attempt = number, %reason, "{what}: still failing; giving up");
                    return Err(GaveUp::Unavailable(format!(
                        "{reason} (gave up after {number} attempts)"
                    )));
                }
                (policy.backoff(number), reason)
            }
        };
        tracing::warn!(
            attempt = number,
            max_attempts,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            %reason,
            "{what} failed; retrying"
        );
        sleeper.sleep(delay).await;
        number += 1;
    }
}
