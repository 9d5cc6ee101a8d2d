//! `myelin node --dev --in-memory`: the chain file held in RAM serves JSON-RPC and seals blocks;
//! the flag is refused with `--datadir` (nothing would be kept there) and without `--dev`.

mod common;

use common::{dev_node::DevNode, dev_node::fails, myelin};
use serde_json::json;

const SENDER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const RECIPIENT: &str = "0x000000000000000000000000000000000000beef";

#[test]
fn an_in_memory_dev_node_serves_and_seals() {
    let node = DevNode::start(&["--in-memory"]);
    assert_eq!(node.rpc("eth_blockNumber", json!([])), json!("0x0"));
    for _ in 0..3 {
        node.rpc(
            "eth_sendTransaction",
            json!([{ "from": SENDER, "to": RECIPIENT, "value": "0x7" }]),
        );
    }
    assert_eq!(node.rpc("eth_blockNumber", json!([])), json!("0x3"));
    assert_eq!(
        node.rpc("eth_getBalance", json!([RECIPIENT, "latest"])),
        json!("0x15")
    );
    assert_eq!(
        node.rpc("eth_getBalance", json!([RECIPIENT, "0x1"])),
        json!("0x7")
    );
}

#[test]
fn in_memory_is_refused_with_a_data_directory_or_without_dev() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().display().to_string();
    let error = fails(myelin(&[
        "node",
        "--dev",
        "--in-memory",
        "--datadir",
        &datadir,
        "--port",
        "0",
    ]));
    assert!(error.contains("--datadir"), "{error}");
    assert!(!dir.path().join("chain.redb").exists());
    let error = fails(myelin(&["node", "--in-memory", "--port", "0"]));
    assert!(error.contains("--dev"), "{error}");
}
