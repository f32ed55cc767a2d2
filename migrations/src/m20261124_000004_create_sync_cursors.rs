//! Where each pull-based platform connection stopped reading (a Matrix
//! `/sync` `next_batch`). Written in the same transaction as the inbox rows
//! of the batch it ends, so a restart resumes exactly after them.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000004_create_sync_cursors"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncCursors::Table)
                    .col(
                        ColumnDef::new(SyncCursors::Name)
                            .string_len(255)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SyncCursors::Position).text().not_null())
                    .col(
                        ColumnDef::new(SyncCursors::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SyncCursors::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SyncCursors {
    Table,
    Name,
    Position,
    UpdatedAt,
}
