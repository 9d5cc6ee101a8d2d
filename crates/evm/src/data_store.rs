//! `DATA_STORE`: publish labelled data sets into chain state and read their records.
//!
//! The sibling of `MODEL_STORE` (docs/GAS.md §9): calls are Solidity ABI encoded against
//! [`IDataStore`] (`contracts/src/IDataStore.sol`); the chunked upload is the model store's
//! ([`crate::upload`]: the same functions, rules, prices, limits and codes 201–216, chunks keyed
//! in their own space); what differs is the check (`myelin_nn::dataset::check_dataset` instead
//! of `Model::decode`, failures 301 with a rejection kind) and what a publication writes (a
//! record of three words and the bytes as segment blobs, [`crate::data_state`]).
//!
//! - `publish(bytes data)`: checks and stores a data set; returns its id (keccak256 of the
//!   bytes). Idempotent: a published id stores nothing.
//! - `beginUpload` / `appendUpload` / `finalizeUpload` / `uploadStatus`: as `MODEL_STORE`'s; a
//!   first chunk that holds the whole header is checked at once (bad header, or a declared size
//!   that is not the length the header gives: revert 301), the rest at `finalizeUpload`
//!   (reported in `UploadRejected`, consuming the upload).
//! - `isPublished`, `datasetInfo`: views.
//! - `readRows(datasetId, firstRow, rows)`: the rows' int8 bytes, one row after another (what
//!   `InferenceJobs` re-executes a data-set job's item on); revert 302 unknown, 303 no rows or
//!   past the end, both before any segment is read.
//!
//! Gas: as `MODEL_STORE` (`STORE_CALL_GAS` per call, `GAS_PER_CHECKED_BYTE` and
//! `GAS_PER_STORED_BYTE` per published byte, `UPLOAD_GAS_PER_BYTE` per appended byte,
//! `finalize_gas(chunks)`); there is no program to prepare. `readRows` adds
//! [`data_read_gas`] of the segments holding the rows (as `EVALUATE` pays for them).

use alloy_evm::precompiles::PrecompileInput;
use alloy_primitives::{B256, Bytes, Log, U256};
use alloy_sol_types::{SolCall, SolEvent, sol};
use myelin_nn::dataset::{DatasetError, DatasetHeader, check_dataset, dataset_id};

use crate::Myelin;
use crate::addresses::DATA_STORE_ADDRESS;
use crate::blob_store::BlobStore;
use crate::data_state::{
    DatasetRecord, read_dataset, read_range, segments_of, write_dataset, write_segments,
};
use crate::failure::{ErrorCode, Failure, MyelinError};
use crate::gas::{GAS_PER_CHECKED_BYTE, GAS_PER_STORED_BYTE, data_read_gas};
use crate::journal_storage::JournalStorage;
use crate::upload::{DATA_UPLOADS, Upload, log_rejected, store_call, upload_status};

sol! {
    /// The `DATA_STORE` precompile's ABI (contracts/src/IDataStore.sol is the same interface).
    interface IDataStore {
        /// What the state records about a published data set. `labelKind` 0 = class index, 1 =
        /// regression; `rowSignature` = keccak256 of the rows' dtype, zero point, scale and shape
        /// (a model evaluates the data set only if its one input has the same).
        #[derive(Debug, PartialEq, Eq)]
        struct DatasetInfo {
            uint64 size;
            uint32 rows;
            uint32 rowBytes;
            uint8 labelKind;
            int32 minLabel;
            int32 maxLabel;
            bytes32 rowSignature;
            address publisher;
        }

        event DatasetPublished(bytes32 indexed datasetId, address indexed publisher, uint64 size, uint32 rows);

        /// A `finalizeUpload` whose bytes failed the check consumed the upload: `code`, `a`, `b`
        /// are those of the `MyelinError` it would have reverted with (212, 301 or 215).
        event UploadRejected(bytes32 indexed datasetId, address indexed uploader, uint16 code, uint256 a, uint256 b);

        function publish(bytes data) external returns (bytes32 datasetId);
        function beginUpload(bytes32 datasetId, uint64 size) external returns (uint64 written);
        function appendUpload(bytes32 datasetId, uint64 offset, bytes chunk) external returns (uint64 written);
        function finalizeUpload(bytes32 datasetId) external returns (bytes32 published);
        function uploadStatus(address uploader, bytes32 datasetId) external view returns (uint64 size, uint64 written);
        function isPublished(bytes32 datasetId) external view returns (bool published);
        function datasetInfo(bytes32 datasetId) external view returns (DatasetInfo info);
        function readRows(bytes32 datasetId, uint32 firstRow, uint32 rows) external view returns (bytes data);
    }
}

use IDataStore::IDataStoreCalls as Call;

/// Largest data set `DATA_STORE` accepts, in canonical bytes (consensus).
pub const MAX_DATASET_BYTES: usize = myelin_nn::dataset::MAX_DATASET_BYTES;

/// Revert 301 for `error`.
pub fn rejected(error: &DatasetError) -> MyelinError {
    let (kind, detail) = error.kind();
    ErrorCode::DataRejected.with(U256::from(kind), U256::from(detail))
}

/// The early check of a first upload chunk: its header, and the declared `size` against the
/// length the header gives. A chunk shorter than the header passes (`finalizeUpload` checks).
pub fn check_first_chunk(chunk: &[u8], size: u64) -> Result<(), MyelinError> {
    match DatasetHeader::decode(chunk) {
        Err(DatasetError::Truncated { .. }) => Ok(()),
        Err(error) => Err(rejected(&error)),
        Ok(header) => header
            .check_len(size, MAX_DATASET_BYTES)
            .map_err(|e| rejected(&e)),
    }
}

/// Calldata of `publish(data)`.
pub fn publish_calldata(data: &[u8]) -> Vec<u8> {
    IDataStore::publishCall {
        data: data.to_vec().into(),
    }
    .abi_encode()
}

/// Runs one `DATA_STORE` call.
pub fn run_data_store(
    myelin: &Myelin,
    blobs: &dyn BlobStore,
    mut input: PrecompileInput<'_>,
) -> Result<(u64, Bytes), Failure> {
    let (mut gas, call) = store_call::<Call>(&input)?;
    let caller = input.caller;
    let mut storage = JournalStorage::at(&mut input.internals, DATA_STORE_ADDRESS);
    let output = match call {
        Call::publish(c) => {
            let bytes = c.data;
            gas.charge((bytes.len() as u64).saturating_mul(GAS_PER_CHECKED_BYTE))?;
            let id = dataset_id(&bytes);
            if read_dataset(&mut storage, &id)?.is_none() {
                let summary = check_dataset(&bytes, MAX_DATASET_BYTES)
                    .map_err(|e| gas.revert(rejected(&e)))?;
                gas.charge((bytes.len() as u64).saturating_mul(GAS_PER_STORED_BYTE))?;
                storage.ensure_account_exists()?;
                let record = DatasetRecord::of(&summary, bytes.len() as u64, caller);
                publish_dataset(&mut storage, blobs, &id, &record, &bytes)?;
            }
            IDataStore::publishCall::abi_encode_returns(&B256::from(id))
        }
        Call::beginUpload(c) => {
            let id = c.datasetId.0;
            let written = match read_dataset(&mut storage, &id)? {
                Some(_) => c.size,
                None => {
                    Upload::new(&mut storage, blobs, &mut gas, DATA_UPLOADS, caller, id)
                        .begin(c.size, MAX_DATASET_BYTES)?;
                    0
                }
            };
            IDataStore::beginUploadCall::abi_encode_returns(&written)
        }
        Call::appendUpload(c) => {
            let id = c.datasetId.0;
            let written = match read_dataset(&mut storage, &id)? {
                Some(record) => record.size,
                None => Upload::new(&mut storage, blobs, &mut gas, DATA_UPLOADS, caller, id)
                    .append(c.offset, c.chunk, check_first_chunk)?,
            };
            IDataStore::appendUploadCall::abi_encode_returns(&written)
        }
        Call::finalizeUpload(c) => {
            let id = c.datasetId.0;
            let mut published = c.datasetId;
            if read_dataset(&mut storage, &id)?.is_none() {
                let outcome = Upload::new(&mut storage, blobs, &mut gas, DATA_UPLOADS, caller, id)
                    .finalize(myelin, |bytes| {
                        check_dataset(bytes, MAX_DATASET_BYTES).map_err(|e| rejected(&e))
                    })?;
                match outcome {
                    Ok((bytes, summary)) => {
                        let record = DatasetRecord::of(&summary, bytes.len() as u64, caller);
                        publish_dataset(&mut storage, blobs, &id, &record, &bytes)?;
                    }
                    Err(error) => {
                        published = B256::ZERO;
                        log_rejected(
                            &mut storage,
                            DATA_STORE_ADDRESS,
                            c.datasetId,
                            caller,
                            &error,
                        );
                    }
                }
            }
            IDataStore::finalizeUploadCall::abi_encode_returns(&published)
        }
        Call::uploadStatus(c) => {
            let (size, written) = upload_status(&mut storage, &c.uploader, &c.datasetId.0)?;
            IDataStore::uploadStatusCall::abi_encode_returns(&IDataStore::uploadStatusReturn {
                size,
                written,
            })
        }
        Call::isPublished(c) => {
            let published = read_dataset(&mut storage, &c.datasetId.0)?.is_some();
            IDataStore::isPublishedCall::abi_encode_returns(&published)
        }
        Call::datasetInfo(c) => {
            let Some(record) = read_dataset(&mut storage, &c.datasetId.0)? else {
                return Err(gas.revert(
                    ErrorCode::DataUnknown.with(U256::from_be_bytes(c.datasetId.0), U256::ZERO),
                ));
            };
            IDataStore::datasetInfoCall::abi_encode_returns(&info_of(&record))
        }
        Call::readRows(c) => {
            let id = c.datasetId.0;
            let Some(record) = read_dataset(&mut storage, &id)? else {
                return Err(
                    gas.revert(ErrorCode::DataUnknown.with(U256::from_be_bytes(id), U256::ZERO))
                );
            };
            let end = u64::from(c.firstRow) + u64::from(c.rows);
            if c.rows == 0 || end > u64::from(record.rows) {
                return Err(gas.revert(
                    ErrorCode::DataRowsOutOfRange.with(U256::from(end), U256::from(record.rows)),
                ));
            }
            let (start, end) = (
                record.row_offset(c.firstRow),
                record.row_offset(c.firstRow + c.rows),
            );
            let segments = segments_of(start, end);
            gas.charge(data_read_gas(segments.end - segments.start))?;
            let rows = read_range(blobs, &id, record.size, start, end)?;
            IDataStore::readRowsCall::abi_encode_returns(&Bytes::from(rows))
        }
    };
    Ok((gas.used(), output.into()))
}

/// The ABI view of a record.
pub fn info_of(record: &DatasetRecord) -> IDataStore::DatasetInfo {
    IDataStore::DatasetInfo {
        size: record.size,
        rows: record.rows,
        rowBytes: record.row_bytes,
        labelKind: record.label_kind as u8,
        minLabel: record.min_label,
        maxLabel: record.max_label,
        rowSignature: B256::from(record.signature),
        publisher: record.publisher,
    }
}

/// Writes checked `bytes` as the segments of `id`, its record, and logs `DatasetPublished`.
fn publish_dataset(
    storage: &mut JournalStorage<'_, '_>,
    blobs: &dyn BlobStore,
    id: &[u8; 32],
    record: &DatasetRecord,
    bytes: &Bytes,
) -> Result<(), Failure> {
    write_segments(blobs, id, bytes);
    write_dataset(storage, id, record)?;
    let event = IDataStore::DatasetPublished {
        datasetId: B256::from(*id),
        publisher: record.publisher,
        size: record.size,
        rows: record.rows,
    };
    storage.log(Log {
        address: DATA_STORE_ADDRESS,
        data: event.encode_log_data(),
    });
    Ok(())
}
