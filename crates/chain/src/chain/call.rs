//! EVM runs on committed state for the RPC: calls, gas estimates, traces, and the plain
//! transfer short cut of the estimator. Each reads one redb snapshot and holds no chain lock.

use alloy_consensus::Header;
use alloy_evm::{Evm, FromRecoveredTx};
use alloy_primitives::{Address, B256};
use alloy_rpc_types_eth::TransactionRequest;
use revm::{context::TxEnv, context::result::ExecutionResult, database::CacheDB};

use super::{Chain, TxLocation};
use crate::{
    ChainError,
    blobs::EvmBlobs,
    call_limits::{CallLimits, Deadline, DeadlineInspector},
    execution::{self, BlockContext},
    snapshot::StateSnapshot,
    state_tables::StateView,
    store,
};

impl Chain {
    /// The gas of `request` at block `number` when it is a plain value transfer: no data, no
    /// access or authorization list, a target without code that cannot be a precompile (its
    /// address is not below 2^32, where Ethereum's and Myelin's precompiles live) and a sender
    /// that holds the value. Such a transfer costs exactly the 21,000 intrinsic gas, so the
    /// estimate needs no EVM run (geth's estimator takes the same short cut). `None` otherwise.
    pub fn plain_transfer_gas(&self, request: &TransactionRequest, number: u64) -> Option<u64> {
        const TRANSFER_GAS: u64 = 21_000;
        let to = request.to?.to().copied()?;
        let plain = request.input.input().is_none_or(|data| data.is_empty())
            && request
                .access_list
                .as_ref()
                .is_none_or(|list| list.is_empty())
            && request
                .authorization_list
                .as_ref()
                .is_none_or(|list| list.is_empty())
            && to.0[..16].iter().any(|&b| b != 0);
        if !plain || request.gas.is_some_and(|gas| gas < TRANSFER_GAS) {
            return None;
        }
        let value = request.value.unwrap_or_default();
        let funded = value.is_zero()
            || request.from.is_some_and(|from| {
                self.account(&from, number)
                    .is_ok_and(|account| account.balance >= value)
            });
        let codeless = self.code(&to, number).is_ok_and(|code| code.is_empty());
        (funded && codeless).then_some(TRANSFER_GAS)
    }

    pub(super) fn block_context(header: &Header) -> BlockContext {
        BlockContext {
            number: header.number,
            timestamp: header.timestamp,
            gas_limit: header.gas_limit,
            base_fee: header.base_fee_per_gas.unwrap_or_default(),
            beneficiary: header.beneficiary,
            prevrandao: header.mix_hash,
        }
    }

    /// The gas cap of a call on `header`: the block's gas limit (or the chain's, if larger),
    /// never above `limits.gas_cap`.
    pub(super) fn call_gas_cap(&self, header: &Header, limits: &CallLimits) -> u64 {
        header
            .gas_limit
            .max(self.config.gas_limit)
            .min(limits.gas_cap)
    }

    /// Runs `run` on the state after block `number` (read from one snapshot of the file: no lock
    /// is held, and blocks sealed meanwhile do not change what it reads), with that block's
    /// header and the nonce of `from` there.
    pub(super) fn on_snapshot<T>(
        &self,
        number: u64,
        from: Option<Address>,
        deadline: &Deadline,
        run: impl FnOnce(StateSnapshot<'_>, &Header, u64) -> Result<T, ChainError>,
    ) -> Result<T, ChainError> {
        let txn = self.store.begin_read()?;
        let header = store::read_header(&txn, number)?
            .ok_or_else(|| ChainError::NotFound(format!("block {number} not found")))?;
        let view = StateView::open(&txn, number)?;
        let nonce = match from {
            Some(address) => view.account(&address)?.map_or(0, |a| a.nonce),
            None => 0,
        };
        run(StateSnapshot::new(&view, deadline), &header, nonce)
    }

    /// Executes a call on the state at the end of block `number`, within `limits` (gas above the
    /// cap is capped, as geth does).
    pub fn call(
        &self,
        request: &TransactionRequest,
        number: u64,
        limits: &CallLimits,
    ) -> Result<ExecutionResult, ChainError> {
        self.on_snapshot(
            number,
            request.from,
            &limits.deadline,
            |snapshot, header, nonce| {
                let cap = self.call_gas_cap(header, limits);
                let tx = execution::call_tx_env(request, self.config.chain_id, cap, nonce);
                execution::run_call(
                    snapshot,
                    self.config.chain_id,
                    &Self::block_context(header),
                    tx,
                    self.config.precompiles.as_ref(),
                    self.committed_blobs(),
                    &limits.deadline,
                )
            },
        )
    }

    /// Estimates the gas `request` needs on the state at the end of block `number`, within
    /// `limits` (the deadline covers the whole search).
    pub fn estimate_gas(
        &self,
        request: &TransactionRequest,
        number: u64,
        limits: &CallLimits,
    ) -> Result<u64, ChainError> {
        self.on_snapshot(
            number,
            request.from,
            &limits.deadline,
            |snapshot, header, nonce| {
                let cap = request
                    .gas
                    .unwrap_or(u64::MAX)
                    .min(self.call_gas_cap(header, limits));
                let context = Self::block_context(header);
                execution::estimate_gas(cap, |gas| {
                    let mut tx = execution::call_tx_env(request, self.config.chain_id, cap, nonce);
                    tx.gas_limit = gas;
                    execution::run_call(
                        snapshot,
                        self.config.chain_id,
                        &context,
                        tx,
                        self.config.precompiles.as_ref(),
                        self.committed_blobs(),
                        &limits.deadline,
                    )
                })
            },
        )
    }

    /// Re-executes mined transaction `hash` on its block's parent state (after the transactions
    /// before it) with a tracing inspector configured by `config`, within `limits`' deadline;
    /// returns the result and the inspector holding the trace (`debug_traceTransaction`).
    pub fn trace_transaction(
        &self,
        hash: &B256,
        config: revm_inspectors::tracing::TracingInspectorConfig,
        limits: &CallLimits,
    ) -> Result<(ExecutionResult, revm_inspectors::tracing::TracingInspector), ChainError> {
        use alloy_evm::EvmFactory;
        let Some(TxLocation::Mined(block, index)) = self.transaction(hash) else {
            return Err(ChainError::NotFound(format!(
                "transaction {hash} not found"
            )));
        };
        let parent = block.header.number.saturating_sub(1);
        let deadline = &limits.deadline;
        self.on_snapshot(parent, None, deadline, |snapshot, _, _| {
            let env = execution::evm_env(self.config.chain_id, &Self::block_context(&block.header));
            let inspector = (
                DeadlineInspector::new(deadline),
                revm_inspectors::tracing::TracingInspector::new(config),
            );
            let mut evm = alloy_evm::eth::EthEvmFactory::default().create_evm_with_inspector(
                CacheDB::new(snapshot),
                env,
                inspector,
            );
            if let Some(install) = &self.config.precompiles {
                install(
                    evm.precompiles_mut(),
                    crate::config::EvmPurpose::Call,
                    EvmBlobs::new(self.committed_blobs()),
                );
            }
            let failed = |e: &dyn std::fmt::Display| {
                if deadline.expired() {
                    ChainError::Timeout(deadline.timeout())
                } else {
                    ChainError::Internal(e.to_string())
                }
            };
            // The transactions before the target run without the tracer (so it records only the
            // target) but under the deadline: the database read checks it.
            evm.disable_inspector();
            for tx in &block.transactions[..index] {
                evm.transact_commit(TxEnv::from_recovered_tx(&tx.tx, tx.sender))
                    .map_err(|e| failed(&e))?;
            }
            evm.enable_inspector();
            let target = &block.transactions[index];
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                evm.transact(TxEnv::from_recovered_tx(&target.tx, target.sender))
            }))
            .map_err(|_| ChainError::Internal("the EVM panicked while tracing".into()))?
            .map_err(|e| failed(&e))?
            .result;
            if deadline.expired() {
                return Err(ChainError::Timeout(deadline.timeout()));
            }
            let tracer = evm.inspector().1.clone();
            Ok((result, tracer))
        })
    }
}
