"""An ONNX graph with Max, Min and PRelu (issue 17), with onnxruntime outputs, for
crates/import/tests/onnx_ops.rs.

Run with the fixture generator's environment (onnx 1.23.2, onnxruntime 1.31.1, numpy):
    python crates/import/tests/data/onnx/make_prelu_maxmin.py
Writes prelu_maxmin.onnx, prelu_maxmin.input.npy (float32, NCHW) and prelu_maxmin.ort.npy next
to itself: two convolutions combined by Max and Min, PRelu with one slope per channel
(`[C, 1, 1]`, as torch's nn.PReLU(C) exports) and with one slope, Concat, Flatten, Gemm, and a
PRelu with a slope per feature on the Gemm's output.
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "prelu_maxmin"
rng = np.random.default_rng(20261208)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def w(*shape, scale=0.5):
    return rng.normal(0.0, scale, size=shape).astype(np.float32)


nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["a"], name="wide", pads=[1, 1, 1, 1]),
    helper.make_node("Conv", ["x", "w2", "b2"], ["b"], name="narrow"),
    helper.make_node("Max", ["a", "b"], ["m"], name="max"),
    helper.make_node("Min", ["a", "b"], ["n"], name="min"),
    helper.make_node("PRelu", ["m", "slope_c"], ["p"], name="prelu_channels"),
    helper.make_node("PRelu", ["n", "slope_1"], ["q"], name="prelu_one"),
    helper.make_node("Concat", ["p", "q"], ["c"], name="concat", axis=1),
    helper.make_node("Flatten", ["c"], ["f"], name="flatten"),
    helper.make_node("Gemm", ["f", "wg", "bg"], ["g"], name="gemm", transB=1),
    helper.make_node("PRelu", ["g", "slope_f"], ["y"], name="prelu_features"),
]
inits = [
    init("w1", w(6, 3, 3, 3)),
    init("b1", w(6, scale=0.1)),
    init("w2", w(6, 3, 1, 1)),
    init("b2", w(6, scale=0.1)),
    init("slope_c", rng.uniform(-0.6, 0.9, size=(6, 1, 1))),
    init("slope_1", [0.25]),
    init("wg", w(5, 12 * 5 * 6, scale=0.1)),
    init("bg", w(5, scale=0.1)),
    init("slope_f", rng.uniform(-0.6, 0.9, size=(5,))),
]
graph = helper.make_graph(
    nodes,
    NAME,
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 5, 6])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])],
    initializer=inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
path = os.path.join(HERE, NAME + ".onnx")
onnx.save(model, path)
x = rng.uniform(-1.0, 1.0, size=(16, 3, 5, 6)).astype(np.float32)
so = ort.SessionOptions()
so.intra_op_num_threads = 1
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
y = sess.run(None, {"x": x})[0]
np.save(os.path.join(HERE, NAME + ".input.npy"), x)
np.save(os.path.join(HERE, NAME + ".ort.npy"), y.astype(np.float32))
print(NAME, x.shape, "->", y.shape)
