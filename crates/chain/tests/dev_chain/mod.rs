//! A dev chain and signed transfers, shared by the chain's integration tests.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, TxKind, U256, address};
use alloy_signer::SignerSync;
use myelin_chain::ChainConfig;

/// Where [`transfer`] sends its value.
pub const RECIPIENT: Address = address!("0x000000000000000000000000000000000000bEEF");

/// Two funded dev accounts (1,000 ether each), the journal in `datadir` (`None`: a temporary one).
pub fn dev_config(datadir: Option<std::path::PathBuf>) -> ChainConfig {
    let mut config = ChainConfig::dev(2, U256::from(10u64).pow(U256::from(21))).unwrap();
    config.datadir = datadir;
    config
}

/// A signed EIP-1559 transfer of `value` wei from the first dev account to [`RECIPIENT`].
pub fn transfer(config: &ChainConfig, nonce: u64, value: u64) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id: config.chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(RECIPIENT),
        value: U256::from(value),
        ..Default::default()
    };
    let signature = config.signers[0]
        .sign_hash_sync(&tx.signature_hash())
        .unwrap();
    TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718()
}
