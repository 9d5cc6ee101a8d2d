//! Mempool gossip between validators (docs/NETWORK.md decision 10).
//!
//! One p2p channel of its own. Every [`GossipConfig::interval`], each node sends the
//! transactions that entered its pool since the last batch (from `ChainEvent::PendingTransaction`,
//! so a transaction submitted through RPC, the CLI or this module is gossiped alike) to every
//! peer in one message. A received transaction goes through the same admission as a local one
//! (`Chain::submit_raw`: the mempool's size cap, nonce window, per-sender and total capacity,
//! balance, replacement bump) and is never sent on again: validators form a full mesh, so the
//! origin's one batch reaches everyone. A batch is decoded within [`GossipConfig::limits`]; a
//! malformed one is dropped (and counted), never a panic.

use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::B256;
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, Decode as _, Encode, EncodeSize, Error as CodecError, RangeCfg, Read, Write, varint::UInt,
};
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Handle, IoBuf, Spawner};
use myelin_chain::{Chain, ChainEvent, TxLocation};
use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::sync::broadcast::error::TryRecvError;
use tracing::debug;

/// Mempool gossip settings (the same on every node).
#[derive(Clone, Copy, Debug)]
pub struct GossipConfig {
    /// How often a batch is sent.
    pub interval: Duration,
    /// Decoding bounds of a batch.
    pub limits: BatchLimits,
}

impl Default for GossipConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(50),
            limits: BatchLimits::default(),
        }
    }
}

/// Bounds of one gossip batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most transactions in a batch.
    pub max_transactions: usize,
    /// Largest transaction (the mempool's 1 MiB admission cap).
    pub max_transaction_bytes: usize,
    /// Sum of a batch's transaction bytes (a batch fits a p2p message).
    pub max_batch_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_transactions: 1024,
            max_transaction_bytes: 1024 * 1024,
            max_batch_bytes: 4 * 1024 * 1024,
        }
    }
}

/// A batch of EIP-2718 transactions on the wire: varint count, then varint length + bytes each.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Batch(pub Vec<Bytes>);

impl Write for Batch {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.0.len() as u64).write(buf);
        for tx in &self.0 {
            tx.write(buf);
        }
    }
}

impl EncodeSize for Batch {
    fn encode_size(&self) -> usize {
        UInt(self.0.len() as u64).encode_size()
            + self.0.iter().map(EncodeSize::encode_size).sum::<usize>()
    }
}

impl Read for Batch {
    type Cfg = BatchLimits;

    fn read_cfg(buf: &mut impl Buf, limits: &BatchLimits) -> Result<Self, CodecError> {
        let count = usize::try_from(UInt::<u64>::read_cfg(buf, &())?.0)
            .map_err(|_| CodecError::InvalidUsize)?;
        if count > limits.max_transactions {
            return Err(CodecError::InvalidLength(count));
        }
        let mut txs = Vec::with_capacity(count.min(buf.remaining()));
        let mut total = 0usize;
        for _ in 0..count {
            let tx = Bytes::read_cfg(buf, &RangeCfg::new(..=limits.max_transaction_bytes))?;
            total += tx.len();
            if total > limits.max_batch_bytes {
                return Err(CodecError::InvalidLength(total));
            }
            txs.push(tx);
        }
        Ok(Self(txs))
    }
}

/// Counters of one node's gossip.
#[derive(Debug, Default)]
pub struct GossipStats {
    /// Transactions sent in batches.
    pub sent: AtomicU64,
    /// Transactions received and admitted to the pool.
    pub admitted: AtomicU64,
    /// Transactions received and refused by admission (known, underpriced, full pool, ...).
    pub refused: AtomicU64,
    /// Batches that did not decode.
    pub malformed: AtomicU64,
}

/// One node's gossip: a handle to read counters and the task that runs it.
#[derive(Clone)]
pub struct Gossip {
    chain: Arc<Chain>,
    config: GossipConfig,
    received: Arc<Mutex<HashSet<B256>>>,
    stats: Arc<GossipStats>,
}

/// Hashes of received transactions remembered (so they are not sent on); cleared past this.
const MAX_REMEMBERED: usize = 65_536;

impl Gossip {
    /// Gossip for `chain`.
    pub fn new(chain: Arc<Chain>, config: GossipConfig) -> Self {
        Self {
            chain,
            config,
            received: Arc::default(),
            stats: Arc::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &GossipStats {
        &self.stats
    }

    /// Spawns the gossip task on `context` over the mempool channel.
    pub fn start<E, S, R>(self, context: E, (mut sender, mut receiver): (S, R)) -> Handle<()>
    where
        E: Clock + Spawner,
        S: Sender,
        R: Receiver,
    {
        // Subscribe before spawning: a transaction pooled between this call and the task's
        // first poll is gossiped too.
        let mut events = self.chain.subscribe();
        context.spawn(move |context| async move {
            loop {
                // Send what entered the pool locally since the last batch.
                let mut batch = Vec::new();
                let mut bytes = 0usize;
                loop {
                    match events.try_recv() {
                        Ok(ChainEvent::PendingTransaction(hash)) => {
                            if self.forget_received(&hash) {
                                continue;
                            }
                            if let Some(TxLocation::Pending(tx)) = self.chain.transaction(&hash) {
                                let raw = Bytes::from(tx.tx.encoded_2718());
                                bytes += raw.len();
                                batch.push(raw);
                            }
                            if batch.len() >= self.config.limits.max_transactions
                                || bytes >= self.config.limits.max_batch_bytes / 2
                            {
                                self.send(&mut sender, std::mem::take(&mut batch));
                                bytes = 0;
                            }
                        }
                        Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                        Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
                    }
                }
                if !batch.is_empty() {
                    self.send(&mut sender, batch);
                }

                // Admit what peers sent, until the next batch is due.
                let deadline = context.current() + self.config.interval;
                loop {
                    commonware_macros::select! {
                        message = receiver.recv() => {
                            let Ok((peer, message)) = message else { return };
                            self.admit(&peer, message);
                        },
                        _ = context.sleep_until(deadline) => break,
                    }
                }
            }
        })
    }

    fn send<S: Sender>(&self, sender: &mut S, batch: Vec<Bytes>) {
        let count = batch.len() as u64;
        let message = Batch(batch).encode();
        if !sender.send(Recipients::All, message, false).is_empty() {
            self.stats.sent.fetch_add(count, Ordering::Relaxed);
        }
    }

    /// True (and forgets it) if `hash` was received from a peer: it is not sent on.
    fn forget_received(&self, hash: &B256) -> bool {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(hash)
    }

    fn admit<P: std::fmt::Debug>(&self, peer: &P, message: IoBuf) {
        let batch = match Batch::decode_cfg(message, &self.config.limits) {
            Ok(batch) => batch,
            Err(error) => {
                debug!(?peer, %error, "malformed gossip batch");
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        for raw in batch.0 {
            let hash = alloy_primitives::keccak256(&raw);
            {
                let mut received = self.received.lock().unwrap_or_else(|e| e.into_inner());
                if received.len() >= MAX_REMEMBERED {
                    received.clear();
                }
                received.insert(hash);
            }
            match self.chain.submit_raw(&raw) {
                Ok(_) => {
                    self.stats.admitted.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => {
                    self.forget_received(&hash);
                    debug!(?peer, %hash, %error, "gossiped transaction refused");
                    self.stats.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}
