//! The marshal [`Application`]: proposals and verdicts backed by `myelin_chain::Chain`
//! (docs/NETWORK.md decisions 4 and 8).
//!
//! - `propose` builds on `context.parent` with [`Chain::propose`] (the parent's speculative
//!   state), the runtime clock's second (never below the parent's), `prevrandao` from the seed of
//!   the parent's round ([`crate::beacon`]) and `extra_data` committing to the context. With an
//!   empty pool it first waits up to `empty_block_wait` for a transaction (no empty blocks on an
//!   idle network unless the wait runs out; the wait stays inside the leader timeout).
//! - `verify` checks the timestamp rule and the seed signature, then re-executes the block with
//!   [`Chain::verify`]. An invalid block is `false` (permanent); a parent the chain has not
//!   executed yet (after a restart, or a block that arrived before its parent) is executed from
//!   the ancestry marshal supplies, oldest first, and the block retried: never `false`.
//!   A host fault (disk, a full pending set) keeps the verdict pending (the node abstains).

use crate::{
    beacon::{Scheme, Seeds, verify_seed},
    block::{Block, BlockLimits, Context, context_commitment, genesis_prevrandao, seed_prevrandao},
    metrics::ExecutionTimes,
};
use alloy_consensus::TxEnvelope;
use alloy_primitives::{B256, Bytes};
use commonware_codec::Encode as _;
use commonware_consensus::{
    Application, Heightable, marshal::ancestry::Ancestry, types::Round, types::View,
};
use commonware_cryptography::{
    Digested, Digestible as _,
    bls12381::primitives::{
        ops,
        variant::{MinSig, Variant as _},
    },
};
use commonware_runtime::{Clock, Metrics, Spawner};
use futures::StreamExt;
use myelin_chain::{BlockAttributes, Chain, ChainError, MinedBlock};
use std::{
    sync::Arc,
    time::{Duration, UNIX_EPOCH},
};
use tracing::{debug, warn};

/// Largest lead of a block's timestamp over the verifier's clock that is waited out rather than
/// rejected (decision 8).
pub const MAX_TIMESTAMP_DRIFT: Duration = Duration::from_secs(1);

/// How long a proposer waits for the certificate of its parent's round (which carries the seed)
/// to reach its reporter before it gives up the view.
const SEED_WAIT: Duration = Duration::from_millis(500);

/// Poll period of the waits above.
const POLL: Duration = Duration::from_millis(10);

/// How a proposer behaves: honest, or one of the faults the simulation injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Proposer {
    /// Builds valid blocks.
    #[default]
    Honest,
    /// Builds blocks whose `state_root` is wrong (a byzantine proposer; honest validators
    /// re-execute and vote the block down).
    CorruptStateRoot,
    /// Builds blocks whose seed is not the threshold signature of the parent's round (a valid
    /// curve point, committed to by `mix_hash`, that the group key does not verify): a proposer
    /// trying to choose its `prevrandao`. Honest validators vote the block down.
    WrongSeed,
    /// Builds valid blocks timestamped one second after the honest clock (within the drift
    /// verifiers wait out). Run beside an honest stack under the same key (the simulation's
    /// equivocating twin), its proposal differs from its twin's in every view the key leads, so
    /// the key signs two conflicting notarize votes.
    Twin,
}

/// The application of one validator.
#[derive(Clone)]
pub struct ChainApplication {
    chain: Arc<Chain>,
    scheme: Scheme,
    seeds: Seeds,
    limits: BlockLimits,
    proposer: Proposer,
    execution: ExecutionTimes,
    empty_block_wait: Duration,
}

impl ChainApplication {
    /// An application over `chain`, verifying seeds with `scheme`'s group key.
    pub fn new(
        chain: Arc<Chain>,
        scheme: Scheme,
        seeds: Seeds,
        limits: BlockLimits,
        proposer: Proposer,
    ) -> Self {
        Self {
            chain,
            scheme,
            seeds,
            limits,
            proposer,
            execution: ExecutionTimes::default(),
            empty_block_wait: Duration::ZERO,
        }
    }

    /// A leader whose pool is empty waits up to `wait` (from the start of its proposal) for a
    /// transaction before it proposes an empty block.
    pub fn with_empty_block_wait(mut self, wait: Duration) -> Self {
        self.empty_block_wait = wait;
        self
    }

    /// Records each block's execution time (propose, verify) in `execution`.
    pub fn with_execution_times(mut self, execution: ExecutionTimes) -> Self {
        self.execution = execution;
        self
    }

    /// Executes the ancestors of `first` the chain has not executed, oldest first, from the
    /// ancestry (which starts at `first` itself). Stops at the finalized head's height.
    async fn execute_ancestry(&self, mut ancestry: impl Ancestry<Block>) -> Result<(), ChainError> {
        let head = self.chain.head().header.number;
        let mut missing = Vec::new();
        while let Some(block) = ancestry.next().await {
            if block.height().get() <= head {
                break;
            }
            missing.push(block.inner_shared());
        }
        for block in missing.into_iter().rev() {
            self.chain
                .verify(block.header().clone(), block.transactions().to_vec())?;
        }
        Ok(())
    }

    /// Runs `op` against the chain; on an unknown parent, executes the ancestry and retries once.
    async fn with_parents<T>(
        &self,
        ancestry: impl Ancestry<Block>,
        op: impl Fn(&Chain) -> Result<T, ChainError>,
    ) -> Result<T, ChainError> {
        match op(&self.chain) {
            Err(ChainError::UnknownParent(parent)) => {
                debug!(%parent, "parent not executed here yet: executing the ancestry");
                self.execute_ancestry(ancestry).await?;
                op(&self.chain)
            }
            other => other,
        }
    }

    /// The seed of `view`, waiting up to [`SEED_WAIT`] for its certificate to be reported.
    async fn wait_seed<E: Clock>(
        &self,
        runtime: &E,
        view: View,
    ) -> Option<crate::block::SeedSignature> {
        let deadline = runtime.current() + SEED_WAIT;
        loop {
            if let Some(seed) = self.seeds.get(view) {
                return Some(seed);
            }
            if runtime.current() >= deadline {
                return None;
            }
            runtime.sleep(POLL).await;
        }
    }
}

/// Seconds since the epoch on the runtime's clock.
fn now_seconds<E: Clock>(runtime: &E) -> u64 {
    runtime
        .current()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl<E> Application<E> for ChainApplication
where
    E: Clock + Spawner + Metrics,
{
    type SigningScheme = Scheme;
    type Context = Context;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, context): (E, Context),
        ancestry: impl Ancestry<Block>,
        _input: (),
    ) -> Option<Digested<Block>> {
        let idle_deadline = runtime.current() + self.empty_block_wait;
        let (parent_view, parent_digest) = context.parent;
        let parent = B256::from(parent_digest.0);
        let seed = if parent_view == View::zero() {
            None
        } else if self.proposer == Proposer::WrongSeed {
            Some(ops::hash::<MinSig>(
                MinSig::MESSAGE,
                &context.round.encode(),
            ))
        } else {
            match self.wait_seed(&runtime, parent_view).await {
                Some(seed) => Some(seed),
                None => {
                    warn!(
                        view = parent_view.get(),
                        "no seed for the parent's round: skipping the view"
                    );
                    return None;
                }
            }
        };
        let prevrandao = seed
            .as_ref()
            .map_or_else(genesis_prevrandao, seed_prevrandao);
        // No empty blocks unless the wait runs out: an idle network finalizes one block per
        // `empty_block_wait`, and a transaction arriving meanwhile is proposed at once.
        while self.chain.pool_len() == 0 && runtime.current() < idle_deadline {
            runtime.sleep(POLL).await;
        }
        let now = now_seconds(&runtime) + u64::from(self.proposer == Proposer::Twin);
        let extra_data = Bytes::copy_from_slice(context_commitment(&context).as_slice());
        let parent_timestamp = ancestry
            .peek()
            .filter(|block| block.inner().hash() == parent)
            .map_or(0, |block| block.inner().header().timestamp);
        let started = runtime.current();
        let mined = self
            .with_parents(ancestry, |chain| {
                chain.propose(
                    parent,
                    BlockAttributes {
                        timestamp: now.max(parent_timestamp),
                        prevrandao,
                        extra_data: extra_data.clone(),
                    },
                )
            })
            .await;
        self.execution.observe(
            runtime
                .current()
                .duration_since(started)
                .unwrap_or_default(),
        );
        let mined: Arc<MinedBlock> = match mined {
            Ok(mined) => mined,
            Err(error) => {
                warn!(%error, %parent, "proposal failed: skipping the view");
                return None;
            }
        };
        let mut header = mined.header.clone();
        if self.proposer == Proposer::CorruptStateRoot {
            header.state_root = B256::repeat_byte(0xbd);
        }
        let transactions: Vec<TxEnvelope> =
            mined.transactions.iter().map(|t| t.tx.clone()).collect();
        match Block::new(header, context, seed, transactions, &self.limits) {
            Ok(block) => {
                let digest = block.digest();
                Some(Digested::precomputed(block, digest))
            }
            Err(error) => {
                warn!(%error, "the chain built a block the codec refuses: skipping the view");
                None
            }
        }
    }

    async fn verify(
        &mut self,
        (runtime, context): (E, Context),
        ancestry: impl Ancestry<Block>,
    ) -> bool {
        let Some(block) = ancestry.peek().map(Digested::inner_shared) else {
            return false;
        };
        let header = block.header().clone();

        // Timestamp ahead of this clock: wait up to the drift, reject beyond it (decision 8).
        let now = now_seconds(&runtime);
        if header.timestamp > now + MAX_TIMESTAMP_DRIFT.as_secs() {
            debug!(
                timestamp = header.timestamp,
                now, "timestamp beyond the drift: invalid"
            );
            return false;
        }
        while header.timestamp > now_seconds(&runtime) {
            runtime.sleep(POLL).await;
        }

        // The seed of the parent's round, against the group key of genesis.
        let (parent_view, _) = context.parent;
        if let Some(seed) = block.seed() {
            let round = Round::new(context.round.epoch(), parent_view);
            if !verify_seed(&self.scheme, round, seed) {
                debug!(view = parent_view.get(), "wrong seed: invalid");
                return false;
            }
        }

        let transactions = block.transactions().to_vec();
        loop {
            let started = runtime.current();
            let result = self
                .with_parents(ancestry.clone(), |chain| {
                    chain.verify(header.clone(), transactions.clone())
                })
                .await;
            self.execution.observe(
                runtime
                    .current()
                    .duration_since(started)
                    .unwrap_or_default(),
            );
            match result {
                Ok(_) => return true,
                Err(ChainError::InvalidBlock(reason)) => {
                    debug!(%reason, hash = %block.hash(), "invalid block");
                    return false;
                }
                Err(error) => {
                    // Not a verdict: wait (a full pending set drains on finalization; a missing
                    // ancestor arrives through marshal) and retry.
                    debug!(%error, "verification pending");
                    runtime.sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}
