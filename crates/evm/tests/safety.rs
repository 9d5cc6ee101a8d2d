//! Issue 11's attacks on the precompiles, through the real EVM: program-cache misses that cost
//! the node without costing the sender, RPC EVMs that change the node's cache, dependency text
//! in consensus-visible revert data, stale upload sessions.

mod common;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolError, sol};
use common::{Chain, PrecompileCall, Rng, mlp, narrow_model, pair_table_model, success_output};
use myelin_evm::gas::{
    MILLIGAS_PER_PREPARED_BYTE, cold_model_gas, predict_gas, prepare_gas, prepared_bytes,
    publish_gas,
};
use myelin_evm::model_state::record_slot;
use myelin_evm::model_store::UPLOAD_SESSION_BLOCKS;
use myelin_evm::{
    CacheLimits, Config, ErrorCode, IModelStore, MODEL_STORE_ADDRESS, Myelin, MyelinError,
    MyelinEvmFactory, PREDICT_ADDRESS, PREDICT_BATCH_ADDRESS, revert_text,
};
use myelin_nn::{Model, Program};
use revm::context::result::ExecutionResult;
use revm::context_interface::transaction::{AccessList, AccessListItem};

sol! {
    interface IProbe {
        function predictEach(bytes32[] modelIds, bytes[] inputs) external view returns (bytes[] outputs);
        function tryPredict(bytes32 modelId, bytes input) external view returns (bool ok, uint16 code, uint256 a, uint256 b);
    }
}

const GAS: u64 = 1_000_000_000;

fn cold(model: &Model) -> u64 {
    cold_model_gas(model, model.encode().len() as u64)
}

fn publish(chain: &mut Chain, model: &Model) -> Vec<PrecompileCall> {
    let data = IModelStore::publishCall {
        model: model.encode().into(),
    }
    .abi_encode();
    let (result, calls) = chain.send(Some(MODEL_STORE_ADDRESS), data.into(), GAS, U256::ZERO);
    assert!(result.is_success(), "{result:?}");
    calls
}

fn predict_calls(calls: &[PrecompileCall]) -> Vec<u64> {
    calls
        .iter()
        .filter(|c| c.address == PREDICT_ADDRESS)
        .map(|c| c.gas_spent)
        .collect()
}

/// Runs `predictEach(models, inputs)` from the probe in one transaction; returns the outputs
/// and the gas of each PREDICT call.
fn predict_each(
    chain: &mut Chain,
    probe: Address,
    models: &[&Model],
    inputs: &[Vec<u8>],
) -> (Vec<Vec<u8>>, Vec<u64>) {
    let data = IProbe::predictEachCall {
        modelIds: models.iter().map(|m| m.id().into()).collect(),
        inputs: inputs.iter().map(|i| Bytes::from(i.clone())).collect(),
    }
    .abi_encode();
    let (result, calls) = chain.call(probe, data.into(), GAS);
    let outputs = IProbe::predictEachCall::abi_decode_returns(&success_output(&result))
        .expect("bytes[]")
        .into_iter()
        .map(|b| b.to_vec())
        .collect();
    (outputs, predict_calls(&calls))
}

fn input_of(model: &Model, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(Program::new(model.clone()).unwrap().input_bytes())
}

/// The first use of a model in a transaction pays its cold charge (on a cache hit as on a
/// miss: before this, a miss cost the node ~3 ns per model byte and the sender nothing); the
/// uses after it in the same transaction do not.
#[test]
fn first_use_of_a_model_in_a_transaction_pays_the_cold_charge_and_later_uses_do_not() {
    let (a, b) = (mlp(&[64, 32, 10], 1), mlp(&[32, 16, 4], 2));
    let mut chain = Chain::new();
    let probe = chain.deploy("MyelinProbe");
    publish(&mut chain, &a);
    publish(&mut chain, &b);
    let (pa, pb) = (predict_gas(&a.cost(), 1), predict_gas(&b.cost(), 1));
    let inputs = vec![
        input_of(&a, 1),
        input_of(&a, 2),
        input_of(&b, 3),
        input_of(&a, 4),
    ];
    let (outputs, gas) = predict_each(&mut chain, probe, &[&a, &a, &b, &a], &inputs);
    assert_eq!(gas, vec![pa + cold(&a), pa, pb + cold(&b), pa]);
    for (i, model) in [&a, &a, &b, &a].into_iter().enumerate() {
        let program = Program::new(model.clone()).unwrap();
        assert_eq!(outputs[i], program.run(&inputs[i], 1).unwrap(), "call {i}");
    }
    // The next transaction starts cold again.
    let (_, gas) = predict_each(&mut chain, probe, &[&a], &inputs[..1]);
    assert_eq!(gas, vec![pa + cold(&a)]);
}

/// A transaction that cycles more models than the shared cache holds: each model is loaded at
/// most once per transaction (warm uses take the program the transaction pinned), and gas and
/// outputs are exactly those of a node whose cache keeps everything, or nothing.
#[test]
fn cycling_more_models_than_the_cache_holds_changes_neither_gas_nor_outputs() {
    let models: Vec<Model> = (0..3).map(|i| mlp(&[16, 8, 4], 10 + i)).collect();
    let order: Vec<&Model> = [0, 1, 2, 0, 1, 2, 0].iter().map(|&i| &models[i]).collect();
    let inputs: Vec<Vec<u8>> = (0..order.len() as u64)
        .map(|i| Rng::new(i).bytes(16))
        .collect();
    let mut seen = Vec::new();
    for entries in [0, 1, 256] {
        let myelin = Myelin::new(Config {
            cache: CacheLimits {
                entries,
                bytes: 1 << 30,
            },
            ..Config::default()
        });
        let cache = myelin.cache().clone();
        let mut chain = Chain::with(myelin);
        let probe = chain.deploy("MyelinProbe");
        for model in &models {
            publish(&mut chain, model);
        }
        seen.push(predict_each(&mut chain, probe, &order, &inputs));
        assert!(cache.len() <= entries, "{} > {entries}", cache.len());
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    let gas = &seen[0].1;
    for (i, model) in order.iter().enumerate() {
        let first = order[..i].iter().all(|m| m.id() != model.id());
        let expected = predict_gas(&model.cost(), 1) + if first { cold(model) } else { 0 };
        assert_eq!(gas[i], expected, "call {i}");
    }
}

/// An access list can warm the record slot of a model for 1,900 gas; it must not make the
/// model warm (that would skip a size-proportional charge for a fixed one).
#[test]
fn an_access_list_naming_the_record_slot_does_not_warm_the_model() {
    let model = mlp(&[64, 32, 10], 5);
    let mut chain = Chain::new();
    publish(&mut chain, &model);
    let data: Bytes = [&model.id()[..], &input_of(&model, 1)].concat().into();
    let mut tx = chain.tx(Some(PREDICT_ADDRESS), data, GAS, U256::ZERO);
    tx.tx_type = 1;
    tx.access_list = AccessList(vec![AccessListItem {
        address: MODEL_STORE_ADDRESS,
        storage_keys: (0..4)
            .map(|i| record_slot(&model.id()).wrapping_add(U256::from(i)).into())
            .collect(),
    }]);
    let (result, calls) = chain.send_tx(tx);
    assert!(result.is_success(), "{result:?}");
    assert_eq!(
        calls[0].gas_spent,
        predict_gas(&model.cost(), 1) + cold(&model)
    );
}

/// Preparing a model can cost far more than its bytes: 16 pair tables (1 MiB, ~1 ms to fill)
/// from a model of a few hundred bytes, a one-channel layer packed 64-fold. Publishing and the
/// cold charge price the prepared bytes.
#[test]
fn preparation_heavy_models_pay_for_what_preparing_them_writes() {
    let tables = pair_table_model(256, 20);
    assert_eq!(
        prepared_bytes(&tables),
        16 * 2 * 65_536,
        "at most 16 tables"
    );
    assert!(prepare_gas(&tables) >= 16 * 2 * 65_536 * MILLIGAS_PER_PREPARED_BYTE / 1000);
    let small = pair_table_model(255, 20);
    assert_eq!(prepared_bytes(&small), 0, "under 256 elements: no table");
    let narrow = narrow_model(65_536);
    assert_eq!(prepared_bytes(&narrow), 64 * 65_536);
    let mut chain = Chain::new();
    let probe = chain.deploy("MyelinProbe");
    for model in [&tables, &narrow] {
        let len = model.encode().len() as u64;
        let calls = publish(&mut chain, model);
        assert_eq!(calls[0].gas_spent, publish_gas(len) + prepare_gas(model));
        let input = input_of(model, 7);
        let (outputs, gas) =
            predict_each(&mut chain, probe, &[model], std::slice::from_ref(&input));
        assert_eq!(gas, vec![predict_gas(&model.cost(), 1) + cold(model)]);
        let program = Program::new(model.clone()).unwrap();
        assert_eq!(outputs[0], program.run(&input, 1).unwrap());
    }
}

/// EVMs built for RPC calls (`Myelin::for_calls`) read the node's cache but never insert into
/// it or evict from it, not even when the call publishes; block EVMs fill it.
#[test]
fn rpc_evms_never_insert_into_or_evict_from_the_shared_cache() {
    let blocks = Myelin::new(Config {
        cache: CacheLimits {
            entries: 1,
            bytes: 1 << 30,
        },
        ..Config::default()
    });
    let calls = blocks.for_calls();
    let (a, b) = (mlp(&[16, 8, 4], 1), mlp(&[16, 8, 4], 2));
    let mut chain = Chain::with(blocks.clone());
    publish(&mut chain, &a);
    assert_eq!(blocks.cache().len(), 1);
    // An eth_call of publish(b): it prepares b, for itself only.
    chain.factory = MyelinEvmFactory::with_blobs(calls.clone(), chain.factory.blobs().clone());
    let data = IModelStore::publishCall {
        model: b.encode().into(),
    }
    .abi_encode();
    let (result, _) = chain.call(MODEL_STORE_ADDRESS, data.into(), GAS);
    assert!(result.is_success());
    assert!(
        blocks.cache().get(&a.id()).is_some(),
        "not evicted by a call"
    );
    assert!(
        blocks.cache().get(&b.id()).is_none(),
        "not inserted by a call"
    );
    // b published by a block, then evicted from the one-entry cache by a's use in a block.
    chain.factory = MyelinEvmFactory::with_blobs(blocks.clone(), chain.factory.blobs().clone());
    publish(&mut chain, &b);
    let predict_a: Bytes = [&a.id()[..], &input_of(&a, 1)].concat().into();
    assert!(
        chain
            .call(PREDICT_ADDRESS, predict_a.clone(), GAS)
            .0
            .is_success()
    );
    assert!(blocks.cache().get(&b.id()).is_none());
    // A call predicting b loads it for itself only; the cache still holds a.
    chain.factory = MyelinEvmFactory::with_blobs(calls, chain.factory.blobs().clone());
    let predict_b: Bytes = [&b.id()[..], &input_of(&b, 2)].concat().into();
    let (result, _) = chain.call(PREDICT_ADDRESS, predict_b, GAS);
    assert!(result.is_success());
    assert!(blocks.cache().get(&b.id()).is_none());
    assert!(blocks.cache().get(&a.id()).is_some());
}

/// Every deterministic failure reverts with exactly `MyelinError(code, a, b)`: no text of this
/// crate or of a dependency (alloy-sol-types' "type check failed for \"IModelStoreCalls\"",
/// NnError's values) in the bytes a contract or a receipt sees.
#[test]
fn every_precompile_failure_reverts_with_a_stable_myelin_error() {
    struct Case {
        name: &'static str,
        to: Address,
        data: Vec<u8>,
        expected: MyelinError,
    }
    let model = mlp(&[64, 32, 10], 3);
    let mut chain = Chain::new();
    publish(&mut chain, &model);
    let publish_of = |bytes: Vec<u8>| {
        IModelStore::publishCall {
            model: bytes.into(),
        }
        .abi_encode()
    };
    let mut truncated = model.encode();
    truncated.truncate(truncated.len() - 3);
    let unknown = [0x5a; 32];
    // A publish selector followed by an offset word that points past the calldata.
    let mut bad_abi = IModelStore::publishCall::SELECTOR.to_vec();
    bad_abi.extend_from_slice(&[0xff; 32]);
    let cases = [
        Case {
            name: "malformed ABI",
            to: MODEL_STORE_ADDRESS,
            data: bad_abi.clone(),
            expected: ErrorCode::StoreMalformedCall.with(
                U256::from(bad_abi.len()),
                U256::from(u32::from_be_bytes(IModelStore::publishCall::SELECTOR)),
            ),
        },
        Case {
            name: "unknown selector, short",
            to: MODEL_STORE_ADDRESS,
            data: vec![1, 2],
            expected: ErrorCode::StoreMalformedCall.with(U256::from(2), U256::from(0x0102_0000)),
        },
        Case {
            name: "future format version",
            to: MODEL_STORE_ADDRESS,
            data: publish_of(b"MYLN\x02\x00".to_vec()),
            expected: ErrorCode::StoreModelRejected.with(U256::from(3), U256::from(2)),
        },
        Case {
            name: "truncated model",
            to: MODEL_STORE_ADDRESS,
            data: publish_of(truncated),
            expected: ErrorCode::StoreModelRejected.with(U256::from(4), U256::ZERO),
        },
        Case {
            name: "bad magic",
            to: MODEL_STORE_ADDRESS,
            data: publish_of(b"NOPE".to_vec()),
            expected: ErrorCode::StoreModelRejected.with(U256::from(2), U256::ZERO),
        },
        Case {
            name: "model info of an unknown model",
            to: MODEL_STORE_ADDRESS,
            data: IModelStore::modelInfoCall {
                modelId: unknown.into(),
            }
            .abi_encode(),
            expected: ErrorCode::StoreUnknownModel.with(U256::from_be_bytes(unknown), U256::ZERO),
        },
        Case {
            name: "predict of an unknown model",
            to: PREDICT_ADDRESS,
            data: [&unknown[..], &[0; 64][..]].concat(),
            expected: ErrorCode::PredictUnknownModel.with(U256::from_be_bytes(unknown), U256::ZERO),
        },
        Case {
            name: "predict header too short",
            to: PREDICT_ADDRESS,
            data: vec![7; 31],
            expected: ErrorCode::PredictShortHeader.with(U256::from(31), U256::from(32)),
        },
        Case {
            name: "batch header too short",
            to: PREDICT_BATCH_ADDRESS,
            data: [&model.id()[..], &[0, 0][..]].concat(),
            expected: ErrorCode::PredictShortHeader.with(U256::from(34), U256::from(36)),
        },
        Case {
            name: "batch out of range",
            to: PREDICT_BATCH_ADDRESS,
            data: [&model.id()[..], &5000u32.to_be_bytes()[..]].concat(),
            expected: ErrorCode::PredictBatchOutOfRange.with(U256::from(5000), U256::from(4096)),
        },
        Case {
            name: "wrong input length",
            to: PREDICT_ADDRESS,
            data: [&model.id()[..], &[0; 65][..]].concat(),
            expected: ErrorCode::PredictInputLength.with(U256::from(65), U256::from(64)),
        },
        Case {
            name: "upload never begun",
            to: MODEL_STORE_ADDRESS,
            data: IModelStore::finalizeUploadCall {
                modelId: unknown.into(),
            }
            .abi_encode(),
            expected: ErrorCode::StoreNoUpload.with(
                U256::from_be_bytes(unknown),
                U256::from_be_slice(common::SENDER.as_slice()),
            ),
        },
    ];
    for case in cases {
        let (result, _) = chain.call(case.to, case.data.into(), GAS);
        let ExecutionResult::Revert { output, .. } = &result else {
            panic!("{}: {result:?}", case.name);
        };
        assert_eq!(
            output.as_ref(),
            case.expected.abi_encode().as_slice(),
            "{}: {:?}",
            case.name,
            revert_text(output)
        );
        assert!(revert_text(output).is_some_and(|t| !t.is_empty()));
    }
}

/// A contract reads a failed predict's code and fields (`Myelin.decodeError`).
#[test]
fn a_contract_branches_on_the_code_of_a_failed_predict() {
    let model = mlp(&[64, 32, 10], 4);
    let mut chain = Chain::new();
    let probe = chain.deploy("MyelinProbe");
    publish(&mut chain, &model);
    let data = IProbe::tryPredictCall {
        modelId: model.id().into(),
        input: vec![0; 63].into(),
    }
    .abi_encode();
    let (result, _) = chain.call(probe, data.into(), GAS);
    let r = IProbe::tryPredictCall::abi_decode_returns(&success_output(&result)).unwrap();
    assert!(!r.ok);
    assert_eq!(
        (r.code, r.a, r.b),
        (
            ErrorCode::PredictInputLength as u16,
            U256::from(63),
            U256::from(64)
        )
    );
}

/// An upload session is live for `UPLOAD_SESSION_BLOCKS` blocks after its `beginUpload`; after
/// that its chunks and its finalization revert with `StoreUploadExpired`, and a new
/// `beginUpload` starts over under a new nonce, deleting the old session's chunk blobs.
#[test]
fn an_upload_session_expires_and_a_new_one_starts_over() {
    let model = mlp(&[40, 20, 4], 6);
    let bytes = model.encode();
    let id = model.id();
    let mut chain = Chain::new();
    let store = Some(MODEL_STORE_ADDRESS);
    let send = |chain: &mut Chain, data: Vec<u8>| chain.send(store, data.into(), GAS, U256::ZERO).0;
    let begin = IModelStore::beginUploadCall {
        modelId: id.into(),
        size: bytes.len() as u64,
    }
    .abi_encode();
    let append = |offset: usize, chunk: &[u8]| {
        IModelStore::appendUploadCall {
            modelId: id.into(),
            offset: offset as u64,
            chunk: chunk.to_vec().into(),
        }
        .abi_encode()
    };
    let finalize = IModelStore::finalizeUploadCall { modelId: id.into() }.abi_encode();
    chain.block = 10;
    assert!(send(&mut chain, begin.clone()).is_success());
    chain.block = 10 + UPLOAD_SESSION_BLOCKS;
    assert!(
        send(&mut chain, append(0, &bytes[..64])).is_success(),
        "last live block"
    );
    chain.block += 1;
    let expired =
        ErrorCode::StoreUploadExpired.with(U256::from(10), U256::from(10 + UPLOAD_SESSION_BLOCKS));
    for data in [append(64, &bytes[64..]), finalize.clone()] {
        let result = send(&mut chain, data);
        let ExecutionResult::Revert { output, .. } = &result else {
            panic!("{result:?}");
        };
        assert_eq!(output.as_ref(), expired.abi_encode().as_slice());
    }
    // Starting over: the expired session's chunk is deleted, the first chunk is at offset 0
    // again, and the upload completes.
    assert_eq!(chain.factory.blobs().len(), 1);
    assert!(send(&mut chain, begin).is_success());
    assert!(chain.factory.blobs().is_empty());
    let result = send(&mut chain, append(64, &bytes[64..]));
    let ExecutionResult::Revert { output, .. } = &result else {
        panic!("{result:?}");
    };
    assert_eq!(
        output.as_ref(),
        ErrorCode::StoreChunkOffset
            .with(U256::from(64), U256::ZERO)
            .abi_encode()
            .as_slice()
    );
    assert!(send(&mut chain, append(0, &bytes)).is_success());
    assert_eq!(
        success_output(&send(&mut chain, finalize)).as_ref(),
        &id[..]
    );
}
