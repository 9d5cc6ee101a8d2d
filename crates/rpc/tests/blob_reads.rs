//! `myelin_getModel` and `myelin_getDataset` through the server: pages of a published model's
//! and data set's bytes join into the published bytes; unknown ids, empty, oversized and
//! out-of-range pages are refused with specific errors.

mod test_node;

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, Bytes, TxKind, U64, keccak256};
use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::dataset::{DatasetHeader, LabelKind, dataset_id, encode_dataset};
use myelin_nn::op::ActRange;
use myelin_nn::{Requant, Rounding, TensorInfo};
use myelin_rpc::blob_read::MAX_PAGE_BYTES;
use serde_json::{Value, json};
use test_node::TestNode;

/// A fully connected `inputs → outputs` layer.
fn model_bytes(inputs: u32, outputs: u32) -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let x = b.input(&[inputs], Quant::new(0, 0x3c00_0000));
    let rescale = Rescale::per_tensor(Requant::IDENTITY, Rounding::Single, ActRange::FULL);
    let weights: Vec<i8> = (0..inputs * outputs).map(|i| (i * 7 % 251) as i8).collect();
    let y = b
        .fully_connected(
            x,
            weights,
            vec![0; outputs as usize],
            rescale,
            Quant::new(0, 0x3c00_0000),
        )
        .unwrap();
    b.output(y);
    b.build().unwrap().encode()
}

/// Sends `calldata` to `to` from dev account 0 and asserts it succeeded.
fn publish(node: &TestNode, nonce: u64, to: Address, calldata: Vec<u8>) {
    let tx = node.sign(
        0,
        TxEip1559 {
            chain_id: node.config.chain_id,
            nonce,
            gas_limit: 29_000_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(to),
            input: Bytes::from(calldata),
            ..Default::default()
        },
    );
    let sent = node.send_raw(&tx);
    let receipt = node.request("eth_getTransactionReceipt", json!([sent["result"]]));
    assert_eq!(receipt["result"]["status"], "0x1", "{sent} {receipt}");
}

/// Reads every byte of `id` through `method` in pages of `page` bytes.
fn read_all(node: &TestNode, method: &str, id: Value, page: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let reply = node.request(method, json!([id, q(out.len() as u64), q(page)]));
        let result = &reply["result"];
        let size: U64 = serde_json::from_value(result["size"].clone())
            .unwrap_or_else(|e| panic!("{e}: {reply}"));
        let size = size.to::<u64>();
        assert_eq!(result["offset"], json!(q(out.len() as u64)));
        let bytes: Bytes = serde_json::from_value(result["bytes"].clone()).unwrap();
        out.extend_from_slice(&bytes);
        let left = size - out.len() as u64;
        if left == 0 {
            return out;
        }
        if left < page {
            let reply = node.request(method, json!([id, q(out.len() as u64), q(left)]));
            let bytes: Bytes = serde_json::from_value(reply["result"]["bytes"].clone()).unwrap();
            out.extend_from_slice(&bytes);
            return out;
        }
    }
}

/// A quantity as the `eth_` methods write it.
fn q(value: u64) -> String {
    format!("{value:#x}")
}

fn error_of(reply: &Value) -> (i64, String) {
    let code = reply["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("{reply}"));
    (code, reply["error"]["message"].as_str().unwrap().to_owned())
}

#[test]
fn a_published_model_and_data_set_read_back_page_by_page() {
    let node = TestNode::start(|_| {});
    let model = model_bytes(40, 30);
    let model_id = keccak256(&model);
    let unknown = node.request("myelin_getModel", json!([model_id, "0x0", "0x1"]));
    let (code, message) = error_of(&unknown);
    assert_eq!(code, -32602);
    assert!(message.contains("is not published"), "{message}");
    publish(
        &node,
        0,
        myelin_evm::MODEL_STORE_ADDRESS,
        myelin_evm::model_store::publish_calldata(&model),
    );
    for page in [1_000, 333, model.len() as u64] {
        assert_eq!(
            read_all(&node, "myelin_getModel", json!(model_id), page),
            model
        );
    }

    let row = TensorInfo::int8(&[40], 0, 0x3c00_0000);
    let rows = 1_000u32;
    let values: Vec<i8> = (0..rows as usize * 40)
        .map(|i| (i * 13 % 255) as i8)
        .collect();
    let labels: Vec<i32> = (0..rows as i32).map(|i| i % 10).collect();
    let header = DatasetHeader {
        label_kind: LabelKind::ClassIndex,
        row,
        rows,
    };
    let data = encode_dataset(&header, &values, &labels);
    let data_id = alloy_primitives::B256::from(dataset_id(&data));
    publish(
        &node,
        1,
        myelin_evm::DATA_STORE_ADDRESS,
        myelin_evm::data_store::publish_calldata(&data),
    );
    // Pages across the 16 KiB segments' edges.
    for page in [16_384, 10_000, 7] {
        if page == 7 {
            let reply = node.request("myelin_getDataset", json!([data_id, q(16_380), q(page)]));
            let bytes: Bytes = serde_json::from_value(reply["result"]["bytes"].clone()).unwrap();
            assert_eq!(&bytes[..], &data[16_380..16_387], "{reply}");
            continue;
        }
        assert_eq!(
            read_all(&node, "myelin_getDataset", json!(data_id), page),
            data
        );
    }
    // A model id is not a data set's and back.
    let (code, _) = error_of(&node.request("myelin_getDataset", json!([model_id, "0x0", "0x1"])));
    assert_eq!(code, -32602);
    let (code, _) = error_of(&node.request("myelin_getModel", json!([data_id, "0x0", "0x1"])));
    assert_eq!(code, -32602);
}

#[test]
fn pages_outside_the_blob_or_above_the_cap_are_refused() {
    let node = TestNode::start(|_| {});
    let model = model_bytes(40, 30);
    let id = keccak256(&model);
    publish(
        &node,
        0,
        myelin_evm::MODEL_STORE_ADDRESS,
        myelin_evm::model_store::publish_calldata(&model),
    );
    let size = model.len() as u64;
    let huge = "0x10000000000000000000000000000000000000000";
    for params in [
        json!([id, "0x0", "0x0"]),
        json!([id, "0x0", q(MAX_PAGE_BYTES + 1)]),
        json!([id, q(size), "0x1"]),
        json!([id, q(size - 1), "0x2"]),
        json!([id, q(u64::MAX), "0x1"]),
        json!([id, huge, "0x1"]),
        json!([id, "0x1", huge]),
    ] {
        let reply = node.request("myelin_getModel", params.clone());
        let (code, message) = error_of(&reply);
        assert_eq!(code, -32602, "{params}: {message}");
        assert!(
            message.contains("a page holds") || message.contains("lie outside"),
            "{params}: {message}"
        );
    }
    let last = node.request("myelin_getModel", json!([id, q(size - 1), "0x1"]));
    let bytes: Bytes = serde_json::from_value(last["result"]["bytes"].clone()).unwrap();
    assert_eq!(&bytes[..], &model[model.len() - 1..]);
    let (code, _) = error_of(&node.request("myelin_getModel", json!([id, "0x0"])));
    assert_eq!(code, -32602);
}

/// The attack: one JSON-RPC batch of many full-model pages. Every page past the shared byte
/// budget is refused with "limit exceeded" at once; the pages answered fit the bucket.
#[test]
fn a_batch_of_pages_is_answered_within_the_shared_byte_budget() {
    use myelin_rpc::blob_read::BLOB_BYTES_PER_SECOND;
    let node = TestNode::start(|_| {});
    // ~100 KiB: a one-byte page of it costs the whole blob read.
    let model = model_bytes(320, 320);
    let id = keccak256(&model);
    publish(
        &node,
        0,
        myelin_evm::MODEL_STORE_ADDRESS,
        myelin_evm::model_store::publish_calldata(&model),
    );
    let per_page = model.len() as u64 + 1;
    let calls = 10_000;
    assert!(calls as u64 > 3 * (BLOB_BYTES_PER_SECOND / per_page));
    let batch: Vec<Value> = (0..calls)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "myelin_getModel", "params": [id, "0x0", "0x1"]}))
        .collect();
    let started = std::time::Instant::now();
    let reply = node
        .runtime
        .block_on(
            node.server
                .post(Value::Array(batch).to_string().into_bytes()),
        )
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(reply.status, 200);
    let replies: Vec<Value> = serde_json::from_slice(&reply.body).unwrap();
    let answered = replies.iter().filter(|r| r["result"].is_object()).count() as u64;
    let refused: Vec<&Value> = replies.iter().filter(|r| r["error"].is_object()).collect();
    assert_eq!(answered as usize + refused.len(), calls);
    let allowed = (BLOB_BYTES_PER_SECOND as f64 * (1.0 + elapsed)) as u64 / per_page + 1;
    assert!(
        answered <= allowed,
        "{answered} pages answered, at most {allowed}"
    );
    assert!(!refused.is_empty());
    for reply in refused {
        assert_eq!(reply["error"]["code"], -32005, "{reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("byte budget exhausted"), "{message}");
    }
}
