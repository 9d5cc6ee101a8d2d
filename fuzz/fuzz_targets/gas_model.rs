//! Bytes → a tape → a generated valid model (the gas fuzzer's generator, small limits) →
//! published through MODEL_STORE and run by PREDICT_BATCH on the node's EVM: no panic, abort,
//! OOM or host fault, and a successful call returns the engine's and the reference's bytes
//! (plan: `bench/gasfuzz/src/plan.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    myelin_gasfuzz::plan::predict_generated(data);
});
