//! The parts of `GET /sync` and `GET /rooms/{roomId}/messages` answers the
//! bot acts on, and the filter that keeps those answers small.
//!
//! Shapes per the Client-Server API, sections "Syncing" and "Getting
//! events for a room" (<https://spec.matrix.org/v1.11/client-server-api/>).

use crate::adapter::{AdapterError, AdapterResult};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The room event types the bot handles; everything else is filtered out
/// on the homeserver, so a busy room costs little.
pub const EVENT_TYPES: [&str; 7] = [
    "m.room.message",
    "m.reaction",
    "m.room.pinned_events",
    "m.room.member",
    "m.room.name",
    "m.room.encrypted",
    "m.room.encryption",
];

/// What one /sync response holds that the bot acts on.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncBatch {
    pub next_batch: String,
    /// Joined rooms with their new timeline events, oldest first.
    pub joined: Vec<RoomTimeline>,
    pub invites: Vec<Invite>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoomTimeline {
    pub room_id: String,
    /// Raw client events, each with its `room_id` (which sync omits).
    pub events: Vec<Value>,
    /// More happened than the answer holds; the rest is before
    /// `prev_batch`.
    pub limited: bool,
    pub prev_batch: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    pub room_id: String,
    /// Who sent the invite, from the stripped state.
    pub inviter: Option<String>,
}

#[derive(Deserialize)]
struct SyncResponse {
    next_batch: Option<String>,
    #[serde(default)]
    rooms: Rooms,
}

#[derive(Default, Deserialize)]
struct Rooms {
    #[serde(default)]
    join: BTreeMap<String, JoinedRoom>,
    #[serde(default)]
    invite: BTreeMap<String, InvitedRoom>,
}

#[derive(Default, Deserialize)]
struct JoinedRoom {
    #[serde(default)]
    timeline: Timeline,
}

#[derive(Default, Deserialize)]
struct Timeline {
    #[serde(default)]
    events: Vec<Value>,
    #[serde(default)]
    limited: bool,
    prev_batch: Option<String>,
}

#[derive(Default, Deserialize)]
struct InvitedRoom {
    #[serde(default)]
    invite_state: InviteState,
}

#[derive(Default, Deserialize)]
struct InviteState {
    #[serde(default)]
    events: Vec<Value>,
}

/// Parses a /sync answer; `me` is the bot's user id, to find its invite.
pub fn parse_sync(body: &str, me: &str) -> AdapterResult<SyncBatch> {
    let response: SyncResponse = serde_json::from_str(body)
        .map_err(|error| AdapterError::Decode(format!("sync answer: {error}")))?;
    let next_batch = response
        .next_batch
        .ok_or_else(|| AdapterError::Decode("sync answer without `next_batch`".into()))?;
    let joined = response
        .rooms
        .join
        .into_iter()
        .filter(|(_, room)| !room.timeline.events.is_empty() || room.timeline.limited)
        .map(|(room_id, room)| RoomTimeline {
            events: room
                .timeline
                .events
                .into_iter()
                .map(|event| with_room(event, &room_id))
                .collect(),
            limited: room.timeline.limited,
            prev_batch: room.timeline.prev_batch,
            room_id,
        })
        .collect();
    let invites = response
        .rooms
        .invite
        .into_iter()
        .map(|(room_id, room)| Invite {
            inviter: room
                .invite_state
                .events
                .iter()
                .find(|event| {
                    event["type"] == "m.room.member"
                        && event["state_key"] == me
                        && event["content"]["membership"] == "invite"
                })
                .and_then(|event| event["sender"].as_str())
                .map(str::to_owned),
            room_id,
        })
        .collect();
    Ok(SyncBatch {
        next_batch,
        joined,
        invites,
    })
}

fn with_room(mut event: Value, room_id: &str) -> Value {
    if let Some(object) = event.as_object_mut() {
        object
            .entry("room_id")
            .or_insert_with(|| Value::from(room_id));
    }
    event
}

/// One page of /messages.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagesPage {
    /// In the order asked for (newest first when going backwards).
    pub chunk: Vec<Value>,
    /// Where the next page starts; absent on the last page.
    pub end: Option<String>,
}

#[derive(Deserialize)]
struct MessagesResponse {
    #[serde(default)]
    chunk: Vec<Value>,
    end: Option<String>,
}

pub fn parse_messages(body: &str) -> AdapterResult<MessagesPage> {
    let response: MessagesResponse = serde_json::from_str(body)
        .map_err(|error| AdapterError::Decode(format!("messages answer: {error}")))?;
    Ok(MessagesPage {
        chunk: response.chunk,
        end: response.end,
    })
}

/// Whether this event means the room is end-to-end encrypted, which the
/// bot cannot read.
pub fn is_encrypted_event(event: &Value) -> bool {
    matches!(
        event["type"].as_str(),
        Some("m.room.encrypted" | "m.room.encryption")
    )
}

/// The sync filter the bot uploads: its room event types only, in the
/// timeline and the state; nothing about presence, account data, typing
/// or receipts, which it never uses.
pub fn filter(timeline_limit: u32) -> Value {
    json!({
        "presence": {"types": []},
        "account_data": {"types": []},
        "room": {
            "timeline": {"types": EVENT_TYPES, "limit": timeline_limit},
            "state": {"types": EVENT_TYPES, "lazy_load_members": true},
            "ephemeral": {"types": []},
            "account_data": {"types": []},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped as the spec's example answer of `GET /sync`.
    const SYNC: &str = r#"{
      "next_batch": "s72595_4483_1934",
      "presence": {"events": [{"type": "m.presence", "sender": "@example:localhost", "content": {"presence": "online"}}]},
      "account_data": {"events": [{"type": "org.example.custom.config", "content": {"custom_config_key": "custom_config_value"}}]},
      "rooms": {
        "join": {
          "!726s6s6q:example.com": {
            "summary": {"m.heroes": ["@alice:example.com"], "m.joined_member_count": 2, "m.invited_member_count": 0},
            "state": {"events": []},
            "timeline": {
              "events": [
                {"content": {"membership": "join", "displayname": "Alice"}, "type": "m.room.member", "event_id": "$143273582443PhrSn:example.org", "origin_server_ts": 1432735824653, "sender": "@alice:example.org", "state_key": "@alice:example.org", "unsigned": {"age": 1234}},
                {"content": {"body": "This is an example text message", "format": "org.matrix.custom.html", "formatted_body": "<b>This is an example text message</b>", "msgtype": "m.text"}, "type": "m.room.message", "event_id": "$143273582443PhrSn:example.org2", "origin_server_ts": 1432735824653, "sender": "@example:example.org", "unsigned": {"age": 1234}}
              ],
              "limited": true,
              "prev_batch": "t34-23535_0_0"
            },
            "ephemeral": {"events": [{"content": {"user_ids": ["@alice:matrix.org"]}, "type": "m.typing"}]},
            "account_data": {"events": []}
          },
          "!quiet:example.com": {"timeline": {"events": [], "limited": false}}
        },
        "invite": {
          "!696r7674:example.com": {
            "invite_state": {
              "events": [
                {"sender": "@alice:example.com", "type": "m.room.name", "state_key": "", "content": {"name": "My Room Name"}},
                {"sender": "@alice:example.com", "type": "m.room.member", "state_key": "@bob:example.com", "content": {"membership": "invite"}}
              ]
            }
          }
        },
        "knock": {},
        "leave": {"!gone:example.com": {"timeline": {"events": [{"type": "m.room.message", "event_id": "$x", "sender": "@a:b", "content": {"body": "bye", "msgtype": "m.text"}}]}}}
      }
    }"#;

    #[test]
    fn a_sync_answer_yields_joined_timelines_and_invites() {
        let batch = parse_sync(SYNC, "@bob:example.com").expect("parses");
        assert_eq!(batch.next_batch, "s72595_4483_1934");
        assert_eq!(batch.joined.len(), 1, "rooms with nothing new are skipped");
        let room = &batch.joined[0];
        assert_eq!(room.room_id, "!726s6s6q:example.com");
        assert!(room.limited);
        assert_eq!(room.prev_batch.as_deref(), Some("t34-23535_0_0"));
        assert_eq!(room.events.len(), 2);
        assert_eq!(
            room.events[1]["event_id"],
            "$143273582443PhrSn:example.org2"
        );
        assert_eq!(room.events[1]["room_id"], "!726s6s6q:example.com");
        assert_eq!(
            batch.invites,
            [Invite {
                room_id: "!696r7674:example.com".into(),
                inviter: Some("@alice:example.com".into()),
            }]
        );
    }

    #[test]
    fn missing_sections_are_empty_and_a_missing_token_is_an_error() {
        let batch = parse_sync(r#"{"next_batch": "s1"}"#, "@bot:x").expect("parses");
        assert!(batch.joined.is_empty() && batch.invites.is_empty());
        assert!(parse_sync(r#"{"rooms": {}}"#, "@bot:x").is_err());
        assert!(parse_sync("not json", "@bot:x").is_err());
        // An invite for someone else is no invite of ours.
        let batch = parse_sync(SYNC, "@carol:example.com").expect("parses");
        assert_eq!(batch.invites[0].inviter, None);
    }

    #[test]
    fn a_messages_page_has_its_chunk_and_maybe_an_end() {
        let page = parse_messages(
            r#"{"chunk": [{"type": "m.room.message", "event_id": "$b", "room_id": "!r:x", "sender": "@a:x", "content": {"body": "2", "msgtype": "m.text"}},
                          {"type": "m.room.message", "event_id": "$a", "room_id": "!r:x", "sender": "@a:x", "content": {"body": "1", "msgtype": "m.text"}}],
                "start": "t47429-4392820_219380_26003_2265", "end": "t47409-4357353_219380_26003_2265"}"#,
        )
        .expect("parses");
        assert_eq!(page.chunk.len(), 2);
        assert_eq!(
            page.end.as_deref(),
            Some("t47409-4357353_219380_26003_2265")
        );
        let last = parse_messages(r#"{"chunk": [], "start": "t1"}"#).expect("parses");
        assert_eq!(
            last,
            MessagesPage {
                chunk: vec![],
                end: None
            }
        );
    }

    #[test]
    fn encryption_is_recognised_and_the_filter_asks_only_for_what_is_handled() {
        assert!(is_encrypted_event(&json!({"type": "m.room.encrypted"})));
        assert!(is_encrypted_event(
            &json!({"type": "m.room.encryption", "state_key": ""})
        ));
        assert!(!is_encrypted_event(&json!({"type": "m.room.message"})));
        let filter = filter(7);
        assert_eq!(filter["room"]["timeline"]["limit"], 7);
        assert_eq!(
            filter["room"]["timeline"]["types"].as_array().map(Vec::len),
            Some(7)
        );
        assert_eq!(filter["presence"]["types"], json!([]));
        assert_eq!(filter["room"]["ephemeral"]["types"], json!([]));
    }
}
