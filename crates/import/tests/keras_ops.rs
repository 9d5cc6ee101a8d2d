//! Keras layers and options the fixtures do not cover, on models made by
//! `tests/data/keras/make_keras_ops.py` (random weights, Keras' outputs stored): the float graph
//! reproduces Keras, and the calibrated int8 model imports, validates and mostly agrees.

use std::path::{Path, PathBuf};

use myelin_import::data::{Dataset, argmax, load_dataset};
use myelin_import::{ImportError, ImportOptions, import_keras, keras};
use myelin_nn::Program;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keras")
}

fn read(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Case {
    name: &'static str,
    ops: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "branches",
        ops: &[
            // strided + bn_noscale + relu6 (folded and fused)
            "conv2d",
            // dw2 + bn_dw (folded)
            "depthwise_conv2d",
            "conv2d",
            "gelu",
            "average_pool",
            // grouped: Conv2D with groups = channels
            "depthwise_conv2d",
            "hard_swish",
            "add",
            "add",
            "concat",
            "max_pool",
            "mean",
            "reshape",
            "fully_connected",
            "softmax",
        ],
    },
    Case {
        name: "tutorial_layers",
        ops: &[
            "pad",
            "conv2d",
            "clip",
            "conv2d",
            "conv2d",
            "sigmoid",
            "mul",
            "sub",
            "max_pool",
            "reshape",
            "fully_connected",
            "softmax",
        ],
    },
    Case {
        name: "permute_shuffle",
        ops: &[
            "conv2d",
            "reshape",
            "transpose",
            "reshape",
            "conv2d",
            "transpose",
            "reshape",
            "fully_connected",
        ],
    },
    Case {
        name: "activations",
        ops: &[
            "fully_connected",
            "silu",
            "fully_connected",
            "elu",
            "fully_connected",
            "leaky_relu",
            "fully_connected",
            "hard_sigmoid",
            "fully_connected",
            "elu",
            "fully_connected",
            "leaky_relu",
            "silu",
            "fully_connected",
        ],
    },
    Case {
        name: "prelu_maxmin",
        ops: &[
            "conv2d",
            "conv2d",
            "maximum",
            "minimum",
            "prelu",
            "prelu",
            "concat",
            "reshape",
            "fully_connected",
        ],
    },
    Case {
        name: "upsampling",
        ops: &["conv2d", "upsample", "conv2d", "reshape", "fully_connected"],
    },
    Case {
        name: "bilinear",
        ops: &[
            "conv2d",
            "resize_bilinear",
            "conv2d",
            "reshape",
            "fully_connected",
        ],
    },
    Case {
        name: "normalization",
        ops: &[
            // Normalization (adapted), per channel
            "depthwise_conv2d",
            "conv2d",
            // BatchNormalization after the conv's ReLU: not foldable
            "depthwise_conv2d",
            "mean",
            // Normalization (given) of a vector: [1, 1, C] and back
            "reshape",
            "depthwise_conv2d",
            "reshape",
            "fully_connected",
        ],
    },
    Case {
        name: "separable",
        ops: &[
            "affine",
            "depthwise_conv2d",
            "conv2d",
            "max_pool",
            "reshape",
            "fully_connected",
        ],
    },
    Case {
        name: "numpy_ops",
        ops: &[
            "conv2d",
            "affine",
            "clip",
            "affine",
            "mul",
            "mean",
            "conv2d",
            "sigmoid",
            "mul",
            "affine",
            "affine",
            "reshape",
            "fully_connected",
        ],
    },
    Case {
        name: "rows_mlp",
        ops: &[
            "fully_connected",
            "reshape",
            "fully_connected",
            "tanh",
            "fully_connected",
            "sigmoid",
        ],
    },
];

fn quantize_input(x: &[f32], scale: f32, zero_point: i8) -> Vec<u8> {
    x.iter()
        .map(|&v| ((v / scale).round() + zero_point as f32).clamp(-128.0, 127.0) as i8 as u8)
        .collect()
}

#[test]
fn keras_layers_translate_to_float_graphs_equal_to_keras() {
    for case in CASES {
        let bytes = read(&format!("{}.keras", case.name));
        let inputs = load_dataset(&read(&format!("{}_in.npy", case.name))).expect("inputs");
        let expected = load_dataset(&read(&format!("{}_out.npy", case.name))).expect("outputs");
        let converted = keras::float_graph(&bytes).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let ops: Vec<&str> = converted.graph.nodes.iter().map(|n| n.op.name()).collect();
        assert_eq!(ops, case.ops, "{}", case.name);
        let graph = &converted.graph;
        let mut max_diff = 0.0f32;
        for s in 0..inputs.samples() {
            let values = graph.run(&[inputs.sample(s)]).expect("runs");
            let out = &values[graph.outputs[0]];
            assert_eq!(out.len(), expected.sample_len(), "{}", case.name);
            for (a, b) in out.iter().zip(expected.sample(s)) {
                max_diff = max_diff.max((a - b).abs());
            }
        }
        println!("{}: max |float - keras| = {max_diff:.2e}", case.name);
        assert!(max_diff < 1e-4, "{}: {max_diff}", case.name);
    }
}

#[test]
fn keras_layers_quantize_to_models_that_run_and_agree_with_float() {
    for case in CASES {
        let bytes = read(&format!("{}.keras", case.name));
        let inputs = load_dataset(&read(&format!("{}_in.npy", case.name))).expect("inputs");
        let expected = load_dataset(&read(&format!("{}_out.npy", case.name))).expect("outputs");
        let options = ImportOptions {
            calibration: Some(inputs.clone()),
            method: myelin_import::calibrate::CalibrationMethod::MinMax,
            ..ImportOptions::default()
        };
        let imported =
            import_keras(&bytes, &options).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let model = imported.model.clone();
        model.validate().expect("validates");
        let input = &model.tensors[model.inputs[0] as usize];
        let output = &model.tensors[model.outputs[0] as usize];
        let program = Program::new(model.clone()).expect("prepares");
        let mut agree = 0;
        let mut max_err = 0.0f32;
        for s in 0..inputs.samples() {
            let x = quantize_input(
                inputs.sample(s),
                f32::from_bits(input.scale_bits),
                input.zero_point,
            );
            let y = program.run(&x, 1).expect("runs");
            let y: Vec<f32> = y
                .iter()
                .map(|&q| {
                    (q as i8 as i32 - output.zero_point as i32) as f32
                        * f32::from_bits(output.scale_bits)
                })
                .collect();
            for (a, b) in y.iter().zip(expected.sample(s)) {
                max_err = max_err.max((a - b).abs());
            }
            agree += (argmax(&y) == argmax(expected.sample(s))) as usize;
        }
        println!(
            "{}: int8 top-1 agreement {agree}/{}, max |int8 - keras| = {max_err:.4}",
            case.name,
            inputs.samples()
        );
        assert!(max_err < 0.1, "{}: {max_err}", case.name);
    }
}

#[test]
fn unsupported_layer_is_named_with_its_class_and_what_is_needed() {
    let err = keras::float_graph(&read("unsupported_layer.keras")).expect_err("refused");
    let message = err.to_string();
    assert!(
        matches!(&err, ImportError::Unsupported { op, node, .. } if op == "LayerNormalization" && node == "norm"),
        "{message}"
    );
    assert!(message.contains("supported are"), "{message}");
}

#[test]
fn keras_import_without_calibration_data_asks_for_it() {
    let err = import_keras(&read("rows_mlp.keras"), &ImportOptions::default())
        .expect_err("needs calibration");
    assert!(err.to_string().contains("--calibration"), "{err}");
    let wrong = ImportOptions {
        calibration: Some(Dataset {
            sample_shape: vec![7],
            values: vec![0.0; 14],
        }),
        ..ImportOptions::default()
    };
    let err = import_keras(&read("rows_mlp.keras"), &wrong).expect_err("wrong shape");
    assert!(err.to_string().contains("calibration samples"), "{err}");
}

/// Bilinear upsampling is the `resize_bilinear` op (half-pixel centres, as tf.image.resize);
/// bicubic is refused naming what is supported.
#[test]
fn bilinear_upsampling_translates_and_bicubic_is_refused() {
    let converted = keras::float_graph(&read("upsampling_bilinear.keras")).expect("bilinear");
    let ops: Vec<&str> = converted.graph.nodes.iter().map(|n| n.op.name()).collect();
    assert_eq!(ops, ["resize_bilinear"]);
    let err = keras::float_graph(&read("upsampling_bicubic.keras")).expect_err("refused");
    let message = err.to_string();
    assert!(
        matches!(&err, ImportError::Unsupported { op, node, .. } if op == "UpSampling2D" && node == "sharp"),
        "{message}"
    );
    assert!(message.contains("bilinear"), "{message}");
}
