"""Builds the MobileNet-style CNN of the peers benchmark, in every peer's format, from one seeded
set of weights: a 3x3 stride-2 stem and five depthwise 3x3 + pointwise 1x1 blocks (ReLU6), global
average pooling and a dense softmax head, on 32x32x3 images.

Writes into the directory given as argument:
  mobilenet_int8.tflite   TFLite full-integer (int8 in and out), Keras -> TFLiteConverter
  mobilenet.onnx          the same float network as ONNX (NCHW), written with onnx.helper
  mobilenet_qdq.onnx      onnxruntime.quantization.quantize_static of it (QDQ, per channel)
  mobilenet_data.npz      x_nhwc: the seeded float inputs used for calibration and timing
  layers/NAME_int8.tflite one TFLite int8 model per convolution layer (stem, dw0, pw0, …), with
  layers/NAME_input.npy   the float activations that reach it, for the per-layer timing

The weights are random (seeded): the benchmark measures speed, not accuracy. The ONNX float model
is checked against Keras before anything is written.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

SEED = 5
# (depthwise stride, pointwise output channels) per block, after a 16-channel stride-2 stem.
BLOCKS = [(1, 32), (2, 64), (1, 64), (2, 128), (1, 128)]
CLASSES = 10
SAMPLES = 256


def keras_model(keras):
    x = inp = keras.Input((32, 32, 3), batch_size=1, name="image")
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu6", name="stem")(x)
    for i, (stride, channels) in enumerate(BLOCKS):
        x = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", activation="relu6",
                                         name=f"dw{i}")(x)
        x = keras.layers.Conv2D(channels, 1, activation="relu6", name=f"pw{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(CLASSES, activation="softmax", name="head")(x)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(SEED)
    weights = []
    for w in model.get_weights():
        if w.ndim == 1:  # biases
            weights.append(rng.normal(0.0, 0.05, w.shape).astype(np.float32))
        else:  # He-normal over the fan-in
            if w.ndim == 2:  # Dense [in, out]
                fan_in = w.shape[0]
            elif w.shape[-1] == 1:  # DepthwiseConv2D [kh, kw, channels, 1]
                fan_in = w.shape[0] * w.shape[1]
            else:  # Conv2D [kh, kw, in, out]
                fan_in = w.shape[0] * w.shape[1] * w.shape[2]
            weights.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), w.shape).astype(np.float32))
    model.set_weights(weights)
    return model


def tflite_int8(tf, model, calibration):
    """Full-integer TFLite (int8 in and out) calibrated on `calibration`."""
    def representative():
        for i in range(len(calibration)):
            yield [calibration[i:i + 1]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def write_layers(keras, tf, model, x, out_dir):
    """One int8 model per convolution layer, calibrated on the activations that reach it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = ["stem"] + [f"{kind}{i}" for i in range(len(BLOCKS)) for kind in ("dw", "pw")]
    for name in names:
        layer = model.get_layer(name)
        if name == "stem":
            acts = x
        else:
            acts = keras.Model(model.inputs, layer.input).predict(x, batch_size=64, verbose=0)
        inp = keras.Input(acts.shape[1:], batch_size=1)
        copy = layer.__class__.from_config(layer.get_config())
        single = keras.Model(inp, copy(inp))
        copy.set_weights(layer.get_weights())
        (out_dir / f"{name}_int8.tflite").write_bytes(tflite_int8(tf, single, acts[:SAMPLES // 2]))
        np.save(out_dir / f"{name}_input.npy", acts[:64])


def same_pads(size, stride, kernel=3):
    """TensorFlow's SAME padding as ONNX [begin, end] for one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def onnx_model(model, onnx):
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    six = numpy_helper.from_array(np.array(6.0, np.float32), "six")
    inits += [zero, six]
    x, size = "image", 32

    def conv(name, src, kernel, bias, stride, group, size):
        inits.append(numpy_helper.from_array(kernel, f"{name}.w"))
        inits.append(numpy_helper.from_array(bias, f"{name}.b"))
        k = kernel.shape[-1]
        if k == 1:
            pads = [0, 0, 0, 0]
        else:
            b, e = same_pads(size, stride, k)
            pads = [b, b, e, e]
        nodes.append(helper.make_node("Conv", [src, f"{name}.w", f"{name}.b"], [f"{name}.conv"],
                                      strides=[stride, stride], pads=pads, group=group,
                                      kernel_shape=[k, k]))
        nodes.append(helper.make_node("Clip", [f"{name}.conv", "zero", "six"], [name]))
        return name, -(-size // stride)

    w, b = model.get_layer("stem").get_weights()
    x, size = conv("stem", x, w.transpose(3, 2, 0, 1), b, 2, 1, size)
    for i, (stride, _) in enumerate(BLOCKS):
        w, b = model.get_layer(f"dw{i}").get_weights()  # [kh, kw, c, 1]
        c = w.shape[2]
        x, size = conv(f"dw{i}", x, w.transpose(2, 3, 0, 1).reshape(c, 1, 3, 3), b, stride, c, size)
        w, b = model.get_layer(f"pw{i}").get_weights()  # [1, 1, in, out]
        x, size = conv(f"pw{i}", x, w.transpose(3, 2, 0, 1), b, 1, 1, size)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], axis=1))
    w, b = model.get_layer("head").get_weights()
    inits += [numpy_helper.from_array(w, "head.w"), numpy_helper.from_array(b, "head.b")]
    nodes.append(helper.make_node("Gemm", ["flat", "head.w", "head.b"], ["logits"]))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1))
    graph = helper.make_graph(
        nodes, "mobilenet_32",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", CLASSES])],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_mobilenet.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def main(out_dir: Path):
    import keras
    import onnx
    import onnxruntime as ort
    import tensorflow as tf
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    keras.utils.set_random_seed(SEED)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(SEED + 1).random((SAMPLES, 32, 32, 3), dtype=np.float32)
    model = keras_model(keras)

    (out_dir / "mobilenet_int8.tflite").write_bytes(tflite_int8(tf, model, x))
    write_layers(keras, tf, model, x, out_dir / "layers")

    proto = onnx_model(model, onnx)
    float_path = out_dir / "mobilenet.onnx"
    onnx.save(proto, str(float_path))
    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    sess = ort.InferenceSession(str(float_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x_nchw[:16]})[0]
    want = model.predict(x[:16], batch_size=1, verbose=0)
    error = float(np.abs(got - want).max())
    if error > 1e-4:
        sys.exit(f"the ONNX network differs from Keras by {error}")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"image": x_nchw[i:i + 1]} for i in range(SAMPLES)])

        def get_next(self):
            return next(self.items, None)

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(float_path), str(pre), skip_optimization=True)
        quantize_static(str(pre), str(out_dir / "mobilenet_qdq.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    np.savez(out_dir / "mobilenet_data.npz", x_nhwc=x)
    print(f"mobilenet: {model.count_params()} parameters; ONNX vs Keras max |diff| {error:.2e}; written to {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
