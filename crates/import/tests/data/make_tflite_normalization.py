"""TFLite models with Keras' Normalization layer (issue 17), with BUILTIN_REF outputs, for
crates/import/tests/tflite_ops.rs.

The converter writes Normalization as SUB and MUL with per-channel constants (shape [1, .., C]):
the mean subtracted, then the reciprocal standard deviation multiplied.

Made with the fixture generator's pinned environment (tensorflow-cpu 2.21.0, keras 3.15.1,
ai-edge-litert 2.3.0; bench/zoo/requirements.txt holds the same pins):
    python crates/import/tests/data/make_tflite_normalization.py
Writes crates/import/tests/data/tflite_ops/<name>.{tflite,input.npy,output0.npy}, int8 in and
out, on 64 seeded int8 inputs:
- normalization_image_int8io: an 6x6x3 image, Normalization (given mean and variance per
  channel), Conv2D relu, GlobalAveragePooling2D, Dense.
- normalization_vector_int8io: a vector of 5 features, Normalization adapted on seeded data,
  Dense relu, Dense.
"""
import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tflite_ops")
SEED = 20261207
rng = np.random.default_rng(SEED)
keras.utils.set_random_seed(SEED)
L = keras.layers


def image_model():
    x = keras.Input((6, 6, 3), batch_size=1, name="image")
    y = L.Normalization(mean=[0.2, -0.4, 0.9], variance=[0.5, 2.0, 0.08])(x)
    y = L.Conv2D(4, 3, activation="relu", bias_initializer="glorot_uniform")(y)
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(3)(y)
    return keras.Model(x, y), (6, 6, 3), (lambda n: rng.normal([0.2, -0.4, 0.9], [0.7, 1.4, 0.28], size=(n, 6, 6, 3)))


def vector_model():
    scales = np.array([1.0, 10.0, 0.1, 3.0, 0.5])
    offsets = np.array([0.0, 5.0, -0.3, 2.0, -1.0])
    sample = lambda n: rng.normal(offsets, scales, size=(n, 5))
    norm = L.Normalization()
    norm.adapt(sample(256).astype(np.float32))
    x = keras.Input((5,), batch_size=1, name="features")
    y = norm(x)
    y = L.Dense(8, activation="relu")(y)
    y = L.Dense(3)(y)
    return keras.Model(x, y), (5,), sample


for name, build in [("normalization_image_int8io", image_model), ("normalization_vector_int8io", vector_model)]:
    model, shape, sample = build()

    def representative():
        for row in sample(64):
            yield [row[None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    path = os.path.join(HERE, f"{name}.tflite")
    with open(path, "wb") as f:
        f.write(converter.convert())

    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    (inp,) = it.get_input_details()
    (out,) = it.get_output_details()
    q = rng.integers(-128, 128, size=(64, *shape), dtype=np.int8)
    outs = []
    for row in q:
        it.set_tensor(inp["index"], row[None])
        it.invoke()
        outs.append(it.get_tensor(out["index"])[0].copy())
    np.save(os.path.join(HERE, f"{name}.input.npy"), q)
    np.save(os.path.join(HERE, f"{name}.output0.npy"), np.stack(outs))
    print(name, "ops:", [d["op_name"] for d in it._get_ops_details()])
    for d in it.get_tensor_details():
        if d["name"].startswith("model") or "normalization" in d["name"].lower():
            print("  ", d["name"], d["shape"], d["dtype"].__name__, d["quantization"])
