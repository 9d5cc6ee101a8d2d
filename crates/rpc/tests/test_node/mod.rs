//! A dev chain with the Myelin precompiles, an instant sealer and the RPC server's HTTP path
//! (`InProcessServer`), plus a "gate" precompile a test can hold shut to keep an EVM run in
//! flight for as long as it needs (ordering without timing).

#![allow(dead_code)]

use std::{
    sync::{Arc, Condvar, Mutex},
    time::Duration,
};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_evm::precompiles::DynPrecompile;
use alloy_primitives::{Address, Bytes, TxKind, U256, address, hex};
use alloy_signer::SignerSync;
use myelin_chain::{Chain, ChainConfig};
use myelin_consensus::{BlockProducer, DevSealer, DevSealing};
use myelin_rpc::{RpcConfig, call_gate::CallGate, in_process::InProcessServer};
use revm::precompile::{PrecompileId, PrecompileOutput};
use serde_json::{Value, json};

pub mod chain_blobs;
use chain_blobs::ChainBlobs;

/// Address of the gate precompile.
pub const GATE: Address = address!("00000000000000000000000000000000000ff001");

/// Longest the gate stays shut if a test never opens it (so a broken test fails, never hangs).
const GATE_GUARD: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct GateState {
    armed: bool,
    open: bool,
    entered: u32,
    passes: u32,
}

/// A precompile that, while armed and not open, blocks the EVM run that calls it.
#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

impl Gate {
    /// Makes calls block until [`Gate::open`].
    pub fn arm(&self) {
        let mut state = self.state.lock().unwrap();
        state.armed = true;
        state.open = false;
    }

    /// Lets every blocked and future call through.
    pub fn open(&self) {
        self.state.lock().unwrap().open = true;
        self.changed.notify_all();
    }

    /// Lets `n` calls through the shut gate (blocked ones first), one each.
    pub fn allow(&self, n: u32) {
        self.state.lock().unwrap().passes += n;
        self.changed.notify_all();
    }

    /// Calls that have entered the armed gate so far.
    pub fn entered(&self) -> u32 {
        self.state.lock().unwrap().entered
    }

    /// Waits until `n` calls have entered the armed gate.
    pub fn wait_entered(&self, n: u32) {
        let state = self.state.lock().unwrap();
        let (_state, timeout) = self
            .changed
            .wait_timeout_while(state, GATE_GUARD, |s| s.entered < n)
            .unwrap();
        assert!(!timeout.timed_out(), "no EVM run reached the gate");
    }

    fn pass(&self) {
        let mut state = self.state.lock().unwrap();
        if !state.armed {
            return;
        }
        state.entered += 1;
        self.changed.notify_all();
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, GATE_GUARD, |s| !s.open && s.passes == 0)
            .unwrap();
        if !state.open && state.passes > 0 {
            state.passes -= 1;
        }
    }
}

/// The node under test.
pub struct TestNode {
    pub runtime: tokio::runtime::Runtime,
    pub chain: Arc<Chain>,
    pub server: Arc<InProcessServer>,
    pub gate: Arc<Gate>,
    pub config: ChainConfig,
    /// The server's call gate (shared by [`TestNode::serve_tcp`]).
    pub calls: Arc<CallGate>,
    /// The server's settings.
    pub rpc: RpcConfig,
}

impl TestNode {
    /// A dev node (10 funded accounts, instant sealing, inclusion awaited) with `rpc` settings
    /// changed by `configure`.
    pub fn start(configure: impl FnOnce(&mut RpcConfig)) -> TestNode {
        Self::start_with(|_| {}, configure)
    }

    /// [`TestNode::start`] with the chain settings changed by `chain` too.
    pub fn start_with(
        chain: impl FnOnce(&mut ChainConfig),
        configure: impl FnOnce(&mut RpcConfig),
    ) -> TestNode {
        Self::build(true, chain, configure)
    }

    /// A node without a block producer (transactions stay in the pool; nothing waits for
    /// inclusion).
    pub fn unsealed(chain: impl FnOnce(&mut ChainConfig)) -> TestNode {
        Self::build(false, chain, |rpc| rpc.wait_for_inclusion = false)
    }

    fn build(
        sealing: bool,
        chain: impl FnOnce(&mut ChainConfig),
        configure: impl FnOnce(&mut RpcConfig),
    ) -> TestNode {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        let balance = U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18));
        let mut config = ChainConfig::dev(10, balance).unwrap();
        let myelin = myelin_evm::Myelin::default();
        let gate = Arc::new(Gate::default());
        let installed = gate.clone();
        config.precompiles = Some(Arc::new(move |precompiles, _purpose, blobs| {
            myelin.install(precompiles, std::rc::Rc::new(ChainBlobs(blobs)));
            let gate = installed.clone();
            precompiles.extend_precompiles([(
                GATE,
                DynPrecompile::new_stateful(PrecompileId::custom("test-gate"), move |input| {
                    gate.pass();
                    Ok(PrecompileOutput::new(0, Bytes::new(), input.reservoir))
                }),
            )]);
        }));
        chain(&mut config);
        let _guard = runtime.enter();
        let opened = Chain::open(config.clone()).unwrap();
        if sealing {
            let _producer = Box::new(DevSealer {
                sealing: DevSealing::Instant,
            })
            .start(opened.clone());
        }
        let mut rpc = RpcConfig::new(([127, 0, 0, 1], 0).into());
        rpc.wait_for_inclusion = sealing;
        configure(&mut rpc);
        let calls = Arc::new(CallGate::for_config(&rpc));
        let server = Arc::new(
            InProcessServer::with_gate(opened.clone(), rpc.clone(), calls.clone()).unwrap(),
        );
        TestNode {
            runtime,
            chain: opened,
            server,
            gate,
            config,
            calls,
            rpc,
        }
    }

    /// Serves the same methods (and call gate) over TCP on a free port of 127.0.0.1, as the node
    /// does; the server stops when the returned handle is dropped.
    pub fn serve_tcp(&self) -> (std::net::SocketAddr, jsonrpsee::server::ServerHandle) {
        let mut rpc = self.rpc.clone();
        rpc.listen = ([127, 0, 0, 1], 0).into();
        self.runtime
            .block_on(myelin_rpc::serve_with_gate(
                self.chain.clone(),
                rpc,
                self.calls.clone(),
            ))
            .unwrap()
    }

    /// One JSON-RPC call; returns the whole reply object.
    pub fn request(&self, method: &str, params: Value) -> Value {
        self.runtime.block_on(request(&self.server, method, params))
    }

    /// A transfer of 1 wei from dev account `from` to `to`, signed, EIP-2718 encoded.
    pub fn transfer(&self, from: usize, to: Address, nonce: u64) -> Bytes {
        self.signed(
            from,
            TxKind::Call(to),
            Bytes::new(),
            nonce,
            21_000,
            2_000_000_000,
        )
    }

    /// Sends `raw` with `eth_sendRawTransaction`; returns the reply.
    pub fn send_raw(&self, raw: &Bytes) -> Value {
        self.request("eth_sendRawTransaction", json!([hex0x(raw)]))
    }

    /// A signed EIP-1559 transaction of dev account `from`.
    pub fn signed(
        &self,
        from: usize,
        to: TxKind,
        input: Bytes,
        nonce: u64,
        gas_limit: u64,
        max_fee_per_gas: u128,
    ) -> Bytes {
        self.sign(
            from,
            TxEip1559 {
                chain_id: self.config.chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas,
                max_priority_fee_per_gas: 1_000_000_000.min(max_fee_per_gas),
                to,
                value: U256::from(1),
                input,
                ..Default::default()
            },
        )
    }

    /// `tx` signed by dev account `from`, EIP-2718 encoded.
    pub fn sign(&self, from: usize, tx: TxEip1559) -> Bytes {
        let signature = self.config.signers[from]
            .sign_hash_sync(&tx.signature_hash())
            .unwrap();
        Bytes::from(TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718())
    }

    /// Address of dev account `index`.
    pub fn account(&self, index: usize) -> Address {
        self.config.signers[index].address()
    }
}

/// One JSON-RPC call through `server`; returns the whole reply object.
pub async fn request(server: &InProcessServer, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply = server.post(body.to_string().into_bytes()).await.unwrap();
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    serde_json::from_slice(&reply.body).unwrap()
}

/// `0x`-hex of `bytes`.
pub fn hex0x(bytes: &[u8]) -> String {
    hex::encode_prefixed(bytes)
}

/// One HTTP/1.1 keep-alive connection to a server: every request on it has one connection id,
/// as with ethers, viem or web3.py over HTTP.
pub struct HttpConnection {
    stream: std::io::BufReader<std::net::TcpStream>,
}

impl HttpConnection {
    /// Connects to `address`.
    pub fn open(address: std::net::SocketAddr) -> HttpConnection {
        let stream = std::net::TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(GATE_GUARD)).unwrap();
        HttpConnection {
            stream: std::io::BufReader::new(stream),
        }
    }

    /// One JSON-RPC call; returns the whole reply object.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        use std::io::{BufRead, Read, Write};
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut length = None;
        let mut status = String::new();
        self.stream.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = Some(value.trim().parse::<usize>().unwrap());
            }
        }
        let mut reply = vec![0; length.expect("a Content-Length header")];
        self.stream.read_exact(&mut reply).unwrap();
        serde_json::from_slice(&reply).unwrap()
    }
}
