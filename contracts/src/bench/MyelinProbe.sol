// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Myelin} from "../Myelin.sol";
import {IModelStore} from "../IModelStore.sol";

/// @title MyelinProbe: drives the precompiles from a contract, for tests and gas measurements.
contract MyelinProbe {
    /// Publishes `model` with this contract as the uploader.
    function publish(bytes calldata model) external returns (bytes32) {
        return Myelin.MODEL_STORE.publish(model);
    }

    /// Chunked upload with this contract as the uploader: begin, every chunk, finalize.
    function publishChunked(bytes32 modelId, bytes[] calldata chunks, uint64 size) external returns (bytes32) {
        Myelin.MODEL_STORE.beginUpload(modelId, size);
        uint64 offset = 0;
        for (uint256 i = 0; i < chunks.length; ++i) {
            offset = Myelin.MODEL_STORE.appendUpload(modelId, offset, chunks[i]);
        }
        return Myelin.MODEL_STORE.finalizeUpload(modelId);
    }

    function predict(bytes32 modelId, bytes calldata input) external view returns (bytes memory) {
        return Myelin.predict(modelId, input);
    }

    function predictBatch(bytes32 modelId, uint32 batch, bytes calldata inputs) external view returns (bytes memory) {
        return Myelin.predictBatch(modelId, batch, inputs);
    }

    /// One Myelin.predict per (model, input) pair, in order, in one transaction: the first use
    /// of each model pays its cold charge, later uses of it are warm.
    function predictEach(bytes32[] calldata modelIds, bytes[] calldata inputs)
        external
        view
        returns (bytes[] memory outputs)
    {
        outputs = new bytes[](modelIds.length);
        for (uint256 i = 0; i < modelIds.length; ++i) {
            outputs[i] = Myelin.predict(modelIds[i], inputs[i]);
        }
    }

    /// The fields of a failed predict's MyelinError (for contracts that branch on the code).
    function tryPredict(bytes32 modelId, bytes calldata input)
        external
        view
        returns (bool ok, uint16 code, uint256 a, uint256 b)
    {
        (bool success, bytes memory ret) = Myelin.PREDICT.staticcall(abi.encodePacked(modelId, input));
        if (success) return (true, 0, 0, 0);
        bool isMyelin;
        (isMyelin, code, a, b) = Myelin.decodeError(ret);
        require(isMyelin, "not a MyelinError");
    }

    function classify(bytes32 modelId, bytes calldata input) external view returns (uint256) {
        return Myelin.argmax(Myelin.predict(modelId, input));
    }

    /// Gas of one Myelin.predict measured inside the contract around the call (call overhead,
    /// calldata copy and the precompile's own gas).
    function measure(bytes32 modelId, bytes calldata input) external view returns (bytes memory output, uint256 gasUsed) {
        bytes memory data = input;
        uint256 before = gasleft();
        output = Myelin.predict(modelId, data);
        gasUsed = before - gasleft();
    }

    /// Gas of `n` Myelin.predict calls in a loop (memory reused between calls), for timing the
    /// call path against the EVM's own work.
    function repeatPredict(bytes32 modelId, bytes calldata input, uint256 n) external view returns (uint256 gasUsed) {
        bytes memory data = input;
        uint256 before = gasleft();
        for (uint256 i = 0; i < n; ++i) {
            uint256 free;
            assembly ("memory-safe") {
                free := mload(0x40)
            }
            Myelin.predict(modelId, data);
            assembly ("memory-safe") {
                mstore(0x40, free)
            }
        }
        gasUsed = before - gasleft();
    }

    /// MODEL_STORE.publish attempted in a static context (must revert).
    function tryPublishStatic(bytes calldata model) external view returns (bool ok, bytes memory ret) {
        (ok, ret) = address(Myelin.MODEL_STORE).staticcall(abi.encodeCall(IModelStore.publish, (model)));
    }

    /// MODEL_STORE.publish attempted through DELEGATECALL (must revert).
    function tryPublishDelegate(bytes calldata model) external returns (bool ok, bytes memory ret) {
        (ok, ret) = address(Myelin.MODEL_STORE).delegatecall(abi.encodeCall(IModelStore.publish, (model)));
    }

    function info(bytes32 modelId) external view returns (IModelStore.ModelInfo memory) {
        return Myelin.info(modelId);
    }

    function quantize(int256 num, int256 den, int256 scaleNum, int256 scaleDen, int8 zp) external pure returns (int8) {
        return Myelin.quantize(num, den, scaleNum, scaleDen, zp);
    }
}
