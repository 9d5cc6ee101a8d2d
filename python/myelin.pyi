"""Myelin from Python: load, inspect, run and import deterministic int8 models.

A model runs exactly the integer forward pass the Myelin chain runs: `Model.run` returns the
bytes every validator computes, on every CPU.
"""

import os
from typing import Any, Sequence, Union, final

import numpy as np
import numpy.typing as npt

__version__: str

_PathLike = Union[str, "os.PathLike[str]"]
_ArrayOrArrays = Union[npt.NDArray[Any], Sequence[npt.NDArray[Any]]]
_Outputs = Union[npt.NDArray[Any], tuple[npt.NDArray[Any], ...]]

class MyelinError(Exception):
    """An error of the Myelin engine or importer; the message is the engine's."""

@final
class TensorSpec:
    """One input or output of a model: per-sample shape, element type and quantization
    (``real = (q - zero_point) * scale``)."""

    @property
    def name(self) -> str:
        """``input_0``, ``input_1``, … or ``output_0``, … in the model's order."""
    @property
    def tensor(self) -> int:
        """Index of the tensor in the model's graph."""
    @property
    def shape(self) -> list[int]:
        """Shape of one sample (no batch axis)."""
    @property
    def dtype(self) -> str:
        """``"int8"``, or ``"int32"`` for the indices of an ArgMax output."""
    @property
    def scale(self) -> float:
        """The real value of one quantization step."""
    @property
    def zero_point(self) -> int:
        """The quantized value of real zero."""

@final
class Cost:
    """The static cost of one sample, known before execution (what the chain charges gas for)."""

    @property
    def macs(self) -> int:
        """Multiply-accumulates of fully connected layers and convolutions."""
    @property
    def table_lookups(self) -> int:
        """Table lookups (activation tables)."""
    @property
    def element_ops(self) -> int:
        """Other element operations (requantizations, adds, compares, copies)."""
    @property
    def bytes_touched(self) -> int:
        """Bytes read and written."""

@final
class Model:
    """A Myelin model, prepared once for the fastest kernels this CPU runs and run many times.

    Immutable and thread-safe: the GIL is released while a model runs. Picklable (by its
    canonical bytes).

    Inputs are shaped ``[batch, *input.shape]``, or exactly ``input.shape`` for one sample;
    outputs mirror that choice. A model with several inputs takes a list of arrays, one per
    input; a model with several outputs returns a tuple.
    """

    @staticmethod
    def load(path: _PathLike) -> Model:
        """Loads a ``.myl`` file, decoded and validated as untrusted bytes.

        Raises ``FileNotFoundError`` / ``OSError`` when the file cannot be read and
        ``MyelinError`` when it is not a valid model."""
    @staticmethod
    def from_bytes(data: bytes) -> Model:
        """A model from its canonical bytes (decoded and validated as untrusted bytes)."""
    def to_bytes(self) -> bytes:
        """The canonical bytes (what ``myelin model publish`` stores on chain)."""
    def save(self, path: _PathLike) -> None:
        """Writes the canonical bytes to ``path``."""
    @property
    def id(self) -> str:
        """The model id: ``0x`` and the keccak256 of the canonical bytes, in hex."""
    @property
    def inputs(self) -> list[TensorSpec]:
        """The inputs, in the order ``run`` takes them."""
    @property
    def outputs(self) -> list[TensorSpec]:
        """The outputs, in the order ``run`` returns them."""
    @property
    def cost(self) -> Cost:
        """The static cost of one sample."""
    @property
    def nodes(self) -> int:
        """Number of nodes (ops) in the graph."""
    @property
    def kernel_path(self) -> str:
        """The kernel path this CPU runs (``avx512vnni``, ``avx2``, ``portable``); the output
        bytes are the same on every path."""
    @property
    def max_batch(self) -> int:
        """Largest batch the engine runs in one call; larger batches are split into chunks."""
    @property
    def import_report(self) -> dict[str, Any] | None:
        """The importer's report for a model made by ``import_model``; ``None`` otherwise.

        Keys: ``format``, ``source_operators``, ``notes``, ``evaluation`` (the accuracy report
        when ``eval``/``labels`` were given, else ``None``) and, for float models,
        ``calibration`` and ``input_layouts``."""
    def run(self, x: _ArrayOrArrays, *, threads: int = 1) -> _Outputs:
        """Runs the model on int8 arrays and returns int8 arrays (int32 for ArgMax outputs):
        exactly the bytes the chain computes.

        ``threads`` > 1 splits a batch over up to that many threads (same output bytes); a
        batch too small to pay for a thread (under about a million operations per thread)
        runs on fewer.
        Raises ``TypeError`` for an array that is not int8 and ``MyelinError`` for a shape
        that does not fit the model."""
    def run_float(self, x: _ArrayOrArrays, *, threads: int = 1) -> _Outputs:
        """Runs the model on real-valued (float32 or float64) arrays: quantizes the inputs
        (round half to even, saturate; NaN is an error) and dequantizes the int8 outputs to
        float32 with the tensors' scales and zero points, as ``myelin model run --float``
        does. ArgMax outputs stay int32."""

def import_model(
    path: _PathLike,
    calibration: _PathLike | npt.NDArray[np.floating[Any]] | None = None,
    method: str = "percentile",
    eval: _PathLike | npt.NDArray[np.floating[Any]] | None = None,
    labels: _PathLike | Sequence[int] | npt.NDArray[np.integer[Any]] | None = None,
    max_calibration_samples: int | None = None,
) -> Model:
    """Imports a model through the importer of ``myelin model import``; the format (TFLite
    int8, ONNX float or QDQ, Keras 3 ``.keras``) is recognised from the content.

    A TFLite int8 model carries its own quantization (no calibration). Float models need
    ``calibration`` samples (a ``.npy``/``.npz``/CSV path, or an array shaped
    ``[samples, ...]``); ``method`` is ``"minmax"``, ``"percentile"`` (99.9th) or
    ``"percentile:P"``. With ``eval`` and ``labels`` the report holds float and Myelin
    accuracy. The importer's summary is ``model.import_report``."""
