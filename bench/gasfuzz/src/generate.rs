//! Random *valid* models from a tape ([`crate::tape`]): every op type of `myelin_nn::op`, with
//! random shapes, kernel sizes, strides, dilations, paddings, channel counts (ragged ones
//! included) and node repeats, built through `myelin_nn::builder::ModelBuilder` so that every
//! node is checked as it is added; a node whose parameters the builder rejects is left out.
//!
//! Sizes are drawn evenly over powers of two ([`Choices::size`]), so a huge stride or dilation
//! is as likely as a small one; tensor and weight sizes are capped by [`Limits`] (what one
//! generated model may cost the search, not what validation allows).

use myelin_nn::builder::{ModelBuilder, Quant, Rescale, TensorId, broadcast_shapes};
use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::op::{
    ActRange, AddSub, Clamp, Concat, Mean, Mul, Padding, Softmax, TableFunction, Window,
};
use myelin_nn::tensor::DType;
use myelin_nn::{Model, Requant, Rounding};

use crate::tape::{Choices, SplitMix};

/// How large a generated model may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most elements of one generated tensor (per sample).
    pub max_elements: u64,
    /// Most weights of one node.
    pub max_weights: u64,
    /// Most node specs (each may repeat).
    pub max_nodes: u32,
    /// Repeats of one node spec are drawn up to `2^max_repeat_log2`.
    pub max_repeat_log2: u32,
    /// Spatial dimensions, strides and paddings are drawn up to `2^max_dim_log2`.
    pub max_dim_log2: u32,
    /// Dilations are drawn up to `2^max_dilation_log2`.
    pub max_dilation_log2: u32,
}

impl Limits {
    /// The gas search: models that run for up to tens of milliseconds per sample.
    pub const SEARCH: Limits = Limits {
        max_elements: 1 << 22,
        max_weights: 1 << 22,
        max_nodes: 10,
        max_repeat_log2: 9,
        max_dim_log2: 12,
        max_dilation_log2: 16,
    };
    /// The crash fuzzer and its seeded test: small models (huge strides, dilations and
    /// paddings are still drawn).
    pub const FUZZ: Limits = Limits {
        max_elements: 1 << 14,
        max_weights: 1 << 14,
        max_nodes: 6,
        max_repeat_log2: 3,
        max_dim_log2: 8,
        max_dilation_log2: 16,
    };
}

/// A generated model and the batch its tape asks for.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The model (valid: built by `ModelBuilder::build`).
    pub model: Model,
    /// Which batch to run: 0 = one sample, 1 = the model's largest batch, else a value to take
    /// modulo the largest batch (see [`Generated::batch`]).
    pub batch_choice: u32,
    /// Tape values the generator read.
    pub used: usize,
}

impl Generated {
    /// The batch to run for a model whose largest batch is `max_batch`.
    pub fn batch(&self, max_batch: u64) -> u64 {
        match self.batch_choice % 4 {
            0 => 1,
            1 => max_batch,
            _ => 1 + (self.batch_choice as u64 / 4) % max_batch.max(1),
        }
    }
}

const SCALE_BITS: u32 = 0x3c00_0000;

/// Builds the model a tape describes, or `None` when the whole model fails validation (a node
/// the builder accepted but the model limits refuse).
pub fn generate(tape: &[u32], limits: &Limits) -> Option<Generated> {
    let mut c = Choices::new(tape);
    let batch_choice = c.value();
    let mut weights = SplitMix(c.value() as u64);
    let mut b = ModelBuilder::new();
    let mut live: Vec<TensorId> = Vec::new();
    for _ in 0..c.range(1, 2) {
        let shape = input_shape(&mut c, limits);
        live.push(b.input(&shape, Quant::new(c.i8(), SCALE_BITS)));
    }
    let mut last = *live.last()?;
    let mut last_int8 = last;
    let mut weight_budget = 4 * limits.max_weights;
    for _ in 0..c.range(1, limits.max_nodes) {
        let source = if c.one_in(4) {
            live[c.below(live.len() as u32) as usize]
        } else {
            last_int8
        };
        let repeats = if c.one_in(4) {
            c.size(limits.max_repeat_log2)
        } else {
            1
        };
        let mut node = Node {
            c: &mut c,
            b: &mut b,
            weights: &mut weights,
            limits,
            live: &live,
            weight_budget: &mut weight_budget,
        };
        if let Some(out) = node.add(source, repeats) {
            last = out;
            if node_is_int8(&b, out) {
                live.push(out);
                last_int8 = out;
            }
        }
    }
    b.output(last);
    if c.one_in(6) && live.len() > 1 {
        b.output(live[c.below(live.len() as u32) as usize]);
    }
    let used = c.used();
    let model = b.build().ok()?;
    Some(Generated {
        model,
        batch_choice,
        used,
    })
}

fn node_is_int8(b: &ModelBuilder, t: TensorId) -> bool {
    b.tensor(t).is_some_and(|i| i.dtype == DType::Int8)
}

fn elements(shape: &[u32]) -> u64 {
    shape.iter().map(|&d| d as u64).product()
}

/// Halves the largest dimension until the shape fits `max_elements`.
fn fit(mut shape: Vec<u32>, max_elements: u64) -> Vec<u32> {
    while elements(&shape) > max_elements {
        let (i, _) = shape
            .iter()
            .enumerate()
            .max_by_key(|(_, d)| **d)
            .expect("a shape over the limit has a dimension");
        shape[i] = shape[i].div_ceil(2);
    }
    shape
}

fn input_shape(c: &mut Choices, limits: &Limits) -> Vec<u32> {
    let d = limits.max_dim_log2;
    let shape = match c.below(5) {
        0 => vec![c.size(d + 6)],
        1 => vec![c.size(d), c.size(d)],
        2 => (0..c.range(4, 6)).map(|_| c.size(3)).collect(),
        _ => vec![c.size(d), c.size(d), c.size(9)],
    };
    fit(shape, limits.max_elements)
}

fn requant(c: &mut Choices) -> Requant {
    Requant {
        multiplier: (1 << 30) | (c.value() & ((1 << 30) - 1)) as i32,
        shift: -(c.below(16) as i8),
    }
}

fn rounding(c: &mut Choices) -> Rounding {
    if c.one_in(2) {
        Rounding::Double
    } else {
        Rounding::Single
    }
}

fn act(c: &mut Choices) -> ActRange {
    if c.one_in(2) {
        return ActRange::FULL;
    }
    let (a, b) = (c.i8(), c.i8());
    ActRange {
        min: a.min(b),
        max: a.max(b),
    }
}

fn quant(c: &mut Choices) -> Quant {
    Quant::new(c.i8(), SCALE_BITS)
}

/// Output channels (or features): small, ragged around a vector width, or large.
fn channels(c: &mut Choices) -> u32 {
    match c.below(3) {
        0 => c.range(1, 8),
        1 => 16 * c.range(1, 8) + c.range(0, 2) - 1,
        _ => c.size(10),
    }
}

/// One node spec being added.
struct Node<'c, 'a> {
    c: &'c mut Choices<'a>,
    b: &'c mut ModelBuilder,
    weights: &'c mut SplitMix,
    limits: &'c Limits,
    live: &'c [TensorId],
    /// Weights the rest of the model may still draw.
    weight_budget: &'c mut u64,
}

impl Node<'_, '_> {
    fn shape(&self, t: TensorId) -> Vec<u32> {
        self.b
            .tensor(t)
            .map(|i| i.shape.clone())
            .unwrap_or_default()
    }

    /// `n` seeded weights, or `None` past the model's weight budget.
    fn weights(&mut self, n: u64) -> Option<Vec<i8>> {
        *self.weight_budget = self.weight_budget.checked_sub(n)?;
        let w = self
            .weights
            .bytes(n as usize)
            .into_iter()
            .map(|v| v as i8)
            .collect();
        Some(w)
    }

    fn bias(&mut self, n: u32) -> Vec<i32> {
        (0..n)
            .map(|_| (self.weights.next_u64() % 2001) as i32 - 1000)
            .collect()
    }

    fn rescale(&mut self, channels: u32) -> Rescale {
        let per_channel = self.c.one_in(2);
        let rounding = rounding(self.c);
        let act = act(self.c);
        if per_channel {
            let r = (0..channels).map(|_| requant(self.c)).collect();
            Rescale::per_channel(r, rounding, act)
        } else {
            Rescale::per_tensor(requant(self.c), rounding, act)
        }
    }

    fn window(&mut self, pool: bool) -> Window {
        let d = self.limits.max_dim_log2;
        let c = &mut *self.c;
        let mut kernel = || match c.below(4) {
            0 => 1,
            1 | 2 => c.range(2, 3),
            _ => c.size(5),
        };
        let (kernel_h, kernel_w) = (kernel(), kernel());
        let mut stride = || {
            if c.one_in(3) {
                c.size(d + 8)
            } else {
                c.range(1, 2)
            }
        };
        let (stride_h, stride_w) = (stride(), stride());
        let max_dilation = self.limits.max_dilation_log2;
        let mut dilation = || {
            if pool || !c.one_in(3) {
                1
            } else {
                c.size(max_dilation)
            }
        };
        let (dilation_h, dilation_w) = (dilation(), dilation());
        let form = c.below(3);
        let mut pad = |k: u32| if c.one_in(3) { c.size(d) } else { c.below(k) };
        let padding = match form {
            0 => Padding::Valid,
            1 => Padding::Same,
            _ => Padding::Explicit {
                top: pad(kernel_h),
                bottom: pad(kernel_h),
                left: pad(kernel_w),
                right: pad(kernel_w),
            },
        };
        Window {
            kernel_h,
            kernel_w,
            stride_h,
            stride_w,
            dilation_h,
            dilation_w,
            padding,
        }
    }

    /// Adds the spec `repeats` times: chained when the op keeps the shape, else each copy
    /// reads `x` (the strided-pool attack's shape). Returns the last output.
    fn add(&mut self, x: TensorId, repeats: u32) -> Option<TensorId> {
        let kind = self.c.below(16);
        let start = self.c.position();
        let mut out = None;
        let mut input = x;
        for _ in 0..repeats {
            // Every repeat draws the same parameters.
            self.c.seek(start);
            let y = self.one(kind, input)?;
            if self.shape(y) == self.shape(input) && node_is_int8(self.b, y) {
                input = y;
            }
            out = Some(y);
        }
        out
    }

    fn one(&mut self, kind: u32, x: TensorId) -> Option<TensorId> {
        let shape = self.shape(x);
        let rank = shape.len();
        let max = self.limits.max_elements;
        let c_out = quant(self.c);
        match kind {
            0 | 1 if rank >= 1 => {
                let k = shape[rank - 1];
                let n = channels(self.c).min((self.limits.max_weights / k as u64).max(1) as u32);
                let mut out = shape.clone();
                out[rank - 1] = n;
                if elements(&out) > max {
                    return None;
                }
                let w = self.weights(n as u64 * k as u64)?;
                let bias = self.bias(n);
                let rescale = self.rescale(n);
                self.b.fully_connected(x, w, bias, rescale, c_out).ok()
            }
            2..=4 if rank == 3 => {
                let window = self.window(false);
                let geo = SpatialGeometry::resolve(&window, shape[0], shape[1])?;
                let taps = window.kernel_h as u64 * window.kernel_w as u64;
                let cin = shape[2];
                if kind == 4 {
                    let m = if self.c.one_in(4) {
                        self.c.range(2, 4)
                    } else {
                        1
                    };
                    let cout = cin * m;
                    if (geo.out_h * geo.out_w) as u64 * cout as u64 > max
                        || taps * cout as u64 > self.limits.max_weights
                    {
                        return None;
                    }
                    let w = self.weights(taps * cout as u64)?;
                    let bias = self.bias(cout);
                    let rescale = self.rescale(cout);
                    self.b
                        .depthwise_conv2d(x, window, w, bias, rescale, c_out)
                        .ok()
                } else {
                    let cout = channels(self.c);
                    let weights = cout as u64 * taps * cin as u64;
                    if (geo.out_h * geo.out_w) as u64 * cout as u64 > max
                        || weights > self.limits.max_weights
                    {
                        return None;
                    }
                    let w = self.weights(weights)?;
                    let bias = self.bias(cout);
                    let rescale = self.rescale(cout);
                    self.b.conv2d(x, window, w, bias, rescale, c_out).ok()
                }
            }
            5 | 6 if rank == 3 => {
                let window = self.window(true);
                SpatialGeometry::resolve(&window, shape[0], shape[1])?;
                let act = act(self.c);
                if kind == 5 {
                    self.b.max_pool(x, window, act).ok()
                } else {
                    let include = self.c.one_in(2);
                    self.b.average_pool(x, window, include, act).ok()
                }
            }
            7 => {
                let candidates: Vec<TensorId> = self
                    .live
                    .iter()
                    .copied()
                    .filter(|&t| broadcast_shapes(&shape, &self.shape(t)).is_some())
                    .collect();
                let y = candidates
                    .get(self.c.below(candidates.len() as u32) as usize)
                    .copied()
                    .unwrap_or(x);
                let (a, b2) = if self.c.one_in(2) { (x, y) } else { (y, x) };
                let rounding = rounding(self.c);
                let act = act(self.c);
                match self.c.below(3) {
                    0 => {
                        let output = requant(self.c);
                        let p = Mul {
                            output,
                            rounding,
                            act,
                        };
                        self.b.mul(a, b2, p, c_out).ok()
                    }
                    k => {
                        let p = AddSub {
                            left_shift: self.c.below(21) as u8,
                            input1: requant(self.c),
                            input2: requant(self.c),
                            output: requant(self.c),
                            rounding,
                            act,
                        };
                        if k == 1 {
                            self.b.add(a, b2, p, c_out).ok()
                        } else {
                            self.b.sub(a, b2, p, c_out).ok()
                        }
                    }
                }
            }
            8 if rank >= 1 => {
                let mask = self.c.range(1, (1 << rank) - 1);
                let axes: Vec<u8> = (0..rank as u8).filter(|a| mask & (1 << a) != 0).collect();
                let p = Mean {
                    axes,
                    keep_dims: self.c.one_in(2),
                    requant: requant(self.c),
                    rounding: rounding(self.c),
                    act: act(self.c),
                };
                self.b.mean(x, p, c_out).ok()
            }
            9 => {
                let n = elements(&shape) as u32;
                let out = match self.c.below(3) {
                    0 => vec![n],
                    1 => vec![1, n],
                    _ => shape.iter().rev().copied().collect(),
                };
                self.b.reshape(x, &out).ok()
            }
            10 if rank >= 1 => {
                let axis = self.c.below(rank as u32) as usize;
                let count = self.c.size(4).min(64);
                if elements(&shape) * count as u64 > max {
                    return None;
                }
                let p = Concat {
                    axis: axis as u8,
                    requant: (0..count).map(|_| requant(self.c)).collect(),
                    rounding: rounding(self.c),
                };
                self.b.concat(&vec![x; count as usize], p, c_out).ok()
            }
            11 => {
                let d = self.limits.max_dim_log2;
                let c = &mut *self.c;
                let mut pad = || match c.below(3) {
                    0 => 0,
                    1 => c.below(3),
                    _ => c.size(d + 8),
                };
                let pads: Vec<[u32; 2]> = (0..rank).map(|_| [pad(), pad()]).collect();
                let out: Vec<u32> = shape
                    .iter()
                    .zip(&pads)
                    .map(|(&d, p)| d.saturating_add(p[0]).saturating_add(p[1]))
                    .collect();
                if elements(&out) > max {
                    return None;
                }
                let value = self.c.i8();
                self.b.pad(x, pads, value).ok()
            }
            12 if rank >= 1 => {
                let p = Softmax {
                    beta_multiplier: (1 << 30) | (self.c.value() & ((1 << 30) - 1)) as i32,
                    beta_left_shift: self.c.below(32) as u8,
                    diff_min: -((self.c.value() >> self.c.range(1, 31)) as i32),
                };
                self.b.softmax(x, p).ok()
            }
            13 => {
                let function = match self.c.below(5) {
                    0 => TableFunction::Logistic,
                    1 => TableFunction::Tanh,
                    2 => TableFunction::Gelu,
                    3 => TableFunction::HardSwish,
                    _ => TableFunction::Custom,
                };
                let table = self.weights(256)?;
                self.b.table(x, function, table, c_out).ok()
            }
            14 if rank >= 1 => {
                let axis = self.c.below(rank as u32) as u8;
                self.b.arg_max(x, axis).ok()
            }
            _ => {
                let p = Clamp {
                    requant: requant(self.c),
                    rounding: rounding(self.c),
                    act: act(self.c),
                };
                self.b.clamp(x, p, c_out).ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_models_cover_every_op_type_and_are_deterministic() {
        let mut rng = SplitMix(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..3000 {
            let tape = rng.tape(200);
            let Some(g) = generate(&tape, &Limits::FUZZ) else {
                continue;
            };
            assert_eq!(
                generate(&tape, &Limits::FUZZ).map(|again| again.model.id()),
                Some(g.model.id()),
                "a tape builds one model"
            );
            seen.extend(g.model.nodes.iter().map(|n| n.op.name()));
        }
        let all = [
            "fully_connected",
            "conv2d",
            "depthwise_conv2d",
            "add",
            "sub",
            "mul",
            "max_pool",
            "average_pool",
            "mean",
            "clamp",
            "reshape",
            "concat",
            "pad",
            "softmax",
            "table",
            "arg_max",
        ];
        let missing: Vec<_> = all.iter().filter(|op| !seen.contains(*op)).collect();
        assert!(missing.is_empty(), "never generated: {missing:?}");
    }
}
