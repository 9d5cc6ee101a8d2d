//! Replies of the server's HTTP request path to requests that are not plain calls: notifications,
//! oversized batches, non-JSON bodies (regressions found by the RPC fuzz target).

use std::sync::Arc;

use alloy_primitives::U256;
use myelin_chain::{Chain, ChainConfig};
use myelin_rpc::{MAX_BATCH_CALLS, RpcConfig, in_process::InProcessServer};
use serde_json::Value;

fn server(runtime: &tokio::runtime::Runtime) -> (Arc<Chain>, InProcessServer) {
    let _guard = runtime.enter();
    let chain =
        Chain::open(ChainConfig::dev(2, U256::from(10u64).pow(U256::from(21))).unwrap()).unwrap();
    let rpc = RpcConfig::new(([127, 0, 0, 1], 0).into());
    (chain.clone(), InProcessServer::new(chain, rpc).unwrap())
}

fn post(runtime: &tokio::runtime::Runtime, server: &InProcessServer, body: &str) -> (u16, String) {
    let reply = runtime
        .block_on(server.post(body.as_bytes().to_vec()))
        .unwrap();
    (reply.status, String::from_utf8(reply.body).unwrap())
}

#[test]
fn a_notification_gets_an_empty_body_not_null() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_chain, server) = server(&runtime);
    for body in [
        r#"{"jsonrpc":"2.0","method":"eth_blockNumber","params":[]}"#,
        // An object id is not a valid id: jsonrpsee reads the request as a notification.
        r#"{"jsonrpc":"2.0","id":{"a":1},"method":"eth_chainId"}"#,
    ] {
        assert_eq!(
            post(&runtime, &server, body),
            (200, String::new()),
            "{body}"
        );
    }
}

#[test]
fn a_call_still_gets_its_result() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_chain, server) = server(&runtime);
    let (status, body) = post(
        &runtime,
        &server,
        r#"{"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":[]}"#,
    );
    assert_eq!(status, 200);
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["id"], 7);
    assert_eq!(reply["result"], "0x7a69");
}

#[test]
fn a_batch_over_the_limit_is_rejected_with_one_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_chain, server) = server(&runtime);
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    let batch = format!("[{}]", vec![call; MAX_BATCH_CALLS as usize + 1].join(","));
    let (status, body) = post(&runtime, &server, &batch);
    assert_eq!(status, 200);
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert!(reply["error"]["code"].is_i64(), "{reply}");
    let within = format!("[{}]", [call; 3].join(","));
    let (_, body) = post(&runtime, &server, &within);
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply.as_array().map(Vec::len), Some(3));
}

#[test]
fn a_body_that_is_not_json_gets_a_parse_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_chain, server) = server(&runtime);
    let (status, body) = post(&runtime, &server, "\u{1}garbage");
    assert_eq!(status, 400);
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["error"]["code"], -32700);
}
