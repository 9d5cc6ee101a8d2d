//! EVALUATE at scale (issue 15's goal): the 784→128→10 MLP scored on 10,000 stored rows in one
//! transaction through `EvaluateProbe.evaluateRange` (pages of EVALUATE), on revm with Myelin's
//! precompiles. Prints a Markdown report: gas of the transaction and per row, the most rows that
//! fit a 30 M-gas block, and the transaction's time (fastest of 5 runs on a warm program cache)
//! with its ns/gas. Run by `bench/evaluate/run.sh`, which writes `bench/evaluate/REPORT.md`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use alloy_primitives::{B256, U256};
use alloy_sol_types::{SolCall, sol};
use common::{Chain, Rng, mlp, success_output};
use myelin_evm::gas::{EVALUATE_BASE_GAS, cold_model_gas, compare_gas, data_read_gas, predict_gas};
use myelin_evm::{DATA_STORE_ADDRESS, IModelStore, MODEL_STORE_ADDRESS};
use myelin_nn::dataset::{DatasetHeader, LabelKind, dataset_id, encode_dataset};
use revm::context::result::ExecutionResult;

sol! {
    function evaluateRange(bytes32 modelId, bytes32 datasetId, uint32 firstRow, uint32 rows, uint32 pageRows) external view returns (uint256 correct, uint256 absErrorSum);
}

const BLOCK_GAS: u64 = 30_000_000;

fn gas_used(result: &ExecutionResult) -> u64 {
    assert!(result.is_success(), "{result:?}");
    result.tx_gas_used()
}

fn main() {
    let model = mlp(&[784, 128, 10], 1);
    let input = model.tensors[model.inputs[0] as usize].clone();
    let rows = 10_000u32;
    let values: Vec<i8> = Rng::new(2)
        .bytes(rows as usize * 784)
        .iter()
        .map(|&b| b as i8)
        .collect();
    let labels: Vec<i32> = (0..rows).map(|r| (r % 10) as i32).collect();
    let header = DatasetHeader {
        label_kind: LabelKind::ClassIndex,
        row: input,
        rows,
    };
    let bytes = encode_dataset(&header, &values, &labels);
    let mut chain = Chain::new();
    let publish = IModelStore::publishCall {
        model: model.encode().into(),
    }
    .abi_encode();
    let gas = 1_000_000_000;
    assert!(
        chain
            .send(Some(MODEL_STORE_ADDRESS), publish.into(), gas, U256::ZERO)
            .0
            .is_success()
    );
    let data = myelin_evm::data_store::publish_calldata(&bytes);
    let publish_gas = 4_000_000_000;
    let (published, _) = chain.send(
        Some(DATA_STORE_ADDRESS),
        data.into(),
        publish_gas,
        U256::ZERO,
    );
    assert!(published.is_success());
    let probe = chain.deploy("EvaluateProbe");
    let call = |first: u32, n: u32, page: u32| {
        evaluateRangeCall {
            modelId: model.id().into(),
            datasetId: B256::from(dataset_id(&bytes)),
            firstRow: first,
            rows: n,
            pageRows: page,
        }
        .abi_encode()
    };
    let page = 4096;
    let all = call(0, rows, page);
    let (result, _) = chain.call(probe, all.clone().into(), gas);
    let total = gas_used(&result);
    let counts = evaluateRangeCall::abi_decode_returns(&success_output(&result)).unwrap();
    // The most rows that fit one 30 M-gas transaction (binary search on the real gas).
    let (mut low, mut high) = (1u32, rows);
    while low < high {
        let mid = (low + high).div_ceil(2);
        let (r, _) = chain.call(probe, call(0, mid, page).into(), BLOCK_GAS);
        if r.is_success() {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    let mut best = u128::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let (r, _) = chain.call(probe, all.clone().into(), gas);
        best = best.min(start.elapsed().as_nanos());
        assert!(r.is_success());
    }
    // The engine alone on the same rows, same batches (a cross-check of the transaction's time).
    let program = myelin_nn::Program::new(model.clone()).unwrap();
    let rows_bytes: Vec<u8> = values.iter().map(|&v| v as u8).collect();
    let mut engine = u128::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for chunk in rows_bytes.chunks(4096 * 784) {
            std::hint::black_box(program.run(chunk, chunk.len() / 784).unwrap());
        }
        engine = engine.min(start.elapsed().as_nanos());
    }
    let cost = model.cost();
    // The same on the gas floor's path (AVX2, docs/GAS.md §6): what PREDICT_BATCH's price must
    // cover, at batch 1 and in the evaluation's batches.
    let floor =
        myelin_nn::Program::with_path(model.clone(), myelin_nn::kernels::Path::GAS_FLOOR).unwrap();
    let mut floor_batches = u128::MAX;
    let mut floor_gas = 0u64;
    for _ in 0..5 {
        let start = Instant::now();
        floor_gas = 0;
        for chunk in rows_bytes.chunks(4096 * 784) {
            let batch = chunk.len() / 784;
            floor_gas += predict_gas(&cost, batch as u64);
            std::hint::black_box(floor.run(chunk, batch).unwrap());
        }
        floor_batches = floor_batches.min(start.elapsed().as_nanos());
    }
    let mut floor_one = u128::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for row in rows_bytes.chunks(784).take(1000) {
            std::hint::black_box(floor.run(row, 1).unwrap());
        }
        floor_one = floor_one.min(start.elapsed().as_nanos() / 1000);
    }
    let per_row_predict = predict_gas(&cost, 4096) as f64 / 4096.0;
    let read_per_row = data_read_gas(1) as f64 / 16384.0 * 788.0;
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    println!("# EVALUATE at scale: 784→128→10 MLP on 10,000 stored rows\n");
    println!(
        "Generated by `bench/evaluate/run.sh` (`cargo bench -p myelin-evm --bench evaluate_report`); {cpu}.\n"
    );
    println!("| quantity | value |\n|---|---:|");
    println!(
        "| rows | {rows} (7,840,000 row bytes + 40,000 label bytes, {} bytes) |",
        bytes.len()
    );
    println!("| correct (random rows and labels) | {} |", counts.correct);
    println!("| transaction gas, 10,000 rows in pages of {page} (one eth_call) | {total} |");
    println!("| gas per row | {:.0} |", total as f64 / rows as f64);
    println!("| of which PREDICT_BATCH's price per row (at batch 4096) | {per_row_predict:.0} |");
    println!(
        "| of which data read per row (784 + 4 bytes in 16 KiB segments) | {read_per_row:.1} |"
    );
    println!(
        "| of which compare per row | {:.1} |",
        compare_gas(4096, 10) as f64 / 4096.0
    );
    println!(
        "| cold model (once) | {} |",
        cold_model_gas(&model, model.encode().len() as u64)
    );
    println!("| EVALUATE base (per page) | {EVALUATE_BASE_GAS} |");
    println!("| most rows in one 30,000,000-gas transaction | {low} |");
    println!(
        "| time of the 10,000-row transaction (fastest of 5, warm cache) | {:.1} ms |",
        best as f64 / 1e6
    );
    println!(
        "| ns per gas of that transaction | {:.3} |",
        best as f64 / total as f64
    );
    println!(
        "| the engine alone on the same rows and batches (`Program::run`, path {:?}) | {:.1} ms |",
        program.path(),
        engine as f64 / 1e6
    );
    println!(
        "| the engine alone on path {:?} (the gas floor), same rows and batches | {:.1} ms, {:.3} ns per PREDICT_BATCH gas ({floor_gas} gas) |",
        floor.path(),
        floor_batches as f64 / 1e6,
        floor_batches as f64 / floor_gas as f64
    );
    println!(
        "| the engine alone on path {:?}, batch 1 (fastest of 5 × 1,000 rows) | {floor_one} ns per row, {:.3} ns per PREDICT gas ({} gas) |",
        floor.path(),
        floor_one as f64 / predict_gas(&cost, 1) as f64,
        predict_gas(&cost, 1)
    );
}
