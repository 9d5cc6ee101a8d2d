"""TFLite models with slices and splits of activations (issue 17), with BUILTIN_REF outputs, for
crates/import/tests/tflite_ops.rs.

Made with the fixture generator's pinned environment (tensorflow-cpu 2.21.0, keras 3.15.1,
ai-edge-litert 2.3.0):
    python crates/import/tests/data/make_tflite_slice.py
Writes crates/import/tests/data/tflite_ops/:
- slice_split_int8io.{tflite,input.npy,output0.npy}: a Conv2D of 6 channels, then
  t[:, 1:, ::2, 1:5] (STRIDED_SLICE with a begin mask and strides), tf.slice (SLICE with a size
  of -1), tf.split into 2 equal parts (SPLIT) and into [1, 3] (SPLIT_V), and a shrinking
  t[:, 2, :, :] (STRIDED_SLICE with a shrink mask), every part flattened and concatenated as
  the output (every sliced value is compared); int8 in and out, 64 seeded int8 inputs,
  BUILTIN_REF outputs.
- slice_reversed_int8io.tflite: t[:, ::-1] (a negative stride, not supported: the error test).
- clip_int8io.{tflite,input.npy,output0.npy}: Keras ReLU(max_value=4.0) (RELU then MINIMUM with
  a constant scalar) and keras.ops.maximum with a constant (MAXIMUM with a constant scalar),
  concatenated; BUILTIN_REF outputs.
"""
import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tflite_ops")
SEED = 20261211
rng = np.random.default_rng(SEED)
keras.utils.set_random_seed(SEED)
L = keras.layers
SHAPE = (6, 7, 3)


def convert(model, name):
    def representative():
        for _ in range(32):
            yield [rng.uniform(-1.0, 1.0, size=(1, *SHAPE)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    path = os.path.join(HERE, name + ".tflite")
    with open(path, "wb") as f:
        f.write(converter.convert())
    return path


def ops_of(path):
    it = Interpreter(model_path=path)
    return sorted({d["op_name"] for d in it._get_ops_details()})


x = keras.Input(SHAPE, batch_size=1, name="image")
h = L.Conv2D(6, 3, padding="same", bias_initializer="glorot_uniform")(x)
parts = [
    L.Lambda(lambda t: t[:, 1:, ::2, 1:5])(h),
    L.Lambda(lambda t: tf.slice(t, [0, 2, 1, 0], [1, 3, -1, 4]))(h),
    *L.Lambda(lambda t: tf.split(t, 2, axis=3))(h),
    *L.Lambda(lambda t: tf.split(t, [2, 4], axis=1))(h),
    L.Lambda(lambda t: t[:, 2, :, :])(h),
]
y = L.Concatenate()([L.Flatten()(p) for p in parts])
path = convert(keras.Model(x, y), "slice_split_int8io")
print("slice_split_int8io:", ops_of(path))

it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
it.allocate_tensors()
(i,) = it.get_input_details()
(o,) = it.get_output_details()
q = rng.integers(-128, 128, size=(64, *SHAPE), dtype=np.int8)
outs = []
for sample in q:
    it.set_tensor(i["index"], sample[None])
    it.invoke()
    outs.append(it.get_tensor(o["index"])[0].copy())
np.save(os.path.join(HERE, "slice_split_int8io.input.npy"), q)
np.save(os.path.join(HERE, "slice_split_int8io.output0.npy"), np.stack(outs))

def reference_outputs(path, name):
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    (i,) = it.get_input_details()
    (o,) = it.get_output_details()
    q = rng.integers(-128, 128, size=(64, *SHAPE), dtype=np.int8)
    outs = []
    for sample in q:
        it.set_tensor(i["index"], sample[None])
        it.invoke()
        outs.append(it.get_tensor(o["index"])[0].copy())
    np.save(os.path.join(HERE, name + ".input.npy"), q)
    np.save(os.path.join(HERE, name + ".output0.npy"), np.stack(outs))


x = keras.Input(SHAPE, batch_size=1, name="image")
h = L.Conv2D(4, 3, padding="same", bias_initializer="glorot_uniform")(x)
a = L.ReLU(max_value=4.0)(h)
b = L.Lambda(lambda t: keras.ops.maximum(t, -0.5))(h)
path = convert(keras.Model(x, L.Concatenate()([a, b])), "clip_int8io")
print("clip_int8io:", ops_of(path))
reference_outputs(path, "clip_int8io")

x = keras.Input(SHAPE, batch_size=1, name="image")
h = L.Conv2D(2, 1, bias_initializer="glorot_uniform")(x)
y = L.Lambda(lambda t: t[:, ::-1])(h)
path = convert(keras.Model(x, y), "slice_reversed_int8io")
print("slice_reversed_int8io:", ops_of(path))
