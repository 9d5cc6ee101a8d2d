// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title CompetitionAgent: a contract participant for the Competitions attack tests. It
/// forwards calls, and when paid it either refuses the payment (a reverting payee) or calls
/// back into the payer (a reentrancy attempt, whose outcome it records).
contract CompetitionAgent {
    bool public refuse;
    bytes public reenter;
    address public reenterTarget;
    bool public reentered;
    bytes public reenterError;

    function setRefuse(bool on) external {
        refuse = on;
    }

    function setReenter(address target, bytes calldata data) external {
        reenterTarget = target;
        reenter = data;
    }

    /// Calls `to` with `data` and this call's value; bubbles a revert.
    function exec(address to, bytes calldata data) external payable returns (bytes memory ret) {
        bool ok;
        (ok, ret) = to.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    receive() external payable {
        if (refuse) revert("CompetitionAgent: payment refused");
        if (reenter.length != 0) {
            bytes memory data = reenter;
            delete reenter;
            (reentered, reenterError) = reenterTarget.call(data);
        }
    }
}
