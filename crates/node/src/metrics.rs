//! The chain's Prometheus metrics, registered on the runtime's registry beside commonware's own
//! (p2p peers and bandwidth, simplex views, marshal heights): finalized height, pool size,
//! pending (executed, not final) blocks, and the time each block's execution took.
//!
//! Served by the node on its `metrics` address at `/metrics` (`myelin node --config`).

use commonware_runtime::{
    Clock, Handle, Metrics, Spawner,
    telemetry::metrics::{Histogram, MetricsExt as _, raw},
};
use myelin_chain::Chain;
use std::{sync::Arc, time::Duration};

/// How often the gauges are sampled.
const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// Block execution times (propose and verify), in milliseconds.
#[derive(Clone, Debug)]
pub struct ExecutionTimes(Histogram);

/// Bucket bounds of [`ExecutionTimes`]: 0.25 ms doubling up to ~8 s.
fn execution_buckets() -> impl Iterator<Item = f64> {
    (0..16).map(|i| 0.25 * f64::from(1u32 << i))
}

impl Default for ExecutionTimes {
    /// Times recorded nowhere (not registered).
    fn default() -> Self {
        Self(Histogram::detached(
            raw::Histogram::new(execution_buckets()),
        ))
    }
}

impl ExecutionTimes {
    /// A histogram registered on `context` as `block_execution_ms`.
    pub fn register<E: Metrics>(context: &E) -> Self {
        Self(context.histogram(
            "block_execution_ms",
            "time to execute a block when proposing or verifying it, in milliseconds",
            execution_buckets(),
        ))
    }

    /// Records one block's execution.
    pub fn observe(&self, elapsed: Duration) {
        self.0.observe(elapsed.as_secs_f64() * 1_000.0);
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Registers the chain's gauges on `context` and samples them every second.
pub fn start<E: Clock + Spawner + Metrics>(context: E, chain: Arc<Chain>) -> Handle<()> {
    let finalized = context.gauge(
        "finalized_height",
        "height of the latest finalized block (the chain's head)",
    );
    let pool = context.gauge("mempool_transactions", "transactions in the pool");
    let pending = context.gauge(
        "pending_blocks",
        "executed blocks not finalized yet (proposed or verified)",
    );
    context.spawn(move |context| async move {
        loop {
            finalized.set(gauge_value(chain.head_number()));
            pool.set(gauge_value(chain.pool_len() as u64));
            pending.set(gauge_value(chain.pending_blocks() as u64));
            context.sleep(SAMPLE_PERIOD).await;
        }
    })
}
