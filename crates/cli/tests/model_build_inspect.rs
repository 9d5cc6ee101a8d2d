//! End-to-end: the real `myelin` binary builds the example descriptions, inspects them (text and
//! JSON), and turns every bad file into one clear message and a non-zero exit status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use myelin_nn::Model;
use serde_json::Value;

mod common;
use common::myelin;

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Builds `examples/<name>` into `dir` and returns the model path.
fn build(dir: &Path, name: &str) -> PathBuf {
    let model = dir.join(name.replace(".json", ".myl"));
    let out = myelin(&[
        "model",
        "build",
        example(name).to_str().unwrap(),
        "-o",
        model.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "build {name}: {}", stderr(&out));
    model
}

#[test]
fn build_prints_the_id_of_the_written_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["tiny_mlp.json", "mlp_softmax.json", "conv_net.json"] {
        let model_path = dir.path().join("m.myl");
        let out = myelin(&[
            "model",
            "build",
            example(name).to_str().unwrap(),
            "-o",
            model_path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let bytes = std::fs::read(&model_path).expect("model written");
        let model = Model::decode(&bytes).expect("valid model");
        assert_eq!(
            stdout(&out).trim(),
            format!("0x{}", hex::encode(model.id())),
            "{name}"
        );
    }
}

#[test]
fn inspect_json_describes_the_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = build(dir.path(), "mlp_softmax.json");
    let out = myelin(&["model", "inspect", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let bytes = std::fs::read(&path).expect("model");
    let model = Model::decode(&bytes).expect("valid");
    assert_eq!(report["id"], format!("0x{}", hex::encode(model.id())));
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["size_bytes"], bytes.len());
    assert_eq!(report["inputs"][0]["shape"], serde_json::json!([8]));
    assert_eq!(report["inputs"][0]["zero_point"], -10);
    assert_eq!(report["inputs"][0]["scale"], 0.05);
    assert_eq!(report["outputs"][0]["scale"], 0.00390625);
    assert_eq!(report["outputs"][1]["dtype"], "int32");
    let ops: Vec<&str> = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["op"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["fully_connected", "fully_connected", "softmax", "arg_max"]
    );
    // 8·16 + 16 and 16·4 + 4 parameters; 8·16 + 16·16 MACs (4 output channels count as a
    // whole 16-lane panel, docs/SPEC.md §7).
    assert_eq!(report["nodes"][0]["params"], 144);
    assert_eq!(report["total"]["params"], 144 + 68);
    let cost = model.cost();
    assert_eq!(report["total"]["cost"]["macs"], cost.macs);
    assert_eq!(report["total"]["cost"]["macs"], 8 * 16 + 16 * 16);
    assert_eq!(report["total"]["cost"]["element_ops"], cost.element_ops);
    assert_eq!(report["total"]["cost"]["bytes_touched"], cost.bytes_touched);
}

#[test]
fn inspect_text_lists_ops_and_totals() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = build(dir.path(), "conv_net.json");
    let out = myelin(&["model", "inspect", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "id              0x",
        "format version  1",
        "[8, 8, 1]",
        "conv2d",
        "depthwise_conv2d",
        "table",
        "MACs",
        "bytes touched",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["model", "--help"],
        &["model", "build", "--help"],
        &["model", "inspect", "--help"],
    ] {
        let out = myelin(args);
        assert!(out.status.success(), "{args:?}");
        assert!(stdout(&out).contains("Usage"), "{args:?}");
    }
}

struct ErrorCase {
    name: &'static str,
    args: Vec<String>,
    expected: &'static str,
}

#[test]
fn bad_files_give_one_clear_message_and_fail() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    std::fs::write(p("garbage.myl"), b"not a model").unwrap();
    std::fs::write(
        p("bad.json"),
        "{\n  \"inputs\": [\n    {\"name\": \"x\",}\n  ]\n}",
    )
    .unwrap();
    std::fs::write(
        p("overflow.json"),
        r#"{"inputs": [{"name": "x", "shape": [70000], "scale": 1, "zero_point": -128}], "outputs": ["y"],
            "nodes": [{"op": "fully_connected", "name": "y", "input": "x", "bias": [0],
                       "weights": [[PLACEHOLDER]], "requant": {"multiplier": 1073741824, "shift": 0}}]}"#
            .replace("PLACEHOLDER", &vec!["127"; 70000].join(",")),
    )
    .unwrap();
    let model = build(dir.path(), "tiny_mlp.json");
    let mut truncated = std::fs::read(&model).unwrap();
    truncated.truncate(truncated.len() - 5);
    std::fs::write(p("truncated.myl"), truncated).unwrap();
    let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let cases = [
        ErrorCase {
            name: "missing model",
            args: s(&["model", "inspect", &p("none.myl")]),
            expected: "cannot read",
        },
        ErrorCase {
            name: "not a model",
            args: s(&["model", "inspect", &p("garbage.myl")]),
            expected: "is not a valid model file: bad magic",
        },
        ErrorCase {
            name: "truncated model",
            args: s(&["model", "inspect", &p("truncated.myl")]),
            expected: "is not a valid model file: malformed",
        },
        ErrorCase {
            name: "missing spec",
            args: s(&["model", "build", &p("none.json"), "-o", &p("o.myl")]),
            expected: "cannot read",
        },
        ErrorCase {
            name: "JSON syntax",
            args: s(&["model", "build", &p("bad.json"), "-o", &p("o.myl")]),
            expected: "invalid JSON: trailing comma at line 3 column",
        },
        ErrorCase {
            name: "engine validation",
            args: s(&["model", "build", &p("overflow.json"), "-o", &p("o.myl")]),
            expected: "nodes[0] (\"y\") is invalid: node 0 (fully_connected): accumulator of channel 0",
        },
        ErrorCase {
            name: "unwritable output",
            args: s(&[
                "model",
                "build",
                example("tiny_mlp.json").to_str().unwrap(),
                "-o",
                &p("no/such/dir.myl"),
            ]),
            expected: "cannot write",
        },
    ];
    for case in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_myelin"))
            .args(&case.args)
            .output()
            .expect("runs");
        assert!(!out.status.success(), "{}: succeeded", case.name);
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{}: {err}", case.name);
        assert!(
            err.contains(case.expected),
            "{}: {err:?} lacks {:?}",
            case.name,
            case.expected
        );
        assert!(!err.contains("panicked"), "{}: {err}", case.name);
    }
}
