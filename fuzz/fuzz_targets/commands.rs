//! The input decoded into a sequence of commands on the KTP-el SOP: replay and verify of the
//! engine's own history equal the live state.
//! The logic lives in engine/tests/support/fuzz_harness.rs, shared with the corpus replay test.
#![no_main]

#[path = "../../engine/tests/support/fuzz_harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness::commands(data);
});
