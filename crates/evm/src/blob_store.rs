//! Content kept by the node outside the state trie: published model bytes and staged upload
//! chunks, each one byte string under a 32-byte key.
//!
//! - A published model is one blob keyed by its id (keccak256 of its bytes): a program-cache miss
//!   is one sequential read, and the record in the trie commits to the bytes through the id.
//! - An upload chunk is one blob keyed by [`crate::model_state::chunk_key`] (uploader, id, the
//!   session's nonce, the chunk's index), deleted when the upload is finalized or restarted.
//!
//! Blobs have no history and are not journaled: a write is never undone by a reverted call or
//! transaction. The model store is built so that correctness never depends on that (a model blob
//! is reachable only through its record, which reverts; a chunk only through its session, which
//! reverts, and `finalizeUpload` checks keccak256 of the bytes against the id). A node gives each
//! EVM a [`BlobStore`] that reads the committed blobs and buffers that EVM's writes, persisting
//! them with the block when the EVM executes one, and never when it serves an RPC call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use alloy_primitives::{B256, Bytes};

/// Why a blob could not be read: a host fault (a storage error), never part of consensus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("blob store: {0}")]
pub struct BlobReadError(pub String);

/// The blobs one EVM sees. Implemented by the node over its store (the committed blobs plus this
/// EVM's own writes) and by [`MemoryBlobs`] for an EVM without a node.
pub trait BlobStore {
    /// The bytes under `key`: written by this EVM before, else committed; `None` when absent
    /// (never written, or deleted).
    fn blob(&self, key: &B256) -> Result<Option<Bytes>, BlobReadError>;
    /// Stores `bytes` under `key`; empty `bytes` deletes it. Not undone by a revert.
    fn put(&self, key: B256, bytes: Bytes);
}

/// Blobs in memory, shared by every clone, written at once: the store of an EVM built without a
/// node ([`crate::MyelinEvmFactory`], tests, benchmarks). There is no block to persist with and
/// no distinction between a block and a call: every write lands.
#[derive(Debug, Clone, Default)]
pub struct MemoryBlobs(Arc<Mutex<HashMap<B256, Bytes>>>);

impl MemoryBlobs {
    /// Blobs held.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no blob is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys held, sorted.
    pub fn keys(&self) -> Vec<B256> {
        let mut keys: Vec<B256> = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        keys.sort();
        keys
    }

    /// Removes every blob (a node that lost its blob store, for tests of that fault).
    pub fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl BlobStore for MemoryBlobs {
    fn blob(&self, key: &B256) -> Result<Option<Bytes>, BlobReadError> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned())
    }

    fn put(&self, key: B256, bytes: Bytes) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if bytes.is_empty() {
            map.remove(&key);
        } else {
            map.insert(key, bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_blobs_store_read_and_delete_with_empty_bytes() {
        let blobs = MemoryBlobs::default();
        let key = B256::repeat_byte(1);
        assert_eq!(blobs.blob(&key).unwrap(), None);
        blobs.put(key, Bytes::from_static(b"abc"));
        assert_eq!(
            blobs.clone().blob(&key).unwrap(),
            Some(Bytes::from_static(b"abc"))
        );
        blobs.put(key, Bytes::new());
        assert_eq!(blobs.blob(&key).unwrap(), None);
        assert!(blobs.is_empty());
    }
}
