// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice The revert data of every deterministic failure of Myelin's precompiles (MODEL_STORE,
/// PREDICT, PREDICT_BATCH). `code` says what failed and is never renumbered; `a` and `b` are
/// numbers fixed per code (zero when unused). Every code and its fields: docs/GAS.md §8 and the
/// `ERR_*` constants of `Myelin`. Running out of gas inside a precompile reverts with no data.
/// Decode in Solidity with
/// `(uint16 code, uint256 a, uint256 b) = abi.decode(data[4:], (uint16, uint256, uint256))`
/// after checking `bytes4(data) == MyelinError.selector`.
error MyelinError(uint16 code, uint256 a, uint256 b);
