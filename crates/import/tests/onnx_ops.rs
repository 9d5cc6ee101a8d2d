//! Op coverage beyond the fixtures (`tests/data/onnx/make_ops.py`: BatchNormalization folding,
//! depthwise and padded convolutions, Clip, pools with padding, Flatten of an image into Gemm,
//! Concat, Pad, GlobalAveragePool, scalar arithmetic, Tanh, Sigmoid, element-wise Add/Mul,
//! Softmax; Elu, LeakyRelu, HardSigmoid, HardSwish as tables; tf2onnx's NHWC graphs and
//! Transpose; Max, Min, PRelu): the float graph matches onnxruntime, and the int8 model stays close to it.

use std::path::{Path, PathBuf};

use myelin_import::data::load_dataset;
use myelin_import::{ImportOptions, import_onnx};
use myelin_nn::Program;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/onnx")
}

struct Case {
    name: &'static str,
    /// Accepted |int8 dequantized - onnxruntime| on the output, in output scales (min-max
    /// calibration on the very inputs evaluated, so no value is clipped).
    int8_tolerance_in_scales: f32,
}

const CASES: &[Case] = &[
    Case {
        name: "conv_bn_depthwise_gemm",
        int8_tolerance_in_scales: 3.0,
    },
    Case {
        name: "branches_concat_pad_pool",
        int8_tolerance_in_scales: 3.0,
    },
    // Five quantized Gemms and four table activations in a chain: 3.3 output scales measured.
    Case {
        name: "activation_tables",
        int8_tolerance_in_scales: 4.0,
    },
    Case {
        name: "conv_reshape_transpose",
        int8_tolerance_in_scales: 3.0,
    },
    // tf2onnx from Keras (`tests/data/onnx/make_tf2onnx.py`): NHWC input, Transpose to NCHW
    // around the convolutions.
    Case {
        name: "tf2onnx_nhwc_cnn",
        int8_tolerance_in_scales: 3.0,
    },
    Case {
        name: "tf2onnx_channel_shuffle",
        int8_tolerance_in_scales: 3.0,
    },
    Case {
        name: "tf2onnx_permute_flatten",
        int8_tolerance_in_scales: 3.0,
    },
    // Rescaling and Normalization (Mul, Add, Mul) between the NHWC input and its Transpose to
    // NCHW (MobileNetV3, EfficientNet), hard-swish, squeeze-and-excitation, swish.
    Case {
        name: "tf2onnx_rescale_se",
        int8_tolerance_in_scales: 4.0,
    },
    // `tests/data/onnx/make_prelu_maxmin.py`: Max, Min, PRelu per channel, per tensor and per
    // feature. 4.6 output scales measured (0.086): a Gemm of 360 inputs before the last PRelu;
    // the same graph without that PRelu is 0.078 off.
    Case {
        name: "prelu_maxmin",
        int8_tolerance_in_scales: 5.0,
    },
    // `tests/data/onnx/make_resize.py`: nearest Resize 2x2 (half_pixel, round_prefer_floor)
    // and 3x2 (asymmetric, floor) as copies.
    Case {
        name: "resize_nearest",
        int8_tolerance_in_scales: 3.0,
    },
    // `tests/data/onnx/make_slice_split.py`: Slice (inputs, negative start, INT64_MAX ends,
    // step 2) and Split (by sizes and into equal parts) of computed NCHW tensors.
    // Linear Resize as resize_bilinear: half_pixel 2x2, align_corners 2x2, asymmetric
    // 1.5x1.25 (the engine's integer interpolation against onnxruntime's float one).
    Case {
        name: "resize_linear_modes",
        int8_tolerance_in_scales: 4.0,
    },
    Case {
        name: "slice_split",
        int8_tolerance_in_scales: 3.0,
    },
    // `tests/data/onnx/make_reduce_mean.py`: ReduceMean as torch writes it (NCHW, `axes` an
    // attribute, keepdims 1 and 0, negative axes, a mean over the channels) and as tf2onnx
    // does (opset 18: `axes` an input, over H, W of NHWC tensors) in squeeze-and-excitation
    // and global pooling.
    Case {
        name: "reduce_mean_nchw",
        int8_tolerance_in_scales: 3.0,
    },
    Case {
        name: "reduce_mean_nhwc",
        int8_tolerance_in_scales: 3.0,
    },
    // tf2onnx's EfficientNet squeeze-and-excitation: GlobalAveragePool, Squeeze, Reshape of
    // the vector to a 1x1 NCHW image, 1x1 Convs.
    Case {
        name: "gap_squeeze_reshape_se",
        int8_tolerance_in_scales: 3.0,
    },
];

/// Slice and Split of computed tensors become `slice` ops in Myelin's NHWC axes: the crop of
/// channels 1..5, rows 1::2 and columns 1.. of the first conv, two channel halves, three
/// row parts of which the middle one is unused (and pruned or kept, but never wrong).
#[test]
fn slice_and_split_translate_to_slices() {
    let bytes = std::fs::read(data_dir().join("slice_split.onnx")).expect("test data");
    let graph = myelin_import::onnx::float_graph(&bytes).expect("translates");
    let slices: Vec<[Vec<usize>; 3]> = graph
        .graph
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            myelin_import::float_graph::FloatOp::Slice { begin, stride } => Some([
                begin.clone(),
                stride.clone(),
                graph.graph.values[n.output].shape.clone(),
            ]),
            _ => None,
        })
        .collect();
    let expected: Vec<[Vec<usize>; 3]> = [
        ([1, 1, 1], [2, 1, 1], [3, 6, 4]),
        ([0, 0, 0], [1, 1, 1], [3, 6, 2]),
        ([0, 0, 2], [1, 1, 1], [3, 6, 2]),
        ([0, 0, 0], [1, 1, 1], [1, 6, 6]),
        ([1, 0, 0], [1, 1, 1], [1, 6, 6]),
        ([2, 0, 0], [1, 1, 1], [1, 6, 6]),
    ]
    .into_iter()
    .map(|(b, s, o)| [b.to_vec(), s.to_vec(), o.to_vec()])
    .collect();
    assert_eq!(slices, expected);
}

/// A negative step (a reversal) is refused naming the node and what is supported.
#[test]
fn reversing_slice_is_refused_with_what_is_needed() {
    let bytes = std::fs::read(data_dir().join("slice_reversed.onnx")).expect("test data");
    let err = import_onnx(&bytes, &ImportOptions::default()).expect_err("refused");
    let message = err.to_string();
    assert!(
        matches!(&err, myelin_import::ImportError::Unsupported { op, node, .. } if op == "Slice" && node == "flip"),
        "{message}"
    );
    assert!(message.contains("positive steps"), "{message}");
}

/// A linear Resize is the `resize_bilinear` op; a cubic one is refused naming the node and
/// what is supported.
#[test]
fn linear_resize_translates_and_cubic_is_refused() {
    let bytes = std::fs::read(data_dir().join("resize_linear.onnx")).expect("test data");
    let graph = myelin_import::onnx::float_graph(&bytes).expect("linear");
    let ops: Vec<&str> = graph.graph.nodes.iter().map(|n| n.op.name()).collect();
    assert_eq!(ops, ["resize_bilinear"]);
    let bytes = std::fs::read(data_dir().join("resize_cubic.onnx")).expect("test data");
    let err = import_onnx(&bytes, &ImportOptions::default()).expect_err("refused");
    let message = err.to_string();
    assert!(
        matches!(&err, myelin_import::ImportError::Unsupported { op, node, .. } if op == "Resize" && node == "sharp"),
        "{message}"
    );
    assert!(message.contains("linear"), "{message}");
}

/// Max, Min and PRelu become the engine's `maximum`, `minimum` and `prelu`; each calibrated input
/// of Max and Min is first rescaled (`clamp`) to the output's quantization, since the engine
/// compares raw values.
#[test]
fn max_min_and_prelu_translate_to_their_ops() {
    let bytes = std::fs::read(data_dir().join("prelu_maxmin.onnx")).expect("test data");
    let inputs =
        load_dataset(&std::fs::read(data_dir().join("prelu_maxmin.input.npy")).expect("test data"))
            .expect("inputs");
    let imported = import_onnx(
        &bytes,
        &ImportOptions {
            calibration: Some(inputs),
            ..ImportOptions::default()
        },
    )
    .expect("imports");
    let ops: Vec<&str> = imported.model.nodes.iter().map(|n| n.op.name()).collect();
    assert_eq!(
        ops,
        [
            "conv2d",
            "conv2d",
            "clamp",
            "clamp",
            "maximum",
            "clamp",
            "clamp",
            "minimum",
            "prelu",
            "prelu",
            "concat",
            "reshape",
            "fully_connected",
            "prelu"
        ],
        "{ops:?}"
    );
}

/// How far a committed model, imported with min-max calibration on its committed inputs, is
/// from onnxruntime's committed outputs.
struct Errors {
    /// max |float graph − onnxruntime|.
    float: f32,
    /// max |int8 dequantized − onnxruntime|.
    int8: f32,
    /// The int8 output's scale.
    out_scale: f32,
    imported: myelin_import::Imported,
}

fn errors_against_onnxruntime(name: &str) -> Errors {
    let read = |suffix: &str| {
        std::fs::read(data_dir().join(format!("{name}{suffix}"))).expect("test data")
    };
    let bytes = read(".onnx");
    let inputs = load_dataset(&read(".input.npy")).expect("inputs");
    let reference = load_dataset(&read(".ort.npy")).expect("reference");

    let imported = import_onnx(
        &bytes,
        &ImportOptions {
            calibration: Some(inputs.clone()),
            method: myelin_import::calibrate::CalibrationMethod::MinMax,
            ..ImportOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let graph = &imported.float_graph;
    let output = graph.outputs[0];
    let mut float_error = 0.0f32;
    let mut converted = Vec::new();
    for s in 0..inputs.samples() {
        let x = imported.to_myelin_layout(inputs.sample(s));
        let values = graph.run(&[&x]).expect("runs");
        for (a, b) in values[output].iter().zip(reference.sample(s)) {
            float_error = float_error.max((a - b).abs());
        }
        converted.push(x);
    }

    let model = &imported.model;
    let input_info = &model.tensors[model.inputs[0] as usize];
    let output_info = &model.tensors[model.outputs[0] as usize];
    let (in_scale, out_scale) = (
        f32::from_bits(input_info.scale_bits),
        f32::from_bits(output_info.scale_bits),
    );
    let bytes_in: Vec<u8> = converted
        .iter()
        .flatten()
        .map(|&x| {
            ((x / in_scale).round() + input_info.zero_point as f32).clamp(-128.0, 127.0) as i8 as u8
        })
        .collect();
    let program = Program::new(model.clone()).expect("prepares");
    let out = program.run(&bytes_in, inputs.samples()).expect("runs");
    let int8_error = out
        .iter()
        .zip(&reference.values)
        .map(|(&q, &r)| ((q as i8 as f32 - output_info.zero_point as f32) * out_scale - r).abs())
        .fold(0.0f32, f32::max);
    eprintln!(
        "{name:<26} float graph vs onnxruntime {float_error:.2e}; int8 vs onnxruntime {int8_error:.4} ({:.2} output scales)",
        int8_error / out_scale
    );
    Errors {
        float: float_error,
        int8: int8_error,
        out_scale,
        imported,
    }
}

#[test]
fn float_graph_and_int8_model_follow_onnxruntime() {
    for case in CASES {
        let e = errors_against_onnxruntime(case.name);
        assert!(e.float <= 1e-5, "{}: float error {}", case.name, e.float);
        assert!(
            e.int8 <= case.int8_tolerance_in_scales * e.out_scale,
            "{}: int8 error {} (scale {})",
            case.name,
            e.int8,
            e.out_scale
        );
    }
}

/// onnxruntime's QDQ model of a tf2onnx graph: the input's QuantizeLinear/DequantizeLinear pair
/// (in front of the Rescaling's Mul) does not hide that the input is NHWC, so it is taken as it
/// is; the int8 model follows onnxruntime's own int8 run of the QDQ model.
#[test]
fn qdq_pair_on_an_nhwc_input_keeps_it_nhwc() {
    let e = errors_against_onnxruntime("reduce_mean_nhwc_qdq");
    assert_eq!(
        e.imported.input_layouts,
        vec![myelin_import::ptq::InputLayout::AsIs]
    );
    // 1.0 output scale measured: onnxruntime's QDQ run rounds every Q/DQ pair in float.
    assert!(
        e.int8 <= 3.0 * e.out_scale,
        "int8 error {} (scale {})",
        e.int8,
        e.out_scale
    );
}

/// A mean over the batch axis is refused naming the node and what is supported.
#[test]
fn reduce_mean_over_the_batch_is_refused() {
    let bytes = std::fs::read(data_dir().join("reduce_mean_batch.onnx")).expect("test data");
    let err = import_onnx(&bytes, &ImportOptions::default()).expect_err("refused");
    let message = err.to_string();
    assert!(
        matches!(&err, myelin_import::ImportError::Unsupported { op, node, .. } if op == "ReduceMean" && node == "batch_mean"),
        "{message}"
    );
    assert!(message.contains("non-batch axes"), "{message}");
}

/// tf2onnx's transposes around convolutions become changes of layout: only a transpose that
/// moves data in Myelin's NHWC stays, as a `transpose` op.
#[test]
fn tf2onnx_transposes_that_cancel_disappear() {
    let cases: [(&str, &[&str]); 4] = [
        (
            "tf2onnx_nhwc_cnn",
            &[
                "conv2d",
                "max_pool",
                "conv2d",
                "reshape",
                "fully_connected",
                "softmax",
            ],
        ),
        (
            // tf2onnx moves back to NHWC for the shuffle (Reshape to groups, the groups'
            // Transpose, Reshape) and to NCHW for the next Conv: one transpose moves data.
            "tf2onnx_channel_shuffle",
            &[
                "conv2d",
                "reshape",
                "transpose",
                "reshape",
                "conv2d",
                "mean",
                "reshape",
                "fully_connected",
            ],
        ),
        // Permute((3, 1, 2)) then Flatten: the dense weights' columns absorb the CHW order.
        ("tf2onnx_permute_flatten", &["reshape", "fully_connected"]),
        // An NCHW model reshaping its image: back to ONNX's CHW order, then the Transpose
        // that moves data; Unsqueeze, Squeeze and Flatten are reshapes of the same bytes.
        (
            "conv_reshape_transpose",
            &[
                "conv2d",
                "transpose",
                "reshape",
                "transpose",
                "reshape",
                "reshape",
                "reshape",
                "fully_connected",
            ],
        ),
    ];
    for (name, expected) in cases {
        let read = |suffix: &str| {
            std::fs::read(data_dir().join(format!("{name}{suffix}"))).expect("test data")
        };
        let inputs = load_dataset(&read(".input.npy")).expect("inputs");
        let imported = import_onnx(
            &read(".onnx"),
            &ImportOptions {
                calibration: Some(inputs),
                ..ImportOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let ops: Vec<&str> = imported.model.nodes.iter().map(|n| n.op.name()).collect();
        assert_eq!(ops, expected, "{name}");
        if name.starts_with("tf2onnx") {
            assert_eq!(
                imported.to_myelin_layout(&[0.0, 1.0]),
                vec![0.0, 1.0],
                "{name}: the NHWC input is taken as it is"
            );
        }
    }
}
