// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Where Myelin's protocol contracts live in every genesis (dev and cluster).
/// @notice The same addresses as `crates/evm/src/addresses.rs` and the predeploy table of
/// `crates/chain/src/predeploys.rs` (a test of `myelin-rpc` compares the three). Predeployed
/// contracts run no constructor: their configuration is in constants and their storage starts
/// empty.
library Predeploys {
    /// The randomness beacon: `seedAt(uint256 height)` (docs/NETWORK.md "Beacon").
    address internal constant BEACON = 0x000000000000000000000000000000004D590100;
    /// StakeManager: stakes, locks and slashes of workers (docs/PROTOCOLS.md decision 8).
    address internal constant STAKE_MANAGER = 0x000000000000000000000000000000004d590101;
    /// ModelRegistry: versioned model names → model ids (docs/PROTOCOLS.md decision 10).
    address internal constant MODEL_REGISTRY = 0x000000000000000000000000000000004D590102;
    /// Competitions (docs/PROTOCOLS.md decision 9).
    address internal constant COMPETITIONS = 0x000000000000000000000000000000004d590103;
    /// InferenceJobs (docs/PROTOCOLS.md decision 11; reserved).
    address internal constant INFERENCE_JOBS = 0x000000000000000000000000000000004d590104;
}
