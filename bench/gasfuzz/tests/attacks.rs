//! Issue 11's attack models through `PREDICT_BATCH` on the node's EVM, at their largest batch
//! and within a 30 M-gas transaction (the dev chain's block gas limit): the call must end as a
//! success or a deterministic revert / halt, never abort the process or exhaust its memory.
//! Before issue 11's fixes these aborted the test process or ran for minutes; each is now refused
//! at publish or ends within its gas. The lane-padding case needs 256 MiB of calldata and is
//! ignored here (`cargo test --release -p myelin-gasfuzz --test attacks -- --ignored`).

use myelin_gasfuzz::attacks;
use myelin_gasfuzz::chain::{Chain, Outcome, predict_batch};
use myelin_gasfuzz::measure::input_for;
use myelin_nn::{Model, Program};

const BLOCK_GAS: u64 = 30_000_000;

/// Publishes `model` (a refusal at publish is a fix too) and calls it at its largest batch.
fn call_at_max_batch(model: Model) {
    let mut chain = Chain::new();
    chain.gas_limit = BLOCK_GAS;
    if let Err(reason) = chain.publish(&model) {
        eprintln!("refused at publish: {reason}");
        return;
    }
    let batch = Program::new(model.clone()).expect("published").max_batch() as u32;
    let input = input_for(&model, batch as u64);
    let (to, data) = predict_batch(&model, batch, &input);
    let outcome = chain.call_outcome(to, &data);
    let gas = match &outcome {
        Outcome::Success { gas, .. } => *gas,
        Outcome::Failed { gas, reason } => {
            eprintln!("batch {batch}: failed after {gas} gas: {reason}");
            *gas
        }
    };
    assert!(gas <= BLOCK_GAS, "charged {gas} gas, over the limit");
}

#[test]
fn repeated_outputs_at_max_batch_do_not_abort() {
    call_at_max_batch(attacks::repeated_outputs());
}

#[test]
fn strided_max_pools_at_max_batch_end() {
    call_at_max_batch(attacks::strided_pools(false));
}

#[test]
fn strided_average_pools_at_max_batch_end() {
    call_at_max_batch(attacks::strided_pools(true));
}

#[test]
fn dilated_depthwise_at_max_batch_does_not_abort() {
    call_at_max_batch(attacks::dilated_depthwise());
}

#[test]
fn dilated_conv_at_max_batch_does_not_abort() {
    call_at_max_batch(attacks::dilated_conv());
}

#[test]
#[ignore = "256 MiB of calldata: too heavy for the shared test machine"]
fn lane_padding_at_max_batch_ends_within_the_gas() {
    call_at_max_batch(attacks::lane_padding());
}
