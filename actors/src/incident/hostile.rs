//! Hostile input to the command grammar: whatever text arrives, parsing
//! answers a request or a sentence, and deciding the parsed command on an
//! incident in any status answers events or a refusal. Nothing panics.

use super::fixtures::{led_incident_in, t, user};
use super::{decide, parse_request, Context, Policy, Request, Status};
use firebreak_adapters::Platform;
use proptest::prelude::*;

/// Real command words with arbitrary arguments, so parsing gets past the
/// first word most of the time.
fn commandish() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "lead",
        "severity",
        "sev",
        "status",
        "summary",
        "impact",
        "role",
        "action",
        "actions",
        "done",
        "rename",
        "note",
        "duration",
        "close",
        "reopen",
        "decline",
        "update",
        "statuspage",
        "escalate",
        "remind",
        "reminders",
        "snooze",
        "dismiss",
        "declare",
        "help",
    ]);
    (words, prop::collection::vec(".{0,12}", 0..5))
        .prop_map(|(word, args)| format!("{word} {}", args.join(" ")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_text_parses_to_a_request_or_an_answer(text in ".{0,200}") {
        let _ = parse_request(&text, Platform::Memory, &Policy::default());
    }

    #[test]
    fn any_parsed_command_is_decided_without_panicking(text in commandish()) {
        let policy = Policy::default();
        if let Ok(Request::Command(command)) = parse_request(&text, Platform::Api, &policy) {
            let context = Context { actor: user("sam"), now: t(100), policy: &policy };
            for status in Status::ALL {
                let _ = decide(&led_incident_in(status), &command, &context);
            }
        }
    }
}
