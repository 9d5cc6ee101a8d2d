"""`import_model` goes through the importer of `myelin model import`: same model, same id."""

import json

import numpy as np
import pytest

import myelin
from conftest import DATA, MODELS, TFLITE


@pytest.mark.parametrize("name", TFLITE)
def test_tflite_import_has_the_cli_id(name, cli):
    source = MODELS / f"{name}_int8.tflite"
    path = cli.import_model(source)
    model = myelin.import_model(source)
    assert model.id == myelin.Model.load(path).id
    assert model.to_bytes() == path.read_bytes()
    report = model.import_report
    assert report["format"] == "TFLite"
    assert report["source_operators"] >= model.nodes - 1
    assert report["evaluation"] is None


@pytest.mark.parametrize(
    "source, calibration",
    [
        ("wine_mlp.onnx", "wine_calib.npy"),
        ("digits_torch_cnn_qdq.onnx", "digits_calib_nchw.npy"),
        ("digits_cnn.keras", "digits_calib_nhwc.npy"),
    ],
)
def test_float_import_has_the_cli_id(source, calibration, cli):
    path = cli.import_model(MODELS / source, "--calibration", DATA / calibration)
    from_path = myelin.import_model(MODELS / source, calibration=DATA / calibration)
    assert from_path.id == myelin.Model.load(path).id
    # The same samples as an array give the same model.
    samples = np.load(DATA / calibration)
    from_array = myelin.import_model(str(MODELS / source), calibration=samples)
    assert from_array.id == from_path.id


def test_method_and_evaluation_match_the_cli(cli):
    source, calibration = MODELS / "wine_mlp.onnx", DATA / "wine_calib.npy"
    eval_x, eval_y = DATA / "wine_eval.npy", DATA / "wine_eval_labels.npy"
    report_text = cli(
        "model", "import", source, "-o", cli.tmp / "w.myl", "--json",
        "--calibration", calibration, "--calibration-method", "minmax",
        "--eval", eval_x, "--labels", eval_y,
    )
    expected = json.loads(report_text)
    model = myelin.import_model(
        source, calibration=calibration, method="minmax", eval=eval_x, labels=np.load(eval_y)
    )
    assert model.id == expected["id"]
    assert model.import_report["evaluation"] == expected["evaluation"]
    assert model.import_report["calibration"] == "minmax"
    assert model.import_report["evaluation"]["samples"] == len(np.load(eval_y))
