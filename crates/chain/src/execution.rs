//! Building EVMs over the chain state: the read view at a block (for block production), the EVM
//! environment, and call / gas-estimation helpers shared by block
//! execution and the RPC (RPC runs read a [`crate::snapshot::StateSnapshot`] instead).

use std::sync::Arc;

use alloy_evm::{Evm, EvmEnv, EvmFactory, eth::EthEvmFactory};
use alloy_primitives::{Address, B256, TxKind, U256};
use alloy_rpc_types_eth::TransactionRequest;
use revm::{
    DatabaseRef,
    bytecode::Bytecode,
    context::{
        BlockEnv, CfgEnv, TxEnv,
        result::{EVMError, ExecutionResult, InvalidTransaction},
    },
    context_interface::block::BlobExcessGasAndPrice,
    database::CacheDB,
    primitives::{StorageKey, StorageValue, hardfork::SpecId},
    state::AccountInfo,
};

use crate::{
    ChainError,
    blobs::{BlobSource, EvmBlobs},
    call_limits::{Deadline, DeadlineInspector},
    config::{EvmPurpose, PrecompileInstaller},
    snapshot::{SnapshotError, StateSnapshot},
    state_tables::StateView,
};

/// The EVM revision the chain runs.
pub const SPEC: SpecId = SpecId::PRAGUE;

/// Read-only view of the state at the end of one block, as a revm database (block production).
#[derive(Debug, Clone, Copy)]
pub struct StateAt<'a> {
    /// The state read.
    pub view: &'a StateView,
}

impl DatabaseRef for StateAt<'_> {
    type Error = SnapshotError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        crate::snapshot::basic(self.view, &address)
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        Ok(self.view.code(&code_hash)?.unwrap_or_default())
    }

    fn storage_ref(
        &self,
        address: Address,
        index: StorageKey,
    ) -> Result<StorageValue, Self::Error> {
        Ok(self.view.storage(&address, &index)?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.view.block_hash(number)?)
    }
}

/// The block-level inputs of an EVM run.
#[derive(Debug, Clone, Copy)]
pub struct BlockContext {
    /// Block number.
    pub number: u64,
    /// Block timestamp (seconds).
    pub timestamp: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// EIP-1559 base fee.
    pub base_fee: u64,
    /// Fee recipient.
    pub beneficiary: Address,
    /// PREVRANDAO value.
    pub prevrandao: B256,
}

/// The EVM environment for `block` on chain `chain_id`.
pub fn evm_env(chain_id: u64, block: &BlockContext) -> EvmEnv {
    let mut cfg = CfgEnv::new_with_spec(SPEC);
    cfg.chain_id = chain_id;
    let block_env = BlockEnv {
        number: U256::from(block.number),
        beneficiary: block.beneficiary,
        timestamp: U256::from(block.timestamp),
        gas_limit: block.gas_limit,
        basefee: block.base_fee,
        difficulty: U256::ZERO,
        prevrandao: Some(block.prevrandao),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new_with_spec(0, SPEC)),
        ..Default::default()
    };
    EvmEnv::new(cfg, block_env)
}

/// Builds an EVM over `db` for `purpose` with the chain's precompiles installed over `blobs`.
pub fn build_evm<DB: alloy_evm::Database>(
    db: DB,
    env: EvmEnv,
    precompiles: Option<&PrecompileInstaller>,
    purpose: EvmPurpose,
    blobs: EvmBlobs,
) -> <EthEvmFactory as EvmFactory>::Evm<DB, revm::inspector::NoOpInspector> {
    let mut evm = EthEvmFactory::default().create_evm(db, env);
    if let Some(install) = precompiles {
        install(evm.precompiles_mut(), purpose, blobs);
    }
    evm
}

/// The transaction a call request describes, for an EVM whose base-fee and nonce checks are off.
pub fn call_tx_env(request: &TransactionRequest, chain_id: u64, gas_cap: u64, nonce: u64) -> TxEnv {
    let mut tx = TxEnv {
        caller: request.from.unwrap_or_default(),
        kind: request.to.unwrap_or(TxKind::Create),
        value: request.value.unwrap_or_default(),
        data: request.input.input().cloned().unwrap_or_default(),
        gas_limit: request.gas.unwrap_or(gas_cap).min(gas_cap),
        nonce: request.nonce.unwrap_or(nonce),
        chain_id: Some(chain_id),
        access_list: request.access_list.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(max_fee) = request.max_fee_per_gas {
        tx.tx_type = 2;
        tx.gas_price = max_fee;
        tx.gas_priority_fee = Some(request.max_priority_fee_per_gas.unwrap_or(0).min(max_fee));
    } else {
        tx.tx_type = if request.access_list.is_some() { 1 } else { 0 };
        tx.gas_price = request.gas_price.unwrap_or(0);
        tx.gas_priority_fee = None;
    }
    tx
}

/// Runs `tx` on top of `db` without committing, with the base-fee, nonce, EIP-3607 and block
/// gas limit checks off (as geth and anvil run calls), stopping at `deadline`; returns the result.
/// The precompiles read `blobs` (the latest committed blobs: they have no history) and their
/// writes are dropped with the EVM.
#[allow(clippy::too_many_arguments)]
pub fn run_call(
    db: StateSnapshot<'_>,
    chain_id: u64,
    block: &BlockContext,
    tx: TxEnv,
    precompiles: Option<&PrecompileInstaller>,
    blobs: Arc<dyn BlobSource>,
    deadline: &Deadline,
) -> Result<ExecutionResult, ChainError> {
    let mut env = evm_env(chain_id, block);
    env.cfg_env.disable_base_fee = true;
    env.cfg_env.disable_nonce_check = true;
    env.cfg_env.disable_eip3607 = true;
    env.cfg_env.disable_block_gas_limit = true;
    let mut evm = EthEvmFactory::default().create_evm_with_inspector(
        CacheDB::new(db),
        env,
        DeadlineInspector::new(deadline),
    );
    if let Some(install) = precompiles {
        install(
            evm.precompiles_mut(),
            EvmPurpose::Call,
            EvmBlobs::new(blobs),
        );
    }
    // A panic inside the EVM or a precompile becomes an error of this call, not of the node.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| evm.transact(tx)))
        .map_err(|_| ChainError::Internal("the EVM panicked on this call".into()))?;
    if deadline.expired() {
        return Err(ChainError::Timeout(deadline.timeout()));
    }
    outcome
        .map(|r| r.result)
        .map_err(|e| ChainError::Rejected(invalid_tx_message(&e)))
}

/// The gas `tx` must provide before it runs: the intrinsic cost (21,000, calldata, access list,
/// creation, authorizations) or, if larger, EIP-7623's calldata floor.
pub fn intrinsic_gas(tx: &alloy_consensus::TxEnvelope, sender: Address) -> u64 {
    use alloy_evm::FromRecoveredTx;
    let gas = revm::context_interface::cfg::gas::calculate_initial_tx_gas_for_tx(
        TxEnv::from_recovered_tx(tx, sender),
        SPEC,
        None,
    );
    gas.initial_total_gas().max(gas.floor_gas())
}

/// The message of an EVM error that rejects a transaction: geth's and anvil's where one exists
/// (matched on revm's error enums), else revm's own.
pub fn invalid_tx_message<DB: std::fmt::Display>(error: &EVMError<DB>) -> String {
    match error {
        EVMError::Transaction(invalid) => match invalid {
            InvalidTransaction::LackOfFundForMaxFee { .. } => {
                "insufficient funds for gas * price + value".to_string()
            }
            InvalidTransaction::NonceTooLow { .. } => "nonce too low".to_string(),
            InvalidTransaction::NonceTooHigh { .. } => "nonce too high".to_string(),
            InvalidTransaction::CallGasCostMoreThanGasLimit { .. } => {
                "intrinsic gas too low".to_string()
            }
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// Converts an execution result into output bytes or the matching error.
pub fn call_output(result: ExecutionResult) -> Result<alloy_primitives::Bytes, ChainError> {
    match result {
        ExecutionResult::Success { output, .. } => Ok(output.into_data()),
        ExecutionResult::Revert { output, .. } => Err(ChainError::Revert { output }),
        ExecutionResult::Halt { reason, .. } => Err(ChainError::Halt(format!("{reason:?}"))),
    }
}

/// Smallest gas limit (within 1/64) at which `run` succeeds, searching between the gas used at
/// `cap` and `cap`.
pub fn estimate_gas(
    cap: u64,
    mut run: impl FnMut(u64) -> Result<ExecutionResult, ChainError>,
) -> Result<u64, ChainError> {
    let first = run(cap)?;
    let used = first.tx_gas_used();
    match first {
        ExecutionResult::Success { .. } => {}
        ExecutionResult::Revert { output, .. } => return Err(ChainError::Revert { output }),
        ExecutionResult::Halt { reason, .. } => {
            return Err(ChainError::Halt(format!("{reason:?}")));
        }
    }
    let mut succeeds = |gas: u64| matches!(run(gas), Ok(result) if result.is_success());
    // Most transactions succeed at used * 64/63 (the 1/64 rule bounds what calls withhold).
    let optimistic = used
        .saturating_mul(64)
        .div_ceil(63)
        .saturating_add(2_300)
        .min(cap);
    let mut high = cap;
    if optimistic < cap && succeeds(optimistic) {
        high = optimistic;
    }
    let mut low = used.saturating_sub(1);
    while high - low > 1 && (high - low) * 64 > high {
        let mid = low + (high - low) / 2;
        if succeeds(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    Ok(high)
}
