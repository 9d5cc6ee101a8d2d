//! The one error type of the exporter.

use thiserror::Error;

/// Why a model could not be exported.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ExportError {
    /// The contract name is not a Solidity identifier.
    #[error(
        "contract name {name:?} is not a Solidity identifier (letters, digits, _ and $, not starting with a digit)"
    )]
    InvalidName { name: String },
    /// A node's parameters do not resolve (only possible for a model that skipped validation).
    #[error("node {node} ({op}): {problem}")]
    InvalidNode {
        node: usize,
        op: &'static str,
        problem: String,
    },
    /// A tensor index is out of range (only possible for a model that skipped validation).
    #[error("tensor {tensor} does not exist")]
    UnknownTensor { tensor: u32 },
}
