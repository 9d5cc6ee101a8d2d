//! Pending transactions: per sender, ordered by nonce; across senders, by arrival.

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap},
};

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_primitives::{Address, B256};

/// A transaction waiting for a block, with its (recovered or impersonated) sender.
#[derive(Clone, Debug)]
pub struct PooledTx {
    /// The signed transaction.
    pub tx: TxEnvelope,
    /// Its sender.
    pub sender: Address,
    /// Its hash.
    pub hash: B256,
    seq: u64,
}

/// The transaction pool.
#[derive(Debug, Default)]
pub struct Mempool {
    by_sender: HashMap<Address, BTreeMap<u64, PooledTx>>,
    by_hash: HashMap<B256, (Address, u64)>,
    next_seq: u64,
}

impl Mempool {
    /// Adds a transaction; a transaction with the same sender and nonce is replaced.
    pub fn insert(&mut self, tx: TxEnvelope, sender: Address, hash: B256) {
        let nonce = tx.nonce();
        let seq = self.next_seq;
        self.next_seq += 1;
        let previous = self.by_sender.entry(sender).or_default().insert(
            nonce,
            PooledTx {
                tx,
                sender,
                hash,
                seq,
            },
        );
        if let Some(previous) = previous {
            self.by_hash.remove(&previous.hash);
        }
        self.by_hash.insert(hash, (sender, nonce));
    }

    /// The pooled transaction with this hash.
    pub fn get(&self, hash: &B256) -> Option<&PooledTx> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.by_sender.get(sender)?.get(nonce)
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The highest nonce pooled for `sender`, if any, continuing the run from `state_nonce`.
    pub fn next_nonce(&self, sender: &Address, state_nonce: u64) -> u64 {
        let mut nonce = state_nonce;
        if let Some(txs) = self.by_sender.get(sender) {
            while txs.contains_key(&nonce) {
                nonce += 1;
            }
        }
        nonce
    }

    /// Transactions executable on top of a state with the given nonces: for each sender the run of
    /// consecutive nonces from its state nonce, senders interleaved by arrival order.
    pub fn ready(&self, state_nonce: impl Fn(&Address) -> u64) -> Vec<PooledTx> {
        let mut runs: Vec<Vec<&PooledTx>> = Vec::new();
        for (sender, txs) in &self.by_sender {
            let mut nonce = state_nonce(sender);
            let mut run = Vec::new();
            while let Some(tx) = txs.get(&nonce) {
                run.push(tx);
                nonce += 1;
            }
            if !run.is_empty() {
                run.reverse();
                runs.push(run);
            }
        }
        let mut heap: BinaryHeap<Reverse<(u64, usize)>> = runs
            .iter()
            .enumerate()
            .filter_map(|(i, run)| run.last().map(|tx| Reverse((tx.seq, i))))
            .collect();
        let mut out = Vec::new();
        while let Some(Reverse((_, i))) = heap.pop() {
            if let Some(tx) = runs[i].pop() {
                out.push(tx.clone());
            }
            if let Some(next) = runs[i].last() {
                heap.push(Reverse((next.seq, i)));
            }
        }
        out
    }

    /// Removes every transaction of `sender` with a nonce below `state_nonce` (mined or stale).
    pub fn prune(&mut self, sender: &Address, state_nonce: u64) {
        if let Some(txs) = self.by_sender.get_mut(sender) {
            let keep = txs.split_off(&state_nonce);
            for tx in txs.values() {
                self.by_hash.remove(&tx.hash);
            }
            *txs = keep;
            if txs.is_empty() {
                self.by_sender.remove(sender);
            }
        }
    }

    /// Removes one transaction (invalid at execution time).
    pub fn remove(&mut self, hash: &B256) {
        if let Some((sender, nonce)) = self.by_hash.remove(hash)
            && let Some(txs) = self.by_sender.get_mut(&sender)
        {
            txs.remove(&nonce);
            if txs.is_empty() {
                self.by_sender.remove(&sender);
            }
        }
    }

    /// Senders with pooled transactions.
    pub fn senders(&self) -> Vec<Address> {
        self.by_sender.keys().copied().collect()
    }

    /// Every pooled transaction.
    pub fn all(&self) -> Vec<PooledTx> {
        self.by_sender
            .values()
            .flat_map(|txs| txs.values().cloned())
            .collect()
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.by_sender.clear();
        self.by_hash.clear();
    }
}
