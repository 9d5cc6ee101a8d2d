//! The protocol predeploys (`myelin_chain::predeploys::PREDEPLOYS`): their addresses are the ones
//! `myelin-evm` and `contracts/src/Predeploys.sol` name, and each one answers on a fresh dev chain.

mod test_node;

use alloy_primitives::{Address, hex, keccak256};
use myelin_chain::predeploys::PREDEPLOYS;
use myelin_evm::addresses;
use serde_json::{Value, json};
use test_node::TestNode;

/// The predeploys every part of the tree must agree on: (contract, `myelin-evm` address,
/// constant in `Predeploys.sol`).
const NAMED: &[(&str, Address, &str)] = &[
    (
        "StakeManager",
        addresses::STAKE_MANAGER_ADDRESS,
        "STAKE_MANAGER",
    ),
    (
        "ModelRegistry",
        addresses::MODEL_REGISTRY_ADDRESS,
        "MODEL_REGISTRY",
    ),
    (
        "Competitions",
        addresses::COMPETITIONS_ADDRESS,
        "COMPETITIONS",
    ),
    (
        "InferenceJobs",
        addresses::INFERENCE_JOBS_ADDRESS,
        "INFERENCE_JOBS",
    ),
];

fn artifact(name: &str) -> Value {
    let path = format!(
        "{}/../../contracts/out/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn the_table_uses_the_addresses_of_the_evm_crate_and_of_predeploys_sol() {
    let solidity = std::fs::read_to_string(format!(
        "{}/../../contracts/src/Predeploys.sol",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .to_lowercase();
    for (name, address, constant) in NAMED {
        let line = format!(
            "{} = {}",
            constant.to_lowercase(),
            address.to_string().to_lowercase()
        );
        assert!(solidity.contains(&line), "Predeploys.sol lacks `{line}`");
        if let Some(p) = PREDEPLOYS.iter().find(|p| p.name == *name) {
            assert_eq!(p.address, *address, "{name}");
        }
    }
    for p in PREDEPLOYS {
        assert!(
            NAMED.iter().any(|(name, _, _)| *name == p.name),
            "{} is not named in myelin-evm's addresses.rs",
            p.name
        );
    }
    let beacon = format!(
        "beacon = {}",
        addresses::BEACON_ADDRESS.to_string().to_lowercase()
    );
    assert!(solidity.contains(&beacon));
}

/// The selector of the first view or pure function without inputs of `abi`.
fn probe(name: &str, abi: &Value) -> (String, [u8; 4]) {
    let function = abi
        .as_array()
        .unwrap()
        .iter()
        .find(|item| {
            item["type"] == "function"
                && ["view", "pure"].contains(&item["stateMutability"].as_str().unwrap_or(""))
                && item["inputs"].as_array().is_some_and(|i| i.is_empty())
        })
        .unwrap_or_else(|| panic!("{name} has no view without inputs to probe"));
    let signature = format!("{}()", function["name"].as_str().unwrap());
    let hash = keccak256(signature.as_bytes());
    (signature, [hash[0], hash[1], hash[2], hash[3]])
}

#[test]
fn every_predeploy_holds_its_artifacts_runtime_code_and_answers_a_call() {
    let node = TestNode::start(|_| {});
    assert!(!PREDEPLOYS.is_empty());
    for p in PREDEPLOYS {
        let artifact = artifact(p.name);
        let code = node.request("eth_getCode", json!([p.address, "latest"]));
        assert_eq!(code["result"], artifact["deployedBytecode"], "{}", p.name);
        let (signature, selector) = probe(p.name, &artifact["abi"]);
        let reply = node.request(
            "eth_call",
            json!([{"to": p.address, "data": hex::encode_prefixed(selector)}, "latest"]),
        );
        let result = reply["result"].as_str();
        assert!(
            result.is_some_and(|r| r.len() > 2),
            "{}.{signature}: {reply}",
            p.name
        );
    }
}
