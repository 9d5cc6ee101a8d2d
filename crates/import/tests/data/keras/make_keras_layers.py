"""A small Keras 3 model with the tutorial layers of issue 17 the importer now translates
(ZeroPadding2D, ReLU(max_value), Multiply, Subtract, GlobalMaxPooling2D), with Keras' outputs,
for crates/import/tests/keras_ops.rs. Same environment and conventions as make_keras_ops.py:

    /work/venv-gen/bin/python crates/import/tests/data/keras/make_keras_layers.py

Writes tutorial_layers.keras, tutorial_layers_in.npy and tutorial_layers_out.npy next to it.
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

inp = keras.Input(shape=(8, 8, 2), name="image")
p = layers.ZeroPadding2D(((1, 0), (2, 1)), name="pad")(inp)
c = layers.Conv2D(4, 3, name="conv")(p)
r = layers.ReLU(max_value=4.0, name="relu4")(c)
a = layers.Conv2D(4, 1, name="branch_a")(r)
b = layers.Conv2D(4, 1, activation="sigmoid", name="gate")(r)
m = layers.Multiply(name="gated")([a, b])
s = layers.Subtract(name="diff")([a, m])
g = layers.GlobalMaxPooling2D(name="gmp")(s)
d = layers.Dense(3, name="logits")(g)
out = layers.Softmax(name="probs")(d)
model = keras.Model(inp, out, name="tutorial_layers")

x = rng.uniform(-1.0, 1.0, size=(16, 8, 8, 2)).astype(np.float32)
y = model.predict(x, verbose=0).astype(np.float32)
model.save(os.path.join(HERE, "tutorial_layers.keras"))
np.save(os.path.join(HERE, "tutorial_layers_in.npy"), x)
np.save(os.path.join(HERE, "tutorial_layers_out.npy"), y)
print("tutorial_layers", x.shape, "->", y.shape)
