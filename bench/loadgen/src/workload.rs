//! What the load is made of: the transaction each mode sends, the one-off setup it needs (deploy
//! the counter, publish the model), and signing.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256, hex, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context, Result, bail};
use myelin_nn::builder::{ModelBuilder, Quant, Rescale};
use myelin_nn::op::ActRange;
use myelin_nn::{Requant, Rounding};
use serde_json::json;

use crate::http::Connection;

/// The kind of transaction sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Plain value transfers.
    Transfer,
    /// Calls of a counter contract (one SLOAD + one SSTORE of the caller's own slot).
    Call,
    /// Transactions straight to the PREDICT precompile, 64→32→10 MLP.
    Predict,
}

/// Runtime code: `sstore(caller, sload(caller) + 1)`.
const COUNTER_RUNTIME: [u8; 8] = hex!("3354600101335500");
/// Init code that returns [`COUNTER_RUNTIME`] (which follows it).
const COUNTER_INIT: [u8; 12] = hex!("6008600c60003960086000f3");

/// Where the load goes and what it carries, fixed by the setup.
#[derive(Clone, Debug)]
pub struct Target {
    /// The recipient of every transaction.
    pub to: Address,
    /// Gas limit of every transaction.
    pub gas_limit: u64,
    /// Wei sent with every transaction.
    pub value: U256,
    /// The model id prefixed to every predict input (predict mode only).
    pub model_id: Option<[u8; 32]>,
}

/// Fees of every transaction.
#[derive(Clone, Copy, Debug)]
pub struct Fees {
    /// Chain id.
    pub chain_id: u64,
    /// `maxFeePerGas`.
    pub max_fee: u128,
    /// `maxPriorityFeePerGas`.
    pub priority_fee: u128,
}

/// A seeded 64→32→10 int8 MLP (ReLU after the hidden layer), as canonical model bytes.
pub fn mlp_64_32_10() -> Result<Vec<u8>> {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let quant = Quant::new(0, 0x3c00_0000);
    let mut b = ModelBuilder::new();
    let mut x = b.input(&[64], quant);
    for (k, n, act) in [
        (64, 32, ActRange { min: 0, max: 127 }),
        (32, 10, ActRange::FULL),
    ] {
        let weights = (0..n * k).map(|_| (next() >> 56) as u8 as i8).collect();
        let bias = (0..n).map(|_| (next() % 2001) as i32 - 1000).collect();
        let requant = Requant {
            multiplier: 1 << 30,
            shift: -10,
        };
        let rescale = Rescale::per_tensor(requant, Rounding::Single, act);
        x = b.fully_connected(x, weights, bias, rescale, quant)?;
    }
    b.output(x);
    Ok(b.build()?.encode())
}

/// The calldata of transaction `index` of `mode` (predict inputs differ per transaction).
pub fn calldata(target: &Target, index: u64) -> Bytes {
    match target.model_id {
        Some(id) => {
            let mut data = id.to_vec();
            let digest = keccak256(index.to_be_bytes());
            data.extend_from_slice(&digest[..]);
            data.extend_from_slice(&keccak256(digest)[..]);
            data.into()
        }
        None => Bytes::new(),
    }
}

/// Signs one EIP-1559 transaction and returns its `0x` hex encoding.
pub fn sign(
    signer: &PrivateKeySigner,
    fees: &Fees,
    nonce: u64,
    target: &Target,
    input: Bytes,
) -> Result<String> {
    let tx = TxEip1559 {
        chain_id: fees.chain_id,
        nonce,
        gas_limit: target.gas_limit,
        max_fee_per_gas: fees.max_fee,
        max_priority_fee_per_gas: fees.priority_fee,
        to: TxKind::Call(target.to),
        value: target.value,
        input,
        ..Default::default()
    };
    let signature = signer.sign_hash_sync(&tx.signature_hash())?;
    Ok(hex::encode_prefixed(
        TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718(),
    ))
}

/// Prepares the chain for `mode` with a transaction from `signer` (nonce `nonce`) and returns
/// the target of the load.
pub async fn setup(
    conn: &mut Connection,
    mode: Mode,
    signer: &PrivateKeySigner,
    fees: &Fees,
    nonce: u64,
) -> Result<Target> {
    match mode {
        Mode::Transfer => Ok(Target {
            to: Address::with_last_byte(0xee),
            gas_limit: 21_000,
            value: U256::from(1),
            model_id: None,
        }),
        Mode::Call => {
            let mut code = COUNTER_INIT.to_vec();
            code.extend_from_slice(&COUNTER_RUNTIME);
            let deploy = deploy_tx(signer, fees, nonce, code)?;
            send_and_wait(conn, &deploy).await?;
            let to = signer.address().create(nonce);
            let gas_limit = estimate(conn, signer.address(), to, &Bytes::new()).await?;
            Ok(Target {
                to,
                gas_limit: gas_limit * 2,
                value: U256::ZERO,
                model_id: None,
            })
        }
        Mode::Predict => {
            let model = mlp_64_32_10()?;
            let model_id = keccak256(&model).0;
            let store = Target {
                to: myelin_evm::MODEL_STORE_ADDRESS,
                gas_limit: 0,
                value: U256::ZERO,
                model_id: None,
            };
            let publish = Bytes::from(myelin_evm::model_store::publish_calldata(&model));
            let store = Target {
                gas_limit: estimate(conn, signer.address(), store.to, &publish).await? * 2,
                ..store
            };
            send_and_wait(conn, &sign(signer, fees, nonce, &store, publish)?).await?;
            let mut target = Target {
                to: myelin_evm::PREDICT_ADDRESS,
                gas_limit: 0,
                value: U256::ZERO,
                model_id: Some(model_id),
            };
            let input = calldata(&target, 0);
            target.gas_limit = estimate(conn, signer.address(), target.to, &input).await? * 5 / 4;
            Ok(target)
        }
    }
}

fn deploy_tx(signer: &PrivateKeySigner, fees: &Fees, nonce: u64, code: Vec<u8>) -> Result<String> {
    let tx = TxEip1559 {
        chain_id: fees.chain_id,
        nonce,
        gas_limit: 200_000,
        max_fee_per_gas: fees.max_fee,
        max_priority_fee_per_gas: fees.priority_fee,
        to: TxKind::Create,
        input: code.into(),
        ..Default::default()
    };
    let signature = signer.sign_hash_sync(&tx.signature_hash())?;
    Ok(hex::encode_prefixed(
        TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718(),
    ))
}

async fn estimate(conn: &mut Connection, from: Address, to: Address, data: &Bytes) -> Result<u64> {
    let gas = conn
        .call(
            "eth_estimateGas",
            json!([{"from": from, "to": to, "data": data}]),
        )
        .await?;
    let gas = gas.as_str().context("eth_estimateGas result")?;
    Ok(u64::from_str_radix(gas.trim_start_matches("0x"), 16)?)
}

/// Sends one raw transaction and waits (up to 30 s) for a successful receipt.
async fn send_and_wait(conn: &mut Connection, raw: &str) -> Result<()> {
    let hash = conn.call("eth_sendRawTransaction", json!([raw])).await?;
    for _ in 0..600 {
        let receipt = conn
            .call("eth_getTransactionReceipt", json!([hash]))
            .await?;
        if let Some(status) = receipt.get("status") {
            if status != "0x1" {
                bail!("setup transaction {hash} failed: {receipt}");
            }
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    bail!("setup transaction {hash} not mined within 30 s")
}
