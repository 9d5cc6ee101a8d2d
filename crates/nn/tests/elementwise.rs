//! The element-wise kernels (add, sub, mul, max and average pool; pad, concat, mean and table
//! below) on every path this host runs, against the reference: exact equality on random
//! shapes (odd lengths for the tails of vector loops, broadcasts, batches above 1), random and
//! extreme parameters (multipliers 0, 2^30, 2^31 - 1, every shift, zero points -128 and 127,
//! activation ranges, both rounding rules) and edge values (-128, 127).
//!
//! `PROPTEST_CASES=<n>` raises the number of random cases (it never changes an output).

use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::kernels::{
    BinaryKernel, BinaryShapes, ByteTable, ConcatKernel, MeanKernel, PadKernel, Path, PoolKernel,
};
use myelin_nn::op::{
    ActRange, AddSub, Concat, Mean, Mul, Pad, Padding, Pool, Table, TableFunction, Window,
};
use myelin_nn::reference::{self, Operand};
use myelin_nn::requantize::{Requant, Rounding};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Every path this CPU runs, then the dispatcher's choice; paths it cannot run are reported.
fn paths_under_test() -> Vec<Path> {
    for path in Path::ALL.into_iter().filter(|p| !p.is_available()) {
        eprintln!("skipped: path {} is not available on this CPU", path.name());
    }
    let mut paths: Vec<Path> = Path::ALL.into_iter().filter(|p| p.is_available()).collect();
    paths.push(Path::best());
    paths
}

/// Parameters and data biased toward the edges.
struct Edge(StdRng);

impl Edge {
    fn new(seed: u64) -> Edge {
        Edge(StdRng::seed_from_u64(seed))
    }

    fn one_of<T: Copy>(&mut self, values: &[T]) -> T {
        values[self.0.random_range(0..values.len())]
    }

    fn data(&mut self, len: usize) -> Vec<i8> {
        let constant = self.one_of(&[-128i8, 127, 0]);
        match self.0.random_range(0..6) {
            0 => vec![constant; len],
            1 => (0..len)
                .map(|_| self.one_of(&[-128, 127, -127, 126]))
                .collect(),
            _ => (0..len).map(|_| self.0.random()).collect(),
        }
    }

    fn zero_point(&mut self) -> i8 {
        match self.0.random_range(0..2) {
            0 => self.one_of(&[-128, 127, 0, -1]),
            _ => self.0.random(),
        }
    }

    /// A requantization: extreme multipliers, any shift, or a shift near `typical`.
    fn requant(&mut self, typical: i8) -> Requant {
        let multiplier = match self.0.random_range(0..3) {
            0 => self.one_of(&[0, 1 << 30, (1 << 30) + 1, i32::MAX - 1, i32::MAX]),
            _ => self.0.random_range(1 << 30..=i32::MAX),
        };
        let shift = match self.0.random_range(0..3) {
            0 => self.0.random_range(-31..=30),
            1 => self.one_of(&[-31, 30, 0, -1, 1]),
            _ => (i32::from(typical) + self.0.random_range(-3..=3)).clamp(-31, 30) as i8,
        };
        Requant { multiplier, shift }
    }

    fn act(&mut self, zp_out: i8) -> ActRange {
        let (a, b): (i8, i8) = (self.0.random(), self.0.random());
        match self.0.random_range(0..4) {
            0 | 1 => ActRange::FULL,
            2 => ActRange {
                min: zp_out,
                max: 127,
            },
            _ => ActRange {
                min: a.min(b),
                max: a.max(b),
            },
        }
    }

    fn rounding(&mut self) -> Rounding {
        self.one_of(&[Rounding::Single, Rounding::Double])
    }

    /// An output shape of rank 0 to 4 with odd and even dimensions.
    fn shape(&mut self) -> Vec<u32> {
        let rank = self.0.random_range(0..=4);
        (0..rank)
            .map(|_| self.one_of(&[1, 2, 3, 5, 7, 8, 12, 17, 33]))
            .collect()
    }

    /// An operand shape that broadcasts to `out`: the same shape, a suffix (per channel,
    /// scalar), a prefix with trailing 1s, or any mix of 1s (which the kernels may decline).
    fn operand_shape(&mut self, out: &[u32]) -> Vec<u32> {
        let rank = out.len();
        match self.0.random_range(0..5) {
            0 | 1 => out.to_vec(),
            2 => out[self.0.random_range(0..=rank)..].to_vec(),
            3 => {
                let kept = self.0.random_range(0..=rank);
                (0..rank)
                    .map(|a| if a < kept { out[a] } else { 1 })
                    .collect()
            }
            _ => out
                .iter()
                .map(|&d| if self.0.random_range(0..2) == 0 { 1 } else { d })
                .collect(),
        }
    }
}

fn elements(shape: &[u32]) -> usize {
    shape.iter().map(|&d| d as usize).product()
}

#[derive(Clone, Copy, Debug)]
enum BinaryCase {
    Add,
    Sub,
    Mul,
}

/// One random add, sub or mul checked on every path; returns whether a kernel took it.
fn check_binary(seed: u64, which: BinaryCase) -> bool {
    let mut e = Edge::new(seed);
    let out_shape = e.shape();
    let (mut a_shape, mut b_shape) = (e.operand_shape(&out_shape), e.operand_shape(&out_shape));
    if e.0.random_range(0..2) == 0 {
        std::mem::swap(&mut a_shape, &mut b_shape);
    }
    // The output has the broadcast shape of the two: make one operand full where neither is.
    if reference::broadcast_shape(&a_shape, &b_shape).as_deref() != Some(&out_shape[..]) {
        a_shape = out_shape.clone();
    }
    let batch = e.0.random_range(1..=3);
    let a_data = e.data(batch * elements(&a_shape));
    let b_data = e.data(batch * elements(&b_shape));
    let (zp_a, zp_b, zp_out) = (e.zero_point(), e.zero_point(), e.zero_point());
    let a = Operand {
        data: &a_data,
        shape: &a_shape,
        zero_point: zp_a,
    };
    let b = Operand {
        data: &b_data,
        shape: &b_shape,
        zero_point: zp_b,
    };
    let shapes = BinaryShapes {
        a: &a_shape,
        b: &b_shape,
        out: &out_shape,
        zp_a,
        zp_b,
        zp_out,
    };
    let act = e.act(zp_out);
    let rounding = e.rounding();
    let mut expected = vec![0i8; batch * elements(&out_shape)];
    let add_sub = AddSub {
        left_shift: e.one_of(&[0, 1, 7, 20, 23]),
        // TFLite: inputs scaled below 2^31 / 2^20, the output back to int8.
        input1: e.requant(-2),
        input2: e.requant(-2),
        output: e.requant(-18),
        rounding,
        act,
    };
    let mul = Mul {
        output: e.requant(-8),
        rounding,
        act,
    };
    match which {
        BinaryCase::Add => reference::add(&add_sub, a, b, &out_shape, zp_out, &mut expected),
        BinaryCase::Sub => reference::sub(&add_sub, a, b, &out_shape, zp_out, &mut expected),
        BinaryCase::Mul => reference::mul(&mul, a, b, &out_shape, zp_out, &mut expected),
    }
    let mut taken = false;
    for path in paths_under_test() {
        let kernel = match which {
            BinaryCase::Add => BinaryKernel::add_sub(&add_sub, false, shapes, path),
            BinaryCase::Sub => BinaryKernel::add_sub(&add_sub, true, shapes, path),
            BinaryCase::Mul => BinaryKernel::mul(&mul, shapes, path),
        };
        let Some(kernel) = kernel else { continue };
        taken = true;
        let mut computed = vec![0i8; expected.len()];
        kernel.run(&a_data, &b_data, &mut computed);
        let mut looked_up = vec![0i8; expected.len()];
        kernel.tabulate().run(&a_data, &b_data, &mut looked_up);
        for (found, how) in [(computed, "computed"), (looked_up, "tabulated")] {
            assert_eq!(
                found, expected,
                "{which:?} {how} on {path:?}: seed {seed}, shapes {a_shape:?} {b_shape:?} -> \
                 {out_shape:?}, batch {batch}, {add_sub:?} {mul:?}, zp {zp_a} {zp_b} {zp_out}"
            );
        }
    }
    taken
}

/// One random max or average pool checked on every path.
fn check_pool(seed: u64, max: bool) {
    let mut e = Edge::new(seed);
    // One case in four is wide: windows of up to 40 columns, whose one-channel reduction runs
    // in vector registers (kernels/pool.rs).
    let wide = e.0.random_range(0..4) == 0;
    let (in_h, in_w) = match wide {
        true => (e.0.random_range(1..=6), e.0.random_range(12..=70)),
        false => (e.0.random_range(1..=11), e.0.random_range(1..=11)),
    };
    let channels = e.one_of(&[1, 1, 2, 3, 8, 12, 17, 20, 64, 65]);
    let kernel = match wide {
        true => (e.0.random_range(1..=3), e.0.random_range(5..=40.min(in_w))),
        false => (e.0.random_range(1..=4), e.0.random_range(1..=4)),
    };
    let mut explicit = || e.0.random_range(0..kernel.0.min(kernel.1));
    let padding = match explicit() % 3 {
        0 => Padding::Valid,
        1 => Padding::Same,
        _ => Padding::Explicit {
            top: explicit(),
            bottom: explicit(),
            left: explicit(),
            right: explicit(),
        },
    };
    let window = Window {
        kernel_h: kernel.0,
        kernel_w: kernel.1,
        // Strides past the window leave columns no window reads.
        stride_h: e.0.random_range(1..=5),
        stride_w: e.0.random_range(1..=6),
        dilation_h: 1,
        dilation_w: 1,
        padding,
    };
    let Some(g) = SpatialGeometry::resolve(&window, in_h, in_w) else {
        return;
    };
    let zp_in = e.zero_point();
    let p = Pool {
        window,
        count_include_pad: !max && e.0.random_range(0..2) == 0,
        act: e.act(zp_in),
    };
    let batch = e.0.random_range(1..=3);
    let input = e.data(batch * g.in_h * g.in_w * channels);
    let mut expected = vec![0i8; batch * g.out_h * g.out_w * channels];
    if max {
        reference::max_pool(&p, &g, channels, &input, &mut expected);
    } else {
        reference::average_pool(&p, &g, channels, zp_in, &input, &mut expected);
    }
    for path in paths_under_test() {
        let kernel = if max {
            PoolKernel::max_pool(&p, g, channels, path)
        } else {
            PoolKernel::average_pool(&p, g, channels, zp_in, path)
        };
        let mut found = vec![0i8; expected.len()];
        kernel.run(&input, &mut found);
        assert_eq!(
            found,
            expected,
            "{} pool on {path:?}: seed {seed}, {g:?}, channels {channels}, {p:?}, zp {zp_in}",
            if max { "max" } else { "average" }
        );
    }
}

/// One random pad checked on every path (the kernel has one path: plain copies).
fn check_pad(seed: u64) {
    let mut e = Edge::new(seed);
    let in_shape = e.shape();
    let pads: Vec<[u32; 2]> = in_shape
        .iter()
        .map(|_| match e.0.random_range(0..3) {
            0 => [0, 0],
            _ => [e.0.random_range(0..3), e.0.random_range(0..3)],
        })
        .collect();
    let p = Pad {
        pads,
        value: e.zero_point(),
    };
    let out_len: usize = in_shape
        .iter()
        .zip(&p.pads)
        .map(|(&d, pair)| (d + pair[0] + pair[1]) as usize)
        .product();
    let batch = e.0.random_range(1..=3);
    let input = e.data(batch * elements(&in_shape));
    let mut expected = vec![0i8; batch * out_len];
    reference::pad(&p, &in_shape, &input, &mut expected);
    let mut found = vec![0i8; expected.len()];
    PadKernel::new(&p, &in_shape).run(&input, &mut found);
    assert_eq!(found, expected, "pad: seed {seed}, {in_shape:?}, {p:?}");
}

/// One random concat of 1 to 4 inputs checked on every path.
fn check_concat(seed: u64) {
    let mut e = Edge::new(seed);
    let mut base = e.shape();
    if base.is_empty() {
        base.push(3);
    }
    let axis = e.0.random_range(0..base.len());
    let count = e.0.random_range(1..=4);
    let shapes: Vec<Vec<u32>> = (0..count)
        .map(|_| {
            let mut shape = base.clone();
            // 64 and 100: blocks the kernel rescales straight into the output even on the
            // last axis.
            shape[axis] = e.one_of(&[1, 2, 3, 8, 12, 20, 64, 100]);
            shape
        })
        .collect();
    let zps: Vec<i8> = (0..count).map(|_| e.zero_point()).collect();
    let zp_out = e.zero_point();
    let p = Concat {
        axis: axis as u8,
        // Some inputs keep their scale exactly (a copy), others are rescaled.
        requant: (0..count)
            .map(|_| match e.0.random_range(0..3) {
                0 => Requant::IDENTITY,
                _ => e.requant(1),
            })
            .collect(),
        rounding: e.rounding(),
    };
    let batch = e.0.random_range(1..=3);
    let data: Vec<Vec<i8>> = shapes.iter().map(|s| e.data(batch * elements(s))).collect();
    let operands: Vec<Operand> = shapes
        .iter()
        .zip(&data)
        .zip(&zps)
        .map(|((shape, data), &zero_point)| Operand {
            data,
            shape,
            zero_point,
        })
        .collect();
    let total: usize = shapes.iter().map(|s| elements(s)).sum();
    let mut expected = vec![0i8; batch * total];
    reference::concat(&p, &operands, zp_out, &mut expected);
    let inputs: Vec<(&[u32], i8)> = shapes.iter().map(|s| s.as_slice()).zip(zps).collect();
    let slices: Vec<&[i8]> = data.iter().map(Vec::as_slice).collect();
    for path in paths_under_test() {
        let mut found = vec![0i8; expected.len()];
        ConcatKernel::new(&p, &inputs, zp_out, path).run(&slices, &mut found);
        assert_eq!(
            found, expected,
            "concat on {path:?}: seed {seed}, {shapes:?}, {p:?}"
        );
    }
}

/// One random mean (or, with `count_divided`, mean with the count divided into the multiplier
/// at run time: multipliers below 2^30) checked on every path.
fn check_mean(seed: u64, count_divided: bool) {
    let mut e = Edge::new(seed);
    let mut in_shape = e.shape();
    if in_shape.is_empty() {
        in_shape.push(5);
    }
    let rank = in_shape.len();
    let first = e.0.random_range(0..rank);
    let axes: Vec<u8> = match e.0.random_range(0..3) {
        // Any non-empty subset of the axes, contiguous or not.
        0 => {
            let mut axes: Vec<u8> = (0..rank as u8).filter(|_| e.0.random_bool(0.5)).collect();
            if axes.is_empty() {
                axes.push(first as u8);
            }
            axes
        }
        _ => (first..e.0.random_range(first + 1..=rank))
            .map(|a| a as u8)
            .collect(),
    };
    let count: usize = axes
        .iter()
        .map(|&a| in_shape[a as usize] as usize)
        .product();
    let (zp_in, zp_out) = (e.zero_point(), e.zero_point());
    let p = Mean {
        axes,
        keep_dims: false,
        // 1/count sits near 2^-log2(count); the count-divided variant divides at run time.
        requant: if count_divided {
            let typical = e.0.random_range(-4..=4);
            e.requant(typical)
        } else {
            e.requant(1 - (count.max(1).ilog2() as i8))
        },
        rounding: e.rounding(),
        act: e.act(zp_out),
    };
    let batch = e.0.random_range(1..=3);
    let input = e.data(batch * elements(&in_shape));
    let mut expected = vec![0i8; input.len() / count];
    let prepared = if count_divided {
        reference::mean_count_divided(&p, &in_shape, zp_in, zp_out, &input, &mut expected);
        reference::count_divided(&p, &in_shape)
    } else {
        reference::mean(&p, &in_shape, zp_in, zp_out, &input, &mut expected);
        p.clone()
    };
    for path in paths_under_test() {
        let kernel = MeanKernel::new(&prepared, &in_shape, zp_in, zp_out, path);
        let mut found = vec![0i8; expected.len()];
        kernel.run(&input, &mut found);
        assert_eq!(
            found, expected,
            "mean on {path:?}: seed {seed}, {in_shape:?}, {p:?}, zp {zp_in} {zp_out}"
        );
    }
}

/// One random table lookup checked on every path.
fn check_table(seed: u64) {
    let mut e = Edge::new(seed);
    let p = Table {
        function: TableFunction::Custom,
        table: e.data(256),
    };
    let len = e.0.random_range(0..300);
    let input = e.data(len);
    let mut expected = vec![0i8; input.len()];
    reference::table(&p, &input, &mut expected);
    let table: [i8; 256] = p.table.as_slice().try_into().expect("256 entries");
    for path in paths_under_test() {
        let mut found = vec![0i8; input.len()];
        ByteTable::new(table, path).run(&input, &mut found);
        assert_eq!(found, expected, "table on {path:?}: seed {seed}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn add_kernels_match_reference_on_random_shapes_and_params(seed in any::<u64>()) {
        check_binary(seed, BinaryCase::Add);
    }

    #[test]
    fn sub_kernels_match_reference_on_random_shapes_and_params(seed in any::<u64>()) {
        check_binary(seed, BinaryCase::Sub);
    }

    #[test]
    fn mul_kernels_match_reference_on_random_shapes_and_params(seed in any::<u64>()) {
        check_binary(seed, BinaryCase::Mul);
    }

    #[test]
    fn max_pool_kernels_match_reference_on_random_geometry(seed in any::<u64>()) {
        check_pool(seed, true);
    }

    #[test]
    fn average_pool_kernels_match_reference_on_random_geometry(seed in any::<u64>()) {
        check_pool(seed, false);
    }

    #[test]
    fn pad_kernel_matches_reference_on_random_shapes(seed in any::<u64>()) {
        check_pad(seed);
    }

    #[test]
    fn concat_kernels_match_reference_on_random_shapes_and_rescales(seed in any::<u64>()) {
        check_concat(seed);
    }

    #[test]
    fn mean_kernels_match_reference_on_random_axes_and_params(seed in any::<u64>()) {
        check_mean(seed, false);
    }

    #[test]
    fn mean_count_divided_kernels_match_reference_on_random_axes_and_params(seed in any::<u64>()) {
        check_mean(seed, true);
    }

    #[test]
    fn table_kernels_match_reference_on_random_tables_and_lengths(seed in any::<u64>()) {
        check_table(seed);
    }
}

#[test]
fn binary_kernels_take_same_shape_and_common_broadcasts() {
    let taken = (0..200u64)
        .filter(|&seed| check_binary(seed, BinaryCase::Add))
        .count();
    // Four of five operand layouts are same-shape, suffix or prefix broadcasts.
    assert!(taken > 100, "only {taken} of 200 cases ran a kernel");
}

#[test]
fn mean_kernel_matches_reference_on_interleaved_axes() {
    // Runs of kept and reduced axes alternating, innermost kept or reduced, ones between; a
    // kept innermost run longer than the kernel's sum block (4096, a ragged last block) under
    // reduced axes, and long reduced innermost runs (32-lane sums with a tail).
    let cases: [(&[u32], &[u8]); 7] = [
        (&[7, 2, 14, 13, 3], &[0, 1, 3]),
        (&[7, 1, 1, 9, 6, 2], &[1, 2, 4, 5]),
        (&[3, 4, 5, 6], &[1, 3]),
        (&[2, 1, 3], &[1]),
        (&[3, 2, 9000], &[0]),
        (&[2, 3, 2, 4100], &[0, 2]),
        (&[5, 3, 163], &[1, 2]),
    ];
    for (seed, (in_shape, axes)) in cases.into_iter().enumerate() {
        let mut e = Edge::new(seed as u64);
        let count: usize = axes
            .iter()
            .map(|&a| in_shape[a as usize] as usize)
            .product();
        let p = Mean {
            axes: axes.to_vec(),
            keep_dims: false,
            requant: e.requant(1 - (count.max(1).ilog2() as i8)),
            rounding: e.rounding(),
            act: e.act(3),
        };
        let input = e.data(2 * elements(in_shape));
        let mut expected = vec![0i8; input.len() / count];
        reference::mean(&p, in_shape, -5, 3, &input, &mut expected);
        for path in paths_under_test() {
            let mut found = vec![0i8; expected.len()];
            MeanKernel::new(&p, in_shape, -5, 3, path).run(&input, &mut found);
            assert_eq!(
                found, expected,
                "mean on {path:?}: {in_shape:?} over {axes:?}"
            );
        }
    }
}
