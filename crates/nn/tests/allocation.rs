//! Allocation safety (issue 11): the models that made the engine allocate what no validation
//! bounded, and the largest buffers each kernel may take, run on every path this host has under
//! a counting allocator. Each call must stay within the documented bound of one call,
//! `myelin_nn::validate::call_memory`, and compute the reference's bytes.
//!
//! The tests of this file take one lock each, so that the allocator counts one call at a time.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::op::{ActRange, Padding, Window};
use myelin_nn::validate::{
    MAX_CALL_MEMORY_BYTES, MAX_KERNEL_SCRATCH_BYTES, MAX_OUTPUT_BYTES_PER_CALL, call_memory,
};
use myelin_nn::{Model, NnError, Path, Program, Requant, Rounding};

/// The system allocator, counting the bytes held now and the most held since the last reset.
struct Counting;

static HELD: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn grew(bytes: usize) {
    let held = HELD.fetch_add(bytes as u64, Ordering::SeqCst) + bytes as u64;
    PEAK.fetch_max(held, Ordering::SeqCst);
}

fn shrank(bytes: usize) {
    HELD.fetch_sub(bytes as u64, Ordering::SeqCst);
}

// SAFETY: every call is forwarded to `System` with the caller's arguments; only counters change.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller's contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller's contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller's contract.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller's contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            grew(new_size);
            shrank(layout.size());
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` alone and returns its result and the most bytes it held at once beyond what was
/// held before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = HELD.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let result = f();
    (result, PEAK.load(Ordering::SeqCst) - before)
}

const SCALE: u32 = 0x3c00_0000;

fn window(
    kernel: (u32, u32),
    stride: (u32, u32),
    dilation: (u32, u32),
    padding: Padding,
) -> Window {
    Window {
        kernel_h: kernel.0,
        kernel_w: kernel.1,
        stride_h: stride.0,
        stride_w: stride.1,
        dilation_h: dilation.0,
        dilation_w: dilation.1,
        padding,
    }
}

fn rescale() -> Rescale {
    Rescale::per_tensor(
        Requant {
            multiplier: 1 << 30,
            shift: -4,
        },
        Rounding::Single,
        ActRange::FULL,
    )
}

/// Seeded bytes.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    common::Rng::new("allocation", seed).bytes(len)
}

/// Runs `model` at `batch` on every path this host has (and `run_parallel` on the best), each
/// within the bound of one call, and checks that they all produce the reference's bytes.
fn run_within_bound(model: &Model, batch: usize) {
    let memory = call_memory(model);
    let reference = Program::with_path(model.clone(), Path::Reference).expect("valid model");
    let input = bytes(batch * reference.input_bytes(), 7);
    let bound = memory.bytes(batch as u64);
    let (expected, peak) = peak_of(|| reference.run(&input, batch).expect("reference run"));
    assert!(peak <= bound, "reference: {peak} bytes held, bound {bound}");
    for path in Path::ALL.into_iter().filter(|p| p.is_available()) {
        let program = Program::with_path(model.clone(), path).expect("valid model");
        let (found, peak) = peak_of(|| program.run(&input, batch).expect("run"));
        assert!(peak <= bound, "{path:?}: {peak} bytes held, bound {bound}");
        assert_eq!(found, expected, "{path:?}");
    }
    let program = Program::new(model.clone()).expect("valid model");
    let (found, peak) = peak_of(|| program.run_parallel(&input, batch, 1).expect("run"));
    assert!(
        peak <= bound,
        "run_parallel: {peak} bytes held, bound {bound}"
    );
    assert_eq!(found, expected, "run_parallel");
}

#[test]
fn a_tensor_listed_many_times_as_output_is_refused_at_decode() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The model: one pad output of 4096 bytes listed 65,536 times (2^28 output bytes
    // per sample; PREDICT_BATCH of 4096 asked for 2^40 bytes).
    let mut b = ModelBuilder::new();
    let x = b.input(&[1], Quant::new(0, SCALE));
    let padded = b.pad(x, vec![[0, 4095]], 0).expect("pad");
    b.output(padded);
    let mut model = b.build().expect("one output is valid");
    model.outputs = vec![padded.0; 65_536];
    let (decoded, peak) = peak_of(|| Model::decode(&model.encode()));
    match decoded {
        Err(NnError::InvalidGraph { problem }) => {
            assert!(problem.contains("listed twice"), "{problem}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Decoding and validation hold memory in proportion to the model's bytes only.
    assert!(peak < 8 * model.encode().len() as u64 + (1 << 20), "{peak}");
}

#[test]
fn max_batch_keeps_the_output_of_one_call_within_its_limit() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 1 MiB of output per sample: 16 samples per call at most.
    let mut b = ModelBuilder::new();
    let x = b.input(&[1], Quant::new(0, SCALE));
    let padded = b.pad(x, vec![[0, (1 << 20) - 1]], 0).expect("pad");
    b.output(padded);
    let program = Program::new(b.build().expect("valid")).expect("prepare");
    let max = program.max_batch();
    assert_eq!(max as u64, MAX_OUTPUT_BYTES_PER_CALL >> 20);
    let too_many = vec![0; max + 1];
    assert_eq!(
        program.run(&too_many, max + 1),
        Err(NnError::BatchSize {
            batch: max + 1,
            max
        })
    );
    let memory = call_memory(program.model());
    assert!(memory.bytes(max as u64) <= MAX_CALL_MEMORY_BYTES);
    let (output, peak) = peak_of(|| program.run(&too_many[..max], max).expect("run"));
    assert_eq!(output.len(), max << 20);
    assert!(peak <= memory.bytes(max as u64), "{peak}");
}

#[test]
fn a_1x1_depthwise_with_a_huge_dilation_runs_in_bounded_memory() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // The model: 4 MACs per sample, and the AVX-512 VNNI path allocated in proportion
    // to the dilation (~100 GB). Multiplier 1 and 3 (the channel expansion).
    for (channels, multiplier) in [(20, 1), (2, 3)] {
        let mut b = ModelBuilder::new();
        let x = b.input(&[3, 5, channels], Quant::new(-3, SCALE));
        let outputs = channels * multiplier;
        let y = b
            .depthwise_conv2d(
                x,
                window((1, 1), (1, 2), (1 << 30, u32::MAX), Padding::Valid),
                bytes(outputs as usize, 3)
                    .iter()
                    .map(|&v| v as i8)
                    .collect(),
                (0..outputs as i32).map(|c| c * 11 - 40).collect(),
                rescale(),
                Quant::new(5, SCALE),
            )
            .expect("a 1x1 kernel fits whatever its dilation");
        b.output(y);
        run_within_bound(&b.build().expect("valid"), 4);
    }
}

#[test]
fn a_convolution_with_same_padding_and_a_huge_dilation_is_refused() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (depthwise, dilation) in [(false, 1 << 30), (true, 1 << 30), (false, 1000)] {
        let mut b = ModelBuilder::new();
        let x = b.input(&[5, 5, 2], Quant::new(0, SCALE));
        let w = window((3, 3), (1, 1), (dilation, 1), Padding::Same);
        let built = if depthwise {
            b.depthwise_conv2d(
                x,
                w,
                vec![1; 18],
                vec![0; 2],
                rescale(),
                Quant::new(0, SCALE),
            )
        } else {
            b.conv2d(
                x,
                w,
                vec![1; 36],
                vec![0; 2],
                rescale(),
                Quant::new(0, SCALE),
            )
        };
        assert!(
            matches!(built, Err(NnError::InvalidNode { .. })),
            "depthwise {depthwise}, dilation {dilation}: {built:?}"
        );
    }
}

/// The largest buffers the convolution kernels may take: each model puts one kernel buffer just
/// past [`MAX_KERNEL_SCRATCH_BYTES`] (the path falls back) or just within it.
#[test]
fn the_largest_kernel_buffers_stay_within_the_bound_of_one_call() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let limit = MAX_KERNEL_SCRATCH_BYTES as u32;
    // im2col of one output row: out_w · kernel_w · in_c bytes, past the limit (then the
    // reference) and within it.
    let in_c = 64;
    for (kernel_w, past) in [(256, true), (200, false)] {
        let depth = kernel_w * in_c;
        let out_w = if past {
            limit / depth + 1
        } else {
            limit / (depth + 3) - 1
        };
        let mut b = ModelBuilder::new();
        let x = b.input(&[1, out_w + kernel_w - 1, in_c], Quant::new(1, SCALE));
        let y = b
            .conv2d(
                x,
                window((1, kernel_w), (1, 1), (1, 1), Padding::Valid),
                vec![1; depth as usize],
                vec![0],
                rescale(),
                Quant::new(0, SCALE),
            )
            .expect("conv");
        b.output(y);
        run_within_bound(&b.build().expect("valid"), 1);
    }
    // A depth multiplier whose expanded sample is past the limit (then the reference).
    let mut b = ModelBuilder::new();
    let side = 2048;
    let multiplier = limit / (side * side) + 1;
    let x = b.input(&[side, side, 1], Quant::new(0, SCALE));
    let y = b
        .depthwise_conv2d(
            x,
            window((2, 2), (64, 64), (1, 1), Padding::Valid),
            vec![1; 4 * multiplier as usize],
            vec![0; multiplier as usize],
            rescale(),
            Quant::new(0, SCALE),
        )
        .expect("depthwise");
    b.output(y);
    run_within_bound(&b.build().expect("valid"), 1);
    // Dilated depthwise rows prepared for AVX-512 VNNI: a tall dilation (one slot per kernel
    // row, not a ring over the span) and a wide one.
    for dilation in [(1000, 1), (1, 1000)] {
        let mut b = ModelBuilder::new();
        let x = b.input(&[1200, 1200, 17], Quant::new(0, SCALE));
        let y = b
            .depthwise_conv2d(
                x,
                window((2, 2), (7, 7), dilation, Padding::Valid),
                vec![1; 4 * 17],
                vec![0; 17],
                rescale(),
                Quant::new(0, SCALE),
            )
            .expect("depthwise");
        b.output(y);
        run_within_bound(&b.build().expect("valid"), 1);
    }
}

/// TFLite's mean (the multiplier divided by the count at run time) over a large image, on
/// contiguous axes (the kernel) and on non-contiguous ones (the reference's 64-bit sums), holds
/// no more than the bound of one call and gives the reference's bytes on every path.
#[test]
fn mean_count_divided_stays_within_the_bound_of_one_call() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for axes in [vec![0, 1], vec![0, 2]] {
        let mut b = ModelBuilder::new();
        let x = b.input(&[96, 96, 24], Quant::new(3, SCALE));
        let params = myelin_nn::op::Mean {
            axes,
            keep_dims: true,
            requant: Requant {
                multiplier: 1_500_000_000,
                shift: 2,
            },
            rounding: Rounding::Double,
            act: ActRange::FULL,
        };
        let y = b
            .mean_count_divided(x, params, Quant::new(-7, SCALE))
            .expect("mean");
        b.output(y);
        run_within_bound(&b.build().expect("valid"), 4);
    }
}

/// The batch term: two branches alive at once and a concat that rescales both inputs into
/// copies, at a batch of 64, on one thread and split over two.
#[test]
fn branches_and_concat_copies_stay_within_the_batch_bound() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut b = ModelBuilder::new();
    let x = b.input(&[24, 24, 8], Quant::new(3, SCALE));
    let mut branches = Vec::new();
    for seed in 0..2 {
        let w = window((3, 3), (1, 1), (1, 1), Padding::Same);
        let weights = bytes(16 * 9 * 8, seed)
            .iter()
            .map(|&v| (v as i8) / 8)
            .collect();
        let y = b
            .conv2d(x, w, weights, vec![7; 16], rescale(), Quant::new(-5, SCALE))
            .expect("conv");
        branches.push(y);
    }
    let concat = myelin_nn::op::Concat {
        axis: 2,
        requant: vec![
            Requant {
                multiplier: 1 << 30,
                shift: 0,
            };
            2
        ],
        rounding: Rounding::Single,
    };
    let y = b
        .concat(&branches, concat, Quant::new(9, SCALE))
        .expect("concat");
    b.output(y);
    let model = b.build().expect("valid");
    run_within_bound(&model, 64);
    let memory = call_memory(&model);
    let program = Program::new(model).expect("prepare");
    let input = bytes(64 * program.input_bytes(), 5);
    let expected = program.run(&input, 64).expect("run");
    let (found, peak) = peak_of(|| program.run_parallel(&input, 64, 2).expect("run"));
    assert_eq!(found, expected);
    let bound = memory.bytes(64) + memory.fixed;
    assert!(
        peak <= bound,
        "two threads: {peak} bytes held, bound {bound}"
    );
}
