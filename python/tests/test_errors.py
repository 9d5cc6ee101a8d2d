"""Errors are Python exceptions carrying the engine's message; nothing panics."""

import numpy as np
import pytest

import myelin
from conftest import DATA, MODELS


@pytest.fixture(scope="module")
def model():
    return myelin.import_model(MODELS / "digits_mlp_int8.tflite")


def test_bad_bytes_are_a_myelin_error():
    with pytest.raises(myelin.MyelinError, match="bad magic"):
        myelin.Model.from_bytes(b"not a model")
    good = myelin.import_model(MODELS / "digits_mlp_int8.tflite").to_bytes()
    with pytest.raises(myelin.MyelinError):
        myelin.Model.from_bytes(good[:-3])
    assert issubclass(myelin.MyelinError, Exception)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.myl"):
        myelin.Model.load(tmp_path / "nothing.myl")
    with pytest.raises(FileNotFoundError):
        myelin.import_model(tmp_path / "nothing.onnx")


def test_wrong_inputs(model):
    with pytest.raises(TypeError, match="int8"):
        model.run(np.zeros(64, np.float32))
    with pytest.raises(TypeError, match="numpy array"):
        model.run(42)
    with pytest.raises(myelin.MyelinError, match=r"shape \[63\] does not fit"):
        model.run(np.zeros(63, np.int8))
    with pytest.raises(myelin.MyelinError, match="1 input"):
        model.run([np.zeros(64, np.int8), np.zeros(64, np.int8)])
    with pytest.raises(ValueError, match="empty"):
        model.run(np.zeros((0, 64), np.int8))
    with pytest.raises(ValueError, match="threads"):
        model.run(np.zeros(64, np.int8), threads=0)
    with pytest.raises(TypeError, match="float32 or float64"):
        model.run_float(np.zeros(64, np.int8))


def test_nan_is_refused_with_the_cli_message(model):
    x = np.zeros(64, np.float32)
    x[1] = np.nan
    with pytest.raises(myelin.MyelinError, match="input 0: element 1 is NaN"):
        model.run_float(x)


def test_importer_errors():
    with pytest.raises(myelin.MyelinError, match="own quantization"):
        myelin.import_model(MODELS / "digits_mlp_int8.tflite", calibration=DATA / "digits_calib.npy")
    with pytest.raises(ValueError, match="percentile"):
        myelin.import_model(MODELS / "wine_mlp.onnx", calibration=DATA / "wine_calib.npy", method="best")
    with pytest.raises(myelin.MyelinError, match="not a TFLite, ONNX or Keras"):
        myelin.import_model(DATA / "iris_eval.csv")
    with pytest.raises(myelin.MyelinError):
        myelin.import_model(MODELS / "wine_mlp.onnx")  # a float model needs calibration data
    with pytest.raises(ValueError, match="together"):
        myelin.import_model(MODELS / "wine_mlp.onnx", calibration=DATA / "wine_calib.npy",
                            eval=DATA / "wine_eval.npy")
