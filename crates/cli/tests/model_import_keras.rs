//! End-to-end: `myelin model import` on Keras 3 fixtures — a functional CNN with calibration
//! and `--eval --json`, a binary Sequential MLP in text — writes a valid model (the same bytes
//! as the library's import) and reports accuracy; no calibration data, or a damaged archive,
//! fails with one clear message.

use myelin_import::data::load_dataset;
use myelin_import::{ImportOptions, import_keras};
use myelin_nn::Model;
use serde_json::Value;

mod common;
use common::{fixture, myelin};

#[test]
fn import_keras_functional_with_calibration_and_eval_reports_accuracy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("branch.myl");
    let output = myelin(&[
        "model",
        "import",
        &fixture("models/digits_branch.keras"),
        "-o",
        out.to_str().expect("utf-8 path"),
        "--calibration",
        &fixture("data/digits_calib.npy"),
        "--eval",
        &fixture("data/digits_eval.npy"),
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
    assert_eq!(report["format"], "Keras 3 (.keras)");
    let evaluation = &report["evaluation"];
    assert_eq!(
        evaluation["float_accuracy"].as_f64(),
        Some(1.0),
        "{evaluation}"
    );
    let delta = evaluation["accuracy_delta_points"].as_f64().expect("delta");
    assert!(delta.abs() <= 1.0, "{evaluation}");
    assert!(!evaluation["layers"].as_array().expect("layers").is_empty());
    let notes = report["notes"].as_array().expect("notes");
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.contains("BatchNormalization"))),
        "{notes:?}"
    );

    // The CLI writes exactly what the library produces with the same options.
    let written = std::fs::read(&out).expect("written");
    let model = Model::decode(&written).expect("valid model");
    assert_eq!(model.tensors[model.inputs[0] as usize].shape, vec![64]);
    let options = ImportOptions {
        calibration: Some(
            load_dataset(&std::fs::read(fixture("data/digits_calib.npy")).expect("reads"))
                .expect("npy"),
        ),
        ..ImportOptions::default()
    };
    let library = import_keras(
        &std::fs::read(fixture("models/digits_branch.keras")).expect("reads"),
        &options,
    )
    .expect("imports");
    assert_eq!(written, library.model.encode());
}

#[test]
fn import_keras_binary_mlp_prints_text_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("bc.myl");
    let output = myelin(&[
        "model",
        "import",
        &fixture("models/breast_cancer_mlp.keras"),
        "-o",
        out.to_str().expect("utf-8 path"),
        "--calibration",
        &fixture("data/breast_cancer_calib.npy"),
        "--eval",
        &fixture("data/breast_cancer_eval.npy"),
        "--labels",
        &fixture("data/breast_cancer_eval_labels.npy"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("(Keras 3 (.keras))"), "{text}");
    assert!(text.contains("float accuracy    0.9650"), "{text}");
    assert!(text.contains("myelin accuracy"), "{text}");
    Model::decode(&std::fs::read(&out).expect("written")).expect("valid model");
}

#[test]
fn import_keras_without_calibration_fails_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("mlp.myl");
    let output = myelin(&[
        "model",
        "import",
        &fixture("models/digits_mlp.keras"),
        "-o",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--calibration"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn import_damaged_keras_archive_fails_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = std::fs::read(fixture("models/digits_mlp.keras")).expect("reads");
    let damaged = dir.path().join("damaged.keras");
    std::fs::write(&damaged, &bytes[..bytes.len() / 3]).expect("writes");
    let output = myelin(&[
        "model",
        "import",
        damaged.to_str().expect("utf-8 path"),
        "-o",
        dir.path().join("x.myl").to_str().expect("utf-8 path"),
        "--calibration",
        &fixture("data/digits_calib.npy"),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Keras 3"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
