//! Group commit for the inbox. Webhooks arrive concurrently and each must
//! be stored before it is acknowledged; one insert (and one commit) per
//! request makes concurrent requests queue on the database's write lock,
//! and on SQLite wait in its busy handler. Instead, every request hands
//! its event to one writer task and waits; the writer stores whatever has
//! queued up in one statement and answers each. Nothing waits on purpose:
//! under light load a batch is one event, under heavy load the batch is
//! what arrived while the previous one was being written.

use super::inbox::{InboxInsert, NewInboxRow};
use super::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Notify};

/// Events per statement at most: well inside SQLite's and PostgreSQL's
/// limits on bound parameters.
const MAX_BATCH: usize = 256;

/// Requests waiting for the writer at most; beyond, senders wait for room
/// rather than queueing without bound.
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<InboxInsert, String>>;

/// Cheap to clone; clones share the writer.
#[derive(Clone)]
pub struct InboxWriter {
    queue: mpsc::Sender<(NewInboxRow, Reply)>,
}

impl InboxWriter {
    /// Starts the writer on the current tokio runtime. It stops when the
    /// last clone is dropped. `wake` is notified after each batch, for the
    /// inbox worker.
    pub fn start(store: Store, wake: Arc<Notify>) -> Self {
        let (queue, requests) = mpsc::channel(QUEUE);
        tokio::spawn(write(store, requests, wake));
        Self { queue }
    }

    /// Stores `row` and says whether it was new. Returns once it is
    /// committed.
    pub async fn insert(&self, row: NewInboxRow) -> Result<InboxInsert, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the inbox writer has stopped".to_owned());
        self.queue.send((row, reply)).await.map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::Unavailable)
    }
}

async fn write(
    store: Store,
    mut requests: mpsc::Receiver<(NewInboxRow, Reply)>,
    wake: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while requests.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (rows, replies): (Vec<NewInboxRow>, Vec<Reply>) = batch.drain(..).unzip();
        match store.inbox_insert_many(&rows).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // A requester that gave up (its client hung up) needs
                    // no answer; its event is stored all the same.
                    let _ = reply.send(Ok(outcome));
                }
                wake.notify_one();
            }
            Err(error) => {
                tracing::warn!(%error, events = rows.len(), "could not store a batch of inbox events");
                let reason = error.to_string();
                for reply in replies {
                    let _ = reply.send(Err(reason.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use firebreak_adapters::Platform;
    use sea_orm::ConnectionTrait;

    async fn store() -> (Store, std::path::PathBuf) {
        crate::store::temporary_store("inbox-writer").await
    }

    fn row(event_id: &str) -> NewInboxRow {
        NewInboxRow {
            platform: Platform::Memory,
            event_id: event_id.to_owned(),
            payload: format!("{{\"event\":\"{event_id}\"}}"),
            received_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn concurrent_requests_are_each_answered_and_a_redelivery_is_a_duplicate() {
        let (store, path) = store().await;
        let wake = Arc::new(Notify::new());
        let writer = InboxWriter::start(store.clone(), wake.clone());
        // 300 distinct events and each of the first 20 again, all at once:
        // more than one batch, with redeliveries inside a batch.
        let mut requests = Vec::new();
        for n in 0..320 {
            let writer = writer.clone();
            let id = format!("e{}", if n < 300 { n } else { n - 300 });
            requests.push(tokio::spawn(async move { writer.insert(row(&id)).await }));
        }
        let mut inserted = Vec::new();
        let mut duplicates = 0;
        for request in requests {
            match request.await.expect("task").expect("stored") {
                InboxInsert::Inserted(id) => inserted.push(id),
                InboxInsert::Duplicate => duplicates += 1,
            }
        }
        assert_eq!((inserted.len(), duplicates), (300, 20));
        inserted.sort_unstable();
        inserted.dedup();
        assert_eq!(inserted.len(), 300, "every new event has its own row");
        assert_eq!(store.inbox_backlog().await.expect("backlog"), 300);
        // Sent again later, one is a duplicate of a stored row.
        assert_eq!(
            writer.insert(row("e7")).await.expect("stored"),
            InboxInsert::Duplicate
        );
        tokio::time::timeout(std::time::Duration::from_secs(1), wake.notified())
            .await
            .expect("the worker was woken");
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_batch_the_database_refuses_is_an_error_for_each_request() {
        let (store, path) = store().await;
        store
            .connection()
            .execute_unprepared("DROP TABLE inbox")
            .await
            .expect("drop");
        let writer = InboxWriter::start(store, Arc::new(Notify::new()));
        let error = writer.insert(row("e1")).await.expect_err("no table");
        assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
        let _ = std::fs::remove_file(path);
    }
}
