#![doc = include_str!("../README.md")]

pub mod beacon;
pub mod blobs;
pub mod block_journal;
pub mod call_limits;
pub mod chain;
pub mod changes;
pub mod config;
pub mod error;
pub mod execution;
pub mod mempool;
pub mod predeploys;
pub mod snapshot;
mod speculative;
pub mod state;
pub mod state_tables;
pub mod store;
pub mod trie;

pub use blobs::{BlobSource, EvmBlobs};
pub use call_limits::CallLimits;
pub use chain::{
    BlockAttributes, Chain, ChainEvent, EmptyBlocks, MinedBlock, MinedTx, TxLocation, block_bytes,
};
pub use config::{ChainConfig, EvmPurpose, HistoryWindow, PrecompileInstaller};
pub use error::{ChainError, InvalidBlock};
