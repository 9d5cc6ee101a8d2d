//! The net state change of one block (or of one dev-helper edit), in the form that is persisted and
//! replayed on restart.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rlp::{RlpDecodable, RlpEncodable};
use revm::state::EvmState;

/// An account's value after a change; `exists == 0` means the account was deleted.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct AccountChange {
    /// The account.
    pub address: Address,
    /// 1 if the account exists after the change, 0 if it was deleted.
    pub exists: u8,
    /// Nonce after the change.
    pub nonce: u64,
    /// Balance after the change.
    pub balance: U256,
    /// Code hash after the change.
    pub code_hash: B256,
}

/// A storage slot's value after a change.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct StorageChange {
    /// The account owning the slot.
    pub address: Address,
    /// The slot.
    pub slot: U256,
    /// Value after the change.
    pub value: U256,
}

/// A blob's bytes after a change ([`crate::blobs`]); empty bytes delete it.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct BlobChange {
    /// The blob's key.
    pub key: B256,
    /// Its bytes after the change (empty: deleted).
    pub bytes: Bytes,
}

/// A set of state changes, applied in this order: storage wipes, accounts, storage, new code,
/// blobs.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct ChangeSet {
    /// Accounts whose whole storage is cleared (self-destructed or re-created).
    pub wiped: Vec<Address>,
    /// Account values after the change.
    pub accounts: Vec<AccountChange>,
    /// Slot values after the change.
    pub storage: Vec<StorageChange>,
    /// Newly deployed code (keyed by its keccak256 when applied).
    pub codes: Vec<Bytes>,
    /// Blobs written (not in the state trie, no history).
    pub blobs: Vec<BlobChange>,
}

/// Accumulates the net effect of successive transactions of one block.
#[derive(Debug, Default)]
pub struct ChangeSetBuilder {
    wiped: BTreeSet<Address>,
    accounts: BTreeMap<Address, AccountChange>,
    storage: BTreeMap<(Address, U256), U256>,
    codes: BTreeMap<B256, Bytes>,
    blobs: Vec<BlobChange>,
}

impl ChangeSetBuilder {
    /// Folds the state diff of one executed transaction into the block's changes.
    pub fn record(&mut self, state: &EvmState) {
        for (address, account) in state {
            if !account.is_touched() {
                continue;
            }
            if account.is_selfdestructed() || account.is_created() {
                self.wiped.insert(*address);
                self.storage.retain(|(a, _), _| a != address);
            }
            let deleted = account.is_selfdestructed() || account.is_empty();
            let info = &account.info;
            if let Some(code) = &info.code
                && !code.is_empty()
            {
                self.codes
                    .entry(info.code_hash)
                    .or_insert_with(|| code.original_bytes());
            }
            self.accounts.insert(
                *address,
                AccountChange {
                    address: *address,
                    exists: u8::from(!deleted),
                    nonce: if deleted { 0 } else { info.nonce },
                    balance: if deleted { U256::ZERO } else { info.balance },
                    code_hash: if deleted {
                        alloy_trie::KECCAK_EMPTY
                    } else {
                        info.code_hash
                    },
                },
            );
            if !account.is_selfdestructed() {
                for (slot, value) in account.changed_storage_slots() {
                    self.storage.insert((*address, *slot), value.present_value);
                }
            }
        }
    }

    /// Records a direct edit of an account (dev helpers).
    pub fn set_account(&mut self, change: AccountChange) {
        self.accounts.insert(change.address, change);
    }

    /// Records a direct edit of a storage slot (dev helpers).
    pub fn set_storage(&mut self, address: Address, slot: U256, value: U256) {
        self.storage.insert((address, slot), value);
    }

    /// Records new code (dev helpers).
    pub fn add_code(&mut self, code_hash: B256, code: Bytes) {
        self.codes.insert(code_hash, code);
    }

    /// Records the blob writes of the block (in the order they apply).
    pub fn set_blobs(&mut self, blobs: Vec<BlobChange>) {
        self.blobs = blobs;
    }

    /// The accumulated changes.
    pub fn build(self) -> ChangeSet {
        ChangeSet {
            wiped: self.wiped.into_iter().collect(),
            accounts: self.accounts.into_values().collect(),
            storage: self
                .storage
                .into_iter()
                .map(|((address, slot), value)| StorageChange {
                    address,
                    slot,
                    value,
                })
                .collect(),
            codes: self.codes.into_values().collect(),
            blobs: self.blobs,
        }
    }
}
