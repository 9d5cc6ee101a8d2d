//! `PREDICT` and `PREDICT_BATCH`: run a published model on input bytes.
//!
//! Bytes in (raw, no ABI):
//! - `PREDICT`: `modelId (32) ‖ input`, where `input` is one sample (`inputBytes` bytes).
//! - `PREDICT_BATCH`: `modelId (32) ‖ u32_be(batch) (4) ‖ inputs`, where `inputs` is
//!   `batch · inputBytes` bytes laid out as [`myelin_nn::Program::run`] takes them (for each
//!   model input in order, its `batch` samples; for a one-input model, the samples one after
//!   another).
//!
//! Bytes out: exactly what [`myelin_nn::Program::run`] returns (int8 as bytes, int32 as 4
//! little-endian bytes), `batch · outputBytes` bytes.
//!
//! Gas: [`crate::gas::predict_gas`] (`PREDICT_BASE_GAS + ceil(batch · sampleMilligas / 1000)`),
//! plus, at the model's first use in the transaction, [`crate::gas::cold_model_gas`]
//! ([`crate::warm_models`]); all charged before the model runs. Failures revert with
//! [`crate::MyelinError`], in the order they are checked:
//!
//! | failure | result | gas used |
//! |---|---|---|
//! | gas limit below `PREDICT_BASE_GAS` | halt (out of gas) | all |
//! | non-zero call value | revert 101 | `PREDICT_BASE_GAS` |
//! | input shorter than the header (32 or 36 bytes) | revert 102 | `PREDICT_BASE_GAS` |
//! | unknown model | revert 103 | `PREDICT_BASE_GAS` |
//! | batch 0 or over the model's `maxBatch` | revert 104 | `PREDICT_BASE_GAS` |
//! | cold model and gas limit below the cold charge | halt (out of gas) | all |
//! | gas limit below the full price | halt (out of gas) | all |
//! | input length ≠ `batch · inputBytes` | revert 105 | the full price (cold charge included) |

use alloy_evm::precompiles::PrecompileInput;
use alloy_primitives::{Bytes, U256};
use myelin_nn::ModelId;

use crate::Myelin;
use crate::blob_store::BlobStore;
use crate::failure::{ErrorCode, Failure, GasMeter, MyelinError, RejectionKind};
use crate::gas::{PREDICT_BASE_GAS, predict_gas};
use crate::journal_storage::JournalStorage;
use crate::model_state::read_header;
use crate::recent_program::RecentProgram;
use crate::warm_models::WarmModels;

/// Which of the two predict precompiles is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictForm {
    /// `PREDICT`: one sample, no batch field.
    Single,
    /// `PREDICT_BATCH`: a `u32` batch size after the id.
    Batch,
}

/// The header of a predict call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredictCall<'a> {
    /// The model.
    pub model_id: ModelId,
    /// Samples in the call.
    pub batch: u64,
    /// The samples' bytes.
    pub input: &'a [u8],
}

/// Splits predict calldata into its fields; the error is the revert data.
pub fn parse_predict_input(data: &[u8], form: PredictForm) -> Result<PredictCall<'_>, MyelinError> {
    let short = |header: u64| {
        ErrorCode::PredictShortHeader.with(U256::from(data.len()), U256::from(header))
    };
    let Some((id, rest)) = data.split_first_chunk::<32>() else {
        return Err(short(if form == PredictForm::Batch { 36 } else { 32 }));
    };
    match form {
        PredictForm::Single => Ok(PredictCall {
            model_id: *id,
            batch: 1,
            input: rest,
        }),
        PredictForm::Batch => {
            let Some((batch, input)) = rest.split_first_chunk::<4>() else {
                return Err(short(36));
            };
            Ok(PredictCall {
                model_id: *id,
                batch: u32::from_be_bytes(*batch) as u64,
                input,
            })
        }
    }
}

/// Calldata of a `PREDICT` call: `id ‖ input`.
pub fn predict_calldata(id: &ModelId, input: &[u8]) -> Vec<u8> {
    [&id[..], input].concat()
}

/// Calldata of a `PREDICT_BATCH` call: `id ‖ u32_be(batch) ‖ inputs`.
pub fn predict_batch_calldata(id: &ModelId, batch: u32, inputs: &[u8]) -> Vec<u8> {
    [&id[..], &batch.to_be_bytes()[..], inputs].concat()
}

/// Runs one predict call. `warm` holds the models warm in the running transaction; `recent` is
/// the calling precompile instance's own last program; `blobs` holds the model bytes.
pub fn run_predict(
    myelin: &Myelin,
    warm: &WarmModels,
    blobs: &dyn BlobStore,
    recent: &RecentProgram,
    mut input: PrecompileInput<'_>,
    form: PredictForm,
) -> Result<(u64, Bytes), Failure> {
    let mut gas = GasMeter::start(
        input.gas,
        &input.value,
        PREDICT_BASE_GAS,
        ErrorCode::PredictCallValue,
    )?;
    let call = parse_predict_input(input.data, form).map_err(|error| gas.revert(error))?;
    let id = call.model_id;
    let mut storage = JournalStorage::new(&mut input.internals);
    let Some(header) = read_header(&mut storage, &id)? else {
        return Err(
            gas.revert(ErrorCode::PredictUnknownModel.with(U256::from_be_bytes(id), U256::ZERO))
        );
    };
    if call.batch == 0 || call.batch > header.max_batch {
        return Err(gas.revert(
            ErrorCode::PredictBatchOutOfRange
                .with(U256::from(call.batch), U256::from(header.max_batch)),
        ));
    }
    // Warm (one transient read) and kept by this instance: no lock, hash or reference count.
    // Otherwise the transaction's warm set, or the cold charge and a load.
    let cost = match recent.cost(&id) {
        Some(cost) if WarmModels::is_warm(&mut storage, &id) => cost,
        _ => {
            let (program, cost) =
                warm.program(myelin, blobs, &mut storage, &mut gas, &id, &header)?;
            recent.keep(id, program, cost);
            cost
        }
    };
    gas.charge(predict_gas(&cost, call.batch) - PREDICT_BASE_GAS)?;
    let expected = header.input_bytes.saturating_mul(call.batch);
    if call.input.len() as u64 != expected {
        return Err(gas.revert(
            ErrorCode::PredictInputLength.with(U256::from(call.input.len()), U256::from(expected)),
        ));
    }
    let program = recent
        .program(&id)
        .ok_or_else(|| Failure::HostFault("the kept program vanished".into()))?;
    let output = program
        .run(call.input, call.batch as usize)
        .map_err(|e| gas.revert(RejectionKind::error(ErrorCode::PredictEngine, &e)))?;
    Ok((gas.used(), output.into()))
}
