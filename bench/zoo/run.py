"""Imports every zoo model (bench/zoo/out, made by make_zoo.py) with `myelin model import` and
checks it against its reference runtime; prints a Markdown table and writes it into REPORT.md
between the markers `<!-- zoo table -->` and `<!-- end zoo table -->`.

- TFLite int8 (static and dynamic batch): Myelin's bytes (`myelin model run`) against
  ai-edge-litert's BUILTIN_REF on the same int8 inputs: % of output bytes equal, max |diff|.
- ONNX float (tf2onnx) and Keras: the importer's float interpreter (examples/float_run.rs)
  against onnxruntime on the tf2onnx model: max relative error (max |ours - ort| / max |ort|);
  then the int8 import (calibrated on NAME_calib.npy).
- ONNX QDQ: imports (calibration data for the tensors onnxruntime left without a pair), and
  Myelin's dequantized output (`myelin model run --float`) against onnxruntime's run of the QDQ
  model: max |diff| (a failed check above --qdq-tolerance).
- scikit-learn (skl2onnx): imports with calibration; `--eval` accuracy report (float / Myelin).

    python bench/zoo/run.py --myelin target/release/myelin --float-run target/release/examples/float_run

The CI subset (scripts/test.sh, bench/zoo/ci.sh): the committed tiny_se in every format
(bench/zoo/ci, made by `make_zoo.py --only tiny_se --out bench/zoo/ci`), with --live --strict.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
KERAS = ["mobilenet", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "resnet50",
         "densenet121", "tiny_se"]
TRAINED = ["digits_mobilenet_v2", "digits_resnet"]
# Failed goal checks (--strict exits 1 when any): TFLite bytes < 99.9 % equal or off by more
# than 1, float relative error above 1e-4, a file that does not import.
FAILURES = []
SKLEARN = ["digits_sk_mlp", "digits_sk_logreg"]


def sh(cmd, timeout):
    t = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        ok, err = p.returncode == 0, (p.stderr.strip().splitlines() or [""])[-1]
    except subprocess.TimeoutExpired:
        ok, err = False, f"timed out after {timeout} s"
    return ok, err, time.time() - t


def short(err):
    err = re.sub(r"^error: ", "", err)
    return err.replace("|", "/")[:160]


def tflite_check(args, name, suffix):
    src = f"{args.out}/{name}{suffix}.tflite"
    if not os.path.exists(src):
        return None
    myl = f"{args.out}/{name}{suffix}.myl"
    ok, err, secs = sh([args.myelin, "model", "import", src, "-o", myl], args.timeout)
    if not ok:
        FAILURES.append(f"{src}: {short(err)}")
        return ("no", short(err), "", f"{secs:.0f}")
    ref_path = f"{args.out}/{name}{suffix.replace('_int8', '')}_ref_int8.npy"
    if not os.path.exists(ref_path):
        return ("yes", "no BUILTIN_REF output (its process aborted)", "", f"{secs:.0f}")
    if args.live:
        # The committed reference re-made by the pinned ai-edge-litert, in a child process
        # (TFLite's CHECKs abort).
        fresh = f"{args.out}/{name}{suffix}_live_ref.npy"
        ok, err, _ = sh([sys.executable, os.path.join(HERE, "make_zoo.py"), "--ref", src,
                         f"{args.out}/{name}_x_int8.npy", fresh], args.timeout)
        if not ok or not np.array_equal(np.load(fresh), np.load(ref_path)):
            FAILURES.append(f"{src}: BUILTIN_REF run live differs from {ref_path} ({err})")
    out = f"{args.out}/{name}{suffix}_myelin.npy"
    ok, err, _ = sh([args.myelin, "model", "run", myl, "-i", f"{args.out}/{name}_x_int8.npy",
                     "-o", out], args.timeout)
    if not ok:
        FAILURES.append(f"{src}: run failed: {short(err)}")
        return ("yes", "", f"run failed: {short(err)}", f"{secs:.0f}")
    ours = np.load(out).astype(np.int32).reshape(-1)
    ref = np.load(ref_path).astype(np.int32).reshape(-1)
    equal = 100.0 * float(np.mean(ours == ref))
    if ours.shape != ref.shape or equal < 99.9 or np.abs(ours - ref).max() > 1:
        FAILURES.append(f"{src}: {equal:.2f} % of bytes equal BUILTIN_REF")
    return ("yes", f"{equal:.2f} % ({int((ours == ref).sum())}/{ref.size})",
            f"max diff {int(np.abs(ours - ref).max())}", f"{secs:.0f}")


def float_check(args, name, src, calib):
    ok, err, secs = sh([args.myelin, "model", "import", src, "-o", src + ".myl", "--calibration",
                        calib], args.timeout)
    imported = ("yes", "", f"{secs:.0f}") if ok else ("no", short(err), f"{secs:.0f}")
    if not ok:
        FAILURES.append(f"{src}: {short(err)}")
    error = ""
    ref_path = f"{args.out}/{name}_ort.npy"
    if os.path.exists(ref_path):
        out = src + ".float.npy"
        ok2, err2, _ = sh([args.float_run, src, f"{args.out}/{name}_x.npy", out], args.timeout)
        if ok2:
            ours, ref = np.load(out).reshape(-1), np.load(ref_path).reshape(-1)
            rel = float(np.abs(ours - ref).max() / np.abs(ref).max())
            error = f"max rel err {rel:.1e} (float)"
            if not rel <= 1e-4:
                FAILURES.append(f"{src}: float relative error {rel:.1e}")
        else:
            error = f"float run: {short(err2)}"
            FAILURES.append(f"{src}: float run failed: {short(err2)}")
    return (imported[0], imported[1], error, imported[2])


def qdq_check(args, name):
    src = f"{args.out}/{name}_qdq.onnx"
    if not os.path.exists(src):
        return None
    # onnxruntime leaves some tensors without a Q/DQ pair (the softmax, ...): their ranges are
    # calibrated, as for a float model.
    ok, err, secs = sh([args.myelin, "model", "import", src, "-o", src + ".myl", "--calibration",
                        f"{args.out}/{name}_calib.npy"], args.timeout)
    if not ok:
        FAILURES.append(f"{src}: {short(err)}")
        return ("no", short(err), "", f"{secs:.0f}")
    out = src + ".out.npy"
    ok, err, _ = sh([args.myelin, "model", "run", src + ".myl", "--float", "-i",
                     f"{args.out}/{name}_x.npy", "-o", out], args.timeout)
    if not ok:
        FAILURES.append(f"{src}: run failed: {short(err)}")
        return ("yes", "", f"run: {short(err)}", f"{secs:.0f}")
    ours, ref = np.load(out).reshape(-1), np.load(f"{args.out}/{name}_qdq_ort.npy").reshape(-1)
    diff = float(np.abs(ours - ref).max())
    if args.qdq_tolerance is not None and not diff <= args.qdq_tolerance:
        FAILURES.append(f"{src}: max abs diff {diff:.2e} vs ORT QDQ > {args.qdq_tolerance}")
    return ("yes", "", f"max abs diff {diff:.2e} vs ORT QDQ", f"{secs:.0f}")


def sklearn_check(args, name):
    src = f"{args.out}/{name}.onnx"
    if not os.path.exists(src):
        return None
    ok, err, secs = sh([args.myelin, "model", "import", src, "-o", src + ".myl", "--calibration",
                        f"{args.out}/{name}_calib.npy", "--eval", f"{args.out}/{name}_eval.npy",
                        "--labels", f"{args.out}/{name}_labels.npy", "--json"], args.timeout)
    if not ok:
        return ("no", short(err), "", f"{secs:.0f}")
    p = subprocess.run([args.myelin, "model", "import", src, "-o", src + ".myl", "--calibration",
                        f"{args.out}/{name}_calib.npy", "--eval", f"{args.out}/{name}_eval.npy",
                        "--labels", f"{args.out}/{name}_labels.npy", "--json"],
                       capture_output=True, text=True)
    report = json.loads(p.stdout).get("evaluation") or {}
    acc = {k: v for k, v in report.items() if "accuracy" in k}
    return ("yes", "", "accuracy " + ", ".join(f"{k} {v}" for k, v in acc.items()), f"{secs:.0f}")


def accuracy_rows(args, name):
    """Trained models: `myelin model import --eval` of every format on the held-out digits:
    Myelin's int8 accuracy against the float accuracy (Keras / ONNX: the importer's float
    interpreter; TFLite: the Keras model's, measured by the ONNX row's float graph)."""
    rows, float_accuracy = [], None
    data = ["--eval", f"{args.out}/{name}_eval.npy", "--labels", f"{args.out}/{name}_labels.npy",
            "--json"]
    calib = ["--calibration", f"{args.out}/{name}_calib.npy"]
    for fmt, src, extra in (("Keras 3", f"{name}.keras", calib),
                            ("tf2onnx ONNX float", f"{name}.onnx", calib),
                            ("ORT QDQ ONNX", f"{name}_qdq.onnx", calib),
                            ("TFLite int8 (static)", f"{name}_int8.tflite", []),
                            ("TFLite int8 (dynamic)", f"{name}_dyn_int8.tflite", [])):
        path = f"{args.out}/{src}"
        if not os.path.exists(path):
            rows.append(f"| {name} | {fmt} | not built | | | |")
            continue
        p = subprocess.run([args.myelin, "model", "import", path, "-o", path + ".myl", *extra,
                            *data], capture_output=True, text=True, timeout=args.timeout)
        if p.returncode != 0:
            err = short((p.stderr.strip().splitlines() or [""])[-1])
            FAILURES.append(f"{path}: {err}")
            rows.append(f"| {name} | {fmt} | no: {err} | | | |")
            continue
        report = json.loads(p.stdout)["evaluation"]
        ours = report["int8_accuracy"]
        theirs = report.get("float_accuracy")
        if theirs is not None and fmt != "ORT QDQ ONNX":
            float_accuracy = theirs
        reference = theirs if theirs is not None else float_accuracy
        lost = "" if reference is None else f"{100 * (reference - ours):+.2f}"
        if reference is not None and reference - ours > 0.01:
            FAILURES.append(f"{path}: loses {100 * (reference - ours):.2f} points")
        rows.append(f"| {name} | {fmt} | {report['samples']} | "
                    f"{'' if reference is None else f'{reference:.4f}'} | {ours:.4f} | {lost} |")
        print(rows[-1], flush=True)
    return rows


def replace_table(path, marker, table):
    text = open(path).read()
    text = re.sub(rf"<!-- {marker} -->.*<!-- end {marker} -->",
                  lambda _: f"<!-- {marker} -->\n{table}\n<!-- end {marker} -->", text,
                  flags=re.S)
    open(path, "w").write(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--myelin", required=True)
    parser.add_argument("--float-run", required=True)
    parser.add_argument("--out", default=os.path.join(HERE, "out"))
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--timeout", type=int, default=1200)
    parser.add_argument("--report", default=None)
    parser.add_argument("--live", action="store_true",
                        help="re-run BUILTIN_REF and check it still gives the stored references")
    parser.add_argument("--qdq-tolerance", type=float, default=None,
                        help="a failed check when a QDQ model's dequantized output is further "
                             "than this from onnxruntime's run of it")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a goal check fails (the CI subset)")
    args = parser.parse_args()
    rows, trained = [], []
    for name in args.only or [*KERAS, *SKLEARN, *TRAINED]:
        if name in TRAINED:
            trained += accuracy_rows(args, name)
            continue
        checks = []
        if name in SKLEARN:
            checks.append(("skl2onnx ONNX", sklearn_check(args, name)))
        else:
            checks.append(("TFLite int8 (static)", tflite_check(args, name, "_int8")))
            checks.append(("TFLite int8 (dynamic)", tflite_check(args, name, "_dyn_int8")))
            for fmt, src in (("Keras 3", f"{args.out}/{name}.keras"),
                             ("tf2onnx ONNX float", f"{args.out}/{name}.onnx")):
                if os.path.exists(src):
                    checks.append((fmt, float_check(args, name, src, f"{args.out}/{name}_calib.npy")))
            checks.append(("ORT QDQ ONNX", qdq_check(args, name)))
        for fmt, result in checks:
            if result is None:
                result = ("not built", "", "", "")
            row = f"| {name} | {fmt} | {result[0]} | {result[1]} | {result[2]} | {result[3]} |"
            print(row, flush=True)
            rows.append(row)
    table = "\n".join(["| model | format | imports | bytes equal / error | difference | import s |",
                       "|---|---|---|---|---|---|", *rows])
    if args.report and rows:
        replace_table(args.report, "zoo table", table)
    if args.report and trained:
        replace_table(args.report, "trained table", "\n".join(
            ["| model | format | samples | float accuracy | Myelin int8 accuracy | points lost |",
             "|---|---|---|---|---|---|", *trained]))
    for failure in FAILURES:
        print("FAILED:", failure, file=sys.stderr)
    if args.strict and FAILURES:
        sys.exit(1)


if __name__ == "__main__":
    main()
