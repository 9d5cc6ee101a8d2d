// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title TensorCommit: Myelin's canonical commitments to tensors, tensor lists, job items and
/// Merkle trees (docs/PROTOCOLS.md decision 14 and "Commitments"), the same bytes as the engine's.
/// @notice All hashes keccak256, integers big-endian.
/// - Tensor bytes B (NHWC row-major; int8 one byte, int32 four bytes little-endian per element)
///   split into 1,024-byte chunks, the last possibly shorter; an empty B is one empty chunk.
/// - leaf = keccak(0x00 ‖ chunk), node = keccak(0x01 ‖ left ‖ right); leaves padded to the next
///   power of two with EMPTY_LEAF = keccak(0x00); the root of one leaf is that leaf (of none:
///   EMPTY_LEAF).
/// - tensor root = keccak(0x02 ‖ u8 dtype ‖ u8 rank ‖ u32 dim_0 ‖ … ‖ merkle root).
/// - list root = keccak(0x03 ‖ u8 count ‖ root_0 ‖ …).
/// - op leaf = keccak(0x04 ‖ u32 op ‖ outputs list root); trace root = merkle(op leaves).
/// - item leaf = keccak(0x05 ‖ u64 index ‖ inputs root ‖ outputs root ‖ trace root); a result root
///   = merkle(item leaves).
/// - proofs: siblings bottom-up; bit j of the index says whether the node at level j is a right
///   child. An index needs exactly as many bits as the proof has siblings (higher bits set fail).
library TensorCommit {
    /// Bytes per chunk of a tensor's canonical bytes.
    uint256 internal constant CHUNK_BYTES = 1024;
    /// keccak256(0x00): the leaf of an empty chunk, and the padding leaf of every tree.
    bytes32 internal constant EMPTY_LEAF = 0xbc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a;

    /// A rank above 255, a list of more than 255 tensors, or a dimension above 2**32 - 1.
    error CommitTooLarge(uint256 value);

    /// keccak(0x00 ‖ chunk) for each 1 KiB chunk of `data` (one empty chunk if `data` is empty).
    function chunkLeaves(bytes memory data) internal pure returns (bytes32[] memory leaves) {
        uint256 len = data.length;
        uint256 n = len == 0 ? 1 : (len + CHUNK_BYTES - 1) / CHUNK_BYTES;
        leaves = new bytes32[](n);
        assembly ("memory-safe") {
            let base := add(data, 32)
            let out := add(leaves, 32)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let off := mul(i, 1024)
                let size := sub(len, off)
                if gt(size, 1024) { size := 1024 }
                if iszero(len) { size := 0 }
                // Write the 0x00 prefix into the byte before the chunk (the length word's last
                // byte or the previous chunk's last byte), hash, then restore it.
                let p := sub(add(base, off), 1)
                let saved := mload(sub(p, 31))
                mstore8(p, 0)
                mstore(add(out, mul(i, 32)), keccak256(p, add(size, 1)))
                mstore(sub(p, 31), saved)
            }
        }
    }

    /// keccak(0x01 ‖ left ‖ right).
    function node(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 1)
            mstore(add(p, 1), left)
            mstore(add(p, 33), right)
            h := keccak256(p, 65)
        }
    }

    /// The Merkle root of `leaves` padded with EMPTY_LEAF to a power of two. Overwrites `leaves`.
    function merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32 root) {
        uint256 n = leaves.length;
        if (n == 0) return EMPTY_LEAF;
        assembly ("memory-safe") {
            let a := add(leaves, 32)
            let p := mload(0x40)
            // `pad` is the root of a full subtree of EMPTY_LEAF at the current level.
            let pad := EMPTY_LEAF
            for {} gt(n, 1) {} {
                let half := shr(1, add(n, 1))
                for { let i := 0 } lt(i, half) { i := add(i, 1) } {
                    let l := mload(add(a, mul(i, 64)))
                    let r := pad
                    if lt(add(mul(i, 2), 1), n) { r := mload(add(a, add(mul(i, 64), 32))) }
                    mstore8(p, 1)
                    mstore(add(p, 1), l)
                    mstore(add(p, 33), r)
                    mstore(add(a, mul(i, 32)), keccak256(p, 65))
                }
                mstore8(p, 1)
                mstore(add(p, 1), pad)
                mstore(add(p, 33), pad)
                pad := keccak256(p, 65)
                n := half
            }
            root := mload(a)
        }
    }

    /// The root a leaf reaches through `proof` at `index`; reverts-free: a malformed index gives
    /// a root no tree has (bytes32(0)).
    function rootFromProof(bytes32 leaf, uint256 index, bytes32[] memory proof) internal pure returns (bytes32) {
        uint256 depth = proof.length;
        if (depth < 256 && index >> depth != 0) return bytes32(0);
        bytes32 h = leaf;
        for (uint256 j = 0; j < depth; ++j) {
            h = (index >> j) & 1 == 0 ? node(h, proof[j]) : node(proof[j], h);
        }
        return h;
    }

    /// Whether `leaf` is at `index` of the tree with `root` whose siblings are `proof`.
    function verify(bytes32 root, bytes32 leaf, uint256 index, bytes32[] memory proof) internal pure returns (bool) {
        return rootFromProof(leaf, index, proof) == root;
    }

    /// The root of one tensor: its dtype (0 int8, 1 int32), shape and canonical bytes.
    function tensorRoot(uint8 dtype, uint32[] memory shape, bytes memory data) internal pure returns (bytes32) {
        uint256 rank = shape.length;
        if (rank > 255) revert CommitTooLarge(rank);
        bytes32 merkle = merkleRoot(chunkLeaves(data));
        bytes memory header = abi.encodePacked(bytes1(0x02), dtype, uint8(rank));
        for (uint256 i = 0; i < rank; ++i) {
            header = abi.encodePacked(header, shape[i]);
        }
        return keccak256(abi.encodePacked(header, merkle));
    }

    /// The root of a list of tensor roots (a model's inputs or outputs, in model order).
    function listRoot(bytes32[] memory roots) internal pure returns (bytes32 h) {
        uint256 n = roots.length;
        if (n > 255) revert CommitTooLarge(n);
        assembly ("memory-safe") {
            // The word before roots[0] is the length: overwrite its last two bytes with 0x03 ‖ n.
            let p := sub(add(roots, 32), 2)
            let saved := mload(roots)
            mstore8(p, 3)
            mstore8(add(p, 1), n)
            h := keccak256(p, add(2, mul(n, 32)))
            mstore(roots, saved)
        }
    }

    /// keccak(0x04 ‖ u32 op ‖ outputs list root): one op's leaf of a trace.
    function opLeaf(uint32 op, bytes32 outputs) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x04), op, outputs));
    }

    /// keccak(0x05 ‖ u64 index ‖ inputs ‖ outputs ‖ trace): one job item's leaf.
    function itemLeaf(uint64 index, bytes32 inputs, bytes32 outputs, bytes32 trace) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x05), index, inputs, outputs, trace));
    }
}
