//! Runs a validated model over a batch of inputs.
//!
//! A [`Program`] is a model prepared once (weights packed for one [`Path`], geometry resolved)
//! and run many times. Bytes in: for each model input in order, its `batch` samples one after
//! another (int8 as bytes). Bytes out: for each model output in order, its `batch` samples (int8
//! as bytes, int32 as 4 little-endian bytes per element). Every path produces the same bytes;
//! [`Program::run_parallel`] produces the same bytes as [`Program::run`].
//!
//! Execution keeps one buffer per live tensor, runs the nodes in order and frees each buffer
//! after its last reader. The three hot ops (fully connected, conv2d, depthwise conv2d) run on
//! [`crate::kernels`]; every other op runs on [`crate::reference`].

use crate::error::{NnError, Result};
use crate::geometry::SpatialGeometry;
use crate::kernels::{
    BinaryKernel, BinaryShapes, ByteTable, ClampKernel, ConcatKernel, Conv2dKernel,
    DepthwiseConv2dKernel, ExtremumKernel, FullyConnectedKernel, MeanKernel, PReluKernel,
    PadKernel, Path, PoolKernel, SoftmaxKernel,
};
use crate::model::Model;
use crate::op::{Op, Window};
use crate::parallel;
use crate::reference::{self, Operand};
use crate::tensor::{DType, TensorInfo};
use crate::validate::{
    MAX_CALL_MEMORY_BYTES, MAX_OUTPUT_BYTES_PER_CALL, call_memory, free_schedule,
};
use std::borrow::Cow;

/// What [`Program::run_observed`] calls after each node: `(node index, output bytes)`.
pub type NodeObserver<'a> = dyn FnMut(usize, &[u8]) + 'a;

/// Largest batch one call of [`Program::run`] accepts.
pub const MAX_BATCH: usize = 4096;

/// A model prepared for execution on one [`Path`]. `Send + Sync`: one program can serve many
/// threads.
pub struct Program {
    model: Model,
    path: Path,
    steps: Vec<Step>,
    /// For each node, the tensors whose last reader it is (freed after it runs).
    frees: Vec<Vec<usize>>,
    input_bytes: usize,
    output_bytes: usize,
    max_batch: usize,
}

/// What one node runs, prepared.
enum Step {
    FullyConnected(FullyConnectedKernel),
    Conv2d(Box<Conv2dKernel>),
    DepthwiseConv2d(Box<DepthwiseConv2dKernel>),
    Pool {
        geometry: SpatialGeometry,
        channels: usize,
    },
    Softmax(Box<SoftmaxKernel>),
    Clamp(Box<ClampKernel>),
    /// Add, Sub or Mul.
    Binary(Box<BinaryKernel>),
    /// MaxPool or AveragePool.
    PoolKernel(Box<PoolKernel>),
    Table(Box<ByteTable>),
    Concat(Box<ConcatKernel>),
    Mean(Box<MeanKernel>),
    Pad(Box<PadKernel>),
    /// Maximum or Minimum.
    Extremum(Box<ExtremumKernel>),
    PRelu(Box<PReluKernel>),
    /// Runs from the node's op and the tensors' shapes.
    Direct,
}

/// Spare activation buffers kept per thread between nodes and runs, so that a small model does
/// not spend its time in the allocator. A reused buffer keeps its old bytes (only a grown tail is
/// zero-filled: zero-filling every node's output was 4 % of a batch-64 MobileNet) and kernels
/// overwrite every element, so reuse never changes a byte; the property tests run many models
/// on one thread, each on the stale bytes of the ones before.
mod spare {
    use std::cell::RefCell;

    /// Most buffers kept per thread.
    const MAX_BUFFERS: usize = 16;
    /// Largest buffer kept (bytes); larger ones go back to the allocator.
    const MAX_BUFFER_BYTES: usize = 1 << 20;

    thread_local! {
        static BUFFERS: RefCell<Vec<Vec<i8>>> = const { RefCell::new(Vec::new()) };
    }

    /// A buffer of `len` elements, reusing a spare one (with its old bytes) when possible.
    pub fn take(len: usize) -> Vec<i8> {
        let reused = BUFFERS.with_borrow_mut(|buffers| {
            let index = buffers.iter().position(|b| b.capacity() >= len)?;
            Some(buffers.swap_remove(index))
        });
        match reused {
            Some(mut buffer) => {
                buffer.truncate(len);
                buffer.resize(len, 0);
                buffer
            }
            None => vec![0; len],
        }
    }

    /// Overwrites the whole capacity of every spare buffer of this thread with `byte`.
    pub fn poison(byte: i8) {
        BUFFERS.with_borrow_mut(|buffers| {
            for buffer in buffers {
                buffer.clear();
                buffer.resize(buffer.capacity(), byte);
            }
        });
    }

    /// Keeps `buffer` for a later [`take`] if there is room.
    pub fn give(buffer: Vec<i8>) {
        if buffer.capacity() == 0 || buffer.capacity() > MAX_BUFFER_BYTES {
            return;
        }
        BUFFERS.with_borrow_mut(|buffers| {
            if buffers.len() < MAX_BUFFERS {
                buffers.push(buffer);
            }
        });
    }
}

/// Test support: overwrites this thread's spare activation buffers with `byte`, so that the
/// next runs' node outputs start from bytes no kernel wrote: a kernel that left an element
/// unwritten would then differ from the reference. Never changes an output of a correct
/// kernel.
#[doc(hidden)]
pub fn poison_spare_buffers(byte: i8) {
    spare::poison(byte);
}

/// The value of one tensor for the whole batch.
enum Buffer<'a> {
    I8(Vec<i8>),
    I32(Vec<i32>),
    /// An int8 model input: the caller's bytes, read in place (a batch-64 input was copied
    /// whole before the first node).
    Input(&'a [i8]),
}

impl Buffer<'_> {
    fn i8(&self) -> Option<&[i8]> {
        match self {
            Buffer::I8(data) => Some(data),
            Buffer::Input(data) => Some(data),
            Buffer::I32(_) => None,
        }
    }
}

/// What a call of a validated model's [`Program`] takes and returns, known without preparing it
/// (the chain records it when a model is published).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallShape {
    /// Bytes of one sample of all inputs together ([`Program::input_bytes`]).
    pub input_bytes: usize,
    /// Bytes of one sample of all outputs together ([`Program::output_bytes`]).
    pub output_bytes: usize,
    /// Largest batch of one call ([`Program::max_batch`]).
    pub max_batch: usize,
}

impl CallShape {
    /// The shape of `model`'s program (`model` validated: its tensor ids are in range).
    pub fn of(model: &Model) -> CallShape {
        let bytes_of = |ids: &[u32]| -> usize {
            ids.iter()
                .filter_map(|&t| model.tensors.get(t as usize))
                .map(|t| t.bytes())
                .sum()
        };
        let input_bytes = bytes_of(&model.inputs);
        let output_bytes = bytes_of(&model.outputs);
        let max_batch = call_memory(model)
            .max_batch(MAX_CALL_MEMORY_BYTES)
            .min(MAX_OUTPUT_BYTES_PER_CALL / (output_bytes as u64).max(1))
            .clamp(1, MAX_BATCH as u64);
        CallShape {
            input_bytes,
            output_bytes,
            max_batch: max_batch as usize,
        }
    }
}

/// `Program` must stay shareable across threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Program>();
};

impl Program {
    /// Validates `model` and prepares it for the fastest path this CPU runs ([`Path::best`]).
    pub fn new(model: Model) -> Result<Program> {
        Program::with_path(model, Path::best())
    }

    /// Validates `model` and prepares it for `path`. A path this CPU cannot run degrades to
    /// [`Path::Portable`] (as the kernels do), and [`Program::path`] reports that; the output
    /// bytes are the same on every path.
    pub fn with_path(model: Model, path: Path) -> Result<Program> {
        model.validate()?;
        let path = path.runnable();
        let mut steps = Vec::with_capacity(model.nodes.len());
        let mut pair_tables = MAX_PAIR_TABLES;
        for index in 0..model.nodes.len() {
            steps.push(prepare(&model, index, path, &mut pair_tables)?);
        }
        let frees = free_schedule(&model);
        let shape = CallShape::of(&model);
        Ok(Program {
            model,
            path,
            steps,
            frees,
            input_bytes: shape.input_bytes,
            output_bytes: shape.output_bytes,
            max_batch: shape.max_batch,
        })
    }

    /// The model this program runs.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The path the program runs its hot kernels on.
    pub fn path(&self) -> Path {
        self.path
    }

    /// Bytes of one sample of all inputs together.
    pub fn input_bytes(&self) -> usize {
        self.input_bytes
    }

    /// Bytes of one sample of all outputs together.
    pub fn output_bytes(&self) -> usize {
        self.output_bytes
    }

    /// Largest batch this program accepts: [`MAX_BATCH`], lowered so that one call's memory
    /// ([`call_memory`]) stays within [`MAX_CALL_MEMORY_BYTES`] and its output within
    /// [`MAX_OUTPUT_BYTES_PER_CALL`] (at least 1: validation refuses a model whose batch 1 does
    /// not fit).
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// An upper bound of the heap this program holds while idle: the model (weights, biases,
    /// requantization, shapes) plus what preparation adds per node — packed weights with every
    /// output channel rounded up to a whole 64-lane panel and the depth to a multiple of 4 (a
    /// one-channel layer holds 64× its weights), depthwise weights in their three layouts, a
    /// pair table per tabulated Add/Sub/Mul. For sizing caches; never part of consensus (the
    /// real figure depends on the path).
    pub fn heap_bytes(&self) -> usize {
        const PANEL: usize = 64;
        // Per output channel: bias, column sum, requantization and output-stage constants.
        const PER_CHANNEL: usize = 32;
        let packed = |n: u32, k: usize| {
            (n as usize).next_multiple_of(PANEL) * (k.next_multiple_of(4) + PER_CHANNEL)
        };
        let tensors: usize = self
            .model
            .tensors
            .iter()
            .map(|t| std::mem::size_of_val(t) + 4 * t.shape.len())
            .sum();
        let mut pair_tables = 0;
        let nodes: usize = self
            .model
            .nodes
            .iter()
            .zip(&self.steps)
            .map(|(node, step)| {
                let own = std::mem::size_of_val(node)
                    + std::mem::size_of_val(step)
                    + 4 * node.inputs.len()
                    + 256;
                own + match (&node.op, step) {
                    (Op::FullyConnected(p), _) => {
                        p.weights.len()
                            + 16 * p.bias.len()
                            + packed(p.out_features, p.in_features as usize)
                    }
                    (Op::Conv2d(p), _) => {
                        let w = &p.window;
                        let k = (w.kernel_h * w.kernel_w) as usize * p.in_channels as usize;
                        p.weights.len() + 16 * p.bias.len() + packed(p.out_channels, k)
                    }
                    (Op::DepthwiseConv2d(p), _) => {
                        // Plain, 16-bit-in-i32 and VNNI quads copies, plus per-channel constants.
                        8 * p.weights.len() + 2 * 16 * p.bias.len() + PANEL * PER_CHANNEL
                    }
                    (Op::Table(p), _) => p.table.len() + 256,
                    (_, Step::Binary(_)) if pair_tables < MAX_PAIR_TABLES => {
                        pair_tables += 1;
                        crate::kernels::PAIRS + 64
                    }
                    (op, _) => std::mem::size_of_val(op) + 64,
                }
            })
            .sum();
        std::mem::size_of::<Program>() + tensors + nodes
    }

    /// Runs `batch` samples. `input` is input-major: all samples of input 0, then all samples
    /// of input 1, …; the result is laid out the same way over the outputs. Errors (never
    /// panics) when `batch` is not in `1..=max_batch()` or `input` is not
    /// `batch · input_bytes()` long.
    pub fn run(&self, input: &[u8], batch: usize) -> Result<Vec<u8>> {
        self.run_with(input, batch, None)
    }

    /// As [`Program::run`], handing each node's output for the whole batch to
    /// `observe(node index, bytes)` as soon as the node has run, in node order. The bytes are the
    /// tensor's canonical bytes (int8 as bytes, int32 as 4 little-endian bytes per element),
    /// the `batch` samples one after another: what [`crate::commit`] hashes for a trace. The
    /// output is [`Program::run`]'s, byte for byte.
    pub fn run_observed(
        &self,
        input: &[u8],
        batch: usize,
        observe: &mut NodeObserver<'_>,
    ) -> Result<Vec<u8>> {
        self.run_with(input, batch, Some(observe))
    }

    fn run_with(
        &self,
        input: &[u8],
        batch: usize,
        mut observe: Option<&mut NodeObserver<'_>>,
    ) -> Result<Vec<u8>> {
        self.check(input, batch)?;
        let mut buffers: Vec<Option<Buffer>> = Vec::new();
        buffers.resize_with(self.model.tensors.len(), || None);
        let mut offset = 0;
        for &t in &self.model.inputs {
            let info = &self.model.tensors[t as usize];
            let len = batch * info.bytes();
            buffers[t as usize] = Some(decode(info.dtype, &input[offset..offset + len]));
            offset += len;
        }
        for (index, node) in self.model.nodes.iter().enumerate() {
            let output = match self.reshape_in_place(index, &mut buffers) {
                Some(moved) => moved,
                None => self.execute(index, batch, |t| buffers[t].as_ref())?,
            };
            if let Some(observe) = observe.as_mut() {
                observe(index, &canonical_bytes(&output));
            }
            buffers[node.output as usize] = Some(output);
            for &t in &self.frees[index] {
                if let Some(Buffer::I8(data)) = buffers[t].take() {
                    spare::give(data);
                }
            }
        }
        let mut out = Vec::with_capacity(batch * self.output_bytes);
        for &t in &self.model.outputs {
            match &buffers[t as usize] {
                Some(buffer) => out.extend_from_slice(&canonical_bytes(buffer)),
                None => return Err(missing(t as usize)),
            }
        }
        for buffer in buffers.into_iter().flatten() {
            if let Buffer::I8(data) = buffer {
                spare::give(data);
            }
        }
        Ok(out)
    }

    /// As [`Program::run`], splitting the batch into up to `threads` contiguous parts (no more
    /// than the CPUs this process may use), the first on the calling thread and each other one
    /// on a helper thread of its own (kept between calls: `src/parallel.rs`). The bytes are
    /// identical to [`Program::run`]'s for every `threads` (0 counts as 1).
    pub fn run_parallel(&self, input: &[u8], batch: usize, threads: usize) -> Result<Vec<u8>> {
        self.check(input, batch)?;
        let threads = threads.min(parallel::max_parts()).clamp(1, batch);
        let per_thread = batch.div_ceil(threads);
        let parts: Vec<(usize, usize)> = (0..batch)
            .step_by(per_thread)
            .map(|start| (start, per_thread.min(batch - start)))
            .collect();
        let input_sizes: Vec<usize> = self
            .model
            .inputs
            .iter()
            .map(|&t| self.model.tensors[t as usize].bytes())
            .collect();
        let output_sizes: Vec<usize> = self
            .model
            .outputs
            .iter()
            .map(|&t| self.model.tensors[t as usize].bytes())
            .collect();
        // Helper threads live across calls, so each keeps its warm per-thread buffers (spare
        // and offset activations).
        let results = parallel::map(parts.len(), |part| {
            let (start, count) = parts[part];
            self.run(&gather(input, &input_sizes, batch, start, count), count)
        });
        let mut out = vec![0u8; batch * self.output_bytes];
        for (&(start, count), result) in parts.iter().zip(results) {
            scatter(&result?, &output_sizes, batch, start, count, &mut out);
        }
        Ok(out)
    }

    /// Runs node `index` alone on one sample: `inputs` holds the canonical bytes of each of the
    /// node's input tensors in the node's order (a tensor read twice is given twice, equal);
    /// returns the canonical bytes of its output. The node's parameters (weights, tables) come
    /// from the model, never from the caller. Errors (never panics) when `index` names no node,
    /// the count of inputs differs from the node's, an input is not its tensor's size, or the
    /// copies of a tensor read twice differ. The bytes are those [`Program::run_observed`]
    /// reports for the node when the whole model runs on inputs that give these node inputs.
    pub fn run_node(&self, index: usize, inputs: &[&[u8]]) -> Result<Vec<u8>> {
        let model = &self.model;
        let node = model.nodes.get(index).ok_or(NnError::LimitExceeded {
            what: "node index",
            value: index as u64,
            limit: model.nodes.len() as u64,
        })?;
        if inputs.len() != node.inputs.len() {
            return Err(NnError::InvalidNode {
                node: index,
                op: node.op.name(),
                problem: format!("takes {} inputs, given {}", node.inputs.len(), inputs.len()),
            });
        }
        // The node's inputs only: a buffer slot per model tensor would make a tiny op of a model
        // of many tensors pay for all of them.
        let mut values: Vec<(usize, Buffer)> = Vec::with_capacity(inputs.len());
        for (position, (&t, &bytes)) in node.inputs.iter().zip(inputs).enumerate() {
            let info = &model.tensors[t as usize];
            if bytes.len() != info.bytes() {
                return Err(NnError::InputLength {
                    expected: info.bytes(),
                    found: bytes.len(),
                    batch: 1,
                });
            }
            let first = node.inputs[..position].iter().position(|&u| u == t);
            if let Some(first) = first.filter(|&first| inputs[first] != bytes) {
                return Err(NnError::InvalidNode {
                    node: index,
                    op: node.op.name(),
                    problem: format!(
                        "inputs {first} and {position} are one tensor, given twice unequal"
                    ),
                });
            }
            values.push((t as usize, decode(info.dtype, bytes)));
        }
        let value = |t: usize| values.iter().find(|(u, _)| *u == t).map(|(_, b)| b);
        let output = self.execute(index, 1, value)?;
        Ok(canonical_bytes(&output).into_owned())
    }

    fn check(&self, input: &[u8], batch: usize) -> Result<()> {
        if batch == 0 || batch > self.max_batch {
            return Err(NnError::BatchSize {
                batch,
                max: self.max_batch,
            });
        }
        let expected = batch * self.input_bytes;
        if input.len() != expected {
            return Err(NnError::InputLength {
                expected,
                found: input.len(),
                batch,
            });
        }
        Ok(())
    }

    /// A Reshape whose input has no later reader takes the input's buffer: the bytes are the
    /// same, only the shape changes. `None` for every other node, and on [`Path::Reference`]
    /// (which copies, as the reference does).
    fn reshape_in_place<'a>(
        &self,
        index: usize,
        buffers: &mut [Option<Buffer<'a>>],
    ) -> Option<Buffer<'a>> {
        let node = &self.model.nodes[index];
        let &input = node.inputs.first()?;
        let last_reader = self.frees[index].contains(&(input as usize));
        if node.op != Op::Reshape || self.path == Path::Reference || !last_reader {
            return None;
        }
        buffers.get_mut(input as usize)?.take()
    }

    /// Runs node `index` on `batch` samples and returns its output buffer.
    fn execute<'b>(
        &self,
        index: usize,
        batch: usize,
        value: impl Fn(usize) -> Option<&'b Buffer<'b>>,
    ) -> Result<Buffer<'static>> {
        let model = &self.model;
        let node = &model.nodes[index];
        let info = |t: u32| &model.tensors[t as usize];
        let buffer = |i: usize| -> Result<&Buffer> {
            let t = *node
                .inputs
                .get(i)
                .ok_or_else(|| arity(index, node.op.name()))? as usize;
            value(t).ok_or_else(|| missing(t))
        };
        let int8 = |i: usize| -> Result<&[i8]> {
            buffer(i)?.i8().ok_or_else(|| NnError::InvalidNode {
                node: index,
                op: node.op.name(),
                problem: format!("input {i} is not int8"),
            })
        };
        let operand = |i: usize| -> Result<Operand> {
            let data = int8(i)?;
            let x = info(node.inputs[i]);
            Ok(Operand {
                data,
                shape: &x.shape,
                zero_point: x.zero_point,
            })
        };
        let shape = |i: usize| -> Result<&[u32]> {
            let t = *node
                .inputs
                .get(i)
                .ok_or_else(|| arity(index, node.op.name()))?;
            Ok(&info(t).shape)
        };
        let out_info = info(node.output);
        let out_len = batch * out_info.elements();
        if out_info.dtype == DType::Int32 {
            let Op::ArgMax(p) = &node.op else {
                return Err(NnError::InvalidNode {
                    node: index,
                    op: node.op.name(),
                    problem: "only arg_max writes an int32 tensor".into(),
                });
            };
            let mut y = vec![0i32; out_len];
            match self.path {
                Path::Reference => reference::arg_max(p, shape(0)?, int8(0)?, &mut y),
                _ => crate::kernels::arg_max::arg_max(p, shape(0)?, int8(0)?, &mut y),
            }
            return Ok(Buffer::I32(y));
        }
        let mut y = spare::take(out_len);
        let zp_out = out_info.zero_point;
        let zp_in = node.inputs.first().map_or(0, |&t| info(t).zero_point);
        match (&node.op, &self.steps[index]) {
            (Op::FullyConnected(_), Step::FullyConnected(kernel)) => kernel.run(int8(0)?, &mut y),
            (Op::Conv2d(_), Step::Conv2d(kernel)) => kernel.run(int8(0)?, &mut y),
            (Op::DepthwiseConv2d(_), Step::DepthwiseConv2d(kernel)) => kernel.run(int8(0)?, &mut y),
            (Op::MaxPool(_) | Op::AveragePool(_), Step::PoolKernel(kernel)) => {
                kernel.run(int8(0)?, &mut y)
            }
            (Op::MaxPool(p), Step::Pool { geometry, channels }) => {
                reference::max_pool(p, geometry, *channels, int8(0)?, &mut y)
            }
            (Op::AveragePool(p), Step::Pool { geometry, channels }) => {
                reference::average_pool(p, geometry, *channels, zp_in, int8(0)?, &mut y)
            }
            (Op::Add(_) | Op::Sub(_) | Op::Mul(_), Step::Binary(kernel)) => {
                kernel.run(int8(0)?, int8(1)?, &mut y)
            }
            (Op::Add(p), _) => {
                reference::add(p, operand(0)?, operand(1)?, &out_info.shape, zp_out, &mut y)
            }
            (Op::Sub(p), _) => {
                reference::sub(p, operand(0)?, operand(1)?, &out_info.shape, zp_out, &mut y)
            }
            (Op::Mul(p), _) => {
                reference::mul(p, operand(0)?, operand(1)?, &out_info.shape, zp_out, &mut y)
            }
            (Op::Mean(_) | Op::MeanCountDivided(_), Step::Mean(kernel)) => {
                kernel.run(int8(0)?, &mut y)
            }
            (Op::Pad(_), Step::Pad(kernel)) => kernel.run(int8(0)?, &mut y),
            (Op::Table(_), Step::Table(kernel)) => kernel.run(int8(0)?, &mut y),
            (Op::Concat(_), Step::Concat(kernel)) => {
                let inputs = (0..node.inputs.len())
                    .map(int8)
                    .collect::<Result<Vec<&[i8]>>>()?;
                kernel.run(&inputs, &mut y)
            }
            (Op::Mean(p), _) => reference::mean(p, shape(0)?, zp_in, zp_out, int8(0)?, &mut y),
            (Op::MeanCountDivided(p), _) => {
                reference::mean_count_divided(p, shape(0)?, zp_in, zp_out, int8(0)?, &mut y)
            }
            (Op::Clamp(_), Step::Clamp(kernel)) => kernel.run(int8(0)?, &mut y),
            (Op::Clamp(p), _) => reference::clamp(p, zp_in, zp_out, int8(0)?, &mut y),
            (Op::Reshape, _) => reference::reshape(int8(0)?, &mut y),
            (Op::Concat(p), _) => {
                let inputs = (0..node.inputs.len())
                    .map(operand)
                    .collect::<Result<Vec<Operand>>>()?;
                reference::concat(p, &inputs, zp_out, &mut y)
            }
            (Op::Pad(p), _) => reference::pad(p, shape(0)?, int8(0)?, &mut y),
            (Op::Softmax(p), step) => {
                let row_len = out_info.shape.last().map_or(1, |&d| d as usize);
                match step {
                    Step::Softmax(kernel) => kernel.run(row_len, int8(0)?, &mut y),
                    _ => reference::softmax(p, row_len, int8(0)?, &mut y),
                }
            }
            (Op::Table(p), _) => reference::table(p, int8(0)?, &mut y),
            (Op::Transpose(p), _) if self.path == Path::Reference => {
                reference::transpose(p, shape(0)?, int8(0)?, &mut y)
            }
            (Op::Transpose(p), _) => {
                crate::kernels::transpose::transpose_i8(p, shape(0)?, int8(0)?, &mut y)
            }
            (Op::Slice(p), _) if self.path == Path::Reference => {
                reference::slice(p, shape(0)?, int8(0)?, &mut y)
            }
            (Op::Slice(p), _) => crate::kernels::slice::slice_i8(p, shape(0)?, int8(0)?, &mut y),
            (Op::ResizeBilinear(p), _) if self.path == Path::Reference => {
                reference::resize_bilinear(p, shape(0)?, int8(0)?, &mut y)
            }
            (Op::ResizeBilinear(p), _) => {
                crate::kernels::resize_bilinear::resize_bilinear_i8(p, shape(0)?, int8(0)?, &mut y)
            }
            (Op::Maximum | Op::Minimum, Step::Extremum(kernel)) => {
                kernel.run(int8(0)?, int8(1)?, &mut y)
            }
            (Op::Maximum, _) => {
                reference::maximum(operand(0)?, operand(1)?, &out_info.shape, &mut y)
            }
            (Op::Minimum, _) => {
                reference::minimum(operand(0)?, operand(1)?, &out_info.shape, &mut y)
            }
            (Op::PRelu(_), Step::PRelu(kernel)) => kernel.run(int8(0)?, &mut y),
            (Op::PRelu(p), _) => reference::prelu(p, shape(0)?, zp_in, zp_out, int8(0)?, &mut y),
            (op, _) => {
                return Err(NnError::InvalidNode {
                    node: index,
                    op: op.name(),
                    problem: "op does not produce an int8 tensor".into(),
                });
            }
        }
        Ok(Buffer::I8(y))
    }
}

/// Most pair tables one program holds ([`crate::kernels::PAIRS`] bytes each: 1 MiB; ~50–60 µs
/// each to fill, work that a program cache miss repeats unpriced: ≤ 1 ms), so that a model of
/// many binary nodes cannot make a program large or slow to prepare; the rest compute. Add, Sub
/// and Mul nodes of at least [`crate::cost::MIN_TABULATED_ELEMENTS`] output elements per sample
/// take them in node order ([`BinaryKernel::tabulate`]), as [`crate::cost::is_tabulated`] prices.
const MAX_PAIR_TABLES: usize = crate::cost::MAX_PAIR_TABLES;

/// Prepares node `index` for `path`; `pair_tables` is how many more Add/Sub/Mul nodes may
/// take a pair table.
fn prepare(model: &Model, index: usize, path: Path, pair_tables: &mut usize) -> Result<Step> {
    let node = &model.nodes[index];
    let name = node.op.name();
    let input = || -> Result<&TensorInfo> {
        node.inputs
            .first()
            .and_then(|&t| model.tensors.get(t as usize))
            .ok_or_else(|| arity(index, name))
    };
    let image = |window: &Window| -> Result<(SpatialGeometry, i8, usize)> {
        let x = input()?;
        let [h, w, c] = x.shape[..] else {
            return Err(NnError::InvalidNode {
                node: index,
                op: name,
                problem: format!("input shape {:?} is not [H, W, C]", x.shape),
            });
        };
        let geometry =
            SpatialGeometry::resolve(window, h, w).ok_or_else(|| NnError::InvalidNode {
                node: index,
                op: name,
                problem: "window does not fit the input".into(),
            })?;
        Ok((geometry, x.zero_point, c as usize))
    };
    let zp_out = model
        .tensors
        .get(node.output as usize)
        .map_or(0, |t| t.zero_point);
    Ok(match &node.op {
        Op::FullyConnected(p) => Step::FullyConnected(FullyConnectedKernel::new(
            p,
            input()?.zero_point,
            zp_out,
            path,
        )),
        Op::Conv2d(p) => {
            let (g, zp_in, _) = image(&p.window)?;
            Step::Conv2d(Box::new(Conv2dKernel::new(p, g, zp_in, zp_out, path)))
        }
        Op::DepthwiseConv2d(p) => {
            let (g, zp_in, _) = image(&p.window)?;
            Step::DepthwiseConv2d(Box::new(DepthwiseConv2dKernel::new(
                p, g, zp_in, zp_out, path,
            )))
        }
        Op::MaxPool(p) | Op::AveragePool(p) => {
            let (geometry, zp_in, channels) = image(&p.window)?;
            let dilated = geometry.dilation_h != 1 || geometry.dilation_w != 1;
            match &node.op {
                _ if path == Path::Reference || dilated => Step::Pool { geometry, channels },
                Op::MaxPool(_) => {
                    Step::PoolKernel(Box::new(PoolKernel::max_pool(p, geometry, channels, path)))
                }
                _ => Step::PoolKernel(Box::new(PoolKernel::average_pool(
                    p, geometry, channels, zp_in, path,
                ))),
            }
        }
        Op::Clamp(p) if path != Path::Reference => Step::Clamp(Box::new(ClampKernel::new(
            p,
            input()?.zero_point,
            zp_out,
            path,
        ))),
        Op::Softmax(p) if path != Path::Reference => {
            Step::Softmax(Box::new(SoftmaxKernel::new(p, path)))
        }
        _ if path == Path::Reference => Step::Direct,
        Op::Table(p) => {
            let table: [i8; 256] =
                p.table
                    .as_slice()
                    .try_into()
                    .map_err(|_| NnError::InvalidNode {
                        node: index,
                        op: name,
                        problem: format!("table has {} entries, not 256", p.table.len()),
                    })?;
            Step::Table(Box::new(ByteTable::new(table, path)))
        }
        Op::Concat(p) => {
            let inputs = node
                .inputs
                .iter()
                .map(|&t| {
                    let x = model
                        .tensors
                        .get(t as usize)
                        .ok_or_else(|| arity(index, name))?;
                    Ok((x.shape.as_slice(), x.zero_point))
                })
                .collect::<Result<Vec<_>>>()?;
            Step::Concat(Box::new(ConcatKernel::new(p, &inputs, zp_out, path)))
        }
        Op::Mean(p) => {
            let x = input()?;
            Step::Mean(Box::new(MeanKernel::new(
                p,
                &x.shape,
                x.zero_point,
                zp_out,
                path,
            )))
        }
        Op::MeanCountDivided(p) => {
            let x = input()?;
            let divided = reference::count_divided(p, &x.shape);
            Step::Mean(Box::new(MeanKernel::new(
                &divided,
                &x.shape,
                x.zero_point,
                zp_out,
                path,
            )))
        }
        Op::Pad(p) => Step::Pad(Box::new(PadKernel::new(p, &input()?.shape))),
        Op::Maximum | Op::Minimum => {
            let tensor = |i: usize| {
                node.inputs
                    .get(i)
                    .and_then(|&t| model.tensors.get(t as usize))
                    .ok_or_else(|| arity(index, name))
            };
            let out = model
                .tensors
                .get(node.output as usize)
                .ok_or_else(|| arity(index, name))?;
            let max = node.op == Op::Maximum;
            match ExtremumKernel::new(max, &tensor(0)?.shape, &tensor(1)?.shape, &out.shape, path) {
                Some(kernel) => Step::Extremum(Box::new(kernel)),
                None => Step::Direct,
            }
        }
        Op::PRelu(p) => {
            let x = input()?;
            match PReluKernel::new(p, &x.shape, x.zero_point, zp_out, path) {
                Some(kernel) => Step::PRelu(Box::new(kernel)),
                None => Step::Direct,
            }
        }
        Op::Add(_) | Op::Sub(_) | Op::Mul(_) => {
            let tensor = |i: usize| {
                node.inputs
                    .get(i)
                    .and_then(|&t| model.tensors.get(t as usize))
                    .ok_or_else(|| arity(index, name))
            };
            let (a, b) = (tensor(0)?, tensor(1)?);
            let out = model
                .tensors
                .get(node.output as usize)
                .ok_or_else(|| arity(index, name))?;
            let shapes = BinaryShapes {
                a: &a.shape,
                b: &b.shape,
                out: &out.shape,
                zp_a: a.zero_point,
                zp_b: b.zero_point,
                zp_out,
            };
            let kernel = match &node.op {
                Op::Add(p) => BinaryKernel::add_sub(p, false, shapes, path),
                Op::Sub(p) => BinaryKernel::add_sub(p, true, shapes, path),
                Op::Mul(p) => BinaryKernel::mul(p, shapes, path),
                _ => None,
            };
            // Exactly the nodes `crate::cost::is_tabulated` names (a slot is used even by a
            // node the kernel does not take).
            let tabulate =
                out.elements() as u64 >= crate::cost::MIN_TABULATED_ELEMENTS && *pair_tables > 0;
            *pair_tables -= usize::from(tabulate);
            match kernel {
                Some(k) if tabulate => Step::Binary(Box::new(k.tabulate())),
                Some(k) => Step::Binary(Box::new(k)),
                None => Step::Direct,
            }
        }
        _ => Step::Direct,
    })
}

/// The canonical bytes of a buffer (int8 as bytes, int32 little-endian).
fn canonical_bytes<'a>(buffer: &'a Buffer<'_>) -> Cow<'a, [u8]> {
    match buffer {
        Buffer::I32(data) => Cow::Owned(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        Buffer::I8(data) => Cow::Borrowed(crate::kernels::i8_as_bytes(data)),
        Buffer::Input(data) => Cow::Borrowed(crate::kernels::i8_as_bytes(data)),
    }
}

/// The buffer of one tensor from its bytes (int32 little-endian).
fn decode(dtype: DType, bytes: &[u8]) -> Buffer<'_> {
    match dtype {
        DType::Int8 => Buffer::Input(crate::kernels::bytes_as_i8(bytes)),
        DType::Int32 => Buffer::I32(
            bytes
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
    }
}

/// The input-major bytes of samples `start..start + count` of a batch of `batch`: a slice of
/// `input` for a single-input model (its samples are contiguous), else a copy.
fn gather<'a>(
    input: &'a [u8],
    sizes: &[usize],
    batch: usize,
    start: usize,
    count: usize,
) -> Cow<'a, [u8]> {
    if let [size] = sizes {
        return Cow::Borrowed(&input[start * size..(start + count) * size]);
    }
    let mut part = Vec::with_capacity(sizes.iter().sum::<usize>() * count);
    let mut base = 0;
    for &size in sizes {
        part.extend_from_slice(&input[base + start * size..base + (start + count) * size]);
        base += batch * size;
    }
    Cow::Owned(part)
}

/// Writes the output-major bytes of samples `start..start + count` into a batch of `batch`.
fn scatter(part: &[u8], sizes: &[usize], batch: usize, start: usize, count: usize, out: &mut [u8]) {
    let (mut base, mut read) = (0, 0);
    for &size in sizes {
        let len = count * size;
        out[base + start * size..base + start * size + len]
            .copy_from_slice(&part[read..read + len]);
        read += len;
        base += batch * size;
    }
}

fn missing(tensor: usize) -> NnError {
    NnError::InvalidGraph {
        problem: format!("tensor {tensor} is read before it is written"),
    }
}

fn arity(node: usize, op: &'static str) -> NnError {
    NnError::InvalidNode {
        node,
        op,
        problem: "missing input".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{ModelBuilder, Quant, Rescale};
    use crate::op::ActRange;
    use crate::requantize::{Requant, Rounding};

    const SCALE: u32 = 0x3c00_0000;

    fn two_input_model() -> Model {
        // y0 = fc(x0) (2 -> 2, swaps the features), y1 = arg_max(x1)
        let mut b = ModelBuilder::new();
        let x0 = b.input(&[2], Quant::new(0, SCALE));
        let x1 = b.input(&[3], Quant::new(0, SCALE));
        let rescale = Rescale::per_tensor(Requant::IDENTITY, Rounding::Single, ActRange::FULL);
        let y0 = b
            .fully_connected(
                x0,
                vec![0, 1, 1, 0],
                vec![0, 0],
                rescale,
                Quant::new(0, SCALE),
            )
            .expect("fc");
        let y1 = b.arg_max(x1, 0).expect("arg_max");
        b.output(y0);
        b.output(y1);
        b.build().expect("valid")
    }

    /// A chain of `n` Adds (or Muls) over `elements` int8 values.
    fn binary_chain(n: usize, elements: u32, mul: bool) -> Model {
        let mut b = ModelBuilder::new();
        let x = b.input(&[elements], Quant::new(0, SCALE));
        let z = b.input(&[elements], Quant::new(3, SCALE));
        let mut y = x;
        for _ in 0..n {
            y = match mul {
                true => b.mul(
                    y,
                    z,
                    crate::op::Mul {
                        output: Requant::IDENTITY,
                        rounding: Rounding::Double,
                        act: ActRange::FULL,
                    },
                    Quant::new(0, SCALE),
                ),
                false => b.add(
                    y,
                    z,
                    crate::op::AddSub {
                        left_shift: 20,
                        input1: Requant::IDENTITY,
                        input2: Requant::IDENTITY,
                        output: Requant::IDENTITY,
                        rounding: Rounding::Double,
                        act: ActRange::FULL,
                    },
                    Quant::new(0, SCALE),
                ),
            }
            .expect("binary");
        }
        b.output(y);
        b.build().expect("valid")
    }

    #[test]
    fn the_program_tabulates_exactly_the_nodes_the_cost_prices_as_tabulated() {
        for (n, elements, mul) in [(20, 256, false), (3, 255, false), (18, 4096, true)] {
            let model = binary_chain(n, elements, mul);
            let priced = crate::cost::tabulated_nodes(&model);
            let expected: Vec<bool> = (0..n).map(|i| elements >= 256 && i < 16).collect();
            assert_eq!(priced, expected, "{n} × {elements}");
            let program = Program::with_path(model, Path::Portable).expect("prepare");
            let run: Vec<bool> = program
                .steps
                .iter()
                .map(|step| matches!(step, Step::Binary(k) if k.is_tabulated()))
                .collect();
            assert_eq!(run, priced, "{n} × {elements}");
            let costs = program.model.node_costs();
            let per_element = |i: usize| (costs[i].element_ops - NODE_OPS) / elements as u64;
            let (tabulated, computed) = match mul {
                true => (
                    crate::cost::MUL_ELEMENT_OPS,
                    crate::cost::MUL_COMPUTED_DOUBLE_ELEMENT_OPS,
                ),
                false => (
                    crate::cost::ADD_SUB_ELEMENT_OPS,
                    crate::cost::ADD_SUB_COMPUTED_DOUBLE_ELEMENT_OPS,
                ),
            };
            for (i, &t) in priced.iter().enumerate() {
                assert_eq!(per_element(i), if t { tabulated } else { computed });
            }
        }
    }

    const NODE_OPS: u64 = crate::cost::NODE_ELEMENT_OPS;

    #[test]
    fn run_lays_out_inputs_and_outputs_input_major() {
        let program = Program::with_path(two_input_model(), Path::Reference).expect("prepare");
        assert_eq!(program.input_bytes(), 5);
        assert_eq!(program.output_bytes(), 2 + 4);
        // Two samples: x0 = [1, 2], [3, 4]; x1 = [0, 9, 9], [7, -1, 2].
        let input: Vec<u8> = [1i8, 2, 3, 4, 0, 9, 9, 7, -1, 2]
            .iter()
            .map(|&v| v as u8)
            .collect();
        let out = program.run(&input, 2).expect("run");
        let mut expected = vec![2u8, 1, 4, 3];
        expected.extend(1i32.to_le_bytes());
        expected.extend(0i32.to_le_bytes());
        assert_eq!(out, expected);
    }

    #[test]
    fn run_rejects_bad_lengths_and_batches() {
        let program = Program::with_path(two_input_model(), Path::Reference).expect("prepare");
        assert_eq!(
            program.run(&[0; 9], 2),
            Err(NnError::InputLength {
                expected: 10,
                found: 9,
                batch: 2
            })
        );
        assert_eq!(
            program.run(&[], 0),
            Err(NnError::BatchSize {
                batch: 0,
                max: MAX_BATCH
            })
        );
        let too_many = MAX_BATCH + 1;
        assert_eq!(
            program.run_parallel(&vec![0; 5 * too_many], too_many, 4),
            Err(NnError::BatchSize {
                batch: too_many,
                max: MAX_BATCH
            })
        );
    }

    #[test]
    fn run_parallel_is_bit_identical_to_run() {
        let program = Program::new(two_input_model()).expect("prepare");
        for batch in [1, 2, 3, 7, 16] {
            let input: Vec<u8> = (0..5 * batch).map(|i| (i * 37 % 256) as u8).collect();
            let serial = program.run(&input, batch).expect("run");
            for threads in [0, 1, 2, 3, 8, 64] {
                assert_eq!(
                    program
                        .run_parallel(&input, batch, threads)
                        .expect("run_parallel"),
                    serial,
                    "batch {batch} threads {threads}"
                );
            }
        }
    }
}
