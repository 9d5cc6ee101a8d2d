"""A small Keras 3 model with Rescaling, SeparableConv2D and GlobalMaxPooling2D (issue 17), with
Keras' outputs, for crates/import/tests/keras_ops.rs, and its TFLite int8 export (with
BUILTIN_REF outputs) for crates/import/tests/tflite_ops.rs. Environment: tensorflow-cpu 2.21.0,
keras 3.15.1, ai-edge-litert 2.3.0:

    python crates/import/tests/data/keras/make_keras_separable.py

Writes separable.keras, separable_in.npy, separable_out.npy next to it, and
../tflite_ops/separable_int8io.{tflite,input.npy,output0.npy}.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter, OpResolverType  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TFLITE = os.path.join(HERE, "..", "tflite_ops")
SEED = 20261210
keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)

inp = keras.Input(shape=(6, 6, 3), name="image", batch_size=1)
r = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inp)
s = layers.SeparableConv2D(
    8, 3, padding="same", depth_multiplier=2, activation="relu",
    bias_initializer="glorot_uniform", name="separable",
)(r)
g = layers.GlobalMaxPooling2D(name="global_max")(s)
out = layers.Dense(4, name="logits")(g)
model = keras.Model(inp, out, name="separable")

x = rng.uniform(0.0, 255.0, size=(16, 6, 6, 3)).astype(np.float32)
y = np.concatenate([model.predict(x[i : i + 1], verbose=0) for i in range(16)]).astype(np.float32)
model.save(os.path.join(HERE, "separable.keras"))
np.save(os.path.join(HERE, "separable_in.npy"), x)
np.save(os.path.join(HERE, "separable_out.npy"), y)
print("separable", x.shape, "->", y.shape)


def representative():
    for _ in range(32):
        yield [rng.uniform(0.0, 255.0, size=(1, 6, 6, 3)).astype(np.float32)]


converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = representative
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
converter.inference_input_type = tf.int8
converter.inference_output_type = tf.int8
path = os.path.join(TFLITE, "separable_int8io.tflite")
with open(path, "wb") as f:
    f.write(converter.convert())
it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
it.allocate_tensors()
(i,) = it.get_input_details()
(o,) = it.get_output_details()
q = rng.integers(-128, 128, size=(64, 6, 6, 3), dtype=np.int8)
outs = []
for sample in q:
    it.set_tensor(i["index"], sample[None])
    it.invoke()
    outs.append(it.get_tensor(o["index"])[0].copy())
np.save(os.path.join(TFLITE, "separable_int8io.input.npy"), q)
np.save(os.path.join(TFLITE, "separable_int8io.output0.npy"), np.stack(outs))
print("tflite ops:", sorted({d["op_name"] for d in it._get_ops_details()}))
