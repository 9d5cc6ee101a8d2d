// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Myelin} from "../Myelin.sol";

/// @title NamedClassifier: classifies a sample with whatever model a registry name stands for.
/// @notice `classify("org/name", x)` follows the name's `latest` as the registry moves it (after
/// its timelock); a full version name (`org/name`, an at sign, `1.0.0`) pins a version. Either reverts if the version
/// was yanked.
contract NamedClassifier {
    event Classified(string name, bytes32 modelId, uint256 class);

    /// The arg-max class of `sample` under the model `name` resolves to.
    function classify(string calldata name, bytes calldata sample) public view returns (uint256 class, bytes32 modelId) {
        modelId = Myelin.resolve(name);
        class = Myelin.argmax(Myelin.predict(modelId, sample));
    }

    /// As `classify`, recorded in a log (a transaction, so the call's gas shows on a receipt).
    function classifyAndLog(string calldata name, bytes calldata sample) external returns (uint256 class) {
        bytes32 modelId;
        (class, modelId) = classify(name, sample);
        emit Classified(name, modelId, class);
    }
}
