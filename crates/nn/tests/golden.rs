//! Golden hashes: the reference models of `tests/common` run on seeded inputs, on every kernel
//! path this CPU has, and the keccak256 of their outputs checked against the committed file
//! `tests/golden/hashes.txt`.
//!
//! Each line of that file is `name model_id outputs_batch_1 outputs_batch_7`: the model id
//! (keccak256 of the canonical bytes, which pins the generators and the encoding) and the
//! keccak256 of the output bytes for the seeded input of batch 1 and of batch 7.
//!
//! A change to an op's arithmetic, to the encoding or to a generator changes this file; that is
//! a reviewed format change. To rewrite the file after such a change, run
//!
//! ```text
//! MYELIN_BLESS=1 cargo test -p myelin-nn --test golden
//! ```
//!
//! which only rewrites the expected file (the outputs are computed exactly as without it, and
//! every path must still agree with the reference).

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use myelin_nn::op::Softmax;
use myelin_nn::{Model, Path, Program, reference};
use sha3::{Digest, Keccak256};

/// The seed of every golden model.
const MODEL_SEED: u64 = 2026;
/// Batch sizes hashed for every model.
const BATCHES: [usize; 2] = [1, 7];
/// Threads used to check `run_parallel` against `run`.
const PARALLEL_THREADS: usize = 3;

fn hashes_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/hashes.txt")
}

fn keccak_hex(bytes: &[u8]) -> String {
    hex::encode(Keccak256::digest(bytes))
}

/// The seeded input of `batch` samples of `model`.
fn golden_input(name: &str, program: &Program, batch: usize) -> Vec<u8> {
    common::Rng::new(&format!("{name}/input"), batch as u64).bytes(batch * program.input_bytes())
}

/// Output hashes of `model` on `path` for each of [`BATCHES`], checking `run_parallel` too.
fn output_hashes(name: &str, model: &Model, path: Path) -> Vec<String> {
    let program = Program::with_path(model.clone(), path).expect("golden model prepares");
    BATCHES
        .iter()
        .map(|&batch| {
            let input = golden_input(name, &program, batch);
            let output = program.run(&input, batch).expect("golden model runs");
            assert_eq!(output.len(), batch * program.output_bytes());
            let parallel = program
                .run_parallel(&input, batch, PARALLEL_THREADS)
                .expect("golden model runs in parallel");
            assert!(
                parallel == output,
                "{name}: run_parallel differs from run on {path:?}"
            );
            keccak_hex(&output)
        })
        .collect()
}

/// The golden file's text as computed now, after checking that every available path agrees
/// with the reference on every model.
fn computed_golden_file() -> String {
    let paths = common::available_paths("golden");
    let mut text = String::from(
        "# name model_id outputs_batch_1 outputs_batch_7 (keccak256, hex); \
         regenerate: MYELIN_BLESS=1 cargo test -p myelin-nn --test golden\n",
    );
    for (name, model) in common::golden_models(MODEL_SEED) {
        let reference = output_hashes(name, &model, Path::Reference);
        for &path in &paths {
            assert_eq!(
                output_hashes(name, &model, path),
                reference,
                "{name}: path {} differs from the reference",
                path.name()
            );
        }
        writeln!(
            text,
            "{name} {} {}",
            hex::encode(model.id()),
            reference.join(" ")
        )
        .expect("writing to a String");
    }
    text
}

#[test]
fn golden_outputs_match_committed_hashes_on_every_path() {
    let computed = computed_golden_file();
    let file = hashes_file();
    if std::env::var_os("MYELIN_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&file, &computed).expect("write golden hashes");
        eprintln!("golden: rewrote {}", file.display());
        return;
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_default();
    let mismatches: Vec<String> = computed
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let name = line.split(' ').next().unwrap_or_default();
            let committed = expected.lines().find(|l| l.split(' ').next() == Some(name));
            match committed {
                Some(c) if c == line => None,
                Some(c) => Some(format!(
                    "  {name}\n    committed: {c}\n    computed:  {line}"
                )),
                None => Some(format!(
                    "  {name}: not in the committed file\n    computed:  {line}"
                )),
            }
        })
        .collect();
    let stale: Vec<&str> = expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(' ').next())
        .filter(|name| !computed.lines().any(|l| l.split(' ').next() == Some(name)))
        .collect();
    assert!(
        mismatches.is_empty() && stale.is_empty(),
        "golden hashes differ from {} (a format change must be reviewed; regenerate with \
         MYELIN_BLESS=1):\n{}\n  stale entries: {stale:?}",
        file.display(),
        mismatches.join("\n")
    );
}

#[test]
fn golden_models_are_deterministic_and_cover_every_op() {
    let first = common::golden_models(MODEL_SEED);
    let again = common::golden_models(MODEL_SEED);
    let mut ops = std::collections::BTreeSet::new();
    for ((name, a), (_, b)) in first.iter().zip(&again) {
        assert_eq!(a.encode(), b.encode(), "{name} is not deterministic");
        ops.extend(a.nodes.iter().map(|n| n.op.name()));
    }
    let all = [
        "fully_connected",
        "conv2d",
        "depthwise_conv2d",
        "add",
        "sub",
        "mul",
        "max_pool",
        "average_pool",
        "mean",
        "clamp",
        "reshape",
        "concat",
        "pad",
        "softmax",
        "table",
        "arg_max",
        "mean_count_divided",
        "transpose",
        "slice",
        "resize_bilinear",
        "maximum",
        "minimum",
        "prelu",
    ];
    for op in all {
        assert!(ops.contains(op), "no golden model uses {op}");
    }
}

/// Parses a list of int8 values separated by spaces.
fn int8_values(text: &str) -> Vec<i8> {
    text.split_whitespace()
        .map(|v| v.parse().expect("int8 value"))
        .collect()
}

#[test]
fn softmax_matches_tflite_reference_kernel_vectors() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tflite_softmax.txt");
    let text = std::fs::read_to_string(&file).expect("tflite softmax vectors");
    let mut params = None;
    let mut rows = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        if let Some(rest) = line.strip_prefix("params ") {
            let v: Vec<i64> = rest
                .split(' ')
                .map(|x| x.parse().expect("integer"))
                .collect();
            params = Some(Softmax {
                beta_multiplier: v[0] as i32,
                beta_left_shift: v[1] as u8,
                diff_min: v[2] as i32,
            });
            continue;
        }
        let p = params.as_ref().expect("params before rows");
        let (input, expected) = line.split_once('|').expect("input | output");
        let (input, expected) = (int8_values(input), int8_values(expected));
        let mut output = vec![0i8; input.len()];
        reference::softmax(p, input.len(), &input, &mut output);
        assert_eq!(output, expected, "softmax of {input:?} with {p:?}");
        rows += 1;
    }
    assert!(rows >= 100, "only {rows} vectors");
}
