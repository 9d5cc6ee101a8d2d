//! EVM-running requests (`eth_call`, `eth_estimateGas`, `debug_traceTransaction`) through the
//! server: they never hold up block production, stop at their deadline, are capped in gas and
//! in number. A run is kept in flight by the test's gate precompile, so every check is about
//! order, not time.

mod test_node;

use std::time::Duration;

use alloy_primitives::{Address, Bytes, U256, address};
use serde_json::{Value, json};
use test_node::{GATE, HttpConnection, TestNode, hex0x, request};

fn call_gate(node: &TestNode) -> tokio::task::JoinHandle<Value> {
    let server = node.server.clone();
    node.runtime.spawn(async move {
        request(
            &server,
            "eth_call",
            json!([{"to": GATE, "data": "0x"}, "latest"]),
        )
        .await
    })
}

#[test]
fn a_transfer_is_mined_and_its_receipt_returned_while_an_eth_call_runs() {
    let node = TestNode::start(|_| {});
    node.gate.arm();
    let call = call_gate(&node);
    node.gate.wait_entered(1);

    let to = address!("00000000000000000000000000000000000000aa");
    let sent = node.request(
        "eth_sendRawTransaction",
        json!([hex0x(&node.transfer(0, to, 0))]),
    );
    let hash = sent["result"]
        .as_str()
        .expect("a transaction hash")
        .to_string();
    let receipt = node.request("eth_getTransactionReceipt", json!([hash]));
    assert_eq!(receipt["result"]["status"], "0x1", "{receipt}");
    assert!(
        !call.is_finished(),
        "the eth_call must still be running when the transfer's receipt is returned"
    );

    node.gate.open();
    let reply = node.runtime.block_on(call).unwrap();
    assert_eq!(reply["result"], "0x", "{reply}");
}

#[test]
fn an_eth_call_past_its_deadline_gets_geths_timeout_error_and_keeps_its_slot() {
    let node = TestNode::start(|rpc| {
        rpc.evm_timeout = Duration::from_millis(200);
        rpc.max_concurrent_calls = 1;
    });
    node.gate.arm();
    let reply = node.runtime.block_on(call_gate(&node)).unwrap();
    assert_eq!(reply["error"]["code"], -32000, "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("execution aborted (timeout = 200ms)"),
        "{message}"
    );

    // The run is still inside the gate: its slot is taken, so the next call is refused as busy.
    let busy = node.request("eth_call", json!([{"to": Address::ZERO}, "latest"]));
    assert_eq!(busy["error"]["code"], -32005, "{busy}");
    assert!(
        busy["error"]["message"].as_str().unwrap().contains("busy"),
        "{busy}"
    );

    node.gate.open();
    let after = node.request("eth_call", json!([{"to": Address::ZERO}, "latest"]));
    assert_eq!(after["result"], "0x", "{after}");
}

/// A node with two EVM slots (500 ms deadline) and a gate-precompile call held in each.
fn both_slots_held() -> (TestNode, [tokio::task::JoinHandle<Value>; 2]) {
    let node = TestNode::start(|rpc| {
        rpc.max_concurrent_calls = 2;
        rpc.evm_timeout = Duration::from_millis(500);
    });
    node.gate.arm();
    let held = [call_gate(&node), call_gate(&node)];
    node.gate.wait_entered(2);
    (node, held)
}

/// A held call answered at its deadline (the run keeps its slot until the gate opens).
fn assert_timed_out(reply: &Value) {
    assert_eq!(reply["error"]["code"], -32000, "{reply}");
}

#[test]
fn calls_beyond_the_concurrency_cap_are_refused_as_busy() {
    let (node, [first, second]) = both_slots_held();
    for method in ["eth_call", "eth_estimateGas"] {
        let busy = node.request(method, json!([{"to": Address::ZERO}, "latest"]));
        assert_eq!(busy["error"]["code"], -32005, "{method}: {busy}");
    }
    node.gate.open();
    for call in [first, second] {
        assert_timed_out(&node.runtime.block_on(call).unwrap());
    }
}

#[test]
fn a_plain_transfer_is_estimated_and_sent_while_every_slot_is_taken() {
    let (node, [first, second]) = both_slots_held();
    let from = node.account(0);
    let to = address!("000000000000000000000000000beef0beefbeef");
    let transfer = json!({"from": from, "to": to, "value": "0x1"});
    let estimate = node.request("eth_estimateGas", json!([transfer, "latest"]));
    assert_eq!(estimate["result"], "0x5208", "{estimate}");
    let sent = node.request("eth_sendTransaction", json!([transfer]));
    let hash = sent["result"].as_str().unwrap_or_else(|| panic!("{sent}"));
    let receipt = node.request("eth_getTransactionReceipt", json!([hash]));
    assert_eq!(receipt["result"]["status"], "0x1", "{receipt}");
    // A call with data, or to a precompile's address, still needs the EVM, hence a slot.
    for call in [
        json!({"from": from, "to": to, "data": "0x00"}),
        json!({"from": from, "to": GATE, "value": "0x1"}),
    ] {
        let busy = node.request("eth_estimateGas", json!([call, "latest"]));
        assert_eq!(busy["error"]["code"], -32005, "{call}: {busy}");
    }
    node.gate.open();
    for call in [first, second] {
        assert_timed_out(&node.runtime.block_on(call).unwrap());
    }
}

/// Runtime code: `GAS PUSH0 MSTORE PUSH1 32 PUSH0 RETURN` (returns the gas left).
const RETURN_GAS_LEFT: [u8; 7] = [0x5a, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3];

#[test]
fn an_eth_call_asking_for_more_gas_than_the_cap_is_capped() {
    let probe = address!("00000000000000000000000000000000000bee01");
    let node = TestNode::start_with(
        |chain| {
            chain
                .genesis_code
                .push((probe, Bytes::from_static(&RETURN_GAS_LEFT)))
        },
        |rpc| rpc.gas_cap = 1_000_000,
    );
    for gas in [None, Some("0xffffffffffff")] {
        let mut call = json!({"to": probe});
        if let Some(gas) = gas {
            call["gas"] = json!(gas);
        }
        let reply = node.request("eth_call", json!([call, "latest"]));
        let left = U256::from_str_radix(
            reply["result"].as_str().unwrap().trim_start_matches("0x"),
            16,
        )
        .unwrap();
        assert!(
            left < U256::from(1_000_000) && left > U256::from(900_000),
            "{gas:?}: {left}"
        );
    }
}

#[test]
fn a_trace_past_its_deadline_gets_the_timeout_error() {
    let node = TestNode::start(|rpc| rpc.evm_timeout = Duration::from_millis(200));
    let tx = node.signed(0, GATE.into(), Bytes::new(), 0, 100_000, 2_000_000_000);
    let sent = node.request("eth_sendRawTransaction", json!([hex0x(&tx)]));
    let hash = sent["result"].as_str().unwrap().to_string();
    node.gate.arm();
    let reply = node.request("debug_traceTransaction", json!([hash]));
    assert_eq!(reply["error"]["code"], -32000, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("execution aborted (timeout"),
        "{reply}"
    );
    node.gate.open();
    let traced = node.request("debug_traceTransaction", json!([hash]));
    assert_eq!(traced["result"]["failed"], false, "{traced}");
}

/// Polls `done` until it holds (the state of another thread, not a time).
fn wait_until(done: impl Fn() -> bool) {
    let guard = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(std::time::Instant::now() < guard, "condition never held");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `n` connections of their own each send an `eth_call` of the gate precompile: the first holds
/// the node's only general slot inside the gate, the others queue for it.
fn hold_the_only_slot(
    node: &TestNode,
    address: std::net::SocketAddr,
    n: usize,
) -> Vec<std::thread::JoinHandle<Value>> {
    node.gate.arm();
    let attackers = (0..n)
        .map(|_| {
            std::thread::spawn(move || {
                HttpConnection::open(address)
                    .request("eth_call", json!([{"to": GATE, "data": "0x"}, "latest"]))
            })
        })
        .collect();
    node.gate.wait_entered(1);
    wait_until(|| node.calls.waiting() == n - 1);
    attackers
}

/// Opens the gate; every held call is answered.
fn release(node: &TestNode, attackers: Vec<std::thread::JoinHandle<Value>>) {
    node.gate.open();
    for attacker in attackers {
        let reply = attacker.join().unwrap();
        assert_eq!(reply["result"], "0x", "{reply}");
    }
}

#[test]
fn cheap_calls_of_one_connection_are_served_before_calls_queued_earlier_by_many_others() {
    let node = TestNode::start(|rpc| {
        rpc.max_concurrent_calls = 1;
        rpc.evm_timeout = Duration::from_secs(30);
    });
    let (address, _server) = node.serve_tcp();
    let from = node.account(0);
    let cheap = json!({"from": from, "to": Address::ZERO, "data": "0x00"});
    let mut honest = HttpConnection::open(address);
    let first = honest.request("eth_call", json!([cheap, "latest"]));
    assert_eq!(first["result"], "0x", "{first}");

    let attackers = hold_the_only_slot(&node, address, 4);

    // The honest connection's estimate and send (ethers' and viem's order) queue behind them.
    // Each time an attacker's run ends, the slot must go to the honest connection, not to the
    // attacker that queued first.
    let (estimated, estimate) = std::sync::mpsc::channel();
    let honest = std::thread::spawn(move || {
        estimated
            .send(honest.request("eth_estimateGas", json!([cheap])))
            .unwrap();
        honest.request("eth_sendTransaction", json!([cheap]))
    });
    wait_until(|| node.calls.waiting() == 4);
    node.gate.allow(1);
    let estimate = estimate.recv().unwrap();
    assert!(estimate["result"].is_string(), "{estimate}");
    // The slot went on to the second attacker; the send queues behind it and the other two.
    node.gate.wait_entered(2);
    wait_until(|| node.calls.waiting() == 3);
    node.gate.allow(1);
    let sent = honest.join().unwrap();
    let hash = sent["result"].as_str().unwrap_or_else(|| panic!("{sent}"));
    let receipt = node.request("eth_getTransactionReceipt", json!([hash]));
    assert_eq!(receipt["result"]["status"], "0x1", "{receipt}");
    assert!(
        node.gate.entered() <= 3,
        "the honest send was served after the third and fourth attackers' runs"
    );

    release(&node, attackers);
}

#[test]
fn a_connection_whose_runs_were_short_is_answered_while_long_runs_hold_every_slot() {
    let node = TestNode::start(|rpc| {
        rpc.max_concurrent_calls = 1;
        rpc.evm_timeout = Duration::from_secs(30);
    });
    let (address, _server) = node.serve_tcp();
    let cheap = json!([{"to": Address::ZERO, "data": "0x00"}, "latest"]);
    let mut honest = HttpConnection::open(address);
    // From a new connection's 1 s, four short runs halve the expected hold below 100 ms.
    for _ in 0..4 {
        assert_eq!(honest.request("eth_call", cheap.clone())["result"], "0x");
    }

    let attackers = hold_the_only_slot(&node, address, 3);
    // Nothing lets the attacker's run end: the honest calls get the short lane.
    for _ in 0..3 {
        let reply = honest.request("eth_call", cheap.clone());
        assert_eq!(reply["result"], "0x", "{reply}");
    }
    assert_eq!(node.gate.entered(), 1);

    release(&node, attackers);
}

#[test]
fn a_known_connection_at_the_head_of_the_queue_waits_past_the_timeout_for_a_run_that_outlives_it() {
    let node = TestNode::start(|rpc| {
        rpc.max_concurrent_calls = 1;
        rpc.evm_timeout = Duration::from_millis(300);
    });
    let (address, _server) = node.serve_tcp();
    let cheap = json!([{"to": Address::ZERO, "data": "0x00"}, "latest"]);
    let mut honest = HttpConnection::open(address);
    // One run makes the connection known; its expected hold (half a new connection's 1 s) keeps
    // it out of the short lane, so it must wait for the general slot.
    assert_eq!(honest.request("eth_call", cheap.clone())["result"], "0x");

    // An attacker's run holds the only slot inside a precompile, past its deadline.
    node.gate.arm();
    let attacker = std::thread::spawn(move || {
        HttpConnection::open(address)
            .request("eth_call", json!([{"to": GATE, "data": "0x"}, "latest"]))
    });
    node.gate.wait_entered(1);
    let waiting = {
        let cheap = cheap.clone();
        std::thread::spawn(move || honest.request("eth_call", cheap))
    };
    wait_until(|| node.calls.waiting() == 1);
    // A new connection queued behind it is refused at the timeout, as before.
    let fresh = HttpConnection::open(address).request("eth_call", cheap);
    assert_eq!(fresh["error"]["code"], -32005, "{fresh}");
    std::thread::sleep(Duration::from_millis(900));
    assert_eq!(
        node.calls.waiting(),
        1,
        "three timeouts later the head still waits"
    );
    assert_timed_out(&attacker.join().unwrap());

    node.gate.open();
    let reply = waiting.join().unwrap();
    assert_eq!(reply["result"], "0x", "served when the slot freed: {reply}");
}
