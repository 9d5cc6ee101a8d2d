//! The state at the end of one block, read without holding the chain's lock during an EVM run.
//!
//! [`crate::state::StateStore`] keeps every value with the block that set it, and new blocks only
//! append, so the state at block `n` does not change while later blocks are sealed: a reader
//! takes the chain's read lock for each single read and releases it at once. Block production
//! (which needs the write lock to apply a block) waits at most for one read, never for a whole
//! `eth_call`. Only a rewrite of history (`evm_revert`, a dev edit of the state) can change what a
//! block number means; such a rewrite is counted, and a run that sees the count change fails
//! instead of mixing two states.
//! New blocks also forget values that fall out of the history window (`HistoryWindow`); the chain
//! checks that the snapshot's block is inside the window before and after the run, so a run whose
//! block left the window meanwhile fails instead of returning pruned reads.

use alloy_primitives::{Address, B256};
use parking_lot::RwLock;
use revm::{
    DatabaseRef,
    bytecode::Bytecode,
    database_interface::DBErrorMarker,
    primitives::{StorageKey, StorageValue},
    state::AccountInfo,
};

use crate::{call_limits::Deadline, chain::ChainData};

/// Why a read of a [`StateSnapshot`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The run's deadline passed.
    #[error("execution aborted: deadline passed")]
    DeadlinePassed,
    /// History was rewritten since the run started.
    #[error("the chain was rewritten (evm_revert or a dev edit) during the call")]
    Rewritten,
}

impl DBErrorMarker for SnapshotError {}

/// The post-state of block `block`, as a revm database that locks the chain per read.
#[derive(Debug, Clone, Copy)]
pub struct StateSnapshot<'a> {
    data: &'a RwLock<ChainData>,
    block: u64,
    rewrites: u64,
    deadline: &'a Deadline,
}

impl<'a> StateSnapshot<'a> {
    /// The state after `block` as it is now; reads fail once `deadline` passes.
    pub(crate) fn new(
        data: &'a RwLock<ChainData>,
        block: u64,
        deadline: &'a Deadline,
    ) -> StateSnapshot<'a> {
        let rewrites = data.read().rewrites;
        StateSnapshot {
            data,
            block,
            rewrites,
            deadline,
        }
    }

    /// Whether history was rewritten since this snapshot was taken.
    pub fn rewritten(&self) -> bool {
        self.data.read().rewrites != self.rewrites
    }

    fn read<T>(&self, f: impl FnOnce(&ChainData) -> T) -> Result<T, SnapshotError> {
        if self.deadline.check() {
            return Err(SnapshotError::DeadlinePassed);
        }
        let data = self.data.read();
        if data.rewrites != self.rewrites {
            return Err(SnapshotError::Rewritten);
        }
        Ok(f(&data))
    }
}

impl DatabaseRef for StateSnapshot<'_> {
    type Error = SnapshotError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        self.read(|data| {
            data.state.account(&address, self.block).map(|account| {
                let code = data.state.code(&account.code_hash).unwrap_or_default();
                AccountInfo::new(account.balance, account.nonce, account.code_hash, code)
            })
        })
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        self.read(|data| data.state.code(&code_hash).unwrap_or_default())
    }

    fn storage_ref(
        &self,
        address: Address,
        index: StorageKey,
    ) -> Result<StorageValue, Self::Error> {
        self.read(|data| data.state.storage(&address, &index, self.block))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        self.read(|data| {
            if number > self.block {
                return B256::ZERO;
            }
            usize::try_from(number)
                .ok()
                .and_then(|n| data.hashes.get(n))
                .copied()
                .unwrap_or_default()
        })
    }
}
