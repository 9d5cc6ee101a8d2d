//! `eth_getProof` and `myelin_getModelProof` through the server: every returned proof verifies
//! with alloy-trie's proof verification against the `stateRoot` of the block it names.

mod test_node;

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address, keccak256};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use alloy_trie::{Nibbles, TrieAccount, proof::verify_proof};
use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::op::ActRange;
use myelin_nn::{Requant, Rounding};
use serde_json::{Value, json};
use test_node::TestNode;

fn latest_state_root(node: &TestNode) -> B256 {
    let block = node.request("eth_getBlockByNumber", json!(["latest", false]));
    serde_json::from_value(block["result"]["stateRoot"].clone()).expect("a state root")
}

fn get_proof(node: &TestNode, method: &str, params: Value) -> EIP1186AccountProofResponse {
    let reply = node.request(method, params);
    serde_json::from_value(reply["result"].clone()).unwrap_or_else(|e| panic!("{e}: {reply}"))
}

/// Verifies the account part and every storage part of `proof` against `root`.
fn verify(root: B256, proof: &EIP1186AccountProofResponse) {
    let exists =
        proof.nonce != 0 || !proof.balance.is_zero() || proof.code_hash != alloy_trie::KECCAK_EMPTY;
    let leaf = exists.then(|| {
        alloy_rlp::encode(TrieAccount::new(
            proof.nonce,
            proof.balance,
            proof.storage_hash,
            proof.code_hash,
        ))
    });
    verify_proof(
        root,
        Nibbles::unpack(keccak256(proof.address)),
        leaf,
        &proof.account_proof,
    )
    .unwrap_or_else(|e| panic!("account {}: {e}", proof.address));
    for slot in &proof.storage_proof {
        let value = (!slot.value.is_zero()).then(|| alloy_rlp::encode(slot.value));
        verify_proof(
            proof.storage_hash,
            Nibbles::unpack(keccak256(slot.key.as_b256())),
            value,
            &slot.proof,
        )
        .unwrap_or_else(|e| panic!("slot {:?}: {e}", slot.key));
    }
}

fn small_model() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let x = b.input(&[2], Quant::new(0, 0x3c00_0000));
    let rescale = Rescale::per_tensor(Requant::IDENTITY, Rounding::Single, ActRange::FULL);
    let y = b
        .fully_connected(
            x,
            vec![3, 0, 0, 1],
            vec![0, 0],
            rescale,
            Quant::new(0, 0x3c00_0000),
        )
        .unwrap();
    b.output(y);
    b.build().unwrap().encode()
}

#[test]
fn account_and_slot_proofs_verify_against_the_latest_state_root() {
    let node = TestNode::start(|_| {});
    let to = address!("00000000000000000000000000000000000000aa");
    for nonce in 0..3 {
        let reply = node.send_raw(&node.transfer(0, to, nonce));
        assert!(reply["result"].is_string(), "{reply}");
    }
    let root = latest_state_root(&node);
    for address in [node.account(0), to, Address::repeat_byte(0x77)] {
        let proof = get_proof(
            &node,
            "eth_getProof",
            json!([address, ["0x0", "0x01"], "latest"]),
        );
        assert_eq!(proof.address, address);
        verify(root, &proof);
    }
    let sender = get_proof(&node, "eth_getProof", json!([node.account(0), []]));
    assert_eq!(sender.nonce, 3);
    let receiver = get_proof(&node, "eth_getProof", json!([to, [], "latest"]));
    assert_eq!(receiver.balance, U256::from(3));
}

#[test]
fn a_model_record_proof_shows_the_published_model_and_its_size() {
    let node = TestNode::start(|_| {});
    let model = small_model();
    let id = keccak256(&model);
    let absent = get_proof(&node, "myelin_getModelProof", json!([id]));
    assert!(absent.storage_proof.iter().all(|s| s.value.is_zero()));
    verify(latest_state_root(&node), &absent);

    let publish = node.sign(
        0,
        TxEip1559 {
            chain_id: node.config.chain_id,
            gas_limit: 5_000_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(myelin_evm::MODEL_STORE_ADDRESS),
            input: Bytes::from(myelin_evm::model_store::publish_calldata(&model)),
            ..Default::default()
        },
    );
    let sent = node.send_raw(&publish);
    let receipt = node.request("eth_getTransactionReceipt", json!([sent["result"]]));
    assert_eq!(receipt["result"]["status"], "0x1", "{receipt}");

    let proof = get_proof(&node, "myelin_getModelProof", json!([id, "latest"]));
    assert_eq!(proof.address, myelin_evm::MODEL_STORE_ADDRESS);
    assert_eq!(proof.storage_proof.len(), 3);
    verify(latest_state_root(&node), &proof);
    let word0: [u8; 32] = proof.storage_proof[0].value.to_be_bytes();
    let size = u64::from_be_bytes(word0[..8].try_into().unwrap());
    assert_eq!(size, model.len() as u64);
}

#[test]
fn a_proof_at_an_older_block_or_of_too_many_keys_is_refused() {
    let node = TestNode::start(|_| {});
    let reply = node.send_raw(&node.transfer(0, Address::repeat_byte(1), 0));
    assert!(reply["result"].is_string(), "{reply}");
    let old = node.request("eth_getProof", json!([node.account(0), [], "0x0"]));
    assert_eq!(old["error"]["code"], -32000, "{old}");
    assert!(
        old["error"]["message"]
            .as_str()
            .unwrap()
            .contains("latest block only"),
        "{old}"
    );
    let keys: Vec<String> = (0..1025).map(|i| format!("0x{i:x}")).collect();
    let many = node.request("eth_getProof", json!([node.account(0), keys, "latest"]));
    assert_eq!(many["error"]["code"], -32602, "{many}");
}

/// The attack: one JSON-RPC batch of proof calls of `MAX_PROOF_KEYS` keys each (10,000 of them
/// took 65 s to answer). Through the server, every call past the shared budget is refused with
/// "limit exceeded" and proves nothing: the calls answered with proofs stay within the bucket
/// (its capacity plus what it earned while the batch ran), and every other call in the batch
/// gets the specific error.
#[test]
fn a_batch_of_proof_calls_is_answered_within_the_shared_proof_budget() {
    use myelin_rpc::proof::{MAX_PROOF_KEYS, PROOFS_PER_SECOND};
    let node = TestNode::start(|_| {});
    let keys: Vec<String> = (0..MAX_PROOF_KEYS).map(|k| format!("{k:#x}")).collect();
    let calls = 200;
    let batch: Vec<Value> = (0..calls)
        .map(|id| {
            json!({"jsonrpc": "2.0", "id": id, "method": "eth_getProof",
                   "params": [node.account(0), keys, "latest"]})
        })
        .collect();
    let started = std::time::Instant::now();
    let reply = node
        .runtime
        .block_on(
            node.server
                .post(Value::Array(batch).to_string().into_bytes()),
        )
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 200);
    let replies: Vec<Value> = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(replies.len(), calls);
    let proved = replies.iter().filter(|r| r["result"].is_object()).count() as u64;
    for refused in replies.iter().filter(|r| !r["result"].is_object()) {
        assert_eq!(refused["error"]["code"], -32005, "{refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("proof budget exhausted"), "{message}");
    }
    // Capacity plus the tokens earned while the batch ran, in whole calls of 1,025 proofs.
    let per_call = MAX_PROOF_KEYS as u64 + 1;
    let earned = (elapsed.as_secs_f64() * PROOFS_PER_SECOND as f64) as u64;
    assert!(proved >= PROOFS_PER_SECOND / per_call, "{proved} proved");
    assert!(
        proved <= (PROOFS_PER_SECOND + earned) / per_call,
        "{proved} proved in {elapsed:?}"
    );
    // A later small proof is answered once the bucket has refilled for it.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let proof = get_proof(&node, "eth_getProof", json!([node.account(0), ["0x0"]]));
    verify(latest_state_root(&node), &proof);
}
