//! The in-process chat platform: records every outbound call and answers
//! with made-up ids, so tests and the local demo can run a whole incident
//! without a network. Events are injected through the application's
//! `POST /memory/events` route (which writes them to the durable inbox like
//! any webhook); their payload is a [`ChatEvent`] in JSON, or an array of
//! them.

use crate::adapter::{AdapterError, AdapterResult, ChatAdapter, NewConversation};
use crate::event::ChatEvent;
use crate::message::{Form, Message};
use crate::refs::{ConversationRef, MessageRef, Platform, UserRef};
use async_trait::async_trait;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// Put in front of every conversation name, as a real platform's
/// configured prefix would be.
pub const CONVERSATION_PREFIX: &str = "inc-";

/// One call the engine made, with what it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    Post {
        conversation: ConversationRef,
        message: Message,
        posted: MessageRef,
    },
    Update {
        message: MessageRef,
        content: Message,
    },
    Reply {
        parent: MessageRef,
        message: Message,
        posted: MessageRef,
    },
    CreateConversation {
        spec: NewConversation,
        created: ConversationRef,
    },
    Invite {
        conversation: ConversationRef,
        users: Vec<UserRef>,
    },
    Rename {
        conversation: ConversationRef,
        name: String,
    },
    SetTopic {
        conversation: ConversationRef,
        topic: String,
    },
    Pin {
        message: MessageRef,
    },
    OpenForm {
        user: UserRef,
        form: Form,
    },
}

#[derive(Debug, Default)]
struct Recorded {
    calls: Vec<Call>,
    next_id: u64,
    /// Errors to answer the next calls with, in order, instead of success.
    failures: VecDeque<AdapterError>,
    /// How many of the next calls panic, to test crash recovery.
    panics: usize,
}

/// Cheap to clone; clones share the record.
#[derive(Debug, Clone, Default)]
pub struct MemoryAdapter {
    recorded: Arc<Mutex<Recorded>>,
    /// Posts to a held conversation wait until [`MemoryAdapter::release`],
    /// as a platform that rate-limits one channel would make them.
    held: Arc<tokio::sync::watch::Sender<Option<ConversationRef>>>,
}

impl MemoryAdapter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Messages posted to `conversation`, as plain text, oldest first.
    pub fn posted_texts(&self, conversation: &ConversationRef) -> Vec<String> {
        self.lock()
            .calls
            .iter()
            .filter_map(|call| match call {
                Call::Post {
                    conversation: to,
                    message,
                    ..
                } if to == conversation => Some(message.to_plain()),
                _ => None,
            })
            .collect()
    }

    /// The latest content of a message: its last update, or what was
    /// posted if it was never updated.
    pub fn current_content(&self, message: &MessageRef) -> Option<Message> {
        self.lock().calls.iter().rev().find_map(|call| match call {
            Call::Update {
                message: updated,
                content,
            } if updated == message => Some(content.clone()),
            Call::Post {
                posted,
                message: content,
                ..
            } if posted == message => Some(content.clone()),
            _ => None,
        })
    }

    /// Makes the next call fail with `error` (queued: several calls fail in
    /// order).
    pub fn fail_next(&self, error: AdapterError) {
        self.lock().failures.push_back(error);
    }

    /// Makes posts to `conversation` wait until [`MemoryAdapter::release`].
    pub fn hold(&self, conversation: ConversationRef) {
        self.held.send_replace(Some(conversation));
    }

    pub fn release(&self) {
        self.held.send_replace(None);
    }

    async fn wait_while_held(&self, conversation: &ConversationRef) {
        let mut held = self.held.subscribe();
        // An error means the sender is gone, which cannot happen while
        // `self` holds it; either way there is nothing left to wait for.
        let _ = held
            .wait_for(|held| held.as_ref() != Some(conversation))
            .await;
    }

    /// Makes the next `count` calls panic, as a bug in a platform module
    /// would: the engine must survive it and restart the incident's actor.
    pub fn panic_next(&self, count: usize) {
        self.lock().panics += count;
    }

    fn lock(&self) -> MutexGuard<'_, Recorded> {
        // A panic while holding this lock can only come from a test that is
        // already failing; the record itself is still consistent.
        self.recorded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a call, or answers with a queued failure. `make` builds the
    /// success value and the call to record from a fresh id.
    fn record<T>(&self, make: impl FnOnce(u64) -> (T, Call)) -> AdapterResult<T> {
        let mut recorded = self.lock();
        if recorded.panics > 0 {
            recorded.panics -= 1;
            drop(recorded);
            panic!("memory adapter: injected panic");
        }
        if let Some(error) = recorded.failures.pop_front() {
            return Err(error);
        }
        recorded.next_id += 1;
        let (value, call) = make(recorded.next_id);
        recorded.calls.push(call);
        Ok(value)
    }
}

#[async_trait]
impl ChatAdapter for MemoryAdapter {
    fn platform(&self) -> Platform {
        Platform::Memory
    }

    fn decode(&self, payload: &str) -> AdapterResult<Vec<ChatEvent>> {
        let value: serde_json::Value = serde_json::from_str(payload)
            .map_err(|error| AdapterError::Decode(error.to_string()))?;
        let events = if value.is_array() {
            serde_json::from_value::<Vec<ChatEvent>>(value)
        } else {
            serde_json::from_value::<ChatEvent>(value).map(|event| vec![event])
        };
        events.map_err(|error| AdapterError::Decode(error.to_string()))
    }

    async fn post_message(
        &self,
        conversation: &ConversationRef,
        message: &Message,
    ) -> AdapterResult<MessageRef> {
        self.wait_while_held(conversation).await;
        self.record(|id| {
            let posted = MessageRef::new(conversation.clone(), format!("m{id}"));
            let call = Call::Post {
                conversation: conversation.clone(),
                message: message.clone(),
                posted: posted.clone(),
            };
            (posted, call)
        })
    }

    async fn reply_in_thread(
        &self,
        parent: &MessageRef,
        message: &Message,
    ) -> AdapterResult<MessageRef> {
        self.wait_while_held(&parent.conversation).await;
        self.record(|id| {
            let posted = MessageRef::new(parent.conversation.clone(), format!("m{id}"));
            let call = Call::Reply {
                parent: parent.clone(),
                message: message.clone(),
                posted: posted.clone(),
            };
            (posted, call)
        })
    }

    async fn update_message(&self, message: &MessageRef, content: &Message) -> AdapterResult<()> {
        self.record(|_| {
            let call = Call::Update {
                message: message.clone(),
                content: content.clone(),
            };
            ((), call)
        })
    }

    async fn create_conversation(&self, spec: &NewConversation) -> AdapterResult<ConversationRef> {
        self.record(|id| {
            let created = ConversationRef::new(Platform::Memory, format!("C{id}"));
            let mut spec = spec.clone();
            spec.name = format!("{CONVERSATION_PREFIX}{}", spec.name);
            let call = Call::CreateConversation {
                spec,
                created: created.clone(),
            };
            (created, call)
        })
    }

    async fn invite(&self, conversation: &ConversationRef, users: &[UserRef]) -> AdapterResult<()> {
        self.record(|_| {
            let call = Call::Invite {
                conversation: conversation.clone(),
                users: users.to_vec(),
            };
            ((), call)
        })
    }

    async fn rename_conversation(
        &self,
        conversation: &ConversationRef,
        name: &str,
    ) -> AdapterResult<()> {
        self.record(|_| {
            let call = Call::Rename {
                conversation: conversation.clone(),
                name: format!("{CONVERSATION_PREFIX}{name}"),
            };
            ((), call)
        })
    }

    async fn set_topic(&self, conversation: &ConversationRef, topic: &str) -> AdapterResult<()> {
        self.record(|_| {
            let call = Call::SetTopic {
                conversation: conversation.clone(),
                topic: topic.to_owned(),
            };
            ((), call)
        })
    }

    async fn pin(&self, message: &MessageRef) -> AdapterResult<()> {
        self.record(|_| {
            (
                (),
                Call::Pin {
                    message: message.clone(),
                },
            )
        })
    }

    async fn open_form(
        &self,
        user: &UserRef,
        _trigger: Option<&str>,
        form: &Form,
    ) -> AdapterResult<()> {
        self.record(|_| {
            let call = Call::OpenForm {
                user: user.clone(),
                form: form.clone(),
            };
            ((), call)
        })
    }

    fn conversation_link(&self, conversation: &ConversationRef) -> Option<String> {
        Some(format!("memory://{}", conversation.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation() -> ConversationRef {
        ConversationRef::new(Platform::Memory, "announce")
    }

    #[tokio::test]
    async fn records_posts_and_updates_in_order() {
        let adapter = MemoryAdapter::new();
        let posted = adapter
            .post_message(&conversation(), &Message::text("first"))
            .await
            .expect("post succeeds");
        adapter
            .update_message(&posted, &Message::text("second"))
            .await
            .expect("update succeeds");
        assert_eq!(adapter.posted_texts(&conversation()), vec!["first"]);
        assert_eq!(
            adapter
                .current_content(&posted)
                .map(|message| message.to_plain()),
            Some("second".to_owned())
        );
        assert_eq!(adapter.calls().len(), 2);
    }

    #[tokio::test]
    async fn queued_failures_are_answered_before_success() {
        let adapter = MemoryAdapter::new();
        adapter.fail_next(AdapterError::Unavailable("down".into()));
        let first = adapter
            .post_message(&conversation(), &Message::text("x"))
            .await;
        assert_eq!(first, Err(AdapterError::Unavailable("down".into())));
        assert!(adapter
            .post_message(&conversation(), &Message::text("y"))
            .await
            .is_ok());
        assert_eq!(adapter.posted_texts(&conversation()), vec!["y"]);
    }

    #[test]
    fn decodes_one_event_or_many_and_rejects_garbage() {
        let adapter = MemoryAdapter::new();
        let one = r#"{"platform":"memory","event_id":"e1","type":"user_joined",
            "conversation":{"platform":"memory","id":"C1"},"user":{"platform":"memory","id":"bo"}}"#;
        assert_eq!(adapter.decode(one).map(|events| events.len()), Ok(1));
        assert_eq!(
            adapter
                .decode(&format!("[{one},{one}]"))
                .map(|events| events.len()),
            Ok(2)
        );
        assert!(matches!(
            adapter.decode("{\"type\":\"nope\"}"),
            Err(AdapterError::Decode(_))
        ));
    }
}
