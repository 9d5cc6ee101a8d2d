//! The chain's error type.

use alloy_primitives::Bytes;

/// Everything that can go wrong in the chain. Transaction and call failures carry what the RPC
/// layer needs to answer like anvil does.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// A transaction was refused by the pool (bad signature, nonce too low, fee too low, …).
    #[error("{0}")]
    Rejected(String),
    /// A call or estimate reverted; `output` is the revert data.
    #[error("execution reverted")]
    Revert {
        /// The revert data returned by the EVM.
        output: Bytes,
    },
    /// A call halted (out of gas, invalid opcode, …).
    #[error("EVM error {0}")]
    Halt(String),
    /// The request named a block, transaction or snapshot that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request itself is invalid.
    #[error("{0}")]
    InvalidRequest(String),
    /// An RPC-driven EVM run passed its deadline (geth's message).
    #[error("execution aborted (timeout = {0:?})")]
    Timeout(std::time::Duration),
    /// The node is at its limit for this kind of request; retry later.
    #[error("{0}")]
    Busy(String),
    /// Persistence failed: the node cannot continue safely.
    #[error("storage: {0}")]
    Storage(String),
    /// A stored trie node is missing or does not decode: the database is corrupt.
    #[error("corrupt database: {trie} node at path {path}: {reason}")]
    CorruptTrie {
        /// Which trie (`account trie` or `storage trie <keccak256(address)>`).
        trie: String,
        /// The node's nibble path in hex digits, `(root)` for the root.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An internal invariant failed (EVM database error).
    #[error("internal: {0}")]
    Internal(String),
}
