#!/usr/bin/python3
"""Selective scans whose A is uniform along the states (Mamba-2: one decay
per head), in one run (utils/bench.sh): the compiled scan with A built in
the program by a broadcast (the fast path then computes exp(dt * A) once per
channel and step), the same scan with A passed as a full (d, n) array (the
general fast path, one exp per state), the broadcast form with B and C as
slices of a wider (L, d + 2n) array (rows d + 2n floats apart, as the
Mamba-2 block passes them from its conv output), each with 1 and 2 threads, and the plain C++ recurrence
(bench/plain_scan.cpp, one exp per state update) on the same shape; the
three forms' outputs must agree (docs/cpu-fast-path.md). Token-major, delta_softplus, D, z and delta_bias, as the Mamba-2
block runs it. Shapes: Mamba-2-130m's layer (d_inner 1536, d_state 128,
2048 tokens) and d_state 16.
"""
import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse
import sys
import tempfile

import numpy as np

from benchlib import run, median_ms

PROGRAM = """
func.func @main(%%u: tensor<1x%(L)dx%(d)dxf32>, %%dt: tensor<1x%(L)dx%(d)dxf32>, %(a_arg)s,
                %(bc_arg)s, %%D: tensor<%(d)dxf32>,
                %%z: tensor<1x%(L)dx%(d)dxf32>, %%bias: tensor<%(d)dxf32>) -> tensor<1x%(L)dx%(d)dxf32> {%(a_build)s%(bc_build)s
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

CONTIGUOUS_BC = "%%B: tensor<1x%(L)dx%(n)dxf32>, %%C: tensor<1x%(L)dx%(n)dxf32>"
STRIDED_BC = """
  %%B = tensor.extract_slice %%xbc[0, 0, %(d)d] [1, %(L)d, %(n)d] [1, 1, 1] : tensor<1x%(L)dx%(w)dxf32> to tensor<1x%(L)dx%(n)dxf32>
  %%C = tensor.extract_slice %%xbc[0, 0, %(dn)d] [1, %(L)d, %(n)d] [1, 1, 1] : tensor<1x%(L)dx%(w)dxf32> to tensor<1x%(L)dx%(n)dxf32>"""


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
          "| broadcast A, strided B/C 1T | 2T | plain C++ | 1T vs plain |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-uniform-") as tmp:
        for d, L, n in ((1536, 2048, 128), (1536, 2048, 16)):
            a = -np.exp(rng.uniform(-2.0, 1.5, d)).astype(np.float32)
            common = [rng.standard_normal((1, L, d)), rng.uniform(-4.0, 1.0, (1, L, d))]
            xbc = rng.standard_normal((1, L, d + 2 * n))
            bc = [xbc[:, :, d:d + n], xbc[:, :, d + n:]]
            rest = [rng.standard_normal(d), rng.standard_normal((1, L, d)),
                    rng.uniform(-1.0, 0.5, d)]
            outs = {}
            times = {}
            for form in ("broadcast", "full", "strided"):
                sizes = {"d": d, "L": L, "n": n, "w": d + 2 * n, "dn": d + n}
                if form == "full":
                    sizes["a_arg"] = "%%A: tensor<%dx%dxf32>" % (d, n)
                    sizes["a_build"] = ""
                    a_in = np.repeat(a[:, None], n, axis=1)
                else:
                    sizes["a_arg"] = "%%a: tensor<%dxf32>" % d
                    sizes["a_build"] = BROADCAST % sizes
                    a_in = a
                if form == "strided":
                    sizes["bc_arg"] = "%%xbc: tensor<1x%dx%dxf32>" % (L, d + 2 * n)
                    sizes["bc_build"] = STRIDED_BC % sizes
                    bc_in = [xbc]
                else:
                    sizes["bc_arg"] = CONTIGUOUS_BC % sizes
                    sizes["bc_build"] = ""
                    bc_in = bc
                src = os.path.join(tmp, form + ".mlir")
                with open(src, "w") as f:
                    f.write(PROGRAM % sizes)
                cmd = [ssm_run, src, "-e", "main"]
                for i, v in enumerate(common + [a_in] + bc_in + rest):
                    p = os.path.join(tmp, "%s%d.npy" % (form, i))
                    np.save(p, np.asarray(v, np.float32))
                    cmd += ["--input", p]
                outs[form] = os.path.join(tmp, form + "_y.npy")
                cmd += ["--output", outs[form]]
                for th in (1, 2):
                    times[form, th] = median_ms(run(cmd + ["--time", str(args.reps),
                                                           "--threads", str(th)]))
            # The same exp2, computed once or n times, on the same values: the
            # strided form runs the broadcast form's code on other addresses
            # (identical outputs); the full form passes over the states in
            # blocks of another size (32 instead of 16, docs/cpu-fast-path.md),
            # so its C contractions are summed in another order (outputs
            # within rounding: the largest difference at most 1e-6 of the
            # largest output).
            ref_y = np.load(outs["broadcast"])
            if not np.array_equal(ref_y, np.load(outs["strided"])):
                sys.exit("uniform_decay: the strided form's output differs from the "
                         "broadcast form's (d %d, n %d)" % (d, n))
            full_y = np.load(outs["full"])
            err = np.abs(full_y - ref_y).max() / np.abs(ref_y).max()
            if not err <= 1e-6:
                sys.exit("uniform_decay: the full form's output differs from the "
                         "broadcast form's by %g (d %d, n %d)" % (err, d, n))
            plain = median_ms(run([args.plain, "1", str(d), str(L), str(n), "1"]))
            print("| (%d, %d, %d) | %.2f | %.2f | %.2f | %.2f | %.2fx | %.2f | %.2f | %.1f | %.1fx |"
                  % (d, L, n, times["broadcast", 1], times["broadcast", 2], times["full", 1],
                     times["full", 2], times["full", 1] / times["broadcast", 1],
                     times["strided", 1], times["strided", 2], plain,
                     plain / times["broadcast", 1]))


if __name__ == "__main__":
    main()
