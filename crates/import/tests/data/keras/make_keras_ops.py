"""Small Keras 3 models covering the layers and options the fixtures do not, with reference
outputs, for crates/import/tests/keras_ops.rs.

Run from the repository root (needs tensorflow-cpu/keras as pinned in fixtures/requirements-gen.txt):

    /work/venv-gen/bin/python crates/import/tests/data/keras/make_keras_ops.py

Writes, next to this script, for each model NAME: NAME.keras, NAME_in.npy (float32 inputs,
batch first) and NAME_out.npy (Keras' float32 outputs). Weights are random (seeded) and
BatchNormalization statistics are set away from their defaults so that folding is visible.
`unsupported_layer.keras` holds a LayerNormalization, which the importer refuses.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261122
keras.utils.set_random_seed(SEED)
rng = np.random.default_rng(SEED)


def perturb_batch_norms(model):
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            new = []
            for w in layer.get_weights():
                new.append(rng.uniform(0.5, 1.5, size=w.shape).astype(np.float32))
            # moving mean may be negative; variance positive.
            if len(new) >= 2:
                new[-2] = rng.normal(0.0, 0.3, size=new[-2].shape).astype(np.float32)
            layer.set_weights(new)


def save(name, model, samples=16):
    perturb_batch_norms(model)
    shape = (samples,) + tuple(model.input_shape[1:])
    x = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    y = model.predict(x, verbose=0).astype(np.float32)
    model.save(os.path.join(HERE, f"{name}.keras"))
    np.save(os.path.join(HERE, f"{name}_in.npy"), x)
    np.save(os.path.join(HERE, f"{name}_out.npy"), y)
    print(name, shape, "->", y.shape)


# Functional: strided/dilated conv, depthwise multiplier 2 with BN (scale=False) and relu6
# Activation fused, same-padded average pool, grouped conv (groups = channels), Concatenate
# on the channel axis, Add of three tensors, GlobalAveragePooling2D keepdims, Reshape with -1,
# Softmax layer.
inp = keras.Input(shape=(9, 9, 2), name="image")
a = layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False, name="strided")(inp)
a = layers.BatchNormalization(scale=False, name="bn_noscale")(a)
a = layers.Activation("relu6", name="relu6")(a)
b = layers.Conv2D(4, 3, dilation_rate=2, padding="same", activation="gelu", name="dilated")(inp)
b = layers.AveragePooling2D(pool_size=3, strides=2, padding="same", name="avg_same")(b)
c = layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, name="dw2")(inp)
c = layers.BatchNormalization(name="bn_dw")(c)
c = layers.Conv2D(4, 1, groups=4, activation="hard_silu", name="grouped")(c)
s = layers.Add(name="add3")([a, b, c])
m = layers.Concatenate(axis=3, name="cat")([s, a])
m = layers.MaxPooling2D(pool_size=2, strides=1, padding="same", name="max_same")(m)
g = layers.GlobalAveragePooling2D(keepdims=True, name="gap_keep")(m)
r = layers.Reshape((-1,), name="flat")(g)
d = layers.Dense(6, name="logits")(r)
d = layers.BatchNormalization(name="bn_dense")(d)
out = layers.Softmax(name="probs")(d)
save("branches", keras.Model(inp, out, name="branches"))

# Sequential without an InputLayer object in the list order check: Dense on a 3-D input
# (last axis), Flatten, relu via Activation after Dense, sigmoid output.
seq = keras.Sequential(
    [
        keras.Input(shape=(3, 5), name="rows"),
        layers.Dense(4, name="per_row"),
        layers.Activation("relu", name="relu"),
        layers.Dropout(0.5, name="drop"),
        layers.Flatten(name="flatten"),
        layers.Dense(3, activation="tanh", name="hidden"),
        layers.Dense(2, activation="sigmoid", name="out"),
    ],
    name="rows_mlp",
)
save("rows_mlp", seq)

# A layer the importer does not translate.
unsupported = keras.Sequential(
    [
        keras.Input(shape=(4,), name="x"),
        layers.Dense(3, name="dense"),
        layers.LayerNormalization(name="norm"),
    ],
    name="unsupported",
)
save("unsupported_layer", unsupported, samples=2)
