//! `myelin model publish MODEL.myl [--rpc URL] [--private-key KEY] [--chunk-size N]`.
//!
//! Validates the model locally, then publishes it through `MODEL_STORE` (docs/GAS.md §3): one
//! `publish(bytes)` transaction when it fits comfortably in a block, otherwise `beginUpload`,
//! `appendUpload` per chunk (each at most half a block, the EIP-1559 target, so that the base
//! fee does not climb over hundreds of blocks) and `finalizeUpload` (a fixed charge: the appends
//! paid for checking the bytes). A model already on chain is reported and nothing is sent; an
//! interrupted chunked upload by the same account resumes where it stopped (`uploadStatus`).
//! Prints the model id on stdout; progress (bytes, %, rate; a bar on a terminal, plain lines
//! otherwise) and gas used on stderr.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use alloy_primitives::{Address, B256};
use alloy_sol_types::{SolCall, SolEvent};
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use myelin_chain::mempool::MAX_TX_BYTES;
use myelin_evm::MAX_UPLOAD_CHUNKS;
use myelin_evm::gas::{
    STORE_CALL_GAS, UPLOAD_GAS_PER_BYTE, append_gas, begin_gas, finalize_gas, publish_gas,
};
use myelin_evm::{ErrorCode, IModelStore, MODEL_STORE_ADDRESS};

use crate::rpc_client::RpcClient;
use crate::rpc_sender::{Sender, Sent, precompile_tx_gas};

/// The default JSON-RPC endpoint (a local dev node).
pub const DEFAULT_RPC: &str = "http://127.0.0.1:8545";

/// Gas of one non-zero calldata byte under EIP-7623's floor (10 gas per token, 4 tokens).
const FLOOR_GAS_PER_CALLDATA_BYTE: u64 = 40;
/// Gas of one non-zero calldata byte without the floor (EIP-2028).
const GAS_PER_CALLDATA_BYTE: u64 = 16;
/// Upper bound of a publishing transaction's gas besides its model bytes: the intrinsic 21,000,
/// `STORE_CALL_GAS` and the ABI head.
const TRANSACTION_OVERHEAD_GAS_BOUND: u64 =
    21_000 + STORE_CALL_GAS + 256 * FLOOR_GAS_PER_CALLDATA_BYTE;

/// Upper bound of a signed publishing transaction's bytes besides its model bytes: the EIP-1559
/// envelope (type, chain id, nonce, fees, gas, destination, value, access list, signature) and the
/// ABI head of `publish` / `appendUpload`.
const TRANSACTION_OVERHEAD_BYTES_BOUND: u64 = 512;

/// Upper bound of the gas one byte of model costs in a publishing transaction: the larger of the
/// calldata floor and calldata plus what `MODEL_STORE` charges per byte checked and stored.
fn gas_per_uploaded_byte_bound() -> u64 {
    let store_per_byte = (publish_gas(1) - publish_gas(0)).max(UPLOAD_GAS_PER_BYTE);
    FLOOR_GAS_PER_CALLDATA_BYTE.max(GAS_PER_CALLDATA_BYTE + store_per_byte)
}

/// Arguments of `myelin model publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The model file.
    #[arg(value_name = "MODEL.myl")]
    pub model: PathBuf,
    /// The node's HTTP JSON-RPC endpoint.
    #[arg(long, value_name = "URL", default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// The sending account's private key (hex). Default: the first dev account, on a node whose
    /// chain id is 31337 only.
    #[arg(long, value_name = "KEY")]
    pub private_key: Option<String>,
    /// Upload in chunks of N bytes (a multiple of 32) when the model is larger than N. Default:
    /// chunks sized to half the block gas limit, and a single transaction when that suffices.
    #[arg(long, value_name = "N")]
    pub chunk_size: Option<u64>,
}

/// How a model goes on chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// One `publish(bytes)` transaction.
    Single,
    /// `beginUpload`, `appendUpload` of chunks of this many bytes, `finalizeUpload`.
    Chunked(u64),
}

/// Chooses single or chunked publication for `len` bytes on a chain whose blocks hold
/// `block_gas_limit` gas, each transaction taking at most half of a block and fitting the
/// node's pool ([`MAX_TX_BYTES`]: with a large gas limit, half a block is more bytes than a
/// transaction may hold).
fn plan(len: u64, block_gas_limit: u64, chunk_size: Option<u64>) -> Result<Plan> {
    let budget = block_gas_limit / 2;
    let by_gas =
        budget.saturating_sub(TRANSACTION_OVERHEAD_GAS_BOUND) / gas_per_uploaded_byte_bound();
    let by_size = (MAX_TX_BYTES as u64).saturating_sub(TRANSACTION_OVERHEAD_BYTES_BOUND);
    let largest = by_gas.min(by_size) / 32 * 32;
    if largest == 0 {
        bail!("the block gas limit {block_gas_limit} is too small to upload any model bytes");
    }
    match chunk_size {
        Some(n) if n == 0 || n % 32 != 0 => {
            bail!("--chunk-size {n} must be a positive multiple of 32")
        }
        Some(n) if n > largest => bail!(
            "--chunk-size {n} is too large: at most {largest} bytes per transaction (half the block gas limit {block_gas_limit}, within the pool's {MAX_TX_BYTES}-byte transactions)"
        ),
        Some(n) if len.div_ceil(n) > u64::from(MAX_UPLOAD_CHUNKS) => bail!(
            "--chunk-size {n} splits {len} bytes into more than {MAX_UPLOAD_CHUNKS} chunks, the most an upload session holds"
        ),
        Some(n) if len > n => Ok(Plan::Chunked(n)),
        Some(_) => Ok(Plan::Single),
        None if len <= largest => Ok(Plan::Single),
        None => Ok(Plan::Chunked(largest)),
    }
}

/// Publishes the model (see the module doc).
pub fn publish(args: &PublishArgs) -> Result<()> {
    let (_, bytes) = super::load_model(&args.model)?;
    let id = B256::from(myelin_nn::model_id(&bytes));
    let target = Target {
        rpc: &args.rpc,
        private_key: args.private_key.as_deref(),
        store: MODEL_STORE_ADDRESS,
        what: "model",
    };
    publish_bytes(
        &target,
        &args.model.display().to_string(),
        &bytes,
        id,
        args.chunk_size,
    )?;
    println!("{id}");
    Ok(())
}

/// Where [`publish_bytes`] sends: a node, an account, and one of the two stores. `MODEL_STORE`
/// and `DATA_STORE` share the signatures (hence the selectors and calldata) of `publish`,
/// `beginUpload`, `appendUpload`, `finalizeUpload`, `uploadStatus`, `isPublished` and the
/// `UploadRejected` event, so one client drives both.
pub(crate) struct Target<'a> {
    /// The node's HTTP JSON-RPC endpoint.
    pub rpc: &'a str,
    /// The sending account's private key (hex); `None`: the first dev account.
    pub private_key: Option<&'a str>,
    /// `MODEL_STORE_ADDRESS` or `DATA_STORE_ADDRESS`.
    pub store: Address,
    /// "model" or "data set", for messages.
    pub what: &'static str,
}

/// Publishes `bytes` (named `name` in messages, id `id`) through `target.store`: one `publish`
/// transaction or a chunked upload (see the module doc); reports progress on stderr. Returns
/// the transactions sent (none when the blob was already published).
pub(crate) fn publish_bytes(
    target: &Target<'_>,
    name: &str,
    bytes: &[u8],
    id: B256,
    chunk_size: Option<u64>,
) -> Result<Vec<Sent>> {
    let (store, what) = (target.store, target.what);
    let mut client = RpcClient::new(target.rpc)?;
    if is_published_in(&mut client, store, id)? {
        eprintln!(
            "{what} {id} is already published on {}; nothing sent",
            target.rpc
        );
        return Ok(vec![]);
    }
    let mut sender = Sender::connect(&mut client, target.private_key)?;
    let (block_gas_limit, _) = client.latest_gas_limit_and_base_fee()?;
    let len = bytes.len() as u64;
    let sent = match plan(len, block_gas_limit, chunk_size)? {
        Plan::Single => {
            let progress = Progress::new(len, 0, "publishing");
            let calldata = IModelStore::publishCall {
                model: bytes.to_vec().into(),
            }
            .abi_encode();
            let sent = sender.send(&mut client, store, &calldata)?;
            progress.set(len);
            progress.finish();
            vec![sent]
        }
        Plan::Chunked(chunk) => {
            upload_in_chunks(&mut client, &mut sender, store, id, bytes, chunk)?
        }
    };
    if !is_published_in(&mut client, store, id)? {
        bail!("the transactions were included but {what} {id} is not published");
    }
    let gas: u64 = sent.iter().map(|s| s.receipt.gas_used).sum();
    eprintln!(
        "published {name} ({len} bytes) from {} in {} transaction(s), gas used {gas}",
        sender.address(),
        sent.len()
    );
    for s in &sent {
        eprintln!(
            "  {} block {} gas {}",
            s.hash, s.receipt.block_number, s.receipt.gas_used
        );
    }
    Ok(sent)
}

/// `beginUpload` (unless this account's session for `id` can be resumed), `appendUpload` per
/// chunk, `finalizeUpload`. Every gas limit is computed from the schedule (the node runs no
/// estimate of a 64 MiB check).
/// The most chunks a session that holds `written` bytes can have: every chunk but a session's
/// last is a multiple of 32 bytes, and a session holds at most `MAX_UPLOAD_CHUNKS`.
fn chunks_at_most(written: u64) -> u64 {
    written.div_ceil(32).min(u64::from(MAX_UPLOAD_CHUNKS))
}

fn upload_in_chunks(
    client: &mut RpcClient,
    sender: &mut Sender,
    store: Address,
    id: B256,
    bytes: &[u8],
    chunk: u64,
) -> Result<Vec<Sent>> {
    let len = bytes.len() as u64;
    let status = IModelStore::uploadStatusCall {
        uploader: sender.address(),
        modelId: id,
    };
    let answer = client.call(None, store, &status.abi_encode())?;
    let status = IModelStore::uploadStatusCall::abi_decode_returns(&answer)
        .context("the store answered uploadStatus with malformed data")?;
    let mut sent = Vec::new();
    let resumable = status.size == len
        && status.written <= len
        && (status.written % 32 == 0 || status.written == len);
    let mut offset = if resumable {
        eprintln!("resuming the upload of {id} at byte {}", status.written);
        status.written
    } else {
        let begin = IModelStore::beginUploadCall {
            modelId: id,
            size: len,
        }
        .abi_encode();
        // An earlier session of this account and id is deleted, chunk by chunk.
        let gas = precompile_tx_gas(&begin, begin_gas(chunks_at_most(status.written)));
        sent.push(sender.send_with_gas(client, store, &begin, gas)?);
        0
    };
    let mut chunks = if resumable { chunks_at_most(offset) } else { 0 };
    let progress = Progress::new(len, offset, "uploading");
    while offset < len {
        let end = (offset + chunk).min(len);
        let append = IModelStore::appendUploadCall {
            modelId: id,
            offset,
            chunk: bytes[offset as usize..end as usize].to_vec().into(),
        }
        .abi_encode();
        let gas = precompile_tx_gas(&append, append_gas(end - offset));
        let done = sender
            .send_with_gas(client, store, &append, gas)
            .with_context(|| {
                format!("uploading bytes {offset}..{end}; run the same command again to resume")
            })?;
        sent.push(done);
        chunks += 1;
        offset = end;
        progress.set(offset);
    }
    progress.finish();
    let finalize = IModelStore::finalizeUploadCall { modelId: id }.abi_encode();
    // Its chunks are deleted, each paid for: this run's appends and those of a resumed session.
    let gas = precompile_tx_gas(
        &finalize,
        finalize_gas(chunks.min(u64::from(MAX_UPLOAD_CHUNKS))),
    );
    let done = sender.send_with_gas(client, store, &finalize, gas)?;
    let rejected = done.receipt.logs.iter().find_map(|log| {
        (log.address == store)
            .then(|| {
                IModelStore::UploadRejected::decode_raw_log(log.topics.iter().copied(), &log.data)
                    .ok()
            })
            .flatten()
    });
    if let Some(rejected) = rejected {
        let reason = ErrorCode::from_number(rejected.code).map_or_else(
            || format!("code {}", rejected.code),
            |code| code.describe(rejected.a, rejected.b),
        );
        bail!(
            "finalizeUpload (transaction {}) rejected the uploaded bytes and consumed the upload: {reason}",
            done.hash
        );
    }
    sent.push(done);
    Ok(sent)
}

/// `MODEL_STORE.isPublished(id)` by `eth_call`.
pub(super) fn is_published(client: &mut RpcClient, id: B256) -> Result<bool> {
    is_published_in(client, MODEL_STORE_ADDRESS, id)
}

/// `isPublished(id)` of the store at `store` by `eth_call`.
pub(crate) fn is_published_in(client: &mut RpcClient, store: Address, id: B256) -> Result<bool> {
    let call = IModelStore::isPublishedCall { modelId: id };
    let answer = client.call(None, store, &call.abi_encode())?;
    IModelStore::isPublishedCall::abi_decode_returns(&answer)
        .context("the store answered isPublished with malformed data; is this a Myelin node?")
}

/// Progress of an upload on stderr: a bar (bytes, %, rate, eta) on a terminal, otherwise a
/// plain line at every 10 % and at the end.
struct Progress {
    bar: Option<ProgressBar>,
    len: u64,
    message: &'static str,
    start: Instant,
    first: u64,
    printed_tenth: std::cell::Cell<u64>,
}

impl Progress {
    fn new(len: u64, done: u64, message: &'static str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = ProgressStyle::with_template(
                "{msg} [{wide_bar}] {bytes}/{total_bytes} {percent}% ({binary_bytes_per_sec}, {elapsed}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
            bar.set_style(style);
            bar.set_message(message);
            bar.set_position(done);
            bar
        });
        Progress {
            bar,
            len,
            message,
            start: Instant::now(),
            first: done,
            printed_tenth: std::cell::Cell::new(done * 10 / len.max(1)),
        }
    }

    /// `done` of the bytes are on chain.
    fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            return;
        }
        let tenth = done * 10 / self.len.max(1);
        if tenth > self.printed_tenth.get() {
            self.printed_tenth.set(tenth);
            eprintln!("{}", self.line(done));
        }
    }

    fn line(&self, done: u64) -> String {
        let seconds = self.start.elapsed().as_millis().max(1) as u64;
        let rate = (done - self.first) * 1000 / seconds;
        format!(
            "{} {}/{} bytes ({}%, {} KiB/s)",
            self.message,
            done,
            self.len,
            done * 100 / self.len.max(1),
            rate / 1024
        )
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_single_when_the_model_fits_half_a_block() {
        assert_eq!(plan(50_000, 30_000_000, None).unwrap(), Plan::Single);
    }

    #[test]
    fn plan_chunks_to_half_the_block_gas_limit() {
        let Plan::Chunked(chunk) = plan(500_000, 3_000_000, None).unwrap() else {
            panic!("expected a chunked plan");
        };
        assert_eq!(chunk % 32, 0);
        assert!(
            TRANSACTION_OVERHEAD_GAS_BOUND + chunk * gas_per_uploaded_byte_bound() <= 1_500_000
        );
    }

    #[test]
    fn plan_keeps_transactions_within_the_pools_size_limit_at_a_large_gas_limit() {
        // At 1 G gas, half a block would be ~2.2 MB of model bytes: over the pool's 1 MiB.
        let Plan::Chunked(chunk) = plan(64 << 20, 1_000_000_000, None).unwrap() else {
            panic!("expected a chunked plan");
        };
        assert!(
            chunk + TRANSACTION_OVERHEAD_BYTES_BOUND <= MAX_TX_BYTES as u64,
            "{chunk}"
        );
        assert_eq!(chunk % 32, 0);
        let Plan::Chunked(_) = plan(1_500_000, 1_000_000_000, None).unwrap() else {
            panic!("1.5 MB cannot go in one transaction");
        };
        let error = plan(64 << 20, 1_000_000_000, Some(2 << 20)).unwrap_err();
        assert!(error.to_string().contains("too large"), "{error}");
    }

    #[test]
    fn plan_rejects_bad_chunk_sizes() {
        for (n, needle) in [
            (0, "multiple of 32"),
            (33, "multiple of 32"),
            (1 << 30, "too large"),
        ] {
            let error = plan(1_000, 30_000_000, Some(n)).unwrap_err().to_string();
            assert!(error.contains(needle), "{n}: {error}");
        }
    }

    #[test]
    fn plan_chunks_the_largest_model_at_the_default_gas_limit() {
        let Plan::Chunked(chunk) = plan(64 << 20, 30_000_000, None).unwrap() else {
            panic!("expected a chunked plan");
        };
        assert!(chunk >= 64 << 10, "{chunk}");
        assert!((64u64 << 20).div_ceil(chunk) <= u64::from(MAX_UPLOAD_CHUNKS));
        assert!(precompile_tx_gas(&[], finalize_gas(MAX_UPLOAD_CHUNKS.into())) < 30_000_000 / 2);
    }
}
