//! The [`ChatAdapter`] trait: everything the engine asks of a chat platform.
//!
//! The operations are the ones every supported platform can do in some form
//! (Slack Web API, Bot Framework connector, Matrix client-server API); where
//! a platform cannot, its module returns [`AdapterError::Unsupported`] and
//! the engine carries on without it.

use crate::event::ChatEvent;
use crate::message::{Form, Message};
use crate::refs::{ConversationRef, MessageRef, Platform, UserRef};
use async_trait::async_trait;
use std::time::Duration;

pub type AdapterResult<T> = Result<T, AdapterError>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// The platform asked us to slow down and retries did not get through
    /// in time; `retry_after` is its last word on when to try again.
    #[error("rate limited by the platform (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// The platform or the network failed (5xx, timeout, connection refused).
    #[error("platform unavailable: {0}")]
    Unavailable(String),
    /// The platform refused the request itself (bad channel name, missing
    /// scope, not in channel): retrying would not help.
    #[error("platform rejected the request: {0}")]
    Rejected(String),
    /// This platform has no such operation.
    #[error("not supported on this platform: {0}")]
    Unsupported(&'static str),
    /// An inbound payload could not be understood.
    #[error("could not decode the payload: {0}")]
    Decode(String),
}

impl AdapterError {
    /// Whether trying the same call again later might succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AdapterError::RateLimited { .. } | AdapterError::Unavailable(_)
        )
    }
}

/// What to create when an incident gets its own conversation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewConversation {
    /// The incident part of the name (`42-payments-failing`): lower-case
    /// ASCII, digits and dashes. The platform module puts its configured
    /// prefix in front (`inc-42-payments-failing`) and makes it unique.
    pub name: String,
    pub topic: String,
    pub private: bool,
    pub invite: Vec<UserRef>,
}

#[async_trait]
pub trait ChatAdapter: Send + Sync + 'static {
    fn platform(&self) -> Platform;

    /// Turns one durable-inbox payload (the verified raw body the webhook
    /// stored) into events. Parsing happens here, at processing time, so a
    /// parser fix can be replayed over stored rows.
    fn decode(&self, payload: &str) -> AdapterResult<Vec<ChatEvent>>;

    async fn post_message(
        &self,
        conversation: &ConversationRef,
        message: &Message,
    ) -> AdapterResult<MessageRef>;

    async fn update_message(&self, message: &MessageRef, content: &Message) -> AdapterResult<()>;

    /// Posts `message` as a reply to `parent` (a thread, where the platform
    /// has them); platforms without threads post it after the parent.
    async fn reply_in_thread(
        &self,
        parent: &MessageRef,
        message: &Message,
    ) -> AdapterResult<MessageRef> {
        self.post_message(&parent.conversation, message).await
    }

    async fn create_conversation(&self, spec: &NewConversation) -> AdapterResult<ConversationRef>;

    async fn invite(&self, conversation: &ConversationRef, users: &[UserRef]) -> AdapterResult<()>;

    async fn rename_conversation(
        &self,
        conversation: &ConversationRef,
        name: &str,
    ) -> AdapterResult<()>;

    async fn set_topic(&self, conversation: &ConversationRef, topic: &str) -> AdapterResult<()>;

    async fn pin(&self, message: &MessageRef) -> AdapterResult<()>;

    /// Opens a form for `user`. `trigger` is the short-lived handle some
    /// platforms require (Slack's `trigger_id` from the button press).
    async fn open_form(
        &self,
        user: &UserRef,
        trigger: Option<&str>,
        form: &Form,
    ) -> AdapterResult<()>;

    /// The person's display name, when the platform can tell (and the
    /// event that named them did not).
    async fn display_name(&self, _user: &UserRef) -> Option<String> {
        None
    }

    /// A link a browser can follow into the conversation, when the
    /// platform has one.
    fn conversation_link(&self, _conversation: &ConversationRef) -> Option<String> {
        None
    }
}
