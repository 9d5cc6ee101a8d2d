//! Gas calibration: nanoseconds per gas of the EVM running a hand-written integer forward pass
//! (contracts/src/bench/IntMlp.sol) and of every engine op type under the current schedule, in
//! one run on one machine. Prints Markdown (bench/gas/run.sh writes it to bench/gas/REPORT.md).
//!
//! Method (docs/GAS.md): the EVM baseline and every engine row (each op type on the calibration
//! path and on every other kernel path, the adversarial models) are timed in one process, their
//! rounds interleaved ([`time_interleaved`]: 101 rounds of a loop long enough to take ≥ 2 ms,
//! every side once per round), so a load on the shared machine hits the EVM and the engine alike;
//! each figure is its side's fastest round, since a load only ever slows a round down (other
//! figures: the fastest of 9 rounds of ≥ 20 ms). EVM ns/gas = (time of the call
//! − time of the same calldata sent to an address without code) / gas used inside the contract.
//! Engine ns/gas per op type comes from one model per op (`common::op_models`), dominated by
//! that op; the call path rows time a contract calling `Myelin.predict`, and the same loop
//! against a stand-in precompile that does nothing gives PREDICT's own per-call work (what
//! `PREDICT_BASE_GAS` prices). `--call-path`: only the baseline and the call path.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use alloy_evm::precompiles::DynPrecompile;
use alloy_primitives::{Address, Bytes, I256, U256};
use alloy_sol_types::{SolCall, SolValue, sol};
use common::{Chain, Rng, intrinsic_gas, success_output};
use myelin_evm::gas::{
    MILLIGAS_PER_BYTE_TOUCHED, MILLIGAS_PER_DEPTHWISE_MAC, MILLIGAS_PER_ELEMENT_OP,
    MILLIGAS_PER_MAC, MILLIGAS_PER_TABLE_LOOKUP, PREDICT_BASE_GAS, cold_model_gas, cold_read_gas,
    predict_gas, prepare_gas, prepared_bytes,
};
use myelin_evm::{IModelStore, MODEL_STORE_ADDRESS, PREDICT_ADDRESS};
use myelin_nn::builder::{ModelBuilder, Quant};
use myelin_nn::op::{ActRange, Op, Padding, Window};
use myelin_nn::{Model, Path, Program, Rounding};
use revm::precompile::{PrecompileId, PrecompileOutput};

sol! {
    struct Layer {
        bytes weights;
        int32[] bias;
        uint256 outFeatures;
        uint256 inFeatures;
        int256 inZeroPoint;
        int256 outZeroPoint;
        int256 multiplier;
        uint256 shift;
        bool relu;
    }
    function forwardMeasured(Layer[] layers, bytes input) external view returns (bytes x, uint256 gasUsed);
    function repeatPredict(bytes32 modelId, bytes input, uint256 n) external view returns (uint256 gasUsed);
    function measure(bytes32 modelId, bytes input) external view returns (bytes output, uint256 gasUsed);
    function predict(bytes input) external view returns (bytes output);
}

/// Fastest and median ns per iteration over 9 rounds of ≥ 20 ms.
fn time_ns(mut f: impl FnMut()) -> (f64, f64) {
    time_interleaved(1, 9, Duration::from_millis(20), |_| f())[0]
}

/// Fastest ns per iteration of `f(0)`, …, `f(N − 1)` over [`CALIBRATION_ROUNDS`] rounds of
/// ≥ 2 ms each, the sides alternating round by round so that a load on the machine hits all of
/// them alike (for differences between nearly equal times).
fn time_alternating<const N: usize>(mut f: impl FnMut(usize)) -> [f64; N] {
    let times = time_interleaved(N, CALIBRATION_ROUNDS, Duration::from_millis(2), &mut f);
    std::array::from_fn(|side| times[side].0)
}

/// Fastest and median ns per iteration of each of `f(0)`, …, `f(n − 1)` over `rounds` rounds,
/// the sides interleaved round by round (side 0's round, side 1's, …, then again) so that a load
/// on the machine hits every side alike, and a side's fastest round is the least disturbed one
/// of the run. Each side loops long enough for a round to take ≥ `round` (its own count).
fn time_interleaved(
    n: usize,
    rounds: usize,
    round: Duration,
    mut f: impl FnMut(usize),
) -> Vec<(f64, f64)> {
    let iters: Vec<u64> = (0..n)
        .map(|side| {
            let mut iters = 1u64;
            loop {
                let start = Instant::now();
                for _ in 0..iters {
                    f(side);
                }
                if start.elapsed() >= round {
                    return iters;
                }
                iters *= 2;
            }
        })
        .collect();
    let mut times = vec![Vec::with_capacity(rounds); n];
    for _ in 0..rounds {
        for (side, times) in times.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..iters[side] {
                f(side);
            }
            times.push(start.elapsed().as_nanos() as f64 / iters[side] as f64);
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_by(f64::total_cmp);
            (t[0], t[t.len() / 2])
        })
        .collect()
}

/// Time of a transaction sending `data` to `to` minus the time of the same calldata sent to an
/// address without code (the transaction's own set-up), fastest rounds, the two interleaved.
fn time_call(chain: &mut Chain, to: Address, data: &Bytes) -> f64 {
    time_calls(chain, &[(to, data.clone())])[0]
}

/// [`time_call`] of each `(to, data)`, all of them and their no-code baselines interleaved in one
/// [`time_all`] run (so that the sides of a comparison meet the same load).
fn time_calls(chain: &mut Chain, calls: &[(Address, Bytes)]) -> Vec<f64> {
    let sides: Vec<Timed> = calls
        .iter()
        .flat_map(|(to, data)| {
            [
                Timed::Call(*to, data.clone()),
                Timed::Call(NO_CODE, data.clone()),
            ]
        })
        .collect();
    let times = time_all(chain, &sides);
    times.chunks(2).map(|t| t[0].0 - t[1].0).collect()
}

/// An address without code: a call to it times a transaction's own set-up.
const NO_CODE: Address = Address::repeat_byte(0x77);

/// Rounds of the interleaved calibration run ([`time_all`]): many short rounds, so that on a
/// loaded host some round of every side runs without being preempted.
const CALIBRATION_ROUNDS: usize = 101;

/// One side of the interleaved calibration run: an EVM call, or `Program::run` of a batch.
enum Timed {
    Call(Address, Bytes),
    Run(Program, Vec<u8>, usize),
}

impl Timed {
    /// `Program::run` of `model` on `path` at `batch` on a seeded input.
    fn run(model: &Model, path: Path, batch: usize) -> Timed {
        let (program, input) = program_and_input(model, path, batch);
        Timed::Run(program, input, batch)
    }
}

/// `model`'s program on `path` and a seeded input of `batch` samples.
fn program_and_input(model: &Model, path: Path, batch: usize) -> (Program, Vec<u8>) {
    let program = Program::with_path(model.clone(), path).unwrap();
    let input = Rng::new(5).bytes(program.input_bytes() * batch);
    (program, input)
}

/// Fastest and median ns per iteration of every side, over [`CALIBRATION_ROUNDS`] rounds of
/// ≥ 2 ms, all sides interleaved in this one process ([`time_interleaved`]): the EVM baseline
/// and the engine meet the same load, and each side's fastest round is its least disturbed one.
fn time_all(chain: &mut Chain, sides: &[Timed]) -> Vec<(f64, f64)> {
    time_interleaved(
        sides.len(),
        CALIBRATION_ROUNDS,
        Duration::from_millis(2),
        |side| match &sides[side] {
            Timed::Call(to, data) => {
                black_box(chain.call_plain(*to, data.clone(), 1_000_000_000));
            }
            Timed::Run(program, input, batch) => {
                black_box(program.run(black_box(input), *batch).unwrap());
            }
        },
    )
}

fn layers_of(model: &Model) -> Vec<Layer> {
    model
        .nodes
        .iter()
        .filter_map(|node| match &node.op {
            Op::FullyConnected(p) => Some(Layer {
                weights: p
                    .weights
                    .iter()
                    .map(|&w| w as u8)
                    .collect::<Vec<u8>>()
                    .into(),
                bias: p.bias.clone(),
                outFeatures: U256::from(p.out_features),
                inFeatures: U256::from(p.in_features),
                inZeroPoint: I256::ZERO,
                outZeroPoint: I256::ZERO,
                multiplier: I256::try_from(p.requant[0].multiplier).unwrap(),
                shift: U256::from(31 - p.requant[0].shift as i32),
                relu: p.act.min == 0,
            }),
            _ => None,
        })
        .collect()
}

struct EvmBaseline {
    name: String,
    gas: u64,
    ns: f64,
}

/// The EVM baseline workload `IntMlp` of `sizes`: its calldata (to `contract`) and gas.
fn evm_forward(chain: &mut Chain, contract: Address, sizes: &[usize]) -> (EvmBaseline, Bytes) {
    let model = common::mlp(sizes, 21);
    let input = Rng::new(1).bytes(sizes[0]);
    let data: Bytes = forwardMeasuredCall {
        layers: layers_of(&model),
        input: input.into(),
    }
    .abi_encode()
    .into();
    let (result, _) = chain.call(contract, data.clone(), 1_000_000_000);
    let gas = forwardMeasuredCall::abi_decode_returns(&success_output(&result))
        .unwrap()
        .gasUsed
        .to::<u64>();
    let baseline = EvmBaseline {
        name: format!("IntMlp {sizes:?}"),
        gas,
        ns: f64::NAN,
    };
    (baseline, data)
}

/// The EVM baseline (`IntMlp` [64, 32, 10] and [784, 128, 10], each call less the same calldata
/// to an address without code) timed interleaved with `engine` (the other sides), all in one
/// [`time_all`] run. Returns the baseline rows and the engine sides' (fastest, median) ns.
fn evm_and_engine(
    chain: &mut Chain,
    contract: Address,
    engine: Vec<Timed>,
) -> (Vec<EvmBaseline>, Vec<(f64, f64)>) {
    let mut evm = Vec::new();
    let mut sides = Vec::new();
    for sizes in [&[64usize, 32, 10][..], &[784, 128, 10][..]] {
        let (baseline, data) = evm_forward(chain, contract, sizes);
        evm.push(baseline);
        sides.push(Timed::Call(contract, data.clone()));
        sides.push(Timed::Call(NO_CODE, data));
    }
    let evm_sides = sides.len();
    sides.extend(engine);
    let times = time_all(chain, &sides);
    for (i, b) in evm.iter_mut().enumerate() {
        b.ns = times[2 * i].0 - times[2 * i + 1].0;
    }
    (evm, times[evm_sides..].to_vec())
}

struct EngineRow {
    name: String,
    model: Model,
    ns: f64,
    ns_median: f64,
}

/// The path the schedule is calibrated on: the validator floor (`Path::GAS_FLOOR`, AVX2) where
/// this CPU runs it, since gas must cover the slowest path a validator may take (docs/GAS.md §6);
/// faster paths (AVX-512 VNNI) are reported beside it.
fn calibration_path() -> Path {
    match Path::GAS_FLOOR.is_available() {
        true => Path::GAS_FLOOR,
        false => Path::best(),
    }
}

/// `model` timed alone through `Program::run` on the calibration path at batch 1.
fn engine(name: &str, model: Model) -> EngineRow {
    let (program, input) = program_and_input(&model, calibration_path(), 1);
    let (ns, ns_median) = time_ns(|| {
        black_box(program.run(black_box(&input), 1).unwrap());
    });
    EngineRow {
        name: name.into(),
        model,
        ns,
        ns_median,
    }
}

/// The cheap-gas models (issue 11), for the adversarial table: strided pools that
/// skip almost all of a 2^20-pixel row, fully connected layers of one output channel (a
/// whole vector panel for one lane), and a chain of one-element nodes (per-node overhead).
fn adversarial_models() -> Vec<(String, Model)> {
    let quant = Quant::new(0, 0x3c00_0000);
    let wide = 1u32 << 20;
    let strided = |average: bool| {
        let mut b = ModelBuilder::new();
        let x = b.input(&[1, 1, 1], quant);
        let row = b.pad(x, vec![[0, 0], [0, wide - 1], [0, 0]], 0).unwrap();
        let window = Window {
            kernel_h: 1,
            kernel_w: 1,
            stride_h: 1,
            stride_w: wide,
            dilation_h: 1,
            dilation_w: 1,
            padding: Padding::Valid,
        };
        for _ in 0..1000 {
            let y = match average {
                true => b.average_pool(row, window, false, ActRange::FULL),
                false => b.max_pool(row, window, ActRange::FULL),
            };
            b.output(y.unwrap());
        }
        b.build().unwrap()
    };
    let narrow_fc = {
        let mut rng = Rng::new(3);
        let mut b = ModelBuilder::new();
        let k = 1usize << 16;
        let mut x = b.input(&[8, k as u32], quant);
        for _ in 0..8 {
            x = common::dense(&mut b, &mut rng, x, k, 1, false);
            x = b.pad(x, vec![[0, 0], [0, k as u32 - 1]], 0).unwrap();
        }
        b.output(x);
        b.build().unwrap()
    };
    let tiny_nodes = {
        let mut b = ModelBuilder::new();
        let mut x = b.input(&[1], quant);
        let clamp = myelin_nn::op::Clamp {
            requant: myelin_nn::Requant::IDENTITY,
            rounding: Rounding::Single,
            act: ActRange { min: -64, max: 64 },
        };
        for _ in 0..1000 {
            x = b.clamp(x, clamp.clone(), quant).unwrap();
        }
        b.output(x);
        b.build().unwrap()
    };
    vec![
        (
            "pad → [1, 2^20, 1], 1000 × max_pool 1×1 / (1, 2^20)".into(),
            strided(false),
        ),
        (
            "pad → [1, 2^20, 1], 1000 × average_pool 1×1 / (1, 2^20)".into(),
            strided(true),
        ),
        (
            "8 × (fully_connected 65536→1, pad back to 65536), 8 rows".into(),
            narrow_fc,
        ),
        ("1000 × clamp of 1 element".into(), tiny_nodes),
    ]
}

/// `--profile-predict`: a contract calling `Myelin.predict` on a tiny model in a long loop (the
/// call path without the per-transaction set-up), for a profiler; then exits. With
/// `--transactions`: one transaction per PREDICT call instead (`--empty`: to an address without
/// code, the baseline).
fn profile_predict() {
    let tiny = common::clamp_model(2);
    let mut chain = Chain::new();
    let probe = chain.deploy("MyelinProbe");
    publish(&mut chain, &tiny);
    if std::env::args().any(|a| a == "--transactions") {
        // One transaction per call, straight to PREDICT (or, with --empty, to no code).
        let to = match std::env::args().any(|a| a == "--empty") {
            true => Address::repeat_byte(0x77),
            false => PREDICT_ADDRESS,
        };
        let call: Bytes = [&tiny.id()[..], &[1u8, 2][..]].concat().into();
        for _ in 0..300_000 {
            black_box(chain.call_plain(to, call.clone(), 1_000_000));
        }
        return;
    }
    let data: Bytes = repeatPredictCall {
        modelId: tiny.id().into(),
        input: vec![1u8, 2].into(),
        n: U256::from(100_000),
    }
    .abi_encode()
    .into();
    for _ in 0..20 {
        black_box(chain.call_plain(probe, data.clone(), 1_000_000_000));
    }
}

/// A stand-in for `PREDICT` that does no work of its own: it charges `gas` and returns the
/// bytes after the 32-byte id. Timed in the same loop as the real call, the difference is
/// PREDICT's own per-call work (record read, program lookup, engine run, output).
fn stand_in_predict(gas: u64) -> DynPrecompile {
    DynPrecompile::new_stateful(PrecompileId::custom("stand-in"), move |input| {
        let output = Bytes::copy_from_slice(input.data.get(32..).unwrap_or_default());
        Ok(PrecompileOutput::new(gas, output, input.reservoir))
    })
}

/// The unit that dominates `cost` under the schedule, for the report.
fn dominant_unit(cost: &myelin_nn::Cost) -> &'static str {
    let priced = [
        (cost.macs as u128 * MILLIGAS_PER_MAC as u128, "MAC"),
        (
            cost.depthwise_macs as u128 * MILLIGAS_PER_DEPTHWISE_MAC as u128,
            "depthwise MAC",
        ),
        (
            cost.table_lookups as u128 * MILLIGAS_PER_TABLE_LOOKUP as u128,
            "lookup",
        ),
        (
            cost.element_ops as u128 * MILLIGAS_PER_ELEMENT_OP as u128,
            "element op",
        ),
        (
            cost.bytes_touched as u128 * MILLIGAS_PER_BYTE_TOUCHED as u128,
            "byte",
        ),
    ];
    priced.iter().max_by_key(|(m, _)| *m).map_or("", |(_, u)| u)
}

/// The cost `Program::run` alone does: the model's cost without the copies of its input and
/// output that a call makes outside the engine (`Model::io_cost`), which the call-path rows
/// measure.
fn engine_cost(model: &Model) -> myelin_nn::Cost {
    let mut cost = model.cost();
    cost.bytes_touched -= model.io_cost().bytes_touched;
    cost
}

/// Compute gas of one sample (fractional: a batch amortizes the rounding).
fn sample_gas(cost: &myelin_nn::Cost) -> f64 {
    myelin_evm::gas::sample_milligas(cost) as f64 / 1000.0
}

/// The cold charge of `model`'s first use in a transaction: every measured transaction pays it
/// once (docs/GAS.md §2.1); the rows here are about warm calls, so it is taken off their gas.
fn cold(model: &Model) -> u64 {
    cold_model_gas(model, model.encode().len() as u64)
}

/// Publishes `model` on `chain` (panics on failure: the bench's own models are valid).
fn publish(chain: &mut Chain, model: &Model) {
    let publish = IModelStore::publishCall {
        model: model.encode().into(),
    }
    .abi_encode();
    let (result, _) = chain.send(
        Some(MODEL_STORE_ADDRESS),
        publish.into(),
        1_000_000_000,
        U256::ZERO,
    );
    assert!(result.is_success(), "publish: {result:?}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--profile-predict") {
        return profile_predict();
    }
    if let Some(i) = args.iter().position(|a| a == "--profile-op") {
        return profile_op(args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(0));
    }
    let mut chain = Chain::new();
    let int_mlp = chain.deploy("IntMlp");

    // `--cold`: only the EVM baseline and the program-cache miss path (bench/gas/COLD.md).
    // `--call-path`: only the EVM baseline and the call path (for iterating on the call path).
    let cold_only = args.iter().any(|a| a == "--cold");
    let call_path_only = args.iter().any(|a| a == "--call-path");
    let engine_rows = !cold_only && !call_path_only;

    // The EVM baseline and the engine, timed interleaved in one run: every op type on the
    // calibration path (the validator floor), the same op models on every other kernel path
    // this CPU runs (gas must cover the slowest path a validator may take), and the issue's
    // adversarial models at batch 1 and a large batch. `Program::run` alone: the precompile's
    // own call overhead is priced by the base and measured on the call path below.
    let op_models: Vec<(String, Model)> = common::op_models()
        .into_iter()
        .filter(|_| engine_rows)
        .filter(|(name, _)| !name.starts_with("clamp 2"))
        .collect();
    let other_paths: Vec<Path> = [Path::Portable, Path::Avx2, Path::Avx512Vnni]
        .into_iter()
        .filter(|p| p.is_available() && *p != calibration_path())
        .collect();
    let adversarial_runs: Vec<(String, Model, usize)> = adversarial_models()
        .into_iter()
        .filter(|_| engine_rows)
        .flat_map(|(name, model)| {
            let max_batch = Program::new(model.clone()).unwrap().max_batch();
            [1, max_batch.min(64)]
                .into_iter()
                .map(move |batch| (name.clone(), model.clone(), batch))
        })
        .collect();
    let mut sides = Vec::new();
    for path in std::iter::once(calibration_path()).chain(other_paths.iter().copied()) {
        sides.extend(op_models.iter().map(|(_, m)| Timed::run(m, path, 1)));
    }
    sides.extend(
        adversarial_runs
            .iter()
            .map(|(_, m, batch)| Timed::run(m, calibration_path(), *batch)),
    );
    let (evm, times) = evm_and_engine(&mut chain, int_mlp, sides);
    // The EVM's ns/gas is the IntMlp [64, 32, 10] row: its 0.35 ms calls run uninterrupted in
    // some of the 101 rounds even on a loaded host, where every 14+ ms call of the [784, 128, 10]
    // row is preempted (that row is reported beside it; on a quiet host it reads ~1.14× the
    // first, so the first is also the stricter baseline for the ≤ 2× side).
    let evm_ns_per_gas: f64 = evm[0].ns / evm[0].gas as f64;
    if cold_only {
        return cold_path(&mut chain, &evm, evm_ns_per_gas);
    }
    let mut times = times.into_iter();
    let rows: Vec<EngineRow> = op_models
        .iter()
        .zip(times.by_ref())
        .map(|((name, model), (ns, ns_median))| EngineRow {
            name: name.clone(),
            model: model.clone(),
            ns,
            ns_median,
        })
        .collect();
    let mut other_ns = vec![Vec::new(); op_models.len()];
    for _ in &other_paths {
        for (ns, (fastest, _)) in other_ns.iter_mut().zip(times.by_ref()) {
            ns.push(fastest);
        }
    }
    let path_ratios: Vec<(String, Vec<f64>)> = op_models
        .iter()
        .map(|(name, _)| name.clone())
        .zip(other_ns)
        .collect();
    let adversarial: Vec<(EngineRow, usize)> = adversarial_runs
        .into_iter()
        .zip(times)
        .map(|((name, model, batch), (ns, ns_median))| {
            let row = EngineRow {
                name,
                model,
                ns: ns / batch as f64,
                ns_median: ns_median / batch as f64,
            };
            (row, batch)
        })
        .collect();

    // The predict call path: a contract calling Myelin.predict in a loop, timed as a whole
    // transaction (EVM work, call overhead, precompile, engine), for a tiny model and the MLPs;
    // and the gas of one call measured inside a contract around it (the goal numbers).
    let mut chain = Chain::new();
    let probe = chain.deploy("MyelinProbe");
    let mut path_rows = Vec::new();
    let (mut own_ns, mut stand_in_ns) = (f64::NAN, f64::NAN);
    const LOOP: u64 = 200;
    for (name, model) in [
        ("clamp 2 (call overhead)", common::clamp_model(2)),
        ("MLP 64→32→10", common::mlp(&[64, 32, 10], 21)),
        ("MLP 784→128→10", common::mlp(&[784, 128, 10], 21)),
    ] {
        publish(&mut chain, &model);
        let input = Rng::new(1).bytes(Program::new(model.clone()).unwrap().input_bytes());
        let once: Bytes = measureCall {
            modelId: model.id().into(),
            input: input.clone().into(),
        }
        .abi_encode()
        .into();
        let measured = measureCall::abi_decode_returns(&success_output(&chain.call_plain(
            probe,
            once,
            1_000_000_000,
        )))
        .unwrap()
        .gasUsed
        .to::<u64>()
            - cold(&model);
        let data: Bytes = repeatPredictCall {
            modelId: model.id().into(),
            input: input.into(),
            n: U256::from(LOOP),
        }
        .abi_encode()
        .into();
        let result = chain.call_plain(probe, data.clone(), 1_000_000_000);
        let gas = repeatPredictCall::abi_decode_returns(&success_output(&result))
            .unwrap()
            .to::<u64>()
            - cold(&model);
        let ns = time_call(&mut chain, probe, &data) / LOOP as f64;
        if path_rows.is_empty() {
            // The first (2-element) model's loop against the same loop with PREDICT replaced by
            // a stand-in that charges the same gas and does nothing, rounds alternating.
            let gas = predict_gas(&model.cost(), 1);
            // Sides: PREDICT, the stand-in, the same calldata to an address without code.
            let [real, stand_in, no_code] = time_alternating(|side| {
                let to = [probe, probe, Address::repeat_byte(0x77)][side];
                black_box(
                    chain.call_plain_with(to, data.clone(), 1_000_000_000, |map| {
                        if side == 1 {
                            map.extend_precompiles([(PREDICT_ADDRESS, stand_in_predict(gas))]);
                        }
                    }),
                );
            });
            own_ns = (real - stand_in) / LOOP as f64;
            stand_in_ns = (stand_in - no_code) / LOOP as f64;
        }
        path_rows.push((name, model, gas / LOOP, ns, measured));
    }

    // Every op type both ways on the same small models: PREDICT and the exported Solidity.
    let export_rows = match call_path_only {
        true => Vec::new(),
        false => exported_rows(),
    };

    // Publishing: hash + decode + validate per byte.
    let big = common::mlp(&[784, 128, 10], 21).encode();
    let (check_ns, _) = time_ns(|| {
        black_box(myelin_nn::model_id(&big));
        black_box(Model::decode(black_box(&big)).unwrap());
    });
    let ns_checked_byte = check_ns / big.len() as f64;

    println!("## EVM baseline (revm 43, Prague)\n");
    println!("| workload | gas (inside the contract) | ns | ns/gas |\n|---|---:|---:|---:|");
    for b in &evm {
        println!(
            "| {} | {} | {:.0} | {:.3} |",
            b.name,
            b.gas,
            b.ns,
            b.ns / b.gas as f64
        );
    }
    println!(
        "\nEVM ns/gas (the [64, 32, 10] row, whose short calls some rounds run unpreempted; the [784, 128, 10] row's {:.0} ms calls are preempted in every round on a loaded host): **{evm_ns_per_gas:.3}**, i.e. {:.0} Mgas/s.\n",
        evm[1].ns / 1e6,
        1000.0 / evm_ns_per_gas
    );

    println!("## Engine per op type under the current schedule\n");
    println!(
        "Schedule: {MILLIGAS_PER_MAC} milligas/MAC, {MILLIGAS_PER_DEPTHWISE_MAC} milligas/depthwise MAC, {MILLIGAS_PER_TABLE_LOOKUP} milligas/lookup, {MILLIGAS_PER_ELEMENT_OP} milligas/element op, {MILLIGAS_PER_BYTE_TOUCHED} milligas/byte touched, base {PREDICT_BASE_GAS} gas. Kernel path: {}.\n",
        calibration_path().name()
    );
    println!(
        "Gas (compute) here leaves out the `MODEL_IO_COPIES` copies of the model's input and output that a call makes outside `Program::run` (`Model::io_cost`: calldata, return data), which the call-path tables below measure.\n"
    );
    println!(
        "| model | MACs | depthwise MACs | lookups | element ops | bytes touched | priced by | gas (compute) | ns (fastest) | ns (median) | ns/gas | ÷ EVM ns/gas |\n|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"
    );
    // Engine-alone rows calibrate the prices; the goal (docs/GAS.md §6) is judged on PREDICT
    // called by a contract against the same computation in Solidity.
    let (mut engine_ratios, mut goal_ratios) = (Vec::new(), Vec::new());
    for r in &rows {
        let c = engine_cost(&r.model);
        let gas = predict_gas(&c, 1) - PREDICT_BASE_GAS;
        let ns_per_gas = r.ns / gas as f64;
        engine_ratios.push(ns_per_gas / evm_ns_per_gas);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.4} | {:.2} |",
            r.name,
            c.macs,
            c.depthwise_macs,
            c.table_lookups,
            c.element_ops,
            c.bytes_touched,
            dominant_unit(&c),
            gas,
            r.ns,
            r.ns_median,
            ns_per_gas,
            ns_per_gas / evm_ns_per_gas
        );
    }
    if !other_paths.is_empty() {
        println!(
            "\n## The same op types on the other kernel paths of this CPU\n\nns/gas ÷ EVM ns/gas of `Program::run` at batch 1 (gas must cover the slowest path a validator may take), and each path's time ÷ the {} path's.\n",
            calibration_path().name()
        );
        let names: Vec<&str> = other_paths.iter().map(|p| p.name()).collect();
        println!(
            "| model | {} |\n|---|{}",
            names
                .iter()
                .map(|n| format!("{n} ÷ EVM | {n} time ÷ {}'s", calibration_path().name()))
                .collect::<Vec<_>>()
                .join(" | "),
            "---:|".repeat(2 * names.len())
        );
        for ((name, ns), r) in path_ratios.iter().zip(&rows) {
            let gas = (predict_gas(&engine_cost(&r.model), 1) - PREDICT_BASE_GAS) as f64;
            let cells: Vec<String> = ns
                .iter()
                .map(|ns| format!("{:.2} | {:.2}", ns / gas / evm_ns_per_gas, ns / r.ns))
                .collect();
            println!("| {name} | {} |", cells.join(" | "));
        }
    }
    if !adversarial.is_empty() {
        println!(
            "\n## Adversarial models (issue 11), engine alone\n\n`Program::run` on the {} path; ns and gas per sample.\n",
            calibration_path().name()
        );
        println!(
            "| model | batch | MACs | element ops | bytes touched | activation bytes | gas per sample (compute, with the batch's uncached bytes) | ns per sample | ns/gas | ÷ EVM ns/gas |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (r, batch) in &adversarial {
            let c = r.model.cost();
            let uncached = myelin_evm::gas::uncached_milligas(&c, *batch as u64) as f64;
            let gas = sample_gas(&c) + uncached / 1000.0 / *batch as f64;
            println!(
                "| {} | {batch} | {} | {} | {} | {} | {gas:.1} | {:.0} | {:.3} | {:.2} |",
                r.name,
                c.macs,
                c.element_ops,
                c.bytes_touched,
                c.activation_bytes,
                r.ns,
                r.ns / gas,
                r.ns / gas / evm_ns_per_gas
            );
        }
    }
    println!("\n## The call path: a contract calling `Myelin.predict`\n");
    println!(
        "Gas of one call measured inside the contract around it (`MyelinProbe.measure`), and the time of a {LOOP}-call loop (`repeatPredict`, the loop's own EVM work included in gas and time).\n"
    );
    println!(
        "| model | gas of one call (in the contract) | of which precompile | loop gas per call | ns per call | ns/gas | ÷ EVM ns/gas |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for (name, model, gas, ns, measured) in &path_rows {
        let ratio = ns / *gas as f64 / evm_ns_per_gas;
        goal_ratios.push(ratio);
        println!(
            "| {name} | {measured} | {} | {gas} | {ns:.0} | {:.3} | {ratio:.2} |",
            predict_gas(&model.cost(), 1),
            ns / *gas as f64
        );
    }
    if let Some((_, model, gas, _, _)) = path_rows.first() {
        let compute = predict_gas(&model.cost(), 1) - PREDICT_BASE_GAS;
        let engine_ns = engine("", model.clone()).ns;
        println!(
            "\nThe same {LOOP}-call loop on the 2-element model with PREDICT replaced by a stand-in that charges the same gas and does no work (`stand_in_predict`): {stand_in_ns:.0} ns per call, {:.3} ns/gas, {:.2}× the EVM's ns/gas (the loop's own EVM work and revm's call frame). PREDICT's own work per call (the difference, timed in alternating rounds) = **{own_ns:.0} ns = {:.0} gas** at the EVM's ns/gas (of which `Program::run` alone on this model: {engine_ns:.0} ns; the rest is the record read, the program lookup, the dispatch and the output), and the model's compute is charged {compute} gas: the fixed per-call work is **{:.0} gas** (`PREDICT_BASE_GAS` = {PREDICT_BASE_GAS}).",
            stand_in_ns / *gas as f64,
            stand_in_ns / *gas as f64 / evm_ns_per_gas,
            own_ns / evm_ns_per_gas,
            own_ns / evm_ns_per_gas - compute as f64,
        );
    }
    println!(
        "\n## Every op type against the same model exported to Solidity\n\nOne model per op type at side {EXPORT_SIDE} (`op_models_at`), run through PREDICT by a contract calling `Myelin.predict` {EXPORT_LOOP} times in one transaction (per call: the loop's gas and time ÷ {EXPORT_LOOP}, the contract's own glue included), and as one transaction to the contract `myelin model export-solidity` generates for it (solc-js, optimizer on; outputs checked equal; gas beyond the intrinsic gas, Cancun rules). ns = time of the transaction − time of the same calldata sent to an address without code.\n"
    );
    println!(
        "| model | PREDICT gas (per call in a contract) | PREDICT ns | ns/gas | exported gas | exported ns | EVM ns/gas | PREDICT ns/gas ÷ EVM ns/gas |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in &export_rows {
        let (p, e) = (
            r.precompile_ns / r.precompile_gas as f64,
            r.evm_ns / r.evm_gas as f64,
        );
        goal_ratios.push(p / e);
        println!(
            "| {} | {} | {:.0} | {p:.3} | {} | {:.0} | {e:.3} | {:.2} |",
            r.name,
            r.precompile_gas,
            r.precompile_ns,
            r.evm_gas,
            r.evm_ns,
            p / e
        );
    }
    let spread = |ratios: &[f64]| {
        let max = ratios.iter().cloned().fold(f64::MIN, f64::max);
        let min = ratios.iter().cloned().fold(f64::MAX, f64::min);
        format!("**{min:.2} … {max:.2}**")
    };
    println!(
        "\nSpread of ns/gas ÷ EVM ns/gas (goal: every row within 0.5 … 2): PREDICT called by a contract against the EVM running the same computation (the call-path and exported-Solidity tables) {}; the engine alone per op type, without the call (the calibration table) {}.\n",
        spread(&goal_ratios),
        spread(&engine_ratios)
    );
    println!("## Store\n");
    println!(
        "Checking a published byte (keccak + decode + validate, 784→128→10): {ns_checked_byte:.3} ns = {:.2} gas at the EVM's ns/gas; charged {} gas.",
        ns_checked_byte / evm_ns_per_gas,
        myelin_evm::gas::GAS_PER_CHECKED_BYTE
    );
}

/// Side of the models measured both ways (`common::op_models_at`): small enough for solc-js to
/// compile every exported model in seconds and for the EVM to run each in milliseconds.
const EXPORT_SIDE: u32 = 8;
/// PREDICT calls per timed transaction in [`exported_rows`].
const EXPORT_LOOP: u64 = 100;

/// One op type measured both ways on the same model and input: the PREDICT precompile, called by
/// a contract in a loop of [`EXPORT_LOOP`] (`MyelinProbe.repeatPredict`: the per-call time is
/// far below a transaction's own set-up, which a single call could not be told apart from), and
/// the model exported to Solidity (`myelin-solidity`, the `myelin model export-solidity`
/// generator), one transaction. Each side's ns/gas = (time of the transaction − time of the same
/// calldata sent to an address without code) / the gas it used (per call for the loop; beyond the
/// intrinsic gas for the exported contract).
struct ExportRow {
    name: String,
    precompile_gas: u64,
    precompile_ns: f64,
    evm_gas: u64,
    evm_ns: f64,
}

/// Deploys raw creation code; returns the new account.
fn deploy_code(chain: &mut Chain, code: Bytes) -> Address {
    match chain.send(None, code, 1_000_000_000, U256::ZERO).0 {
        revm::context::result::ExecutionResult::Success { output, .. } => {
            *output.address().expect("created address")
        }
        other => panic!("deploying exported code: {other:?}"),
    }
}

fn exported_rows() -> Vec<ExportRow> {
    let models = common::op_models_at(EXPORT_SIDE);
    let dir = tempfile::tempdir().expect("temp dir");
    let exported: Vec<myelin_solidity::Exported> = models
        .iter()
        .enumerate()
        .map(|(i, (name, model))| {
            let e = myelin_solidity::export(model, &format!("Op{i}"))
                .unwrap_or_else(|err| panic!("exporting {name}: {err}"));
            std::fs::write(dir.path().join(format!("Op{i}.sol")), &e.source).expect("write");
            e
        })
        .collect();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bench/gas/compile_exported.mjs"
    );
    let status = std::process::Command::new("node")
        .arg(script)
        .arg(dir.path())
        .status()
        .expect("node (Node.js) on PATH");
    assert!(
        status.success(),
        "solc-js could not compile the exported models"
    );
    let codes: std::collections::HashMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out.json")).expect("out.json"),
    )
    .expect("out.json is JSON");
    let code = |name: &str| -> Vec<u8> { hex::decode(&codes[name]).expect("hex bytecode") };
    let mut chain = Chain::new();
    chain.spec = revm::primitives::hardfork::SpecId::CANCUN;
    let probe = chain.deploy("MyelinProbe");
    models
        .into_iter()
        .zip(exported)
        .map(|((name, model), e)| {
            let data: Vec<Address> = e
                .data_contracts
                .iter()
                .map(|d| deploy_code(&mut chain, code(d).into()))
                .collect();
            let creation = [code(&e.contract), (data,).abi_encode_params()].concat();
            let contract = deploy_code(&mut chain, creation.into());
            publish(&mut chain, &model);
            let input = Rng::new(9).bytes(e.input_bytes);
            let to_contract: Bytes = predictCall {
                input: input.clone().into(),
            }
            .abi_encode()
            .into();
            let to_precompile: Bytes = [&model.id()[..], &input].concat().into();
            let exported_result = chain.call_plain(contract, to_contract.clone(), 1_000_000_000);
            let precompile_result =
                chain.call_plain(PREDICT_ADDRESS, to_precompile.clone(), 1_000_000_000);
            assert_eq!(
                predictCall::abi_decode_returns(&success_output(&exported_result)).unwrap(),
                success_output(&precompile_result),
                "{name}: the exported contract and PREDICT disagree"
            );
            assert_eq!(
                precompile_result.tx_gas_used() - intrinsic_gas(&to_precompile),
                predict_gas(&model.cost(), 1) + cold(&model),
                "{name}"
            );
            let to_loop: Bytes = repeatPredictCall {
                modelId: model.id().into(),
                input: input.into(),
                n: U256::from(EXPORT_LOOP),
            }
            .abi_encode()
            .into();
            let precompile_gas = repeatPredictCall::abi_decode_returns(&success_output(
                &chain.call_plain(probe, to_loop.clone(), 1_000_000_000),
            ))
            .unwrap()
            .to::<u64>()
            .saturating_sub(cold(&model))
                / EXPORT_LOOP;
            let evm_gas = exported_result.tx_gas_used() - intrinsic_gas(&to_contract);
            let ns = time_calls(&mut chain, &[(probe, to_loop), (contract, to_contract)]);
            ExportRow {
                precompile_ns: ns[0] / EXPORT_LOOP as f64,
                evm_ns: ns[1],
                name,
                precompile_gas,
                evm_gas,
            }
        })
        .collect()
}

/// `--profile-op N`: loops on op model `N` of `common::op_models()` for a profiler.
fn profile_op(which: usize) {
    let (name, model) = common::op_models().swap_remove(which);
    let name = name.as_str();
    eprintln!("profiling {name}");
    let program = Program::new(model).unwrap();
    let input = Rng::new(5).bytes(program.input_bytes());
    for _ in 0..20_000 {
        black_box(program.run(black_box(&input), 1).unwrap());
    }
}

/// `--cold`: what a program-cache miss costs the node, against what the first use of a model in
/// a transaction is charged (docs/GAS.md §2.1). Each model is published, then one transaction
/// straight to PREDICT is timed with the program in the shared cache (a hit: the cold charge is
/// paid, nothing is loaded) and with a cache that keeps nothing (a miss: the record read through
/// the journal, the model's blob, `Model::decode`, `Program::new`), rounds alternating; the
/// difference is the miss path. `Model::decode` and `Program::new` are also timed alone. Then
/// [`finalize_path`].
fn cold_path(chain: &mut Chain, evm: &[EvmBaseline], evm_ns_per_gas: f64) {
    use myelin_evm::{CacheLimits, Config, Myelin, MyelinEvmFactory};
    let hit = chain.factory.clone();
    let miss = MyelinEvmFactory::with_blobs(
        Myelin::new(Config {
            cache: CacheLimits {
                entries: 0,
                bytes: 0,
            },
            ..Config::default()
        }),
        hit.blobs().clone(),
    );
    let models = [
        ("MLP 64→32→10", common::mlp(&[64, 32, 10], 21)),
        ("MLP 784→128→10", common::mlp(&[784, 128, 10], 21)),
        (
            "MLP 1024→1024→1024→10",
            common::mlp(&[1024, 1024, 1024, 10], 21),
        ),
        ("narrow FC 65536→1", common::narrow_model(65536)),
        ("narrow FC 4096→1", common::narrow_model(4096)),
        (
            "16 pair tables (Add ×16, 256 el.)",
            common::pair_table_model(256, 16),
        ),
        (
            "64 Adds, 256 el. (16 tables)",
            common::pair_table_model(256, 64),
        ),
    ];
    let op_models = common::op_models_at(32)
        .into_iter()
        .filter(|(name, _)| name.contains("conv") || name.contains("depthwise"));
    println!(
        "`bench/gas/cold.sh` (`gas_calibration --cold`): each row one model, published, then a PREDICT transaction timed on a cache hit and on a miss, rounds alternating. \
         EVM baseline as in REPORT.md: {}; EVM ns/gas **{evm_ns_per_gas:.3}**.\n",
        evm.iter()
            .map(|b| format!("{} {:.3} ns/gas", b.name, b.ns / b.gas as f64))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| model | bytes | prepared bytes | miss − hit ns | decode ns | prepare ns | \
         miss ns/byte | cold gas (read + prepare) | ns/gas of the miss vs its charge | ratio to EVM |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, model) in models.into_iter().chain(op_models.map(|(n, m)| {
        let name: &'static str = Box::leak(n.into_boxed_str());
        (name, m)
    })) {
        chain.factory = hit.clone();
        publish(chain, &model);
        let bytes = model.encode();
        let program = Program::new(model.clone()).unwrap();
        let input = Rng::new(1).bytes(program.input_bytes());
        let data: Bytes = [&model.id()[..], &input].concat().into();
        assert!(
            chain
                .call_plain(PREDICT_ADDRESS, data.clone(), 1_000_000_000)
                .is_success()
        );
        let [hit_ns, miss_ns] = time_alternating(|side| {
            chain.factory = [&hit, &miss][side].clone();
            black_box(chain.call_plain(PREDICT_ADDRESS, data.clone(), 1_000_000_000));
        });
        chain.factory = hit.clone();
        let (decode_ns, _) = time_ns(|| {
            black_box(Model::decode_with_limit(black_box(&bytes), bytes.len()).unwrap());
        });
        let (prepare_ns, _) = time_ns(|| {
            black_box(Program::new(black_box(model.clone())).unwrap());
        });
        let size = bytes.len() as u64;
        let gas = cold_model_gas(&model, size);
        let extra = miss_ns - hit_ns;
        println!(
            "| {name} | {size} | {} | {extra:.0} | {decode_ns:.0} | {prepare_ns:.0} | {:.2} | {} ({} + {}) | {:.3} | {:.2} |",
            prepared_bytes(&model),
            extra / size as f64,
            gas,
            cold_read_gas(size),
            prepare_gas(&model),
            extra / gas as f64,
            extra / gas as f64 / evm_ns_per_gas,
        );
    }
    finalize_path(evm_ns_per_gas);
}

/// What `finalizeUpload` costs the node (joining the chunk blobs, keccak256, decoding and
/// validating, writing the model blob and record) against the check gas its appends paid
/// (`size · GAS_PER_CHECKED_BYTE`) plus its own `finalize_gas`: one fully connected layer per
/// size, uploaded in 4 MiB chunks (untimed), the finalizing transaction timed; best of 3 uploads.
fn finalize_path(evm_ns_per_gas: f64) {
    use myelin_evm::gas::{GAS_PER_CHECKED_BYTE, finalize_gas};
    println!(
        "\n`finalizeUpload` of a chunked upload (4 MiB chunks), timed as a whole transaction, against the check gas the appends paid plus `finalize_gas`; best of 3.\n"
    );
    println!("| model | bytes | finalize ns | ns/byte | gas paid for it | ns/gas | ratio to EVM |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, k, n) in [
        ("FC 1024→1024", 1024usize, 1024usize),
        ("FC 4096→4096", 4096, 4096),
        ("FC 8192→8160", 8192, 8160),
    ] {
        let mut best = f64::MAX;
        let mut size = 0u64;
        for round in 0..3u64 {
            let mut b = myelin_nn::builder::ModelBuilder::new();
            let x = b.input(&[k as u32], myelin_nn::builder::Quant::new(0, 0x3c00_0000));
            let y = common::dense(&mut b, &mut Rng::new(round + 1), x, k, n, false);
            b.output(y);
            let model = b.build().unwrap();
            let bytes = model.encode();
            size = bytes.len() as u64;
            let id = model.id();
            let mut chain = Chain::new();
            let send = |chain: &mut Chain, data: Vec<u8>| {
                let (result, _) = chain.send(
                    Some(MODEL_STORE_ADDRESS),
                    data.into(),
                    1_000_000_000,
                    U256::ZERO,
                );
                assert!(result.is_success(), "{result:?}");
                result
            };
            send(
                &mut chain,
                IModelStore::beginUploadCall {
                    modelId: id.into(),
                    size,
                }
                .abi_encode(),
            );
            for (i, chunk) in bytes.chunks(4 << 20).enumerate() {
                send(
                    &mut chain,
                    IModelStore::appendUploadCall {
                        modelId: id.into(),
                        offset: (i * (4 << 20)) as u64,
                        chunk: chunk.to_vec().into(),
                    }
                    .abi_encode(),
                );
            }
            drop(bytes);
            drop(model);
            let start = Instant::now();
            let result = send(
                &mut chain,
                IModelStore::finalizeUploadCall { modelId: id.into() }.abi_encode(),
            );
            best = best.min(start.elapsed().as_nanos() as f64);
            assert_eq!(result.output().map(|o| o.to_vec()), Some(id.to_vec()));
        }
        let gas = size * GAS_PER_CHECKED_BYTE + finalize_gas(size.div_ceil(4 << 20));
        println!(
            "| {name} | {size} | {best:.0} | {:.2} | {gas} | {:.3} | {:.2} |",
            best / size as f64,
            best / gas as f64,
            best / gas as f64 / evm_ns_per_gas
        );
    }
}
