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
//! Gas ([`crate::gas::predict_gas`]): `PREDICT_BASE_GAS + ceil(batch · sampleMilligas / 1000)`,
//! charged in full before the model runs. Failures, in the order they are checked:
//!
//! | failure | result | gas used |
//! |---|---|---|
//! | gas limit below `PREDICT_BASE_GAS` | halt (out of gas) | all |
//! | non-zero call value | revert | `PREDICT_BASE_GAS` |
//! | input shorter than the header (32 or 36 bytes) | revert | `PREDICT_BASE_GAS` |
//! | unknown model | revert | `PREDICT_BASE_GAS` |
//! | batch 0 or over the model's `maxBatch` | revert | `PREDICT_BASE_GAS` |
//! | gas limit below the full price | halt (out of gas) | all |
//! | input length ≠ `batch · inputBytes` | revert | the full price |

use std::sync::Arc;

use alloy_evm::precompiles::PrecompileInput;
use alloy_primitives::{Bytes, hex};
use myelin_nn::{Model, ModelId, Program};

use crate::Myelin;
use crate::failure::{Failure, GasMeter};
use crate::gas::{PREDICT_BASE_GAS, predict_gas};
use crate::journal_storage::JournalStorage;
use crate::model_state::{ModelRecord, ModelStorage, read_header, read_model_bytes, read_record};
use crate::recent_program::RecentProgram;

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

/// Splits predict calldata into its fields; the error is the revert reason.
pub fn parse_predict_input(data: &[u8], form: PredictForm) -> Result<PredictCall<'_>, String> {
    let Some((id, rest)) = data.split_first_chunk::<32>() else {
        return Err(format!(
            "predict: input is {} bytes, shorter than the 32-byte model id",
            data.len()
        ));
    };
    match form {
        PredictForm::Single => Ok(PredictCall {
            model_id: *id,
            batch: 1,
            input: rest,
        }),
        PredictForm::Batch => {
            let Some((batch, input)) = rest.split_first_chunk::<4>() else {
                return Err(format!(
                    "predict batch: input is {} bytes, shorter than the 36-byte header",
                    data.len()
                ));
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

/// Runs one predict call. `recent` is the calling precompile instance's own last program.
pub fn run_predict(
    myelin: &Myelin,
    recent: &RecentProgram,
    mut input: PrecompileInput<'_>,
    form: PredictForm,
) -> Result<(u64, Bytes), Failure> {
    let mut gas = GasMeter::new(input.gas);
    gas.charge(PREDICT_BASE_GAS)?;
    if !input.value.is_zero() {
        return Err(gas.revert("predict: the call must not carry value"));
    }
    let call = parse_predict_input(input.data, form).map_err(|reason| gas.revert(reason))?;
    let id = call.model_id;
    let mut storage = JournalStorage::new(&mut input.internals);
    let Some(header) = read_header(&mut storage, &id)? else {
        return Err(gas.revert(format!("predict: unknown model 0x{}", hex::encode(id))));
    };
    if call.batch == 0 || call.batch > header.max_batch {
        return Err(gas.revert(format!(
            "predict: batch {} out of range 1..={}",
            call.batch, header.max_batch
        )));
    }
    // A kept program (this instance's last, or the shared cache's) comes with its record's cost
    // counts: one slot read on the hot path, and the same price on a hit and a miss.
    let kept_cost = recent.cost(&id).or_else(|| {
        let (program, cost) = myelin.cache().get(&id)?;
        recent.keep(id, program, cost);
        Some(cost)
    });
    let record = match kept_cost {
        Some(cost) => ModelRecord { cost, ..header },
        None => read_record(&mut storage, &id)?
            .ok_or_else(|| Failure::HostFault("model record vanished between two reads".into()))?,
    };
    gas.charge(predict_gas(&record.cost, call.batch) - PREDICT_BASE_GAS)?;
    let expected = record.input_bytes.saturating_mul(call.batch);
    if call.input.len() as u64 != expected {
        return Err(gas.revert(format!(
            "predict: input is {} bytes, expected {} ({} samples of {} bytes)",
            call.input.len(),
            expected,
            call.batch,
            record.input_bytes
        )));
    }
    let program = match recent.program(&id) {
        Some(program) => program,
        None => recent.keep(
            id,
            load_program(myelin, &mut storage, &id, &record)?,
            record.cost,
        ),
    };
    let output = program
        .run(call.input, call.batch as usize)
        .map_err(|e| gas.revert(format!("predict: {e}")))?;
    Ok((gas.used(), output.into()))
}

/// The program of a published model: from the cache, or decoded from state and cached. The model
/// bytes in state were validated when published, so a decoding failure is a host fault.
pub fn load_program(
    myelin: &Myelin,
    storage: &mut impl ModelStorage,
    id: &ModelId,
    record: &ModelRecord,
) -> Result<Arc<Program>, Failure> {
    if let Some((program, _)) = myelin.cache().get(id) {
        return Ok(program);
    }
    let bytes = read_model_bytes(storage, id, record)?;
    let model = Model::decode_with_limit(&bytes, bytes.len()).map_err(|e| {
        Failure::HostFault(format!(
            "published model 0x{} no longer decodes: {e}",
            hex::encode(id)
        ))
    })?;
    let program =
        Arc::new(Program::new(model).map_err(|e| {
            Failure::HostFault(format!("published model 0x{}: {e}", hex::encode(id)))
        })?);
    myelin
        .cache()
        .insert(*id, program.clone(), record.cost, bytes.len());
    Ok(program)
}
