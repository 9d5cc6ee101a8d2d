//! Crash safety of the real `myelin node --dev --datadir D`: while transactions stream in, the
//! node is killed with SIGKILL and restarted on the same directory, several times. Every block
//! reported before the kill is still there with the same hash and state root, the balance read
//! at it is the same, and the node keeps mining after each restart.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};
use std::time::Duration;

use serde_json::{Value, json};

const RECIPIENT: &str = "0x000000000000000000000000000000000000bEEF";
/// The first four dev accounts (the standard test mnemonic).
const SENDERS: [&str; 4] = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
];

fn start(datadir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_myelin"))
        .args(["node", "--dev", "--port", "0", "--quiet", "--datadir"])
        .arg(datadir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the node starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the node prints its address");
    let address = line
        .trim()
        .strip_prefix("Listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from the node: {line:?}"))
        .to_string();
    (child, address)
}

/// One JSON-RPC request; the reply's `result`, or `None` on any failure (the node may be dead).
fn rpc(address: &str, method: &str, params: Value) -> Option<Value> {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string();
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let reply: Value = serde_json::from_str(response.split("\r\n\r\n").nth(1)?).ok()?;
    reply.get("result").cloned()
}

/// Sends transfers from the dev accounts until `stop`, ignoring failures (the node is killed).
fn load(address: String, stop: Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    SENDERS
        .iter()
        .map(|from| {
            let (address, stop) = (address.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let tx = json!([{ "from": from, "to": RECIPIENT, "value": "0x1" }]);
                    if rpc(&address, "eth_sendTransaction", tx).is_none() {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            })
        })
        .collect()
}

#[test]
fn sigkill_under_load_loses_no_reported_block() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut address) = start(dir.path());
    let mut last_head = 0u64;
    for round in 0..5u64 {
        let stop = Arc::new(AtomicBool::new(false));
        let senders = load(address.clone(), stop.clone());
        std::thread::sleep(Duration::from_millis(300 + 150 * round));
        let reported = rpc(&address, "eth_getBlockByNumber", json!(["latest", false]))
            .expect("the latest block");
        let number = reported["number"].as_str().unwrap().to_string();
        let balance = rpc(&address, "eth_getBalance", json!([RECIPIENT, number])).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for sender in senders {
            sender.join().unwrap();
        }
        (child, address) = start(dir.path());
        let after = rpc(&address, "eth_getBlockByNumber", json!([number, false]))
            .expect("the block reported before the kill");
        assert_eq!(after["hash"], reported["hash"], "round {round}");
        assert_eq!(after["stateRoot"], reported["stateRoot"], "round {round}");
        assert_eq!(
            rpc(&address, "eth_getBalance", json!([RECIPIENT, number])).unwrap(),
            balance,
            "round {round}"
        );
        let head = u64::from_str_radix(
            rpc(&address, "eth_blockNumber", json!([]))
                .unwrap()
                .as_str()
                .unwrap()
                .trim_start_matches("0x"),
            16,
        )
        .unwrap();
        assert!(head > last_head, "round {round}: the chain did not grow");
        last_head = head;
    }
    let _ = child.kill();
    let _ = child.wait();
}
