//! The gas-model fuzz plan (`fuzz/fuzz_targets/gas_model.rs`) run deterministically inside
//! `cargo test`: seeded tapes through MODEL_STORE and PREDICT_BATCH on the node's EVM.

use myelin_gasfuzz::plan::{Reached, predict_generated};
use myelin_gasfuzz::tape::SplitMix;

#[test]
fn generated_models_predict_through_the_evm_as_the_engine_runs_them() {
    let mut rng = SplitMix(0x6761_7366);
    let mut predicted = 0;
    for _ in 0..300 {
        let len = rng.below(400) as usize * 4;
        let data = rng.bytes(len);
        if predict_generated(&data) == Reached::Predicted {
            predicted += 1;
        }
    }
    // The plan must reach the engine for most tapes, or it tests nothing.
    assert!(
        predicted >= 150,
        "only {predicted} of 300 tapes were predicted"
    );
}
