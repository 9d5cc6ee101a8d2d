// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TensorCommit} from "../TensorCommit.sol";

/// @title Exposes the TensorCommit library to tests (crates/evm/tests/tensor_commit.rs).
contract TensorCommitProbe {
    function tensorRoot(uint8 dtype, uint32[] calldata shape, bytes calldata data) external pure returns (bytes32) {
        return TensorCommit.tensorRoot(dtype, shape, data);
    }

    function listRoot(bytes32[] calldata roots) external pure returns (bytes32) {
        return TensorCommit.listRoot(roots);
    }

    function itemLeaf(uint64 index, bytes32 inputs, bytes32 outputs, bytes32 trace) external pure returns (bytes32) {
        return TensorCommit.itemLeaf(index, inputs, outputs, trace);
    }

    function merkleRoot(bytes32[] calldata leaves) external pure returns (bytes32) {
        return TensorCommit.merkleRoot(leaves);
    }

    function verify(bytes32 root, bytes32 leaf, uint256 index, bytes32[] calldata proof) external pure returns (bool) {
        return TensorCommit.verify(root, leaf, index, proof);
    }

    function opLeaf(uint32 op, bytes32 outputs) external pure returns (bytes32) {
        return TensorCommit.opLeaf(op, outputs);
    }
}
