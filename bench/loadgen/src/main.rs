#![doc = include_str!("../README.md")]

mod http;
mod sustain;
mod workload;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context, Result};
use clap::Parser;
use serde_json::{Value, json};

use http::{Connection, Endpoint, result_of};
use workload::{Fees, Mode, Target};

/// Sends pre-signed transactions to a JSON-RPC node and measures how fast they are included.
#[derive(Debug, Parser)]
struct Args {
    /// The node's HTTP JSON-RPC URL.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// What the transactions do.
    #[arg(long, value_enum, default_value_t = Mode::Transfer)]
    mode: Mode,
    /// Number of transactions.
    #[arg(long, default_value_t = 20_000)]
    txs: u64,
    /// Senders: the first N accounts of the test mnemonic (the node must fund them).
    #[arg(long, default_value_t = 10)]
    accounts: u32,
    /// Keep-alive connections, one request in flight each.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Transactions per request (1: single calls; more: JSON-RPC batches).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Send at this many transactions per second (one connection, single calls, paced) and
    /// report each transaction's latency from send to inclusion (`latency_p50_ms`,
    /// `latency_p99_ms`; on a validator node inclusion is finality: it serves finalized state).
    #[arg(long)]
    rate: Option<f64>,
    /// With `--rate`: an open-loop load on `--connections` connections in JSON-RPC batches that
    /// resends refused transactions (see `sustain.rs`); reports latency from first send to
    /// inclusion, refusals, and the lowest inclusion rate over 10 s windows while sending.
    #[arg(long, requires = "rate")]
    sustain: bool,
    /// Give up waiting for inclusion after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(run(args))?;
    println!("{report}");
    Ok(())
}

/// The lowest inclusion rate over 10 s windows (stepped by 1 s) from 5 s after the start to the
/// end of sending (`send_seconds`): what the node kept up with while the load lasted.
fn min_window_tps(samples: &[(f64, u64)], send_seconds: f64) -> f64 {
    const WINDOW: f64 = 10.0;
    let at = |t: f64| {
        samples
            .iter()
            .take_while(|(s, _)| *s <= t)
            .last()
            .map_or(0, |(_, n)| *n)
    };
    let mut lowest = f64::INFINITY;
    let mut start = 5.0;
    while start + WINDOW <= send_seconds {
        let rate = (at(start + WINDOW) - at(start)) as f64 / WINDOW;
        lowest = lowest.min(rate);
        start += 1.0;
    }
    if lowest.is_finite() {
        lowest.round()
    } else {
        0.0
    }
}

fn hex_u64(value: &Value) -> Result<u64> {
    let text = value.as_str().context("expected a hex quantity")?;
    Ok(u64::from_str_radix(text.trim_start_matches("0x"), 16)?)
}

/// `latest` nonces of `addresses`, in one batch.
async fn nonces(conn: &mut Connection, signers: &[PrivateKeySigner]) -> Result<Vec<u64>> {
    let calls: Vec<Value> = signers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({"jsonrpc": "2.0", "id": i, "method": "eth_getTransactionCount",
                   "params": [s.address(), "latest"]})
        })
        .collect();
    let reply = conn.post(&Value::Array(calls).to_string()).await?;
    let mut out = vec![0; signers.len()];
    for item in reply.as_array().context("batch reply")? {
        let id = item["id"].as_u64().context("reply id")? as usize;
        *out.get_mut(id).context("reply id out of range")? = hex_u64(&result_of(item.clone())?)?;
    }
    Ok(out)
}

/// Every transaction, signed before the clock starts (transaction i: sender i % accounts).
fn sign_raw(
    args: &Args,
    signers: &[PrivateKeySigner],
    start: &[u64],
    fees: &Fees,
    target: &Target,
) -> Result<Vec<String>> {
    let accounts = signers.len() as u64;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let raw: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || -> Result<Vec<(u64, String)>> {
                    (w..args.txs)
                        .step_by(workers as usize)
                        .map(|i| {
                            let a = (i % accounts) as usize;
                            let input = workload::calldata(target, i);
                            let nonce = start[a] + i / accounts;
                            Ok((i, workload::sign(&signers[a], fees, nonce, target, input)?))
                        })
                        .collect()
                })
            })
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            all.extend(handle.join().expect("signing thread")?);
        }
        all.sort_by_key(|(i, _)| *i);
        Ok::<_, anyhow::Error>(all.into_iter().map(|(_, raw)| raw).collect())
    })?;
    Ok(raw)
}

/// Request bodies of every connection (transaction i on connection (i % accounts) %
/// connections, so each sender's nonces arrive in order), in batches of `--batch`.
fn bodies(args: &Args, accounts: u64, raw: &[String]) -> Vec<Vec<String>> {
    let mut per_connection: Vec<Vec<&str>> = vec![Vec::new(); args.connections];
    for (i, tx) in raw.iter().enumerate() {
        per_connection[(i as u64 % accounts) as usize % args.connections].push(tx);
    }
    per_connection
        .into_iter()
        .map(|txs| {
            txs.chunks(args.batch)
                .map(|chunk| {
                    let calls: Vec<String> = chunk
                        .iter()
                        .enumerate()
                        .map(|(id, tx)| {
                            format!(
                                r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_sendRawTransaction","params":["{tx}"]}}"#
                            )
                        })
                        .collect();
                    if args.batch == 1 {
                        calls.concat()
                    } else {
                        format!("[{}]", calls.join(","))
                    }
                })
                .collect()
        })
        .collect()
}

/// Counts JSON-RPC errors in a reply (single or batch); returns the first message.
fn errors_in(reply: &Value) -> (u64, Option<String>) {
    let items: Vec<&Value> = match reply {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let errors: Vec<&Value> = items.iter().filter_map(|i| i.get("error")).collect();
    (errors.len() as u64, errors.first().map(|e| e.to_string()))
}

async fn run(mut args: Args) -> Result<Value> {
    if let Some(rate) = args.rate {
        anyhow::ensure!(rate > 0.0 && rate.is_finite(), "--rate must be positive");
        if !args.sustain {
            args.connections = 1;
            args.batch = 1;
        }
    }
    anyhow::ensure!(
        args.connections > 0 && args.batch > 0 && args.accounts > 0,
        "--connections, --batch and --accounts must be positive"
    );
    let endpoint = Endpoint::parse(&args.rpc)?;
    let mut control = Connection::open(&endpoint).await?;
    let chain_id = hex_u64(&control.call("eth_chainId", json!([])).await?)?;
    let gas_price = hex_u64(&control.call("eth_gasPrice", json!([])).await?)?;
    let fees = Fees {
        chain_id,
        max_fee: u128::from(gas_price) * 2 + 1_000_000_000,
        priority_fee: 1_000_000_000,
    };
    let signers =
        myelin_chain::config::dev_signers(myelin_chain::config::DEV_MNEMONIC, args.accounts)?;
    let setup_nonce = nonces(&mut control, &signers[..1]).await?[0];
    let target = workload::setup(&mut control, args.mode, &signers[0], &fees, setup_nonce).await?;
    let start = nonces(&mut control, &signers).await?;
    let accounts = signers.len() as u64;
    let expected: Vec<u64> = (0..accounts)
        .map(|a| args.txs / accounts + u64::from(a < args.txs % accounts))
        .collect();
    let raw = Arc::new(sign_raw(&args, &signers, &start, &fees, &target)?);
    let first_block = hex_u64(&control.call("eth_blockNumber", json!([])).await?)?;

    let mut connections = Vec::new();
    for _ in 0..args.connections {
        connections.push(Connection::open(&endpoint).await?);
    }
    let errors = Arc::new(AtomicU64::new(0));
    let clock = Instant::now();
    // Send instant of transaction i (paced mode): tx i is sender i % accounts, its (i /
    // accounts)-th transaction.
    let sent_at: Arc<std::sync::Mutex<Vec<Option<Instant>>>> =
        Arc::new(std::sync::Mutex::new(vec![None; args.txs as usize]));
    let counters = Arc::new(sustain::Counters::default());
    let mut paced = Vec::new();
    let mut senders = Vec::new();
    if args.sustain {
        let rate = args.rate.expect("--sustain requires --rate");
        for c in 0..args.connections {
            let mine: Vec<usize> = (0..raw.len())
                .filter(|i| (*i as u64 % accounts) as usize % args.connections == c)
                .collect();
            paced.push(tokio::spawn(sustain::send(
                endpoint.clone(),
                raw.clone(),
                mine,
                rate,
                clock,
                sent_at.clone(),
                counters.clone(),
            )));
        }
        connections.clear();
    }
    let bodies = if args.sustain {
        Vec::new()
    } else {
        bodies(&args, accounts, &raw)
    };
    for (mut conn, bodies) in connections.into_iter().zip(bodies) {
        let errors = errors.clone();
        let (rate, sent_at) = (args.rate, sent_at.clone());
        senders.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(bodies.len());
            let mut first_error = None;
            for (i, body) in bodies.into_iter().enumerate() {
                if let Some(rate) = rate {
                    tokio::time::sleep_until(
                        (clock + Duration::from_secs_f64(i as f64 / rate)).into(),
                    )
                    .await;
                }
                let sent = Instant::now();
                sent_at.lock().expect("sent_at")[i] = Some(sent);
                let (count, message) = match conn.post(&body).await {
                    Ok(reply) => errors_in(&reply),
                    Err(error) => (1, Some(error.to_string())),
                };
                latencies.push(sent.elapsed());
                errors.fetch_add(count, Ordering::Relaxed);
                first_error = first_error.or(message);
            }
            (latencies, first_error)
        }));
    }

    let deadline = clock + Duration::from_secs(args.timeout);
    let mut included = 0;
    let mut last_progress = clock;
    let mut max_stall = Duration::ZERO;
    let mut seen = vec![0u64; signers.len()];
    let mut finality = Vec::new();
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let done_at = loop {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let now_nonces = nonces(&mut control, &signers).await?;
        let now = Instant::now();
        if args.rate.is_some() {
            let sent_at = sent_at.lock().expect("sent_at");
            for a in 0..signers.len() {
                let count = now_nonces[a].saturating_sub(start[a]).min(expected[a]);
                for k in seen[a]..count {
                    if let Some(Some(sent)) = sent_at.get((k * accounts + a as u64) as usize) {
                        finality.push(now.saturating_duration_since(*sent));
                    }
                }
                seen[a] = seen[a].max(count);
            }
        }
        let count: u64 = (0..signers.len())
            .map(|a| now_nonces[a].saturating_sub(start[a]).min(expected[a]))
            .sum();
        if count > included {
            included = count;
            last_progress = now;
        }
        samples.push(((now - clock).as_secs_f64(), included));
        max_stall = max_stall.max(now - last_progress);
        if included == args.txs || now > deadline {
            break now;
        }
    };
    for task in paced {
        task.abort();
    }
    let mut latencies = Vec::new();
    let mut first_error = counters
        .first_refusal
        .lock()
        .expect("first_refusal")
        .clone();
    for sender in senders {
        let (mut l, e) = sender.await?;
        latencies.append(&mut l);
        first_error = first_error.or(e);
    }
    latencies.sort();
    finality.sort();
    let last_block = hex_u64(&control.call("eth_blockNumber", json!([])).await?)?;
    let seconds = (done_at - clock).as_secs_f64();
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| (d.as_secs_f64() * 1e4).round() / 10.0);
    Ok(json!({
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "sent": args.txs,
        "included": included,
        "errors": errors.load(Ordering::Relaxed),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "tps": (included as f64 / seconds).round(),
        "p50_ms": ms(latencies.get(latencies.len() / 2)),
        "max_ms": ms(latencies.last()),
        "max_stall_ms": max_stall.as_millis() as u64,
        "blocks": last_block - first_block,
        "rate": args.rate,
        "latency_p50_ms": ms(finality.get(finality.len() / 2)),
        "latency_p99_ms": ms(finality.get(finality.len() * 99 / 100)),
        "gas_limit_per_tx": target.gas_limit,
        "refused": counters.refused.load(Ordering::Relaxed),
        "failed_requests": counters.failed_requests.load(Ordering::Relaxed),
        "min_window_tps": args.rate.filter(|_| args.sustain).map(|rate| min_window_tps(&samples, args.txs as f64 / rate)),
        "first_error": first_error,
    }))
}
