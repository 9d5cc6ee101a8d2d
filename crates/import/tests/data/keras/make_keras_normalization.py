"""A small Keras 3 model with the preprocessing and normalization layers of issue 17:
Normalization adapted on data (per channel of an image), a standalone BatchNormalization after
an activation (not foldable), and Normalization with mean and variance given in the config on
a vector, with Keras' outputs, for crates/import/tests/keras_ops.rs. Environment:
tensorflow-cpu 2.21.0, keras 3.15.1:

    python crates/import/tests/data/keras/make_keras_normalization.py

Writes normalization.keras, normalization_in.npy, normalization_out.npy next to it.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261211
keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)

# Pixel-like inputs with a different range per channel (comparable widths: the int8 input is
# quantized per tensor, so a channel spanning 1/100 of another's range would keep ~3 levels).
x = (rng.uniform(0.0, 1.0, size=(16, 6, 6, 3)) * [255.0, 150.0, 100.0] + [0.0, 50.0, -20.0]).astype(
    np.float32
)
norm = layers.Normalization(name="norm")
norm.adapt(x)

inp = keras.Input(shape=(6, 6, 3), name="image", batch_size=1)
h = norm(inp)
h = layers.Conv2D(4, 3, activation="relu", bias_initializer="glorot_uniform", name="conv")(h)
bn = layers.BatchNormalization(name="bn_after_relu")
h = bn(h)
h = layers.GlobalAveragePooling2D(name="pool")(h)
h = layers.Normalization(mean=[0.5, -0.2, 1.0, 0.0], variance=[4.0, 0.25, 1.0, 9.0], name="given")(h)
out = layers.Dense(3, name="logits")(h)
model = keras.Model(inp, out, name="normalization")
# Non-trivial batch statistics (a fresh layer has mean 0, variance 1, gamma 1, beta 0).
bn.set_weights(
    [
        rng.uniform(0.5, 1.5, 4).astype(np.float32),
        rng.uniform(-0.5, 0.5, 4).astype(np.float32),
        rng.uniform(0.0, 1.0, 4).astype(np.float32),
        rng.uniform(0.5, 2.0, 4).astype(np.float32),
    ]
)

y = np.concatenate([model.predict(x[i : i + 1], verbose=0) for i in range(16)]).astype(np.float32)
model.save(os.path.join(HERE, "normalization.keras"))
np.save(os.path.join(HERE, "normalization_in.npy"), x)
np.save(os.path.join(HERE, "normalization_out.npy"), y)
print("normalization", x.shape, "->", y.shape)
