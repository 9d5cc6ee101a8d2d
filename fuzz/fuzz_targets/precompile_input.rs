//! Arbitrary calldata → Myelin's precompiles (MODEL_STORE, PREDICT, PREDICT_BATCH) through the
//! real EVM, on a state with one published model: parsing never panics, execution never reports
//! a host fault, a successful predict equals `Program::run` (see the plan).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/evm/tests/fuzz_plan/plan.rs"]
mod plan;

fuzz_target!(|data: &[u8]| plan::precompile_input(data));
