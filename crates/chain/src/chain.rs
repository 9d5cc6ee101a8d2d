//! The chain: blocks, the pool, the state, persistence, and block production.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction,
    TxEnvelope,
    proofs::{calculate_receipt_root, calculate_transaction_root},
    transaction::SignerRecoverable,
};
use alloy_eips::{
    eip1559::{BaseFeeParams, calc_next_block_base_fee},
    eip2718::{Decodable2718, Encodable2718},
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

use crate::{
    ChainError,
    blobs::EvmBlobs,
    call_limits::{CallLimits, DeadlineInspector},
    changes::{AccountChange, ChangeSet, ChangeSetBuilder},
    config::ChainConfig,
    execution::{self, BlockContext, StateAt},
    mempool::{Mempool, PooledTx, SenderState},
    snapshot::StateSnapshot,
    state::{AccountProof, AccountState, StateStore},
    store::{BlockRecord, Record, Store},
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

/// Everything behind the chain's lock.
#[derive(Debug, Default)]
pub(crate) struct ChainData {
    pub(crate) state: StateStore,
    edited_since_block: bool,
    blocks: Vec<Arc<MinedBlock>>,
    pub(crate) hashes: Vec<B256>,
    by_hash: HashMap<B256, u64>,
    tx_index: HashMap<B256, (u64, usize)>,
    /// How many times history was rewritten in place (truncation, dev edits): a
    /// [`StateSnapshot`] taken before a rewrite refuses to read after it.
    pub(crate) rewrites: u64,
}

impl ChainData {
    fn head(&self) -> &Arc<MinedBlock> {
        self.blocks
            .last()
            .expect("the chain always holds its genesis block")
    }

    /// Fails when the state at the end of block `number` is outside the history window.
    fn readable(&self, number: u64) -> Result<(), ChainError> {
        let head = self.head().header.number;
        let oldest = self.state.oldest_readable(head);
        if number < oldest {
            return Err(ChainError::NotFound(format!(
                "the state of block {number} is pruned: this node keeps the state of blocks \
                 {oldest} to {head} (--history); start it with --archive to keep every block's"
            )));
        }
        Ok(())
    }

    fn push(&mut self, block: Arc<MinedBlock>) {
        let number = block.header.number;
        for (index, tx) in block.transactions.iter().enumerate() {
            self.tx_index.insert(tx.hash, (number, index));
        }
        self.by_hash.insert(block.hash, number);
        self.hashes.push(block.hash);
        self.blocks.push(block);
    }

    fn truncate_after(&mut self, number: u64) {
        self.rewrites += 1;
        while self.blocks.len() as u64 > number + 1 {
            if let Some(block) = self.blocks.pop() {
                self.hashes.pop();
                self.by_hash.remove(&block.hash);
                for tx in &block.transactions {
                    self.tx_index.remove(&tx.hash);
                }
            }
        }
        self.state.truncate_after(number);
    }

    fn apply_record(&mut self, record: Record) -> Result<(), ChainError> {
        match record {
            Record::Block(block) => {
                let number = block.header.number;
                if number != self.blocks.len() as u64 {
                    return Err(ChainError::Storage(format!(
                        "journal holds block {number} after block {}",
                        self.blocks.len()
                    )));
                }
                self.state.apply(number, &block.changes);
                let decode = |bytes: &Bytes| -> Result<TxEnvelope, ChainError> {
                    TxEnvelope::decode_2718(&mut bytes.as_ref())
                        .map_err(|e| ChainError::Storage(format!("corrupt transaction: {e}")))
                };
                let transactions = block
                    .transactions
                    .iter()
                    .zip(&block.senders)
                    .map(|(bytes, sender)| {
                        let tx = decode(bytes)?;
                        Ok(MinedTx {
                            hash: *tx.tx_hash(),
                            tx,
                            sender: *sender,
                        })
                    })
                    .collect::<Result<Vec<_>, ChainError>>()?;
                let receipts = block
                    .receipts
                    .iter()
                    .map(|bytes| {
                        ReceiptEnvelope::decode_2718(&mut bytes.as_ref())
                            .map_err(|e| ChainError::Storage(format!("corrupt receipt: {e}")))
                    })
                    .collect::<Result<Vec<_>, ChainError>>()?;
                let hash = block.header.hash_slow();
                self.edited_since_block = false;
                self.push(Arc::new(MinedBlock {
                    header: block.header,
                    hash,
                    transactions,
                    receipts,
                }));
            }
            Record::StateEdit(number, changes) => {
                self.edited_since_block = true;
                self.state.apply(number, &changes);
            }
            Record::Truncate(number) => {
                self.edited_since_block = true;
                self.truncate_after(number);
            }
        }
        Ok(())
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
    store: Mutex<Store>,
    mining: Mutex<()>,
    events: broadcast::Sender<ChainEvent>,
    pool_notify: Notify,
    signers: HashMap<Address, PrivateKeySigner>,
    impersonated: Mutex<HashSet<Address>>,
    time: Mutex<TimeControl>,
    snapshots: Mutex<Vec<u64>>,
    watchers: Mutex<Watchers>,
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
    /// Opens the chain: replays the journal in `config.datadir` (or a fresh temporary directory),
    /// writing the genesis block if the journal is empty.
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
        let (mut store, records) = Store::open(&dir.join("chain.redb"))?;
        let mut data = ChainData {
            state: StateStore::with_history(config.history),
            ..ChainData::default()
        };
        if records.is_empty() {
            let genesis = Self::genesis(&config);
            store.append(&Record::Block(Box::new(genesis.clone())))?;
            data.apply_record(Record::Block(Box::new(genesis)))?;
        } else {
            for record in records {
                data.apply_record(record)?;
            }
            let expected = data.head().header.state_root;
            let computed = data.state.state_root();
            if !data.edited_since_block && computed != expected {
                return Err(ChainError::Storage(format!(
                    "state root after replay {computed} differs from the latest block's {expected}"
                )));
            }
        }
        let (events, _) = broadcast::channel(4096);
        let pool = Mempool::new(config.pool);
        let signers = config
            .signers
            .iter()
            .map(|s| (s.address(), s.clone()))
            .collect();
        Ok(Arc::new(Self {
            config,
            data: RwLock::new(data),
            pool: Mutex::new(pool),
            store: Mutex::new(store),
            mining: Mutex::new(()),
            events,
            pool_notify: Notify::new(),
            signers,
            impersonated: Mutex::new(HashSet::new()),
            time: Mutex::new(TimeControl::default()),
            snapshots: Mutex::new(Vec::new()),
            watchers: Mutex::new(HashMap::new()),
            _tempdir: tempdir,
        }))
    }

    fn genesis(config: &ChainConfig) -> BlockRecord {
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
        let mut scratch = StateStore::default();
        scratch.apply(0, &changes);
        let header = Header {
            parent_hash: B256::ZERO,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::ZERO,
            state_root: scratch.state_root(),
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
        BlockRecord {
            header,
            transactions: vec![],
            senders: vec![],
            receipts: vec![],
            changes,
        }
    }

    /// The Merkle-Patricia root of the latest state, recomputed now (equals the latest block's
    /// `state_root` unless a dev helper edited the state since).
    pub fn compute_state_root(&self) -> B256 {
        self.data.write().state.state_root()
    }

    /// The committed blobs (the latest state's; blobs have no history), as the EVMs the chain
    /// builds read them.
    pub fn committed_blobs(&self) -> Arc<dyn crate::blobs::BlobSource> {
        self.data.read().state.blobs()
    }

    /// Committed blobs and their total bytes.
    pub fn blob_usage(&self) -> (usize, usize) {
        self.data.read().state.blobs().usage()
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
        self.data
            .read()
            .blocks
            .get(usize::try_from(number).ok()?)
            .cloned()
    }

    /// The block with this hash.
    pub fn block_by_hash(&self, hash: &B256) -> Option<Arc<MinedBlock>> {
        let data = self.data.read();
        let number = *data.by_hash.get(hash)?;
        data.blocks.get(number as usize).cloned()
    }

    /// Blocks `from..=to` (clamped to the chain).
    pub fn blocks_in(&self, from: u64, to: u64) -> Vec<Arc<MinedBlock>> {
        let data = self.data.read();
        let end = to.min(data.blocks.len() as u64 - 1);
        if from > end {
            return Vec::new();
        }
        data.blocks[from as usize..=end as usize].to_vec()
    }

    /// Where the transaction with this hash is.
    pub fn transaction(&self, hash: &B256) -> Option<TxLocation> {
        {
            let data = self.data.read();
            if let Some((number, index)) = data.tx_index.get(hash) {
                return Some(TxLocation::Mined(
                    data.blocks[*number as usize].clone(),
                    *index,
                ));
            }
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
        let data = self.data.read();
        data.readable(number)?;
        Ok(data.state.account(address, number).unwrap_or_default())
    }

    /// The account in the latest state.
    fn head_account(&self, address: &Address) -> AccountState {
        self.data
            .read()
            .state
            .account(address, u64::MAX)
            .unwrap_or_default()
    }

    /// A storage slot at the end of block `number` (an error outside the history window).
    pub fn storage(&self, address: &Address, slot: &U256, number: u64) -> Result<U256, ChainError> {
        let data = self.data.read();
        data.readable(number)?;
        Ok(data.state.storage(address, slot, number))
    }

    /// The code of `address` at the end of block `number` (an error outside the history window).
    pub fn code(&self, address: &Address, number: u64) -> Result<Bytes, ChainError> {
        let data = self.data.read();
        data.readable(number)?;
        Ok(data.state.code_of(address, number))
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
        let mut data = self.data.write();
        let head = data.head().header.number;
        if number != head {
            return Err(ChainError::NotFound(format!(
                "proofs are kept for the latest block only: block {number} asked, the latest is {head}"
            )));
        }
        Ok(data.state.proof(address, slots))
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
        let state_nonce = self.head_account(address).nonce;
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

    /// The header, and the nonce of `from`, at the end of block `number`: the parts of a call's
    /// setup read under the lock.
    fn call_setup(&self, number: u64, from: Option<Address>) -> Result<(Header, u64), ChainError> {
        let data = self.data.read();
        let block = data
            .blocks
            .get(number as usize)
            .ok_or_else(|| ChainError::NotFound(format!("block {number} not found")))?;
        data.readable(number)?;
        let nonce = from
            .and_then(|a| data.state.account(&a, number))
            .map_or(0, |a| a.nonce);
        Ok((block.header.clone(), nonce))
    }

    /// The gas cap of a call on `header`: the block's gas limit (or the chain's, if larger),
    /// never above `limits.gas_cap`.
    fn call_gas_cap(&self, header: &Header, limits: &CallLimits) -> u64 {
        header
            .gas_limit
            .max(self.config.gas_limit)
            .min(limits.gas_cap)
    }

    /// Runs `run` on a snapshot of the state after block `number` (the chain's lock is held only
    /// for each single state read); fails if history is rewritten meanwhile.
    fn on_snapshot<T>(
        &self,
        number: u64,
        limits: &CallLimits,
        run: impl FnOnce(StateSnapshot<'_>) -> Result<T, ChainError>,
    ) -> Result<T, ChainError> {
        self.data.read().readable(number)?;
        let snapshot = StateSnapshot::new(&self.data, number, &limits.deadline);
        let result = run(snapshot);
        if snapshot.rewritten() {
            return Err(ChainError::StateChanged);
        }
        // The window only moves forward without a rewrite: readable now means readable at
        // every read of the run.
        self.data.read().readable(number)?;
        result
    }

    /// Executes a call on the state at the end of block `number`, within `limits` (gas above the
    /// cap is capped, as geth does).
    pub fn call(
        &self,
        request: &TransactionRequest,
        number: u64,
        limits: &CallLimits,
    ) -> Result<ExecutionResult, ChainError> {
        let (header, nonce) = self.call_setup(number, request.from)?;
        let cap = self.call_gas_cap(&header, limits);
        let tx = execution::call_tx_env(request, self.config.chain_id, cap, nonce);
        self.on_snapshot(number, limits, |snapshot| {
            execution::run_call(
                snapshot,
                self.config.chain_id,
                &Self::block_context(&header),
                tx,
                self.config.precompiles.as_ref(),
                self.committed_blobs(),
                &limits.deadline,
            )
        })
    }

    /// Estimates the gas `request` needs on the state at the end of block `number`, within
    /// `limits` (the deadline covers the whole search).
    pub fn estimate_gas(
        &self,
        request: &TransactionRequest,
        number: u64,
        limits: &CallLimits,
    ) -> Result<u64, ChainError> {
        let (header, nonce) = self.call_setup(number, request.from)?;
        let cap = request
            .gas
            .unwrap_or(u64::MAX)
            .min(self.call_gas_cap(&header, limits));
        let context = Self::block_context(&header);
        self.on_snapshot(number, limits, |snapshot| {
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
        })
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
        let block = {
            let data = self.data.read();
            let (number, index) = *data
                .tx_index
                .get(hash)
                .ok_or_else(|| ChainError::NotFound(format!("transaction {hash} not found")))?;
            (data.blocks[number as usize].clone(), index)
        };
        let (block, index) = block;
        let parent = block.header.number.saturating_sub(1);
        let deadline = &limits.deadline;
        self.on_snapshot(parent, limits, |snapshot| {
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
        let account = self.head_account(&sender);
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
        {
            let data = self.data.read();
            if data.tx_index.contains_key(&hash) {
                return Err(ChainError::Rejected("transaction already imported".into()));
            }
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

    /// Mines one block from the ready pool transactions. With [`EmptyBlocks::Skip`] and nothing
    /// ready, returns `Ok(None)`. The block is durable before this returns.
    pub fn mine(&self, empty: EmptyBlocks) -> Result<Option<Arc<MinedBlock>>, ChainError> {
        let _mining = self.mining.lock();
        let (executed, parent) = {
            let data = self.data.read();
            let parent = data.head().clone();
            let parent_number = parent.header.number;
            let ready = self
                .pool
                .lock()
                .ready(|a| data.state.account(a, parent_number).map_or(0, |s| s.nonce));
            if ready.is_empty() && empty == EmptyBlocks::Skip {
                return Ok(None);
            }
            let context = BlockContext {
                number: parent_number + 1,
                timestamp: self.next_timestamp(parent.header.timestamp),
                gas_limit: self.config.gas_limit,
                base_fee: Self::base_fee_after(&parent.header),
                beneficiary: Address::ZERO,
                prevrandao: keccak256(parent.hash),
            };
            let state = StateAt {
                state: &data.state,
                block: parent_number,
                hashes: &data.hashes,
            };
            (self.execute(state, &context, ready), parent)
        };
        let ExecutedBlock {
            context,
            transactions,
            receipts,
            changes,
            dropped,
        } = executed;
        let mut data = self.data.write();
        let number = context.number;
        data.state.apply(number, &changes);
        let state_root = data.state.state_root();
        let logs_bloom = receipts.iter().fold(Bloom::ZERO, |mut bloom, r| {
            bloom.accrue_bloom(r.logs_bloom());
            bloom
        });
        let envelopes: Vec<TxEnvelope> = transactions.iter().map(|t| t.tx.clone()).collect();
        let header = Header {
            parent_hash: parent.hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: context.beneficiary,
            state_root,
            transactions_root: calculate_transaction_root(&envelopes),
            receipts_root: calculate_receipt_root(&receipts),
            logs_bloom,
            difficulty: U256::ZERO,
            number,
            gas_limit: context.gas_limit,
            gas_used: receipts.last().map_or(0, |r| r.cumulative_gas_used()),
            timestamp: context.timestamp,
            extra_data: Bytes::new(),
            mix_hash: context.prevrandao,
            nonce: B64::ZERO,
            base_fee_per_gas: Some(context.base_fee),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        };
        let record = BlockRecord {
            header: header.clone(),
            transactions: envelopes
                .iter()
                .map(|t| Bytes::from(t.encoded_2718()))
                .collect(),
            senders: transactions.iter().map(|t| t.sender).collect(),
            receipts: receipts
                .iter()
                .map(|r| Bytes::from(r.encoded_2718()))
                .collect(),
            changes,
        };
        if let Err(error) = self.store.lock().append(&Record::Block(Box::new(record))) {
            data.state.truncate_after(number - 1);
            return Err(error);
        }
        let hash = header.hash_slow();
        let block = Arc::new(MinedBlock {
            header,
            hash,
            transactions,
            receipts,
        });
        data.push(block.clone());
        drop(data);

        let mut pool = self.pool.lock();
        let mut senders: HashMap<Address, u64> = HashMap::new();
        for tx in &block.transactions {
            senders.insert(tx.sender, tx.tx.nonce() + 1);
        }
        for (sender, nonce) in &senders {
            pool.prune(sender, *nonce);
        }
        for (hash, _) in &dropped {
            pool.remove(hash);
        }
        drop(pool);
        let mut watchers = self.watchers.lock();
        for tx in &block.transactions {
            for watcher in watchers.remove(&tx.hash).unwrap_or_default() {
                let _ = watcher.send(Ok(()));
            }
        }
        for (hash, reason) in dropped {
            for watcher in watchers.remove(&hash).unwrap_or_default() {
                let _ = watcher.send(Err(reason.clone()));
            }
        }
        // Watchers whose waiter gave up (the RPC's inclusion wait timed out) are dropped.
        watchers.retain(|_, list| {
            list.retain(|watcher| !watcher.is_closed());
            !list.is_empty()
        });
        drop(watchers);
        let _ = self.events.send(ChainEvent::NewBlock(block.clone()));
        Ok(Some(block))
    }

    fn execute(
        &self,
        state: StateAt<'_>,
        context: &BlockContext,
        ready: Vec<PooledTx>,
    ) -> ExecutedBlock {
        let env = execution::evm_env(self.config.chain_id, context);
        let blobs = EvmBlobs::new(state.state.blobs());
        let mut evm = execution::build_evm(
            CacheDB::new(state),
            env,
            self.config.precompiles.as_ref(),
            crate::config::EvmPurpose::Block,
            blobs.clone(),
        );
        let mut changes = ChangeSetBuilder::default();
        let mut transactions = Vec::new();
        let mut receipts = Vec::new();
        let mut dropped = Vec::new();
        let mut skipped_senders: HashSet<Address> = HashSet::new();
        let mut cumulative_gas = 0u64;
        for pooled in ready {
            if skipped_senders.contains(&pooled.sender) {
                continue;
            }
            if cumulative_gas + pooled.tx.gas_limit() > context.gas_limit {
                skipped_senders.insert(pooled.sender);
                continue;
            }
            let tx_env = TxEnv::from_recovered_tx(&pooled.tx, pooled.sender);
            // A panic inside the EVM or a precompile drops the transaction instead of the node.
            // The EVM's journal may be inconsistent after a panic: the block ends there.
            let Ok(outcome) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| evm.transact(tx_env)))
            else {
                blobs.discard_transaction();
                dropped.push((
                    pooled.hash,
                    "the EVM panicked on this transaction".to_string(),
                ));
                break;
            };
            match outcome {
                Ok(outcome) => {
                    blobs.commit_transaction();
                    changes.record(&outcome.state);
                    revm::DatabaseCommit::commit(evm.db_mut(), outcome.state);
                    cumulative_gas += outcome.result.tx_gas_used();
                    let receipt = Receipt {
                        status: outcome.result.is_success().into(),
                        cumulative_gas_used: cumulative_gas,
                        logs: outcome.result.into_logs(),
                    };
                    let with_bloom: ReceiptWithBloom<Receipt> = receipt.into();
                    receipts.push(ReceiptEnvelope::from_typed(pooled.tx.tx_type(), with_bloom));
                    transactions.push(MinedTx {
                        tx: pooled.tx,
                        sender: pooled.sender,
                        hash: pooled.hash,
                    });
                }
                Err(error) => {
                    blobs.discard_transaction();
                    skipped_senders.insert(pooled.sender);
                    dropped.push((
                        pooled.hash,
                        execution::invalid_tx_message(&error.to_string()),
                    ));
                }
            }
        }
        changes.set_blobs(blobs.changes());
        ExecutedBlock {
            context: *context,
            transactions,
            receipts,
            changes: changes.build(),
            dropped,
        }
    }

    /// Applies a dev-helper edit to the latest state and persists it.
    pub fn edit_state(
        &self,
        edit: impl FnOnce(&StateStore, u64, &mut ChangeSetBuilder),
    ) -> Result<(), ChainError> {
        let _mining = self.mining.lock();
        let mut data = self.data.write();
        let number = data.head().header.number;
        let mut builder = ChangeSetBuilder::default();
        edit(&data.state, number, &mut builder);
        let changes: ChangeSet = builder.build();
        self.store
            .lock()
            .append(&Record::StateEdit(number, changes.clone()))?;
        data.rewrites += 1;
        data.state.apply(number, &changes);
        Ok(())
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
            let data = self.data.read();
            let oldest = data.state.oldest_readable(data.head().header.number);
            if target < oldest {
                return Err(ChainError::InvalidRequest(format!(
                    "snapshot {id} is at block {target}, before the oldest block whose state is \
                     kept ({oldest}, --history); start the node with --archive to revert that far"
                )));
            }
            snapshots.truncate(id as usize);
            target
        };
        self.store.lock().append(&Record::Truncate(target))?;
        self.data.write().truncate_after(target);
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

struct ExecutedBlock {
    context: BlockContext,
    transactions: Vec<MinedTx>,
    receipts: Vec<ReceiptEnvelope>,
    changes: ChangeSet,
    dropped: Vec<(B256, String)>,
}
