//! The schema, one migration per change. Migrations are never edited after
//! they land; a change is a new file. The same migrations run on SQLite and
//! PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_create_incidents;
mod m20261124_000002_create_inbox;
mod m20261124_000003_create_timers;
mod m20261124_000004_create_platform_state;
mod m20261124_000005_create_incident_participants;
mod m20261124_000006_add_incident_labels;
mod m20261125_000007_create_alert_groups;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_incidents::Migration),
            Box::new(m20261124_000002_create_inbox::Migration),
            Box::new(m20261124_000003_create_timers::Migration),
            Box::new(m20261124_000004_create_platform_state::Migration),
            Box::new(m20261124_000005_create_incident_participants::Migration),
            Box::new(m20261124_000006_add_incident_labels::Migration),
            Box::new(m20261125_000007_create_alert_groups::Migration),
        ]
    }
}
