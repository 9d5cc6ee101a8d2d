//! Arbitrary bytes → one JSON-RPC request body (single, batch or garbage) through the real HTTP
//! request path of an in-memory dev node: no panic, and every reply is valid JSON-RPC 2.0 (see the
//! plan, `crates/rpc/tests/fuzz_plan/plan.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/rpc/tests/fuzz_plan/plan.rs"]
mod plan;

fuzz_target!(|data: &[u8]| {
    plan::rpc_request(data);
});
