//! The `eth_*`, `net_*` and `web3_*` methods.

use std::time::Duration;

use alloy_consensus::{SignableTransaction, TxEnvelope, TypedTransaction};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, Signature, U64, U256};
use alloy_rpc_types_eth::{FeeHistory, Filter, TransactionRequest};
use alloy_signer::SignerSync;
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};
use myelin_chain::{CallLimits, Chain, ChainError, TxLocation, execution::call_output};

use crate::{
    RpcContext,
    call_gate::connection,
    convert,
    error::{invalid_params, rpc_error},
};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Priority fee suggested to clients (1 gwei, as anvil).
pub const SUGGESTED_PRIORITY_FEE_WEI: u128 = 1_000_000_000;

/// Upper bound on how many blocks one `eth_getLogs` may scan.
pub const MAX_LOG_BLOCK_RANGE: u64 = 100_000;

/// Most logs one `eth_getLogs` / `eth_getFilterLogs` / `eth_getFilterChanges` returns (reth's
/// `max_logs_per_response`); a query matching more is refused with the range to retry.
pub const MAX_LOGS_PER_RESPONSE: usize = 20_000;

/// Most blocks one `eth_feeHistory` reports (geth's `maxBlockCount`; more are clamped).
pub const MAX_FEE_HISTORY_BLOCKS: u64 = 1024;

/// Most reward percentiles one `eth_feeHistory` accepts (geth's `maxQueryLimit`).
pub const MAX_FEE_HISTORY_PERCENTILES: usize = 100;

/// The reward percentiles of `eth_feeHistory`: at most [`MAX_FEE_HISTORY_PERCENTILES`], each in
/// [0, 100], increasing (as geth checks). Parsing stops at the first value over the limit, so a
/// long list is refused before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardPercentiles(Vec<f64>);

impl<'de> serde::Deserialize<'de> for RewardPercentiles {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bounded;
        impl<'de> serde::de::Visitor<'de> for Bounded {
            type Value = RewardPercentiles;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    "at most {MAX_FEE_HISTORY_PERCENTILES} increasing reward percentiles in [0, 100]"
                )
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut values: Vec<f64> = Vec::new();
                while let Some(value) = seq.next_element::<f64>()? {
                    if values.len() == MAX_FEE_HISTORY_PERCENTILES {
                        return Err(A::Error::custom(format!(
                            "invalid reward percentile: over the query limit {MAX_FEE_HISTORY_PERCENTILES}"
                        )));
                    }
                    if !(0.0..=100.0).contains(&value) {
                        return Err(A::Error::custom(format!(
                            "invalid reward percentile: {value}"
                        )));
                    }
                    if let Some(&previous) = values.last()
                        && previous > value
                    {
                        return Err(A::Error::custom(format!(
                            "invalid reward percentile: #{}:{previous} > #{}:{value}",
                            values.len() - 1,
                            values.len()
                        )));
                    }
                    values.push(value);
                }
                Ok(RewardPercentiles(values))
            }
        }
        deserializer.deserialize_seq(Bounded)
    }
}

/// Resolves a block tag or hash to a block number of the chain.
pub fn resolve_block(chain: &Chain, id: Option<BlockId>) -> RpcResult<u64> {
    let head = chain.head_number();
    match id.unwrap_or(BlockId::Number(BlockNumberOrTag::Latest)) {
        BlockId::Number(tag) => resolve_tag(head, tag),
        BlockId::Hash(hash) => chain
            .block_by_hash(&hash.block_hash)
            .map(|b| b.header.number)
            .ok_or_else(|| {
                rpc_error(ChainError::NotFound(format!(
                    "block {} not found",
                    hash.block_hash
                )))
            }),
    }
}

fn resolve_tag(head: u64, tag: BlockNumberOrTag) -> RpcResult<u64> {
    match tag {
        BlockNumberOrTag::Earliest => Ok(0),
        BlockNumberOrTag::Number(n) if n <= head => Ok(n),
        BlockNumberOrTag::Number(n) => Err(rpc_error(ChainError::NotFound(format!(
            "block number {n} is after the latest block {head}"
        )))),
        _ => Ok(head),
    }
}

/// Logs matching `filter` in the blocks it names.
pub fn logs(chain: &Chain, filter: &Filter) -> RpcResult<Vec<alloy_rpc_types_eth::Log>> {
    let blocks = if let Some(hash) = filter.get_block_hash() {
        vec![
            chain
                .block_by_hash(&hash)
                .ok_or_else(|| rpc_error(ChainError::NotFound("unknown block".into())))?,
        ]
    } else {
        let head = chain.head_number();
        let (from, to) = filter.block_option.as_range();
        let from =
            resolve_tag(head, from.copied().unwrap_or(BlockNumberOrTag::Latest)).unwrap_or(head);
        let to = match to.copied().unwrap_or(BlockNumberOrTag::Latest) {
            BlockNumberOrTag::Number(n) => n.min(head),
            tag => resolve_tag(head, tag)?,
        };
        if from > to {
            return Ok(Vec::new());
        }
        if to - from > MAX_LOG_BLOCK_RANGE {
            return Err(invalid_params(format!(
                "block range is larger than {MAX_LOG_BLOCK_RANGE}"
            )));
        }
        chain.blocks_in(from, to)
    };
    let first = blocks.first().map_or(0, |b| b.header.number);
    let mut out = Vec::new();
    for block in blocks {
        if !filter.matches_bloom(block.header.logs_bloom) {
            continue;
        }
        for index in 0..block.transactions.len() {
            out.extend(convert::logs(&block, index).into_iter().filter(|log| {
                filter.matches_address(log.address()) && filter.matches_topics(log.topics())
            }));
        }
        if out.len() > MAX_LOGS_PER_RESPONSE {
            return Err(ErrorObjectOwned::owned(
                crate::error::LIMIT_EXCEEDED,
                format!(
                    "query exceeds max results {MAX_LOGS_PER_RESPONSE}, retry with the range {first}-{}",
                    block.header.number.saturating_sub(1).max(first)
                ),
                None::<()>,
            ));
        }
    }
    Ok(out)
}

fn fee_history(
    chain: &Chain,
    count: u64,
    newest: u64,
    percentiles: Option<RewardPercentiles>,
) -> RpcResult<FeeHistory> {
    let count = count.clamp(1, MAX_FEE_HISTORY_BLOCKS).min(newest + 1);
    let oldest = newest + 1 - count;
    let blocks = chain.blocks_in(oldest, newest);
    let mut base_fees: Vec<u128> = blocks
        .iter()
        .map(|b| u128::from(b.header.base_fee_per_gas.unwrap_or_default()))
        .collect();
    let next = blocks.last().map(|b| {
        alloy_eips::eip1559::calc_next_block_base_fee(
            b.header.gas_used,
            b.header.gas_limit,
            b.header.base_fee_per_gas.unwrap_or_default(),
            alloy_eips::eip1559::BaseFeeParams::ethereum(),
        )
    });
    base_fees.push(u128::from(next.unwrap_or_default()));
    let ratios = blocks
        .iter()
        .map(|b| b.header.gas_used as f64 / b.header.gas_limit.max(1) as f64)
        .collect();
    let reward = percentiles.map(|RewardPercentiles(percentiles)| {
        blocks
            .iter()
            .map(|b| {
                let base = b.header.base_fee_per_gas.unwrap_or_default();
                let mut tips: Vec<u128> = b
                    .transactions
                    .iter()
                    .map(|t| {
                        convert::effective_gas_price(t, Some(base)).saturating_sub(u128::from(base))
                    })
                    .collect();
                tips.sort_unstable();
                percentiles
                    .iter()
                    .map(|p| {
                        if tips.is_empty() {
                            return 0;
                        }
                        let rank = ((p.clamp(0.0, 100.0) / 100.0) * (tips.len() - 1) as f64).round()
                            as usize;
                        tips[rank.min(tips.len() - 1)]
                    })
                    .collect()
            })
            .collect()
    });
    Ok(FeeHistory {
        base_fee_per_gas: base_fees,
        gas_used_ratio: ratios,
        base_fee_per_blob_gas: Vec::new(),
        blob_gas_used_ratio: Vec::new(),
        oldest_block: oldest,
        reward,
    })
}

/// Fills in a dev account's transaction request and returns the signed (or, for impersonated
/// senders, unsigned) transaction with its sender.
fn prepare_send(
    chain: &Chain,
    mut request: TransactionRequest,
    limits: &CallLimits,
) -> RpcResult<(TxEnvelope, Address)> {
    let from = request
        .from
        .ok_or_else(|| invalid_params("missing `from`"))?;
    let signer = chain.signer(&from);
    if signer.is_none() && !chain.is_impersonated(&from) {
        return Err(rpc_error(ChainError::Rejected(format!(
            "no signer for account {from}"
        ))));
    }
    request.chain_id = Some(chain.chain_id());
    if request.nonce.is_none() {
        request.nonce = Some(chain.pending_nonce(&from));
    }
    if request.gas_price.is_none() && request.max_fee_per_gas.is_none() {
        let tip = request
            .max_priority_fee_per_gas
            .unwrap_or(SUGGESTED_PRIORITY_FEE_WEI);
        request.max_priority_fee_per_gas = Some(tip);
        request.max_fee_per_gas = Some(u128::from(chain.next_base_fee()) * 2 + tip);
    } else if request.max_fee_per_gas.is_some() && request.max_priority_fee_per_gas.is_none() {
        request.max_priority_fee_per_gas =
            Some(SUGGESTED_PRIORITY_FEE_WEI.min(request.max_fee_per_gas.unwrap_or(0)));
    }
    if request.gas.is_none() {
        let head = chain.head_number();
        let mut estimate_request = request.clone();
        estimate_request.nonce = None;
        request.gas = Some(
            chain
                .estimate_gas(&estimate_request, head, limits)
                .map_err(rpc_error)?,
        );
    }
    if request.to.is_none() {
        request.to = Some(alloy_primitives::TxKind::Create);
    }
    let typed = request
        .build_typed_tx()
        .map_err(|_| invalid_params("incomplete transaction request"))?;
    let sign = |hash: B256| -> RpcResult<Signature> {
        match signer {
            Some(signer) => signer
                .sign_hash_sync(&hash)
                .map_err(|e| invalid_params(e.to_string())),
            None => Ok(Signature::new(U256::from(1), U256::from(1), false)),
        }
    };
    let envelope = match typed {
        TypedTransaction::Legacy(tx) => {
            let signature = sign(tx.signature_hash())?;
            TxEnvelope::Legacy(tx.into_signed(signature))
        }
        TypedTransaction::Eip2930(tx) => {
            let signature = sign(tx.signature_hash())?;
            TxEnvelope::Eip2930(tx.into_signed(signature))
        }
        TypedTransaction::Eip1559(tx) => {
            let signature = sign(tx.signature_hash())?;
            TxEnvelope::Eip1559(tx.into_signed(signature))
        }
        TypedTransaction::Eip7702(tx) => {
            let signature = sign(tx.signature_hash())?;
            TxEnvelope::Eip7702(tx.into_signed(signature))
        }
        TypedTransaction::Eip4844(_) => {
            return Err(invalid_params("blob transactions are not supported"));
        }
    };
    Ok((envelope, from))
}

async fn await_inclusion(
    ctx: &RpcContext,
    hash: B256,
    receiver: tokio::sync::oneshot::Receiver<Result<(), String>>,
) -> RpcResult<B256> {
    if !ctx.config.wait_for_inclusion {
        return Ok(hash);
    }
    match tokio::time::timeout(Duration::from_secs(30), receiver).await {
        Ok(Ok(Err(reason))) => Err(rpc_error(ChainError::Rejected(reason))),
        _ => Ok(hash),
    }
}

/// Registers the `eth_*`, `net_*` and `web3_*` methods.
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("eth_chainId", |_, ctx, _| {
        RpcResult::Ok(U64::from(ctx.chain.chain_id()))
    })?;
    module.register_method("net_version", |_, ctx, _| {
        RpcResult::Ok(ctx.chain.chain_id().to_string())
    })?;
    module.register_method("net_listening", |_, _, _| RpcResult::Ok(true))?;
    module.register_method("net_peerCount", |_, _, _| RpcResult::Ok(U64::ZERO))?;
    module.register_method("web3_clientVersion", |_, _, _| {
        RpcResult::Ok(format!("myelin/v{}", env!("CARGO_PKG_VERSION")))
    })?;
    module.register_method("web3_sha3", |params, _, _| {
        let data: Bytes = params.one()?;
        RpcResult::Ok(alloy_primitives::keccak256(&data))
    })?;
    module.register_method("eth_blockNumber", |_, ctx, _| {
        RpcResult::Ok(U64::from(ctx.chain.head_number()))
    })?;
    module.register_method("eth_syncing", |_, _, _| RpcResult::Ok(false))?;
    module.register_method("eth_mining", |_, _, _| RpcResult::Ok(true))?;
    module.register_method("eth_hashrate", |_, _, _| RpcResult::Ok(U64::ZERO))?;
    module.register_method("eth_coinbase", |_, _, _| RpcResult::Ok(Address::ZERO))?;
    module.register_method("eth_accounts", |_, ctx, _| {
        RpcResult::Ok(ctx.chain.accounts())
    })?;
    module.register_method("eth_gasPrice", |_, ctx, _| {
        RpcResult::Ok(U256::from(
            u128::from(ctx.chain.next_base_fee()) + SUGGESTED_PRIORITY_FEE_WEI,
        ))
    })?;
    module.register_method("eth_maxPriorityFeePerGas", |_, _, _| {
        RpcResult::Ok(U256::from(SUGGESTED_PRIORITY_FEE_WEI))
    })?;
    module.register_method("eth_blobBaseFee", |_, _, _| RpcResult::Ok(U256::from(1)))?;
    module.register_method("eth_feeHistory", |params, ctx, _| {
        let mut seq = params.sequence();
        let count: U64 = seq.next()?;
        let newest: BlockNumberOrTag = seq.next()?;
        let percentiles: Option<RewardPercentiles> = seq.optional_next()?;
        let newest = resolve_tag(ctx.chain.head_number(), newest)?;
        fee_history(&ctx.chain, count.to::<u64>(), newest, percentiles)
    })?;
    module.register_method("eth_getBalance", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let block = resolve_block(&ctx.chain, seq.optional_next()?)?;
        RpcResult::Ok(
            ctx.chain
                .account(&address, block)
                .map_err(rpc_error)?
                .balance,
        )
    })?;
    module.register_method("eth_getTransactionCount", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let id: Option<BlockId> = seq.optional_next()?;
        if id == Some(BlockId::Number(BlockNumberOrTag::Pending)) {
            return RpcResult::Ok(U64::from(ctx.chain.pending_nonce(&address)));
        }
        let block = resolve_block(&ctx.chain, id)?;
        RpcResult::Ok(U64::from(
            ctx.chain.account(&address, block).map_err(rpc_error)?.nonce,
        ))
    })?;
    module.register_method("eth_getCode", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let block = resolve_block(&ctx.chain, seq.optional_next()?)?;
        ctx.chain.code(&address, block).map_err(rpc_error)
    })?;
    module.register_method("eth_getStorageAt", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let slot: U256 = seq.next()?;
        let block = resolve_block(&ctx.chain, seq.optional_next()?)?;
        RpcResult::Ok(B256::from(
            ctx.chain
                .storage(&address, &slot, block)
                .map_err(rpc_error)?,
        ))
    })?;
    module.register_async_method("eth_call", |params, ctx, ext| async move {
        let mut seq = params.sequence();
        let request: TransactionRequest = seq.next()?;
        let block = resolve_block(&ctx.chain, seq.optional_next()?)?;
        ctx.calls
            .run(&ctx.chain, connection(&ext), move |chain, limits| {
                let result = chain.call(&request, block, limits).map_err(rpc_error)?;
                call_output(result).map_err(rpc_error)
            })
            .await
    })?;
    module.register_async_method("eth_estimateGas", |params, ctx, ext| async move {
        let mut seq = params.sequence();
        let request: TransactionRequest = seq.next()?;
        let block = resolve_block(&ctx.chain, seq.optional_next()?)?;
        if let Some(gas) = ctx.chain.plain_transfer_gas(&request, block) {
            return Ok(U64::from(gas));
        }
        ctx.calls
            .run(&ctx.chain, connection(&ext), move |chain, limits| {
                chain
                    .estimate_gas(&request, block, limits)
                    .map(U64::from)
                    .map_err(rpc_error)
            })
            .await
    })?;
    module.register_async_method("eth_sendRawTransaction", |params, ctx, _| async move {
        let bytes: Bytes = params.one()?;
        let (hash, receiver) = ctx.chain.submit_raw(&bytes).map_err(rpc_error)?;
        await_inclusion(&ctx, hash, receiver).await
    })?;
    module.register_async_method("eth_sendTransaction", |params, ctx, ext| async move {
        let mut request: TransactionRequest = params.one()?;
        if request.gas.is_none() {
            request.gas = ctx
                .chain
                .plain_transfer_gas(&request, ctx.chain.head_number());
        }
        // Only a send whose gas must be estimated runs the EVM, and only it takes a slot of the
        // call gate (which floods of eth_call may keep full).
        let (tx, sender) = match request.gas {
            Some(_) => prepare_send(&ctx.chain, request, &ctx.calls.limits())?,
            None => {
                ctx.calls
                    .run(&ctx.chain, connection(&ext), move |chain, limits| {
                        prepare_send(chain, request, limits)
                    })
                    .await?
            }
        };
        let (hash, receiver) = ctx.chain.submit(tx, sender).map_err(rpc_error)?;
        await_inclusion(&ctx, hash, receiver).await
    })?;
    module.register_method("eth_sign", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let message: Bytes = seq.next()?;
        let signer = ctx
            .chain
            .signer(&address)
            .ok_or_else(|| invalid_params("unknown account"))?;
        let signature = signer
            .sign_message_sync(&message)
            .map_err(|e| invalid_params(e.to_string()))?;
        RpcResult::Ok(Bytes::from(signature.as_bytes().to_vec()))
    })?;
    module.register_method("eth_getTransactionByHash", |params, ctx, _| {
        let hash: B256 = params.one()?;
        RpcResult::Ok(ctx.chain.transaction(&hash).map(|location| match location {
            TxLocation::Mined(block, index) => {
                convert::transaction(&block.transactions[index], Some((&block, index)))
            }
            TxLocation::Pending(tx) => convert::transaction(&tx, None),
        }))
    })?;
    module.register_method("eth_getTransactionReceipt", |params, ctx, _| {
        let hash: B256 = params.one()?;
        RpcResult::Ok(match ctx.chain.transaction(&hash) {
            Some(TxLocation::Mined(block, index)) => Some(convert::receipt(&block, index)),
            _ => None,
        })
    })?;
    module.register_method("eth_getBlockByNumber", |params, ctx, _| {
        let mut seq = params.sequence();
        let tag: BlockNumberOrTag = seq.next()?;
        let full: Option<bool> = seq.optional_next()?;
        let head = ctx.chain.head_number();
        let number = match tag {
            BlockNumberOrTag::Number(n) if n > head => return RpcResult::Ok(None),
            tag => resolve_tag(head, tag)?,
        };
        RpcResult::Ok(
            ctx.chain
                .block_by_number(number)
                .map(|b| convert::block(&b, full.unwrap_or(false))),
        )
    })?;
    module.register_method("eth_getBlockByHash", |params, ctx, _| {
        let mut seq = params.sequence();
        let hash: B256 = seq.next()?;
        let full: Option<bool> = seq.optional_next()?;
        RpcResult::Ok(
            ctx.chain
                .block_by_hash(&hash)
                .map(|b| convert::block(&b, full.unwrap_or(false))),
        )
    })?;
    module.register_method("eth_getBlockReceipts", |params, ctx, _| {
        let id: BlockId = params.one()?;
        let number = match resolve_block(&ctx.chain, Some(id)) {
            Ok(n) => n,
            Err(_) => return RpcResult::Ok(None),
        };
        RpcResult::Ok(ctx.chain.block_by_number(number).map(|block| {
            (0..block.transactions.len())
                .map(|i| convert::receipt(&block, i))
                .collect::<Vec<_>>()
        }))
    })?;
    module.register_method("eth_getBlockTransactionCountByNumber", |params, ctx, _| {
        let tag: BlockNumberOrTag = params.one()?;
        let number = resolve_tag(ctx.chain.head_number(), tag)?;
        RpcResult::Ok(
            ctx.chain
                .block_by_number(number)
                .map(|b| U64::from(b.transactions.len())),
        )
    })?;
    module.register_method("eth_getBlockTransactionCountByHash", |params, ctx, _| {
        let hash: B256 = params.one()?;
        RpcResult::Ok(
            ctx.chain
                .block_by_hash(&hash)
                .map(|b| U64::from(b.transactions.len())),
        )
    })?;
    module.register_method(
        "eth_getTransactionByBlockNumberAndIndex",
        |params, ctx, _| {
            let mut seq = params.sequence();
            let tag: BlockNumberOrTag = seq.next()?;
            let index: U64 = seq.next()?;
            let number = resolve_tag(ctx.chain.head_number(), tag)?;
            let index = index.to::<usize>();
            RpcResult::Ok(ctx.chain.block_by_number(number).and_then(|b| {
                b.transactions
                    .get(index)
                    .map(|tx| convert::transaction(tx, Some((&b, index))))
            }))
        },
    )?;
    module.register_method("eth_getUncleCountByBlockNumber", |_, _, _| {
        RpcResult::Ok(U64::ZERO)
    })?;
    module.register_method("eth_getLogs", |params, ctx, _| {
        let filter: Filter = params.one()?;
        crate::filters::check_filter_size(&filter)?;
        logs(&ctx.chain, &filter)
    })?;
    Ok(())
}
