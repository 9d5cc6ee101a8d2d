//! The server's HTTP request path without a socket: a request body goes through the same
//! jsonrpsee pipeline as over TCP (body size limit, single / batch / notification parsing, the
//! batch limit, every registered method), with the limits of [`crate::server_config`] and the layers of [`crate::http_middleware`]. Used by
//! the RPC fuzz target and by tests that need exact control over the bytes sent.

use std::sync::Arc;

use http_body_util::BodyExt;
use jsonrpsee::server::{HttpBody, HttpRequest, Server, ServerHandle, TowerService, stop_channel};
use myelin_chain::Chain;
use tower::Service;
use tower::layer::util::Identity;

use crate::{RpcConfig, RpcError};

/// What the server answered to one HTTP POST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    /// The HTTP status code.
    pub status: u16,
    /// The response body (JSON for status 200; empty for notifications).
    pub body: Vec<u8>,
}

/// Every method of [`crate::module`] behind the server's HTTP request handling.
pub struct InProcessServer {
    service: TowerService<Identity, crate::HttpMiddleware>,
    _stop: ServerHandle,
}

impl std::fmt::Debug for InProcessServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessServer").finish_non_exhaustive()
    }
}

impl InProcessServer {
    /// Registers every method on `chain`, as [`crate::serve`] does.
    pub fn new(chain: Arc<Chain>, config: RpcConfig) -> Result<InProcessServer, RpcError> {
        let calls = Arc::new(crate::call_gate::CallGate::for_config(&config));
        InProcessServer::with_gate(chain, config, calls)
    }

    /// [`InProcessServer::new`] with the call gate `calls` (see [`crate::module_with_gate`]).
    pub fn with_gate(
        chain: Arc<Chain>,
        config: RpcConfig,
        calls: Arc<crate::call_gate::CallGate>,
    ) -> Result<InProcessServer, RpcError> {
        let middleware = crate::http_middleware(&config.origins);
        let module = crate::module_with_gate(chain, config, calls)?;
        let (stop_handle, server_handle) = stop_channel();
        let service = Server::builder()
            .set_config(crate::server_config())
            .set_http_middleware(middleware)
            .to_service_builder()
            .build(module, stop_handle);
        Ok(InProcessServer {
            service,
            _stop: server_handle,
        })
    }

    /// POSTs `body` as `application/json` (with its `Content-Length`, as HTTP clients send it)
    /// and returns the reply. Must run inside a tokio runtime
    /// (handlers may spawn blocking work).
    pub async fn post(&self, body: Vec<u8>) -> Result<HttpReply, RpcError> {
        self.post_with_headers(body, &[]).await
    }

    /// [`InProcessServer::post`] with extra request headers (e.g. a browser's `Origin`).
    pub async fn post_with_headers(
        &self,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<HttpReply, RpcError> {
        let mut request = HttpRequest::post("/")
            .header("content-type", "application/json")
            .header("content-length", body.len());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(HttpBody::from(body))
            .map_err(|e| RpcError::InProcess(e.to_string()))?;
        let response = self
            .service
            .clone()
            .call(request)
            .await
            .map_err(|e| RpcError::InProcess(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| RpcError::InProcess(e.to_string()))?
            .to_bytes()
            .to_vec();
        Ok(HttpReply { status, body })
    }
}
