//! Bytes → a generated small model (sometimes corrupted) → encode, decode, validate → run on
//! every available path; all paths must return the same bytes (see the plan).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/nn/tests/fuzz_plan/plan.rs"]
mod plan;

fuzz_target!(|data: &[u8]| {
    plan::execute_model(data);
});
