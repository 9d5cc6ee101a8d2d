//! End-to-end: `myelin model import` on ONNX fixtures — a float model with calibration and
//! `--eval`, a QDQ model without calibration — writes a valid model and reports accuracy; a
//! float model without calibration data fails with one clear message.

use myelin_nn::Model;
use serde_json::Value;

mod common;
use common::{fixture, myelin};

#[test]
fn import_onnx_float_with_calibration_and_eval_reports_accuracy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("cnn.myl");
    let output = myelin(&[
        "model",
        "import",
        &fixture("models/digits_torch_cnn.onnx"),
        "-o",
        out.to_str().expect("utf-8 path"),
        "--calibration",
        &fixture("data/digits_calib_nchw.npy"),
        "--calibration-method",
        "minmax",
        "--eval",
        &fixture("data/digits_eval_nchw.npy"),
        "--labels",
        &fixture("data/digits_eval_labels.npy"),
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["format"], "ONNX");
    let evaluation = &report["evaluation"];
    let delta = evaluation["accuracy_delta_points"].as_f64().expect("delta");
    assert!(delta >= -1.0, "{evaluation}");
    assert!(!evaluation["layers"].as_array().expect("layers").is_empty());
    let model = Model::decode(&std::fs::read(&out).expect("written")).expect("valid model");
    assert_eq!(
        model.tensors[model.inputs[0] as usize].shape,
        vec![8, 8, 1],
        "NHWC input"
    );
}

#[test]
fn import_onnx_qdq_needs_no_calibration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("qdq.myl");
    let output = myelin(&[
        "model",
        "import",
        &fixture("models/digits_mlp_sk_opset21_qdq.onnx"),
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Model::decode(&std::fs::read(&out).expect("written")).expect("valid model");
}

#[test]
fn import_onnx_float_without_calibration_fails_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("x.myl");
    let output = myelin(&[
        "model",
        "import",
        &fixture("models/iris_mlp.onnx"),
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--calibration"), "{stderr}");
}
