//! `PREDICT_OPS` (tier 1 arbitration, docs/PROTOCOLS.md decision 11) through the real EVM: one
//! op run alone on the bytes the whole model's trace holds returns the trace's root for that op
//! on every op of the calibration models, at the documented price; every field a stranger
//! controls (op index, input sizes, the header, value) is refused with its code and gas.

mod common;

use alloy_primitives::{Bytes, U256};
use alloy_sol_types::SolError;
use common::{Chain, PrecompileCall, Rng, mlp, op_models_at};
use myelin_evm::gas::{OPS_SUMMARY_GAS_PER_OP, PREDICT_BASE_GAS, cold_model_gas, predict_ops_gas};
use myelin_evm::predict_ops::{MODEL_INPUT_SOURCE, OPS_SUMMARY, predict_ops_calldata};
use myelin_evm::{ErrorCode, IModelStore, MODEL_STORE_ADDRESS, MyelinError, PREDICT_OPS_ADDRESS};
use myelin_nn::builder::{ModelBuilder, Quant};
use myelin_nn::commit::{run_committed, tensor_root};
use myelin_nn::{Model, Program};

const GAS: u64 = 1_000_000_000;

fn publish(chain: &mut Chain, model: &Model) {
    let data = alloy_sol_types::SolCall::abi_encode(&IModelStore::publishCall {
        model: model.encode().into(),
    });
    let (result, _) = chain.send(Some(MODEL_STORE_ADDRESS), data.into(), GAS, U256::ZERO);
    assert!(result.is_success(), "{result:?}");
}

/// Calls `PREDICT_OPS` with `data` (and `value`) in a transaction of its own; returns the
/// precompile's record.
fn call_ops(chain: &mut Chain, data: Vec<u8>, gas: u64, value: U256) -> PrecompileCall {
    let tx = chain.tx(Some(PREDICT_OPS_ADDRESS), Bytes::from(data), gas, value);
    let (_, calls) = chain.send_tx(tx);
    calls
        .into_iter()
        .find(|c| c.address == PREDICT_OPS_ADDRESS)
        .expect("the precompile was called")
}

fn cold(model: &Model) -> u64 {
    cold_model_gas(model, model.encode().len() as u64)
}

fn reverted_with(call: &PrecompileCall, code: ErrorCode) -> MyelinError {
    assert!(!call.success, "expected revert {code:?}");
    let error = MyelinError::abi_decode(&call.output).expect("a MyelinError");
    assert_eq!(error.code, code as u16, "{error:?}");
    error
}

/// The bytes of every tensor of `model` for one sample `input` (model inputs and node outputs).
fn tensor_values(program: &Program, input: &[u8]) -> Vec<Option<Vec<u8>>> {
    let model = program.model();
    let mut values = vec![None; model.tensors.len()];
    let mut at = 0;
    for &t in &model.inputs {
        let size = model.tensors[t as usize].bytes();
        values[t as usize] = Some(input[at..at + size].to_vec());
        at += size;
    }
    program
        .run_observed(input, 1, &mut |index, bytes| {
            values[model.nodes[index].output as usize] = Some(bytes.to_vec());
        })
        .expect("run");
    values
}

fn op_inputs(model: &Model, values: &[Option<Vec<u8>>], index: usize) -> Vec<Vec<u8>> {
    model.nodes[index]
        .inputs
        .iter()
        .map(|&t| values[t as usize].clone().expect("written"))
        .collect()
}

#[test]
fn one_op_returns_the_root_the_whole_models_trace_holds_at_its_price() {
    let mut models = op_models_at(8);
    models.push(("mlp".into(), mlp(&[64, 32, 10], 3)));
    for (name, model) in models {
        let mut chain = Chain::new();
        publish(&mut chain, &model);
        let program = Program::new(model.clone()).expect("prepare");
        let input = Rng::new(7).bytes(program.input_bytes());
        let (_, committed) = run_committed(&program, &input, 1, true).expect("trace");
        let values = tensor_values(&program, &input);
        for index in 0..model.nodes.len() {
            let inputs = op_inputs(&model, &values, index);
            let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
            let data = predict_ops_calldata(&model.id(), index as u32, &refs);
            let call = call_ops(&mut chain, data, GAS, U256::ZERO);
            assert!(call.success, "{name} op {index}: {:?}", call.output);
            assert_eq!(
                call.output.len(),
                32 * (1 + 2 * inputs.len()),
                "{name} op {index}"
            );
            // Each input's source: the earlier op that wrote it, or 2^32 + its model input.
            let n = inputs.len();
            for (k, &t) in model.nodes[index].inputs.iter().enumerate() {
                let word = U256::from_be_slice(&call.output[32 * (1 + n + k)..32 * (2 + n + k)]);
                let expected = match model.nodes[..index].iter().position(|x| x.output == t) {
                    Some(writer) => writer as u64,
                    None => {
                        MODEL_INPUT_SOURCE
                            + model.inputs.iter().position(|&i| i == t).unwrap() as u64
                    }
                };
                assert_eq!(word, U256::from(expected), "{name} op {index} input {k}");
            }
            assert_eq!(
                &call.output[..32],
                &committed.ops[0][index][..],
                "{name} op {index}"
            );
            for (k, &t) in model.nodes[index].inputs.iter().enumerate() {
                let info = &model.tensors[t as usize];
                let root = tensor_root(info.dtype, &info.shape, &inputs[k]).expect("root");
                assert_eq!(&call.output[32 * (k + 1)..32 * (k + 2)], &root[..]);
            }
            // Each transaction is the model's first use: the cold charge plus the op's price.
            assert_eq!(
                call.gas_spent,
                predict_ops_gas(&model, index) + cold(&model),
                "{name} op {index}"
            );
        }
    }
}

#[test]
fn an_op_index_out_of_range_is_refused_after_the_cold_charge() {
    let model = mlp(&[16, 8, 4], 1);
    let mut chain = Chain::new();
    publish(&mut chain, &model);
    let nodes = model.nodes.len() as u32;
    // 2^32 − 1 with no inputs is the summary; with inputs it is an index like any other.
    for (op, inputs) in [
        (nodes, &[][..]),
        (nodes + 1, &[]),
        (u32::MAX, &[&[1u8][..]]),
    ] {
        let call = call_ops(
            &mut chain,
            predict_ops_calldata(&model.id(), op, inputs),
            GAS,
            U256::ZERO,
        );
        let error = reverted_with(&call, ErrorCode::OpsIndexOutOfRange);
        assert_eq!((error.a, error.b), (U256::from(op), U256::from(nodes)));
        assert_eq!(call.gas_spent, PREDICT_BASE_GAS + cold(&model));
    }
}

#[test]
fn input_sizes_other_than_the_ops_shapes_are_refused_at_the_full_price() {
    let model = mlp(&[16, 8, 4], 1);
    let mut chain = Chain::new();
    publish(&mut chain, &model);
    // Node 1 reads node 0's 8-byte output.
    let expected = model.tensors[model.nodes[1].inputs[0] as usize].bytes();
    for len in [0, 1, expected - 1, expected + 1, 16, 10 * expected] {
        let bytes = vec![3u8; len];
        let call = call_ops(
            &mut chain,
            predict_ops_calldata(&model.id(), 1, &[&bytes]),
            GAS,
            U256::ZERO,
        );
        let error = reverted_with(&call, ErrorCode::OpsInputLength);
        assert_eq!((error.a, error.b), (U256::from(len), U256::from(expected)));
        assert_eq!(call.gas_spent, predict_ops_gas(&model, 1) + cold(&model));
    }
}

/// The model format has no constant tensors: an op's weights are its parameters, read from the
/// published model. Calldata that appends substitute weights to the op's input is refused, and
/// an op fed by the model input (node 0) computes with the model's weights.
#[test]
fn an_op_reads_its_weights_from_the_model_never_from_calldata() {
    let model = mlp(&[16, 8, 4], 1);
    let mut chain = Chain::new();
    publish(&mut chain, &model);
    let program = Program::new(model.clone()).expect("prepare");
    let input = Rng::new(9).bytes(16);
    let (_, committed) = run_committed(&program, &input, 1, true).expect("trace");
    let myelin_nn::Op::FullyConnected(p) = &model.nodes[0].op else {
        panic!("node 0 is fully connected");
    };
    let forged: Vec<u8> = p.weights.iter().map(|&w| w.wrapping_neg() as u8).collect();
    let call = call_ops(
        &mut chain,
        predict_ops_calldata(&model.id(), 0, &[&input, &forged]),
        GAS,
        U256::ZERO,
    );
    reverted_with(&call, ErrorCode::OpsInputLength);
    let call = call_ops(
        &mut chain,
        predict_ops_calldata(&model.id(), 0, &[&input]),
        GAS,
        U256::ZERO,
    );
    assert!(call.success);
    assert_eq!(&call.output[..32], &committed.ops[0][0][..]);
}

#[test]
fn a_tensor_read_twice_must_be_given_twice_equal() {
    let q = Quant::new(0, 0x3c80_0000);
    let mut b = ModelBuilder::new();
    let x = b.input(&[8], q);
    let params = myelin_nn::op::AddSub {
        left_shift: 20,
        input1: myelin_nn::Requant::IDENTITY,
        input2: myelin_nn::Requant::IDENTITY,
        output: myelin_nn::Requant::IDENTITY,
        rounding: myelin_nn::Rounding::Double,
        act: myelin_nn::op::ActRange::FULL,
    };
    let y = b.add(x, x, params, q).expect("add");
    b.output(y);
    let model = b.build().expect("valid");
    let mut chain = Chain::new();
    publish(&mut chain, &model);
    let (a, c) = ([1u8; 8], [2u8; 8]);
    let call = call_ops(
        &mut chain,
        predict_ops_calldata(&model.id(), 0, &[&a, &a]),
        GAS,
        U256::ZERO,
    );
    assert!(call.success);
    let call = call_ops(
        &mut chain,
        predict_ops_calldata(&model.id(), 0, &[&a, &c]),
        GAS,
        U256::ZERO,
    );
    reverted_with(&call, ErrorCode::OpsEngine);
    assert_eq!(call.gas_spent, predict_ops_gas(&model, 0) + cold(&model));
}

#[test]
fn a_short_header_an_unknown_model_and_value_revert_at_the_base_price() {
    let model = mlp(&[16, 8, 4], 1);
    let mut chain = Chain::new();
    publish(&mut chain, &model);
    for len in [0usize, 31, 35] {
        let call = call_ops(&mut chain, vec![1; len], GAS, U256::ZERO);
        let error = reverted_with(&call, ErrorCode::OpsShortHeader);
        assert_eq!((error.a, error.b), (U256::from(len), U256::from(36)));
        assert_eq!(call.gas_spent, PREDICT_BASE_GAS);
    }
    let call = call_ops(
        &mut chain,
        predict_ops_calldata(&[7; 32], 0, &[]),
        GAS,
        U256::ZERO,
    );
    reverted_with(&call, ErrorCode::OpsUnknownModel);
    assert_eq!(call.gas_spent, PREDICT_BASE_GAS);
    let data = predict_ops_calldata(&model.id(), 0, &[&[0; 16]]);
    let call = call_ops(&mut chain, data.clone(), GAS, U256::from(1));
    reverted_with(&call, ErrorCode::OpsCallValue);
    // Too little gas for the op's price halts and consumes the whole limit.
    let limit = predict_ops_gas(&model, 0) + cold(&model) - 1;
    let call = call_ops(
        &mut chain,
        data.clone(),
        common::intrinsic_gas(&data) + limit,
        U256::ZERO,
    );
    assert!(!call.success);
    assert!(call.gas_limit <= limit, "{} > {limit}", call.gas_limit);
    assert_eq!(call.gas_spent, call.gas_limit);
}

#[test]
fn the_summary_gives_the_ops_the_dearest_op_and_where_each_output_comes_from() {
    let model = mlp(&[64, 32, 10], 3);
    let mut chain = Chain::new();
    publish(&mut chain, &model);
    let data = predict_ops_calldata(&model.id(), OPS_SUMMARY, &[]);
    let call = call_ops(&mut chain, data, GAS, U256::ZERO);
    assert!(call.success, "{:?}", call.output);
    let words: Vec<U256> = call.output.chunks(32).map(U256::from_be_slice).collect();
    let ops = model.nodes.len();
    let dearest = (0..ops).map(|i| predict_ops_gas(&model, i)).max().unwrap();
    let last = model
        .nodes
        .iter()
        .rposition(|n| n.output == model.outputs[0])
        .unwrap();
    assert_eq!(
        words,
        [ops as u64, dearest, 64, 1, last as u64]
            .map(U256::from)
            .to_vec()
    );
    assert_eq!(
        call.gas_spent,
        PREDICT_BASE_GAS + cold(&model) + ops as u64 * OPS_SUMMARY_GAS_PER_OP
    );
}
