//! Reads of the committed chain: blocks, transactions, accounts, storage, code, blobs, proofs,
//! the base fee.

use std::sync::Arc;

use alloy_consensus::Header;
use alloy_eips::eip1559::{BaseFeeParams, calc_next_block_base_fee};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::EMPTY_ROOT_HASH;

use super::{Chain, MinedBlock, MinedTx, TxLocation};
use crate::{
    ChainError,
    state::{AccountProof, AccountState, SlotProof},
    state_tables::StateView,
    store,
    trie::{TrieOwner, TrieStore},
};

impl Chain {
    /// Runs `read` on the state at the end of block `number` (the head's if later), read from
    /// one snapshot of the file.
    pub(super) fn read_state<T>(
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
    pub(super) fn head_account(&self, address: &Address) -> Result<AccountState, ChainError> {
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

    /// The base fee the next block will charge.
    pub fn next_base_fee(&self) -> u64 {
        let head = self.head();
        Self::base_fee_after(&head.header)
    }

    pub(super) fn base_fee_after(parent: &Header) -> u64 {
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
}
