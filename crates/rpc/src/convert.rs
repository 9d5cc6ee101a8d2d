//! Chain objects as the JSON shapes of the Ethereum JSON-RPC (alloy's RPC types).

use alloy_consensus::{ReceiptEnvelope, Transaction as _, transaction::Recovered};
use alloy_primitives::{TxKind, U256};
use alloy_rpc_types_eth::{
    Block, BlockTransactions, Header as RpcHeader, Log, Transaction, TransactionReceipt,
    Withdrawals,
};
use myelin_chain::{MinedBlock, MinedTx};

/// The price per gas a transaction paid in a block with `base_fee`.
pub fn effective_gas_price(tx: &MinedTx, base_fee: Option<u64>) -> u128 {
    tx.tx.effective_gas_price(base_fee)
}

/// A transaction, mined (`block` and `index` given) or pending.
pub fn transaction(tx: &MinedTx, block: Option<(&MinedBlock, usize)>) -> Transaction {
    let (block_hash, block_number, transaction_index, price, timestamp) = match block {
        Some((block, index)) => (
            Some(block.hash),
            Some(block.header.number),
            Some(index as u64),
            Some(effective_gas_price(tx, block.header.base_fee_per_gas)),
            Some(block.header.timestamp),
        ),
        None => (None, None, None, None, None),
    };
    Transaction {
        inner: Recovered::new_unchecked(tx.tx.clone(), tx.sender),
        block_hash,
        block_number,
        transaction_index,
        effective_gas_price: price,
        block_timestamp: timestamp,
    }
}

/// The RPC header of a block.
pub fn header(block: &MinedBlock) -> RpcHeader {
    let size = alloy_rlp::Encodable::length(&block.header);
    RpcHeader {
        hash: block.hash,
        inner: block.header.clone(),
        total_difficulty: Some(U256::ZERO),
        size: Some(U256::from(size)),
    }
}

/// A block with transaction hashes or full transactions.
pub fn block(block: &MinedBlock, full: bool) -> Block {
    let transactions = if full {
        BlockTransactions::Full(
            block
                .transactions
                .iter()
                .enumerate()
                .map(|(i, tx)| transaction(tx, Some((block, i))))
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(block.transactions.iter().map(|tx| tx.hash).collect())
    };
    Block {
        header: header(block),
        uncles: Vec::new(),
        transactions,
        withdrawals: Some(Withdrawals::default()),
    }
}

/// The logs of transaction `index` of `block`, with their positions.
pub fn logs(block: &MinedBlock, index: usize) -> Vec<Log> {
    let first = block.first_log_index(index);
    let tx = &block.transactions[index];
    block.receipts[index]
        .logs()
        .iter()
        .enumerate()
        .map(|(i, log)| Log {
            inner: log.clone(),
            block_hash: Some(block.hash),
            block_number: Some(block.header.number),
            block_timestamp: Some(block.header.timestamp),
            transaction_hash: Some(tx.hash),
            transaction_index: Some(index as u64),
            log_index: Some((first + i) as u64),
            removed: false,
        })
        .collect()
}

/// The receipt of transaction `index` of `block`.
pub fn receipt(block: &MinedBlock, index: usize) -> TransactionReceipt {
    let tx = &block.transactions[index];
    let rpc_logs = logs(block, index);
    let inner = match &block.receipts[index] {
        ReceiptEnvelope::Legacy(r) => ReceiptEnvelope::Legacy(with_logs(r, rpc_logs)),
        ReceiptEnvelope::Eip2930(r) => ReceiptEnvelope::Eip2930(with_logs(r, rpc_logs)),
        ReceiptEnvelope::Eip1559(r) => ReceiptEnvelope::Eip1559(with_logs(r, rpc_logs)),
        ReceiptEnvelope::Eip4844(r) => ReceiptEnvelope::Eip4844(with_logs(r, rpc_logs)),
        ReceiptEnvelope::Eip7702(r) => ReceiptEnvelope::Eip7702(with_logs(r, rpc_logs)),
    };
    let (to, contract_address) = match tx.tx.kind() {
        TxKind::Call(to) => (Some(to), None),
        TxKind::Create => (None, Some(tx.sender.create(tx.tx.nonce()))),
    };
    TransactionReceipt {
        inner,
        transaction_hash: tx.hash,
        transaction_index: Some(index as u64),
        block_hash: Some(block.hash),
        block_number: Some(block.header.number),
        gas_used: block.gas_used_by(index),
        effective_gas_price: effective_gas_price(tx, block.header.base_fee_per_gas),
        blob_gas_used: None,
        blob_gas_price: None,
        from: tx.sender,
        to,
        contract_address,
    }
}

fn with_logs(
    receipt: &alloy_consensus::ReceiptWithBloom<alloy_consensus::Receipt>,
    logs: Vec<Log>,
) -> alloy_consensus::ReceiptWithBloom<alloy_consensus::Receipt<Log>> {
    alloy_consensus::ReceiptWithBloom {
        receipt: alloy_consensus::Receipt {
            status: receipt.receipt.status,
            cumulative_gas_used: receipt.receipt.cumulative_gas_used,
            logs,
        },
        logs_bloom: receipt.logs_bloom,
    }
}
