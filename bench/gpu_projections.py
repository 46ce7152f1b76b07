"""GPU benchmark of the projections with --gpu-all-kernels, run on a lent
NVIDIA GPU by utils/device/check.sh (step `projections`): ssm.linear at
Mamba-130m's prefill shapes (2048 tokens), side by side in one run as

  - the tiled matrix product (ssm-host-ops-to-gpu's default from 32 rows:
    64 x 64 outputs per block from shared-memory tiles);
  - the warp-per-output kernel (--gpu-tiled-from-rows 0: what every
    projection was before, and what a decoding step's one row still is);
  - PyTorch's torch.matmul in fp32 on the same GPU (cuBLAS, TF32 off), the
    reference.

Then the crossover that sets ssm-host-ops-to-gpu's `tiled-from-rows`
(default 32, a guess): in_proj's shape at 1 to 256 rows with the tiled
kernel forced (--gpu-tiled-from-rows 1) and with the warp kernel.

Kernel times come from Nsight Compute (gpu__time_duration, median of the
launches of `--time` calls): ssm-run's own timing includes the copies
between host and device. Each result is checked against float64
(semantics.md: 1e-5 normwise).

  python3 bench/gpu_projections.py --ssm-run PATH [--out DIR] [--quick]
      [--target nvptx|gpu-emulator]

--target gpu-emulator (with --quick) runs the same flow on a machine
without a GPU: the errors are real, the times are not measured.
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

from benchlib import events_ms, find_ncu, kernel_ms, run

try:
    import torch
except ImportError:  # the emulator dry run on a machine without PyTorch
    torch = None

# name, rows (tokens), K, N: Mamba-130m at 2048 tokens.
SHAPES = [("in_proj", 2048, 768, 3072), ("x_proj", 2048, 1536, 80),
          ("dt_proj", 2048, 48, 1536), ("out_proj", 2048, 1536, 768),
          ("lm_head", 2048, 768, 50280)]
QUICK = [("in_proj/16", 128, 96, 384), ("x_proj/16", 128, 192, 80)]
# Rows for the crossover, at in_proj's K and N (QUICK: the first QUICK shape's).
CROSSOVER_ROWS = [1, 4, 8, 16, 24, 32, 48, 64, 128, 256]
KERNEL = "main_kernel"


def program(k, n):
    """ssm.linear on rows known only at run time, as in a model's program."""
    return """func.func @main(%%x: tensor<?x%dxf32>, %%w: tensor<%dx%dxf32>) -> tensor<?x%dxf32> {
  %%y = ssm.linear %%x, %%w : tensor<?x%dxf32>, tensor<%dx%dxf32> -> tensor<?x%dxf32>
  return %%y : tensor<?x%dxf32>
}
""" % (k, n, k, n, k, n, k, n, n)


def torch_ms(x, w, reps=10):
    """Median of `reps` timed torch.matmul calls in fp32 (CUDA events)."""
    if torch is None or not torch.cuda.is_available():
        return float("nan")
    torch.backends.cuda.matmul.allow_tf32 = False
    a, b = torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda()
    return events_ms(lambda: torch.matmul(a, b.t()), reps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ssm-run", required=True)
    ap.add_argument("--out", default=".")
    ap.add_argument("--quick", action="store_true", help="two small shapes")
    ap.add_argument("--target", default="nvptx", choices=["nvptx", "gpu-emulator"])
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ncu = find_ncu() if args.target == "nvptx" else None
    rng = np.random.default_rng(0)
    results = []
    crossover = []
    kernels = [("tiled", []), ("warp per output", ["--gpu-tiled-from-rows", "0"])]
    forced = [("tiled", ["--gpu-tiled-from-rows", "1"]),
              ("warp per output", ["--gpu-tiled-from-rows", "0"])]
    shapes = QUICK if args.quick else SHAPES
    _, _, k_x, n_x = shapes[0]
    runs = [(name, m, k, n, kernels, results) for name, m, k, n in shapes]
    runs += [("rows %d" % m, m, k_x, n_x, forced, crossover) for m in CROSSOVER_ROWS]
    with tempfile.TemporaryDirectory(prefix="ssm-gpu-proj-") as tmp:
        for name, m, k, n, variants, into in runs:
            x = rng.standard_normal((m, k)).astype(np.float32)
            w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
            want = x.astype(np.float64) @ w.T.astype(np.float64)
            src, xp, wp, yp = (os.path.join(tmp, f) for f in
                               ("p.mlir", "x.npy", "w.npy", "y.npy"))
            with open(src, "w") as f:
                f.write(program(k, n))
            np.save(xp, x)
            np.save(wp, w)
            flop = 2.0 * m * n * k
            r = dict(name=name, rows=m, k=k, n=n, gflop=flop / 1e9,
                     torch_ms=torch_ms(x, w))
            for kname, extra in variants:
                cmd = [args.ssm_run, src, "-e", "main", "--input", xp, "--input", wp,
                       "--output", yp, "--target", args.target, "--gpu-all-kernels"] + extra
                np.save(yp, np.full(1, np.nan, np.float32))  # must be written anew
                run(cmd)
                got = np.load(yp).astype(np.float64)
                if got.shape != want.shape:
                    sys.exit("%s %s: result of shape %s, expected %s"
                             % (name, kname, got.shape, want.shape))
                err = float(np.linalg.norm(got - want) / np.linalg.norm(want))
                ms = kernel_ms(ncu, cmd + ["--time", "5"], os.path.join(tmp, "ncu.csv"),
                               KERNEL)[0] if ncu else float("nan")
                r[kname] = dict(kernel_ms=ms, tflops=flop / (ms * 1e-3) / 1e12, err=err)
                print("%-10s %-16s %8.3f ms %6.2f TFLOP/s  err %.1e"
                      % (name, kname, ms, r[kname]["tflops"], err), flush=True)
            into.append(r)
    with open(os.path.join(args.out, "projections.json"), "w") as f:
        json.dump(dict(device=torch.cuda.get_device_name(0) if torch is not None
                       and torch.cuda.is_available() else "none", results=results,
                       crossover=crossover), f, indent=1)
    print()
    print("| projection (rows x K -> N) | GFLOP | tiled ms | TFLOP/s | warp per output ms "
          "| tiled speedup | torch.matmul ms | tiled / torch time | err tiled / warp |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        t, wp = r["tiled"], r["warp per output"]
        print("| %s (%d x %d -> %d) | %.1f | %.3f | %.1f | %.3f | %.1fx | %.3f | %.2f "
              "| %.1e / %.1e |" % (
                  r["name"], r["rows"], r["k"], r["n"], r["gflop"], t["kernel_ms"],
                  t["tflops"], wp["kernel_ms"], wp["kernel_ms"] / t["kernel_ms"],
                  r["torch_ms"], t["kernel_ms"] / r["torch_ms"], t["err"], wp["err"]))
    print()
    print("| rows (x %d -> %d) | tiled ms | warp per output ms | warp / tiled | torch.matmul ms |"
          % (k_x, n_x))
    print("|---|---|---|---|---|")
    for r in crossover:
        t, wp = r["tiled"], r["warp per output"]
        print("| %d | %.4f | %.4f | %.2f | %.4f |" % (
            r["rows"], t["kernel_ms"], wp["kernel_ms"], wp["kernel_ms"] / t["kernel_ms"],
            r["torch_ms"]))
    bad = ["%s %s" % (r["name"], kn) for r in results + crossover
           for kn in ("tiled", "warp per output") if not r[kn]["err"] <= 1e-5]
    if bad:
        sys.exit("error over 1e-5 normwise: " + ", ".join(bad))


if __name__ == "__main__":
    main()
