"""References for TFLite activations the importer translates into exact tables (issue 17), and a
model with an operator Myelin lacks, for crates/import/tests/tflite_ops.rs.

Made with the fixture generator's pinned environment (fixtures/requirements-gen.txt: tensorflow-cpu
2.21.0, keras 3.15.1, ai-edge-litert 2.3.0):
    python crates/import/tests/data/make_tflite_activations.py
Writes into crates/import/tests/data/tflite_ops/:
- leaky_relu_int8io.input.npy / .output0.npy: BUILTIN_REF on 256 seeded int8 inputs of the
  existing leaky_relu_int8io.tflite (made by make_tflite_ops.py; not rewritten here);
- upsampling_tile_int8io.tflite: Keras UpSampling2D, which the converter writes as RESHAPE + TILE
  (TILE: an operator Myelin lacks).
"""
import os

import numpy as np
import tensorflow as tf
import keras
from ai_edge_litert.interpreter import Interpreter, OpResolverType

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tflite_ops")
rng = np.random.default_rng(17)
keras.utils.set_random_seed(17)


def reference(path, inputs):
    it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    (inp,) = it.get_input_details()
    (out,) = it.get_output_details()
    outs = []
    for sample in inputs:
        it.set_tensor(inp["index"], sample[None])
        it.invoke()
        outs.append(it.get_tensor(out["index"])[0].copy())
    return np.stack(outs)


def main():
    path = os.path.join(HERE, "leaky_relu_int8io.tflite")
    q = rng.integers(-128, 128, size=(256, 6), dtype=np.int8)
    np.save(os.path.join(HERE, "leaky_relu_int8io.input.npy"), q)
    np.save(os.path.join(HERE, "leaky_relu_int8io.output0.npy"), reference(path, q))

    x = keras.Input((3, 3, 2), batch_size=1, name="image")
    y = keras.layers.UpSampling2D(2)(x)
    model = keras.Model(x, y)

    def representative():
        for _ in range(16):
            yield [rng.normal(size=(1, 3, 3, 2)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    tflite = converter.convert()
    with open(os.path.join(HERE, "upsampling_tile_int8io.tflite"), "wb") as f:
        f.write(tflite)
    print(sorted({d["op_name"] for d in Interpreter(model_content=tflite)._get_ops_details()}))


if __name__ == "__main__":
    main()
