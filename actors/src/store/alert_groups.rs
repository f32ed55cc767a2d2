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
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
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
        let ids = self
            .group_incident_ids(
                Condition::all()
                    .add(alert_group::Column::Source.eq(source))
                    .add(alert_group::Column::GroupKey.eq(group_key)),
            )
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
        let ids = self
            .group_incident_ids(
                Condition::all()
                    .add(alert_group::Column::StormKey.eq(storm_key))
                    .add(alert_group::Column::FirstSeen.gte(since)),
            )
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

    /// The incidents of the groups `which` selects (recorded-only groups
    /// have none).
    async fn group_incident_ids(&self, which: Condition) -> Result<Vec<i64>, StoreError> {
        Ok(alert_group::Entity::find()
            .select_only()
            .column(alert_group::Column::IncidentId)
            .filter(which)
            .filter(alert_group::Column::IncidentId.ne(RECORDED_ONLY))
            .into_tuple()
            .all(&self.db)
            .await?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Incident;
    use crate::store::{declared, temporary_store, RecordedEvent};
    use firebreak_adapters::alerts::Alert;

    fn received(group_key: &str, storm_key: Option<&str>, status: AlertStatus) -> RecordedEvent {
        RecordedEvent {
            event: DomainEvent::AlertsReceived {
                source: "prod".into(),
                group_key: group_key.into(),
                group_labels: BTreeMap::new(),
                storm_key: storm_key.map(str::to_owned),
                alerts: vec![Alert {
                    fingerprint: format!("{group_key}-1"),
                    status,
                    labels: BTreeMap::new(),
                    annotations: BTreeMap::new(),
                    starts_at: None,
                    ends_at: None,
                    links: Vec::new(),
                }],
            },
            actor: None,
            at: Utc::now(),
        }
    }

    async fn opened_by(store: &Store, group_key: &str, storm_key: Option<&str>) -> Incident {
        store
            .create_incident_with(
                &declared(group_key, BTreeMap::new()),
                &[received(group_key, storm_key, AlertStatus::Firing)],
                None,
                |_| Vec::new(),
            )
            .await
            .expect("created")
            .expect("not a replay")
    }

    #[tokio::test]
    async fn a_group_finds_its_open_incident_and_after_closing_only_the_closed_one() {
        let (store, path) = temporary_store("alert-groups").await;
        let first = opened_by(&store, "g1", None).await;
        assert_eq!(
            first.alerts().firing(),
            1,
            "the alerts came with the declaration"
        );
        let found = store
            .alert_group_incidents("prod", "g1")
            .await
            .expect("read");
        assert_eq!(
            found,
            GroupIncidents {
                open: Some(first.id()),
                closed: None
            }
        );
        assert_eq!(
            store
                .alert_group_incidents("other", "g1")
                .await
                .expect("read"),
            GroupIncidents::default(),
            "groups are per source"
        );
        // The group fires again on the incident, then it closes.
        let event = DomainEvent::StatusChanged {
            from: crate::incident::Status::Triage,
            to: crate::incident::Status::Declined,
        };
        let mut after = first.clone();
        let again = received("g1", None, AlertStatus::Resolved);
        after.apply(&again.event, again.at);
        after.apply(&event, Utc::now());
        let change = Change::new(
            &first,
            after,
            vec![
                again,
                RecordedEvent {
                    event,
                    actor: None,
                    at: Utc::now(),
                },
            ],
        );
        store.append(&change).await.expect("appended");
        let found = store
            .alert_group_incidents("prod", "g1")
            .await
            .expect("read");
        assert_eq!(
            found,
            GroupIncidents {
                open: None,
                closed: Some(first.id())
            }
        );
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_storm_finds_the_first_open_incident_within_the_window() {
        let (store, path) = temporary_store("alert-storms").await;
        let before = Utc::now() - chrono::Duration::seconds(1);
        let first = opened_by(&store, "g1", Some("service=db")).await;
        opened_by(&store, "g2", Some("service=db")).await;
        opened_by(&store, "g3", Some("service=web")).await;
        assert_eq!(
            store
                .storm_incident("service=db", before)
                .await
                .expect("read"),
            Some(first.id())
        );
        assert_eq!(
            store
                .storm_incident("service=db", Utc::now() + chrono::Duration::seconds(1))
                .await
                .expect("read"),
            None,
            "outside the window"
        );
        assert_eq!(
            store
                .storm_incident("service=api", before)
                .await
                .expect("read"),
            None
        );
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn groups_without_an_incident_are_recorded_and_updated() {
        let (store, path) = temporary_store("alert-recorded").await;
        let at = Utc::now();
        store
            .record_alert_group("prod", "disk", AlertStatus::Firing, 2, at)
            .await
            .expect("recorded");
        store
            .record_alert_group("prod", "disk", AlertStatus::Resolved, 1, at)
            .await
            .expect("recorded again");
        let recorded = store.recorded_alert_groups(10).await.expect("read");
        assert_eq!(recorded.len(), 1);
        assert_eq!(
            (recorded[0].status.as_str(), recorded[0].alerts),
            ("resolved", 1)
        );
        assert_eq!(
            store
                .alert_group_incidents("prod", "disk")
                .await
                .expect("read"),
            GroupIncidents::default(),
            "a recorded group has no incident"
        );
        let _ = std::fs::remove_file(path);
    }
}
