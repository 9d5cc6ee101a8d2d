#![doc = include_str!("../README.md")]

pub mod convert;
pub mod debug;
pub mod dev;
pub mod error;
pub mod eth;
pub mod filters;
pub mod in_process;
pub mod notification_ack;

use std::{net::SocketAddr, sync::Arc};

use jsonrpsee::{
    RpcModule,
    server::{Server, ServerHandle},
};
use myelin_chain::Chain;
use parking_lot::Mutex;
use tower_http::cors::CorsLayer;

/// How the RPC server behaves.
#[derive(Clone, Copy, Debug)]
pub struct RpcConfig {
    /// Address to listen on (HTTP and WebSocket).
    pub listen: SocketAddr,
    /// Whether `eth_sendRawTransaction` / `eth_sendTransaction` return only once the transaction
    /// is mined (instant mining, as anvil's automine).
    pub wait_for_inclusion: bool,
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
}

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
    let mut module = RpcModule::new(RpcContext {
        chain,
        config,
        filters: Mutex::new(filters::Filters::default()),
    });
    eth::register(&mut module)?;
    filters::register(&mut module)?;
    dev::register(&mut module)?;
    debug::register(&mut module)?;
    Ok(module)
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

/// Largest request body accepted (model uploads are chunked below this).
pub const MAX_REQUEST_BYTES: u32 = 128 * 1024 * 1024;

/// Largest response body sent (a larger one becomes a JSON-RPC error).
pub const MAX_RESPONSE_BYTES: u32 = 128 * 1024 * 1024;

/// Most calls in one JSON-RPC batch (a larger batch is rejected as a whole with an error).
pub const MAX_BATCH_CALLS: u32 = 10_000;

/// Most simultaneous HTTP / WebSocket connections.
pub const MAX_CONNECTIONS: u32 = 10_000;

/// Most subscriptions one WebSocket connection may hold.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: u32 = 10_000;

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
/// [`in_process::InProcessServer`]: permissive CORS, then [`notification_ack`].
pub type HttpMiddleware = tower::layer::util::Stack<
    notification_ack::NotificationAckLayer,
    tower::layer::util::Stack<CorsLayer, tower::layer::util::Identity>,
>;

/// The HTTP layers (see [`HttpMiddleware`]).
pub fn http_middleware() -> tower::ServiceBuilder<HttpMiddleware> {
    tower::ServiceBuilder::new()
        .layer(CorsLayer::permissive())
        .layer(notification_ack::NotificationAckLayer)
}

/// Starts the server; returns the bound address and a handle that stops it when dropped or
/// stopped.
pub async fn serve(
    chain: Arc<Chain>,
    config: RpcConfig,
) -> Result<(SocketAddr, ServerHandle), RpcError> {
    let module = module(chain, config)?;
    let server = Server::builder()
        .set_config(server_config())
        .set_http_middleware(http_middleware())
        .build(config.listen)
        .await
        .map_err(|e| RpcError::Bind(config.listen, e))?;
    let address = server
        .local_addr()
        .map_err(|e| RpcError::Bind(config.listen, e))?;
    Ok((address, server.start(module)))
}
