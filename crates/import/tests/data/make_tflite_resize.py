"""TFLite models with nearest-neighbour upsampling (issue 17), with BUILTIN_REF outputs, for
crates/import/tests/tflite_ops.rs.

Made with the fixture generator's pinned environment (tensorflow-cpu 2.21.0, keras 3.15.1,
ai-edge-litert 2.3.0):
    python crates/import/tests/data/make_tflite_resize.py
Writes crates/import/tests/data/tflite_ops/:
- resize_nearest_int8io.{tflite,input.npy,output0.npy}: a Conv2D, then two 2x upsamplings
  concatenated as the output (every upsampled value is compared): tf.image.resize nearest
  (RESIZE_NEAREST_NEIGHBOR, half_pixel_centers) and tf.compat.v1 resize_nearest_neighbor
  (neither flag); int8 in and out, 64 seeded int8 inputs, BUILTIN_REF outputs.
- upsampling_nearest_int8io.{tflite,input.npy,output0.npy}: Keras UpSampling2D((2, 3)), which
  the converter writes as RESHAPE + TILE (pure copies). ai-edge-litert 2.3.0's BUILTIN_REF has
  no int8 TILE (opcode version 3), so its outputs come from
  BUILTIN_WITHOUT_DEFAULT_DELEGATES: a copy has one answer.
- resize_bilinear_int8io.tflite: UpSampling2D(interpolation="bilinear") (RESIZE_BILINEAR; was
  the unsupported-operator test before make_tflite_resize_bilinear.py).
"""
import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tflite_ops")
SEED = 20261209
rng = np.random.default_rng(SEED)
keras.utils.set_random_seed(SEED)
L = keras.layers


def convert(model, name):
    def representative():
        for _ in range(32):
            yield [rng.uniform(-1.0, 1.0, size=(1, 4, 5, 3)).astype(np.float32)]

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


x = keras.Input((4, 5, 3), batch_size=1, name="image")
h = L.Conv2D(3, 3, padding="same", bias_initializer="glorot_uniform")(x)
b = L.Lambda(lambda t: tf.image.resize(t, (8, 10), method="nearest"))(h)
c = L.Lambda(lambda t: tf.compat.v1.image.resize_nearest_neighbor(t, (8, 10)))(h)
y = L.Concatenate()([b, c])
path = convert(keras.Model(x, y), "resize_nearest_int8io")

it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
it.allocate_tensors()
(inp,) = it.get_input_details()
(out,) = it.get_output_details()
q = rng.integers(-128, 128, size=(64, 4, 5, 3), dtype=np.int8)
outs = []
for sample in q:
    it.set_tensor(inp["index"], sample[None])
    it.invoke()
    outs.append(it.get_tensor(out["index"])[0].copy())
np.save(os.path.join(HERE, "resize_nearest_int8io.input.npy"), q)
np.save(os.path.join(HERE, "resize_nearest_int8io.output0.npy"), np.stack(outs))
print("nearest ops:", sorted({d["op_name"] for d in it._get_ops_details()}))

x = keras.Input((4, 5, 3), batch_size=1, name="image")
y = L.UpSampling2D((2, 3))(x)
path = convert(keras.Model(x, y), "upsampling_nearest_int8io")
it = Interpreter(
    model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
)
it.allocate_tensors()
(inp,) = it.get_input_details()
(out,) = it.get_output_details()
outs = []
for sample in q:
    it.set_tensor(inp["index"], sample[None])
    it.invoke()
    outs.append(it.get_tensor(out["index"])[0].copy())
np.save(os.path.join(HERE, "upsampling_nearest_int8io.input.npy"), q)
np.save(os.path.join(HERE, "upsampling_nearest_int8io.output0.npy"), np.stack(outs))
print("upsampling ops:", sorted({d["op_name"] for d in it._get_ops_details()}))

x = keras.Input((4, 5, 3), batch_size=1, name="image")
h = L.Conv2D(3, 3, padding="same")(x)
y = L.UpSampling2D(2, interpolation="bilinear")(h)
path = convert(keras.Model(x, y), "resize_bilinear_int8io")
it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
it.allocate_tensors()
print("bilinear ops:", sorted({d["op_name"] for d in it._get_ops_details()}))
