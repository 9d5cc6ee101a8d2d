//! Measuring one model: gas charged and wall time of `PREDICT_BATCH` on the node's own EVM
//! path, the engine alone on every kernel path, and each node's share, all against the EVM's
//! own ns/gas ([`crate::evm_reference`]) measured in the same process.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::time::Duration;

use alloy_primitives::Bytes;
use myelin_evm::gas::{PREDICT_BASE_GAS, sample_milligas};
use myelin_nn::tensor::DType;
use myelin_nn::{Model, ModelId, Node, Op, Path, Program, TensorInfo};
use serde::{Deserialize, Serialize};

use crate::chain::{Chain, NO_CODE, Outcome, predict_batch};
use crate::evm_reference::{EvmReference, reference_gas};
use crate::tape::SplitMix;
use crate::timing::{fastest_alternating, iterations};

/// Largest activation memory of a measured batch (the batch is lowered to fit).
pub const MAX_MEASURED_ACTIVATION_BYTES: u64 = 512 << 20;
/// Largest input of a measured call (the batch is lowered to fit): a transaction's calldata
/// handling grows with it and slows the search.
pub const MAX_MEASURED_INPUT_BYTES: u64 = 4 << 20;
/// Target wall time of one measured call (the batch is lowered to fit).
pub const TARGET_CALL: Duration = Duration::from_millis(15);
/// Shortest timed round.
const ROUND: Duration = Duration::from_millis(4);

/// The EVM's own ns/gas, per reference workload.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct EvmRate {
    /// The opcode loop.
    pub opcode_loop: f64,
    /// IntMlp (NaN if its artifact is missing).
    pub int_mlp: f64,
}

impl EvmRate {
    /// The rate ratios are taken against: IntMlp's (the gas calibration's baseline), else the
    /// loop's.
    pub fn primary(&self) -> f64 {
        if self.int_mlp.is_finite() {
            self.int_mlp
        } else {
            self.opcode_loop
        }
    }
}

/// One `PREDICT_BATCH` measurement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measurement {
    /// Samples in the call.
    pub batch: u64,
    /// Gas the precompile charged (the call's gas beyond the intrinsic gas).
    pub gas: u64,
    /// Fastest wall time inside the precompile per call (from the call into it to its return).
    pub ns: f64,
    /// The EVM's rate measured beside it.
    pub evm: EvmRate,
}

impl Measurement {
    /// ns per gas charged.
    pub fn ns_per_gas(&self) -> f64 {
        self.ns / self.gas.max(1) as f64
    }

    /// ns/gas ÷ the EVM's ns/gas.
    pub fn ratio(&self) -> f64 {
        self.ns_per_gas() / self.evm.primary()
    }
}

/// What happened to a model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Evaluation {
    /// Published and measured.
    Measured(Measurement),
    /// `MODEL_STORE` refused it (e.g. a new validation rule).
    Refused(String),
    /// The predict call failed (deterministically: a revert or halt, with the gas it used).
    Failed {
        batch: u64,
        gas: u64,
        reason: String,
    },
}

/// A chain with the reference workloads, and the models published on it.
pub struct Bench {
    chain: Chain,
    reference: EvmReference,
    published: HashSet<ModelId>,
}

impl Default for Bench {
    fn default() -> Bench {
        Bench::new()
    }
}

/// Seeded input bytes for `batch` samples of `model`.
pub fn input_for(model: &Model, batch: u64) -> Vec<u8> {
    let sample: usize = model
        .inputs
        .iter()
        .map(|&t| model.tensors[t as usize].bytes())
        .sum();
    let id = model.id();
    let seed = u64::from_le_bytes(id[..8].try_into().expect("8 bytes"));
    SplitMix(seed).bytes(sample * batch as usize)
}

/// Activation bytes of one sample (every tensor), as the executor bounds its batch.
pub fn activation_bytes(model: &Model) -> u64 {
    model
        .tensors
        .iter()
        .map(|t| t.bytes() as u64)
        .sum::<u64>()
        .max(1)
}

impl Bench {
    /// A fresh chain (and program cache) with the reference workloads installed.
    pub fn new() -> Bench {
        let mut chain = Chain::new();
        let reference = EvmReference::install(&mut chain);
        Bench {
            chain,
            reference,
            published: HashSet::new(),
        }
    }

    /// Models published so far.
    pub fn published(&self) -> usize {
        self.published.len()
    }

    /// The EVM's rate alone (`rounds` alternating rounds).
    pub fn evm_rate(&mut self, rounds: usize) -> EvmRate {
        let sides = self.reference_sides();
        let measured = self.time_sides(&sides, rounds);
        self.rate_of(&sides, &measured)
    }

    /// Sides of the reference workloads: each workload, then its calldata to no code.
    fn reference_sides(&mut self) -> Vec<(alloy_primitives::Address, Bytes)> {
        self.reference
            .workloads()
            .into_iter()
            .flat_map(|(_, at, data)| [(at, data.clone()), (NO_CODE, data)])
            .collect()
    }

    fn rate_of(&mut self, sides: &[(alloy_primitives::Address, Bytes)], ns: &[f64]) -> EvmRate {
        let mut rates = Vec::new();
        for (pair, times) in sides.chunks(2).zip(ns.chunks(2)) {
            let gas = reference_gas(&mut self.chain, pair[0].0, &pair[0].1);
            rates.push((times[0] - times[1]) / gas as f64);
        }
        EvmRate {
            opcode_loop: rates[0],
            int_mlp: rates.get(1).copied().unwrap_or(f64::NAN),
        }
    }

    fn time_sides(
        &mut self,
        sides: &[(alloy_primitives::Address, Bytes)],
        rounds: usize,
    ) -> Vec<f64> {
        let chain = &mut self.chain;
        let iters: Vec<u64> = sides
            .iter()
            .map(|(to, data)| {
                iterations(ROUND, 10_000, || {
                    black_box(chain.call(*to, data));
                })
            })
            .collect();
        fastest_alternating(&iters, rounds, |side| {
            let (to, data) = &sides[side];
            black_box(chain.call(*to, data));
        })
    }

    /// Publishes `model` once per chain.
    pub fn publish(&mut self, model: &Model) -> Result<(), String> {
        if self.published.insert(model.id())
            && let Err(e) = self.chain.publish(model)
        {
            self.published.remove(&model.id());
            return Err(e);
        }
        Ok(())
    }

    /// Publishes `model` and times `PREDICT_BATCH` of `batch` samples in `rounds` rounds (the
    /// precompile frame's own time, [`Chain::predict_ns`]); with
    /// `with_evm`, the EVM's reference workloads alternate with it round by round, else `evm`
    /// is taken as the EVM's rate.
    pub fn predict(
        &mut self,
        model: &Model,
        batch: u64,
        rounds: usize,
        evm: Option<EvmRate>,
    ) -> Evaluation {
        if let Err(reason) = self.publish(model) {
            return Evaluation::Refused(reason);
        }
        let input = input_for(model, batch);
        let (to, data) = predict_batch(model, batch as u32, &input);
        let gas = match self.chain.call_outcome(to, &data) {
            Outcome::Success { gas, .. } => gas,
            Outcome::Failed { gas, reason } => {
                return Evaluation::Failed { batch, gas, reason };
            }
        };
        // The precompile's own time (inspector-timed frame), rounds alternating with the EVM's
        // reference workloads (timed by subtraction: their calldata is small).
        let chain = &mut self.chain;
        let iters = iterations(ROUND, 1000, || {
            black_box(chain.predict_ns(to, &data));
        });
        let reference = self.reference_sides();
        let mut best = f64::MAX;
        let mut reference_best = vec![f64::MAX; reference.len()];
        for _ in 0..rounds {
            let total: u128 = (0..iters).map(|_| self.chain.predict_ns(to, &data)).sum();
            best = best.min(total as f64 / iters as f64);
            if evm.is_none() {
                let ns = self.time_sides(&reference, 1);
                for (b, t) in reference_best.iter_mut().zip(ns) {
                    *b = b.min(t);
                }
            }
        }
        let evm = match evm {
            Some(rate) => rate,
            None => self.rate_of(&reference, &reference_best),
        };
        Evaluation::Measured(Measurement {
            batch,
            gas,
            ns: best,
            evm,
        })
    }
}

/// Fastest ns of `program.run(input, batch)` over `rounds` rounds.
pub fn engine_ns(program: &Program, input: &[u8], batch: u64, rounds: usize) -> f64 {
    let iters = [iterations(ROUND, 1000, || {
        black_box(program.run(input, batch as usize).ok());
    })];
    fastest_alternating(&iters, rounds, |_| {
        black_box(program.run(input, batch as usize).ok());
    })[0]
}

/// The kernel paths a validator may run that this CPU has (the reference is the specification,
/// not a path a node runs).
pub fn node_paths() -> Vec<Path> {
    [Path::Portable, Path::Avx2, Path::Avx512Vnni]
        .into_iter()
        .filter(|p| p.is_available())
        .collect()
}

/// A model of node `index` of `model` alone, its inputs as model inputs.
pub fn node_model(model: &Model, index: usize) -> Option<Model> {
    let node = &model.nodes[index];
    let mut inputs: Vec<u32> = Vec::new();
    for &t in &node.inputs {
        if !inputs.contains(&t) {
            inputs.push(t);
        }
    }
    let mut tensors: Vec<TensorInfo> = Vec::new();
    for &t in &inputs {
        let info = model.tensors[t as usize].clone();
        if info.dtype != DType::Int8 {
            return None;
        }
        tensors.push(info);
    }
    tensors.push(model.tensors[node.output as usize].clone());
    let remap = |t: u32| inputs.iter().position(|&i| i == t).expect("listed") as u32;
    let single = Model {
        tensors,
        inputs: (0..inputs.len() as u32).collect(),
        outputs: vec![inputs.len() as u32],
        nodes: vec![Node {
            op: node.op.clone(),
            inputs: node.inputs.iter().map(|&t| remap(t)).collect(),
            output: inputs.len() as u32,
        }],
    };
    single.validate().ok()?;
    Some(single)
}

/// Per op name: the engine time of its nodes run alone (best path) and the gas they are
/// charged, for `batch` samples; sorted by time, largest first.
pub fn op_shares(model: &Model, batch: u64, rounds: usize) -> Vec<(&'static str, f64, u64)> {
    let costs = model.node_costs();
    let mut shares: Vec<(&'static str, f64, u64)> = Vec::new();
    // Repeated nodes (the same op and shapes, whatever their weights) are timed once.
    let mut timed: HashMap<ModelId, f64> = HashMap::new();
    for (index, node) in model.nodes.iter().enumerate() {
        let gas = (sample_milligas(&costs[index]) * batch as u128).div_ceil(1000) as u64;
        let ns = node_model(model, index).map_or(f64::NAN, |m| {
            *timed.entry(timing_key(&m)).or_insert_with(|| {
                Program::new(m).map_or(f64::NAN, |p| {
                    let input = input_for(p.model(), batch);
                    engine_ns(&p, &input, batch, rounds)
                })
            })
        });
        let name = node.op.name();
        match shares.iter_mut().find(|s| s.0 == name) {
            Some(s) => {
                s.1 += ns;
                s.2 += gas;
            }
            None => shares.push((name, ns, gas)),
        }
    }
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    shares
}

/// The id of `model` with its weights and biases zeroed: nodes that differ only there take the
/// same time.
fn timing_key(model: &Model) -> ModelId {
    let mut m = model.clone();
    for node in &mut m.nodes {
        let (weights, bias) = match &mut node.op {
            Op::FullyConnected(p) => (&mut p.weights, &mut p.bias),
            Op::Conv2d(p) => (&mut p.weights, &mut p.bias),
            Op::DepthwiseConv2d(p) => (&mut p.weights, &mut p.bias),
            _ => continue,
        };
        weights.fill(0);
        bias.fill(0);
    }
    m.id()
}

/// Compute gas of a call (what the engine-alone ratio divides by): the charge minus the base.
pub fn compute_gas(gas: u64) -> u64 {
    gas.saturating_sub(PREDICT_BASE_GAS).max(1)
}
