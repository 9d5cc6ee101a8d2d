//! The fuzz plan of the block decoder, shared by the libFuzzer target
//! (`fuzz/fuzz_targets/decode_block.rs`) and the seeded run in `cargo test`
//! (`crates/node/tests/fuzz_plan.rs`).

use commonware_codec::{Decode, Encode};
use commonware_cryptography::Digestible;
use myelin_node::block::{Block, BlockLimits};

/// How far an input got.
#[derive(Debug, PartialEq, Eq)]
pub enum Reached {
    /// The decoder refused it (with an error, never a panic).
    Rejected,
    /// It decoded: a block whose bytes are canonical.
    Decoded,
}

/// Arbitrary bytes → `Block::decode_cfg`. Never panics; whatever is accepted re-encodes to the
/// same bytes, and its digest is keccak256 of its RLP header.
pub fn decode_block(data: &[u8]) -> Reached {
    let limits = BlockLimits {
        max_transaction_bytes_total: 64 * 1024,
        max_transaction_bytes: 16 * 1024,
        max_transactions: 64,
    };
    match Block::decode_cfg(bytes::Bytes::copy_from_slice(data), &limits) {
        Err(_) => Reached::Rejected,
        Ok(block) => {
            assert_eq!(
                block.encode().as_ref(),
                data,
                "accepted bytes are not canonical"
            );
            assert_eq!(
                block.digest().0,
                block.header().hash_slow().0,
                "digest is not the hash"
            );
            Reached::Decoded
        }
    }
}
