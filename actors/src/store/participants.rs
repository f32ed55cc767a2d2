//! How many messages each person posted in an incident's conversation.

use super::entity::incident_participant as participant;
use super::{Store, StoreError};
use crate::incident::IncidentId;
use firebreak_adapters::UserRef;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

/// Someone who spoke in the conversation, and how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub user: UserRef,
    pub messages: i64,
}

impl Store {
    /// Everyone who spoke, the most talkative first.
    pub async fn participants(&self, id: IncidentId) -> Result<Vec<Participant>, StoreError> {
        let rows = participant::Entity::find()
            .filter(participant::Column::IncidentId.eq(id.0))
            .order_by_desc(participant::Column::Messages)
            .order_by_asc(participant::Column::UserId)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let platform = row
                    .platform
                    .parse()
                    .unwrap_or(firebreak_adapters::Platform::Api);
                let mut user = UserRef::new(platform, row.user_id);
                user.name = row.name;
                Participant {
                    user,
                    messages: row.messages,
                }
            })
            .collect())
    }
}

/// Counts messages in incidents' conversations, one per entry of
/// `speakers`, in one statement.
pub(super) async fn count_messages(
    db: &impl ConnectionTrait,
    speakers: &[(IncidentId, &UserRef)],
) -> Result<(), StoreError> {
    // One row per person: PostgreSQL refuses an upsert that touches the
    // same row twice.
    let mut counts: Vec<(IncidentId, &UserRef, i64)> = Vec::new();
    for (incident, speaker) in speakers {
        match counts.iter_mut().find(|(id, user, _)| {
            id == incident && user.platform == speaker.platform && user.id == speaker.id
        }) {
            Some((_, _, n)) => *n += 1,
            None => counts.push((*incident, speaker, 1)),
        }
    }
    if counts.is_empty() {
        return Ok(());
    }
    let rows = counts
        .into_iter()
        .map(|(id, user, n)| participant::ActiveModel {
            incident_id: Set(id.0),
            platform: Set(user.platform.to_string()),
            user_id: Set(user.id.clone()),
            name: Set(user.name.clone()),
            messages: Set(n),
        });
    participant::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                participant::Column::IncidentId,
                participant::Column::Platform,
                participant::Column::UserId,
            ])
            .value(
                participant::Column::Messages,
                Expr::col((participant::Entity, participant::Column::Messages))
                    .add(Expr::cust("excluded.messages")),
            )
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
