use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incidents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    pub summary: Option<String>,
    pub impact: Option<String>,
    pub status: String,
    pub severity: i16,
    pub platform: String,
    pub private: bool,
    pub report_only: bool,
    pub reporter_platform: String,
    pub reporter_id: String,
    pub reporter_name: Option<String>,
    pub lead_platform: Option<String>,
    pub lead_id: Option<String>,
    pub lead_name: Option<String>,
    pub conversation_id: Option<String>,
    pub announcement_conversation_id: Option<String>,
    pub announcement_message_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub declared_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// JSON object of the incident's labels; `None` when it has none.
    pub labels: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
