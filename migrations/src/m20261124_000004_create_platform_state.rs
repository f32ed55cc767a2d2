//! What a platform connection must remember across restarts, by name:
//! where a pull stopped reading (a Matrix `/sync` `next_batch`, written in
//! the same transaction as the inbox rows of the batch it ends, so a
//! restart resumes exactly after them), and where to reach a platform (the
//! Teams `serviceUrl` learned from its activities).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000004_create_platform_state"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PlatformState::Table)
                    .col(
                        ColumnDef::new(PlatformState::Name)
                            .string_len(255)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PlatformState::Value).text().not_null())
                    .col(
                        ColumnDef::new(PlatformState::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PlatformState::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum PlatformState {
    Table,
    Name,
    Value,
    UpdatedAt,
}
