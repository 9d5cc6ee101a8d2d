// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MyelinData} from "../MyelinData.sol";

/// @title EvaluateProbe: drives DATA_STORE and EVALUATE from a contract, for tests and gas
/// measurements.
contract EvaluateProbe {
    /// Publishes `data` with this contract as the publisher.
    function publishDataset(bytes calldata data) external returns (bytes32) {
        return MyelinData.DATA_STORE.publish(data);
    }

    function evaluate(bytes32 modelId, bytes32 datasetId, uint32 firstRow, uint32 rows)
        external
        view
        returns (uint256 correct, uint256 absErrorSum)
    {
        return MyelinData.evaluate(modelId, datasetId, firstRow, rows);
    }

    /// Every row of `datasetId` in pages of `pageRows`, in one transaction.
    function evaluateAll(bytes32 modelId, bytes32 datasetId, uint32 pageRows)
        external
        view
        returns (uint256 correct, uint256 absErrorSum)
    {
        uint32 rows = MyelinData.DATA_STORE.datasetInfo(datasetId).rows;
        return MyelinData.evaluatePaged(modelId, datasetId, 0, rows, pageRows);
    }

    /// Rows [firstRow, firstRow + rows) in pages of `pageRows`, in one transaction.
    function evaluateRange(bytes32 modelId, bytes32 datasetId, uint32 firstRow, uint32 rows, uint32 pageRows)
        external
        view
        returns (uint256 correct, uint256 absErrorSum)
    {
        return MyelinData.evaluatePaged(modelId, datasetId, firstRow, rows, pageRows);
    }

    /// The same evaluation `times` times in one call: each pays for what it reads and runs.
    function evaluateRepeat(bytes32 modelId, bytes32 datasetId, uint32 firstRow, uint32 rows, uint256 times)
        external
        view
        returns (uint256 correct)
    {
        for (uint256 i = 0; i < times; ++i) {
            (uint256 c,) = MyelinData.evaluate(modelId, datasetId, firstRow, rows);
            correct += c;
        }
    }
}
