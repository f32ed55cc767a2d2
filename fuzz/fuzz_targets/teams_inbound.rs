//! Bot Framework activities and Adaptive Card submissions.
#![no_main]

use firebreak_adapters::teams::{cards, inbound};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = inbound::decode(text, &inbound::Threads::AreConversations);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = cards::parse_submission(&value);
        let _ = inbound::readable_text(text, &value, "28:bot");
    }
});
