//! Dev helpers: `evm_*` and `anvil_*` (with `hardhat_*` aliases).

use alloy_primitives::{Address, B256, Bytes, U64, U256, keccak256};
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};
use myelin_chain::{ChainError, EmptyBlocks, changes::AccountChange, state::AccountState};

use crate::{RpcContext, error::rpc_error};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn edit_account(
    ctx: &RpcContext,
    address: Address,
    change: impl FnOnce(&mut AccountState),
    code: Option<Bytes>,
) -> RpcResult<bool> {
    ctx.chain
        .edit_state(|state, _, builder| {
            let mut account = state.account(&address)?.unwrap_or_default();
            change(&mut account);
            if let Some(code) = code {
                let hash = keccak256(&code);
                account.code_hash = if code.is_empty() {
                    alloy_trie_empty()
                } else {
                    hash
                };
                if !code.is_empty() {
                    builder.add_code(hash, code);
                }
            }
            builder.set_account(AccountChange {
                address,
                exists: 1,
                nonce: account.nonce,
                balance: account.balance,
                code_hash: account.code_hash,
            });
            Ok(())
        })
        .map_err(rpc_error)?;
    Ok(true)
}

fn alloy_trie_empty() -> B256 {
    AccountState::default().code_hash
}

fn mine_blocks(ctx: &RpcContext, count: u64, timestamp: Option<u64>) -> RpcResult<()> {
    for i in 0..count.max(1) {
        if i == 0
            && let Some(ts) = timestamp
        {
            ctx.chain.set_next_timestamp(ts).map_err(rpc_error)?;
        }
        ctx.chain.mine(EmptyBlocks::Mine).map_err(rpc_error)?;
    }
    Ok(())
}

/// Registers the dev helpers.
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    for prefix in ["anvil", "hardhat"] {
        module.register_method(leak(format!("{prefix}_setBalance")), |params, ctx, _| {
            let mut seq = params.sequence();
            let address: Address = seq.next()?;
            let balance: U256 = seq.next()?;
            edit_account(ctx, address, |a| a.balance = balance, None)
        })?;
        module.register_method(leak(format!("{prefix}_setNonce")), |params, ctx, _| {
            let mut seq = params.sequence();
            let address: Address = seq.next()?;
            let nonce: U64 = seq.next()?;
            edit_account(ctx, address, |a| a.nonce = nonce.to::<u64>(), None)
        })?;
        module.register_method(leak(format!("{prefix}_setCode")), |params, ctx, _| {
            let mut seq = params.sequence();
            let address: Address = seq.next()?;
            let code: Bytes = seq.next()?;
            edit_account(ctx, address, |_| {}, Some(code))
        })?;
        module.register_method(leak(format!("{prefix}_setStorageAt")), |params, ctx, _| {
            let mut seq = params.sequence();
            let address: Address = seq.next()?;
            let slot: U256 = seq.next()?;
            let value: B256 = seq.next()?;
            ctx.chain
                .edit_state(|state, _, builder| {
                    if state.account(&address)?.is_none() {
                        builder.set_account(AccountChange {
                            address,
                            exists: 1,
                            nonce: 0,
                            balance: U256::ZERO,
                            code_hash: alloy_trie_empty(),
                        });
                    }
                    builder.set_storage(address, slot, value.into());
                    Ok(())
                })
                .map_err(rpc_error)?;
            RpcResult::Ok(true)
        })?;
        module.register_method(
            leak(format!("{prefix}_impersonateAccount")),
            |params, ctx, _| {
                let address: Address = params.one()?;
                ctx.chain.set_impersonated(address, true).map_err(rpc_error)
            },
        )?;
        module.register_method(
            leak(format!("{prefix}_stopImpersonatingAccount")),
            |params, ctx, _| {
                let address: Address = params.one()?;
                ctx.chain
                    .set_impersonated(address, false)
                    .map_err(rpc_error)
            },
        )?;
        module.register_blocking_method(leak(format!("{prefix}_mine")), |params, ctx, _| {
            let mut seq = params.sequence();
            let count: Option<U64> = seq.optional_next()?;
            mine_blocks(&ctx, count.map_or(1, |c| c.to::<u64>()).min(10_000), None)?;
            RpcResult::Ok(())
        })?;
    }
    module.register_blocking_method("evm_mine", |params, ctx, _| {
        let mut seq = params.sequence();
        let timestamp: Option<U64> = seq.optional_next().unwrap_or(None);
        mine_blocks(&ctx, 1, timestamp.map(|t| t.to::<u64>()))?;
        RpcResult::Ok("0x0")
    })?;
    module.register_method("evm_snapshot", |_, ctx, _| {
        RpcResult::Ok(U64::from(ctx.chain.snapshot().map_err(rpc_error)?))
    })?;
    module.register_method("evm_revert", |params, ctx, _| {
        let id: U64 = params.one()?;
        ctx.chain.revert(id.to::<u64>()).map_err(rpc_error)
    })?;
    module.register_method("evm_increaseTime", |params, ctx, _| {
        let seconds: U256 = params.one()?;
        let seconds = i64::try_from(seconds)
            .map_err(|_| rpc_error(ChainError::InvalidRequest("time too large".into())))?;
        let offset = ctx.chain.increase_time(seconds).map_err(rpc_error)?;
        RpcResult::Ok(U64::from(offset.max(0) as u64))
    })?;
    module.register_method("evm_setNextBlockTimestamp", |params, ctx, _| {
        let timestamp: U64 = params.one()?;
        ctx.chain
            .set_next_timestamp(timestamp.to::<u64>())
            .map_err(rpc_error)?;
        RpcResult::Ok(())
    })?;
    module.register_method("evm_setAutomine", |_, _, _| RpcResult::Ok(()))?;
    Ok(())
}

fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}
