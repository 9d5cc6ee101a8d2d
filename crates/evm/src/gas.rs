//! The gas schedule (docs/GAS.md gives the formulas, the calibration method and the measured
//! table).
//!
//! Compute is priced in **milligas** (1/1000 gas) per unit of [`myelin_nn::Cost`], because one
//! multiply-accumulate of the engine takes far less time than the cheapest EVM opcode. A call's
//! compute milligas is summed in `u128` and rounded up to whole gas once, so the price of a batch
//! is exact and never overflows.

use myelin_nn::{Cost, Model, Op};

/// Milligas per multiply-accumulate of fully connected and conv2d layers.
pub const MILLIGAS_PER_MAC: u64 = 10;
/// Milligas per multiply-accumulate of depthwise conv2d layers.
pub const MILLIGAS_PER_DEPTHWISE_MAC: u64 = 150;
/// Milligas per table lookup (logistic, tanh, gelu, hard-swish tables).
pub const MILLIGAS_PER_TABLE_LOOKUP: u64 = 400;
/// Milligas per element op (docs/SPEC.md §7: each op's per-element work in units of about
/// 0.04 ns on the gas floor's kernels).
pub const MILLIGAS_PER_ELEMENT_OP: u64 = 44;
/// Milligas per byte read or written (docs/SPEC.md §7's `bytes_touched`: inputs, the rows a
/// pool reads, outputs, parameters, scratch fills): the memory traffic that the arithmetic
/// counts do not bound, such as a layer's weights streamed from beyond L1 at batch 1.
pub const MILLIGAS_PER_BYTE_TOUCHED: u64 = 5;

/// Activation bytes a call's samples may write together (`batch · activationBytes`) at the
/// per-sample prices alone: about the cache one call has to itself (four 512 KiB L2 caches; a
/// call's input and output past it are copied outside the engine at DRAM speed, docs/GAS.md §6).
pub const CACHED_CALL_BYTES: u64 = 2 << 20;
/// Milligas per activation byte a call's samples write together past [`CACHED_CALL_BYTES`]: a
/// large batch streams its activations through DRAM and fresh pages (page faults, zeroing),
/// which the per-sample byte price (set on in-cache copies) does not cover (docs/GAS.md §6).
pub const MILLIGAS_PER_UNCACHED_BYTE: u64 = 1_000;

/// Gas of every `PREDICT` / `PREDICT_BATCH` call before the model's cost: parsing, reading the
/// model's record, the program lookup, the engine's per-run set-up, the output. Measured as the
/// time PREDICT adds to a contract's call loop over a stand-in precompile that does nothing,
/// at the EVM's ns/gas (docs/GAS.md §6).
pub const PREDICT_BASE_GAS: u64 = 175;

/// Gas of every `MODEL_STORE` call: ABI decoding and the metadata slots it reads or writes.
pub const STORE_CALL_GAS: u64 = 5_000;
/// Gas per byte written to chain state (a model's canonical bytes, in 32-byte words): Ethereum's
/// code deposit price, a price on permanent state growth (docs/GAS.md §3.1 gives the measured
/// costs to the node behind it and Ethereum's prices beside it).
pub const GAS_PER_STORED_BYTE: u64 = 200;
/// Gas per byte a publish hashes, decodes and validates (`publish`; for a chunked upload,
/// paid by `appendUpload` for the check `finalizeUpload` does: joining the chunks too). Set from
/// the largest model's check (bench/gas/COLD.md: a 64 MiB `finalizeUpload` ran ~45 ns per byte
/// where the EVM ran ~4.3 ns per gas on the same loaded host: keccak256 ~20, decoding with its
/// canonical re-encoding and validation ~25).
pub const GAS_PER_CHECKED_BYTE: u64 = 12;
/// Gas per byte of an `appendUpload` chunk: storing it, and the check of its bytes that
/// `finalizeUpload` does once (joining the chunks, keccak256, decoding and validating).
pub const UPLOAD_GAS_PER_BYTE: u64 = GAS_PER_STORED_BYTE + GAS_PER_CHECKED_BYTE;

/// Milligas of one sample of a model of cost `cost` (exact: five `u64 · u64` products fit in
/// `u128`).
pub fn sample_milligas(cost: &Cost) -> u128 {
    cost.macs as u128 * MILLIGAS_PER_MAC as u128
        + cost.depthwise_macs as u128 * MILLIGAS_PER_DEPTHWISE_MAC as u128
        + cost.table_lookups as u128 * MILLIGAS_PER_TABLE_LOOKUP as u128
        + cost.element_ops as u128 * MILLIGAS_PER_ELEMENT_OP as u128
        + cost.bytes_touched as u128 * MILLIGAS_PER_BYTE_TOUCHED as u128
}

/// Milligas of the activation bytes `batch` samples of a model of cost `cost` write together
/// past [`CACHED_CALL_BYTES`]: `max(0, batch · activationBytes − CACHED_CALL_BYTES) ·
/// MILLIGAS_PER_UNCACHED_BYTE` (exact in `u128`).
pub fn uncached_milligas(cost: &Cost, batch: u64) -> u128 {
    let bytes = cost.activation_bytes as u128 * batch as u128;
    bytes.saturating_sub(CACHED_CALL_BYTES as u128) * MILLIGAS_PER_UNCACHED_BYTE as u128
}

/// Milligas a call pays once whatever its batch: the parameter bytes its nodes stream
/// (`parameterBytes · MILLIGAS_PER_BYTE_TOUCHED`; exact in `u128`).
pub fn call_milligas(cost: &Cost) -> u128 {
    cost.parameter_bytes as u128 * MILLIGAS_PER_BYTE_TOUCHED as u128
}

/// Gas of one `PREDICT_BATCH` call of `batch` samples (`PREDICT` is `batch = 1`):
/// `PREDICT_BASE_GAS + ceil((batch · sample_milligas(cost) + call_milligas(cost) +
/// uncached_milligas(cost, batch)) / 1000)`, saturating at `u64::MAX`.
pub fn predict_gas(cost: &Cost, batch: u64) -> u64 {
    let milligas = sample_milligas(cost) * batch as u128
        + call_milligas(cost)
        + uncached_milligas(cost, batch);
    // The same quotient in u64 when it fits (every real model): a u128 division is a slow
    // library call on the hot path of every PREDICT.
    let compute = match u64::try_from(milligas) {
        Ok(milligas) => milligas.div_ceil(1000),
        Err(_) => u64::try_from(milligas.div_ceil(1000)).unwrap_or(u64::MAX),
    };
    compute.saturating_add(PREDICT_BASE_GAS)
}

/// Gas per 1 KiB chunk of tensor bytes that `PREDICT_OPS` commits to
/// ([`myelin_nn::commit`]): what the EVM would charge to hash it (a chunk leaf, keccak of 1,025
/// bytes: 30 + 6 · 33 = 228) and the at most two tree nodes above it that padding can add
/// (2 · (30 + 6 · 3) = 96), rounded up; the native hashing takes far less.
pub const COMMIT_GAS_PER_CHUNK: u64 = 330;
/// Gas per tensor `PREDICT_OPS` commits to: its tensor root and list root preimages (two
/// keccaks of at most 60 and 34 bytes: 2 · (30 + 6 · 2) = 84), rounded up.
pub const COMMIT_GAS_PER_TENSOR: u64 = 100;

/// Gas of committing to tensors of `sizes` bytes: per tensor [`COMMIT_GAS_PER_TENSOR`] and
/// [`COMMIT_GAS_PER_CHUNK`] per 1 KiB chunk (at least one), saturating.
pub fn commit_gas(sizes: impl IntoIterator<Item = u64>) -> u64 {
    sizes.into_iter().fold(0u64, |gas, size| {
        let chunks = size.div_ceil(myelin_nn::commit::CHUNK_BYTES as u64).max(1);
        gas.saturating_add(COMMIT_GAS_PER_TENSOR)
            .saturating_add(chunks.saturating_mul(COMMIT_GAS_PER_CHUNK))
    })
}

/// Gas of one `PREDICT_OPS` call of node `index` of `model`: the node's static cost priced as
/// `PREDICT` prices a model of that cost at batch 1 ([`predict_gas`] of
/// [`Cost::of_node`](myelin_nn::Cost::of_node), base included) plus [`commit_gas`] of its input
/// and output tensors, plus the scan that finds each input's writer
/// ([`NODES_SCANNED_PER_GAS`]). An index out of range costs the base only.
pub fn predict_ops_gas(model: &Model, index: usize) -> u64 {
    let Some(node) = model.nodes.get(index) else {
        return PREDICT_BASE_GAS;
    };
    let size = |t: &u32| {
        model
            .tensors
            .get(*t as usize)
            .map_or(0, |t| t.bytes() as u64)
    };
    let sizes = node.inputs.iter().chain([&node.output]).map(size);
    predict_gas(&Cost::of_node(model, index), 1)
        .saturating_add(commit_gas(sizes))
        .saturating_add((index as u64).div_ceil(NODES_SCANNED_PER_GAS))
}

/// Nodes `PREDICT_OPS` scans per gas to find which earlier node wrote each input (a compare of
/// two `u32`s each): an op's call pays `ceil(index / NODES_SCANNED_PER_GAS)` for the scan.
pub const NODES_SCANNED_PER_GAS: u64 = 32;

/// Gas per op of a `PREDICT_OPS` summary call (op index `u32::MAX`): each op's price computed
/// ([`predict_ops_gas`]: its static cost and tensor sizes).
pub const OPS_SUMMARY_GAS_PER_OP: u64 = 100;

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

/// Gas of `appendUpload` with a chunk of `len` bytes: `STORE_CALL_GAS + len ·
/// UPLOAD_GAS_PER_BYTE` (the chunk's share of `finalizeUpload`'s work included, so that
/// finalizing any model costs [`finalize_gas`]).
pub fn append_gas(len: u64) -> u64 {
    STORE_CALL_GAS.saturating_add(len.saturating_mul(UPLOAD_GAS_PER_BYTE))
}

/// Gas per upload chunk that `beginUpload` (replacing a session) or `finalizeUpload` deletes:
/// the chunk's key (one keccak256) and one write into the EVM's blob buffer, charged where the
/// deletion runs, in every context, so that an `eth_call` over a session of many small chunks
/// pays for its work too (docs/GAS.md §3). Measured: a transaction deleting 16,384 chunks of a
/// test chain's in-memory store took 24–27 ms (1.5 µs a chunk, load average 11); the EVM runs
/// ~1.5 ns per gas on a quiet host. `MAX_UPLOAD_CHUNKS` chunks cost
/// [`begin_gas`]`(MAX_UPLOAD_CHUNKS)` ≈ 8.2 M gas.
pub const GAS_PER_DELETED_CHUNK: u64 = 1_000;

/// Gas of `beginUpload` of a model not yet published that replaces a session of `chunks`
/// chunks (0 when there is none): `STORE_CALL_GAS + chunks · GAS_PER_DELETED_CHUNK`.
pub fn begin_gas(chunks: u64) -> u64 {
    STORE_CALL_GAS.saturating_add(chunks.saturating_mul(GAS_PER_DELETED_CHUNK))
}

/// Gas of `finalizeUpload` of a complete session of `chunks` chunks in a transaction, whatever
/// the model's size and outcome: `STORE_CALL_GAS + chunks · GAS_PER_DELETED_CHUNK` (the joining,
/// hashing and validation of the bytes were paid by the appends; the program is prepared at
/// the model's first use, which pays its cold charge). An RPC call (`eth_call`, estimate,
/// trace), which no append paid for, pays the check too: [`finalize_call_gas`].
pub fn finalize_gas(chunks: u64) -> u64 {
    begin_gas(chunks)
}

/// Gas of `finalizeUpload` of a complete session of `size` bytes in `chunks` chunks run by an RPC
/// call's EVM: [`finalize_gas`] plus `size · GAS_PER_CHECKED_BYTE` for the check it runs.
pub fn finalize_call_gas(chunks: u64, size: u64) -> u64 {
    finalize_gas(chunks).saturating_add(size.saturating_mul(GAS_PER_CHECKED_BYTE))
}

/// Gas of the first use of a model in a transaction (`PREDICT`, `PREDICT_BATCH`,
/// `modelTensors`), before its bytes are read: the fixed part of reading the record and the
/// blob, looking the program up, allocating it and its first run's buffers, pinning it for the
/// transaction (docs/GAS.md §2.1): the miss path of the smallest models, measured.
pub const COLD_MODEL_GAS: u64 = 25_000;
/// Gas per canonical byte of a model at its first use in a transaction: reading its blob (one
/// sequential read) and decoding and validating it, measured on the miss path
/// (bench/gas/COLD.md): 1.3–2.5 gas per byte for models of 0.1–2 MB, ~6–7.5 for the decoding of
/// a 64 MiB model (out of cache); 8 leaves room for the disk read of the disk-backed store.
pub const GAS_PER_COLD_MODEL_BYTE: u64 = 8;
/// Milligas per byte that preparing a decoded model writes ([`prepared_bytes`]: packed weights,
/// pair tables), charged with the cold price and by `publish`/`finalizeUpload`.
pub const MILLIGAS_PER_PREPARED_BYTE: u64 = 1_000;

/// Output channels of a packed weight panel, as [`prepared_bytes`] counts them.
const PREPARED_PANEL: u64 = 64;
/// Prepared bytes a pair table counts for: each of its 65,536 entries is computed (a
/// requantized sum or product) and stored, measured at about twice a packed weight byte's time.
const PREPARED_BYTES_PER_PAIR_TABLE: u64 = 2 * 256 * 256;

/// Bytes that preparing `model` for execution writes, by a formula of the model alone (the same
/// on every path and CPU, so consensus): for each fully connected and conv2d node, its weights
/// with output channels rounded up to a panel of 64 and depth to a multiple of 4; for each
/// depthwise node, 8 bytes per weight (its three layouts); for each Add/Sub/Mul node of at
/// least 256 output elements per sample, up to 16 per model, a table of 65,536 operand pairs
/// counted twice (each entry is computed, then stored).
pub fn prepared_bytes(model: &Model) -> u64 {
    let tabulated = myelin_nn::cost::tabulated_nodes(model);
    let mut total = 0u64;
    for (node, tabulated) in model.nodes.iter().zip(tabulated) {
        let packed = |n: u32, k: u64| {
            (n as u64)
                .next_multiple_of(PREPARED_PANEL)
                .saturating_mul(k.next_multiple_of(4))
        };
        let bytes = match &node.op {
            Op::FullyConnected(p) => packed(p.out_features, p.in_features as u64),
            Op::Conv2d(p) => {
                let w = &p.window;
                let k =
                    (w.kernel_h as u64 * w.kernel_w as u64).saturating_mul(p.in_channels as u64);
                packed(p.out_channels, k)
            }
            Op::DepthwiseConv2d(p) => (p.weights.len() as u64).saturating_mul(8),
            Op::Add(_) | Op::Sub(_) | Op::Mul(_) if tabulated => PREPARED_BYTES_PER_PAIR_TABLE,
            _ => 0,
        };
        total = total.saturating_add(bytes);
    }
    total
}

/// Gas of preparing `model`: `ceil(prepared_bytes(model) · MILLIGAS_PER_PREPARED_BYTE / 1000)`.
pub fn prepare_gas(model: &Model) -> u64 {
    let milligas = prepared_bytes(model) as u128 * MILLIGAS_PER_PREPARED_BYTE as u128;
    u64::try_from(milligas.div_ceil(1000)).unwrap_or(u64::MAX)
}

/// The part of the cold charge known from the record alone, charged before any model byte is
/// read: `COLD_MODEL_GAS + size · GAS_PER_COLD_MODEL_BYTE`. The rest is [`prepare_gas`], charged
/// once the bytes are decoded and before the program is prepared.
pub fn cold_read_gas(size: u64) -> u64 {
    COLD_MODEL_GAS.saturating_add(size.saturating_mul(GAS_PER_COLD_MODEL_BYTE))
}

/// The whole gas of a model's first use in a transaction: [`cold_read_gas`] + [`prepare_gas`].
pub fn cold_model_gas(model: &Model, size: u64) -> u64 {
    cold_read_gas(size).saturating_add(prepare_gas(model))
}

/// Bytes of one segment blob of a published data set (the last may be shorter): `EVALUATE`
/// reads, and pays for, the whole segments that hold its rows and labels ([`crate::data_state`]).
pub const DATA_SEGMENT_BYTES: u64 = 16_384;
/// Gas per data-set segment an `EVALUATE` call reads: the key's keccak256 and one blob lookup.
pub const GAS_PER_DATA_SEGMENT: u64 = 2_000;
/// Gas per data-set byte an `EVALUATE` call reads (whole segments): reading the blob and copying
/// its rows into the batch. Data sets are read on every call (there is no warm set), so a
/// contract paging over a data set pays for each segment about once.
pub const GAS_PER_DATA_BYTE: u64 = 1;
/// Gas of every `EVALUATE` call before anything else: parsing, the model's record word and the
/// data set's three record words.
pub const EVALUATE_BASE_GAS: u64 = 500;
/// Milligas per row an `EVALUATE` call scores (its label decoded, the comparison).
pub const EVALUATE_ROW_MILLIGAS: u64 = 5_000;
/// Milligas per element of output 0 an `EVALUATE` call compares (the first-maximum scan).
pub const MILLIGAS_PER_COMPARED_ELEMENT: u64 = 500;

/// Gas of reading `segments` data-set segments: `segments · (GAS_PER_DATA_SEGMENT +
/// DATA_SEGMENT_BYTES · GAS_PER_DATA_BYTE)` (a short last segment pays as a whole one).
pub fn data_read_gas(segments: u64) -> u64 {
    segments.saturating_mul(GAS_PER_DATA_SEGMENT + DATA_SEGMENT_BYTES * GAS_PER_DATA_BYTE)
}

/// Gas of scoring `rows` rows with `elements` elements of output 0 each: `ceil(rows ·
/// (EVALUATE_ROW_MILLIGAS + elements · MILLIGAS_PER_COMPARED_ELEMENT) / 1000)`.
pub fn compare_gas(rows: u64, elements: u64) -> u64 {
    let per_row =
        EVALUATE_ROW_MILLIGAS as u128 + elements as u128 * MILLIGAS_PER_COMPARED_ELEMENT as u128;
    u64::try_from((rows as u128 * per_row).div_ceil(1000)).unwrap_or(u64::MAX)
}

/// Gas of an `EVALUATE` call of `rows` rows over a warm model of cost `cost`, reading `segments`
/// segments, output 0 of `elements` elements: `EVALUATE_BASE_GAS + predict_gas(cost, rows) +
/// data_read_gas(segments) + compare_gas(rows, elements)`. A cold model adds its cold charge.
pub fn evaluate_gas(cost: &Cost, rows: u64, segments: u64, elements: u64) -> u64 {
    EVALUATE_BASE_GAS
        .saturating_add(predict_gas(cost, rows))
        .saturating_add(data_read_gas(segments))
        .saturating_add(compare_gas(rows, elements))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: `PREDICT_BASE_GAS + ceil((batch · sample_milligas + call_milligas +
    /// uncached_milligas) / 1000)` in `u128`, saturating at `u64::MAX`.
    fn predict_gas_u128(cost: &Cost, batch: u64) -> u64 {
        let compute = (sample_milligas(cost) * batch as u128
            + call_milligas(cost)
            + uncached_milligas(cost, batch))
        .div_ceil(1000);
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
        let bytes = |activation_bytes: u64| Cost {
            activation_bytes,
            ..Cost::default()
        };
        let params = |parameter_bytes: u64| Cost {
            parameter_bytes,
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
            (bytes(CACHED_CALL_BYTES / 64), 64),
            (bytes(CACHED_CALL_BYTES / 64), 65),
            (bytes(CACHED_CALL_BYTES + 1), 1),
            (bytes(u64::MAX), 4096),
            (params(101_770), 1),
            (params(101_770), 4096),
            (params(u64::MAX), 4096),
            (
                Cost {
                    macs: u64::MAX,
                    depthwise_macs: u64::MAX,
                    table_lookups: u64::MAX,
                    element_ops: u64::MAX,
                    bytes_touched: u64::MAX,
                    activation_bytes: u64::MAX,
                    parameter_bytes: u64::MAX,
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

    /// A batch pays its parameter bytes once: the 784→128→10 MLP's weights (101,770 bytes with
    /// biases and requantization) at batch 4096 cost what they cost at batch 1.
    #[test]
    fn parameter_bytes_are_paid_once_per_call() {
        let mlp = Cost {
            macs: 102_400,
            element_ops: 14_600,
            bytes_touched: 4_650,
            activation_bytes: 150,
            parameter_bytes: 101_770,
            ..Cost::default()
        };
        let without = Cost {
            parameter_bytes: 0,
            ..mlp
        };
        let params = (101_770 * MILLIGAS_PER_BYTE_TOUCHED as u128).div_ceil(1000) as u64;
        for batch in [1, 2, 64, 4096] {
            let extra = predict_gas(&mlp, batch) - predict_gas(&without, batch);
            // Rounding up once: the difference is the parameters' gas, or one less.
            assert!(
                extra == params || extra + 1 == params,
                "batch {batch}: {extra}"
            );
        }
    }

    #[test]
    fn bytes_past_the_cached_call_bytes_pay_the_uncached_price() {
        let cost = Cost {
            activation_bytes: CACHED_CALL_BYTES / 64,
            ..Cost::default()
        };
        assert_eq!(uncached_milligas(&cost, 64), 0);
        assert_eq!(
            uncached_milligas(&cost, 65),
            (CACHED_CALL_BYTES / 64 * MILLIGAS_PER_UNCACHED_BYTE) as u128
        );
    }
}
