//! Persistence: the sea-orm repository the actors and the admin API use.
//!
//! Writes happen only through [`Store::create_incident`] and
//! [`Store::append`], which the incident's own actor calls: the events and
//! the updated projection (incident row, roles, actions) go in one
//! transaction. Reads rebuild an incident by replaying its events, because
//! the event log is the truth; the projection exists for listing and
//! filtering.

mod alert_groups;
mod change_writer;
mod entity;
mod inbox;
mod inbox_writer;
mod incidents;
mod participants;
mod read;

pub use alert_groups::{GroupIncidents, RecordedGroup};
pub use change_writer::ChangeWriter;
pub use inbox::{InboxInsert, InboxRow, NewInboxRow, ALERTS_INBOX};
pub use inbox_writer::InboxWriter;
pub use incidents::{AppendOutcome, Change, PendingTimer, RecordedEvent};
pub use participants::Participant;
pub use read::{
    ActionRecord, IncidentFilter, IncidentPage, IncidentRecord, RoleRecord, TimelineRecord,
};

use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Another writer appended to this incident first: the caller's state
    /// is stale and must be reloaded.
    #[error("incident {0} was changed by another writer")]
    Conflict(i64),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// A write handed to the inbox writer failed there (or it stopped);
    /// the database's own error is logged by the writer.
    #[error("could not store the event: {0}")]
    Unavailable(String),
}

/// Cheap to clone: the connections are pools.
#[derive(Debug, Clone)]
pub struct Store {
    /// Reads: the admin API, rebuilding incidents, the inbox's backlog.
    db: DatabaseConnection,
    /// Writes. On SQLite a single connection: SQLite takes one writer at a
    /// time anyway, and writers on several connections wait for each
    /// other by sleeping and retrying, where one connection queues them.
    /// On PostgreSQL the same pool as the reads.
    writer: DatabaseConnection,
}

impl Store {
    /// Connects to `url` (`sqlite://file.db?mode=rwc` or `postgres://…`).
    /// SQLite is switched to WAL so readers (the admin API) never block the
    /// writers (the actors).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let sqlite = url.starts_with("sqlite");
        let db = Database::connect(options(url, if sqlite { 8 } else { 16 }, None)).await?;
        let writer = if sqlite {
            Database::connect(options(url, 1, Some(WRITER_CHECKPOINT_PAGES))).await?
        } else {
            db.clone()
        };
        Ok(Self { db, writer })
    }

    /// Copies what SQLite's write-ahead log holds into the database file,
    /// as far as readers allow, without blocking anyone. Run in the
    /// background (see `WRITER_CHECKPOINT_PAGES`); nothing to do on
    /// PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        use sea_orm::ConnectionTrait;
        if self.db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            self.db
                .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
                .await?;
        }
        Ok(())
    }

    /// The connection writes go through; migrations use it.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.writer
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(StoreError::from)
    }
}

/// The write-ahead log's size, in pages, at which the writer copies it into
/// the database file itself. SQLite's default (1,000) has the one writer
/// connection do that every few thousand writes, and every write waits for
/// it meanwhile; the server checkpoints in the background instead (see
/// [`Store::checkpoint`]), so this is only the bound for when nothing does.
const WRITER_CHECKPOINT_PAGES: u32 = 10_000;

fn options(url: &str, connections: u32, checkpoint_pages: Option<u32>) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(connections)
        .connect_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // Pragmas other than the journal mode hold per connection, so
        // they are set on every connection the pool opens. NORMAL in
        // WAL mode syncs at checkpoints, not at each commit: a power
        // cut may lose the last commits but never corrupts the file.
        .map_sqlx_sqlite_opts(move |sqlite| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            let sqlite = sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            match checkpoint_pages {
                Some(pages) => sqlite.pragma("wal_autocheckpoint", pages.to_string()),
                None => sqlite,
            }
        });
    options
}

/// A migrated store in a fresh SQLite file, and the file to remove after.
#[cfg(test)]
pub(crate) async fn temporary_store(name: &str) -> (Store, std::path::PathBuf) {
    use firebreak_migrations::{Migrator, MigratorTrait};
    let path = std::env::temp_dir().join(format!(
        "firebreak-{name}-test-{}-{}.db",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .expect("connect");
    Migrator::up(store.connection(), None)
        .await
        .expect("migrate");
    (store, path)
}

/// A `Declared` event for a test incident on the API platform.
#[cfg(test)]
pub(crate) fn declared(
    title: &str,
    labels: std::collections::BTreeMap<String, String>,
) -> RecordedEvent {
    use crate::incident::{DomainEvent, Severity};
    use firebreak_adapters::{Platform, UserRef};
    RecordedEvent {
        event: DomainEvent::Declared {
            title: title.into(),
            severity: Severity::new(2).expect("severity"),
            summary: None,
            impact: None,
            reporter: UserRef::new(Platform::Api, "api"),
            lead: None,
            platform: Platform::Api,
            private: false,
            report: None,
            labels,
            announce: None,
        },
        actor: None,
        at: chrono::Utc::now(),
    }
}

/// A note on `incident`, as the change from its current state.
#[cfg(test)]
pub(crate) fn noted(
    incident: &crate::incident::Incident,
    text: &str,
    by: Option<&firebreak_adapters::UserRef>,
) -> Change {
    let event = crate::incident::DomainEvent::NoteAdded { text: text.into() };
    let mut after = incident.clone();
    after.apply(&event, chrono::Utc::now());
    let recorded = RecordedEvent {
        event,
        actor: by.cloned(),
        at: chrono::Utc::now(),
    };
    Change::new(incident, after, vec![recorded])
}
