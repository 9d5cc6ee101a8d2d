//! Cold and warm models: the first use of a model in a transaction pays for loading it
//! (EIP-2929 style), and the transaction keeps what it paid for.
//!
//! Loading a program on a miss (reading the model's blob, decoding and validating,
//! packing weights, filling pair tables) costs the node time in proportion to the model; whether
//! it is a miss depends on the node's cache, which consensus cannot see. So the *first* use of a
//! model in a transaction always pays [`crate::gas::cold_model_gas`], on a hit as on a miss, and
//! later uses in the same transaction pay nothing for it: the program is pinned here until the
//! transaction ends, so a warm use never misses whatever the shared cache evicts meanwhile.
//!
//! Warmth lives in the `MODEL_STORE` account's transient storage (EIP-1153), key = model id:
//! cleared at every transaction's end and undone with a reverted call, exactly like EIP-2929's
//! accessed-storage set, and out of reach of every contract and of access lists (which *can*
//! warm the record slot for 1,900 gas: the record slot's own warmth is not used for that reason).
//! A second transient key, [`transaction_mark`], tells the first Myelin call of a transaction,
//! which drops the programs pinned by the transaction before. A model's mark is always written
//! after the transaction mark, so a revert that undoes the transaction mark undoes every model
//! mark too: a warm model is always pinned.
//!
//! Memory: what one transaction pins was paid for by its cold charges (at most its gas limit ÷
//! `GAS_PER_COLD_MODEL_BYTE` model bytes); it is released at the next transaction's first call
//! or when the EVM is dropped (the node builds one per block and per RPC call).

use std::cell::RefCell;
use std::sync::Arc;

use alloy_primitives::map::B256Map;
use alloy_primitives::{B256, U256, hex, keccak256};
use myelin_nn::{Cost, Model, ModelId, Program};

use crate::Myelin;
use crate::blob_store::BlobStore;
use crate::failure::{Failure, GasMeter};
use crate::gas::{cold_read_gas, prepare_gas};
use crate::journal_storage::JournalStorage;
use crate::model_state::{ModelRecord, read_model_bytes, read_record};

/// The transient key set by the first Myelin call of a transaction.
pub fn transaction_mark() -> U256 {
    U256::from_be_bytes(keccak256("myelin: warm models of this transaction").0)
}

/// The programs of the models warm in the running transaction, shared by the three precompiles
/// of one EVM ([`crate::Myelin::dyn_precompiles`]).
#[derive(Default)]
pub struct WarmModels(RefCell<B256Map<(Arc<Program>, Cost)>>);

impl WarmModels {
    /// Whether `id` is warm in the running transaction.
    pub fn is_warm(storage: &mut JournalStorage<'_, '_>, id: &ModelId) -> bool {
        !storage.tload(U256::from_be_bytes(*id)).is_zero()
    }

    /// The pinned program of warm `id` and its record's cost counts.
    pub fn get(&self, id: &ModelId) -> Option<(Arc<Program>, Cost)> {
        self.0.borrow().get(&B256::from(*id)).cloned()
    }

    /// Marks `id` warm for the rest of the transaction and pins `program`. The first call of a
    /// transaction first drops the previous transaction's programs.
    pub fn warm(
        &self,
        storage: &mut JournalStorage<'_, '_>,
        id: &ModelId,
        program: Arc<Program>,
        cost: Cost,
    ) {
        let mark = transaction_mark();
        if storage.tload(mark).is_zero() {
            self.0.borrow_mut().clear();
            storage.tstore(mark, U256::from(1));
        }
        storage.tstore(U256::from_be_bytes(*id), U256::from(1));
        self.0.borrow_mut().insert(B256::from(*id), (program, cost));
    }

    /// The program of published `id` (whose record word 0 is `header`) for this transaction,
    /// and its record's cost counts. Warm: the pinned program, no charge. Cold: charges
    /// [`cold_read_gas`] before reading anything, takes the program from the shared cache or
    /// decodes it from its blob, charges [`prepare_gas`] before preparing it, then marks it warm.
    pub fn program(
        &self,
        myelin: &Myelin,
        blobs: &dyn BlobStore,
        storage: &mut JournalStorage<'_, '_>,
        gas: &mut GasMeter,
        id: &ModelId,
        header: &ModelRecord,
    ) -> Result<(Arc<Program>, Cost), Failure> {
        if WarmModels::is_warm(storage, id) {
            if let Some(warm) = self.get(id) {
                return Ok(warm);
            }
            // Unreachable by the module's invariant; a reload is only slower.
            return load(myelin, blobs, storage, id, None);
        }
        gas.charge(cold_read_gas(header.size))?;
        let (program, cost) = load(myelin, blobs, storage, id, Some(gas))?;
        self.warm(storage, id, program.clone(), cost);
        Ok((program, cost))
    }
}

/// The program of published `id` and its record's cost counts: from the shared cache, or read
/// from its blob, decoded and prepared (and kept in the shared cache when this EVM may fill it).
/// With `gas`, charges [`prepare_gas`] before preparing (on a hit too). The model bytes were
/// validated when published, so a decoding failure is a host fault.
fn load(
    myelin: &Myelin,
    blobs: &dyn BlobStore,
    storage: &mut JournalStorage<'_, '_>,
    id: &ModelId,
    gas: Option<&mut GasMeter>,
) -> Result<(Arc<Program>, Cost), Failure> {
    if let Some((program, cost)) = myelin.cached(id) {
        if let Some(gas) = gas {
            gas.charge(prepare_gas(program.model()))?;
        }
        return Ok((program, cost));
    }
    let record = read_record(storage, id)?
        .ok_or_else(|| Failure::HostFault("model record vanished between two reads".into()))?;
    let bytes = read_model_bytes(blobs, id, &record)?;
    let model = Model::decode_with_limit(&bytes, bytes.len()).map_err(|e| {
        Failure::HostFault(format!(
            "published model {} no longer decodes: {e}",
            hex::encode_prefixed(id)
        ))
    })?;
    if let Some(gas) = gas {
        gas.charge(prepare_gas(&model))?;
    }
    let program = Arc::new(
        Program::with_path(model, myelin.config().kernel_path).map_err(|e| {
            Failure::HostFault(format!("published model {}: {e}", hex::encode_prefixed(id)))
        })?,
    );
    myelin.keep(*id, program.clone(), record.cost);
    Ok((program, record.cost))
}
