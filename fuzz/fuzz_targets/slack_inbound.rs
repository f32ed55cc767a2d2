//! Slack's inbound shapes as the inbox stores them (Events API bodies,
//! slash-command and interaction form bodies).
#![no_main]

use firebreak_adapters::slack::inbound::{self, RequestKind, StoredRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = inbound::decode(text, Some("UBOT"));
    let _ = inbound::parse_command(text);
    let _ = inbound::parse_interaction(text);
    for kind in [
        RequestKind::Events,
        RequestKind::Command,
        RequestKind::Interaction,
    ] {
        let stored = StoredRequest::new(kind, text.to_owned()).to_payload();
        let _ = inbound::decode(&stored, Some("UBOT"));
    }
});
