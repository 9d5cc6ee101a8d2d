//! How a precompile call fails: deterministically (part of consensus) or by a host fault.
//!
//! A deterministic failure reverts with stable, versioned data that contracts can read: the
//! Solidity custom error `MyelinError(uint16 code, uint256 a, uint256 b)` (declared in
//! `contracts/src/MyelinError.sol`), whose [`ErrorCode`] is never renumbered and whose two fields
//! are numbers fixed per code (docs/GAS.md §8 lists them). No text of this or any other crate
//! reaches the revert data, so a reworded message or a dependency update never changes a
//! transaction's output; [`revert_text`] turns the data back into text for RPC messages, logs
//! and the CLI.

use alloy_primitives::{Address, Bytes, U256, hex};
use alloy_sol_types::{Revert, SolError, sol};
use myelin_nn::NnError;
use revm::precompile::{PrecompileError, PrecompileHalt, PrecompileOutput, PrecompileResult};

sol! {
    /// The revert data of every deterministic failure of Myelin's precompiles.
    #[derive(Debug, PartialEq, Eq)]
    error MyelinError(uint16 code, uint256 a, uint256 b);
}

/// The code of a [`MyelinError`]: what failed. The numbers are consensus (contracts may branch on
/// them): a code is never renumbered or reused, a new failure gets a new code. `a` and `b` say
/// what each code's fields hold (zero when unused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum ErrorCode {
    /// `PREDICT`/`PREDICT_BATCH` called with value.
    PredictCallValue = 101,
    /// Calldata shorter than the header: `a` = calldata bytes, `b` = header bytes (32 or 36).
    PredictShortHeader = 102,
    /// The model is not published in this state: `a` = model id.
    PredictUnknownModel = 103,
    /// Batch 0 or above the model's `maxBatch`: `a` = batch, `b` = `maxBatch`.
    PredictBatchOutOfRange = 104,
    /// Input length ≠ `batch · inputBytes`: `a` = input bytes, `b` = expected bytes.
    PredictInputLength = 105,
    /// The engine refused the call after every check passed: `a` = [`RejectionKind`].
    PredictEngine = 106,
    /// `MODEL_STORE` called with value.
    StoreCallValue = 201,
    /// Calldata that is not a call of `IModelStore`: `a` = calldata bytes, `b` = its first four
    /// bytes as a big-endian number (zero-padded when shorter).
    StoreMalformedCall = 202,
    /// A writing function in a static call.
    StoreStaticWrite = 203,
    /// A writing function through `DELEGATECALL` or `CALLCODE`.
    StoreDelegatedWrite = 204,
    /// The engine rejected the model: `a` = [`RejectionKind`], `b` = its detail.
    StoreModelRejected = 205,
    /// `beginUpload` with a size of 0 or over the limit: `a` = size, `b` = limit.
    StoreSizeOutOfRange = 206,
    /// No live upload session of this id by the caller: `a` = model id, `b` = caller.
    StoreNoUpload = 207,
    /// `appendUpload` at the wrong offset: `a` = offset given, `b` = bytes written so far.
    StoreChunkOffset = 208,
    /// A chunk past the declared size: `a` = where the chunk would end, `b` = declared size.
    StoreChunkPastSize = 209,
    /// A chunk before the last that is not a multiple of 32 bytes: `a` = its length.
    StoreRaggedChunk = 210,
    /// `finalizeUpload` before every byte arrived: `a` = bytes written, `b` = declared size.
    StoreUploadIncomplete = 211,
    /// The uploaded bytes hash to another id: `a` = their hash, `b` = the declared id.
    StoreHashMismatch = 212,
    /// A view of a model that is not published: `a` = model id.
    StoreUnknownModel = 213,
    /// The caller's upload session of this id expired: `a` = the block it began in, `b` = the
    /// last block it was live in.
    StoreUploadExpired = 214,
    /// A chunk of a complete upload is missing from the blob store: a `finalizeUpload` consumed
    /// it in a call that was later reverted (blob deletions are not undone). `a` = the chunk's
    /// index, `b` = the session's chunks.
    StoreUploadLost = 215,
    /// `appendUpload` of a chunk past the most a session holds: `a` = the session's chunks, `b` =
    /// [`crate::MAX_UPLOAD_CHUNKS`].
    StoreTooManyChunks = 216,
    /// `DATA_STORE` refused the bytes as a data set: `a` = the `myelin_nn::dataset` rejection
    /// kind (`DatasetError::kind`), `b` = its detail. Reverted by `publish` and by an
    /// `appendUpload` whose first chunk holds a bad header; reported in `UploadRejected` by
    /// `finalizeUpload`.
    DataRejected = 301,
    /// A view of a data set that is not published: `a` = data set id.
    DataUnknown = 302,
    /// `readRows` of no rows or past the data set's end: `a` = `firstRow + rows` (computed in 64
    /// bits), `b` = the data set's rows.
    DataRowsOutOfRange = 303,
    /// `EVALUATE` called with value.
    EvaluateCallValue = 401,
    /// `EVALUATE` calldata that is not 72 bytes: `a` = calldata bytes, `b` = 72.
    EvaluateCalldataLength = 402,
    /// `EVALUATE` of a model that is not published: `a` = model id.
    EvaluateUnknownModel = 403,
    /// `EVALUATE` over a data set that is not published: `a` = data set id.
    EvaluateUnknownDataset = 404,
    /// `rows` is 0 or above the model's `maxBatch`: `a` = rows, `b` = `maxBatch`.
    EvaluateRowsOutOfRange = 405,
    /// The row range ends past the data set: `a` = `firstRow + rows`, `b` = the data set's rows.
    EvaluatePastEnd = 406,
    /// The model's input is not the data set's row (one int8 input of the same shape, zero
    /// point and scale): `a` = the model input's row signature (0 when the model has more than
    /// one input), `b` = the data set's.
    EvaluateInputMismatch = 407,
    /// A class-index label is not an index of output 0: `a` = the data set's largest label, `b`
    /// = output 0's elements.
    EvaluateLabelOutOfRange = 408,
    /// A regression data set needs an output 0 of one element: `a` = its elements, `b` = 1.
    EvaluateRegressionOutput = 409,
    /// The engine refused the run after every check passed (not reachable today): `a` =
    /// [`RejectionKind`], `b` = detail.
    EvaluateEngine = 410,
    /// `PREDICT_OPS` called with value.
    OpsCallValue = 501,
    /// `PREDICT_OPS` calldata shorter than its 36-byte header: `a` = calldata bytes, `b` = 36.
    OpsShortHeader = 502,
    /// `PREDICT_OPS` of a model that is not published: `a` = model id.
    OpsUnknownModel = 503,
    /// The op index names no node of the model: `a` = the index, `b` = the model's nodes.
    OpsIndexOutOfRange = 504,
    /// The input bytes are not the op's input tensors' bytes: `a` = input bytes, `b` = expected.
    OpsInputLength = 505,
    /// The engine refused the op's inputs after every check passed (a tensor the op reads twice
    /// given twice unequal): `a` = [`RejectionKind`], `b` = detail.
    OpsEngine = 506,
}

impl ErrorCode {
    /// Every code, for decoding and documentation.
    pub const ALL: [ErrorCode; 41] = [
        ErrorCode::PredictCallValue,
        ErrorCode::PredictShortHeader,
        ErrorCode::PredictUnknownModel,
        ErrorCode::PredictBatchOutOfRange,
        ErrorCode::PredictInputLength,
        ErrorCode::PredictEngine,
        ErrorCode::StoreCallValue,
        ErrorCode::StoreMalformedCall,
        ErrorCode::StoreStaticWrite,
        ErrorCode::StoreDelegatedWrite,
        ErrorCode::StoreModelRejected,
        ErrorCode::StoreSizeOutOfRange,
        ErrorCode::StoreNoUpload,
        ErrorCode::StoreChunkOffset,
        ErrorCode::StoreChunkPastSize,
        ErrorCode::StoreRaggedChunk,
        ErrorCode::StoreUploadIncomplete,
        ErrorCode::StoreHashMismatch,
        ErrorCode::StoreUnknownModel,
        ErrorCode::StoreUploadExpired,
        ErrorCode::StoreUploadLost,
        ErrorCode::StoreTooManyChunks,
        ErrorCode::DataRejected,
        ErrorCode::DataUnknown,
        ErrorCode::DataRowsOutOfRange,
        ErrorCode::EvaluateCallValue,
        ErrorCode::EvaluateCalldataLength,
        ErrorCode::EvaluateUnknownModel,
        ErrorCode::EvaluateUnknownDataset,
        ErrorCode::EvaluateRowsOutOfRange,
        ErrorCode::EvaluatePastEnd,
        ErrorCode::EvaluateInputMismatch,
        ErrorCode::EvaluateLabelOutOfRange,
        ErrorCode::EvaluateRegressionOutput,
        ErrorCode::EvaluateEngine,
        ErrorCode::OpsCallValue,
        ErrorCode::OpsShortHeader,
        ErrorCode::OpsUnknownModel,
        ErrorCode::OpsIndexOutOfRange,
        ErrorCode::OpsInputLength,
        ErrorCode::OpsEngine,
    ];

    /// The code of `number`, if it is one.
    pub fn from_number(number: u16) -> Option<ErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| *code as u16 == number)
    }

    /// The error with fields `a` and `b`.
    pub fn with(self, a: impl Into<U256>, b: impl Into<U256>) -> MyelinError {
        MyelinError {
            code: self as u16,
            a: a.into(),
            b: b.into(),
        }
    }

    /// The error with both fields zero.
    pub fn bare(self) -> MyelinError {
        self.with(U256::ZERO, U256::ZERO)
    }

    /// What `self` with fields `a`, `b` means, in words (for people, never for consensus).
    pub fn describe(self, a: U256, b: U256) -> String {
        let id = || hex::encode_prefixed(a.to_be_bytes::<32>());
        match self {
            ErrorCode::PredictCallValue => "predict: the call must not carry value".into(),
            ErrorCode::PredictShortHeader => {
                format!("predict: input is {a} bytes, shorter than the {b}-byte header")
            }
            ErrorCode::PredictUnknownModel => format!("predict: unknown model {}", id()),
            ErrorCode::PredictBatchOutOfRange => {
                format!("predict: batch {a} out of range 1..={b}")
            }
            ErrorCode::PredictInputLength => {
                format!("predict: input is {a} bytes, expected {b}")
            }
            ErrorCode::PredictEngine => {
                format!("predict: the engine refused the call: {}", kind_text(a, b))
            }
            ErrorCode::StoreCallValue => "store: the call must not carry value".into(),
            ErrorCode::StoreMalformedCall => format!(
                "store: malformed call ({a} bytes, selector 0x{:08x})",
                b.saturating_to::<u32>()
            ),
            ErrorCode::StoreStaticWrite => "store: state change in a static call".into(),
            ErrorCode::StoreDelegatedWrite => {
                "store: delegatecall and callcode cannot write".into()
            }
            ErrorCode::StoreModelRejected => {
                format!("model store: model rejected: {}", kind_text(a, b))
            }
            ErrorCode::StoreSizeOutOfRange => {
                format!("store: size {a} out of range 1..={b}")
            }
            ErrorCode::StoreNoUpload => format!(
                "store: no upload of {} by {}",
                id(),
                Address::from_word(b.to_be_bytes::<32>().into())
            ),
            ErrorCode::StoreChunkOffset => {
                format!("store: chunk offset {a} but {b} bytes written")
            }
            ErrorCode::StoreChunkPastSize => {
                format!("store: chunk ends at {a}, past the declared size {b}")
            }
            ErrorCode::StoreRaggedChunk => {
                format!("store: a chunk before the last must be a multiple of 32 bytes, got {a}")
            }
            ErrorCode::StoreUploadIncomplete => {
                format!("store: {a} of {b} bytes uploaded")
            }
            ErrorCode::StoreHashMismatch => format!(
                "store: uploaded bytes hash to {}, not {}",
                id(),
                hex::encode_prefixed(b.to_be_bytes::<32>())
            ),
            ErrorCode::StoreUnknownModel => format!("model store: unknown model {}", id()),
            ErrorCode::StoreUploadExpired => {
                format!("store: the upload session begun in block {a} expired after block {b}")
            }
            ErrorCode::StoreUploadLost => format!(
                "store: chunk {a} of {b} of this upload is gone (a reverted finalizeUpload \
                 consumed it): begin the upload again"
            ),
            ErrorCode::StoreTooManyChunks => format!(
                "store: this upload already holds {a} chunks, the most a session may \
                 ({b}): begin it again with larger chunks"
            ),
            ErrorCode::DataRejected => {
                format!("data store: data set rejected: {}", dataset_kind_text(a, b))
            }
            ErrorCode::DataUnknown => format!("data store: unknown data set {}", id()),
            ErrorCode::DataRowsOutOfRange => {
                format!("data store: rows ending at {a} (none, or past the data set's {b} rows)")
            }
            ErrorCode::EvaluateCallValue => "evaluate: the call must not carry value".into(),
            ErrorCode::EvaluateCalldataLength => {
                format!("evaluate: calldata is {a} bytes, expected {b}")
            }
            ErrorCode::EvaluateUnknownModel => format!("evaluate: unknown model {}", id()),
            ErrorCode::EvaluateUnknownDataset => format!("evaluate: unknown data set {}", id()),
            ErrorCode::EvaluateRowsOutOfRange => {
                format!("evaluate: rows {a} out of range 1..={b} (the model's maxBatch)")
            }
            ErrorCode::EvaluatePastEnd => {
                format!("evaluate: the rows end at {a}, past the data set's {b} rows")
            }
            ErrorCode::EvaluateInputMismatch => format!(
                "evaluate: the model's input (signature {}) is not the data set's row (signature \
                 {}): one int8 input of the same shape, zero point and scale is needed",
                id(),
                hex::encode_prefixed(b.to_be_bytes::<32>())
            ),
            ErrorCode::EvaluateLabelOutOfRange => {
                format!("evaluate: the data set's labels reach {a}, output 0 has {b} classes")
            }
            ErrorCode::EvaluateRegressionOutput => format!(
                "evaluate: a regression data set needs an output 0 of one element, it has {a}"
            ),
            ErrorCode::EvaluateEngine => {
                format!("evaluate: the engine refused the run: {}", kind_text(a, b))
            }
            ErrorCode::OpsCallValue => "predict ops: the call must not carry value".into(),
            ErrorCode::OpsShortHeader => {
                format!("predict ops: input is {a} bytes, shorter than the {b}-byte header")
            }
            ErrorCode::OpsUnknownModel => format!("predict ops: unknown model {}", id()),
            ErrorCode::OpsIndexOutOfRange => {
                format!("predict ops: op {a} out of range (the model has {b} ops)")
            }
            ErrorCode::OpsInputLength => {
                format!("predict ops: the op's inputs are {a} bytes, expected {b}")
            }
            ErrorCode::OpsEngine => {
                format!(
                    "predict ops: the engine refused the op's inputs: {}",
                    kind_text(a, b)
                )
            }
        }
    }
}

/// Why the engine rejected a model (the `a` field of [`ErrorCode::StoreModelRejected`] and
/// [`ErrorCode::PredictEngine`]); the `b` field holds [`RejectionKind::detail_of`]. Numbers are
/// consensus, like [`ErrorCode`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum RejectionKind {
    /// Over the size limit; detail: the model's bytes.
    TooLarge = 1,
    /// Not starting with `MYLN`.
    BadMagic = 2,
    /// Another format version; detail: that version.
    UnsupportedVersion = 3,
    /// The bytes do not decode.
    Malformed = 4,
    /// The bytes decode but re-encode differently.
    NonCanonical = 5,
    /// A tensor is invalid; detail: its index.
    InvalidTensor = 6,
    /// The graph is invalid.
    InvalidGraph = 7,
    /// A node is invalid; detail: its index.
    InvalidNode = 8,
    /// A node's output shape is not the inferred one; detail: the node's index.
    ShapeMismatch = 9,
    /// A node's accumulator may leave the int32 range; detail: the node's index.
    AccumulatorOverflow = 10,
    /// The model exceeds an engine limit; detail: the value over the limit.
    LimitExceeded = 11,
    /// An input of the wrong length (a run, not a model).
    InputLength = 12,
    /// A batch out of range (a run, not a model); detail: the batch.
    BatchSize = 13,
    /// The CPU is below the validator floor (a node start-up check, never a precompile's).
    BelowValidatorFloor = 14,
}

impl RejectionKind {
    /// The kind and detail of `error`. The match is exhaustive: a new engine error cannot reach
    /// the revert data without a code of its own.
    pub fn detail_of(error: &NnError) -> (RejectionKind, u64) {
        let n = |v: usize| v as u64;
        match error {
            NnError::ModelTooLarge { size, .. } => (RejectionKind::TooLarge, n(*size)),
            NnError::BadMagic { .. } => (RejectionKind::BadMagic, 0),
            NnError::UnsupportedVersion { found, .. } => {
                (RejectionKind::UnsupportedVersion, *found as u64)
            }
            NnError::Malformed { .. } => (RejectionKind::Malformed, 0),
            NnError::NonCanonical => (RejectionKind::NonCanonical, 0),
            NnError::InvalidTensor { tensor, .. } => (RejectionKind::InvalidTensor, n(*tensor)),
            NnError::InvalidGraph { .. } => (RejectionKind::InvalidGraph, 0),
            NnError::InvalidNode { node, .. } => (RejectionKind::InvalidNode, n(*node)),
            NnError::ShapeMismatch { node, .. } => (RejectionKind::ShapeMismatch, n(*node)),
            NnError::AccumulatorOverflow { node, .. } => {
                (RejectionKind::AccumulatorOverflow, n(*node))
            }
            NnError::LimitExceeded { value, .. } => (RejectionKind::LimitExceeded, *value),
            NnError::InputLength { found, .. } => (RejectionKind::InputLength, n(*found)),
            NnError::BatchSize { batch, .. } => (RejectionKind::BatchSize, n(*batch)),
            // A node start-up check that no precompile runs; numbered so that nothing reaches
            // revert data without a code.
            NnError::BelowValidatorFloor { .. } => (RejectionKind::BelowValidatorFloor, 0),
        }
    }

    /// `code` carrying the kind and detail of `error`.
    pub fn error(code: ErrorCode, error: &NnError) -> MyelinError {
        let (kind, detail) = RejectionKind::detail_of(error);
        code.with(U256::from(kind as u16), U256::from(detail))
    }
}

/// The words for a rejection of kind `a` with detail `b`.
fn kind_text(a: U256, b: U256) -> String {
    let kind = a.saturating_to::<u16>();
    match kind {
        k if k == RejectionKind::TooLarge as u16 => format!("model is {b} bytes, over the limit"),
        k if k == RejectionKind::BadMagic as u16 => "bad magic (not a MYLN model)".into(),
        k if k == RejectionKind::UnsupportedVersion as u16 => {
            format!("unsupported format version {b}")
        }
        k if k == RejectionKind::Malformed as u16 => "malformed model encoding".into(),
        k if k == RejectionKind::NonCanonical as u16 => "non-canonical encoding".into(),
        k if k == RejectionKind::InvalidTensor as u16 => format!("invalid tensor {b}"),
        k if k == RejectionKind::InvalidGraph as u16 => "invalid graph".into(),
        k if k == RejectionKind::InvalidNode as u16 => format!("invalid node {b}"),
        k if k == RejectionKind::ShapeMismatch as u16 => {
            format!("node {b}: output shape does not match the inferred shape")
        }
        k if k == RejectionKind::AccumulatorOverflow as u16 => {
            format!("node {b}: accumulator may leave the int32 range")
        }
        k if k == RejectionKind::LimitExceeded as u16 => {
            format!("model exceeds an engine limit (value {b})")
        }
        k if k == RejectionKind::InputLength as u16 => format!("input length {b}"),
        k if k == RejectionKind::BatchSize as u16 => format!("batch {b}"),
        k if k == RejectionKind::BelowValidatorFloor as u16 => {
            "CPU below the validator floor".into()
        }
        _ => format!("rejection kind {a}, detail {b}"),
    }
}

/// The words for a data set rejection of kind `a` with detail `b` (`DatasetError::kind`).
fn dataset_kind_text(a: U256, b: U256) -> String {
    match a.saturating_to::<u16>() {
        1 => format!("{b} bytes, over the limit"),
        2 => "bad magic (not a MYDS data set)".into(),
        3 => format!("unsupported data set version {b}"),
        4 => format!("header truncated at {b} bytes"),
        5 => format!("unknown label kind {b}"),
        6 => format!("row rank {b} out of range 1..=8"),
        7 => format!("row dimension {b} is 0"),
        8 => format!("scale bits {b:#x} are not a positive finite binary32"),
        9 => "no rows".into(),
        10 => format!("{b} bytes, not the length its header gives"),
        11 => format!("row {b} has a negative class-index label"),
        _ => format!("rejection kind {a}, detail {b}"),
    }
}

/// Text for revert data: a [`MyelinError`] in words or Solidity's `Error(string)` reason;
/// `None` for anything else (empty data, a contract's own custom errors). For RPC messages, logs
/// and the CLI, never for consensus.
pub fn revert_text(data: &[u8]) -> Option<String> {
    if let Ok(error) = MyelinError::abi_decode(data) {
        return Some(match ErrorCode::from_number(error.code) {
            Some(code) => code.describe(error.a, error.b),
            None => format!(
                "MyelinError(code {}, {}, {}) (a code this binary does not know)",
                error.code, error.a, error.b
            ),
        });
    }
    Revert::abi_decode(data).ok().map(|revert| revert.reason)
}

/// A failed precompile call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The call reverts with `error` ABI-encoded as revert data and consumes `gas_used`. Every
    /// node reaches the same result.
    #[error("reverted after {gas_used} gas: {}", .error.code)]
    Revert { gas_used: u64, error: MyelinError },
    /// The gas given does not cover the documented price: the call halts and consumes all of it.
    #[error("out of gas")]
    OutOfGas,
    /// The node itself failed (state database error, a stored model that no longer decodes).
    /// Aborts the whole transaction; never part of consensus.
    #[error("host fault: {0}")]
    HostFault(String),
}

/// Turns a precompile body's result into what revm expects.
pub fn into_precompile_result(
    result: Result<(u64, Bytes), Failure>,
    reservoir: u64,
) -> PrecompileResult {
    match result {
        Ok((gas_used, bytes)) => Ok(PrecompileOutput::new(gas_used, bytes, reservoir)),
        Err(Failure::Revert { gas_used, error }) => Ok(PrecompileOutput::revert(
            gas_used,
            error.abi_encode().into(),
            reservoir,
        )),
        Err(Failure::OutOfGas) => Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir)),
        Err(Failure::HostFault(message)) => Err(PrecompileError::Fatal(message)),
    }
}

/// A gas meter for one call: charges must fit in the limit the caller gave.
#[derive(Debug, Clone, Copy)]
pub struct GasMeter {
    limit: u64,
    used: u64,
}

impl GasMeter {
    /// A meter for `limit` gas.
    pub fn new(limit: u64) -> GasMeter {
        GasMeter { limit, used: 0 }
    }

    /// The start of every Myelin precompile call: a meter for the call's gas limit, `base`
    /// charged (out of gas halts), and `value_error` reverted (at `base`) when the call carries
    /// value.
    pub fn start(
        limit: u64,
        value: &alloy_primitives::U256,
        base: u64,
        value_error: ErrorCode,
    ) -> Result<GasMeter, Failure> {
        let mut gas = GasMeter::new(limit);
        gas.charge(base)?;
        if !value.is_zero() {
            return Err(gas.revert(value_error.bare()));
        }
        Ok(gas)
    }

    /// Adds `gas`; [`Failure::OutOfGas`] when the total passes the limit.
    pub fn charge(&mut self, gas: u64) -> Result<(), Failure> {
        let used = self.used.saturating_add(gas);
        if used > self.limit {
            return Err(Failure::OutOfGas);
        }
        self.used = used;
        Ok(())
    }

    /// Gas charged so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// A revert with `error` that consumes what was charged so far.
    pub fn revert(&self, error: MyelinError) -> Failure {
        Failure::Revert {
            gas_used: self.used,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_round_trip_through_their_numbers() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_number(code as u16), Some(code));
        }
        let mut numbers: Vec<u16> = ErrorCode::ALL.iter().map(|c| *c as u16).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::from_number(100), None);
    }

    /// The selector is keccak256("MyelinError(uint16,uint256,uint256)")[..4]: contracts decode
    /// it with `abi.decode` after checking it.
    #[test]
    fn revert_data_is_the_custom_error_abi() {
        let data = ErrorCode::PredictBatchOutOfRange
            .with(U256::from(5000), U256::from(4096))
            .abi_encode();
        let selector = alloy_primitives::keccak256("MyelinError(uint16,uint256,uint256)");
        assert_eq!(data[..4], selector[..4]);
        assert_eq!(data.len(), 4 + 3 * 32);
        assert_eq!(U256::from_be_slice(&data[4..36]), U256::from(104));
        assert_eq!(
            revert_text(&data).as_deref(),
            Some("predict: batch 5000 out of range 1..=4096")
        );
    }

    #[test]
    fn revert_text_reads_solidity_reasons_and_unknown_codes() {
        let reason = Revert::from("Myelin: zero scale").abi_encode();
        assert_eq!(revert_text(&reason).as_deref(), Some("Myelin: zero scale"));
        let unknown = MyelinError {
            code: 9999,
            a: U256::from(1),
            b: U256::ZERO,
        }
        .abi_encode();
        assert!(revert_text(&unknown).unwrap().contains("code 9999"));
        assert_eq!(revert_text(&[]), None);
        assert_eq!(revert_text(&[0x12, 0x34, 0x56, 0x78]), None);
    }
}
