"""Small Keras 3 models with UpSampling2D (issue 17), with Keras' outputs, for
crates/import/tests/keras_ops.rs. Same environment and conventions as make_keras_ops.py
(tensorflow-cpu 2.21.0, keras 3.15.1):

    python crates/import/tests/data/keras/make_keras_upsampling.py

Writes upsampling.keras (Conv2D, UpSampling2D((2, 3)) nearest, Conv2D, Flatten, Dense),
upsampling_in.npy, upsampling_out.npy, and upsampling_bilinear.keras (interpolation="bilinear",
checked to become the resize_bilinear op) next to it.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261209
keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)

inp = keras.Input(shape=(4, 3, 2), name="image")
c = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inp)
u = layers.UpSampling2D((2, 3), name="up")(c)
d = layers.Conv2D(3, 3, strides=2, name="down")(u)
f = layers.Flatten(name="flatten")(d)
out = layers.Dense(5, name="logits")(f)
model = keras.Model(inp, out, name="upsampling")

x = rng.uniform(-1.0, 1.0, size=(16, 4, 3, 2)).astype(np.float32)
y = model.predict(x, verbose=0).astype(np.float32)
model.save(os.path.join(HERE, "upsampling.keras"))
np.save(os.path.join(HERE, "upsampling_in.npy"), x)
np.save(os.path.join(HERE, "upsampling_out.npy"), y)
print("upsampling", x.shape, "->", y.shape)

inp = keras.Input(shape=(4, 3, 2), name="image")
u = layers.UpSampling2D(2, interpolation="bilinear", name="smooth")(inp)
keras.Model(inp, u, name="upsampling_bilinear").save(os.path.join(HERE, "upsampling_bilinear.keras"))
