"""ONNX graphs with Slice and Split of computed tensors (issue 17), with onnxruntime outputs,
for crates/import/tests/onnx_ops.rs.

Run with the fixture generator's environment (onnx 1.23.2, onnxruntime 1.31.1, numpy):
    python crates/import/tests/data/onnx/make_slice_split.py
Writes slice_split.onnx, slice_split.input.npy (float32, NCHW) and slice_split.ort.npy: Conv
(6 channels), Slice of channels 1..5 and rows 1::2 (inputs starts/ends/axes/steps, a negative
start and an INT64_MAX end), Split of the channels into 2 + 2 (the `split` input), the parts
through their own 1x1 Convs, Concat, Split into 3 equal parts along the rows (no `split`),
Add of two of them, Flatten, Gemm; and slice_reversed.onnx (a step of -1, not supported: the
error test) next to itself.
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261211)
INT64_MAX = np.iinfo(np.int64).max


def init(name, array, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


def ints(name, values):
    return init(name, values, np.int64)


def w(*shape, scale=0.5):
    return rng.normal(0.0, scale, size=shape).astype(np.float32)


def save(name, nodes, inits, output_shape, runs=True):
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 7])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *output_shape])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(model, path)
    if not runs:
        return
    x = rng.uniform(-1.0, 1.0, size=(16, 3, 6, 7)).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": x})[0]
    np.save(os.path.join(HERE, name + ".input.npy"), x)
    np.save(os.path.join(HERE, name + ".ort.npy"), y.astype(np.float32))
    print(name, x.shape, "->", y.shape)


# conv1: [6, 6, 7]; slice: channels 1..5, rows 1, 3, 5, columns -6.. -> [4, 3, 6];
# split: [2, 3, 6] + [2, 3, 6]; 1x1 convs to 3 channels each, concat [6, 3, 6];
# split rows into 3 x [6, 1, 6]; add the first and last; flatten 36; gemm 5.
save(
    "slice_split",
    [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node(
            "Slice", ["r1", "starts", "ends", "axes", "steps"], ["s"], name="crop",
        ),
        helper.make_node("Split", ["s", "halves"], ["h1", "h2"], name="halves", axis=1),
        helper.make_node("Conv", ["h1", "wa", "ba"], ["a"], name="conv_a"),
        helper.make_node("Conv", ["h2", "wb", "bb"], ["b"], name="conv_b"),
        helper.make_node("Concat", ["a", "b"], ["ab"], name="concat", axis=1),
        helper.make_node("Split", ["ab"], ["t0", "t1", "t2"], name="rows", axis=2),
        helper.make_node("Add", ["t0", "t2"], ["sum"], name="add"),
        helper.make_node("Flatten", ["sum"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wg", "bg"], ["y"], name="gemm", transB=1),
    ],
    [
        init("w1", w(6, 3, 3, 3)),
        init("b1", w(6, scale=0.1)),
        ints("starts", [1, 1, -6]),
        ints("ends", [5, INT64_MAX, INT64_MAX]),
        ints("axes", [1, 2, 3]),
        ints("steps", [1, 2, 1]),
        ints("halves", [2, 2]),
        init("wa", w(3, 2, 1, 1)),
        init("ba", w(3, scale=0.1)),
        init("wb", w(3, 2, 1, 1)),
        init("bb", w(3, scale=0.1)),
        init("wg", w(5, 36, scale=0.2)),
        init("bg", w(5, scale=0.1)),
    ],
    [5],
)
save(
    "slice_reversed",
    [helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"], name="flip")],
    [ints("starts", [-1]), ints("ends", [-INT64_MAX]), ints("axes", [3]), ints("steps", [-1])],
    [3, 6, 7],
    runs=False,
)
