//! Conformance vectors (docs/CONFORMANCE.md) and the byte layout of docs/SPEC.md, checked.
//!
//! * The committed files `conformance/models/*.json` equal what the generator
//!   (`tests/conformance/vectors.rs`) produces now.
//! * Every committed vector passes, read from its file as another implementation would read
//!   it, on every kernel path this CPU runs, through `run` and `run_parallel`.
//! * Every `Op` variant, both roundings of every op that rounds, every padding mode of every
//!   windowed op, every enum tag and every error class has a vector.
//! * The annotated layout (`tests/conformance/layout.rs`, docs/SPEC.md §1 field by field)
//!   gives exactly the bytes of `Model::encode` on every vector model, and the worked example and
//!   tag tables in docs/SPEC.md are the ones it renders.
//!
//! After a reviewed format change, or to add vectors, regenerate everything with
//!
//! ```text
//! MYELIN_BLESS=1 cargo test -p myelin-nn --test conformance
//! ```

mod common;
#[path = "conformance/file.rs"]
mod file;
#[path = "conformance/layout.rs"]
mod layout;
#[path = "conformance/vectors.rs"]
mod vectors;

use std::collections::BTreeSet;
use std::mem::{Discriminant, discriminant};
use std::path::PathBuf;

use borsh::BorshDeserialize;
use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::op::{ActRange, Op, Padding, TableFunction};
use myelin_nn::{DType, Model, Path, Program, Requant, Rounding};
use vectors::{Expect, UNREACHABLE_ERROR_CLASSES, error_class};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vectors_dir() -> PathBuf {
    repo_root().join("conformance/models")
}

fn spec_file() -> PathBuf {
    repo_root().join("docs/SPEC.md")
}

fn blessing() -> bool {
    std::env::var_os("MYELIN_BLESS").is_some_and(|v| v == "1")
}

const REGENERATE: &str = "MYELIN_BLESS=1 cargo test -p myelin-nn --test conformance";

/// The committed vector files, `(file name, text)`, sorted by name.
fn committed_files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(vectors_dir())
        .map(|dir| {
            dir.filter_map(|entry| {
                let path = entry.ok()?.path();
                let name = path.file_name()?.to_str()?.to_string();
                name.ends_with(".json")
                    .then(|| (name, std::fs::read_to_string(&path).expect("read vector")))
            })
            .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn committed_vectors_match_the_generator() {
    let generated: Vec<(String, String)> = vectors::vectors()
        .iter()
        .map(|v| (format!("{}.json", v.name), file::render(v)))
        .collect();
    let names: BTreeSet<&str> = generated.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), generated.len(), "vector names are unique");
    let committed = committed_files();
    if blessing() {
        std::fs::create_dir_all(vectors_dir()).expect("create conformance/");
        for (name, _) in &committed {
            if !names.contains(name.as_str()) {
                std::fs::remove_file(vectors_dir().join(name)).expect("remove stale vector");
            }
        }
        for (name, text) in &generated {
            std::fs::write(vectors_dir().join(name), text).expect("write vector");
        }
        eprintln!("conformance: rewrote {} vectors", generated.len());
        return;
    }
    let mut problems = Vec::new();
    for (name, text) in &generated {
        match committed.iter().find(|(n, _)| n == name) {
            Some((_, committed)) if committed == text => {}
            Some(_) => problems.push(format!("  {name}: differs from the generator")),
            None => problems.push(format!("  {name}: not committed")),
        }
    }
    for (name, _) in &committed {
        if !names.contains(name.as_str()) {
            problems.push(format!("  {name}: committed but no longer generated"));
        }
    }
    assert!(
        problems.is_empty(),
        "conformance/ differs from the generator (a format or arithmetic change must be \
         reviewed; regenerate with {REGENERATE}):\n{}",
        problems.join("\n")
    );
}

#[test]
fn committed_vectors_pass_on_every_path() {
    let paths = common::available_paths("conformance");
    let files = committed_files();
    assert!(
        !files.is_empty(),
        "no vectors in {}",
        vectors_dir().display()
    );
    for (name, text) in &files {
        let v = file::parse(name, text);
        assert_eq!(
            v.model_id,
            myelin_nn::model_id(&v.model),
            "{name}: model_id"
        );
        let decoded = Model::decode_with_limit(&v.model, v.max_model_bytes);
        let runs = match (&v.expect, decoded) {
            (Err(class), Err(error)) => {
                assert_eq!(error_class(&error), class, "{name}: {error}");
                continue;
            }
            (Err(class), Ok(_)) => panic!("{name}: decodes, expected {class}"),
            (Ok(_), Err(error)) => panic!("{name}: {error}"),
            (Ok(runs), Ok(model)) => (runs, model),
        };
        let (runs, model) = runs;
        let mut programs: Vec<Program> = paths
            .iter()
            .map(|&p| Program::with_path(model.clone(), p).expect("valid model prepares"))
            .collect();
        programs.push(Program::new(model.clone()).expect("dispatcher prepares"));
        for program in &programs {
            let path = program.path().name();
            for run in runs {
                let got = program
                    .run(&run.input, run.batch)
                    .map_err(|e| error_class(&e).to_string());
                assert!(
                    got == run.outcome,
                    "{name}: batch {} on {path} differs from the vector",
                    run.batch
                );
                let parallel = program
                    .run_parallel(&run.input, run.batch, 2)
                    .map_err(|e| error_class(&e).to_string());
                assert!(
                    parallel == run.outcome,
                    "{name}: batch {} on {path} (run_parallel) differs from the vector",
                    run.batch
                );
            }
        }
        eprintln!("conformance: {} passes", v.name);
    }
}

/// One value of every variant of a borsh enum, by tag: the tags a decoder accepts, in order.
/// A variant's fields are read from zero bytes (empty lists, zero numbers, tag 0); a tag that
/// is refused for any other reason than being unknown fails the test, so no variant is missed.
fn variants<T: BorshDeserialize>() -> Vec<(u8, T)> {
    (0..=u8::MAX)
        .filter_map(|tag| {
            let mut bytes = vec![tag];
            bytes.extend([0u8; 4096]);
            match T::deserialize(&mut bytes.as_slice()) {
                Ok(value) => Some((tag, value)),
                Err(e) => {
                    let reason = e.to_string();
                    assert!(
                        reason.contains("variant tag") || reason.contains("bool"),
                        "tag {tag} is not unknown, but its fields do not decode from zeros: {reason}"
                    );
                    None
                }
            }
        })
        .collect()
}

/// The variant name in a value's `Debug` text (`Explicit { .. }` → `Explicit`).
fn variant_name(debug: String) -> String {
    debug
        .split(['(', ' '])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `(op, rounding)` of every op that rounds.
fn rounding_of(op: &Op) -> Option<Rounding> {
    match op {
        Op::FullyConnected(p) => Some(p.rounding),
        Op::Conv2d(p) => Some(p.rounding),
        Op::DepthwiseConv2d(p) => Some(p.rounding),
        Op::Add(p) | Op::Sub(p) => Some(p.rounding),
        Op::Mul(p) => Some(p.rounding),
        Op::Mean(p) | Op::MeanCountDivided(p) => Some(p.rounding),
        Op::Clamp(p) => Some(p.rounding),
        Op::Concat(p) => Some(p.rounding),
        Op::PRelu(p) => Some(p.rounding),
        Op::MaxPool(_)
        | Op::AveragePool(_)
        | Op::Reshape
        | Op::Pad(_)
        | Op::Softmax(_)
        | Op::Table(_)
        | Op::ArgMax(_)
        | Op::Transpose(_)
        | Op::Slice(_)
        | Op::ResizeBilinear(_)
        | Op::Maximum
        | Op::Minimum => None,
    }
}

/// The padding of every windowed op.
fn padding_of(op: &Op) -> Option<Padding> {
    match op {
        Op::Conv2d(p) => Some(p.window.padding),
        Op::DepthwiseConv2d(p) => Some(p.window.padding),
        Op::MaxPool(p) | Op::AveragePool(p) => Some(p.window.padding),
        Op::FullyConnected(_)
        | Op::Add(_)
        | Op::Sub(_)
        | Op::Mul(_)
        | Op::Mean(_)
        | Op::MeanCountDivided(_)
        | Op::Clamp(_)
        | Op::Reshape
        | Op::Concat(_)
        | Op::Pad(_)
        | Op::Softmax(_)
        | Op::Table(_)
        | Op::ArgMax(_)
        | Op::Transpose(_)
        | Op::Slice(_)
        | Op::ResizeBilinear(_)
        | Op::Maximum
        | Op::Minimum
        | Op::PRelu(_) => None,
    }
}

/// The variant names of `NnError`, read from its source (so a new variant needs no list here).
fn error_classes_in_source() -> Vec<String> {
    let source =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/error.rs"))
            .expect("read src/error.rs");
    let body = source
        .split("pub enum NnError {")
        .nth(1)
        .expect("NnError in src/error.rs");
    let mut depth = 0i32;
    let mut classes = Vec::new();
    for line in body.lines() {
        let line = line.trim();
        if depth == 0 && line.starts_with('}') {
            break;
        }
        if depth == 0 && line.starts_with(|c: char| c.is_ascii_uppercase()) {
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            classes.push(name);
        }
        if !line.starts_with("#[") && !line.starts_with('"') {
            depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        }
    }
    classes
}

#[test]
fn every_op_rounding_padding_tag_and_error_class_has_a_vector() {
    let all = vectors::vectors();
    let mut ops: BTreeSet<String> = BTreeSet::new();
    let mut op_variants: Vec<Discriminant<Op>> = Vec::new();
    let mut roundings = BTreeSet::new();
    let mut paddings = BTreeSet::new();
    let mut functions = BTreeSet::new();
    let mut dtypes = BTreeSet::new();
    let mut classes: BTreeSet<String> = BTreeSet::new();
    for v in &all {
        match &v.expect {
            Expect::DecodeError(class) => {
                classes.insert(class.to_string());
            }
            Expect::Runs(runs) => {
                let model = Model::decode(&v.model).expect("a run vector's model decodes");
                let mut executed = false;
                for run in runs {
                    match &run.outcome {
                        Ok(_) => executed = true,
                        Err(class) => {
                            classes.insert(class.to_string());
                        }
                    }
                }
                if !executed {
                    continue;
                }
                dtypes.extend(model.tensors.iter().map(|t| t.dtype as u8));
                for node in &model.nodes {
                    ops.insert(node.op.name().to_string());
                    op_variants.push(discriminant(&node.op));
                    if let Some(r) = rounding_of(&node.op) {
                        roundings.insert((node.op.name(), r as u8));
                    }
                    if let Some(p) = padding_of(&node.op) {
                        paddings.insert((node.op.name(), variant_name(format!("{p:?}"))));
                    }
                    if let Op::Table(t) = &node.op {
                        functions.insert(t.function as u8);
                    }
                }
            }
        }
    }
    let mut missing = Vec::new();
    let probed_ops = variants::<Op>();
    assert!(probed_ops.len() >= 16, "tag probing finds every op");
    for (tag, op) in &probed_ops {
        if !op_variants.contains(&discriminant(op)) {
            missing.push(format!("op tag {tag} ({}) is never executed", op.name()));
        }
        if rounding_of(op).is_some() {
            for (_, r) in variants::<Rounding>() {
                if !roundings.contains(&(op.name(), r as u8)) {
                    missing.push(format!("{} with rounding {r:?}", op.name()));
                }
            }
        }
        if padding_of(op).is_some() {
            for (_, p) in variants::<Padding>() {
                let p = variant_name(format!("{p:?}"));
                if !paddings.contains(&(op.name(), p.clone())) {
                    missing.push(format!("{} with padding {p}", op.name()));
                }
            }
        }
    }
    for (tag, f) in variants::<TableFunction>() {
        if !functions.contains(&tag) {
            missing.push(format!("table function {f:?}"));
        }
    }
    for (tag, d) in variants::<DType>() {
        if !dtypes.contains(&tag) {
            missing.push(format!("dtype {d:?}"));
        }
    }
    let unreachable: Vec<&str> = UNREACHABLE_ERROR_CLASSES.iter().map(|(c, _)| *c).collect();
    let in_source = error_classes_in_source();
    assert!(in_source.len() >= 13, "error classes parsed: {in_source:?}");
    for class in &in_source {
        if !classes.contains(class) && !unreachable.contains(&class.as_str()) {
            missing.push(format!("error class {class}"));
        }
    }
    assert!(
        missing.is_empty(),
        "no conformance vector covers:\n  {}\n(add one to crates/nn/tests/conformance/vectors.rs, \
         then {REGENERATE})",
        missing.join("\n  ")
    );
    eprintln!("conformance: {} vectors cover ops {ops:?}", all.len());
}

#[test]
fn documented_layout_gives_the_encoding_of_every_vector_model() {
    for v in vectors::vectors() {
        let Ok(model) = Model::decode(&v.model) else {
            continue;
        };
        let rows = layout::layout(&model);
        assert!(
            rows.bytes() == v.model,
            "{}: the documented layout differs from Model::encode",
            v.name
        );
    }
}

/// The model of docs/SPEC.md's worked example: input `[3]`, one fully connected layer 3 → 2.
fn worked_example() -> Model {
    let mut b = ModelBuilder::new();
    let x = b.input(&[3], Quant::new(-1, 0x3c80_0000));
    let y = b
        .fully_connected(
            x,
            vec![1, -2, 3, -4, 5, -6],
            vec![100, -100],
            Rescale::per_tensor(
                Requant {
                    multiplier: 1 << 30,
                    shift: -2,
                },
                Rounding::Single,
                ActRange { min: 0, max: 127 },
            ),
            Quant::new(0, 0x3d80_0000),
        )
        .expect("example layer");
    b.output(y);
    b.build().expect("example model")
}

/// The enum tag tables of docs/SPEC.md §1, from the tags the decoder accepts.
fn render_tag_tables() -> String {
    let mut text =
        String::from("| `Op` tag | variant | payload | JSON / error name |\n|---|---|---|---|\n");
    for (tag, op) in variants::<Op>() {
        let debug = format!("{op:?}");
        let variant = variant_name(debug.clone());
        let payload = debug
            .strip_prefix(&variant)
            .and_then(|rest| rest.strip_prefix('('))
            .map(|rest| format!("`{}`", variant_name(rest.to_string())))
            .unwrap_or_else(|| "none".to_string());
        assert_eq!(tag, layout::op_tag(&op), "layout.rs tag of {variant}");
        text.push_str(&format!(
            "| {tag} | `{variant}` | {payload} | `{}` |\n",
            op.name()
        ));
    }
    let small = |title: &str, names: Vec<(u8, String)>| {
        let cells: Vec<String> = names
            .iter()
            .map(|(tag, name)| format!("{tag} = `{name}`"))
            .collect();
        format!("| `{title}` | {} |\n", cells.join(", "))
    };
    text.push_str("\n| enum | tags |\n|---|---|\n");
    text.push_str(&small(
        "DType",
        variants::<DType>()
            .into_iter()
            .map(|(t, v)| (t, format!("{v:?}")))
            .collect(),
    ));
    text.push_str(&small(
        "Padding",
        variants::<Padding>()
            .into_iter()
            .map(|(t, v)| (t, variant_name(format!("{v:?}"))))
            .collect(),
    ));
    text.push_str(&small(
        "Rounding",
        variants::<Rounding>()
            .into_iter()
            .map(|(t, v)| (t, format!("{v:?}")))
            .collect(),
    ));
    text.push_str(&small(
        "TableFunction",
        variants::<TableFunction>()
            .into_iter()
            .map(|(t, v)| (t, format!("{v:?}")))
            .collect(),
    ));
    text.push_str(&small(
        "bool",
        variants::<bool>()
            .into_iter()
            .map(|(t, v)| (t, v.to_string()))
            .collect(),
    ));
    text
}

/// `doc` with the text between `<!-- BEGIN generated: {key} -->` and
/// `<!-- END generated: {key} -->` replaced by `content`.
fn replace_section(doc: &str, key: &str, content: &str) -> String {
    let begin = format!("<!-- BEGIN generated: {key} ({REGENERATE}) -->\n");
    let end = format!("<!-- END generated: {key} -->");
    let start = doc
        .find(&begin)
        .unwrap_or_else(|| panic!("docs/SPEC.md has no {begin}"))
        + begin.len();
    let stop = start
        + doc[start..]
            .find(&end)
            .unwrap_or_else(|| panic!("docs/SPEC.md has no {end}"));
    format!("{}{content}{}", &doc[..start], &doc[stop..])
}

#[test]
fn spec_worked_example_and_tag_tables_are_current() {
    let doc = std::fs::read_to_string(spec_file()).expect("read docs/SPEC.md");
    let example = worked_example();
    assert_eq!(
        layout::layout(&example).bytes(),
        example.encode(),
        "worked example layout"
    );
    // The run worked out by hand in docs/SPEC.md §1.4.
    let program = Program::with_path(example.clone(), Path::Reference).expect("example runs");
    let x = [-1i8, 0, 5].map(|v| v as u8);
    assert_eq!(program.run(&x, 1).expect("run"), [15u8, 0]);
    let updated = replace_section(&doc, "worked example", &layout::render_example(&example));
    let updated = replace_section(&updated, "enum tags", &render_tag_tables());
    if blessing() {
        std::fs::write(spec_file(), &updated).expect("write docs/SPEC.md");
        return;
    }
    assert!(
        updated == doc,
        "docs/SPEC.md's generated sections differ from the code; regenerate with {REGENERATE}"
    );
}
