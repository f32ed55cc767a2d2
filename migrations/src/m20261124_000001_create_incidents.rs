//! Incidents (a projection of their events, for listing and filtering),
//! their append-only event log, and their roles and follow-up actions.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_create_incidents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Incidents::Table)
                    .col(
                        ColumnDef::new(Incidents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Incidents::Title).text().not_null())
                    .col(ColumnDef::new(Incidents::Summary).text())
                    .col(ColumnDef::new(Incidents::Impact).text())
                    .col(ColumnDef::new(Incidents::Status).string_len(16).not_null())
                    .col(
                        ColumnDef::new(Incidents::Severity)
                            .small_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Incidents::Platform)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Incidents::Private).boolean().not_null())
                    .col(ColumnDef::new(Incidents::ReportOnly).boolean().not_null())
                    .col(
                        ColumnDef::new(Incidents::ReporterPlatform)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Incidents::ReporterId).text().not_null())
                    .col(ColumnDef::new(Incidents::ReporterName).text())
                    .col(ColumnDef::new(Incidents::LeadPlatform).string_len(16))
                    .col(ColumnDef::new(Incidents::LeadId).text())
                    .col(ColumnDef::new(Incidents::LeadName).text())
                    .col(ColumnDef::new(Incidents::ConversationId).text())
                    .col(ColumnDef::new(Incidents::AnnouncementConversationId).text())
                    .col(ColumnDef::new(Incidents::AnnouncementMessageId).text())
                    .col(
                        ColumnDef::new(Incidents::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Incidents::DeclaredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Incidents::AcknowledgedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Incidents::MitigatedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Incidents::ResolvedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(Incidents::ClosedAt).timestamp_with_time_zone())
                    .col(
                        ColumnDef::new(Incidents::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Incidents::Version).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_incidents_status", Incidents::Status),
            ("idx_incidents_declared_at", Incidents::DeclaredAt),
            ("idx_incidents_conversation", Incidents::ConversationId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Incidents::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(IncidentEvents::Table)
                    .col(
                        ColumnDef::new(IncidentEvents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(IncidentEvents::IncidentId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(IncidentEvents::Seq).big_integer().not_null())
                    .col(
                        ColumnDef::new(IncidentEvents::Kind)
                            .string_len(48)
                            .not_null(),
                    )
                    .col(ColumnDef::new(IncidentEvents::Payload).text().not_null())
                    .col(ColumnDef::new(IncidentEvents::ActorPlatform).string_len(16))
                    .col(ColumnDef::new(IncidentEvents::ActorId).text())
                    .col(ColumnDef::new(IncidentEvents::ActorName).text())
                    .col(
                        ColumnDef::new(IncidentEvents::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(IncidentEvents::Table, IncidentEvents::IncidentId)
                            .to(Incidents::Table, Incidents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One writer per incident: a second append with the same sequence
        // number fails instead of interleaving.
        manager
            .create_index(
                Index::create()
                    .name("idx_incident_events_seq")
                    .table(IncidentEvents::Table)
                    .col(IncidentEvents::IncidentId)
                    .col(IncidentEvents::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IncidentRoles::Table)
                    .col(
                        ColumnDef::new(IncidentRoles::IncidentId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentRoles::Role)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(IncidentRoles::UserPlatform)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(IncidentRoles::UserId).text().not_null())
                    .col(ColumnDef::new(IncidentRoles::UserName).text())
                    .primary_key(
                        Index::create()
                            .col(IncidentRoles::IncidentId)
                            .col(IncidentRoles::Role),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(IncidentRoles::Table, IncidentRoles::IncidentId)
                            .to(Incidents::Table, Incidents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IncidentActions::Table)
                    .col(
                        ColumnDef::new(IncidentActions::IncidentId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(IncidentActions::Number).integer().not_null())
                    .col(ColumnDef::new(IncidentActions::Text).text().not_null())
                    .col(
                        ColumnDef::new(IncidentActions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(IncidentActions::DoneAt).timestamp_with_time_zone())
                    .primary_key(
                        Index::create()
                            .col(IncidentActions::IncidentId)
                            .col(IncidentActions::Number),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(IncidentActions::Table, IncidentActions::IncidentId)
                            .to(Incidents::Table, Incidents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IncidentActions::Table.into_iden(),
            IncidentRoles::Table.into_iden(),
            IncidentEvents::Table.into_iden(),
            Incidents::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Id,
    Title,
    Summary,
    Impact,
    Status,
    Severity,
    Platform,
    Private,
    ReportOnly,
    ReporterPlatform,
    ReporterId,
    ReporterName,
    LeadPlatform,
    LeadId,
    LeadName,
    ConversationId,
    AnnouncementConversationId,
    AnnouncementMessageId,
    StartedAt,
    DeclaredAt,
    AcknowledgedAt,
    MitigatedAt,
    ResolvedAt,
    ClosedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum IncidentEvents {
    Table,
    Id,
    IncidentId,
    Seq,
    Kind,
    Payload,
    ActorPlatform,
    ActorId,
    ActorName,
    OccurredAt,
}

#[derive(DeriveIden)]
enum IncidentRoles {
    Table,
    IncidentId,
    Role,
    UserPlatform,
    UserId,
    UserName,
}

#[derive(DeriveIden)]
enum IncidentActions {
    Table,
    IncidentId,
    Number,
    Text,
    CreatedAt,
    DoneAt,
}
