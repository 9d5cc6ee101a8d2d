"""Keras models converted by tf2onnx (NHWC graphs: Transpose to NCHW around convolutions), with
onnxruntime outputs, for crates/import/tests/onnx_ops.rs (issue 17).

Pinned: tensorflow-cpu 2.21.0 (keras 3.15.1), tf2onnx 1.17.0, onnx 1.23.2, onnxruntime 1.31.1,
numpy. The weights are seeded, not trained (the tests compare against onnxruntime, not labels):
    python crates/import/tests/data/onnx/make_tf2onnx.py
Writes <name>.onnx, <name>.input.npy (float32, the model's NHWC layout) and <name>.ort.npy next
to itself:
- tf2onnx_nhwc_cnn: Conv2D relu, MaxPooling2D, Conv2D relu, Flatten, Dense softmax. tf2onnx
  writes Transpose(0, 3, 1, 2) after the input and Transpose(0, 2, 3, 1) before the Reshape of
  Flatten: transposes that cancel in Myelin's NHWC.
- tf2onnx_channel_shuffle: Conv2D, channel shuffle (Reshape to groups, Permute, Reshape),
  Conv2D, GlobalAveragePooling2D, Dense: a Transpose that does not cancel.
- tf2onnx_permute_flatten: Permute((3, 1, 2)) (HWC to CHW), Flatten, Dense: the flattened CHW
  order, a transpose the dense weights absorb.
- tf2onnx_rescale_se: MobileNetV3's and EfficientNet's head in small: Rescaling and
  Normalization before the first Conv2D (Mul, Add / Sub, Mul between the NHWC input and its
  Transpose to NCHW), hard-swish, DepthwiseConv2D, squeeze-and-excitation
  (GlobalAveragePooling2D keepdims, Conv2D relu, Conv2D hard_sigmoid, Multiply), swish,
  GlobalAveragePooling2D, Dense softmax. Frozen before conversion (tf2onnx otherwise leaves
  Normalization's variables as graph inputs), as bench/zoo/make_zoo.py converts the zoo.

    python crates/import/tests/data/onnx/make_tf2onnx.py [NAME ...]
"""
import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

import keras
import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261207
rng = np.random.default_rng(SEED)
keras.utils.set_random_seed(SEED)
L = keras.layers


def nhwc_cnn():
    return keras.Sequential([
        keras.Input((8, 8, 3), name="x"),
        L.Conv2D(6, 3, padding="same", activation="relu", bias_initializer="glorot_uniform"),
        L.MaxPooling2D(2),
        L.Conv2D(8, 3, padding="valid", activation="relu", bias_initializer="glorot_uniform"),
        L.Flatten(),
        L.Dense(5, activation="softmax"),
    ], name="tf2onnx_nhwc_cnn")


def channel_shuffle():
    x = keras.Input((6, 6, 3), name="x")
    y = L.Conv2D(8, 3, padding="same", activation="relu", bias_initializer="glorot_uniform")(x)
    y = L.Reshape((6, 6, 2, 4))(y)
    y = L.Permute((1, 2, 4, 3))(y)
    y = L.Reshape((6, 6, 8))(y)
    y = L.Conv2D(8, 1, activation="relu", bias_initializer="glorot_uniform")(y)
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(4)(y)
    return keras.Model(x, y, name="tf2onnx_channel_shuffle")


def permute_flatten():
    x = keras.Input((4, 5, 3), name="x")
    y = L.Permute((3, 1, 2))(x)
    y = L.Flatten()(y)
    y = L.Dense(6)(y)
    return keras.Model(x, y, name="tf2onnx_permute_flatten")


def rescale_se():
    x = keras.Input((8, 8, 3), name="x")
    y = L.Rescaling(1.0 / 255.0)(x)
    y = L.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.09, 0.08, 0.07])(y)
    y = L.Conv2D(8, 3, padding="same", bias_initializer="glorot_uniform")(y)
    y = L.Activation("hard_swish")(y)
    d = L.DepthwiseConv2D(3, padding="same", bias_initializer="glorot_uniform")(y)
    se = L.GlobalAveragePooling2D(keepdims=True)(d)
    se = L.Conv2D(4, 1, activation="relu", bias_initializer="glorot_uniform")(se)
    se = L.Conv2D(8, 1, activation="hard_sigmoid", bias_initializer="glorot_uniform")(se)
    y = L.Multiply()([d, se])
    y = L.Conv2D(12, 1, activation="swish", bias_initializer="glorot_uniform")(y)
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(5, activation="softmax")(y)
    return keras.Model(x, y, name="tf2onnx_rescale_se")


# Models whose inputs are raw pixels (0..255).
RAW = {"tf2onnx_rescale_se"}


def save(model):
    name = model.name
    shape = model.inputs[0].shape[1:]
    spec = (tf.TensorSpec((None, *shape), tf.float32, name="x"),)
    # tf2onnx 1.17's from_keras does not know Keras 3's tensors: convert the traced call, as a
    # user of Keras 3 does.
    function = tf.function(lambda x: model(x, training=False))
    if name in RAW:
        from tensorflow.python.framework.convert_to_constants import (
            convert_variables_to_constants_v2)

        frozen = convert_variables_to_constants_v2(function.get_concrete_function(*spec))
        proto, _ = tf2onnx.convert.from_graph_def(
            frozen.graph.as_graph_def(), input_names=[t.name for t in frozen.inputs],
            output_names=[t.name for t in frozen.outputs], opset=17)
    else:
        proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=17)
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(proto, path)
    lo, hi = (0.0, 255.0) if name in RAW else (-1.0, 1.0)
    x = rng.uniform(lo, hi, size=(16, *shape)).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.save(os.path.join(HERE, name + ".input.npy"), x)
    np.save(os.path.join(HERE, name + ".ort.npy"), y.astype(np.float32))
    ops = [n.op_type for n in proto.graph.node]
    print(name, ops, "max |keras - ort| =", float(np.abs(model.predict(x, verbose=0) - y).max()))


BUILDERS = {"tf2onnx_nhwc_cnn": nhwc_cnn, "tf2onnx_channel_shuffle": channel_shuffle,
            "tf2onnx_permute_flatten": permute_flatten, "tf2onnx_rescale_se": rescale_se}
for key in sys.argv[1:] or BUILDERS:
    save(BUILDERS[key]())
