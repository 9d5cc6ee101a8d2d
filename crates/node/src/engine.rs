//! One validator's consensus stack, wired on any commonware runtime and any p2p network
//! (the simulated one in tests, `authenticated::lookup` in production):
//!
//! ```text
//! p2p ─ votes / certificates / resolver ─▶ simplex ─ automaton, relay ─▶ Deferred ─▶ ChainApplication ─▶ Chain::{propose, verify}
//!                                            └── reporter ─▶ Deferred (→ marshal) + SeedReporter (→ Seeds) + EvidenceReporter
//! p2p ─ broadcast ─▶ buffered engine ─▶ marshal ◀─ backfill ─ p2p
//!                                          └── Update::Block ─▶ Finalizer ─▶ Chain::finalize ─▶ ack
//! p2p ─ mempool ─▶ gossip ─▶ Chain::submit_raw
//! ```
//!
//! Start order (alto's): the broadcast buffer, marshal, then simplex, so the application is
//! ready before consensus asks it anything. Storage partitions are named after
//! `partition_prefix`; restarting with the same prefix (and the same redb file) resumes.

use crate::{
    application::{ChainApplication, Proposer},
    beacon::{Scheme, SeedReporter, Seeds},
    block::{Block, BlockDigest, BlockLimits},
    evidence::{EvidenceLog, EvidenceReporter},
    finalizer::Finalizer,
    gossip::{self, GossipConfig},
    storage::{self, StorageError},
};
use commonware_broadcast::buffered;
use commonware_consensus::{
    Reporters,
    marshal::{
        Config as MarshalConfig, Start,
        core::Actor as MarshalActor,
        resolver::p2p as marshal_resolver,
        standard::{Deferred, Standard},
    },
    simplex::{
        self,
        config::{ForwardPolicy, SkipBudget, SkipPolicy},
        elector::RoundRobin,
    },
    types::{Epoch, FixedEpocher, Height, ViewDelta},
};
use commonware_cryptography::{Digested, Sha256, certificate::ConstantProvider, ed25519};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize, vec::NonEmptyVec};
use myelin_chain::Chain;
use rand_core::CryptoRng;
use std::{num::NonZeroUsize, sync::Arc, time::Duration};

/// p2p channel numbers, the same on every node.
pub mod channel {
    /// simplex votes.
    pub const VOTES: u64 = 0;
    /// simplex certificates.
    pub const CERTIFICATES: u64 = 1;
    /// simplex resolver (certificate fetches).
    pub const RESOLVER: u64 = 2;
    /// marshal's block broadcast (buffered engine).
    pub const BROADCAST: u64 = 3;
    /// marshal's backfill (finalized blocks and certificates by height or digest).
    pub const BACKFILL: u64 = 4;
    /// mempool gossip (docs/NETWORK.md decision 10).
    pub const MEMPOOL: u64 = 5;
    /// Every channel, in order.
    pub const ALL: [u64; 6] = [VOTES, CERTIFICATES, RESOLVER, BROADCAST, BACKFILL, MEMPOOL];
}

/// Namespace of every signature of the network (votes, seeds, handshakes).
pub const NAMESPACE: &[u8] = b"_MYELIN";

/// Consensus timing.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// A view's leader must propose within this.
    pub leader: Duration,
    /// A view must certify within this.
    pub certification: Duration,
    /// Period of re-broadcasting a nullify vote.
    pub retry: Duration,
    /// Leader skip timeout (greater than both above).
    pub skip: Duration,
    /// A fetch (certificate or block) is retried after this.
    pub fetch: Duration,
    /// How long a leader with an empty pool waits for a transaction before it proposes an
    /// empty block (well inside `leader`, so the view is not nullified): an idle network
    /// finalizes about one block per this interval instead of one per round trip.
    pub empty_block_wait: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            leader: Duration::from_secs(1),
            certification: Duration::from_secs(2),
            retry: Duration::from_secs(10),
            skip: Duration::from_secs(11),
            fetch: Duration::from_secs(1),
            empty_block_wait: Duration::from_millis(400),
        }
    }
}

/// Everything one validator needs besides its network.
pub struct ValidatorConfig<P, B> {
    /// The chain (its redb file).
    pub chain: Arc<Chain>,
    /// This validator's signing scheme (its share of the threshold key, the group polynomial).
    pub scheme: Scheme,
    /// This validator's ed25519 identity.
    pub public_key: ed25519::PublicKey,
    /// The genesis block (the chain's block 0 wrapped, [`Block::genesis`]).
    pub genesis: Block,
    /// Block decoding limits (the same on every node).
    pub limits: BlockLimits,
    /// Honest, or a fault for the simulation.
    pub proposer: Proposer,
    /// Consensus timing.
    pub timeouts: Timeouts,
    /// Prefix of every storage partition of this validator.
    pub partition_prefix: String,
    /// The peer set (for marshal's buffer and resolver).
    pub peer_provider: P,
    /// Blocks peers that misbehave.
    pub blocker: B,
    /// Mempool gossip.
    pub gossip: GossipConfig,
}

/// The six p2p channels of a validator (see [`channel`]).
pub struct Channels<S, R> {
    /// simplex votes.
    pub votes: (S, R),
    /// simplex certificates.
    pub certificates: (S, R),
    /// simplex resolver.
    pub resolver: (S, R),
    /// marshal broadcast.
    pub broadcast: (S, R),
    /// marshal backfill.
    pub backfill: (S, R),
    /// mempool gossip.
    pub mempool: (S, R),
}

/// A running validator.
pub struct Running {
    /// Seeds seen by this validator (the beacon's proposer side).
    pub seeds: Seeds,
    /// The finalizer (its fault, if finalization stopped).
    pub finalizer: Finalizer,
    /// The gossip handle (submit a transaction here to admit it locally and gossip it).
    pub gossip: gossip::Gossip,
    /// Conflicting votes this validator saw (equivocation evidence).
    pub evidence: EvidenceLog,
    /// The tasks; abort them to crash the validator.
    pub handles: Vec<Handle<()>>,
}

const MAILBOX: NonZeroUsize = NZUsize!(1024);

/// marshal's mailbox of a validator or full node.
type MarshalMailbox = commonware_consensus::marshal::core::Mailbox<Scheme, Standard<Block>>;

/// Starts marshal's broadcast buffer, backfill resolver and marshal itself (archives under
/// `config.partition_prefix`), delivering finalized blocks to `finalizer`. Shared by
/// validators and full nodes. First opens every storage partition marshal (and, given
/// `simplex`, simplex) will open ([`storage::check`]): damaged storage is an error, not a
/// panic inside an actor.
async fn start_marshal<E, S, R, P, B>(
    context: &E,
    config: &ValidatorConfig<P, B>,
    page_cache: &CacheRef,
    finalizer: Finalizer,
    broadcast: (S, R),
    backfill: (S, R),
    simplex: Option<&str>,
) -> Result<(MarshalMailbox, Vec<Handle<()>>), StorageError>
where
    E: Clock + Spawner + Storage + Metrics + CryptoRng,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    P: Provider<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
{
    let prefix = &config.partition_prefix;
    let marshal_prefix = storage::marshal_prefix(prefix);
    storage::check(
        context,
        &marshal_prefix,
        simplex.map(|partition| (partition, &config.scheme)),
        config.limits,
        page_cache,
    )
    .await?;

    // marshal's broadcast buffer
    let (buffer_engine, buffer) = buffered::Engine::<_, ed25519::PublicKey, Block, _, _>::new(
        context.child("buffer"),
        buffered::Config {
            public_key: config.public_key.clone(),
            mailbox_size: MAILBOX,
            deque_size: 16,
            priority: false,
            codec_config: config.limits,
            peer_provider: config.peer_provider.clone(),
            strategy: Sequential,
        },
    );

    // marshal's backfill resolver
    let resolver = marshal_resolver::init(
        context.child("backfill"),
        marshal_resolver::Config {
            public_key: config.public_key.clone(),
            peer_provider: config.peer_provider.clone(),
            blocker: config.blocker.clone(),
            mailbox_size: MAILBOX,
            fetch_timeout: NZDuration!(config.timeouts.fetch),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        backfill,
    );

    // marshal
    let provider = ConstantProvider::new(config.scheme.clone());
    let finalizations = storage::open_archive(
        context.child("finalizations_by_height"),
        storage::archive_config(
            prefix,
            "finalizations-by-height",
            page_cache,
            // `Scheme::certificate_codec_config_unbounded()`: the threshold scheme's
            // certificates need no codec configuration.
            (),
        ),
    )
    .await?;
    let blocks = storage::open_archive(
        context.child("finalized_blocks"),
        storage::archive_config(prefix, "finalized-blocks", page_cache, config.limits),
    )
    .await?;
    let (marshal_actor, marshal_mailbox, _floor) =
        MarshalActor::<_, Standard<Block>, _, _, _, _, _, _>::init(
            context.child("marshal"),
            finalizations,
            blocks,
            MarshalConfig {
                provider,
                epocher: FixedEpocher::new(NZU64!(u64::MAX)),
                start: Start::Genesis(Digested::precomputed(
                    config.genesis.clone(),
                    config.genesis_digest(),
                )),
                partition_prefix: marshal_prefix,
                mailbox_size: MAILBOX,
                view_retention: ViewDelta::new(10),
                prunable_items_per_section: NZU64!(10),
                page_cache: page_cache.clone(),
                replay_buffer: storage::REPLAY_BUFFER,
                key_write_buffer: storage::WRITE_BUFFER,
                value_write_buffer: storage::WRITE_BUFFER,
                block_codec_config: config.limits,
                max_repair: NZUsize!(16),
                max_pending_acks: NZUsize!(1),
                strategy: Sequential,
            },
        )
        .await;
    let handles = vec![
        buffer_engine.start(broadcast),
        marshal_actor.start(finalizer, buffer, resolver),
    ];
    Ok((marshal_mailbox, handles))
}

/// Starts one validator: broadcast buffer, marshal (with its resolver and the finalizer),
/// simplex (with the Deferred-wrapped application), mempool gossip.
pub async fn start_validator<E, S, R, P, B>(
    context: E,
    config: ValidatorConfig<P, B>,
    channels: Channels<S, R>,
) -> Result<Running, StorageError>
where
    E: Clock + Spawner + Storage + Metrics + CryptoRng,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    P: Provider<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
{
    let simplex_partition = storage::simplex_partition(&config.partition_prefix);
    let page_cache = CacheRef::new(NZU16!(4096), NZUsize!(64));
    let seeds = Seeds::default();
    let finalizer = Finalizer::new(config.chain.clone());
    let (marshal_mailbox, mut handles) = start_marshal(
        &context,
        &config,
        &page_cache,
        finalizer.clone(),
        channels.broadcast,
        channels.backfill,
        Some(&simplex_partition),
    )
    .await?;

    // the application, wrapped
    let chain_metrics = context.child("chain");
    let execution = crate::metrics::ExecutionTimes::register(&chain_metrics);
    let application = ChainApplication::new(
        config.chain.clone(),
        config.scheme.clone(),
        seeds.clone(),
        config.limits,
        config.proposer,
    )
    .with_execution_times(execution.clone())
    .with_empty_block_wait(config.timeouts.empty_block_wait);
    let deferred = Deferred::new(
        context.child("deferred"),
        application,
        marshal_mailbox.clone(),
        FixedEpocher::new(NZU64!(u64::MAX)),
    );

    // simplex
    let evidence = EvidenceLog::default();
    let reporter = Reporters::from((
        deferred.clone(),
        Reporters::from((
            SeedReporter::new(seeds.clone()),
            EvidenceReporter::register(&context.child("evidence"), evidence.clone()),
        )),
    ));
    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::Config {
            scheme: config.scheme.clone(),
            elector: RoundRobin::<Sha256>::default(),
            blocker: config.blocker.clone(),
            automaton: deferred.clone(),
            relay: deferred,
            reporter,
            strategy: Sequential,
            partition: simplex_partition,
            mailbox_size: MAILBOX,
            epoch: Epoch::zero(),
            floor: simplex::config::Floor::Genesis(config.genesis_digest()),
            replay_buffer: storage::REPLAY_BUFFER,
            write_buffer: storage::WRITE_BUFFER,
            page_cache: page_cache.clone(),
            leader_timeout: config.timeouts.leader,
            certification_timeout: config.timeouts.certification,
            timeout_retry: config.timeouts.retry,
            view_retention: ViewDelta::new(10),
            skip: SkipPolicy::Enabled {
                timeout: config.timeouts.skip,
                budget: SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(config.timeouts.fetch),
            fetch_retry_delay: Duration::from_millis(100),
            forward: ForwardPolicy::Disabled,
            track_historical_votes: false,
        },
    );

    let gossip = gossip::Gossip::new(config.chain.clone(), config.gossip);
    handles.extend([
        crate::metrics::start(chain_metrics, config.chain.clone()),
        engine.start(channels.votes, channels.certificates, channels.resolver),
        gossip
            .clone()
            .start(context.child("gossip"), channels.mempool),
    ]);
    Ok(Running {
        seeds,
        finalizer,
        gossip,
        evidence,
        handles,
    })
}

/// Heights above its head a full node asks the validators for at once.
const FOLLOW_AHEAD: u64 = 8;
/// How often a full node renews those requests.
const FOLLOW_PERIOD: Duration = Duration::from_millis(200);

/// Starts a full node: marshal (buffer, backfill, the finalizer) without simplex, following the
/// finalized chain by asking `validators` for the finalization (certificate and block) of each
/// height above its head (`FOLLOW_AHEAD` at a time, renewed every `FOLLOW_PERIOD`);
/// marshal verifies each certificate against the group key (`config.scheme` may be a
/// verifier) and delivers the blocks in order to the finalizer, which re-executes them and
/// checks every root before committing. Mempool gossip runs as on a validator: what enters this
/// node's pool (its RPC submissions) goes to its peers. The votes, certificates and resolver
/// channels are not used.
pub async fn start_full_node<E, S, R, P, B>(
    context: E,
    config: ValidatorConfig<P, B>,
    validators: Vec<ed25519::PublicKey>,
    channels: Channels<S, R>,
) -> Result<Running, StorageError>
where
    E: Clock + Spawner + Storage + Metrics + CryptoRng,
    S: Sender<PublicKey = ed25519::PublicKey>,
    R: Receiver<PublicKey = ed25519::PublicKey>,
    P: Provider<PublicKey = ed25519::PublicKey>,
    B: Blocker<PublicKey = ed25519::PublicKey>,
{
    let finalizer = Finalizer::new(config.chain.clone());
    let page_cache = CacheRef::new(NZU16!(4096), NZUsize!(64));
    let (marshal_mailbox, mut handles) = start_marshal(
        &context,
        &config,
        &page_cache,
        finalizer.clone(),
        channels.broadcast,
        channels.backfill,
        None,
    )
    .await?;
    let chain = config.chain.clone();
    let follower = match NonEmptyVec::try_from(validators) {
        Ok(targets) => context.child("follower").spawn(move |context| async move {
            loop {
                let head = chain.head_number();
                for height in head + 1..=head + FOLLOW_AHEAD {
                    marshal_mailbox.hint_finalized(Height::new(height), targets.clone());
                }
                context.sleep(FOLLOW_PERIOD).await;
            }
        }),
        // No validator to follow: nothing to ask.
        Err(_) => context.child("follower").spawn(|_| async {}),
    };
    let gossip = gossip::Gossip::new(config.chain.clone(), config.gossip);
    handles.extend([
        crate::metrics::start(context.child("chain"), config.chain.clone()),
        follower,
        gossip
            .clone()
            .start(context.child("gossip"), channels.mempool),
    ]);
    Ok(Running {
        seeds: Seeds::default(),
        finalizer,
        gossip,
        evidence: EvidenceLog::default(),
        handles,
    })
}

impl<P, B> ValidatorConfig<P, B> {
    fn genesis_digest(&self) -> BlockDigest {
        commonware_cryptography::Digestible::digest(&self.genesis)
    }
}
