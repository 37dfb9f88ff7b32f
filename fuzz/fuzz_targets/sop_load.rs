//! Arbitrary bytes (lossy UTF-8) through `sop::load`: every problem located inside the input.
//! The logic lives in engine/tests/support/fuzz_harness.rs, shared with the corpus replay test.
#![no_main]

#[path = "../../engine/tests/support/fuzz_harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness::sop_load(data);
});
