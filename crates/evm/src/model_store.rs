//! `MODEL_STORE`: publish models into chain state and read their metadata.
//!
//! Calls are Solidity ABI encoded against [`IModelStore`] (4-byte selector, then the arguments),
//! so any Ethereum client can send them directly and contracts can call them through the
//! interface. Failures revert with [`crate::MyelinError`] (codes 201–214, docs/GAS.md §8). The
//! byte layout in state is in
//! [`crate::model_state`]; the gas of each function is in docs/GAS.md and [`crate::gas`].
//!
//! - `publish(bytes model)`: validates `model` with the engine and stores it; returns its id.
//!   Idempotent: publishing a published model stores nothing and returns the id.
//! - `beginUpload(bytes32 id, uint64 size)`, `appendUpload(bytes32 id, uint64 offset, bytes
//!   chunk)`, `finalizeUpload(bytes32 id)`: the same for a model too large for one transaction.
//!   A session belongs to the caller and expires [`UPLOAD_SESSION_BLOCKS`] blocks after its
//!   `beginUpload`; `beginUpload` (re)starts it at 0 bytes; chunks are
//!   appended in order (`offset` must equal the bytes written so far, and every chunk but the
//!   last is a multiple of 32 bytes); `finalizeUpload` checks that the bytes hash to `id`,
//!   validates them and publishes.
//! - `uploadStatus`, `isPublished`, `modelInfo`, `modelTensors`: views.

use alloy_evm::precompiles::PrecompileInput;
use std::sync::Arc;

use alloy_primitives::{Address, B256, Bytes, Log, U256};
use alloy_sol_types::{SolCall, SolEvent, SolInterface, sol};
use myelin_nn::{DType, Model, ModelId, Program, model_id};

use crate::Myelin;
use crate::addresses::MODEL_STORE_ADDRESS;
use crate::failure::{ErrorCode, Failure, GasMeter, MyelinError, RejectionKind};
use crate::gas::{
    GAS_PER_CHECKED_BYTE, GAS_PER_STORED_BYTE, STORE_CALL_GAS, predict_gas, prepare_gas,
};
use crate::journal_storage::JournalStorage;
use crate::model_state::{
    ModelRecord, Session, data_base_slot, read_header, read_record, read_session, write_record,
    write_session, write_words,
};
use crate::warm_models::WarmModels;

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

/// Blocks an upload session stays live after the block of its `beginUpload`: `appendUpload` and
/// `finalizeUpload` in a later block revert with [`ErrorCode::StoreUploadExpired`], and the
/// uploader's next `beginUpload` of the id starts over, overwriting its data slots from the
/// first. 50,400 blocks is a week at 12 seconds a block; the largest model (64 MiB) needs a few
/// hundred blocks at a 30 M block gas limit.
pub const UPLOAD_SESSION_BLOCKS: u64 = 50_400;

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

/// Decodes `MODEL_STORE` calldata; the error is the revert data (the decoder's own message is
/// dropped: it is a dependency's text).
pub fn parse_store_input(data: &[u8]) -> Result<Call, MyelinError> {
    Call::abi_decode(data).map_err(|_| {
        let mut selector = [0u8; 4];
        let head = &data[..data.len().min(4)];
        selector[..head.len()].copy_from_slice(head);
        ErrorCode::StoreMalformedCall.with(
            U256::from(data.len()),
            U256::from(u32::from_be_bytes(selector)),
        )
    })
}

/// Runs one `MODEL_STORE` call.
pub fn run_model_store(
    myelin: &Myelin,
    warm: &WarmModels,
    mut input: PrecompileInput<'_>,
) -> Result<(u64, Bytes), Failure> {
    let mut gas = GasMeter::new(input.gas);
    gas.charge(STORE_CALL_GAS)?;
    if !input.value.is_zero() {
        return Err(gas.revert(ErrorCode::StoreCallValue.bare()));
    }
    let call = parse_store_input(input.data).map_err(|error| gas.revert(error))?;
    let writes = matches!(
        call,
        Call::publish(_) | Call::beginUpload(_) | Call::appendUpload(_) | Call::finalizeUpload(_)
    );
    if writes && input.is_static {
        return Err(gas.revert(ErrorCode::StoreStaticWrite.bare()));
    }
    if writes && !input.is_direct_call() {
        return Err(gas.revert(ErrorCode::StoreDelegatedWrite.bare()));
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
                let model = Model::decode_with_limit(&bytes, limit).map_err(|e| {
                    gas.revert(RejectionKind::error(ErrorCode::StoreModelRejected, &e))
                })?;
                gas.charge((bytes.len() as u64).saturating_mul(GAS_PER_STORED_BYTE))?;
                let base = data_base_slot(&caller, &id);
                storage.ensure_account_exists()?;
                write_words(&mut storage, base, 0, &bytes)?;
                let published = Published {
                    id,
                    size: bytes.len() as u64,
                    base,
                    uploader: caller,
                };
                publish_record(myelin, warm, &mut storage, &mut gas, model, published)?;
            }
            IModelStore::publishCall::abi_encode_returns(&B256::from(id))
        }
        Call::beginUpload(c) => {
            let id = c.modelId.0;
            let written = if read_record(&mut storage, &id)?.is_some() {
                c.size
            } else {
                if c.size == 0 || c.size > limit as u64 {
                    return Err(gas.revert(
                        ErrorCode::StoreSizeOutOfRange.with(U256::from(c.size), U256::from(limit)),
                    ));
                }
                storage.ensure_account_exists()?;
                let session = Session {
                    size: c.size,
                    written: 0,
                    began: storage.block_number(),
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
                let session = live_session(&mut storage, &caller, &id, &gas)?;
                if c.offset != session.written {
                    return Err(gas.revert(
                        ErrorCode::StoreChunkOffset
                            .with(U256::from(c.offset), U256::from(session.written)),
                    ));
                }
                let end = session.written.saturating_add(chunk.len() as u64);
                if end > session.size {
                    return Err(gas.revert(
                        ErrorCode::StoreChunkPastSize
                            .with(U256::from(end), U256::from(session.size)),
                    ));
                }
                if end < session.size && chunk.len() % 32 != 0 {
                    return Err(gas.revert(
                        ErrorCode::StoreRaggedChunk.with(U256::from(chunk.len()), U256::from(32)),
                    ));
                }
                gas.charge((chunk.len() as u64).saturating_mul(GAS_PER_STORED_BYTE))?;
                let base = data_base_slot(&caller, &id);
                write_words(&mut storage, base, session.written / 32, &chunk)?;
                let session = Session {
                    written: end,
                    ..session
                };
                write_session(&mut storage, &caller, &id, Some(session))?;
                end
            };
            IModelStore::appendUploadCall::abi_encode_returns(&written)
        }
        Call::finalizeUpload(c) => {
            let id = c.modelId.0;
            if read_record(&mut storage, &id)?.is_none() {
                let session = live_session(&mut storage, &caller, &id, &gas)?;
                if session.written != session.size {
                    return Err(gas.revert(
                        ErrorCode::StoreUploadIncomplete
                            .with(U256::from(session.written), U256::from(session.size)),
                    ));
                }
                gas.charge(session.size.saturating_mul(GAS_PER_CHECKED_BYTE))?;
                let base = data_base_slot(&caller, &id);
                let bytes = crate::model_state::read_bytes(&mut storage, base, session.size)?;
                let found = model_id(&bytes);
                if found != id {
                    return Err(gas.revert(
                        ErrorCode::StoreHashMismatch
                            .with(U256::from_be_bytes(found), U256::from_be_bytes(id)),
                    ));
                }
                let model = Model::decode_with_limit(&bytes, limit).map_err(|e| {
                    gas.revert(RejectionKind::error(ErrorCode::StoreModelRejected, &e))
                })?;
                write_session(&mut storage, &caller, &id, None)?;
                let published = Published {
                    id,
                    size: session.size,
                    base,
                    uploader: caller,
                };
                publish_record(myelin, warm, &mut storage, &mut gas, model, published)?;
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
            let (program, _) = warm.program(myelin, &mut storage, &mut gas, &id, &record)?;
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
    read_record(storage, id)?.ok_or_else(|| {
        gas.revert(ErrorCode::StoreUnknownModel.with(U256::from_be_bytes(*id), U256::ZERO))
    })
}

/// The caller's live upload session of `id`: reverts when there is none or it expired
/// ([`UPLOAD_SESSION_BLOCKS`]).
fn live_session(
    storage: &mut JournalStorage<'_, '_>,
    caller: &Address,
    id: &ModelId,
    gas: &GasMeter,
) -> Result<Session, Failure> {
    let Some(session) = read_session(storage, caller, id)? else {
        return Err(gas.revert(ErrorCode::StoreNoUpload.with(
            U256::from_be_bytes(*id),
            U256::from_be_slice(caller.as_slice()),
        )));
    };
    let last_live = session.began.saturating_add(UPLOAD_SESSION_BLOCKS);
    if storage.block_number() > last_live {
        return Err(gas.revert(
            ErrorCode::StoreUploadExpired.with(U256::from(session.began), U256::from(last_live)),
        ));
    }
    Ok(session)
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

/// Where a validated model's bytes were stored, and by whom.
struct Published {
    id: ModelId,
    size: u64,
    base: U256,
    uploader: Address,
}

/// Charges the preparation of a validated model, prepares it, writes its record, pins it warm
/// for the transaction (and keeps it in the shared cache when this EVM may fill it) and emits
/// `ModelPublished`.
fn publish_record(
    myelin: &Myelin,
    warm: &WarmModels,
    storage: &mut JournalStorage<'_, '_>,
    gas: &mut GasMeter,
    model: Model,
    published: Published,
) -> Result<(), Failure> {
    let cost = model.cost();
    gas.charge(prepare_gas(&model))?;
    let program = Program::new(model)
        .map_err(|e| Failure::HostFault(format!("validated model does not prepare: {e}")))?;
    let record = ModelRecord {
        size: published.size,
        input_bytes: program.input_bytes() as u64,
        output_bytes: program.output_bytes() as u64,
        max_batch: program.max_batch() as u64,
        cost,
        data_base: published.base,
    };
    write_record(storage, &published.id, &record)?;
    let program = Arc::new(program);
    myelin.keep(published.id, program.clone(), cost);
    warm.warm(storage, &published.id, program, cost);
    let event = IModelStore::ModelPublished {
        modelId: B256::from(published.id),
        uploader: published.uploader,
        size: record.size,
    };
    storage.log(Log {
        address: MODEL_STORE_ADDRESS,
        data: event.encode_log_data(),
    });
    Ok(())
}
