//! The chat command grammar: any text parses to a request or a polite
//! answer, never a panic.
#![no_main]

use firebreak_actors::incident::{parse_request, Policy};
use firebreak_adapters::Platform;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = parse_request(text, Platform::Memory, &Policy::default());
});
