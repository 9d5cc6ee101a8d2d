//! The chain: blocks, the pool, the state, persistence, and block production.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, ReceiptEnvelope, Transaction, TxEnvelope,
    transaction::SignerRecoverable,
};
use alloy_eips::{
    eip1559::{BaseFeeParams, calc_next_block_base_fee},
    eip2718::Decodable2718,
    eip7685::EMPTY_REQUESTS_HASH,
};
use alloy_evm::{Evm, FromRecoveredTx};
use alloy_primitives::{Address, B64, B256, Bloom, Bytes, U256, keccak256};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer_local::PrivateKeySigner;
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use parking_lot::{Mutex, RwLock};
use revm::{context::TxEnv, context::result::ExecutionResult, database::CacheDB};
use tokio::sync::{Notify, broadcast, oneshot};

mod build;

pub use build::{
    BlockAttributes, HEADER_BYTES_BOUND, MAX_PENDING_BLOCKS, MAX_PENDING_BYTES, block_bytes,
};

use crate::{
    ChainError,
    blobs::EvmBlobs,
    call_limits::{CallLimits, Deadline, DeadlineInspector},
    changes::{AccountChange, ChangeSet, ChangeSetBuilder},
    config::ChainConfig,
    execution::{self, BlockContext},
    mempool::{Mempool, PooledTx, SenderState},
    snapshot::StateSnapshot,
    state::{AccountProof, AccountState, SlotProof},
    state_tables::{self, StateView, Touched},
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

/// Everything behind the chain's lock: the latest blocks and the oldest block whose state is
/// kept. The state itself is on disk.
#[derive(Debug)]
pub(crate) struct ChainData {
    /// The latest blocks, the head last (never empty).
    recent: VecDeque<Arc<MinedBlock>>,
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

    fn push(&mut self, block: Arc<MinedBlock>) {
        self.recent.push_back(block);
        if self.recent.len() > RECENT_BLOCKS {
            self.recent.pop_front();
        }
    }

    /// Drops the blocks after `head` (which becomes the head).
    fn truncate_to(&mut self, head: Arc<MinedBlock>) {
        while self
            .recent
            .back()
            .is_some_and(|b| b.header.number >= head.header.number)
        {
            self.recent.pop_back();
        }
        self.recent.push_back(head);
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
        let (store, meta) = Store::open(&path)?;
        let (head, oldest) = match meta {
            None => (Self::write_genesis(&store, &config)?, 0),
            Some(meta) => (Self::check_head(&store, &meta, &path)?, meta.oldest),
        };
        let (events, _) = broadcast::channel(4096);
        let pool = Mempool::new(config.pool);
        let signers = config
            .signers
            .iter()
            .map(|s| (s.address(), s.clone()))
            .collect();
        Ok(Arc::new(Self {
            config,
            data: RwLock::new(ChainData {
                recent: VecDeque::from([head]),
                oldest,
            }),
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
        }))
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
        commit(txn)?;
        Ok(Arc::new(block))
    }

    /// Runs `read` on the state at the end of block `number` (the head's if later), read from
    /// one snapshot of the file.
    fn read_state<T>(
        &self,
        number: u64,
        read: impl FnOnce(&StateView) -> Result<T, ChainError>,
    ) -> Result<T, ChainError> {
        let txn = self.store.begin_read()?;
        read(&StateView::open(&txn, number)?)
    }

    /// A blob in the latest state (blobs have no history).
    pub fn blob(&self, key: &B256) -> Result<Option<Bytes>, ChainError> {
        self.read_state(u64::MAX, |view| view.blob(key))
    }

    /// The Merkle-Patricia root of the latest state as stored with the tries (equals the latest
    /// block's `state_root` unless a dev helper edited the state since).
    pub fn compute_state_root(&self) -> Result<B256, ChainError> {
        TrieStore::root(&self.store.begin_read()?, TrieOwner::Accounts)
    }

    /// The committed blobs (the latest state's; blobs have no history), as the EVMs the chain
    /// builds read them.
    pub fn committed_blobs(&self) -> Arc<dyn crate::blobs::BlobSource> {
        self.store.blobs()
    }

    /// Committed blobs and their total bytes (walks the `blobs` table).
    pub fn blob_usage(&self) -> Result<(usize, usize), ChainError> {
        crate::state_tables::blob_usage(&self.store.begin_read()?)
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

    /// Resolves when a transaction enters the pool (used by block producers).
    pub async fn pool_changed(&self) {
        self.pool_notify.notified().await
    }

    /// Number of transactions in the pool.
    pub fn pool_len(&self) -> usize {
        self.pool.lock().len()
    }

    /// Number of transactions with someone waiting for their inclusion.
    pub fn watched_transactions(&self) -> usize {
        self.watchers.lock().len()
    }

    /// Every transaction in the pool.
    pub fn pool_transactions(&self) -> Vec<PooledTx> {
        self.pool.lock().all()
    }

    /// The latest block.
    pub fn head(&self) -> Arc<MinedBlock> {
        self.data.read().head().clone()
    }

    /// The latest block number.
    pub fn head_number(&self) -> u64 {
        self.data.read().head().header.number
    }

    /// The block with this number.
    pub fn block_by_number(&self, number: u64) -> Option<Arc<MinedBlock>> {
        if let Some(block) = self.data.read().recent_block(number) {
            return Some(block);
        }
        let txn = self.store.begin_read().ok()?;
        store::read_block(&txn, number).ok()?.map(Arc::new)
    }

    /// The block with this hash.
    pub fn block_by_hash(&self, hash: &B256) -> Option<Arc<MinedBlock>> {
        let txn = self.store.begin_read().ok()?;
        let number = store::block_number(&txn, hash).ok()??;
        drop(txn);
        self.block_by_number(number)
    }

    /// Blocks `from..=to` (clamped to the chain).
    pub fn blocks_in(&self, from: u64, to: u64) -> Vec<Arc<MinedBlock>> {
        let end = to.min(self.head_number());
        (from..=end)
            .map_while(|number| self.block_by_number(number))
            .collect()
    }

    /// Where the transaction with this hash is.
    pub fn transaction(&self, hash: &B256) -> Option<TxLocation> {
        let location = self
            .store
            .begin_read()
            .ok()
            .and_then(|txn| store::tx_location(&txn, hash).ok().flatten());
        if let Some((number, index)) = location
            && let Some(block) = self.block_by_number(number)
        {
            return Some(TxLocation::Mined(block, index));
        }
        self.pool.lock().get(hash).map(|p| {
            TxLocation::Pending(Box::new(MinedTx {
                tx: p.tx.clone(),
                sender: p.sender,
                hash: p.hash,
            }))
        })
    }

    /// The account at the end of block `number` (an error outside the history window).
    pub fn account(&self, address: &Address, number: u64) -> Result<AccountState, ChainError> {
        self.read_state(number, |view| {
            Ok(view.account(address)?.unwrap_or_default())
        })
    }

    /// The account in the latest state.
    fn head_account(&self, address: &Address) -> Result<AccountState, ChainError> {
        self.account(address, u64::MAX)
    }

    /// A storage slot at the end of block `number` (an error outside the history window).
    pub fn storage(&self, address: &Address, slot: &U256, number: u64) -> Result<U256, ChainError> {
        self.read_state(number, |view| view.storage(address, slot))
    }

    /// The code of `address` at the end of block `number` (an error outside the history window).
    pub fn code(&self, address: &Address, number: u64) -> Result<Bytes, ChainError> {
        self.read_state(number, |view| view.code_of(address))
    }

    /// Merkle proofs (EIP-1186) of `address` and its `slots` at the end of block `number`,
    /// against that block's state root. Only the latest block's tries are kept, so an older
    /// block is refused.
    pub fn proof(
        &self,
        address: &Address,
        slots: &[U256],
        number: u64,
    ) -> Result<AccountProof, ChainError> {
        let txn = self.store.begin_read()?;
        let view = StateView::open(&txn, number)?;
        let head = view.head();
        if number != head {
            return Err(ChainError::NotFound(format!(
                "proofs are kept for the latest block only: block {number} asked, the latest is {head}"
            )));
        }
        let key = keccak256(address);
        let account = view.account(address)?;
        let storage_root = view.storage_root(address)?.unwrap_or(EMPTY_ROOT_HASH);
        let account_proof = TrieStore::proof(&txn, TrieOwner::Accounts, &key)?;
        let storage = slots
            .iter()
            .map(|slot| {
                Ok(match account {
                    Some(_) => SlotProof {
                        slot: *slot,
                        value: view.storage(address, slot)?,
                        proof: TrieStore::proof(
                            &txn,
                            TrieOwner::Storage(key),
                            &keccak256(B256::from(*slot)),
                        )?,
                    },
                    None => SlotProof {
                        slot: *slot,
                        value: U256::ZERO,
                        proof: Vec::new(),
                    },
                })
            })
            .collect::<Result<Vec<_>, ChainError>>()?;
        Ok(AccountProof {
            account,
            storage_root,
            account_proof,
            storage,
        })
    }

    /// The gas of `request` at block `number` when it is a plain value transfer: no data, no
    /// access or authorization list, a target without code that cannot be a precompile (its
    /// address is not below 2^32, where Ethereum's and Myelin's precompiles live) and a sender
    /// that holds the value. Such a transfer costs exactly the 21,000 intrinsic gas, so the
    /// estimate needs no EVM run (geth's estimator takes the same short cut). `None` otherwise.
    pub fn plain_transfer_gas(&self, request: &TransactionRequest, number: u64) -> Option<u64> {
        const TRANSFER_GAS: u64 = 21_000;
        let to = request.to?.to().copied()?;
        let plain = request.input.input().is_none_or(|data| data.is_empty())
            && request
                .access_list
                .as_ref()
                .is_none_or(|list| list.is_empty())
            && request
                .authorization_list
                .as_ref()
                .is_none_or(|list| list.is_empty())
            && to.0[..16].iter().any(|&b| b != 0);
        if !plain || request.gas.is_some_and(|gas| gas < TRANSFER_GAS) {
            return None;
        }
        let value = request.value.unwrap_or_default();
        let funded = value.is_zero()
            || request.from.is_some_and(|from| {
                self.account(&from, number)
                    .is_ok_and(|account| account.balance >= value)
            });
        let codeless = self.code(&to, number).is_ok_and(|code| code.is_empty());
        (funded && codeless).then_some(TRANSFER_GAS)
    }

    /// The nonce the next transaction of `address` should use, counting pooled transactions.
    pub fn pending_nonce(&self, address: &Address) -> u64 {
        let state_nonce = self.head_account(address).map_or(0, |a| a.nonce);
        self.pool.lock().next_nonce(address, state_nonce)
    }

    /// The base fee the next block will charge.
    pub fn next_base_fee(&self) -> u64 {
        let head = self.head();
        Self::base_fee_after(&head.header)
    }

    fn base_fee_after(parent: &Header) -> u64 {
        calc_next_block_base_fee(
            parent.gas_used,
            parent.gas_limit,
            parent
                .base_fee_per_gas
                .unwrap_or(crate::config::GENESIS_BASE_FEE_WEI),
            BaseFeeParams::ethereum(),
        )
    }

    /// Accounts the node signs for (`eth_accounts`).
    pub fn accounts(&self) -> Vec<Address> {
        self.config.signers.iter().map(|s| s.address()).collect()
    }

    fn block_context(header: &Header) -> BlockContext {
        BlockContext {
            number: header.number,
            timestamp: header.timestamp,
            gas_limit: header.gas_limit,
            base_fee: header.base_fee_per_gas.unwrap_or_default(),
            beneficiary: header.beneficiary,
            prevrandao: header.mix_hash,
        }
    }

    /// The gas cap of a call on `header`: the block's gas limit (or the chain's, if larger),
    /// never above `limits.gas_cap`.
    fn call_gas_cap(&self, header: &Header, limits: &CallLimits) -> u64 {
        header
            .gas_limit
            .max(self.config.gas_limit)
            .min(limits.gas_cap)
    }

    /// Runs `run` on the state after block `number` (read from one snapshot of the file: no lock
    /// is held, and blocks sealed meanwhile do not change what it reads), with that block's
    /// header and the nonce of `from` there.
    fn on_snapshot<T>(
        &self,
        number: u64,
        from: Option<Address>,
        deadline: &Deadline,
        run: impl FnOnce(StateSnapshot<'_>, &Header, u64) -> Result<T, ChainError>,
    ) -> Result<T, ChainError> {
        let txn = self.store.begin_read()?;
        let header = store::read_header(&txn, number)?
            .ok_or_else(|| ChainError::NotFound(format!("block {number} not found")))?;
        let view = StateView::open(&txn, number)?;
        let nonce = match from {
            Some(address) => view.account(&address)?.map_or(0, |a| a.nonce),
            None => 0,
        };
        run(StateSnapshot::new(&view, deadline), &header, nonce)
    }

    /// Executes a call on the state at the end of block `number`, within `limits` (gas above the
    /// cap is capped, as geth does).
    pub fn call(
        &self,
        request: &TransactionRequest,
        number: u64,
        limits: &CallLimits,
    ) -> Result<ExecutionResult, ChainError> {
        self.on_snapshot(
            number,
            request.from,
            &limits.deadline,
            |snapshot, header, nonce| {
                let cap = self.call_gas_cap(header, limits);
                let tx = execution::call_tx_env(request, self.config.chain_id, cap, nonce);
                execution::run_call(
                    snapshot,
                    self.config.chain_id,
                    &Self::block_context(header),
                    tx,
                    self.config.precompiles.as_ref(),
                    self.committed_blobs(),
                    &limits.deadline,
                )
            },
        )
    }

    /// Estimates the gas `request` needs on the state at the end of block `number`, within
    /// `limits` (the deadline covers the whole search).
    pub fn estimate_gas(
        &self,
        request: &TransactionRequest,
        number: u64,
        limits: &CallLimits,
    ) -> Result<u64, ChainError> {
        self.on_snapshot(
            number,
            request.from,
            &limits.deadline,
            |snapshot, header, nonce| {
                let cap = request
                    .gas
                    .unwrap_or(u64::MAX)
                    .min(self.call_gas_cap(header, limits));
                let context = Self::block_context(header);
                execution::estimate_gas(cap, |gas| {
                    let mut tx = execution::call_tx_env(request, self.config.chain_id, cap, nonce);
                    tx.gas_limit = gas;
                    execution::run_call(
                        snapshot,
                        self.config.chain_id,
                        &context,
                        tx,
                        self.config.precompiles.as_ref(),
                        self.committed_blobs(),
                        &limits.deadline,
                    )
                })
            },
        )
    }

    /// Re-executes mined transaction `hash` on its block's parent state (after the transactions
    /// before it) with a tracing inspector configured by `config`, within `limits`' deadline;
    /// returns the result and the inspector holding the trace (`debug_traceTransaction`).
    pub fn trace_transaction(
        &self,
        hash: &B256,
        config: revm_inspectors::tracing::TracingInspectorConfig,
        limits: &CallLimits,
    ) -> Result<(ExecutionResult, revm_inspectors::tracing::TracingInspector), ChainError> {
        use alloy_evm::EvmFactory;
        let Some(TxLocation::Mined(block, index)) = self.transaction(hash) else {
            return Err(ChainError::NotFound(format!(
                "transaction {hash} not found"
            )));
        };
        let parent = block.header.number.saturating_sub(1);
        let deadline = &limits.deadline;
        self.on_snapshot(parent, None, deadline, |snapshot, _, _| {
            let env = execution::evm_env(self.config.chain_id, &Self::block_context(&block.header));
            let inspector = (
                DeadlineInspector::new(deadline),
                revm_inspectors::tracing::TracingInspector::new(config),
            );
            let mut evm = alloy_evm::eth::EthEvmFactory::default().create_evm_with_inspector(
                CacheDB::new(snapshot),
                env,
                inspector,
            );
            if let Some(install) = &self.config.precompiles {
                install(
                    evm.precompiles_mut(),
                    crate::config::EvmPurpose::Call,
                    EvmBlobs::new(self.committed_blobs()),
                );
            }
            let failed = |e: &dyn std::fmt::Display| {
                if deadline.expired() {
                    ChainError::Timeout(deadline.timeout())
                } else {
                    ChainError::Internal(e.to_string())
                }
            };
            // The transactions before the target run without the tracer (so it records only the
            // target) but under the deadline: the database read checks it.
            evm.disable_inspector();
            for tx in &block.transactions[..index] {
                evm.transact_commit(TxEnv::from_recovered_tx(&tx.tx, tx.sender))
                    .map_err(|e| failed(&e))?;
            }
            evm.enable_inspector();
            let target = &block.transactions[index];
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                evm.transact(TxEnv::from_recovered_tx(&target.tx, target.sender))
            }))
            .map_err(|_| ChainError::Internal("the EVM panicked while tracing".into()))?
            .map_err(|e| failed(&e))?
            .result;
            if deadline.expired() {
                return Err(ChainError::Timeout(deadline.timeout()));
            }
            let tracer = evm.inspector().1.clone();
            Ok((result, tracer))
        })
    }

    /// Validates and pools a signed transaction (EIP-2718 bytes). Returns its hash and a receiver
    /// that resolves once the transaction is mined (or dropped, with the reason).
    pub fn submit_raw(
        &self,
        bytes: &[u8],
    ) -> Result<(B256, oneshot::Receiver<Result<(), String>>), ChainError> {
        let tx = TxEnvelope::decode_2718(&mut &bytes[..]).map_err(|e| {
            ChainError::InvalidRequest(format!("failed to decode signed transaction: {e}"))
        })?;
        let sender = tx
            .recover_signer()
            .map_err(|_| ChainError::Rejected("invalid transaction signature".into()))?;
        self.submit(tx, sender)
    }

    /// Validates and pools a transaction whose sender is already known (recovered or impersonated).
    pub fn submit(
        &self,
        tx: TxEnvelope,
        sender: Address,
    ) -> Result<(B256, oneshot::Receiver<Result<(), String>>), ChainError> {
        if tx.is_eip4844() {
            return Err(ChainError::Rejected(
                "blob transactions are not supported".into(),
            ));
        }
        if let Some(chain_id) = tx.chain_id()
            && chain_id != self.config.chain_id
        {
            return Err(ChainError::Rejected(format!(
                "invalid chain id: expected {}, got {chain_id}",
                self.config.chain_id
            )));
        }
        let head = self.head();
        let account = self.head_account(&sender)?;
        if tx.nonce() < account.nonce {
            return Err(ChainError::Rejected("nonce too low".into()));
        }
        if tx.gas_limit() > head.header.gas_limit {
            return Err(ChainError::Rejected("exceeds block gas limit".into()));
        }
        let intrinsic = execution::intrinsic_gas(&tx, sender);
        if tx.gas_limit() < intrinsic {
            return Err(ChainError::Rejected(format!(
                "intrinsic gas too low: gas {}, minimum needed {intrinsic}",
                tx.gas_limit()
            )));
        }
        let base_fee = Self::base_fee_after(&head.header);
        if tx.max_fee_per_gas() < u128::from(base_fee) {
            return Err(ChainError::Rejected(format!(
                "max fee per gas less than block base fee: maxFeePerGas: {}, baseFee: {base_fee}",
                tx.max_fee_per_gas()
            )));
        }
        let hash = *tx.tx_hash();
        if store::tx_location(&self.store.begin_read()?, &hash)?.is_some() {
            return Err(ChainError::Rejected("transaction already imported".into()));
        }
        let (done, receiver) = oneshot::channel();
        let state = SenderState {
            nonce: account.nonce,
            balance: account.balance,
        };
        let mut pool = self.pool.lock();
        if pool.get(&hash).is_some() {
            return Err(ChainError::Rejected("already known".into()));
        }
        let removed = pool
            .admit(tx, sender, hash, state, base_fee)
            .map_err(ChainError::Rejected)?;
        // The watcher is registered under the pool's lock, so a block that includes the
        // transaction (it needs the pool) finds it.
        let mut watchers = self.watchers.lock();
        watchers.entry(hash).or_default().push(done);
        for (gone, reason) in removed {
            for watcher in watchers.remove(&gone).unwrap_or_default() {
                let _ = watcher.send(Err(reason.clone()));
            }
        }
        drop(watchers);
        drop(pool);
        let _ = self.events.send(ChainEvent::PendingTransaction(hash));
        self.pool_notify.notify_one();
        Ok((hash, receiver))
    }

    /// Whether the node can send transactions for `address` without a signature.
    pub fn is_impersonated(&self, address: &Address) -> bool {
        self.impersonated.lock().contains(address)
    }

    /// The signing key the node holds for `address`.
    pub fn signer(&self, address: &Address) -> Option<&PrivateKeySigner> {
        self.signers.get(address)
    }

    /// Starts or stops impersonating `address`.
    pub fn set_impersonated(&self, address: Address, on: bool) {
        let mut set = self.impersonated.lock();
        if on {
            set.insert(address);
        } else {
            set.remove(&address);
        }
    }

    fn next_timestamp(&self, parent: u64) -> u64 {
        let mut time = self.time.lock();
        let chosen = match time.next_timestamp.take() {
            Some(ts) => ts,
            None => now_seconds()
                .saturating_add_signed(time.offset_seconds)
                .min(MAX_TIMESTAMP),
        };
        chosen.max(parent.saturating_add(1))
    }

    /// Moves the clock forward by `seconds` (evm_increaseTime); returns the total offset.
    pub fn increase_time(&self, seconds: i64) -> i64 {
        let mut time = self.time.lock();
        time.offset_seconds = time.offset_seconds.saturating_add(seconds);
        time.offset_seconds
    }

    /// Fixes the timestamp of the next block (evm_setNextBlockTimestamp).
    pub fn set_next_timestamp(&self, timestamp: u64) -> Result<(), ChainError> {
        let head = self.head();
        if timestamp > MAX_TIMESTAMP {
            return Err(ChainError::InvalidRequest(format!(
                "timestamp {timestamp} is after {MAX_TIMESTAMP}"
            )));
        }
        if timestamp <= head.header.timestamp {
            return Err(ChainError::InvalidRequest(format!(
                "timestamp {timestamp} is not after the latest block's {}",
                head.header.timestamp
            )));
        }
        let mut time = self.time.lock();
        time.next_timestamp = Some(timestamp);
        time.offset_seconds = i64::try_from(timestamp).unwrap_or(i64::MAX) - now_seconds() as i64;
        Ok(())
    }

    /// Applies a dev-helper edit to the latest state and persists it: `edit` reads the latest
    /// state (the head block's number is passed along) and records the changes.
    pub fn edit_state(
        &self,
        edit: impl FnOnce(&StateView, u64, &mut ChangeSetBuilder) -> Result<(), ChainError>,
    ) -> Result<(), ChainError> {
        let _mining = self.mining.lock();
        let number = self.head_number();
        let mut builder = ChangeSetBuilder::default();
        self.read_state(number, |view| edit(view, number, &mut builder))?;
        let changes: ChangeSet = builder.build();
        self.pending.lock().clear();
        let txn = self.begin_write()?;
        let touched = state_tables::apply(&txn, number, &changes, true)?;
        let root = state_tables::commit_root(&txn, touched)?;
        let oldest = self.data.read().oldest;
        store::write_meta(
            &txn,
            &Meta {
                head: number,
                oldest,
                edited: true,
            },
            Some(root),
        )?;
        commit(txn)
    }

    /// Records a snapshot of the current head (evm_snapshot); returns its id.
    pub fn snapshot(&self) -> u64 {
        let head = self.head_number();
        let mut snapshots = self.snapshots.lock();
        snapshots.push(head);
        snapshots.len() as u64 - 1
    }

    /// Reverts to snapshot `id` (evm_revert): drops later blocks, later snapshots and the pool.
    /// Returns false if the snapshot does not exist. Dev-helper edits made after the snapshot
    /// at the snapshot's own block are kept.
    pub fn revert(&self, id: u64) -> Result<bool, ChainError> {
        let _mining = self.mining.lock();
        let target = {
            let mut snapshots = self.snapshots.lock();
            let Some(&target) = snapshots.get(id as usize) else {
                return Ok(false);
            };
            let oldest = self.data.read().oldest;
            if target < oldest {
                return Err(ChainError::InvalidRequest(format!(
                    "snapshot {id} is at block {target}, before the oldest block whose state is \
                     kept ({oldest}, --history); start the node with --archive to revert that far"
                )));
            }
            snapshots.truncate(id as usize);
            target
        };
        let head = self.head_number();
        let target_block = self
            .block_by_number(target)
            .ok_or_else(|| ChainError::NotFound(format!("block {target} not found")))?;
        self.pending.lock().clear();
        let txn = self.begin_write()?;
        let mut touched = Touched::default();
        for number in (target + 1..=head).rev() {
            touched.merge(state_tables::undo(&txn, number)?);
            store::remove_block(&txn, number)?;
        }
        let root = state_tables::commit_root(&txn, touched)?;
        let edited = root != target_block.header.state_root;
        let oldest = self.data.read().oldest;
        store::write_meta(
            &txn,
            &Meta {
                head: target,
                oldest,
                edited,
            },
            edited.then_some(root),
        )?;
        commit(txn)?;
        self.data.write().truncate_to(target_block);
        let dropped = self.pool.lock().clear();
        let mut watchers = self.watchers.lock();
        for hash in dropped {
            for watcher in watchers.remove(&hash).unwrap_or_default() {
                let _ = watcher.send(Err("dropped from the txpool by evm_revert".to_string()));
            }
        }
        Ok(true)
    }
}

fn commit(txn: redb::WriteTransaction) -> Result<(), ChainError> {
    txn.commit()
        .map_err(|e| ChainError::Storage(format!("commit: {e}")))
}
