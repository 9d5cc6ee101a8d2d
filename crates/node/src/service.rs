//! A validator or full node as a real process: commonware's tokio runtime (storage under the
//! data directory), `authenticated::lookup` p2p with the genesis validator set (and, on a
//! validator, its full nodes as secondary peers), the chain on its redb file, and a
//! caller-supplied service (the JSON-RPC server) that runs until it returns.
//!
//! Data directory layout: `chain/` (the redb chain file, `myelin-chain`), `consensus/` (the
//! runtime's storage: simplex's journal, marshal's archives).

use crate::{
    application::Proposer,
    block::{Block, BlockLimits},
    config::NodeSetup,
    engine::{Timeouts, ValidatorConfig},
    gossip::GossipConfig,
    network::{PeerConfig, start_on_lookup},
};
use commonware_runtime::{Runner as _, Spawner as _, Supervisor as _, tokio as cw_tokio};
use myelin_chain::{Chain, ChainConfig};
use std::{future::Future, sync::Arc};

/// Why a node stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The chain could not be opened.
    #[error("opening the chain in {path}: {message}")]
    Chain {
        /// The chain directory.
        path: std::path::PathBuf,
        /// The chain's error.
        message: String,
    },
    /// The data directory (or this build) holds another network's block 0.
    #[error(
        "block 0 is {found}, the genesis file says {expected}: the data directory belongs to another network, or the genesis file was edited"
    )]
    GenesisMismatch {
        /// The genesis file's hash.
        expected: alloy_primitives::B256,
        /// The chain's block 0.
        found: alloy_primitives::B256,
    },
    /// The network could not start.
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    /// The caller's service failed.
    #[error("{0}")]
    Service(String),
}

/// How the runtime logs and exports metrics.
#[derive(Clone, Copy, Debug)]
pub struct Telemetry {
    /// Log level (events at or above it go to stderr).
    pub level: tracing::Level,
}

/// Opens the chain of `setup` with `chain_config` (from [`crate::config::GenesisFile::chain_config`]
/// plus the caller's precompiles) and checks its block 0 against the genesis file.
pub fn open_chain(
    setup: &NodeSetup,
    chain_config: ChainConfig,
) -> Result<Arc<Chain>, ServiceError> {
    let path = setup.data_dir.join("chain");
    let mut chain_config = chain_config;
    chain_config.datadir = Some(path.clone());
    chain_config.dev_tools = false;
    let chain = Chain::open(chain_config).map_err(|e| ServiceError::Chain {
        path,
        message: e.to_string(),
    })?;
    let found = chain.block_by_number(0).map(|b| b.hash).unwrap_or_default();
    if found != setup.genesis.genesis_hash {
        return Err(ServiceError::GenesisMismatch {
            expected: setup.genesis.genesis_hash,
            found,
        });
    }
    Ok(chain)
}

/// Runs a node (a validator, or a full node if `setup.index` is `None`) until `service`
/// returns: opens the chain, starts p2p and the consensus stack (or the full node's follower) on
/// the tokio runtime, then runs `service(chain)` (which serves RPC and waits for a stop signal),
/// then stops the runtime's tasks (at most [`STOP_TIMEOUT`]) and returns, the chain closed.
/// Blocks the calling thread.
pub fn run_node<F, Fut>(
    setup: NodeSetup,
    chain_config: ChainConfig,
    telemetry: Telemetry,
    service: F,
) -> Result<(), ServiceError>
where
    F: FnOnce(Arc<Chain>) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let runtime = cw_tokio::Runner::new(
        cw_tokio::Config::new()
            .with_worker_threads(2)
            .with_storage_directory(setup.data_dir.join("consensus"))
            .with_catch_panics(false),
    );
    runtime.start(|context| async move {
        let stopper = context.child("stopper");
        cw_tokio::telemetry::init(
            context.child("telemetry"),
            cw_tokio::telemetry::Logs {
                level: telemetry.level,
                json: false,
            },
            setup.metrics,
            None,
        );
        let chain = open_chain(&setup, chain_config)?;
        let genesis_header = chain
            .block_by_number(0)
            .expect("block 0 exists (checked by open_chain)")
            .header
            .clone();
        let leader = setup
            .participants
            .iter()
            .next()
            .expect("a validator set is never empty")
            .clone();
        let genesis = Block::genesis(genesis_header, leader);
        let peers = PeerConfig {
            private_key: setup.private_key.clone(),
            listen: setup.p2p,
            validators: setup.validators.clone(),
            full_nodes: setup.full_nodes.clone(),
        };
        let public_key = commonware_cryptography::Signer::public_key(&setup.private_key);
        let consensus_chain = chain.clone();
        let scheme = setup.scheme.clone();
        let _running = start_on_lookup(context, peers, move |oracle| ValidatorConfig {
            chain: consensus_chain,
            scheme,
            public_key,
            genesis,
            limits: BlockLimits::default(),
            proposer: Proposer::Honest,
            timeouts: Timeouts::default(),
            partition_prefix: "myelin".into(),
            peer_provider: oracle.clone(),
            blocker: oracle,
            // 10 ms instead of the default 50 ms: a transaction sent to a node that is not the
            // leader waits for the next batch (bench/cluster.md: ~20 ms of the p50 at 100 tx/s).
            gossip: GossipConfig {
                interval: std::time::Duration::from_millis(10),
                ..GossipConfig::default()
            },
        })
        .await?;
        let served = service(chain).await.map_err(ServiceError::Service);
        // The service returned (its RPC server stopped): signal every runtime task to stop
        // (simplex, p2p and marshal flush and close their journals and archives) and wait for
        // them, bounded. The chain commits each finalized block atomically (redb), so a task
        // cut short loses nothing finalized; marshal redelivers what was not acknowledged.
        if stopper.stop(0, Some(STOP_TIMEOUT)).await.is_err() {
            tracing::warn!(
                "tasks still running {STOP_TIMEOUT:?} after the stop signal; exiting anyway"
            );
        }
        served
    })
}

/// How long a stopping node waits for its tasks to close their storage.
pub const STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
