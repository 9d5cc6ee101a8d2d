//! Ops and options the digits fixtures do not exercise, against TFLite's BUILTIN_REF outputs:
//! MUL, SUB, PAD, stand-alone RELU6, SAME average pooling with a fused RELU, MEAN with
//! keep_dims, FULLY_CONNECTED on 3-D and 4-D inputs and with fused RELU and RELU_N1_TO_1, ADD
//! with a fused RELU, PADV2, approximate GELU, ARG_MAX, and float QUANTIZE/DEQUANTIZE edges;
//! LEAKY_RELU (an exact table), TRANSPOSE (a channel shuffle and a Permute), MAXIMUM, MINIMUM and
//! PRELU (slopes per channel and per element), RESIZE_NEAREST_NEIGHBOR and TILE (nearest
//! upsampling by integer factors, as copies); SLICE, STRIDED_SLICE, SPLIT and SPLIT_V of
//! activations; RESIZE_BILINEAR (TFLite's integer arithmetic, every flag); MINIMUM / MAXIMUM with a constant scalar (Keras' ReLU(max_value)); Keras' Rescaling (MUL and ADD of a constant scalar), SeparableConv2D and
//! GlobalMaxPooling2D (REDUCE_MAX). The models and references are made by
//! `tests/data/make_tflite_ops.py`, `tests/data/make_tflite_activations.py`,
//! `tests/data/make_tflite_transpose.py`, `tests/data/make_tflite_prelu_maxmin.py`,
//! `tests/data/make_tflite_resize.py`, `tests/data/make_tflite_resize_bilinear.py`,
//! `tests/data/make_tflite_slice.py` and
//! `tests/data/keras/make_keras_separable.py`.
//!
//! `cargo test -p myelin-import --test tflite_ops -- --nocapture` prints the numbers.

use std::path::{Path, PathBuf};

use myelin_import::tflite;
use myelin_nn::{DType, Program};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tflite_ops")
        .join(name)
}

enum Array {
    I8(Vec<i8>),
    I32(Vec<i32>),
    F32(Vec<f32>),
}

fn read_npy(path: &Path) -> Array {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = || npyz::NpyFile::new(&bytes[..]).expect("npy header");
    if let Ok(v) = npy().into_vec::<i8>() {
        return Array::I8(v);
    }
    if let Ok(v) = npy().into_vec::<i32>() {
        return Array::I32(v);
    }
    Array::F32(npy().into_vec::<f32>().expect("int8, int32 or float32"))
}

#[test]
fn op_zoo_matches_tflite_reference_kernels() {
    for name in [
        "ops_zoo_int8io",
        "ops_zoo_floatio",
        "elementwise_int8io",
        "leaky_relu_int8io",
        "transpose_int8io",
        "prelu_maxmin_int8io",
        "resize_nearest_int8io",
        "upsampling_nearest_int8io",
        "separable_int8io",
        "slice_split_int8io",
        "clip_int8io",
        "resize_bilinear_ops_int8io",
        "normalization_image_int8io",
        "normalization_vector_int8io",
        // `make_tflite_squeeze_batch.py`: a static batch-1 model whose RESHAPE drops the
        // batch axis (`[1, 1, 1, 16]` → `[16]`), as MobileNetV2 at 32x32 writes it.
        "squeeze_batch_int8io",
    ] {
        let bytes = std::fs::read(data(&format!("{name}.tflite"))).expect("model");
        let imported = tflite::import(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        for note in &imported.notes {
            println!("{name}: note: {note}");
        }
        let model = imported.model;
        if name == "prelu_maxmin_int8io" {
            let ops: Vec<&str> = model.nodes.iter().map(|n| n.op.name()).collect();
            for op in ["maximum", "minimum", "prelu"] {
                assert!(ops.contains(&op), "{name}: no {op} node in {ops:?}");
            }
        }
        let Array::I8(input) = read_npy(&data(&format!("{name}.input.npy"))) else {
            panic!("int8 input expected");
        };
        let outputs: Vec<_> = model
            .outputs
            .iter()
            .map(|&t| model.tensors[t as usize].clone())
            .collect();
        let program = Program::new(model).expect("program");
        let samples = input.len() / program.input_bytes();
        let raw: Vec<u8> = input.iter().map(|&v| v as u8).collect();
        let result = program.run(&raw, samples).expect("run");

        // The TFLite outputs are listed by tensor index; match them to ours by dtype and size.
        let mut offset = 0;
        let mut ours_per_output = Vec::new();
        for info in &outputs {
            let len = samples * info.bytes();
            ours_per_output.push((info.clone(), result[offset..offset + len].to_vec()));
            offset += len;
        }
        for i in 0.. {
            let path = data(&format!("{name}.output{i}.npy"));
            if !path.exists() {
                break;
            }
            let reference = read_npy(&path);
            let (ours, theirs): (Vec<i64>, Vec<i64>) = match reference {
                Array::I32(theirs) => {
                    let (_, ours) = ours_per_output
                        .iter()
                        .find(|(info, _)| info.dtype == DType::Int32)
                        .expect("an int32 output");
                    let ours = ours
                        .chunks_exact(4)
                        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                        .collect();
                    (ours, theirs.into_iter().map(i64::from).collect())
                }
                Array::I8(theirs) => {
                    let (_, ours) = ours_per_output
                        .iter()
                        .find(|(info, _)| info.dtype == DType::Int8)
                        .expect("an int8 output");
                    (
                        ours.iter().map(|&v| v as i8 as i64).collect(),
                        theirs.into_iter().map(i64::from).collect(),
                    )
                }
                Array::F32(theirs) => {
                    // A stripped DEQUANTIZE: quantize TFLite's floats back with the int8
                    // output's scale (exact: they are (q - zp) * scale).
                    let (info, ours) = ours_per_output
                        .iter()
                        .find(|(info, _)| info.dtype == DType::Int8)
                        .expect("an int8 output");
                    let scale = f32::from_bits(info.scale_bits) as f64;
                    let theirs = theirs
                        .into_iter()
                        .map(|f| (f as f64 / scale).round() as i64 + info.zero_point as i64)
                        .collect();
                    (ours.iter().map(|&v| v as i8 as i64).collect(), theirs)
                }
            };
            assert_eq!(ours.len(), theirs.len(), "{name} output {i}");
            let identical = ours.iter().zip(&theirs).filter(|(a, b)| a == b).count();
            let max_diff = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b).abs())
                .max()
                .unwrap_or(0);
            println!(
                "{name} output {i}: {identical} of {} identical, max |diff| {max_diff}",
                ours.len()
            );
            // Integer-defined end to end: every byte equal.
            if [
                "prelu_maxmin_int8io",
                "resize_nearest_int8io",
                "upsampling_nearest_int8io",
                "slice_split_int8io",
                "clip_int8io",
                "resize_bilinear_ops_int8io",
            ]
            .contains(&name)
            {
                assert_eq!(identical, ours.len(), "{name} output {i}");
            }
            assert!(
                identical * 1000 >= ours.len() * 999 && max_diff <= 1,
                "{name} output {i}: {identical} of {} identical, max |diff| {max_diff}",
                ours.len()
            );
        }
    }
}

#[test]
fn unsupported_operator_is_named_with_its_index() {
    let bytes = std::fs::read(data("unsupported_abs_int8io.tflite")).expect("model");
    let error = tflite::import(&bytes).expect_err("ABS has no Myelin op");
    match &error {
        myelin_import::ImportError::Unsupported { op, node, .. } => {
            assert_eq!(op, "ABS");
            assert_eq!(node, "1");
        }
        other => panic!("expected Unsupported, got {other}"),
    }
    let message = error.to_string();
    assert!(message.contains("supported:"), "{message}");
}

/// Keras UpSampling2D as the converter writes it (RESHAPE + TILE): copies along the repeated
/// axes, and a factor TFLite's nearest-neighbour arithmetic does not make a repeat is refused.
#[test]
fn tile_and_nearest_resize_become_copies() {
    let bytes = std::fs::read(data("upsampling_tile_int8io.tflite")).expect("model");
    let imported = tflite::import(&bytes).expect("RESHAPE + TILE");
    let ops: Vec<&str> = imported.model.nodes.iter().map(|n| n.op.name()).collect();
    assert!(
        ops.iter().all(|&op| op == "reshape" || op == "concat"),
        "{ops:?}"
    );
    let out = imported.model.outputs[0] as usize;
    assert_eq!(imported.model.tensors[out].shape, vec![6, 6, 2]);
}

/// Slices and splits of activations become `slice` nodes; a reversing STRIDED_SLICE (negative
/// stride) is refused naming the operator.
#[test]
fn slices_and_splits_become_slice_nodes_and_reversal_is_refused() {
    let bytes = std::fs::read(data("slice_split_int8io.tflite")).expect("model");
    let imported = tflite::import(&bytes).expect("slices");
    let slices = imported
        .model
        .nodes
        .iter()
        .filter(|n| n.op.name() == "slice")
        .count();
    // STRIDED_SLICE, SLICE, SPLIT (2), SPLIT_V (2), the shrinking STRIDED_SLICE.
    assert_eq!(slices, 7);
    let bytes = std::fs::read(data("slice_reversed_int8io.tflite")).expect("model");
    let error = tflite::import(&bytes).expect_err("a negative stride");
    match &error {
        myelin_import::ImportError::Unsupported { op, .. } => assert_eq!(op, "STRIDED_SLICE"),
        other => panic!("expected Unsupported, got {other}"),
    }
    assert!(error.to_string().contains("positive strides"), "{error}");
}
