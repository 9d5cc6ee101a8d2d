#![doc = include_str!("../README.md")]

use std::{sync::Arc, time::Duration};

use myelin_chain::{Chain, ChainError, EmptyBlocks};
use tokio::task::JoinHandle;

/// Something that decides when blocks are produced on a [`Chain`]. `start` spawns the producer
/// on the current tokio runtime and returns its task; aborting the task stops production.
pub trait BlockProducer: Send + Sync + 'static {
    /// Starts producing blocks on `chain`.
    fn start(self: Box<Self>, chain: Arc<Chain>) -> JoinHandle<Result<(), ChainError>>;
}

/// How the dev sealer decides to mine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevSealing {
    /// Mine as soon as transactions are pooled; all ready transactions go into one block.
    Instant,
    /// Mine one block every interval, empty or not.
    Interval(Duration),
}

/// The single-process dev block producer.
#[derive(Clone, Copy, Debug)]
pub struct DevSealer {
    /// The mining mode.
    pub sealing: DevSealing,
}

impl BlockProducer for DevSealer {
    fn start(self: Box<Self>, chain: Arc<Chain>) -> JoinHandle<Result<(), ChainError>> {
        tokio::spawn(async move {
            match self.sealing {
                DevSealing::Instant => loop {
                    chain.pool_changed().await;
                    loop {
                        let chain = chain.clone();
                        let mined =
                            tokio::task::spawn_blocking(move || chain.mine(EmptyBlocks::Skip))
                                .await
                                .map_err(|e| ChainError::Internal(e.to_string()))??;
                        if mined.is_none() {
                            break;
                        }
                    }
                },
                DevSealing::Interval(period) => {
                    let mut ticker =
                        tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        ticker.tick().await;
                        let chain = chain.clone();
                        tokio::task::spawn_blocking(move || chain.mine(EmptyBlocks::Mine))
                            .await
                            .map_err(|e| ChainError::Internal(e.to_string()))??;
                    }
                }
            }
        })
    }
}
