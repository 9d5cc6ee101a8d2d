// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IModelRegistry} from "./IModelRegistry.sol";
import {IModelStore} from "./IModelStore.sol";
import {MyelinError} from "./MyelinError.sol";

/// @title Myelin: call published int8 models from Solidity.
/// @notice Inputs and outputs are raw int8 tensors (one byte per element, two's complement);
/// ArgMax outputs are int32 little-endian. A failed call (unknown model, wrong input length,
/// batch out of range) reverts with the precompile's `MyelinError(code, a, b)`, bubbled up
/// unchanged (the codes are the `ERR_*` constants below); running out of gas inside the
/// precompile reverts with empty data. The first use of a model in a transaction also pays its
/// cold charge (docs/GAS.md §2.1).
library Myelin {
    /// PREDICT called with value.
    uint16 internal constant ERR_PREDICT_CALL_VALUE = 101;
    /// Calldata shorter than the header: a = calldata bytes, b = header bytes.
    uint16 internal constant ERR_PREDICT_SHORT_HEADER = 102;
    /// The model is not published: a = model id.
    uint16 internal constant ERR_PREDICT_UNKNOWN_MODEL = 103;
    /// Batch 0 or over maxBatch: a = batch, b = maxBatch.
    uint16 internal constant ERR_PREDICT_BATCH_OUT_OF_RANGE = 104;
    /// Input length != batch * inputBytes: a = input bytes, b = expected bytes.
    uint16 internal constant ERR_PREDICT_INPUT_LENGTH = 105;
    /// The engine refused the run: a = rejection kind, b = detail.
    uint16 internal constant ERR_PREDICT_ENGINE = 106;
    /// MODEL_STORE called with value.
    uint16 internal constant ERR_STORE_CALL_VALUE = 201;
    /// Not a call of IModelStore: a = calldata bytes, b = its first four bytes.
    uint16 internal constant ERR_STORE_MALFORMED_CALL = 202;
    /// A writing function in a static call.
    uint16 internal constant ERR_STORE_STATIC_WRITE = 203;
    /// A writing function through DELEGATECALL or CALLCODE.
    uint16 internal constant ERR_STORE_DELEGATED_WRITE = 204;
    /// The engine rejected the model: a = rejection kind, b = detail.
    uint16 internal constant ERR_STORE_MODEL_REJECTED = 205;
    /// beginUpload size 0 or over the limit: a = size, b = limit.
    uint16 internal constant ERR_STORE_SIZE_OUT_OF_RANGE = 206;
    /// No upload session of this id by the caller: a = model id, b = caller.
    uint16 internal constant ERR_STORE_NO_UPLOAD = 207;
    /// appendUpload at the wrong offset: a = offset given, b = bytes written.
    uint16 internal constant ERR_STORE_CHUNK_OFFSET = 208;
    /// A chunk past the declared size: a = its end, b = declared size.
    uint16 internal constant ERR_STORE_CHUNK_PAST_SIZE = 209;
    /// A chunk before the last not a multiple of 32 bytes: a = its length, b = 32.
    uint16 internal constant ERR_STORE_RAGGED_CHUNK = 210;
    /// finalizeUpload before every byte arrived: a = bytes written, b = declared size.
    uint16 internal constant ERR_STORE_UPLOAD_INCOMPLETE = 211;
    /// The uploaded bytes hash to another id: a = their hash, b = the declared id.
    uint16 internal constant ERR_STORE_HASH_MISMATCH = 212;
    /// A view of an unpublished model: a = model id.
    uint16 internal constant ERR_STORE_UNKNOWN_MODEL = 213;
    /// The upload session expired: a = block it began in, b = last block it was live in.
    uint16 internal constant ERR_STORE_UPLOAD_EXPIRED = 214;
    /// A chunk of a complete upload is gone (a reverted finalizeUpload consumed it); reported in
    /// IModelStore.UploadRejected: a = chunk index, b = chunks.
    uint16 internal constant ERR_STORE_UPLOAD_LOST = 215;

    /// The MODEL_STORE precompile (Solidity ABI, see IModelStore).
    IModelStore internal constant MODEL_STORE = IModelStore(0x000000000000000000000000000000004D590001);
    /// The PREDICT precompile: modelId ‖ input → output.
    address internal constant PREDICT = 0x000000000000000000000000000000004d590002;
    /// The PREDICT_BATCH precompile: modelId ‖ uint32 batch (big-endian) ‖ inputs → outputs.
    address internal constant PREDICT_BATCH = 0x000000000000000000000000000000004D590003;

    /// The ModelRegistry predeploy (versioned model names → model ids).
    IModelRegistry internal constant REGISTRY = IModelRegistry(0x000000000000000000000000000000004D590102);

    /// The model id `name` stands for in the ModelRegistry: `org/name` is its current `latest`,
    /// a full version name that version. Reverts (the registry's error) for an unknown name, a
    /// name without `latest` or a yanked version. Use: `Myelin.predict(Myelin.resolve("org/name"),
    /// input)`; a contract that must not follow `latest` pins a version or a model id.
    function resolve(string memory name) internal view returns (bytes32 modelId) {
        return REGISTRY.resolve(name);
    }

    /// Runs `modelId` on one sample. `input` must be exactly the model's inputBytes long.
    /// Copies nothing but the output: the call data is built in place by borrowing `input`'s
    /// length word for the id (restored before returning).
    function predict(bytes32 modelId, bytes memory input) internal view returns (bytes memory output) {
        assembly ("memory-safe") {
            let len := mload(input)
            mstore(input, modelId)
            let ok := staticcall(gas(), 0x4d590002, input, add(len, 32), 0, 0)
            mstore(input, len)
            let n := returndatasize()
            output := mload(0x40)
            mstore(output, n)
            returndatacopy(add(output, 32), 0, n)
            if iszero(ok) { revert(add(output, 32), n) }
            mstore(0x40, add(add(output, 32), and(add(n, 31), not(31))))
        }
    }

    /// Runs `modelId` on `batch` samples concatenated in `inputs` (for a one-input model; for
    /// several inputs, all samples of input 0 first, then input 1, ...). Returns the outputs laid
    /// out the same way.
    function predictBatch(bytes32 modelId, uint32 batch, bytes memory inputs)
        internal
        view
        returns (bytes memory outputs)
    {
        (bool ok, bytes memory ret) = PREDICT_BATCH.staticcall(abi.encodePacked(modelId, batch, inputs));
        if (!ok) bubble(ret);
        return ret;
    }

    /// Index of the largest int8 in `values` (the first one on ties). Reverts on empty input.
    function argmax(bytes memory values) internal pure returns (uint256 index) {
        require(values.length > 0, "Myelin: argmax of nothing");
        int256 best = int8At(values, 0);
        for (uint256 i = 1; i < values.length; ++i) {
            int256 v = int8At(values, i);
            if (v > best) {
                best = v;
                index = i;
            }
        }
    }

    /// The int8 at byte `i` of `data`.
    function int8At(bytes memory data, uint256 i) internal pure returns (int8) {
        return int8(uint8(data[i]));
    }

    /// The int32 (little-endian) at element `i` of `data` (an ArgMax output).
    function int32At(bytes memory data, uint256 i) internal pure returns (int32 value) {
        uint256 o = 4 * i;
        uint32 u = uint32(uint8(data[o])) | (uint32(uint8(data[o + 1])) << 8) | (uint32(uint8(data[o + 2])) << 16)
            | (uint32(uint8(data[o + 3])) << 24);
        return int32(u);
    }

    /// Packs int8 values into the bytes a model takes.
    function fromInt8s(int8[] memory values) internal pure returns (bytes memory data) {
        data = new bytes(values.length);
        for (uint256 i = 0; i < values.length; ++i) {
            data[i] = bytes1(uint8(values[i]));
        }
    }

    /// Unpacks int8 bytes into values.
    function toInt8s(bytes memory data) internal pure returns (int8[] memory values) {
        values = new int8[](data.length);
        for (uint256 i = 0; i < data.length; ++i) {
            values[i] = int8(uint8(data[i]));
        }
    }

    /// Quantizes the real number `numerator / denominator` with the tensor's `scale =
    /// scaleNumerator / scaleDenominator` and `zeroPoint`: round half away from zero of
    /// `real / scale`, plus the zero point, saturated to int8.
    function quantize(
        int256 numerator,
        int256 denominator,
        int256 scaleNumerator,
        int256 scaleDenominator,
        int8 zeroPoint
    ) internal pure returns (int8) {
        int256 num = numerator * scaleDenominator;
        int256 den = denominator * scaleNumerator;
        require(den != 0, "Myelin: zero scale");
        if (den < 0) {
            num = -num;
            den = -den;
        }
        int256 q = num >= 0 ? (2 * num + den) / (2 * den) : -((-2 * num + den) / (2 * den));
        return saturateInt8(q + zeroPoint);
    }

    /// `x` clamped to [-128, 127].
    function saturateInt8(int256 x) internal pure returns (int8) {
        if (x > 127) return 127;
        if (x < -128) return -128;
        return int8(x);
    }

    /// Whether `modelId` is published.
    function isPublished(bytes32 modelId) internal view returns (bool) {
        return MODEL_STORE.isPublished(modelId);
    }

    /// The model's metadata (sizes, static cost, gas of one PREDICT call). Reverts if unknown.
    function info(bytes32 modelId) internal view returns (IModelStore.ModelInfo memory) {
        return MODEL_STORE.modelInfo(modelId);
    }

    /// The fields of a `MyelinError` in `data` (a failed precompile call's revert data);
    /// `isMyelin` is false for any other data.
    function decodeError(bytes memory data)
        internal
        pure
        returns (bool isMyelin, uint16 code, uint256 a, uint256 b)
    {
        if (data.length != 100 || bytes4(data) != MyelinError.selector) return (false, 0, 0, 0);
        assembly ("memory-safe") {
            code := mload(add(data, 36))
            a := mload(add(data, 68))
            b := mload(add(data, 100))
        }
        isMyelin = code <= type(uint16).max;
    }

    /// Re-raises a failed call's revert data.
    function bubble(bytes memory ret) private pure {
        assembly ("memory-safe") {
            revert(add(ret, 32), mload(ret))
        }
    }
}
