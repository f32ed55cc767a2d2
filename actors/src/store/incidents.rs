//! Writing incidents: the declaration, appended events, and rebuilding
//! an incident from its log.

use super::entity::{inbox, incident, incident_action, incident_event, incident_role, timer};
use super::{Store, StoreError};
use crate::incident::{DomainEvent, Incident, IncidentId, Status};
use chrono::{DateTime, Utc};
use firebreak_adapters::UserRef;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Iterable,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr, TransactionTrait,
};
use std::collections::HashSet;

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

/// One change of an incident, as [`Store::append`] writes it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The state the events lead to.
    pub after: Incident,
    pub events: Vec<RecordedEvent>,
    /// The inbox rows this change carries out: all are claimed, or nothing
    /// of the change is written.
    pub origins: Vec<i64>,
    /// Who spoke in the incident's conversation, once per message.
    pub speakers: Vec<UserRef>,
    /// The pending timers of `after`, when they differ from those stored.
    pub timers: Option<Vec<PendingTimer>>,
    /// Whether roles or actions changed, so their tables are rewritten.
    pub roles_changed: bool,
}

impl Change {
    /// `events` that led from `before` to `after`, with nothing else.
    pub fn new(before: &Incident, after: Incident, events: Vec<RecordedEvent>) -> Self {
        let roles_changed = before.roles() != after.roles() || before.actions() != after.actions();
        Self {
            after,
            events,
            origins: Vec::new(),
            speakers: Vec::new(),
            timers: None,
            roles_changed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOutcome {
    Appended,
    /// The inbox row these events came from was already applied (a replay
    /// after a crash): nothing was written.
    AlreadyApplied,
}

impl Store {
    /// Stores a new incident from its `Declared` event, with the pending
    /// timers `timers` gives its state, and returns the state, with the id
    /// the database gave it; `None` when `origin`, the inbox row it came
    /// from, was already applied.
    pub async fn create_incident(
        &self,
        declared: &RecordedEvent,
        origin: Option<i64>,
        timers: impl FnOnce(&Incident) -> Vec<PendingTimer>,
    ) -> Result<Option<Incident>, StoreError> {
        self.create_incident_with(declared, &[], origin, timers)
            .await
    }

    /// [`Store::create_incident`], with `then`, events that follow the
    /// declaration at once (the alerts that opened it), in the same
    /// transaction.
    pub async fn create_incident_with(
        &self,
        declared: &RecordedEvent,
        then: &[RecordedEvent],
        origin: Option<i64>,
        timers: impl FnOnce(&Incident) -> Vec<PendingTimer>,
    ) -> Result<Option<Incident>, StoreError> {
        let txn = self.writer.begin().await?;
        if let Some(inbox_id) = origin {
            if claim_inbox_rows(&txn, &[inbox_id], declared.at)
                .await?
                .is_empty()
            {
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
        let mut incident = Incident::from_declared(id, &declared.event, declared.at)
            .ok_or_else(|| StoreError::Corrupt("create_incident needs a Declared event".into()))?;
        for recorded in then {
            incident.apply(&recorded.event, recorded.at);
        }
        let change = Change {
            events: std::iter::once(declared).chain(then).cloned().collect(),
            timers: Some(timers(&incident)),
            ..Change::new(&draft, incident, Vec::new())
        };
        insert_events(&txn, &[&change]).await?;
        if !then.is_empty() {
            write_projections(&txn, &[&change]).await?;
        }
        write_roles_and_actions(&txn, &[&change.after]).await?;
        if let Some(timers) = &change.timers {
            write_timers(&txn, &[(id, timers)]).await?;
        }
        super::alert_groups::write_groups(&txn, &[&change]).await?;
        txn.commit().await?;
        Ok(Some(change.after))
    }

    /// Writes one change of an incident in one transaction: its events
    /// (already applied to give `after`), the projection, the pending
    /// timers, the inbox rows it carries out and the messages it counts.
    /// Claiming the inbox rows here, with the events, is what makes an
    /// inbox event apply exactly once: if any of them was already applied,
    /// nothing is written.
    ///
    /// Fails with [`StoreError::Conflict`] when another writer appended to
    /// the incident first.
    pub async fn append(&self, change: &Change) -> Result<AppendOutcome, StoreError> {
        let outcomes = self.append_many(std::slice::from_ref(change)).await?;
        Ok(outcomes
            .into_iter()
            .next()
            .unwrap_or(AppendOutcome::AlreadyApplied))
    }

    /// Writes changes of different incidents in one transaction, a few
    /// statements for all of them (see [`Store::append`] for one). A change
    /// whose inbox rows were already applied is left out and answered
    /// [`AppendOutcome::AlreadyApplied`]; any error fails them all, and
    /// with several changes a [`StoreError::Conflict`] does not say which.
    pub async fn append_many(&self, changes: &[Change]) -> Result<Vec<AppendOutcome>, StoreError> {
        let txn = self.writer.begin().await?;
        let mut outcomes = vec![AppendOutcome::Appended; changes.len()];
        let origins: Vec<i64> = changes
            .iter()
            .flat_map(|c| c.origins.iter().copied())
            .collect();
        if !origins.is_empty() {
            let claimed = claim_inbox_rows(&txn, &origins, Utc::now()).await?;
            let mut unclaim: Vec<i64> = Vec::new();
            for (change, outcome) in changes.iter().zip(outcomes.iter_mut()) {
                if !change.origins.iter().all(|id| claimed.contains(id)) {
                    *outcome = AppendOutcome::AlreadyApplied;
                    unclaim.extend(change.origins.iter().filter(|id| claimed.contains(id)));
                }
            }
            if !unclaim.is_empty() {
                // Rows of a change that is left out stay for it to claim.
                inbox::Entity::update_many()
                    .col_expr(
                        inbox::Column::ProcessedAt,
                        Expr::value(Option::<DateTime<Utc>>::None),
                    )
                    .filter(inbox::Column::Id.is_in(unclaim))
                    .exec(&txn)
                    .await?;
            }
        }
        let written: Vec<&Change> = changes
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| **outcome == AppendOutcome::Appended)
            .map(|(change, _)| change)
            .collect();
        let changed: Vec<&Change> = written
            .iter()
            .copied()
            .filter(|change| !change.events.is_empty())
            .collect();
        insert_events(&txn, &changed).await?;
        write_projections(&txn, &changed).await?;
        let rewritten: Vec<&Incident> = changed
            .iter()
            .filter(|change| change.roles_changed)
            .map(|change| &change.after)
            .collect();
        write_roles_and_actions(&txn, &rewritten).await?;
        let timers: Vec<(IncidentId, &[PendingTimer])> = changed
            .iter()
            .filter_map(|change| Some((change.after.id(), change.timers.as_deref()?)))
            .collect();
        write_timers(&txn, &timers).await?;
        let speakers: Vec<(IncidentId, &UserRef)> = written
            .iter()
            .flat_map(|change| change.speakers.iter().map(|user| (change.after.id(), user)))
            .collect();
        super::participants::count_messages(&txn, &speakers).await?;
        super::alert_groups::write_groups(&txn, &changed).await?;
        txn.commit().await?;
        Ok(outcomes)
    }

    /// Replaces an incident's pending timers (at an actor's start, when
    /// the policy may have changed since they were written).
    pub async fn replace_timers(
        &self,
        id: IncidentId,
        timers: &[PendingTimer],
    ) -> Result<(), StoreError> {
        let txn = self.writer.begin().await?;
        write_timers(&txn, &[(id, timers)]).await?;
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
/// Marks the inbox rows processed and answers those it marked: a row
/// missing from the answer was processed already.
async fn claim_inbox_rows(
    txn: &DatabaseTransaction,
    ids: &[i64],
    at: DateTime<Utc>,
) -> Result<HashSet<i64>, StoreError> {
    let update = Query::update()
        .table(inbox::Entity)
        .value(inbox::Column::ProcessedAt, at)
        .and_where(inbox::Column::Id.is_in(ids.iter().copied()))
        .and_where(inbox::Column::ProcessedAt.is_null())
        .returning_col(inbox::Column::Id)
        .to_owned();
    let rows = txn
        .query_all(txn.get_database_backend().build(&update))
        .await?;
    rows.iter()
        .map(|row| row.try_get::<i64>("", "id").map_err(StoreError::from))
        .collect()
}

/// Inserts the changes' events, each change's numbered on from the
/// version before it, in one statement. A number already taken means
/// another writer got there first.
async fn insert_events(txn: &DatabaseTransaction, changes: &[&Change]) -> Result<(), StoreError> {
    let mut rows = Vec::new();
    for change in changes {
        let id = change.after.id();
        let first_seq = change
            .after
            .version()
            .saturating_sub(change.events.len() as u64)
            + 1;
        for (offset, recorded) in change.events.iter().enumerate() {
            let payload = serde_json::to_string(&recorded.event)
                .map_err(|error| StoreError::Corrupt(error.to_string()))?;
            rows.push(incident_event::ActiveModel {
                id: sea_orm::ActiveValue::NotSet,
                incident_id: Set(id.0),
                seq: Set((first_seq + offset as u64) as i64),
                kind: Set(recorded.event.kind().to_owned()),
                payload: Set(payload),
                actor_platform: Set(recorded
                    .actor
                    .as_ref()
                    .map(|user| user.platform.to_string())),
                actor_id: Set(recorded.actor.as_ref().map(|user| user.id.clone())),
                actor_name: Set(recorded.actor.as_ref().and_then(|user| user.name.clone())),
                occurred_at: Set(recorded.at),
            });
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    match incident_event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(StoreError::Conflict(changes[0].after.id().0))
        }
        Err(error) => Err(error.into()),
    }
}

/// Brings the incidents' rows in line with their new state, in one
/// statement.
async fn write_projections(
    txn: &DatabaseTransaction,
    changes: &[&Change],
) -> Result<(), StoreError> {
    let rows: Vec<incident::ActiveModel> = changes
        .iter()
        .map(|change| projection(&change.after))
        .collect();
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let columns: Vec<incident::Column> = incident::Column::iter()
        .filter(|column| !matches!(column, incident::Column::Id) && first.get(*column).is_set())
        .collect();
    incident::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(incident::Column::Id)
                .update_columns(columns)
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

async fn write_timers(
    txn: &impl ConnectionTrait,
    timers: &[(IncidentId, &[PendingTimer])],
) -> Result<(), StoreError> {
    if timers.is_empty() {
        return Ok(());
    }
    timer::Entity::delete_many()
        .filter(timer::Column::IncidentId.is_in(timers.iter().map(|(id, _)| id.0)))
        .exec(txn)
        .await?;
    let rows: Vec<_> = timers
        .iter()
        .flat_map(|(id, pending)| {
            pending.iter().map(move |pending| timer::ActiveModel {
                incident_id: Set(id.0),
                reminder: Set(pending.reminder.clone()),
                due_at: Set(pending.due_at),
            })
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
    incidents: &[&Incident],
) -> Result<(), StoreError> {
    if incidents.is_empty() {
        return Ok(());
    }
    let ids = || incidents.iter().map(|incident| incident.id().0);
    incident_role::Entity::delete_many()
        .filter(incident_role::Column::IncidentId.is_in(ids()))
        .exec(txn)
        .await?;
    let roles: Vec<_> = incidents
        .iter()
        .flat_map(|incident| {
            let id = incident.id().0;
            incident
                .roles()
                .iter()
                .map(move |(role, user)| incident_role::ActiveModel {
                    incident_id: Set(id),
                    role: Set(role.to_string()),
                    user_platform: Set(user.platform.to_string()),
                    user_id: Set(user.id.clone()),
                    user_name: Set(user.name.clone()),
                })
        })
        .collect();
    if !roles.is_empty() {
        incident_role::Entity::insert_many(roles).exec(txn).await?;
    }
    incident_action::Entity::delete_many()
        .filter(incident_action::Column::IncidentId.is_in(ids()))
        .exec(txn)
        .await?;
    let actions: Vec<_> = incidents
        .iter()
        .flat_map(|incident| {
            let id = incident.id().0;
            incident
                .actions()
                .iter()
                .map(move |action| incident_action::ActiveModel {
                    incident_id: Set(id),
                    number: Set(action.number as i32),
                    text: Set(action.text.clone()),
                    created_at: Set(action.created_at),
                    done_at: Set(action.done_at),
                })
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
    use crate::incident::Status;
    use firebreak_adapters::{Platform, UserRef};

    use crate::store::{declared, noted, temporary_store};

    async fn inbox_row(store: &Store, event_id: &str) -> i64 {
        match store
            .inbox_insert(Platform::Memory, event_id, "{}", Utc::now())
            .await
            .expect("insert")
        {
            crate::store::InboxInsert::Inserted(id) => id,
            crate::store::InboxInsert::Duplicate => panic!("{event_id} is new"),
        }
    }

    #[tokio::test]
    async fn changes_of_several_incidents_are_written_together_and_one_already_applied_is_left_out()
    {
        let (store, path) = temporary_store("append-many").await;
        let none = |_: &Incident| Vec::new();
        let a = store
            .create_incident(&declared("A", Default::default()), None, none)
            .await
            .expect("create")
            .expect("new");
        let b = store
            .create_incident(&declared("B", Default::default()), None, none)
            .await
            .expect("create")
            .expect("new");
        let (first, second, replayed) = (
            inbox_row(&store, "e1").await,
            inbox_row(&store, "e2").await,
            inbox_row(&store, "e3").await,
        );
        store
            .inbox_mark_processed(&[replayed], Utc::now())
            .await
            .expect("mark");
        let ana = UserRef::new(Platform::Memory, "ana");
        let bo = UserRef::new(Platform::Memory, "bo");

        let mut to_a = noted(&a, "from a", Some(&ana));
        to_a.origins = vec![first];
        to_a.speakers = vec![ana.clone(), bo.clone(), ana.clone()];
        let mut to_b = noted(&b, "from b", Some(&bo));
        to_b.origins = vec![second, replayed];
        let outcomes = store.append_many(&[to_a, to_b]).await.expect("written");

        assert_eq!(
            outcomes,
            [AppendOutcome::Appended, AppendOutcome::AlreadyApplied]
        );
        let stored_a = store.load_incident(a.id()).await.expect("load").expect("a");
        assert_eq!(stored_a.version(), 2, "a's note is stored");
        let stored_b = store.load_incident(b.id()).await.expect("load").expect("b");
        assert_eq!(stored_b.version(), 1, "nothing of b's change is");
        let pending: Vec<i64> = store
            .inbox_pending(10, Utc::now())
            .await
            .expect("pending")
            .iter()
            .map(|row| row.id)
            .collect();
        assert_eq!(pending, [second], "b's other row waits to be claimed again");
        let spoke: Vec<(String, i64)> = store
            .participants(a.id())
            .await
            .expect("participants")
            .into_iter()
            .map(|p| (p.user.id, p.messages))
            .collect();
        assert_eq!(spoke, [("ana".to_owned(), 2), ("bo".to_owned(), 1)]);

        // Counted again later, the counts add up.
        let mut again = noted(&stored_a, "later", Some(&ana));
        again.speakers = vec![bo.clone()];
        store.append(&again).await.expect("append");
        let bo_count = store
            .participants(a.id())
            .await
            .expect("participants")
            .into_iter()
            .find(|p| p.user.id == "bo")
            .map(|p| p.messages);
        assert_eq!(bo_count, Some(2));
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_change_decided_on_a_stale_state_is_a_conflict_and_writes_nothing() {
        let (store, path) = temporary_store("append-stale").await;
        let a = store
            .create_incident(&declared("A", Default::default()), None, |_| Vec::new())
            .await
            .expect("create")
            .expect("new");
        let ana = UserRef::new(Platform::Memory, "ana");
        store
            .append(&noted(&a, "first", Some(&ana)))
            .await
            .expect("append");
        // Decided on the state before "first": its number is taken.
        let stale = noted(&a, "stale", Some(&ana));
        let error = store.append(&stale).await.expect_err("stale");
        assert!(
            matches!(error, StoreError::Conflict(id) if id == a.id().0),
            "{error}"
        );
        let stored = store.load_incident(a.id()).await.expect("load").expect("a");
        assert_eq!(stored.version(), 2);
        let _ = std::fs::remove_file(path);
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
            .append(&Change::new(incident, next.clone(), vec![recorded]))
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
                    |_| Vec::new(),
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
            .create_incident(&declared("Checkout", Default::default()), None, |_| {
                Vec::new()
            })
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
            .create_incident(&declared, None, |_| Vec::new())
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
