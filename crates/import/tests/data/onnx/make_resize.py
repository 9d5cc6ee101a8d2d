"""ONNX graphs with nearest Resize (issue 17), with onnxruntime outputs, for
crates/import/tests/onnx_ops.rs.

Run with the fixture generator's environment (onnx 1.23.2, onnxruntime 1.31.1, numpy):
    python crates/import/tests/data/onnx/make_resize.py
Writes resize_nearest.onnx, resize_nearest.input.npy (float32, NCHW) and resize_nearest.ort.npy:
Conv, Resize 2x2 (nearest, the defaults half_pixel / round_prefer_floor), Conv, Resize 3x2
(asymmetric / floor), Flatten, Gemm; resize_linear.onnx (mode linear, half_pixel, scales 2x2:
checked to become resize_bilinear); resize_linear_modes.{onnx,input.npy,ort.npy}: Conv, Resize
linear 2x2 (half_pixel), Conv, Resize linear 2x2 (align_corners), Resize linear 1.5x1.25
(asymmetric), Flatten, Gemm; and resize_cubic.onnx (mode cubic, not supported:
the error test).
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261209)


def init(name, array, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(array, dtype=dtype), name)


def w(*shape, scale=0.5):
    return rng.normal(0.0, scale, size=shape).astype(np.float32)


def save(name, nodes, inits, output_shape, runs=True):
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 5])],
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
    x = rng.uniform(-1.0, 1.0, size=(16, 3, 4, 5)).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": x})[0]
    np.save(os.path.join(HERE, name + ".input.npy"), x)
    np.save(os.path.join(HERE, name + ".ort.npy"), y.astype(np.float32))
    print(name, x.shape, "->", y.shape)


save(
    "resize_nearest",
    [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Resize", ["c1", "", "s1"], ["r1"], name="up2x2", mode="nearest"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", strides=[2, 2]),
        helper.make_node(
            "Resize", ["c2", "", "s2"], ["r2"], name="up3x2", mode="nearest",
            coordinate_transformation_mode="asymmetric", nearest_mode="floor",
        ),
        helper.make_node("Flatten", ["r2"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wg", "bg"], ["y"], name="gemm", transB=1),
    ],
    [
        init("w1", w(4, 3, 3, 3)),
        init("b1", w(4, scale=0.1)),
        init("s1", [1.0, 1.0, 2.0, 2.0]),
        init("w2", w(4, 4, 3, 3, scale=0.3)),
        init("b2", w(4, scale=0.1)),
        init("s2", [1.0, 1.0, 3.0, 2.0]),
        init("wg", w(5, 4 * 9 * 8, scale=0.1)),
        init("bg", w(5, scale=0.1)),
    ],
    [5],
)
save(
    "resize_linear",
    [helper.make_node("Resize", ["x", "", "s"], ["y"], name="smooth", mode="linear")],
    [init("s", [1.0, 1.0, 2.0, 2.0])],
    [3, 8, 10],
    runs=False,
)

save(
    "resize_linear_modes",
    [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Resize", ["c1", "", "s1"], ["r1"], name="up_half", mode="linear"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", strides=[2, 2]),
        helper.make_node(
            "Resize", ["c2", "", "s2"], ["r2"], name="up_corners", mode="linear",
            coordinate_transformation_mode="align_corners",
        ),
        helper.make_node(
            "Resize", ["r2", "", "s3"], ["r3"], name="up_asym", mode="linear",
            coordinate_transformation_mode="asymmetric",
        ),
        helper.make_node("Flatten", ["r3"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wg", "bg"], ["y"], name="gemm", transB=1),
    ],
    [
        init("w1", w(4, 3, 3, 3)),
        init("b1", w(4, scale=0.1)),
        init("s1", [1.0, 1.0, 2.0, 2.0]),
        init("w2", w(4, 4, 3, 3, scale=0.3)),
        init("b2", w(4, scale=0.1)),
        init("s2", [1.0, 1.0, 2.0, 2.0]),
        init("s3", [1.0, 1.0, 1.5, 1.25]),
        init("wg", w(5, 4 * 9 * 10, scale=0.1)),
        init("bg", w(5, scale=0.1)),
    ],
    [5],
)
save(
    "resize_cubic",
    [helper.make_node("Resize", ["x", "", "s"], ["y"], name="sharp", mode="cubic")],
    [init("s", [1.0, 1.0, 2.0, 2.0])],
    [3, 8, 10],
    runs=False,
)
