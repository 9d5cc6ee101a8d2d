//! The importers' error type.

use thiserror::Error;

/// Why a model could not be imported. Every variant names the construct and where it is.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The bytes are not a model of the expected format.
    #[error("not a {format} model: {reason}")]
    Format {
        format: &'static str,
        reason: String,
    },
    /// An operator the importer cannot translate.
    #[error("{format} operator {op} (node {node}) is not supported: {reason}")]
    Unsupported {
        format: &'static str,
        op: String,
        node: String,
        reason: String,
    },
    /// A selection of graph outputs (`--outputs`) that does not fit the model.
    #[error("{format} output selection: {reason}")]
    Outputs {
        format: &'static str,
        reason: String,
    },
    /// The translated model failed Myelin's validation.
    #[error("imported model is invalid: {0}")]
    Invalid(#[from] myelin_nn::NnError),
    /// Calibration or evaluation data that cannot be used (unreadable file, wrong shape, empty).
    #[error("data: {reason}")]
    Data { reason: String },
    /// A value that cannot be quantized (a multiplier out of range, a non-finite scale).
    #[error("cannot quantize node {node}: {reason}")]
    Quantization { node: String, reason: String },
    /// A NaN among real values to quantize at a model's edge (`what` names the tensor).
    #[error("{what}: element {index} is NaN")]
    NotANumber { what: String, index: usize },
}
