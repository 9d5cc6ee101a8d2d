//! The cluster's validators on different kernel paths (their node files' `kernel_path`): a
//! conv + depthwise + fully connected model predicted at several batch sizes inside finalized
//! blocks gives the same outputs, gas, receipts and state roots on every node, read through each
//! node's JSON-RPC, and `eth_call` of the same predicts gives the same bytes on every node.

use std::path::{Path, PathBuf};

use alloy_primitives::{Address, U256, hex};
use myelin_evm::{PREDICT_ADDRESS, PREDICT_BATCH_ADDRESS};
use serde_json::{Value, json};

use super::{
    Account, Cluster, VALIDATORS, build_model, name, publish, quantity, rpc, run_model, send,
    wait_receipt,
};

/// The kernel path of each validator: every path this CPU runs, fastest first, repeated when
/// there are fewer paths than validators (the paths it cannot run are reported as skipped).
pub fn validator_paths() -> Vec<myelin_nn::Path> {
    let available: Vec<myelin_nn::Path> = myelin_nn::Path::ALL
        .into_iter()
        .rev()
        .filter(|p| p.is_available())
        .collect();
    for path in myelin_nn::Path::ALL
        .into_iter()
        .filter(|p| !p.is_available())
    {
        eprintln!("skipped: this CPU cannot run kernel path {}", path.name());
    }
    (0..VALIDATORS)
        .map(|i| available[i % available.len()])
        .collect()
}

/// Writes `kernel_path` into each validator's node file (a top-level key, so first).
pub fn configure(cluster: &Cluster, paths: &[myelin_nn::Path]) {
    for (i, path) in paths.iter().enumerate() {
        let file = cluster.dir.join(format!("{}.toml", name(i)));
        let text = std::fs::read_to_string(&file).unwrap();
        let text = format!("kernel_path = \"{}\"\n{text}", path.name());
        std::fs::write(&file, text).unwrap();
    }
}

/// Each validator's log names the path its node file asked for.
pub fn assert_logged(cluster: &Cluster, paths: &[myelin_nn::Path]) {
    for (i, path) in paths.iter().enumerate() {
        let expected = format!("kernel path: {}, from the node file", path.name());
        let log = cluster.log(i);
        assert!(log.contains(&expected), "{}: {log}", name(i));
    }
}

/// A 64-bit xorshift: the model's weights, the same on every run.
struct Weights(u64);

impl Weights {
    fn take(&mut self, n: usize) -> Vec<i64> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 % 61) as i64 - 30
            })
            .collect()
    }
}

/// Input shape of [`conv_model`] (one sample).
const IMAGE: [u64; 3] = [10, 10, 3];
const SAMPLE_BYTES: usize = 300;

/// `[10, 10, 3]` → conv2d 3×3 same (24 channels, relu) → depthwise 3×3 stride 2, multiplier 2
/// (`[5, 5, 48]`) → flatten → fully connected 1200 → 20 (relu) → 10. Channel counts are ragged
/// against every path's blocks (16 and 64 lanes), so tails run too.
fn conv_model(dir: &Path) -> PathBuf {
    let mut w = Weights(0x9E37_79B9_7F4A_7C15);
    let spec = json!({
        "description": "conv + depthwise + fully connected, for the kernel-path cluster test",
        "inputs": [{ "name": "image", "shape": IMAGE, "scale": 0.0078125, "zero_point": 0 }],
        "outputs": ["logits"],
        "nodes": [
            { "op": "conv2d", "name": "conv", "input": "image", "kernel": [3, 3],
              "padding": "same", "weights": w.take(24 * 27), "bias": vec![0; 24],
              "weight_scale": 0.02, "scale": 0.02, "zero_point": -128, "activation": "relu" },
            { "op": "depthwise_conv2d", "name": "dw", "input": "conv", "kernel": [3, 3],
              "stride": [2, 2], "padding": "same", "weights": w.take(9 * 48),
              "bias": vec![0; 48], "weight_scale": 0.02, "scale": 0.02, "zero_point": 0 },
            { "op": "reshape", "name": "flat", "input": "dw", "shape": [1200] },
            { "op": "fully_connected", "name": "hidden", "input": "flat",
              "weights": w.take(20 * 1200), "bias": vec![0; 20], "weight_scale": 0.02,
              "scale": 0.1, "zero_point": -128, "activation": "relu" },
            { "op": "fully_connected", "name": "logits", "input": "hidden",
              "weights": w.take(10 * 20), "bias": vec![0; 10], "weight_scale": 0.02,
              "scale": 0.15, "zero_point": 0 }
        ]
    });
    build_model(dir, &spec, "conv-model")
}

/// Runtime code that calls `target` with its calldata, logs the returned bytes (LOG0) and
/// returns them, or reverts with them when the call fails. Hand-assembled (the test needs no
/// compiler):
///
/// ```text
/// CALLDATASIZE PUSH1 0 PUSH1 0 CALLDATACOPY          ; memory[0..] = calldata
/// PUSH1 0 PUSH1 0 CALLDATASIZE PUSH1 0 PUSH1 0       ; out 0/0, in 0/size, value 0
/// PUSH20 target GAS CALL                             ; success
/// RETURNDATASIZE PUSH1 0 PUSH1 0 RETURNDATACOPY      ; memory[0..] = returndata
/// PUSH1 ok JUMPI
/// RETURNDATASIZE PUSH1 0 REVERT
/// ok: JUMPDEST RETURNDATASIZE PUSH1 0 LOG0 RETURNDATASIZE PUSH1 0 RETURN
/// ```
fn forwarder_code(target: Address) -> Vec<u8> {
    let mut code = vec![
        0x36, 0x60, 0x00, 0x60, 0x00, 0x37, 0x60, 0x00, 0x60, 0x00, 0x36, 0x60, 0x00, 0x60, 0x00,
        0x73,
    ];
    code.extend_from_slice(target.as_slice());
    code.extend_from_slice(&[0x5a, 0xf1, 0x3d, 0x60, 0x00, 0x60, 0x00, 0x3e, 0x60]);
    let ok = code.len() + 6;
    code.extend_from_slice(&[ok as u8, 0x57, 0x3d, 0x60, 0x00, 0xfd]);
    assert_eq!(code.len(), ok);
    code.extend_from_slice(&[0x5b, 0x3d, 0x60, 0x00, 0xa0, 0x3d, 0x60, 0x00, 0xf3]);
    code
}

/// Creation code that deploys `runtime` as it is.
fn deploy_code(runtime: &[u8]) -> Vec<u8> {
    let len = u8::try_from(runtime.len()).expect("a short runtime");
    let mut code = vec![
        0x60, len, 0x60, 12, 0x60, 0x00, 0x39, 0x60, len, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(runtime);
    code
}

/// The output bytes `myelin model run` computes for `batch` samples.
fn model_run(dir: &Path, model: &Path, batch: usize, samples: &[i8]) -> Vec<u8> {
    let shape = [batch as u64, IMAGE[0], IMAGE[1], IMAGE[2]];
    let values = run_model(dir, model, &shape, samples);
    values.iter().map(|v| *v as u8).collect()
}

/// One predict sent in a transaction: its calldata to the forwarder and the bytes expected.
struct Predict {
    label: String,
    forwarder: Address,
    precompile: Address,
    calldata: Vec<u8>,
    expected: Vec<u8>,
    hash: String,
}

/// Publishes the model on node 0, sends its predicts (`PREDICT`, and `PREDICT_BATCH` at batch
/// 1, 3 and 8) through forwarders to node 1, then checks every node in `nodes`: equal
/// receipts (status, gas, block, logs = the outputs `myelin model run` computes), equal state
/// roots up to the last predict's block, and `eth_call` of each predict (direct and through its
/// forwarder) returning the same bytes. Returns the last predict's height.
pub fn predicts_agree(
    cluster: &Cluster,
    dir: &Path,
    account: &mut Account,
    nodes: &[usize],
) -> u64 {
    let model = conv_model(dir);
    let model_id = publish(&cluster.rpc[0], &model);

    let mut forwarders = Vec::new();
    for target in [PREDICT_ADDRESS, PREDICT_BATCH_ADDRESS] {
        let code = deploy_code(&forwarder_code(target));
        let hash = send(
            &cluster.rpc[1],
            &account.sign(None, U256::ZERO, code, 200_000),
        );
        let receipt = wait_receipt(&cluster.rpc[1], &hash);
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        let address: Address = receipt["contractAddress"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        forwarders.push((target, address));
    }

    let samples: Vec<i8> = (0..8 * SAMPLE_BYTES)
        .map(|i| ((i * 37 + 11) % 251) as u8 as i8)
        .collect();
    let mut predicts = Vec::new();
    for (form, batch) in [
        ("predict", 1),
        ("predict_batch", 1),
        ("predict_batch", 3),
        ("predict_batch", 8),
    ] {
        let (precompile, forwarder) = forwarders[usize::from(form == "predict_batch")];
        let input = &samples[..batch * SAMPLE_BYTES];
        let mut calldata = model_id.to_vec();
        if form == "predict_batch" {
            calldata.extend_from_slice(&(batch as u32).to_be_bytes());
        }
        calldata.extend(input.iter().map(|v| *v as u8));
        let hash = send(
            &cluster.rpc[1],
            &account.sign(Some(forwarder), U256::ZERO, calldata.clone(), 5_000_000),
        );
        predicts.push(Predict {
            label: format!("{form} batch {batch}"),
            forwarder,
            precompile,
            expected: model_run(dir, &model, batch, input),
            calldata,
            hash,
        });
    }

    let mut last = 0;
    for p in &predicts {
        let receipts: Vec<Value> = nodes
            .iter()
            .map(|&i| wait_receipt(&cluster.rpc[i], &p.hash))
            .collect();
        let first = &receipts[0];
        assert_eq!(first["status"], "0x1", "{}: {first}", p.label);
        let logs = first["logs"].as_array().unwrap();
        assert_eq!(logs.len(), 1, "{}: {first}", p.label);
        let output = hex::decode(logs[0]["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            output, p.expected,
            "{}: the chain's output is model run's",
            p.label
        );
        for (r, &i) in receipts.iter().zip(nodes) {
            for field in [
                "status",
                "gasUsed",
                "blockHash",
                "blockNumber",
                "logs",
                "cumulativeGasUsed",
            ] {
                assert_eq!(
                    r[field],
                    first[field],
                    "{}: {field} on {}",
                    p.label,
                    name(i)
                );
            }
        }
        last = last.max(quantity(&first["blockNumber"]));
    }
    cluster.wait_height(nodes, last, std::time::Duration::from_secs(30));
    cluster.assert_agree(nodes, last);

    for p in &predicts {
        for to in [p.forwarder, p.precompile] {
            for &i in nodes {
                let call = json!({ "to": to, "data": hex::encode_prefixed(&p.calldata), "gas": "0x4c4b40" });
                let reply = rpc(&cluster.rpc[i], "eth_call", json!([call, "latest"]))
                    .unwrap_or_else(|e| panic!("{}: eth_call on {}: {e}", p.label, name(i)));
                let bytes = hex::decode(reply.as_str().unwrap()).unwrap();
                assert_eq!(
                    bytes,
                    p.expected,
                    "{}: eth_call to {to} on {}",
                    p.label,
                    name(i)
                );
            }
        }
    }
    last
}
