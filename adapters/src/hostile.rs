//! Hostile input: arbitrary bytes and mutated real payloads fed to every
//! platform parser. None of them may panic, whatever arrives.

use crate::matrix::{inbound as matrix, sync};
use crate::slack::inbound::{self as slack, RequestKind, StoredRequest};
use crate::teams::{cards, inbound as teams};
use proptest::prelude::*;

const SLACK_EVENTS: [&str; 11] = [
    include_str!("slack/fixtures/app_mention.json"),
    include_str!("slack/fixtures/channel_rename.json"),
    include_str!("slack/fixtures/member_joined_channel.json"),
    include_str!("slack/fixtures/message.json"),
    include_str!("slack/fixtures/message_bot_mention.json"),
    include_str!("slack/fixtures/message_bot_message.json"),
    include_str!("slack/fixtures/message_changed.json"),
    include_str!("slack/fixtures/pin_added.json"),
    include_str!("slack/fixtures/reaction_added.json"),
    include_str!("slack/fixtures/unknown_event.json"),
    include_str!("slack/fixtures/url_verification.json"),
];
const SLACK_INTERACTIONS: [&str; 4] = [
    include_str!("slack/fixtures/block_actions.json"),
    include_str!("slack/fixtures/message_action.json"),
    include_str!("slack/fixtures/shortcut.json"),
    include_str!("slack/fixtures/view_submission.json"),
];
const SLASH_COMMAND: &str = include_str!("slack/fixtures/slash_command.txt");
const TEAMS: [&str; 5] = [
    include_str!("teams/fixtures/message_channel_mention.json"),
    include_str!("teams/fixtures/message_personal.json"),
    include_str!("teams/fixtures/message_card_submit.json"),
    include_str!("teams/fixtures/message_reaction.json"),
    include_str!("teams/fixtures/conversation_update.json"),
];
const MATRIX: [&str; 6] = [
    include_str!("matrix/fixtures/text.json"),
    include_str!("matrix/fixtures/pill_mention.json"),
    include_str!("matrix/fixtures/reply.json"),
    include_str!("matrix/fixtures/reaction.json"),
    include_str!("matrix/fixtures/pinned_events.json"),
    include_str!("matrix/fixtures/member_join.json"),
];

/// A real payload with a few bytes flipped, dropped or inserted: close
/// enough to valid that parsers get deep before anything is off.
fn mutated(originals: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        0..originals.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    )
        .prop_map(move |(which, edits)| {
            let mut bytes = originals[which].as_bytes().to_vec();
            for (at, byte, how) in edits {
                if bytes.is_empty() {
                    break;
                }
                let at = at.index(bytes.len());
                match how {
                    0 => bytes[at] = byte,
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, byte),
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
}

fn matrix_me() -> matrix::Identity {
    matrix::Identity {
        user_id: "@firebreak:localhost".into(),
        display_name: Some("Firebreak".into()),
        command_prefix: "!incident".into(),
    }
}

fn stored_matrix(event: &str) -> String {
    match serde_json::from_str(event) {
        Ok(event) => matrix::StoredEvent {
            room_id: "!room:localhost".into(),
            event,
            related: Default::default(),
        }
        .to_payload(),
        Err(_) => event.to_owned(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn slack_parsers_never_panic_on_arbitrary_text(text in ".{0,400}") {
        for kind in [RequestKind::Events, RequestKind::Command, RequestKind::Interaction] {
            let _ = slack::classify(kind, &text);
            let _ = slack::decode(&StoredRequest::new(kind, text.clone()).to_payload(), Some("UBOT"));
        }
        let _ = slack::decode(&text, None);
        let _ = slack::parse_command(&text);
        let _ = slack::parse_interaction(&text);
    }

    #[test]
    fn slack_parsers_never_panic_on_mutated_payloads(
        event in mutated(&SLACK_EVENTS),
        interaction in mutated(&SLACK_INTERACTIONS),
        command in mutated(&[SLASH_COMMAND]),
    ) {
        let _ = slack::classify(RequestKind::Events, &event);
        let _ = slack::decode(&StoredRequest::new(RequestKind::Events, event).to_payload(), Some("UBOT"));
        let form = format!("payload={}", serde_urlencoded::to_string([("", &interaction)]).unwrap_or_default().trim_start_matches('='));
        let _ = slack::classify(RequestKind::Interaction, &form);
        let _ = slack::decode(&StoredRequest::new(RequestKind::Interaction, form).to_payload(), Some("UBOT"));
        let _ = slack::classify(RequestKind::Command, &command);
        let _ = slack::decode(&StoredRequest::new(RequestKind::Command, command).to_payload(), Some("UBOT"));
    }

    #[test]
    fn teams_parsers_never_panic(text in ".{0,400}", activity in mutated(&TEAMS)) {
        let threads = teams::Threads::BelongToTheirChannel { incidents_channel: Some("19:a@thread.tacv2".into()) };
        for input in [&text, &activity] {
            let _ = teams::decode(input, &teams::Threads::AreConversations);
            let _ = teams::decode(input, &threads);
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(input) {
                let _ = cards::parse_submission(&value);
                let _ = cards::parse_submission(&value["value"]);
                let _ = teams::readable_text(input, &value, "28:bot");
            }
        }
    }

    #[test]
    fn matrix_parsers_never_panic(text in ".{0,400}", event in mutated(&MATRIX)) {
        let me = matrix_me();
        let _ = matrix::decode(&text, &me);
        let _ = matrix::decode(&stored_matrix(&event), &me);
        let _ = sync::parse_sync(&text, &me.user_id);
        let _ = sync::parse_messages(&text);
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&event) {
            let _ = matrix::message_text(&value);
        }
    }

    #[test]
    fn matrix_html_never_panics(html in "(<[a-z/ =\"#@:%.]{0,20}>|&[#a-zA-Z0-9]{0,8};?|[^<&]{0,10}){0,30}") {
        let event = serde_json::json!({
            "type": "m.room.message", "event_id": "$e", "sender": "@ana:localhost",
            "content": {"msgtype": "m.text", "body": "x", "format": "org.matrix.custom.html", "formatted_body": html}
        });
        let _ = matrix::decode(&stored_matrix(&event.to_string()), &matrix_me());
    }
}
