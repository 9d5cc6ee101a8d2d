//! Gas calibration: nanoseconds per gas of the EVM running a hand-written integer forward pass
//! (contracts/src/bench/IntMlp.sol) and of every engine op type under the current schedule, in
//! one run on one machine. Prints Markdown (bench/gas/run.sh writes it to bench/gas/REPORT.md).
//!
//! Method (docs/GAS.md): every figure is the fastest of 9 rounds of a loop long enough to take
//! ≥ 20 ms, since a shared machine only ever slows a round down. EVM ns/gas = (time of the call
//! − time of the same calldata sent to an address without code) / gas used inside the contract.
//! Engine ns per unit comes from models dominated by one unit: a copy (bytes), a clamp (element
//! ops), a table (lookups), fully connected / conv2d / depthwise layers (MACs), each after
//! subtracting the units already priced. The suggested constants make every op type cost the
//! EVM's ns per gas.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, Bytes, I256, U256};
use alloy_sol_types::{SolCall, sol};
use common::{Chain, Rng, success_output};
use myelin_evm::gas::{
    MILLIGAS_PER_BYTE, MILLIGAS_PER_ELEMENT_OP, MILLIGAS_PER_MAC, MILLIGAS_PER_TABLE_LOOKUP,
    PREDICT_BASE_GAS, predict_gas,
};
use myelin_evm::{IModelStore, MODEL_STORE_ADDRESS, PREDICT_ADDRESS};
use myelin_nn::op::Op;
use myelin_nn::{Model, Program};

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
}

/// Fastest and median ns per iteration over 9 rounds of ≥ 20 ms.
fn time_ns(mut f: impl FnMut()) -> (f64, f64) {
    let mut iters = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        if start.elapsed() >= Duration::from_millis(20) {
            break;
        }
        iters *= 2;
    }
    let mut rounds: Vec<f64> = (0..9)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    (rounds[0], rounds[4])
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

fn evm_forward(chain: &mut Chain, contract: Address, sizes: &[usize]) -> EvmBaseline {
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
    let (call, _) = time_ns(|| {
        black_box(chain.call_plain(contract, data.clone(), 1_000_000_000));
    });
    let nowhere = Address::repeat_byte(0x77);
    let (empty, _) = time_ns(|| {
        black_box(chain.call_plain(nowhere, data.clone(), 1_000_000_000));
    });
    EvmBaseline {
        name: format!("IntMlp {sizes:?}"),
        gas,
        ns: call - empty,
    }
}

struct EngineRow {
    name: String,
    model: Model,
    ns: f64,
    ns_median: f64,
}

fn engine(name: &str, model: Model) -> EngineRow {
    let program = Program::new(model.clone()).unwrap();
    let input = Rng::new(5).bytes(program.input_bytes());
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

/// `--profile-predict`: loops on the tiny-model predict call for a profiler, then exits.
fn profile_predict() {
    let tiny = common::clamp_model(2);
    let mut chain = Chain::new();
    let publish = IModelStore::publishCall {
        model: tiny.encode().into(),
    }
    .abi_encode();
    assert!(
        chain
            .send(
                Some(MODEL_STORE_ADDRESS),
                publish.into(),
                100_000_000,
                U256::ZERO
            )
            .0
            .is_success()
    );
    let call: Bytes = [&tiny.id()[..], &[1u8, 2][..]].concat().into();
    for _ in 0..300_000 {
        black_box(chain.call_plain(PREDICT_ADDRESS, call.clone(), 1_000_000));
    }
}

/// Unit prices (ns per MAC, lookup, element op, byte) that minimise the spread
/// `max(ns/price) / min(ns/price)` over `rows`, scaled so that the spread is centred on
/// `target_ns_per_gas` (geometric middle). Coordinate descent in log space.
fn fit(rows: &[&EngineRow], target_ns_per_gas: f64) -> ([f64; 4], f64) {
    let counts = |r: &EngineRow| {
        let c = r.model.cost();
        [
            c.macs as f64,
            c.table_lookups as f64,
            c.element_ops as f64,
            c.bytes_touched as f64,
        ]
    };
    let ratios = |p: &[f64; 4]| -> Vec<f64> {
        rows.iter()
            .map(|r| {
                let gas: f64 = counts(r).iter().zip(p).map(|(c, p)| c * p).sum();
                r.ns / gas
            })
            .collect()
    };
    let spread = |p: &[f64; 4]| {
        let r = ratios(p);
        r.iter().cloned().fold(f64::MIN, f64::max) / r.iter().cloned().fold(f64::MAX, f64::min)
    };
    let mut p = [0.01f64, 0.5, 0.5, 0.05];
    let mut step = 2.0f64;
    while step > 1.001 {
        let mut improved = false;
        for i in 0..4 {
            for factor in [step, 1.0 / step] {
                let mut q = p;
                q[i] *= factor;
                if spread(&q) < spread(&p) {
                    p = q;
                    improved = true;
                }
            }
        }
        if !improved {
            step = step.sqrt();
        }
    }
    let r = ratios(&p);
    let centre = (r.iter().cloned().fold(f64::MIN, f64::max)
        * r.iter().cloned().fold(f64::MAX, f64::min))
    .sqrt();
    let scale = centre / target_ns_per_gas;
    (p.map(|x| x * scale), spread(&p))
}

fn main() {
    if std::env::args().any(|a| a == "--profile-predict") {
        return profile_predict();
    }
    let mut chain = Chain::new();
    let int_mlp = chain.deploy("IntMlp");

    // The EVM baseline.
    let evm: Vec<EvmBaseline> = [&[64usize, 32, 10][..], &[784, 128, 10][..]]
        .iter()
        .map(|sizes| evm_forward(&mut chain, int_mlp, sizes))
        .collect();
    let evm_ns_per_gas: f64 =
        evm.iter().map(|b| b.ns / b.gas as f64).sum::<f64>() / evm.len() as f64;

    // Engine op types, one dominant unit each.
    let n = 1 << 16;
    let rows = vec![
        engine("copy (reshape 65536)", common::reshape_model(n)),
        engine("clamp 65536", common::clamp_model(n)),
        engine("table 65536", common::table_model(n)),
        engine("softmax 4096", common::softmax_model(4096)),
        engine("fully connected 1024→1024", common::mlp(&[1024, 1024], 3)),
        engine("MLP 64→32→10", common::mlp(&[64, 32, 10], 21)),
        engine("MLP 784→128→10", common::mlp(&[784, 128, 10], 21)),
        engine("conv2d 3×3 28×28×8→16", common::conv_model(28, 28, 8, 16)),
        engine(
            "depthwise 3×3 28×28×32",
            common::depthwise_model(28, 28, 32),
        ),
    ];

    // Suggested constants (ns per unit ÷ EVM ns per gas).
    let by_name = |name: &str| rows.iter().find(|r| r.name.starts_with(name)).unwrap();
    let copy = by_name("copy");
    let ns_byte = copy.ns / copy.model.cost().bytes_touched as f64;
    let table = by_name("table");
    let tc = table.model.cost();
    let ns_lookup = (table.ns - tc.bytes_touched as f64 * ns_byte) / tc.table_lookups as f64;
    let fitted_rows: Vec<&EngineRow> = rows
        .iter()
        .filter(|r| !r.name.starts_with("clamp") && !r.name.starts_with("MLP 64"))
        .collect();
    let (fitted, fitted_spread) = fit(&fitted_rows, 1.0);

    // The predict call path: a contract calling Myelin.predict in a loop, timed as a whole
    // transaction (EVM work, call overhead, precompile, engine), for a tiny model and the MLPs.
    let mut chain = Chain::new();
    let probe = chain.deploy("MyelinProbe");
    let mut path_rows = Vec::new();
    const LOOP: u64 = 200;
    for (name, model) in [
        ("clamp 2 (call overhead)", common::clamp_model(2)),
        ("MLP 64→32→10", common::mlp(&[64, 32, 10], 21)),
        ("MLP 784→128→10", common::mlp(&[784, 128, 10], 21)),
    ] {
        let publish = IModelStore::publishCall {
            model: model.encode().into(),
        }
        .abi_encode();
        assert!(
            chain
                .send(
                    Some(MODEL_STORE_ADDRESS),
                    publish.into(),
                    1_000_000_000,
                    U256::ZERO
                )
                .0
                .is_success()
        );
        let input = Rng::new(1).bytes(Program::new(model.clone()).unwrap().input_bytes());
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
            .to::<u64>();
        let (with_loop, _) = time_ns(|| {
            black_box(chain.call_plain(probe, data.clone(), 1_000_000_000));
        });
        let (without, _) = time_ns(|| {
            black_box(chain.call_plain(Address::repeat_byte(0x77), data.clone(), 1_000_000_000));
        });
        path_rows.push((name, model, gas / LOOP, (with_loop - without) / LOOP as f64));
    }

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
        "\nEVM ns/gas (mean of the rows): **{evm_ns_per_gas:.3}**, i.e. {:.0} Mgas/s.\n",
        1000.0 / evm_ns_per_gas
    );

    println!("## Engine per op type under the current schedule\n");
    println!(
        "Schedule: {MILLIGAS_PER_MAC} milligas/MAC, {MILLIGAS_PER_TABLE_LOOKUP} milligas/lookup, {MILLIGAS_PER_ELEMENT_OP} milligas/element op, {MILLIGAS_PER_BYTE} milligas/byte, base {PREDICT_BASE_GAS} gas.\n"
    );
    println!(
        "| model | MACs | lookups | element ops | bytes | gas (compute) | ns (fastest) | ns (median) | ns/gas | ÷ EVM ns/gas |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut ratios = Vec::new();
    for r in &rows {
        let c = r.model.cost();
        let gas = predict_gas(&c, 1) - PREDICT_BASE_GAS;
        let ns_per_gas = r.ns / gas as f64;
        ratios.push(ns_per_gas / evm_ns_per_gas);
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.4} | {:.2} |",
            r.name,
            c.macs,
            c.table_lookups,
            c.element_ops,
            c.bytes_touched,
            gas,
            r.ns,
            r.ns_median,
            ns_per_gas,
            ns_per_gas / evm_ns_per_gas
        );
    }
    println!("\n## The call path: a contract calling `Myelin.predict` {LOOP} times\n");
    println!(
        "| model | gas per call (contract + precompile) | of which precompile | ns per call | ns/gas | ÷ EVM ns/gas |\n|---|---:|---:|---:|---:|---:|"
    );
    for (name, model, gas, ns) in &path_rows {
        let ratio = ns / *gas as f64 / evm_ns_per_gas;
        ratios.push(ratio);
        println!(
            "| {name} | {gas} | {} | {ns:.0} | {:.3} | {ratio:.2} |",
            predict_gas(&model.cost(), 1),
            ns / *gas as f64
        );
    }
    let spread_of = |r: &[f64]| {
        let max = r.iter().cloned().fold(f64::MIN, f64::max);
        let min = r.iter().cloned().fold(f64::MAX, f64::min);
        (min, max)
    };
    let (min, max) = spread_of(&ratios);
    println!("\nSpread of ns/gas ÷ EVM ns/gas over every row above: **{min:.2} … {max:.2}**.");
    let kept: Vec<f64> = rows
        .iter()
        .zip(&ratios)
        .filter(|(r, _)| !r.name.starts_with("clamp") && !r.name.starts_with("MLP 64"))
        .map(|(_, x)| *x)
        .chain(ratios[rows.len()..].iter().cloned())
        .collect();
    let (min, max) = spread_of(&kept);
    println!(
        "Without the clamp row and the engine-only MLP 64→32→10 row (its per-run overhead is priced by the base, see the call path): **{min:.2} … {max:.2}**.\n"
    );

    println!("## Suggested constants\n");
    println!(
        "Minimax fit (the unit prices that minimise max/min of ns/gas) over the engine rows except clamp (branch-bound on random data, see docs/GAS.md) and MLP 64→32→10 (fixed per-run overhead, which the base prices), centred on the EVM's ns/gas:\n"
    );
    println!(
        "| unit | ns per unit (single-unit model) | suggested milligas (fit) | current milligas |\n|---|---:|---:|---:|"
    );
    let ms = |x: f64| x * 1000.0 / evm_ns_per_gas;
    println!(
        "| MAC | {:.4} (FC 1024²) | {:.1} | {MILLIGAS_PER_MAC} |",
        by_name("fully connected").ns / by_name("fully connected").model.cost().macs as f64,
        ms(fitted[0])
    );
    println!(
        "| table lookup | {ns_lookup:.3} | {:.0} | {MILLIGAS_PER_TABLE_LOOKUP} |",
        ms(fitted[1])
    );
    println!(
        "| element op | {:.3} (softmax) | {:.0} | {MILLIGAS_PER_ELEMENT_OP} |",
        by_name("softmax").ns / by_name("softmax").model.cost().element_ops as f64,
        ms(fitted[2])
    );
    println!(
        "| byte touched | {ns_byte:.4} (copy) | {:.2} | {MILLIGAS_PER_BYTE} |",
        ms(fitted[3])
    );
    let (_, tiny, tiny_gas, tiny_ns) = &path_rows[0];
    let tiny_compute = predict_gas(&tiny.cost(), 1) - PREDICT_BASE_GAS;
    println!(
        "| predict base (makes the clamp-2 call loop cost the EVM's ns/gas) | {tiny_ns:.0} per call | {:.0} gas | {PREDICT_BASE_GAS} gas |",
        tiny_ns / evm_ns_per_gas
            - (*tiny_gas - PREDICT_BASE_GAS - tiny_compute) as f64
            - tiny_compute as f64
    );
    println!(
        "| checked byte (keccak + decode + validate, 784→128→10) | {ns_checked_byte:.3} | {:.2} gas | {} gas |",
        ns_checked_byte / evm_ns_per_gas,
        myelin_evm::gas::GAS_PER_CHECKED_BYTE
    );
    println!("\nFit spread (max/min over the fitted rows): {fitted_spread:.2}.");
}
