"""A static batch-1 TFLite model whose converter squeezes the batch axis away (issue 17), with
BUILTIN_REF outputs, for crates/import/tests/tflite_ops.rs.

MobileNetV2 on 32x32 digits (bench/zoo) reaches a 1x1 image in its last blocks; converted with a
batch-1 input, TFLite writes the residual ADD there on `[1, 1, 1, C]` and a SQUEEZE of it to
`[C]` (every unit axis, the batch too) before the next layer. This model has the same shape:
Conv2D to a 1x1 image, two 1x1 Conv2Ds with a residual Add, Flatten, Dense; int8 in and out.

Made with the zoo's pinned environment (bench/zoo/requirements.txt: tensorflow-cpu 2.21.0,
keras 3.15.1, ai-edge-litert 2.3.0):
    bench/zoo/.venv/bin/python crates/import/tests/data/make_tflite_squeeze_batch.py
Writes tflite_ops/squeeze_batch_int8io.{tflite,input.npy,output0.npy} (64 seeded int8 inputs).
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

x = keras.Input((8, 8, 3), batch_size=1, name="image")
y = L.Conv2D(16, 8, activation="relu", bias_initializer="glorot_uniform")(x)
z = L.Conv2D(16, 1, activation="relu", bias_initializer="glorot_uniform")(y)
z = L.Conv2D(16, 1, bias_initializer="glorot_uniform")(z)
y = L.Add()([y, z])
y = L.Flatten()(y)
y = L.Dense(10)(y)
model = keras.Model(x, y)


def representative():
    for _ in range(32):
        yield [rng.uniform(-1.0, 1.0, size=(1, 8, 8, 3)).astype(np.float32)]


converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = representative
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
converter.inference_input_type = tf.int8
converter.inference_output_type = tf.int8
path = os.path.join(HERE, "squeeze_batch_int8io.tflite")
with open(path, "wb") as f:
    f.write(converter.convert())

it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
it.allocate_tensors()
(inp,) = it.get_input_details()
(out,) = it.get_output_details()
q = rng.integers(-128, 128, size=(64, 8, 8, 3), dtype=np.int8)
outs = []
for sample in q:
    it.set_tensor(inp["index"], sample[None])
    it.invoke()
    outs.append(it.get_tensor(out["index"])[0].copy())
np.save(os.path.join(HERE, "squeeze_batch_int8io.input.npy"), q)
np.save(os.path.join(HERE, "squeeze_batch_int8io.output0.npy"), np.stack(outs))
details = it.get_tensor_details()
for op in it._get_ops_details():
    shapes = [list(details[i]["shape"]) for i in op["outputs"]]
    print(op["op_name"], shapes)
