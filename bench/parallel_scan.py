#!/usr/bin/python3
"""Time-parallel scan benchmark (utils/bench.sh): sequences with fewer lane
tiles than threads, where ssm-parallel-scan cuts time into chunks. In one
run, per shape:

- seq 1T: the sequential fast path on one thread;
- seq 2T: two threads without the time-parallel form (--no-parallel-scan),
  i.e. what channel tiles alone give;
- par 2T: two threads, the pipeline's own choice (the cost model picks two
  time chunks);
- par-form 1T: the parallel form (forced 2 chunks with ssm-opt) run on one
  thread: its total work, so par-form 1T / seq 1T - 1 is the extra work of
  the parallel form (the corrections, the zero tests, copies).

It also checks that par 2T and seq 1T agree (max normwise relative
difference, the test suite's measure).
"""
import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse
import sys
import tempfile

import numpy as np

from benchlib import run, median_ms

# name, b, d, L, n: the shape, and shapes of the research tasks
# (one long sequence, a handful of channels, few states).
SHAPES = [
    ("b1 d16 n16 L 2^20", 1, 16, 1 << 20, 16),
    ("b1 d8 n1 L 2^20 (counter)", 1, 8, 1 << 20, 1),
    ("b1 d16 n64 L 2^16", 1, 16, 1 << 16, 64),
]
# ssm.scan (generic recurrence, reference loops): (L, lanes), decays in [0.5, 1).
LINEAR_SHAPES = [("ssm.scan L 2^22 x 4 lanes", 1 << 22, 4)]
LINEAR_PROGRAM = """
func.func @main(%%a: tensor<%dx%dxf32>, %%b: tensor<%dx%dxf32>) -> tensor<%dx%dxf32> {
  %%r = ssm.scan %%a, %%b dim = 0 : tensor<%dx%dxf32>, tensor<%dx%dxf32> -> tensor<%dx%dxf32>
  return %%r : tensor<%dx%dxf32>
}
"""


def rel_diff(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def forced(ssm_opt, program):
    return run([ssm_opt, "--ssm-parallel-scan=chunks=2"], stdin=program)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    ssm_run = os.path.join(args.tools, "ssm-run")
    ssm_opt = os.path.join(args.tools, "ssm-opt")
    rng = np.random.default_rng(0)
    rows = []
    reps = str(args.reps)
    with tempfile.TemporaryDirectory(prefix="ssm-bench-par-") as tmp:
        for name, b, d, L, n in SHAPES:
            # Mamba's initialisation: A = -(1..n), dt = softplus(.) with the
            # bias of dt in [1e-3, 0.1].
            x = {
                "u": rng.standard_normal((b, d, L)),
                "delta": rng.uniform(-4.0, 1.0, (b, d, L)),
                "A": -np.tile(np.arange(1, n + 1, dtype=np.float64), (d, 1)),
                "B": rng.standard_normal((b, n, L)),
                "C": rng.standard_normal((b, n, L)),
                "D": rng.standard_normal(d),
                "z": rng.standard_normal((b, d, L)),
                "delta-bias": np.log(np.expm1(np.exp(rng.uniform(np.log(1e-3), np.log(0.1), d)))),
            }
            order = ["u", "delta", "A", "B", "C", "D", "z", "delta-bias"]
            paths = {}
            for k in order:
                paths[k] = os.path.join(tmp, k + ".npy")
                np.save(paths[k], x[k].astype(np.float32))
            out1, out2 = os.path.join(tmp, "y1.npy"), os.path.join(tmp, "y2.npy")
            base = [ssm_run, "scan", "--delta-softplus"]
            for k in order:
                base += ["--" + k, paths[k]]
            t = {}
            t["seq 1T"] = median_ms(run(base + ["--out", out1, "--time", reps, "--threads", "1"]))
            t["seq 2T"] = median_ms(run(base + ["--out", out2, "--time", reps, "--threads", "2",
                                                "--no-parallel-scan"]))
            t["par 2T"] = median_ms(run(base + ["--out", out2, "--time", reps, "--threads", "2"]))
            diff = rel_diff(np.load(out2), np.load(out1))
            src = os.path.join(tmp, "par.mlir")
            with open(src, "w") as f:
                f.write(forced(ssm_opt, run(base + ["--out", out2, "--emit=ssm"])))
            cmd = [ssm_run, src, "-e", "selective_scan", "--threads", "1", "--time", reps]
            for k in order:
                cmd += ["--input", paths[k]]
            t["par-form 1T"] = median_ms(run(cmd + ["--output", out2]))
            rows.append((name, t, diff))
            print("%-28s done" % name, flush=True)
        for name, L, lanes in LINEAR_SHAPES:
            a = rng.uniform(0.5, 1.0, (L, lanes)).astype(np.float32)
            bb = rng.standard_normal((L, lanes)).astype(np.float32)
            ins = []
            for k, v in (("a", a), ("b", bb)):
                ins += ["--input", os.path.join(tmp, "lin_%s.npy" % k)]
                np.save(ins[-1], v)
            src = os.path.join(tmp, "lin.mlir")
            program = LINEAR_PROGRAM % ((L, lanes) * 7)
            with open(src, "w") as f:
                f.write(program)
            cmd = [ssm_run, src, "-e", "main", "--time", reps] + ins
            out1, out2 = os.path.join(tmp, "l1.npy"), os.path.join(tmp, "l2.npy")
            t = {}
            t["seq 1T"] = median_ms(run(cmd + ["--output", out1, "--threads", "1"]))
            t["seq 2T"] = median_ms(run(cmd + ["--output", out2, "--threads", "2",
                                               "--no-parallel-scan"]))
            t["par 2T"] = median_ms(run(cmd + ["--output", out2, "--threads", "2"]))
            diff = rel_diff(np.load(out2), np.load(out1))
            psrc = os.path.join(tmp, "lin_par.mlir")
            with open(psrc, "w") as f:
                f.write(forced(ssm_opt, program))
            pcmd = [ssm_run, psrc, "-e", "main", "--time", reps, "--threads", "1"] + ins
            t["par-form 1T"] = median_ms(run(pcmd + ["--output", out2]))
            rows.append((name, t, diff))
            print("%-28s done" % name, flush=True)

    print()
    print("| shape | seq 1T ms | seq 2T ms | par 2T ms | par-form 1T ms | par 2T vs seq 1T "
          "| extra work of the parallel form | par 2T vs seq 1T, max rel diff |")
    print("|---|---|---|---|---|---|---|---|")
    for name, t, diff in rows:
        print("| %s | %.2f | %.2f | %.2f | %.2f | %.2fx | %+.0f%% | %.1e |" % (
            name, t["seq 1T"], t["seq 2T"], t["par 2T"], t["par-form 1T"],
            t["seq 1T"] / t["par 2T"], 100 * (t["par-form 1T"] / t["seq 1T"] - 1), diff))
    return 0


if __name__ == "__main__":
    sys.exit(main())
