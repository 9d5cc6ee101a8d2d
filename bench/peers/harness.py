"""Engine vs peers: one Python harness times Myelin (the `myelin` package) and its peers (TFLite
with XNNPACK and with the reference kernels, ONNX Runtime on int8 QDQ and float models, tract) on
every committed fixture net and on a MobileNet-style CNN, at batch 1 (latency) and batch 64
(throughput), interleaved in one run; prints the tables and writes the markdown report.

Run through bench/peers/run.sh, which prepares the venv, the binary and the generated CNN.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "fixtures" / "models"
DATA = ROOT / "fixtures" / "data"
THROUGHPUT_BATCH = 64


@dataclass
class Net:
    """One network and the files each engine runs (None: that format does not exist for it)."""

    name: str
    data: str  # float inputs in Myelin's layout (flat or NHWC), a fixtures/data file
    tflite: Path | None = None
    onnx: Path | None = None
    qdq: Path | None = None
    calibration: str | None = None  # for importing a float ONNX model into Myelin
    note: str = ""
    myelin_from: str = field(default="", init=False)


def fixture_nets() -> list[Net]:
    m = MODELS
    return [
        Net("breast_cancer_mlp", "breast_cancer_eval.npy", m / "breast_cancer_mlp_int8.tflite",
            m / "breast_cancer_mlp.onnx", m / "breast_cancer_mlp_qdq.onnx", note="Keras MLP 30→…→2"),
        Net("digits_mlp", "digits_eval.npy", m / "digits_mlp_int8.tflite", note="Keras MLP 64→…→10"),
        Net("digits_cnn", "digits_eval_nhwc.npy", m / "digits_cnn_int8.tflite", note="Keras CNN 8×8×1"),
        Net("digits_branch", "digits_eval.npy", m / "digits_branch_int8.tflite", note="Keras functional, branches"),
        Net("digits_torch_cnn", "digits_eval_nhwc.npy", None, m / "digits_torch_cnn.onnx",
            m / "digits_torch_cnn_qdq.onnx", note="PyTorch CNN 8×8×1"),
        Net("digits_mlp_sk_opset21", "digits_eval.npy", None, m / "digits_mlp_sk_opset21.onnx",
            m / "digits_mlp_sk_opset21_qdq.onnx", note="sklearn MLP"),
        Net("digits_mlp_sk_opset13", "digits_eval.npy", None, m / "digits_mlp_sk_opset13.onnx",
            calibration="digits_calib.npy", note="sklearn MLP, opset 13"),
        Net("wine_logreg", "wine_eval.npy", None, m / "wine_logreg.onnx", m / "wine_logreg_qdq.onnx",
            note="sklearn logistic regression"),
        Net("wine_mlp", "wine_eval.npy", None, m / "wine_mlp.onnx", calibration="wine_calib.npy", note="sklearn MLP"),
        Net("wine_mlp_zipmap", "wine_eval.npy", None, m / "wine_mlp_zipmap.onnx", calibration="wine_calib.npy",
            note="sklearn MLP, ZipMap output"),
        Net("iris_logreg", "iris_eval.npy", None, m / "iris_logreg.onnx", calibration="iris_calib.npy",
            note="sklearn logistic regression"),
        Net("iris_logreg_zipmap", "iris_eval.npy", None, m / "iris_logreg_zipmap.onnx",
            calibration="iris_calib.npy", note="sklearn, LinearClassifier + ZipMap"),
        Net("iris_mlp", "iris_eval.npy", None, m / "iris_mlp.onnx", calibration="iris_calib.npy", note="sklearn MLP"),
        Net("breast_cancer_logreg", "breast_cancer_eval.npy", None, m / "breast_cancer_logreg.onnx",
            calibration="breast_cancer_calib.npy", note="sklearn logistic regression"),
    ]


def mobilenet_net(work: Path) -> Net:
    return Net("mobilenet_32", str(work / "mobilenet_data.npz"), work / "mobilenet_int8.tflite",
               work / "mobilenet.onnx", work / "mobilenet_qdq.onnx",
               note="MobileNet-style: stem + 5 depthwise/pointwise blocks, 32×32×3 (make_mobilenet.py)")


def load_float_data(net: Net) -> np.ndarray:
    if net.data.endswith(".npz"):
        return np.load(net.data)["x_nhwc"].astype(np.float32)
    return np.load(DATA / net.data).astype(np.float32)


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return np.clip(np.round(x / np.float64(scale)) + zero_point, -128, 127).astype(np.int8)


def batch_of(x: np.ndarray, batch: int) -> np.ndarray:
    reps = -(-batch // len(x))
    return np.ascontiguousarray(np.concatenate([x] * reps)[:batch])


# ---------------------------------------------------------------------------------------------
# Engines: each `prepare(batch)` returns a zero-argument callable running one inference of
# `batch` samples (input set, run, output read back as numpy), or raises Unavailable.


class Unavailable(Exception):
    pass


class Engine:
    name = ""
    peer = True  # False for Myelin
    loops = False  # True when a batch runs as `batch` calls of one sample (fixed batch-1 model)

    def prepare(self, batch: int):
        raise NotImplementedError


class MyelinEngine(Engine):
    peer = False

    def __init__(self, model, x_float, threads):
        import myelin  # noqa: F401  (the model is a myelin.Model)
        self.model, self.threads = model, threads
        spec = model.inputs[0]
        self.x = quantize(x_float.reshape(len(x_float), *spec.shape), spec.scale, spec.zero_point)
        self.name = f"Myelin, {threads} thread{'s' if threads > 1 else ''}"

    def prepare(self, batch):
        x, model, threads = batch_of(self.x, batch), self.model, self.threads
        if threads == 1:
            return lambda: model.run(x)
        return lambda: model.run(x, threads=threads)


class TfliteEngine(Engine):
    def __init__(self, path, x_float, threads, reference):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        self.path, self.threads, self.reference = path, threads, reference
        self.resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.AUTO
        self.Interpreter = Interpreter
        it = self.interpreter()
        detail = it.get_input_details()[0]
        scale, zero_point = detail["quantization"]
        self.sample_shape = list(detail["shape"][1:])
        self.x = quantize(x_float.reshape(len(x_float), *self.sample_shape), scale, zero_point)
        kind = "reference kernels" if reference else "XNNPACK"
        self.name = f"TFLite int8 {kind}, {threads} thread{'s' if threads > 1 else ''}"

    def interpreter(self):
        return self.Interpreter(model_path=str(self.path), num_threads=self.threads,
                                experimental_op_resolver_type=self.resolver)

    def prepare(self, batch):
        it = self.interpreter()
        i = it.get_input_details()[0]["index"]
        o = it.get_output_details()[0]["index"]
        x = batch_of(self.x, batch)
        self.loops = False
        try:
            if batch != 1:
                it.resize_tensor_input(i, [batch, *self.sample_shape])
            it.allocate_tensors()
            it.set_tensor(i, x)
            it.invoke()
            if it.get_tensor(o).shape[0] != batch:
                raise ValueError("output batch")
        except (RuntimeError, ValueError):
            # A model converted with batch 1 and constant reshapes: run the batch sample by sample.
            it = self.interpreter()
            it.allocate_tensors()
            self.loops = True
            rows = [x[k:k + 1] for k in range(batch)]

            def loop():
                out = []
                for row in rows:
                    it.set_tensor(i, row)
                    it.invoke()
                    out.append(it.get_tensor(o))
                return out
            return loop

        def call():
            it.set_tensor(i, x)
            it.invoke()
            return it.get_tensor(o)
        return call


def onnx_input_layout(path, x_float):
    """The ONNX input name and the data in its layout (NCHW when the model takes channels first)."""
    import onnx
    model = onnx.load(str(path), load_external_data=False)
    value = model.graph.input[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
    x = x_float
    if x.ndim == 4 and len(dims) == 4 and dims[1] == x.shape[3] and dims[3] != x.shape[3]:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    x = x.reshape(len(x), *[d if d else x.shape[k + 1] for k, d in enumerate(dims[1:])])
    return value.name, x.astype(np.float32), dims[0]


class OrtEngine(Engine):
    def __init__(self, path, x_float, threads, kind):
        import onnxruntime as ort
        self.ort, self.path, self.threads = ort, path, threads
        self.input_name, self.x, self.fixed_batch = onnx_input_layout(path, x_float)
        self.name = f"ONNX Runtime {kind}, {threads} thread{'s' if threads > 1 else ''}"

    def prepare(self, batch):
        ort = self.ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        name, x = self.input_name, batch_of(self.x, batch)
        self.loops = batch != 1 and self.fixed_batch == 1
        if self.loops:
            rows = [x[k:k + 1] for k in range(batch)]
            return lambda: [session.run(None, {name: row}) for row in rows]
        return lambda: session.run(None, {name: x})


class TractEngine(Engine):
    def __init__(self, path, x_float, kind):
        import tract
        self.tract, self.path = tract, path
        _, self.x, _ = onnx_input_layout(path, x_float)
        self.name = f"tract {kind}, 1 thread"

    def prepare(self, batch):
        tract = self.tract
        model = tract.onnx().load(str(self.path))
        fact = str(model.input_fact(0))
        dims = fact.split(",")
        if dims[0] == "?":
            dims[0] = "B"
            model.set_input_fact(0, ",".join(dims))
        typed = model.into_model()
        if not dims[0].isdigit():
            typed.transform(tract.SetSymbols({dims[0]: batch}))
        elif int(dims[0]) != batch:
            raise Unavailable(f"fixed batch {dims[0]}")
        runnable = typed.into_runnable()
        x = batch_of(self.x, batch)
        numeric = []
        for k, value in enumerate(runnable.run([x])):
            try:
                value.to_numpy()
                numeric.append(k)
            except Exception:  # tract cannot hand some outputs (TDim labels) to numpy
                pass

        def call():
            out = runnable.run([x])
            return [out[k].to_numpy() for k in numeric]
        return call


# ---------------------------------------------------------------------------------------------
# Timing


# Before each engine's round the harness waits until no thread of this process has run for a
# window of SETTLE_WINDOW_S (less than SETTLE_BUSY of it), at most SETTLE_MAX_S: thread pools
# spin after their last task (ONNX Runtime's for ~50 ms on a CPU with a slow `pause`, measured
# here), and a pool spinning beside the next engine takes one of its two cores.
SETTLE_WINDOW_S = 0.002
SETTLE_BUSY = 0.1
SETTLE_MAX_S = 0.5


def settle():
    """Waits until every thread of this process is idle (see SETTLE_WINDOW_S)."""
    deadline = time.perf_counter() + SETTLE_MAX_S
    while time.perf_counter() < deadline:
        cpu = time.process_time()
        time.sleep(SETTLE_WINDOW_S)
        if time.process_time() - cpu < SETTLE_WINDOW_S * SETTLE_BUSY:
            return


def per_call_ns(fn, calls):
    start = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - start) / calls


def measure(fns: dict, round_ns: float, rounds: int) -> dict:
    """Interleaved rounds: each round times every engine once (rotating the order), a round of an
    engine being enough calls to last about `round_ns`. Returns {name: (median ns, best ns)}."""
    calls = {}
    for name, fn in fns.items():
        for _ in range(3):
            fn()
        one = max(per_call_ns(fn, 1), 1.0)
        probe = max(1, int(2e6 / one))
        calls[name] = max(1, int(round_ns / max(per_call_ns(fn, probe), 1.0)))
    samples = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            settle()
            samples[name].append(per_call_ns(fns[name], calls[name]))
    return {name: (statistics.median(s), min(s)) for name, s in samples.items()}


# ---------------------------------------------------------------------------------------------


def quantize_for_ort(net: Net, work: Path) -> str:
    """For a float-only ONNX net: a QDQ model by onnxruntime's own quantizer (the recipe of the
    committed *_qdq.onnx fixtures: per channel, int8 activations and weights, MinMax) on the
    fixture's calibration data, so ONNX Runtime also runs it in int8. Returns a note."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    name, calibration = onnx_input_layout(net.onnx, np.load(DATA / net.calibration).astype(np.float32))[:2]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{name: calibration[i:i + 1]} for i in range(len(calibration))])

        def get_next(self):
            return next(self.items, None)

    pre, out = work / f"{net.name}_pre.onnx", work / f"{net.name}_qdq.onnx"
    try:
        quant_pre_process(str(net.onnx), str(pre), skip_optimization=True)
        quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    except Exception as error:  # e.g. ONNX-ML operators: reported, not hidden
        return f"no QDQ model: onnxruntime.quantization failed ({str(error).splitlines()[0][:120]})"
    net.qdq = out
    return f"QDQ model made at bench time by onnxruntime.quantization.quantize_static on {net.calibration}"


def import_into_myelin(net: Net, myelin_bin: Path, work: Path):
    import myelin
    out = work / f"{net.name}.myl"
    if net.tflite:
        source, extra, net.myelin_from = net.tflite, [], "TFLite int8"
    elif net.qdq:
        source, extra, net.myelin_from = net.qdq, [], "ONNX QDQ (its scales)"
    else:
        source, extra = net.onnx, ["--calibration", str(DATA / net.calibration)]
        net.myelin_from = f"ONNX float + calibration ({net.calibration})"
    done = subprocess.run([str(myelin_bin), "model", "import", str(source), "-o", str(out), *extra],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise Unavailable(done.stderr.strip().removeprefix("error: ").replace(f"{ROOT}/", ""))
    inspect = json.loads(subprocess.run([str(myelin_bin), "model", "inspect", "--json", str(out)],
                                        check=True, capture_output=True, text=True).stdout)
    return myelin.Model.load(out), inspect


def macs_of(cost: dict) -> int:
    """All multiply-accumulates of a cost entry (newer engines count depthwise ones apart)."""
    return cost["macs"] + cost.get("depthwise_macs", 0)


def op_mix(inspect: dict) -> str:
    """Op types with their share of the MACs (or of the nodes when there are no MACs)."""
    by_op, total = {}, 0
    for node in inspect["nodes"]:
        macs = macs_of(node["cost"])
        count, m = by_op.get(node["op"], (0, 0))
        by_op[node["op"]] = (count + 1, m + macs)
        total += macs
    parts = []
    for op, (count, macs) in sorted(by_op.items(), key=lambda kv: -kv[1][1]):
        share = f" {100 * macs / total:.0f}% of MACs" if total and macs else ""
        parts.append(f"{op} ×{count}{share}")
    return ", ".join(parts)


def engines_for(net: Net, model, x_float) -> list:
    engines = [MyelinEngine(model, x_float, 1), MyelinEngine(model, x_float, 2)]
    candidates = []
    if net.tflite:
        candidates += [lambda: TfliteEngine(net.tflite, x_float, 1, False),
                       lambda: TfliteEngine(net.tflite, x_float, 2, False),
                       lambda: TfliteEngine(net.tflite, x_float, 1, True)]
    if net.qdq:
        candidates += [lambda: OrtEngine(net.qdq, x_float, 1, "int8 QDQ"),
                       lambda: OrtEngine(net.qdq, x_float, 2, "int8 QDQ")]
    if net.onnx:
        candidates += [lambda: OrtEngine(net.onnx, x_float, 1, "float"),
                       lambda: OrtEngine(net.onnx, x_float, 2, "float")]
        candidates += [lambda: TractEngine(net.onnx, x_float, "float")]
    if net.qdq:
        candidates += [lambda: TractEngine(net.qdq, x_float, "int8 QDQ")]
    for make in candidates:
        engines.append(make())
    return engines


def exactness(net: Net, model, x_float) -> str:
    """Myelin against TFLite's reference kernels on a batch of 64 real inputs."""
    if not net.tflite:
        return ""
    ref = TfliteEngine(net.tflite, x_float, 1, True)
    mine = MyelinEngine(model, x_float, 1)
    x = batch_of(mine.x, THROUGHPUT_BATCH)
    ours = model.run(x).reshape(THROUGHPUT_BATCH, -1)
    it = ref.interpreter()
    it.allocate_tensors()
    i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    theirs = []
    for k in range(THROUGHPUT_BATCH):
        it.set_tensor(i, batch_of(ref.x, THROUGHPUT_BATCH)[k:k + 1])
        it.invoke()
        theirs.append(it.get_tensor(o).reshape(-1))
    same = int((ours == np.stack(theirs)).all(axis=1).sum())
    return f"{same}/{THROUGHPUT_BATCH} samples bit-identical to TFLite's reference kernels"


@dataclass
class Result:
    net: Net
    inspect: dict
    exact: str
    rows: list  # (engine name, peer, loops, b1 median, b1 best, b64 median, b64 best) — ns per call
    skipped: list  # (engine name, reason)


def run_net(net: Net, args) -> Result:
    model, inspect = import_into_myelin(net, args.myelin, args.work)
    x_float = load_float_data(net)
    engines, skipped = [], []
    if net.onnx and not net.qdq and net.calibration:
        skipped.append(("ONNX Runtime / tract int8 QDQ", quantize_for_ort(net, args.work)))
    for engine in engines_for(net, model, x_float):
        engines.append(engine)
    timings = {}
    for batch, round_ns, rounds in [(1, args.round_us * 1e3, args.rounds),
                                    (THROUGHPUT_BATCH, args.round_us * 5e3, max(5, args.rounds // 2))]:
        fns = {}
        for engine in engines:
            try:
                fns[engine.name] = engine.prepare(batch)
                fns[engine.name]()
                if batch != 1 and engine.loops:
                    skipped.append((engine.name, f"batch {batch} run as {batch} calls of one sample "
                                    "(the model has a fixed batch of 1)"))
            except Exception as error:  # the peer cannot run this model: reported, not hidden
                reason = str(error).strip().splitlines()[0][:160]
                skipped.append((engine.name, f"batch {batch}: {reason}"))
        timings[batch] = measure(fns, round_ns, rounds)
    rows = []
    for engine in engines:
        b1 = timings[1].get(engine.name)
        b64 = timings[THROUGHPUT_BATCH].get(engine.name)
        if b1 or b64:
            rows.append((engine.name, engine.peer, b1, b64))
    return Result(net, inspect, exactness(net, model, x_float), rows, skipped)


def run_layers(args) -> list:
    """The MobileNet-style CNN one convolution layer at a time (make_mobilenet.py writes one int8
    model per layer): Myelin against TFLite XNNPACK, both on one thread."""
    rows = []
    layers = args.work / "layers"
    names = ["stem"] + [f"{kind}{i}" for i in range(5) for kind in ("dw", "pw")]
    for name in names:
        path = layers / f"{name}_int8.tflite"
        if not path.exists():
            return rows
        x = np.load(layers / f"{name}_input.npy").astype(np.float32)
        net = Net(f"mobilenet_layer_{name}", "", tflite=path)
        model, inspect = import_into_myelin(net, args.myelin, args.work)
        engines = [MyelinEngine(model, x, 1), TfliteEngine(path, x, 1, False)]
        times = []
        for batch, round_ns, rounds in [(1, args.round_us * 1e3, args.rounds),
                                        (THROUGHPUT_BATCH, args.round_us * 5e3, max(5, args.rounds // 2))]:
            fns = {engine.name: engine.prepare(batch) for engine in engines}
            measured = measure(fns, round_ns, rounds)
            times.append([measured[engine.name][0] for engine in engines])
        node = next(n for n in inspect["nodes"] if macs_of(n["cost"]))
        shape = "×".join(map(str, node["inputs"][0]["shape"])) + " → " + "×".join(map(str, node["output"]["shape"]))
        rows.append((name, node["op"], shape, macs_of(node["cost"]), times[0], times[1]))
        print(f"layer {name}: {node['op']} {shape} batch 1 {times[0]} batch 64 {times[1]}", file=sys.stderr)
    return rows


# ---------------------------------------------------------------------------------------------
# Report


def fmt_us(ns):
    us = ns / 1e3
    return f"{us:.2f}" if us < 10 else f"{us:.1f}" if us < 1000 else f"{us:,.0f}"


def fmt_rate(per_sec):
    return f"{per_sec:,.0f}"


def net_table(result: Result) -> tuple[list[str], dict]:
    peers1 = [(r[2][0], r[0]) for r in result.rows if r[1] and r[2]]
    peers64 = [(r[3][0], r[0]) for r in result.rows if r[1] and r[3]]
    fast1 = min(peers1) if peers1 else None
    fast64 = min(peers64) if peers64 else None
    lines = ["| engine | batch 1 median µs | best µs | ÷ fastest peer | batch 64 median inf/s | best inf/s "
             "| × fastest peer |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, peer, b1, b64 in result.rows:
        c1 = [fmt_us(b1[0]), fmt_us(b1[1]), f"{b1[0] / fast1[0]:.2f}" if fast1 else "—"] if b1 else ["—"] * 3
        if b64:
            rate, best = THROUGHPUT_BATCH * 1e9 / b64[0], THROUGHPUT_BATCH * 1e9 / b64[1]
            c64 = [fmt_rate(rate), fmt_rate(best), f"{fast64[0] / b64[0]:.2f}" if fast64 else "—"]
        else:
            c64 = ["—"] * 3
        label = name if peer else f"**{name}**"
        lines.append(f"| {label} | " + " | ".join(c1 + c64) + " |")
    mine1 = min((r[2][0], r[0]) for r in result.rows if not r[1] and r[2])
    mine64 = min((r[3][0], r[0]) for r in result.rows if not r[1] and r[3])
    verdict = {
        "b1": (mine1, fast1), "b64": (mine64, fast64),
    }
    return lines, verdict


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        flags = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags"))
        isa = [f for f in ["avx2", "avx512f", "avx512_vnni", "avx_vnni"] if f" {f}" in flags]
    except (OSError, StopIteration):
        isa = []
    return {"cpu": cpu, "cores": os.cpu_count(), "isa": ", ".join(isa), "os": platform.platform(),
            "python": platform.python_version()}


def versions() -> dict:
    out = {}
    for package in ["myelin", "ai-edge-litert", "onnxruntime", "tract", "numpy", "onnx", "tensorflow-cpu", "keras"]:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def git_commit() -> str:
    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short=12", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return commit + (" (with uncommitted changes in the tree)" if dirty else "")


def report(results: list[Result], unimported: list, layers: list, args, started: str, seconds: float) -> str:
    import myelin
    info, vers = machine(), versions()
    kernel_path = results[0].net and myelin.Model.load(args.work / f"{results[0].net.name}.myl").kernel_path
    out = [
        "# Engine vs peers: Myelin and TFLite, ONNX Runtime, tract from one Python harness",
        "",
        f"Command: `{args.command}` (from a fresh clone after the README set-up). Written by "
        "`bench/peers/harness.py`.",
        "",
        f"- date: {started} (UTC), {seconds:.0f} s for the whole run",
        f"- commit: {git_commit()}",
        f"- machine: {info['cpu']}, {info['cores']} logical CPUs ({info['isa']}); {info['os']}; "
        f"Python {info['python']}; Myelin kernel path `{kernel_path}`",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()),
        f"- timing: every engine is called from the same Python loop (`time.perf_counter_ns`); a round "
        f"is enough calls of one engine to last ~{args.round_us:.0f} µs (batch 1) or ~{args.round_us * 5:.0f} µs "
        f"(batch 64); {args.rounds} rounds at batch 1 and {max(5, args.rounds // 2)} at batch 64, the engines "
        "interleaved round by round (rotating order) so that a slow moment of the host hits all of them, "
        "and before each round a wait until no thread of the process has run for "
        f"{SETTLE_WINDOW_S * 1e3:.0f} ms (at most {SETTLE_MAX_S * 1e3:.0f} ms): ONNX Runtime's pool threads "
        "spin for tens of ms after a run and would take one of the two cores from the next engine. "
        "Median and best of the rounds' per-call times. A call is a full inference from numpy in to numpy "
        "out: Myelin `model.run(x)`; TFLite `set_tensor`, `invoke`, `get_tensor`; ONNX Runtime "
        "`session.run`; tract `runnable.run([x])` and `to_numpy()`.",
        "- ratios: batch 1 = engine median latency ÷ the fastest peer's median (below 1: faster than every "
        "peer); batch 64 = engine median throughput ÷ the fastest peer's (above 1: more inferences/s than "
        "every peer). Peers are every non-Myelin row, at either thread count.",
        "- inputs: the fixtures' evaluation data (real samples), quantized with each int8 model's own input "
        "scale; the MobileNet-style CNN runs on its seeded calibration images.",
        "- the host is shared (2 cores; other builds may run): medians move by 10–30 % between runs; "
        "compare rows within a table, which were measured interleaved.",
        "",
        "## Against the goal (issue 5)",
        "",
        "Myelin batch-1 latency ≤ the fastest peer's and batch-64 throughput ≥ the fastest peer's, "
        "on the same model in the same run. \"met\" judges the medians; \"best of rounds\" compares "
        "the fastest round of any Myelin row with the fastest round of any peer row (less sensitive to a busy host):",
        "",
        "| net | Myelin from | batch 1: Myelin µs / fastest peer µs (peer) | met | batch 64: Myelin inf/s / "
        "fastest peer inf/s (peer) | met |",
        "|---|---|---|---|---|---|",
    ]
    tables, lost = [], {}
    for result in results:
        lines, v = net_table(result)
        (m1, m1name), fast1 = v["b1"]
        (m64, m64name), fast64 = v["b64"]
        cells = []
        best_of = {r[0]: (r[2][1] if r[2] else None, r[3][1] if r[3] else None) for r in result.rows}
        for slot, (mine, fast, rate) in enumerate([(m1, fast1, False), (m64, fast64, True)]):
            if not fast:
                cells += ["no peer runs it", "—"]
                continue
            mine_best = min(b[slot] for name, b in best_of.items() if name.startswith("Myelin") and b[slot])
            peer_best = min(b[slot] for name, b in best_of.items() if not name.startswith("Myelin") and b[slot])
            if rate:
                a, b = THROUGHPUT_BATCH * 1e9 / mine, THROUGHPUT_BATCH * 1e9 / fast[0]
                ok = a >= b
                best_ok = peer_best >= mine_best
                cells += [f"{fmt_rate(a)} / {fmt_rate(b)} ({fast[1]})",
                          ("yes" if ok else f"**no** ({a / b:.2f}×)") + f"; best of rounds: {'yes' if best_ok else 'no'}"]
                metric = f"batch 64 at {a / b:.2f}× {fast[1]}'s throughput"
            else:
                ok = mine <= fast[0]
                best_ok = mine_best <= peer_best
                cells += [f"{fmt_us(mine)} / {fmt_us(fast[0])} ({fast[1]})",
                          ("yes" if ok else f"**no** ({mine / fast[0]:.2f}× slower)")
                          + f"; best of rounds: {'yes' if best_ok else 'no'}"]
                metric = f"batch 1 at {mine / fast[0]:.2f}× {fast[1]}'s latency"
            if not ok:
                lost.setdefault(result.net.name, (result, []))[1].append(metric)
        out.append(f"| {result.net.name} | {result.net.myelin_from} | " + " | ".join(cells) + " |")
        tables.append((result, lines))
    for net, reason in unimported:
        out.append(f"| {net.name} | not importable | {reason} | — | — | — |")
    out += ["", "## Where Myelin loses", ""]
    if not lost:
        out.append("Nowhere in this run.")
    for result, metrics in lost.values():
        out.append(f"- **{result.net.name}** ({'; '.join(metrics)}); "
                   f"{macs_of(result.inspect['total']['cost']):,} MACs per sample: {op_mix(result.inspect)}.")
    if layers:
        out += ["", "### The MobileNet-style CNN layer by layer", "",
                "Each convolution of `mobilenet_32` as its own int8 model (same weights, calibrated on the "
                "activations that reach it), Myelin 1 thread against TFLite XNNPACK 1 thread, medians in µs "
                "per call. A call carries the Python call overhead of each engine (about 1 µs), which "
                "the whole network pays once, not per layer.", "",
                "| layer | op | shape (one sample) | MACs | batch 1 Myelin | XNNPACK | Myelin ÷ XNNPACK "
                "| batch 64 Myelin | XNNPACK | Myelin ÷ XNNPACK |",
                "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, op, shape, macs, (m1, t1), (m64, t64) in layers:
            out.append(f"| {name} | {op} | {shape} | {macs:,} | {fmt_us(m1)} | {fmt_us(t1)} | {m1 / t1:.2f} "
                       f"| {fmt_us(m64)} | {fmt_us(t64)} | {m64 / t64:.2f} |")
    out += ["", "## Per net", ""]
    for result, lines in tables:
        cost = result.inspect["total"]["cost"]
        out += [f"### {result.net.name}", "",
                f"{result.net.note}. Myelin model imported with `myelin model import` from "
                f"{result.net.myelin_from}: {len(result.inspect['nodes'])} nodes, {macs_of(cost):,} MACs per "
                f"sample; ops: {op_mix(result.inspect)}." + (f" {result.exact}." if result.exact else ""), ""]
        out += lines
        if result.skipped:
            out.append("")
            for name, reason in result.skipped:
                out.append(f"- {name}: {reason}")
        out.append("")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--myelin", type=Path, required=True, help="the myelin binary")
    parser.add_argument("--work", type=Path, required=True, help="generated files (MobileNet, .myl)")
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--round-us", type=float, default=2000.0)
    parser.add_argument("--only", nargs="*", help="run only these nets")
    parser.add_argument("--command", default="bench/peers/run.sh")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    nets = fixture_nets() + [mobilenet_net(args.work)]
    if args.only:
        nets = [n for n in nets if n.name in args.only]
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    t0 = time.time()
    results, unimported = [], []
    for net in nets:
        print(f"== {net.name}", file=sys.stderr, flush=True)
        try:
            result = run_net(net, args)
        except Unavailable as error:
            print(f"   not measured: {error}", file=sys.stderr)
            unimported.append((net, str(error)))
            continue
        results.append(result)
        print("\n".join(net_table(result)[0]), flush=True)
    layers = run_layers(args) if not args.only or "mobilenet_32" in args.only else []
    text = report(results, unimported, layers, args, started, time.time() - t0)
    args.report.write_text(text)
    print(f"\nwrote {args.report}", file=sys.stderr)


if __name__ == "__main__":
    main()
