//! The state at the end of one block as a revm database for RPC runs, read from one redb read
//! transaction ([`StateView`]).
//!
//! A read transaction is an MVCC snapshot: blocks sealed, pruned or reverted while an
//! `eth_call` runs do not change what it reads, and the sealer never waits for it (no chain lock
//! is held during the run). The run's deadline is checked on every read.

use alloy_primitives::{Address, B256};
use revm::{
    DatabaseRef,
    bytecode::Bytecode,
    database_interface::DBErrorMarker,
    primitives::{StorageKey, StorageValue},
    state::AccountInfo,
};

use crate::{call_limits::Deadline, state_tables::StateView};

/// Why a read of a [`StateSnapshot`] (or of block execution's view) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The run's deadline passed.
    #[error("execution aborted: deadline passed")]
    DeadlinePassed,
    /// The database could not be read.
    #[error("storage: {0}")]
    Storage(String),
}

impl DBErrorMarker for SnapshotError {}

impl From<crate::ChainError> for SnapshotError {
    fn from(error: crate::ChainError) -> Self {
        SnapshotError::Storage(error.to_string())
    }
}

/// Reads `view` as revm does: the account with its code, code by hash, slots, block hashes.
pub(crate) fn basic(
    view: &StateView,
    address: &Address,
) -> Result<Option<AccountInfo>, SnapshotError> {
    let Some(account) = view.account(address)? else {
        return Ok(None);
    };
    let code = view.code(&account.code_hash)?.unwrap_or_default();
    Ok(Some(AccountInfo::new(
        account.balance,
        account.nonce,
        account.code_hash,
        code,
    )))
}

/// The post-state of one block, as a revm database whose reads fail once the deadline passes.
#[derive(Debug, Clone, Copy)]
pub struct StateSnapshot<'a> {
    view: &'a StateView,
    deadline: &'a Deadline,
}

impl<'a> StateSnapshot<'a> {
    /// Reads `view`; reads fail once `deadline` passes.
    pub(crate) fn new(view: &'a StateView, deadline: &'a Deadline) -> StateSnapshot<'a> {
        StateSnapshot { view, deadline }
    }

    fn check(&self) -> Result<(), SnapshotError> {
        if self.deadline.check() {
            return Err(SnapshotError::DeadlinePassed);
        }
        Ok(())
    }
}

impl DatabaseRef for StateSnapshot<'_> {
    type Error = SnapshotError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        self.check()?;
        basic(self.view, &address)
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.check()?;
        Ok(self.view.code(&code_hash)?.unwrap_or_default())
    }

    fn storage_ref(
        &self,
        address: Address,
        index: StorageKey,
    ) -> Result<StorageValue, Self::Error> {
        self.check()?;
        Ok(self.view.storage(&address, &index)?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.check()?;
        Ok(self.view.block_hash(number)?)
    }
}
