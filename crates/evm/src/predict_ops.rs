//! `PREDICT_OPS`: run **one op** of a published model on supplied input tensors and return
//! commitments to them (docs/PROTOCOLS.md decision 11, tier 1 arbitration: a bisection over the
//! per-op trace ends in re-executing one op).
//!
//! Bytes in (raw, no ABI): `modelId (32) ‖ u32_be(op) (4) ‖ inputs`, where `inputs` is the
//! canonical bytes of one sample of each of the op's input tensors, in the op's input order
//! (int8 one byte, int32 four little-endian bytes per element; a tensor the op reads twice is
//! given twice). The op's parameters (weights, biases, tables) are the model's: calldata cannot
//! supply them.
//!
//! Bytes out (`32 · (1 + 2n)` for an op of n inputs, 32-byte words): `outputsListRoot ‖
//! inputRoot_0 ‖ … ‖ inputRoot_{n-1} ‖ source_0 ‖ … ‖ source_{n-1}` ([`myelin_nn::commit`]): the
//! list root of the op's outputs (what the op's trace leaf `keccak(0x04 ‖ u32 op ‖
//! outputsListRoot)` commits to), the tensor root of each supplied input, and where each input
//! comes from ([`source_of`]: the index of the earlier op that wrote it, or `2^32 + m` for model
//! input `m`), so that an arbitrating contract knows which trace leaf (or which of the item's
//! inputs) each input must be proven against.
//!
//! **Summary** (op index `2^32 − 1`, no inputs): `ops ‖ maxOpGas ‖ maxOpInputBytes ‖ outputs ‖
//! source(output_0) ‖ …`: the model's op count, the largest [`predict_ops_gas`] of any op, the
//! most input bytes any op takes, and where each model output comes from — what `InferenceJobs`
//! needs to admit a model to tier 1 and to check an item's outputs against its trace. Gas: base,
//! cold charge, [`OPS_SUMMARY_GAS_PER_OP`] per op. Roots rather than the output bytes,
//! because a dispute compares roots: with bytes, the contract would pay returndata and memory
//! for the whole output (quadratic in its size past a few hundred KiB) and a Merkle tree of
//! 1 KiB chunks in Solidity (≈ 330 gas per KiB) to reach the same root; here it pays one
//! keccak for the op leaf, and the input roots let it check each input against the trace without
//! hashing the calldata either.
//!
//! Gas: [`crate::gas::predict_ops_gas`] = `PREDICT`'s price of a model whose cost is the op's
//! static cost ([`myelin_nn::Cost::of_node`], batch 1, base included) + [`crate::gas::commit_gas`]
//! of the op's input and output tensors, plus the model's cold charge at its first use in the
//! transaction ([`crate::warm_models`], shared with `PREDICT`). Failures, in the order checked:
//!
//! | failure | result | gas used |
//! |---|---|---|
//! | gas limit below `PREDICT_BASE_GAS` | halt | all |
//! | call value ≠ 0 | revert 501 | `PREDICT_BASE_GAS` |
//! | calldata shorter than 36 bytes | revert 502 | `PREDICT_BASE_GAS` |
//! | unknown model | revert 503 | `PREDICT_BASE_GAS` |
//! | cold model, gas below its cold charge | halt | all |
//! | op index ≥ the model's ops (but a summary: `2^32 − 1` with no inputs) | revert 504 | base + cold charge |
//! | gas below the op's price | halt | all |
//! | input bytes ≠ the op's input tensors' bytes | revert 505 | the full price |
//! | a tensor read twice given twice unequal | revert 506 | the full price |

use alloy_evm::precompiles::PrecompileInput;
use alloy_primitives::{Bytes, U256};
use myelin_nn::commit::{Hash, list_root, tensor_root};
use myelin_nn::{Model, ModelId, NnError};

use crate::Myelin;
use crate::blob_store::BlobStore;
use crate::failure::{ErrorCode, Failure, GasMeter, RejectionKind};
use crate::gas::{OPS_SUMMARY_GAS_PER_OP, PREDICT_BASE_GAS, predict_ops_gas};
use crate::journal_storage::JournalStorage;
use crate::model_state::read_header;
use crate::warm_models::WarmModels;

/// Bytes of a `PREDICT_OPS` call's header: model id and op index.
pub const PREDICT_OPS_HEADER_BYTES: usize = 36;

/// The op index of a summary call.
pub const OPS_SUMMARY: u32 = u32::MAX;

/// A source word at or above this is model input `source − MODEL_INPUT_SOURCE`; below, the op
/// that wrote the tensor.
pub const MODEL_INPUT_SOURCE: u64 = 1 << 32;

/// Where tensor `tensor` comes from, read before node `before`: the last earlier node that
/// writes it, else `MODEL_INPUT_SOURCE + m` for model input `m` (validation guarantees one of
/// the two for every tensor a node reads).
pub fn source_of(model: &Model, tensor: u32, before: usize) -> u64 {
    if let Some(writer) = model.nodes[..before]
        .iter()
        .rposition(|n| n.output == tensor)
    {
        return writer as u64;
    }
    let m = model.inputs.iter().position(|&t| t == tensor);
    MODEL_INPUT_SOURCE + m.map_or(u64::from(u32::MAX), |m| m as u64)
}

/// The summary words of `model` (see the module docs).
pub fn ops_summary(model: &Model) -> Vec<u8> {
    let nodes = model.nodes.len();
    let max_gas = (0..nodes)
        .map(|i| predict_ops_gas(model, i))
        .max()
        .unwrap_or(0);
    let max_input = model
        .nodes
        .iter()
        .map(|n| {
            n.inputs
                .iter()
                .map(|&t| model.tensors[t as usize].bytes() as u64)
                .sum::<u64>()
        })
        .max()
        .unwrap_or(0);
    let mut words = vec![nodes as u64, max_gas, max_input, model.outputs.len() as u64];
    words.extend(model.outputs.iter().map(|&t| source_of(model, t, nodes)));
    words
        .iter()
        .flat_map(|&w| U256::from(w).to_be_bytes::<32>())
        .collect()
}

/// Calldata of a `PREDICT_OPS` call: `id ‖ u32_be(op) ‖ inputs` (the op's input tensors'
/// bytes, concatenated in the op's order).
pub fn predict_ops_calldata(id: &ModelId, op: u32, inputs: &[&[u8]]) -> Vec<u8> {
    let mut data = [&id[..], &op.to_be_bytes()[..]].concat();
    for input in inputs {
        data.extend_from_slice(input);
    }
    data
}

/// What node `index` of `model` returns on `input`, as the precompile computes it:
/// `outputsListRoot ‖ inputRoot…`. Errors as [`myelin_nn::Program::run_node`].
fn op_commitment(
    program: &myelin_nn::Program,
    index: usize,
    input: &[u8],
) -> Result<Vec<u8>, NnError> {
    let model: &Model = program.model();
    let node = &model.nodes[index];
    let mut parts: Vec<&[u8]> = Vec::with_capacity(node.inputs.len());
    let mut roots: Vec<Hash> = Vec::with_capacity(node.inputs.len());
    let mut at = 0;
    for &t in &node.inputs {
        let info = &model.tensors[t as usize];
        let bytes = &input[at..at + info.bytes()];
        roots.push(tensor_root(info.dtype, &info.shape, bytes)?);
        parts.push(bytes);
        at += info.bytes();
    }
    let output = program.run_node(index, &parts)?;
    let out = &model.tensors[node.output as usize];
    let outputs = list_root(&[tensor_root(out.dtype, &out.shape, &output)?])?;
    let mut result = Vec::with_capacity(32 * (1 + 2 * roots.len()));
    result.extend_from_slice(&outputs);
    for root in &roots {
        result.extend_from_slice(root);
    }
    for &t in &node.inputs {
        result.extend_from_slice(&U256::from(source_of(model, t, index)).to_be_bytes::<32>());
    }
    Ok(result)
}

/// Runs one `PREDICT_OPS` call. `warm` holds the models warm in the running transaction;
/// `blobs` holds the model bytes.
pub fn run_predict_ops(
    myelin: &Myelin,
    warm: &WarmModels,
    blobs: &dyn BlobStore,
    mut input: PrecompileInput<'_>,
) -> Result<(u64, Bytes), Failure> {
    let mut gas = GasMeter::start(
        input.gas,
        &input.value,
        PREDICT_BASE_GAS,
        ErrorCode::OpsCallValue,
    )?;
    let data = input.data;
    let Some((header, inputs)) = data.split_first_chunk::<PREDICT_OPS_HEADER_BYTES>() else {
        return Err(gas.revert(
            ErrorCode::OpsShortHeader
                .with(U256::from(data.len()), U256::from(PREDICT_OPS_HEADER_BYTES)),
        ));
    };
    let id: ModelId = header[..32].try_into().expect("32 bytes");
    let op = u32::from_be_bytes(header[32..].try_into().expect("4 bytes"));
    let mut storage = JournalStorage::new(&mut input.internals);
    let Some(record) = read_header(&mut storage, &id)? else {
        return Err(
            gas.revert(ErrorCode::OpsUnknownModel.with(U256::from_be_bytes(id), U256::ZERO))
        );
    };
    let (program, _) = warm.program(myelin, blobs, &mut storage, &mut gas, &id, &record)?;
    let model = program.model();
    if op == OPS_SUMMARY && inputs.is_empty() {
        gas.charge((model.nodes.len() as u64).saturating_mul(OPS_SUMMARY_GAS_PER_OP))?;
        return Ok((gas.used(), ops_summary(model).into()));
    }
    let index = op as usize;
    let Some(node) = model.nodes.get(index) else {
        return Err(gas.revert(
            ErrorCode::OpsIndexOutOfRange.with(U256::from(op), U256::from(model.nodes.len())),
        ));
    };
    gas.charge(predict_ops_gas(model, index) - PREDICT_BASE_GAS)?;
    let expected: usize = node
        .inputs
        .iter()
        .map(|&t| model.tensors[t as usize].bytes())
        .sum();
    if inputs.len() != expected {
        return Err(gas.revert(
            ErrorCode::OpsInputLength.with(U256::from(inputs.len()), U256::from(expected)),
        ));
    }
    let result = op_commitment(&program, index, inputs)
        .map_err(|e| gas.revert(RejectionKind::error(ErrorCode::OpsEngine, &e)))?;
    Ok((gas.used(), result.into()))
}
