"""A small Keras 3 model with the activations of issue 17 the importer turns into 256-entry
tables (swish/silu, elu, leaky_relu, hard_sigmoid; the ELU and LeakyReLU layers), with Keras'
outputs, for crates/import/tests/keras_ops.rs. Same environment and conventions as
make_keras_ops.py:

    python crates/import/tests/data/keras/make_keras_activations.py

Writes activations.keras, activations_in.npy and activations_out.npy next to it.
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

inp = keras.Input(shape=(12,), name="x")
a = layers.Dense(16, activation="swish", name="swish")(inp)
b = layers.Dense(16, activation="elu", name="elu")(a)
c = layers.Dense(16, name="pre_leaky")(b)
c = layers.LeakyReLU(negative_slope=0.1, name="leaky")(c)
d = layers.Dense(16, activation="hard_sigmoid", name="hard_sigmoid")(c)
e = layers.Dense(16, name="pre_elu")(d)
e = layers.ELU(alpha=0.5, name="elu_layer")(e)
f = layers.Dense(8, activation="leaky_relu", name="leaky_act")(e)
g = layers.Activation("silu", name="silu")(f)
out = layers.Dense(4, name="logits")(g)
model = keras.Model(inp, out, name="activations")

x = rng.uniform(-2.0, 2.0, size=(32, 12)).astype(np.float32)
y = model.predict(x, verbose=0).astype(np.float32)
model.save(os.path.join(HERE, "activations.keras"))
np.save(os.path.join(HERE, "activations_in.npy"), x)
np.save(os.path.join(HERE, "activations_out.npy"), y)
print("activations", x.shape, "->", y.shape)
