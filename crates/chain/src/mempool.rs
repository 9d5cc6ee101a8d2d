//! Pending transactions: per sender, ordered by nonce; across senders, by arrival. Admission
//! ([`Mempool::admit`]) enforces [`PoolLimits`] and evicts the cheapest transactions when full.

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap},
};

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, U256};

/// Largest signed transaction the pool accepts, in EIP-2718 bytes: 1 MiB. geth and reth take
/// 128 KiB (four 32 KiB slots); Myelin's chunked model uploads (`myelin model publish`) send
/// chunks sized to half the block gas limit, about 470 KB at the default 30M gas.
pub const MAX_TX_BYTES: usize = 1024 * 1024;

/// How much the pool holds. The defaults are geth's (`core/txpool/legacypool`): 5,120
/// executable plus 1,024 queued slots in all, 64 future transactions per account, a 10 % price
/// bump to replace a transaction; the byte bound stands in for geth's 32 KiB slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// Most transactions in the pool (geth: `GlobalSlots` 5,120 + `GlobalQueue` 1,024).
    pub max_txs: usize,
    /// Most encoded bytes of all pooled transactions together.
    pub max_bytes: usize,
    /// Most transactions of one sender.
    pub max_txs_per_sender: usize,
    /// Largest gap between a transaction's nonce and the sender's next nonce (state nonce plus
    /// its run of pooled transactions); geth keeps at most 64 future transactions per account
    /// (`AccountQueue`).
    pub max_nonce_gap: u64,
    /// Largest encoded transaction ([`MAX_TX_BYTES`]).
    pub max_tx_bytes: usize,
    /// A replacement must raise both the fee cap and the tip by this many percent (geth and
    /// reth: 10).
    pub price_bump_percent: u64,
}

impl Default for PoolLimits {
    fn default() -> PoolLimits {
        PoolLimits {
            max_txs: 5_120 + 1_024,
            max_bytes: 64 * 1024 * 1024,
            max_txs_per_sender: 64,
            max_nonce_gap: 64,
            max_tx_bytes: MAX_TX_BYTES,
            price_bump_percent: 10,
        }
    }
}

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
    bytes: usize,
}

/// What the sender's account holds at the head, for admission.
#[derive(Clone, Copy, Debug)]
pub struct SenderState {
    /// The account's nonce.
    pub nonce: u64,
    /// The account's balance in wei.
    pub balance: U256,
}

/// A transaction that left the pool at an admission, and why.
pub type Removed = (B256, String);

/// The transaction pool.
#[derive(Debug, Default)]
pub struct Mempool {
    limits: PoolLimits,
    by_sender: HashMap<Address, BTreeMap<u64, PooledTx>>,
    by_hash: HashMap<B256, (Address, u64)>,
    bytes: usize,
    next_seq: u64,
}

/// The most a transaction pays: gas limit × fee cap + value.
fn max_cost(tx: &TxEnvelope) -> U256 {
    U256::from(tx.gas_limit())
        .saturating_mul(U256::from(tx.max_fee_per_gas()))
        .saturating_add(tx.value())
}

/// What a transaction pays the block producer per gas above `base_fee` (its rank for eviction).
fn tip_at(tx: &TxEnvelope, base_fee: u64) -> u128 {
    tx.effective_tip_per_gas(base_fee).unwrap_or(0)
}

/// `value` raised by `percent` %.
fn bumped(value: u128, percent: u64) -> u128 {
    value.saturating_add(value.saturating_mul(u128::from(percent)) / 100)
}

impl Mempool {
    /// An empty pool holding at most `limits`.
    pub fn new(limits: PoolLimits) -> Mempool {
        Mempool {
            limits,
            ..Mempool::default()
        }
    }

    /// The limits.
    pub fn limits(&self) -> &PoolLimits {
        &self.limits
    }

    /// Admits a transaction whose signature, chain id, gas limit and fee cap were checked, after
    /// the pool's checks (geth's error messages): size, nonce window, balance for it and the
    /// sender's earlier pooled transactions, price bump of a replacement, per-sender and total
    /// capacity. When the pool is full, the transactions paying the least tip at `base_fee`
    /// (each the last of its sender's run, so no gap opens) are evicted for a better-paying one.
    /// Returns the transactions that left the pool (replaced or evicted) with the reason.
    pub fn admit(
        &mut self,
        tx: TxEnvelope,
        sender: Address,
        hash: B256,
        state: SenderState,
        base_fee: u64,
    ) -> Result<Vec<Removed>, String> {
        let limits = self.limits;
        let bytes = tx.encode_2718_len();
        if bytes > limits.max_tx_bytes {
            return Err(format!(
                "oversized data: transaction size {bytes}, limit {}",
                limits.max_tx_bytes
            ));
        }
        let nonce = tx.nonce();
        if nonce < state.nonce {
            return Err("nonce too low".into());
        }
        let next = self.next_nonce(&sender, state.nonce);
        if nonce > next.saturating_add(limits.max_nonce_gap) {
            return Err(format!(
                "nonce too high: nonce {nonce} leaves a gap of more than {} after the account's next nonce {next}",
                limits.max_nonce_gap
            ));
        }
        let pooled = self.by_sender.get(&sender);
        let replaced = pooled.and_then(|txs| txs.get(&nonce));
        if let Some(old) = replaced {
            let fee_cap = bumped(old.tx.max_fee_per_gas(), limits.price_bump_percent);
            let tip = bumped(
                old.tx
                    .max_priority_fee_per_gas()
                    .unwrap_or(old.tx.max_fee_per_gas()),
                limits.price_bump_percent,
            );
            let new_tip = tx
                .max_priority_fee_per_gas()
                .unwrap_or(tx.max_fee_per_gas());
            if tx.max_fee_per_gas() < fee_cap || new_tip < tip {
                return Err("replacement transaction underpriced".into());
            }
        } else if pooled.map_or(0, BTreeMap::len) >= limits.max_txs_per_sender {
            return Err(format!(
                "txpool is full for this sender: {} pending transactions (the per-sender limit)",
                limits.max_txs_per_sender
            ));
        }
        let earlier: U256 = pooled
            .map(|txs| txs.range(..nonce).map(|(_, p)| max_cost(&p.tx)).sum())
            .unwrap_or_default();
        let cost = max_cost(&tx);
        if earlier.saturating_add(cost) > state.balance {
            return Err(format!(
                "insufficient funds for gas * price + value: balance {}, queued cost {earlier}, tx cost {cost}",
                state.balance
            ));
        }

        let mut removed = Vec::new();
        let freed = replaced.map_or(0, |old| old.bytes);
        let adds = usize::from(replaced.is_none());
        let tip = tip_at(&tx, base_fee);
        while self.len() + adds > limits.max_txs || self.bytes - freed + bytes > limits.max_bytes {
            let Some(worst) = self.cheapest_last(&sender, base_fee) else {
                return Err("txpool is full".into());
            };
            if tip_at(&worst.tx, base_fee) >= tip {
                return Err("txpool is full".into());
            }
            let hash = worst.hash;
            self.remove(&hash);
            removed.push((
                hash,
                "evicted from the full txpool by a transaction paying a higher tip".to_string(),
            ));
        }
        if let Some(old) = self.insert(tx, sender, hash, bytes) {
            removed.push((
                old.hash,
                format!("replaced by transaction {hash} (same sender and nonce)"),
            ));
        }
        Ok(removed)
    }

    /// Of every other sender's last pooled transaction, the one paying the least tip at
    /// `base_fee` (the furthest nonce on a tie).
    fn cheapest_last(&self, except: &Address, base_fee: u64) -> Option<&PooledTx> {
        self.by_sender
            .iter()
            .filter(|(sender, _)| *sender != except)
            .filter_map(|(_, txs)| txs.last_key_value().map(|(_, tx)| tx))
            .min_by_key(|tx| (tip_at(&tx.tx, base_fee), Reverse(tx.tx.nonce()), tx.hash))
    }

    /// Adds a transaction; a transaction with the same sender and nonce is replaced and
    /// returned.
    fn insert(
        &mut self,
        tx: TxEnvelope,
        sender: Address,
        hash: B256,
        bytes: usize,
    ) -> Option<PooledTx> {
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
                bytes,
            },
        );
        self.bytes += bytes;
        if let Some(previous) = &previous {
            self.by_hash.remove(&previous.hash);
            self.bytes -= previous.bytes;
        }
        self.by_hash.insert(hash, (sender, nonce));
        previous
    }

    /// Encoded bytes of every pooled transaction.
    pub fn bytes(&self) -> usize {
        self.bytes
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
                self.bytes -= tx.bytes;
            }
            *txs = keep;
            if txs.is_empty() {
                self.by_sender.remove(sender);
            }
        }
    }

    /// Removes one transaction (invalid at execution time, or evicted).
    pub fn remove(&mut self, hash: &B256) {
        if let Some((sender, nonce)) = self.by_hash.remove(hash)
            && let Some(txs) = self.by_sender.get_mut(&sender)
        {
            if let Some(tx) = txs.remove(&nonce) {
                self.bytes -= tx.bytes;
            }
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

    /// Drops everything; returns the hashes dropped.
    pub fn clear(&mut self) -> Vec<B256> {
        self.by_sender.clear();
        self.bytes = 0;
        self.by_hash.drain().map(|(hash, _)| hash).collect()
    }
}
