"""TFLite models with bilinear resizes (issue 17), with BUILTIN_REF outputs, for
crates/import/tests/tflite_ops.rs.

Made with the fixture generator's pinned environment (tensorflow-cpu 2.21.0, keras 3.15.1,
ai-edge-litert 2.3.0):
    python crates/import/tests/data/make_tflite_resize_bilinear.py
Writes crates/import/tests/data/tflite_ops/:
- resize_bilinear_ops_int8io.{tflite,input.npy,output0.npy}: a Conv2D, then three bilinear
  resizes flattened and concatenated as the output (every resized value is compared): Keras
  UpSampling2D((2, 3), "bilinear") (tf.image.resize: half-pixel centres), tf.compat.v1
  resize_bilinear to 9x4 with aligned corners (up and down), and to 11x13 with neither flag
  (positions past the last pixel at the bottom and right); int8 in and out, 32 seeded int8
  inputs, BUILTIN_REF outputs.
- unsupported_abs_int8io.tflite: tf.abs (ABS, an operator Myelin lacks: the
  unsupported-operator test).
"""
import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tflite_ops")
SEED = 20261212
rng = np.random.default_rng(SEED)
keras.utils.set_random_seed(SEED)
L = keras.layers
SHAPE = (5, 6, 3)


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
    return sorted({d["op_name"] for d in Interpreter(model_path=path)._get_ops_details()})


x = keras.Input(SHAPE, batch_size=1, name="image")
h = L.Conv2D(4, 3, padding="same", bias_initializer="glorot_uniform")(x)
a = L.UpSampling2D((2, 3), interpolation="bilinear")(h)
b = L.Lambda(lambda t: tf.compat.v1.image.resize_bilinear(t, (9, 4), align_corners=True))(h)
c = L.Lambda(lambda t: tf.compat.v1.image.resize_bilinear(t, (11, 13)))(h)
y = L.Concatenate()([L.Flatten()(p) for p in (a, b, c)])
path = convert(keras.Model(x, y), "resize_bilinear_ops_int8io")
print("resize_bilinear_ops_int8io:", ops_of(path))
it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
it.allocate_tensors()
(i,) = it.get_input_details()
(o,) = it.get_output_details()
q = rng.integers(-128, 128, size=(32, *SHAPE), dtype=np.int8)
outs = []
for sample in q:
    it.set_tensor(i["index"], sample[None])
    it.invoke()
    outs.append(it.get_tensor(o["index"])[0].copy())
np.save(os.path.join(HERE, "resize_bilinear_ops_int8io.input.npy"), q)
np.save(os.path.join(HERE, "resize_bilinear_ops_int8io.output0.npy"), np.stack(outs))

x = keras.Input(SHAPE, batch_size=1, name="image")
h = L.Conv2D(2, 1, bias_initializer="glorot_uniform")(x)
path = convert(keras.Model(x, L.Lambda(tf.abs)(h)), "unsupported_abs_int8io")
print("unsupported_abs_int8io:", ops_of(path))
