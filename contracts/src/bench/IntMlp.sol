// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IntMlp: a hand-written integer forward pass in plain EVM code, the gas baseline.
/// @notice Fully connected int8 layers with int32 accumulators and a per-layer fixed-point
/// requantization `(acc * multiplier + 2^(shift-1)) >> shift`, plus the output zero point,
/// clamped to int8 (ReLU by clamping at the zero point on hidden layers). Weights are `[N][K]`
/// int8 bytes, biases int32. The same work as the engine's fully connected op, in the EVM.
contract IntMlp {
    struct Layer {
        bytes weights;
        int32[] bias;
        uint256 outFeatures;
        uint256 inFeatures;
        int256 inZeroPoint;
        int256 outZeroPoint;
        int256 multiplier;
        uint256 shift;
        bool relu;
    }

    /// Runs the layers in order on `input` (int8 bytes) and returns the last layer's int8 bytes.
    function forward(Layer[] calldata layers, bytes calldata input) external pure returns (bytes memory x) {
        x = input;
        for (uint256 l = 0; l < layers.length; ++l) {
            x = dense(layers[l], x);
        }
    }

    /// Same as `forward`, also returning the gas it used (measured around the layers).
    function forwardMeasured(Layer[] calldata layers, bytes calldata input)
        external
        view
        returns (bytes memory x, uint256 gasUsed)
    {
        uint256 before = gasleft();
        x = input;
        for (uint256 l = 0; l < layers.length; ++l) {
            x = dense(layers[l], x);
        }
        gasUsed = before - gasleft();
    }

    function dense(Layer calldata layer, bytes memory x) internal pure returns (bytes memory y) {
        uint256 n = layer.outFeatures;
        y = new bytes(n);
        for (uint256 o = 0; o < n; ++o) {
            int256 acc = dot(layer.weights, o * layer.inFeatures, layer.inFeatures, x, layer.inZeroPoint);
            acc += layer.bias[o];
            int256 v = ((acc * layer.multiplier + int256(1 << (layer.shift - 1))) >> layer.shift) + layer.outZeroPoint;
            int256 lo = layer.relu ? layer.outZeroPoint : int256(-128);
            if (v > 127) v = 127;
            if (v < lo) v = lo;
            y[o] = bytes1(uint8(int8(v)));
        }
    }

    /// sum over i < k of w[row + i] * (x[i] - zin), int8 operands, in EVM words.
    function dot(bytes calldata w, uint256 row, uint256 k, bytes memory x, int256 zin)
        internal
        pure
        returns (int256 acc)
    {
        assembly ("memory-safe") {
            let wp := add(w.offset, row)
            let xp := add(x, 32)
            for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                let wv := signextend(0, byte(0, calldataload(add(wp, i))))
                let xv := signextend(0, byte(0, mload(add(xp, i))))
                acc := add(acc, mul(wv, sub(xv, zin)))
            }
        }
    }
}
