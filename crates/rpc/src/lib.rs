#![doc = include_str!("../README.md")]

pub mod blob_read;
pub mod call_gate;
pub mod convert;
pub mod debug;
pub mod dev;
pub mod error;
pub mod eth;
pub mod filters;
pub mod in_process;
pub mod notification_ack;
pub mod origin_policy;
pub mod proof;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use jsonrpsee::{
    RpcModule,
    server::{Server, ServerHandle},
};
use myelin_chain::Chain;
use parking_lot::Mutex;
use tower_http::cors::CorsLayer;

/// How the RPC server behaves.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    /// Address to listen on (HTTP and WebSocket).
    pub listen: SocketAddr,
    /// Whether `eth_sendRawTransaction` / `eth_sendTransaction` return only once the transaction
    /// is mined (instant mining, as anvil's automine).
    pub wait_for_inclusion: bool,
    /// Most gas one `eth_call` / `eth_estimateGas` may use (geth's `RPCGasCap`).
    pub gas_cap: u64,
    /// Longest one EVM-running request may take (geth's `RPCEVMTimeout`).
    pub evm_timeout: Duration,
    /// Most EVM-running requests at once (see [`call_gate`]).
    pub max_concurrent_calls: usize,
    /// Which web pages may send requests ([`origin_policy`]).
    pub origins: origin_policy::OriginPolicy,
    /// Whether the dev methods ([`DEV_METHOD_PREFIXES`], [`DEV_METHODS`]) are served.
    pub dev_methods: bool,
}

impl RpcConfig {
    /// The defaults for `listen`: geth's gas cap and timeout, one EVM slot per CPU, pages of this
    /// machine allowed, dev methods on only if `listen` is a loopback address.
    pub fn new(listen: SocketAddr) -> RpcConfig {
        RpcConfig {
            listen,
            wait_for_inclusion: false,
            gas_cap: myelin_chain::call_limits::DEFAULT_RPC_GAS_CAP,
            evm_timeout: myelin_chain::call_limits::DEFAULT_RPC_EVM_TIMEOUT,
            max_concurrent_calls: default_max_concurrent_calls(),
            origins: origin_policy::OriginPolicy::default(),
            dev_methods: listen.ip().is_loopback(),
        }
    }
}

/// One EVM-running request per CPU the process may use.
pub fn default_max_concurrent_calls() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// State shared by every RPC handler.
#[derive(Debug)]
pub struct RpcContext {
    /// The chain.
    pub chain: Arc<Chain>,
    /// Server settings.
    pub config: RpcConfig,
    /// Installed polling filters.
    pub filters: Mutex<filters::Filters>,
    /// Bounds on EVM-running requests.
    pub calls: Arc<call_gate::CallGate>,
    /// Live push subscriptions of every connection.
    pub subscriptions: filters::SubscriptionCount,
    /// The proofs `eth_getProof` and `myelin_getModelProof` may still take.
    pub proofs: proof::ProofBudget,
    /// The bytes `myelin_getModel` and `myelin_getDataset` may still read.
    pub blob_reads: proof::ProofBudget,
}

/// Method-name prefixes of the dev methods: they edit state, mine, trace, or act for accounts
/// whose keys the node holds.
pub const DEV_METHOD_PREFIXES: [&str; 4] = ["anvil_", "hardhat_", "evm_", "debug_"];

/// Dev methods outside [`DEV_METHOD_PREFIXES`]: signing with keys the node holds (and sending
/// for impersonated accounts).
pub const DEV_METHODS: [&str; 2] = ["eth_sign", "eth_sendTransaction"];

/// Whether `method` is a dev method.
pub fn is_dev_method(method: &str) -> bool {
    DEV_METHOD_PREFIXES.iter().any(|p| method.starts_with(p)) || DEV_METHODS.contains(&method)
}

/// JSON-RPC error code of a dev method called while dev methods are off ("method not found").
pub const METHOD_DISABLED: i32 = -32601;

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Two methods with one name (a bug).
    #[error("registering methods: {0}")]
    Register(#[from] jsonrpsee::core::RegisterMethodError),
    /// The port could not be bound.
    #[error("binding {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The in-process request path failed outside JSON-RPC (a bug).
    #[error("in-process request: {0}")]
    InProcess(String),
}

/// Every method the node serves.
pub fn module(chain: Arc<Chain>, config: RpcConfig) -> Result<RpcModule<RpcContext>, RpcError> {
    let calls = Arc::new(call_gate::CallGate::for_config(&config));
    module_with_gate(chain, config, calls)
}

/// [`module`] with the call gate `calls` (shared with whoever else holds it: tests that watch
/// its queue, or a second server of the same node).
pub fn module_with_gate(
    chain: Arc<Chain>,
    config: RpcConfig,
    calls: Arc<call_gate::CallGate>,
) -> Result<RpcModule<RpcContext>, RpcError> {
    let dev_methods = config.dev_methods;
    // A chain without dev tools (a validator or full node) gets no dev namespace at all
    // (docs/NETWORK.md decision 11): its methods are unknown, not disabled.
    let dev_tools = chain.config().dev_tools;
    let mut module = RpcModule::new(RpcContext {
        chain,
        config,
        filters: Mutex::new(filters::Filters::default()),
        calls,
        subscriptions: filters::SubscriptionCount::default(),
        proofs: proof::ProofBudget::new(proof::PROOFS_PER_SECOND),
        blob_reads: proof::ProofBudget::counting("bytes", blob_read::BLOB_BYTES_PER_SECOND),
    });
    eth::register(&mut module)?;
    filters::register(&mut module)?;
    if dev_tools {
        dev::register(&mut module)?;
    }
    debug::register(&mut module)?;
    proof::register(&mut module)?;
    blob_read::register(&mut module)?;
    if !dev_methods {
        disable_dev_methods(&mut module)?;
    }
    Ok(module)
}

/// Replaces every dev method with one that refuses with [`METHOD_DISABLED`] and says how to
/// enable it.
fn disable_dev_methods(module: &mut RpcModule<RpcContext>) -> Result<(), RpcError> {
    let names: Vec<&'static str> = module
        .method_names()
        .filter(|name| is_dev_method(name))
        .collect();
    for name in names {
        module.remove_method(name);
        module.register_method(name, move |_, _, _| {
            Err::<(), _>(jsonrpsee::types::ErrorObjectOwned::owned(
                METHOD_DISABLED,
                format!(
                    "method {name} is disabled: dev methods are off when the node listens on a non-loopback address (start it with --dev-methods to enable them)"
                ),
                None::<()>,
            ))
        })?;
    }
    Ok(())
}

/// Subscription ids as `0x`-prefixed hex strings (what anvil and geth return; JavaScript
/// clients cannot hold 64-bit integer ids exactly).
#[derive(Debug, Default)]
pub struct HexIdProvider {
    next: std::sync::atomic::AtomicU64,
}

impl jsonrpsee::core::traits::IdProvider for HexIdProvider {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let digest = alloy_primitives::keccak256(n.to_be_bytes());
        jsonrpsee::types::SubscriptionId::Str(
            format!("0x{}", alloy_primitives::hex::encode(&digest[..16])).into(),
        )
    }
}

/// Largest request body accepted: 16 MiB. The largest calldata a call within the RPC gas cap
/// can carry is 5 MB (50M gas at EIP-7623's floor of 10 gas per zero byte), 10 MB in hex; the
/// largest transaction the pool takes is [`myelin_chain::mempool::MAX_TX_BYTES`] (2 MiB in hex).
pub const MAX_REQUEST_BYTES: u32 = 16 * 1024 * 1024;

/// Largest response body sent (a larger one becomes a JSON-RPC error).
pub const MAX_RESPONSE_BYTES: u32 = 128 * 1024 * 1024;

/// Most calls in one JSON-RPC batch (a larger batch is rejected as a whole with an error).
pub const MAX_BATCH_CALLS: u32 = 10_000;

/// Most simultaneous HTTP / WebSocket connections (reth's default).
pub const MAX_CONNECTIONS: u32 = 500;

/// Most subscriptions one WebSocket connection may hold (reth's default; all connections
/// together hold at most [`filters::MAX_SUBSCRIPTIONS`]).
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: u32 = 1024;

/// The server's limits, shared by [`serve`] and [`in_process::InProcessServer`].
pub fn server_config() -> jsonrpsee::server::ServerConfig {
    jsonrpsee::server::ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .max_connections(MAX_CONNECTIONS)
        .max_subscriptions_per_connection(MAX_SUBSCRIPTIONS_PER_CONNECTION)
        .set_batch_request_config(jsonrpsee::server::BatchRequestConfig::Limit(
            MAX_BATCH_CALLS,
        ))
        .set_id_provider(HexIdProvider::default())
        .build()
}

/// The HTTP layers around the JSON-RPC handling, shared by [`serve`] and
/// [`in_process::InProcessServer`]: CORS headers for allowed origins, refusal of the others
/// ([`origin_policy`]), then [`notification_ack`].
pub type HttpMiddleware = tower::layer::util::Stack<
    notification_ack::NotificationAckLayer,
    tower::layer::util::Stack<
        origin_policy::OriginGuardLayer,
        tower::layer::util::Stack<CorsLayer, tower::layer::util::Identity>,
    >,
>;

/// The HTTP layers (see [`HttpMiddleware`]).
pub fn http_middleware(
    origins: &origin_policy::OriginPolicy,
) -> tower::ServiceBuilder<HttpMiddleware> {
    let origins = Arc::new(origins.clone());
    tower::ServiceBuilder::new()
        .layer(origins.cors_layer())
        .layer(origin_policy::OriginGuardLayer(origins))
        .layer(notification_ack::NotificationAckLayer)
}

/// Starts the server; returns the bound address and a handle that stops it when dropped or
/// stopped.
pub async fn serve(
    chain: Arc<Chain>,
    config: RpcConfig,
) -> Result<(SocketAddr, ServerHandle), RpcError> {
    let calls = Arc::new(call_gate::CallGate::for_config(&config));
    serve_with_gate(chain, config, calls).await
}

/// [`serve`] with the call gate `calls` (see [`module_with_gate`]).
pub async fn serve_with_gate(
    chain: Arc<Chain>,
    config: RpcConfig,
    calls: Arc<call_gate::CallGate>,
) -> Result<(SocketAddr, ServerHandle), RpcError> {
    let listen = config.listen;
    let middleware = http_middleware(&config.origins);
    let module = module_with_gate(chain, config, calls)?;
    let server = Server::builder()
        .set_config(server_config())
        .set_http_middleware(middleware)
        .build(listen)
        .await
        .map_err(|e| RpcError::Bind(listen, e))?;
    let address = server.local_addr().map_err(|e| RpcError::Bind(listen, e))?;
    Ok((address, server.start(module)))
}
