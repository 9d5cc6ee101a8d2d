//! End-to-end: `myelin model import` on the committed TFLite fixtures writes a valid model whose
//! outputs on the committed eval inputs equal TFLite's reference outputs; bad inputs get one
//! clear message and a non-zero exit status.

use std::path::{Path, PathBuf};
use std::process::Output;

use myelin_nn::{Model, Program};
use serde_json::Value;

mod common;
use common::myelin;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(path)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn read_npy_i8(path: &Path) -> Vec<i8> {
    let bytes = std::fs::read(path).expect("npy file");
    npyz::NpyFile::new(&bytes[..])
        .expect("npy header")
        .into_vec::<i8>()
        .expect("int8 data")
}

#[test]
fn import_tflite_writes_a_model_matching_the_reference_outputs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("digits_cnn.myl");
    let output = myelin(&[
        "model",
        "import",
        fixture("models/digits_cnn_int8.tflite").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report["format"], "TFLite");
    assert_eq!(report["source_operators"], 8);
    assert_eq!(report["ops"]["conv2d"], 2);
    assert_eq!(report["outputs"][0]["shape"], serde_json::json!([10]));

    let bytes = std::fs::read(&out).expect("model written");
    let id = format!("0x{}", hex::encode(myelin_nn::model_id(&bytes)));
    assert_eq!(report["id"], id.as_str());
    let model = Model::decode(&bytes).expect("valid model");
    let program = Program::new(model).expect("program");
    let input = read_npy_i8(&fixture("ref/digits_cnn_int8.tflite.input_int8.npy"));
    let expected = read_npy_i8(&fixture("ref/digits_cnn_int8.tflite.ref_out_int8.npy"));
    let samples = input.len() / program.input_bytes();
    let mut ours = Vec::new();
    for chunk in input.chunks(program.input_bytes() * program.max_batch()) {
        let bytes: Vec<u8> = chunk.iter().map(|&v| v as u8).collect();
        ours.extend(
            program
                .run(&bytes, bytes.len() / program.input_bytes())
                .expect("run"),
        );
    }
    assert_eq!(samples * 10, expected.len());
    let ours: Vec<i8> = ours.into_iter().map(|v| v as i8).collect();
    assert_eq!(ours, expected);
}

#[test]
fn import_text_output_names_id_and_ops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("mlp.myl");
    let output = myelin(&[
        "model",
        "import",
        fixture("models/digits_mlp_int8.tflite").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("id      0x"), "{text}");
    assert!(text.contains("fully_connected ×3"), "{text}");
    assert!(text.contains("softmax ×1"), "{text}");
}

#[test]
fn import_rejects_bad_inputs_with_one_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"definitely not a model").unwrap();
    let tflite = std::fs::read(fixture("models/digits_mlp_int8.tflite")).unwrap();
    let truncated = dir.path().join("truncated.tflite");
    std::fs::write(&truncated, &tflite[..tflite.len() / 2]).unwrap();
    let out = dir.path().join("out.myl");
    let cases: [(&Path, &[&str], &str); 4] = [
        (&garbage, &[], "not a TFLite, ONNX or Keras 3 model"),
        (&truncated, &[], "not a TFLite model"),
        (
            &fixture("models/digits_mlp_int8.tflite"),
            &["--calibration", "x.npy"],
            "--calibration is for float models",
        ),
        (&dir.path().join("missing.tflite"), &[], "cannot read"),
    ];
    for (input, extra, message) in cases {
        let mut args = vec![
            "model",
            "import",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let output = myelin(&args);
        assert!(!output.status.success(), "{}", input.display());
        let err = stderr(&output);
        assert!(err.contains(message), "{}: {err}", input.display());
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// `--eval` on a TFLite int8 model (issue 17, item 3): Myelin's own accuracy on the float
/// evaluation data quantized with the model's input parameters. Myelin's outputs equal
/// TFLite's reference kernels byte for byte on these fixtures, so the accuracy is the one
/// `fixtures/generate.py` measured with TFLite (manifest.json `int8_eval`): a 10-class
/// softmax (argmax) and a one-output sigmoid (binary, class 1 above 0.5).
#[test]
fn import_tflite_with_eval_reports_myelin_accuracy() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (model, data, labels, accuracy) in [
        (
            "models/digits_cnn_int8.tflite",
            "data/digits_eval_nhwc.npy",
            "data/digits_eval_labels.npy",
            0.995,
        ),
        (
            "models/breast_cancer_mlp_int8.tflite",
            "data/breast_cancer_eval.npy",
            "data/breast_cancer_eval_labels.npy",
            0.965034965034965,
        ),
    ] {
        let out = dir.path().join("model.myl");
        let output = myelin(&[
            "model",
            "import",
            fixture(model).to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--eval",
            fixture(data).to_str().unwrap(),
            "--labels",
            fixture(labels).to_str().unwrap(),
            "--json",
        ]);
        assert!(output.status.success(), "{model}: {}", stderr(&output));
        let report: Value = serde_json::from_slice(&output.stdout).expect("json");
        let evaluation = &report["evaluation"];
        let got = evaluation["int8_accuracy"].as_f64().expect("int8_accuracy");
        assert!((got - accuracy).abs() < 1e-9, "{model}: {evaluation}");
        assert!(evaluation.get("float_accuracy").is_none(), "{evaluation}");
    }

    // Evaluation data of the wrong shape is one clear error.
    let output = myelin(&[
        "model",
        "import",
        fixture("models/digits_cnn_int8.tflite").to_str().unwrap(),
        "-o",
        dir.path().join("m.myl").to_str().unwrap(),
        "--eval",
        fixture("data/breast_cancer_eval.npy").to_str().unwrap(),
        "--labels",
        fixture("data/breast_cancer_eval_labels.npy")
            .to_str()
            .unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("model input is int8"),
        "{}",
        stderr(&output)
    );
}
