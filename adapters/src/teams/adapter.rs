//! [`TeamsAdapter`]: the [`ChatAdapter`] for Microsoft Teams over the Bot
//! Framework.
//!
//! An incident's conversation is a thread in the incidents channel,
//! started by the bot with a card (the Bot Framework cannot create
//! channels or group chats) or, with Microsoft Graph credentials, a channel
//! of its own in the incidents team. Teams cannot invite into a thread or
//! a standard channel, or pin, and a thread has no name or topic: those
//! are [`AdapterError::Unsupported`] and the engine carries on without
//! them.

use super::cards;
use super::connector::{new_thread, Connector};
use super::graph::Graph;
use super::inbound;
use super::inbound::Threads;
use crate::adapter::{AdapterError, AdapterResult, ChatAdapter, NewConversation};
use crate::event::ChatEvent;
use crate::message::{Form, Message, RichText};
use crate::refs::{ConversationRef, MessageRef, Platform, UserRef};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::RwLock;

pub struct TeamsAdapter {
    connector: Connector,
    /// Where the Bot Connector for this tenant answers, from the
    /// configuration or learned from verified activities.
    service_url: RwLock<Option<String>>,
    /// The channel incident threads are started in.
    incidents_channel: Option<String>,
    tenant_id: Option<String>,
    conversation_prefix: String,
    /// Channels per incident, when Graph is configured.
    graph: Option<Graph>,
    threads: Threads,
}

impl TeamsAdapter {
    pub fn new(
        connector: Connector,
        service_url: Option<String>,
        incidents_channel: Option<String>,
        tenant_id: Option<String>,
        conversation_prefix: impl Into<String>,
    ) -> Self {
        Self {
            connector,
            service_url: RwLock::new(service_url),
            incidents_channel,
            tenant_id,
            conversation_prefix: conversation_prefix.into(),
            graph: None,
            threads: Threads::AreConversations,
        }
    }

    /// Gives each incident a channel of its own, created through Graph.
    pub fn with_graph(mut self, graph: Graph) -> Self {
        self.threads = Threads::BelongToTheirChannel {
            incidents_channel: self.incidents_channel.clone(),
        };
        self.graph = Some(graph);
        self
    }

    /// Remembers where Teams can be reached; answers whether it changed.
    pub fn learn_service_url(&self, service_url: &str) -> bool {
        let Ok(mut known) = self.service_url.write() else {
            return false;
        };
        if known.as_deref() == Some(service_url) {
            return false;
        }
        *known = Some(service_url.to_owned());
        true
    }

    pub fn service_url(&self) -> AdapterResult<String> {
        self.service_url
            .read()
            .ok()
            .and_then(|known| known.clone())
            .ok_or_else(|| {
                AdapterError::Unavailable(
                    "no Teams service URL yet: set FIREBREAK__TEAMS__SERVICE_URL or add the bot to a team".into(),
                )
            })
    }

    /// Posts a card with `form` in `conversation`, as a reply to `reply_to`
    /// when given; with `replace` the card `reply_to` is replaced instead
    /// (a rejected submission comes back with its errors).
    pub async fn post_form(
        &self,
        conversation: &ConversationRef,
        form: &Form,
        values: &BTreeMap<String, String>,
        errors: &BTreeMap<String, String>,
        replace: Option<&str>,
    ) -> AdapterResult<()> {
        let activity = json!({
            "type": "message",
            "summary": form.title,
            "attachments": [cards::form_attachment(form, values, errors)],
        });
        let service = self.service_url()?;
        match replace {
            Some(card) => {
                let mut activity = activity;
                activity["id"] = Value::from(card);
                self.connector
                    .update(&service, &conversation.id, card, &activity)
                    .await?
            }
            None => {
                self.connector
                    .send(&service, &conversation.id, &activity)
                    .await?;
            }
        }
        Ok(())
    }
}

fn teams_conversation(conversation: &ConversationRef) -> AdapterResult<&str> {
    if conversation.platform == Platform::Teams {
        Ok(&conversation.id)
    } else {
        Err(AdapterError::Rejected(format!(
            "{conversation} is not a Teams conversation"
        )))
    }
}

fn activity(message: &Message) -> Value {
    json!({
        "type": "message",
        "summary": cards::summary(message),
        "attachments": [cards::message_attachment(message)],
    })
}

#[async_trait]
impl ChatAdapter for TeamsAdapter {
    fn platform(&self) -> Platform {
        Platform::Teams
    }

    fn decode(&self, payload: &str) -> AdapterResult<Vec<ChatEvent>> {
        inbound::decode(payload, &self.threads)
    }

    async fn post_message(
        &self,
        conversation: &ConversationRef,
        message: &Message,
    ) -> AdapterResult<MessageRef> {
        let id = teams_conversation(conversation)?;
        let sent = self
            .connector
            .send(&self.service_url()?, id, &activity(message))
            .await?;
        Ok(MessageRef::new(conversation.clone(), sent))
    }

    async fn reply_in_thread(
        &self,
        parent: &MessageRef,
        message: &Message,
    ) -> AdapterResult<MessageRef> {
        let id = teams_conversation(&parent.conversation)?;
        let sent = self
            .connector
            .reply(&self.service_url()?, id, &parent.id, &activity(message))
            .await?;
        Ok(MessageRef::new(parent.conversation.clone(), sent))
    }

    async fn update_message(&self, message: &MessageRef, content: &Message) -> AdapterResult<()> {
        let id = teams_conversation(&message.conversation)?;
        let mut update = activity(content);
        update["id"] = Value::from(message.id.clone());
        self.connector
            .update(&self.service_url()?, id, &message.id, &update)
            .await?;
        Ok(())
    }

    async fn create_conversation(&self, spec: &NewConversation) -> AdapterResult<ConversationRef> {
        // Everyone in the team sees a thread or a standard channel, and a
        // private channel needs its members' directory ids, which
        // activities do not carry: a private incident gets no Teams
        // conversation rather than a visible one.
        if spec.private {
            return Err(AdapterError::Unsupported(
                "Teams has no conversation only the incident's people can see",
            ));
        }
        let name = format!("{}{}", self.conversation_prefix, spec.name);
        if let Some(graph) = &self.graph {
            let channel = graph.create_channel(&name, &spec.topic).await?;
            let opening = Message::default()
                .with_heading(name)
                .with_paragraph(RichText::plain(spec.topic.clone()))
                .with_context(RichText::plain(
                    "This channel is the incident's conversation: talk to @Firebreak here.",
                ));
            self.connector
                .send(&self.service_url()?, &channel, &activity(&opening))
                .await?;
            return Ok(ConversationRef::new(Platform::Teams, channel));
        }
        let channel = self.incidents_channel.as_deref().ok_or(AdapterError::Unsupported(
            "Teams needs an incidents channel (FIREBREAK__TEAMS__ANNOUNCE_CHANNEL) to start incident threads in",
        ))?;
        let opening = Message::default()
            .with_heading(name)
            .with_paragraph(RichText::plain(spec.topic.clone()))
            .with_context(RichText::plain(
                "This thread is the incident's conversation: reply here with @Firebreak and a command.",
            ));
        let request = new_thread(channel, self.tenant_id.as_deref(), &activity(&opening));
        let (id, first_activity) = self
            .connector
            .create_conversation(&self.service_url()?, &request)
            .await?;
        // Teams answers the thread's own id (`…;messageid=…`); should a
        // connector answer only the channel, the thread is its first post.
        let id = match first_activity {
            Some(first) if !id.contains(";messageid=") => format!("{id};messageid={first}"),
            _ => id,
        };
        Ok(ConversationRef::new(Platform::Teams, id))
    }

    async fn invite(
        &self,
        _conversation: &ConversationRef,
        _users: &[UserRef],
    ) -> AdapterResult<()> {
        Err(AdapterError::Unsupported(
            "a Teams thread has no members of its own",
        ))
    }

    async fn rename_conversation(
        &self,
        conversation: &ConversationRef,
        name: &str,
    ) -> AdapterResult<()> {
        let (Some(graph), false) = (&self.graph, conversation.id.contains(";messageid=")) else {
            return Err(AdapterError::Unsupported("a Teams thread has no name"));
        };
        let name = format!("{}{name}", self.conversation_prefix);
        Ok(graph
            .update_channel(&conversation.id, Some(&name), None)
            .await?)
    }

    async fn set_topic(&self, conversation: &ConversationRef, topic: &str) -> AdapterResult<()> {
        let (Some(graph), false) = (&self.graph, conversation.id.contains(";messageid=")) else {
            return Err(AdapterError::Unsupported("a Teams thread has no topic"));
        };
        Ok(graph
            .update_channel(&conversation.id, None, Some(topic))
            .await?)
    }

    async fn pin(&self, _message: &MessageRef) -> AdapterResult<()> {
        Err(AdapterError::Unsupported("bots cannot pin in Teams"))
    }

    /// Asks the Bot Connector for the member's name (a mention in a
    /// command names only an id); looked up in the incidents channel,
    /// whose members are the team's.
    async fn display_name(&self, user: &UserRef) -> Option<String> {
        if user.platform != Platform::Teams {
            return None;
        }
        let channel = self.incidents_channel.as_deref()?;
        let service = self.service_url().ok()?;
        match self.connector.member(&service, channel, &user.id).await {
            Ok(member) => member["name"].as_str().map(str::to_owned),
            Err(error) => {
                tracing::debug!(platform = "teams", %error, "no display name");
                None
            }
        }
    }

    async fn open_form(
        &self,
        _user: &UserRef,
        _trigger: Option<&str>,
        _form: &Form,
    ) -> AdapterResult<()> {
        // Forms are cards posted where they were asked for; the route does
        // that, since only it knows the conversation.
        Err(AdapterError::Unsupported(
            "Teams forms are posted as cards in the conversation",
        ))
    }
}
