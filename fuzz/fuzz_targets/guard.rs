//! The input as a guard expression in the minimal SOP (branch conditions and `required_when`),
//! evaluated at run time on a few cases: a result or an incident, bounded in time.
//! The logic lives in engine/tests/support/fuzz_harness.rs, shared with the corpus replay test.
#![no_main]

#[path = "../../engine/tests/support/fuzz_harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = harness::guard(data);
});
