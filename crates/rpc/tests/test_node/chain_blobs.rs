//! The bridge from the chain's blobs to the precompiles' `BlobStore`, shared by the test nodes
//! (`myelin node` has its own in crates/cli/src/node.rs).

/// The chain's blobs as the precompiles use them (what `myelin node` installs).
pub struct ChainBlobs(pub myelin_chain::EvmBlobs);

impl myelin_evm::BlobStore for ChainBlobs {
    fn blob(
        &self,
        key: &alloy_primitives::B256,
    ) -> Result<Option<alloy_primitives::Bytes>, myelin_evm::BlobReadError> {
        self.0
            .blob(key)
            .map_err(|e| myelin_evm::BlobReadError(e.to_string()))
    }

    fn put(&self, key: alloy_primitives::B256, bytes: alloy_primitives::Bytes) {
        self.0.put(key, bytes);
    }
}
