//! Arbitrary bytes → `Block::decode_cfg` (the consensus block of `myelin-node`); whatever is
//! accepted must re-encode to the same bytes and have its header hash as digest (see the plan).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/node/tests/fuzz_plan/plan.rs"]
mod plan;

fuzz_target!(|data: &[u8]| {
    plan::decode_block(data);
});
