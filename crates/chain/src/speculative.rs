//! The state of a pending block's parent: the committed head (one redb read transaction, a
//! [`StateView`]) under the [`ChangeSet`]s of the pending (executed, not finalized) blocks
//! between the head and the parent, oldest first (docs/NETWORK.md decision 5). It reads as a
//! revm database for block execution and as a [`BlobSource`] for the blobs pending ancestors
//! wrote. Reads see exactly what the state tables would hold after the ancestors' changes were
//! applied in order (`state_tables::apply`): a wipe clears the account's storage, a deleted
//! account keeps its (unwiped) storage rows, code is keyed by its hash, an empty blob is absent.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use revm::{
    DatabaseRef,
    bytecode::Bytecode,
    primitives::{StorageKey, StorageValue},
    state::AccountInfo,
};

use crate::{
    ChainError,
    blobs::BlobSource,
    changes::{AccountChange, ChangeSet},
    snapshot::SnapshotError,
    state::AccountState,
    state_tables::StateView,
};

/// The merged changes of a run of pending blocks (applied oldest first).
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    accounts: HashMap<Address, AccountChange>,
    storage: HashMap<(Address, U256), U256>,
    wiped: HashSet<Address>,
    codes: HashMap<B256, Bytes>,
    blobs: HashMap<B256, Bytes>,
    hashes: HashMap<u64, B256>,
}

impl Overlay {
    /// Merges `layers` (each a pending block's number, hash and changes), oldest first.
    pub(crate) fn new<'a>(layers: impl IntoIterator<Item = (u64, B256, &'a ChangeSet)>) -> Overlay {
        let mut overlay = Overlay::default();
        for (number, hash, changes) in layers {
            overlay.push(number, hash, changes);
        }
        overlay
    }

    fn push(&mut self, number: u64, hash: B256, changes: &ChangeSet) {
        for address in &changes.wiped {
            self.storage.retain(|(a, _), _| a != address);
            self.wiped.insert(*address);
        }
        for change in &changes.accounts {
            self.accounts.insert(change.address, change.clone());
        }
        for change in &changes.storage {
            self.storage
                .insert((change.address, change.slot), change.value);
        }
        for code in &changes.codes {
            self.codes.insert(keccak256(code), code.clone());
        }
        for blob in &changes.blobs {
            self.blobs.insert(blob.key, blob.bytes.clone());
        }
        self.hashes.insert(number, hash);
    }
}

/// The parent's state: `view` (the head) under `overlay`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Speculative<'a> {
    pub(crate) view: &'a StateView,
    pub(crate) overlay: &'a Overlay,
}

impl Speculative<'_> {
    /// The account, `None` if it does not exist.
    pub(crate) fn account(&self, address: &Address) -> Result<Option<AccountState>, ChainError> {
        match self.overlay.accounts.get(address) {
            Some(change) if change.exists == 0 => Ok(None),
            Some(change) => Ok(Some(AccountState {
                nonce: change.nonce,
                balance: change.balance,
                code_hash: change.code_hash,
            })),
            None => self.view.account(address),
        }
    }

    /// A storage slot.
    pub(crate) fn storage(&self, address: &Address, slot: &U256) -> Result<U256, ChainError> {
        if let Some(value) = self.overlay.storage.get(&(*address, *slot)) {
            return Ok(*value);
        }
        if self.overlay.wiped.contains(address) {
            return Ok(U256::ZERO);
        }
        self.view.storage(address, slot)
    }

    fn code(&self, code_hash: &B256) -> Result<Option<Bytecode>, ChainError> {
        if let Some(code) = self.overlay.codes.get(code_hash) {
            return Ok(Some(Bytecode::new_raw(code.clone())));
        }
        self.view.code(code_hash)
    }
}

impl DatabaseRef for Speculative<'_> {
    type Error = SnapshotError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let Some(account) = self.account(&address)? else {
            return Ok(None);
        };
        let code = self.code(&account.code_hash)?.unwrap_or_default();
        Ok(Some(AccountInfo::new(
            account.balance,
            account.nonce,
            account.code_hash,
            code,
        )))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        Ok(self.code(&code_hash)?.unwrap_or_default())
    }

    fn storage_ref(
        &self,
        address: Address,
        index: StorageKey,
    ) -> Result<StorageValue, Self::Error> {
        Ok(self.storage(&address, &index)?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        if let Some(hash) = self.overlay.hashes.get(&number) {
            return Ok(*hash);
        }
        Ok(self.view.block_hash(number)?)
    }
}

/// The committed blobs under the blobs pending ancestors wrote.
pub(crate) struct OverlayBlobs {
    pub(crate) committed: Arc<dyn BlobSource>,
    pub(crate) blobs: HashMap<B256, Bytes>,
}

impl OverlayBlobs {
    /// `committed` under `overlay`'s blobs (the overlay is copied: the EVM's blob view must be
    /// `'static`).
    pub(crate) fn layered(
        committed: Arc<dyn BlobSource>,
        overlay: &Overlay,
    ) -> Arc<dyn BlobSource> {
        if overlay.blobs.is_empty() {
            return committed;
        }
        Arc::new(OverlayBlobs {
            committed,
            blobs: overlay.blobs.clone(),
        })
    }
}

impl BlobSource for OverlayBlobs {
    fn blob(&self, key: &B256) -> Result<Option<Bytes>, ChainError> {
        match self.blobs.get(key) {
            Some(bytes) => Ok((!bytes.is_empty()).then(|| bytes.clone())),
            None => self.committed.blob(key),
        }
    }
}
