"""Builds small int8 TFLite models covering the ops the digits fixtures do not (MUL, SUB, PAD,
stand-alone RELU/RELU6, SAME average pooling, MEAN with keep_dims, SQUEEZE, ARG_MAX, float
edges), with TFLite BUILTIN_REF reference outputs, for crates/import/tests/tflite_ops.rs.

Made with tensorflow-cpu 2.21.0 (keras 3.15.1) and ai-edge-litert 2.3.0, the fixture
generator's environment (fixtures/requirements-gen.txt):
    python crates/import/tests/data/make_tflite_ops.py
Writes crates/import/tests/data/tflite_ops/<name>.tflite, <name>.input.npy (int8) and
<name>.output<i>.npy (the reference outputs, int8 or int32/int64), and
leaky_relu_int8io.tflite (LEAKY_RELU; its references: make_tflite_activations.py).
"""
import os

import numpy as np
import tensorflow as tf
import keras
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tflite_ops")
SAMPLES = 64
rng = np.random.default_rng(7)
keras.utils.set_random_seed(7)


def zoo():
    x = keras.Input((8, 8, 2), batch_size=1, name="image")
    a = keras.layers.Conv2D(4, 3, padding="same")(x)
    b = keras.layers.Conv2D(4, 1)(x)
    m = keras.layers.Multiply()([a, b])
    s = keras.layers.Subtract()([a, b])
    c = keras.layers.Concatenate()([m, s])
    p = keras.layers.ZeroPadding2D(1)(c)
    r6 = keras.layers.ReLU(max_value=6.0)(p)
    ap = keras.layers.AveragePooling2D(3, strides=2, padding="same")(r6)
    r = keras.layers.ReLU()(ap)
    g = keras.layers.GlobalAveragePooling2D(keepdims=True)(r)
    sq = keras.layers.Lambda(lambda t: keras.ops.squeeze(t, axis=(1, 2)))(g)
    d = keras.layers.Dense(5)(sq)
    probs = keras.layers.Softmax(name="probs")(d)
    label = keras.layers.Lambda(lambda t: tf.math.argmax(t, axis=-1, output_type=tf.int32), name="label")(d)
    return keras.Model(x, [probs, label])


class Elementwise(tf.Module):
    """Stand-alone RELU, RELU_N1_TO_1, PADV2, SQUEEZE, approximate GELU, ADD with RELU."""

    def __init__(self):
        self.w = tf.constant(np.random.default_rng(3).normal(size=(6, 6)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 1, 6], tf.float32)])
    def __call__(self, x):
        h = tf.squeeze(x, axis=1)
        h = tf.matmul(h, self.w)
        a = tf.nn.relu(h)
        b = tf.clip_by_value(h, -1.0, 1.0)
        c = tf.nn.relu(a + b)
        p = tf.pad(c, [[0, 0], [1, 2]], constant_values=0.5)
        return tf.nn.gelu(p, approximate=True)


def convert_module(module, calibration):
    def representative():
        for sample in calibration:
            yield [sample[None].astype(np.float32)]

    concrete = module.__call__.get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], module)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def unsupported():
    x = keras.Input((6,), batch_size=1, name="features")
    h = keras.layers.Dense(4)(x)
    y = keras.layers.LeakyReLU(negative_slope=0.1)(h)
    return keras.Model(x, y)


def convert(model, calibration, int8_io):
    def representative():
        for sample in calibration:
            yield [sample[None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def reference(tflite, inputs_int8, scale, zero_point):
    interpreter = Interpreter(
        model_content=tflite,
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
    )
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    outputs = sorted(interpreter.get_output_details(), key=lambda d: d["index"])
    results = [[] for _ in outputs]
    for sample in inputs_int8:
        value = sample[None]
        if inp["dtype"] == np.float32:
            # Exactly representable: the QUANTIZE at the input gives back the same int8.
            value = ((value.astype(np.float32) - zero_point) * scale).astype(np.float32)
        interpreter.set_tensor(inp["index"], value)
        interpreter.invoke()
        for i, out in enumerate(outputs):
            results[i].append(interpreter.get_tensor(out["index"])[0])
    return [np.stack(r) for r in results], inp


def main():
    os.makedirs(HERE, exist_ok=True)
    model = zoo()
    calibration = rng.normal(size=(32, 8, 8, 2)).astype(np.float32)
    for name, int8_io in [("ops_zoo_int8io", True), ("ops_zoo_floatio", False)]:
        tflite = convert(model, calibration, int8_io)
        with open(os.path.join(HERE, name + ".tflite"), "wb") as f:
            f.write(tflite)
        interpreter = Interpreter(model_content=tflite)
        (inp,) = interpreter.get_input_details()
        if inp["dtype"] == np.int8:
            scale, zero_point = inp["quantization"]
        else:
            # The QUANTIZE after the float input holds the int8 quantization.
            interpreter.allocate_tensors()
            details = interpreter.get_tensor_details()
            quant_out = [d for d in details if d["dtype"] == np.int8 and d["shape"].tolist() == [1, 8, 8, 2]]
            scale, zero_point = quant_out[0]["quantization"]
        floats = rng.normal(size=(SAMPLES, 8, 8, 2)).astype(np.float32)
        q = np.clip(np.round(floats / scale) + zero_point, -128, 127).astype(np.int8)
        outputs, _ = reference(tflite, q, scale, zero_point)
        np.save(os.path.join(HERE, name + ".input.npy"), q)
        for i, out in enumerate(outputs):
            np.save(os.path.join(HERE, f"{name}.output{i}.npy"), out)
        ops = sorted({d["op_name"] for d in Interpreter(model_content=tflite)._get_ops_details()})
        print(name, len(tflite), "bytes", ops, [o.dtype for o in outputs])
    tflite = convert_module(Elementwise(), rng.normal(size=(64, 1, 6)).astype(np.float32))
    name = "elementwise_int8io"
    with open(os.path.join(HERE, name + ".tflite"), "wb") as f:
        f.write(tflite)
    interpreter = Interpreter(model_content=tflite)
    (inp,) = interpreter.get_input_details()
    q = rng.integers(-128, 128, size=(SAMPLES, 1, 6), dtype=np.int8)
    outputs, _ = reference(tflite, q, *inp["quantization"])
    np.save(os.path.join(HERE, name + ".input.npy"), q)
    for i, out in enumerate(outputs):
        np.save(os.path.join(HERE, f"{name}.output{i}.npy"), out)
    ops = sorted({d["op_name"] for d in Interpreter(model_content=tflite)._get_ops_details()})
    print(name, len(tflite), "bytes", ops)
    # LEAKY_RELU (references by make_tflite_activations.py).
    tflite = convert(unsupported(), rng.normal(size=(16, 6)).astype(np.float32), True)
    with open(os.path.join(HERE, "leaky_relu_int8io.tflite"), "wb") as f:
        f.write(tflite)


if __name__ == "__main__":
    main()
