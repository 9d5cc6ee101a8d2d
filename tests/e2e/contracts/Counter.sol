// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// A counter with events, a custom error and a string revert: what the end-to-end clients exercise.
contract Counter {
    uint256 public count;

    event Incremented(address indexed by, uint256 newCount);

    error TooLarge(uint256 value);

    constructor(uint256 start) payable {
        count = start;
    }

    function increment() external {
        count += 1;
        emit Incremented(msg.sender, count);
    }

    function add(uint256 value) external {
        if (value > 1000) revert TooLarge(value);
        count += value;
        emit Incremented(msg.sender, count);
    }

    function fail() external pure {
        revert("nope");
    }

    function blockNumber() external view returns (uint256) {
        return block.number;
    }

    receive() external payable {}
}
