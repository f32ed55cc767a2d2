//! Drains the durable inbox: decodes each row with its platform's adapter
//! and hands the events to the supervisor, in arrival order.
//!
//! A row is done when the events it carried were applied (the incident's
//! append claims it in the same transaction) or answered. A row that fails
//! for a passing reason (database, mailbox) stays and is retried; one that
//! cannot be decoded, or keeps failing, is set aside with its error so it
//! never blocks the queue and can be replayed after a fix.

use super::messages::HandleChatEvent;
use super::run::SharedCore;
use super::{EngineError, Supervisor};
use crate::metrics::EngineMetrics;
use crate::store::InboxRow;
use actix::Addr;
use chrono::Utc;
use firebreak_adapters::Platform;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Rows fetched and dispatched together.
const BATCH: u64 = 64;
/// A row that failed for passing reasons this many times is set aside;
/// with the backoff below that is about half an hour of trying.
const MAX_ATTEMPTS: i32 = 12;
/// The first retry's delay, doubled each attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

pub struct InboxWorker {
    core: SharedCore,
    supervisor: Addr<Supervisor>,
    wake: Arc<Notify>,
}

impl InboxWorker {
    pub fn new(core: SharedCore, supervisor: Addr<Supervisor>, wake: Arc<Notify>) -> Self {
        Self {
            core,
            supervisor,
            wake,
        }
    }

    /// Runs until the process stops. Call from inside the actix system.
    pub async fn run(self) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.drain_once().await {
                Ok(0) => {
                    backoff = Duration::from_millis(100);
                    // Woken by each webhook; the timeout picks up rows that
                    // became due for a retry, or were written by another
                    // process.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), self.wake.notified()).await;
                }
                Ok(_) => backoff = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(%error, "inbox unavailable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Processes the rows that are due; answers how many were finished.
    /// Only a database failure is an error: a row's own failure is
    /// recorded on the row.
    pub async fn drain_once(&self) -> Result<usize, EngineError> {
        let rows = self.core.store.inbox_pending(BATCH, Utc::now()).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Enqueue every row's events first (in order), then await them
        // together: incidents proceed in parallel, each in arrival order.
        let mut dispatched = Vec::with_capacity(rows.len());
        for row in &rows {
            dispatched.push(self.dispatch(row));
        }
        let mut finished = 0;
        for (row, outcome) in rows
            .iter()
            .zip(futures_util::future::join_all(dispatched).await)
        {
            let now = Utc::now();
            match outcome {
                Ok(()) => {
                    self.core.store.inbox_mark_processed(row.id, now).await?;
                    EngineMetrics::add(&self.core.metrics.inbox_processed, 1);
                    finished += 1;
                }
                Err(failure) => {
                    EngineMetrics::add(&self.core.metrics.inbox_failures, 1);
                    let retry_at = (failure.retry && row.attempts + 1 < MAX_ATTEMPTS)
                        .then(|| now + retry_delay(row.attempts));
                    tracing::warn!(
                        inbox = row.id,
                        platform = %row.platform,
                        error = %failure.reason,
                        set_aside = retry_at.is_none(),
                        "inbox row failed"
                    );
                    self.core
                        .store
                        .inbox_record_failure(row.id, &failure.reason, retry_at, now)
                        .await?;
                    finished += usize::from(retry_at.is_none());
                }
            }
        }
        Ok(finished)
    }

    fn dispatch(
        &self,
        row: &InboxRow,
    ) -> impl std::future::Future<Output = Result<(), RowFailure>> + 'static {
        let decoded = self.decode(row);
        let supervisor = self.supervisor.clone();
        let row_id = row.id;
        // Enqueue now, await later.
        let requests: Result<Vec<_>, RowFailure> = decoded.map(|events| {
            // Only a single-event row can be claimed by the append itself;
            // a multi-event row is marked processed once all its events are
            // handled (at least once for those).
            let origin_for_each = events.len() == 1;
            events
                .into_iter()
                .map(|event| {
                    let origin = origin_for_each.then_some(row_id);
                    supervisor.send(HandleChatEvent { event, origin })
                })
                .collect()
        });
        async move {
            for request in requests? {
                match request.await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        return Err(RowFailure {
                            retry: error.is_transient(),
                            reason: error.to_string(),
                        })
                    }
                    Err(mailbox) => {
                        return Err(RowFailure {
                            retry: true,
                            reason: mailbox.to_string(),
                        })
                    }
                }
            }
            Ok(())
        }
    }

    fn decode(&self, row: &InboxRow) -> Result<Vec<firebreak_adapters::ChatEvent>, RowFailure> {
        let platform: Platform =
            row.platform
                .parse()
                .map_err(|error: firebreak_adapters::PlatformParseError| RowFailure {
                    retry: false,
                    reason: error.to_string(),
                })?;
        let adapter = self
            .core
            .platforms
            .adapter(platform)
            .ok_or_else(|| RowFailure {
                retry: false,
                reason: format!("no {platform} adapter is configured"),
            })?;
        adapter.decode(&row.payload).map_err(|error| RowFailure {
            retry: false,
            reason: error.to_string(),
        })
    }
}

/// 1 s, 2 s, 4 s … up to five minutes.
fn retry_delay(previous_attempts: i32) -> chrono::TimeDelta {
    let factor = 2u32.saturating_pow(previous_attempts.clamp(0, 16) as u32);
    let delay = FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF);
    chrono::TimeDelta::from_std(delay).unwrap_or(chrono::TimeDelta::MAX)
}

struct RowFailure {
    retry: bool,
    reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap() {
        let seconds: Vec<i64> = [0, 1, 2, 3, 8, 9, 40]
            .into_iter()
            .map(|n| retry_delay(n).num_seconds())
            .collect();
        assert_eq!(seconds, [1, 2, 4, 8, 256, 300, 300]);
    }
}
