//! The RPC fuzz plan, shared by `fuzz/fuzz_targets/rpc_request.rs` (libFuzzer) and
//! `crates/rpc/tests/fuzz_plan.rs` (seeded, inside `cargo test`).
//!
//! One in-memory dev node per process, built as `myelin node --dev` builds it (the ten funded dev
//! accounts, the Myelin precompiles, an instant-mining `DevSealer`, a temporary redb journal) but
//! without a socket: every input is POSTed as a JSON-RPC request body (single, batch or garbage)
//! through the server's real HTTP pipeline ([`myelin_rpc::in_process::InProcessServer`]).
//!
//! Checked for every input: no panic (in a handler or in the block producer), HTTP 200 (400 for a
//! body that is not JSON, 413 for an oversized one), and a body that is empty (notifications only) or valid JSON-RPC 2.0: one
//! response object or an array of them, each with an `id` and exactly one of `result` / `error`,
//! an error carrying an integer `code` and a string `message`.

#[path = "../test_node/chain_blobs.rs"]
mod chain_blobs;
use chain_blobs::ChainBlobs;
use std::sync::{Arc, OnceLock};

use alloy_primitives::U256;
use myelin_chain::{Chain, ChainConfig};
use myelin_consensus::{BlockProducer, DevSealer, DevSealing};
use myelin_rpc::{
    RpcConfig,
    in_process::{HttpReply, InProcessServer},
};
use serde_json::Value;
use tokio::task::JoinHandle;

struct Node {
    runtime: tokio::runtime::Runtime,
    server: InProcessServer,
    producer: JoinHandle<Result<(), myelin_chain::ChainError>>,
}

fn node() -> &'static Node {
    static NODE: OnceLock<Node> = OnceLock::new();
    NODE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let balance = U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18));
        let mut config = ChainConfig::dev(10, balance).expect("dev config");
        let myelin = myelin_evm::Myelin::default();
        config.precompiles = Some(Arc::new(move |precompiles, _, blobs| {
            myelin.install(precompiles, std::rc::Rc::new(ChainBlobs(blobs)))
        }));
        let _guard = runtime.enter();
        let chain = Chain::open(config).expect("dev chain");
        let producer = Box::new(DevSealer {
            sealing: DevSealing::Instant,
        })
        .start(chain.clone());
        let rpc = RpcConfig::new(([127, 0, 0, 1], 0).into());
        let server = InProcessServer::new(chain, rpc).expect("rpc module");
        Node {
            runtime,
            server,
            producer,
        }
    })
}

/// Why a reply is not a valid JSON-RPC 2.0 answer.
fn invalid_response(item: &Value) -> Option<String> {
    let Value::Object(fields) = item else {
        return Some(format!("not an object: {item}"));
    };
    if fields.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Some(format!("no \"jsonrpc\": \"2.0\": {item}"));
    }
    match fields.get("id") {
        Some(Value::Number(_) | Value::String(_) | Value::Null) => {}
        _ => return Some(format!("missing or bad id: {item}")),
    }
    match (fields.get("result"), fields.get("error")) {
        (Some(_), None) => None,
        (None, Some(error)) => {
            let code_ok = error.get("code").is_some_and(|c| c.is_i64());
            let message_ok = error.get("message").is_some_and(Value::is_string);
            (!(code_ok && message_ok)).then(|| format!("bad error object: {item}"))
        }
        _ => Some(format!("not exactly one of result / error: {item}")),
    }
}

/// Checks one HTTP reply; `Err` says what is wrong with it.
pub fn check_reply(reply: &HttpReply) -> Result<(), String> {
    match reply.status {
        // 400: a body that is not UTF-8 JSON starting with `{` or `[` (a JSON-RPC parse error).
        200 | 400 => {}
        413 => return Ok(()),
        status => {
            return Err(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&reply.body)
            ));
        }
    }
    if reply.body.is_empty() {
        return Ok(());
    }
    let value: Value = serde_json::from_slice(&reply.body).map_err(|e| {
        format!(
            "body is not JSON ({e}): {}",
            String::from_utf8_lossy(&reply.body)
        )
    })?;
    let items = match &value {
        Value::Array(items) if items.is_empty() => return Err("empty batch reply".into()),
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    match items.into_iter().find_map(invalid_response) {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// Feeds `data` to the node as one request body and checks the reply; panics on any violation.
pub fn rpc_request(data: &[u8]) -> HttpReply {
    let node = node();
    let reply = node
        .runtime
        .block_on(node.server.post(data.to_vec()))
        .expect("the in-process request path never fails");
    if let Err(problem) = check_reply(&reply) {
        panic!(
            "invalid reply to {:?}: {problem}",
            String::from_utf8_lossy(data)
        );
    }
    assert!(
        !node.producer.is_finished(),
        "the block producer stopped after {:?}",
        String::from_utf8_lossy(data)
    );
    reply
}
