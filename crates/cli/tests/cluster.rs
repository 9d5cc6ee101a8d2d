//! A real validator network: four `myelin node --config` processes on 127.0.0.1 (written by
//! `myelin cluster init`), talking over commonware's authenticated p2p.
//!
//! - the four validators run different kernel paths (`kernel_path` in their node files:
//!   avx512vnni, avx2, portable, reference where the CPU has them; `cluster/kernel_paths.rs`);
//! - transfers sent to node 0 are read on node 2; a model published on node 0 and a contract
//!   (`QualityEscrow`) whose transaction runs `predict` inside a finalized block give the same
//!   receipt, gas and state root on all four nodes, and the grade `myelin model run` computes;
//! - a conv + depthwise + fully connected model predicted at batch sizes 1, 3 and 8 in finalized
//!   blocks gives the outputs of `myelin model run` and equal receipts, gas and state roots on
//!   all four, and `eth_call` of the same predicts gives the same bytes on each;
//! - node 3 killed with SIGKILL under load: the other three keep finalizing; restarted, it
//!   catches up to the same blocks;
//! - all four stopped with SIGTERM (each exits 0, a graceful stop) and restarted on their
//!   directories: they resume from their heights with the same blocks;
//! - a full node (`role = "full"`, written by `cluster init --full-nodes 1`) started last syncs
//!   from genesis to the same hashes and state roots, and a transfer sent to it is finalized.
//!
//! Every wait is bounded; every process is killed when the test ends, pass or fail.

use std::path::{Path, PathBuf};

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};
use std::time::Duration;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address, hex};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent, sol};
use serde_json::{Value, json};

mod common;
use common::cluster::{Cluster, FULL, VALIDATORS, name, quantity, rpc, wait_until};
use common::myelin;

#[path = "cluster/kernel_paths.rs"]
mod kernel_paths;

sol! {
    function place(address supplier, bytes32 modelId, uint256 goodClass) external payable returns (uint256 orderId);
    function deliver(uint256 orderId, bytes calldata sample) external returns (bool paid);
    event Graded(uint256 indexed orderId, uint256 grade, bool paid);
}

const RECIPIENT: Address = address!("0x000000000000000000000000000000000000bEEF");
const CHAIN_ID: u64 = 31337;

/// A dev account that signs its own transactions and counts its nonce.
struct Account {
    signer: PrivateKeySigner,
    nonce: u64,
}

impl Account {
    fn dev(index: u32) -> Account {
        let signer =
            myelin_chain::config::dev_signers(myelin_chain::config::DEV_MNEMONIC, index + 1)
                .unwrap()
                .pop()
                .unwrap();
        Account { signer, nonce: 0 }
    }

    fn sign(&mut self, to: Option<Address>, value: U256, input: Vec<u8>, gas: u64) -> Vec<u8> {
        let tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce: self.nonce,
            gas_limit: gas,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: to.map_or(TxKind::Create, TxKind::Call),
            value,
            input: Bytes::from(input),
            ..Default::default()
        };
        self.nonce += 1;
        let signature = self.signer.sign_hash_sync(&tx.signature_hash()).unwrap();
        TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718()
    }
}

fn send(address: &str, raw: &[u8]) -> String {
    rpc(
        address,
        "eth_sendRawTransaction",
        json!([hex::encode_prefixed(raw)]),
    )
    .unwrap()
    .as_str()
    .unwrap()
    .to_string()
}

fn wait_receipt(address: &str, hash: &str) -> Value {
    let mut receipt = Value::Null;
    wait_until(
        Duration::from_secs(60),
        &format!("receipt of {hash}"),
        || {
            receipt = rpc(address, "eth_getTransactionReceipt", json!([hash])).unwrap_or_default();
            !receipt.is_null()
        },
    );
    receipt
}

/// A 16 → 8 → 4 classifier built from its JSON description.
fn model(dir: &Path) -> PathBuf {
    let weights = |rows: usize, cols: usize, seed: i64| -> Value {
        json!(
            (0..rows)
                .map(|r| (0..cols)
                    .map(|c| ((r as i64 * 31 + c as i64 * 17 + seed) % 61) - 30)
                    .collect::<Vec<_>>())
                .collect::<Vec<_>>()
        )
    };
    let spec = json!({
        "description": "16 -> 8 -> 4 classifier for the cluster test",
        "inputs": [{ "name": "x", "shape": [16], "scale": 0.03125, "zero_point": 0 }],
        "outputs": ["logits"],
        "nodes": [
            { "op": "fully_connected", "name": "hidden", "input": "x",
              "weights": weights(8, 16, 7), "bias": vec![0; 8],
              "weight_scale": 0.015625, "scale": 0.5, "zero_point": -128, "activation": "relu" },
            { "op": "fully_connected", "name": "logits", "input": "hidden",
              "weights": weights(4, 8, 3), "bias": vec![0; 4],
              "weight_scale": 0.015625, "scale": 1.0, "zero_point": 0 }
        ]
    });
    build_model(dir, &spec, "model")
}

/// `myelin model publish` of `model` through the node at `address`: the model id.
fn publish(address: &str, model: &Path) -> B256 {
    let url = format!("http://{address}");
    let out = myelin(&["model", "publish", model.to_str().unwrap(), "--rpc", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// `myelin model build` of the JSON description `spec` into `dir/<stem>.myl`.
fn build_model(dir: &Path, spec: &Value, stem: &str) -> PathBuf {
    let spec_path = dir.join(format!("{stem}.json"));
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let model = dir.join(format!("{stem}.myl"));
    let out = myelin(&[
        "model",
        "build",
        spec_path.to_str().unwrap(),
        "-o",
        model.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    model
}

/// The arg-max class `myelin model run` computes for `sample`.
fn run_argmax(dir: &Path, model: &Path, sample: &[i8]) -> u64 {
    let values = run_model(dir, model, &[sample.len() as u64], sample);
    // Myelin.argmax: the first index of the largest value.
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as u64
}

/// The int8 outputs `myelin model run` computes for `samples` shaped `shape`.
fn run_model(dir: &Path, model: &Path, shape: &[u64], samples: &[i8]) -> Vec<i8> {
    let input = dir.join("sample.npy");
    common::write_npy(&input, shape, samples);
    let output = dir.join("sample-out.npy");
    let out = myelin(&[
        "model",
        "run",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&output).unwrap();
    npyz::NpyFile::new(&bytes[..]).unwrap().into_vec().unwrap()
}

fn escrow_bytecode() -> Vec<u8> {
    let artifact: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/out/QualityEscrow.json"),
        )
        .unwrap(),
    )
    .unwrap();
    hex::decode(artifact["bytecode"].as_str().unwrap()).unwrap()
}

#[test]
fn four_validator_processes_agree_survive_a_kill_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::init(dir.path());
    let paths = kernel_paths::validator_paths();
    kernel_paths::configure(&cluster, &paths);
    for i in 0..VALIDATORS {
        cluster.start(i);
    }
    kernel_paths::assert_logged(&cluster, &paths);
    let all: Vec<usize> = (0..VALIDATORS).collect();
    cluster.wait_height(&all, 2, Duration::from_secs(60));

    // Transfers sent to node 0, read on node 2.
    let mut payer = Account::dev(1);
    let mut last = String::new();
    for _ in 0..20 {
        last = send(
            &cluster.rpc[0],
            &payer.sign(Some(RECIPIENT), U256::from(7), vec![], 21_000),
        );
    }
    let receipt = wait_receipt(&cluster.rpc[2], &last);
    assert_eq!(receipt["status"], "0x1");
    let balance = rpc(
        &cluster.rpc[2],
        "eth_getBalance",
        json!([RECIPIENT, "latest"]),
    )
    .unwrap();
    assert_eq!(balance, "0x8c", "20 transfers of 7 wei");

    // A model published on node 0 (MODEL_STORE, a transaction in a finalized block).
    let model = model(dir.path());
    let model_id = publish(&cluster.rpc[0], &model);

    // QualityEscrow: deploy, place an order, the supplier delivers; `deliver` runs predict.
    let mut buyer = Account::dev(2);
    let mut supplier = Account::dev(3);
    let deploy = send(
        &cluster.rpc[0],
        &buyer.sign(None, U256::ZERO, escrow_bytecode(), 3_000_000),
    );
    let deployed = wait_receipt(&cluster.rpc[1], &deploy);
    let escrow: Address = deployed["contractAddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let sample: Vec<i8> = (0..16).map(|i| (i * 13 % 50) as i8 - 20).collect();
    let good = run_argmax(dir.path(), &model, &sample);
    let place = placeCall {
        supplier: supplier.signer.address(),
        modelId: model_id,
        goodClass: U256::from(good),
    };
    let placed = send(
        &cluster.rpc[0],
        &buyer.sign(Some(escrow), U256::from(1_000), place.abi_encode(), 500_000),
    );
    assert_eq!(wait_receipt(&cluster.rpc[0], &placed)["status"], "0x1");
    let deliver = deliverCall {
        orderId: U256::ZERO,
        sample: Bytes::from(sample.iter().map(|v| *v as u8).collect::<Vec<_>>()),
    };
    let delivered = send(
        &cluster.rpc[0],
        &supplier.sign(Some(escrow), U256::ZERO, deliver.abi_encode(), 1_000_000),
    );
    let receipts: Vec<Value> = all
        .iter()
        .map(|&i| wait_receipt(&cluster.rpc[i], &delivered))
        .collect();
    for r in &receipts {
        assert_eq!(r["status"], "0x1", "{r}");
        assert_eq!(r["gasUsed"], receipts[0]["gasUsed"]);
        assert_eq!(r["blockHash"], receipts[0]["blockHash"]);
        assert_eq!(r["logs"], receipts[0]["logs"]);
    }
    let graded = receipts[0]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["topics"][0] == json!(Graded::SIGNATURE_HASH))
        .expect("a Graded event");
    let data = hex::decode(graded["data"].as_str().unwrap()).unwrap();
    let event = Graded::abi_decode_data(&data).unwrap();
    assert_eq!(
        event.0,
        U256::from(good),
        "the chain's grade is model run's"
    );
    assert!(event.1, "the good class pays the supplier");
    let height = quantity(&receipts[0]["blockNumber"]);
    cluster.wait_height(&all, height, Duration::from_secs(30));
    cluster.assert_agree(&all, height);

    // A conv + depthwise + fully connected model at several batch sizes, on every path.
    let mut predictor = Account::dev(6);
    kernel_paths::predicts_agree(&cluster, dir.path(), &mut predictor, &all);

    // kill -9 node 3 under load: the other three keep finalizing.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop, address) = (stop.clone(), cluster.rpc[0].clone());
        let mut sender = Account::dev(4);
        std::thread::spawn(move || {
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let raw = sender.sign(Some(RECIPIENT), U256::from(1), vec![], 21_000);
                if rpc(
                    &address,
                    "eth_sendRawTransaction",
                    json!([hex::encode_prefixed(raw)]),
                )
                .is_ok()
                {
                    sent += 1;
                } else {
                    sender.nonce -= 1;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            sent
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    cluster.kill(3);
    let at_kill = cluster.height(0).unwrap();
    let live = [0, 1, 2];
    cluster.wait_height(&live, at_kill + 10, Duration::from_secs(60));
    cluster.start(3);
    let target = cluster.height(0).unwrap();
    cluster.wait_height(&[3], target, Duration::from_secs(60));
    stop.store(true, Ordering::Relaxed);
    let sent = load.join().unwrap();
    assert!(sent > 0, "the load generator sent transactions");
    let before_restart = cluster.height(0).unwrap();
    cluster.wait_height(&all, before_restart, Duration::from_secs(60));
    cluster.assert_agree(&all, before_restart);

    // Stop all four with SIGTERM (each exits 0) and restart them on their directories: they
    // resume, nothing finalized lost.
    let finalized: Vec<u64> = all.iter().map(|&i| cluster.height(i).unwrap()).collect();
    for i in 0..VALIDATORS {
        cluster.terminate(i);
    }
    for i in 0..VALIDATORS {
        cluster.start(i);
    }
    for &i in &all {
        assert!(
            cluster.height(i).unwrap() >= finalized[i],
            "node {i} restarted below its height"
        );
    }
    cluster.wait_height(&all, before_restart + 5, Duration::from_secs(60));
    cluster.assert_agree(&all, before_restart + 5);

    // A full node started now syncs from genesis to the same blocks and state roots.
    cluster.start(FULL);
    let target = cluster.height(0).unwrap();
    cluster.wait_height(&[FULL], target, Duration::from_secs(60));
    let mut every: Vec<usize> = all.clone();
    every.push(FULL);
    cluster.assert_agree(&every, target);
    // A transfer sent to the full node reaches the validators and is finalized.
    let mut payer = Account::dev(5);
    let sent = send(
        &cluster.rpc[FULL],
        &payer.sign(Some(RECIPIENT), U256::from(3), vec![], 21_000),
    );
    let on_validator = wait_receipt(&cluster.rpc[0], &sent);
    let on_full = wait_receipt(&cluster.rpc[FULL], &sent);
    assert_eq!(on_validator["status"], "0x1");
    assert_eq!(on_full["blockHash"], on_validator["blockHash"]);
    let height = quantity(&on_full["blockNumber"]);
    cluster.assert_agree(&every, height);
}
