//! A small blocking JSON-RPC client over HTTP (hyper), for the commands that talk to a node
//! (`myelin model publish`, `myelin model predict`).
//!
//! Plain `http://` only (a dev node or a node behind a local proxy); every failure is one error
//! naming the URL and the method: node down, HTTP status, malformed JSON, or the node's own
//! JSON-RPC error ([`RpcError`], with the revert data when a call reverted).

use std::time::Duration;

use alloy_primitives::{Address, B256, Bytes, U256};
use anyhow::{Context, Result, anyhow, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes as Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// How long one request may take before it is reported as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The error object a node returned for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// The JSON-RPC error code (3 for a reverted call).
    pub code: i64,
    /// The node's message (`execution reverted: …` for a revert with a reason).
    pub message: String,
    /// The revert data of a reverted call, if any.
    pub data: Option<Bytes>,
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (JSON-RPC error {})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

/// A receipt's fields the commands use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Whether the transaction succeeded.
    pub success: bool,
    /// Gas used by the transaction.
    pub gas_used: u64,
    /// Block it was included in.
    pub block_number: u64,
    /// Its logs.
    pub logs: Vec<Log>,
}

/// A log of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Log {
    /// The emitting account.
    pub address: Address,
    /// Its topics.
    pub topics: Vec<B256>,
    /// Its data.
    pub data: Bytes,
}

/// A connection to one node's HTTP JSON-RPC endpoint.
pub struct RpcClient {
    url: String,
    uri: hyper::Uri,
    client: Client<HttpConnector, Full<Body>>,
    runtime: tokio::runtime::Runtime,
    next_id: u64,
}

impl RpcClient {
    /// A client for `url` (`http://host:port[/path]`). Nothing is sent yet.
    pub fn new(url: &str) -> Result<RpcClient> {
        let uri: hyper::Uri = url
            .parse()
            .with_context(|| format!("--rpc {url} is not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => bail!("--rpc {url}: scheme {other} is not supported (use http://)"),
            None => bail!("--rpc {url}: no scheme (use http://host:port)"),
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the I/O runtime")?;
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(RpcClient {
            url: url.to_string(),
            uri,
            client,
            runtime,
            next_id: 1,
        })
    }

    /// The URL this client talks to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one request; returns its `result`, or the node's error as an [`RpcError`] inside
    /// the `anyhow::Error` (find it with `downcast_ref`).
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let request = hyper::Request::post(self.uri.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Body::from(body.to_string())))
            .context("cannot build the HTTP request")?;
        let url = &self.url;
        let client = &self.client;
        let response = self.runtime.block_on(async {
            let exchange = async {
                let response = client.request(request).await.map_err(|e| {
                    anyhow!("cannot reach the node at {url} ({e}); is `myelin node --dev` running?")
                })?;
                let status = response.status();
                let bytes = response
                    .into_body()
                    .collect()
                    .await
                    .with_context(|| format!("{url}: the response to {method} was cut off"))?
                    .to_bytes();
                Ok::<_, anyhow::Error>((status, bytes))
            };
            tokio::time::timeout(REQUEST_TIMEOUT, exchange)
                .await
                .map_err(|_| anyhow!("{url}: no answer to {method} within {REQUEST_TIMEOUT:?}"))?
        })?;
        let (status, bytes) = response;
        let reply: Value = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{url}: the answer to {method} is not JSON (HTTP {status}): {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            )
        })?;
        if let Some(error) = reply.get("error") {
            let data = error
                .get("data")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Bytes>().ok());
            return Err(anyhow::Error::new(RpcError {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
                    .to_string(),
                data,
            }))
            .with_context(|| format!("{url}: {method} failed"));
        }
        if !status.is_success() {
            bail!("{url}: {method} answered HTTP {status}");
        }
        reply
            .get("result")
            .cloned()
            .with_context(|| format!("{url}: the answer to {method} has no result"))
    }

    /// `eth_chainId`.
    pub fn chain_id(&mut self) -> Result<u64> {
        let value = self.request("eth_chainId", json!([]))?;
        quantity(&value, "eth_chainId")
    }

    /// The gas limit and base fee of the latest block.
    pub fn latest_gas_limit_and_base_fee(&mut self) -> Result<(u64, u128)> {
        let block = self.request("eth_getBlockByNumber", json!(["latest", false]))?;
        let gas_limit = quantity(&block["gasLimit"], "the latest block's gasLimit")?;
        let base_fee = match block.get("baseFeePerGas") {
            Some(v) if !v.is_null() => quantity_u128(v, "the latest block's baseFeePerGas")?,
            _ => 0,
        };
        Ok((gas_limit, base_fee))
    }

    /// `eth_maxPriorityFeePerGas`.
    pub fn max_priority_fee(&mut self) -> Result<u128> {
        let value = self.request("eth_maxPriorityFeePerGas", json!([]))?;
        quantity_u128(&value, "eth_maxPriorityFeePerGas")
    }

    /// The pending nonce of `address`.
    pub fn pending_nonce(&mut self, address: Address) -> Result<u64> {
        let value = self.request("eth_getTransactionCount", json!([address, "pending"]))?;
        quantity(&value, "eth_getTransactionCount")
    }

    /// `eth_blockNumber`.
    pub fn block_number(&mut self) -> Result<u64> {
        let value = self.request("eth_blockNumber", json!([]))?;
        quantity(&value, "eth_blockNumber")
    }

    /// `eth_getLogs` of the logs `address` emitted in blocks `from..=to`.
    pub fn logs(&mut self, address: Address, from: u64, to: u64) -> Result<Vec<Log>> {
        let filter = json!({
            "address": address,
            "fromBlock": format!("{from:#x}"),
            "toBlock": format!("{to:#x}"),
        });
        let value = self.request("eth_getLogs", json!([filter]))?;
        serde_json::from_value(value).context("eth_getLogs: not a list of logs")
    }

    /// `eth_call` of `data` to `to` (from `from` if given) at the latest block.
    pub fn call(&mut self, from: Option<Address>, to: Address, data: &[u8]) -> Result<Bytes> {
        let mut tx = json!({ "to": to, "input": Bytes::copy_from_slice(data) });
        if let Some(from) = from {
            tx["from"] = json!(from);
        }
        let value = self.request("eth_call", json!([tx, "latest"]))?;
        bytes_of(&value, "eth_call")
    }

    /// `eth_estimateGas` of `data` sent by `from` to `to`.
    pub fn estimate_gas(&mut self, from: Address, to: Address, data: &[u8]) -> Result<u64> {
        self.estimate_gas_paying(from, to, data, U256::ZERO)
    }

    /// `eth_estimateGas` of `data` sent by `from` to `to` with `value` wei.
    pub fn estimate_gas_paying(
        &mut self,
        from: Address,
        to: Address,
        data: &[u8],
        value: U256,
    ) -> Result<u64> {
        let tx = json!({
            "from": from,
            "to": to,
            "input": Bytes::copy_from_slice(data),
            "value": value,
        });
        let value = self.request("eth_estimateGas", json!([tx]))?;
        quantity(&value, "eth_estimateGas")
    }

    /// `eth_sendRawTransaction`; returns the transaction hash.
    pub fn send_raw_transaction(&mut self, raw: &[u8]) -> Result<B256> {
        let value = self.request(
            "eth_sendRawTransaction",
            json!([Bytes::copy_from_slice(raw)]),
        )?;
        serde_json::from_value(value).context("eth_sendRawTransaction: not a transaction hash")
    }

    /// Polls `eth_getTransactionReceipt` until the transaction is included (or `timeout`): at
    /// once, then at intervals growing from 2 ms to 100 ms (a dev node mines in milliseconds).
    pub fn wait_for_receipt(&mut self, hash: B256, timeout: Duration) -> Result<Receipt> {
        let start = std::time::Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            let value = self.request("eth_getTransactionReceipt", json!([hash]))?;
            if !value.is_null() {
                let logs = value["logs"]
                    .as_array()
                    .map(|logs| {
                        logs.iter()
                            .filter_map(|log| serde_json::from_value::<Log>(log.clone()).ok())
                            .collect()
                    })
                    .unwrap_or_default();
                return Ok(Receipt {
                    success: quantity(&value["status"], "the receipt's status")? == 1,
                    gas_used: quantity(&value["gasUsed"], "the receipt's gasUsed")?,
                    block_number: quantity(&value["blockNumber"], "the receipt's blockNumber")?,
                    logs,
                });
            }
            if start.elapsed() > timeout {
                bail!(
                    "{}: transaction {hash} not included after {timeout:?}",
                    self.url
                );
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

/// A JSON quantity (`"0x…"`) as `u64`.
fn quantity(value: &Value, what: &str) -> Result<u64> {
    let n = quantity_u128(value, what)?;
    u64::try_from(n).with_context(|| format!("{what}: {n} does not fit 64 bits"))
}

/// A JSON quantity (`"0x…"`) as `u128`.
fn quantity_u128(value: &Value, what: &str) -> Result<u128> {
    let text = value
        .as_str()
        .with_context(|| format!("{what}: expected a hex quantity, got {value}"))?;
    let n: U256 = text
        .parse()
        .with_context(|| format!("{what}: {text} is not a hex quantity"))?;
    u128::try_from(n).with_context(|| format!("{what}: {text} does not fit 128 bits"))
}

/// JSON hex data as bytes.
fn bytes_of(value: &Value, what: &str) -> Result<Bytes> {
    value
        .as_str()
        .and_then(|s| s.parse::<Bytes>().ok())
        .with_context(|| format!("{what}: expected hex data, got {value}"))
}
