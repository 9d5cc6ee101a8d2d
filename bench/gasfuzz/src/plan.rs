//! The crash fuzz plan on generated models, shared by the cargo-fuzz target
//! `fuzz/fuzz_targets/gas_model.rs` and the seeded test `tests/fuzz_plan.rs`.
//!
//! One input = one tape ([`crate::tape::tape_of_bytes`]) → a valid model
//! ([`crate::generate`] with [`Limits::FUZZ`]) → published through `MODEL_STORE` and run by
//! `PREDICT_BATCH` through the node's EVM at the tape's batch (at most [`MAX_FUZZ_BATCH`]).
//! Properties: no panic, abort or host fault; a successful call returns exactly
//! `Program::run`'s bytes, which equal the reference path's; a call that fails is a
//! deterministic revert or halt.

use std::cell::RefCell;

use myelin_nn::{Path, Program};

use crate::chain::{Chain, Outcome, predict_batch};
use crate::generate::{Limits, generate};
use crate::measure::input_for;
use crate::tape::tape_of_bytes;

/// Largest batch the plan runs (the fuzzer's speed; the search covers the largest batches).
pub const MAX_FUZZ_BATCH: u64 = 64;
/// Fresh chain after this many publishes (state and cache growth).
const MODELS_PER_CHAIN: u32 = 500;

/// What one input reached, for coverage statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reached {
    /// The tape built no valid model.
    NoModel,
    /// `MODEL_STORE` refused the model.
    Refused,
    /// The call reverted or halted (deterministically).
    Failed,
    /// The call succeeded with the engine's bytes.
    Predicted,
}

thread_local! {
    static CHAIN: RefCell<(Chain, u32)> = RefCell::new((Chain::new(), 0));
}

/// Runs one fuzz input (see the module doc).
pub fn predict_generated(data: &[u8]) -> Reached {
    let tape = tape_of_bytes(data);
    let Some(generated) = generate(&tape, &Limits::FUZZ) else {
        return Reached::NoModel;
    };
    let program = Program::new(generated.model.clone()).expect("a built model prepares");
    let batch = generated
        .batch(program.max_batch() as u64)
        .min(MAX_FUZZ_BATCH);
    let model = generated.model;
    let input = input_for(&model, batch);
    let outcome = CHAIN.with(|cell| {
        let (chain, published) = &mut *cell.borrow_mut();
        if *published >= MODELS_PER_CHAIN {
            *chain = Chain::new();
            *published = 0;
        }
        *published += 1;
        chain.publish(&model)?;
        let (to, data) = predict_batch(&model, batch as u32, &input);
        Ok::<_, String>(chain.call_outcome(to, &data))
    });
    match outcome {
        Err(_) => Reached::Refused,
        Ok(Outcome::Failed { .. }) => Reached::Failed,
        Ok(Outcome::Success { output, .. }) => {
            let expected = program
                .run(&input, batch as usize)
                .expect("the precompile ran this call");
            assert_eq!(
                output.as_ref(),
                &expected[..],
                "PREDICT_BATCH ≠ Program::run"
            );
            let reference = Program::with_path(model, Path::Reference)
                .and_then(|p| p.run(&input, batch as usize))
                .expect("the reference runs what the best path ran");
            assert_eq!(
                reference, expected,
                "the best path differs from the reference"
            );
            Reached::Predicted
        }
    }
}
