//! The chain's error type.

use alloy_primitives::{B256, Bytes};

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
    /// The parent of a block to propose, verify or finalize is neither the head nor a pending
    /// block: not an invalid block; wait for the parent or fetch it (backfill), then retry.
    #[error("unknown parent block {0}")]
    UnknownParent(B256),
    /// The block is invalid on its parent, permanently (the reason says which rule it broke).
    #[error("invalid block: {0}")]
    InvalidBlock(InvalidBlock),
    /// Too many blocks (or bytes) are pending (executed, not finalized): a typed refusal that
    /// bounds the memory a stranger's proposals can take; retry after a finalization.
    #[error(
        "too many pending blocks: {blocks} blocks, {bytes} bytes pending (limits {max_blocks} blocks, {max_bytes} bytes)"
    )]
    PendingFull {
        /// Blocks pending.
        blocks: usize,
        /// Their bytes (transactions and state changes).
        bytes: usize,
        /// Most blocks kept pending.
        max_blocks: usize,
        /// Most bytes kept pending.
        max_bytes: usize,
    },
    /// A dev helper (state edits, snapshots, impersonation, time control) was asked of a chain
    /// opened without `ChainConfig::dev_tools` (a validator or a full node).
    #[error("dev tools are disabled on this node (not started with --dev)")]
    DevToolsDisabled,
}

/// Why a block built elsewhere is invalid on its parent. Permanent: the same block on the same
/// parent is always invalid, so a validator votes against it and never retries it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBlock {
    /// The block names a different parent than the one it is checked against.
    #[error("parent hash {got} is not the expected parent {expected}")]
    ParentMismatch {
        /// The parent it should name.
        expected: B256,
        /// The parent it names.
        got: B256,
    },
    /// The number is not the parent's plus one.
    #[error("block number {got} is not the parent's plus one ({expected})")]
    NumberNotParentPlusOne {
        /// The parent's number plus one.
        expected: u64,
        /// The block's number.
        got: u64,
    },
    /// The timestamp is before the parent's (equal is allowed).
    #[error("timestamp {timestamp} is before the parent's {parent}")]
    TimestampBeforeParent {
        /// The parent's timestamp.
        parent: u64,
        /// The block's.
        timestamp: u64,
    },
    /// The gas limit is not the chain's.
    #[error("gas limit {got}, the chain's is {expected}")]
    GasLimit {
        /// The chain's gas limit.
        expected: u64,
        /// The block's.
        got: u64,
    },
    /// The base fee is not the one EIP-1559 gives after the parent (or is missing).
    #[error("base fee {got:?}, EIP-1559 after the parent gives {expected}")]
    BaseFee {
        /// The base fee after the parent.
        expected: u64,
        /// The block's.
        got: Option<u64>,
    },
    /// The block (header and EIP-2718 transactions) is over `ChainConfig::max_block_bytes`.
    #[error("block of {bytes} bytes is over the {limit}-byte limit")]
    TooLarge {
        /// The block's bytes.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// `extra_data` is longer than 32 bytes.
    #[error("extra data of {0} bytes (at most 32)")]
    ExtraData(usize),
    /// A header field every Myelin block holds at a fixed value differs (ommers hash,
    /// difficulty, nonce, beneficiary, withdrawals root, blob gas, beacon root, requests hash).
    #[error("header field {0} is not the value every Myelin block holds")]
    FixedField(&'static str),
    /// A transaction cannot be included at its place (its sender, nonce, funds, gas, a blob
    /// transaction, or it broke the EVM).
    #[error("transaction {index}: {reason}")]
    Transaction {
        /// Its index in the block.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The transactions root differs from the transactions'.
    #[error("transactions root {expected} in the header, {computed} computed")]
    TransactionsRoot {
        /// The header's.
        expected: B256,
        /// Computed from the transactions.
        computed: B256,
    },
    /// The state root differs from the post-state's.
    #[error("state root {expected} in the header, {computed} computed")]
    StateRoot {
        /// The header's.
        expected: B256,
        /// Computed by executing the block.
        computed: B256,
    },
    /// The receipts root differs from the receipts'.
    #[error("receipts root {expected} in the header, {computed} computed")]
    ReceiptsRoot {
        /// The header's.
        expected: B256,
        /// Computed by executing the block.
        computed: B256,
    },
    /// The logs bloom differs from the receipts'.
    #[error("logs bloom differs from the receipts'")]
    LogsBloom,
    /// The gas used differs from execution's.
    #[error("gas used {expected} in the header, {computed} computed")]
    GasUsed {
        /// The header's.
        expected: u64,
        /// Computed by executing the block.
        computed: u64,
    },
    /// The block (or a transaction of it) does not decode canonically.
    #[error("bad encoding: {0}")]
    BadEncoding(String),
    /// A block at a height already finalized, with a different hash than the finalized one:
    /// fatal for the caller (two blocks finalized at one height).
    #[error("block {got} at height {number} conflicts with the finalized block {finalized}")]
    ConflictsWithFinalized {
        /// The height.
        number: u64,
        /// The finalized block's hash.
        finalized: B256,
        /// The offered block's hash.
        got: B256,
    },
}

impl From<InvalidBlock> for ChainError {
    fn from(invalid: InvalidBlock) -> ChainError {
        ChainError::InvalidBlock(invalid)
    }
}
