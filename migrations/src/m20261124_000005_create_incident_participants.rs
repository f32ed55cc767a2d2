//! Who spoke in an incident's conversation and how often, for the
//! post-incident report. A count, not the messages: the chat platform
//! keeps those.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000005_create_incident_participants"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IncidentParticipants::Table)
                    .col(
                        ColumnDef::new(IncidentParticipants::IncidentId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentParticipants::Platform)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentParticipants::UserId)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentParticipants::Name)
                            .string_len(255)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(IncidentParticipants::Messages)
                            .big_integer()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(IncidentParticipants::IncidentId)
                            .col(IncidentParticipants::Platform)
                            .col(IncidentParticipants::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                IncidentParticipants::Table,
                                IncidentParticipants::IncidentId,
                            )
                            .to(Incidents::Table, Incidents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IncidentParticipants::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum IncidentParticipants {
    Table,
    IncidentId,
    Platform,
    UserId,
    Name,
    Messages,
}

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Id,
}
