//! Matrix at start-up: log the bot in, join the announcement room, and
//! run the `/sync` loop that feeds the durable inbox.

use crate::config::MatrixSettings;
use anyhow::Context as _;
use chrono::Utc;
use firebreak_actors::store::Store;
use firebreak_adapters::matrix::client::MatrixClient;
use firebreak_adapters::matrix::inbound::{Identity, StoredEvent};
use firebreak_adapters::matrix::receiver::{InvitePolicy, Receiver, ReceiverSettings, SyncStore};
use firebreak_adapters::matrix::MatrixAdapter;
use firebreak_adapters::{ConversationRef, Platform};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long start-up waits for the first sync before serving anyway: a
/// homeserver that is down must not keep the bot down.
const FIRST_SYNC_LIMIT: Duration = Duration::from_secs(15);

/// Matrix, ready to register with the engine.
pub struct MatrixSetup {
    pub adapter: Arc<MatrixAdapter>,
    pub announce: Option<ConversationRef>,
    receiver: Receiver,
    inbox: Arc<MatrixInbox>,
}

impl MatrixSetup {
    /// Connects the bot. Fails only on configuration errors; a homeserver
    /// that cannot be reached is logged and retried by the sync loop.
    pub async fn connect(
        settings: &MatrixSettings,
        homeserver_url: &str,
        store: Store,
        inbox_wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let token = match (&settings.access_token, &settings.password) {
            (Some(token), _) => token.expose().to_owned(),
            (None, Some(password)) => {
                let user = settings
                    .user_id
                    .as_deref()
                    .context("[matrix] a password login needs `user_id`")?;
                MatrixClient::login(homeserver_url, user, password.expose())
                    .await
                    .context("Matrix password login failed")?
            }
            (None, None) => anyhow::bail!("[matrix] needs `access_token` or `password`"),
        };
        let client =
            MatrixClient::new(homeserver_url, &token).context("invalid [matrix] settings")?;
        let user_id = match client.whoami().await {
            Ok(user_id) => user_id,
            Err(error) => match &settings.user_id {
                Some(user_id) => {
                    tracing::warn!(platform = "matrix", %error, "could not ask the homeserver who the bot is; using the configured user id");
                    user_id.clone()
                }
                None => {
                    return Err(error).context("could not ask the homeserver who the bot is (set FIREBREAK__MATRIX__USER_ID to start without it)")
                }
            },
        };
        let display_name = client.display_name(&user_id).await.ok().flatten();
        let me = Identity {
            user_id: user_id.clone(),
            display_name,
            command_prefix: settings.command_prefix.clone(),
        };
        let announce = match &settings.announce_room {
            Some(room) => announce_room(&client, room).await,
            None => {
                tracing::warn!(platform = "matrix", "no announcement room (FIREBREAK__MATRIX__ANNOUNCE_ROOM): incidents are declared and announced nowhere");
                None
            }
        };
        let receiver = Receiver::new(
            client.clone(),
            me.clone(),
            ReceiverSettings {
                poll_timeout: settings.sync_timeout()?,
                timeline_limit: settings.timeline_limit.max(1),
                invites: InvitePolicy::new(settings.allowed_inviters.clone(), &user_id),
            },
        );
        let adapter = MatrixAdapter::new(client, me, settings.room_prefix.clone())
            .with_public_rooms(settings.public_rooms);
        Ok(Self {
            adapter: Arc::new(adapter),
            announce,
            receiver,
            inbox: Arc::new(MatrixInbox {
                store,
                cursor: format!("matrix:{user_id}"),
                wake: inbox_wake,
            }),
        })
    }

    /// Runs the first sync (bounded), then keeps syncing in the background
    /// for as long as the actix system runs.
    pub async fn start_receiving(mut self) {
        let inbox: Arc<dyn SyncStore> = self.inbox.clone();
        match tokio::time::timeout(FIRST_SYNC_LIMIT, self.receiver.sync_once(inbox.as_ref())).await
        {
            Ok(Ok(pass)) => {
                tracing::info!(platform = "matrix", stored = pass.stored, "first sync done")
            }
            Ok(Err(error)) => {
                tracing::warn!(platform = "matrix", %error, "first sync failed; retrying in the background")
            }
            Err(_) => {
                tracing::warn!(
                    platform = "matrix",
                    "first sync is slow; carrying on in the background"
                )
            }
        }
        actix::spawn(self.receiver.run(inbox));
    }
}

/// Joins the announcement room (the bot must have been invited to a
/// private one) and answers its id.
async fn announce_room(client: &MatrixClient, room: &str) -> Option<ConversationRef> {
    match client.join(room).await {
        Ok(room_id) => Some(ConversationRef::new(Platform::Matrix, room_id)),
        Err(error) if room.starts_with('!') => {
            tracing::warn!(platform = "matrix", room, %error, "could not join the announcement room; invite the bot there");
            Some(ConversationRef::new(Platform::Matrix, room))
        }
        Err(error) => {
            tracing::warn!(platform = "matrix", room, %error, "could not join the announcement room; invite the bot there or give its room id");
            None
        }
    }
}

/// The inbox and the sync position, in the database.
struct MatrixInbox {
    store: Store,
    /// Per bot account, so switching accounts does not resume another's
    /// position.
    cursor: String,
    wake: Arc<Notify>,
}

#[async_trait::async_trait]
impl SyncStore for MatrixInbox {
    async fn position(&self) -> Result<Option<String>, String> {
        self.store
            .platform_state(&self.cursor)
            .await
            .map_err(|error| error.to_string())
    }

    async fn save(&self, events: &[StoredEvent], next_batch: &str) -> Result<(), String> {
        let rows: Vec<(String, String)> = events
            .iter()
            .filter_map(|event| {
                let id = event.event_id()?;
                Some((id.to_owned(), event.to_payload()))
            })
            .collect();
        self.store
            .inbox_insert_batch(
                Platform::Matrix,
                &rows,
                &self.cursor,
                next_batch,
                Utc::now(),
            )
            .await
            .map_err(|error| error.to_string())?;
        if !rows.is_empty() {
            self.wake.notify_one();
        }
        Ok(())
    }
}
