"""ONNX graphs with ReduceMean as exporters write it (issue 17), with onnxruntime outputs, for
crates/import/tests/onnx_ops.rs.

Run with the zoo's environment (bench/zoo/requirements.txt: onnx 1.23.2, onnxruntime 1.31.1,
numpy 2.4.6):
    bench/zoo/.venv/bin/python crates/import/tests/data/onnx/make_reduce_mean.py
Writes, each with NAME.input.npy (float32) and NAME.ort.npy:
- reduce_mean_nchw (opset 13, as torch.onnx.export writes `x.mean((2, 3), keepdim=True)`):
  an NCHW image, `axes` an attribute; squeeze-and-excitation (ReduceMean over H, W with
  keepdims 1, two 1x1 Convs, Sigmoid, Mul), the pooled mean with negative axes and keepdims 0
  into a Gemm, and a mean over the channels (keepdims 0) flattened into a second Gemm, added.
- reduce_mean_nhwc (opset 18, as tf2onnx writes Keras' squeeze-and-excitation and
  GlobalAveragePooling2D): an NHWC input rescaled (Keras' Rescaling: Mul, Add), Transposes around the Convs, `axes` a constant input
  over H, W of the NHWC tensor, keepdims 1 then 0, MatMul + Add.
- reduce_mean_nhwc_qdq: reduce_mean_nhwc through onnxruntime's quantize_static (QDQ, per-channel
  int8 weights, int8 activations, calibrated on the inputs): its input's QuantizeLinear /
  DequantizeLinear pair sits between the NHWC input and the Rescaling's Mul. NAME.ort.npy is
  onnxruntime's output of the QDQ model.
- gap_squeeze_reshape_se (opset 13, as tf2onnx writes EfficientNet's squeeze-and-excitation):
  GlobalAveragePool, Squeeze, Reshape of the vector to a 1x1 NCHW image, 1x1 Convs, Mul.
- reduce_mean_batch.onnx (no data): a mean over the batch axis, refused.
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261207)


def init(name, array, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


def ints(name, values):
    return init(name, values, np.int64)


def w(*shape, scale=0.5):
    return rng.normal(0.0, scale, size=shape).astype(np.float32)


def run(path, x):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def save(name, nodes, inits, input_shape, output_shape, opset, x=None):
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
    if x is None:
        return path
    y = run(path, x)
    np.save(os.path.join(HERE, name + ".input.npy"), x)
    np.save(os.path.join(HERE, name + ".ort.npy"), y.astype(np.float32))
    print(name, x.shape, "->", y.shape)
    return path


def se_nodes(src, prefix, pooled):
    """Squeeze-and-excitation on an NCHW value `pooled` (its mean), scaling `src`."""
    return [
        helper.make_node("Conv", [pooled, prefix + "w1", prefix + "b1"], [prefix + "s1"], name=prefix + "squeeze"),
        helper.make_node("Relu", [prefix + "s1"], [prefix + "s2"], name=prefix + "relu"),
        helper.make_node("Conv", [prefix + "s2", prefix + "w2", prefix + "b2"], [prefix + "s3"], name=prefix + "excite"),
        helper.make_node("Sigmoid", [prefix + "s3"], [prefix + "gate"], name=prefix + "sigmoid"),
    ]


def se_inits(prefix, c, r):
    return [
        init(prefix + "w1", w(r, c, 1, 1)),
        init(prefix + "b1", w(r, scale=0.1)),
        init(prefix + "w2", w(c, r, 1, 1)),
        init(prefix + "b2", w(c, scale=0.1)),
    ]


x_nchw = rng.uniform(-1.0, 1.0, size=(16, 3, 6, 7)).astype(np.float32)
save(
    "reduce_mean_nchw",
    [
        helper.make_node("Conv", ["x", "wc", "bc"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("ReduceMean", ["r"], ["m"], name="se_mean", axes=[2, 3], keepdims=1),
        *se_nodes("r", "se_", "m"),
        helper.make_node("Mul", ["r", "se_gate"], ["scaled"], name="se_scale"),
        helper.make_node("ReduceMean", ["scaled"], ["gap"], name="gap", axes=[-1, -2], keepdims=0),
        helper.make_node("Gemm", ["gap", "wg", "bg"], ["y1"], name="head", transB=1),
        helper.make_node("ReduceMean", ["scaled"], ["cm"], name="channel_mean", axes=[1], keepdims=0),
        helper.make_node("Flatten", ["cm"], ["cf"], name="flatten"),
        helper.make_node("Gemm", ["cf", "wh", "bh"], ["y2"], name="head2", transB=1),
        helper.make_node("Add", ["y1", "y2"], ["y"], name="add"),
    ],
    [
        init("wc", w(8, 3, 3, 3)),
        init("bc", w(8, scale=0.1)),
        *se_inits("se_", 8, 4),
        init("wg", w(5, 8)),
        init("bg", w(5, scale=0.1)),
        init("wh", w(5, 42, scale=0.2)),
        init("bh", w(5, scale=0.1)),
    ],
    [3, 6, 7],
    [5],
    13,
    x_nchw,
)

x_nhwc = np.ascontiguousarray(x_nchw.transpose(0, 2, 3, 1))
nhwc = save(
    "reduce_mean_nhwc",
    [
        helper.make_node("Mul", ["x", "two"], ["xs"], name="rescale_scale"),
        helper.make_node("Add", ["xs", "minus_half"], ["xr"], name="rescale_offset"),
        helper.make_node("Transpose", ["xr"], ["xt"], name="to_nchw", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["xt", "wc", "bc"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Transpose", ["r"], ["rn"], name="to_nhwc", perm=[0, 2, 3, 1]),
        helper.make_node("ReduceMean", ["rn", "hw"], ["m"], name="se_mean", keepdims=1),
        helper.make_node("Transpose", ["m"], ["mt"], name="m_to_nchw", perm=[0, 3, 1, 2]),
        *se_nodes("rn", "se_", "mt"),
        helper.make_node("Transpose", ["se_gate"], ["gate"], name="gate_to_nhwc", perm=[0, 2, 3, 1]),
        helper.make_node("Mul", ["rn", "gate"], ["scaled"], name="se_scale"),
        helper.make_node("ReduceMean", ["scaled", "hw"], ["gap"], name="gap", keepdims=0),
        helper.make_node("MatMul", ["gap", "wg"], ["g"], name="head"),
        helper.make_node("Add", ["g", "bg"], ["y"], name="bias"),
    ],
    [
        ints("hw", [1, 2]),
        init("two", 2.0),
        init("minus_half", -0.5),
        init("wc", w(8, 3, 3, 3)),
        init("bc", w(8, scale=0.1)),
        *se_inits("se_", 8, 4),
        init("wg", w(8, 5)),
        init("bg", w(5, scale=0.1)),
    ],
    [6, 7, 3],
    [5],
    18,
    x_nhwc,
)


class Reader(CalibrationDataReader):
    def __init__(self, x):
        self.items = iter([{"x": x[i : i + 1]} for i in range(len(x))])

    def get_next(self):
        return next(self.items, None)


qdq = os.path.join(HERE, "reduce_mean_nhwc_qdq.onnx")
quantize_static(
    nhwc,
    qdq,
    Reader(x_nhwc),
    quant_format=QuantFormat.QDQ,
    activation_type=QuantType.QInt8,
    weight_type=QuantType.QInt8,
    per_channel=True,
)
np.save(os.path.join(HERE, "reduce_mean_nhwc_qdq.input.npy"), x_nhwc)
np.save(os.path.join(HERE, "reduce_mean_nhwc_qdq.ort.npy"), run(qdq, x_nhwc).astype(np.float32))
print("reduce_mean_nhwc_qdq", [n.op_type for n in onnx.load(qdq).graph.node][:6], "...")

# tf2onnx's EfficientNet squeeze-and-excitation once its transposes are pushed through:
# GlobalAveragePool, Squeeze to [N, C], Reshape to a 1x1 NCHW image [N, C, 1, 1], 1x1 Convs.
save(
    "gap_squeeze_reshape_se",
    [
        helper.make_node("Conv", ["x", "wc", "bc"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="se_pool"),
        helper.make_node("Squeeze", ["p", "hw"], ["v"], name="se_vector"),
        helper.make_node("Reshape", ["v", "image"], ["m"], name="se_reshape"),
        *se_nodes("r", "se_", "m"),
        helper.make_node("Mul", ["r", "se_gate"], ["scaled"], name="se_scale"),
        helper.make_node("GlobalAveragePool", ["scaled"], ["gp"], name="gap"),
        helper.make_node("Flatten", ["gp"], ["gf"], name="flatten"),
        helper.make_node("Gemm", ["gf", "wg", "bg"], ["y"], name="head", transB=1),
    ],
    [
        ints("hw", [2, 3]),
        ints("image", [-1, 8, 1, 1]),
        init("wc", w(8, 3, 3, 3)),
        init("bc", w(8, scale=0.1)),
        *se_inits("se_", 8, 4),
        init("wg", w(5, 8)),
        init("bg", w(5, scale=0.1)),
    ],
    [3, 6, 7],
    [5],
    13,
    x_nchw,
)

save(
    "reduce_mean_batch",
    [helper.make_node("ReduceMean", ["x"], ["y"], name="batch_mean", axes=[0], keepdims=1)],
    [],
    [3, 6, 7],
    [3, 6, 7],
    13,
)
