//! Which incident each group of alerts opened or joined, so a group firing
//! again finds its incident, and a storm of groups sharing a label finds
//! the incident opened first. Incident 0 stands for "recorded only": a
//! group whose alerts may not open an incident and found none open.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000007_create_alert_groups"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AlertGroups::Table)
                    .col(
                        ColumnDef::new(AlertGroups::Source)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AlertGroups::GroupKey)
                            .string_len(1024)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AlertGroups::IncidentId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AlertGroups::StormKey).string_len(512).null())
                    .col(
                        ColumnDef::new(AlertGroups::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AlertGroups::Alerts).integer().not_null())
                    .col(
                        ColumnDef::new(AlertGroups::FirstSeen)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AlertGroups::LastSeen)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AlertGroups::Source)
                            .col(AlertGroups::GroupKey)
                            .col(AlertGroups::IncidentId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("alert_groups_storm")
                    .table(AlertGroups::Table)
                    .col(AlertGroups::StormKey)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AlertGroups::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AlertGroups {
    Table,
    Source,
    GroupKey,
    IncidentId,
    StormKey,
    Status,
    Alerts,
    FirstSeen,
    LastSeen,
}
