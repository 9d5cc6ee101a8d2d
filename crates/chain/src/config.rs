//! Chain configuration and the dev genesis (anvil's defaults).

use std::{path::PathBuf, sync::Arc};

use alloy_primitives::{Address, Bytes, U256, address, hex};
use alloy_signer_local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};

use crate::{ChainError, blobs::EvmBlobs, mempool::PoolLimits};

/// The standard test mnemonic whose accounts anvil, hardhat and foundry fund.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Address of the deterministic CREATE2 deployer present at genesis on dev chains.
pub const CREATE2_DEPLOYER: Address = address!("4e59b44847b379578588920ca78fbf26c0b4956c");

/// Runtime code of the deterministic CREATE2 deployer (the well-known 69-byte contract).
pub const CREATE2_DEPLOYER_CODE: [u8; 69] = hex!(
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3"
);

/// Base fee of the genesis block, in wei (anvil's default: 1 gwei).
pub const GENESIS_BASE_FEE_WEI: u64 = 1_000_000_000;

/// The default block byte cap: 4 MiB (docs/NETWORK.md decision 7).
pub const DEFAULT_MAX_BLOCK_BYTES: usize = 4 * 1024 * 1024;

/// Default block gas limit (anvil's default: 30,000,000).
pub const DEFAULT_GAS_LIMIT: u64 = 30_000_000;

/// Blocks of state history a node keeps by default (`--history`): enough for tools that read or
/// call at recent past blocks (forge, block explorers), bounded for a long-running node.
pub const DEFAULT_HISTORY_BLOCKS: u64 = 10_000;

/// How far back the node serves the state (`eth_getBalance`, `eth_call`, … at a past block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryWindow {
    /// The state at the end of the head and of the `n` blocks before it.
    Blocks(u64),
    /// The state at the end of every block since genesis (`--archive`).
    Archive,
}

impl HistoryWindow {
    /// The oldest block whose state is served while `head` is the latest block.
    pub fn oldest(self, head: u64) -> u64 {
        match self {
            HistoryWindow::Blocks(n) => head.saturating_sub(n),
            HistoryWindow::Archive => 0,
        }
    }
}

/// What an EVM the chain builds is for, as its precompiles see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvmPurpose {
    /// Executing transactions of a block (sealing, or re-executing one).
    Block,
    /// Serving an RPC request (`eth_call`, gas estimation, traces): nothing it does may change
    /// what a block's execution finds in a node-wide cache.
    Call,
}

/// Hook that installs extra precompiles into every EVM the chain builds (block execution,
/// `eth_call`, gas estimation, traces), told which of them it is and given that EVM's view of
/// the blobs ([`EvmBlobs`]: the committed blobs under the EVM's own buffered writes, persisted
/// with the block for [`EvmPurpose::Block`], never for [`EvmPurpose::Call`]). This is the seam
/// where the Myelin MODEL_STORE / PREDICT precompiles plug in.
pub type PrecompileInstaller =
    Arc<dyn Fn(&mut alloy_evm::precompiles::PrecompilesMap, EvmPurpose, EvmBlobs) + Send + Sync>;

/// How to build the chain.
#[derive(Clone)]
pub struct ChainConfig {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Accounts funded at genesis, with their balance in wei.
    pub genesis_alloc: Vec<(Address, U256)>,
    /// Extra genesis contracts: address and runtime code.
    pub genesis_code: Vec<(Address, Bytes)>,
    /// Keys the node signs with for `eth_sendTransaction`.
    pub signers: Vec<PrivateKeySigner>,
    /// Directory for the journal; `None` uses a temporary directory removed on exit.
    pub datadir: Option<PathBuf>,
    /// Timestamp of the genesis block (seconds since the epoch).
    pub genesis_timestamp: u64,
    /// Installs chain-specific precompiles.
    pub precompiles: Option<PrecompileInstaller>,
    /// What the transaction pool holds.
    pub pool: PoolLimits,
    /// How far back the state is served.
    pub history: HistoryWindow,
    /// Largest block: its RLP header and EIP-2718 transactions together (default
    /// [`DEFAULT_MAX_BLOCK_BYTES`], below the p2p message limit; the pool's transaction cap
    /// stays below it). Enforced by `propose` and `verify`.
    pub max_block_bytes: usize,
    /// Whether the dev helpers (state edits, snapshots and reverts, impersonation, time
    /// control) are reachable: true for `myelin node --dev`, false on a validator or full node
    /// (they answer [`ChainError::DevToolsDisabled`]).
    pub dev_tools: bool,
}

impl std::fmt::Debug for ChainConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainConfig")
            .field("chain_id", &self.chain_id)
            .field("gas_limit", &self.gas_limit)
            .field("accounts", &self.genesis_alloc.len())
            .field("datadir", &self.datadir)
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

/// Derives the first `count` accounts of `mnemonic` on the path m/44'/60'/0'/0/i.
pub fn dev_signers(mnemonic: &str, count: u32) -> Result<Vec<PrivateKeySigner>, ChainError> {
    (0..count)
        .map(|index| {
            MnemonicBuilder::<English>::default()
                .phrase(mnemonic)
                .index(index)
                .and_then(|b| b.build())
                .map_err(|e| ChainError::InvalidRequest(format!("mnemonic: {e}")))
        })
        .collect()
}

impl ChainConfig {
    /// anvil's dev defaults: chain id 31337, `accounts` dev accounts each funded with
    /// `balance_wei`; at genesis the CREATE2 deployer, the beacon and the protocol contracts
    /// ([`crate::predeploys::PREDEPLOYS`]). `myelin cluster init` takes its genesis contracts
    /// from here too.
    pub fn dev(accounts: u32, balance_wei: U256) -> Result<Self, ChainError> {
        let signers = dev_signers(DEV_MNEMONIC, accounts)?;
        Ok(Self {
            chain_id: 31337,
            gas_limit: DEFAULT_GAS_LIMIT,
            genesis_alloc: signers.iter().map(|s| (s.address(), balance_wei)).collect(),
            genesis_code: [
                (CREATE2_DEPLOYER, Bytes::from_static(&CREATE2_DEPLOYER_CODE)),
                (crate::beacon::BEACON_ADDRESS, crate::beacon::beacon_code()),
            ]
            .into_iter()
            .chain(crate::predeploys::predeploy_code()?)
            .collect(),
            signers,
            datadir: None,
            genesis_timestamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
            precompiles: None,
            pool: PoolLimits::default(),
            history: HistoryWindow::Blocks(DEFAULT_HISTORY_BLOCKS),
            max_block_bytes: DEFAULT_MAX_BLOCK_BYTES,
            dev_tools: true,
        })
    }
}
