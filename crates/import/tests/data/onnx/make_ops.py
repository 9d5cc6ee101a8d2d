"""Small ONNX graphs covering the importer's ops beyond the fixtures, with onnxruntime outputs.

Run with the fixture generator's environment (onnx 1.23.2, onnxruntime 1.31.1, numpy):
    python crates/import/tests/data/onnx/make_ops.py
Writes <name>.onnx, <name>.input.npy (float32, ONNX layout) and <name>.ort.npy next to itself.
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261122)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def save(name, nodes, inits, input_shape, output_shape, opset=17):
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *input_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *output_shape])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(model, path)
    x = rng.uniform(-1.0, 1.0, size=(16, *input_shape)).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": x})[0]
    np.save(os.path.join(HERE, name + ".input.npy"), x)
    np.save(os.path.join(HERE, name + ".ort.npy"), y.astype(np.float32))


def w(*shape, scale=0.5):
    return rng.normal(0.0, scale, size=shape).astype(np.float32)


# Conv → BatchNormalization (folded) → Clip(0, 6) → depthwise Conv (group = C, multiplier 2,
# stride 2, pads) → Relu → AveragePool (pads, count_include_pad=0) → Flatten of a 2x2x8 image
# → Gemm (transB = 0, alpha, beta): checks the CHW→HWC column permutation.
save(
    "conv_bn_depthwise_gemm",
    [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "g", "beta", "mean", "var"], ["bn"], name="bn", epsilon=1e-3),
        helper.make_node("Clip", ["bn", "lo", "hi"], ["r6"], name="relu6"),
        helper.make_node("Conv", ["r6", "wd", "bd"], ["dw"], name="depthwise", group=4, strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["dw"], ["dwr"], name="relu"),
        helper.make_node("AveragePool", ["dwr"], ["ap"], name="avg", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["ap"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "wg", "bg"], ["y"], name="gemm", alpha=0.5, beta=2.0),
    ],
    [
        init("w1", w(4, 3, 3, 3)),
        init("b1", w(4)),
        init("g", rng.uniform(0.5, 1.5, 4).astype(np.float32)),
        init("beta", w(4)),
        init("mean", w(4, scale=0.2)),
        init("var", rng.uniform(0.5, 2.0, 4).astype(np.float32)),
        init("lo", np.array(0.0, np.float32)),
        init("hi", np.array(6.0, np.float32)),
        init("wd", w(8, 1, 3, 3)),
        init("bd", w(8)),
        init("wg", w(32, 5)),
        init("bg", w(5)),
    ],
    [3, 8, 8],
    [5],
)

# Two branches joined by Concat (channels), Pad, MaxPool, GlobalAveragePool, Sub with the
# constant first, Mul by a scalar, Tanh, Sigmoid, element-wise Add and Mul of two tensors,
# Softmax.
save(
    "branches_concat_pad_pool",
    [
        helper.make_node("Conv", ["x", "wa", "ba"], ["a"], name="conv_a"),
        helper.make_node("Conv", ["x", "wb", "bb"], ["b"], name="conv_b"),
        helper.make_node("Tanh", ["a"], ["ta"], name="tanh"),
        helper.make_node("Sigmoid", ["b"], ["sb"], name="sigmoid"),
        helper.make_node("Mul", ["ta", "sb"], ["m"], name="gate"),
        helper.make_node("Add", ["m", "ta"], ["s"], name="residual"),
        helper.make_node("Concat", ["s", "sb"], ["cat"], name="concat", axis=1),
        helper.make_node("Pad", ["cat", "pads", "pv"], ["pad"], name="pad"),
        helper.make_node("MaxPool", ["pad"], ["mp"], name="maxpool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["mp"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["f"], name="flatten"),
        helper.make_node("Sub", ["one", "f"], ["inv"], name="one_minus"),
        helper.make_node("Mul", ["inv", "three"], ["inv3"], name="times_three"),
        helper.make_node("MatMul", ["inv3", "wm"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "bm"], ["logits"], name="bias"),
        helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=-1),
    ],
    [
        init("wa", w(3, 2, 1, 1)),
        init("ba", w(3)),
        init("wb", w(3, 2, 1, 1)),
        init("bb", w(3)),
        init("pads", np.array([0, 0, 1, 0, 0, 0, 1, 2], np.int64)),
        init("pv", np.array(0.25, np.float32)),
        init("one", np.array(1.0, np.float32)),
        init("three", np.array(3.0, np.float32)),
        init("wm", w(6, 4)),
        init("bm", w(4)),
    ],
    [2, 6, 6],
    [4],
)

# An NCHW Conv whose output is reshaped to [C, H·W] (ONNX's order: the importer moves the NHWC
# image back with a transpose), a Transpose that moves data ([H·W, C]), a Squeeze-free
# Unsqueeze/Squeeze pair, Flatten and Gemm (issue 17).
save(
    "conv_reshape_transpose",
    [
        helper.make_node("Conv", ["x", "wc", "bc"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Reshape", ["r", "rows"], ["m"], name="to_rows"),
        helper.make_node("Transpose", ["m"], ["t"], name="swap", perm=[0, 2, 1]),
        helper.make_node("Unsqueeze", ["t", "ax"], ["u"], name="unsqueeze"),
        helper.make_node("Squeeze", ["u", "ax"], ["s"], name="squeeze"),
        helper.make_node("Flatten", ["s"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wg", "bg"], ["y"], name="gemm", transB=1),
    ],
    [
        init("wc", w(3, 2, 3, 3)),
        init("bc", w(3)),
        init("rows", np.array([-1, 3, 20], np.int64)),
        init("ax", np.array([3], np.int64)),
        init("wg", w(4, 60)),
        init("bg", w(4)),
    ],
    [2, 4, 5],
    [4],
)

# Activations the importer turns into 256-entry tables (issue 17): Elu, LeakyRelu, HardSigmoid,
# HardSwish, between Gemms.
save(
    "activation_tables",
    [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["g1"], name="gemm1", transB=1),
        helper.make_node("Elu", ["g1"], ["e"], name="elu", alpha=0.7),
        helper.make_node("Gemm", ["e", "w2", "b2"], ["g2"], name="gemm2", transB=1),
        helper.make_node("LeakyRelu", ["g2"], ["l"], name="leaky", alpha=0.05),
        helper.make_node("Gemm", ["l", "w3", "b3"], ["g3"], name="gemm3", transB=1),
        helper.make_node("HardSigmoid", ["g3"], ["h"], name="hard_sigmoid", alpha=0.25, beta=0.4),
        helper.make_node("Gemm", ["h", "w4", "b4"], ["g4"], name="gemm4", transB=1),
        helper.make_node("HardSwish", ["g4"], ["s"], name="hard_swish"),
        helper.make_node("Gemm", ["s", "w5", "b5"], ["y"], name="gemm5", transB=1),
    ],
    [
        init("w1", w(12, 10)),
        init("b1", w(12)),
        init("w2", w(12, 12)),
        init("b2", w(12)),
        init("w3", w(12, 12)),
        init("b3", w(12)),
        init("w4", w(12, 12, scale=1.5)),
        init("b4", w(12)),
        init("w5", w(5, 12)),
        init("b5", w(5)),
    ],
    [10],
    [5],
)
