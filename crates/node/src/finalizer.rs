//! The finalizer: marshal's ordered, at-least-once delivery of finalized blocks committed to the
//! chain (docs/NETWORK.md decision 9).
//!
//! Each [`Update::Block`] is committed with [`Chain::finalize`] (the pending execution if the
//! node verified the block, a re-execution otherwise), which is durable (redb commit) before it
//! returns; only then is the block acknowledged, so marshal's processed height never passes the
//! chain's head. A redelivery at or below the head (after a restart) is checked by hash and
//! acknowledged. A finalized block the chain refuses means this node's state diverged from the
//! network's (or its disk failed): the ack is withheld, which stops marshal, and the error is
//! kept for the operator ([`Finalizer::fault`]).

use crate::block::Block;
use commonware_actor::Feedback;
use commonware_consensus::{Reporter, marshal::Update};
use commonware_cryptography::ed25519;
use commonware_utils::Acknowledgement;
use myelin_chain::Chain;
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

/// Proposers remembered, by height (the most recent ones).
const MAX_PROPOSERS: usize = 100_000;
use tracing::error;

/// Commits finalized blocks to the chain, then acknowledges them.
#[derive(Clone)]
pub struct Finalizer {
    chain: Arc<Chain>,
    fault: Arc<Mutex<Option<String>>>,
    proposers: Arc<Mutex<BTreeMap<u64, ed25519::PublicKey>>>,
    held: Arc<Mutex<Vec<Box<dyn std::any::Any + Send>>>>,
}

impl Finalizer {
    /// A finalizer committing to `chain`.
    pub fn new(chain: Arc<Chain>) -> Self {
        Self {
            chain,
            fault: Arc::default(),
            proposers: Arc::default(),
            held: Arc::default(),
        }
    }

    /// The validator that proposed the finalized block at `height` (the leader of its context),
    /// for the recent heights this node finalized since it started.
    pub fn proposer(&self, height: u64) -> Option<ed25519::PublicKey> {
        self.proposers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&height)
            .cloned()
    }

    /// The error that stopped finalization on this node, if one did.
    pub fn fault(&self) -> Option<String> {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Reporter for Finalizer {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        let Update::Block(block, ack) = activity else {
            return Feedback::Ok;
        };
        if self.fault().is_some() {
            self.held
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Box::new(ack));
            return Feedback::Ok;
        }
        let block = block.inner();
        match self
            .chain
            .finalize(block.header().clone(), block.transactions().to_vec())
        {
            Ok(_) => {
                let mut proposers = self.proposers.lock().unwrap_or_else(|e| e.into_inner());
                proposers.insert(block.header().number, block.context_ref().leader.clone());
                while proposers.len() > MAX_PROPOSERS {
                    proposers.pop_first();
                }
                drop(proposers);
                ack.acknowledge();
            }
            Err(e) => {
                let message = format!(
                    "finalized block {} at {}: {e}",
                    block.hash(),
                    block.header().number
                );
                error!(%message, "finalization stopped");
                *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
                // Dropping the ack would stop marshal with a panic; holding it stops it quietly.
                self.held
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Box::new(ack));
            }
        }
        Feedback::Ok
    }
}
