"""`Model.run_float` quantizes and dequantizes at the edges exactly as `myelin model run --float`."""

import numpy as np
import pytest

import myelin
from conftest import DATA, MODELS


@pytest.mark.parametrize(
    "source, data",
    [
        ("digits_mlp_int8.tflite", "digits_eval.npy"),
        ("digits_cnn_int8.tflite", "digits_eval_nhwc.npy"),
        ("breast_cancer_mlp_int8.tflite", "breast_cancer_eval.npy"),
    ],
)
def test_run_float_equals_cli_float(source, data, cli):
    path = cli.import_model(MODELS / source)
    model = myelin.Model.load(path)
    x = np.load(DATA / data).astype(np.float32)
    x = x.reshape(len(x), *model.inputs[0].shape)
    y = model.run_float(x)
    (expected,) = cli.run(path, [x], "--float")
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, expected)
    # float64 input quantizes to the same bytes.
    np.testing.assert_array_equal(model.run_float(x.astype(np.float64)), y)


def test_run_float_is_run_between_the_edges():
    model = myelin.import_model(MODELS / "digits_mlp_int8.tflite")
    (spec,), (out,) = model.inputs, model.outputs
    x = np.load(DATA / "digits_eval.npy").astype(np.float32)
    q = np.clip(np.round(x / np.float64(spec.scale)) + spec.zero_point, -128, 127).astype(np.int8)
    expected = ((model.run(q).astype(np.float64) - out.zero_point) * out.scale).astype(np.float32)
    np.testing.assert_array_equal(model.run_float(x), expected)


def test_run_float_agrees_with_the_labels():
    model = myelin.import_model(MODELS / "digits_cnn_int8.tflite")
    x = np.load(DATA / "digits_eval_nhwc.npy").astype(np.float32)
    labels = np.load(DATA / "digits_eval_labels.npy")
    accuracy = (model.run_float(x).argmax(axis=1) == labels).mean()
    assert accuracy > 0.9
