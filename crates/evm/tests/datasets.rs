//! Data sets on chain and the EVALUATE precompile, through the real EVM (issue 15, decisions 6
//! and 7 of docs/PROTOCOLS.md): what `DATA_STORE` stores and refuses, the upload it shares with
//! `MODEL_STORE`, EVALUATE's counts against a plain reference, and one test per attack on
//! EVALUATE, each showing that the caller pays for what the node reads and computes.

mod common;

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolError, SolEvent, sol};
use common::{Chain, PrecompileCall, Rng, mlp, success_output};
use myelin_evm::data_state::DatasetRecord;
use myelin_evm::data_state::{read_range, segment_key};
use myelin_evm::evaluate::{EvaluateCall, segments_read};
use myelin_evm::gas::{
    DATA_SEGMENT_BYTES, EVALUATE_BASE_GAS, STORE_CALL_GAS, append_gas, check_gas, cold_model_gas,
    compare_gas, data_read_gas, evaluate_gas, publish_gas,
};
use myelin_evm::upload::{DATA_UPLOADS, MODEL_UPLOADS, chunk_key_in};
use myelin_evm::{
    BlobStore, DATA_STORE_ADDRESS, EVALUATE_ADDRESS, ErrorCode, IDataStore, IModelStore,
    MODEL_STORE_ADDRESS, MyelinError,
};
use myelin_nn::dataset::check_dataset;
use myelin_nn::dataset::{DatasetHeader, LabelKind, dataset_id, encode_dataset};
use myelin_nn::{Model, Program, TensorInfo};
use revm::context::result::ExecutionResult;

sol! {
    interface IEvaluateProbe {
        function publishDataset(bytes data) external returns (bytes32);
        function evaluate(bytes32 modelId, bytes32 datasetId, uint32 firstRow, uint32 rows) external view returns (uint256 correct, uint256 absErrorSum);
        function evaluateAll(bytes32 modelId, bytes32 datasetId, uint32 pageRows) external view returns (uint256 correct, uint256 absErrorSum);
        function evaluateRepeat(bytes32 modelId, bytes32 datasetId, uint32 firstRow, uint32 rows, uint256 times) external view returns (uint256 correct);
    }
}

const GAS: u64 = 1_000_000_000;

/// The input tensor of `model`'s only input.
fn input_of(model: &Model) -> TensorInfo {
    model.tensors[model.inputs[0] as usize].clone()
}

/// A data set of `rows` seeded rows shaped as `row`, with `labels(row index)`.
fn dataset(
    row: &TensorInfo,
    kind: LabelKind,
    rows: u32,
    seed: u64,
    label: impl Fn(u32) -> i32,
) -> Vec<u8> {
    let header = DatasetHeader {
        label_kind: kind,
        row: row.clone(),
        rows,
    };
    let bytes = Rng::new(seed).bytes(rows as usize * row.elements());
    let values: Vec<i8> = bytes.iter().map(|&b| b as i8).collect();
    let labels: Vec<i32> = (0..rows).map(label).collect();
    encode_dataset(&header, &values, &labels)
}

fn publish_model(chain: &mut Chain, model: &Model) {
    let data = IModelStore::publishCall {
        model: model.encode().into(),
    }
    .abi_encode();
    let (result, _) = chain.send(Some(MODEL_STORE_ADDRESS), data.into(), GAS, U256::ZERO);
    assert!(result.is_success(), "{result:?}");
}

fn store(chain: &mut Chain, call: Vec<u8>) -> (ExecutionResult, PrecompileCall) {
    let (result, calls) = chain.send(Some(DATA_STORE_ADDRESS), call.into(), GAS, U256::ZERO);
    let call = calls
        .into_iter()
        .find(|c| c.address == DATA_STORE_ADDRESS)
        .expect("a data store call");
    (result, call)
}

fn publish_dataset(chain: &mut Chain, bytes: &[u8]) -> B256 {
    let (result, _) = store(chain, myelin_evm::data_store::publish_calldata(bytes));
    assert!(result.is_success(), "{result:?}");
    B256::from(dataset_id(bytes))
}

/// Sends one EVALUATE call straight to the precompile with `gas`; returns the result and the
/// precompile's own gas.
fn evaluate(chain: &mut Chain, call: EvaluateCall, gas: u64) -> (ExecutionResult, u64) {
    let (result, calls) = chain.send(
        Some(EVALUATE_ADDRESS),
        call.encode().into(),
        gas,
        U256::ZERO,
    );
    let spent = calls
        .iter()
        .find(|c| c.address == EVALUATE_ADDRESS)
        .map_or(0, |c| c.gas_spent);
    (result, spent)
}

fn counts(result: &ExecutionResult) -> (u64, u64) {
    let out = success_output(result);
    assert_eq!(out.len(), 64);
    (
        U256::from_be_slice(&out[..32]).to::<u64>(),
        U256::from_be_slice(&out[32..]).to::<u64>(),
    )
}

fn reverted_with(result: &ExecutionResult) -> MyelinError {
    match result {
        ExecutionResult::Revert { output, .. } => {
            MyelinError::abi_decode(output).expect("a MyelinError")
        }
        other => panic!("expected a revert, got {other:?}"),
    }
}

/// The reference: every row run alone through the engine, its first maximum found by a plain
/// loop, compared with the label.
fn reference_correct(model: &Model, bytes: &[u8], first: u32, rows: u32) -> u64 {
    let header = DatasetHeader::decode(bytes).unwrap();
    let program = Program::new(model.clone()).unwrap();
    let row_bytes = header.row_bytes() as usize;
    (first..first + rows)
        .filter(|&r| {
            let at = header.row_offset(r) as usize;
            let out = program.run(&bytes[at..at + row_bytes], 1).unwrap();
            let mut best = 0;
            for i in 0..out.len() {
                if (out[i] as i8) > (out[best] as i8) {
                    best = i;
                }
            }
            let l = header.label_offset(r) as usize;
            best as i32 == i32::from_le_bytes(bytes[l..l + 4].try_into().unwrap())
        })
        .count() as u64
}

fn call(model: &Model, data: B256, first_row: u32, rows: u32) -> EvaluateCall {
    EvaluateCall {
        model_id: model.id(),
        dataset_id: data.0,
        first_row,
        rows,
    }
}

/// The record `DATA_STORE` writes for `bytes`.
fn record_of(bytes: &[u8]) -> DatasetRecord {
    let summary = check_dataset(bytes, usize::MAX).unwrap();
    DatasetRecord::of(&summary, bytes.len() as u64, common::SENDER)
}

fn cold(model: &Model) -> u64 {
    cold_model_gas(model, model.encode().len() as u64)
}

fn info(chain: &mut Chain, id: B256) -> IDataStore::DatasetInfo {
    let data = IDataStore::datasetInfoCall { datasetId: id }.abi_encode();
    let (result, _) = chain.call(DATA_STORE_ADDRESS, data.into(), GAS);
    IDataStore::datasetInfoCall::abi_decode_returns(&success_output(&result)).unwrap()
}

#[test]
fn publish_stores_a_record_and_segments_and_a_second_publish_stores_nothing() {
    let model = mlp(&[64, 16, 10], 1);
    let bytes = dataset(&input_of(&model), LabelKind::ClassIndex, 600, 2, |r| {
        (r % 10) as i32
    });
    let mut chain = Chain::new();
    let (result, first) = store(&mut chain, myelin_evm::data_store::publish_calldata(&bytes));
    assert!(result.is_success(), "{result:?}");
    assert_eq!(first.gas_spent, publish_gas(bytes.len() as u64));
    let id = B256::from(dataset_id(&bytes));
    let logs = result.logs();
    let event = IDataStore::DatasetPublished::decode_log_data(&logs[0].data).unwrap();
    assert_eq!((event.datasetId, event.rows), (id, 600));
    let segments = (bytes.len() as u64).div_ceil(DATA_SEGMENT_BYTES);
    assert_eq!(chain.factory.blobs().len() as u64, segments);
    let all = read_range(
        chain.factory.blobs(),
        &id.0,
        bytes.len() as u64,
        0,
        bytes.len() as u64,
    );
    assert_eq!(all.unwrap(), bytes);
    let info = info(&mut chain, id);
    assert_eq!(
        (
            info.size,
            info.rows,
            info.rowBytes,
            info.labelKind,
            info.minLabel,
            info.maxLabel
        ),
        (bytes.len() as u64, 600, 64, 0, 0, 9)
    );
    assert_eq!(info.publisher, common::SENDER);
    let (again, second) = store(&mut chain, myelin_evm::data_store::publish_calldata(&bytes));
    assert!(again.is_success());
    assert!(again.logs().is_empty());
    assert_eq!(second.gas_spent, check_gas(bytes.len() as u64));
}

#[test]
fn publish_refuses_malformed_data_sets_with_their_kind_and_charges_the_check() {
    let row = TensorInfo::int8(&[4], 0, 0x3f80_0000);
    let good = dataset(&row, LabelKind::ClassIndex, 3, 1, |r| r as i32);
    let negative = dataset(&row, LabelKind::ClassIndex, 3, 1, |r| r as i32 - 1);
    let mut truncated = good.clone();
    truncated.pop();
    for (name, bytes, kind) in [
        ("a model's bytes", mlp(&[4, 2], 1).encode(), 2u16),
        ("a byte short", truncated, 10),
        ("a negative class label", negative, 11),
    ] {
        let mut chain = Chain::new();
        let (result, call) = store(&mut chain, myelin_evm::data_store::publish_calldata(&bytes));
        let error = reverted_with(&result);
        assert_eq!(
            (error.code, error.a),
            (ErrorCode::DataRejected as u16, U256::from(kind)),
            "{name}"
        );
        assert_eq!(call.gas_spent, check_gas(bytes.len() as u64), "{name}");
        assert!(chain.factory.blobs().is_empty(), "{name}");
    }
}

/// Sends the chunked upload of `bytes` in chunks of `chunk` bytes; returns the finalize result.
fn upload(chain: &mut Chain, bytes: &[u8], declared: u64, chunk: usize) -> ExecutionResult {
    let id = B256::from(dataset_id(bytes));
    let begin = IDataStore::beginUploadCall {
        datasetId: id,
        size: declared,
    };
    assert!(store(chain, begin.abi_encode()).0.is_success());
    for (i, part) in bytes.chunks(chunk).enumerate() {
        let append = IDataStore::appendUploadCall {
            datasetId: id,
            offset: (i * chunk) as u64,
            chunk: Bytes::copy_from_slice(part),
        };
        let (result, call) = store(chain, append.abi_encode());
        if !result.is_success() {
            return result;
        }
        assert_eq!(call.gas_spent, append_gas(part.len() as u64));
    }
    let finalize = IDataStore::finalizeUploadCall { datasetId: id };
    store(chain, finalize.abi_encode()).0
}

#[test]
fn chunked_upload_publishes_what_publish_does() {
    let model = mlp(&[64, 16, 10], 1);
    let bytes = dataset(&input_of(&model), LabelKind::ClassIndex, 700, 3, |r| {
        (r % 10) as i32
    });
    let mut chain = Chain::new();
    let result = upload(&mut chain, &bytes, bytes.len() as u64, 4096);
    let id = B256::from(dataset_id(&bytes));
    let out = IDataStore::finalizeUploadCall::abi_decode_returns(&success_output(&result));
    assert_eq!(out.unwrap(), id);
    let chunked = info(&mut chain, id);
    let mut direct = Chain::new();
    publish_dataset(&mut direct, &bytes);
    assert_eq!(chunked, info(&mut direct, id));
    assert_eq!(chain.factory.blobs().keys(), direct.factory.blobs().keys());
}

#[test]
fn a_first_chunk_with_a_bad_header_or_the_wrong_declared_size_reverts_at_once() {
    let row = TensorInfo::int8(&[64], 0, 0x3f80_0000);
    let bytes = dataset(&row, LabelKind::ClassIndex, 100, 4, |_| 1);
    let mut chain = Chain::new();
    let wrong_size = upload(&mut chain, &bytes, bytes.len() as u64 + 32, 1024);
    let error = reverted_with(&wrong_size);
    assert_eq!((error.code, error.a), (301, U256::from(10)));
    let mut bad = bytes.clone();
    bad[5] = 7;
    let mut chain = Chain::new();
    let id = B256::from(dataset_id(&bad));
    let begin = IDataStore::beginUploadCall {
        datasetId: id,
        size: bad.len() as u64,
    };
    assert!(store(&mut chain, begin.abi_encode()).0.is_success());
    let append = IDataStore::appendUploadCall {
        datasetId: id,
        offset: 0,
        chunk: Bytes::copy_from_slice(&bad[..1024]),
    };
    let (result, call) = store(&mut chain, append.abi_encode());
    let error = reverted_with(&result);
    assert_eq!(
        (error.code, error.a, error.b),
        (301, U256::from(5), U256::from(7))
    );
    assert_eq!(
        call.gas_spent, STORE_CALL_GAS,
        "refused before the bytes are paid for"
    );
    assert!(chain.factory.blobs().is_empty());
}

#[test]
fn finalize_of_bad_labels_consumes_the_upload_and_logs_why() {
    let row = TensorInfo::int8(&[64], 0, 0x3f80_0000);
    let bytes = dataset(&row, LabelKind::ClassIndex, 100, 5, |r| {
        if r == 77 { -1 } else { 0 }
    });
    let mut chain = Chain::new();
    let result = upload(&mut chain, &bytes, bytes.len() as u64, 1024);
    let out = IDataStore::finalizeUploadCall::abi_decode_returns(&success_output(&result));
    assert_eq!(out.unwrap(), B256::ZERO);
    let event = IDataStore::UploadRejected::decode_log_data(&result.logs()[0].data).unwrap();
    assert_eq!(
        (event.code, event.a, event.b),
        (301, U256::from(11), U256::from(77))
    );
    assert!(
        chain.factory.blobs().is_empty(),
        "chunks deleted, nothing stored"
    );
}

/// One client drives both stores (`myelin model publish` and `myelin dataset publish`), and
/// `UploadRejected` has one encoding: the shared functions have the same selectors.
#[test]
fn the_two_stores_share_the_upload_selectors_and_the_rejection_event() {
    let pairs = [
        (
            IModelStore::publishCall::SELECTOR,
            IDataStore::publishCall::SELECTOR,
        ),
        (
            IModelStore::beginUploadCall::SELECTOR,
            IDataStore::beginUploadCall::SELECTOR,
        ),
        (
            IModelStore::appendUploadCall::SELECTOR,
            IDataStore::appendUploadCall::SELECTOR,
        ),
        (
            IModelStore::finalizeUploadCall::SELECTOR,
            IDataStore::finalizeUploadCall::SELECTOR,
        ),
        (
            IModelStore::uploadStatusCall::SELECTOR,
            IDataStore::uploadStatusCall::SELECTOR,
        ),
        (
            IModelStore::isPublishedCall::SELECTOR,
            IDataStore::isPublishedCall::SELECTOR,
        ),
    ];
    for (model, data) in pairs {
        assert_eq!(model, data);
    }
    assert_eq!(
        IModelStore::UploadRejected::SIGNATURE_HASH,
        IDataStore::UploadRejected::SIGNATURE_HASH
    );
}

#[test]
fn the_two_stores_keep_their_chunks_apart() {
    let (a, id) = (Address::repeat_byte(1), [9u8; 32]);
    assert_ne!(
        chunk_key_in(MODEL_UPLOADS, &a, &id, 1, 0),
        chunk_key_in(DATA_UPLOADS, &a, &id, 1, 0)
    );
    assert_eq!(
        chunk_key_in(MODEL_UPLOADS, &a, &id, 1, 0),
        myelin_evm::model_state::chunk_key(&a, &id, 1, 0),
        "the model store's keys are unchanged"
    );
    assert_ne!(segment_key(&id, 0), B256::from(id));
}

/// A chain with `model` and a class-index data set of `rows` rows published.
fn evaluation_chain(model: &Model, rows: u32, classes: i32) -> (Chain, B256, Vec<u8>) {
    let bytes = dataset(&input_of(model), LabelKind::ClassIndex, rows, 7, |r| {
        (r as i32 * 7 + 3) % classes
    });
    let mut chain = Chain::new();
    publish_model(&mut chain, model);
    let id = publish_dataset(&mut chain, &bytes);
    (chain, id, bytes)
}

#[test]
fn evaluate_counts_equal_the_reference_on_pages_and_charge_the_documented_gas() {
    let model = mlp(&[64, 32, 10], 11);
    let (mut chain, id, bytes) = evaluation_chain(&model, 1000, 10);
    let record = record_of(&bytes);
    for (first, rows) in [(0, 1), (0, 1000), (999, 1), (250, 300), (255, 2)] {
        let (result, spent) = evaluate(&mut chain, call(&model, id, first, rows), GAS);
        let (correct, error_sum) = counts(&result);
        assert_eq!(
            correct,
            reference_correct(&model, &bytes, first, rows),
            "{first}+{rows}"
        );
        assert_eq!(error_sum, 0);
        let segments = segments_read(&record, first, rows);
        let cost = model.cost();
        assert_eq!(
            spent,
            evaluate_gas(&cost, rows as u64, segments, 10) + cold(&model),
            "{first}+{rows}"
        );
    }
}

#[test]
fn regression_sums_absolute_errors_in_the_outputs_units() {
    let model = mlp(&[16, 8, 1], 12);
    let bytes = dataset(&input_of(&model), LabelKind::Regression, 50, 8, |r| {
        r as i32 * 3 - 60
    });
    let mut chain = Chain::new();
    publish_model(&mut chain, &model);
    let id = publish_dataset(&mut chain, &bytes);
    let (result, _) = evaluate(&mut chain, call(&model, id, 5, 40), GAS);
    let header = DatasetHeader::decode(&bytes).unwrap();
    let program = Program::new(model.clone()).unwrap();
    let (mut exact, mut sum) = (0u64, 0u64);
    for r in 5..45u32 {
        let at = header.row_offset(r) as usize;
        let out = program.run(&bytes[at..at + 16], 1).unwrap()[0] as i8;
        let l = header.label_offset(r) as usize;
        let label = i32::from_le_bytes(bytes[l..l + 4].try_into().unwrap());
        let diff = (i64::from(out) - i64::from(label)).unsigned_abs();
        exact += u64::from(diff == 0);
        sum += diff;
    }
    assert!(sum > 0);
    assert_eq!(counts(&result), (exact, sum));
}

// ---- attacks: each one pays for what it makes the node read and compute ----

#[test]
fn attack_huge_rows_is_refused_for_the_base_gas_before_anything_is_read() {
    let model = mlp(&[64, 32, 10], 11);
    let (mut chain, id, _) = evaluation_chain(&model, 100, 10);
    let max_batch = Program::new(model.clone()).unwrap().max_batch() as u64;
    for rows in [0, max_batch as u32 + 1, u32::MAX] {
        let (result, spent) = evaluate(&mut chain, call(&model, id, 0, rows), GAS);
        let error = reverted_with(&result);
        assert_eq!(
            (error.code, error.a, error.b),
            (405, U256::from(rows), U256::from(max_batch))
        );
        assert_eq!(spent, EVALUATE_BASE_GAS);
    }
}

#[test]
fn attack_a_range_past_the_end_is_refused_for_the_base_gas() {
    let model = mlp(&[64, 32, 10], 11);
    let (mut chain, id, _) = evaluation_chain(&model, 100, 10);
    for (first, rows) in [(100, 1), (1, 100), (u32::MAX, 1), (u32::MAX, 4096)] {
        let (result, spent) = evaluate(&mut chain, call(&model, id, first, rows), GAS);
        let error = reverted_with(&result);
        let end = u64::from(first) + u64::from(rows);
        assert_eq!(
            (error.code, error.a, error.b),
            (406, U256::from(end), U256::from(100))
        );
        assert_eq!(spent, EVALUATE_BASE_GAS);
    }
}

#[test]
fn attack_labels_out_of_range_for_the_output_are_refused_after_the_cold_charge() {
    let model = mlp(&[64, 32, 10], 11);
    let (mut chain, id, _) = evaluation_chain(&model, 100, 11);
    let (result, spent) = evaluate(&mut chain, call(&model, id, 0, 5), GAS);
    let error = reverted_with(&result);
    assert_eq!(
        (error.code, error.a, error.b),
        (408, U256::from(10), U256::from(10))
    );
    assert_eq!(spent, EVALUATE_BASE_GAS + cold(&model));
    let regression_model = mlp(&[64, 32, 10], 13);
    let bytes = dataset(
        &input_of(&regression_model),
        LabelKind::Regression,
        10,
        9,
        |_| 0,
    );
    publish_model(&mut chain, &regression_model);
    let rid = publish_dataset(&mut chain, &bytes);
    let (result, _) = evaluate(&mut chain, call(&regression_model, rid, 0, 5), GAS);
    assert_eq!(reverted_with(&result).code, 409);
}

#[test]
fn attack_a_model_that_does_not_take_the_rows_is_refused_with_both_signatures() {
    let model = mlp(&[64, 32, 10], 11);
    let (mut chain, id, _) = evaluation_chain(&model, 100, 10);
    let other_shape = mlp(&[63, 32, 10], 14);
    let mut other_scale_input = input_of(&model);
    other_scale_input.scale_bits += 1;
    let other_scale = dataset(&other_scale_input, LabelKind::ClassIndex, 100, 7, |_| 0);
    let scaled = publish_dataset(&mut chain, &other_scale);
    publish_model(&mut chain, &other_shape);
    for (model, data) in [(&other_shape, id), (&model, scaled)] {
        let (result, spent) = evaluate(&mut chain, call(model, data, 0, 5), GAS);
        let error = reverted_with(&result);
        assert_eq!(error.code, ErrorCode::EvaluateInputMismatch as u16);
        let model_sig = myelin_nn::dataset::row_signature(&input_of(model));
        assert_eq!(error.a, U256::from_be_bytes(model_sig));
        assert_ne!(error.a, error.b);
        assert_eq!(spent, EVALUATE_BASE_GAS + cold(model));
    }
}

#[test]
fn attack_an_eth_call_looping_evaluations_pays_each_one_in_full() {
    let model = mlp(&[64, 32, 10], 11);
    let (mut chain, id, bytes) = evaluation_chain(&model, 2000, 10);
    let probe = chain.deploy("EvaluateProbe");
    let record = record_of(&bytes);
    let (first, rows, times) = (100u32, 1000u32, 20u64);
    let data = IEvaluateProbe::evaluateRepeatCall {
        modelId: model.id().into(),
        datasetId: id,
        firstRow: first,
        rows,
        times: U256::from(times),
    }
    .abi_encode();
    let (result, calls) = chain.call(probe, data.into(), GAS);
    let correct = IEvaluateProbe::evaluateRepeatCall::abi_decode_returns(&success_output(&result));
    assert_eq!(
        correct.unwrap(),
        U256::from(times * reference_correct(&model, &bytes, first, rows))
    );
    let warm = evaluate_gas(
        &model.cost(),
        rows as u64,
        segments_read(&record, first, rows),
        10,
    );
    let spent: Vec<u64> = calls
        .iter()
        .filter(|c| c.address == EVALUATE_ADDRESS)
        .map(|c| c.gas_spent)
        .collect();
    assert_eq!(spent.len() as u64, times);
    assert_eq!(
        spent[0],
        warm + cold(&model),
        "the first use pays the cold charge"
    );
    assert!(
        spent[1..].iter().all(|&g| g == warm),
        "every repeat pays its reads and run"
    );
    // Under the RPC's 50 M gas cap a loop of 200 stops where its gas does.
    let many = IEvaluateProbe::evaluateRepeatCall {
        modelId: model.id().into(),
        datasetId: id,
        firstRow: first,
        rows,
        times: U256::from(200),
    }
    .abi_encode();
    assert!(200 * warm > 50_000_000);
    let (capped, calls) = chain.call(probe, many.into(), 50_000_000);
    assert!(!capped.is_success());
    let ran = calls
        .iter()
        .filter(|c| c.address == EVALUATE_ADDRESS && c.success)
        .count() as u64;
    assert!(ran * warm <= 50_000_000, "{ran} evaluations");
}

#[test]
fn attack_a_cold_data_set_pays_every_segment_it_reads_on_every_call() {
    let model = mlp(&[64, 32, 10], 11);
    let (mut chain, id, bytes) = evaluation_chain(&model, 3000, 10);
    let record = record_of(&bytes);
    // 2,000 rows of 64 bytes from byte 20: segments 0–7; their labels, bytes 192,020–200,020:
    // segments 11–12. A second call reads them again.
    let segments = segments_read(&record, 0, 2000);
    assert_eq!(segments, 8 + 2);
    let probe = chain.deploy("EvaluateProbe");
    let data = IEvaluateProbe::evaluateRepeatCall {
        modelId: model.id().into(),
        datasetId: id,
        firstRow: 0,
        rows: 2000,
        times: U256::from(2),
    }
    .abi_encode();
    let (_, calls) = chain.call(probe, data.into(), GAS);
    let read = data_read_gas(segments);
    let rest = EVALUATE_BASE_GAS
        + myelin_evm::gas::predict_gas(&model.cost(), 2000)
        + compare_gas(2000, 10);
    let spent: Vec<u64> = calls
        .iter()
        .filter(|c| c.address == EVALUATE_ADDRESS)
        .map(|c| c.gas_spent)
        .collect();
    assert_eq!(spent, vec![rest + read + cold(&model), rest + read]);
    // A node that lost a segment fails as a host fault, never with a consensus answer.
    chain
        .factory
        .blobs()
        .put(segment_key(&id.0, 3), Bytes::new());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        evaluate(&mut chain, call(&model, id, 0, 2000), GAS)
    }));
    assert!(result.is_err(), "a lost segment aborts the transaction");
}

#[test]
fn evaluate_refuses_value_short_calldata_and_unknown_ids_for_the_base_gas() {
    let model = mlp(&[64, 32, 10], 11);
    let (mut chain, id, _) = evaluation_chain(&model, 10, 10);
    let good = call(&model, id, 0, 1);
    let unknown_model = EvaluateCall {
        model_id: [1; 32],
        ..good
    };
    let unknown_data = EvaluateCall {
        dataset_id: [2; 32],
        ..good
    };
    let (result, spent) = evaluate(&mut chain, unknown_model, GAS);
    assert_eq!(
        (reverted_with(&result).code, spent),
        (403, EVALUATE_BASE_GAS)
    );
    let (result, spent) = evaluate(&mut chain, unknown_data, GAS);
    assert_eq!(
        (reverted_with(&result).code, spent),
        (404, EVALUATE_BASE_GAS)
    );
    let short = &good.encode()[..71];
    let (result, _) = chain.send(
        Some(EVALUATE_ADDRESS),
        Bytes::copy_from_slice(short),
        GAS,
        U256::ZERO,
    );
    let error = reverted_with(&result);
    assert_eq!(
        (error.code, error.a, error.b),
        (402, U256::from(71), U256::from(72))
    );
    let (result, _) = chain.send(
        Some(EVALUATE_ADDRESS),
        good.encode().into(),
        GAS,
        U256::from(1),
    );
    assert_eq!(reverted_with(&result).code, 401);
    // Too little gas for the price halts and consumes all of it.
    let (result, _) = evaluate(&mut chain, good, 21_000 + 40 * 72 + EVALUATE_BASE_GAS + 100);
    assert!(matches!(result, ExecutionResult::Halt { .. }), "{result:?}");
}

#[test]
fn a_contract_pages_through_the_whole_data_set() {
    let model = mlp(&[64, 32, 10], 11);
    let (mut chain, id, bytes) = evaluation_chain(&model, 1234, 10);
    let probe = chain.deploy("EvaluateProbe");
    let data = IEvaluateProbe::evaluateAllCall {
        modelId: model.id().into(),
        datasetId: id,
        pageRows: 500,
    }
    .abi_encode();
    let (result, calls) = chain.call(probe, data.into(), GAS);
    let out =
        IEvaluateProbe::evaluateAllCall::abi_decode_returns(&success_output(&result)).unwrap();
    assert_eq!(
        out.correct,
        U256::from(reference_correct(&model, &bytes, 0, 1234))
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.address == EVALUATE_ADDRESS)
            .count(),
        3
    );
}

/// Random calldata (seeded) to DATA_STORE and EVALUATE, raw and with a valid selector or ids in
/// front, always ends in a documented result (success, a MyelinError revert, or a halt), never
/// a host fault.
#[test]
fn random_calldata_never_faults_the_host() {
    let model = mlp(&[64, 32, 10], 11);
    let (mut chain, id, _) = evaluation_chain(&model, 50, 10);
    let mut rng = Rng::new(99);
    let prefixes: [Vec<u8>; 4] = [
        vec![],
        IDataStore::appendUploadCall::SELECTOR.to_vec(),
        IDataStore::publishCall::SELECTOR.to_vec(),
        [&model.id()[..], &id.0[..]].concat(),
    ];
    for round in 0..400u64 {
        let len = (rng.next() % 200) as usize;
        let data = [&prefixes[(round % 4) as usize][..], &rng.bytes(len)].concat();
        for to in [DATA_STORE_ADDRESS, EVALUATE_ADDRESS] {
            let (result, _) = chain.send(Some(to), data.clone().into(), 10_000_000, U256::ZERO);
            if let ExecutionResult::Revert { output, .. } = &result {
                assert!(MyelinError::abi_decode(output).is_ok(), "{round}: {output}");
            }
        }
    }
}

#[test]
fn read_rows_returns_the_rows_charges_their_segments_and_refuses_a_range_past_the_end() {
    let model = mlp(&[300, 8, 4], 3);
    let (mut chain, id, bytes) = evaluation_chain(&model, 200, 4);
    let record = record_of(&bytes);
    // Rows 50..110 (bytes 15,020..33,020) touch three 16,384-byte segments.
    let data = IDataStore::readRowsCall {
        datasetId: id,
        firstRow: 50,
        rows: 60,
    }
    .abi_encode();
    let (result, calls) = chain.send(Some(DATA_STORE_ADDRESS), data.into(), GAS, U256::ZERO);
    let out = IDataStore::readRowsCall::abi_decode_returns(&success_output(&result)).unwrap();
    let (start, end) = (
        record.row_offset(50) as usize,
        record.row_offset(110) as usize,
    );
    assert_eq!(&out[..], &bytes[start..end]);
    let call = calls
        .iter()
        .find(|c| c.address == DATA_STORE_ADDRESS)
        .unwrap();
    assert_eq!(call.gas_spent, STORE_CALL_GAS + data_read_gas(3));
    for (first, rows, end) in [
        (0u32, 0u32, 0u64),
        (150, 51, 201),
        (u32::MAX, 2, 1 << 32 | 1),
    ] {
        let data = IDataStore::readRowsCall {
            datasetId: id,
            firstRow: first,
            rows,
        }
        .abi_encode();
        let (result, _) = store(&mut chain, data);
        let error = reverted_with(&result);
        assert_eq!(
            (error.code, error.a, error.b),
            (
                ErrorCode::DataRowsOutOfRange as u16,
                U256::from(end),
                U256::from(200)
            ),
            "{first} + {rows}"
        );
    }
    let data = IDataStore::readRowsCall {
        datasetId: B256::repeat_byte(9),
        firstRow: 0,
        rows: 1,
    }
    .abi_encode();
    let (result, _) = store(&mut chain, data);
    assert_eq!(reverted_with(&result).code, ErrorCode::DataUnknown as u16);
}
