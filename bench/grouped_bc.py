#!/usr/bin/python3
"""Selective scans with grouped B and C (channel c reads group c / G, G
channels per group), in one run (utils/bench.sh): the compiled fast path (1
and 2 threads, mamba_ssm's channel_first layout and token_major) for group
sizes that fit its 16-lane channel tiles (G a multiple of 16: one broadcast
per state and step), that split them into up to four groups (blended
broadcasts) and into more (a per-lane gather), beside the reference loop
lowering (what every split group size ran before the fast path took them)
and B and C shared by all channels (the fast path's best case). The
reference shape (b 1, d 1536, L 2048, n 16) with D, z, delta_bias and
delta_softplus; every output is checked against the float64 reference
(semantics.md's 1e-5). The one-thread bound is the larger of
performance.md's arithmetic bound and the time to move the operands once at
its one-core STREAM bandwidth: smaller groups mean more of B and C (d / G
groups of n L floats each).
"""
import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse
import sys
import tempfile

import numpy as np

from benchlib import (BOUND_NS_PER_UPDATE, STREAM_GBS, TM_PROGRAM, run, median_ms, save_inputs,
                      scan_command, scan_inputs)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "lib"))
import ssm_reference as ref  # noqa: E402

# Channels per group: None is B and C shared by every channel (b, n, L).
GROUP_SIZES = [None, 16, 24, 12, 8, 6, 3, 1]


def token_major(a):
    """(b, d, L) -> (b, L, d); (b, n, L) -> (b, L, n); (b, g, n, L) -> (b, L, g, n)."""
    return np.ascontiguousarray(np.moveaxis(a, -1, 1)) if a.ndim >= 3 else a


def how(G, d, V=16):
    """How the fast path reads G channels per group over d channels with V
    lanes (as groupsPerTile and kMaxBlendGroups in SSMToVector.cpp)."""
    if G is None or G % V == 0:
        return "one broadcast"
    most = max((min(c0 + V, d) - 1) // G - c0 // G + 1 for c0 in range(0, d, V))
    return "blend of %d" % most if most <= 4 else "gather"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tools", default="build/bin")
    ap.add_argument("--reps", type=int, default=11)
    args = ap.parse_args()
    ssm_run = os.path.join(args.tools, "ssm-run")
    b, d, L, n = 1, 1536, 2048, 16
    arith = b * d * L * n * BOUND_NS_PER_UPDATE / 1e6
    rng = np.random.default_rng(5)
    # bench/run.py's inputs; B and C are drawn per group size below.
    x = {k: v for k, v in scan_inputs(rng, b, d, L, n).items() if k not in ("B", "C")}
    print("== selective scan with grouped B/C (b %d, d %d, L %d, n %d), "
          "both layouts, median ms (%d calls; reference loops 3)" % (b, d, L, n, args.reps))
    print("| channels per group | read as | B + C MB | 1T bound ms | channel_first 1T | 2T "
          "| token_major 1T | 2T | reference loops 1T | channel_first 1T vs loops "
          "| 1T vs groups of 16 (cf, tm) | 1T of bound (cf, tm) | rel err (norm; cf, tm) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    base = None
    with tempfile.TemporaryDirectory(prefix="bench-grouped-") as tmp:
        paths = save_inputs(tmp, x)
        for G in GROUP_SIZES:
            shape = (b, n, L) if G is None else (b, d // G, n, L)
            B = rng.standard_normal(shape).astype(np.float32)
            C = rng.standard_normal(shape).astype(np.float32)
            save_inputs(tmp, {"B": B, "C": C}, paths)
            out = os.path.join(tmp, "y.npy")
            cmd = scan_command(ssm_run, paths, out)
            t = {th: median_ms(run(cmd + ["--time", str(args.reps), "--threads", str(th)]))
                 for th in (1, 2)}
            y = np.load(out).astype(np.float64)
            # token_major: the same values through ssm-run FILE.
            bc = "tensor<%s>" % "x".join(str(v) for v in token_major(B).shape + ("f32",))
            types = {"act": "tensor<%dx%dx%dxf32>" % (b, L, d), "a": "tensor<%dx%dxf32>" % (d, n),
                     "bc": bc, "ch": "tensor<%dxf32>" % d}
            src = os.path.join(tmp, "scan_tm.mlir")
            with open(src, "w") as f:
                f.write(TM_PROGRAM % types)
            out_tm = os.path.join(tmp, "y_tm.npy")
            tm_cmd = [ssm_run, src, "-e", "scan", "--output", out_tm]
            for k in ("u", "delta", "A", "B", "C", "D", "z", "delta-bias"):
                p = os.path.join(tmp, "tm_%s.npy" % k)
                np.save(p, token_major({"B": B, "C": C}.get(k, x.get(k))))
                tm_cmd += ["--input", p]
            ttm = {th: median_ms(run(tm_cmd + ["--time", str(args.reps), "--threads", str(th)]))
                   for th in (1, 2)}
            y_tm = np.load(out_tm).astype(np.float64).transpose(0, 2, 1)
            loops = median_ms(run(cmd + ["--time", "3", "--reference", "--threads", "1"]))
            y_ref, _ = ref.selective_scan(x["u"], x["delta"], x["A"], B, C, D=x["D"], z=x["z"],
                                          delta_bias=x["delta-bias"], delta_softplus=True)
            errs = [np.linalg.norm(v - y_ref) / np.linalg.norm(y_ref) for v in (y, y_tm)]
            if not all(e <= 1e-5 for e in errs):  # a NaN fails too
                sys.exit("grouped_bc: G = %s: relative errors %s against float64"
                         % (G, ", ".join("%g" % e for e in errs)))
            if G == 16:
                base = (t[1], ttm[1])
            bc_mb = 2 * B.nbytes / 1e6
            act_mb = 4 * x["u"].nbytes / 1e6          # u, delta, z, y
            bound = max(arith, (bc_mb + act_mb) / 1e3 / STREAM_GBS[1] * 1e3)
            vs16 = "%.2fx, %.2fx" % (t[1] / base[0], ttm[1] / base[1]) if base else "-"
            print("| %s | %s | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.0fx | %s "
                  "| %.0f%%, %.0f%% | %.1e, %.1e |"
                  % ("all (shared B/C)" if G is None else G, how(G, d), bc_mb, bound, t[1], t[2],
                     ttm[1], ttm[2], loops, loops / t[1], vs16, 100 * bound / t[1],
                     100 * bound / ttm[1], errs[0], errs[1]), flush=True)


if __name__ == "__main__":
    main()
