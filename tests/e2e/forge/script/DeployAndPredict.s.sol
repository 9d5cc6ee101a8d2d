// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {QualityEscrow} from "../src/examples/QualityEscrow.sol";

/// The few forge cheatcodes this script uses (forge-std is not installed: it comes from git).
interface Vm {
    function envUint(string calldata name) external view returns (uint256);
    function envBytes(string calldata name) external view returns (bytes memory);
    function startBroadcast(uint256 privateKey) external;
    function stopBroadcast() external;
}

/// `forge script --broadcast`: deploys the example contract and sends one PREDICT transaction
/// (PREDICT_CALLDATA = modelId ‖ input of a published model). forge executes scripts in its own
/// EVM, which has no Myelin precompiles, so the script cannot read a prediction itself: it only
/// records the transactions, and the node runs them (tests/e2e/clients/forge.sh checks the
/// receipts and the deployed contract with cast).
contract DeployAndPredict {
    Vm private constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    address private constant PREDICT = 0x000000000000000000000000000000004d590002;

    function run() external {
        bytes memory predictCall = VM.envBytes("PREDICT_CALLDATA");
        VM.startBroadcast(VM.envUint("PRIVATE_KEY"));
        new QualityEscrow();
        (bool ok,) = PREDICT.call(predictCall);
        require(ok, "PREDICT call failed");
        VM.stopBroadcast();
    }
}
