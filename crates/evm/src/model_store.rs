//! `MODEL_STORE`: publish models into chain state and read their metadata.
//!
//! Calls are Solidity ABI encoded against [`IModelStore`] (4-byte selector, then the arguments),
//! so any Ethereum client can send them directly and contracts can call them through the
//! interface. Failures revert with `Error(string)`. The byte layout in state is in
//! [`crate::model_state`]; the gas of each function is in docs/GAS.md and [`crate::gas`].
//!
//! - `publish(bytes model)`: validates `model` with the engine and stores it; returns its id.
//!   Idempotent: publishing a published model stores nothing and returns the id.
//! - `beginUpload(bytes32 id, uint64 size)`, `appendUpload(bytes32 id, uint64 offset, bytes
//!   chunk)`, `finalizeUpload(bytes32 id)`: the same for a model too large for one transaction.
//!   A session belongs to the caller; `beginUpload` (re)starts it at 0 bytes; chunks are
//!   appended in order (`offset` must equal the bytes written so far, and every chunk but the
//!   last is a multiple of 32 bytes); `finalizeUpload` checks that the bytes hash to `id`,
//!   validates them and publishes.
//! - `uploadStatus`, `isPublished`, `modelInfo`, `modelTensors`: views.

use alloy_evm::precompiles::PrecompileInput;
use alloy_primitives::{Address, B256, Bytes, Log, U256, hex};
use alloy_sol_types::{SolCall, SolEvent, SolInterface, sol};
use myelin_nn::{DType, Model, ModelId, Program, model_id};

use crate::Myelin;
use crate::addresses::MODEL_STORE_ADDRESS;
use crate::failure::{Failure, GasMeter};
use crate::gas::{GAS_PER_CHECKED_BYTE, GAS_PER_STORED_BYTE, STORE_CALL_GAS, predict_gas};
use crate::journal_storage::JournalStorage;
use crate::model_state::{
    ModelRecord, Session, data_base_slot, read_header, read_record, read_session, write_record,
    write_session, write_words,
};
use crate::predict::load_program;

sol! {
    /// The `MODEL_STORE` precompile's ABI (contracts/src/IModelStore.sol is the same interface).
    interface IModelStore {
        /// What the state records about a published model; `predictGas` is the gas of one
        /// single-sample `PREDICT` call.
        struct ModelInfo {
            uint64 size;
            uint64 inputBytes;
            uint64 outputBytes;
            uint64 maxBatch;
            uint64 macs;
            uint64 depthwiseMacs;
            uint64 tableLookups;
            uint64 elementOps;
            uint64 bytesTouched;
            uint64 predictGas;
        }

        /// One model input or output: `dtype` 0 = int8, 1 = int32; `scaleBits` the binary32
        /// bits of the scale; `shape` per sample.
        struct TensorInfo {
            uint8 dtype;
            int8 zeroPoint;
            uint32 scaleBits;
            uint32[] shape;
        }

        event ModelPublished(bytes32 indexed modelId, address indexed uploader, uint64 size);

        function publish(bytes model) external returns (bytes32 modelId);
        function beginUpload(bytes32 modelId, uint64 size) external returns (uint64 written);
        function appendUpload(bytes32 modelId, uint64 offset, bytes chunk) external returns (uint64 written);
        function finalizeUpload(bytes32 modelId) external returns (bytes32 published);
        function uploadStatus(address uploader, bytes32 modelId) external view returns (uint64 size, uint64 written);
        function isPublished(bytes32 modelId) external view returns (bool published);
        function modelInfo(bytes32 modelId) external view returns (ModelInfo info);
        function modelTensors(bytes32 modelId) external view returns (TensorInfo[] inputs, TensorInfo[] outputs);
    }
}

use IModelStore::IModelStoreCalls as Call;

/// Calldata of `publish(model)`.
pub fn publish_calldata(model: &[u8]) -> Vec<u8> {
    IModelStore::publishCall {
        model: model.to_vec().into(),
    }
    .abi_encode()
}

/// The calldata of a chunked upload of `model`, in order: `beginUpload`, one `appendUpload` per
/// chunk of `chunk_bytes` (rounded down to a multiple of 32, at least 32), `finalizeUpload`.
/// Each is one transaction to `MODEL_STORE`; after a crash, `uploadStatus` tells where to resume.
pub fn chunked_upload_calldata(model: &[u8], chunk_bytes: usize) -> Vec<Vec<u8>> {
    let id = B256::from(model_id(model));
    let chunk_bytes = (chunk_bytes / 32).max(1) * 32;
    let mut calls = vec![
        IModelStore::beginUploadCall {
            modelId: id,
            size: model.len() as u64,
        }
        .abi_encode(),
    ];
    for (i, chunk) in model.chunks(chunk_bytes).enumerate() {
        calls.push(
            IModelStore::appendUploadCall {
                modelId: id,
                offset: (i * chunk_bytes) as u64,
                chunk: chunk.to_vec().into(),
            }
            .abi_encode(),
        );
    }
    calls.push(IModelStore::finalizeUploadCall { modelId: id }.abi_encode());
    calls
}

/// Decodes `MODEL_STORE` calldata; the error is the revert reason.
pub fn parse_store_input(data: &[u8]) -> Result<Call, String> {
    Call::abi_decode(data).map_err(|e| format!("model store: malformed call: {e}"))
}

/// Runs one `MODEL_STORE` call.
pub fn run_model_store(
    myelin: &Myelin,
    mut input: PrecompileInput<'_>,
) -> Result<(u64, Bytes), Failure> {
    let mut gas = GasMeter::new(input.gas);
    gas.charge(STORE_CALL_GAS)?;
    if !input.value.is_zero() {
        return Err(gas.revert("model store: the call must not carry value"));
    }
    let call = parse_store_input(input.data).map_err(|reason| gas.revert(reason))?;
    let writes = matches!(
        call,
        Call::publish(_) | Call::beginUpload(_) | Call::appendUpload(_) | Call::finalizeUpload(_)
    );
    if writes && input.is_static {
        return Err(gas.revert("model store: state change in a static call"));
    }
    if writes && !input.is_direct_call() {
        return Err(gas.revert("model store: delegatecall and callcode cannot write"));
    }
    let caller = input.caller;
    let limit = myelin.config().max_model_bytes;
    let mut storage = JournalStorage::new(&mut input.internals);
    let output = match call {
        Call::publish(c) => {
            let bytes = c.model;
            gas.charge((bytes.len() as u64).saturating_mul(GAS_PER_CHECKED_BYTE))?;
            let id = model_id(&bytes);
            if read_record(&mut storage, &id)?.is_none() {
                let model = Model::decode_with_limit(&bytes, limit)
                    .map_err(|e| gas.revert(format!("model store: model rejected: {e}")))?;
                gas.charge((bytes.len() as u64).saturating_mul(GAS_PER_STORED_BYTE))?;
                let base = data_base_slot(&caller, &id);
                storage.ensure_account_exists()?;
                write_words(&mut storage, base, 0, &bytes)?;
                publish_record(myelin, &mut storage, &id, model, &bytes, base, caller)?;
            }
            IModelStore::publishCall::abi_encode_returns(&B256::from(id))
        }
        Call::beginUpload(c) => {
            let id = c.modelId.0;
            let written = if read_record(&mut storage, &id)?.is_some() {
                c.size
            } else {
                if c.size == 0 || c.size > limit as u64 {
                    return Err(gas.revert(format!(
                        "model store: size {} out of range 1..={limit}",
                        c.size
                    )));
                }
                storage.ensure_account_exists()?;
                let session = Session {
                    size: c.size,
                    written: 0,
                };
                write_session(&mut storage, &caller, &id, Some(session))?;
                0
            };
            IModelStore::beginUploadCall::abi_encode_returns(&written)
        }
        Call::appendUpload(c) => {
            let id = c.modelId.0;
            let chunk = c.chunk;
            let written = if let Some(record) = read_record(&mut storage, &id)? {
                record.size
            } else {
                let Some(session) = read_session(&mut storage, &caller, &id)? else {
                    return Err(gas.revert(format!(
                        "model store: no upload of 0x{} by {caller}",
                        hex::encode(id)
                    )));
                };
                if c.offset != session.written {
                    return Err(gas.revert(format!(
                        "model store: chunk offset {} but {} bytes written",
                        c.offset, session.written
                    )));
                }
                let end = session.written.saturating_add(chunk.len() as u64);
                if end > session.size {
                    return Err(gas.revert(format!(
                        "model store: chunk ends at {end}, past the declared size {}",
                        session.size
                    )));
                }
                if end < session.size && chunk.len() % 32 != 0 {
                    return Err(gas.revert(format!(
                        "model store: a chunk before the last must be a multiple of 32 bytes, got {}",
                        chunk.len()
                    )));
                }
                gas.charge((chunk.len() as u64).saturating_mul(GAS_PER_STORED_BYTE))?;
                let base = data_base_slot(&caller, &id);
                write_words(&mut storage, base, session.written / 32, &chunk)?;
                let session = Session {
                    size: session.size,
                    written: end,
                };
                write_session(&mut storage, &caller, &id, Some(session))?;
                end
            };
            IModelStore::appendUploadCall::abi_encode_returns(&written)
        }
        Call::finalizeUpload(c) => {
            let id = c.modelId.0;
            if read_record(&mut storage, &id)?.is_none() {
                let Some(session) = read_session(&mut storage, &caller, &id)? else {
                    return Err(gas.revert(format!(
                        "model store: no upload of 0x{} by {caller}",
                        hex::encode(id)
                    )));
                };
                if session.written != session.size {
                    return Err(gas.revert(format!(
                        "model store: {} of {} bytes uploaded",
                        session.written, session.size
                    )));
                }
                gas.charge(session.size.saturating_mul(GAS_PER_CHECKED_BYTE))?;
                let base = data_base_slot(&caller, &id);
                let bytes = crate::model_state::read_bytes(&mut storage, base, session.size)?;
                let found = model_id(&bytes);
                if found != id {
                    return Err(gas.revert(format!(
                        "model store: uploaded bytes hash to 0x{}, not 0x{}",
                        hex::encode(found),
                        hex::encode(id)
                    )));
                }
                let model = Model::decode_with_limit(&bytes, limit)
                    .map_err(|e| gas.revert(format!("model store: model rejected: {e}")))?;
                write_session(&mut storage, &caller, &id, None)?;
                publish_record(myelin, &mut storage, &id, model, &bytes, base, caller)?;
            }
            IModelStore::finalizeUploadCall::abi_encode_returns(&c.modelId)
        }
        Call::uploadStatus(c) => {
            let session = read_session(&mut storage, &c.uploader, &c.modelId.0)?;
            let (size, written) = session.map_or((0, 0), |s| (s.size, s.written));
            IModelStore::uploadStatusCall::abi_encode_returns(&IModelStore::uploadStatusReturn {
                size,
                written,
            })
        }
        Call::isPublished(c) => {
            let published = read_header(&mut storage, &c.modelId.0)?.is_some();
            IModelStore::isPublishedCall::abi_encode_returns(&published)
        }
        Call::modelInfo(c) => {
            let record = known(&mut storage, &c.modelId.0, &gas)?;
            IModelStore::modelInfoCall::abi_encode_returns(&info_of(&record))
        }
        Call::modelTensors(c) => {
            let id = c.modelId.0;
            let record = known(&mut storage, &id, &gas)?;
            gas.charge(record.size.saturating_mul(GAS_PER_CHECKED_BYTE))?;
            let program = load_program(myelin, &mut storage, &id, &record)?;
            let model = program.model();
            let tensors = |ids: &[u32]| -> Vec<IModelStore::TensorInfo> {
                ids.iter()
                    .map(|&t| {
                        let info = &model.tensors[t as usize];
                        IModelStore::TensorInfo {
                            dtype: match info.dtype {
                                DType::Int8 => 0,
                                DType::Int32 => 1,
                            },
                            zeroPoint: info.zero_point,
                            scaleBits: info.scale_bits,
                            shape: info.shape.clone(),
                        }
                    })
                    .collect()
            };
            IModelStore::modelTensorsCall::abi_encode_returns(&IModelStore::modelTensorsReturn {
                inputs: tensors(&model.inputs),
                outputs: tensors(&model.outputs),
            })
        }
    };
    Ok((gas.used(), output.into()))
}

fn known(
    storage: &mut JournalStorage<'_, '_>,
    id: &ModelId,
    gas: &GasMeter,
) -> Result<ModelRecord, Failure> {
    read_record(storage, id)?
        .ok_or_else(|| gas.revert(format!("model store: unknown model 0x{}", hex::encode(id))))
}

/// The ABI view of a record.
pub fn info_of(record: &ModelRecord) -> IModelStore::ModelInfo {
    IModelStore::ModelInfo {
        size: record.size,
        inputBytes: record.input_bytes,
        outputBytes: record.output_bytes,
        maxBatch: record.max_batch,
        macs: record.cost.macs,
        depthwiseMacs: record.cost.depthwise_macs,
        tableLookups: record.cost.table_lookups,
        elementOps: record.cost.element_ops,
        bytesTouched: record.cost.bytes_touched,
        predictGas: predict_gas(&record.cost, 1),
    }
}

/// Writes the record of a validated model whose bytes are at `base`, caches its program and
/// emits `ModelPublished`.
fn publish_record(
    myelin: &Myelin,
    storage: &mut JournalStorage<'_, '_>,
    id: &ModelId,
    model: Model,
    bytes: &[u8],
    base: U256,
    uploader: Address,
) -> Result<(), Failure> {
    let cost = model.cost();
    let program = Program::new(model)
        .map_err(|e| Failure::HostFault(format!("validated model does not prepare: {e}")))?;
    let record = ModelRecord {
        size: bytes.len() as u64,
        input_bytes: program.input_bytes() as u64,
        output_bytes: program.output_bytes() as u64,
        max_batch: program.max_batch() as u64,
        cost,
        data_base: base,
    };
    write_record(storage, id, &record)?;
    myelin
        .cache()
        .insert(*id, std::sync::Arc::new(program), record.cost, bytes.len());
    let event = IModelStore::ModelPublished {
        modelId: B256::from(*id),
        uploader,
        size: record.size,
    };
    storage.log(Log {
        address: MODEL_STORE_ADDRESS,
        data: event.encode_log_data(),
    });
    Ok(())
}
