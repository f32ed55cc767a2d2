//! The durable inbox: rows in, rows claimed as processed.

use super::entity::{inbox, platform_state};
use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use firebreak_adapters::Platform;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

/// The inbox's name for rows that are alert deliveries rather than chat.
pub const ALERTS_INBOX: &str = "alerts";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxInsert {
    Inserted(i64),
    /// The platform delivered this event before: nothing was stored.
    Duplicate,
}

/// An event to store in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInboxRow {
    pub platform: Platform,
    /// The platform's id for the event, which makes redeliveries
    /// recognisable.
    pub event_id: String,
    pub payload: String,
    pub received_at: DateTime<Utc>,
}

/// An unprocessed inbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub id: i64,
    pub platform: String,
    pub event_id: String,
    pub payload: String,
    pub attempts: i32,
}

impl Store {
    /// Stores a verified inbound event before the webhook is answered.
    pub async fn inbox_insert(
        &self,
        platform: Platform,
        event_id: &str,
        payload: &str,
        received_at: DateTime<Utc>,
    ) -> Result<InboxInsert, StoreError> {
        let row = NewInboxRow {
            platform,
            event_id: event_id.to_owned(),
            payload: payload.to_owned(),
            received_at,
        };
        let mut outcomes = self.inbox_insert_many(std::slice::from_ref(&row)).await?;
        Ok(outcomes.pop().unwrap_or(InboxInsert::Duplicate))
    }

    /// Stores a verified delivery of alerts (an [`AlertBatch`] as JSON)
    /// before the sender is answered. `event_id` identifies the delivery,
    /// so the same delivery sent twice is stored once.
    ///
    /// [`AlertBatch`]: firebreak_adapters::alerts::AlertBatch
    pub async fn inbox_insert_alerts(
        &self,
        event_id: &str,
        payload: &str,
        received_at: DateTime<Utc>,
    ) -> Result<InboxInsert, StoreError> {
        let row = new_row(ALERTS_INBOX, event_id, payload, received_at);
        let inserted = self.insert_new(vec![row]).await?;
        Ok(match inserted.into_values().next() {
            Some(id) => InboxInsert::Inserted(id),
            None => InboxInsert::Duplicate,
        })
    }

    /// Stores several received events in one statement (so one commit),
    /// answering for each, in order, whether it was new. An event already
    /// stored, or given twice here, is a duplicate after its first time.
    pub async fn inbox_insert_many(
        &self,
        rows: &[NewInboxRow],
    ) -> Result<Vec<InboxInsert>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let models = rows
            .iter()
            .map(|row| new_row(row.platform, &row.event_id, &row.payload, row.received_at))
            .collect();
        let mut ids = self.insert_new(models).await?;
        Ok(rows
            .iter()
            .map(|row| {
                // `remove`: a second request for the same event in this
                // batch is the redelivery.
                match ids.remove(&(row.platform.to_string(), row.event_id.clone())) {
                    Some(id) => InboxInsert::Inserted(id),
                    None => InboxInsert::Duplicate,
                }
            })
            .collect())
    }

    /// Inserts the rows not stored before, in one statement; answers the
    /// ids of those inserted, by platform and event id.
    async fn insert_new(
        &self,
        models: Vec<inbox::ActiveModel>,
    ) -> Result<std::collections::HashMap<(String, String), i64>, StoreError> {
        use sea_orm::sea_query::OnConflict;
        use sea_orm::TryInsertResult;
        let inserted = inbox::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([inbox::Column::Platform, inbox::Column::EventId])
                    .do_nothing()
                    .to_owned(),
            )
            .do_nothing()
            .exec_with_returning_many(&self.writer)
            .await?;
        Ok(match inserted {
            TryInsertResult::Inserted(models) => models
                .into_iter()
                .map(|model| ((model.platform, model.event_id), model.id))
                .collect(),
            TryInsertResult::Empty | TryInsertResult::Conflicted => Default::default(),
        })
    }

    /// Stores the events of one pulled batch and where reading stopped
    /// (platform state `cursor`), in one transaction: after a crash either both are there or neither,
    /// so the next pull neither skips nor repeats an event. Events already
    /// stored (a batch read twice) are skipped. `events` are `(event id,
    /// payload)` in the order they happened.
    pub async fn inbox_insert_batch(
        &self,
        platform: Platform,
        events: &[(String, String)],
        cursor: &str,
        position: &str,
        received_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use sea_orm::sea_query::OnConflict;
        use sea_orm::TransactionTrait;
        let txn = self.writer.begin().await?;
        for (event_id, payload) in events {
            let row = new_row(platform, event_id, payload, received_at);
            // A conflict inside a PostgreSQL transaction would abort it, so
            // duplicates are skipped by the statement, not caught after.
            inbox::Entity::insert(row)
                .on_conflict(
                    OnConflict::columns([inbox::Column::Platform, inbox::Column::EventId])
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        let cursor_row = platform_state::ActiveModel {
            name: Set(cursor.to_owned()),
            value: Set(position.to_owned()),
            updated_at: Set(received_at),
        };
        platform_state::Entity::insert(cursor_row)
            .on_conflict(
                OnConflict::column(platform_state::Column::Name)
                    .update_columns([
                        platform_state::Column::Value,
                        platform_state::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// A platform's remembered value (a sync position, a service URL).
    pub async fn platform_state(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(platform_state::Entity::find_by_id(name.to_owned())
            .one(&self.db)
            .await?
            .map(|row| row.value))
    }

    pub async fn set_platform_state(
        &self,
        name: &str,
        value: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use sea_orm::sea_query::OnConflict;
        let row = platform_state::ActiveModel {
            name: Set(name.to_owned()),
            value: Set(value.to_owned()),
            updated_at: Set(at),
        };
        platform_state::Entity::insert(row)
            .on_conflict(
                OnConflict::column(platform_state::Column::Name)
                    .update_columns([
                        platform_state::Column::Value,
                        platform_state::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.writer)
            .await?;
        Ok(())
    }

    /// The oldest unprocessed rows that are due at `now`, in arrival order.
    pub async fn inbox_pending(
        &self,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<InboxRow>, StoreError> {
        let rows = inbox::Entity::find()
            .filter(inbox::Column::ProcessedAt.is_null())
            .filter(
                sea_orm::Condition::any()
                    .add(inbox::Column::NextAttemptAt.is_null())
                    .add(inbox::Column::NextAttemptAt.lte(now)),
            )
            .order_by_asc(inbox::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| InboxRow {
                id: row.id,
                platform: row.platform,
                event_id: row.event_id,
                payload: row.payload,
                attempts: row.attempts,
            })
            .collect())
    }

    /// Marks rows processed that no append claimed (a query, a rejected
    /// command, an event for no incident). Rows already processed are left
    /// as they are; answers how many were marked.
    pub async fn inbox_mark_processed(
        &self,
        ids: &[i64],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let result = inbox::Entity::update_many()
            .col_expr(inbox::Column::ProcessedAt, Expr::value(at))
            .filter(inbox::Column::Id.is_in(ids.iter().copied()))
            .filter(inbox::Column::ProcessedAt.is_null())
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected)
    }

    /// Records a failed attempt on a row still waiting: it is tried again
    /// at `retry_at`, or with `None` set aside for good (marked processed,
    /// its error kept for an operator to read and replay).
    pub async fn inbox_record_failure(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let update = inbox::Entity::update_many()
            .col_expr(
                inbox::Column::Attempts,
                Expr::col(inbox::Column::Attempts).add(1),
            )
            .col_expr(inbox::Column::LastError, Expr::value(error.to_owned()));
        let update = match retry_at {
            Some(at) => update.col_expr(inbox::Column::NextAttemptAt, Expr::value(at)),
            None => update.col_expr(inbox::Column::ProcessedAt, Expr::value(now)),
        };
        update
            .filter(inbox::Column::Id.eq(id))
            .filter(inbox::Column::ProcessedAt.is_null())
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    /// How long each processed row from `first_id` on took from arrival
    /// to processing (for the benchmarks).
    pub async fn inbox_processing_times(
        &self,
        first_id: i64,
    ) -> Result<Vec<chrono::Duration>, StoreError> {
        let rows = inbox::Entity::find()
            .filter(inbox::Column::Id.gte(first_id))
            .filter(inbox::Column::ProcessedAt.is_not_null())
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| Some(row.processed_at? - row.received_at))
            .collect())
    }

    /// How many rows wait to be processed (for `/metrics` and readiness).
    pub async fn inbox_backlog(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(inbox::Entity::find()
            .filter(inbox::Column::ProcessedAt.is_null())
            .count(&self.db)
            .await?)
    }
}

/// A row as received: not yet tried, due at once.
fn new_row(
    platform: impl ToString,
    event_id: &str,
    payload: &str,
    received_at: DateTime<Utc>,
) -> inbox::ActiveModel {
    inbox::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        platform: Set(platform.to_string()),
        event_id: Set(event_id.to_owned()),
        payload: Set(payload.to_owned()),
        received_at: Set(received_at),
        processed_at: Set(None),
        attempts: Set(0),
        next_attempt_at: Set(None),
        last_error: Set(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    async fn store() -> (Store, std::path::PathBuf) {
        crate::store::temporary_store("inbox").await
    }

    #[tokio::test]
    async fn a_batch_and_its_cursor_are_stored_together_and_a_reread_batch_adds_nothing() {
        let (store, path) = store().await;
        let now = Utc::now();
        assert_eq!(store.platform_state("pull").await.expect("read"), None);
        let batch = vec![
            ("$a".to_owned(), "{\"n\":1}".to_owned()),
            ("$b".to_owned(), "{\"n\":2}".to_owned()),
        ];
        store
            .inbox_insert_batch(Platform::Memory, &batch, "pull", "s1", now)
            .await
            .expect("first batch");
        // The same events read again (a crash before the cursor moved on
        // elsewhere) plus a new one: only the new one is added.
        let mut again = batch.clone();
        again.push(("$c".to_owned(), "{\"n\":3}".to_owned()));
        store
            .inbox_insert_batch(Platform::Memory, &again, "pull", "s2", now)
            .await
            .expect("second batch");
        let pending: Vec<String> = store
            .inbox_pending(10, now)
            .await
            .expect("pending")
            .into_iter()
            .map(|row| row.event_id)
            .collect();
        assert_eq!(pending, ["$a", "$b", "$c"]);
        assert_eq!(
            store.platform_state("pull").await.expect("read").as_deref(),
            Some("s2")
        );
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn redeliveries_are_dropped_and_failed_rows_wait_for_their_retry() {
        let (store, path) = store().await;
        let now = Utc::now();
        let InboxInsert::Inserted(id) = store
            .inbox_insert(Platform::Memory, "e1", "{}", now)
            .await
            .expect("insert")
        else {
            panic!("first delivery is stored");
        };
        assert_eq!(
            store
                .inbox_insert(Platform::Memory, "e1", "{}", now)
                .await
                .expect("insert"),
            InboxInsert::Duplicate
        );
        assert_eq!(
            store
                .inbox_insert(Platform::Api, "e1", "{}", now)
                .await
                .map(|i| i != InboxInsert::Duplicate)
                .ok(),
            Some(true),
            "ids are unique per platform only"
        );

        let retry_at = now + TimeDelta::seconds(30);
        store
            .inbox_record_failure(id, "busy", Some(retry_at), now)
            .await
            .expect("record");
        let due_now: Vec<i64> = store
            .inbox_pending(10, now)
            .await
            .expect("pending")
            .iter()
            .map(|r| r.id)
            .collect();
        assert!(!due_now.contains(&id), "not before its retry time");
        let later = store.inbox_pending(10, retry_at).await.expect("pending");
        let row = later
            .iter()
            .find(|row| row.id == id)
            .expect("due at its retry time");
        assert_eq!(row.attempts, 1);

        store
            .inbox_record_failure(id, "broken", None, now)
            .await
            .expect("record");
        let after: Vec<i64> = store
            .inbox_pending(10, retry_at)
            .await
            .expect("pending")
            .iter()
            .map(|r| r.id)
            .collect();
        assert!(!after.contains(&id), "a set-aside row is done");
        assert_eq!(
            store.inbox_mark_processed(&[id], now).await.expect("mark"),
            0,
            "already done"
        );
        let _ = std::fs::remove_file(path);
    }
}
