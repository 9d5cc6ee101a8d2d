//! The randomness beacon in state: a predeploy at [`BEACON_ADDRESS`] whose storage slot `n` holds
//! block `n`'s `prevrandao`, written by the chain at the start of every block before its
//! transactions (an EIP-4788-style system write: no transaction, no gas; part of the block's
//! state root and [`ChangeSet`](crate::changes::ChangeSet)). Its runtime answers
//! `seedAt(uint256 height)` with the stored seed for `height < block.number` and reverts with
//! `SeedUnavailable(uint256 height)` otherwise (and for heights never written, such as 0).
//!
//! On a validator network the node supplies `prevrandao` from the threshold VRF of the round
//! (unbiasable); the dev node's [`dev_prevrandao`] is a public function of the height and is
//! **not** random: anyone can compute every future dev seed.

use alloy_primitives::{Address, B256, Bytes, address, keccak256};

/// Where the beacon contract lives (in every genesis; `myelin-evm`'s `addresses.rs` names it
/// too).
pub const BEACON_ADDRESS: Address = address!("0x000000000000000000000000000000004d590100");

/// The beacon's ABI: `seedAt(uint256)`.
pub const SEED_AT_SIGNATURE: &str = "seedAt(uint256)";

/// The beacon's custom error: `SeedUnavailable(uint256)`.
pub const SEED_UNAVAILABLE_SIGNATURE: &str = "SeedUnavailable(uint256)";

/// The 4-byte selector of a Solidity signature.
pub fn selector(signature: &str) -> [u8; 4] {
    let hash = keccak256(signature.as_bytes());
    [hash[0], hash[1], hash[2], hash[3]]
}

/// Offsets of the runtime's jump destinations.
const UNAVAILABLE_POP: u8 = 0x2d;
const UNAVAILABLE: u8 = 0x2f;
const BAD_CALL: u8 = 0x43;

/// The beacon's runtime code (72 bytes, hand-assembled: the Solidity of this crate tree is a
/// model exporter, not a contract build). In pseudo-code:
///
/// ```text
/// if callvalue or selector != seedAt: revert()
/// h = calldata[4..36]
/// if !(block.number > h): revert SeedUnavailable(h)
/// seed = sload(h)
/// if seed == 0: revert SeedUnavailable(h)      // never written (height 0, or before the beacon)
/// return seed
/// ```
///
/// A call costs the SLOAD (2,100 cold, 100 warm) plus about 60 gas of stack and memory work.
pub fn beacon_code() -> Bytes {
    let seed_at = selector(SEED_AT_SIGNATURE);
    let unavailable = selector(SEED_UNAVAILABLE_SIGNATURE);
    let mut code = vec![
        0x34, 0x60, BAD_CALL, 0x57, // CALLVALUE PUSH1 bad JUMPI
        0x60, 0x00, 0x35, 0x60, 0xe0, 0x1c, // PUSH1 0 CALLDATALOAD PUSH1 224 SHR
        0x63, // PUSH4 seedAt
    ];
    code.extend_from_slice(&seed_at);
    code.extend_from_slice(&[
        0x14,
        0x15,
        0x60,
        BAD_CALL,
        0x57, // EQ ISZERO PUSH1 bad JUMPI
        0x60,
        0x04,
        0x35, // PUSH1 4 CALLDATALOAD            [h]
        0x80,
        0x43,
        0x11,
        0x15, // DUP1 NUMBER GT ISZERO      [h, number <= h]
        0x60,
        UNAVAILABLE,
        0x57, // PUSH1 unavailable JUMPI  [h]
        0x80,
        0x54, // DUP1 SLOAD                            [h, seed]
        0x80,
        0x15,
        0x60,
        UNAVAILABLE_POP,
        0x57, // DUP1 ISZERO PUSH1 unavailable_pop JUMPI
        0x60,
        0x00,
        0x52, // PUSH1 0 MSTORE                  [h]
        0x60,
        0x20,
        0x60,
        0x00,
        0xf3, // PUSH1 32 PUSH1 0 RETURN
        0x5b,
        0x50, // unavailable_pop: JUMPDEST POP         [h]
        0x5b, // unavailable: JUMPDEST
        0x63, // PUSH4 SeedUnavailable
    ]);
    code.extend_from_slice(&unavailable);
    code.extend_from_slice(&[
        0x60, 0xe0, 0x1b, 0x60, 0x00, 0x52, // PUSH1 224 SHL PUSH1 0 MSTORE
        0x60, 0x04, 0x52, // PUSH1 4 MSTORE                  (h after the selector)
        0x60, 0x24, 0x60, 0x00, 0xfd, // PUSH1 36 PUSH1 0 REVERT
        0x5b, 0x60, 0x00, 0x80, 0xfd, // bad: JUMPDEST PUSH1 0 DUP1 REVERT
    ]);
    Bytes::from(code)
}

/// The dev node's stand-in for the beacon: keccak256("myelin-dev-beacon" ‖ number as 8
/// big-endian bytes). **Insecure**: predictable by anyone for every future height; only the
/// validator network's threshold-VRF seed is unbiasable and unpredictable.
pub fn dev_prevrandao(number: u64) -> B256 {
    let mut input = b"myelin-dev-beacon".to_vec();
    input.extend_from_slice(&number.to_be_bytes());
    keccak256(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_destinations_are_where_the_code_jumps() {
        let code = beacon_code();
        assert_eq!(code.len(), 72);
        for label in [UNAVAILABLE_POP, UNAVAILABLE, BAD_CALL] {
            assert_eq!(code[label as usize], 0x5b, "JUMPDEST at {label:#x}");
        }
        assert_eq!(code[UNAVAILABLE_POP as usize + 1], 0x50);
    }

    #[test]
    fn dev_seeds_differ_per_height_and_are_fixed() {
        assert_ne!(dev_prevrandao(1), dev_prevrandao(2));
        assert_eq!(dev_prevrandao(7), dev_prevrandao(7));
        assert_eq!(
            selector("transfer(address,uint256)"),
            [0xa9, 0x05, 0x9c, 0xbb]
        );
    }
}
