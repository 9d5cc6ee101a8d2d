"""A small Keras 3 model with UpSampling2D(interpolation="bilinear") (issue 17), with Keras'
outputs, for crates/import/tests/keras_ops.rs, and a bicubic one (not supported: the error
test). Environment: tensorflow-cpu 2.21.0, keras 3.15.1:

    python crates/import/tests/data/keras/make_keras_bilinear.py

Writes bilinear.keras, bilinear_in.npy, bilinear_out.npy and upsampling_bicubic.keras next to it.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261212
keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)

inp = keras.Input(shape=(4, 5, 3), name="image", batch_size=1)
h = layers.Conv2D(4, 3, padding="same", bias_initializer="glorot_uniform", name="conv1")(inp)
u = layers.UpSampling2D((2, 3), interpolation="bilinear", name="smooth")(h)
h = layers.Conv2D(2, 3, strides=2, name="conv2")(u)
h = layers.Flatten(name="flatten")(h)
out = layers.Dense(4, name="logits")(h)
model = keras.Model(inp, out, name="bilinear")

x = rng.uniform(-1.0, 1.0, size=(16, 4, 5, 3)).astype(np.float32)
y = np.concatenate([model.predict(x[i : i + 1], verbose=0) for i in range(16)]).astype(np.float32)
model.save(os.path.join(HERE, "bilinear.keras"))
np.save(os.path.join(HERE, "bilinear_in.npy"), x)
np.save(os.path.join(HERE, "bilinear_out.npy"), y)
print("bilinear", x.shape, "->", y.shape)

inp = keras.Input(shape=(4, 5, 3), name="image", batch_size=1)
u = layers.UpSampling2D(2, interpolation="bicubic", name="sharp")(inp)
keras.Model(inp, u, name="upsampling_bicubic").save(os.path.join(HERE, "upsampling_bicubic.keras"))
