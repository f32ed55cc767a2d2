//! Writing incidents: the declaration, appended events, and rebuilding
//! an incident from its log.

use super::entity::{inbox, incident, incident_action, incident_event, incident_role, timer};
use super::{Store, StoreError};
use crate::incident::{DomainEvent, Incident, IncidentId, Status};
use chrono::{DateTime, Utc};
use firebreak_adapters::UserRef;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr, TransactionTrait,
};

/// An event as it is appended: what happened, who did it, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub event: DomainEvent,
    pub actor: Option<UserRef>,
    pub at: DateTime<Utc>,
}

/// A reminder of an incident and when it falls due, as the timers table
/// keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTimer {
    pub reminder: String,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    Appended,
    /// The inbox row these events came from was already applied (a replay
    /// after a crash): nothing was written.
    AlreadyApplied,
}

impl Store {
    /// Stores a new incident from its `Declared` event and returns its
    /// state, with the id the database gave it; `None` when `origin`, the
    /// inbox row it came from, was already applied.
    pub async fn create_incident(
        &self,
        declared: &RecordedEvent,
        origin: Option<i64>,
    ) -> Result<Option<Incident>, StoreError> {
        let txn = self.db.begin().await?;
        if let Some(inbox_id) = origin {
            if !claim_inbox_row(&txn, inbox_id, declared.at).await? {
                return Ok(None);
            }
        }
        // The id comes from the database, so the row goes in first with the
        // state built under a placeholder id, then the real state is built.
        let draft = Incident::from_declared(IncidentId(0), &declared.event, declared.at)
            .ok_or_else(|| StoreError::Corrupt("create_incident needs a Declared event".into()))?;
        let mut row = projection(&draft);
        row.id = sea_orm::ActiveValue::NotSet;
        let inserted = row.insert(&txn).await?;
        let id = IncidentId(inserted.id);
        let incident = Incident::from_declared(id, &declared.event, declared.at)
            .ok_or_else(|| StoreError::Corrupt("create_incident needs a Declared event".into()))?;
        insert_event(&txn, id, 1, declared).await?;
        write_roles_and_actions(&txn, &incident).await?;
        txn.commit().await?;
        Ok(Some(incident))
    }

    /// Appends `events` (already applied to give `after`) and updates the
    /// projection in one transaction. With `origin`, the inbox row the
    /// events came from is marked processed in the same transaction, which
    /// is what makes an inbox event apply exactly once.
    /// Appends `events` and writes the state they lead to, `after`. With
    /// `before`, the state the last append left in the store, the role and
    /// action tables are rewritten only if those changed: most changes (a
    /// note, a status) touch neither, and each rewrite is two statements.
    pub async fn append(
        &self,
        before: Option<&Incident>,
        after: &Incident,
        events: &[RecordedEvent],
        origin: Option<i64>,
        timers: &[PendingTimer],
    ) -> Result<AppendOutcome, StoreError> {
        let txn = self.db.begin().await?;
        if let Some(inbox_id) = origin {
            let at = events.last().map(|event| event.at).unwrap_or_else(Utc::now);
            if !claim_inbox_row(&txn, inbox_id, at).await? {
                return Ok(AppendOutcome::AlreadyApplied);
            }
        }
        let count = events.len() as u64;
        let first_seq = after.version().saturating_sub(count) + 1;
        for (offset, event) in events.iter().enumerate() {
            insert_event(&txn, after.id(), first_seq + offset as u64, event).await?;
        }
        projection(after).update(&txn).await?;
        let unchanged = before.is_some_and(|before| {
            before.roles() == after.roles() && before.actions() == after.actions()
        });
        if !unchanged {
            write_roles_and_actions(&txn, after).await?;
        }
        write_timers(&txn, after.id(), timers).await?;
        txn.commit().await?;
        Ok(AppendOutcome::Appended)
    }

    /// Replaces an incident's pending timers (at an actor's start, when
    /// the policy may have changed since they were written).
    pub async fn replace_timers(
        &self,
        id: IncidentId,
        timers: &[PendingTimer],
    ) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        write_timers(&txn, id, timers).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Every pending timer, soonest first.
    pub async fn pending_timers(&self) -> Result<Vec<(IncidentId, PendingTimer)>, StoreError> {
        let rows = timer::Entity::find()
            .order_by_asc(timer::Column::DueAt)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                (
                    IncidentId(row.incident_id),
                    PendingTimer {
                        reminder: row.reminder,
                        due_at: row.due_at,
                    },
                )
            })
            .collect())
    }

    /// Rebuilds an incident by replaying its event log.
    pub async fn load_incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        let rows = incident_event::Entity::find()
            .filter(incident_event::Column::IncidentId.eq(id.0))
            .order_by_asc(incident_event::Column::Seq)
            .all(&self.db)
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            events.push((decode_event(&row)?, row.occurred_at));
        }
        Incident::replay(id, events)
            .map(Some)
            .map_err(|error| StoreError::Corrupt(format!("{id}: {error}")))
    }

    /// Every open incident rebuilt from its events, oldest first: what the
    /// supervisor brings back to life at start-up. The events are read a
    /// few hundred incidents per query, not one query per incident, so
    /// start-up with 100,000 open incidents is not 100,000 round trips.
    /// An open incident with no events is reported and skipped.
    pub async fn load_open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        const PER_QUERY: usize = 500;
        let ids = self.open_incident_ids().await?;
        let mut incidents = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(PER_QUERY) {
            let rows = incident_event::Entity::find()
                .filter(incident_event::Column::IncidentId.is_in(chunk.iter().map(|id| id.0)))
                .order_by_asc(incident_event::Column::IncidentId)
                .order_by_asc(incident_event::Column::Seq)
                .all(&self.db)
                .await?;
            let mut found = std::collections::HashSet::new();
            for group in rows.chunk_by(|a, b| a.incident_id == b.incident_id) {
                let id = IncidentId(group[0].incident_id);
                let mut events = Vec::with_capacity(group.len());
                for row in group {
                    events.push((decode_event(row)?, row.occurred_at));
                }
                let incident = Incident::replay(id, events)
                    .map_err(|error| StoreError::Corrupt(format!("{id}: {error}")))?;
                found.insert(id);
                incidents.push(incident);
            }
            for id in chunk.iter().filter(|id| !found.contains(id)) {
                tracing::warn!(incident = %id, "open incident has no events");
            }
        }
        Ok(incidents)
    }

    /// Every incident that is not closed or declined, oldest first: what
    /// the supervisor brings back to life at start-up.
    pub async fn open_incident_ids(&self) -> Result<Vec<IncidentId>, StoreError> {
        let ids: Vec<i64> = incident::Entity::find()
            .select_only()
            .column(incident::Column::Id)
            .filter(
                incident::Column::Status
                    .is_not_in([Status::Closed.as_str(), Status::Declined.as_str()]),
            )
            .order_by_asc(incident::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(ids.into_iter().map(IncidentId).collect())
    }
}

pub(super) fn decode_event(row: &incident_event::Model) -> Result<DomainEvent, StoreError> {
    serde_json::from_str(&row.payload).map_err(|error| {
        StoreError::Corrupt(format!(
            "event {} of INC-{} ({}): {error}",
            row.seq, row.incident_id, row.kind
        ))
    })
}

/// Marks an inbox row processed if nobody has; false if it already was.
async fn claim_inbox_row(
    txn: &DatabaseTransaction,
    inbox_id: i64,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let result = inbox::Entity::update_many()
        .col_expr(inbox::Column::ProcessedAt, Expr::value(at))
        .filter(inbox::Column::Id.eq(inbox_id))
        .filter(inbox::Column::ProcessedAt.is_null())
        .exec(txn)
        .await?;
    Ok(result.rows_affected == 1)
}

async fn insert_event(
    txn: &DatabaseTransaction,
    id: IncidentId,
    seq: u64,
    recorded: &RecordedEvent,
) -> Result<(), StoreError> {
    let payload = serde_json::to_string(&recorded.event)
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
    let row = incident_event::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        incident_id: Set(id.0),
        seq: Set(seq as i64),
        kind: Set(recorded.event.kind().to_owned()),
        payload: Set(payload),
        actor_platform: Set(recorded
            .actor
            .as_ref()
            .map(|user| user.platform.to_string())),
        actor_id: Set(recorded.actor.as_ref().map(|user| user.id.clone())),
        actor_name: Set(recorded.actor.as_ref().and_then(|user| user.name.clone())),
        occurred_at: Set(recorded.at),
    };
    match incident_event::Entity::insert(row).exec(txn).await {
        Ok(_) => Ok(()),
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(StoreError::Conflict(id.0))
        }
        Err(error) => Err(error.into()),
    }
}

async fn write_timers(
    txn: &impl ConnectionTrait,
    id: IncidentId,
    timers: &[PendingTimer],
) -> Result<(), StoreError> {
    timer::Entity::delete_many()
        .filter(timer::Column::IncidentId.eq(id.0))
        .exec(txn)
        .await?;
    let rows: Vec<_> = timers
        .iter()
        .map(|pending| timer::ActiveModel {
            incident_id: Set(id.0),
            reminder: Set(pending.reminder.clone()),
            due_at: Set(pending.due_at),
        })
        .collect();
    if !rows.is_empty() {
        timer::Entity::insert_many(rows).exec(txn).await?;
    }
    Ok(())
}

/// Roles and actions are small; rewriting them keeps the projection an
/// exact image of the state with no diffing logic to get wrong.
async fn write_roles_and_actions(
    txn: &impl ConnectionTrait,
    incident: &Incident,
) -> Result<(), StoreError> {
    let id = incident.id().0;
    incident_role::Entity::delete_many()
        .filter(incident_role::Column::IncidentId.eq(id))
        .exec(txn)
        .await?;
    let roles: Vec<_> = incident
        .roles()
        .iter()
        .map(|(role, user)| incident_role::ActiveModel {
            incident_id: Set(id),
            role: Set(role.to_string()),
            user_platform: Set(user.platform.to_string()),
            user_id: Set(user.id.clone()),
            user_name: Set(user.name.clone()),
        })
        .collect();
    if !roles.is_empty() {
        incident_role::Entity::insert_many(roles).exec(txn).await?;
    }
    incident_action::Entity::delete_many()
        .filter(incident_action::Column::IncidentId.eq(id))
        .exec(txn)
        .await?;
    let actions: Vec<_> = incident
        .actions()
        .iter()
        .map(|action| incident_action::ActiveModel {
            incident_id: Set(id),
            number: Set(action.number as i32),
            text: Set(action.text.clone()),
            created_at: Set(action.created_at),
            done_at: Set(action.done_at),
        })
        .collect();
    if !actions.is_empty() {
        incident_action::Entity::insert_many(actions)
            .exec(txn)
            .await?;
    }
    Ok(())
}

fn projection(incident: &Incident) -> incident::ActiveModel {
    let lead = incident.lead();
    let announcement = incident.announcement();
    incident::ActiveModel {
        id: Set(incident.id().0),
        title: Set(incident.title().to_owned()),
        summary: Set(incident.summary().map(str::to_owned)),
        impact: Set(incident.impact().map(str::to_owned)),
        status: Set(incident.status().as_str().to_owned()),
        severity: Set(i16::from(incident.severity().level())),
        platform: Set(incident.platform().to_string()),
        private: Set(incident.is_private()),
        report_only: Set(incident.is_report_only()),
        reporter_platform: Set(incident.reporter().platform.to_string()),
        reporter_id: Set(incident.reporter().id.clone()),
        reporter_name: Set(incident.reporter().name.clone()),
        lead_platform: Set(lead.map(|user| user.platform.to_string())),
        lead_id: Set(lead.map(|user| user.id.clone())),
        lead_name: Set(lead.and_then(|user| user.name.clone())),
        conversation_id: Set(incident
            .conversation()
            .map(|conversation| conversation.id.clone())),
        announcement_conversation_id: Set(
            announcement.map(|message| message.conversation.id.clone())
        ),
        announcement_message_id: Set(announcement.map(|message| message.id.clone())),
        started_at: Set(incident.started_at()),
        declared_at: Set(incident.declared_at()),
        acknowledged_at: Set(incident.acknowledged_at()),
        mitigated_at: Set(incident.mitigated_at()),
        resolved_at: Set(incident.resolved_at()),
        closed_at: Set(incident.closed_at()),
        updated_at: Set(incident.updated_at()),
        version: Set(incident.version() as i64),
        labels: Set((!incident.labels().is_empty())
            .then(|| serde_json::to_string(incident.labels()).unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Severity, Status};
    use firebreak_adapters::{Platform, UserRef};

    use crate::store::temporary_store;

    fn declared(title: &str, labels: std::collections::BTreeMap<String, String>) -> RecordedEvent {
        RecordedEvent {
            event: DomainEvent::Declared {
                title: title.into(),
                severity: Severity::new(2).expect("severity"),
                summary: None,
                impact: None,
                reporter: UserRef::new(Platform::Api, "api"),
                lead: None,
                platform: Platform::Api,
                private: false,
                report: None,
                labels,
            },
            actor: None,
            at: Utc::now(),
        }
    }

    async fn change_status(store: &Store, incident: &Incident, to: Status) -> Incident {
        let change = DomainEvent::StatusChanged {
            from: incident.status(),
            to,
        };
        record(store, incident, change).await
    }

    async fn record(store: &Store, incident: &Incident, change: DomainEvent) -> Incident {
        let mut next = incident.clone();
        next.apply(&change, Utc::now());
        let recorded = RecordedEvent {
            event: change,
            actor: None,
            at: Utc::now(),
        };
        store
            .append(Some(incident), &next, &[recorded], None, &[])
            .await
            .expect("appended");
        next
    }

    #[tokio::test]
    async fn open_incidents_load_in_batches_exactly_as_one_by_one() {
        let (store, path) = temporary_store("open").await;
        let mut created = Vec::new();
        for n in 0..3 {
            let incident = store
                .create_incident(
                    &declared(&format!("Incident {n}"), Default::default()),
                    None,
                )
                .await
                .expect("created")
                .expect("new");
            created.push(incident);
        }
        change_status(&store, &created[1], Status::Investigating).await;
        change_status(&store, &created[2], Status::Declined).await;

        let open = store.load_open_incidents().await.expect("loaded");
        let ids: Vec<IncidentId> = open.iter().map(Incident::id).collect();
        assert_eq!(
            ids,
            vec![created[0].id(), created[1].id()],
            "declined is not open"
        );
        for incident in &open {
            let alone = store
                .load_incident(incident.id())
                .await
                .expect("load")
                .expect("found");
            assert_eq!(incident.status(), alone.status());
            assert_eq!(incident.title(), alone.title());
        }
        assert_eq!(open[1].status(), Status::Investigating);
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn actions_are_written_when_they_change_and_kept_when_they_do_not() {
        let (store, path) = temporary_store("actions").await;
        let incident = store
            .create_incident(&declared("Checkout", Default::default()), None)
            .await
            .expect("created")
            .expect("new");
        let added = DomainEvent::ActionAdded {
            number: 1,
            text: "Add an alert".into(),
        };
        let with_action = record(&store, &incident, added).await;
        let actions = store.incident_actions(incident.id()).await.expect("read");
        assert_eq!(actions.len(), 1, "a new action is written");
        // A change that touches no action leaves the stored ones alone.
        change_status(&store, &with_action, Status::Investigating).await;
        let actions = store.incident_actions(incident.id()).await.expect("read");
        assert_eq!(actions.len(), 1, "still there after an unrelated change");
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn labels_survive_every_write_of_the_projection() {
        let (store, path) = temporary_store("labels").await;
        let labels =
            std::collections::BTreeMap::from([("service".to_owned(), "payments".to_owned())]);
        let declared = declared("Checkout", labels.clone());
        let incident = store
            .create_incident(&declared, None)
            .await
            .expect("created")
            .expect("new");
        assert_eq!(incident.labels(), &labels);
        let loaded = store
            .load_incident(incident.id())
            .await
            .expect("load")
            .expect("found");
        assert_eq!(loaded.labels(), &labels, "replayed from the log");
        change_status(&store, &loaded, Status::Investigating).await;
        let row = store
            .get_incident(incident.id())
            .await
            .expect("read")
            .expect("row");
        assert_eq!(row.labels.as_deref(), Some(r#"{"service":"payments"}"#));
        let _ = std::fs::remove_file(path);
    }
}
