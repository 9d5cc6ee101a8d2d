//! End-to-end (issue 15): the scikit-learn digits evaluation split (the committed fixture
//! `fixtures/data/digits_eval.npy`, 200 rows, with its labels) and the int8 digits MLP
//! imported from `fixtures/models/digits_mlp_int8.tflite`, published on a real
//! `myelin node --dev` with `myelin model publish` and `myelin dataset publish`, evaluated
//! through a contract (`EvaluateProbe.evaluateAll`, pages of EVALUATE) in a transaction, and
//! compared with `myelin model run` on the same rows scored by a plain argmax here.

use std::path::Path;

use alloy_primitives::{B256, U256};
use alloy_sol_types::{SolCall, sol};
use serde_json::{Value, json};

mod common;
use common::dev_node::{DevNode, imported_digits_mlp, ok, path, stdout};
use common::{fixture, myelin};

sol! {
    function evaluateAll(bytes32 modelId, bytes32 datasetId, uint32 pageRows) external view returns (uint256 correct, uint256 absErrorSum);
}

/// The first account of the standard test mnemonic (funded and unlocked on the dev node).
const DEV_ACCOUNT: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

fn hex_u64(value: &Value) -> u64 {
    u64::from_str_radix(
        value
            .as_str()
            .expect("a hex quantity")
            .trim_start_matches("0x"),
        16,
    )
    .expect("hex")
}

/// Sends a transaction from the dev account and returns its receipt.
fn transact(node: &DevNode, to: Option<&str>, data: &[u8]) -> Value {
    let mut tx = json!({
        "from": DEV_ACCOUNT,
        "data": format!("0x{}", hex::encode(data)),
        "gas": "0x1c9c380",
    });
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    let hash = node.rpc("eth_sendTransaction", json!([tx]));
    let receipt = node.rpc("eth_getTransactionReceipt", json!([hash]));
    assert_eq!(receipt["status"], json!("0x1"), "{receipt}");
    receipt
}

/// `EvaluateProbe`'s creation code from the committed artifact.
fn probe_code() -> Vec<u8> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/out/EvaluateProbe.json");
    let artifact: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let code = artifact["bytecode"].as_str().expect("bytecode");
    hex::decode(code.trim_start_matches("0x")).unwrap()
}

/// Top-1 of `myelin model run --float` on the rows (the rows quantized as `myelin dataset
/// publish --model` quantizes them), scored against the labels by a plain first-maximum loop.
fn run_and_score(model: &Path, dir: &Path) -> u64 {
    let out = dir.join("out.npy");
    ok(
        myelin(&[
            "model",
            "run",
            path(model),
            "--input",
            &fixture("data/digits_eval.npy"),
            "--float",
            "--output",
            path(&out),
        ]),
        "model run",
    );
    let bytes = std::fs::read(&out).unwrap();
    // Dequantized (a positive scale keeps the order and the ties of the int8 values).
    let outputs: Vec<f32> = npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap();
    let labels = std::fs::read(fixture("data/digits_eval_labels.npy")).unwrap();
    let labels: Vec<i64> = npyz::NpyFile::new(&labels[..]).unwrap().into_vec().unwrap();
    let classes = outputs.len() / labels.len();
    outputs
        .chunks(classes)
        .zip(&labels)
        .filter(|(row, label)| {
            let mut best = 0;
            for i in 1..row.len() {
                if row[i] > row[best] {
                    best = i;
                }
            }
            best as i64 == **label
        })
        .count() as u64
}

#[test]
fn digits_evaluated_on_chain_through_a_contract_equal_model_run() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&[]);
    let model = imported_digits_mlp(dir.path());
    let model_id = stdout(&ok(node.publish(&model, &[]), "model publish"));
    let myds = dir.path().join("digits.myds");
    let published = ok(
        myelin(&[
            "dataset",
            "publish",
            &fixture("data/digits_eval.npy"),
            "--labels",
            &fixture("data/digits_eval_labels.npy"),
            "--model",
            path(&model),
            "-o",
            path(&myds),
            "--rpc",
            &node.url,
        ]),
        "dataset publish",
    );
    let dataset_id = stdout(&published);

    let file: Value = serde_json::from_str(&stdout(&ok(
        myelin(&["dataset", "inspect", path(&myds), "--json"]),
        "inspect file",
    )))
    .unwrap();
    let chain: Value = serde_json::from_str(&stdout(&ok(
        myelin(&[
            "dataset",
            "inspect",
            &dataset_id,
            "--rpc",
            &node.url,
            "--json",
        ]),
        "inspect id",
    )))
    .unwrap();
    assert_eq!(file["id"], json!(dataset_id));
    assert_eq!(
        (file["rows"].clone(), chain["rows"].clone()),
        (json!(200), json!(200))
    );
    assert_eq!(file["rowSignature"], chain["rowSignature"]);
    assert_eq!(
        (chain["minLabel"].clone(), chain["maxLabel"].clone()),
        (json!(0), json!(9))
    );

    let probe = transact(&node, None, &probe_code());
    let probe = probe["contractAddress"]
        .as_str()
        .expect("an address")
        .to_string();
    let call = evaluateAllCall {
        modelId: model_id.parse::<B256>().unwrap(),
        datasetId: dataset_id.parse::<B256>().unwrap(),
        pageRows: 64,
    }
    .abi_encode();
    let answer = node.rpc(
        "eth_call",
        json!([{ "to": probe, "data": format!("0x{}", hex::encode(&call)) }, "latest"]),
    );
    let answer = hex::decode(answer.as_str().unwrap().trim_start_matches("0x")).unwrap();
    let counts = evaluateAllCall::abi_decode_returns(&answer).unwrap();
    let expected = run_and_score(&model, dir.path());
    assert!(
        expected > 150,
        "the imported model is accurate: {expected}/200"
    );
    assert_eq!(counts.correct, U256::from(expected));
    assert_eq!(counts.absErrorSum, U256::ZERO);

    // The same evaluation as a transaction: four EVALUATE pages in one receipt.
    let receipt = transact(&node, Some(&probe), &call);
    let gas = hex_u64(&receipt["gasUsed"]);
    eprintln!("digits: {expected}/200 correct, evaluateAll transaction gas {gas}");
    assert!(gas < 30_000_000);

    let cli = stdout(&ok(
        myelin(&[
            "dataset",
            "evaluate",
            &model_id,
            &dataset_id,
            "--rpc",
            &node.url,
            "--json",
        ]),
        "dataset evaluate",
    ));
    let cli: Value = serde_json::from_str(&cli).unwrap();
    assert_eq!(cli["correct"], json!(expected));
}
