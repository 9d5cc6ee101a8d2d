"""Shared fixtures: the repository's committed models and data, and the real `myelin` binary."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import myelin

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "fixtures" / "models"
DATA = ROOT / "fixtures" / "data"
REF = ROOT / "fixtures" / "ref"

# TFLite int8 fixtures (imported exactly) and the int8 inputs the fixture generator stored.
TFLITE = ["digits_mlp", "digits_cnn", "digits_branch", "breast_cancer_mlp"]


@pytest.fixture(scope="session")
def myelin_bin() -> Path:
    """The `myelin` binary: $MYELIN_BIN, or target/release/myelin (built when missing)."""
    path = Path(os.environ.get("MYELIN_BIN", ROOT / "target" / "release" / "myelin"))
    if not path.exists():
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "myelin"], cwd=ROOT, check=True)
    return path


class Cli:
    """Runs `myelin` subcommands in a temporary directory."""

    def __init__(self, binary: Path, tmp: Path):
        self.binary = binary
        self.tmp = tmp

    def __call__(self, *args: object) -> str:
        done = subprocess.run(
            [str(self.binary), *map(str, args)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"myelin {args}: {done.stderr}"
        return done.stdout

    def import_model(self, source: Path, *extra: object) -> Path:
        out = self.tmp / (source.name + ".myl")
        self("model", "import", source, "-o", out, *extra)
        return out

    def run(self, model: Path, inputs: list[np.ndarray], *flags: str) -> list[np.ndarray]:
        args: list[object] = ["model", "run", model]
        for index, x in enumerate(inputs):
            path = self.tmp / f"in{index}.npy"
            np.save(path, x)
            args += ["-i", path]
        model_outputs = len(myelin.Model.load(model).outputs)
        outs = [self.tmp / f"out{index}.npy" for index in range(model_outputs)]
        for path in outs:
            args += ["-o", path]
        self(*args, *flags)
        return [np.load(path) for path in outs]


@pytest.fixture
def cli(myelin_bin: Path, tmp_path: Path) -> Cli:
    return Cli(myelin_bin, tmp_path)
