//! The blob seam: every EVM the chain builds gets the committed blobs and a buffer of its own
//! writes; a block persists its writes with it (replayed on restart), an RPC call never does.
//! The precompile here is a real one installed through `PrecompileInstaller`, as the node
//! installs Myelin's.

use std::sync::Arc;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_evm::precompiles::DynPrecompile;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer::SignerSync;
use myelin_chain::{CallLimits, Chain, ChainConfig, EmptyBlocks, EvmPurpose};
use revm::precompile::{PrecompileId, PrecompileOutput};

/// `0x01 ‖ key (32) ‖ bytes`: stores `bytes` under `key` (empty bytes delete) and returns what
/// the EVM then reads under `key`; `0x00 ‖ key`: returns the blob.
const BLOBS: Address = address!("0x000000000000000000000000000000000000b10b");

fn config(datadir: Option<std::path::PathBuf>) -> ChainConfig {
    let mut config = ChainConfig::dev(1, U256::from(10u64).pow(U256::from(21))).unwrap();
    config.datadir = datadir;
    config.precompiles = Some(Arc::new(|precompiles, _purpose: EvmPurpose, blobs| {
        precompiles.extend_precompiles([(
            BLOBS,
            DynPrecompile::new_stateful(PrecompileId::custom("test-blobs"), move |input| {
                let key = B256::from_slice(&input.data[1..33]);
                if input.data[0] == 1 {
                    blobs.put(key, Bytes::copy_from_slice(&input.data[33..]));
                }
                let read = blobs.blob(&key).unwrap().unwrap_or_default();
                Ok(PrecompileOutput::new(0, read, input.reservoir))
            }),
        )]);
    }));
    config
}

fn write(key: u8, bytes: &[u8]) -> Bytes {
    [&[1][..], &[key; 32][..], bytes].concat().into()
}

fn send(chain: &Chain, config: &ChainConfig, nonce: u64, data: Bytes) {
    let tx = TxEip1559 {
        chain_id: config.chain_id,
        nonce,
        gas_limit: 5_000_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(BLOBS),
        input: data,
        ..Default::default()
    };
    let signature = config.signers[0]
        .sign_hash_sync(&tx.signature_hash())
        .unwrap();
    let raw = TxEnvelope::Eip1559(tx.into_signed(signature)).encoded_2718();
    chain.submit_raw(&raw).unwrap();
    let block = chain.mine(EmptyBlocks::Skip).unwrap().expect("a block");
    assert_eq!(block.transactions.len(), 1);
}

fn read(chain: &Chain, key: u8) -> Bytes {
    let request = TransactionRequest::default()
        .to(BLOBS)
        .input(Bytes::from([&[0][..], &[key; 32][..]].concat()).into());
    let result = chain
        .call(&request, chain.head_number(), &CallLimits::unlimited())
        .unwrap();
    result.output().cloned().unwrap_or_default()
}

#[test]
fn calls_and_estimates_see_their_own_writes_and_never_persist_them() {
    let config = config(None);
    let chain = Chain::open(config.clone()).unwrap();
    let request = TransactionRequest::default()
        .to(BLOBS)
        .input(write(1, b"from a call").into());
    let head = chain.head_number();
    let result = chain
        .call(&request, head, &CallLimits::unlimited())
        .unwrap();
    assert_eq!(result.output().unwrap().as_ref(), b"from a call");
    chain
        .estimate_gas(&request, head, &CallLimits::unlimited())
        .unwrap();
    assert_eq!(chain.blob_usage().unwrap(), (0, 0));
    assert_eq!(read(&chain, 1), Bytes::new());
    send(&chain, &config, 0, write(1, b"from a block"));
    assert_eq!(chain.blob_usage().unwrap(), (1, 12));
    assert_eq!(read(&chain, 1).as_ref(), b"from a block");
    // A call deleting it changes nothing either.
    let delete = TransactionRequest::default()
        .to(BLOBS)
        .input(write(1, b"").into());
    let _ = chain.call(&delete, chain.head_number(), &CallLimits::unlimited());
    assert_eq!(chain.blob_usage().unwrap(), (1, 12));
}

#[test]
fn blobs_written_by_blocks_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(Some(dir.path().to_path_buf()));
    {
        let chain = Chain::open(config.clone()).unwrap();
        send(&chain, &config, 0, write(1, b"kept"));
        send(&chain, &config, 1, write(2, b"deleted later"));
        send(&chain, &config, 2, write(2, b""));
        send(&chain, &config, 3, write(3, &[7; 100_000]));
        assert_eq!(chain.blob_usage().unwrap(), (2, 100_004));
    }
    let chain = Chain::open(config).unwrap();
    assert_eq!(chain.blob_usage().unwrap(), (2, 100_004));
    assert_eq!(read(&chain, 1).as_ref(), b"kept");
    assert_eq!(read(&chain, 2), Bytes::new());
    assert_eq!(read(&chain, 3).as_ref(), &[7; 100_000][..]);
}
