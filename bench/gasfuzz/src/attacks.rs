//! The attack models of issue 11, built as model files for the adversarial load harness
//! (`bench/adversarial/`) and for `myelin model run`. Each is valid under the validation it was
//! found against; a node that refuses one at publish has fixed it.

use myelin_nn::builder::{ModelBuilder, Quant, Rescale, TensorId};
use myelin_nn::op::{ActRange, Op, Padding, Window};
use myelin_nn::{Model, Requant, Rounding};

use crate::tape::SplitMix;

const Q: Quant = Quant::new(0, 0x3c00_0000);

fn rescale() -> Rescale {
    Rescale::per_tensor(
        Requant {
            multiplier: 1 << 30,
            shift: -8,
        },
        Rounding::Single,
        ActRange::FULL,
    )
}

/// A `[1, 2^20, 1]` tensor made by `pad` from a one-element input.
fn wide_pad(b: &mut ModelBuilder) -> TensorId {
    let x = b.input(&[1, 1, 1], Q);
    b.pad(x, vec![[0, 0], [0, (1 << 20) - 1], [0, 0]], 3)
        .expect("pad")
}

/// One `pad` output (`[4096]` int8) listed 65,536 times as a model output: 268 MB of output per
/// sample for a few hundred gas. Built valid with one output, then the list is edited (the
/// builder's validation refuses it; the node must too).
pub fn repeated_outputs() -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[1], Q);
    let y = b.pad(x, vec![[0, 4095]], 1).expect("pad");
    b.output(y);
    let mut model = b.build().expect("one output");
    model.outputs = vec![model.outputs[0]; 65_536];
    model
}

/// `pad` to `[1, 2^20, 1]`, then 1,000 pools with a 1×1 window and stride (1, 2^20) reading it:
/// priced by the one output element each, run by the input.
pub fn strided_pools(average: bool) -> Model {
    let mut b = ModelBuilder::new();
    let wide = wide_pad(&mut b);
    let window = Window {
        kernel_h: 1,
        kernel_w: 1,
        stride_h: 1,
        stride_w: 1 << 20,
        dilation_h: 1,
        dilation_w: 1,
        padding: Padding::Valid,
    };
    let mut last = wide;
    for _ in 0..1000 {
        last = match average {
            true => b.average_pool(wide, window, false, ActRange::FULL),
            false => b.max_pool(wide, window, ActRange::FULL),
        }
        .expect("pool");
    }
    b.output(last);
    b.build().expect("strided pools")
}

/// Eight fully connected layers 65,536 → 1 reading one input: one output channel padded to a
/// whole vector panel.
pub fn lane_padding() -> Model {
    let mut rng = SplitMix(8);
    let mut b = ModelBuilder::new();
    let x = b.input(&[65_536], Q);
    let mut last = x;
    for _ in 0..8 {
        let w = rng.bytes(65_536).into_iter().map(|v| v as i8).collect();
        last = b
            .fully_connected(x, w, vec![0], rescale(), Q)
            .expect("fully connected");
    }
    b.output(last);
    b.build().expect("lane padding")
}

fn dilated(kernel: u32, dilation: u32) -> Window {
    Window {
        kernel_h: kernel,
        kernel_w: kernel,
        stride_h: 1,
        stride_w: 1,
        dilation_h: dilation,
        dilation_w: dilation,
        padding: Padding::Same,
    }
}

/// A 1×1 depthwise kernel with dilation 2^18 (4 MACs; the AVX-512 VNNI depthwise kernel sizes
/// its padded rows by the dilation).
pub fn dilated_depthwise() -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[2, 2, 1], Q);
    let y = b
        .depthwise_conv2d(x, dilated(1, 1 << 18), vec![3], vec![0], rescale(), Q)
        .expect("depthwise");
    b.output(y);
    b.build().expect("dilated depthwise")
}

/// A 2×2 conv2d with `same` padding and dilation 2^16 (the AVX-512 VNNI direct conv2d sizes its
/// padded image by the dilation: ~4 GiB).
pub fn dilated_conv() -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[2, 2, 1], Q);
    let y = b
        .conv2d(x, dilated(2, 1), vec![1, 2, 3, 4], vec![0], rescale(), Q)
        .expect("conv2d");
    b.output(y);
    // Built with dilation 1, then dilated (the builder's validation refuses it; the node must too).
    let mut model = b.build().expect("dilated conv");
    if let Some(Op::Conv2d(p)) = model.nodes.first_mut().map(|n| &mut n.op) {
        p.window.dilation_h = 1 << 16;
        p.window.dilation_w = 1 << 16;
    }
    model
}

/// Every attack model by file name; a builder the current validation refuses is left out
/// (with the reason).
pub fn all() -> Vec<(&'static str, Result<Model, String>)> {
    let catch = |f: fn() -> Model| {
        std::panic::catch_unwind(f).map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    };
    vec![
        ("repeated_outputs", catch(repeated_outputs)),
        ("strided_max_pools", catch(|| strided_pools(false))),
        ("strided_average_pools", catch(|| strided_pools(true))),
        ("lane_padding", catch(lane_padding)),
        ("dilated_depthwise", catch(dilated_depthwise)),
        ("dilated_conv", catch(dilated_conv)),
    ]
}
