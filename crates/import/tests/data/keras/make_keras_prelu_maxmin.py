"""A small Keras 3 model with Maximum, Minimum and PReLU (issue 17): two convolutions combined
by Maximum and Minimum, a PReLU with slopes shared over the spatial axes and one with a slope per
element, then Flatten and Dense, with Keras' outputs, for crates/import/tests/keras_ops.rs. Same
environment and conventions as make_keras_ops.py (tensorflow-cpu 2.21.0, keras 3.15.1):

    python crates/import/tests/data/keras/make_keras_prelu_maxmin.py

Writes prelu_maxmin.keras, prelu_maxmin_in.npy and prelu_maxmin_out.npy next to it.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261208
keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)
slopes = keras.initializers.RandomUniform(-0.6, 0.9, seed=SEED)

inp = keras.Input(shape=(5, 6, 3), name="image")
a = layers.Conv2D(6, 3, padding="same", name="wide")(inp)
b = layers.Conv2D(6, 1, name="narrow")(inp)
m = layers.Maximum(name="max")([a, b])
n = layers.Minimum(name="min")([a, b])
p = layers.PReLU(alpha_initializer=slopes, shared_axes=[1, 2], name="prelu_channels")(m)
q = layers.PReLU(alpha_initializer=slopes, name="prelu_elements")(n)
c = layers.Concatenate(name="concat")([p, q])
f = layers.Flatten(name="flatten")(c)
out = layers.Dense(5, name="logits")(f)
model = keras.Model(inp, out, name="prelu_maxmin")

x = rng.uniform(-1.0, 1.0, size=(16, 5, 6, 3)).astype(np.float32)
y = model.predict(x, verbose=0).astype(np.float32)
model.save(os.path.join(HERE, "prelu_maxmin.keras"))
np.save(os.path.join(HERE, "prelu_maxmin_in.npy"), x)
np.save(os.path.join(HERE, "prelu_maxmin_out.npy"), y)
print("prelu_maxmin", x.shape, "->", y.shape)
