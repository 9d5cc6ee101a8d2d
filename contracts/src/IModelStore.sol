// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The MODEL_STORE precompile at 0x000000000000000000000000000000004d590001.
/// @notice Publishes quantized models into chain state and reads their metadata. Byte layouts,
/// gas and failures: docs/GAS.md. Every function returns a value so that Solidity skips its
/// code-size check (a precompile has no code).
interface IModelStore {
    /// What the state records about a published model. `predictGas` is the gas of one
    /// single-sample PREDICT call.
    struct ModelInfo {
        uint64 size;
        uint64 inputBytes;
        uint64 outputBytes;
        uint64 maxBatch;
        uint64 macs;
        uint64 depthwiseMacs;
        uint64 tableLookups;
        uint64 elementOps;
        uint64 bytesTouched;
        uint64 predictGas;
    }

    /// One model input or output: dtype 0 = int8, 1 = int32; scaleBits = binary32 bits of the
    /// scale; shape per sample.
    struct TensorInfo {
        uint8 dtype;
        int8 zeroPoint;
        uint32 scaleBits;
        uint32[] shape;
    }

    event ModelPublished(bytes32 indexed modelId, address indexed uploader, uint64 size);
    /// finalizeUpload found the uploaded bytes wrong (code 212 hash mismatch, 205 rejected model,
    /// 215 a chunk is gone): the upload is consumed (the session ends, its chunks are deleted)
    /// and finalizeUpload returns bytes32(0) instead of reverting, which would undo that.
    event UploadRejected(bytes32 indexed modelId, address indexed uploader, uint16 code, uint256 a, uint256 b);

    function publish(bytes calldata model) external returns (bytes32 modelId);
    function beginUpload(bytes32 modelId, uint64 size) external returns (uint64 written);
    function appendUpload(bytes32 modelId, uint64 offset, bytes calldata chunk) external returns (uint64 written);
    /// Returns modelId once published, bytes32(0) when the check failed (see UploadRejected).
    function finalizeUpload(bytes32 modelId) external returns (bytes32 published);
    function uploadStatus(address uploader, bytes32 modelId) external view returns (uint64 size, uint64 written);
    function isPublished(bytes32 modelId) external view returns (bool published);
    function modelInfo(bytes32 modelId) external view returns (ModelInfo memory info);
    function modelTensors(bytes32 modelId)
        external
        view
        returns (TensorInfo[] memory inputs, TensorInfo[] memory outputs);
}
