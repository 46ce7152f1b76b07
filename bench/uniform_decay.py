#!/usr/bin/python3
"""Selective scans whose A is uniform along the states (Mamba-2: one decay
per head), in one run (utils/bench.sh): the compiled scan with A built in
the program by a broadcast (the fast path then computes exp(dt * A) once per
channel and step), the same scan with A passed as a full (d, n) array (the
general fast path, one exp per state), both with 1 and 2 threads, and the
plain C++ recurrence (bench/plain_scan.cpp, one exp per state update) on the
same shape. Token-major, delta_softplus, D, z and delta_bias, as the Mamba-2
block runs it. Shapes: Mamba-2-130m's layer (d_inner 1536, d_state 128,
2048 tokens) and d_state 16.
"""
import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse
import tempfile

import numpy as np

from benchlib import run, median_ms

PROGRAM = """
func.func @main(%%u: tensor<1x%(L)dx%(d)dxf32>, %%dt: tensor<1x%(L)dx%(d)dxf32>, %(a_arg)s,
                %%B: tensor<1x%(L)dx%(n)dxf32>, %%C: tensor<1x%(L)dx%(n)dxf32>, %%D: tensor<%(d)dxf32>,
                %%z: tensor<1x%(L)dx%(d)dxf32>, %%bias: tensor<%(d)dxf32>) -> tensor<1x%(L)dx%(d)dxf32> {%(a_build)s
  %%y = ssm.selective_scan token_major %%u, %%dt, %%A, %%B, %%C D(%%D : tensor<%(d)dxf32>)
      z(%%z : tensor<1x%(L)dx%(d)dxf32>) delta_bias(%%bias : tensor<%(d)dxf32>) delta_softplus
      : (tensor<1x%(L)dx%(d)dxf32>, tensor<1x%(L)dx%(d)dxf32>, tensor<%(d)dx%(n)dxf32>,
         tensor<1x%(L)dx%(n)dxf32>, tensor<1x%(L)dx%(n)dxf32>) -> tensor<1x%(L)dx%(d)dxf32>
  return %%y : tensor<1x%(L)dx%(d)dxf32>
}
"""

BROADCAST = """
  %%e = tensor.empty() : tensor<%(d)dx%(n)dxf32>
  %%A = linalg.broadcast ins(%%a : tensor<%(d)dxf32>) outs(%%e : tensor<%(d)dx%(n)dxf32>) dimensions = [1]"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tools", default="build/bin")
    ap.add_argument("--plain", required=True, help="the compiled plain_scan")
    ap.add_argument("--reps", type=int, default=11)
    args = ap.parse_args()
    ssm_run = os.path.join(args.tools, "ssm-run")
    rng = np.random.default_rng(3)
    print("== selective scan with one decay per channel (Mamba-2), token-major, "
          "median ms of %d calls" % args.reps)
    print("| shape (d, L, n) | broadcast A 1T | 2T | full A 1T | 2T | broadcast vs full, 1T "
          "| plain C++ | 1T vs plain |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-uniform-") as tmp:
        for d, L, n in ((1536, 2048, 128), (1536, 2048, 16)):
            a = -np.exp(rng.uniform(-2.0, 1.5, d)).astype(np.float32)
            common = [rng.standard_normal((1, L, d)), rng.uniform(-4.0, 1.0, (1, L, d))]
            rest = [rng.standard_normal((1, L, n)), rng.standard_normal((1, L, n)),
                    rng.standard_normal(d), rng.standard_normal((1, L, d)),
                    rng.uniform(-1.0, 0.5, d)]
            outs = {}
            times = {}
            for form in ("broadcast", "full"):
                sizes = {"d": d, "L": L, "n": n}
                if form == "broadcast":
                    sizes["a_arg"] = "%%a: tensor<%dxf32>" % d
                    sizes["a_build"] = BROADCAST % sizes
                    a_in = a
                else:
                    sizes["a_arg"] = "%%A: tensor<%dx%dxf32>" % (d, n)
                    sizes["a_build"] = ""
                    a_in = np.repeat(a[:, None], n, axis=1)
                src = os.path.join(tmp, form + ".mlir")
                with open(src, "w") as f:
                    f.write(PROGRAM % sizes)
                cmd = [ssm_run, src, "-e", "main"]
                for i, v in enumerate(common + [a_in] + rest):
                    p = os.path.join(tmp, "%s%d.npy" % (form, i))
                    np.save(p, np.asarray(v, np.float32))
                    cmd += ["--input", p]
                outs[form] = os.path.join(tmp, form + "_y.npy")
                cmd += ["--output", outs[form]]
                for th in (1, 2):
                    times[form, th] = median_ms(run(cmd + ["--time", str(args.reps),
                                                           "--threads", str(th)]))
            same = np.array_equal(np.load(outs["broadcast"]), np.load(outs["full"]))
            plain = median_ms(run([args.plain, "1", str(d), str(L), str(n), "1"]))
            print("| (%d, %d, %d) | %.2f | %.2f | %.2f | %.2f | %.2fx | %.1f | %.1fx |" % (
                d, L, n, times["broadcast", 1], times["broadcast", 2], times["full", 1],
                times["full", 2], times["full", 1] / times["broadcast", 1], plain,
                plain / times["broadcast", 1]))
            if not same:
                print("   note: the two forms' outputs differ (they should be identical)")


if __name__ == "__main__":
    main()
