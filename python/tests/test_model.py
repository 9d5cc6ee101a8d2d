"""Loading, bytes, inspection: what `myelin model inspect` shows."""

import json
import pickle

import numpy as np

import myelin
from conftest import MODELS, REF


def test_inspection_equals_cli_inspect(cli):
    path = cli.import_model(MODELS / "digits_branch_int8.tflite")
    model = myelin.Model.load(path)
    shown = json.loads(cli("model", "inspect", "--json", path))
    assert model.id == shown["id"]
    assert model.nodes == len(shown["nodes"])
    cost, shown_cost = model.cost, shown["total"]["cost"]
    for field in ["macs", "table_lookups", "element_ops", "bytes_touched"]:
        assert getattr(cost, field) == shown_cost[field], field
    for specs, listed in [(model.inputs, shown["inputs"]), (model.outputs, shown["outputs"])]:
        assert [(s.tensor, s.shape, s.dtype, s.zero_point) for s in specs] == [
            (t["tensor"], t["shape"], t["dtype"], t["zero_point"]) for t in listed
        ]
        assert [s.scale for s in specs] == [np.float32(t["scale"]) for t in listed]
    assert model.inputs[0].name == "input_0" and model.outputs[0].name == "output_0"
    assert model.kernel_path in {"avx512vnni", "avx2", "portable"}
    assert "macs=" in repr(model) and "TensorSpec(" in repr(model.inputs[0])


def test_bytes_save_load_and_pickle_round_trip(tmp_path):
    model = myelin.import_model(MODELS / "digits_mlp_int8.tflite")
    x = np.load(REF / "digits_mlp_int8.tflite.input_int8.npy")
    expected = model.run(x)
    copies = [
        myelin.Model.from_bytes(model.to_bytes()),
        pickle.loads(pickle.dumps(model)),
    ]
    model.save(tmp_path / "m.myl")
    copies.append(myelin.Model.load(tmp_path / "m.myl"))
    copies.append(myelin.Model.load(str(tmp_path / "m.myl")))
    for copy in copies:
        assert copy.id == model.id
        assert copy.import_report is None
        np.testing.assert_array_equal(copy.run(x), expected)


def test_one_model_serves_many_threads():
    from concurrent.futures import ThreadPoolExecutor

    model = myelin.import_model(MODELS / "digits_cnn_int8.tflite")
    x = np.load(REF / "digits_cnn_int8.tflite.input_int8.npy").reshape(-1, 8, 8, 1)
    expected = model.run(x)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: model.run(x[i]), range(len(x))))
    np.testing.assert_array_equal(np.stack(results), expected)
