//! Verified Slack requests, turned into the neutral [`ChatEvent`] model.
//!
//! Slack calls us three ways: the Events API (a JSON body), slash commands
//! (a form body) and interactivity (a form body whose `payload` field holds
//! JSON). The HTTP routes verify the signature, then call [`classify`] to
//! decide on the spot whether to answer a `url_verification` challenge,
//! store the request in the durable inbox (and under which dedupe key), or
//! ignore it. Each inbox row holds a [`StoredRequest`]: the kind and the
//! raw verified body. [`decode`] runs later, when the row is processed, so a
//! parser fix can be replayed over rows already stored.
//!
//! Wire formats, mirrored by the private `Wire*` types below:
//! <https://api.slack.com/apis/events-api#callback-field>,
//! <https://api.slack.com/events>,
//! <https://api.slack.com/interactivity/slash-commands#app_command_handling>,
//! <https://api.slack.com/reference/interaction-payloads>.
//!
//! Every enum of Slack types here ends in a catch-all: Slack adds event
//! and payload types without notice, and an unknown one must be
//! acknowledged and skipped, never fail the whole payload.

use crate::adapter::AdapterError;
use crate::event::{ChatEvent, ChatEventKind};
use crate::refs::{ConversationRef, MessageRef, Platform, UserRef};
use crate::slack::ids::{ChannelId, TeamId, TriggerId, Ts, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which of Slack's three request URLs a body arrived on; it decides how
/// the body is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Events API: a JSON body.
    Events,
    /// Slash command: a form-encoded body.
    Command,
    /// Interactivity: a form-encoded body with a `payload` field of JSON.
    Interaction,
}

/// One durable-inbox row's payload, stored as JSON. `body` is the raw
/// verified request body, untouched, so it can be parsed again later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRequest {
    pub kind: RequestKind,
    pub body: String,
}

impl StoredRequest {
    pub fn new(kind: RequestKind, body: impl Into<String>) -> Self {
        Self {
            kind,
            body: body.into(),
        }
    }

    /// The inbox payload text that [`decode`] reads back.
    pub fn to_payload(&self) -> String {
        serde_json::to_string(self).expect("a struct of a unit enum and a string serialises")
    }
}

/// What the route should do with a verified request, decided before
/// answering Slack (which wants an answer within three seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Slack is checking the Events API URL: answer with the challenge and
    /// store nothing.
    UrlVerification { challenge: String },
    /// Store the request in the inbox under `key`. Slack retries
    /// deliveries and sends some things twice (a mention arrives both as
    /// `app_mention` and as `message`), so the inbox keeps one row per key.
    Store { key: String },
    /// Acknowledge and drop: an event type we don't handle, a bot's own
    /// message, or an interaction the routes answer on the fast path
    /// (shortcuts, message actions; see [`parse_interaction`]).
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    #[error("the {what} is not the JSON Slack documents: {reason}")]
    Json { what: &'static str, reason: String },
    #[error("the {what} is not the form data Slack documents: {reason}")]
    Form { what: &'static str, reason: String },
    #[error("the interaction body has no `payload` field")]
    MissingPayload,
    #[error("the interaction payload has no `type`")]
    MissingInteractionType,
}

impl From<InboundError> for AdapterError {
    fn from(error: InboundError) -> Self {
        AdapterError::Decode(error.to_string())
    }
}

/// Decides, at acknowledgement time, what to do with a verified body.
pub fn classify(kind: RequestKind, body: &str) -> Result<Received, InboundError> {
    match kind {
        RequestKind::Events => classify_events(body),
        RequestKind::Command => {
            let command = parse_command(body)?;
            Ok(Received::Store {
                key: command_key(&command.trigger_id),
            })
        }
        RequestKind::Interaction => Ok(match interaction_key(&parse_interaction(body)?) {
            Some(key) => Received::Store { key },
            None => Received::Ignore,
        }),
    }
}

/// Turns one stored inbox payload (a [`StoredRequest`] in JSON) into
/// events. `bot_user_id` is our bot's user id (`auth.test`): messages that
/// start by mentioning it are commands, and what it did itself (its own
/// messages, pins, joins) is dropped because the engine already knows.
/// Without it, only `app_mention` events can be recognised as commands.
pub fn decode(payload: &str, bot_user_id: Option<&str>) -> Result<Vec<ChatEvent>, AdapterError> {
    let stored: StoredRequest = serde_json::from_str(payload)
        .map_err(|error| AdapterError::Decode(format!("not a stored Slack request: {error}")))?;
    let events = match stored.kind {
        RequestKind::Events => decode_events(&stored.body, bot_user_id)?,
        RequestKind::Command => vec![command_event(&parse_command(&stored.body)?)],
        RequestKind::Interaction => interaction_events(parse_interaction(&stored.body)?),
    };
    Ok(events)
}

/// A slash command invocation, as Slack posts it.
/// <https://api.slack.com/interactivity/slash-commands#app_command_handling>
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SlashCommand {
    /// The command typed, with its slash: `/incident`.
    pub command: String,
    /// Everything after the command, exactly as Slack sent it (mentions as
    /// `<@U…|name>`, `&`, `<`, `>` escaped); see [`Self::readable_text`].
    #[serde(default)]
    pub text: String,
    pub user_id: UserId,
    /// Slack marks this deprecated but still sends it; a display name is
    /// better than nothing for the timeline.
    #[serde(default)]
    pub user_name: Option<String>,
    pub channel_id: ChannelId,
    #[serde(default)]
    pub channel_name: Option<String>,
    #[serde(default)]
    pub team_id: Option<TeamId>,
    pub trigger_id: TriggerId,
    #[serde(default)]
    pub response_url: Option<String>,
}

impl SlashCommand {
    /// The command text as a person reads it: `<@U1|ana>` becomes `@U1`,
    /// `<#C1|ops>` becomes `#ops`, links their label, entities unescaped.
    pub fn readable_text(&self) -> String {
        readable(&self.text).trim().to_owned()
    }
}

/// Parses a slash command's form body.
pub fn parse_command(body: &str) -> Result<SlashCommand, InboundError> {
    serde_urlencoded::from_str(body).map_err(|error| InboundError::Form {
        what: "slash command body",
        reason: error.to_string(),
    })
}

/// Who did something in an interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackUser {
    pub id: UserId,
    /// The user's name when the payload carried one.
    pub name: Option<String>,
}

impl SlackUser {
    pub fn to_user_ref(&self) -> UserRef {
        let user = UserRef::new(Platform::Slack, self.id.as_str());
        match &self.name {
            Some(name) => user.with_name(name.clone()),
            None => user,
        }
    }
}

/// One element a `block_actions` payload reports as used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAction {
    pub action_id: String,
    pub block_id: Option<String>,
    /// A button's `value`, or what a select or picker chose.
    pub value: Option<String>,
}

/// An interactivity payload.
/// <https://api.slack.com/reference/interaction-payloads>
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    /// A button (or select, picker) in a message or view was used.
    /// <https://api.slack.com/reference/interaction-payloads/block-actions>
    BlockActions {
        user: SlackUser,
        trigger_id: TriggerId,
        /// Absent when the element sits in a modal rather than a message.
        channel: Option<ChannelId>,
        message_ts: Option<Ts>,
        actions: Vec<BlockAction>,
    },
    /// A modal was submitted.
    /// <https://api.slack.com/reference/interaction-payloads/views#view_submission>
    ViewSubmission {
        user: SlackUser,
        trigger_id: Option<TriggerId>,
        view_id: String,
        /// Changes with every update of the view; with `view_id` it names
        /// one submission.
        view_hash: String,
        callback_id: String,
        private_metadata: String,
        /// The answers, one per block id (our modals use the input id as
        /// block id); how each element type's answer is read is described
        /// at `flatten_state`.
        values: BTreeMap<String, String>,
    },
    /// A global shortcut (from the shortcuts menu).
    /// <https://api.slack.com/reference/interaction-payloads/shortcuts>
    Shortcut {
        callback_id: String,
        trigger_id: TriggerId,
        user: SlackUser,
    },
    /// A message shortcut (from a message's "more actions" menu).
    /// <https://api.slack.com/reference/interaction-payloads/shortcuts>
    MessageAction {
        callback_id: String,
        trigger_id: TriggerId,
        user: SlackUser,
        channel: ChannelId,
        /// The message's text as a person reads it (see
        /// [`SlashCommand::readable_text`]).
        message_text: String,
        message_ts: Ts,
    },
    /// Any other payload type (`view_closed`, `block_suggestion`, …).
    Other { kind: String },
}

/// Parses an interactivity request's form body (its `payload` field).
pub fn parse_interaction(body: &str) -> Result<Interaction, InboundError> {
    let form: InteractionForm =
        serde_urlencoded::from_str(body).map_err(|error| InboundError::Form {
            what: "interaction body",
            reason: error.to_string(),
        })?;
    let payload = form.payload.ok_or(InboundError::MissingPayload)?;
    let json: serde_json::Value =
        serde_json::from_str(&payload).map_err(|error| json_error("interaction payload", error))?;
    let kind = json
        .get("type")
        .and_then(serde_json::Value::as_str)
        .ok_or(InboundError::MissingInteractionType)?
        .to_owned();
    let interaction = match kind.as_str() {
        "block_actions" => {
            let wire: WireBlockActions = from_value(json, "block_actions payload")?;
            // A message's buttons report the channel both ways; elements
            // in a modal report neither.
            let channel = wire
                .channel
                .map(|channel| channel.id)
                .or_else(|| wire.container.as_ref().and_then(|c| c.channel_id.clone()));
            Interaction::BlockActions {
                user: wire.user.into_user(),
                trigger_id: wire.trigger_id,
                channel,
                message_ts: wire.container.and_then(|container| container.message_ts),
                actions: wire
                    .actions
                    .into_iter()
                    .map(|action| BlockAction {
                        value: action.state.answer(),
                        action_id: action.action_id,
                        block_id: action.block_id,
                    })
                    .collect(),
            }
        }
        "view_submission" => {
            let wire: WireViewSubmission = from_value(json, "view_submission payload")?;
            Interaction::ViewSubmission {
                user: wire.user.into_user(),
                trigger_id: wire.trigger_id,
                values: flatten_state(wire.view.state.values),
                view_id: wire.view.id,
                view_hash: wire.view.hash,
                callback_id: wire.view.callback_id,
                private_metadata: wire.view.private_metadata,
            }
        }
        "shortcut" => {
            let wire: WireShortcut = from_value(json, "shortcut payload")?;
            Interaction::Shortcut {
                callback_id: wire.callback_id,
                trigger_id: wire.trigger_id,
                user: wire.user.into_user(),
            }
        }
        "message_action" => {
            let wire: WireMessageAction = from_value(json, "message_action payload")?;
            Interaction::MessageAction {
                callback_id: wire.callback_id,
                trigger_id: wire.trigger_id,
                user: wire.user.into_user(),
                channel: wire.channel.id,
                message_text: readable(wire.message.text.as_deref().unwrap_or_default())
                    .trim()
                    .to_owned(),
                message_ts: wire.message.ts,
            }
        }
        _ => Interaction::Other { kind },
    };
    Ok(interaction)
}

/// What a modal carries in `private_metadata`, so that its submission
/// can be tied back to the conversation it was opened from. Encoded as
/// JSON (`{"channel":"C…"}`) so more fields can be added later; an empty
/// string means no conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelId>,
}

impl ViewMetadata {
    pub fn encode(&self) -> String {
        if self.channel.is_none() {
            return String::new();
        }
        serde_json::to_string(self).expect("a struct of optional strings serialises")
    }

    /// Reads what [`Self::encode`] wrote; anything else (including
    /// metadata written by another version of us) means "no conversation".
    pub fn decode(private_metadata: &str) -> Self {
        serde_json::from_str(private_metadata).unwrap_or_default()
    }
}

/// Flattens a view's `state.values` (block id → action id → element
/// state) to one answer per block id, which is also the input id our
/// modals use. Each element type keeps its answer in a different field:
/// `value` (plain_text_input and the other text inputs),
/// `selected_option.value` (static_select, radio_buttons),
/// `selected_user`, `selected_conversation`, `selected_channel`,
/// `selected_date`, `selected_time`, `selected_date_time`, and for the
/// multi-value elements (checkboxes, multi_*_select) their values joined
/// with `,`. An element left empty gives no entry at all. If a block holds
/// several elements, the first (by action id) with an answer wins.
/// <https://api.slack.com/reference/interaction-payloads/views#view_submission_fields>
fn flatten_state(
    values: BTreeMap<String, BTreeMap<String, WireElementState>>,
) -> BTreeMap<String, String> {
    values
        .into_iter()
        .filter_map(|(block_id, elements)| {
            let answer = elements.into_values().find_map(|state| state.answer())?;
            Some((block_id, answer))
        })
        .collect()
}

/// The state of one element in a view or a `block_actions` action: only
/// the fields that hold an answer, every one optional because each
/// element type uses a different one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct WireElementState {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    selected_option: Option<WireOption>,
    #[serde(default)]
    selected_options: Option<Vec<WireOption>>,
    #[serde(default)]
    selected_user: Option<String>,
    #[serde(default)]
    selected_users: Option<Vec<String>>,
    #[serde(default)]
    selected_conversation: Option<String>,
    #[serde(default)]
    selected_conversations: Option<Vec<String>>,
    #[serde(default)]
    selected_channel: Option<String>,
    #[serde(default)]
    selected_channels: Option<Vec<String>>,
    #[serde(default)]
    selected_date: Option<String>,
    #[serde(default)]
    selected_time: Option<String>,
    #[serde(default)]
    selected_date_time: Option<i64>,
}

impl WireElementState {
    fn answer(&self) -> Option<String> {
        let single = self
            .value
            .clone()
            .or_else(|| self.selected_option.as_ref().map(|o| o.value.clone()))
            .or_else(|| self.selected_user.clone())
            .or_else(|| self.selected_conversation.clone())
            .or_else(|| self.selected_channel.clone())
            .or_else(|| self.selected_date.clone())
            .or_else(|| self.selected_time.clone())
            .or_else(|| self.selected_date_time.map(|unix| unix.to_string()));
        if single.is_some() {
            return single;
        }
        let many: Vec<String> = if let Some(options) = &self.selected_options {
            options.iter().map(|option| option.value.clone()).collect()
        } else {
            [
                &self.selected_users,
                &self.selected_conversations,
                &self.selected_channels,
            ]
            .into_iter()
            .find_map(|list| list.clone())?
        };
        (!many.is_empty()).then(|| many.join(","))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct WireOption {
    value: String,
}

// ---------------------------------------------------------------------
// Events API
// ---------------------------------------------------------------------

/// The outer Events API body.
/// <https://api.slack.com/apis/events-api#callback-field>
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEventsBody {
    UrlVerification {
        challenge: String,
    },
    EventCallback(WireEventCallback),
    /// `app_rate_limited` and whatever Slack adds next.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct WireEventCallback {
    event_id: String,
    event: WireEvent,
}

/// The inner `event`. Only the types we map are spelled out.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    /// <https://api.slack.com/events/app_mention>
    AppMention(WireMessageEvent),
    /// <https://api.slack.com/events/message>
    Message(WireMessageEvent),
    /// <https://api.slack.com/events/reaction_added>
    ReactionAdded(WireReactionAdded),
    /// <https://api.slack.com/events/pin_added>
    PinAdded(WirePinAdded),
    /// <https://api.slack.com/events/member_joined_channel>
    MemberJoinedChannel(WireMemberJoined),
    /// <https://api.slack.com/events/channel_rename>
    ChannelRename(WireChannelRename),
    #[serde(other)]
    Unknown,
}

/// Both `message` and `app_mention`. Every field is optional because
/// message subtypes differ: `message_changed` has no `user` or `text` of
/// its own, `bot_message` has a `bot_id` instead of a `user`.
#[derive(Debug, Deserialize)]
struct WireMessageEvent {
    #[serde(default)]
    channel: Option<ChannelId>,
    #[serde(default)]
    user: Option<UserId>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    ts: Option<Ts>,
    #[serde(default)]
    subtype: Option<String>,
    #[serde(default)]
    bot_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireReactionAdded {
    user: UserId,
    reaction: String,
    item: WireReactionItem,
}

/// What was reacted to: `{"type":"message","channel","ts"}`, or (in old
/// payloads) a file or file comment, which we skip.
#[derive(Debug, Deserialize)]
struct WireReactionItem {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    channel: Option<ChannelId>,
    #[serde(default)]
    ts: Option<Ts>,
}

#[derive(Debug, Deserialize)]
struct WirePinAdded {
    user: UserId,
    #[serde(default)]
    channel_id: Option<ChannelId>,
    item: WirePinnedItem,
}

/// A pinned item, as in `pins.list`: for a message,
/// `{"type":"message","channel","message":{…,"ts","text"}}`.
#[derive(Debug, Deserialize)]
struct WirePinnedItem {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    channel: Option<ChannelId>,
    #[serde(default)]
    message: Option<WirePinnedMessage>,
}

#[derive(Debug, Deserialize)]
struct WirePinnedMessage {
    ts: Ts,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireMemberJoined {
    user: UserId,
    channel: ChannelId,
}

#[derive(Debug, Deserialize)]
struct WireChannelRename {
    channel: WireRenamedChannel,
}

#[derive(Debug, Deserialize)]
struct WireRenamedChannel {
    id: ChannelId,
    name: String,
}

/// Just enough of an event callback to store it when the full parse
/// fails, so the raw body is kept for a replay once the parser is fixed.
#[derive(Debug, Deserialize)]
struct WireEventIdOnly {
    event_id: String,
}

/// Message subtypes that are still a person saying something: a file with
/// a comment, a thread reply also sent to the channel, a `/me` line.
/// Every other subtype is bookkeeping (edits, deletes, joins, topic
/// changes, bots) and is skipped.
/// <https://api.slack.com/events/message#subtypes>
const PERSON_SUBTYPES: [&str; 3] = ["file_share", "thread_broadcast", "me_message"];

fn classify_events(body: &str) -> Result<Received, InboundError> {
    let parsed: WireEventsBody = match serde_json::from_str(body) {
        Ok(parsed) => parsed,
        Err(error) => {
            // A known event type in a shape we don't expect: store it under
            // Slack's event id so it can be replayed after a parser fix.
            let Ok(head) = serde_json::from_str::<WireEventIdOnly>(body) else {
                return Err(json_error("Events API body", error));
            };
            tracing::warn!(event_id = %head.event_id, %error, "storing a Slack event we cannot parse yet");
            return Ok(Received::Store {
                key: event_key(&head.event_id),
            });
        }
    };
    Ok(match parsed {
        WireEventsBody::UrlVerification { challenge } => Received::UrlVerification { challenge },
        WireEventsBody::EventCallback(callback) => match &callback.event {
            WireEvent::AppMention(message) | WireEvent::Message(message) => {
                if is_from_a_person(message) {
                    Received::Store {
                        key: message_key(&callback.event_id, message),
                    }
                } else {
                    Received::Ignore
                }
            }
            WireEvent::ReactionAdded(_)
            | WireEvent::PinAdded(_)
            | WireEvent::MemberJoinedChannel(_)
            | WireEvent::ChannelRename(_) => Received::Store {
                key: event_key(&callback.event_id),
            },
            WireEvent::Unknown => Received::Ignore,
        },
        WireEventsBody::Other => Received::Ignore,
    })
}

fn decode_events(body: &str, bot_user_id: Option<&str>) -> Result<Vec<ChatEvent>, InboundError> {
    let parsed: WireEventsBody =
        serde_json::from_str(body).map_err(|error| json_error("Events API body", error))?;
    let WireEventsBody::EventCallback(callback) = parsed else {
        return Ok(Vec::new());
    };
    let key = match &callback.event {
        WireEvent::AppMention(message) | WireEvent::Message(message) => {
            message_key(&callback.event_id, message)
        }
        _ => event_key(&callback.event_id),
    };
    let is_bot = |user: &UserId| bot_user_id == Some(user.as_str());
    let kind = match callback.event {
        WireEvent::AppMention(message) => message_event(&message, bot_user_id, true),
        WireEvent::Message(message) => message_event(&message, bot_user_id, false),
        WireEvent::ReactionAdded(reaction) => {
            let WireReactionItem { kind, channel, ts } = reaction.item;
            match (kind.as_str(), channel, ts) {
                ("message", Some(channel), Some(ts)) if !is_bot(&reaction.user) => {
                    Some(ChatEventKind::ReactionAdded {
                        user: user_ref(&reaction.user),
                        message: message_ref(&channel, &ts),
                        reaction: reaction.reaction,
                        text: None,
                    })
                }
                _ => None,
            }
        }
        WireEvent::PinAdded(pin) => {
            let channel = pin.channel_id.or(pin.item.channel);
            match (pin.item.kind.as_deref(), channel, pin.item.message) {
                (Some("message"), Some(channel), Some(message)) if !is_bot(&pin.user) => {
                    Some(ChatEventKind::MessagePinned {
                        user: user_ref(&pin.user),
                        message: message_ref(&channel, &message.ts),
                        text: message.text.map(|text| readable(&text).trim().to_owned()),
                    })
                }
                _ => None,
            }
        }
        WireEvent::MemberJoinedChannel(joined) if !is_bot(&joined.user) => {
            Some(ChatEventKind::UserJoined {
                conversation: conversation_ref(&joined.channel),
                user: user_ref(&joined.user),
            })
        }
        WireEvent::MemberJoinedChannel(_) => None,
        WireEvent::ChannelRename(rename) => Some(ChatEventKind::ConversationRenamed {
            conversation: ConversationRef::new(Platform::Slack, rename.channel.id.to_string()),
            name: rename.channel.name,
        }),
        WireEvent::Unknown => None,
    };
    Ok(kind
        .map(|kind| ChatEvent {
            platform: Platform::Slack,
            event_id: key,
            kind,
        })
        .into_iter()
        .collect())
}

/// Maps a `message` or `app_mention`. A message that opens by mentioning
/// the bot is a command, whichever of the two events carried it: Slack
/// sends both for one message and the inbox keeps whichever came first, so
/// both must map to the same thing. When our bot id is unknown only an
/// `app_mention` (which Slack only sends when we are mentioned) can tell.
fn message_event(
    message: &WireMessageEvent,
    bot_user_id: Option<&str>,
    is_app_mention: bool,
) -> Option<ChatEventKind> {
    if !is_from_a_person(message) {
        return None;
    }
    let (Some(channel), Some(user), Some(ts)) = (&message.channel, &message.user, &message.ts)
    else {
        return None;
    };
    if bot_user_id == Some(user.as_str()) {
        return None;
    }
    let text = message.text.as_deref().unwrap_or_default();
    let addressed = match (bot_user_id, is_app_mention) {
        (Some(bot), _) => strip_address(text, Some(bot)),
        (None, true) => strip_address(text, None),
        (None, false) => None,
    };
    let conversation = conversation_ref(channel);
    let user = user_ref(user);
    let message = message_ref(channel, ts);
    Some(match addressed {
        Some(command) => ChatEventKind::Command {
            conversation,
            user,
            text: readable(command).trim().to_owned(),
            message: Some(message),
        },
        None => ChatEventKind::Message {
            conversation,
            user,
            text: readable(text).trim().to_owned(),
            message,
        },
    })
}

fn is_from_a_person(message: &WireMessageEvent) -> bool {
    message.bot_id.is_none()
        && message
            .subtype
            .as_deref()
            .is_none_or(|subtype| PERSON_SUBTYPES.contains(&subtype))
}

/// If `text` opens with a mention of the bot (of anyone, when the bot's id
/// is unknown), the rest of it; people often write `@bot: declare …`, so
/// one `:` or `,` after the mention goes too.
fn strip_address<'a>(text: &'a str, bot_user_id: Option<&str>) -> Option<&'a str> {
    let inner_and_rest = text.trim_start().strip_prefix("<@")?;
    let (inner, rest) = inner_and_rest.split_once('>')?;
    let mentioned = inner.split('|').next().unwrap_or(inner);
    if mentioned.is_empty() || bot_user_id.is_some_and(|bot| bot != mentioned) {
        return None;
    }
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix(':')
        .or_else(|| rest.strip_prefix(','))
        .unwrap_or(rest);
    Some(rest.trim_start())
}

// ---------------------------------------------------------------------
// Slash commands and interactions
// ---------------------------------------------------------------------

fn command_event(command: &SlashCommand) -> ChatEvent {
    let user = user_ref(&command.user_id);
    let user = match &command.user_name {
        Some(name) => user.with_name(name.clone()),
        None => user,
    };
    ChatEvent {
        platform: Platform::Slack,
        event_id: command_key(&command.trigger_id),
        kind: ChatEventKind::Command {
            conversation: conversation_ref(&command.channel_id),
            user,
            text: command.readable_text(),
            message: None,
        },
    }
}

fn interaction_events(interaction: Interaction) -> Vec<ChatEvent> {
    let Some(key) = interaction_key(&interaction) else {
        return Vec::new();
    };
    let kind = match interaction {
        Interaction::BlockActions {
            user,
            trigger_id,
            channel,
            message_ts,
            actions,
        } => {
            let (Some(channel), Some(action)) = (channel, actions.into_iter().next()) else {
                return Vec::new();
            };
            ChatEventKind::ButtonPressed {
                conversation: conversation_ref(&channel),
                user: user.to_user_ref(),
                action_id: action.action_id,
                value: action.value.unwrap_or_default(),
                message: message_ts.map(|ts| message_ref(&channel, &ts)),
                trigger: Some(trigger_id.as_str().to_owned()),
            }
        }
        Interaction::ViewSubmission {
            user,
            callback_id,
            private_metadata,
            values,
            ..
        } => ChatEventKind::FormSubmitted {
            conversation: ViewMetadata::decode(&private_metadata)
                .channel
                .map(|channel| conversation_ref(&channel)),
            user: user.to_user_ref(),
            form_id: callback_id,
            values,
        },
        Interaction::Shortcut { .. }
        | Interaction::MessageAction { .. }
        | Interaction::Other { .. } => return Vec::new(),
    };
    vec![ChatEvent {
        platform: Platform::Slack,
        event_id: key,
        kind,
    }]
}

/// The inbox dedupe key of an interaction worth storing; `None` for those
/// the routes answer on the fast path or that we don't handle.
fn interaction_key(interaction: &Interaction) -> Option<String> {
    match interaction {
        Interaction::BlockActions {
            trigger_id,
            actions,
            ..
        } if !actions.is_empty() => Some(format!("ia:{trigger_id}")),
        Interaction::ViewSubmission {
            view_id, view_hash, ..
        } => Some(format!("view:{view_id}:{view_hash}")),
        Interaction::BlockActions { .. }
        | Interaction::Shortcut { .. }
        | Interaction::MessageAction { .. }
        | Interaction::Other { .. } => None,
    }
}

#[derive(Debug, Deserialize)]
struct InteractionForm {
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUser {
    id: UserId,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

impl WireUser {
    fn into_user(self) -> SlackUser {
        SlackUser {
            id: self.id,
            name: self.name.or(self.username),
        }
    }
}

#[derive(Debug, Deserialize)]
struct WireChannel {
    id: ChannelId,
}

#[derive(Debug, Deserialize)]
struct WireContainer {
    #[serde(default)]
    channel_id: Option<ChannelId>,
    #[serde(default)]
    message_ts: Option<Ts>,
}

#[derive(Debug, Deserialize)]
struct WireBlockActions {
    user: WireUser,
    trigger_id: TriggerId,
    #[serde(default)]
    channel: Option<WireChannel>,
    #[serde(default)]
    container: Option<WireContainer>,
    #[serde(default)]
    actions: Vec<WireAction>,
}

#[derive(Debug, Deserialize)]
struct WireAction {
    action_id: String,
    #[serde(default)]
    block_id: Option<String>,
    #[serde(flatten)]
    state: WireElementState,
}

#[derive(Debug, Deserialize)]
struct WireViewSubmission {
    user: WireUser,
    #[serde(default)]
    trigger_id: Option<TriggerId>,
    view: WireView,
}

#[derive(Debug, Deserialize)]
struct WireView {
    id: String,
    hash: String,
    #[serde(default)]
    callback_id: String,
    #[serde(default)]
    private_metadata: String,
    #[serde(default)]
    state: WireViewState,
}

#[derive(Debug, Default, Deserialize)]
struct WireViewState {
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, WireElementState>>,
}

#[derive(Debug, Deserialize)]
struct WireShortcut {
    callback_id: String,
    trigger_id: TriggerId,
    user: WireUser,
}

#[derive(Debug, Deserialize)]
struct WireMessageAction {
    callback_id: String,
    trigger_id: TriggerId,
    user: WireUser,
    channel: WireChannel,
    message: WireActionMessage,
}

#[derive(Debug, Deserialize)]
struct WireActionMessage {
    ts: Ts,
    #[serde(default)]
    text: Option<String>,
}

// ---------------------------------------------------------------------
// Keys, references and text
// ---------------------------------------------------------------------

/// One message is one key, however many events announce it.
fn message_key(event_id: &str, message: &WireMessageEvent) -> String {
    match (&message.channel, &message.ts) {
        (Some(channel), Some(ts)) => format!("msg:{channel}:{ts}"),
        _ => event_key(event_id),
    }
}

fn event_key(event_id: &str) -> String {
    format!("ev:{event_id}")
}

fn command_key(trigger_id: &TriggerId) -> String {
    format!("cmd:{trigger_id}")
}

fn conversation_ref(channel: &ChannelId) -> ConversationRef {
    ConversationRef::new(Platform::Slack, channel.as_str())
}

fn user_ref(user: &UserId) -> UserRef {
    UserRef::new(Platform::Slack, user.as_str())
}

fn message_ref(channel: &ChannelId, ts: &Ts) -> MessageRef {
    MessageRef::new(conversation_ref(channel), ts.as_str())
}

fn json_error(what: &'static str, error: serde_json::Error) -> InboundError {
    InboundError::Json {
        what,
        reason: error.to_string(),
    }
}

fn from_value<T: serde::de::DeserializeOwned>(
    json: serde_json::Value,
    what: &'static str,
) -> Result<T, InboundError> {
    serde_json::from_value(json).map_err(|error| json_error(what, error))
}

/// Slack's message markup as a person reads it: user mentions `<@U1>` /
/// `<@U1|ana>` become `@U1` (the neutral model names people by id),
/// channel mentions `<#C1|ops>` become `#ops`, `<!here>` becomes `@here`,
/// links become their label or, without one, the URL; then `&amp;`,
/// `&lt;`, `&gt;` are unescaped. Every literal `<` in Slack text arrives
/// escaped, so a bare `<` always opens one of these sequences.
/// <https://api.slack.com/reference/surfaces/formatting#retrieving-messages>
fn readable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let Some((inner, after)) = rest[open + 1..].split_once('>') else {
            // Unclosed: not markup Slack wrote, so keep it as it stands.
            break;
        };
        out.push_str(&unescape(&rest[..open]));
        out.push_str(&unescape(&control_sequence(inner)));
        rest = after;
    }
    out.push_str(&unescape(rest));
    out
}

fn control_sequence(inner: &str) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(label)),
        None => (inner, None),
    };
    if let Some(user) = target.strip_prefix('@') {
        return format!("@{user}");
    }
    if let Some(channel) = target.strip_prefix('#') {
        return format!("#{}", label.unwrap_or(channel));
    }
    if let Some(special) = target.strip_prefix('!') {
        // `<!subteam^S1|@oncall>` and `<!date^…|Feb 18>` carry their own
        // readable fallback; `<!here>`, `<!channel>` do not.
        return match label {
            Some(label) => label.to_owned(),
            None => format!("@{}", special.split('^').next().unwrap_or(special)),
        };
    }
    label.unwrap_or(target).to_owned()
}

/// Undoes Slack's three escapes in one pass, so `&amp;lt;` stays `&lt;`.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let (replacement, consumed) = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')]
            .into_iter()
            .find(|(entity, _)| tail.starts_with(entity))
            .map_or(('&', 1), |(entity, ch)| (ch, entity.len()));
        out.push(replacement);
        rest = &tail[consumed..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: &str = "U0LAN0Z89";

    fn stored(kind: RequestKind, body: &str) -> String {
        StoredRequest::new(kind, body).to_payload()
    }

    fn decode_with_bot(kind: RequestKind, body: &str) -> Vec<ChatEvent> {
        decode(&stored(kind, body), Some(BOT)).expect("a Slack fixture decodes")
    }

    /// An interaction body as Slack posts it: the JSON in a `payload` form
    /// field.
    fn interaction_body(payload_json: &str) -> String {
        serde_urlencoded::to_string([("payload", payload_json)]).expect("form-encodes")
    }

    fn slack_user(id: &str) -> UserRef {
        UserRef::new(Platform::Slack, id)
    }

    fn slack_channel(id: &str) -> ConversationRef {
        ConversationRef::new(Platform::Slack, id)
    }

    fn slack_message(channel: &str, ts: &str) -> MessageRef {
        MessageRef::new(slack_channel(channel), ts)
    }

    fn slack_event(event_id: &str, kind: ChatEventKind) -> ChatEvent {
        ChatEvent {
            platform: Platform::Slack,
            event_id: event_id.to_owned(),
            kind,
        }
    }

    const URL_VERIFICATION: &str = include_str!("fixtures/url_verification.json");
    const APP_MENTION: &str = include_str!("fixtures/app_mention.json");
    const MESSAGE: &str = include_str!("fixtures/message.json");
    const MESSAGE_BOT_MENTION: &str = include_str!("fixtures/message_bot_mention.json");
    const MESSAGE_BOT_MESSAGE: &str = include_str!("fixtures/message_bot_message.json");
    const MESSAGE_CHANGED: &str = include_str!("fixtures/message_changed.json");
    const REACTION_ADDED: &str = include_str!("fixtures/reaction_added.json");
    const PIN_ADDED: &str = include_str!("fixtures/pin_added.json");
    const MEMBER_JOINED: &str = include_str!("fixtures/member_joined_channel.json");
    const CHANNEL_RENAME: &str = include_str!("fixtures/channel_rename.json");
    const UNKNOWN_EVENT: &str = include_str!("fixtures/unknown_event.json");
    const SLASH_COMMAND: &str = include_str!("fixtures/slash_command.txt");
    const BLOCK_ACTIONS: &str = include_str!("fixtures/block_actions.json");
    const VIEW_SUBMISSION: &str = include_str!("fixtures/view_submission.json");
    const SHORTCUT: &str = include_str!("fixtures/shortcut.json");
    const MESSAGE_ACTION: &str = include_str!("fixtures/message_action.json");

    const DECLARE_TEXT: &str = "declare sev1 Checkout & payments failing, cc @U024BE7LH";

    // --- classify -----------------------------------------------------

    #[test]
    fn url_verification_is_answered_with_its_challenge() {
        assert_eq!(
            classify(RequestKind::Events, URL_VERIFICATION),
            Ok(Received::UrlVerification {
                challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into()
            })
        );
        assert_eq!(
            decode_with_bot(RequestKind::Events, URL_VERIFICATION),
            vec![]
        );
    }

    #[test]
    fn a_mention_and_its_message_event_share_one_dedupe_key() {
        let key = Received::Store {
            key: "msg:C123ABC456:1515449522.000016".into(),
        };
        assert_eq!(classify(RequestKind::Events, APP_MENTION), Ok(key.clone()));
        assert_eq!(classify(RequestKind::Events, MESSAGE_BOT_MENTION), Ok(key));
    }

    #[test]
    fn non_message_events_are_keyed_by_slacks_event_id() {
        for (fixture, key) in [
            (REACTION_ADDED, "ev:Ev0REACTION"),
            (PIN_ADDED, "ev:Ev0PIN"),
            (MEMBER_JOINED, "ev:Ev0JOINED"),
            (CHANNEL_RENAME, "ev:Ev0RENAME"),
        ] {
            assert_eq!(
                classify(RequestKind::Events, fixture),
                Ok(Received::Store { key: key.into() }),
                "{key}"
            );
        }
    }

    #[test]
    fn bot_messages_edits_and_unknown_events_are_acknowledged_and_ignored() {
        for fixture in [MESSAGE_BOT_MESSAGE, MESSAGE_CHANGED, UNKNOWN_EVENT] {
            assert_eq!(classify(RequestKind::Events, fixture), Ok(Received::Ignore));
        }
        let rate_limited = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","type":"app_rate_limited",
            "team_id":"T123456","minute_rate_limited":1518467820,"api_app_id":"A123456"}"#;
        assert_eq!(
            classify(RequestKind::Events, rate_limited),
            Ok(Received::Ignore)
        );
    }

    #[test]
    fn a_known_event_in_an_unexpected_shape_is_still_stored_for_replay() {
        let odd = r#"{"type":"event_callback","event_id":"Ev0ODD",
            "event":{"type":"reaction_added","user":42}}"#;
        assert_eq!(
            classify(RequestKind::Events, odd),
            Ok(Received::Store {
                key: "ev:Ev0ODD".into()
            })
        );
        assert!(matches!(
            decode(&stored(RequestKind::Events, odd), Some(BOT)),
            Err(AdapterError::Decode(_))
        ));
    }

    #[test]
    fn slash_commands_and_interactions_are_keyed_by_trigger_or_view() {
        assert_eq!(
            classify(RequestKind::Command, SLASH_COMMAND),
            Ok(Received::Store {
                key: "cmd:13345224609.738474920.8088930838d88f008e0".into()
            })
        );
        assert_eq!(
            classify(RequestKind::Interaction, &interaction_body(BLOCK_ACTIONS)),
            Ok(Received::Store {
                key: "ia:12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3".into()
            })
        );
        assert_eq!(
            classify(RequestKind::Interaction, &interaction_body(VIEW_SUBMISSION)),
            Ok(Received::Store {
                key: "view:VNHU13V36:156663117.cd33ad1f".into()
            })
        );
    }

    #[test]
    fn shortcuts_are_not_stored_because_the_routes_answer_them_directly() {
        for fixture in [SHORTCUT, MESSAGE_ACTION] {
            assert_eq!(
                classify(RequestKind::Interaction, &interaction_body(fixture)),
                Ok(Received::Ignore)
            );
        }
    }

    #[test]
    fn garbage_bodies_are_errors_not_panics() {
        assert!(matches!(
            classify(RequestKind::Events, "not json"),
            Err(InboundError::Json { .. })
        ));
        assert!(matches!(
            classify(RequestKind::Command, "text=no+user"),
            Err(InboundError::Form { .. })
        ));
        assert_eq!(
            classify(RequestKind::Interaction, "token=x"),
            Err(InboundError::MissingPayload)
        );
        assert_eq!(
            classify(
                RequestKind::Interaction,
                &interaction_body(r#"{"user":{}}"#)
            ),
            Err(InboundError::MissingInteractionType)
        );
        assert!(matches!(
            decode("{", Some(BOT)),
            Err(AdapterError::Decode(_))
        ));
        assert!(matches!(
            decode(&stored(RequestKind::Events, "[1,2]"), Some(BOT)),
            Err(AdapterError::Decode(_))
        ));
    }

    // --- decode: Events API ----------------------------------------------

    #[test]
    fn app_mention_becomes_a_command_without_the_address() {
        assert_eq!(
            decode_with_bot(RequestKind::Events, APP_MENTION),
            vec![slack_event(
                "msg:C123ABC456:1515449522.000016",
                ChatEventKind::Command {
                    conversation: slack_channel("C123ABC456"),
                    user: slack_user("U061F7AUR"),
                    text: DECLARE_TEXT.into(),
                    message: Some(slack_message("C123ABC456", "1515449522.000016")),
                }
            )]
        );
    }

    #[test]
    fn app_mention_is_a_command_even_when_the_bot_id_is_unknown() {
        let events = decode(&stored(RequestKind::Events, APP_MENTION), None).expect("decodes");
        assert!(
            matches!(&events[..], [ChatEvent { kind: ChatEventKind::Command { text, .. }, .. }] if text == DECLARE_TEXT),
            "{events:?}"
        );
    }

    #[test]
    fn a_message_opening_with_the_bot_mention_is_the_same_command() {
        assert_eq!(
            decode_with_bot(RequestKind::Events, MESSAGE_BOT_MENTION),
            decode_with_bot(RequestKind::Events, APP_MENTION)
        );
    }

    #[test]
    fn a_plain_message_becomes_a_message_with_readable_text() {
        assert_eq!(
            decode_with_bot(RequestKind::Events, MESSAGE),
            vec![slack_event(
                "msg:C123ABC456:1355517523.000005",
                ChatEventKind::Message {
                    conversation: slack_channel("C123ABC456"),
                    user: slack_user("U123ABC456"),
                    text: "Rolled back to deploy 42 in #payments, error rate < 1%".into(),
                    message: slack_message("C123ABC456", "1355517523.000005"),
                }
            )]
        );
    }

    #[test]
    fn bot_messages_and_edits_produce_no_events() {
        assert_eq!(
            decode_with_bot(RequestKind::Events, MESSAGE_BOT_MESSAGE),
            vec![]
        );
        assert_eq!(
            decode_with_bot(RequestKind::Events, MESSAGE_CHANGED),
            vec![]
        );
    }

    #[test]
    fn our_own_messages_produce_no_events() {
        let own = MESSAGE.replace("\"user\": \"U123ABC456\"", "\"user\": \"U0LAN0Z89\"");
        assert_eq!(decode_with_bot(RequestKind::Events, &own), vec![]);
    }

    #[test]
    fn reaction_added_points_at_the_reacted_message() {
        assert_eq!(
            decode_with_bot(RequestKind::Events, REACTION_ADDED),
            vec![slack_event(
                "ev:Ev0REACTION",
                ChatEventKind::ReactionAdded {
                    user: slack_user("U123ABC456"),
                    message: slack_message("C123ABC456", "1360782400.498405"),
                    reaction: "thumbsup".into(),
                    text: None,
                }
            )]
        );
    }

    #[test]
    fn reactions_to_files_are_skipped() {
        let on_file = REACTION_ADDED.replace(
            r#""type": "message",
      "channel": "C123ABC456",
      "ts": "1360782400.498405""#,
            r#""type": "file", "file": "F123ABC456""#,
        );
        assert_ne!(on_file, REACTION_ADDED, "the fixture edit applied");
        assert_eq!(decode_with_bot(RequestKind::Events, &on_file), vec![]);
    }

    #[test]
    fn pin_added_carries_the_pinned_messages_text() {
        assert_eq!(
            decode_with_bot(RequestKind::Events, PIN_ADDED),
            vec![slack_event(
                "ev:Ev0PIN",
                ChatEventKind::MessagePinned {
                    user: slack_user("U061F7AUR"),
                    message: slack_message("C0LAN2Q65", "1539904112.000100"),
                    text: Some("Root cause: expired TLS cert on https://pay.example.com".into()),
                }
            )]
        );
    }

    #[test]
    fn our_own_pins_produce_no_events() {
        let own = PIN_ADDED.replacen("\"user\": \"U061F7AUR\"", "\"user\": \"U0LAN0Z89\"", 1);
        assert_eq!(decode_with_bot(RequestKind::Events, &own), vec![]);
    }

    #[test]
    fn member_joined_channel_becomes_user_joined() {
        assert_eq!(
            decode_with_bot(RequestKind::Events, MEMBER_JOINED),
            vec![slack_event(
                "ev:Ev0JOINED",
                ChatEventKind::UserJoined {
                    conversation: slack_channel("C123ABC456"),
                    user: slack_user("W123ABC456"),
                }
            )]
        );
    }

    #[test]
    fn channel_rename_becomes_a_conversation_rename() {
        assert_eq!(
            decode_with_bot(RequestKind::Events, CHANNEL_RENAME),
            vec![slack_event(
                "ev:Ev0RENAME",
                ChatEventKind::ConversationRenamed {
                    conversation: slack_channel("C02ELGNBH"),
                    name: "new_name".to_owned(),
                }
            )]
        );
    }

    #[test]
    fn unknown_event_types_decode_to_nothing() {
        assert_eq!(decode_with_bot(RequestKind::Events, UNKNOWN_EVENT), vec![]);
    }

    // --- decode: slash commands and interactions --------------------------

    #[test]
    fn slash_command_becomes_a_command_from_the_named_user() {
        assert_eq!(
            decode_with_bot(RequestKind::Command, SLASH_COMMAND),
            vec![slack_event(
                "cmd:13345224609.738474920.8088930838d88f008e0",
                ChatEventKind::Command {
                    conversation: slack_channel("C2147483705"),
                    user: slack_user("U2147483697").with_name("Steve"),
                    text: "declare sev1 Checkout & payments failing, lead @U024BE7LH".into(),
                    message: None,
                }
            )]
        );
    }

    #[test]
    fn slash_command_fields_are_typed() {
        let command = parse_command(SLASH_COMMAND).expect("parses");
        assert_eq!(command.command, "/incident");
        assert_eq!(command.user_id, UserId::new("U2147483697"));
        assert_eq!(command.channel_id, ChannelId::new("C2147483705"));
        assert_eq!(command.channel_name.as_deref(), Some("test"));
        assert_eq!(command.team_id, Some(TeamId::new("T0001")));
        assert_eq!(
            command.response_url.as_deref(),
            Some("https://hooks.slack.com/commands/1234/5678")
        );
        assert_eq!(
            command.text,
            "declare sev1 Checkout &amp; payments failing, lead <@U024BE7LH|ana>"
        );
    }

    #[test]
    fn a_button_press_becomes_button_pressed_on_its_message() {
        assert_eq!(
            decode_with_bot(RequestKind::Interaction, &interaction_body(BLOCK_ACTIONS)),
            vec![slack_event(
                "ia:12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
                ChatEventKind::ButtonPressed {
                    conversation: slack_channel("CBR2V3XEX"),
                    user: slack_user("UA8RXUSPL").with_name("jtorrance"),
                    action_id: "acknowledge".into(),
                    value: "INC-42".into(),
                    message: Some(slack_message("CBR2V3XEX", "1548261231.000200")),
                    trigger: Some(
                        "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3".into()
                    ),
                }
            )]
        );
    }

    #[test]
    fn a_button_without_a_channel_field_uses_the_container_channel() {
        let mut payload: serde_json::Value =
            serde_json::from_str(BLOCK_ACTIONS).expect("fixture is JSON");
        payload
            .as_object_mut()
            .expect("an object")
            .remove("channel");
        let events = decode_with_bot(
            RequestKind::Interaction,
            &interaction_body(&payload.to_string()),
        );
        assert_eq!(
            events[0].kind.conversation(),
            Some(&slack_channel("CBR2V3XEX"))
        );
    }

    #[test]
    fn a_view_submission_becomes_a_form_with_one_answer_per_input() {
        let values: BTreeMap<String, String> = [
            ("title", "Checkout failing"),
            ("severity", "1"),
            ("lead", "U024BE7LH"),
            ("notify", "statuspage,execs"),
            ("started", "2024-03-02"),
        ]
        .into_iter()
        .map(|(id, value)| (id.to_owned(), value.to_owned()))
        .collect();
        assert_eq!(
            decode_with_bot(RequestKind::Interaction, &interaction_body(VIEW_SUBMISSION)),
            vec![slack_event(
                "view:VNHU13V36:156663117.cd33ad1f",
                ChatEventKind::FormSubmitted {
                    conversation: Some(slack_channel("C123ABC456")),
                    user: slack_user("UA8RXUSPL").with_name("jtorrance"),
                    form_id: "declare".into(),
                    values,
                }
            )]
        );
    }

    #[test]
    fn a_view_without_channel_metadata_has_no_conversation() {
        let plain = VIEW_SUBMISSION.replace(
            r#""private_metadata": "{\"channel\":\"C123ABC456\"}""#,
            r#""private_metadata": """#,
        );
        assert_ne!(plain, VIEW_SUBMISSION, "the fixture edit applied");
        let events = decode_with_bot(RequestKind::Interaction, &interaction_body(&plain));
        assert!(
            matches!(
                &events[..],
                [ChatEvent {
                    kind: ChatEventKind::FormSubmitted {
                        conversation: None,
                        ..
                    },
                    ..
                }]
            ),
            "{events:?}"
        );
    }

    #[test]
    fn view_metadata_round_trips_and_tolerates_foreign_text() {
        let metadata = ViewMetadata {
            channel: Some(ChannelId::new("C1")),
        };
        assert_eq!(metadata.encode(), r#"{"channel":"C1"}"#);
        assert_eq!(ViewMetadata::decode(&metadata.encode()), metadata);
        assert_eq!(ViewMetadata::default().encode(), "");
        assert_eq!(ViewMetadata::decode(""), ViewMetadata::default());
        assert_eq!(
            ViewMetadata::decode("shhh-its-secret"),
            ViewMetadata::default()
        );
    }

    #[test]
    fn shortcuts_parse_but_decode_to_nothing() {
        assert_eq!(
            parse_interaction(&interaction_body(SHORTCUT)),
            Ok(Interaction::Shortcut {
                callback_id: "declare_incident".into(),
                trigger_id: TriggerId::new(
                    "944799105734.773906753841.38b5894552bdd4a780554ee59d1f3638"
                ),
                user: SlackUser {
                    id: UserId::new("UXXXXXXXXX"),
                    name: Some("aman".into()),
                },
            })
        );
        assert_eq!(
            decode_with_bot(RequestKind::Interaction, &interaction_body(SHORTCUT)),
            vec![]
        );
    }

    #[test]
    fn message_actions_carry_the_message_they_were_used_on() {
        assert_eq!(
            parse_interaction(&interaction_body(MESSAGE_ACTION)),
            Ok(Interaction::MessageAction {
                callback_id: "add_to_timeline".into(),
                trigger_id: TriggerId::new(
                    "13345224609.8534564800.6f8ab1f53e13d0cd15f96106292d5536"
                ),
                user: SlackUser {
                    id: UserId::new("U0D15K92L"),
                    name: Some("dr_maomao".into()),
                },
                channel: ChannelId::new("D0LFFBKLZ"),
                message_text: "World's smallest big cat! https://youtube.com/watch?v=W86cTIoMv2U"
                    .into(),
                message_ts: Ts::new("1516229207.000133"),
            })
        );
        assert_eq!(
            decode_with_bot(RequestKind::Interaction, &interaction_body(MESSAGE_ACTION)),
            vec![]
        );
    }

    #[test]
    fn unknown_interaction_types_are_other_and_ignored() {
        let closed = r#"{"type":"view_closed","user":{"id":"U1"},"view":{"id":"V1"}}"#;
        assert_eq!(
            parse_interaction(&interaction_body(closed)),
            Ok(Interaction::Other {
                kind: "view_closed".into()
            })
        );
        assert_eq!(
            classify(RequestKind::Interaction, &interaction_body(closed)),
            Ok(Received::Ignore)
        );
        assert_eq!(
            decode_with_bot(RequestKind::Interaction, &interaction_body(closed)),
            vec![]
        );
    }

    // --- text -------------------------------------------------------------

    #[test]
    fn slack_markup_reads_as_plain_text() {
        for (slack, plain) in [
            ("<@U123>", "@U123"),
            ("<@U123|ana> look", "@U123 look"),
            ("in <#C1|ops-war-room>", "in #ops-war-room"),
            ("in <#C1>", "in #C1"),
            ("<https://x.example|the runbook>", "the runbook"),
            (
                "<https://x.example/?a=1&amp;b=2>",
                "https://x.example/?a=1&b=2",
            ),
            (
                "<mailto:ops@example.com|ops@example.com>",
                "ops@example.com",
            ),
            ("<!here> page", "@here page"),
            ("<!subteam^SAZ94GDB8|@oncall>", "@oncall"),
            ("<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"),
            ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
            ("&amp;lt; stays escaped once", "&lt; stays escaped once"),
            ("AT&T & co", "AT&T & co"),
            ("unclosed <https://x", "unclosed <https://x"),
            ("", ""),
        ] {
            assert_eq!(readable(slack), plain, "{slack}");
        }
    }

    #[test]
    fn only_a_leading_mention_of_the_bot_addresses_it() {
        for (text, bot, rest) in [
            ("<@U0BOT> status", Some("U0BOT"), Some("status")),
            (
                "  <@U0BOT|firebreak>: status",
                Some("U0BOT"),
                Some("status"),
            ),
            ("<@U0BOT>, status", Some("U0BOT"), Some("status")),
            ("<@U0BOT>", Some("U0BOT"), Some("")),
            ("<@UOTHER> status", Some("U0BOT"), None),
            ("status <@U0BOT>", Some("U0BOT"), None),
            ("<#C1|ops> status", Some("U0BOT"), None),
            ("<@UANYONE> status", None, Some("status")),
        ] {
            assert_eq!(strip_address(text, bot), rest, "{text}");
        }
    }

    #[test]
    fn a_mention_of_the_bot_mid_sentence_is_a_message_not_a_command() {
        let mid = APP_MENTION.replace(
            "<@U0LAN0Z89> declare sev1",
            "thanks <@U0LAN0Z89>, declare sev1",
        );
        let events = decode_with_bot(RequestKind::Events, &mid);
        assert!(
            matches!(
                &events[..],
                [ChatEvent {
                    kind: ChatEventKind::Message { .. },
                    ..
                }]
            ),
            "{events:?}"
        );
    }

    #[test]
    fn stored_requests_have_a_stable_json_shape() {
        let payload = StoredRequest::new(RequestKind::Interaction, "payload=%7B%7D").to_payload();
        assert_eq!(payload, r#"{"kind":"interaction","body":"payload=%7B%7D"}"#);
    }
}
