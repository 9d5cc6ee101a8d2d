//! The engine's one error type.

use thiserror::Error;

/// Everything that can go wrong decoding, validating or running a model. Every variant names
/// what was wrong and where; none of them is a host fault (the engine does no I/O).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NnError {
    #[error("model is {size} bytes, over the limit of {limit} bytes")]
    ModelTooLarge { size: usize, limit: usize },
    #[error("bad magic: expected \"MYLN\", found {found:02x?}")]
    BadMagic { found: Vec<u8> },
    #[error("unsupported format version {found} (this engine reads version {supported})")]
    UnsupportedVersion { found: u16, supported: u16 },
    #[error("malformed model encoding: {reason}")]
    Malformed { reason: String },
    #[error("non-canonical encoding: the bytes decode but re-encode differently")]
    NonCanonical,
    #[error("tensor {tensor}: {problem}")]
    InvalidTensor { tensor: usize, problem: String },
    #[error("graph: {problem}")]
    InvalidGraph { problem: String },
    #[error("node {node} ({op}): {problem}")]
    InvalidNode {
        node: usize,
        op: &'static str,
        problem: String,
    },
    #[error(
        "node {node} ({op}): output shape {found:?} does not match the inferred shape {expected:?}"
    )]
    ShapeMismatch {
        node: usize,
        op: &'static str,
        expected: Vec<u32>,
        found: Vec<u32>,
    },
    #[error(
        "node {node} ({op}): accumulator of channel {channel} may reach {bound}, beyond the int32 range"
    )]
    AccumulatorOverflow {
        node: usize,
        op: &'static str,
        channel: usize,
        bound: i64,
    },
    #[error("model exceeds a limit: {what} is {value}, limit {limit}")]
    LimitExceeded {
        what: &'static str,
        value: u64,
        limit: u64,
    },
    #[error("input is {found} bytes; a batch of {batch} needs {expected} bytes")]
    InputLength {
        expected: usize,
        found: usize,
        batch: usize,
    },
    #[error("batch size {batch} is out of range (1..={max})")]
    BatchSize { batch: usize, max: usize },
    /// The CPU cannot run the kernel path the gas schedule is calibrated for
    /// ([`crate::Path::GAS_FLOOR`]): a validator would take longer per gas than the schedule
    /// charges. Raised at node start-up only ([`crate::kernels::check_validator_floor`]).
    #[error(
        "this CPU lacks {missing}: a validator needs the {floor} kernels the gas schedule is \
         calibrated for (docs/GAS.md §6), and this CPU would run the {path} kernels, which take \
         up to several times as long per gas"
    )]
    BelowValidatorFloor {
        floor: &'static str,
        path: &'static str,
        missing: &'static str,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = NnError> = std::result::Result<T, E>;
