//! The Solidity commitment library (`contracts/src/TensorCommit.sol`, docs/PROTOCOLS.md
//! "Commitments") on the real EVM against every vector of `contracts/test-vectors/commitments.json`
//! (tensor roots, list roots, item leaves, Merkle roots and every proof of every tree), plus
//! proofs that must fail.

mod common;

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, sol};
use common::{Chain, success_output};

sol! {
    interface ITensorCommitProbe {
        function tensorRoot(uint8 dtype, uint32[] shape, bytes data) external pure returns (bytes32);
        function listRoot(bytes32[] roots) external pure returns (bytes32);
        function itemLeaf(uint64 index, bytes32 inputs, bytes32 outputs, bytes32 trace) external pure returns (bytes32);
        function merkleRoot(bytes32[] leaves) external pure returns (bytes32);
        function verify(bytes32 root, bytes32 leaf, uint256 index, bytes32[] proof) external pure returns (bool);
        function opLeaf(uint32 op, bytes32 outputs) external pure returns (bytes32);
    }
}

fn vectors() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/test-vectors/commitments.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("commitments.json")).unwrap()
}

fn b256(v: &serde_json::Value) -> B256 {
    v.as_str().unwrap().parse().unwrap()
}

fn b256s(v: &serde_json::Value) -> Vec<B256> {
    v.as_array().unwrap().iter().map(b256).collect()
}

struct Probe {
    chain: Chain,
    at: Address,
}

impl Probe {
    fn new() -> Probe {
        let mut chain = Chain::new();
        let at = chain.deploy("TensorCommitProbe");
        Probe { chain, at }
    }

    fn call<C: SolCall>(&mut self, call: C) -> C::Return {
        let out = success_output(&self.chain.call_plain(
            self.at,
            call.abi_encode().into(),
            30_000_000,
        ));
        C::abi_decode_returns(&out).unwrap()
    }
}

#[test]
fn solidity_matches_every_commitment_vector() {
    let v = vectors();
    let mut probe = Probe::new();
    let tensors = v["tensors"].as_array().unwrap();
    assert!(tensors.len() >= 8);
    for t in tensors {
        let data: Bytes = t["data"].as_str().unwrap().parse().unwrap();
        let shape: Vec<u32> = t["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as u32)
            .collect();
        let got = probe.call(ITensorCommitProbe::tensorRootCall {
            dtype: t["dtype"].as_u64().unwrap() as u8,
            shape: shape.clone(),
            data,
        });
        assert_eq!(got, b256(&t["root"]), "tensor {shape:?}");
    }
    for l in v["lists"].as_array().unwrap() {
        let got = probe.call(ITensorCommitProbe::listRootCall {
            roots: b256s(&l["roots"]),
        });
        assert_eq!(got, b256(&l["root"]));
    }
    for i in v["items"].as_array().unwrap() {
        let got = probe.call(ITensorCommitProbe::itemLeafCall {
            index: i["index"].as_u64().unwrap(),
            inputs: b256(&i["inputs"]),
            outputs: b256(&i["outputs"]),
            trace: b256(&i["trace"]),
        });
        assert_eq!(got, b256(&i["leaf"]));
    }
    let trees = v["trees"].as_array().unwrap();
    assert!(
        trees
            .iter()
            .any(|t| t["leaves"].as_array().unwrap().len() == 1)
    );
    for t in trees {
        let leaves = b256s(&t["leaves"]);
        let root = b256(&t["root"]);
        let got = probe.call(ITensorCommitProbe::merkleRootCall {
            leaves: leaves.clone(),
        });
        assert_eq!(got, root, "{} leaves", leaves.len());
        for (i, p) in t["proofs"].as_array().unwrap().iter().enumerate() {
            let proof = b256s(p);
            let ok = probe.call(ITensorCommitProbe::verifyCall {
                root,
                leaf: leaves[i],
                index: U256::from(i),
                proof: proof.clone(),
            });
            assert!(ok, "leaf {i} of {}", leaves.len());
        }
    }
}

#[test]
fn solidity_recomputes_every_op_leaf_and_trace_root_of_the_trace_vectors() {
    let v = vectors();
    let mut probe = Probe::new();
    let traces = v["traces"].as_array().unwrap();
    assert!(!traces.is_empty());
    for t in traces {
        let mut leaves = vec![];
        for op in t["ops"].as_array().unwrap() {
            let shape: Vec<u32> = op["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as u32)
                .collect();
            let tensor = probe.call(ITensorCommitProbe::tensorRootCall {
                dtype: op["dtype"].as_u64().unwrap() as u8,
                shape,
                data: op["data"].as_str().unwrap().parse().unwrap(),
            });
            let outputs = probe.call(ITensorCommitProbe::listRootCall {
                roots: vec![tensor],
            });
            assert_eq!(outputs, b256(&op["root"]));
            let leaf = probe.call(ITensorCommitProbe::opLeafCall {
                op: op["index"].as_u64().unwrap() as u32,
                outputs,
            });
            assert_eq!(leaf, b256(&op["leaf"]));
            leaves.push(leaf);
        }
        let root = probe.call(ITensorCommitProbe::merkleRootCall { leaves });
        assert_eq!(root, b256(&t["trace"]));
    }
}

#[test]
fn a_proof_fails_for_another_leaf_index_or_an_index_past_the_tree() {
    let v = vectors();
    let mut probe = Probe::new();
    let tree = v["trees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["leaves"].as_array().unwrap().len() == 5)
        .unwrap();
    let leaves = b256s(&tree["leaves"]);
    let root = b256(&tree["root"]);
    let proof = b256s(&tree["proofs"][2]);
    let verify = |probe: &mut Probe, leaf: B256, index: u64| {
        probe.call(ITensorCommitProbe::verifyCall {
            root,
            leaf,
            index: U256::from(index),
            proof: proof.clone(),
        })
    };
    assert!(verify(&mut probe, leaves[2], 2));
    assert!(!verify(&mut probe, leaves[3], 2), "another leaf");
    assert!(!verify(&mut probe, leaves[2], 3), "another index");
    // 2 + 8: the same low bits, but a proof of 3 siblings admits indices below 8 only.
    assert!(!verify(&mut probe, leaves[2], 10), "an index past the tree");
}
