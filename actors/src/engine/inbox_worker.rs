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
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Rows handed to incidents and not yet finished, at most. A slow
/// incident (its platform rate-limiting it) holds only its own rows; the
/// others keep flowing.
const MAX_IN_FLIGHT: usize = 256;
/// Rows fetched per look at the inbox.
const FETCH: usize = 64;
/// A row that failed for passing reasons this many times is set aside;
/// with the backoff below that is about half an hour of trying.
const MAX_ATTEMPTS: i32 = 12;
/// The first retry's delay, doubled each attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

type Dispatched = Pin<Box<dyn Future<Output = (InboxRow, Lane, Result<(), RowFailure>)>>>;

/// Rows of one conversation go one after the other: a row is handed over
/// only when the previous row of its conversation has been answered. The
/// supervisor may need the database to find a conversation's incident, and
/// without lanes a later row whose route it already knew could overtake an
/// earlier one still being looked up. Conversations proceed side by side.
type Lane = String;

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
    ///
    /// Rows are handed to the supervisor in arrival order, one at a time
    /// per conversation (see [`Lane`]), so every incident sees its events
    /// in order while conversations proceed side by side. A row is
    /// finished when its incident answers, independently of the others.
    pub async fn run(self) {
        let mut in_flight: FuturesUnordered<Dispatched> = FuturesUnordered::new();
        let mut flying: HashSet<i64> = HashSet::new();
        let mut busy: HashSet<Lane> = HashSet::new();
        let mut waiting: HashMap<Lane, VecDeque<InboxRow>> = HashMap::new();
        let mut backoff = Duration::from_millis(100);
        // Whether the inbox may hold rows not yet fetched: after a wake,
        // a tick, or a fetch that came back full. A row finishing says
        // nothing new about the inbox, so it does not cost a query.
        let mut look = true;
        loop {
            if look && flying.len() < MAX_IN_FLIGHT {
                match self
                    .core
                    .store
                    .inbox_pending((FETCH + flying.len()) as u64, Utc::now())
                    .await
                {
                    Ok(rows) => {
                        backoff = Duration::from_millis(100);
                        let fresh: Vec<InboxRow> = rows
                            .into_iter()
                            .filter(|row| !flying.contains(&row.id))
                            .take(FETCH)
                            .collect();
                        look = fresh.len() == FETCH;
                        for row in fresh {
                            flying.insert(row.id);
                            let lane = self.lane(&row);
                            if busy.contains(&lane) {
                                waiting.entry(lane).or_default().push_back(row);
                            } else {
                                busy.insert(lane.clone());
                                in_flight.push(self.dispatch(row, lane));
                            }
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "inbox unavailable; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                        continue;
                    }
                }
            }
            tokio::select! {
                Some((row, lane, outcome)) = in_flight.next(), if !in_flight.is_empty() => {
                    flying.remove(&row.id);
                    if let Err(error) = self.finish(&row, outcome).await {
                        // The row stays unprocessed and comes round again;
                        // its incident's append refuses to apply it twice.
                        tracing::warn!(inbox = row.id, %error, "could not record an inbox row's outcome");
                    }
                    let next = waiting.get_mut(&lane).and_then(VecDeque::pop_front);
                    match next {
                        Some(next) => in_flight.push(self.dispatch(next, lane)),
                        None => {
                            waiting.remove(&lane);
                            busy.remove(&lane);
                        }
                    }
                }
                // Woken by each webhook; the tick picks up rows that became
                // due for a retry, or were written by another process.
                _ = self.wake.notified() => look = true,
                _ = tokio::time::sleep(Duration::from_secs(1)) => look = true,
            }
        }
    }

    /// Records how a row ended: done, to be retried later, or set aside.
    async fn finish(
        &self,
        row: &InboxRow,
        outcome: Result<(), RowFailure>,
    ) -> Result<(), EngineError> {
        let now = Utc::now();
        match outcome {
            Ok(()) => {
                self.core.store.inbox_mark_processed(row.id, now).await?;
                EngineMetrics::add(&self.core.metrics.inbox_processed, 1);
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
            }
        }
        Ok(())
    }

    /// Enqueues the row's events now; the returned future waits for their
    /// answers.
    fn dispatch(&self, row: InboxRow, lane: Lane) -> Dispatched {
        let decoded = self.decode(&row);
        // Only a single-event row can be claimed by the append itself; a
        // multi-event row is marked processed once all its events are
        // handled (at least once for those).
        let requests: Result<Vec<_>, RowFailure> = decoded.map(|events| {
            let origin = (events.len() == 1).then_some(row.id);
            events
                .into_iter()
                .map(|event| self.supervisor.send(HandleChatEvent { event, origin }))
                .collect()
        });
        Box::pin(async move {
            let outcome = async {
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
            .await;
            (row, lane, outcome)
        })
    }

    /// The row's conversation, which orders it; a row naming none (or not
    /// decodable) has a lane of its own.
    fn lane(&self, row: &InboxRow) -> Lane {
        self.decode(row)
            .ok()
            .and_then(|events| {
                events
                    .first()
                    .and_then(|event| event.kind.conversation().map(ToString::to_string))
            })
            .unwrap_or_else(|| format!("row:{}", row.id))
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
