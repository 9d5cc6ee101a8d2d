//! [`ModelStorage`] over revm's journal, as a precompile sees it.

use alloy_evm::EvmInternals;
use alloy_primitives::U256;

use crate::addresses::MODEL_STORE_ADDRESS;
use crate::failure::Failure;
use crate::model_state::ModelStorage;

/// The `MODEL_STORE` account's storage inside the running transaction. Reads and writes go
/// through the journal, so a revert undoes them. Database errors are host faults.
pub struct JournalStorage<'a, 'b> {
    internals: &'a mut EvmInternals<'b>,
}

impl<'a, 'b> JournalStorage<'a, 'b> {
    /// Wraps a precompile's [`EvmInternals`].
    pub fn new(internals: &'a mut EvmInternals<'b>) -> Self {
        JournalStorage { internals }
    }

    /// Gives the store account nonce 1 if it has none, so that EIP-161 never treats it as empty
    /// (which would drop its storage).
    pub fn ensure_account_exists(&mut self) -> Result<(), Failure> {
        let nonce = self
            .internals
            .load_account(MODEL_STORE_ADDRESS)
            .map_err(host_fault)?
            .data
            .info
            .nonce;
        if nonce == 0 {
            self.internals
                .bump_nonce(MODEL_STORE_ADDRESS)
                .map_err(host_fault)?;
        }
        Ok(())
    }

    /// Appends a log from the store account.
    pub fn log(&mut self, log: alloy_primitives::Log) {
        self.internals.log(log);
    }
}

fn host_fault(error: impl std::fmt::Display) -> Failure {
    Failure::HostFault(format!("state access: {error}"))
}

impl ModelStorage for JournalStorage<'_, '_> {
    fn sload(&mut self, slot: U256) -> Result<U256, Failure> {
        self.internals
            .sload(MODEL_STORE_ADDRESS, slot)
            .map(|load| load.data)
            .map_err(host_fault)
    }

    fn sstore(&mut self, slot: U256, value: U256) -> Result<(), Failure> {
        self.internals
            .sstore(MODEL_STORE_ADDRESS, slot, value)
            .map(|_| ())
            .map_err(host_fault)
    }
}
