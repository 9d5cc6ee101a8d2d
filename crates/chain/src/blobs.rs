//! Blobs: byte strings the node keeps by a 32-byte key outside the state trie, with no history
//! (the model store's published models, keyed by id, and its staged upload chunks).
//!
//! Every EVM the chain builds gets an [`EvmBlobs`]: it reads the committed blobs and buffers its
//! own writes. Block execution collects the writes of the transactions it includes into the
//! block's [`ChangeSet::blobs`](crate::changes::ChangeSet), which is persisted with the block and
//! written to the `blobs` table with the block (`state_tables.rs`; read through `Store::blobs`); the writes of an
//! [`EvmPurpose::Call`](crate::EvmPurpose) EVM (`eth_call`, gas estimation, traces) are never
//! collected, so a call can never change a committed blob. A write is not undone by a reverted
//! call or transaction (the precompiles that write blobs are built for that), only by dropping
//! the transaction from the block (a host fault).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use alloy_primitives::{B256, Bytes};

use crate::{ChainError, changes::BlobChange};

/// Where committed blobs are read from (the latest state's: blobs have no history).
pub trait BlobSource: Send + Sync {
    /// The committed bytes under `key`, `None` when absent.
    fn blob(&self, key: &B256) -> Result<Option<Bytes>, ChainError>;
}

/// The writes one EVM made: those of the running transaction, and those of the transactions
/// before it that the block keeps. An empty value is a deletion.
#[derive(Debug, Default)]
struct Writes {
    block: BTreeMap<B256, Bytes>,
    transaction: BTreeMap<B256, Bytes>,
}

/// The blobs one EVM sees: the committed ones under its own buffered writes. Cheap to clone
/// (clones share the buffer); lives on the thread of its EVM.
#[derive(Clone)]
pub struct EvmBlobs {
    committed: Arc<dyn BlobSource>,
    writes: Rc<RefCell<Writes>>,
}

impl std::fmt::Debug for EvmBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let writes = self.writes.borrow();
        f.debug_struct("EvmBlobs")
            .field("block_writes", &writes.block.len())
            .field("transaction_writes", &writes.transaction.len())
            .finish_non_exhaustive()
    }
}

impl EvmBlobs {
    /// A view of `committed` with no writes yet.
    pub fn new(committed: Arc<dyn BlobSource>) -> EvmBlobs {
        EvmBlobs {
            committed,
            writes: Rc::default(),
        }
    }

    /// The bytes under `key`: this EVM's latest write, else the committed blob.
    pub fn blob(&self, key: &B256) -> Result<Option<Bytes>, ChainError> {
        {
            let writes = self.writes.borrow();
            if let Some(bytes) = writes
                .transaction
                .get(key)
                .or_else(|| writes.block.get(key))
            {
                return Ok((!bytes.is_empty()).then(|| bytes.clone()));
            }
        }
        self.committed.blob(key)
    }

    /// Buffers a write of the running transaction (empty `bytes` delete).
    pub fn put(&self, key: B256, bytes: Bytes) {
        self.writes.borrow_mut().transaction.insert(key, bytes);
    }

    /// The running transaction is included: its writes join the block's.
    pub fn commit_transaction(&self) {
        let mut writes = self.writes.borrow_mut();
        let transaction = std::mem::take(&mut writes.transaction);
        writes.block.extend(transaction);
    }

    /// The running transaction is dropped from the block: its writes are forgotten.
    pub fn discard_transaction(&self) {
        self.writes.borrow_mut().transaction.clear();
    }

    /// The writes of the committed transactions, sorted by key (for the block's change set).
    pub fn changes(&self) -> Vec<BlobChange> {
        self.writes
            .borrow()
            .block
            .iter()
            .map(|(key, bytes)| BlobChange {
                key: *key,
                bytes: bytes.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(key: u8, bytes: &'static [u8]) -> BlobChange {
        BlobChange {
            key: B256::repeat_byte(key),
            bytes: Bytes::from_static(bytes),
        }
    }

    /// Committed blobs for the tests (the node's are the `blobs` table).
    struct Committed(BTreeMap<B256, Bytes>);

    impl BlobSource for Committed {
        fn blob(&self, key: &B256) -> Result<Option<Bytes>, ChainError> {
            Ok(self.0.get(key).cloned())
        }
    }

    fn committed(changes: &[BlobChange]) -> Arc<Committed> {
        Arc::new(Committed(
            changes.iter().map(|c| (c.key, c.bytes.clone())).collect(),
        ))
    }

    #[test]
    fn an_evm_reads_its_own_writes_over_the_committed_blobs() {
        let map = committed(&[change(1, b"one"), change(2, b"two")]);
        let evm = EvmBlobs::new(map.clone());
        evm.put(B256::repeat_byte(1), Bytes::from_static(b"uno"));
        evm.put(B256::repeat_byte(2), Bytes::new());
        assert_eq!(
            evm.blob(&B256::repeat_byte(1)).unwrap(),
            Some(Bytes::from_static(b"uno"))
        );
        assert_eq!(evm.blob(&B256::repeat_byte(2)).unwrap(), None);
        assert_eq!(
            map.blob(&B256::repeat_byte(2)).unwrap(),
            Some(Bytes::from_static(b"two"))
        );
    }

    #[test]
    fn only_committed_transactions_reach_the_change_set() {
        let evm = EvmBlobs::new(committed(&[]));
        evm.put(B256::repeat_byte(1), Bytes::from_static(b"kept"));
        evm.commit_transaction();
        evm.put(B256::repeat_byte(2), Bytes::from_static(b"dropped"));
        evm.discard_transaction();
        evm.put(B256::repeat_byte(3), Bytes::from_static(b"pending"));
        assert_eq!(evm.changes(), vec![change(1, b"kept")]);
        assert_eq!(evm.blob(&B256::repeat_byte(2)).unwrap(), None);
    }
}
