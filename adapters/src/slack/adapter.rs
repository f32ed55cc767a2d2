//! [`SlackAdapter`]: the [`ChatAdapter`] for Slack, joining the Web API
//! client, the Block Kit renderer and the inbound parser.

use super::blocks;
use super::client::{SlackClient, SlackError};
use super::inbound;
use crate::adapter::{AdapterError, AdapterResult, ChatAdapter, NewConversation};
use crate::event::ChatEvent;
use crate::message::{Form, Message};
use crate::refs::{ConversationRef, MessageRef, Platform, UserRef};
use async_trait::async_trait;

/// How many numbered names (`-2`, `-3`, …) are tried when a channel name
/// is taken before giving up.
const NAME_ATTEMPTS: usize = 10;

pub struct SlackAdapter {
    client: SlackClient,
    /// The bot's own user id (from `auth.test`), so its mention can be
    /// stripped from commands and its own messages ignored.
    bot_user_id: Option<String>,
    team_id: Option<String>,
    channel_prefix: String,
}

impl SlackAdapter {
    pub fn new(client: SlackClient, channel_prefix: impl Into<String>) -> Self {
        Self {
            client,
            bot_user_id: None,
            team_id: None,
            channel_prefix: channel_prefix.into(),
        }
    }

    /// Asks Slack who the bot is (`auth.test`); done once at start-up.
    /// Without it the adapter still works: any leading mention is taken
    /// as the bot's, and links into Slack are left out.
    pub async fn identify(&mut self) -> Result<(), SlackError> {
        let auth = self.client.auth_test().await?;
        self.bot_user_id = Some(auth.user_id);
        self.team_id = Some(auth.team_id);
        Ok(())
    }

    pub fn client(&self) -> &SlackClient {
        &self.client
    }

    pub fn bot_user_id(&self) -> Option<&str> {
        self.bot_user_id.as_deref()
    }

    /// The Slack users among `users`, less the bot itself (Slack refuses
    /// to invite the bot into its own channel).
    fn slack_users<'a>(&self, users: &'a [UserRef]) -> Vec<&'a str> {
        users
            .iter()
            .filter(|user| user.platform == Platform::Slack)
            .map(|user| user.id.as_str())
            .filter(|id| Some(*id) != self.bot_user_id.as_deref())
            .collect()
    }
}

fn slack_channel(conversation: &ConversationRef) -> AdapterResult<&str> {
    if conversation.platform == Platform::Slack {
        Ok(&conversation.id)
    } else {
        Err(AdapterError::Rejected(format!(
            "{conversation} is not a Slack channel"
        )))
    }
}

#[async_trait]
impl ChatAdapter for SlackAdapter {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    fn decode(&self, payload: &str) -> AdapterResult<Vec<ChatEvent>> {
        inbound::decode(payload, self.bot_user_id.as_deref())
    }

    async fn post_message(
        &self,
        conversation: &ConversationRef,
        message: &Message,
    ) -> AdapterResult<MessageRef> {
        let channel = slack_channel(conversation)?;
        let posted = self
            .client
            .post_message(channel, blocks::message_payload(message), None)
            .await?;
        Ok(MessageRef::new(
            ConversationRef::new(Platform::Slack, posted.channel),
            posted.ts,
        ))
    }

    async fn reply_in_thread(
        &self,
        parent: &MessageRef,
        message: &Message,
    ) -> AdapterResult<MessageRef> {
        let channel = slack_channel(&parent.conversation)?;
        let posted = self
            .client
            .post_message(channel, blocks::message_payload(message), Some(&parent.id))
            .await?;
        Ok(MessageRef::new(
            ConversationRef::new(Platform::Slack, posted.channel),
            posted.ts,
        ))
    }

    async fn update_message(&self, message: &MessageRef, content: &Message) -> AdapterResult<()> {
        let channel = slack_channel(&message.conversation)?;
        self.client
            .update_message(channel, &message.id, blocks::message_payload(content))
            .await?;
        Ok(())
    }

    async fn create_conversation(&self, spec: &NewConversation) -> AdapterResult<ConversationRef> {
        let base = format!("{}{}", self.channel_prefix, spec.name);
        let mut created = None;
        for attempt in 1..=NAME_ATTEMPTS {
            // Someone may already have a channel by that name (an old
            // incident's, or a person's): number the next one.
            let name = if attempt == 1 {
                base.clone()
            } else {
                format!("{base}-{attempt}")
            };
            match self.client.create_conversation(&name, spec.private).await {
                Ok(channel) => {
                    created = Some(channel);
                    break;
                }
                Err(error) if error.code() == Some("name_taken") => continue,
                Err(error) => return Err(error.into()),
            }
        }
        let channel = created
            .ok_or_else(|| AdapterError::Rejected(format!("every name like {base} is taken")))?;
        let conversation = ConversationRef::new(Platform::Slack, channel.id);
        let users = self.slack_users(&spec.invite);
        if !users.is_empty() {
            self.client.invite(&conversation.id, &users).await?;
        }
        if !spec.topic.is_empty() {
            self.client.set_topic(&conversation.id, &spec.topic).await?;
        }
        Ok(conversation)
    }

    async fn invite(&self, conversation: &ConversationRef, users: &[UserRef]) -> AdapterResult<()> {
        let channel = slack_channel(conversation)?;
        let users = self.slack_users(users);
        if users.is_empty() {
            return Ok(());
        }
        Ok(self.client.invite(channel, &users).await?)
    }

    async fn rename_conversation(
        &self,
        conversation: &ConversationRef,
        name: &str,
    ) -> AdapterResult<()> {
        let channel = slack_channel(conversation)?;
        Ok(self
            .client
            .rename(channel, &format!("{}{name}", self.channel_prefix))
            .await?)
    }

    async fn set_topic(&self, conversation: &ConversationRef, topic: &str) -> AdapterResult<()> {
        let channel = slack_channel(conversation)?;
        Ok(self.client.set_topic(channel, topic).await?)
    }

    async fn pin(&self, message: &MessageRef) -> AdapterResult<()> {
        let channel = slack_channel(&message.conversation)?;
        Ok(self.client.pin(channel, &message.id).await?)
    }

    async fn open_form(
        &self,
        _user: &UserRef,
        trigger: Option<&str>,
        form: &Form,
    ) -> AdapterResult<()> {
        let trigger = trigger.ok_or(AdapterError::Unsupported(
            "a Slack modal needs the trigger_id of an interaction",
        ))?;
        self.client
            .open_view(trigger, blocks::modal_view(form, ""))
            .await?;
        Ok(())
    }

    async fn display_name(&self, user: &UserRef) -> Option<String> {
        if user.platform != Platform::Slack {
            return None;
        }
        // Cached by the client, so a busy incident asks Slack once per person.
        match self.client.user_info(&user.id).await {
            Ok(info) => Some(info.preferred_name().to_owned()),
            Err(error) => {
                tracing::debug!(platform = "slack", %error, "no display name");
                None
            }
        }
    }

    fn conversation_link(&self, conversation: &ConversationRef) -> Option<String> {
        let team = self.team_id.as_deref()?;
        Some(format!(
            "https://app.slack.com/client/{team}/{}",
            conversation.id
        ))
    }
}
