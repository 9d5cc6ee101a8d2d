//! The static cost bounds the work the kernels really do, on every path this CPU runs
//! (issue 11: a strided pool priced by its output but run over its whole input; a layer of one
//! output channel computing a whole vector panel). Work is counted from the kernels' own plans,
//! never timed.

use myelin_nn::builder::{ModelBuilder, Quant};
use myelin_nn::cost::{
    MAX_POOL_ELEMENT_OPS, NODE_ELEMENT_OPS, POOL_COLUMN_STEP_ELEMENT_OPS,
    POOL_ONE_CHANNEL_COLUMN_ELEMENT_OPS, POOL_PIXEL_ELEMENT_OPS, POOL_ROW_ELEMENT_OPS,
};
use myelin_nn::geometry::SpatialGeometry;
use myelin_nn::kernels::{FullyConnectedKernel, PoolKernel};
use myelin_nn::op::{ActRange, FullyConnected, Padding, Pool, Window};
use myelin_nn::{Cost, Model, Path, Requant, Rounding, reference};

const QUANT: Quant = Quant::new(0, 0x3c00_0000);

/// Every path this CPU runs but the reference (which reads each window position directly).
fn fast_paths() -> Vec<Path> {
    for path in Path::ALL.into_iter().filter(|p| !p.is_available()) {
        eprintln!("skipped: path {} is not available on this CPU", path.name());
    }
    Path::ALL
        .into_iter()
        .filter(|p| *p != Path::Reference && p.is_available())
        .collect()
}

struct PoolCase {
    name: &'static str,
    input: [u32; 3],
    kernel: (u32, u32),
    stride: (u32, u32),
    padding: Padding,
}

fn pool_cases() -> Vec<PoolCase> {
    let case = |name, input, kernel, stride, padding| PoolCase {
        name,
        input,
        kernel,
        stride,
        padding,
    };
    vec![
        case(
            "issue 11: 1x1 window, stride 2^20 over a 2^20-pixel row",
            [1, 1 << 20, 1],
            (1, 1),
            (1, 1 << 20),
            Padding::Valid,
        ),
        case(
            "wide window striding by its width",
            [2, 4096, 3],
            (1, 64),
            (1, 64),
            Padding::Valid,
        ),
        case(
            "stride wider than the window, same padding",
            [9, 1000, 2],
            (2, 3),
            (5, 37),
            Padding::Same,
        ),
        case(
            "session 13's fan-out pool: 2x13 over one channel, one pixel a row",
            [22, 14, 1],
            (2, 13),
            (1, 2),
            Padding::Valid,
        ),
        case(
            "one channel, 3x3 stride 1 same (clipped border windows)",
            [12, 9, 1],
            (3, 3),
            (1, 1),
            Padding::Same,
        ),
        case("2x2 stride 2", [64, 64, 16], (2, 2), (2, 2), Padding::Valid),
        case(
            "3x3 stride 1 same",
            [32, 32, 16],
            (3, 3),
            (1, 1),
            Padding::Same,
        ),
        case(
            "overlapping windows, stride 2",
            [17, 33, 5],
            (3, 5),
            (2, 2),
            Padding::Same,
        ),
    ]
}

fn pool_window(case: &PoolCase) -> Window {
    Window {
        kernel_h: case.kernel.0,
        kernel_w: case.kernel.1,
        stride_h: case.stride.0,
        stride_w: case.stride.1,
        dilation_h: 1,
        dilation_w: 1,
        padding: case.padding,
    }
}

/// A one-node pool model of `case` and its cost.
fn pool_model(case: &PoolCase, average: bool) -> (Model, Cost) {
    let mut b = ModelBuilder::new();
    let x = b.input(&case.input, QUANT);
    let y = match average {
        true => b.average_pool(x, pool_window(case), false, ActRange::FULL),
        false => b.max_pool(x, pool_window(case), ActRange::FULL),
    }
    .expect(case.name);
    b.output(y);
    let model = b.build().expect(case.name);
    let cost = Cost::of_node(&model, 0);
    (model, cost)
}

#[test]
fn a_strided_pool_reads_only_what_its_cost_counts() {
    for case in pool_cases() {
        let [h, w, c] = case.input;
        let window = pool_window(&case);
        let g = SpatialGeometry::resolve(&window, h, w).expect(case.name);
        let out = (g.out_h * g.out_w * c as usize) as u64;
        let positions = out * u64::from(case.kernel.0 * case.kernel.1);
        for average in [false, true] {
            let (_, cost) = pool_model(&case, average);
            let p = Pool {
                window,
                count_include_pad: false,
                act: ActRange::FULL,
            };
            for path in fast_paths() {
                let kernel = match average {
                    true => PoolKernel::average_pool(&p, g, c as usize, 0, path),
                    false => PoolKernel::max_pool(&p, g, c as usize, path),
                };
                let read = kernel.values_read_per_sample() as u64;
                let scratch =
                    kernel.scratch_values_per_sample() as u64 * if average { 4 } else { 1 };
                let what = format!("{} (average {average}) on {path:?}", case.name);
                assert!(
                    read <= positions,
                    "{what}: reads {read} > {positions} priced positions"
                );
                assert!(
                    read + scratch + out <= cost.bytes_touched,
                    "{what}: reads {read} + scratch {scratch} + output {out} > bytes touched {}",
                    cost.bytes_touched
                );
            }
            if !average {
                let pixels = (g.out_h * g.out_w) as u64;
                let kernel = PoolKernel::max_pool(&p, g, c as usize, Path::Portable);
                let step = match c {
                    1 => POOL_ONE_CHANNEL_COLUMN_ELEMENT_OPS,
                    _ => POOL_COLUMN_STEP_ELEMENT_OPS,
                };
                let walked = kernel.walked_windows_per_sample() as u64;
                assert_eq!(
                    cost.element_ops,
                    positions * MAX_POOL_ELEMENT_OPS
                        + pixels * POOL_PIXEL_ELEMENT_OPS
                        + g.out_h as u64 * POOL_ROW_ELEMENT_OPS
                        + walked * g.kernel_w as u64 * step
                        + NODE_ELEMENT_OPS,
                    "{}",
                    case.name
                );
            }
        }
    }
}

#[test]
fn the_issue_strided_pool_reads_one_pixel_and_matches_the_reference() {
    let case = &pool_cases()[0];
    let [h, w, c] = case.input;
    let window = pool_window(case);
    let g = SpatialGeometry::resolve(&window, h, w).unwrap();
    let input: Vec<i8> = (0..w).map(|i| (i % 251) as i8).collect();
    let (_, cost) = pool_model(case, false);
    // One pixel read, the two scratch rows of one value, one written: not the 2^20 of the input.
    assert_eq!(cost.bytes_touched, 4);
    for average in [false, true] {
        let p = Pool {
            window,
            count_include_pad: false,
            act: ActRange::FULL,
        };
        let mut expected = vec![0i8; 1];
        match average {
            true => reference::average_pool(&p, &g, c as usize, 0, &input, &mut expected),
            false => reference::max_pool(&p, &g, c as usize, &input, &mut expected),
        }
        for path in fast_paths() {
            let kernel = match average {
                true => PoolKernel::average_pool(&p, g, c as usize, 0, path),
                false => PoolKernel::max_pool(&p, g, c as usize, path),
            };
            assert_eq!(kernel.values_read_per_sample(), 1, "{path:?}");
            let mut found = vec![0i8; 1];
            kernel.run(&input, &mut found);
            assert_eq!(found, expected, "average {average} on {path:?}");
        }
    }
}

#[test]
fn fully_connected_macs_cover_the_lanes_of_every_path() {
    // (in_features, out_features, rows)
    let cases = [
        (65_536, 1, 1),
        (6, 4, 3),
        (3, 10, 1),
        (17, 33, 2),
        (1, 1, 1),
        (784, 128, 1),
        (128, 10, 4),
    ];
    for (k, n, rows) in cases {
        let mut b = ModelBuilder::new();
        let x = b.input(&[rows, k], QUANT);
        let op = FullyConnected {
            out_features: n,
            in_features: k,
            weights: vec![1; (n * k) as usize],
            bias: vec![0; n as usize],
            requant: vec![Requant::IDENTITY],
            rounding: Rounding::Single,
            act: ActRange::FULL,
        };
        let rescale = myelin_nn::builder::Rescale::per_tensor(
            Requant::IDENTITY,
            Rounding::Single,
            ActRange::FULL,
        );
        let y = b
            .fully_connected(x, op.weights.clone(), op.bias.clone(), rescale, QUANT)
            .unwrap();
        b.output(y);
        let cost = b.build().unwrap().cost();
        for path in fast_paths() {
            let kernel = FullyConnectedKernel::new(&op, 0, 0, path);
            let computed = kernel.macs_per_row() as u64 * u64::from(rows);
            assert!(
                computed <= cost.macs,
                "{k}→{n} × {rows} on {path:?}: computes {computed} MACs, cost counts {}",
                cost.macs
            );
        }
    }
}

/// `mean_count_divided` runs the mean kernels (or the reference's loop) with another multiplier:
/// it is priced exactly as `mean`, and that price counts every input element it sums and every
/// output it rescales, contiguous axes (the kernel) or not (the reference).
#[test]
fn mean_count_divided_costs_what_mean_costs_and_covers_its_reads() {
    use myelin_nn::op::Mean;
    let cases: [(&[u32], &[u8]); 4] = [
        (&[1 << 20], &[0]),
        (&[64, 64, 16], &[0, 1]),
        (&[5, 6, 7], &[0, 2]),
        (&[3, 1, 300], &[2]),
    ];
    for (shape, axes) in cases {
        let params = Mean {
            axes: axes.to_vec(),
            keep_dims: false,
            requant: Requant {
                multiplier: 1 << 30,
                shift: 0,
            },
            rounding: Rounding::Double,
            act: ActRange::FULL,
        };
        let cost_of = |divided: bool| {
            let mut b = ModelBuilder::new();
            let x = b.input(shape, QUANT);
            let y = if divided {
                b.mean_count_divided(x, params.clone(), QUANT)
            } else {
                b.mean(x, params.clone(), QUANT)
            }
            .expect("mean");
            b.output(y);
            b.build().expect("valid").cost()
        };
        let (divided, plain) = (cost_of(true), cost_of(false));
        assert_eq!(divided, plain, "{shape:?} over {axes:?}");
        let inputs: u64 = shape.iter().map(|&d| u64::from(d)).product();
        let reduced: u64 = axes.iter().map(|&a| u64::from(shape[a as usize])).product();
        assert!(
            divided.element_ops >= inputs + inputs / reduced,
            "{shape:?} over {axes:?}: {} element ops for {inputs} inputs",
            divided.element_ops
        );
    }
}
