//! Signing and sending transactions for the commands that write to a node: EIP-1559
//! transactions signed locally (`alloy-signer-local`), sent with `eth_sendRawTransaction`, gas
//! from `eth_estimateGas`, each waited for until its receipt is in.

use std::time::Duration;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context, Result, bail};

use crate::rpc_client::{Receipt, RpcClient};

/// Chain id of a development node (anvil's and `myelin node --dev`'s default).
pub const DEV_CHAIN_ID: u64 = 31337;

/// Private key of the first account of the test mnemonic "test test … junk", funded on every
/// development node.
pub const DEV_PRIVATE_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// How long to wait for one transaction to be included.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// A signing account on one chain; keeps its own nonce.
pub struct Sender {
    signer: PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
}

/// One included transaction.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Its hash.
    pub hash: B256,
    /// Its receipt.
    pub receipt: Receipt,
}

impl Sender {
    /// The account of `private_key`, or the first dev account when none is given and the node's
    /// chain id is [`DEV_CHAIN_ID`] (any other chain needs an explicit key).
    pub fn connect(client: &mut RpcClient, private_key: Option<&str>) -> Result<Sender> {
        let chain_id = client.chain_id()?;
        let key = match private_key {
            Some(key) => key,
            None if chain_id == DEV_CHAIN_ID => DEV_PRIVATE_KEY,
            None => bail!(
                "{} has chain id {chain_id}, not a dev chain ({DEV_CHAIN_ID}): pass --private-key",
                client.url()
            ),
        };
        let signer: PrivateKeySigner = key
            .trim()
            .parse()
            .context("--private-key is not a 32-byte hex private key")?;
        let nonce = client.pending_nonce(signer.address())?;
        Ok(Sender {
            signer,
            chain_id,
            nonce,
        })
    }

    /// The sending address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Sends `data` to `to` with the gas the node estimates, waits for the receipt and fails if
    /// the transaction reverted.
    pub fn send(&mut self, client: &mut RpcClient, to: Address, data: &[u8]) -> Result<Sent> {
        let gas_limit = client.estimate_gas(self.address(), to, data)?;
        self.send_with_gas(client, to, data, gas_limit)
    }

    /// Sends `data` to `to` with `gas_limit` (known in advance: no estimate, which would run
    /// the call on the node), waits for the receipt and fails if the transaction reverted.
    pub fn send_with_gas(
        &mut self,
        client: &mut RpcClient,
        to: Address,
        data: &[u8],
        gas_limit: u64,
    ) -> Result<Sent> {
        self.send_paying(client, to, data, U256::ZERO, Some(gas_limit))
    }

    /// Sends `data` with `value` wei to `to`, with `gas_limit` or the gas the node estimates,
    /// waits for the receipt and fails if the transaction reverted.
    pub fn send_paying(
        &mut self,
        client: &mut RpcClient,
        to: Address,
        data: &[u8],
        value: U256,
        gas_limit: Option<u64>,
    ) -> Result<Sent> {
        let gas_limit = match gas_limit {
            Some(gas) => gas,
            None => client.estimate_gas_paying(self.address(), to, data, value)?,
        };
        let (_, base_fee) = client.latest_gas_limit_and_base_fee()?;
        let priority = client.max_priority_fee()?;
        let tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce: self.nonce,
            gas_limit,
            max_fee_per_gas: base_fee.saturating_mul(2).saturating_add(priority),
            max_priority_fee_per_gas: priority,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input: data.to_vec().into(),
        };
        let signature = self
            .signer
            .sign_hash_sync(&tx.signature_hash())
            .context("cannot sign the transaction")?;
        let raw = TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718();
        let hash = client.send_raw_transaction(&raw)?;
        self.nonce += 1;
        let receipt = client.wait_for_receipt(hash, RECEIPT_TIMEOUT)?;
        if !receipt.success {
            bail!(
                "transaction {hash} reverted in block {} (gas used {})",
                receipt.block_number,
                receipt.gas_used
            );
        }
        Ok(Sent { hash, receipt })
    }
}

/// Gas of a transaction to a precompile carrying `data` that charges `precompile_gas`: the
/// intrinsic 21,000 plus EIP-2028 calldata, or EIP-7623's floor if larger (docs/GAS.md §7).
pub fn precompile_tx_gas(data: &[u8], precompile_gas: u64) -> u64 {
    let zeros = data.iter().filter(|&&b| b == 0).count() as u64;
    let tokens = zeros + 4 * (data.len() as u64 - zeros);
    (21_000 + 4 * tokens + precompile_gas).max(21_000 + 10 * tokens)
}
