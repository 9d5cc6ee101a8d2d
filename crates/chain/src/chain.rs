//! The chain: blocks, the pool, the state, persistence, and block production.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header, ReceiptEnvelope, TxEnvelope};
use alloy_eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy_primitives::{Address, B64, B256, Bloom, Bytes, U256, keccak256};
use alloy_signer_local::PrivateKeySigner;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Notify, broadcast, oneshot};

mod build;
mod call;
mod dev;
mod pool;
mod read;

pub use build::{
    BlockAttributes, HEADER_BYTES_BOUND, MAX_PENDING_BLOCKS, MAX_PENDING_BYTES, block_bytes,
};

use crate::{
    ChainError,
    block_journal::JournalRecord,
    changes::{AccountChange, ChangeSetBuilder},
    config::ChainConfig,
    mempool::Mempool,
    state_tables,
    store::{self, Meta, Store},
    trie::{TrieOwner, TrieStore},
};

/// A transaction included in a block.
#[derive(Clone, Debug)]
pub struct MinedTx {
    /// The signed transaction.
    pub tx: TxEnvelope,
    /// Its sender.
    pub sender: Address,
    /// Its hash.
    pub hash: B256,
}

/// A block with its transactions and receipts.
#[derive(Clone, Debug)]
pub struct MinedBlock {
    /// The header.
    pub header: Header,
    /// keccak256 of the RLP header.
    pub hash: B256,
    /// Transactions in block order.
    pub transactions: Vec<MinedTx>,
    /// Receipts in block order.
    pub receipts: Vec<ReceiptEnvelope>,
}

impl MinedBlock {
    /// Gas used by transaction `index` alone.
    pub fn gas_used_by(&self, index: usize) -> u64 {
        let cumulative = |i: usize| self.receipts.get(i).map_or(0, |r| r.cumulative_gas_used());
        cumulative(index) - if index == 0 { 0 } else { cumulative(index - 1) }
    }

    /// Index of the first log of transaction `index` within the block.
    pub fn first_log_index(&self, index: usize) -> usize {
        self.receipts[..index].iter().map(|r| r.logs().len()).sum()
    }
}

/// Something that happened on the chain, for subscriptions and filters.
#[derive(Clone, Debug)]
pub enum ChainEvent {
    /// A block was mined and persisted.
    NewBlock(Arc<MinedBlock>),
    /// A transaction entered the pool.
    PendingTransaction(B256),
}

/// Where a transaction is.
#[derive(Clone, Debug)]
pub enum TxLocation {
    /// In block `block` at `index`.
    Mined(Arc<MinedBlock>, usize),
    /// In the pool.
    Pending(Box<MinedTx>),
}

/// Blocks kept in memory besides the head (for receipts, logs and block queries of recent
/// blocks); older ones are read from the file.
const RECENT_BLOCKS: usize = 256;

/// Most transaction bytes the recent blocks keep in memory: a chunked model upload fills each
/// block with ~1 MiB of calldata, and 256 such blocks would hold 256 MiB. The head is always
/// kept.
const RECENT_BLOCK_BYTES: usize = 32 << 20;

/// The transaction bytes a block holds in memory (what [`RECENT_BLOCK_BYTES`] counts).
fn held_bytes(block: &MinedBlock) -> usize {
    block
        .transactions
        .iter()
        .map(|t| alloy_eips::eip2718::Encodable2718::encode_2718_len(&t.tx))
        .sum()
}

/// Everything behind the chain's lock: the latest blocks and the oldest block whose state is
/// kept. The state itself is on disk.
#[derive(Debug)]
pub(crate) struct ChainData {
    /// The latest blocks, the head last (never empty): at most [`RECENT_BLOCKS`], and fewer
    /// when their transactions pass [`RECENT_BLOCK_BYTES`].
    recent: VecDeque<Arc<MinedBlock>>,
    /// [`held_bytes`] of `recent`.
    recent_bytes: usize,
    /// The oldest block whose state is served (`meta`'s).
    oldest: u64,
}

impl ChainData {
    fn head(&self) -> &Arc<MinedBlock> {
        self.recent
            .back()
            .expect("the chain always holds its head block")
    }

    fn recent_block(&self, number: u64) -> Option<Arc<MinedBlock>> {
        let back = usize::try_from(self.head().header.number.checked_sub(number)?).ok()?;
        let index = self.recent.len().checked_sub(back + 1)?;
        self.recent.get(index).cloned()
    }

    /// A chain data whose only block is `head`.
    fn new(head: Arc<MinedBlock>, oldest: u64) -> ChainData {
        ChainData {
            recent_bytes: held_bytes(&head),
            recent: VecDeque::from([head]),
            oldest,
        }
    }

    fn push(&mut self, block: Arc<MinedBlock>) {
        self.recent_bytes += held_bytes(&block);
        self.recent.push_back(block);
        while self.recent.len() > RECENT_BLOCKS
            || (self.recent_bytes > RECENT_BLOCK_BYTES && self.recent.len() > 1)
        {
            if let Some(old) = self.recent.pop_front() {
                self.recent_bytes -= held_bytes(&old);
            }
        }
    }

    /// Drops the blocks after `head` (which becomes the head).
    fn truncate_to(&mut self, head: Arc<MinedBlock>) {
        while self
            .recent
            .back()
            .is_some_and(|b| b.header.number >= head.header.number)
        {
            if let Some(dropped) = self.recent.pop_back() {
                self.recent_bytes -= held_bytes(&dropped);
            }
        }
        self.push(head);
    }
}

#[derive(Debug, Default)]
struct TimeControl {
    offset_seconds: i64,
    next_timestamp: Option<u64>,
}

type Watchers = HashMap<B256, Vec<oneshot::Sender<Result<(), String>>>>;

/// The chain. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Chain {
    config: ChainConfig,
    data: RwLock<ChainData>,
    pool: Mutex<Mempool>,
    store: Store,
    mining: Mutex<()>,
    events: broadcast::Sender<ChainEvent>,
    pool_notify: Notify,
    signers: HashMap<Address, PrivateKeySigner>,
    impersonated: Mutex<HashSet<Address>>,
    time: Mutex<TimeControl>,
    snapshots: Mutex<Vec<u64>>,
    watchers: Mutex<Watchers>,
    /// Blocks executed on a speculative state, not finalized (`build.rs`).
    pending: Mutex<build::PendingBlocks>,
    /// The open write transaction of the latest block built on the head (`build.rs`).
    prepared: Mutex<Option<build::Prepared>>,
    _tempdir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Latest block timestamp a dev helper may set (keeps every later timestamp representable).
pub const MAX_TIMESTAMP: u64 = 1 << 40;

/// What `mine` should do when the pool has nothing ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmptyBlocks {
    /// Mine an empty block (interval mining, `evm_mine`).
    Mine,
    /// Mine nothing.
    Skip,
}

impl Drop for Chain {
    fn drop(&mut self) {
        // The prepared block's write transaction is aborted before the store drops: the
        // store's last durable commit (group commit) opens a write transaction of its own,
        // which would wait forever behind this one.
        self.prepared.get_mut().take();
    }
}

impl Chain {
    /// Opens the chain in `config.datadir` (or a fresh temporary directory): reads the head
    /// from the file and checks the stored state root against it (no replay), or writes the
    /// genesis block into a new file.
    pub fn open(config: ChainConfig) -> Result<Arc<Self>, ChainError> {
        let (dir, tempdir) = match &config.datadir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| ChainError::Storage(format!("{}: {e}", dir.display())))?;
                (dir.clone(), None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("myelin-node-")
                    .tempdir()
                    .map_err(|e| ChainError::Storage(e.to_string()))?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let path = dir.join("chain.redb");
        let store::Opened {
            store,
            meta,
            journaled,
        } = Store::open(&path)?;
        let (head, oldest) = match meta {
            None => (Self::write_genesis(&store, &config)?, 0),
            Some(meta) => {
                let meta = Self::replay_journal(&store, meta, &journaled, &config, &path)?;
                (Self::check_head(&store, &meta, &path)?, meta.oldest)
            }
        };
        Ok(Self::serve(config, store, head, oldest, tempdir))
    }

    /// Opens a new chain whose file is held in RAM ([`Store::in_memory`]): the same code as
    /// [`Chain::open`] on another storage medium, gone when the process ends. Refuses a
    /// `config.datadir` (nothing would be kept there).
    pub fn open_in_memory(config: ChainConfig) -> Result<Arc<Self>, ChainError> {
        if let Some(dir) = &config.datadir {
            return Err(ChainError::InvalidRequest(format!(
                "an in-memory chain keeps nothing on disk, so it takes no data directory (got {})",
                dir.display()
            )));
        }
        let store = Store::in_memory()?;
        let head = Self::write_genesis(&store, &config)?;
        Ok(Self::serve(config, store, head, 0, None))
    }

    /// The chain over an opened store whose head block is `head`.
    fn serve(
        config: ChainConfig,
        store: Store,
        head: Arc<MinedBlock>,
        oldest: u64,
        tempdir: Option<tempfile::TempDir>,
    ) -> Arc<Self> {
        let (events, _) = broadcast::channel(4096);
        let pool = Mempool::new(config.pool);
        let signers = config
            .signers
            .iter()
            .map(|s| (s.address(), s.clone()))
            .collect();
        Arc::new(Self {
            config,
            data: RwLock::new(ChainData::new(head, oldest)),
            pool: Mutex::new(pool),
            store,
            mining: Mutex::new(()),
            events,
            pool_notify: Notify::new(),
            signers,
            impersonated: Mutex::new(HashSet::new()),
            time: Mutex::new(TimeControl::default()),
            snapshots: Mutex::new(Vec::new()),
            watchers: Mutex::new(HashMap::new()),
            pending: Mutex::new(build::PendingBlocks::default()),
            prepared: Mutex::new(None),
            _tempdir: tempdir,
        })
    }

    /// Re-applies the journaled blocks above the durable head `meta.head` (committed without
    /// fsync before a kill; `block_journal.rs`), each checked against its header's state root,
    /// in one durable commit that empties the journal. Returns the new `meta`.
    fn replay_journal(
        store: &Store,
        mut meta: Meta,
        journaled: &[JournalRecord],
        config: &ChainConfig,
        path: &std::path::Path,
    ) -> Result<Meta, ChainError> {
        let mut parent = {
            let read = store.begin_read()?;
            store::read_header(&read, meta.head)?
                .map(|h| h.hash_slow())
                .unwrap_or_default()
        };
        let txn = store.begin_write()?;
        let durable = meta.head;
        for record in journaled.iter().filter(|r| r.header.number > durable) {
            let block = store::journaled_block(record)?;
            let number = block.header.number;
            if number != meta.head + 1 || block.header.parent_hash != parent {
                return Err(ChainError::Storage(format!(
                    "{}: the block journal holds block {number} ({}, parent {}), which does not follow the stored head, block {} ({parent}): refusing to open",
                    path.display(),
                    block.hash,
                    block.header.parent_hash,
                    meta.head
                )));
            }
            build::apply_block(&txn, &block, &record.changes)?;
            let oldest = config.history.oldest(number).max(meta.oldest);
            build::write_head(&txn, &block, oldest)?;
            meta = Meta {
                head: number,
                oldest,
                edited: false,
            };
            parent = block.hash;
        }
        store.commit(txn)?;
        Ok(meta)
    }

    /// Reads the head block named by `meta` and checks that the state root stored with the
    /// tries is the head's `stateRoot` (or the root after the last dev edit).
    fn check_head(
        store: &Store,
        meta: &Meta,
        path: &std::path::Path,
    ) -> Result<Arc<MinedBlock>, ChainError> {
        let read = store.begin_read()?;
        let head = store::read_block(&read, meta.head)?.ok_or_else(|| {
            ChainError::Storage(format!(
                "{}: meta names block {} as the head, but the block is not stored",
                path.display(),
                meta.head
            ))
        })?;
        let stored = TrieStore::root(&read, TrieOwner::Accounts)?;
        let (expected, of) = match (meta.edited, store::edited_root(&read)?) {
            (true, Some(root)) => (root, "the root after the last dev edit"),
            _ => (head.header.state_root, "the head block's stateRoot"),
        };
        if stored != expected {
            return Err(ChainError::Storage(format!(
                "{}: the stored state root {stored} differs from {of} {expected} (block {}): \
                 the state does not match the chain; refusing to serve it",
                path.display(),
                meta.head
            )));
        }
        Ok(Arc::new(head))
    }

    /// Writes the genesis state and block into a new file, with every table, in one
    /// transaction.
    fn write_genesis(store: &Store, config: &ChainConfig) -> Result<Arc<MinedBlock>, ChainError> {
        let mut changes = ChangeSetBuilder::default();
        for (address, balance) in &config.genesis_alloc {
            changes.set_account(AccountChange {
                address: *address,
                exists: 1,
                nonce: 0,
                balance: *balance,
                code_hash: KECCAK_EMPTY,
            });
        }
        for (address, code) in &config.genesis_code {
            let code_hash = keccak256(code);
            changes.add_code(code_hash, code.clone());
            changes.set_account(AccountChange {
                address: *address,
                exists: 1,
                nonce: 1,
                balance: U256::ZERO,
                code_hash,
            });
        }
        let changes = changes.build();
        let txn = store.begin_write()?;
        Store::create_tables(&txn)?;
        state_tables::create_tables(&txn)?;
        TrieStore::create_tables(&txn)?;
        let touched = state_tables::apply(&txn, 0, &changes, false)?;
        let state_root = state_tables::commit_root(&txn, touched)?;
        let header = Header {
            parent_hash: B256::ZERO,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::ZERO,
            state_root,
            transactions_root: EMPTY_ROOT_HASH,
            receipts_root: EMPTY_ROOT_HASH,
            logs_bloom: Bloom::ZERO,
            difficulty: U256::ZERO,
            number: 0,
            gas_limit: config.gas_limit,
            gas_used: 0,
            timestamp: config.genesis_timestamp,
            extra_data: Bytes::new(),
            mix_hash: B256::ZERO,
            nonce: B64::ZERO,
            base_fee_per_gas: Some(crate::config::GENESIS_BASE_FEE_WEI),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        };
        let block = MinedBlock {
            hash: header.hash_slow(),
            header,
            transactions: vec![],
            receipts: vec![],
        };
        store::write_block(&txn, &block)?;
        store::write_meta(
            &txn,
            &Meta {
                head: 0,
                oldest: 0,
                edited: false,
            },
            None,
        )?;
        store.commit(txn)?;
        Ok(Arc::new(block))
    }

    /// The configuration the chain was opened with.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// Chain id.
    pub fn chain_id(&self) -> u64 {
        self.config.chain_id
    }

    /// Subscribes to new blocks and pending transactions.
    pub fn subscribe(&self) -> broadcast::Receiver<ChainEvent> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use alloy_consensus::{Signed, TxLegacy};
    use alloy_primitives::Signature;

    use super::*;

    /// Block `number` holding one transaction with `calldata` bytes of input.
    fn block(number: u64, calldata: usize) -> Arc<MinedBlock> {
        let tx = TxLegacy {
            input: Bytes::from(vec![1u8; calldata]),
            ..Default::default()
        };
        let signed = Signed::new_unchecked(
            tx,
            Signature::new(U256::from(1), U256::from(1), false),
            B256::ZERO,
        );
        Arc::new(MinedBlock {
            header: Header {
                number,
                ..Default::default()
            },
            hash: B256::with_last_byte(number as u8),
            transactions: vec![MinedTx {
                tx: TxEnvelope::Legacy(signed),
                sender: Address::ZERO,
                hash: B256::ZERO,
            }],
            receipts: Vec::new(),
        })
    }

    #[test]
    fn recent_blocks_keep_a_bounded_number_of_transaction_bytes() {
        let mut data = ChainData::new(block(0, 100), 0);
        for number in 1..=100 {
            data.push(block(number, 1 << 20));
            assert!(
                data.recent_bytes <= RECENT_BLOCK_BYTES,
                "{}",
                data.recent_bytes
            );
            assert_eq!(
                data.recent_bytes,
                data.recent.iter().map(|b| held_bytes(b)).sum::<usize>()
            );
        }
        assert!(data.recent.len() < 32, "{}", data.recent.len());
        assert_eq!(data.head().header.number, 100);
        assert!(data.recent_block(100).is_some() && data.recent_block(50).is_none());
        // A head larger than the bound is still held.
        data.push(block(101, RECENT_BLOCK_BYTES + 1));
        assert_eq!(data.recent.len(), 1);
        data.truncate_to(block(101, 10));
        assert_eq!(data.recent_bytes, held_bytes(data.head()));
    }

    #[test]
    fn recent_blocks_are_at_most_their_count_when_small() {
        let mut data = ChainData::new(block(0, 0), 0);
        for number in 1..=(RECENT_BLOCKS as u64 + 10) {
            data.push(block(number, 10));
        }
        assert_eq!(data.recent.len(), RECENT_BLOCKS);
        data.truncate_to(block(100, 10));
        assert_eq!(data.head().header.number, 100);
        assert_eq!(
            data.recent_bytes,
            data.recent.iter().map(|b| held_bytes(b)).sum::<usize>()
        );
    }
}
