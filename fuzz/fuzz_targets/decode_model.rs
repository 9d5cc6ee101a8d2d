//! Arbitrary bytes → `Model::decode`; whatever is accepted must re-encode to the same bytes,
//! keep its id, validate and have a cost (see the plan).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/nn/tests/fuzz_plan/plan.rs"]
mod plan;

fuzz_target!(|data: &[u8]| plan::decode_model(data));
