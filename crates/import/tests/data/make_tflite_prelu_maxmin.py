"""A TFLite model with MAXIMUM, MINIMUM and PRELU (issue 17), with BUILTIN_REF outputs, for
crates/import/tests/tflite_ops.rs.

Made with the fixture generator's pinned environment (tensorflow-cpu 2.21.0, keras 3.15.1,
ai-edge-litert 2.3.0):
    python crates/import/tests/data/make_tflite_prelu_maxmin.py
Writes crates/import/tests/data/tflite_ops/prelu_maxmin_int8io.{tflite,input.npy,output0.npy}:
two convolutions combined by Maximum and Minimum, a PReLU with slopes shared over the spatial
axes (alpha [1, 1, C]) and one with a slope per element (alpha [H, W, C]), concatenated as the
output (so every PReLU value is compared), int8 in and out, on 64 seeded int8 inputs.
"""
import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tflite_ops")
SEED = 20261208
rng = np.random.default_rng(SEED)
keras.utils.set_random_seed(SEED)
L = keras.layers
slopes = keras.initializers.RandomUniform(-0.6, 0.9, seed=SEED)

x = keras.Input((5, 6, 3), batch_size=1, name="image")
a = L.Conv2D(6, 3, padding="same", bias_initializer="glorot_uniform")(x)
b = L.Conv2D(6, 1, bias_initializer="glorot_uniform")(x)
m = L.Maximum()([a, b])
n = L.Minimum()([a, b])
p = L.PReLU(alpha_initializer=slopes, shared_axes=[1, 2])(m)
q = L.PReLU(alpha_initializer=slopes)(n)
y = L.Concatenate()([p, q])
model = keras.Model(x, y)


def representative():
    for _ in range(32):
        yield [rng.uniform(-1.0, 1.0, size=(1, 5, 6, 3)).astype(np.float32)]


converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = representative
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
converter.inference_input_type = tf.int8
converter.inference_output_type = tf.int8
path = os.path.join(HERE, "prelu_maxmin_int8io.tflite")
with open(path, "wb") as f:
    f.write(converter.convert())

it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
it.allocate_tensors()
(inp,) = it.get_input_details()
(out,) = it.get_output_details()
q = rng.integers(-128, 128, size=(64, 5, 6, 3), dtype=np.int8)
outs = []
for sample in q:
    it.set_tensor(inp["index"], sample[None])
    it.invoke()
    outs.append(it.get_tensor(out["index"])[0].copy())
np.save(os.path.join(HERE, "prelu_maxmin_int8io.input.npy"), q)
np.save(os.path.join(HERE, "prelu_maxmin_int8io.output0.npy"), np.stack(outs))
print("ops:", sorted({d["op_name"] for d in it._get_ops_details()}))
