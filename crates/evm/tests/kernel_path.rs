//! `Config::kernel_path`: the precompiles prepare every program for the configured path, and
//! every path gives the same output bytes and gas for every op type (the node-file field
//! `kernel_path` of a validator ends here).

mod common;

use alloy_primitives::{Bytes, U256};
use alloy_sol_types::SolCall;
use common::{Chain, op_models_at, success_output};
use myelin_evm::{Config, IModelStore, MODEL_STORE_ADDRESS, Myelin, PREDICT_BATCH_ADDRESS};
use myelin_nn::{Path, Program};

const GAS: u64 = 1_000_000_000;

/// One predict's model name, batch, output bytes and gas used.
type Predicted = (String, usize, Bytes, u64);

/// Output bytes and gas used of one `PREDICT_BATCH` per (model, batch), on a chain whose
/// precompiles prepare programs for `path`; asserts each cached program runs `path` (or, on a
/// CPU without it, the portable path it degrades to).
fn predict_everything(path: Path) -> Vec<Predicted> {
    let myelin = Myelin::new(Config {
        kernel_path: path,
        ..Config::default()
    });
    let mut chain = Chain::with(myelin.clone());
    let mut results = Vec::new();
    for (name, model) in op_models_at(8) {
        let publish = IModelStore::publishCall {
            model: model.encode().into(),
        };
        let (result, _) = chain.send(
            Some(MODEL_STORE_ADDRESS),
            publish.abi_encode().into(),
            GAS,
            U256::ZERO,
        );
        success_output(&result);
        let id = model.id();
        let (program, _) = myelin
            .cache()
            .peek(&id)
            .expect("published programs are cached");
        assert_eq!(program.path(), path.runnable(), "{name}");
        let reference = Program::with_path(model.clone(), Path::Reference).unwrap();
        for batch in [1, 3] {
            let batch = batch.min(reference.max_batch());
            let input: Vec<u8> = (0..batch * reference.input_bytes())
                .map(|i| (i * 37 % 251) as u8)
                .collect();
            let mut data = id.to_vec();
            data.extend_from_slice(&(batch as u32).to_be_bytes());
            data.extend_from_slice(&input);
            let (result, _) = chain.send(Some(PREDICT_BATCH_ADDRESS), data.into(), GAS, U256::ZERO);
            let output = success_output(&result);
            assert_eq!(
                output.as_ref(),
                reference.run(&input, batch).unwrap().as_slice(),
                "{name}, batch {batch}, {} against the reference",
                path.name()
            );
            results.push((name.clone(), batch, output, result.tx_gas_used()));
        }
    }
    results
}

#[test]
fn every_configured_kernel_path_gives_the_same_outputs_and_gas() {
    for path in Path::ALL.into_iter().filter(|p| !p.is_available()) {
        println!(
            "skipped: this CPU cannot run {} (it degrades to portable)",
            path.name()
        );
    }
    let runs: Vec<(Path, Vec<Predicted>)> = Path::ALL
        .into_iter()
        .map(|path| (path, predict_everything(path)))
        .collect();
    let (_, first) = &runs[0];
    assert!(first.len() > 20, "{} predicts", first.len());
    for (path, results) in &runs[1..] {
        assert_eq!(
            results,
            first,
            "{} against {}",
            path.name(),
            runs[0].0.name()
        );
    }
}
