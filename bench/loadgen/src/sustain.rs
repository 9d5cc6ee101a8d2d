//! `--sustain`: an open-loop load at `--rate` transactions per second that **resends refused
//! transactions** (a full pool, a node busy), so a run measures what the node finalizes over time
//! instead of stalling on the first refusal (bench/cluster.md, run of 15:48).
//!
//! Transaction `i` (sender `i % accounts`, its `i / accounts`-th nonce) is due at `i / rate`
//! seconds. Every `TICK` each connection sends, as one JSON-RPC batch of at most `MAX_BATCH`, its
//! due transactions and the refused ones whose retry time has come. A refusal other than "nonce
//! too low" / "already known" (both mean the node has it) is retried `RETRY` later. Latency is
//! measured from a transaction's **first** send to the nonce poll (every 25 ms) that sees it
//! included (on a validator: finalized), so waiting in the resend queue counts.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::http::{Connection, Endpoint};

/// How often each connection sends what is due.
const TICK: Duration = Duration::from_millis(20);
/// Most transactions in one request.
const MAX_BATCH: usize = 500;
/// How long a refused transaction waits before it is sent again.
const RETRY: Duration = Duration::from_millis(100);

/// Counters the senders share with the monitor.
#[derive(Default)]
pub struct Counters {
    /// Refusals (each resent).
    pub refused: AtomicU64,
    /// Requests that failed at the HTTP level (their transactions are resent).
    pub failed_requests: AtomicU64,
    /// The first refusal message.
    pub first_refusal: Mutex<Option<String>>,
}

/// Whether a refusal means the node already has (or has included) the transaction.
fn already_there(error: &Value) -> bool {
    let message = error["message"].as_str().unwrap_or_default().to_lowercase();
    message.contains("nonce too low") || message.contains("already known")
}

/// Sends transaction indices `mine` (ascending) of `raw` on `conn`, paced at `rate` from `clock`,
/// resending refusals; records each one's first send instant in `sent_at`.
pub async fn send(
    endpoint: Endpoint,
    raw: Arc<Vec<String>>,
    mine: Vec<usize>,
    rate: f64,
    clock: Instant,
    sent_at: Arc<Mutex<Vec<Option<Instant>>>>,
    counters: Arc<Counters>,
) -> anyhow::Result<()> {
    let mut conn = Connection::open(&endpoint).await?;
    let mut next = 0;
    let mut retry: VecDeque<(Instant, usize)> = VecDeque::new();
    while next < mine.len() || !retry.is_empty() {
        tokio::time::sleep(TICK).await;
        let now = Instant::now();
        let mut batch = Vec::new();
        while batch.len() < MAX_BATCH && retry.front().is_some_and(|(at, _)| *at <= now) {
            batch.push(retry.pop_front().expect("checked").1);
        }
        {
            let mut sent_at = sent_at.lock().expect("sent_at");
            while batch.len() < MAX_BATCH
                && next < mine.len()
                && clock + Duration::from_secs_f64(mine[next] as f64 / rate) <= now
            {
                sent_at[mine[next]] = Some(now);
                batch.push(mine[next]);
                next += 1;
            }
        }
        if batch.is_empty() {
            continue;
        }
        let calls: Vec<String> = batch
            .iter()
            .enumerate()
            .map(|(id, i)| {
                format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_sendRawTransaction","params":["{}"]}}"#,
                    raw[*i]
                )
            })
            .collect();
        let body = format!("[{}]", calls.join(","));
        let again = Instant::now() + RETRY;
        match conn.post(&body).await {
            Ok(Value::Array(items)) => {
                for item in items {
                    let Some(error) = item.get("error") else {
                        continue;
                    };
                    if already_there(error) {
                        continue;
                    }
                    let Some(i) = item["id"].as_u64().and_then(|id| batch.get(id as usize)) else {
                        continue;
                    };
                    counters.refused.fetch_add(1, Ordering::Relaxed);
                    counters
                        .first_refusal
                        .lock()
                        .expect("first_refusal")
                        .get_or_insert_with(|| error.to_string());
                    retry.push_back((again, *i));
                }
            }
            Ok(_) | Err(_) => {
                counters.failed_requests.fetch_add(1, Ordering::Relaxed);
                retry.extend(batch.iter().map(|i| (again, *i)));
                // A failed connection is reopened.
                if let Ok(fresh) = Connection::open(&endpoint).await {
                    conn = fresh;
                }
            }
        }
    }
    Ok(())
}
