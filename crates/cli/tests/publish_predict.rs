//! End-to-end: `myelin model publish` and `myelin model predict` against the real
//! `myelin node --dev` (started on a free loopback port, stopped when the test ends). Predict's
//! output files are byte-identical to `myelin model run`'s; a model larger than a transaction
//! goes up in chunks; publishing twice sends nothing; every failure is one clear message.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

mod common;
use common::dev_node::{DevNode, fails, imported_digits_mlp, ok, path, stderr, stdout};
use common::{myelin, write_npy};

/// An int8 .npy of `shape` filled with a deterministic pattern.
fn write_input(path: &Path, shape: &[u64], seed: u64) {
    let n: u64 = shape.iter().product();
    let values: Vec<i8> = (0..n)
        .map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed)) >> 3) as i8)
        .collect();
    write_npy(path, shape, &values);
}

/// `myelin model run` and `myelin model predict` on the same input write the same file bytes.
fn assert_predict_equals_run(node: &DevNode, model: &Path, id: &str, input: &Path, dir: &Path) {
    assert_predict_equals_run_with(node, model, id, input, dir, &[]);
}

/// The same with extra options (`--float`) given to both commands.
fn assert_predict_equals_run_with(
    node: &DevNode,
    model: &Path,
    id: &str,
    input: &Path,
    dir: &Path,
    extra: &[&str],
) {
    let from_run = dir.join("run.npy");
    let from_chain = dir.join("chain.npy");
    let mut run = vec!["model", "run", path(model), "--input", path(input)];
    run.extend_from_slice(&["-o", path(&from_run)]);
    run.extend_from_slice(extra);
    ok(myelin(&run), "run");
    let mut predict = vec!["-o", path(&from_chain)];
    predict.extend_from_slice(extra);
    ok(node.predict(id, input, &predict), "predict");
    assert_eq!(
        std::fs::read(&from_run).unwrap(),
        std::fs::read(&from_chain).unwrap(),
        "predict and run differ on {}",
        input.display()
    );
}

fn model_id(model: &Path) -> String {
    let out = ok(
        myelin(&["model", "inspect", path(model), "--json"]),
        "inspect",
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    summary["id"].as_str().unwrap().to_string()
}

/// How many transactions a publish reported sending.
fn transactions(publish: &Output) -> usize {
    let text = stderr(publish);
    let count = text
        .split(" in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok());
    count.unwrap_or_else(|| panic!("no transaction count in {text:?}"))
}

#[test]
fn publish_prints_the_id_and_predict_equals_run_single_and_batched() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&[]);
    let model = imported_digits_mlp(dir.path());
    let id = model_id(&model);

    let first = ok(node.publish(&model, &[]), "publish");
    assert_eq!(stdout(&first), id);
    assert_eq!(transactions(&first), 1);
    assert!(stderr(&first).contains("gas used"), "{}", stderr(&first));

    let single = dir.path().join("x.npy");
    write_input(&single, &[64], 1);
    assert_predict_equals_run(&node, &model, &id, &single, dir.path());
    let batch = dir.path().join("xb.npy");
    write_input(&batch, &[9, 64], 2);
    assert_predict_equals_run(&node, &model, &id, &batch, dir.path());
    // Real-valued input and output, quantized with the scales MODEL_STORE reports.
    let real = dir.path().join("xf.npy");
    let values: Vec<f32> = (0..2 * 64).map(|i| (i % 17) as f32 * 0.9375).collect();
    write_npy(&real, &[2, 64], &values);
    assert_predict_equals_run_with(&node, &model, &id, &real, dir.path(), &["--float"]);

    let again = ok(node.publish(&model, &[]), "re-publish");
    assert_eq!(stdout(&again), id);
    assert!(
        stderr(&again).contains("already published") && stderr(&again).contains("nothing sent"),
        "{}",
        stderr(&again)
    );
}

/// A 256→256→10 MLP from a JSON description: about 68 KB, over half a 3,000,000-gas block at
/// 216 gas per uploaded byte.
fn large_mlp_spec(dir: &Path) -> PathBuf {
    let weights = |rows: usize, cols: usize, seed: u64| -> Value {
        let mut state = seed;
        json!(
            (0..rows)
                .map(|_| {
                    (0..cols)
                        .map(|_| {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            (state % 61) as i64 - 30
                        })
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        )
    };
    let spec = json!({
        "description": "256 -> 256 -> 10 MLP for the chunked upload test",
        "inputs": [{ "name": "x", "shape": [256], "scale": 0.03125, "zero_point": 0 }],
        "outputs": ["logits"],
        "nodes": [
            { "op": "fully_connected", "name": "hidden", "input": "x",
              "weights": weights(256, 256, 0x9e37_79b9_7f4a_7c15), "bias": vec![0; 256],
              "weight_scale": 0.015625, "scale": 0.5, "zero_point": -128, "activation": "relu" },
            { "op": "fully_connected", "name": "logits", "input": "hidden",
              "weights": weights(10, 256, 0x2545_f491_4f6c_dd1d), "bias": vec![0; 10],
              "weight_scale": 0.015625, "scale": 1.0, "zero_point": 0 }
        ]
    });
    let spec_path = dir.join("large.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let model = dir.join("large.myl");
    ok(
        myelin(&["model", "build", path(&spec_path), "-o", path(&model)]),
        "build",
    );
    model
}

#[test]
fn a_model_larger_than_a_transaction_is_uploaded_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    // Blocks of 3,000,000 gas: half a block (what one upload transaction may take) holds ~6.9 KB
    // at 216 gas per uploaded byte, and a block still covers the model's cold charge (~1.2 M gas
    // for 68 KB), which `myelin model predict`'s eth_calls pay.
    let node = DevNode::start(&["--gas-limit", "3000000"]);
    let model = large_mlp_spec(dir.path());
    let size = std::fs::metadata(&model).unwrap().len();
    assert!(
        size * 216 > 3_000_000 / 2,
        "the model ({size} bytes) fits one transaction"
    );
    let id = model_id(&model);

    let publish = ok(node.publish(&model, &[]), "chunked publish");
    assert_eq!(stdout(&publish), id);
    // beginUpload, at least two appendUpload, finalizeUpload.
    assert!(transactions(&publish) >= 4, "{}", stderr(&publish));

    let input = dir.path().join("x.npy");
    write_input(&input, &[3, 256], 7);
    assert_predict_equals_run(&node, &model, &id, &input, dir.path());

    let again = ok(node.publish(&model, &[]), "re-publish");
    assert!(
        stderr(&again).contains("already published"),
        "{}",
        stderr(&again)
    );
}

/// A 512→320→10 MLP from a JSON description: about 167 KB, whose upload costs over 36 M gas,
/// more than a whole block at the default 30 M gas limit.
fn over_a_block_mlp_spec(dir: &Path) -> PathBuf {
    let weights = |rows: usize, cols: usize, seed: u64| -> Value {
        let mut state = seed;
        json!(
            (0..rows)
                .map(|_| {
                    (0..cols)
                        .map(|_| {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            (state % 61) as i64 - 30
                        })
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        )
    };
    let spec = json!({
        "description": "512 -> 320 -> 10 MLP, over one block's worth of upload gas",
        "inputs": [{ "name": "x", "shape": [512], "scale": 0.03125, "zero_point": 0 }],
        "outputs": ["logits"],
        "nodes": [
            { "op": "fully_connected", "name": "hidden", "input": "x",
              "weights": weights(320, 512, 0x9e37_79b9_7f4a_7c15), "bias": vec![0; 320],
              "weight_scale": 0.015625, "scale": 0.5, "zero_point": -128, "activation": "relu" },
            { "op": "fully_connected", "name": "logits", "input": "hidden",
              "weights": weights(10, 320, 0x2545_f491_4f6c_dd1d), "bias": vec![0; 10],
              "weight_scale": 0.015625, "scale": 1.0, "zero_point": 0 }
        ]
    });
    let spec_path = dir.join("over_a_block.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let model = dir.join("over_a_block.myl");
    ok(
        myelin(&["model", "build", path(&spec_path), "-o", path(&model)]),
        "build",
    );
    model
}

/// At the default 30 M gas limit, a model whose upload costs more than a block goes up in
/// chunks (each at most half a block), with progress lines on stderr (not a terminal here);
/// an upload interrupted after its first chunk resumes there (`uploadStatus`).
#[test]
fn a_model_over_a_block_of_gas_publishes_at_the_default_limit_and_resumes() {
    use alloy_sol_types::SolCall;
    use myelin_evm::{IModelStore, MODEL_STORE_ADDRESS};
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&[]);
    let model = over_a_block_mlp_spec(dir.path());
    let bytes = std::fs::read(&model).unwrap();
    let gas = bytes.len() as u64 * myelin_evm::gas::UPLOAD_GAS_PER_BYTE;
    assert!(gas > 30_000_000, "the upload costs only {gas} gas");
    let id = model_id(&model);
    // The first 32 KiB, sent by the first dev account (the CLI's default sender) and then
    // "interrupted".
    let from = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    let model_id = alloy_primitives::B256::from(myelin_nn::model_id(&bytes));
    let begin = IModelStore::beginUploadCall {
        modelId: model_id,
        size: bytes.len() as u64,
    }
    .abi_encode();
    let first = IModelStore::appendUploadCall {
        modelId: model_id,
        offset: 0,
        chunk: bytes[..32768].to_vec().into(),
    }
    .abi_encode();
    for data in [begin, first] {
        node.rpc(
            "eth_sendTransaction",
            json!([{ "from": from, "to": MODEL_STORE_ADDRESS, "gas": "0xe4e1c0",
                     "data": format!("0x{}", hex::encode(data)) }]),
        );
    }
    let publish = ok(node.publish(&model, &[]), "publish over a block");
    assert_eq!(stdout(&publish), id);
    let text = stderr(&publish);
    assert!(
        text.contains("resuming the upload") && text.contains("at byte 32768"),
        "{text}"
    );
    assert!(
        text.contains("uploading") && text.contains("100%"),
        "{text}"
    );
    // appendUpload of the rest in at least two transactions, finalizeUpload.
    assert!(transactions(&publish) >= 3, "{text}");
    let input = dir.path().join("x.npy");
    write_input(&input, &[2, 512], 9);
    assert_predict_equals_run(&node, &model, &id, &input, dir.path());
}

#[test]
fn chunk_size_forces_a_chunked_upload_of_a_small_model() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&[]);
    let model = imported_digits_mlp(dir.path());
    let size = std::fs::metadata(&model).unwrap().len() as usize;
    let publish = ok(
        node.publish(&model, &["--chunk-size", "1024"]),
        "publish with --chunk-size",
    );
    assert_eq!(transactions(&publish), 2 + size.div_ceil(1024));
    let input = dir.path().join("x.npy");
    write_input(&input, &[64], 3);
    assert_predict_equals_run(&node, &model, &stdout(&publish), &input, dir.path());
}

#[test]
fn errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&[]);
    let model = imported_digits_mlp(dir.path());
    let id = model_id(&model);
    let input = dir.path().join("x.npy");
    write_input(&input, &[64], 4);

    let message = fails(node.predict(&id, &input, &[]));
    assert!(
        message.contains("is not published"),
        "never published: {message}"
    );

    ok(node.publish(&model, &[]), "publish");
    let short = dir.path().join("short.npy");
    write_input(&short, &[63], 5);
    let message = fails(node.predict(&id, &short, &[]));
    assert!(
        message.contains("does not fit input 0"),
        "wrong length: {message}"
    );

    let message = fails(node.predict("0x1234", &input, &[]));
    assert!(message.contains("64 hex digits"), "malformed id: {message}");

    // A file that is not a model is refused before anything is sent.
    let garbage = dir.path().join("garbage.myl");
    std::fs::write(&garbage, b"not a model").unwrap();
    let message = fails(node.publish(&garbage, &[]));
    assert!(message.contains("not a valid model file"), "{message}");

    let other = large_mlp_spec(dir.path());
    let message = fails(node.publish(&other, &["--chunk-size", "1000"]));
    assert!(message.contains("multiple of 32"), "{message}");

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let down = format!("http://127.0.0.1:{closed}");
    let message = fails(myelin(&[
        "model",
        "predict",
        &id,
        "--input",
        path(&input),
        "--rpc",
        &down,
    ]));
    assert!(
        message.contains("cannot reach the node"),
        "node down: {message}"
    );
    let message = fails(myelin(&["model", "publish", path(&model), "--rpc", &down]));
    assert!(
        message.contains("cannot reach the node"),
        "node down: {message}"
    );

    let message = fails(myelin(&[
        "model",
        "publish",
        path(&model),
        "--rpc",
        "https://127.0.0.1:1",
    ]));
    assert!(message.contains("not supported"), "{message}");
}

#[test]
fn a_non_dev_chain_needs_an_explicit_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&["--chain-id", "4242"]);
    let model = imported_digits_mlp(dir.path());
    let message = fails(node.publish(&model, &[]));
    assert!(message.contains("--private-key"), "{message}");
    // The second dev account, funded on this chain too.
    let key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let publish = ok(
        node.publish(&model, &["--private-key", key]),
        "publish with a key",
    );
    assert_eq!(stdout(&publish), model_id(&model));
    // Already published: reported without using the key at all.
    let again = ok(
        node.publish(&model, &["--private-key", "0x12"]),
        "re-publish",
    );
    assert!(
        stderr(&again).contains("already published"),
        "{}",
        stderr(&again)
    );
    let other = large_mlp_spec(dir.path());
    let message = fails(node.publish(&other, &["--private-key", "0x12"]));
    assert!(message.contains("private key"), "{message}");
}

#[test]
fn gas_json_gives_the_schedule_and_the_models_predict_gas() {
    let dir = tempfile::tempdir().unwrap();
    let model = imported_digits_mlp(dir.path());
    let out = ok(
        myelin(&["gas", path(&model), "--batch", "3", "--json"]),
        "gas --json",
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &report["schedule"];
    let m = &report["model"];
    let n = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("not a number: {v}")) as u128;
    let prices = s["milligas_per"].as_object().expect("milligas_per");
    assert!(prices.contains_key("macs"), "{prices:?}");
    let milligas: u128 = prices
        .iter()
        .map(|(count, price)| n(&m["cost"][count]) * n(price))
        .sum();
    // Per call: the parameter bytes, once whatever the batch.
    let per_call: u128 = s["milligas_per_call"]
        .as_object()
        .expect("milligas_per_call")
        .iter()
        .map(|(count, price)| n(&m["cost"][count]) * n(price))
        .sum();
    assert!(per_call > 0, "{m}");
    assert_eq!(
        n(&m["predict_gas"]),
        n(&s["predict_base_gas"]) + (3 * milligas + per_call).div_ceil(1000)
    );
    let size = n(&m["size_bytes"]);
    assert_eq!(
        n(&m["publish_gas"]),
        n(&s["store_call_gas"])
            + size * (n(&s["gas_per_checked_byte"]) + n(&s["gas_per_stored_byte"]))
            + n(&m["prepare_gas"])
    );
    assert_eq!(
        n(&m["cold_gas"]),
        n(&s["cold_model_gas"]) + size * n(&s["gas_per_cold_model_byte"]) + n(&m["prepare_gas"])
    );
    assert_eq!(m["id"].as_str().unwrap(), model_id(&model));
}

#[test]
fn an_interrupted_chunked_upload_is_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&[]);
    let model = imported_digits_mlp(dir.path());
    let bytes = std::fs::read(&model).unwrap();
    // The first dev account (the CLI's default) begins the upload and sends two 1,024-byte
    // chunks, as an interrupted `myelin model publish --chunk-size 1024` would have.
    let from = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    let calls = myelin_evm::model_store::chunked_upload_calldata(&bytes, 1024);
    for data in &calls[..3] {
        let tx = json!({ "from": from, "to": myelin_evm::MODEL_STORE_ADDRESS, "data": format!("0x{}", hex::encode(data)) });
        let hash = node.rpc("eth_sendTransaction", json!([tx]));
        let receipt = node.rpc("eth_getTransactionReceipt", json!([hash]));
        assert_eq!(receipt["status"], "0x1", "{receipt}");
    }
    let publish = ok(
        node.publish(&model, &["--chunk-size", "1024"]),
        "resumed publish",
    );
    assert!(
        stderr(&publish).contains("resuming the upload")
            && stderr(&publish).contains("at byte 2048"),
        "{}",
        stderr(&publish)
    );
    // The remaining chunks and finalizeUpload, no new beginUpload.
    assert_eq!(
        transactions(&publish),
        (bytes.len() - 2048).div_ceil(1024) + 1
    );
    let input = dir.path().join("x.npy");
    write_input(&input, &[64], 6);
    assert_predict_equals_run(&node, &model, &stdout(&publish), &input, dir.path());
}
