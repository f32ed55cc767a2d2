//! What arrives from a chat platform, once verified and parsed.

use crate::refs::{ConversationRef, MessageRef, Platform, UserRef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One inbound event. `event_id` is the platform's own id for it (or one
/// derived from stable fields of the payload) and is what makes a
/// redelivery recognisable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatEvent {
    pub platform: Platform,
    pub event_id: String,
    #[serde(flatten)]
    pub kind: ChatEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEventKind {
    /// Text addressed to the bot (a slash command, a mention, a `!incident`
    /// prefix): the platform module has already stripped the address, so
    /// `text` starts with the command word. Mentions of other people inside
    /// it are written `@<user id>`.
    Command {
        conversation: ConversationRef,
        user: UserRef,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<MessageRef>,
    },
    /// Any other message posted in a conversation the bot can see.
    Message {
        conversation: ConversationRef,
        user: UserRef,
        text: String,
        message: MessageRef,
    },
    ReactionAdded {
        user: UserRef,
        message: MessageRef,
        reaction: String,
        /// The reacted-to message's text when the platform sent it along.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    MessagePinned {
        user: UserRef,
        message: MessageRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    ButtonPressed {
        conversation: ConversationRef,
        user: UserRef,
        action_id: String,
        value: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<MessageRef>,
        /// Lets the platform open a form in reply (Slack's `trigger_id`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trigger: Option<String>,
    },
    FormSubmitted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conversation: Option<ConversationRef>,
        user: UserRef,
        form_id: String,
        values: BTreeMap<String, String>,
    },
    UserJoined {
        conversation: ConversationRef,
        user: UserRef,
    },
    /// The conversation was renamed on the platform (by anyone, the bot
    /// included).
    ConversationRenamed {
        conversation: ConversationRef,
        name: String,
    },
}

impl ChatEventKind {
    /// The conversation the event happened in, which is how the engine
    /// finds the incident it belongs to.
    pub fn conversation(&self) -> Option<&ConversationRef> {
        match self {
            ChatEventKind::Command { conversation, .. }
            | ChatEventKind::Message { conversation, .. }
            | ChatEventKind::ButtonPressed { conversation, .. }
            | ChatEventKind::UserJoined { conversation, .. }
            | ChatEventKind::ConversationRenamed { conversation, .. } => Some(conversation),
            ChatEventKind::ReactionAdded { message, .. }
            | ChatEventKind::MessagePinned { message, .. } => Some(&message.conversation),
            ChatEventKind::FormSubmitted { conversation, .. } => conversation.as_ref(),
        }
    }

    /// Who did it, when a person did.
    pub fn user(&self) -> Option<&UserRef> {
        match self {
            ChatEventKind::Command { user, .. }
            | ChatEventKind::Message { user, .. }
            | ChatEventKind::ReactionAdded { user, .. }
            | ChatEventKind::MessagePinned { user, .. }
            | ChatEventKind::ButtonPressed { user, .. }
            | ChatEventKind::FormSubmitted { user, .. }
            | ChatEventKind::UserJoined { user, .. } => Some(user),
            ChatEventKind::ConversationRenamed { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_event_has_a_stable_json_shape() {
        let json = r#"{"platform":"memory","event_id":"e1","type":"command",
            "conversation":{"platform":"memory","id":"C1"},
            "user":{"platform":"memory","id":"ana"},"text":"severity 1"}"#;
        let event: ChatEvent = serde_json::from_str(json).expect("valid event");
        assert_eq!(event.event_id, "e1");
        match &event.kind {
            ChatEventKind::Command {
                text, conversation, ..
            } => {
                assert_eq!(text, "severity 1");
                assert_eq!(conversation.id, "C1");
            }
            other => panic!("parsed as {other:?}"),
        }
        assert_eq!(event.kind.user().map(|user| user.id.as_str()), Some("ana"));
    }
}
