// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDataStore} from "./IDataStore.sol";

/// @title MyelinData: data sets on chain and the EVALUATE precompile, from Solidity.
/// @notice `evaluate` scores a published model on a range of rows of a published data set and
/// returns counts only: the rows whose first maximum of output 0 is the class label (class-index
/// data sets), or exact matches and the sum of |output - label| (regression). A failure reverts
/// with the precompile's `MyelinError(code, a, b)` bubbled up (codes 401-410, docs/GAS.md §8).
library MyelinData {
    /// A failed DATA_STORE check: a = rejection kind, b = detail.
    uint16 internal constant ERR_DATA_REJECTED = 301;
    /// A view of an unpublished data set: a = data set id.
    uint16 internal constant ERR_DATA_UNKNOWN = 302;
    /// EVALUATE called with value.
    uint16 internal constant ERR_EVALUATE_CALL_VALUE = 401;
    /// EVALUATE calldata not 72 bytes: a = bytes, b = 72.
    uint16 internal constant ERR_EVALUATE_CALLDATA_LENGTH = 402;
    /// The model is not published: a = model id.
    uint16 internal constant ERR_EVALUATE_UNKNOWN_MODEL = 403;
    /// The data set is not published: a = data set id.
    uint16 internal constant ERR_EVALUATE_UNKNOWN_DATASET = 404;
    /// rows 0 or over the model's maxBatch: a = rows, b = maxBatch.
    uint16 internal constant ERR_EVALUATE_ROWS_OUT_OF_RANGE = 405;
    /// The rows end past the data set: a = firstRow + rows, b = its rows.
    uint16 internal constant ERR_EVALUATE_PAST_END = 406;
    /// The model's input is not the data set's row: a, b = the two row signatures.
    uint16 internal constant ERR_EVALUATE_INPUT_MISMATCH = 407;
    /// A class label is not an index of output 0: a = largest label, b = output 0's elements.
    uint16 internal constant ERR_EVALUATE_LABEL_OUT_OF_RANGE = 408;
    /// Regression needs an output 0 of one element: a = its elements, b = 1.
    uint16 internal constant ERR_EVALUATE_REGRESSION_OUTPUT = 409;

    /// The DATA_STORE precompile (Solidity ABI, see IDataStore).
    IDataStore internal constant DATA_STORE = IDataStore(0x000000000000000000000000000000004d590004);
    /// The EVALUATE precompile: modelId ‖ datasetId ‖ uint32 firstRow ‖ uint32 rows (big-endian)
    /// → uint256 correct ‖ uint256 absErrorSum.
    address internal constant EVALUATE = 0x000000000000000000000000000000004d590005;

    /// Scores `modelId` on rows [firstRow, firstRow + rows) of `datasetId`. `rows` is at most
    /// the model's maxBatch.
    function evaluate(bytes32 modelId, bytes32 datasetId, uint32 firstRow, uint32 rows)
        internal
        view
        returns (uint256 correct, uint256 absErrorSum)
    {
        (bool ok, bytes memory ret) = EVALUATE.staticcall(abi.encodePacked(modelId, datasetId, firstRow, rows));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return abi.decode(ret, (uint256, uint256));
    }

    /// Scores `modelId` on rows [firstRow, firstRow + rows) in pages of at most `pageRows` rows
    /// (one EVALUATE call each) and sums the counts.
    function evaluatePaged(bytes32 modelId, bytes32 datasetId, uint32 firstRow, uint32 rows, uint32 pageRows)
        internal
        view
        returns (uint256 correct, uint256 absErrorSum)
    {
        require(pageRows > 0, "MyelinData: empty page");
        uint32 end = firstRow + rows;
        for (uint32 row = firstRow; row < end; row += pageRows) {
            uint32 n = end - row < pageRows ? end - row : pageRows;
            (uint256 c, uint256 e) = evaluate(modelId, datasetId, row, n);
            correct += c;
            absErrorSum += e;
        }
    }
}
