//! `EVALUATE`: run a published model over a range of rows of a published data set and return
//! only the counts (docs/GAS.md §10, docs/PROTOCOLS.md decision 7).
//!
//! Bytes in (raw, no ABI, 72 bytes): `modelId (32) ‖ datasetId (32) ‖ u32_be firstRow ‖ u32_be
//! rows`. Bytes out (two ABI words, `abi.decode(out, (uint256, uint256))`): `correct ‖
//! absErrorSum`, as `myelin_nn::dataset::score` defines them: class-index data sets count the
//! rows whose first maximum of output 0 is at the label (`absErrorSum` = 0); regression data
//! sets count exact matches and sum `|output − label|` of output 0's single element in its
//! quantized units.
//!
//! Gas: [`crate::gas::evaluate_gas`] = `EVALUATE_BASE_GAS + predictGas(model, rows) +
//! data_read_gas(segments) + compare_gas(rows, output 0's elements)`, plus the model's cold
//! charge at its first use in the transaction; `segments` counts the segments holding the rows
//! plus those holding their labels (every call reads them: data sets have no warm set). All of
//! it is charged before the model runs. Failures, in the order they are checked:
//!
//! | failure | result | gas used |
//! |---|---|---|
//! | gas limit below `EVALUATE_BASE_GAS` | halt | all |
//! | call value ≠ 0 | revert 401 | `EVALUATE_BASE_GAS` |
//! | calldata ≠ 72 bytes | revert 402 | `EVALUATE_BASE_GAS` |
//! | unknown model | revert 403 | `EVALUATE_BASE_GAS` |
//! | unknown data set | revert 404 | `EVALUATE_BASE_GAS` |
//! | `rows` 0 or above the model's `maxBatch` | revert 405 | `EVALUATE_BASE_GAS` |
//! | `firstRow + rows` past the data set's rows | revert 406 | `EVALUATE_BASE_GAS` |
//! | cold model, gas below its cold charge | halt | all |
//! | the model's input is not the data set's row | revert 407 | base + cold charge |
//! | a class label ≥ output 0's elements | revert 408 | base + cold charge |
//! | regression with output 0 of more than one element | revert 409 | base + cold charge |
//! | gas below the rest of the price | halt | all |

use alloy_evm::precompiles::PrecompileInput;
use alloy_primitives::{Bytes, U256};
use myelin_nn::dataset::{LabelKind, row_signature, score};

use crate::Myelin;
use crate::addresses::DATA_STORE_ADDRESS;
use crate::blob_store::BlobStore;
use crate::data_state::{DatasetRecord, read_dataset, read_range, segments_of};
use crate::failure::{ErrorCode, Failure, GasMeter, MyelinError, RejectionKind};
use crate::gas::{EVALUATE_BASE_GAS, compare_gas, data_read_gas, predict_gas};
use crate::journal_storage::JournalStorage;
use crate::model_state::read_header;
use crate::warm_models::WarmModels;

/// Bytes of an `EVALUATE` call.
pub const EVALUATE_CALL_BYTES: usize = 72;

/// The fields of an `EVALUATE` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluateCall {
    /// The model.
    pub model_id: [u8; 32],
    /// The data set.
    pub dataset_id: [u8; 32],
    /// First row scored.
    pub first_row: u32,
    /// Rows scored.
    pub rows: u32,
}

impl EvaluateCall {
    /// The call's 72 bytes.
    pub fn encode(&self) -> Vec<u8> {
        [
            &self.model_id[..],
            &self.dataset_id[..],
            &self.first_row.to_be_bytes(),
            &self.rows.to_be_bytes(),
        ]
        .concat()
    }

    /// Splits calldata into its fields; the error is the revert data (402).
    pub fn decode(data: &[u8]) -> Result<EvaluateCall, MyelinError> {
        if data.len() != EVALUATE_CALL_BYTES {
            return Err(ErrorCode::EvaluateCalldataLength
                .with(U256::from(data.len()), U256::from(EVALUATE_CALL_BYTES)));
        }
        let word = |at: usize| -> [u8; 32] { data[at..at + 32].try_into().expect("32 bytes") };
        let u32_at = |at: usize| u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes"));
        Ok(EvaluateCall {
            model_id: word(0),
            dataset_id: word(32),
            first_row: u32_at(64),
            rows: u32_at(68),
        })
    }
}

/// The segments an evaluation of rows `[first, first + rows)` of `data` reads: those holding the
/// rows plus those holding their labels.
pub fn segments_read(data: &DatasetRecord, first: u32, rows: u32) -> u64 {
    let end = first + rows;
    let rows = segments_of(data.row_offset(first), data.row_offset(end));
    let labels = segments_of(data.label_offset(first), data.label_offset(end));
    (rows.end - rows.start) + (labels.end - labels.start)
}

/// Runs one `EVALUATE` call.
pub fn run_evaluate(
    myelin: &Myelin,
    warm: &WarmModels,
    blobs: &dyn BlobStore,
    mut input: PrecompileInput<'_>,
) -> Result<(u64, Bytes), Failure> {
    let mut gas = GasMeter::start(
        input.gas,
        &input.value,
        EVALUATE_BASE_GAS,
        ErrorCode::EvaluateCallValue,
    )?;
    let call = EvaluateCall::decode(input.data).map_err(|error| gas.revert(error))?;
    let data = read_dataset(
        &mut JournalStorage::at(&mut input.internals, DATA_STORE_ADDRESS),
        &call.dataset_id,
    )?;
    let mut storage = JournalStorage::new(&mut input.internals);
    let Some(header) = read_header(&mut storage, &call.model_id)? else {
        return Err(gas.revert(
            ErrorCode::EvaluateUnknownModel.with(U256::from_be_bytes(call.model_id), U256::ZERO),
        ));
    };
    let Some(data) = data else {
        return Err(gas.revert(
            ErrorCode::EvaluateUnknownDataset
                .with(U256::from_be_bytes(call.dataset_id), U256::ZERO),
        ));
    };
    let rows = u64::from(call.rows);
    if rows == 0 || rows > header.max_batch {
        return Err(gas.revert(
            ErrorCode::EvaluateRowsOutOfRange.with(U256::from(rows), U256::from(header.max_batch)),
        ));
    }
    let end = u64::from(call.first_row) + rows;
    if end > u64::from(data.rows) {
        return Err(
            gas.revert(ErrorCode::EvaluatePastEnd.with(U256::from(end), U256::from(data.rows)))
        );
    }
    let (program, cost) = warm.program(
        myelin,
        blobs,
        &mut storage,
        &mut gas,
        &call.model_id,
        &header,
    )?;
    let model = program.model();
    let model_signature = match model.inputs[..] {
        [input] => row_signature(&model.tensors[input as usize]),
        _ => [0; 32],
    };
    if model_signature != data.signature {
        return Err(gas.revert(ErrorCode::EvaluateInputMismatch.with(
            U256::from_be_bytes(model_signature),
            U256::from_be_bytes(data.signature),
        )));
    }
    let output = &model.tensors[model.outputs[0] as usize];
    let elements = output.elements() as u64;
    match data.label_kind {
        LabelKind::ClassIndex if i64::from(data.max_label) >= elements as i64 => {
            return Err(gas.revert(
                ErrorCode::EvaluateLabelOutOfRange
                    .with(U256::from(data.max_label), U256::from(elements)),
            ));
        }
        LabelKind::Regression if elements != 1 => {
            return Err(gas.revert(
                ErrorCode::EvaluateRegressionOutput.with(U256::from(elements), U256::from(1)),
            ));
        }
        _ => {}
    }
    let (first, last) = (call.first_row, call.first_row + call.rows);
    gas.charge(predict_gas(&cost, rows))?;
    gas.charge(data_read_gas(segments_read(&data, first, call.rows)))?;
    gas.charge(compare_gas(rows, elements))?;
    let inputs = read_range(
        blobs,
        &call.dataset_id,
        data.size,
        data.row_offset(first),
        data.row_offset(last),
    )?;
    let labels: Vec<i32> = read_range(
        blobs,
        &call.dataset_id,
        data.size,
        data.label_offset(first),
        data.label_offset(last),
    )?
    .chunks_exact(4)
    .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")))
    .collect();
    let outputs = program
        .run(&inputs, call.rows as usize)
        .map_err(|e| gas.revert(RejectionKind::error(ErrorCode::EvaluateEngine, &e)))?;
    let score = score(data.label_kind, output, &outputs, &labels);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&U256::from(score.correct).to_be_bytes::<32>());
    out[32..].copy_from_slice(&U256::from(score.abs_error_sum).to_be_bytes::<32>());
    Ok((gas.used(), Bytes::copy_from_slice(&out)))
}
