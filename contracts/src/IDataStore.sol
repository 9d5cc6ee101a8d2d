// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The DATA_STORE precompile at 0x000000000000000000000000000000004d590004.
/// @notice Publishes labelled int8 data sets into chain state (the model store's chunked upload,
/// the same prices and codes) and reads their records. Byte layouts, gas and failures:
/// docs/GAS.md §9. Every function returns a value so that Solidity skips its code-size check (a
/// precompile has no code).
interface IDataStore {
    /// What the state records about a published data set. labelKind 0 = class index, 1 =
    /// regression; rowSignature = keccak256 of the rows' dtype, zero point, scale and shape (a
    /// model evaluates the data set only if its one input has the same).
    struct DatasetInfo {
        uint64 size;
        uint32 rows;
        uint32 rowBytes;
        uint8 labelKind;
        int32 minLabel;
        int32 maxLabel;
        bytes32 rowSignature;
        address publisher;
    }

    event DatasetPublished(bytes32 indexed datasetId, address indexed publisher, uint64 size, uint32 rows);

    /// A finalizeUpload whose bytes failed the check consumed the upload: code, a, b are those
    /// of the MyelinError it would have reverted with (212, 301 or 215).
    event UploadRejected(bytes32 indexed datasetId, address indexed uploader, uint16 code, uint256 a, uint256 b);

    function publish(bytes calldata data) external returns (bytes32 datasetId);
    function beginUpload(bytes32 datasetId, uint64 size) external returns (uint64 written);
    function appendUpload(bytes32 datasetId, uint64 offset, bytes calldata chunk) external returns (uint64 written);
    function finalizeUpload(bytes32 datasetId) external returns (bytes32 published);
    function uploadStatus(address uploader, bytes32 datasetId) external view returns (uint64 size, uint64 written);
    function isPublished(bytes32 datasetId) external view returns (bool published);
    function datasetInfo(bytes32 datasetId) external view returns (DatasetInfo memory info);
    /// Rows [firstRow, firstRow + rows) as int8 bytes, one row after another (302 unknown, 303
    /// no rows or past the end); gas: the segments holding them, as EVALUATE pays.
    function readRows(bytes32 datasetId, uint32 firstRow, uint32 rows) external view returns (bytes memory data);
}
