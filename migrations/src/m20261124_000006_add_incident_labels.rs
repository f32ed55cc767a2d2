//! Incident labels (`service=payments`) on the incident row, as a JSON
//! object, for listing and statistics. The event log has them since the
//! declaration; this is their projection.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000006_add_incident_labels"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Incidents::Table)
                    .add_column(ColumnDef::new(Incidents::Labels).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Incidents::Table)
                    .drop_column(Incidents::Labels)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Labels,
}
