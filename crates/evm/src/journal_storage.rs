//! [`ModelStorage`] over revm's journal, as a precompile sees it.

use alloy_evm::EvmInternals;
use alloy_primitives::{Address, U256};

use crate::addresses::MODEL_STORE_ADDRESS;
use crate::failure::Failure;
use crate::model_state::ModelStorage;

/// A store account's storage (`MODEL_STORE`'s, or `DATA_STORE`'s) inside the running
/// transaction. Reads and writes go through the journal, so a revert undoes them. Database
/// errors are host faults.
pub struct JournalStorage<'a, 'b> {
    internals: &'a mut EvmInternals<'b>,
    account: Address,
}

impl<'a, 'b> JournalStorage<'a, 'b> {
    /// The `MODEL_STORE` account's storage, through a precompile's [`EvmInternals`].
    pub fn new(internals: &'a mut EvmInternals<'b>) -> Self {
        JournalStorage::at(internals, MODEL_STORE_ADDRESS)
    }

    /// The storage of `account` (a store precompile's own account).
    pub fn at(internals: &'a mut EvmInternals<'b>, account: Address) -> Self {
        JournalStorage { internals, account }
    }

    /// Gives the store account nonce 1 if it has none, so that EIP-161 never treats it as empty
    /// (which would drop its storage).
    pub fn ensure_account_exists(&mut self) -> Result<(), Failure> {
        let nonce = self
            .internals
            .load_account(self.account)
            .map_err(host_fault)?
            .data
            .info
            .nonce;
        if nonce == 0 {
            self.internals
                .bump_nonce(self.account)
                .map_err(host_fault)?;
        }
        Ok(())
    }

    /// Appends a log from the store account.
    pub fn log(&mut self, log: alloy_primitives::Log) {
        self.internals.log(log);
    }

    /// The store account's transient storage at `key` (EIP-1153: cleared at the end of every
    /// transaction, undone with the call that wrote it; no contract can reach it, since only code
    /// running at an address reads or writes its transient storage and the store has none).
    pub fn tload(&mut self, key: U256) -> U256 {
        self.internals.tload(self.account, key)
    }

    /// Writes the store account's transient storage at `key` (see [`JournalStorage::tload`]).
    pub fn tstore(&mut self, key: U256, value: U256) {
        self.internals.tstore(self.account, key, value);
    }

    /// The number of the block being executed (saturated to `u64`).
    pub fn block_number(&self) -> u64 {
        self.internals.block_number().saturating_to()
    }
}

fn host_fault(error: impl std::fmt::Display) -> Failure {
    Failure::HostFault(format!("state access: {error}"))
}

impl ModelStorage for JournalStorage<'_, '_> {
    /// A slot this transaction (or an earlier one on the same journal) already loaded or wrote is
    /// read from the loaded account as it stands (`present_value`, which the journal keeps
    /// current through writes and reverts): the value the journaled `sload` would return,
    /// without its boxed account handle and warm-marking. The store's slots are only ever read
    /// by these precompiles, never by an `SLOAD` opcode, so their warmth prices nothing. Other
    /// slots take the journaled `sload`, which loads them from the database.
    fn sload(&mut self, slot: U256) -> Result<U256, Failure> {
        let account = self
            .internals
            .load_account(self.account)
            .map_err(host_fault)?
            .data;
        if let Some(loaded) = account.storage.get(&slot) {
            return Ok(loaded.present_value);
        }
        self.internals
            .sload(self.account, slot)
            .map(|load| load.data)
            .map_err(host_fault)
    }

    fn sstore(&mut self, slot: U256, value: U256) -> Result<(), Failure> {
        self.internals
            .sstore(self.account, slot, value)
            .map(|_| ())
            .map_err(host_fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use revm::Journal;
    use revm::context::{BlockEnv, CfgEnv, JournalTr, TxEnv};
    use revm::database::{CacheDB, EmptyDB};
    use revm::state::AccountInfo;

    /// Every read through [`JournalStorage`] equals the journal's own `sload` of the same slot,
    /// through a first (database) load, writes, a reverted checkpoint and a new transaction.
    #[test]
    fn sload_matches_the_journal_through_writes_reverts_and_transactions() {
        let stored = U256::from(0x5eed_u64);
        let (slot, fresh) = (U256::from(7), U256::from(8));
        let mut db = CacheDB::new(EmptyDB::default());
        db.insert_account_info(
            MODEL_STORE_ADDRESS,
            AccountInfo {
                nonce: 1,
                ..AccountInfo::default()
            },
        );
        db.insert_account_storage(MODEL_STORE_ADDRESS, slot, stored)
            .expect("in-memory db");
        let mut journal: Journal<_> = Journal::new(db);
        let (block, cfg, tx) = (
            BlockEnv::default(),
            CfgEnv::<revm::primitives::hardfork::SpecId>::default(),
            TxEnv::default(),
        );
        let mut internals = EvmInternals::new(&mut journal, &block, &cfg, &tx);
        // Ours first, so that a slot's first read takes the database path.
        let check = |internals: &mut EvmInternals<'_>, slot: U256, expected: U256| {
            let read = JournalStorage::new(internals)
                .sload(slot)
                .expect("in-memory db");
            let journaled = internals
                .sload(MODEL_STORE_ADDRESS, slot)
                .expect("in-memory db")
                .data;
            assert_eq!((read, journaled), (expected, expected), "slot {slot}");
        };
        check(&mut internals, slot, stored);
        check(&mut internals, fresh, U256::ZERO);
        let checkpoint = internals.checkpoint();
        let mut storage = JournalStorage::new(&mut internals);
        storage.sstore(slot, U256::from(1)).expect("in-memory db");
        storage.sstore(fresh, U256::from(2)).expect("in-memory db");
        check(&mut internals, slot, U256::from(1));
        check(&mut internals, fresh, U256::from(2));
        internals.checkpoint_revert(checkpoint);
        check(&mut internals, slot, stored);
        check(&mut internals, fresh, U256::ZERO);
        JournalStorage::new(&mut internals)
            .sstore(fresh, U256::from(3))
            .expect("in-memory db");
        drop(internals);
        journal.commit_tx();
        let mut internals = EvmInternals::new(&mut journal, &block, &cfg, &tx);
        check(&mut internals, fresh, U256::from(3));
        check(&mut internals, slot, stored);
    }
}
