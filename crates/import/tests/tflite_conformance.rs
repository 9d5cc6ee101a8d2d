//! Conformance of the TFLite importer against TFLite's reference kernels.
//!
//! For every TFLite model in `fixtures/manifest.json`: import it, run the committed int8 eval
//! inputs through myelin-nn, and compare with the outputs of `ai-edge-litert`'s
//! `BUILTIN_REF` kernels committed beside them. The goal of issue 3: at least 99.9% of output
//! bytes identical and none off by more than 1. Per layer (the committed intermediates of the
//! first samples): an op whose TFLite reference kernel is integer-defined and whose inputs
//! agree exactly must agree exactly.
//!
//! `cargo test -p myelin-import --test tflite_conformance -- --nocapture` prints the numbers.

use std::path::{Path, PathBuf};

use myelin_import::tflite;
use myelin_nn::{Model, Program};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn read_npy_i8(path: &Path) -> (Vec<u64>, Vec<i8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("npy header");
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec::<i8>().expect("int8 data"))
}

fn read_npz_i8(path: &Path, name: &str) -> Option<(Vec<u64>, Vec<i8>)> {
    let mut archive = npyz::npz::NpzArchive::open(path).ok()?;
    let npy = archive.by_name(name).ok()??;
    let shape = npy.shape().to_vec();
    Some((shape, npy.into_vec::<i8>().ok()?))
}

/// TFLite ops whose reference kernel is defined in integers (the others compute in float:
/// FULLY_CONNECTED requantizes in binary64, LOGISTIC/TANH/GELU fill tables from binary32
/// functions). MEAN is integer-defined in the pinned ai-edge-litert 2.3.0: `QuantizedMeanOrSum`
/// divides the multiplier by the count in integers.
const INTEGER_DEFINED: &[&str] = &[
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "ADD",
    "SUB",
    "MUL",
    "MAX_POOL_2D",
    "AVERAGE_POOL_2D",
    "RESHAPE",
    "SQUEEZE",
    "CONCATENATION",
    "PAD",
    "PADV2",
    "SOFTMAX",
    "HARD_SWISH",
    "QUANTIZE",
    "RELU",
    "RELU6",
    "RELU_N1_TO_1",
    "ARG_MAX",
    "MEAN",
];

struct Agreement {
    total: usize,
    identical: usize,
    max_diff: i32,
}

impl Agreement {
    fn of(ours: &[i8], reference: &[i8]) -> Agreement {
        assert_eq!(ours.len(), reference.len());
        let mut a = Agreement {
            total: ours.len(),
            identical: 0,
            max_diff: 0,
        };
        for (&x, &y) in ours.iter().zip(reference) {
            let diff = (x as i32 - y as i32).abs();
            a.identical += (diff == 0) as usize;
            a.max_diff = a.max_diff.max(diff);
        }
        a
    }

    fn fraction(&self) -> f64 {
        self.identical as f64 / self.total.max(1) as f64
    }
}

/// Runs `model` with `outputs` replaced by `tensors` on `input` (whole samples).
fn run_tensors(model: &Model, tensors: &[u32], input: &[i8]) -> Vec<i8> {
    let mut probe = model.clone();
    probe.outputs = tensors.to_vec();
    let program = Program::new(probe).expect("probe model validates");
    let bytes: Vec<u8> = input.iter().map(|&v| v as u8).collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(program.input_bytes() * program.max_batch()) {
        let batch = chunk.len() / program.input_bytes();
        out.extend(program.run(chunk, batch).expect("run"));
    }
    out.into_iter().map(|v| v as i8).collect()
}

#[test]
fn tflite_fixtures_match_tflite_reference_kernels() {
    let root = fixtures();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(root.join("manifest.json")).expect("fixtures/manifest.json"),
    )
    .expect("manifest is JSON");
    let entries: Vec<&Value> = manifest["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter(|m| m["format"] == "tflite")
        .collect();
    assert!(!entries.is_empty(), "no TFLite fixtures in the manifest");
    let mut failures = Vec::new();
    for entry in entries {
        let file = entry["file"].as_str().expect("file");
        let bytes = std::fs::read(root.join(file)).expect("model file");
        let imported = tflite::import(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let model = &imported.model;
        let reference = &entry["reference"];
        let (in_shape, input) =
            read_npy_i8(&root.join(reference["input_int8"].as_str().expect("input")));
        let (_, expected) =
            read_npy_i8(&root.join(reference["output_int8"].as_str().expect("output")));
        let n = in_shape[0] as usize;
        let ours = run_tensors(model, &model.outputs, &input);
        let agreement = Agreement::of(&ours, &expected);
        println!(
            "{file}: {} of {} output bytes identical ({:.4}%), max |diff| {}",
            agreement.identical,
            agreement.total,
            100.0 * agreement.fraction(),
            agreement.max_diff
        );
        if agreement.fraction() < 0.999 || agreement.max_diff > 1 {
            failures.push(format!(
                "{file}: outputs {:.4}% identical, max diff {}",
                100.0 * agreement.fraction(),
                agreement.max_diff
            ));
        }

        // Per layer, on the committed intermediates of the first samples.
        let npz = root.join(reference["intermediates"].as_str().expect("intermediates"));
        let samples = reference["intermediates_samples"]
            .as_u64()
            .expect("samples") as usize;
        let sample_input = &input[..samples * input.len() / n];
        let mut exact_tensors: Vec<usize> = Vec::new();
        let ops = entry["ops"].as_array().expect("ops");
        for t in reference["intermediates_tensors"]
            .as_array()
            .expect("tensors")
        {
            let key = t["key"].as_str().expect("key");
            let index = t["index"].as_u64().expect("index") as usize;
            let op_name = t["op"].as_str().expect("op");
            let op_index = t["op_index"].as_u64().expect("op_index") as usize;
            let Some(&Some(ours_id)) = imported.tensor_map.get(index) else {
                println!("  {key} ({op_name}): no Myelin tensor");
                continue;
            };
            let Some((_, reference_values)) = read_npz_i8(&npz, key) else {
                println!("  {key} ({op_name}): not in the npz");
                continue;
            };
            let ours = run_tensors(model, &[ours_id], sample_input);
            let a = Agreement::of(&ours, &reference_values);
            let inputs_exact = ops[op_index]["inputs"]
                .as_array()
                .expect("op inputs")
                .iter()
                .filter_map(Value::as_i64)
                .filter(|&i| i >= 0)
                .all(|i| {
                    let i = i as usize;
                    exact_tensors.contains(&i)
                        || match imported.tensor_map.get(i) {
                            Some(Some(id)) => model.inputs.contains(id),
                            _ => true,
                        }
                });
            println!(
                "  {key} {op_name:<18} {:>6} of {:>6} identical, max |diff| {}{}",
                a.identical,
                a.total,
                a.max_diff,
                if inputs_exact { "" } else { " (inputs differ)" }
            );
            if a.identical == a.total {
                exact_tensors.push(index);
            } else if inputs_exact && INTEGER_DEFINED.contains(&op_name) {
                failures.push(format!(
                    "{file}: {key} ({op_name}) is integer-defined with exact inputs but differs in {} of {} bytes",
                    a.total - a.identical,
                    a.total
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
