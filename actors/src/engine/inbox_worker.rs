//! Drains the durable inbox: decodes each row with its platform's adapter
//! and hands the events to the supervisor, in arrival order.
//!
//! A row is done when the events it carried were applied (the incident's
//! append claims it in the same transaction) or answered. A row that fails
//! for a passing reason (database, mailbox) stays and is retried; one that
//! cannot be decoded, or keeps failing, is set aside with its error so it
//! never blocks the queue and can be replayed after a fix.

use super::alert_intake;
use super::chat::Said;
use super::messages::{HandleChatBatch, HandleChatEvent};
use super::run::SharedCore;
use super::{EngineError, Supervisor};
use crate::metrics::EngineMetrics;
use crate::store::{InboxRow, ALERTS_INBOX};
use actix::Addr;
use chrono::Utc;
use firebreak_adapters::alerts::AlertBatch;
use firebreak_adapters::{ChatEvent, Platform};
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
const MAX_IN_FLIGHT: usize = 1024;
/// Rows fetched per look at the inbox.
const FETCH: usize = 256;
/// A row that failed for passing reasons this many times is set aside;
/// with the backoff below that is about half an hour of trying.
const MAX_ATTEMPTS: i32 = 12;
/// The first retry's delay, doubled each attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Rows of one conversation applied as one change, at most.
const MAX_BATCH: usize = 64;

type Dispatched = Pin<Box<dyn Future<Output = (Lane, Vec<(InboxRow, Result<(), RowFailure>)>)>>>;

/// Rows of one conversation go one after the other: a row is handed over
/// only when the previous row of its conversation has been answered. The
/// supervisor may need the database to find a conversation's incident, and
/// without lanes a later row whose route it already knew could overtake an
/// earlier one still being looked up. Conversations proceed side by side.
type Lane = String;

/// What a row holds.
enum Decoded {
    Chat(Vec<ChatEvent>),
    Alerts(Box<AlertBatch>),
}

/// A row read from the inbox and decoded once.
struct Fetched {
    row: InboxRow,
    decoded: Result<Decoded, RowFailure>,
}

impl Fetched {
    /// The row's conversation, which orders it; a row naming none (or not
    /// decodable) has a lane of its own. Alerts share one lane: where a
    /// delivery goes depends on where the ones before it went.
    fn lane(&self) -> Lane {
        match &self.decoded {
            Ok(Decoded::Alerts(_)) => ALERTS_INBOX.to_owned(),
            Ok(Decoded::Chat(events)) => events
                .first()
                .and_then(|event| event.kind.conversation().map(ToString::to_string))
                .unwrap_or_else(|| format!("row:{}", self.row.id)),
            Err(_) => format!("row:{}", self.row.id),
        }
    }

    /// What the row can be handed over together with: one line of chat
    /// with the lines before and after it in its conversation, a delivery
    /// of alerts with the deliveries next to it.
    fn kind(&self) -> Together {
        match &self.decoded {
            Ok(Decoded::Chat(events)) if events.len() == 1 && Said::is_line(&events[0].kind) => {
                Together::Lines
            }
            Ok(Decoded::Alerts(_)) => Together::Alerts,
            _ => Together::Alone,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Together {
    Lines,
    Alerts,
    Alone,
}

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
    /// Rows are handed to the supervisor in arrival order, one batch at a
    /// time per conversation (see [`Lane`]), so every incident sees its
    /// events in order while conversations proceed side by side. The lines
    /// of chat that queued in a conversation while its previous batch was
    /// applied go together as the next batch. A row is finished when its
    /// incident answers, independently of the others.
    pub async fn run(self) {
        let mut in_flight: FuturesUnordered<Dispatched> = FuturesUnordered::new();
        let mut flying: HashSet<i64> = HashSet::new();
        let mut busy: HashSet<Lane> = HashSet::new();
        let mut waiting: HashMap<Lane, VecDeque<Fetched>> = HashMap::new();
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
                            let fetched = Fetched {
                                decoded: self.decode(&row),
                                row,
                            };
                            let lane = fetched.lane();
                            waiting.entry(lane.clone()).or_default().push_back(fetched);
                            if busy.insert(lane.clone()) {
                                in_flight.push(self.dispatch_next(&mut waiting, lane));
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
                Some((lane, outcomes)) = in_flight.next(), if !in_flight.is_empty() => {
                    for (row, _) in &outcomes {
                        flying.remove(&row.id);
                    }
                    if let Err(error) = self.finish(&outcomes).await {
                        // The rows stay unprocessed and come round again;
                        // their incident's append refuses to apply them twice.
                        tracing::warn!(%error, "could not record inbox rows' outcome");
                    }
                    if waiting.get(&lane).is_some_and(|queue| !queue.is_empty()) {
                        in_flight.push(self.dispatch_next(&mut waiting, lane));
                    } else {
                        waiting.remove(&lane);
                        busy.remove(&lane);
                    }
                }
                // Woken by each webhook; the tick picks up rows that became
                // due for a retry, or were written by another process.
                _ = self.wake.notified() => look = true,
                _ = tokio::time::sleep(Duration::from_secs(1)) => look = true,
            }
        }
    }

    /// Hands the lane's next rows over: the lines of chat at its head
    /// together, anything else alone.
    fn dispatch_next(
        &self,
        waiting: &mut HashMap<Lane, VecDeque<Fetched>>,
        lane: Lane,
    ) -> Dispatched {
        let queue = waiting.entry(lane.clone()).or_default();
        let mut batch: Vec<Fetched> = Vec::new();
        while let Some(next) = queue.pop_front() {
            let kind = next.kind();
            if batch
                .first()
                .is_some_and(|first| first.kind() != kind || kind == Together::Alone)
            {
                queue.push_front(next);
                break;
            }
            batch.push(next);
            if kind == Together::Alone || batch.len() == MAX_BATCH {
                break;
            }
        }
        match batch.first().map(Fetched::kind) {
            Some(Together::Alerts) => self.dispatch_alerts(batch, lane),
            Some(Together::Lines) if batch.len() > 1 => self.dispatch_lines(batch, lane),
            _ => self.dispatch_one(batch.remove(0), lane),
        }
    }

    /// Hands deliveries of alerts over together (see
    /// [`alert_intake::file_all`]).
    fn dispatch_alerts(&self, batch: Vec<Fetched>, lane: Lane) -> Dispatched {
        let supervisor = self.supervisor.clone();
        let core = self.core.clone();
        Box::pin(async move {
            let mut rows = Vec::with_capacity(batch.len());
            let mut deliveries = Vec::with_capacity(batch.len());
            let mut undecodable = Vec::new();
            for Fetched { row, decoded } in batch {
                match decoded {
                    Ok(Decoded::Alerts(alerts)) => {
                        deliveries.push((*alerts, row.id));
                        rows.push(row);
                    }
                    Ok(Decoded::Chat(_)) => undecodable.push((
                        row,
                        Err(RowFailure {
                            retry: false,
                            reason: "a chat row among alerts".into(),
                        }),
                    )),
                    Err(failure) => undecodable.push((row, Err(failure))),
                }
            }
            let outcomes = alert_intake::file_all(&core, &supervisor, deliveries).await;
            let mut finished: Vec<(InboxRow, Result<(), RowFailure>)> = rows
                .into_iter()
                .zip(outcomes)
                .map(|(row, outcome)| (row, outcome.map(|_| ()).map_err(RowFailure::from)))
                .collect();
            finished.extend(undecodable);
            (lane, finished)
        })
    }

    /// Records how rows ended: done, to be retried later, or set aside.
    async fn finish(
        &self,
        outcomes: &[(InboxRow, Result<(), RowFailure>)],
    ) -> Result<(), EngineError> {
        let now = Utc::now();
        let done: Vec<i64> = outcomes
            .iter()
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|(row, _)| row.id)
            .collect();
        // Most were claimed by their incident's append already; this
        // finishes the rest (answers, events for no incident).
        self.core.store.inbox_mark_processed(&done, now).await?;
        EngineMetrics::add(&self.core.metrics.inbox_processed, done.len() as u64);
        for (row, outcome) in outcomes {
            let Err(failure) = outcome else { continue };
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
        Ok(())
    }

    /// Enqueues the row's events now; the returned future waits for their
    /// answers.
    fn dispatch_one(&self, fetched: Fetched, lane: Lane) -> Dispatched {
        let Fetched { row, decoded } = fetched;
        let events = match decoded {
            Ok(Decoded::Chat(events)) => Ok(events),
            Ok(Decoded::Alerts(_)) => Err(RowFailure {
                retry: false,
                reason: "alerts are handed over by dispatch_alerts".into(),
            }),
            Err(failure) => Err(failure),
        };
        // Only a single-event row can be claimed by the append itself; a
        // multi-event row is marked processed once all its events are
        // handled (at least once for those).
        let requests: Result<Vec<_>, RowFailure> = events.map(|events| {
            let origin = (events.len() == 1).then_some(row.id);
            events
                .into_iter()
                .map(|event| self.supervisor.send(HandleChatEvent { event, origin }))
                .collect()
        });
        Box::pin(async move {
            let outcome = async {
                for request in requests? {
                    request
                        .await
                        .map_err(RowFailure::from)?
                        .map_err(RowFailure::from)?;
                }
                Ok(())
            }
            .await;
            (lane, vec![(row, outcome)])
        })
    }

    /// Enqueues lines of chat of one conversation as one batch.
    fn dispatch_lines(&self, batch: Vec<Fetched>, lane: Lane) -> Dispatched {
        let mut rows = Vec::with_capacity(batch.len());
        let mut events = Vec::with_capacity(batch.len());
        let mut conversation = None;
        for Fetched { row, decoded } in batch {
            if let Some(event) = match decoded {
                Ok(Decoded::Chat(mut decoded)) => decoded.pop(),
                _ => None,
            } {
                conversation = conversation.or_else(|| event.kind.conversation().cloned());
                events.push((event, row.id));
            }
            rows.push(row);
        }
        let request = conversation.map(|conversation| {
            self.supervisor.send(HandleChatBatch {
                conversation,
                events,
            })
        });
        Box::pin(async move {
            let outcomes: Vec<Result<(), RowFailure>> = match request {
                Some(request) => match request.await {
                    Ok(outcomes) => outcomes
                        .into_iter()
                        .map(|outcome| outcome.map(|_| ()).map_err(RowFailure::from))
                        .collect(),
                    Err(mailbox) => rows
                        .iter()
                        .map(|_| Err(RowFailure::from(mailbox)))
                        .collect(),
                },
                None => Vec::new(),
            };
            let mut outcomes = outcomes.into_iter();
            let finished = rows
                .into_iter()
                .map(|row| {
                    let outcome = outcomes.next().unwrap_or_else(|| {
                        Err(RowFailure {
                            retry: true,
                            reason: "the batch came back without this row's outcome".into(),
                        })
                    });
                    (row, outcome)
                })
                .collect();
            (lane, finished)
        })
    }

    fn decode(&self, row: &InboxRow) -> Result<Decoded, RowFailure> {
        if row.platform == ALERTS_INBOX {
            return serde_json::from_str(&row.payload)
                .map(|batch| Decoded::Alerts(Box::new(batch)))
                .map_err(|error| RowFailure {
                    retry: false,
                    reason: format!("unreadable alert delivery: {error}"),
                });
        }
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
        adapter
            .decode(&row.payload)
            .map(Decoded::Chat)
            .map_err(|error| RowFailure {
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

impl From<EngineError> for RowFailure {
    fn from(error: EngineError) -> Self {
        Self {
            retry: error.is_transient(),
            reason: error.to_string(),
        }
    }
}

impl From<actix::MailboxError> for RowFailure {
    fn from(mailbox: actix::MailboxError) -> Self {
        Self {
            retry: true,
            reason: mailbox.to_string(),
        }
    }
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
