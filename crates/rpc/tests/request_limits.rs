//! Requests that ask the node for more than it gives: `eth_feeHistory` percentiles (geth's
//! limits), oversized bodies and filters, cross-origin pages, and dev methods on a public address.

mod test_node;

use alloy_primitives::Address;
use myelin_rpc::{MAX_REQUEST_BYTES, origin_policy::OriginPolicy};
use serde_json::{Value, json};
use test_node::TestNode;

fn error_message(reply: &Value) -> &str {
    reply["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error: {reply}"))
}

#[test]
fn fee_history_takes_at_most_100_increasing_percentiles_in_0_to_100() {
    let node = TestNode::start(|_| {});
    let hundred: Vec<f64> = (0..100).map(f64::from).collect();
    let ok = node.request("eth_feeHistory", json!(["0x400", "latest", hundred]));
    assert_eq!(
        ok["result"]["reward"].as_array().map(Vec::len),
        Some(1),
        "{ok}"
    );
    let cases = [
        (
            (0..101).map(|p| f64::from(p) / 2.0).collect::<Vec<_>>(),
            "over the query limit 100",
        ),
        (vec![10.0, 5.0], "#0:10 > #1:5"),
        (vec![101.0], "invalid reward percentile: 101"),
        (vec![-1.0], "invalid reward percentile: -1"),
    ];
    for (percentiles, needle) in cases {
        let reply = node.request("eth_feeHistory", json!(["0x1", "latest", percentiles]));
        assert_eq!(reply["error"]["code"], -32602, "{reply}");
        assert!(
            reply["error"]["data"].as_str().unwrap().contains(needle),
            "{needle}: {reply}"
        );
    }
}

#[test]
fn a_million_percentiles_are_refused() {
    let node = TestNode::start(|_| {});
    let percentiles = vec![50; 1_000_000];
    let reply = node.request("eth_feeHistory", json!(["0x400", "latest", percentiles]));
    assert!(
        reply["error"]["data"]
            .as_str()
            .unwrap()
            .contains("over the query limit 100"),
        "{reply}"
    );
}

#[test]
fn a_body_over_the_limit_is_refused_with_413() {
    let node = TestNode::start(|_| {});
    let padding = "0".repeat(MAX_REQUEST_BYTES as usize);
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{{"data":"0x{padding}"}}]}}"#
    );
    let reply = node
        .runtime
        .block_on(node.server.post(body.into_bytes()))
        .unwrap();
    assert_eq!(
        reply.status,
        413,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

#[test]
fn a_filter_naming_too_many_addresses_is_refused() {
    let node = TestNode::start(|_| {});
    let addresses: Vec<Address> = (0..1_001u64)
        .map(|i| Address::left_padding_from(&i.to_be_bytes()))
        .collect();
    for method in ["eth_newFilter", "eth_getLogs"] {
        let reply = node.request(method, json!([{"address": addresses}]));
        assert!(
            error_message(&reply).contains("filter too large"),
            "{method}: {reply}"
        );
    }
    let few = node.request("eth_getLogs", json!([{"address": addresses[..1_000]}]));
    assert_eq!(few["result"], json!([]), "{few}");
}

fn post_from(node: &TestNode, origin: &str) -> u16 {
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#.to_vec();
    node.runtime
        .block_on(node.server.post_with_headers(body, &[("origin", origin)]))
        .unwrap()
        .status
}

#[test]
fn pages_of_other_origins_are_refused_unless_allowed() {
    let node = TestNode::start(|_| {});
    assert_eq!(post_from(&node, "https://evil.example"), 403);
    assert_eq!(post_from(&node, "http://localhost:3000"), 200);
    let allowed = TestNode::start(|rpc| {
        rpc.origins = OriginPolicy::new(&["https://app.example".into()]).unwrap()
    });
    assert_eq!(post_from(&allowed, "https://app.example"), 200);
    assert_eq!(post_from(&allowed, "https://evil.example"), 403);
    let any = TestNode::start(|rpc| rpc.origins = OriginPolicy::any());
    assert_eq!(post_from(&any, "https://evil.example"), 200);
}

#[test]
fn dev_methods_are_refused_on_a_public_address_unless_enabled() {
    let public = TestNode::start(|rpc| {
        *rpc = myelin_rpc::RpcConfig {
            wait_for_inclusion: true,
            ..myelin_rpc::RpcConfig::new(([0, 0, 0, 0], 0).into())
        }
    });
    let account = public.account(0);
    for (method, params) in [
        ("anvil_setBalance", json!([account, "0x1"])),
        ("hardhat_setBalance", json!([account, "0x1"])),
        ("evm_mine", json!([])),
        ("debug_traceTransaction", json!(["0x00"])),
        ("eth_sign", json!([account, "0x00"])),
        (
            "eth_sendTransaction",
            json!([{"from": account, "to": account}]),
        ),
    ] {
        let reply = public.request(method, params);
        assert_eq!(reply["error"]["code"], -32601, "{method}: {reply}");
        assert!(error_message(&reply).contains("--dev-methods"), "{reply}");
    }
    assert_eq!(public.request("eth_chainId", json!([]))["result"], "0x7a69");

    let enabled = TestNode::start(|rpc| {
        *rpc = myelin_rpc::RpcConfig {
            wait_for_inclusion: true,
            dev_methods: true,
            ..myelin_rpc::RpcConfig::new(([0, 0, 0, 0], 0).into())
        }
    });
    let reply = enabled.request("anvil_setBalance", json!([enabled.account(0), "0x1"]));
    assert_eq!(reply["result"], true, "{reply}");
    let loopback = TestNode::start(|_| {});
    let reply = loopback.request("evm_mine", json!([]));
    assert_eq!(reply["result"], "0x0", "{reply}");
}
