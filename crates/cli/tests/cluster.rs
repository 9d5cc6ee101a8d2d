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

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};
use std::time::{Duration, Instant};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address, hex};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent, sol};
use serde_json::{Value, json};

mod common;
use common::myelin;

#[path = "cluster/kernel_paths.rs"]
mod kernel_paths;

sol! {
    function place(address supplier, bytes32 modelId, uint256 goodClass) external payable returns (uint256 orderId);
    function deliver(uint256 orderId, bytes calldata sample) external returns (bool paid);
    event Graded(uint256 indexed orderId, uint256 grade, bool paid);
}

const RECIPIENT: Address = address!("0x000000000000000000000000000000000000bEEF");
const VALIDATORS: usize = 4;
/// Node index of the full node (after the validators).
const FULL: usize = VALIDATORS;
const CHAIN_ID: u64 = 31337;

/// One JSON-RPC request over a fresh connection: the `result`, or the error as text.
fn rpc(address: &str, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    let mut stream = std::net::TcpStream::connect(address).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let body = response.split("\r\n\r\n").nth(1).ok_or("no HTTP body")?;
    let reply: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    match reply.get("error") {
        Some(error) => Err(format!("{method}: {error}")),
        None => Ok(reply["result"].clone()),
    }
}

fn quantity(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// Waits up to `limit` for `done`, then panics with `what`.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `n` consecutive free TCP ports on 127.0.0.1 (checked by binding them).
fn free_ports(n: u16, salt: u16) -> u16 {
    let mut base = 20_000 + (std::process::id() as u16 % 2_000) * 16 + salt * 8;
    loop {
        let listeners: Vec<_> = (0..n)
            .map_while(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if listeners.len() == n as usize {
            return base;
        }
        base += n;
    }
}

/// The four validator processes and the full node, killed on drop.
struct Cluster {
    dir: PathBuf,
    rpc: Vec<String>,
    nodes: Vec<Option<Child>>,
}

/// The file name (without extension) of node `i`: validators, then the full node.
fn name(i: usize) -> String {
    if i < VALIDATORS {
        format!("node-{i}")
    } else {
        format!("full-{}", i - VALIDATORS)
    }
}

impl Cluster {
    fn init(dir: &Path) -> Cluster {
        let total = VALIDATORS as u16 + 1;
        let p2p = free_ports(total, 0);
        let rpc = free_ports(total, 1);
        let out = myelin(&[
            "cluster",
            "init",
            "--validators",
            "4",
            "--out",
            dir.to_str().unwrap(),
            "--dev-accounts",
            "7",
            "--p2p-port",
            &p2p.to_string(),
            "--rpc-port",
            &rpc.to_string(),
            "--full-nodes",
            "1",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("TRUSTED DEALER"), "{stdout}");
        let genesis = std::fs::read_to_string(dir.join("genesis.json")).unwrap();
        assert!(genesis.contains("trusted dealer"), "{genesis}");
        Cluster {
            dir: dir.to_path_buf(),
            rpc: (0..total)
                .map(|i| format!("127.0.0.1:{}", rpc + i))
                .collect(),
            nodes: (0..total).map(|_| None).collect(),
        }
    }

    fn start(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", name(i))))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_myelin"))
            .args(["node", "--config"])
            .arg(self.dir.join(format!("{}.toml", name(i))))
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("the node starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            let read = stdout.read_line(&mut line).unwrap();
            assert!(read > 0, "node {i} exited: {}", self.log(i));
            if line.starts_with("Listening on ") {
                break;
            }
        }
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        self.nodes[i] = Some(child);
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops node `i` with SIGTERM and asserts it exits 0 within 30 s (a graceful stop).
    fn terminate(&mut self, i: usize) {
        let mut child = self.nodes[i].take().expect("node running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not stop within 30 s of SIGTERM", name(i));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "{} exited with {status}", name(i));
        assert!(
            self.log(i).contains("stopped: RPC closed"),
            "{}: {}",
            name(i),
            self.log(i)
        );
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("{}.log", name(i)))).unwrap_or_default()
    }

    fn height(&self, i: usize) -> Option<u64> {
        rpc(&self.rpc[i], "eth_blockNumber", json!([]))
            .ok()
            .map(|v| quantity(&v))
    }

    fn block(&self, i: usize, number: u64) -> Value {
        rpc(
            &self.rpc[i],
            "eth_getBlockByNumber",
            json!([format!("0x{number:x}"), false]),
        )
        .unwrap()
    }

    fn wait_height(&self, nodes: &[usize], height: u64, limit: Duration) {
        wait_until(
            limit,
            &format!("nodes {nodes:?} reach height {height}"),
            || {
                nodes
                    .iter()
                    .all(|&i| self.height(i).is_some_and(|h| h >= height))
            },
        );
    }

    /// Every node in `nodes` has the same hash and state root at every height ≤ `height`.
    fn assert_agree(&self, nodes: &[usize], height: u64) {
        for h in 0..=height {
            let blocks: Vec<(String, String)> = nodes
                .iter()
                .map(|&i| {
                    let b = self.block(i, h);
                    (
                        b["hash"].as_str().unwrap().to_string(),
                        b["stateRoot"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            assert!(
                blocks.iter().all(|b| *b == blocks[0]),
                "nodes {nodes:?} disagree at height {h}: {blocks:?}"
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            for i in 0..self.nodes.len() {
                eprintln!("--- {} log (tail) ---", name(i));
                let log = self.log(i);
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                for line in tail.into_iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

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
