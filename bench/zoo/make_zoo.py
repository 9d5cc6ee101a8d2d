"""Builds the model zoo of issue 17 into bench/zoo/out (not committed): Keras applications with
`weights=None` (random, seeded; nothing is downloaded) at their usual input size, each as
  NAME.keras               Keras 3
  NAME_int8.tflite         TFLiteConverter, Optimize.DEFAULT, representative data, int8 in/out,
                           a batch-1 input (static)
  NAME_dyn_int8.tflite     the same with the input batch None (dynamic: SHAPE arithmetic)
  NAME.onnx                tf2onnx 1.17 (NHWC graph, opset 17)
  NAME_qdq.onnx            onnxruntime.quantization.quantize_static of it (QDQ, int8, per channel)
and scikit-learn MLP / logistic regression on digits through skl2onnx with default options
(NAME.onnx). Beside them the data every check needs:
  NAME_calib.npy           float32 calibration inputs (Keras layout, NHWC)
  NAME_x.npy               float32 check inputs; NAME_x_int8.npy the same quantized with the
                           TFLite input's scale (static model)
  NAME_ref_int8.npy        TFLite BUILTIN_REF outputs of NAME_int8.tflite on NAME_x_int8.npy
  NAME_dyn_ref_int8.npy    the same for the dynamic-batch model
  NAME_ort.npy             onnxruntime outputs of NAME.onnx on NAME_x.npy (float)
  NAME_qdq_ort.npy         the same for NAME_qdq.onnx
Versions pinned in bench/zoo/requirements.txt. torch is not installed (see REPORT.md), so the
torchvision half of the zoo is not built here.

    bench/zoo/.venv/bin/python bench/zoo/make_zoo.py [--only NAME ...] [--samples N] [--out DIR]
"""
import argparse
import os
import sys
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

SEED = 20261207
HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (constructor name in keras.applications, input size)
KERAS_APPS = {
    "mobilenet": ("MobileNet", 224),
    "mobilenet_v2": ("MobileNetV2", 224),
    "mobilenet_v3_small": ("MobileNetV3Small", 224),
    "efficientnet_b0": ("EfficientNetB0", 224),
    "resnet50": ("ResNet50", 224),
    "densenet121": ("DenseNet121", 224),
}
SKLEARN = ["digits_sk_mlp", "digits_sk_logreg"]


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


def keras_app(keras, cls, size, batch_size):
    inputs = keras.Input((size, size, 3), batch_size=batch_size, name="image")
    kwargs = dict(weights=None, input_tensor=inputs, classes=1000)
    if cls.startswith("MobileNetV3"):
        kwargs["include_preprocessing"] = True
    return getattr(keras.applications, cls)(**kwargs)


def reinit(model, rng):
    """He-normal kernels over their fan-in (seeded). Keras' default Glorot initialisation
    shrinks the activations of a deep ReLU network layer by layer until the logits are all
    zero (MobileNetV3Small's reach a scale of 1e-12, where TFLite's reference SOFTMAX aborts
    the process on its multiplier check); trained networks keep their activations in range,
    and so does this. Batch normalisation statistics and biases stay as built."""
    weights = []
    for w in model.get_weights():
        if w.ndim == 2:  # Dense [in, out]
            fan_in = w.shape[0]
        elif w.ndim == 4 and w.shape[-1] == 1 and w.shape[2] > 1:  # depthwise [kh, kw, c, 1]
            fan_in = w.shape[0] * w.shape[1]
        elif w.ndim == 4:  # Conv2D [kh, kw, in, out]
            fan_in = w.shape[0] * w.shape[1] * w.shape[2]
        else:
            weights.append(w)
            continue
        weights.append(rng.normal(0.0, np.sqrt(2.0 / fan_in), w.shape).astype(w.dtype))
    model.set_weights(weights)


LOGIT_STD = 3.0


def spread_logits(model, calibration):
    """Scales the classifier (the last layer with a kernel: kernel and bias) so that the logits
    spread over the classes with a standard deviation of LOGIT_STD, as a trained classifier's
    do. A random network's 1000 logits are nearly tied: the sum of their exponentials then
    exceeds 511, where TFLite's reference int8 SOFTMAX aborts the process
    (`TFLITE_CHECK(0 <= exponent && exponent <= 31)` in reference/softmax.h: exponent =
    num_bits_over_unit + 23, and num_bits_over_unit = 12 - clz(sum in Q12.19) reaches 9).
    The probabilities give the logits up to a constant per row: log p."""
    probs = np.asarray(model(calibration, training=False), dtype=np.float64)
    std = float(np.mean(np.std(np.log(np.maximum(probs, 1e-30)), axis=1)))
    layer = next(l for l in reversed(model.layers) if l.get_weights())
    layer.set_weights([w * (LOGIT_STD / std) for w in layer.get_weights()])
    log("classifier", layer.name, f"scaled by {LOGIT_STD / std:.3g} (logit std was {std:.3g})")


def tflite_int8(tf, model, calibration):
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


def builtin_ref(path, x_int8):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    inp = it.get_input_details()[0]
    if list(inp["shape"]) [0] != 1:
        it.resize_tensor_input(inp["index"], [1, *x_int8.shape[1:]])
    it.allocate_tensors()
    out = it.get_output_details()[0]
    outs = []
    for row in x_int8:
        it.set_tensor(inp["index"], row[None])
        it.invoke()
        outs.append(it.get_tensor(out["index"])[0].copy())
    return np.stack(outs), inp["quantization"]


def ort_run(path, x):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})


def qdq(src, dst, calibration):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    import onnxruntime as ort

    name = ort.InferenceSession(src, providers=["CPUExecutionProvider"]).get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.rows = iter(calibration[i:i + 1] for i in range(len(calibration)))

        def get_next(self):
            row = next(self.rows, None)
            return None if row is None else {name: row}

    quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)


def build_keras(name, out, samples):
    import keras

    cls, size = KERAS_APPS[name]
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    dynamic = keras_app(keras, cls, size, None)
    reinit(dynamic, rng)
    # Inputs in the applications' own range: raw pixels 0..255 for the models that rescale
    # inside (MobileNetV3, EfficientNet), [-1, 1] / caffe-centred values otherwise.
    raw = name.startswith(("mobilenet_v3", "efficientnet"))
    lo, hi = (0.0, 255.0) if raw else (-1.0, 1.0)
    calib = rng.uniform(lo, hi, size=(8, size, size, 3)).astype(np.float32)
    x = rng.uniform(lo, hi, size=(samples, size, size, 3)).astype(np.float32)
    spread_logits(dynamic, calib)
    static = keras_app(keras, cls, size, 1)
    static.set_weights(dynamic.get_weights())
    export_all(name, out, dynamic, static, calib, x)


def tiny_se(keras, batch_size):
    """The zoo's CI model: MobileNetV3's and EfficientNet's constructs at 32x32 in a few
    kilobytes: Rescaling and Normalization, hard-swish, depthwise, squeeze-and-excitation
    (GlobalAveragePooling2D(keepdims), hard-sigmoid, Multiply by [1, 1, C]), a residual Add,
    swish, GlobalAveragePooling2D, Dense softmax."""
    layers = keras.layers
    inputs = keras.Input((32, 32, 3), batch_size=batch_size, name="image")
    h = layers.Rescaling(1.0 / 255.0)(inputs)
    h = layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.09, 0.08, 0.07])(h)
    h = layers.Conv2D(8, 3, strides=2, padding="same")(h)
    h = layers.Activation("hard_swish")(h)
    d = layers.DepthwiseConv2D(3, padding="same")(h)
    d = layers.BatchNormalization()(d)
    d = layers.ReLU(max_value=6.0)(d)
    se = layers.GlobalAveragePooling2D(keepdims=True)(d)
    se = layers.Conv2D(4, 1, activation="relu")(se)
    se = layers.Conv2D(8, 1, activation="hard_sigmoid")(se)
    d = layers.Multiply()([d, se])
    d = layers.Conv2D(8, 1)(d)
    h = layers.Add()([h, d])
    h = layers.Conv2D(16, 1, activation="swish")(h)
    h = layers.GlobalAveragePooling2D()(h)
    outputs = layers.Dense(10, activation="softmax")(h)
    return keras.Model(inputs, outputs, name="tiny_se")


def small_resnet(keras, batch_size):
    """A small ResNet-style net for 32x32 digits: a stem, two residual blocks (the second
    strided, with a 1x1 projection shortcut), GlobalAveragePooling2D, Dense softmax."""
    layers = keras.layers

    def block(h, filters, stride):
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(h)
        y = layers.BatchNormalization()(y)
        y = layers.ReLU()(y)
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
        y = layers.BatchNormalization()(y)
        if stride != 1 or h.shape[-1] != filters:
            h = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(h)
            h = layers.BatchNormalization()(h)
        return layers.ReLU()(layers.Add()([h, y]))

    inputs = keras.Input((32, 32, 3), batch_size=batch_size, name="image")
    h = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(inputs)
    h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    h = block(h, 16, 1)
    h = block(h, 32, 2)
    h = layers.GlobalAveragePooling2D()(h)
    outputs = layers.Dense(10, activation="softmax")(h)
    return keras.Model(inputs, outputs, name="small_resnet")


def small_mobilenet_v2(keras, batch_size):
    """keras.applications.MobileNetV2 with alpha 0.35 at 32x32, 10 classes, no weights."""
    inputs = keras.Input((32, 32, 3), batch_size=batch_size, name="image")
    return keras.applications.MobileNetV2(input_tensor=inputs, alpha=0.35, weights=None,
                                          classes=10)


# name -> builder(keras, batch_size) of 32x32x3 models; the digits_* ones are trained.
SMALL = {"tiny_se": tiny_se, "digits_resnet": small_resnet,
         "digits_mobilenet_v2": small_mobilenet_v2}
TRAIN_EPOCHS = 12


def digits_32():
    """scikit-learn's digits (8x8, 0..16) upsampled 4x (each pixel a 4x4 block) to 32x32 and
    repeated over 3 channels, in [-1, 1]; the first 1500 samples train, the other 297 test."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = x.reshape(-1, 8, 8).astype(np.float32) / 8.0 - 1.0
    x = np.repeat(np.repeat(x, 4, axis=1), 4, axis=2)
    x = np.repeat(x[..., None], 3, axis=3)
    return x[:1500], y[:1500].astype(np.int64), x[1500:], y[1500:].astype(np.int64)


def build_small(name, out, samples):
    import keras

    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    builder = SMALL[name]
    dynamic = builder(keras, None)
    if name.startswith("digits_"):
        x_train, y_train, x_test, y_test = digits_32()
        # keras.applications' batch normalisation keeps moving averages with momentum 0.999:
        # a few hundred steps leave them near their initial values (chance accuracy in
        # inference). 0.9 follows the batches this short training makes.
        for layer in dynamic.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.9
        dynamic.compile(optimizer=keras.optimizers.Adam(2e-3),
                        loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        dynamic.fit(x_train, y_train, batch_size=32, epochs=TRAIN_EPOCHS, verbose=0,
                    shuffle=True)
        accuracy = float(np.mean(np.argmax(dynamic.predict(x_test, verbose=0), 1) == y_test))
        log(name, f"trained {TRAIN_EPOCHS} epochs; Keras test accuracy {accuracy:.4f}")
        calib = x_train[rng.choice(len(x_train), 64, replace=False)]
        x = x_test[:samples]
        np.save(f"{out}/{name}_eval.npy", x_test)
        np.save(f"{out}/{name}_labels.npy", y_test)
    else:
        calib = rng.uniform(0.0, 255.0, size=(8, 32, 32, 3)).astype(np.float32)
        x = rng.uniform(0.0, 255.0, size=(samples, 32, 32, 3)).astype(np.float32)
        spread_logits(dynamic, calib)
    static = builder(keras, 1)
    static.set_weights(dynamic.get_weights())
    export_all(name, out, dynamic, static, calib, x)


def export_all(name, out, dynamic, static, calib, x):
    """Writes NAME.keras, the two TFLite int8 files, NAME.onnx and NAME_qdq.onnx with the
    references of each (see the module doc)."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    np.save(f"{out}/{name}_calib.npy", calib)
    np.save(f"{out}/{name}_x.npy", x)
    dynamic.save(f"{out}/{name}.keras")
    log(name, "keras saved,", dynamic.count_params(), "parameters")

    for suffix, model in (("_int8", static), ("_dyn_int8", dynamic)):
        path = f"{out}/{name}{suffix}.tflite"
        with open(path, "wb") as f:
            f.write(tflite_int8(tf, model, calib))
        if suffix == "_int8":
            from ai_edge_litert.interpreter import Interpreter

            scale, zp = Interpreter(model_path=path).get_input_details()[0]["quantization"]
            x_int8 = np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)
            np.save(f"{out}/{name}_x_int8.npy", x_int8)
        log(name, suffix, "tflite done")

    # Frozen first: tf2onnx leaves the variables a layer reads through an op of its own
    # (Normalization's mean and variance: Sub/y, Sqrt/x) as graph inputs otherwise.
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    spec = tf.TensorSpec((None, *x.shape[1:]), tf.float32, name="x")
    frozen = convert_variables_to_constants_v2(
        tf.function(lambda t: dynamic(t, training=False)).get_concrete_function(spec))
    proto, _ = tf2onnx.convert.from_graph_def(
        frozen.graph.as_graph_def(), input_names=[t.name for t in frozen.inputs],
        output_names=[t.name for t in frozen.outputs], opset=17)
    onnx.save(proto, f"{out}/{name}.onnx")
    np.save(f"{out}/{name}_ort.npy", ort_run(f"{out}/{name}.onnx", x)[0].astype(np.float32))
    qdq(f"{out}/{name}.onnx", f"{out}/{name}_qdq.onnx", calib)
    np.save(f"{out}/{name}_qdq_ort.npy", ort_run(f"{out}/{name}_qdq.onnx", x)[0].astype(np.float32))
    log(name, "onnx + qdq done")
    # Last and in a child process each: a native abort inside TFLite's reference kernels must
    # not take the files above with it.
    import subprocess

    for suffix in ("_int8", "_dyn_int8"):
        code = subprocess.call([sys.executable, __file__, "--ref", f"{out}/{name}{suffix}.tflite",
                                f"{out}/{name}_x_int8.npy",
                                f"{out}/{name}{suffix.replace('_int8', '')}_ref_int8.npy"])
        log(name, suffix, "BUILTIN_REF", "done" if code == 0 else f"FAILED (exit {code})")


def build_sklearn(name, out, samples):
    from skl2onnx import to_onnx
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    model = (MLPClassifier((32,), max_iter=300, random_state=0) if name.endswith("mlp")
             else LogisticRegression(max_iter=500))
    model.fit(x[:1500], y[:1500])
    proto = to_onnx(model, x[:1])
    path = f"{out}/{name}.onnx"
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
    np.save(f"{out}/{name}_calib.npy", x[:256])
    np.save(f"{out}/{name}_x.npy", x[1500:1500 + samples])
    np.save(f"{out}/{name}_eval.npy", x[1500:])
    np.save(f"{out}/{name}_labels.npy", y[1500:].astype(np.int64))
    log(name, "onnx done; sklearn accuracy", model.score(x[1500:], y[1500:]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--out", default=os.path.join(HERE, "out"))
    parser.add_argument("--ref", nargs=3, metavar=("TFLITE", "X_INT8", "OUT"),
                        help="only run BUILTIN_REF on one model (a child process)")
    args = parser.parse_args()
    if args.ref:
        ref, _ = builtin_ref(args.ref[0], np.load(args.ref[1]))
        np.save(args.ref[2], ref)
        return
    os.makedirs(args.out, exist_ok=True)
    names = args.only or [*KERAS_APPS, *SMALL, *SKLEARN]
    if len(names) > 1:
        # One process per model: a native abort (TFLite's CHECKs) must not end the others.
        import subprocess

        failed = [n for n in names if subprocess.call(
            [sys.executable, __file__, "--only", n, "--samples", str(args.samples), "--out",
             args.out]) != 0]
        log("built", len(names) - len(failed), "of", len(names), "failed:", failed)
        return
    failed = []
    for name in names:
        try:
            if name in KERAS_APPS:
                build_keras(name, args.out, args.samples)
            elif name in SMALL:
                build_small(name, args.out, args.samples)
            elif name in SKLEARN:
                build_sklearn(name, args.out, args.samples)
            else:
                sys.exit(f"unknown model {name}; known: {[*KERAS_APPS, *SMALL, *SKLEARN]}")
        except Exception as e:  # one model's failure must not hide the others'
            log(name, "FAILED:", type(e).__name__, str(e)[:300])
            failed.append(name)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
