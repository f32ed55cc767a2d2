//! Group commit for incidents' changes. Each incident's actor writes its
//! changes one at a time, but with many incidents busy at once a
//! transaction per change makes them queue on the database's one writer,
//! each paying its own round trips. Instead every actor hands its change
//! to one writer task and waits; the writer stores whatever has queued in
//! one transaction of a few statements ([`Store::append_many`]) and
//! answers each. As with the inbox, nothing waits on purpose: a change
//! alone is written alone.

use super::incidents::{AppendOutcome, Change};
use super::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Changes taken from the queue at a time.
const MAX_TAKE: usize = 256;

/// Rows one transaction writes at most (events, counts, claims, timers,
/// roles, actions), so every statement stays well inside SQLite's and
/// PostgreSQL's limits on bound parameters.
const MAX_ROWS: usize = 1500;

/// Changes waiting for the writer at most; beyond, actors wait for room.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<AppendOutcome, StoreError>>;

/// Cheap to clone; clones share the writer.
#[derive(Clone)]
pub struct ChangeWriter {
    queue: mpsc::Sender<(Change, Reply)>,
}

impl ChangeWriter {
    /// Starts the writer on the current tokio runtime. It stops when the
    /// last clone is dropped.
    pub fn start(store: Store) -> Self {
        let (queue, requests) = mpsc::channel(QUEUE);
        tokio::spawn(write(store, requests));
        Self { queue }
    }

    /// Writes `change` (see [`Store::append`]); returns once it is
    /// committed.
    pub async fn append(&self, change: Change) -> Result<AppendOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the change writer has stopped".to_owned());
        self.queue
            .send((change, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write(store: Store, mut requests: mpsc::Receiver<(Change, Reply)>) {
    let mut taken = Vec::with_capacity(MAX_TAKE);
    while requests.recv_many(&mut taken, MAX_TAKE).await > 0 {
        let mut batch = Vec::new();
        let mut rows = 0;
        for (change, reply) in taken.drain(..) {
            let size = weight(&change);
            if !batch.is_empty() && (rows + size > MAX_ROWS || holds(&batch, &change)) {
                commit(&store, std::mem::take(&mut batch)).await;
                rows = 0;
            }
            rows += size;
            batch.push((change, reply));
        }
        commit(&store, batch).await;
    }
}

/// Whether the batch already has a change of the same incident: one
/// statement cannot update a row twice on PostgreSQL. (An actor waits for
/// its change, so this is only ever a safeguard.)
fn holds(batch: &[(Change, Reply)], change: &Change) -> bool {
    batch
        .iter()
        .any(|(queued, _)| queued.after.id() == change.after.id())
}

fn weight(change: &Change) -> usize {
    1 + change.events.len()
        + change.origins.len()
        + change.speakers.len()
        + change.timers.as_ref().map_or(0, Vec::len)
        + change.after.roles().len()
        + change.after.actions().len()
}

async fn commit(store: &Store, batch: Vec<(Change, Reply)>) {
    if batch.is_empty() {
        return;
    }
    let (changes, replies): (Vec<Change>, Vec<Reply>) = batch.into_iter().unzip();
    match store.append_many(&changes).await {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(error) if changes.len() == 1 => {
            let _ = replies
                .into_iter()
                .next()
                .map(|reply| reply.send(Err(error)));
        }
        Err(error) => {
            // Which change failed is not known (a conflict names no
            // incident in a batch): each is tried alone, so one stale
            // actor cannot fail the others' writes.
            tracing::debug!(%error, changes = changes.len(), "a batch of changes failed; writing them one by one");
            for (change, reply) in changes.iter().zip(replies) {
                let _ = reply.send(store.append(change).await);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Incident;
    use crate::store::{declared, noted};

    async fn incident(store: &Store, title: &str) -> Incident {
        store
            .create_incident(&declared(title, Default::default()), None, |_| Vec::new())
            .await
            .expect("create")
            .expect("new")
    }

    #[tokio::test]
    async fn a_stale_change_fails_alone_and_the_others_written_with_it_stand() {
        let (store, path) = crate::store::temporary_store("change-writer").await;
        let writer = ChangeWriter::start(store.clone());
        let mut incidents = Vec::new();
        for n in 0..20 {
            incidents.push(incident(&store, &format!("Incident {n}")).await);
        }
        let stale_one = incidents[7].clone();
        store
            .append(&noted(&stale_one, "got there first", None))
            .await
            .expect("append");

        // Sent at once, they queue together and go as few batches.
        let writes = incidents.iter().map(|incident| {
            let writer = writer.clone();
            let change = noted(incident, "batched", None);
            async move { writer.append(change).await }
        });
        let outcomes = futures_util::future::join_all(writes).await;

        for (n, outcome) in outcomes.iter().enumerate() {
            if n == 7 {
                assert!(
                    matches!(outcome, Err(StoreError::Conflict(id)) if *id == stale_one.id().0),
                    "{outcome:?}"
                );
            } else {
                assert!(
                    matches!(outcome, Ok(AppendOutcome::Appended)),
                    "{n}: {outcome:?}"
                );
            }
        }
        for (n, incident) in incidents.iter().enumerate() {
            let stored = store
                .load_incident(incident.id())
                .await
                .expect("load")
                .expect("stored");
            assert_eq!(stored.version(), 2, "incident {n} has one note");
        }
        let _ = std::fs::remove_file(path);
    }
}
