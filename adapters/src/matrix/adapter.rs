//! [`MatrixAdapter`]: the [`ChatAdapter`] for Matrix, joining the client,
//! the HTML renderer and the inbound decoder.

use super::client::MatrixClient;
use super::html;
use super::inbound::{self, Identity};
use crate::adapter::{AdapterError, AdapterResult, ChatAdapter, NewConversation};
use crate::event::ChatEvent;
use crate::message::{Form, Message};
use crate::refs::{ConversationRef, MessageRef, Platform, UserRef};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

/// The bot speaks in `m.notice`: clients show it as a bot's message and
/// other bots, by convention, never answer notices, so two bots in one
/// room cannot loop.
const MSGTYPE: &str = "m.notice";

pub struct MatrixAdapter {
    client: MatrixClient,
    me: Identity,
    room_prefix: String,
    /// Incident rooms are invite-only unless configured otherwise.
    public_rooms: bool,
    /// Display names asked of the homeserver, kept for the process's life:
    /// a name change shows up on the next start.
    names: Mutex<HashMap<String, Option<String>>>,
}

impl MatrixAdapter {
    pub fn new(client: MatrixClient, me: Identity, room_prefix: impl Into<String>) -> Self {
        Self {
            client,
            me,
            room_prefix: room_prefix.into(),
            public_rooms: false,
            names: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_public_rooms(mut self, public: bool) -> Self {
        self.public_rooms = public;
        self
    }

    pub fn identity(&self) -> &Identity {
        &self.me
    }

    pub fn client(&self) -> &MatrixClient {
        &self.client
    }

    /// The Matrix people among `users`, less the bot itself.
    fn matrix_users<'a>(&self, users: &'a [UserRef]) -> Vec<&'a str> {
        users
            .iter()
            .filter(|user| user.platform == Platform::Matrix && user.id != self.me.user_id)
            .map(|user| user.id.as_str())
            .collect()
    }

    async fn send_message(
        &self,
        room: &str,
        message: &Message,
        thread: Option<&str>,
    ) -> AdapterResult<MessageRef> {
        let mut content = html::content(message, MSGTYPE);
        if let (Some(parent), Some(object)) = (thread, content.as_object_mut()) {
            // A thread where the client supports them, a plain reply
            // where it does not (the spec's fallback).
            object.insert(
                "m.relates_to".into(),
                json!({
                    "rel_type": "m.thread",
                    "event_id": parent,
                    "is_falling_back": true,
                    "m.in_reply_to": {"event_id": parent},
                }),
            );
        }
        let event_id = self
            .client
            .send(
                room,
                "m.room.message",
                message.delivery_key.as_deref(),
                &content,
            )
            .await?;
        Ok(MessageRef::new(
            ConversationRef::new(Platform::Matrix, room),
            event_id,
        ))
    }
}

fn matrix_room(conversation: &ConversationRef) -> AdapterResult<&str> {
    if conversation.platform == Platform::Matrix {
        Ok(&conversation.id)
    } else {
        Err(AdapterError::Rejected(format!(
            "{conversation} is not a Matrix room"
        )))
    }
}

#[async_trait]
impl ChatAdapter for MatrixAdapter {
    fn platform(&self) -> Platform {
        Platform::Matrix
    }

    fn decode(&self, payload: &str) -> AdapterResult<Vec<ChatEvent>> {
        inbound::decode(payload, &self.me)
    }

    async fn post_message(
        &self,
        conversation: &ConversationRef,
        message: &Message,
    ) -> AdapterResult<MessageRef> {
        self.send_message(matrix_room(conversation)?, message, None)
            .await
    }

    async fn reply_in_thread(
        &self,
        parent: &MessageRef,
        message: &Message,
    ) -> AdapterResult<MessageRef> {
        let room = matrix_room(&parent.conversation)?;
        self.send_message(room, message, Some(&parent.id)).await
    }

    async fn update_message(&self, message: &MessageRef, content: &Message) -> AdapterResult<()> {
        let room = matrix_room(&message.conversation)?;
        let edit = html::edit_content(&message.id, content, MSGTYPE);
        self.client
            .send(
                room,
                "m.room.message",
                content.delivery_key.as_deref(),
                &edit,
            )
            .await?;
        Ok(())
    }

    async fn create_conversation(&self, spec: &NewConversation) -> AdapterResult<ConversationRef> {
        let private = spec.private || !self.public_rooms;
        let mut request = json!({
            "name": format!("{}{}", self.room_prefix, spec.name),
            "preset": if private { "private_chat" } else { "public_chat" },
            "visibility": "private",
            "invite": self.matrix_users(&spec.invite),
            // Anyone in the room may pin, as in a Slack channel: a pin is
            // how a responder puts a message on the timeline.
            "power_level_content_override": {"events": {"m.room.pinned_events": 0}},
        });
        if !spec.topic.is_empty() {
            request["topic"] = Value::from(spec.topic.clone());
        }
        // No `m.room.encryption` in the initial state: the bot reads no
        // encrypted room, so its own rooms stay readable to it.
        let room_id = self.client.create_room(&request).await?;
        Ok(ConversationRef::new(Platform::Matrix, room_id))
    }

    async fn invite(&self, conversation: &ConversationRef, users: &[UserRef]) -> AdapterResult<()> {
        let room = matrix_room(conversation)?;
        for user in self.matrix_users(users) {
            self.client.invite(room, user).await?;
        }
        Ok(())
    }

    async fn rename_conversation(
        &self,
        conversation: &ConversationRef,
        name: &str,
    ) -> AdapterResult<()> {
        let room = matrix_room(conversation)?;
        let content = json!({ "name": format!("{}{name}", self.room_prefix) });
        self.client
            .put_state(room, "m.room.name", "", &content)
            .await?;
        Ok(())
    }

    async fn set_topic(&self, conversation: &ConversationRef, topic: &str) -> AdapterResult<()> {
        let room = matrix_room(conversation)?;
        self.client
            .put_state(room, "m.room.topic", "", &json!({ "topic": topic }))
            .await?;
        Ok(())
    }

    async fn pin(&self, message: &MessageRef) -> AdapterResult<()> {
        let room = matrix_room(&message.conversation)?;
        let current = self
            .client
            .get_state(room, "m.room.pinned_events", "")
            .await?;
        let mut pinned: Vec<Value> = current
            .as_ref()
            .and_then(|content| content.get("pinned"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if pinned.iter().any(|id| id.as_str() == Some(&message.id)) {
            return Ok(());
        }
        pinned.push(Value::from(message.id.clone()));
        self.client
            .put_state(
                room,
                "m.room.pinned_events",
                "",
                &json!({ "pinned": pinned }),
            )
            .await?;
        Ok(())
    }

    async fn open_form(
        &self,
        _user: &UserRef,
        _trigger: Option<&str>,
        _form: &Form,
    ) -> AdapterResult<()> {
        Err(AdapterError::Unsupported(
            "Matrix has no forms; every field can be set with a command",
        ))
    }

    async fn display_name(&self, user: &UserRef) -> Option<String> {
        if user.platform != Platform::Matrix {
            return None;
        }
        if let Ok(names) = self.names.lock() {
            if let Some(name) = names.get(&user.id) {
                return name.clone();
            }
        }
        match self.client.display_name(&user.id).await {
            Ok(name) => {
                if let Ok(mut names) = self.names.lock() {
                    names.insert(user.id.clone(), name.clone());
                }
                name
            }
            Err(error) => {
                tracing::debug!(platform = "matrix", %error, "no display name");
                None
            }
        }
    }

    fn conversation_link(&self, conversation: &ConversationRef) -> Option<String> {
        (conversation.platform == Platform::Matrix)
            .then(|| format!("https://matrix.to/#/{}", conversation.id))
    }
}
