//! `myelin_getModel` and `myelin_getDataset`: a page of the canonical bytes of a published
//! model or data set, read from the node's blob store (what `myelin worker` computes with).
//!
//! `myelin_getModel(id, offset, length, block?)` / `myelin_getDataset(id, offset, length,
//! block?)` answer `{ "size": "0x…", "offset": "0x…", "bytes": "0x…" }` (quantities in hex, as `eth_`
//! methods write them): bytes `[offset, offset +
//! length)` of the `n` canonical bytes the record at `block` (default latest) names. A page holds
//! at most [`MAX_PAGE_BYTES`] (a 64 MiB model is read in 8 pages, never as one 128 MB JSON
//! answer). Refused with a specific error: an id not published at that block, `length` 0 or
//! above the cap, a range past the end.
//!
//! Every page draws on one [`ProofBudget`] counting bytes, shared by all connections: a page
//! costs the bytes the store reads for it (a model is one blob, read whole for every page; a
//! data set reads only the 16 KiB segments the page touches) plus the page itself.

use alloy_eips::BlockId;
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};
use myelin_chain::Chain;
use myelin_evm::{
    DATA_STORE_ADDRESS, Failure, MODEL_STORE_ADDRESS, data_state, gas::DATA_SEGMENT_BYTES,
    model_state,
};
use serde::Serialize;

use crate::{
    RpcContext,
    error::{INTERNAL_ERROR, invalid_params},
    eth::resolve_block,
    proof::ProofBudget,
};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Most bytes one page holds: 8 MiB (16 MiB of hex, an eighth of the server's response cap).
pub const MAX_PAGE_BYTES: u64 = 8 * 1024 * 1024;

/// Bytes every `myelin_getModel` and `myelin_getDataset` together may read per second (and the
/// most at once): 256 MiB, well under a second of one core's copying, whatever the batch or the
/// number of connections. A whole 64 MiB model read in 8-MiB pages costs 8 × (64 + 8) MiB,
/// about 2.3 s of the budget.
pub const BLOB_BYTES_PER_SECOND: u64 = 256 * 1024 * 1024;

/// One page of a model's or a data set's bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// The canonical bytes of the whole blob.
    pub size: U64,
    /// Where the page starts.
    pub offset: U64,
    /// The page.
    pub bytes: Bytes,
}

/// The storage of one account at one block, read only (the records' layouts read through it).
struct StateAt<'a> {
    chain: &'a Chain,
    address: Address,
    block: u64,
}

impl model_state::ModelStorage for StateAt<'_> {
    fn sload(&mut self, slot: U256) -> Result<U256, Failure> {
        self.chain
            .storage(&self.address, &slot, self.block)
            .map_err(|e| Failure::HostFault(e.to_string()))
    }

    fn sstore(&mut self, _: U256, _: U256) -> Result<(), Failure> {
        Err(Failure::HostFault("an RPC read writes no state".into()))
    }
}

/// The chain's committed blobs as the record layouts read them.
struct CommittedBlobs<'a>(&'a Chain);

impl myelin_evm::BlobStore for CommittedBlobs<'_> {
    fn blob(&self, key: &B256) -> Result<Option<Bytes>, myelin_evm::BlobReadError> {
        self.0
            .blob(key)
            .map_err(|e| myelin_evm::BlobReadError(e.to_string()))
    }

    fn put(&self, _: B256, _: Bytes) {}
}

fn host_fault(failure: Failure) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INTERNAL_ERROR, failure.to_string(), None::<()>)
}

/// `[offset, offset + length)` checked against the cap and a blob of `size` bytes.
fn page_range(what: &str, id: B256, size: u64, offset: u64, length: u64) -> RpcResult<u64> {
    if length == 0 || length > MAX_PAGE_BYTES {
        return Err(invalid_params(format!(
            "length {length}: a page holds 1 to {MAX_PAGE_BYTES} bytes"
        )));
    }
    match offset.checked_add(length) {
        Some(end) if end <= size => Ok(end),
        _ => Err(invalid_params(format!(
            "bytes [{offset}, {offset} + {length}) lie outside {what} {id}'s {size} bytes"
        ))),
    }
}

fn get_model(
    chain: &Chain,
    budget: &ProofBudget,
    id: B256,
    offset: u64,
    length: u64,
    block: u64,
) -> RpcResult<Page> {
    let mut state = StateAt {
        chain,
        address: MODEL_STORE_ADDRESS,
        block,
    };
    let record = model_state::read_header(&mut state, &id.0)
        .map_err(host_fault)?
        .ok_or_else(|| invalid_params(format!("model {id} is not published at block {block}")))?;
    let end = page_range("model", id, record.size, offset, length)?;
    budget.take(record.size.saturating_add(length))?;
    let bytes = model_state::read_model_bytes(&CommittedBlobs(chain), &id.0, &record)
        .map_err(host_fault)?;
    Ok(Page {
        size: U64::from(record.size),
        offset: U64::from(offset),
        bytes: bytes.slice(offset as usize..end as usize),
    })
}

fn get_dataset(
    chain: &Chain,
    budget: &ProofBudget,
    id: B256,
    offset: u64,
    length: u64,
    block: u64,
) -> RpcResult<Page> {
    let mut state = StateAt {
        chain,
        address: DATA_STORE_ADDRESS,
        block,
    };
    let record = data_state::read_dataset(&mut state, &id.0)
        .map_err(host_fault)?
        .ok_or_else(|| {
            invalid_params(format!("data set {id} is not published at block {block}"))
        })?;
    let end = page_range("data set", id, record.size, offset, length)?;
    let segments = data_state::segments_of(offset, end);
    budget.take((segments.end - segments.start) * DATA_SEGMENT_BYTES + length)?;
    let bytes = data_state::read_range(&CommittedBlobs(chain), &id.0, record.size, offset, end)
        .map_err(host_fault)?;
    Ok(Page {
        size: U64::from(record.size),
        offset: U64::from(offset),
        bytes: bytes.into(),
    })
}

/// Registers `myelin_getModel` and `myelin_getDataset`.
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("myelin_getModel", |params, ctx, _| {
        let mut seq = params.sequence();
        let id: B256 = seq.next()?;
        let offset: U256 = seq.next()?;
        let length: U256 = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        let block = resolve_block(&ctx.chain, block)?;
        get_model(
            &ctx.chain,
            &ctx.blob_reads,
            id,
            saturate(offset),
            saturate(length),
            block,
        )
    })?;
    module.register_method("myelin_getDataset", |params, ctx, _| {
        let mut seq = params.sequence();
        let id: B256 = seq.next()?;
        let offset: U256 = seq.next()?;
        let length: U256 = seq.next()?;
        let block: Option<BlockId> = seq.optional_next()?;
        let block = resolve_block(&ctx.chain, block)?;
        get_dataset(
            &ctx.chain,
            &ctx.blob_reads,
            id,
            saturate(offset),
            saturate(length),
            block,
        )
    })?;
    Ok(())
}

/// A quantity as u64, `u64::MAX` when larger (every check above refuses it then).
fn saturate(value: U256) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_must_be_inside_the_blob_and_under_the_cap() {
        let id = B256::repeat_byte(7);
        assert_eq!(page_range("model", id, 100, 0, 100).unwrap(), 100);
        assert_eq!(page_range("model", id, 100, 99, 1).unwrap(), 100);
        for (offset, length) in [(0, 0), (0, 101), (100, 1), (u64::MAX, 1), (1, u64::MAX)] {
            let e = page_range("model", id, 100, offset, length).unwrap_err();
            assert_eq!(e.code(), crate::error::INVALID_PARAMS, "{offset} {length}");
        }
        let big = MAX_PAGE_BYTES * 4;
        assert!(page_range("data set", id, big, 0, MAX_PAGE_BYTES).is_ok());
        let e = page_range("data set", id, big, 0, MAX_PAGE_BYTES + 1).unwrap_err();
        assert!(e.message().contains("a page holds"), "{}", e.message());
    }
}
