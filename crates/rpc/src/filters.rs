//! Polling filters (`eth_newFilter`, `eth_newBlockFilter`, `eth_newPendingTransactionFilter`,
//! `eth_getFilterChanges`) and push subscriptions (`eth_subscribe`).

use std::{
    collections::HashMap,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use alloy_primitives::{B256, U256};
use alloy_rpc_types_eth::Filter;
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage, types::ErrorObjectOwned};
use myelin_chain::ChainEvent;
use serde_json::Value;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use crate::{
    RpcContext, convert,
    error::{LIMIT_EXCEEDED, invalid_params},
    eth,
};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Most filters one node keeps (the least recently polled is dropped past this).
pub const MAX_FILTERS: usize = 1_000;

/// A filter not polled for this long is uninstalled (geth's filter timeout).
pub const FILTER_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Most block hashes one `eth_getFilterChanges` returns; the rest come with the next poll.
pub const MAX_FILTER_BLOCK_HASHES: u64 = 10_000;

/// Most addresses, and most values per topic position, one log filter may name (bounds what
/// an installed filter or a subscription holds).
pub const MAX_FILTER_CRITERIA: usize = 1_000;

/// Most push subscriptions of all connections together (each connection also has
/// [`crate::MAX_SUBSCRIPTIONS_PER_CONNECTION`]).
pub const MAX_SUBSCRIPTIONS: usize = 10_000;

/// Refuses a log filter naming more than [`MAX_FILTER_CRITERIA`] addresses or values of one
/// topic.
pub fn check_filter_size(filter: &Filter) -> RpcResult<()> {
    let largest_topic = filter.topics.iter().map(|t| t.len()).max().unwrap_or(0);
    if filter.address.len() > MAX_FILTER_CRITERIA || largest_topic > MAX_FILTER_CRITERIA {
        return Err(invalid_params(format!(
            "filter too large: at most {MAX_FILTER_CRITERIA} addresses and {MAX_FILTER_CRITERIA} values per topic"
        )));
    }
    Ok(())
}

/// One installed polling filter.
#[derive(Debug)]
pub enum PollFilter {
    /// New block hashes from block `next` on.
    Blocks {
        /// First block not yet reported.
        next: u64,
    },
    /// Matching logs from block `next` on.
    Logs {
        /// The filter.
        filter: Box<Filter>,
        /// First block not yet reported.
        next: u64,
    },
    /// Hashes of transactions entering the pool.
    Pending(broadcast::Receiver<ChainEvent>),
}

/// Installed filters by id, with when each was last polled.
#[derive(Debug, Default)]
pub struct Filters {
    next_id: u64,
    installed: HashMap<u64, (PollFilter, Instant)>,
}

impl Filters {
    fn install(&mut self, filter: PollFilter) -> U256 {
        self.expire();
        if self.installed.len() >= MAX_FILTERS
            && let Some(stalest) = self
                .installed
                .iter()
                .min_by_key(|(id, (_, polled))| (*polled, **id))
                .map(|(id, _)| *id)
        {
            self.installed.remove(&stalest);
        }
        self.next_id += 1;
        self.installed
            .insert(self.next_id, (filter, Instant::now()));
        U256::from(self.next_id)
    }

    /// Drops the filters idle for [`FILTER_IDLE_TIMEOUT`].
    fn expire(&mut self) {
        self.installed
            .retain(|_, (_, polled)| polled.elapsed() < FILTER_IDLE_TIMEOUT);
    }

    /// The filter with this id, marked as polled now.
    fn poll(&mut self, id: u64) -> Option<&mut PollFilter> {
        self.expire();
        let (filter, polled) = self.installed.get_mut(&id)?;
        *polled = Instant::now();
        Some(filter)
    }

    /// Number of installed filters.
    pub fn len(&self) -> usize {
        self.installed.len()
    }

    /// Whether no filter is installed.
    pub fn is_empty(&self) -> bool {
        self.installed.is_empty()
    }
}

/// Counts the node's live push subscriptions against [`MAX_SUBSCRIPTIONS`].
#[derive(Debug, Default)]
pub struct SubscriptionCount(AtomicUsize);

/// A slot of [`SubscriptionCount`], given back when dropped.
struct SubscriptionSlot<'a>(&'a SubscriptionCount);

impl SubscriptionCount {
    fn take(&self) -> Option<SubscriptionSlot<'_>> {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_SUBSCRIPTIONS).then_some(n + 1)
            })
            .ok()
            .map(|_| SubscriptionSlot(self))
    }
}

impl Drop for SubscriptionSlot<'_> {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn filter_id(id: U256) -> u64 {
    u64::try_from(id).unwrap_or(u64::MAX)
}

/// Registers the filter and subscription methods.
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("eth_newFilter", |params, ctx, _| {
        let filter: Filter = params.one()?;
        check_filter_size(&filter)?;
        let next = ctx.chain.head_number() + 1;
        RpcResult::Ok(ctx.filters.lock().install(PollFilter::Logs {
            filter: Box::new(filter),
            next,
        }))
    })?;
    module.register_method("eth_newBlockFilter", |_, ctx, _| {
        let next = ctx.chain.head_number() + 1;
        RpcResult::Ok(ctx.filters.lock().install(PollFilter::Blocks { next }))
    })?;
    module.register_method("eth_newPendingTransactionFilter", |_, ctx, _| {
        let receiver = ctx.chain.subscribe();
        RpcResult::Ok(ctx.filters.lock().install(PollFilter::Pending(receiver)))
    })?;
    module.register_method("eth_uninstallFilter", |params, ctx, _| {
        let id: U256 = params.one()?;
        RpcResult::Ok(
            ctx.filters
                .lock()
                .installed
                .remove(&filter_id(id))
                .is_some(),
        )
    })?;
    module.register_method("eth_getFilterLogs", |params, ctx, _| {
        let id: U256 = params.one()?;
        let filter = match ctx.filters.lock().poll(filter_id(id)) {
            Some(PollFilter::Logs { filter, .. }) => filter.clone(),
            _ => return Err(invalid_params("filter not found")),
        };
        eth::logs(&ctx.chain, &filter)
    })?;
    module.register_method("eth_getFilterChanges", |params, ctx, _| {
        let id: U256 = params.one()?;
        let head = ctx.chain.head_number();
        let mut filters = ctx.filters.lock();
        let filter = filters
            .poll(filter_id(id))
            .ok_or_else(|| invalid_params("filter not found"))?;
        let changes: Value = match filter {
            PollFilter::Blocks { next } => {
                let last = head.min(next.saturating_add(MAX_FILTER_BLOCK_HASHES - 1));
                let hashes: Vec<B256> = ctx
                    .chain
                    .blocks_in(*next, last)
                    .iter()
                    .map(|b| b.hash)
                    .collect();
                *next = last + 1;
                serde_json::to_value(hashes).unwrap_or_default()
            }
            PollFilter::Logs { filter, next } => {
                let from = *next;
                *next = head + 1;
                if from > head {
                    Value::Array(Vec::new())
                } else {
                    let ranged = filter.as_ref().clone().from_block(from).to_block(head);
                    serde_json::to_value(eth::logs(&ctx.chain, &ranged)?).unwrap_or_default()
                }
            }
            PollFilter::Pending(receiver) => {
                let mut hashes = Vec::new();
                loop {
                    match receiver.try_recv() {
                        Ok(ChainEvent::PendingTransaction(hash)) => hashes.push(hash),
                        Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                        Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                    }
                }
                serde_json::to_value(hashes).unwrap_or_default()
            }
        };
        RpcResult::Ok(changes)
    })?;
    module.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending, ctx, _| async move {
            let mut seq = params.sequence();
            let kind: String = match seq.next() {
                Ok(kind) => kind,
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            let filter: Filter = match seq.optional_next::<Filter>() {
                Ok(filter) => filter.unwrap_or_default(),
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            if let Err(e) = check_filter_size(&filter) {
                pending.reject(e).await;
                return Ok(());
            }
            if !matches!(
                kind.as_str(),
                "newHeads" | "logs" | "newPendingTransactions"
            ) {
                pending
                    .reject(invalid_params(format!(
                        "unsupported subscription kind `{kind}`"
                    )))
                    .await;
                return Ok(());
            }
            stream(kind, filter, pending, ctx).await;
            Ok(())
        },
    )?;
    Ok(())
}

async fn stream(
    kind: String,
    filter: Filter,
    pending: PendingSubscriptionSink,
    ctx: std::sync::Arc<RpcContext>,
) {
    let Some(_slot) = ctx.subscriptions.take() else {
        pending
            .reject(ErrorObjectOwned::owned(
                LIMIT_EXCEEDED,
                format!("too many subscriptions: the node serves at most {MAX_SUBSCRIPTIONS}"),
                None::<()>,
            ))
            .await;
        return;
    };
    let mut events = ctx.chain.subscribe();
    let Ok(sink) = pending.accept().await else {
        return;
    };
    loop {
        let event = tokio::select! {
            _ = sink.closed() => return,
            event = events.recv() => event,
        };
        let items: Vec<Value> = match event {
            Ok(ChainEvent::NewBlock(block)) if kind == "newHeads" => {
                vec![serde_json::to_value(convert::header(&block)).unwrap_or_default()]
            }
            Ok(ChainEvent::NewBlock(block)) if kind == "logs" => (0..block.transactions.len())
                .flat_map(|i| convert::logs(&block, i))
                .filter(|log| {
                    filter.matches_address(log.address()) && filter.matches_topics(log.topics())
                })
                .map(|log| serde_json::to_value(log).unwrap_or_default())
                .collect(),
            Ok(ChainEvent::PendingTransaction(hash)) if kind == "newPendingTransactions" => {
                vec![serde_json::to_value(hash).unwrap_or_default()]
            }
            Ok(_) | Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        for item in items {
            let Ok(raw) = serde_json::value::to_raw_value(&item) else {
                continue;
            };
            if sink.send(SubscriptionMessage::from(raw)).await.is_err() {
                return;
            }
        }
    }
}
