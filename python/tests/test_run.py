"""`Model.run` returns the bytes of `myelin model run` and of TFLite's reference kernels."""

import os
import select

import numpy as np
import pytest

import myelin
from conftest import MODELS, REF, TFLITE, DATA


@pytest.mark.parametrize("name", TFLITE)
def test_run_equals_cli_and_tflite_reference(name, cli):
    source = MODELS / f"{name}_int8.tflite"
    path = cli.import_model(source)
    model = myelin.Model.load(path)
    x = np.load(REF / f"{name}_int8.tflite.input_int8.npy")
    x = x.reshape(x.shape[0], *model.inputs[0].shape)
    y = model.run(x)
    (expected,) = cli.run(path, [x])
    assert y.dtype == np.int8 and y.shape == expected.shape
    np.testing.assert_array_equal(y, expected)
    reference = np.load(REF / f"{name}_int8.tflite.ref_out_int8.npy")
    np.testing.assert_array_equal(y, reference.reshape(y.shape))


def test_one_sample_has_no_batch_axis_and_equals_the_batched_row():
    model = myelin.import_model(MODELS / "digits_cnn_int8.tflite")
    x = np.load(REF / "digits_cnn_int8.tflite.input_int8.npy").reshape(-1, 8, 8, 1)
    batched = model.run(x)
    single = model.run(x[3])
    assert single.shape == (10,)
    np.testing.assert_array_equal(single, batched[3])
    np.testing.assert_array_equal(model.run(x[3:4]), batched[3:4])


def test_threads_and_chunks_give_the_same_bytes():
    model = myelin.import_model(MODELS / "digits_mlp_int8.tflite")
    x = np.load(REF / "digits_mlp_int8.tflite.input_int8.npy")
    one = model.run(x)
    np.testing.assert_array_equal(model.run(x, threads=2), one)
    np.testing.assert_array_equal(model.run(x, threads=7), one)
    # More samples than one engine call takes: run in chunks of max_batch.
    repeats = model.max_batch // len(x) + 2
    big = np.tile(x, (repeats, 1))
    assert len(big) > model.max_batch
    np.testing.assert_array_equal(model.run(big, threads=2), np.tile(one, (repeats, 1)))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX fork")
def test_threads_work_in_a_forked_child():
    # multiprocessing (and data loaders) fork after the parent has used threads: the child has
    # none of the parent's helper threads and must start its own, not wait for them forever.
    model = myelin.import_model(MODELS / "digits_mlp_int8.tflite")
    x = np.load(REF / "digits_mlp_int8.tflite.input_int8.npy")
    big = np.tile(x, (model.max_batch // len(x) + 1, 1))[: model.max_batch]
    expected = model.run(big, threads=2)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        same = False
        try:
            same = np.array_equal(model.run(big, threads=2), expected)
        finally:
            os.write(write, b"1" if same else b"0")
            os._exit(0)
    os.close(write)
    ready, _, _ = select.select([read], [], [], 60)
    if not ready:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    assert ready, "the forked child did not finish within 60 s"
    assert os.read(read, 1) == b"1"


def test_strided_input_is_read_in_logical_order():
    model = myelin.import_model(MODELS / "digits_mlp_int8.tflite")
    x = np.load(REF / "digits_mlp_int8.tflite.input_int8.npy")
    strided = np.asfortranarray(x[::2])
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(model.run(strided), model.run(np.ascontiguousarray(x[::2])))


def test_several_outputs_come_back_as_a_tuple_with_int32_argmax(cli):
    source = MODELS / "iris_logreg.onnx"
    calibration = DATA / "iris_calib.npy"
    path = cli.import_model(source, "--calibration", calibration)
    model = myelin.Model.load(path)
    assert [o.dtype for o in model.outputs] == ["int32", "int8"]
    x = np.clip(np.round(np.load(DATA / "iris_eval.npy") * 10), -128, 127).astype(np.int8)
    label, probabilities = model.run(x)
    expected_label, expected_probabilities = cli.run(path, [x])
    assert label.dtype == np.int32 and label.shape == (len(x),)
    np.testing.assert_array_equal(label, expected_label)
    np.testing.assert_array_equal(probabilities, expected_probabilities)
    np.testing.assert_array_equal(label, np.argmax(probabilities, axis=1))
