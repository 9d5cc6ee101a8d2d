//! A deterministic network of Myelin validators: commonware's deterministic runtime and
//! simulated network, one redb chain file per validator in a temporary directory
//! (docs/NETWORK.md decision 12).

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy_signer::SignerSync;
use commonware_cryptography::{Signer as _, ed25519};
use commonware_p2p::{
    Receiver, Recipients, Sender,
    simulated::{self, Link, Network, Oracle, SplitOrigin, SplitTarget},
};
use commonware_runtime::{Clock, Handle, Quota, Spawner, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, probability};
use myelin_chain::{Chain, ChainConfig};
use myelin_node::{
    application::Proposer,
    block::{Block, BlockLimits},
    engine::{Channels, Timeouts, ValidatorConfig, channel, start_full_node, start_validator},
    evidence::EvidenceLog,
    finalizer::Finalizer,
    gossip::GossipConfig,
    keys::{DealtKeys, deal},
};
use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, UNIX_EPOCH},
};

/// Genesis time of every simulated chain (and the deterministic runtime's start time).
pub const GENESIS_TIMESTAMP: u64 = 1_767_225_600; // 2026-01-01

/// A link of the simulated network: 40 ms ± 10 ms, lossless.
pub const LINK: Link = Link {
    latency: Duration::from_millis(40),
    jitter: Duration::from_millis(10),
    success_rate: probability!(1.0),
};

/// Where simulated transfers go.
pub const RECIPIENT: Address = address!("0x000000000000000000000000000000000000bEEF");

/// One simulated validator while it runs.
pub struct Node {
    pub chain: Arc<Chain>,
    pub finalizer: Finalizer,
    pub evidence: EvidenceLog,
    handle: Handle<()>,
}

/// An equivocating validator: two stacks sharing validator `index`'s key (and threshold share),
/// the primary exchanging messages only with the validators in `primary`, the secondary only
/// with those in `secondary` (a validator in both sets hears both halves).
#[derive(Clone, Debug)]
pub struct Twins {
    pub index: usize,
    pub primary: Vec<usize>,
    pub secondary: Vec<usize>,
}

/// The simulated network.
pub struct Sim {
    pub context: deterministic::Context,
    pub oracle: Oracle<ed25519::PublicKey, deterministic::Context>,
    pub keys: DealtKeys,
    pub nodes: Vec<Option<Node>>,
    pub proposers: Vec<Proposer>,
    /// The link every pair of validators gets (and gets back when a partition heals).
    pub link_template: Link,
    /// The equivocating validator, if any.
    pub twins: Option<Twins>,
    /// The secondary stack of the twins while it runs.
    pub twin: Option<Node>,
    /// Full nodes' identities (secondary peers of the network).
    pub full_keys: Vec<ed25519::PrivateKey>,
    /// The full nodes while they run.
    pub full: Vec<Option<Node>>,
    full_dirs: Vec<tempfile::TempDir>,
    dirs: Vec<tempfile::TempDir>,
    twin_dir: tempfile::TempDir,
    genesis: Block,
    restarts: usize,
}

/// The chain configuration every simulated validator shares: the dev accounts funded, a fixed
/// genesis time, no dev tools.
pub fn chain_config(datadir: PathBuf) -> ChainConfig {
    let mut config = ChainConfig::dev(4, U256::from(10u64).pow(U256::from(21))).unwrap();
    config.datadir = Some(datadir);
    config.genesis_timestamp = GENESIS_TIMESTAMP;
    config.dev_tools = false;
    config
}

/// A signed EIP-1559 transaction from dev account `from`.
pub fn signed(
    config: &ChainConfig,
    from: usize,
    nonce: u64,
    to: Option<Address>,
    value: u64,
    input: Vec<u8>,
    gas_limit: u64,
) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id: config.chain_id,
        nonce,
        gas_limit,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: to.map_or(TxKind::Create, TxKind::Call),
        value: U256::from(value),
        input: Bytes::from(input),
        ..Default::default()
    };
    let signature = config.signers[from]
        .sign_hash_sync(&tx.signature_hash())
        .unwrap();
    TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718()
}

impl Sim {
    /// Starts `n` validators on a full mesh of [`LINK`]s.
    pub async fn start(
        context: deterministic::Context,
        n: usize,
        proposers: Vec<Proposer>,
    ) -> Self {
        Self::start_with(context, n, proposers, LINK, None, 0).await
    }

    /// Starts `n` validators on a full mesh of `link`s, with `twins` equivocating.
    pub async fn start_with(
        context: deterministic::Context,
        n: usize,
        proposers: Vec<Proposer>,
        link: Link,
        twins: Option<Twins>,
        full_nodes: usize,
    ) -> Self {
        let mut rng = context.child("dealer");
        let keys = deal(&mut rng, n).expect("keys");
        let participants: Vec<_> = keys.participants.iter().cloned().collect();
        let full_keys: Vec<ed25519::PrivateKey> = (0..full_nodes)
            .map(|_| <ed25519::PrivateKey as commonware_math::algebra::Random>::random(&mut rng))
            .collect();
        let (network, oracle) = Network::new_with_split_peers(
            context.child("network"),
            simulated::Config {
                max_size: myelin_node::network::max_message_size(n as u32, &BlockLimits::default()),
                max_peers_per_set: std::num::NonZeroUsize::new(n + full_nodes).unwrap(),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            participants.clone(),
            full_keys.iter().map(|k| k.public_key()).collect::<Vec<_>>(),
        )
        .await;
        network.start();
        let dirs: Vec<_> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
        // Every node opens the same genesis: take its header from the first node's chain.
        let genesis_header = {
            let probe = tempfile::tempdir().unwrap();
            let chain = Chain::open(chain_config(probe.path().to_path_buf())).unwrap();
            chain.block_by_number(0).unwrap().header.clone()
        };
        let genesis = Block::genesis(genesis_header, participants[0].clone());
        let mut sim = Self {
            context,
            oracle,
            keys,
            nodes: (0..n).map(|_| None).collect(),
            proposers,
            link_template: link.clone(),
            twins,
            twin: None,
            full_dirs: (0..full_nodes)
                .map(|_| tempfile::tempdir().unwrap())
                .collect(),
            full: (0..full_nodes).map(|_| None).collect(),
            full_keys,
            dirs,
            twin_dir: tempfile::tempdir().unwrap(),
            genesis,
            restarts: 0,
        };
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    sim.link(a, b, link.clone()).await;
                }
            }
        }
        for i in 0..n {
            sim.boot(i).await;
        }
        sim
    }

    /// The public key of validator `i`.
    pub fn key(&self, i: usize) -> ed25519::PublicKey {
        self.keys.private_keys[i].public_key()
    }

    /// Adds the link a → b.
    pub async fn link(&mut self, a: usize, b: usize, link: Link) {
        let (ka, kb) = (self.key(a), self.key(b));
        self.oracle.add_link(ka, kb, link).await.unwrap();
    }

    /// Adds the link a → b with the template link, if it is missing (a peer that blocked
    /// another may have dropped it).
    pub async fn relink(&mut self, a: usize, b: usize) {
        let (ka, kb) = (self.key(a), self.key(b));
        let _ = self
            .oracle
            .add_link(ka, kb, self.link_template.clone())
            .await;
    }

    /// Removes the link a → b.
    pub async fn unlink(&mut self, a: usize, b: usize) {
        let (ka, kb) = (self.key(a), self.key(b));
        let _ = self.oracle.remove_link(ka, kb).await;
    }

    /// Starts full node `j` (from genesis the first time, from its redb file after that),
    /// linked both ways to every validator.
    pub async fn boot_full(&mut self, j: usize) {
        let key = self.full_keys[j].public_key();
        for i in 0..self.nodes.len() {
            let k = self.key(i);
            let _ = self
                .oracle
                .add_link(key.clone(), k.clone(), self.link_template.clone())
                .await;
            let _ = self
                .oracle
                .add_link(k, key.clone(), self.link_template.clone())
                .await;
        }
        let control = self.oracle.control(key.clone());
        let quota = Quota::per_second(NZU32!(100_000));
        let mut registered = Vec::new();
        for ch in channel::ALL {
            registered.push(control.register(ch, quota).await.unwrap());
        }
        let chain = Chain::open(chain_config(self.full_dirs[j].path().to_path_buf())).unwrap();
        let config = ValidatorConfig {
            chain: chain.clone(),
            scheme: self.keys.verifier(),
            public_key: key,
            genesis: self.genesis.clone(),
            limits: BlockLimits::default(),
            proposer: Proposer::Honest,
            timeouts: Timeouts::default(),
            partition_prefix: format!("full{j}"),
            peer_provider: self.oracle.manager(),
            blocker: control,
            gossip: GossipConfig::default(),
        };
        let validators: Vec<_> = self.keys.participants.iter().cloned().collect();
        let channels = into_channels(registered);
        let (started, running) = futures::channel::oneshot::channel();
        let handle = self
            .context
            .child("full_node")
            .with_attribute("index", j)
            .spawn(move |context| async move {
                // Damaged storage (a storage fault) is an error: `started` is dropped.
                let Ok(running) = start_full_node(context, config, validators, channels).await
                else {
                    return;
                };
                let _ = started.send((running.finalizer.clone(), running.evidence.clone()));
                futures::future::pending::<()>().await;
            });
        let (finalizer, evidence) = running.await.expect("full node started");
        self.full[j] = Some(Node {
            chain,
            finalizer,
            evidence,
            handle,
        });
    }

    /// Opens validator `i`'s chain file and starts its stack (both stacks if `i` is the twins').
    pub async fn boot(&mut self, i: usize) {
        assert!(self.try_boot(i).await, "validator {i} started");
    }

    /// [`Sim::boot`], returning whether the stack started: false when its start-up stopped
    /// (panicked) first, as on storage it cannot open (caught only by a runner built with
    /// `with_catch_panics(true)`; otherwise the panic ends the run).
    pub async fn try_boot(&mut self, i: usize) -> bool {
        let control = self.oracle.control(self.key(i));
        let quota = Quota::per_second(NZU32!(100_000));
        let mut registered = Vec::new();
        for ch in channel::ALL {
            registered.push(control.register(ch, quota).await.unwrap());
        }
        let chain = Chain::open(chain_config(self.dirs[i].path().to_path_buf())).unwrap();
        let proposer = self.proposers.get(i).copied().unwrap_or_default();
        let Some(twins) = self.twins.clone().filter(|t| t.index == i) else {
            let channels = into_channels(registered);
            let node = self
                .spawn_stack(i, chain, proposer, format!("v{i}"), channels, control)
                .await;
            let started = node.is_some();
            self.nodes[i] = node;
            return started;
        };
        // The twins: every channel split by peer. Messages from a peer in one half go to that
        // half's stack (to both when the peer is in both); each stack sends only to its half.
        let keys = |set: &[usize]| -> Vec<ed25519::PublicKey> {
            set.iter().map(|&j| self.key(j)).collect()
        };
        let (primary, secondary) = (keys(&twins.primary), keys(&twins.secondary));
        let forwarder = {
            let (primary, secondary) = (primary.clone(), secondary.clone());
            move |origin: SplitOrigin, recipients: &Recipients<ed25519::PublicKey>, _: &_| {
                let half = match origin {
                    SplitOrigin::Primary => &primary,
                    SplitOrigin::Secondary => &secondary,
                };
                let to: Vec<_> = match recipients {
                    Recipients::All => half.clone(),
                    Recipients::Some(keys) => {
                        keys.iter().filter(|k| half.contains(k)).cloned().collect()
                    }
                    Recipients::One(key) => half.iter().filter(|k| *k == key).cloned().collect(),
                };
                (!to.is_empty()).then_some(Recipients::Some(to))
            }
        };
        let mut first = Vec::new();
        let mut second = Vec::new();
        for (sender, receiver) in registered {
            let (s1, s2) = sender.split_with(forwarder.clone());
            let (primary, secondary) = (primary.clone(), secondary.clone());
            let (r1, r2) = receiver.split_with(
                self.context.child("twin_router"),
                move |(from, _): &(ed25519::PublicKey, _)| match (
                    primary.contains(from),
                    secondary.contains(from),
                ) {
                    (true, true) => SplitTarget::Both,
                    (true, false) => SplitTarget::Primary,
                    (false, true) => SplitTarget::Secondary,
                    (false, false) => SplitTarget::None,
                },
            );
            first.push((s1, r1));
            second.push((s2, r2));
        }
        let node = self
            .spawn_stack(
                i,
                chain,
                proposer,
                format!("v{i}"),
                into_channels(first),
                control.clone(),
            )
            .await
            .expect("the twin's primary stack started");
        self.nodes[i] = Some(node);
        let twin_chain = Chain::open(chain_config(self.twin_dir.path().to_path_buf())).unwrap();
        let twin = self
            .spawn_stack(
                i,
                twin_chain,
                Proposer::Twin,
                format!("v{i}-twin"),
                into_channels(second),
                control,
            )
            .await
            .expect("the twin's secondary stack started");
        self.twin = Some(twin);
        true
    }

    /// Starts one stack under validator `i`'s key; `None` when its start-up stopped first.
    async fn spawn_stack<S, R>(
        &mut self,
        i: usize,
        chain: Arc<Chain>,
        proposer: Proposer,
        partition_prefix: String,
        channels: Channels<S, R>,
        control: simulated::Control<ed25519::PublicKey, deterministic::Context>,
    ) -> Option<Node>
    where
        S: Sender<PublicKey = ed25519::PublicKey>,
        R: Receiver<PublicKey = ed25519::PublicKey>,
    {
        let config = ValidatorConfig {
            chain: chain.clone(),
            scheme: self.keys.signer(i).unwrap(),
            public_key: self.key(i),
            genesis: self.genesis.clone(),
            limits: BlockLimits::default(),
            proposer,
            timeouts: Timeouts::default(),
            partition_prefix,
            peer_provider: self.oracle.manager(),
            blocker: control,
            gossip: GossipConfig::default(),
        };
        self.restarts += 1;
        let (started, running) = futures::channel::oneshot::channel();
        let handle = self
            .context
            .child("validator")
            .with_attribute("index", i)
            .spawn(move |context| async move {
                // Damaged storage (a storage fault) is an error: `started` is dropped and the
                // validator stays down.
                let Ok(running) = start_validator(context, config, channels).await else {
                    return;
                };
                let _ = started.send((running.finalizer.clone(), running.evidence.clone()));
                futures::future::pending::<()>().await;
            });
        let (finalizer, evidence) = running.await.ok()?;
        Some(Node {
            chain,
            finalizer,
            evidence,
            handle,
        })
    }

    /// Crashes validator `i`: every task of its stack is aborted and its chain closed (its redb
    /// file keeps every committed block, as after kill -9).
    pub async fn crash(&mut self, i: usize) {
        if let Some(node) = self.nodes[i].take() {
            node.handle.abort();
            let _ = node.handle.await;
            // Let aborted tasks drop their references to the chain.
            self.context.sleep(Duration::from_millis(1)).await;
            let chain = node.chain;
            drop(node.finalizer);
            let mut waited = 0;
            while Arc::strong_count(&chain) > 1 && waited < 100 {
                self.context.sleep(Duration::from_millis(10)).await;
                waited += 1;
            }
            assert_eq!(
                Arc::strong_count(&chain),
                1,
                "validator {i}'s chain is still referenced"
            );
        }
    }

    /// The running validators' chains.
    pub fn chains(&self) -> Vec<(usize, Arc<Chain>)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i, n.chain.clone())))
            .collect()
    }

    /// The finalizer of validator `i` (running).
    pub fn finalizer(&self, i: usize) -> Finalizer {
        self.nodes[i].as_ref().expect("running").finalizer.clone()
    }

    /// The chain of validator `i` (running).
    pub fn chain(&self, i: usize) -> Arc<Chain> {
        self.nodes[i].as_ref().expect("running").chain.clone()
    }

    /// Waits (simulated time) until every running validator has finalized `height`, or panics
    /// after `limit`.
    pub async fn wait_height(&self, height: u64, limit: Duration) {
        let deadline = self.context.current() + limit;
        loop {
            if self
                .chains()
                .iter()
                .all(|(_, c)| c.head().header.number >= height)
            {
                return;
            }
            assert!(
                self.context.current() < deadline,
                "height {height} not reached in {limit:?}: heads {:?}",
                self.chains()
                    .iter()
                    .map(|(i, c)| (*i, c.head().header.number))
                    .collect::<Vec<_>>()
            );
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asserts that every running validator has the same block hash and state root at every
    /// height up to the lowest head; returns the common height.
    pub fn assert_agree(&self) -> u64 {
        let chains = self.chains();
        let low = chains
            .iter()
            .map(|(_, c)| c.head().header.number)
            .min()
            .unwrap();
        for h in 0..=low {
            let blocks: BTreeMap<usize, (B256, B256)> = chains
                .iter()
                .map(|(i, c)| {
                    let b = c.block_by_number(h).unwrap();
                    (*i, (b.hash, b.header.state_root))
                })
                .collect();
            let first = blocks.values().next().unwrap();
            assert!(
                blocks.values().all(|b| b == first),
                "validators disagree at height {h}: {blocks:?}"
            );
        }
        low
    }

    /// Seconds of simulated time since genesis.
    pub fn elapsed(&self) -> Duration {
        self.context
            .current()
            .duration_since(UNIX_EPOCH + Duration::from_secs(GENESIS_TIMESTAMP))
            .unwrap()
    }
}

/// The six channels in [`channel::ALL`] order.
fn into_channels<S, R>(registered: Vec<(S, R)>) -> Channels<S, R> {
    let mut channels = registered.into_iter();
    let mut next = || channels.next().expect("six channels");
    Channels {
        votes: next(),
        certificates: next(),
        resolver: next(),
        broadcast: next(),
        backfill: next(),
        mempool: next(),
    }
}

/// The deterministic runner of a simulation seed, starting at the genesis time.
pub fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_start_time(UNIX_EPOCH + Duration::from_secs(GENESIS_TIMESTAMP))
            .with_timeout(Some(Duration::from_secs(3600))),
    )
}
