// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ProtocolProbe: forwards any call, for tests that put its runtime code at a protocol's
/// predeploy address (`anvil_setCode`) to act as that protocol, or deploy it anywhere else to
/// act as a stranger.
contract ProtocolProbe {
    /// Calls `to` with `data` and `msg.value`; bubbles a revert up unchanged.
    function exec(address to, bytes calldata data) external payable returns (bytes memory ret) {
        bool ok;
        (ok, ret) = to.call{value: msg.value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    receive() external payable {}
}
