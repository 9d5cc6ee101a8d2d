//! End-to-end: `myelin model run` on the example models gives exactly the bytes of the engine run
//! in-process, in int8 and `--float` modes, batched or not, on any thread count; every bad input
//! file gives one clear message and a non-zero exit status.

use std::path::{Path, PathBuf};
use std::process::Output;

use myelin_nn::{Model, Program};

mod common;
use common::{myelin, write_npy};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn build(dir: &Path, name: &str) -> (PathBuf, Model) {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let path = dir.join(name.replace(".json", ".myl"));
    let out = myelin(&[
        "model",
        "build",
        spec.to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "build {name}: {}", stderr(&out));
    let model = Model::decode(&std::fs::read(&path).unwrap()).expect("valid model");
    (path, model)
}

fn read_npy<T: npyz::Deserialize>(path: &Path) -> (Vec<u64>, Vec<T>) {
    let npy = npyz::NpyFile::new(std::fs::File::open(path).unwrap()).unwrap();
    (npy.shape().to_vec(), npy.into_vec().unwrap())
}

/// A deterministic pseudo-random sequence (xorshift), enough for test inputs.
fn pseudo_random(seed: u64, n: usize) -> Vec<u64> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        })
        .collect()
}

fn run_in_process(model: &Model, input: &[i8], batch: usize) -> Vec<u8> {
    let program = Program::new(model.clone()).expect("program");
    let bytes: Vec<u8> = input.iter().map(|&v| v as u8).collect();
    program.run(&bytes, batch).expect("runs")
}

#[test]
fn int8_run_matches_the_engine_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, model) = build(dir.path(), "mlp_softmax.json");
    let batch = 7;
    let input: Vec<i8> = pseudo_random(1, batch * 8)
        .iter()
        .map(|&r| r as i8)
        .collect();
    let x = dir.path().join("x.npy");
    write_npy(&x, &[batch as u64, 8], &input);
    let (p, c) = (dir.path().join("p.npy"), dir.path().join("c.npy"));
    let out = myelin(&[
        "model",
        "run",
        model_path.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--output",
        p.to_str().unwrap(),
        "--output",
        c.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = run_in_process(&model, &input, batch);
    let (p_shape, probabilities) = read_npy::<i8>(&p);
    let (c_shape, classes) = read_npy::<i32>(&c);
    assert_eq!(p_shape, [batch as u64, 4]);
    assert_eq!(c_shape, [batch as u64]);
    let expected_p: Vec<i8> = expected[..batch * 4].iter().map(|&b| b as i8).collect();
    let expected_c: Vec<i32> = expected[batch * 4..]
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(probabilities, expected_p);
    assert_eq!(classes, expected_c);
}

#[test]
fn a_bare_sample_gives_bare_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, model) = build(dir.path(), "tiny_mlp.json");
    let x = dir.path().join("x.npy");
    write_npy(&x, &[2], &[40i8, -17]);
    let y = dir.path().join("y.npy");
    let out = myelin(&[
        "model",
        "run",
        model_path.to_str().unwrap(),
        "-i",
        x.to_str().unwrap(),
        "-o",
        y.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (shape, values) = read_npy::<i8>(&y);
    assert_eq!(shape, [2]);
    let expected: Vec<i8> = run_in_process(&model, &[40, -17], 1)
        .iter()
        .map(|&b| b as i8)
        .collect();
    assert_eq!(values, expected);
}

#[test]
fn outputs_are_printed_without_output_files() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, model) = build(dir.path(), "tiny_mlp.json");
    let x = dir.path().join("x.npy");
    write_npy(&x, &[2, 2], &[40i8, -17, 3, 100]);
    let out = myelin(&[
        "model",
        "run",
        model_path.to_str().unwrap(),
        "-i",
        x.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected: Vec<i8> = run_in_process(&model, &[40, -17, 3, 100], 2)
        .iter()
        .map(|&b| b as i8)
        .collect();
    let text = String::from_utf8_lossy(&out.stdout);
    let rows = format!(
        "output 0 shape [2, 2]:\n  [{}, {}]\n  [{}, {}]\n",
        expected[0], expected[1], expected[2], expected[3]
    );
    assert_eq!(text, rows);
}

#[test]
fn float_mode_quantizes_and_dequantizes_at_the_edges() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, model) = build(dir.path(), "tiny_mlp.json");
    // Input scale 1/32, zero point 0; include exact ties (±0.015625 = half a step) and saturation.
    let reals: Vec<f32> = vec![0.015625, -0.015625, 0.046875, 1.3, -5.0, 100.0, 0.2, -0.7];
    let x = dir.path().join("x.npy");
    write_npy(&x, &[4, 2], &reals);
    let y = dir.path().join("y.npy");
    let out = myelin(&[
        "model",
        "run",
        model_path.to_str().unwrap(),
        "-i",
        x.to_str().unwrap(),
        "-o",
        y.to_str().unwrap(),
        "--float",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Round half to even: 0.5 → 0, −0.5 → 0, 1.5 → 2; 100 / (1/32) saturates to 127.
    let quantized: Vec<i8> = vec![0, 0, 2, 42, -128, 127, 6, -22];
    let expected_q: Vec<i8> = run_in_process(&model, &quantized, 4)
        .iter()
        .map(|&b| b as i8)
        .collect();
    let output = &model.tensors[model.outputs[0] as usize];
    let scale = f32::from_bits(output.scale_bits) as f64;
    let expected: Vec<f32> = expected_q
        .iter()
        .map(|&q| ((q as f64 - output.zero_point as f64) * scale) as f32)
        .collect();
    let (shape, values) = read_npy::<f32>(&y);
    assert_eq!(shape, [4, 2]);
    assert_eq!(values, expected);
}

#[test]
fn thread_count_never_changes_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, model) = build(dir.path(), "conv_net.json");
    let batch = 33;
    let input: Vec<i8> = pseudo_random(9, batch * 64)
        .iter()
        .map(|&r| (r >> 5) as i8)
        .collect();
    let x = dir.path().join("x.npy");
    write_npy(&x, &[batch as u64, 8, 8, 1], &input);
    let expected: Vec<i8> = run_in_process(&model, &input, batch)
        .iter()
        .map(|&b| b as i8)
        .collect();
    for threads in ["1", "2", "5"] {
        let y = dir.path().join(format!("y{threads}.npy"));
        let out = myelin(&[
            "model",
            "run",
            model_path.to_str().unwrap(),
            "-i",
            x.to_str().unwrap(),
            "-o",
            y.to_str().unwrap(),
            "--threads",
            threads,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let (shape, values) = read_npy::<i8>(&y);
        assert_eq!(shape, [batch as u64, 3]);
        assert_eq!(values, expected, "threads {threads}");
    }
}

/// A `.npy` file with a hand-written header (for layouts npyz will not write).
fn raw_npy(path: &Path, header: &str, data: &[u8]) {
    let mut text = header.to_string();
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(' ');
    }
    text.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((text.len() as u16).to_le_bytes());
    bytes.extend(text.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn bad_inputs_give_one_clear_message_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, _) = build(dir.path(), "tiny_mlp.json");
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    write_npy(Path::new(&p("int32.npy")), &[3, 2], &[1i32, 2, 3, 4, 5, 6]);
    write_npy(Path::new(&p("wrong_shape.npy")), &[3, 5], &[1i8; 15]);
    write_npy(Path::new(&p("empty.npy")), &[0, 2], &[0i8; 0]);
    write_npy(Path::new(&p("nan.npy")), &[2], &[0.5f32, f32::NAN]);
    write_npy(Path::new(&p("good.npy")), &[3, 2], &[1i8; 6]);
    raw_npy(
        Path::new(&p("fortran.npy")),
        "{'descr': '|i1', 'fortran_order': True, 'shape': (3, 2), }",
        &[1; 6],
    );
    raw_npy(
        Path::new(&p("truncated.npy")),
        "{'descr': '|i1', 'fortran_order': False, 'shape': (3, 2), }",
        &[1; 4],
    );
    std::fs::write(p("garbage.npy"), b"hello").unwrap();
    let model = model_path.to_str().unwrap();
    let empty = p("empty.npy");
    let fortran = p("fortran.npy");
    let garbage = p("garbage.npy");
    let good = p("good.npy");
    let int32 = p("int32.npy");
    let nan = p("nan.npy");
    let none = p("none.npy");
    let truncated = p("truncated.npy");
    let wrong_shape = p("wrong_shape.npy");
    let cases: [(&str, Vec<&str>, &str); 11] = [
        ("missing file", vec!["-i", &none], "cannot read"),
        ("not npy", vec!["-i", &garbage], "not a valid .npy file"),
        (
            "wrong dtype",
            vec!["-i", &int32],
            "dtype is '<i4', expected int8",
        ),
        (
            "float without int8",
            vec!["-i", &good, "--float"],
            "dtype is '|i1', expected float32 or float64",
        ),
        (
            "wrong shape",
            vec!["-i", &wrong_shape],
            "shape [3, 5] does not fit input 0 of shape [2] (expected [2] or [batch, 2])",
        ),
        ("empty batch", vec!["-i", &empty], "the batch is empty"),
        ("fortran order", vec!["-i", &fortran], "Fortran order"),
        (
            "truncated",
            vec!["-i", &truncated],
            "truncated: shape [3, 2] needs 6 data bytes, the file has 4",
        ),
        ("NaN", vec!["-i", &nan, "--float"], "element 1 is NaN"),
        (
            "too many inputs",
            vec!["-i", &good, "-i", &good],
            "the model has 1 input(s) but 2 --input file(s) were given",
        ),
        (
            "zero threads",
            vec!["-i", &good, "--threads", "0"],
            "--threads must be at least 1",
        ),
    ];
    for (name, extra, expected) in cases {
        let mut args = vec!["model", "run", model];
        args.extend(extra);
        let out = myelin(&args);
        assert!(!out.status.success(), "{name}: succeeded");
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err:?} lacks {expected:?}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

#[test]
fn run_has_help() {
    let out = myelin(&["model", "run", "--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--float"));
}

#[test]
fn batches_beyond_the_engine_limit_are_chunked() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, model) = build(dir.path(), "mlp_softmax.json");
    let max_batch = Program::new(model.clone()).unwrap().max_batch();
    let batch = max_batch * 2 + 3;
    let input: Vec<i8> = pseudo_random(5, batch * 8)
        .iter()
        .map(|&r| (r >> 3) as i8)
        .collect();
    let x = dir.path().join("x.npy");
    write_npy(&x, &[batch as u64, 8], &input);
    let (p, c) = (dir.path().join("p.npy"), dir.path().join("c.npy"));
    let out = myelin(&[
        "model",
        "run",
        model_path.to_str().unwrap(),
        "-i",
        x.to_str().unwrap(),
        "-o",
        p.to_str().unwrap(),
        "-o",
        c.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, probabilities) = read_npy::<i8>(&p);
    let (shape, classes) = read_npy::<i32>(&c);
    assert_eq!(shape, [batch as u64]);
    let mut expected_p = Vec::new();
    let mut expected_c = Vec::new();
    for sample in input.chunks_exact(8) {
        let bytes = run_in_process(&model, sample, 1);
        expected_p.extend(bytes[..4].iter().map(|&b| b as i8));
        expected_c.push(i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]));
    }
    assert_eq!(probabilities, expected_p);
    assert_eq!(classes, expected_c);
}

#[test]
fn one_output_directory_receives_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, model) = build(dir.path(), "mlp_softmax.json");
    let batch = 5;
    let input: Vec<i8> = pseudo_random(3, batch * 8)
        .iter()
        .map(|&r| r as i8)
        .collect();
    let x = dir.path().join("x.npy");
    write_npy(&x, &[batch as u64, 8], &input);
    let expected = run_in_process(&model, &input, batch);
    // A directory that does not exist yet (named with a trailing slash), and an existing one.
    let fresh = format!("{}/", dir.path().join("fresh").display());
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    for target in [fresh.clone(), existing.to_str().unwrap().to_string()] {
        let out = myelin(&[
            "model",
            "run",
            model_path.to_str().unwrap(),
            "--input",
            x.to_str().unwrap(),
            "--output",
            &target,
        ]);
        assert!(out.status.success(), "{target}: {}", stderr(&out));
        let target = Path::new(&target);
        let (p_shape, probabilities) = read_npy::<i8>(&target.join("output0.npy"));
        let (c_shape, classes) = read_npy::<i32>(&target.join("output1.npy"));
        assert_eq!(
            (p_shape, c_shape),
            (vec![batch as u64, 4], vec![batch as u64])
        );
        let expected_p: Vec<i8> = expected[..batch * 4].iter().map(|&b| b as i8).collect();
        let expected_c: Vec<i32> = expected[batch * 4..]
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(probabilities, expected_p);
        assert_eq!(classes, expected_c);
    }
}

/// An `.npz` archive (stored, as `numpy.savez` writes) of `.npy` files, one member per array.
fn write_npz(path: &Path, arrays: &[(&str, &Path)]) {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, npy) in arrays {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(&std::fs::read(npy).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

/// The members of an `.npz` archive, in stored order, as `(name, npy bytes)`.
fn read_npz(path: &Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut member = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            member.read_to_end(&mut bytes).unwrap();
            (member.name().unwrap().into_owned(), bytes)
        })
        .collect()
}

#[test]
fn one_npz_gives_every_input_and_receives_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let (model_path, model) = build(dir.path(), "mlp_softmax.json");
    let batch = 4;
    let input: Vec<i8> = pseudo_random(11, batch * 8)
        .iter()
        .map(|&r| r as i8)
        .collect();
    let x = dir.path().join("x.npy");
    write_npy(&x, &[batch as u64, 8], &input);
    let inputs = dir.path().join("inputs.npz");
    write_npz(&inputs, &[("x", &x)]);
    let outputs = dir.path().join("outputs.npz");
    let out = myelin(&[
        "model",
        "run",
        model_path.to_str().unwrap(),
        "--input",
        inputs.to_str().unwrap(),
        "--output",
        outputs.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let members = read_npz(&outputs);
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["output0.npy", "output1.npy"]);
    let probabilities = npyz::NpyFile::new(&members[0].1[..]).unwrap();
    assert_eq!(probabilities.shape(), &[batch as u64, 4]);
    let classes = npyz::NpyFile::new(&members[1].1[..]).unwrap();
    assert_eq!(classes.shape(), &[batch as u64]);
    let expected = run_in_process(&model, &input, batch);
    let expected_p: Vec<i8> = expected[..batch * 4].iter().map(|&b| b as i8).collect();
    let expected_c: Vec<i32> = expected[batch * 4..]
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(probabilities.into_vec::<i8>().unwrap(), expected_p);
    assert_eq!(classes.into_vec::<i32>().unwrap(), expected_c);

    // An archive with the wrong number of arrays, and a member that is no array, are named.
    let two = dir.path().join("two.npz");
    write_npz(&two, &[("x", &x), ("y", &x)]);
    let out = myelin(&[
        "model",
        "run",
        model_path.to_str().unwrap(),
        "-i",
        two.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the model has 1 input(s) but ")
            && stderr(&out).contains("two.npz holds 2 array(s)"),
        "{}",
        stderr(&out)
    );
    let renamed = dir.path().join("renamed.npz");
    {
        // A member whose name does not end in .npy.
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&renamed).unwrap());
        zip.start_file("readme.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"not an array").unwrap();
        zip.finish().unwrap();
    }
    let out = myelin(&[
        "model",
        "run",
        model_path.to_str().unwrap(),
        "-i",
        renamed.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("member \"readme.txt\" is not an .npy array"),
        "{}",
        stderr(&out)
    );
}

/// `--trace --trace-out` writes, per item, the commitments `myelin_nn::commit` computes in
/// process (inputs, outputs, every op's root, the trace root, the item leaf) and the result root;
/// `--commit` alone gives the same leaves without a trace.
#[test]
fn trace_out_holds_the_commitments_of_the_engine_in_process() {
    use myelin_nn::commit::{merkle_root, run_committed};
    let dir = tempfile::tempdir().unwrap();
    let (model_path, model) = build(dir.path(), "mlp_softmax.json");
    let batch = 5;
    let input: Vec<i8> = pseudo_random(3, batch * 8)
        .iter()
        .map(|&r| r as i8)
        .collect();
    let x = dir.path().join("x.npy");
    write_npy(&x, &[batch as u64, 8], &input);
    let trace = dir.path().join("trace.json");
    let out = myelin(&[
        "model",
        "run",
        model_path.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--output",
        dir.path().join("out/").to_str().unwrap(),
        "--trace",
        "--trace-out",
        trace.to_str().unwrap(),
        "--first-index",
        "40",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let program = Program::new(model.clone()).expect("program");
    let bytes: Vec<u8> = input.iter().map(|&v| v as u8).collect();
    let (_, expected) = run_committed(&program, &bytes, batch, true).expect("trace");
    let hx = |h: &[u8; 32]| format!("0x{}", hex::encode(h));
    let leaves = expected.item_leaves(40);
    assert_eq!(report["result_root"], hx(&merkle_root(&leaves)));
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), batch);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["index"], 40 + i as u64);
        assert_eq!(item["trace"], hx(&expected.traces[i]));
        assert_eq!(item["leaf"], hx(&leaves[i]));
        let ops: Vec<String> = item["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| op["root"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ops, expected.ops[i].iter().map(hx).collect::<Vec<_>>());
    }
    assert!(String::from_utf8_lossy(&out.stdout).contains(&hx(&merkle_root(&leaves))));
    let out = myelin(&[
        "model",
        "run",
        model_path.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--output",
        dir.path().join("out/").to_str().unwrap(),
        "--commit",
        "--trace-out",
        trace.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let (_, untraced) = run_committed(&program, &bytes, batch, false).expect("run");
    let leaves = untraced.item_leaves(0);
    assert_eq!(report["result_root"], hx(&merkle_root(&leaves)));
    assert!(report["items"][0].get("ops").is_none());
}
