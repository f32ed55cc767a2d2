//! The durable inbox: rows in, rows claimed as processed.

use super::entity::inbox;
use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use firebreak_adapters::Platform;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxInsert {
    Inserted(i64),
    /// The platform delivered this event before: nothing was stored.
    Duplicate,
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
        let row = inbox::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            platform: Set(platform.to_string()),
            event_id: Set(event_id.to_owned()),
            payload: Set(payload.to_owned()),
            received_at: Set(received_at),
            processed_at: Set(None),
            attempts: Set(0),
            last_error: Set(None),
        };
        match inbox::Entity::insert(row).exec(&self.db).await {
            Ok(inserted) => Ok(InboxInsert::Inserted(inserted.last_insert_id)),
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Ok(InboxInsert::Duplicate)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The oldest unprocessed rows, in arrival order.
    pub async fn inbox_pending(&self, limit: u64) -> Result<Vec<InboxRow>, StoreError> {
        let rows = inbox::Entity::find()
            .filter(inbox::Column::ProcessedAt.is_null())
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

    /// Marks a row processed when handling it changed no incident (a
    /// query, a rejected command, an event for no incident). Returns false
    /// if it was already processed.
    pub async fn inbox_mark_processed(
        &self,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = inbox::Entity::update_many()
            .col_expr(inbox::Column::ProcessedAt, Expr::value(at))
            .filter(inbox::Column::Id.eq(id))
            .filter(inbox::Column::ProcessedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Records a failed attempt. With `give_up`, the row is also marked
    /// processed so it stops blocking the queue; its error stays on it for
    /// an operator to see and replay.
    pub async fn inbox_record_failure(
        &self,
        id: i64,
        error: &str,
        give_up_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut update = inbox::Entity::update_many()
            .col_expr(
                inbox::Column::Attempts,
                Expr::col(inbox::Column::Attempts).add(1),
            )
            .col_expr(inbox::Column::LastError, Expr::value(error.to_owned()));
        if let Some(at) = give_up_at {
            update = update.col_expr(inbox::Column::ProcessedAt, Expr::value(at));
        }
        update
            .filter(inbox::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
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
