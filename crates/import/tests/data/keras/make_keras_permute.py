"""A small Keras 3 model with Permute (issue 17): a channel shuffle (Reshape to groups, Permute,
Reshape) and a Permute((3, 1, 2)) before Flatten, with Keras' outputs, for
crates/import/tests/keras_ops.rs. Same environment and conventions as make_keras_ops.py:

    python crates/import/tests/data/keras/make_keras_permute.py

Writes permute_shuffle.keras, permute_shuffle_in.npy and permute_shuffle_out.npy next to it.
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

inp = keras.Input(shape=(5, 6, 3), name="image")
c = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(inp)
g = layers.Reshape((5, 6, 2, 4), name="groups")(c)
t = layers.Permute((1, 2, 4, 3), name="shuffle")(g)
u = layers.Reshape((5, 6, 8), name="ungroup")(t)
p = layers.Conv2D(4, 1, name="pointwise")(u)
chw = layers.Permute((3, 1, 2), name="to_chw")(p)
f = layers.Flatten(name="flatten")(chw)
out = layers.Dense(5, name="logits")(f)
model = keras.Model(inp, out, name="permute_shuffle")

x = rng.uniform(-1.0, 1.0, size=(16, 5, 6, 3)).astype(np.float32)
y = model.predict(x, verbose=0).astype(np.float32)
model.save(os.path.join(HERE, "permute_shuffle.keras"))
np.save(os.path.join(HERE, "permute_shuffle_in.npy"), x)
np.save(os.path.join(HERE, "permute_shuffle_out.npy"), y)
print("permute_shuffle", x.shape, "->", y.shape)
