//! Pending timers: when each reminder of each incident falls due. Written
//! in the same transaction as the incident's events, so the schedule on
//! disk always matches the incident it belongs to.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000003_create_timers"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Timers::Table)
                    .col(ColumnDef::new(Timers::IncidentId).big_integer().not_null())
                    .col(ColumnDef::new(Timers::Reminder).string_len(64).not_null())
                    .col(
                        ColumnDef::new(Timers::DueAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(Timers::IncidentId)
                            .col(Timers::Reminder),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Timers::Table, Timers::IncidentId)
                            .to(Incidents::Table, Incidents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_timers_due_at")
                    .table(Timers::Table)
                    .col(Timers::DueAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Timers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Timers {
    Table,
    IncidentId,
    Reminder,
    DueAt,
}

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Id,
}
