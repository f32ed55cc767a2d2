//! The durable inbox: every verified inbound platform event, stored before
//! the webhook is answered and processed from here. Unique on (platform,
//! event id), so a platform's redelivery is dropped at the door.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000002_create_inbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Inbox::Table)
                    .col(
                        ColumnDef::new(Inbox::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Inbox::Platform).string_len(16).not_null())
                    .col(ColumnDef::new(Inbox::EventId).string_len(255).not_null())
                    .col(ColumnDef::new(Inbox::Payload).text().not_null())
                    .col(
                        ColumnDef::new(Inbox::ReceivedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Inbox::ProcessedAt).timestamp_with_time_zone())
                    .col(
                        ColumnDef::new(Inbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Inbox::NextAttemptAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Inbox::LastError).text())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_inbox_platform_event")
                    .table(Inbox::Table)
                    .col(Inbox::Platform)
                    .col(Inbox::EventId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_inbox_pending")
                    .table(Inbox::Table)
                    .col(Inbox::ProcessedAt)
                    .col(Inbox::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Inbox::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Inbox {
    Table,
    Id,
    Platform,
    EventId,
    Payload,
    ReceivedAt,
    ProcessedAt,
    Attempts,
    NextAttemptAt,
    LastError,
}
