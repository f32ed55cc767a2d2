//! Matrix `/sync` and `/messages` answers, and stored room events.
#![no_main]

use firebreak_adapters::matrix::{inbound, sync};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let me = inbound::Identity {
        user_id: "@firebreak:localhost".into(),
        display_name: Some("Firebreak".into()),
        command_prefix: "!incident".into(),
    };
    let _ = sync::parse_sync(text, &me.user_id);
    let _ = sync::parse_messages(text);
    let _ = inbound::decode(text, &me);
});
