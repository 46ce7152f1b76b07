#!/usr/bin/python3
"""Selective-scan and conv benchmark (utils/bench.sh): the compiled scan (fast path,
1 and 2 threads, both layouts), the reference loop lowering, a plain C++
recurrence (bench/plain_scan.cpp, g++ -O3 -march=native, no fast-math) and a
hand-written AVX-512 kernel (bench/avx512_scan.cpp, token-major), run side by
side in one run on the same machine, with the machine's FMA peak measured in
the same run (bench/fma_peak.cpp).

Prints, per shape: median ms of each, the speed-up over the plain C++
recurrence, and the fraction of the arithmetic bound reached, where the bound
is performance.md's 5.28 ms per 50.3 M state updates on one core (one exp2 and
about four FMA-class operations per update at the machine's FMA peak), halved
for two threads. Peak memory comes from /usr/bin/time -v.
"""
import os

# numpy's BLAS threads busy-wait after use; on a 2-core machine they would
# compete with the measured programs. This script needs none of them.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse
import sys
import tempfile

import numpy as np

from benchlib import (BOUND_NS_PER_UPDATE, STREAM_GBS, TM_PROGRAM, run, median_ms, peak_mb,
                      save_inputs, scan_command, scan_inputs)

# Causal conv1d (k = 4, bias, SiLU) in both layouts: b, d, L.
CONV_SHAPES = [("reference shape", 1, 1536, 2048), ("d = 4096, L = 8192", 1, 4096, 8192)]
CONV_PROGRAM = """
func.func @conv(%%x: tensor<%s>, %%w: tensor<%dx4xf32>, %%b: tensor<%dxf32>) -> tensor<%s> {
  %%y = ssm.causal_conv1d %s %%x, %%w bias(%%b : tensor<%dxf32>) silu
      : tensor<%s>, tensor<%dx4xf32> -> tensor<%s>
  return %%y : tensor<%s>
}
"""

SHAPES = [
    # name, b, d, L, n, reference lowering too?
    ("reference shape", 1, 1536, 2048, 16, True),
    ("n = 1", 1, 1536, 2048, 1, True),
    ("n = 4", 1, 1536, 2048, 4, True),
    ("n = 64", 1, 1536, 2048, 64, False),
    ("n = 256 (state blocks)", 1, 1536, 2048, 256, True),
    ("L = 1", 1, 1536, 1, 16, True),
    ("L = 64", 1, 1536, 64, 16, True),
    ("L = 65536", 1, 1536, 65536, 16, False),
    ("d = 24", 1, 24, 2048, 16, True),
    ("d = 4096", 1, 4096, 2048, 16, False),
]


def token_major_times(ssm_run, tmp, x, shape, reps):
    """The compiled scan in token_major layout (u, delta, z: (b, L, d); B, C:
    (b, L, n)) on the same values, 1 and 2 threads."""
    b, d, L, n = shape
    types = {"act": "tensor<%dx%dx%dxf32>" % (b, L, d), "a": "tensor<%dx%dxf32>" % (d, n),
             "bc": "tensor<%dx%dx%dxf32>" % (b, L, n), "ch": "tensor<%dxf32>" % d}
    src = os.path.join(tmp, "scan_tm.mlir")
    with open(src, "w") as f:
        f.write(TM_PROGRAM % types)
    cmd = [ssm_run, src, "-e", "scan", "--output", os.path.join(tmp, "y_tm.npy")]
    for k in ("u", "delta", "A", "B", "C", "D", "z", "delta-bias"):
        v = x[k].transpose(0, 2, 1) if x[k].ndim == 3 else x[k]
        path = os.path.join(tmp, "tm_%s.npy" % k)
        np.save(path, np.ascontiguousarray(v, dtype=np.float32))
        cmd += ["--input", path]
    return shape, {th: median_ms(run(cmd + ["--time", str(reps), "--threads", str(th)]))
                   for th in (1, 2)}


def hand_times(hand, shape, reps, label, extra=()):
    """The hand-written kernel on 1 and 2 threads ({"hand 1T": ms, ...}), where
    it applies (d a multiple of 16, n in 1, 4, 16); exits if its own check
    against float64 exceeds semantics.md's 1e-5."""
    b, d, L, n = shape
    if not hand or d % 16 or n not in (1, 4, 16):
        return {}
    t = {}
    for th in (1, 2):
        out = run([hand, str(b), str(d), str(L), str(n), str(reps), str(th)] + list(extra))
        err = float(out.split("max_rel_err=")[1].split()[0])
        if not err <= 1e-5:
            sys.exit("avx512_scan %s: relative error %g against float64" % (label, err))
        t["hand %dT" % th] = median_ms(out)
    return t


def plain_problem_times(ssm_run, hand, tmp, x, paths, shape, reps):
    """performance.md's arithmetic bound is stated for u, delta, A, B, C, D
    (no delta_bias, softplus or gate): the compiled scan (channel_first,
    delta = softplus of the main row's draw so that dt > 0 as in a model)
    and the hand-written kernel's `plain` mode, 1 and 2 threads."""
    b, d, L, n = shape
    dt = os.path.join(tmp, "dt_plain.npy")
    np.save(dt, np.logaddexp(0.0, x["delta"]).astype(np.float32))
    cmd = [ssm_run, "scan", "--out", os.path.join(tmp, "y_plain.npy"), "--delta", dt]
    for k in ("u", "A", "B", "C", "D"):
        cmd += ["--" + k, paths[k]]
    t = {th: median_ms(run(cmd + ["--time", str(reps), "--threads", str(th)]))
         for th in (1, 2)}
    t.update(hand_times(hand, shape, reps, "plain", ["plain"]))
    return shape, t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--plain", required=True, help="the compiled plain_scan")
    ap.add_argument("--hand", help="the compiled avx512_scan (hand-written kernel)")
    ap.add_argument("--peak", help="the compiled fma_peak")
    ap.add_argument("--quick", action="store_true", help="only the reference shape")
    ap.add_argument("--only", help="only the scan shapes whose name contains this "
                    "(the conv rows are skipped)")
    args = ap.parse_args()
    ssm_run = os.path.join(args.tools, "ssm-run")
    rng = np.random.default_rng(0)
    shapes = SHAPES[:1] if args.quick else SHAPES
    if args.only:
        shapes = [s for s in SHAPES if args.only in s[0]]
    rows = []
    layout_rows = []
    plain_rows = []
    if args.peak:
        peaks = {th: float(run([args.peak, str(th)]).split("gflops=")[1].split()[0])
                 for th in (1, 2)}
        print("FMA peak measured now: %.0f GFLOP/s on 1 core, %.0f on 2 "
              "(performance.md: 222 and 448)" % (peaks[1], peaks[2]), flush=True)
    with tempfile.TemporaryDirectory(prefix="ssm-bench-") as tmp:
        # The runner's own footprint (MLIR, LLVM, the JIT) on a 1x1x1x1 scan.
        tiny = {}
        for k, shape in [("u", (1, 1, 1)), ("delta", (1, 1, 1)), ("A", (1, 1)),
                         ("B", (1, 1, 1)), ("C", (1, 1, 1))]:
            tiny[k] = os.path.join(tmp, "tiny_" + k + ".npy")
            np.save(tiny[k], np.full(shape, 0.5, np.float32))
        cmd = ["/usr/bin/time", "-v", ssm_run, "scan", "--out", os.path.join(tmp, "t.npy"),
               "--threads", "1"]
        for k, p in tiny.items():
            cmd += ["--" + k, p]
        baseline = peak_mb(run(cmd))
        for name, b, d, L, n, with_ref in shapes:
            updates = b * d * L * n
            # At least 11 calls: the first few pay page faults on fresh output
            # buffers (expensive in this VM) until glibc reuses them.
            reps = max(11, min(51, int(2e9 / max(updates, 1) / 10)))
            x = scan_inputs(rng, b, d, L, n)
            paths = save_inputs(tmp, x)
            out = os.path.join(tmp, "y.npy")
            base = scan_command(ssm_run, paths, out)
            scan = base + ["--time", str(reps)]
            t = {}
            res1 = run(["/usr/bin/time", "-v"] + scan + ["--threads", "1"])
            t["fast 1T"], mem = median_ms(res1), peak_mb(res1)
            t["fast 2T"] = median_ms(run(scan + ["--threads", "2"]))
            if with_ref:
                t["reference loops"] = median_ms(
                    run(base + ["--time", "3", "--reference", "--threads", "1"]))
            t.update(hand_times(args.hand, (b, d, L, n), reps, name))
            if name == "reference shape":
                layout_rows.append(token_major_times(ssm_run, tmp, x, (b, d, L, n), reps))
                plain_rows.append(plain_problem_times(ssm_run, args.hand, tmp, x, paths,
                                                      (b, d, L, n), reps))
            plain_reps = 3 if updates < 2e8 else 1
            t["plain C++"] = median_ms(run([args.plain, str(b), str(d), str(L), str(n), str(plain_reps)]))
            bound = updates * BOUND_NS_PER_UPDATE / 1e6
            inputs_mb = sum(os.path.getsize(p) for p in paths.values()) / 2**20
            rows.append((name, (b, d, L, n), t, bound, mem, inputs_mb))
            print("%-16s done" % name, flush=True)

        conv_rows = []
        conv_shapes = [] if args.only else CONV_SHAPES[:1] if args.quick else CONV_SHAPES
        for name, b, d, L in conv_shapes:
            for layout in ("channel_first", "token_major"):
                shape = (b, d, L) if layout == "channel_first" else (b, L, d)
                ty = "x".join(str(v) for v in shape) + "xf32"
                src = os.path.join(tmp, "conv.mlir")
                with open(src, "w") as f:
                    f.write(CONV_PROGRAM % (ty, d, d, ty, layout, d, ty, d, ty, ty))
                ins = []
                for k, v in [("x", rng.standard_normal(shape)), ("w", rng.standard_normal((d, 4))),
                             ("b", rng.standard_normal(d))]:
                    ins += ["--input", os.path.join(tmp, "conv_" + k + ".npy")]
                    np.save(ins[-1], v.astype(np.float32))
                cmd = [ssm_run, src, "-e", "conv"] + ins + ["--output", os.path.join(tmp, "cy.npy")]
                t = {th: median_ms(run(cmd + ["--time", "21", "--threads", str(th)]))
                     for th in (1, 2)}
                t["ref"] = median_ms(run(cmd + ["--time", "3", "--reference"]))
                traffic = 2 * b * d * L * 4  # x read once, y written once
                conv_rows.append(("%s, %s" % (name, layout), (b, d, L), t, traffic))
                print("conv %-28s done" % (name + " " + layout), flush=True)

    print()
    print("| shape (b, d, L, n) | fast 1T ms | fast 2T ms | reference loops ms | plain C++ ms "
          "| hand-written 1T / 2T ms | 1T vs plain | 1T vs hand-written | 2T vs 1T "
          "| 1T of bound | 2T of bound | peak MB above baseline (in+out MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, shape, t, bound, mem, inputs_mb in rows:
        ref = "%.2f" % t["reference loops"] if "reference loops" in t else "-"
        hand, vs_hand = "-", "-"
        if "hand 1T" in t:
            hand = "%.3f / %.3f" % (t["hand 1T"], t["hand 2T"])
            vs_hand = "%.2fx" % (t["hand 1T"] / t["fast 1T"])
        out_mb = shape[0] * shape[1] * shape[2] * 4 / 2**20
        print("| %s %s | %.3f | %.3f | %s | %.2f | %s | %.1fx | %s | %.2fx | %.0f%% | %.0f%% "
              "| %.0f (%.0f) |" % (
                  name, shape, t["fast 1T"], t["fast 2T"], ref, t["plain C++"], hand,
                  t["plain C++"] / t["fast 1T"], vs_hand, t["fast 1T"] / t["fast 2T"],
                  100 * bound / t["fast 1T"], 100 * (bound / 2) / t["fast 2T"], mem - baseline,
                  inputs_mb + out_mb))
    for shape, t in layout_rows:
        print()
        print("Reference shape %s in token_major layout (FILE mode, the same values "
              "transposed): fast 1T %.3f ms, 2T %.3f ms (%.2fx)." % (
                  shape, t[1], t[2], t[1] / t[2]))
    for shape, t in plain_rows:
        bound = shape[0] * shape[1] * shape[2] * shape[3] * BOUND_NS_PER_UPDATE / 1e6
        hand = ""
        if "hand 1T" in t:
            hand = "; hand-written (plain mode) 1T %.3f ms, 2T %.3f ms, compiled 1T vs " \
                "hand-written %.2fx, hand-written 1T of bound %.0f%%" % (
                    t["hand 1T"], t["hand 2T"], t["hand 1T"] / t[1], 100 * bound / t["hand 1T"])
        print()
        print("Reference shape %s, performance.md's problem (u, delta, A, B, C, D; no "
              "delta_bias, softplus or gate), channel_first: fast 1T %.3f ms, 2T %.3f ms "
              "(%.2fx), 1T of bound %.0f%%%s." % (
                  shape, t[1], t[2], t[1] / t[2], 100 * bound / t[1], hand))
    if conv_rows:
        print()
        print("Causal conv1d (k = 4, bias, SiLU): memory bound = (x + y bytes) / STREAM triad.")
        print()
        print("| shape (b, d, L), layout | fast 1T ms | fast 2T ms | reference loops ms "
              "| 1T / memory bound | 2T / memory bound | 2T vs 1T |")
        print("|---|---|---|---|---|---|---|")
    for name, shape, t, traffic in conv_rows:
        b1 = traffic / (STREAM_GBS[1] * 1e6)
        b2 = traffic / (STREAM_GBS[2] * 1e6)
        print("| %s %s | %.3f | %.3f | %.2f | %.2fx | %.2fx | %.2fx |" % (
            name, shape, t[1], t[2], t["ref"], t[1] / b1, t[2] / b2, t[1] / t[2]))
    print()
    print("bound: %.3f ns per state update on one core (performance.md); "
          "'of bound' = bound / measured." % BOUND_NS_PER_UPDATE)
    print("peak memory: maximum RSS of the 1-thread run minus the runner's own "
          "%.0f MB (a 1x1x1x1 scan)." % baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
