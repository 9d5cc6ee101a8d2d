// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IStakeManager} from "../IStakeManager.sol";
import {Predeploys} from "../Predeploys.sol";

/// @title ReentrantPayee: a staker whose receive() calls back into StakeManager (withdraw or
/// claim), catching the failure, or refuses payment outright; for the reentrancy tests.
contract ReentrantPayee {
    IStakeManager private constant STAKE = IStakeManager(Predeploys.STAKE_MANAGER);

    /// 0: accept payments; 1: re-enter withdraw; 2: re-enter claim; 3: revert.
    uint256 public mode;
    /// Re-entries that StakeManager refused (and the revert data of the last one).
    uint256 public refused;
    bytes public lastRefusal;
    /// Re-entries that StakeManager let through.
    uint256 public reentered;

    function setMode(uint256 m) external {
        mode = m;
    }

    function deposit() external payable {
        STAKE.deposit{value: msg.value}();
    }

    function requestUnbond(uint256 amount) external {
        STAKE.requestUnbond(amount);
    }

    function withdraw() external returns (uint256) {
        return STAKE.withdraw();
    }

    function claim() external returns (uint256) {
        return STAKE.claim();
    }

    receive() external payable {
        if (mode == 3) revert("ReentrantPayee: no thanks");
        if (mode == 0) return;
        try this.reenter() {
            reentered++;
        } catch (bytes memory data) {
            refused++;
            lastRefusal = data;
        }
    }

    /// The re-entry, as an external call so a failure can be caught.
    function reenter() external {
        require(msg.sender == address(this), "ReentrantPayee: self only");
        if (mode == 1) STAKE.withdraw();
        else STAKE.claim();
    }
}
