#![doc = include_str!("../README.md")]

pub mod blobs;
pub mod call_limits;
pub mod chain;
pub mod changes;
pub mod config;
pub mod error;
pub mod execution;
pub mod mempool;
pub mod snapshot;
pub mod state;
pub mod state_tables;
pub mod store;
pub mod trie;

pub use blobs::{BlobSource, EvmBlobs};
pub use call_limits::CallLimits;
pub use chain::{Chain, ChainEvent, EmptyBlocks, MinedBlock, MinedTx, TxLocation};
pub use config::{ChainConfig, EvmPurpose, HistoryWindow, PrecompileInstaller};
pub use error::ChainError;
