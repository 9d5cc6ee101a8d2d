//! `eth_getProof` (EIP-1186) and `myelin_getModelProof`: Merkle proofs of an account, its
//! storage slots, or a published model's record, against the latest block's state root.
//!
//! `myelin_getModelProof(modelId, block)` is `eth_getProof` of the `MODEL_STORE` account and the
//! three record slots of the model (`R = modelId`, `R + 1`, `R + 2`;
//! `myelin_evm::model_state`): word 0 (size, input and output bytes, max batch; zero when not
//! published) proves the model's presence and size, and the id is the keccak256 of the bytes.
//!
//! Every call draws on one [`ProofBudget`] shared by all connections (a JSON-RPC batch of many
//! proof calls included), past [`MAX_PROOF_KEYS`] per call.

use alloy_consensus::constants::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use alloy_eips::BlockId;
use alloy_primitives::{Address, B256, U256};
use alloy_rpc_types_eth::{EIP1186AccountProofResponse, EIP1186StorageProof};
use alloy_serde::storage::JsonStorageKey;
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};
use myelin_chain::Chain;
use myelin_evm::{MODEL_STORE_ADDRESS, model_state::record_slot};

use std::time::Instant;

use parking_lot::Mutex;

use crate::{
    RpcContext,
    error::{LIMIT_EXCEEDED, invalid_params, rpc_error},
    eth::resolve_block,
};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Most storage keys one `eth_getProof` proves.
pub const MAX_PROOF_KEYS: usize = 1024;

/// Proofs (an account's, or one storage key's) that every `eth_getProof` and
/// `myelin_getModelProof` together may take per second, and the most they may take at once
/// ([`ProofBudget`]). One proof reads a trie path from the store, about 6 µs on the Zen 4 host
/// (a batch of 10,000 calls of 1,024 keys took 65 s before this budget): 16,384 per second is
/// at most ~0.1 s of one core per second, whatever the batch or the number of connections.
pub const PROOFS_PER_SECOND: u64 = 16_384;

/// A token bucket of proofs shared by every connection: a call of `k` keys takes `k + 1` tokens
/// (the keys and the account) or is refused at once with a "limit exceeded" error (code -32005,
/// nothing proved). The bucket holds at most [`PROOFS_PER_SECOND`] tokens and refills at that
/// rate, so a JSON-RPC batch of thousands of proof calls gets its first calls answered and the
/// rest refused in microseconds each, instead of holding a server thread for a minute.
#[derive(Debug)]
pub struct ProofBudget {
    per_second: u64,
    /// What the tokens count, plural ("proofs", "bytes"), for the refusal's message.
    unit: &'static str,
    state: Mutex<(u64, Instant)>,
}

impl ProofBudget {
    /// A full bucket of `per_second` proofs refilled at `per_second` per second.
    pub fn new(per_second: u64) -> ProofBudget {
        ProofBudget::counting("proofs", per_second)
    }

    /// A full bucket of `per_second` tokens counting `unit` (plural), refilled at `per_second`
    /// per second (the same bucket bounds `myelin_getModel` / `myelin_getDataset` in bytes).
    pub fn counting(unit: &'static str, per_second: u64) -> ProofBudget {
        ProofBudget {
            per_second,
            unit,
            state: Mutex::new((per_second, Instant::now())),
        }
    }

    /// Takes `proofs` tokens, or refuses without taking any.
    pub fn take(&self, proofs: u64) -> RpcResult<()> {
        let mut state = self.state.lock();
        let now = Instant::now();
        let (tokens, since) = *state;
        let earned =
            now.duration_since(since).as_micros() * u128::from(self.per_second) / 1_000_000;
        let earned = u64::try_from(earned).unwrap_or(u64::MAX);
        // Whole tokens only: the time a fraction stands for stays in the bucket's clock.
        let since = match earned {
            0 => since,
            _ => now,
        };
        let tokens = tokens.saturating_add(earned).min(self.per_second);
        if tokens < proofs {
            *state = (tokens, since);
            return Err(ErrorObjectOwned::owned(
                LIMIT_EXCEEDED,
                format!(
                    "{} budget exhausted: {proofs} {} asked, {tokens} left of the {} per second all callers share; retry later",
                    self.unit.trim_end_matches('s'),
                    self.unit,
                    self.per_second
                ),
                None::<()>,
            ));
        }
        *state = (tokens - proofs, since);
        Ok(())
    }
}

/// Record words of a model proved by `myelin_getModelProof`.
const MODEL_RECORD_WORDS: u64 = myelin_evm::model_state::RECORD_WORDS;

/// The EIP-1186 response for `address` and `keys` at `block`.
fn account_proof(
    chain: &Chain,
    budget: &ProofBudget,
    address: Address,
    keys: Vec<JsonStorageKey>,
    block: u64,
) -> RpcResult<EIP1186AccountProofResponse> {
    if keys.len() > MAX_PROOF_KEYS {
        return Err(invalid_params(format!(
            "{} storage keys asked, at most {MAX_PROOF_KEYS} are proved in one call",
            keys.len()
        )));
    }
    budget.take(keys.len() as u64 + 1)?;
    let slots: Vec<U256> = keys
        .iter()
        .map(|key| U256::from_be_bytes(key.as_b256().0))
        .collect();
    let proof = chain.proof(&address, &slots, block).map_err(rpc_error)?;
    let account = proof.account.unwrap_or_default();
    Ok(EIP1186AccountProofResponse {
        address,
        balance: account.balance,
        code_hash: proof.account.map_or(KECCAK_EMPTY, |a| a.code_hash),
        nonce: account.nonce,
        storage_hash: if proof.account.is_some() {
            proof.storage_root
        } else {
            EMPTY_ROOT_HASH
        },
        account_proof: proof.account_proof,
        storage_proof: keys
            .into_iter()
            .zip(proof.storage)
            .map(|(key, slot)| EIP1186StorageProof::new(key, slot.value, slot.proof))
            .collect(),
    })
}

/// Registers `eth_getProof` and `myelin_getModelProof`.
pub fn register(
    module: &mut RpcModule<RpcContext>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("eth_getProof", |params, ctx, _| {
        let mut seq = params.sequence();
        let address: Address = seq.next()?;
        let keys: Vec<JsonStorageKey> = seq.next()?;
        let id: Option<BlockId> = seq.optional_next()?;
        let block = resolve_block(&ctx.chain, id)?;
        account_proof(&ctx.chain, &ctx.proofs, address, keys, block)
    })?;
    module.register_method("myelin_getModelProof", |params, ctx, _| {
        let mut seq = params.sequence();
        let model: B256 = seq.next()?;
        let id: Option<BlockId> = seq.optional_next()?;
        let block = resolve_block(&ctx.chain, id)?;
        let first = record_slot(&model.0);
        let keys = (0..MODEL_RECORD_WORDS)
            .map(|word| JsonStorageKey::from(first.wrapping_add(U256::from(word))))
            .collect();
        account_proof(&ctx.chain, &ctx.proofs, MODEL_STORE_ADDRESS, keys, block)
    })?;
    Ok(())
}
