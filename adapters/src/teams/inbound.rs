//! Bot Framework activities (as `POST /teams/messages` stores them) turned
//! into [`ChatEvent`]s.
//!
//! In a channel Teams only sends the bot messages that @mention it, so a
//! message that mentions the bot is a command once the `<at>…</at>` of
//! that mention is removed; in a 1:1 chat every message is. Other people's
//! mentions become `@<their id>`, the grammar's form.

use super::cards::{self, Submission};
use crate::adapter::{AdapterError, AdapterResult};
use crate::event::{ChatEvent, ChatEventKind};
use crate::refs::{ConversationRef, MessageRef, Platform, UserRef};
use serde_json::Value;

/// The activity's id, which makes a redelivery recognisable.
pub fn activity_id(activity: &Value) -> Option<&str> {
    activity["id"].as_str().filter(|id| !id.is_empty())
}

/// What a channel message's conversation is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Threads {
    /// Each thread (`19:…@thread.tacv2;messageid=…`) is a conversation:
    /// incidents live in threads of the incidents channel.
    #[default]
    AreConversations,
    /// Incidents have channels of their own: every thread of a channel is
    /// that channel's conversation, except in the incidents channel, where
    /// each thread still stands alone.
    BelongToTheirChannel { incidents_channel: Option<String> },
}

impl Threads {
    fn conversation<'a>(&self, id: &'a str) -> &'a str {
        let Threads::BelongToTheirChannel { incidents_channel } = self else {
            return id;
        };
        match id.split_once(";messageid=") {
            Some((channel, _)) if Some(channel) != incidents_channel.as_deref() => channel,
            _ => id,
        }
    }
}

pub fn decode(payload: &str, threads: &Threads) -> AdapterResult<Vec<ChatEvent>> {
    let activity: Value = serde_json::from_str(payload)
        .map_err(|error| AdapterError::Decode(format!("Teams activity: {error}")))?;
    let id = activity_id(&activity)
        .ok_or_else(|| AdapterError::Decode("a Teams activity needs an `id`".into()))?
        .to_owned();
    let Some(conversation_id) = activity["conversation"]["id"].as_str() else {
        return Err(AdapterError::Decode(
            "a Teams activity needs a conversation".into(),
        ));
    };
    let conversation = ConversationRef::new(Platform::Teams, threads.conversation(conversation_id));
    let bot = activity["recipient"]["id"].as_str().unwrap_or_default();
    let Some(user) = person(&activity["from"]) else {
        return Ok(Vec::new());
    };
    if user.id == bot {
        return Ok(Vec::new());
    }
    let one = |kind| {
        Ok(vec![ChatEvent {
            platform: Platform::Teams,
            event_id: id.clone(),
            kind,
        }])
    };
    let reply_to = activity["replyToId"]
        .as_str()
        .map(|parent| MessageRef::new(conversation.clone(), parent));
    match activity["type"].as_str() {
        Some("message") | Some("invoke") if has_submission(&activity) => {
            let value = if activity["type"] == "invoke" {
                &activity["value"]["action"]["data"]
            } else {
                &activity["value"]
            };
            match cards::parse_submission(value) {
                Some(Submission::Button { action_id, value }) => {
                    one(ChatEventKind::ButtonPressed {
                        conversation,
                        user,
                        action_id,
                        value,
                        message: reply_to,
                        trigger: None,
                    })
                }
                Some(Submission::Form { form_id, values }) => one(ChatEventKind::FormSubmitted {
                    conversation: Some(conversation),
                    user,
                    form_id,
                    values,
                }),
                None => Ok(Vec::new()),
            }
        }
        Some("message") => {
            let Some(html) = activity["text"].as_str() else {
                return Ok(Vec::new());
            };
            let (text, addressed) = readable_text(html, &activity, bot);
            let personal = activity["conversation"]["conversationType"] == "personal";
            let message = MessageRef::new(conversation.clone(), id.clone());
            if addressed || personal {
                let text = if text.is_empty() {
                    "help".to_owned()
                } else {
                    text
                };
                one(ChatEventKind::Command {
                    conversation,
                    user,
                    text,
                    message: Some(message),
                })
            } else {
                one(ChatEventKind::Message {
                    conversation,
                    user,
                    text,
                    message,
                })
            }
        }
        Some("messageReaction") => {
            let Some(message) = reply_to else {
                return Ok(Vec::new());
            };
            let reactions = activity["reactionsAdded"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            Ok(reactions
                .iter()
                .filter_map(|reaction| reaction["type"].as_str())
                .map(|kind| ChatEvent {
                    platform: Platform::Teams,
                    event_id: format!("{id}/{kind}"),
                    kind: ChatEventKind::ReactionAdded {
                        user: user.clone(),
                        message: message.clone(),
                        reaction: reaction_name(kind),
                        text: None,
                    },
                })
                .collect())
        }
        Some("conversationUpdate") => {
            let joined = activity["membersAdded"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            Ok(joined
                .iter()
                .filter_map(person)
                .filter(|member| member.id != bot)
                .map(|member| ChatEvent {
                    platform: Platform::Teams,
                    event_id: format!("{id}/{}", member.id),
                    kind: ChatEventKind::UserJoined {
                        conversation: conversation.clone(),
                        user: member,
                    },
                })
                .collect())
        }
        _ => Ok(Vec::new()),
    }
}

fn has_submission(activity: &Value) -> bool {
    activity["value"].is_object()
}

/// Teams' newer reactions name the emoji (`1f4cc_pushpin`); the part
/// after the code point is the name the pin reactions are configured by.
fn reaction_name(kind: &str) -> String {
    match kind.split_once('_') {
        Some((code, name)) if code.chars().all(|c| c.is_ascii_hexdigit()) => name.to_owned(),
        _ => kind.to_owned(),
    }
}

fn person(from: &Value) -> Option<UserRef> {
    let id = from["id"].as_str().filter(|id| !id.is_empty())?;
    let user = UserRef::new(Platform::Teams, id);
    Some(match from["name"].as_str() {
        Some(name) if !name.is_empty() => user.with_name(name),
        _ => user,
    })
}

/// The message as text: the bot's mention removed (and whether there was
/// one), other mentions as `@<id>`, HTML tags dropped, entities decoded.
pub fn readable_text(html: &str, activity: &Value, bot: &str) -> (String, bool) {
    let mut text = html.to_owned();
    let mut addressed = false;
    let entities = activity["entities"].as_array().cloned().unwrap_or_default();
    for entity in entities.iter().filter(|entity| entity["type"] == "mention") {
        let (Some(mention), Some(id)) =
            (entity["text"].as_str(), entity["mentioned"]["id"].as_str())
        else {
            continue;
        };
        let replacement = if id == bot {
            addressed = true;
            String::new()
        } else {
            format!("@{id}")
        };
        text = text.replacen(mention, &replacement, 1);
    }
    (
        strip_html(&text)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        addressed,
    )
}

fn strip_html(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> &'static str {
        match name {
            "channel_mention" => include_str!("fixtures/message_channel_mention.json"),
            "personal" => include_str!("fixtures/message_personal.json"),
            "submit" => include_str!("fixtures/message_card_submit.json"),
            "reaction" => include_str!("fixtures/message_reaction.json"),
            "members" => include_str!("fixtures/conversation_update.json"),
            other => panic!("no fixture {other}"),
        }
    }

    fn kinds(name: &str) -> Vec<ChatEventKind> {
        decode(fixture(name), &Threads::AreConversations)
            .expect("decodes")
            .into_iter()
            .map(|event| event.kind)
            .collect()
    }

    #[test]
    fn a_mention_of_the_bot_is_a_command_and_other_mentions_are_ids() {
        let decoded = kinds("channel_mention");
        let [ChatEventKind::Command {
            text,
            user,
            conversation,
            ..
        }] = decoded.as_slice()
        else {
            panic!("a command: {decoded:?}");
        };
        assert_eq!(text, "lead @29:1ana");
        assert_eq!(user.display(), "Bo Jansen");
        assert_eq!(
            conversation.id,
            "19:incidents@thread.tacv2;messageid=1700000000000"
        );
    }

    #[test]
    fn every_message_in_a_personal_chat_is_a_command() {
        assert!(matches!(
            kinds("personal").as_slice(),
            [ChatEventKind::Command { text, .. }] if text == "help"
        ));
    }

    #[test]
    fn a_card_submission_is_a_form_or_a_button() {
        assert!(matches!(
            kinds("submit").as_slice(),
            [ChatEventKind::FormSubmitted { form_id, values, .. }]
                if form_id == "incident.declare" && values.get("title").map(String::as_str) == Some("Payments failing")
        ));
    }

    #[test]
    fn reactions_and_joins_are_events() {
        assert!(matches!(
            kinds("reaction").as_slice(),
            [ChatEventKind::ReactionAdded { reaction, message, .. }]
                if reaction == "pushpin" && message.id == "1700000000123"
        ));
        let joined = kinds("members");
        assert!(
            matches!(
                joined.as_slice(),
                [ChatEventKind::UserJoined { user, .. }] if user.id == "29:1carol"
            ),
            "the bot's own arrival is not a join: {joined:?}"
        );
    }

    #[test]
    fn broken_activities_are_errors_not_panics() {
        let threads = Threads::AreConversations;
        assert!(decode("nope", &threads).is_err());
        assert!(decode(r#"{"type": "message"}"#, &threads).is_err());
        assert!(decode(
            r#"{"id": "1", "type": "message", "conversation": {"id": "c"}}"#,
            &threads
        )
        .expect("no sender")
        .is_empty());
    }

    #[test]
    fn with_channels_per_incident_a_thread_belongs_to_its_channel() {
        let threads = Threads::BelongToTheirChannel {
            incidents_channel: Some("19:incidents@thread.tacv2".into()),
        };
        assert_eq!(
            threads.conversation("19:inc-7@thread.tacv2;messageid=42"),
            "19:inc-7@thread.tacv2"
        );
        assert_eq!(
            threads.conversation("19:incidents@thread.tacv2;messageid=42"),
            "19:incidents@thread.tacv2;messageid=42",
            "declares in the incidents channel are answered in their thread"
        );
        assert_eq!(threads.conversation("a:1personal"), "a:1personal");
        assert_eq!(
            Threads::AreConversations.conversation("19:inc-7@thread.tacv2;messageid=42"),
            "19:inc-7@thread.tacv2;messageid=42"
        );
    }
}
