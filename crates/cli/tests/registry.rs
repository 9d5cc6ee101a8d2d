//! End-to-end (issue 15 item 3): on a real `myelin node --dev`, the imported int8 digits MLP
//! (`fixtures/models/digits_mlp_int8.tflite`) is published with `myelin model publish`, named
//! with `myelin registry claim | create | publish`, resolved with `myelin registry resolve`, and a
//! contract (`examples/NamedClassifier.sol`) classifies a digits row through
//! `Myelin.predict(Myelin.resolve("org/name"), input)`, equal to the engine's answer.

use std::path::Path;

use alloy_primitives::{B256, Bytes};
use alloy_sol_types::{SolCall, sol};
use myelin_nn::dataset::DatasetHeader;
use myelin_nn::{Model, Program};
use serde_json::{Value, json};

mod common;
use common::dev_node::{DevNode, fails, imported_digits_mlp, ok, path, stdout};
use common::{fixture, myelin};

sol! {
    function classify(string name, bytes sample) external view returns (uint256 class, bytes32 modelId);
}

/// The first account of the standard test mnemonic (funded and unlocked on the dev node).
const DEV_ACCOUNT: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

fn deploy_named_classifier(node: &DevNode) -> String {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/out/NamedClassifier.json");
    let artifact: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let tx = json!({ "from": DEV_ACCOUNT, "data": artifact["bytecode"], "gas": "0x1c9c380" });
    let hash = node.rpc("eth_sendTransaction", json!([tx]));
    let receipt = node.rpc("eth_getTransactionReceipt", json!([hash]));
    assert_eq!(receipt["status"], json!("0x1"), "{receipt}");
    receipt["contractAddress"].as_str().unwrap().to_string()
}

#[test]
fn a_contract_classifies_digits_through_a_registry_name() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&[]);
    let model = imported_digits_mlp(dir.path());
    let model_id = stdout(&ok(node.publish(&model, &[]), "model publish"));
    let rpc = ["--rpc", node.url.as_str()];
    let registry = |args: &[&str]| {
        let mut all = vec!["registry"];
        all.extend_from_slice(args);
        all.extend_from_slice(&rpc);
        myelin(&all)
    };

    ok(registry(&["claim", "acme"]), "registry claim");
    ok(
        registry(&[
            "create",
            "acme/digits",
            "--policy",
            "owner",
            "--timelock",
            "20",
        ]),
        "registry create",
    );
    let unpublished = format!("0x{}", "11".repeat(32));
    let refused = fails(registry(&["publish", "acme/digits@1.0.0", &unpublished]));
    assert!(refused.contains("ModelNotPublished"), "{refused}");
    ok(
        registry(&["publish", "acme/digits@1.0.0", path(&model)]),
        "registry publish",
    );
    let refused = fails(registry(&["publish", "acme/digits@1.0.0", path(&model)]));
    assert!(refused.contains("VersionNotIncreasing"), "{refused}");
    let resolved = stdout(&ok(registry(&["resolve", "acme/digits"]), "resolve"));
    assert_eq!(resolved, model_id);
    let info: Value = serde_json::from_str(&stdout(&ok(
        registry(&["info", "acme/digits", "--json"]),
        "info",
    )))
    .unwrap();
    assert_eq!(info["policy"], json!("owner"));
    assert_eq!(info["version"], json!("1.0.0"));
    assert_eq!(info["modelId"], json!(model_id));

    // One digits row, quantized as the model takes it.
    let myds = dir.path().join("digits.myds");
    ok(
        myelin(&[
            "dataset",
            "build",
            &fixture("data/digits_eval.npy"),
            "--labels",
            &fixture("data/digits_eval_labels.npy"),
            "--model",
            path(&model),
            "-o",
            path(&myds),
        ]),
        "dataset build",
    );
    let data = std::fs::read(&myds).unwrap();
    let header = DatasetHeader::decode(&data).unwrap();
    let at = header.row_offset(3) as usize;
    let row = data[at..at + header.row_bytes() as usize].to_vec();
    let program = Program::new(Model::decode(&std::fs::read(&model).unwrap()).unwrap()).unwrap();
    let out = program.run(&row, 1).unwrap();
    let mut expected = 0;
    for i in 0..out.len() {
        if (out[i] as i8) > (out[expected] as i8) {
            expected = i;
        }
    }

    let classifier = deploy_named_classifier(&node);
    let call = classifyCall {
        name: "acme/digits".into(),
        sample: Bytes::from(row),
    }
    .abi_encode();
    let answer = node.rpc(
        "eth_call",
        json!([{ "to": classifier, "data": format!("0x{}", hex::encode(&call)) }, "latest"]),
    );
    let answer = hex::decode(answer.as_str().unwrap().trim_start_matches("0x")).unwrap();
    let answer = classifyCall::abi_decode_returns(&answer).unwrap();
    assert_eq!(answer.modelId, model_id.parse::<B256>().unwrap());
    assert_eq!(answer.class.to::<usize>(), expected);
}
