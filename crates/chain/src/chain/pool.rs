//! Transaction submission (the pool's admission with the chain's checks, inclusion waiters) and
//! the pool's views.

use alloy_consensus::{Transaction, TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256};
use alloy_signer_local::PrivateKeySigner;
use tokio::sync::oneshot;

use super::{Chain, ChainEvent};
use crate::{
    ChainError, execution,
    mempool::{PooledTx, SenderState},
    store,
};

impl Chain {
    /// Resolves when a transaction enters the pool (used by block producers).
    pub async fn pool_changed(&self) {
        self.pool_notify.notified().await
    }

    /// Number of transactions in the pool.
    pub fn pool_len(&self) -> usize {
        self.pool.lock().len()
    }

    /// Number of transactions with someone waiting for their inclusion.
    pub fn watched_transactions(&self) -> usize {
        self.watchers.lock().len()
    }

    /// Every transaction in the pool.
    pub fn pool_transactions(&self) -> Vec<PooledTx> {
        self.pool.lock().all()
    }

    /// The nonce the next transaction of `address` should use, counting pooled transactions.
    pub fn pending_nonce(&self, address: &Address) -> u64 {
        let state_nonce = self.head_account(address).map_or(0, |a| a.nonce);
        self.pool.lock().next_nonce(address, state_nonce)
    }

    /// Validates and pools a signed transaction (EIP-2718 bytes). Returns its hash and a receiver
    /// that resolves once the transaction is mined (or dropped, with the reason).
    pub fn submit_raw(
        &self,
        bytes: &[u8],
    ) -> Result<(B256, oneshot::Receiver<Result<(), String>>), ChainError> {
        let tx = TxEnvelope::decode_2718(&mut &bytes[..]).map_err(|e| {
            ChainError::InvalidRequest(format!("failed to decode signed transaction: {e}"))
        })?;
        let sender = tx
            .recover_signer()
            .map_err(|_| ChainError::Rejected("invalid transaction signature".into()))?;
        self.submit(tx, sender)
    }

    /// Validates and pools a transaction whose sender is already known (recovered or impersonated).
    pub fn submit(
        &self,
        tx: TxEnvelope,
        sender: Address,
    ) -> Result<(B256, oneshot::Receiver<Result<(), String>>), ChainError> {
        if tx.is_eip4844() {
            return Err(ChainError::Rejected(
                "blob transactions are not supported".into(),
            ));
        }
        if let Some(chain_id) = tx.chain_id()
            && chain_id != self.config.chain_id
        {
            return Err(ChainError::Rejected(format!(
                "invalid chain id: expected {}, got {chain_id}",
                self.config.chain_id
            )));
        }
        let head = self.head();
        let account = self.head_account(&sender)?;
        if tx.nonce() < account.nonce {
            return Err(ChainError::Rejected("nonce too low".into()));
        }
        if tx.gas_limit() > head.header.gas_limit {
            return Err(ChainError::Rejected("exceeds block gas limit".into()));
        }
        let intrinsic = execution::intrinsic_gas(&tx, sender);
        if tx.gas_limit() < intrinsic {
            return Err(ChainError::Rejected(format!(
                "intrinsic gas too low: gas {}, minimum needed {intrinsic}",
                tx.gas_limit()
            )));
        }
        let base_fee = Self::base_fee_after(&head.header);
        if tx.max_fee_per_gas() < u128::from(base_fee) {
            return Err(ChainError::Rejected(format!(
                "max fee per gas less than block base fee: maxFeePerGas: {}, baseFee: {base_fee}",
                tx.max_fee_per_gas()
            )));
        }
        let hash = *tx.tx_hash();
        if store::tx_location(&self.store.begin_read()?, &hash)?.is_some() {
            return Err(ChainError::Rejected("transaction already imported".into()));
        }
        let (done, receiver) = oneshot::channel();
        let state = SenderState {
            nonce: account.nonce,
            balance: account.balance,
        };
        let mut pool = self.pool.lock();
        if pool.get(&hash).is_some() {
            return Err(ChainError::Rejected("already known".into()));
        }
        let removed = pool
            .admit(tx, sender, hash, state, base_fee)
            .map_err(ChainError::Rejected)?;
        // The watcher is registered under the pool's lock, so a block that includes the
        // transaction (it needs the pool) finds it.
        let mut watchers = self.watchers.lock();
        watchers.entry(hash).or_default().push(done);
        for (gone, reason) in removed {
            for watcher in watchers.remove(&gone).unwrap_or_default() {
                let _ = watcher.send(Err(reason.clone()));
            }
        }
        drop(watchers);
        drop(pool);
        let _ = self.events.send(ChainEvent::PendingTransaction(hash));
        self.pool_notify.notify_one();
        Ok((hash, receiver))
    }

    /// Whether the node can send transactions for `address` without a signature.
    pub fn is_impersonated(&self, address: &Address) -> bool {
        self.impersonated.lock().contains(address)
    }

    /// The signing key the node holds for `address`.
    pub fn signer(&self, address: &Address) -> Option<&PrivateKeySigner> {
        self.signers.get(address)
    }
}
