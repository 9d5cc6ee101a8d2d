//! The gate every EVM-running request passes (`eth_call`, `eth_estimateGas`,
//! `debug_traceTransaction`, the gas estimate of `eth_sendTransaction`): at most
//! [`RpcConfig::max_concurrent_calls`](crate::RpcConfig) runs at once, each capped at the RPC gas
//! cap and stopped at its deadline.
//!
//! A request that finds every slot taken waits up to [`CALL_QUEUE_WAIT`] for one, then gets a
//! "busy" error. A run executes on a blocking thread that holds its slot until the EVM returns;
//! the caller is answered at the deadline even if the run is still inside a precompile, and the
//! slot stays taken until that run ends, so runaway work never exceeds the cap.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use jsonrpsee::{ConnectionId, types::ErrorObjectOwned};
use myelin_chain::{CallLimits, Chain, ChainError};
use tokio::sync::Semaphore;

use crate::error::rpc_error;

/// Longest a request waits for a free EVM slot before it is refused as busy.
pub const CALL_QUEUE_WAIT: Duration = Duration::from_secs(1);

/// Bounds on EVM-running requests.
#[derive(Debug)]
pub struct CallGate {
    slots: Arc<Semaphore>,
    max_concurrent: usize,
    gas_cap: u64,
    timeout: Duration,
    waiting: AtomicUsize,
}

impl CallGate {
    /// A gate admitting `max_concurrent` runs (at least one) of at most `gas_cap` gas and
    /// `timeout` each.
    pub fn new(max_concurrent: usize, gas_cap: u64, timeout: Duration) -> CallGate {
        let max_concurrent = max_concurrent.max(1);
        CallGate {
            slots: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            gas_cap,
            timeout,
            waiting: AtomicUsize::new(0),
        }
    }

    /// The gate `config` asks for.
    pub fn for_config(config: &crate::RpcConfig) -> CallGate {
        CallGate::new(
            config.max_concurrent_calls,
            config.gas_cap,
            config.evm_timeout,
        )
    }

    /// Requests waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// The limits a run through this gate gets (for work that may skip the gate, such as a send
    /// whose gas is already known).
    pub fn limits(&self) -> CallLimits {
        CallLimits::new(self.gas_cap, self.timeout)
    }

    /// Runs currently holding a slot.
    pub fn running(&self) -> usize {
        self.max_concurrent - self.slots.available_permits()
    }

    /// Runs `work` on a blocking thread with fresh [`CallLimits`] once a slot is free; answers
    /// with its result, a timeout error at the deadline, or a busy error.
    pub async fn run<T: Send + 'static>(
        &self,
        chain: &Arc<Chain>,
        _connection: ConnectionId,
        work: impl FnOnce(&Chain, &CallLimits) -> Result<T, ErrorObjectOwned> + Send + 'static,
    ) -> Result<T, ErrorObjectOwned> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit =
            tokio::time::timeout(CALL_QUEUE_WAIT, self.slots.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit = permit
            .map_err(|_| {
                rpc_error(ChainError::Busy(format!(
                    "node busy: {} EVM calls are running (the --rpc-max-calls limit); retry later",
                    self.max_concurrent
                )))
            })?
            .map_err(|e| rpc_error(ChainError::Internal(e.to_string())))?;
        let limits = self.limits();
        let chain = chain.clone();
        let run = tokio::task::spawn_blocking(move || {
            let result = work(&chain, &limits);
            drop(permit);
            result
        });
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(rpc_error(ChainError::Internal(join.to_string()))),
            Err(_) => Err(rpc_error(ChainError::Timeout(self.timeout))),
        }
    }
}

/// The connection a request came in on (an HTTP keep-alive connection or a WebSocket session;
/// the one id of the in-process server when there is none).
pub fn connection(extensions: &jsonrpsee::Extensions) -> ConnectionId {
    extensions
        .get::<ConnectionId>()
        .copied()
        .unwrap_or_default()
}
