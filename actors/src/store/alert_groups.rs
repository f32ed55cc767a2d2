//! Where each group of alerts went: the lookups that decide whether a
//! delivery joins an open incident, folds into a storm's first incident,
//! opens a new one or is only recorded.

use super::entity::{alert_group, incident};
use super::incidents::Change;
use super::{Store, StoreError};
use crate::incident::{DomainEvent, IncidentId, Status};
use chrono::{DateTime, Utc};
use firebreak_adapters::alerts::AlertStatus;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::BTreeMap;

/// The incident id of a group recorded without one.
const RECORDED_ONLY: i64 = 0;

/// What the store knows of a group key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupIncidents {
    /// The incident the group belongs to while it is open.
    pub open: Option<IncidentId>,
    /// The latest closed (or declined) incident the group opened or joined.
    pub closed: Option<IncidentId>,
}

/// A group to write: one per group key and incident.
struct GroupRow {
    storm_key: Option<String>,
    status: AlertStatus,
    alerts: i32,
    at: DateTime<Utc>,
}

impl Store {
    /// The incidents group `group_key` of `source` belongs to.
    pub async fn alert_group_incidents(
        &self,
        source: &str,
        group_key: &str,
    ) -> Result<GroupIncidents, StoreError> {
        let ids: Vec<i64> = alert_group::Entity::find()
            .select_only()
            .column(alert_group::Column::IncidentId)
            .filter(alert_group::Column::Source.eq(source))
            .filter(alert_group::Column::GroupKey.eq(group_key))
            .filter(alert_group::Column::IncidentId.ne(RECORDED_ONLY))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut found = GroupIncidents::default();
        if ids.is_empty() {
            return Ok(found);
        }
        let incidents: Vec<(i64, String)> = incident::Entity::find()
            .select_only()
            .column(incident::Column::Id)
            .column(incident::Column::Status)
            .filter(incident::Column::Id.is_in(ids))
            .order_by_desc(incident::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        for (id, status) in incidents {
            let slot = if is_open(&status) {
                &mut found.open
            } else {
                &mut found.closed
            };
            slot.get_or_insert(IncidentId(id));
        }
        Ok(found)
    }

    /// The open incident first opened, since `since`, by alerts whose
    /// storm labels read `storm_key`: where a new group of the same storm
    /// belongs.
    pub async fn storm_incident(
        &self,
        storm_key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<IncidentId>, StoreError> {
        let ids: Vec<i64> = alert_group::Entity::find()
            .select_only()
            .column(alert_group::Column::IncidentId)
            .filter(alert_group::Column::StormKey.eq(storm_key))
            .filter(alert_group::Column::IncidentId.ne(RECORDED_ONLY))
            .filter(alert_group::Column::FirstSeen.gte(since))
            .into_tuple()
            .all(&self.db)
            .await?;
        if ids.is_empty() {
            return Ok(None);
        }
        let first: Option<i64> = incident::Entity::find()
            .select_only()
            .column(incident::Column::Id)
            .filter(incident::Column::Id.is_in(ids))
            .filter(
                incident::Column::Status
                    .is_not_in([Status::Closed.as_str(), Status::Declined.as_str()]),
            )
            .filter(incident::Column::DeclaredAt.gte(since))
            .order_by_asc(incident::Column::Id)
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(first.map(IncidentId))
    }

    /// Records a group that opened nothing and found no incident.
    pub async fn record_alert_group(
        &self,
        source: &str,
        group_key: &str,
        status: AlertStatus,
        alerts: usize,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = GroupRow {
            storm_key: None,
            status,
            alerts: i32::try_from(alerts).unwrap_or(i32::MAX),
            at,
        };
        upsert(
            &self.writer,
            vec![(
                (source.to_owned(), group_key.to_owned(), RECORDED_ONLY),
                row,
            )],
        )
        .await
    }

    /// Groups seen without an incident, latest first, at most `limit`.
    pub async fn recorded_alert_groups(
        &self,
        limit: u64,
    ) -> Result<Vec<RecordedGroup>, StoreError> {
        let rows = alert_group::Entity::find()
            .filter(alert_group::Column::IncidentId.eq(RECORDED_ONLY))
            .order_by_desc(alert_group::Column::LastSeen)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| RecordedGroup {
                source: row.source,
                group_key: row.group_key,
                status: row.status,
                alerts: row.alerts,
                first_seen: row.first_seen,
                last_seen: row.last_seen,
            })
            .collect())
    }
}

/// A group recorded without an incident, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedGroup {
    pub source: String,
    pub group_key: String,
    pub status: String,
    pub alerts: i32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

fn is_open(status: &str) -> bool {
    status != Status::Closed.as_str() && status != Status::Declined.as_str()
}

/// Writes the groups the changes' `AlertsReceived` events name, in the
/// changes' transaction, so a group points at its incident exactly when
/// the incident holds its alerts.
pub(super) async fn write_groups(
    txn: &impl ConnectionTrait,
    changes: &[&Change],
) -> Result<(), StoreError> {
    let mut rows: BTreeMap<(String, String, i64), GroupRow> = BTreeMap::new();
    for change in changes {
        for recorded in &change.events {
            let DomainEvent::AlertsReceived {
                source,
                group_key,
                storm_key,
                alerts,
                ..
            } = &recorded.event
            else {
                continue;
            };
            let status = if alerts.iter().any(|a| a.status == AlertStatus::Firing) {
                AlertStatus::Firing
            } else {
                AlertStatus::Resolved
            };
            let key = (source.clone(), group_key.clone(), change.after.id().0);
            // One row per key: PostgreSQL refuses an upsert touching a row
            // twice. The last delivery's state wins; the first keeps its
            // storm key.
            let row = rows.entry(key).or_insert(GroupRow {
                storm_key: storm_key.clone(),
                status,
                alerts: 0,
                at: recorded.at,
            });
            row.status = status;
            row.alerts = i32::try_from(alerts.len()).unwrap_or(i32::MAX);
        }
    }
    upsert(txn, rows.into_iter().collect()).await
}

async fn upsert(
    db: &impl ConnectionTrait,
    rows: Vec<((String, String, i64), GroupRow)>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let models =
        rows.into_iter().map(
            |((source, group_key, incident_id), row)| alert_group::ActiveModel {
                source: Set(source),
                group_key: Set(group_key),
                incident_id: Set(incident_id),
                storm_key: Set(row.storm_key),
                status: Set(row.status.as_str().to_owned()),
                alerts: Set(row.alerts),
                first_seen: Set(row.at),
                last_seen: Set(row.at),
            },
        );
    alert_group::Entity::insert_many(models)
        .on_conflict(
            OnConflict::columns([
                alert_group::Column::Source,
                alert_group::Column::GroupKey,
                alert_group::Column::IncidentId,
            ])
            .update_columns([
                alert_group::Column::Status,
                alert_group::Column::Alerts,
                alert_group::Column::LastSeen,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
