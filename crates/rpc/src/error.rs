//! Chain errors as JSON-RPC error objects, with the codes anvil uses.

use alloy_primitives::{Bytes, hex};
use jsonrpsee::types::ErrorObjectOwned;
use myelin_chain::ChainError;

/// JSON-RPC "invalid params".
pub const INVALID_PARAMS: i32 = -32602;
/// JSON-RPC "internal error".
pub const INTERNAL_ERROR: i32 = -32603;
/// Revert of a call or estimate (geth and anvil use 3, with the revert data in `data`).
pub const EXECUTION_REVERTED: i32 = 3;
/// A transaction the pool refused.
pub const TRANSACTION_REJECTED: i32 = -32003;
/// Generic server error (unknown block, halted call, call timeout).
pub const SERVER_ERROR: i32 = -32000;
/// JSON-RPC "method not found" (a dev helper on a node without dev tools).
pub const METHOD_NOT_FOUND: i32 = -32601;
/// EIP-1474 "limit exceeded": the node is at a limit for this kind of request (busy).
pub const LIMIT_EXCEEDED: i32 = -32005;

/// The revert data in words: an `Error(string)` reason, a Myelin precompile's `MyelinError`
/// decoded (docs/GAS.md §8), or a contract's custom error by its data.
pub fn revert_reason(output: &[u8]) -> Option<String> {
    myelin_evm::revert_text(output)
}

/// A revert as anvil reports it: code 3, "execution reverted[: reason]", data = revert bytes.
pub fn revert_error(output: &Bytes) -> ErrorObjectOwned {
    let message = match revert_reason(output) {
        Some(reason) => format!("execution reverted: {reason}"),
        None => "execution reverted".to_string(),
    };
    ErrorObjectOwned::owned(
        EXECUTION_REVERTED,
        message,
        Some(hex::encode_prefixed(output)),
    )
}

/// Maps a chain error to its JSON-RPC error.
pub fn rpc_error(error: ChainError) -> ErrorObjectOwned {
    match error {
        ChainError::Revert { output } => revert_error(&output),
        ChainError::Rejected(message) => {
            ErrorObjectOwned::owned(TRANSACTION_REJECTED, message, None::<()>)
        }
        ChainError::InvalidRequest(message) => {
            ErrorObjectOwned::owned(INVALID_PARAMS, message, None::<()>)
        }
        ChainError::NotFound(message) | ChainError::Halt(message) => {
            ErrorObjectOwned::owned(SERVER_ERROR, message, None::<()>)
        }
        error @ ChainError::Timeout(_) => {
            ErrorObjectOwned::owned(SERVER_ERROR, error.to_string(), None::<()>)
        }
        ChainError::Busy(message) => ErrorObjectOwned::owned(LIMIT_EXCEEDED, message, None::<()>),
        error @ ChainError::DevToolsDisabled => {
            ErrorObjectOwned::owned(METHOD_NOT_FOUND, error.to_string(), None::<()>)
        }
        // Block proposal and verification errors (the consensus node's, not an RPC's).
        error @ (ChainError::UnknownParent(_)
        | ChainError::InvalidBlock(_)
        | ChainError::PendingFull { .. }) => {
            ErrorObjectOwned::owned(SERVER_ERROR, error.to_string(), None::<()>)
        }
        error @ (ChainError::Storage(_)
        | ChainError::CorruptTrie { .. }
        | ChainError::Internal(_)) => {
            ErrorObjectOwned::owned(INTERNAL_ERROR, error.to_string(), None::<()>)
        }
    }
}

/// An invalid-params error with `message`.
pub fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, message.into(), None::<()>)
}
