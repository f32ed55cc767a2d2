//! Read models for the admin API, dashboards and metrics. They come from
//! the projection and the event log and never change anything.

use super::entity::{incident, incident_action, incident_event, incident_role};
use super::incidents::decode_event;
use super::{Store, StoreError};
use crate::incident::{DomainEvent, IncidentId, Severity, Status};
use chrono::{DateTime, Utc};
use firebreak_adapters::{Platform, UserRef};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// One incident as the projection holds it.
pub type IncidentRecord = incident::Model;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRecord {
    pub role: String,
    pub user: UserRef,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    pub number: i32,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

/// One entry of the timeline: an event from the log with who and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineRecord {
    pub seq: i64,
    pub event: DomainEvent,
    pub actor: Option<UserRef>,
    pub occurred_at: DateTime<Utc>,
}

/// Filters for listing incidents; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentFilter {
    pub statuses: Vec<Status>,
    pub severities: Vec<Severity>,
    pub platform: Option<Platform>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Case-insensitive text in the title or summary.
    pub text: Option<String>,
    /// Continue after this incident id (from a previous page).
    pub after: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentPage {
    pub items: Vec<IncidentRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<i64>,
}

impl Store {
    /// Incidents newest first. Ids grow with declaration, so the cursor is
    /// the last id seen and pages stay stable while new incidents arrive.
    pub async fn list_incidents(
        &self,
        filter: &IncidentFilter,
        limit: u64,
    ) -> Result<IncidentPage, StoreError> {
        let mut condition = Condition::all();
        if !filter.statuses.is_empty() {
            condition = condition
                .add(incident::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
        }
        if !filter.severities.is_empty() {
            condition = condition.add(
                incident::Column::Severity
                    .is_in(filter.severities.iter().map(|s| i16::from(s.level()))),
            );
        }
        if let Some(platform) = filter.platform {
            condition = condition.add(incident::Column::Platform.eq(platform.as_str()));
        }
        if let Some(since) = filter.since {
            condition = condition.add(incident::Column::DeclaredAt.gte(since));
        }
        if let Some(until) = filter.until {
            condition = condition.add(incident::Column::DeclaredAt.lt(until));
        }
        if let Some(text) = filter
            .text
            .as_deref()
            .filter(|text| !text.trim().is_empty())
        {
            let pattern = format!("%{}%", escape_like(&text.trim().to_lowercase()));
            let matches = |column: incident::Column| {
                Expr::expr(Func::lower(Expr::col(column)))
                    .like(sea_orm::sea_query::LikeExpr::new(&pattern).escape('\\'))
            };
            condition = condition.add(
                Condition::any()
                    .add(matches(incident::Column::Title))
                    .add(matches(incident::Column::Summary)),
            );
        }
        if let Some(after) = filter.after {
            condition = condition.add(incident::Column::Id.lt(after));
        }
        let mut items = incident::Entity::find()
            .filter(condition)
            .order_by_desc(incident::Column::Id)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let next = if items.len() as u64 > limit {
            items.truncate(limit as usize);
            items.last().map(|last| last.id)
        } else {
            None
        };
        Ok(IncidentPage { items, next })
    }

    pub async fn get_incident(&self, id: IncidentId) -> Result<Option<IncidentRecord>, StoreError> {
        Ok(incident::Entity::find_by_id(id.0).one(&self.db).await?)
    }

    pub async fn incident_roles(&self, id: IncidentId) -> Result<Vec<RoleRecord>, StoreError> {
        let rows = incident_role::Entity::find()
            .filter(incident_role::Column::IncidentId.eq(id.0))
            .order_by_asc(incident_role::Column::Role)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|row| {
                let platform = row
                    .user_platform
                    .parse::<Platform>()
                    .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                let mut user = UserRef::new(platform, row.user_id);
                user.name = row.user_name;
                Ok(RoleRecord {
                    role: row.role,
                    user,
                })
            })
            .collect()
    }

    pub async fn incident_actions(&self, id: IncidentId) -> Result<Vec<ActionRecord>, StoreError> {
        let rows = incident_action::Entity::find()
            .filter(incident_action::Column::IncidentId.eq(id.0))
            .order_by_asc(incident_action::Column::Number)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| ActionRecord {
                number: row.number,
                text: row.text,
                created_at: row.created_at,
                done_at: row.done_at,
            })
            .collect())
    }

    /// The incident's event log, in order.
    pub async fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineRecord>, StoreError> {
        let rows = incident_event::Entity::find()
            .filter(incident_event::Column::IncidentId.eq(id.0))
            .order_by_asc(incident_event::Column::Seq)
            .all(&self.db)
            .await?;
        rows.iter()
            .map(|row| {
                let actor = match (&row.actor_platform, &row.actor_id) {
                    (Some(platform), Some(id)) => {
                        let platform = platform
                            .parse::<Platform>()
                            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                        let mut user = UserRef::new(platform, id.clone());
                        user.name = row.actor_name.clone();
                        Some(user)
                    }
                    _ => None,
                };
                Ok(TimelineRecord {
                    seq: row.seq,
                    event: decode_event(row)?,
                    actor,
                    occurred_at: row.occurred_at,
                })
            })
            .collect()
    }

    /// The incident whose conversation this is, if any.
    pub async fn incident_by_conversation(
        &self,
        conversation: &firebreak_adapters::ConversationRef,
    ) -> Result<Option<IncidentId>, StoreError> {
        let id: Option<i64> = incident::Entity::find()
            .select_only()
            .column(incident::Column::Id)
            .filter(incident::Column::Platform.eq(conversation.platform.as_str()))
            .filter(incident::Column::ConversationId.eq(conversation.id.as_str()))
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(id.map(IncidentId))
    }

    /// Incident counts by (status, severity), for `/metrics`.
    pub async fn incident_counts(&self) -> Result<Vec<(String, i16, i64)>, StoreError> {
        Ok(incident::Entity::find()
            .select_only()
            .column(incident::Column::Status)
            .column(incident::Column::Severity)
            .column_as(incident::Column::Id.count(), "count")
            .group_by(incident::Column::Status)
            .group_by(incident::Column::Severity)
            .into_tuple()
            .all(&self.db)
            .await?)
    }
}

/// `%`, `_` and the escape itself are literal in a user's search text.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
