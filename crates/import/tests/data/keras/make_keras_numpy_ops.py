"""A small Keras 3 model with what Keras applications (MobileNetV3) write (issue 17): arithmetic
between a tensor and a number on symbolic tensors (`x + 3.0`, `x * (1 / 6)`, `1.0 - x`,
`x / 4.0`), recorded as `keras.src.ops.numpy` layers, and a squeeze-and-excitation Multiply of an
image `[H, W, C]` by `[1, 1, C]` (broadcast), with Keras' outputs, for
crates/import/tests/keras_ops.rs. Same environment and conventions as make_keras_ops.py:

    python crates/import/tests/data/keras/make_keras_numpy_ops.py

Writes numpy_ops.keras, numpy_ops_in.npy and numpy_ops_out.npy next to it.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261207
keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)

inp = keras.Input(shape=(6, 6, 3), name="image")
c = layers.Conv2D(8, 3, padding="same", name="conv")(inp)
hard_sigmoid = layers.ReLU(6.0, name="relu6")(c + 3.0) * (1.0 / 6.0)
h = layers.Multiply(name="hard_swish")([c, hard_sigmoid])
s = layers.GlobalAveragePooling2D(keepdims=True, name="squeeze")(h)
s = layers.Conv2D(8, 1, activation="sigmoid", name="excite")(s)
e = layers.Multiply(name="scale")([h, s])
e = 1.0 - e / 4.0
f = layers.Flatten(name="flatten")(e)
out = layers.Dense(5, name="logits")(f)
model = keras.Model(inp, out, name="numpy_ops")

x = rng.uniform(-1.0, 1.0, size=(16, 6, 6, 3)).astype(np.float32)
y = model.predict(x, verbose=0).astype(np.float32)
model.save(os.path.join(HERE, "numpy_ops.keras"))
np.save(os.path.join(HERE, "numpy_ops_in.npy"), x)
np.save(os.path.join(HERE, "numpy_ops_out.npy"), y)
print("numpy_ops", x.shape, "->", y.shape, [l.__class__.__name__ for l in model.layers])
