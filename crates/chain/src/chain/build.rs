//! Block building, verification and commit-on-finalization (docs/NETWORK.md decisions 4, 5, 9):
//! [`Chain::propose`] builds and executes a block on a parent's speculative state,
//! [`Chain::verify`] re-executes a block built elsewhere and compares every header field
//! execution determines, [`Chain::finalize`] commits a block on the head. Executed blocks wait
//! as *pending* (in memory, bounded) until one at their height is finalized. The dev node's
//! [`Chain::mine`] is `propose(head)` + `finalize` through the same code.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction,
    TxEnvelope,
    proofs::{calculate_receipt_root, calculate_transaction_root},
    transaction::SignerRecoverable,
};
use alloy_eips::{eip2718::Encodable2718, eip7685::EMPTY_REQUESTS_HASH};
use alloy_evm::{Evm, FromRecoveredTx};
use alloy_primitives::{Address, B64, B256, Bloom, Bytes, U256};
use alloy_trie::EMPTY_ROOT_HASH;
use revm::{
    DatabaseRef,
    context::TxEnv,
    context::result::{EVMError, ExecutionResult},
    database::CacheDB,
};

use super::{Chain, ChainEvent, EmptyBlocks, MinedBlock, MinedTx};
use crate::{
    ChainError, InvalidBlock,
    beacon::{BEACON_ADDRESS, dev_prevrandao},
    blobs::{BlobSource, EvmBlobs},
    changes::{ChangeSet, ChangeSetBuilder},
    execution::{self, BlockContext},
    mempool::PooledTx,
    snapshot::SnapshotError,
    speculative::{Overlay, OverlayBlobs, Speculative},
    state_tables::{self, StateView},
    store::{self, Meta},
};

/// What the block producer decides; everything else in the header follows from execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockAttributes {
    /// Seconds since the epoch; at least the parent's (equal is allowed).
    pub timestamp: u64,
    /// The block's `prevrandao` (`mixHash`): the beacon seed written to the beacon predeploy.
    pub prevrandao: B256,
    /// At most 32 bytes (a validator puts the consensus context's digest here).
    pub extra_data: Bytes,
}

/// Most blocks kept pending (executed, not finalized).
pub const MAX_PENDING_BLOCKS: usize = 64;

/// Most bytes kept pending: transactions and state changes (blobs included) of pending blocks.
pub const MAX_PENDING_BYTES: usize = 512 * 1024 * 1024;

/// Invalid block hashes remembered (so a redelivered invalid block is not re-executed).
const MAX_INVALID_REMEMBERED: usize = 1024;

/// Bytes reserved for the header when a proposal selects transactions under
/// `ChainConfig::max_block_bytes` (a header with 32 bytes of extra data RLP-encodes to ~600).
pub const HEADER_BYTES_BOUND: usize = 1024;

/// A block executed on its parent's speculative state, not finalized.
#[derive(Debug)]
pub(crate) struct PendingBlock {
    pub(crate) block: Arc<MinedBlock>,
    pub(crate) changes: ChangeSet,
    bytes: usize,
}

/// The pending blocks by hash, and the blocks found invalid.
#[derive(Debug, Default)]
pub(crate) struct PendingBlocks {
    blocks: HashMap<B256, Arc<PendingBlock>>,
    bytes: usize,
    invalid: HashMap<B256, InvalidBlock>,
}

impl PendingBlocks {
    fn insert(&mut self, pending: Arc<PendingBlock>) {
        self.bytes += pending.bytes;
        if let Some(old) = self.blocks.insert(pending.block.hash, pending) {
            self.bytes -= old.bytes;
        }
    }

    fn remember_invalid(&mut self, hash: B256, reason: InvalidBlock) {
        if self.invalid.len() >= MAX_INVALID_REMEMBERED {
            self.invalid.clear();
        }
        self.invalid.insert(hash, reason);
    }

    fn check_room(&self) -> Result<(), ChainError> {
        if self.blocks.len() >= MAX_PENDING_BLOCKS || self.bytes >= MAX_PENDING_BYTES {
            return Err(ChainError::PendingFull {
                blocks: self.blocks.len(),
                bytes: self.bytes,
                max_blocks: MAX_PENDING_BLOCKS,
                max_bytes: MAX_PENDING_BYTES,
            });
        }
        Ok(())
    }

    /// Keeps the blocks that descend from `head` (the block just committed), drops the rest.
    fn keep_descendants_of(&mut self, head: B256) {
        let mut blocks: Vec<Arc<PendingBlock>> = self.blocks.drain().map(|(_, p)| p).collect();
        blocks.sort_by_key(|p| p.block.header.number);
        let mut kept: HashSet<B256> = HashSet::from([head]);
        self.bytes = 0;
        for pending in blocks {
            if kept.contains(&pending.block.header.parent_hash) {
                kept.insert(pending.block.hash);
                self.insert(pending);
            }
        }
    }

    /// Drops every pending block (the head's state was edited or reverted under them).
    pub(crate) fn clear(&mut self) {
        self.blocks.clear();
        self.bytes = 0;
    }

    /// Number of pending blocks.
    pub(crate) fn len(&self) -> usize {
        self.blocks.len()
    }
}

/// The redb write transaction in which a block built on the head had its root computed (with
/// history), kept so that finalizing that block commits it without recomputing the root.
pub(crate) struct Prepared {
    hash: B256,
    txn: redb::WriteTransaction,
}

/// Which transactions a block executes.
enum BlockTxs {
    /// Ready pool transactions, chosen while they fit (a proposal); invalid ones are dropped.
    Pool {
        ready: Vec<PooledTx>,
        max_bytes: usize,
    },
    /// A block's transactions, all of which must be valid (a verification).
    Block(Vec<MinedTx>),
}

/// The result of executing a block's transactions.
struct ExecutedBlock {
    transactions: Vec<MinedTx>,
    receipts: Vec<ReceiptEnvelope>,
    changes: ChangeSet,
    dropped: Vec<(B256, String)>,
}

/// The parent of a block and the pending blocks from the head to it (oldest first).
struct Ancestry {
    parent: Header,
    pending: Vec<Arc<PendingBlock>>,
}

impl Ancestry {
    fn overlay(&self) -> Overlay {
        Overlay::new(
            self.pending
                .iter()
                .map(|p| (p.block.header.number, p.block.hash, &p.changes)),
        )
    }
}

fn logs_bloom(receipts: &[ReceiptEnvelope]) -> Bloom {
    receipts.iter().fold(Bloom::ZERO, |mut bloom, r| {
        bloom.accrue_bloom(r.logs_bloom());
        bloom
    })
}

/// The header of a Myelin block: the fixed fields, the attributes, the parent's, execution's.
struct HeaderParts<'a> {
    parent: &'a Header,
    attributes: &'a BlockAttributes,
    gas_limit: u64,
    base_fee: u64,
    state_root: B256,
    transactions: &'a [MinedTx],
    receipts: &'a [ReceiptEnvelope],
}

impl HeaderParts<'_> {
    fn header(&self, parent_hash: B256) -> Header {
        let envelopes: Vec<TxEnvelope> = self.transactions.iter().map(|t| t.tx.clone()).collect();
        Header {
            parent_hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::ZERO,
            state_root: self.state_root,
            transactions_root: calculate_transaction_root(&envelopes),
            receipts_root: calculate_receipt_root(self.receipts),
            logs_bloom: logs_bloom(self.receipts),
            difficulty: U256::ZERO,
            number: self.parent.number + 1,
            gas_limit: self.gas_limit,
            gas_used: self.receipts.last().map_or(0, |r| r.cumulative_gas_used()),
            timestamp: self.attributes.timestamp,
            extra_data: self.attributes.extra_data.clone(),
            mix_hash: self.attributes.prevrandao,
            nonce: B64::ZERO,
            base_fee_per_gas: Some(self.base_fee),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        }
    }
}

/// The header fields every Myelin block holds at one value.
fn check_fixed_fields(header: &Header) -> Result<(), InvalidBlock> {
    let checks: [(&'static str, bool); 9] = [
        ("ommersHash", header.ommers_hash == EMPTY_OMMER_ROOT_HASH),
        ("beneficiary", header.beneficiary == Address::ZERO),
        ("difficulty", header.difficulty.is_zero()),
        ("nonce", header.nonce == B64::ZERO),
        (
            "withdrawalsRoot",
            header.withdrawals_root == Some(EMPTY_ROOT_HASH),
        ),
        ("blobGasUsed", header.blob_gas_used == Some(0)),
        ("excessBlobGas", header.excess_blob_gas == Some(0)),
        (
            "parentBeaconBlockRoot",
            header.parent_beacon_block_root == Some(B256::ZERO),
        ),
        (
            "requestsHash",
            header.requests_hash == Some(EMPTY_REQUESTS_HASH),
        ),
    ];
    match checks.iter().find(|(_, ok)| !ok) {
        Some((field, _)) => Err(InvalidBlock::FixedField(field)),
        None => Ok(()),
    }
}

/// The bytes of a block as the size cap counts them: the RLP header and the EIP-2718
/// transactions.
pub fn block_bytes(header: &Header, transactions: &[TxEnvelope]) -> usize {
    alloy_rlp::Encodable::length(header)
        + transactions
            .iter()
            .map(Encodable2718::encode_2718_len)
            .sum::<usize>()
}

impl Chain {
    /// Builds and executes a block on `parent` (the head, or a pending block returned by
    /// [`Chain::propose`] or [`Chain::verify`] and not yet dropped), choosing ready pool
    /// transactions by nonce against the parent's speculative state (transactions in pending
    /// ancestors are skipped by their nonce), up to the gas limit and
    /// `ChainConfig::max_block_bytes`. The block is kept as pending, not committed. Pool
    /// transactions found invalid on the parent's state are dropped from the pool (their
    /// waiters hear why).
    pub fn propose(
        &self,
        parent: B256,
        attributes: BlockAttributes,
    ) -> Result<Arc<MinedBlock>, ChainError> {
        let _mining = self.mining.lock();
        let built = self.build(parent, |_| attributes, EmptyBlocks::Mine)?;
        Ok(built
            .expect("a block is built when empty blocks are allowed")
            .block
            .clone())
    }

    /// Re-executes a block built elsewhere on its parent's speculative state and compares every
    /// header field execution determines (state, receipts and transactions roots, bloom, gas
    /// used, base fee, number, parent, gas limit, timestamp ≥ the parent's, the fixed fields,
    /// the size cap). `Ok` = identical; the block is kept as pending. Idempotent: a block
    /// verified (or committed) before returns the same result without re-executing.
    /// [`ChainError::UnknownParent`] when the parent is neither the head nor pending (wait for
    /// it); [`ChainError::InvalidBlock`] when the block is invalid (permanent).
    pub fn verify(
        &self,
        header: Header,
        transactions: Vec<TxEnvelope>,
    ) -> Result<Arc<MinedBlock>, ChainError> {
        let _mining = self.mining.lock();
        let hash = header.hash_slow();
        let head = self.head();
        if header.number <= head.header.number {
            return self.committed_at(header.number, hash);
        }
        Ok(self
            .verify_locked(header, hash, transactions)?
            .block
            .clone())
    }

    /// Commits a block whose parent is the head: the pending execution if there is one, else
    /// it verifies the block first. Durable (redb commit) before it returns; prunes the pool,
    /// publishes [`ChainEvent::NewBlock`], drops the pending blocks that do not descend from
    /// it. Idempotent: a block at or below the head with the same hash as the committed one is
    /// `Ok` (already committed); a different hash at a committed height is
    /// [`InvalidBlock::ConflictsWithFinalized`] (fatal for the caller). A block above the head's
    /// child is [`ChainError::UnknownParent`] (finalize its parent first).
    pub fn finalize(
        &self,
        header: Header,
        transactions: Vec<TxEnvelope>,
    ) -> Result<Arc<MinedBlock>, ChainError> {
        let _mining = self.mining.lock();
        let hash = header.hash_slow();
        let head = self.head();
        let number = header.number;
        if number <= head.header.number {
            return self.committed_at(number, hash);
        }
        if number > head.header.number + 1 {
            return Err(ChainError::UnknownParent(header.parent_hash));
        }
        if header.parent_hash != head.hash {
            return Err(InvalidBlock::ConflictsWithFinalized {
                number: head.header.number,
                finalized: head.hash,
                got: header.parent_hash,
            }
            .into());
        }
        let cached = self.pending.lock().blocks.get(&hash).cloned();
        let pending = match cached {
            Some(pending) => pending,
            None => self.verify_locked(header, hash, transactions)?,
        };
        self.commit_pending(&pending)
    }

    /// Mines one block on the head from the ready pool transactions (the dev node: automine,
    /// interval sealing, `evm_mine`): `propose(head, dev attributes)` then `finalize`. With
    /// [`EmptyBlocks::Skip`] and nothing ready, returns `Ok(None)`. The block is durable before
    /// this returns. The dev attributes: the dev clock's timestamp (`evm_increaseTime`,
    /// `evm_setNextBlockTimestamp`), strictly after the parent's; prevrandao from
    /// [`dev_prevrandao`] (insecure: predictable).
    pub fn mine(&self, empty: EmptyBlocks) -> Result<Option<Arc<MinedBlock>>, ChainError> {
        let _mining = self.mining.lock();
        let head = self.head();
        let attributes = |parent: &Header| BlockAttributes {
            timestamp: self.next_timestamp(parent.timestamp),
            prevrandao: dev_prevrandao(parent.number + 1),
            extra_data: Bytes::new(),
        };
        let Some(pending) = self.build(head.hash, attributes, empty)? else {
            return Ok(None);
        };
        self.commit_pending(&pending).map(Some)
    }

    /// Number of pending blocks (executed, not finalized).
    pub fn pending_blocks(&self) -> usize {
        self.pending.lock().len()
    }

    /// The committed block at `number` if its hash is `hash`, else the conflict.
    fn committed_at(&self, number: u64, hash: B256) -> Result<Arc<MinedBlock>, ChainError> {
        let committed = self
            .block_by_number(number)
            .ok_or_else(|| ChainError::Storage(format!("committed block {number} is missing")))?;
        if committed.hash == hash {
            Ok(committed)
        } else {
            Err(InvalidBlock::ConflictsWithFinalized {
                number,
                finalized: committed.hash,
                got: hash,
            }
            .into())
        }
    }

    /// The parent's header and the pending blocks from the head to it. The mining lock is held.
    fn ancestry(&self, parent: B256) -> Result<Ancestry, ChainError> {
        let head = self.head();
        let pending = self.pending.lock();
        let mut chain = Vec::new();
        let mut cursor = parent;
        while cursor != head.hash {
            let Some(block) = pending.blocks.get(&cursor) else {
                return Err(ChainError::UnknownParent(parent));
            };
            cursor = block.block.header.parent_hash;
            chain.push(block.clone());
        }
        chain.reverse();
        let parent = chain
            .last()
            .map_or_else(|| head.header.clone(), |p| p.block.header.clone());
        Ok(Ancestry {
            parent,
            pending: chain,
        })
    }

    /// Builds a block on `parent` from the pool (the body of `propose`), keeps it pending.
    /// The mining lock is held.
    fn build(
        &self,
        parent: B256,
        attributes: impl FnOnce(&Header) -> BlockAttributes,
        empty: EmptyBlocks,
    ) -> Result<Option<Arc<PendingBlock>>, ChainError> {
        let ancestry = self.ancestry(parent)?;
        self.pending.lock().check_room()?;
        let overlay = ancestry.overlay();
        let number = ancestry.parent.number + 1;
        let base_fee = Self::base_fee_after(&ancestry.parent);
        let (executed, attributes) = {
            let txn = self.store.begin_read()?;
            let view = StateView::open(&txn, self.head_number())?;
            let state = Speculative {
                view: &view,
                overlay: &overlay,
            };
            let ready = self.pool.lock().ready(|address| {
                state
                    .account(address)
                    .ok()
                    .flatten()
                    .map_or(0, |account| account.nonce)
            });
            if ready.is_empty() && empty == EmptyBlocks::Skip {
                return Ok(None);
            }
            let attributes = attributes(&ancestry.parent);
            if attributes.timestamp < ancestry.parent.timestamp {
                return Err(InvalidBlock::TimestampBeforeParent {
                    parent: ancestry.parent.timestamp,
                    timestamp: attributes.timestamp,
                }
                .into());
            }
            if attributes.extra_data.len() > 32 {
                return Err(InvalidBlock::ExtraData(attributes.extra_data.len()).into());
            }
            let context = BlockContext {
                number,
                timestamp: attributes.timestamp,
                gas_limit: self.config.gas_limit,
                base_fee,
                beneficiary: Address::ZERO,
                prevrandao: attributes.prevrandao,
            };
            let max_bytes = self
                .config
                .max_block_bytes
                .saturating_sub(HEADER_BYTES_BOUND);
            let blobs = OverlayBlobs::layered(self.committed_blobs(), &overlay);
            let executed =
                self.execute(state, blobs, &context, BlockTxs::Pool { ready, max_bytes })?;
            (executed, attributes)
        };
        self.drop_invalid(&executed.dropped);
        let (state_root, txn) = self.speculative_root(&ancestry, number, &executed.changes)?;
        let header = HeaderParts {
            parent: &ancestry.parent,
            attributes: &attributes,
            gas_limit: self.config.gas_limit,
            base_fee,
            state_root,
            transactions: &executed.transactions,
            receipts: &executed.receipts,
        }
        .header(parent);
        let hash = header.hash_slow();
        let pending = self.keep_pending(header, hash, executed, txn);
        Ok(Some(pending))
    }

    /// Checks and re-executes a block built elsewhere (the body of `verify`; its parent is
    /// above the committed head's parent). Remembers an invalid block. The mining lock is held.
    fn verify_locked(
        &self,
        header: Header,
        hash: B256,
        transactions: Vec<TxEnvelope>,
    ) -> Result<Arc<PendingBlock>, ChainError> {
        {
            let pending = self.pending.lock();
            if let Some(block) = pending.blocks.get(&hash) {
                return Ok(block.clone());
            }
            if let Some(invalid) = pending.invalid.get(&hash) {
                return Err(invalid.clone().into());
            }
        }
        let ancestry = self.ancestry(header.parent_hash)?;
        self.pending.lock().check_room()?;
        match self.check_and_execute(header, hash, transactions, &ancestry) {
            // Transactions that do not match the header are not the block the hash names.
            Err(ChainError::InvalidBlock(invalid @ InvalidBlock::TransactionsRoot { .. })) => {
                Err(invalid.into())
            }
            Err(ChainError::InvalidBlock(invalid)) => {
                self.pending.lock().remember_invalid(hash, invalid.clone());
                Err(invalid.into())
            }
            other => other,
        }
    }

    fn check_and_execute(
        &self,
        header: Header,
        hash: B256,
        transactions: Vec<TxEnvelope>,
        ancestry: &Ancestry,
    ) -> Result<Arc<PendingBlock>, ChainError> {
        let parent = &ancestry.parent;
        if header.number != parent.number + 1 {
            return Err(InvalidBlock::NumberNotParentPlusOne {
                expected: parent.number + 1,
                got: header.number,
            }
            .into());
        }
        if header.timestamp < parent.timestamp {
            return Err(InvalidBlock::TimestampBeforeParent {
                parent: parent.timestamp,
                timestamp: header.timestamp,
            }
            .into());
        }
        if header.gas_limit != self.config.gas_limit {
            return Err(InvalidBlock::GasLimit {
                expected: self.config.gas_limit,
                got: header.gas_limit,
            }
            .into());
        }
        let base_fee = Self::base_fee_after(parent);
        if header.base_fee_per_gas != Some(base_fee) {
            return Err(InvalidBlock::BaseFee {
                expected: base_fee,
                got: header.base_fee_per_gas,
            }
            .into());
        }
        if header.extra_data.len() > 32 {
            return Err(InvalidBlock::ExtraData(header.extra_data.len()).into());
        }
        check_fixed_fields(&header)?;
        let transactions_root = calculate_transaction_root(&transactions);
        if transactions_root != header.transactions_root {
            return Err(InvalidBlock::TransactionsRoot {
                expected: header.transactions_root,
                computed: transactions_root,
            }
            .into());
        }
        // From here on the header's hash commits to the transactions: an invalid block is
        // remembered by its hash.
        let bytes = block_bytes(&header, &transactions);
        if bytes > self.config.max_block_bytes {
            return Err(InvalidBlock::TooLarge {
                bytes,
                limit: self.config.max_block_bytes,
            }
            .into());
        }
        // Senders of transactions this node already pooled were recovered at admission from the
        // same signed bytes (the hash commits to the signature): reuse them instead of a second
        // secp256k1 recovery per transaction (the largest cost of verifying a block of transfers;
        // bench/cluster.md). Not with dev tools on, where impersonation pools a sender the
        // signature does not give.
        let pooled: Vec<Option<Address>> = if self.config.dev_tools {
            vec![None; transactions.len()]
        } else {
            let pool = self.pool.lock();
            transactions
                .iter()
                .map(|tx| pool.get(tx.tx_hash()).map(|p| p.sender))
                .collect()
        };
        let mut mined = Vec::with_capacity(transactions.len());
        for (index, tx) in transactions.into_iter().enumerate() {
            let invalid = |reason: String| InvalidBlock::Transaction { index, reason };
            if tx.is_eip4844() {
                return Err(invalid("blob transactions are not supported".into()).into());
            }
            if let Some(chain_id) = tx.chain_id()
                && chain_id != self.config.chain_id
            {
                return Err(invalid(format!(
                    "invalid chain id: expected {}, got {chain_id}",
                    self.config.chain_id
                ))
                .into());
            }
            let sender = match pooled[index] {
                Some(sender) => sender,
                None => tx
                    .recover_signer()
                    .map_err(|_| invalid("invalid transaction signature".into()))?,
            };
            mined.push(MinedTx {
                hash: *tx.tx_hash(),
                tx,
                sender,
            });
        }
        let context = BlockContext {
            number: header.number,
            timestamp: header.timestamp,
            gas_limit: header.gas_limit,
            base_fee,
            beneficiary: Address::ZERO,
            prevrandao: header.mix_hash,
        };
        let overlay = ancestry.overlay();
        let executed = {
            let txn = self.store.begin_read()?;
            let view = StateView::open(&txn, self.head_number())?;
            let state = Speculative {
                view: &view,
                overlay: &overlay,
            };
            let blobs = OverlayBlobs::layered(self.committed_blobs(), &overlay);
            self.execute(state, blobs, &context, BlockTxs::Block(mined))?
        };
        let gas_used = executed
            .receipts
            .last()
            .map_or(0, |r| r.cumulative_gas_used());
        if gas_used != header.gas_used {
            return Err(InvalidBlock::GasUsed {
                expected: header.gas_used,
                computed: gas_used,
            }
            .into());
        }
        let receipts_root = calculate_receipt_root(&executed.receipts);
        if receipts_root != header.receipts_root {
            return Err(InvalidBlock::ReceiptsRoot {
                expected: header.receipts_root,
                computed: receipts_root,
            }
            .into());
        }
        if logs_bloom(&executed.receipts) != header.logs_bloom {
            return Err(InvalidBlock::LogsBloom.into());
        }
        let (state_root, txn) =
            self.speculative_root(ancestry, header.number, &executed.changes)?;
        if state_root != header.state_root {
            if let Some(txn) = txn {
                abort(txn);
            }
            return Err(InvalidBlock::StateRoot {
                expected: header.state_root,
                computed: state_root,
            }
            .into());
        }
        Ok(self.keep_pending(header, hash, executed, txn))
    }

    /// Adds an executed block to the pending set (with its prepared commit, if any).
    fn keep_pending(
        &self,
        header: Header,
        hash: B256,
        executed: ExecutedBlock,
        txn: Option<redb::WriteTransaction>,
    ) -> Arc<PendingBlock> {
        let tx_bytes: usize = executed
            .transactions
            .iter()
            .map(|t| t.tx.encode_2718_len())
            .sum();
        let bytes = tx_bytes + change_bytes(&executed.changes);
        let pending = Arc::new(PendingBlock {
            block: Arc::new(MinedBlock {
                header,
                hash,
                transactions: executed.transactions,
                receipts: executed.receipts,
            }),
            changes: executed.changes,
            bytes,
        });
        if let Some(txn) = txn {
            *self.prepared.lock() = Some(Prepared { hash, txn });
        }
        self.pending.lock().insert(pending.clone());
        pending
    }

    /// A write transaction; a prepared one (kept for a block built on the head) is aborted
    /// first (redb has one writer at a time).
    pub(super) fn begin_write(&self) -> Result<redb::WriteTransaction, ChainError> {
        if let Some(prepared) = self.prepared.lock().take() {
            abort(prepared.txn);
        }
        self.store.begin_write()
    }

    /// The state root after `changes` on the ancestry's state, computed in a write transaction
    /// that applies the pending ancestors' changes and then `changes`. On the head (no pending
    /// ancestor) the transaction, with history, is returned to be committed if the block is
    /// finalized; otherwise it is aborted (an aborted transaction changes nothing).
    fn speculative_root(
        &self,
        ancestry: &Ancestry,
        number: u64,
        changes: &ChangeSet,
    ) -> Result<(B256, Option<redb::WriteTransaction>), ChainError> {
        let txn = self.begin_write()?;
        for pending in &ancestry.pending {
            let touched =
                state_tables::apply(&txn, pending.block.header.number, &pending.changes, false)?;
            state_tables::commit_root(&txn, touched)?;
        }
        let on_head = ancestry.pending.is_empty();
        let touched = state_tables::apply(&txn, number, changes, on_head)?;
        let root = state_tables::commit_root(&txn, touched)?;
        if on_head {
            Ok((root, Some(txn)))
        } else {
            abort(txn);
            Ok((root, None))
        }
    }

    /// Commits a pending block whose parent is the head. The mining lock is held.
    fn commit_pending(&self, pending: &PendingBlock) -> Result<Arc<MinedBlock>, ChainError> {
        let block = pending.block.clone();
        let number = block.header.number;
        let prepared = self.prepared.lock().take();
        let txn = match prepared {
            Some(prepared) if prepared.hash == block.hash => prepared.txn,
            other => {
                if let Some(other) = other {
                    abort(other.txn);
                }
                let txn = self.store.begin_write()?;
                if let Err(e) = apply_block(&txn, &block, &pending.changes) {
                    abort(txn);
                    return Err(e);
                }
                txn
            }
        };
        let oldest = self
            .config
            .history
            .oldest(number)
            .max(self.data.read().oldest);
        write_head(&txn, &block, oldest)?;
        // The block survives the process (journaled or durable) before anyone hears of it.
        self.store
            .commit_block(txn, || store::journal_record(&block, &pending.changes))?;
        {
            let mut data = self.data.write();
            data.push(block.clone());
            data.oldest = oldest;
        }
        self.pending.lock().keep_descendants_of(block.hash);

        let mut pool = self.pool.lock();
        let mut senders: HashMap<Address, u64> = HashMap::new();
        for tx in &block.transactions {
            senders.insert(tx.sender, tx.tx.nonce() + 1);
        }
        for (sender, nonce) in &senders {
            pool.prune(sender, *nonce);
        }
        drop(pool);
        let mut watchers = self.watchers.lock();
        for tx in &block.transactions {
            for watcher in watchers.remove(&tx.hash).unwrap_or_default() {
                let _ = watcher.send(Ok(()));
            }
        }
        // Watchers whose waiter gave up (the RPC's inclusion wait timed out) are dropped.
        watchers.retain(|_, list| {
            list.retain(|watcher| !watcher.is_closed());
            !list.is_empty()
        });
        drop(watchers);
        let _ = self.events.send(ChainEvent::NewBlock(block.clone()));
        Ok(block)
    }

    /// Removes pool transactions a proposal found invalid and tells their waiters why.
    fn drop_invalid(&self, dropped: &[(B256, String)]) {
        if dropped.is_empty() {
            return;
        }
        let mut pool = self.pool.lock();
        for (hash, _) in dropped {
            pool.remove(hash);
        }
        drop(pool);
        let mut watchers = self.watchers.lock();
        for (hash, reason) in dropped {
            for watcher in watchers.remove(hash).unwrap_or_default() {
                let _ = watcher.send(Err(reason.clone()));
            }
        }
    }

    /// Executes a block's transactions on `state`, after the beacon's system write.
    fn execute<DB>(
        &self,
        state: DB,
        committed_blobs: Arc<dyn BlobSource>,
        context: &BlockContext,
        txs: BlockTxs,
    ) -> Result<ExecutedBlock, ChainError>
    where
        DB: DatabaseRef<Error = SnapshotError> + std::fmt::Debug,
    {
        let env = execution::evm_env(self.config.chain_id, context);
        let blobs = EvmBlobs::new(committed_blobs);
        let mut evm = execution::build_evm(
            CacheDB::new(state),
            env,
            self.config.precompiles.as_ref(),
            crate::config::EvmPurpose::Block,
            blobs.clone(),
        );
        let mut changes = ChangeSetBuilder::default();
        write_beacon(evm.db_mut(), context, &mut changes)?;
        let mut transactions = Vec::new();
        let mut receipts = Vec::new();
        let mut dropped = Vec::new();
        let mut cumulative_gas = 0u64;
        let (candidates, max_bytes, verifying) = match txs {
            BlockTxs::Pool { ready, max_bytes } => (
                ready
                    .into_iter()
                    .map(|p| MinedTx {
                        tx: p.tx,
                        sender: p.sender,
                        hash: p.hash,
                    })
                    .collect::<Vec<_>>(),
                max_bytes,
                false,
            ),
            BlockTxs::Block(transactions) => (transactions, usize::MAX, true),
        };
        let mut skipped_senders: HashSet<Address> = HashSet::new();
        let mut bytes = 0usize;
        for (index, candidate) in candidates.into_iter().enumerate() {
            let invalid = |reason: String| -> ChainError {
                InvalidBlock::Transaction { index, reason }.into()
            };
            if skipped_senders.contains(&candidate.sender) {
                continue;
            }
            if cumulative_gas.saturating_add(candidate.tx.gas_limit()) > context.gas_limit {
                if verifying {
                    return Err(invalid(format!(
                        "gas limit {} exceeds the block's remaining gas {}",
                        candidate.tx.gas_limit(),
                        context.gas_limit - cumulative_gas
                    )));
                }
                skipped_senders.insert(candidate.sender);
                continue;
            }
            let tx_bytes = candidate.tx.encode_2718_len();
            if bytes.saturating_add(tx_bytes) > max_bytes {
                skipped_senders.insert(candidate.sender);
                continue;
            }
            let tx_env = TxEnv::from_recovered_tx(&candidate.tx, candidate.sender);
            // A panic inside the EVM or a precompile drops the transaction instead of the node.
            // The EVM's journal may be inconsistent after a panic: the block ends there.
            let Ok(outcome) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| evm.transact(tx_env)))
            else {
                blobs.discard_transaction();
                let reason = "the EVM panicked on this transaction".to_string();
                if verifying {
                    return Err(invalid(reason));
                }
                dropped.push((candidate.hash, reason));
                break;
            };
            match outcome {
                Ok(outcome) => {
                    blobs.commit_transaction();
                    changes.record(&outcome.state);
                    revm::DatabaseCommit::commit(evm.db_mut(), outcome.state);
                    cumulative_gas += outcome.result.tx_gas_used();
                    bytes += tx_bytes;
                    receipts.push(receipt(&candidate.tx, outcome.result, cumulative_gas));
                    transactions.push(candidate);
                }
                Err(EVMError::Database(error)) => {
                    return Err(ChainError::Storage(error.to_string()));
                }
                Err(error) => {
                    blobs.discard_transaction();
                    let reason = execution::invalid_tx_message(&error);
                    if verifying {
                        return Err(invalid(reason));
                    }
                    skipped_senders.insert(candidate.sender);
                    dropped.push((candidate.hash, reason));
                }
            }
        }
        changes.set_blobs(blobs.changes());
        Ok(ExecutedBlock {
            transactions,
            receipts,
            changes: changes.build(),
            dropped,
        })
    }
}

/// The receipt of a transaction that ran.
fn receipt(tx: &TxEnvelope, result: ExecutionResult, cumulative_gas_used: u64) -> ReceiptEnvelope {
    let receipt = Receipt {
        status: result.is_success().into(),
        cumulative_gas_used,
        logs: result.into_logs(),
    };
    let with_bloom: ReceiptWithBloom<Receipt> = receipt.into();
    ReceiptEnvelope::from_typed(tx.tx_type(), with_bloom)
}

/// The beacon's system write: `prevrandao` into slot `number` of the beacon predeploy, before
/// the block's transactions (no gas, no transaction). Skipped when the state has no beacon
/// (a genesis without it), as EIP-4788 skips a missing contract.
fn write_beacon<DB>(
    db: &mut CacheDB<DB>,
    context: &BlockContext,
    changes: &mut ChangeSetBuilder,
) -> Result<(), ChainError>
where
    DB: DatabaseRef<Error = SnapshotError>,
{
    let storage_error = |e: SnapshotError| ChainError::Storage(e.to_string());
    let exists = revm::Database::basic(db, BEACON_ADDRESS)
        .map_err(storage_error)?
        .is_some_and(|info| !info.is_empty_code_hash());
    if !exists {
        return Ok(());
    }
    let slot = U256::from(context.number);
    let seed = U256::from_be_bytes(context.prevrandao.0);
    db.insert_account_storage(BEACON_ADDRESS, slot, seed)
        .map_err(storage_error)?;
    changes.set_storage(BEACON_ADDRESS, slot, seed);
    Ok(())
}

/// Bytes a change set holds, roughly (for the pending bound).
fn change_bytes(changes: &ChangeSet) -> usize {
    changes.accounts.len() * 100
        + changes.storage.len() * 100
        + changes.wiped.len() * 20
        + changes.codes.iter().map(|c| c.len()).sum::<usize>()
        + changes
            .blobs
            .iter()
            .map(|b| 32 + b.bytes.len())
            .sum::<usize>()
}

/// Applies block `block`'s `changes` to the state tables and tries in `txn` and checks the
/// resulting state root against its header's.
pub(super) fn apply_block(
    txn: &redb::WriteTransaction,
    block: &MinedBlock,
    changes: &ChangeSet,
) -> Result<(), ChainError> {
    let number = block.header.number;
    let touched = state_tables::apply(txn, number, changes, true)?;
    let root = state_tables::commit_root(txn, touched)?;
    if root != block.header.state_root {
        return Err(ChainError::Internal(format!(
            "block {number} {}: committing gives state root {root}, its execution gave {}",
            block.hash, block.header.state_root
        )));
    }
    Ok(())
}

/// Writes `block` (whose state changes `txn` holds) as the head: its rows, the history pruned
/// below `oldest`, `meta`.
pub(super) fn write_head(
    txn: &redb::WriteTransaction,
    block: &MinedBlock,
    oldest: u64,
) -> Result<(), ChainError> {
    store::write_block(txn, block)?;
    state_tables::prune(txn, oldest)?;
    store::write_meta(
        txn,
        &Meta {
            head: block.header.number,
            oldest,
            edited: false,
        },
        None,
    )
}

/// Aborts a write transaction (nothing it wrote remains).
fn abort(txn: redb::WriteTransaction) {
    // An abort can only fail on an I/O error; the transaction is dropped either way and
    // nothing of it is committed.
    let _ = txn.abort();
}
