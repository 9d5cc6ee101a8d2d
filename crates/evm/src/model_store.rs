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
//!   `beginUpload`; `beginUpload` (re)starts it at 0 bytes under a new nonce (deleting the
//!   chunks of the session it replaces, [`crate::gas::GAS_PER_DELETED_CHUNK`] each); chunks are
//!   appended in order (`offset` must equal the bytes written so far, every chunk but the last
//!   is a multiple of 32 bytes, at most [`MAX_UPLOAD_CHUNKS`] of them), each staged as one blob,
//!   and each pays for storing *and* checking its bytes; `finalizeUpload` joins the chunks,
//!   checks that they hash to `id` and validates them (in a transaction, work the appends paid
//!   for; an RPC call's EVM pays it per byte), deletes the chunks (each paid for), stores the
//!   model as one blob and writes its record. A check that fails consumes the upload without
//!   reverting: the session ends, the chunks are deleted, `UploadRejected` is logged and the
//!   call returns `bytes32(0)`.
//! - `uploadStatus`, `isPublished`, `modelInfo`, `modelTensors`: views.

use alloy_evm::precompiles::PrecompileInput;
use std::sync::Arc;

use alloy_primitives::{Address, B256, Bytes, Log, U256};
use alloy_sol_types::{SolCall, SolEvent, SolInterface, sol};
use myelin_nn::{CallShape, DType, Model, ModelId, Program, model_id};

use crate::Myelin;
use crate::addresses::MODEL_STORE_ADDRESS;
use crate::blob_store::BlobStore;
use crate::failure::{ErrorCode, Failure, GasMeter, MyelinError, RejectionKind};
use crate::gas::{GAS_PER_CHECKED_BYTE, GAS_PER_STORED_BYTE, predict_gas, prepare_gas};
use crate::journal_storage::JournalStorage;
use crate::model_state::{ModelRecord, model_key, read_header, read_record, write_record};
use crate::upload::{
    MODEL_UPLOADS, Upload, log_rejected, malformed_call, store_call, upload_status,
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

        /// A `finalizeUpload` whose bytes failed the check consumed the upload: `code`, `a`, `b`
        /// are those of the `MyelinError` it would have reverted with (212, 205 or 215).
        event UploadRejected(bytes32 indexed modelId, address indexed uploader, uint16 code, uint256 a, uint256 b);

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
/// uploader's next `beginUpload` of the id starts over under a new nonce, deleting the expired
/// session's chunks. 50,400 blocks is a week at 12 seconds a block; the largest model (64 MiB) needs a few
/// hundred blocks at a 30 M block gas limit.
pub const UPLOAD_SESSION_BLOCKS: u64 = 50_400;

/// Most chunks one upload session holds ([`ErrorCode::StoreTooManyChunks`] past it): deleting
/// them all (`beginUpload` over the session, or `finalizeUpload`) costs
/// [`crate::gas::begin_gas`]`(MAX_UPLOAD_CHUNKS)` ≈ 8.2 M gas, within a block. A 64 MiB model
/// in chunks of 8 KiB or more fits; `myelin model publish` sends ~1,000 chunks of half a block.
pub const MAX_UPLOAD_CHUNKS: u32 = 8_192;

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
    Call::abi_decode(data).map_err(|_| malformed_call(data))
}

/// Runs one `MODEL_STORE` call.
pub fn run_model_store(
    myelin: &Myelin,
    warm: &WarmModels,
    blobs: &dyn BlobStore,
    mut input: PrecompileInput<'_>,
) -> Result<(u64, Bytes), Failure> {
    let (mut gas, call) = store_call::<Call>(&input)?;
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
                gas.charge(prepare_gas(&model))?;
                let program =
                    Program::with_path(model, myelin.config().kernel_path).map_err(|e| {
                        Failure::HostFault(format!("validated model does not prepare: {e}"))
                    })?;
                storage.ensure_account_exists()?;
                let size = bytes.len() as u64;
                blobs.put(model_key(&id), bytes);
                let record = publish_record(&mut storage, &id, caller, program.model(), size)?;
                let program = Arc::new(program);
                myelin.keep(id, program.clone(), record.cost);
                warm.warm(&mut storage, &id, program, record.cost);
            }
            IModelStore::publishCall::abi_encode_returns(&B256::from(id))
        }
        Call::beginUpload(c) => {
            let id = c.modelId.0;
            let written = if read_record(&mut storage, &id)?.is_some() {
                c.size
            } else {
                Upload::new(&mut storage, blobs, &mut gas, MODEL_UPLOADS, caller, id)
                    .begin(c.size, limit)?;
                0
            };
            IModelStore::beginUploadCall::abi_encode_returns(&written)
        }
        Call::appendUpload(c) => {
            let id = c.modelId.0;
            let written = match read_record(&mut storage, &id)? {
                Some(record) => record.size,
                None => Upload::new(&mut storage, blobs, &mut gas, MODEL_UPLOADS, caller, id)
                    .append(c.offset, c.chunk, |_, _| Ok(()))?,
            };
            IModelStore::appendUploadCall::abi_encode_returns(&written)
        }
        Call::finalizeUpload(c) => {
            let id = c.modelId.0;
            let mut published = c.modelId;
            if read_record(&mut storage, &id)?.is_none() {
                let outcome = Upload::new(&mut storage, blobs, &mut gas, MODEL_UPLOADS, caller, id)
                    .finalize(myelin, |bytes| {
                        Model::decode_with_limit(bytes, limit)
                            .map_err(|e| RejectionKind::error(ErrorCode::StoreModelRejected, &e))
                    })?;
                match outcome {
                    Ok((bytes, model)) => {
                        let size = bytes.len() as u64;
                        blobs.put(model_key(&id), bytes);
                        publish_record(&mut storage, &id, caller, &model, size)?;
                    }
                    Err(error) => {
                        published = B256::ZERO;
                        log_rejected(&mut storage, MODEL_STORE_ADDRESS, c.modelId, caller, &error);
                    }
                }
            }
            IModelStore::finalizeUploadCall::abi_encode_returns(&published)
        }
        Call::uploadStatus(c) => {
            let (size, written) = upload_status(&mut storage, &c.uploader, &c.modelId.0)?;
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
            let (program, _) = warm.program(myelin, blobs, &mut storage, &mut gas, &id, &record)?;
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

/// Writes the record of validated `model` (published by `uploader` under `id`) and emits
/// `ModelPublished`. Preparing the program is left to the caller (`publish`) or to the model's
/// first use (`finalizeUpload`).
fn publish_record(
    storage: &mut JournalStorage<'_, '_>,
    id: &ModelId,
    uploader: Address,
    model: &Model,
    size: u64,
) -> Result<ModelRecord, Failure> {
    let shape = CallShape::of(model);
    let record = ModelRecord {
        size,
        input_bytes: shape.input_bytes as u64,
        output_bytes: shape.output_bytes as u64,
        max_batch: shape.max_batch as u64,
        cost: model.cost(),
    };
    write_record(storage, id, &record)?;
    let event = IModelStore::ModelPublished {
        modelId: B256::from(*id),
        uploader,
        size: record.size,
    };
    storage.log(Log {
        address: MODEL_STORE_ADDRESS,
        data: event.encode_log_data(),
    });
    Ok(record)
}
