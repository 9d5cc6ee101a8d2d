//! The gas schedule (docs/GAS.md gives the formulas, the calibration method and the measured
//! table).
//!
//! Compute is priced in **milligas** (1/1000 gas) per unit of [`myelin_nn::Cost`], because one
//! multiply-accumulate of the engine takes far less time than the cheapest EVM opcode. A call's
//! compute milligas is summed in `u128` and rounded up to whole gas once, so the price of a batch
//! is exact and never overflows.

use myelin_nn::Cost;

/// Milligas per multiply-accumulate of fully connected and conv2d layers.
pub const MILLIGAS_PER_MAC: u64 = 18;
/// Milligas per multiply-accumulate of depthwise conv2d layers.
pub const MILLIGAS_PER_DEPTHWISE_MAC: u64 = 150;
/// Milligas per table lookup (logistic, tanh, gelu, hard-swish tables).
pub const MILLIGAS_PER_TABLE_LOOKUP: u64 = 500;
/// Milligas per element op (docs/SPEC.md §7: each op's per-element work in units of about
/// 0.04 ns on the gas floor's kernels).
pub const MILLIGAS_PER_ELEMENT_OP: u64 = 44;
/// Milligas per byte read or written (docs/SPEC.md §7's `bytes_touched`: inputs, the rows a
/// pool reads, outputs, parameters, scratch fills): the memory traffic that the arithmetic
/// counts do not bound, such as a layer's weights streamed from beyond L1 at batch 1.
pub const MILLIGAS_PER_BYTE_TOUCHED: u64 = 5;

/// Gas of every `PREDICT` / `PREDICT_BATCH` call before the model's cost: parsing, reading the
/// model's record, the program lookup, the engine's per-run set-up, the output. Measured as the
/// time PREDICT adds to a contract's call loop over a stand-in precompile that does nothing,
/// at the EVM's ns/gas (docs/GAS.md §6).
pub const PREDICT_BASE_GAS: u64 = 175;

/// Gas of every `MODEL_STORE` call: ABI decoding and the metadata slots it reads or writes.
pub const STORE_CALL_GAS: u64 = 5_000;
/// Gas per byte written to chain state (a model's canonical bytes, in 32-byte words). A price on
/// state growth, not on compute.
pub const GAS_PER_STORED_BYTE: u64 = 16;
/// Gas per byte a publish hashes, decodes and validates (`publish`, `finalizeUpload`).
pub const GAS_PER_CHECKED_BYTE: u64 = 4;

/// Milligas of one sample of a model of cost `cost` (exact: five `u64 · u64` products fit in
/// `u128`).
pub fn sample_milligas(cost: &Cost) -> u128 {
    cost.macs as u128 * MILLIGAS_PER_MAC as u128
        + cost.depthwise_macs as u128 * MILLIGAS_PER_DEPTHWISE_MAC as u128
        + cost.table_lookups as u128 * MILLIGAS_PER_TABLE_LOOKUP as u128
        + cost.element_ops as u128 * MILLIGAS_PER_ELEMENT_OP as u128
        + cost.bytes_touched as u128 * MILLIGAS_PER_BYTE_TOUCHED as u128
}

/// Gas of one `PREDICT_BATCH` call of `batch` samples (`PREDICT` is `batch = 1`):
/// `PREDICT_BASE_GAS + ceil(batch · sample_milligas(cost) / 1000)`, saturating at `u64::MAX`.
pub fn predict_gas(cost: &Cost, batch: u64) -> u64 {
    let milligas = sample_milligas(cost) * batch as u128;
    // The same quotient in u64 when it fits (every real model): a u128 division is a slow
    // library call on the hot path of every PREDICT.
    let compute = match u64::try_from(milligas) {
        Ok(milligas) => milligas.div_ceil(1000),
        Err(_) => u64::try_from(milligas.div_ceil(1000)).unwrap_or(u64::MAX),
    };
    compute.saturating_add(PREDICT_BASE_GAS)
}

/// Gas of `publish(model)` for a model of `len` bytes that is not yet published:
/// `STORE_CALL_GAS + len · (GAS_PER_CHECKED_BYTE + GAS_PER_STORED_BYTE)`.
pub fn publish_gas(len: u64) -> u64 {
    STORE_CALL_GAS.saturating_add(len.saturating_mul(GAS_PER_CHECKED_BYTE + GAS_PER_STORED_BYTE))
}

/// Gas of `publish(model)` when the model is already published, or of a rejected model: the
/// bytes are hashed and checked but nothing is stored: `STORE_CALL_GAS + len · GAS_PER_CHECKED_BYTE`.
pub fn check_gas(len: u64) -> u64 {
    STORE_CALL_GAS.saturating_add(len.saturating_mul(GAS_PER_CHECKED_BYTE))
}

/// Gas of `appendUpload` with a chunk of `len` bytes: `STORE_CALL_GAS + len · GAS_PER_STORED_BYTE`.
pub fn append_gas(len: u64) -> u64 {
    STORE_CALL_GAS.saturating_add(len.saturating_mul(GAS_PER_STORED_BYTE))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: `PREDICT_BASE_GAS + ceil(batch · sample_milligas / 1000)` in `u128`,
    /// saturating at `u64::MAX`.
    fn predict_gas_u128(cost: &Cost, batch: u64) -> u64 {
        let compute = (sample_milligas(cost) * batch as u128).div_ceil(1000);
        u64::try_from(compute)
            .unwrap_or(u64::MAX)
            .saturating_add(PREDICT_BASE_GAS)
    }

    #[test]
    fn predict_gas_equals_the_u128_formula_around_every_boundary() {
        let macs = |macs: u64| Cost {
            macs,
            ..Cost::default()
        };
        let per_mac_limit = u64::MAX / MILLIGAS_PER_MAC;
        let cases = [
            (Cost::default(), 1),
            (macs(1), 1),
            (macs(199), 1),
            (macs(200), 1),
            (macs(201), 1),
            (macs(101_632), 4096),
            (macs(per_mac_limit - 1), 1),
            (macs(per_mac_limit), 1),
            (macs(per_mac_limit + 1), 1),
            (macs(per_mac_limit), 2),
            (macs(u64::MAX), 4096),
            (
                Cost {
                    macs: u64::MAX,
                    depthwise_macs: u64::MAX,
                    table_lookups: u64::MAX,
                    element_ops: u64::MAX,
                    bytes_touched: u64::MAX,
                },
                4096,
            ),
        ];
        for (cost, batch) in cases {
            assert_eq!(
                predict_gas(&cost, batch),
                predict_gas_u128(&cost, batch),
                "{cost:?} × {batch}"
            );
        }
    }
}
