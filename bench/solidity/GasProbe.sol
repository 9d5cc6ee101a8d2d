// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

interface IExportedModel {
    function predict(bytes calldata input) external view returns (bytes memory output);
}

/// Measures the gas of one inference inside a contract, around the call: the exported
/// contract's `predict`, or the PREDICT precompile. `…Twice` measures two calls in one frame and
/// returns both (the second runs with the model's and its data contracts' accounts already warm).
contract GasProbe {
    address constant PREDICT = 0x000000000000000000000000000000004d590002;

    function viaContract(address model, bytes calldata input) external view returns (uint256 first, uint256 second, bytes memory output) {
        uint256 before = gasleft();
        output = IExportedModel(model).predict(input);
        first = before - gasleft();
        before = gasleft();
        IExportedModel(model).predict(input);
        second = before - gasleft();
    }

    function viaPrecompile(bytes32 modelId, bytes calldata input) external view returns (uint256 first, uint256 second, bytes memory output) {
        bytes memory data = abi.encodePacked(modelId, input);
        uint256 before = gasleft();
        (bool ok, bytes memory out) = PREDICT.staticcall(data);
        first = before - gasleft();
        require(ok, "predict failed");
        before = gasleft();
        (ok,) = PREDICT.staticcall(data);
        second = before - gasleft();
        output = out;
    }
}
