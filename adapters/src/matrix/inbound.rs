//! Matrix room events, as stored in the durable inbox, turned into
//! [`ChatEvent`]s.
//!
//! A message is a command when it starts with the command prefix
//! (`!incident severity 1`) or addresses the bot by a leading mention
//! (`Firebreak: severity 1`, or a pill). Mentions of people inside a
//! command become `@<user id>`, the grammar's form. The bot's own events,
//! notices (how bots talk, so two bots cannot loop) and edits are not
//! commands.

use crate::adapter::{AdapterError, AdapterResult};
use crate::event::{ChatEvent, ChatEventKind};
use crate::refs::{ConversationRef, MessageRef, Platform, UserRef};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One room event as the sync loop stores it in the durable inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub room_id: String,
    pub event: Value,
    /// The text of events this one points at (a reaction's or a pin's
    /// target), read by the sync loop, by event id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub related: BTreeMap<String, String>,
}

impl StoredEvent {
    pub fn to_payload(&self) -> String {
        // A struct of strings and JSON values always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_payload(payload: &str) -> AdapterResult<Self> {
        serde_json::from_str(payload)
            .map_err(|error| AdapterError::Decode(format!("stored Matrix event: {error}")))
    }

    pub fn event_id(&self) -> Option<&str> {
        self.event["event_id"].as_str()
    }

    pub fn sender(&self) -> Option<&str> {
        self.event["sender"].as_str()
    }

    /// Events whose text [`decode`] would put on the timeline: a
    /// reaction's target, the newly pinned messages.
    pub fn wants_related(&self) -> Vec<String> {
        match self.event["type"].as_str() {
            Some("m.reaction") => annotation(&self.event)
                .map(|(target, _)| vec![target.to_owned()])
                .unwrap_or_default(),
            Some("m.room.pinned_events") => newly_pinned(&self.event),
            _ => Vec::new(),
        }
    }
}

/// Who the bot is on the homeserver, to tell commands from chatter.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `@firebreak:example.org`
    pub user_id: String,
    pub display_name: Option<String>,
    /// The word that addresses the bot, e.g. `!incident`.
    pub command_prefix: String,
}

impl Identity {
    fn localpart(&self) -> &str {
        self.user_id
            .trim_start_matches('@')
            .split(':')
            .next()
            .unwrap_or_default()
    }
}

pub fn decode(payload: &str, me: &Identity) -> AdapterResult<Vec<ChatEvent>> {
    let stored = StoredEvent::from_payload(payload)?;
    let event = &stored.event;
    let (Some(event_id), Some(sender)) = (stored.event_id(), stored.sender()) else {
        return Err(AdapterError::Decode(
            "a Matrix event needs `event_id` and `sender`".into(),
        ));
    };
    if sender == me.user_id {
        return Ok(Vec::new());
    }
    let conversation = ConversationRef::new(Platform::Matrix, stored.room_id.clone());
    let user = UserRef::new(Platform::Matrix, sender);
    let one = |kind| {
        Ok(vec![ChatEvent {
            platform: Platform::Matrix,
            event_id: event_id.to_owned(),
            kind,
        }])
    };
    match event["type"].as_str() {
        Some("m.room.message") => {
            let msgtype = event["content"]["msgtype"].as_str();
            let is_edit = event["content"]["m.relates_to"]["rel_type"] == "m.replace";
            if is_edit || !matches!(msgtype, Some("m.text" | "m.emote")) {
                return Ok(Vec::new());
            }
            let Some(text) = message_text(event) else {
                return Ok(Vec::new());
            };
            let message = MessageRef::new(conversation.clone(), event_id);
            match command_text(&text, event, me) {
                Some(command) => one(ChatEventKind::Command {
                    conversation,
                    user,
                    text: command,
                    message: Some(message),
                }),
                None => one(ChatEventKind::Message {
                    conversation,
                    user,
                    text,
                    message,
                }),
            }
        }
        Some("m.reaction") => {
            let Some((target, key)) = annotation(event) else {
                tracing::debug!(
                    platform = "matrix",
                    event_id,
                    "a reaction without an annotation"
                );
                return Ok(Vec::new());
            };
            one(ChatEventKind::ReactionAdded {
                user,
                message: MessageRef::new(conversation, target),
                reaction: key.to_owned(),
                text: stored.related.get(target).cloned(),
            })
        }
        Some("m.room.pinned_events") => Ok(newly_pinned(event)
            .into_iter()
            .map(|pinned| ChatEvent {
                platform: Platform::Matrix,
                event_id: format!("{event_id}/{pinned}"),
                kind: ChatEventKind::MessagePinned {
                    user: user.clone(),
                    text: stored.related.get(&pinned).cloned(),
                    message: MessageRef::new(conversation.clone(), pinned),
                },
            })
            .collect()),
        Some("m.room.member") => {
            let joined = event["content"]["membership"] == "join";
            // A display-name change is a join after a join.
            let was_joined = event["unsigned"]["prev_content"]["membership"] == "join";
            let Some(member) = event["state_key"].as_str() else {
                return Ok(Vec::new());
            };
            if !joined || was_joined || member == me.user_id {
                return Ok(Vec::new());
            }
            let mut user = UserRef::new(Platform::Matrix, member);
            if let Some(name) = event["content"]["displayname"].as_str() {
                user = user.with_name(name);
            }
            one(ChatEventKind::UserJoined { conversation, user })
        }
        Some("m.room.name") => match event["content"]["name"].as_str() {
            Some(name) if !name.is_empty() => one(ChatEventKind::ConversationRenamed {
                conversation,
                name: name.to_owned(),
            }),
            _ => Ok(Vec::new()),
        },
        _ => Ok(Vec::new()),
    }
}

/// The command in `text`, if it addresses the bot: after the prefix, or
/// after a leading mention of the bot.
fn command_text(text: &str, event: &Value, me: &Identity) -> Option<String> {
    let text = text.trim();
    if let Some(rest) = strip_word(text, &me.command_prefix) {
        return Some(or_help(rest));
    }
    let mentioned = event["content"]["m.mentions"]["user_ids"]
        .as_array()
        .is_some_and(|ids| ids.iter().any(|id| id == me.user_id.as_str()));
    let pill = format!("@{}", me.user_id.trim_start_matches('@'));
    if let Some(rest) = strip_word(text, &pill) {
        return Some(or_help(rest.trim_start_matches([':', ',']).trim()));
    }
    // Clients write a mention as the name and a colon in the plain body.
    let names = [me.display_name.as_deref(), Some(me.localpart())];
    for name in names.into_iter().flatten().filter(|name| !name.is_empty()) {
        let Some(head) = text.get(..name.len()) else {
            continue;
        };
        let rest = &text[name.len()..];
        if head.eq_ignore_ascii_case(name) && (rest.starts_with(':') || rest.starts_with(',')) {
            return Some(or_help(rest[1..].trim()));
        }
        if mentioned && head.eq_ignore_ascii_case(name) && rest.starts_with(' ') {
            return Some(or_help(rest.trim()));
        }
    }
    None
}

/// `rest` when `text` starts with `word` (any case) as a whole word.
fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let rest = &text[word.len()..];
    (head.eq_ignore_ascii_case(word)
        && (rest.is_empty()
            || rest.starts_with(char::is_whitespace)
            || rest.starts_with([':', ','])))
    .then_some(rest.trim_start_matches([':', ',']).trim())
}

fn or_help(rest: &str) -> String {
    if rest.is_empty() {
        "help".to_owned()
    } else {
        rest.to_owned()
    }
}

fn annotation(event: &Value) -> Option<(&str, &str)> {
    let relation = &event["content"]["m.relates_to"];
    if relation["rel_type"] != "m.annotation" {
        return None;
    }
    Some((relation["event_id"].as_str()?, relation["key"].as_str()?))
}

fn newly_pinned(event: &Value) -> Vec<String> {
    let ids = |content: &Value| -> Vec<String> {
        content["pinned"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = ids(&event["unsigned"]["prev_content"]);
    ids(&event["content"])
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect()
}

/// What a person reads in an `m.room.message`: the HTML with pills turned
/// into `@<user id>` and the quoted reply dropped, else the plain body
/// without its reply fallback. `None` for other events.
pub fn message_text(event: &Value) -> Option<String> {
    if event["type"] != "m.room.message" {
        return None;
    }
    let content = &event["content"];
    if content["format"] == "org.matrix.custom.html" {
        if let Some(html) = content["formatted_body"].as_str() {
            return Some(html_to_text(html));
        }
    }
    let body = content["body"].as_str()?;
    let mut lines = body.lines().peekable();
    if lines.peek().is_some_and(|line| line.starts_with("> ")) {
        while lines.peek().is_some_and(|line| line.starts_with('>')) {
            lines.next();
        }
        if lines.peek().is_some_and(|line| line.is_empty()) {
            lines.next();
        }
    }
    Some(lines.collect::<Vec<_>>().join("\n"))
}

/// Plain text of Matrix HTML: pills to `@<user id>`, `<mx-reply>` and tags
/// dropped, line breaks kept, entities decoded.
fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    // Inside a pill: its link text is replaced by the user id.
    let mut in_pill = false;
    while let Some(start) = rest.find('<') {
        if !in_pill {
            out.push_str(&decode_entities(&rest[..start]));
        }
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[start + 1..start + end];
        rest = &rest[start + end + 1..];
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let closing = tag.starts_with('/');
        match name.as_str() {
            "mx-reply" if !closing => {
                rest = match rest.find("</mx-reply>") {
                    Some(at) => &rest[at + "</mx-reply>".len()..],
                    None => "",
                };
            }
            "a" if !closing => {
                if let Some(user) = pill_target(tag) {
                    out.push('@');
                    out.push_str(&user);
                    in_pill = true;
                }
            }
            "a" => in_pill = false,
            "br" => out.push('\n'),
            "p" | "div" | "li" if closing => out.push('\n'),
            _ => {}
        }
    }
    if !in_pill {
        out.push_str(&decode_entities(rest));
    }
    out.trim().to_owned()
}

/// The user id a `<a href="https://matrix.to/#/@user:server">` points at.
fn pill_target(tag: &str) -> Option<String> {
    let href_at = tag.find("href=")?;
    let value = &tag[href_at + 5..];
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &value[1..];
    let url = &value[..value.find(quote)?];
    let target = url.strip_prefix("https://matrix.to/#/")?;
    let target = percent_decode(target.split('?').next().unwrap_or_default());
    target.starts_with('@').then(|| target[1..].to_owned())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn me() -> Identity {
        Identity {
            user_id: "@firebreak:localhost".into(),
            display_name: Some("Firebreak".into()),
            command_prefix: "!incident".into(),
        }
    }

    fn fixture(name: &str) -> Value {
        let text = match name {
            "text" => include_str!("fixtures/text.json"),
            "pill" => include_str!("fixtures/pill_mention.json"),
            "reply" => include_str!("fixtures/reply.json"),
            "notice" => include_str!("fixtures/notice.json"),
            "edit" => include_str!("fixtures/edit.json"),
            "reaction" => include_str!("fixtures/reaction.json"),
            "pinned" => include_str!("fixtures/pinned_events.json"),
            "join" => include_str!("fixtures/member_join.json"),
            "rename" => include_str!("fixtures/member_displayname.json"),
            "name" => include_str!("fixtures/room_name.json"),
            other => panic!("no fixture {other}"),
        };
        serde_json::from_str(text).expect("fixture is JSON")
    }

    fn stored(event: Value) -> String {
        StoredEvent {
            room_id: "!room:localhost".into(),
            event,
            related: BTreeMap::new(),
        }
        .to_payload()
    }

    fn with_body(body: &str) -> Value {
        let mut event = fixture("text");
        event["content"]["body"] = body.into();
        event
    }

    fn decoded(event: Value) -> Vec<ChatEventKind> {
        decode(&stored(event), &me())
            .expect("decodes")
            .into_iter()
            .map(|event| event.kind)
            .collect()
    }

    fn command(body: &str) -> Option<String> {
        match decoded(with_body(body)).pop()? {
            ChatEventKind::Command { text, .. } => Some(text),
            _ => None,
        }
    }

    #[test]
    fn the_prefix_and_a_leading_mention_address_the_bot() {
        assert_eq!(
            command("!incident severity 1").as_deref(),
            Some("severity 1")
        );
        assert_eq!(
            command("  !INCIDENT   status mitigated ").as_deref(),
            Some("status mitigated")
        );
        assert_eq!(command("!incident").as_deref(), Some("help"));
        assert_eq!(command("!incidents are fun"), None);
        assert_eq!(
            command("Firebreak: lead @ana:localhost").as_deref(),
            Some("lead @ana:localhost")
        );
        assert_eq!(
            command("firebreak, severity 2").as_deref(),
            Some("severity 2")
        );
        assert_eq!(
            command("@firebreak:localhost: close").as_deref(),
            Some("close")
        );
        assert_eq!(
            command("ask Firebreak: severity 1"),
            None,
            "a mention mid-sentence is chatter"
        );
        assert_eq!(command("hello"), None);
    }

    #[test]
    fn plain_messages_are_messages_with_their_reference() {
        let kinds = decoded(with_body("The database is failing over"));
        let [ChatEventKind::Message {
            conversation,
            user,
            text,
            message,
        }] = kinds.as_slice()
        else {
            panic!("one message: {kinds:?}");
        };
        assert_eq!(
            conversation,
            &ConversationRef::new(Platform::Matrix, "!room:localhost")
        );
        assert_eq!(user.id, "@ana:localhost");
        assert_eq!(text, "The database is failing over");
        assert_eq!(message.id, "$text:localhost");
    }

    #[test]
    fn pills_become_user_ids_and_a_bot_pill_addresses_the_bot() {
        let kinds = decoded(fixture("pill"));
        assert_eq!(
            kinds,
            [ChatEventKind::Command {
                conversation: ConversationRef::new(Platform::Matrix, "!room:localhost"),
                user: UserRef::new(Platform::Matrix, "@ana:localhost"),
                text: "lead @bo:localhost".into(),
                message: Some(MessageRef::new(
                    ConversationRef::new(Platform::Matrix, "!room:localhost"),
                    "$pill:localhost"
                )),
            }]
        );
    }

    #[test]
    fn the_quoted_reply_is_not_part_of_the_text() {
        let event = fixture("reply");
        assert_eq!(
            message_text(&event).as_deref(),
            Some("!incident severity 2")
        );
        let mut plain = event.clone();
        plain["content"]
            .as_object_mut()
            .expect("object")
            .remove("formatted_body");
        assert_eq!(
            message_text(&plain).as_deref(),
            Some("!incident severity 2")
        );
        assert_eq!(
            command_text("!incident severity 2", &event, &me()).as_deref(),
            Some("severity 2")
        );
    }

    #[test]
    fn own_events_notices_and_edits_are_never_commands() {
        let mut own = with_body("!incident close");
        own["sender"] = "@firebreak:localhost".into();
        assert!(decoded(own).is_empty());
        assert!(decoded(fixture("notice")).is_empty());
        assert!(decoded(fixture("edit")).is_empty());
    }

    #[test]
    fn a_reaction_carries_its_key_and_the_target_text() {
        let payload = StoredEvent {
            room_id: "!room:localhost".into(),
            event: fixture("reaction"),
            related: BTreeMap::from([("$text:localhost".to_owned(), "DB failover".to_owned())]),
        };
        assert_eq!(payload.wants_related(), ["$text:localhost"]);
        let events = decode(&payload.to_payload(), &me()).expect("decodes");
        assert_eq!(
            events[0].kind,
            ChatEventKind::ReactionAdded {
                user: UserRef::new(Platform::Matrix, "@ana:localhost"),
                message: MessageRef::new(
                    ConversationRef::new(Platform::Matrix, "!room:localhost"),
                    "$text:localhost"
                ),
                reaction: "📌".into(),
                text: Some("DB failover".into()),
            }
        );
    }

    #[test]
    fn only_newly_pinned_messages_are_pins() {
        let payload = StoredEvent {
            room_id: "!room:localhost".into(),
            event: fixture("pinned"),
            related: BTreeMap::new(),
        };
        assert_eq!(payload.wants_related(), ["$new:localhost"]);
        let events = decode(&payload.to_payload(), &me()).expect("decodes");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_id, "$pins:localhost/$new:localhost");
        assert!(matches!(
            &events[0].kind,
            ChatEventKind::MessagePinned { message, text: None, .. } if message.id == "$new:localhost"
        ));
    }

    #[test]
    fn a_join_is_a_join_but_a_name_change_is_not() {
        assert_eq!(
            decoded(fixture("join")),
            [ChatEventKind::UserJoined {
                conversation: ConversationRef::new(Platform::Matrix, "!room:localhost"),
                user: UserRef::new(Platform::Matrix, "@bo:localhost").with_name("Bo"),
            }]
        );
        assert!(decoded(fixture("rename")).is_empty());
        assert_eq!(
            decoded(fixture("name")),
            [ChatEventKind::ConversationRenamed {
                conversation: ConversationRef::new(Platform::Matrix, "!room:localhost"),
                name: "war room".into(),
            }]
        );
    }

    #[test]
    fn unknown_and_broken_input_is_handled_without_panicking() {
        assert!(decoded(
            json!({"type": "m.call.invite", "event_id": "$c", "sender": "@a:b", "content": {}})
        )
        .is_empty());
        assert!(decoded(
            json!({"type": "m.reaction", "event_id": "$r", "sender": "@a:b", "content": {}})
        )
        .is_empty());
        assert!(decode("not json", &me()).is_err());
        assert!(decode(
            r#"{"room_id": "!r:x", "event": {"type": "m.room.message"}}"#,
            &me()
        )
        .is_err());
        for html in [
            "<a href=",
            "<<<>",
            "&#xFFFFFFFF; &bogus; &",
            "<a href=\"https://matrix.to/#/%ZZ\">x",
        ] {
            let _ = html_to_text(html);
        }
        assert_eq!(
            html_to_text("a &amp; b &lt;c&gt; &#39;d&#x27;<br>e"),
            "a & b <c> 'd'\ne"
        );
    }
}
