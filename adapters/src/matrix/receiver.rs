//! [`Receiver`]: the `/sync` long-poll loop that brings Matrix events into
//! the durable inbox.
//!
//! Each batch's events and its `next_batch` token are handed to a
//! [`SyncStore`] together, which stores both in one transaction: after a
//! crash the next sync starts exactly after the last stored event, so no
//! command is missed or applied twice. A room whose timeline comes back
//! `limited` (more happened than one sync returns, e.g. after an outage)
//! is read back through `/messages` down to the previous token first.

use super::client::{MatrixClient, MatrixError};
use super::html;
use super::inbound::{self, Identity, StoredEvent};
use super::sync::{self, Invite, RoomTimeline};
use crate::message::Message;
use crate::retry::{RetryPolicy, Sleeper, TokioSleeper};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Where the events go, and where reading resumes.
#[async_trait]
pub trait SyncStore: Send + Sync {
    /// The `next_batch` of the last stored batch, if any.
    async fn position(&self) -> Result<Option<String>, String>;
    /// Stores `events` (in order) and `next_batch` atomically.
    async fn save(&self, events: &[StoredEvent], next_batch: &str) -> Result<(), String>;
}

/// Who may pull the bot into a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitePolicy {
    /// Entries are user ids (`@ana:example.org`) or server names
    /// (`example.org`). Empty: the bot's own server only.
    allowed: Vec<String>,
    own_server: String,
}

impl InvitePolicy {
    pub fn new(allowed: Vec<String>, bot_user_id: &str) -> Self {
        Self {
            allowed,
            own_server: server_of(bot_user_id).to_owned(),
        }
    }

    pub fn allows(&self, inviter: &str) -> bool {
        let server = server_of(inviter);
        if self.allowed.is_empty() {
            return !server.is_empty() && server == self.own_server;
        }
        self.allowed.iter().any(|entry| {
            if entry.starts_with('@') {
                entry == inviter
            } else {
                entry.trim_start_matches(':') == server
            }
        })
    }
}

fn server_of(user_id: &str) -> &str {
    user_id
        .split_once(':')
        .map(|(_, server)| server)
        .unwrap_or("")
}

/// Settings of the loop.
#[derive(Debug, Clone)]
pub struct ReceiverSettings {
    /// How long one `/sync` waits on the homeserver for news.
    pub poll_timeout: Duration,
    /// Events per room one sync returns before it says `limited`.
    pub timeline_limit: u32,
    pub invites: InvitePolicy,
}

/// What one sync pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pass {
    pub stored: usize,
    pub backfilled: usize,
    pub joined: usize,
}

pub struct Receiver {
    client: MatrixClient,
    me: Identity,
    settings: ReceiverSettings,
    filter_id: Option<String>,
    /// Rooms already told that the bot cannot read them.
    warned_encrypted: HashSet<String>,
    backoff: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
}

/// Pages read back at most per room and pass: 50 × 100 events covers a
/// long outage; beyond it the oldest are given up, loudly.
const MAX_BACKFILL_PAGES: usize = 50;
const BACKFILL_PAGE: u32 = 100;

impl Receiver {
    pub fn new(client: MatrixClient, me: Identity, settings: ReceiverSettings) -> Self {
        Self {
            client,
            me,
            settings,
            filter_id: None,
            warned_encrypted: HashSet::new(),
            backoff: RetryPolicy {
                max_attempts: u32::MAX,
                first_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(60),
                max_retry_after: Duration::from_secs(300),
            },
            sleeper: Arc::new(TokioSleeper),
        }
    }

    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Syncs forever, backing off while the homeserver or the database
    /// fails. Never returns; drop the future to stop it.
    pub async fn run(mut self, store: Arc<dyn SyncStore>) {
        let mut failures: u32 = 0;
        loop {
            match self.sync_once(store.as_ref()).await {
                Ok(_) => failures = 0,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = match &error {
                        SyncError::Matrix(MatrixError::RateLimited { retry_after }) => {
                            (*retry_after).min(self.backoff.max_retry_after)
                        }
                        _ => self.backoff.backoff(failures),
                    };
                    tracing::warn!(platform = "matrix", %error, delay_ms = delay.as_millis() as u64, "sync failed; backing off");
                    self.sleeper.sleep(delay).await;
                }
            }
        }
    }

    /// One `/sync`: accepts invites, reads back gaps, stores the events
    /// and the new position. The first sync of a new installation only
    /// records the position: history from before the bot ran is not
    /// replayed as commands.
    pub async fn sync_once(&mut self, store: &dyn SyncStore) -> Result<Pass, SyncError> {
        let filter_id = match &self.filter_id {
            Some(id) => id.clone(),
            None => {
                let id = self
                    .client
                    .create_filter(
                        &self.me.user_id,
                        &sync::filter(self.settings.timeline_limit),
                    )
                    .await?;
                self.filter_id = Some(id.clone());
                id
            }
        };
        let since = store.position().await.map_err(SyncError::Store)?;
        let timeout = if since.is_some() {
            self.settings.poll_timeout
        } else {
            Duration::ZERO
        };
        let body = self
            .client
            .sync(since.as_deref(), &filter_id, timeout)
            .await?;
        let batch = sync::parse_sync(&body, &self.me.user_id)
            .map_err(|error| SyncError::Invalid(error.to_string()))?;
        let mut pass = Pass::default();
        for invite in &batch.invites {
            if self.accept(invite).await {
                pass.joined += 1;
            }
        }
        let Some(since) = since else {
            store
                .save(&[], &batch.next_batch)
                .await
                .map_err(SyncError::Store)?;
            return Ok(pass);
        };
        let mut stored = Vec::new();
        for room in batch.joined {
            let (events, backfilled) = self.room_events(room, &since).await?;
            pass.backfilled += backfilled;
            stored.extend(events);
        }
        pass.stored = stored.len();
        if pass.backfilled > 0 {
            tracing::info!(
                platform = "matrix",
                backfilled = pass.backfilled,
                "read back events a limited sync left out"
            );
        }
        store
            .save(&stored, &batch.next_batch)
            .await
            .map_err(SyncError::Store)?;
        Ok(pass)
    }

    /// The events of one room worth storing, gaps read back first.
    async fn room_events(
        &mut self,
        room: RoomTimeline,
        since: &str,
    ) -> Result<(Vec<StoredEvent>, usize), SyncError> {
        let mut events = Vec::new();
        let mut backfilled = 0;
        if room.limited {
            if let Some(prev_batch) = &room.prev_batch {
                let earlier = self.backfill(&room.room_id, prev_batch, since).await?;
                backfilled = earlier.len();
                events.extend(earlier);
            }
        }
        events.extend(room.events);
        let mut seen = HashSet::new();
        let mut stored = Vec::new();
        for event in events {
            let Some(event_id) = event.get("event_id").and_then(Value::as_str) else {
                continue;
            };
            if !seen.insert(event_id.to_owned()) {
                continue;
            }
            if sync::is_encrypted_event(&event) {
                self.warn_encrypted(&room.room_id).await;
                continue;
            }
            let sender = event.get("sender").and_then(Value::as_str);
            if sender == Some(self.me.user_id.as_str()) {
                continue;
            }
            let mut item = StoredEvent {
                room_id: room.room_id.clone(),
                event,
                related: Default::default(),
            };
            for target in item.wants_related() {
                match self.client.event(&room.room_id, &target).await {
                    Ok(target_event) => {
                        if let Some(text) = inbound::message_text(&target_event) {
                            item.related.insert(target, text);
                        }
                    }
                    Err(error) => {
                        tracing::debug!(platform = "matrix", %error, "could not read a pinned message's text")
                    }
                }
            }
            stored.push(item);
        }
        Ok((stored, backfilled))
    }

    /// The events between `since` and `prev_batch`, oldest first.
    async fn backfill(
        &self,
        room_id: &str,
        prev_batch: &str,
        since: &str,
    ) -> Result<Vec<Value>, SyncError> {
        let filter = sync::filter(BACKFILL_PAGE)
            .pointer("/room/timeline")
            .cloned()
            .unwrap_or(Value::Null);
        let mut newest_first = Vec::new();
        let mut from = prev_batch.to_owned();
        for page_number in 0..MAX_BACKFILL_PAGES {
            let body = self
                .client
                .messages_before(room_id, &from, Some(since), &filter, BACKFILL_PAGE)
                .await?;
            let page = sync::parse_messages(&body)
                .map_err(|error| SyncError::Invalid(error.to_string()))?;
            let done = page.chunk.is_empty();
            newest_first.extend(page.chunk);
            match page.end {
                Some(end) if !done && end != from => from = end,
                _ => break,
            }
            if page_number + 1 == MAX_BACKFILL_PAGES {
                tracing::error!(
                    platform = "matrix",
                    room = room_id,
                    "gap too long to read back; older events are skipped"
                );
            }
        }
        newest_first.reverse();
        Ok(newest_first)
    }

    /// Joins a room the bot was invited to, if the inviter may.
    async fn accept(&mut self, invite: &Invite) -> bool {
        let Some(inviter) = invite.inviter.as_deref() else {
            return false;
        };
        if !self.settings.invites.allows(inviter) {
            tracing::info!(platform = "matrix", room = %invite.room_id, inviter, "invite not accepted: inviter not allowed");
            return false;
        }
        match self.client.join(&invite.room_id).await {
            Ok(room_id) => {
                tracing::info!(platform = "matrix", room = %room_id, inviter, "joined a room on invitation");
                if let Ok(Some(_)) = self
                    .client
                    .get_state(&room_id, "m.room.encryption", "")
                    .await
                {
                    self.warn_encrypted(&room_id).await;
                }
                true
            }
            Err(error) => {
                tracing::warn!(platform = "matrix", room = %invite.room_id, %error, "could not join");
                false
            }
        }
    }

    /// Says once per room, in the room, that the bot cannot read it, so
    /// nobody waits for an answer to a command it never saw.
    async fn warn_encrypted(&mut self, room_id: &str) {
        if !self.warned_encrypted.insert(room_id.to_owned()) {
            return;
        }
        let message = Message::text(format!(
            "This room is end-to-end encrypted and I cannot read encrypted messages, so I will not see commands here. \
             Use an unencrypted room (incident rooms I create are unencrypted), or address me with `{} help` there.",
            self.me.command_prefix
        ))
        .with_delivery_key(format!("encrypted-room-notice/{room_id}"));
        let content = html::content(&message, "m.notice");
        if let Err(error) = self
            .client
            .send(
                room_id,
                "m.room.message",
                message.delivery_key.as_deref(),
                &content,
            )
            .await
        {
            tracing::warn!(platform = "matrix", room = room_id, %error, "could not say the room is unreadable");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Matrix(#[from] MatrixError),
    #[error("could not understand the sync answer: {0}")]
    Invalid(String),
    #[error("could not store the batch: {0}")]
    Store(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invites_are_accepted_from_allowed_people_and_servers() {
        let own = InvitePolicy::new(vec![], "@firebreak:example.org");
        assert!(own.allows("@ana:example.org"));
        assert!(!own.allows("@mallory:evil.example"));
        let listed = InvitePolicy::new(
            vec![
                "@ana:partner.org".into(),
                "example.org".into(),
                ":ops.example".into(),
            ],
            "@firebreak:example.org",
        );
        assert!(listed.allows("@ana:partner.org"));
        assert!(!listed.allows("@bob:partner.org"));
        assert!(listed.allows("@bob:example.org"));
        assert!(listed.allows("@carol:ops.example"));
        assert!(!listed.allows("not-a-user"));
    }
}
