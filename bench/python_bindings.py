"""The cost of calling compiled code from Python: ssm_mlir.selective_scan_fn
and causal_conv1d_fn against the same compiled programs timed inside
ssm-run (--time: the compiled call alone), in one run, one thread.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_bindings.py --tools build/bin

Prints, per shape, each side's time (the lowest of REPEATS medians of RUNS
calls: single medians move by about 5% from run to run here) and the
difference: the bindings' per-call overhead (argument checks, numpy
conversions, the cache lookup, handing the results to numpy). The Python
side runs twice: on copies of the inputs that start on 64-byte boundaries,
as ssm-run's arrays do, and on the arrays as numpy allocated them, because
the compiled scan's time depends on where its inputs lie. The first Python
call of each program compiles it: its time is printed too. Then, at the
reference shape, the same scan with u, delta and z copied to fixed offsets
within a 4 KB page shows that dependence (docs/performance.md)."""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

import benchlib
import ssm_mlir

RUNS = 30
REPEATS = 3


def median_call_ms(fn, runs=RUNS):
    """(the first call's ms, which compiles on a cache miss; the lowest of
    REPEATS medians of `runs` later calls)."""
    start = time.perf_counter()
    fn()
    first = (time.perf_counter() - start) * 1e3
    best = float("inf")
    for _ in range(REPEATS):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
        best = min(best, float(np.median(times)))
    return first, best


def placed(a, boundary, offset=0):
    """A copy of `a` whose data starts `offset` bytes after a multiple of
    `boundary` bytes."""
    buf = np.empty(a.nbytes + boundary + offset, np.uint8)
    start = (-buf.ctypes.data) % boundary + offset
    out = buf[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def aligned(a):
    """A copy of `a` on a 64-byte boundary, as the arrays ssm-run reads from
    .npy files are."""
    return placed(a, 64)


def cli_ms(cmd):
    return min(benchlib.median_ms(benchlib.run(cmd)) for _ in range(REPEATS))


def scan_inputs(b, d, L, n):
    rng = np.random.default_rng(0)
    x = {"u": rng.standard_normal((b, d, L)),
         "delta": rng.uniform(-4.0, 1.0, (b, d, L)),
         "A": -np.exp(rng.uniform(-2.0, 1.5, (d, n))),
         "B": rng.standard_normal((b, n, L)), "C": rng.standard_normal((b, n, L)),
         "D": rng.standard_normal(d), "z": rng.standard_normal((b, d, L))}
    return {k: v.astype(np.float32) for k, v in x.items()}


def py_scan_ms(x):
    return median_call_ms(lambda: ssm_mlir.selective_scan_fn(
        x["u"], x["delta"], x["A"], x["B"], x["C"], x["D"], x["z"],
        delta_softplus=True, threads=1))


def scan_case(tools, tmp, b, d, L, n):
    x = scan_inputs(b, d, L, n)
    args = []
    for k, v in x.items():
        path = os.path.join(tmp, k + ".npy")
        np.save(path, v)
        args += ["--" + k, path]
    cli = cli_ms([os.path.join(tools, "ssm-run"), "scan"] + args +
                 ["--delta-softplus", "--out", os.path.join(tmp, "y.npy"),
                  "--threads", "1", "--time", str(RUNS)])
    return cli, py_scan_ms({k: aligned(v) for k, v in x.items()}), py_scan_ms(x)


CONV = """
func.func @conv(%x: tensor<{b}x{d}x{L}xf32>, %w: tensor<{d}x4xf32>, %bias: tensor<{d}xf32>) -> tensor<{b}x{d}x{L}xf32> {{
  %y = ssm.causal_conv1d channel_first %x, %w bias(%bias : tensor<{d}xf32>) silu
      : tensor<{b}x{d}x{L}xf32>, tensor<{d}x4xf32> -> tensor<{b}x{d}x{L}xf32>
  return %y : tensor<{b}x{d}x{L}xf32>
}}
"""


def conv_case(tools, tmp, b, d, L):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((b, d, L)).astype(np.float32)
    w = rng.standard_normal((d, 4)).astype(np.float32)
    bias = rng.standard_normal(d).astype(np.float32)
    prog = os.path.join(tmp, "conv.mlir")
    with open(prog, "w") as f:
        f.write(CONV.format(b=b, d=d, L=L))
    args = []
    for k, v in (("x", x), ("w", w), ("bias", bias)):
        path = os.path.join(tmp, "c" + k + ".npy")
        np.save(path, v)
        args += ["--input", path]
    cli = cli_ms([os.path.join(tools, "ssm-run"), prog, "-e", "conv"] + args +
                 ["--output", os.path.join(tmp, "cy.npy"), "--threads", "1",
                  "--time", str(RUNS)])
    def py(x, w, bias):
        return median_call_ms(lambda: ssm_mlir.causal_conv1d_fn(
            x, w, bias, activation="silu", threads=1))
    return cli, py(aligned(x), aligned(w), aligned(bias)), py(x, w, bias)


def placements():
    """The reference-shape scan with u, delta and z at given offsets within
    a 4 KB page (the other inputs on 64-byte boundaries)."""
    x = scan_inputs(1, 1536, 2048, 16)
    page = lambda a: a.ctypes.data % 4096
    print("numpy's arrays as allocated: u, delta, z at page offsets %d, %d, "
          "%d: %.2f ms" % (page(x["u"]), page(x["delta"]), page(x["z"]),
                           py_scan_ms(x)[1]))
    for offsets in [(0, 0, 0), (16, 16, 16), (64, 64, 64), (0, 64, 128),
                    (0, 1024, 2048), (3136, 3264, 3392)]:
        y = {k: aligned(v) for k, v in x.items()}
        for k, off in zip(("u", "delta", "z"), offsets):
            y[k] = placed(x[k], 4096, off)
        print("u, delta, z at page offsets %d, %d, %d: %.2f ms"
              % (offsets + (py_scan_ms(y)[1],)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tools", default="build/bin")
    opts = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    print("Python bindings vs ssm-run --time (the compiled call alone), "
          "1 thread, lowest of %d medians of %d calls" % (REPEATS, RUNS))
    print("python: the inputs copied to 64-byte boundaries, as ssm-run's "
          "arrays are; numpy: the arrays as numpy allocated them")
    print("%-44s %11s %11s %12s %11s %12s %12s" % (
        "case", "ssm-run ms", "python ms", "difference", "numpy ms",
        "difference", "1st call ms"))
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("scan b 1, d 16, L 1, n 16 (tiny)", scan_case(opts.tools, tmp, 1, 16, 1, 16)),
                ("scan b 1, d 1536, L 1, n 16 (a decoding step)", scan_case(opts.tools, tmp, 1, 1536, 1, 16)),
                ("scan b 1, d 1536, L 2048, n 16 (reference)", scan_case(opts.tools, tmp, 1, 1536, 2048, 16)),
                ("conv b 1, d 1536, L 2048, k 4, silu", conv_case(opts.tools, tmp, 1, 1536, 2048))]
    for name, (cli, (first, ms), (_, numpy_ms)) in rows:
        print("%-44s %11.4f %11.4f %+9.1f us %11.4f %+9.1f us %12.1f" % (
            name, cli, ms, (ms - cli) * 1e3, numpy_ms, (numpy_ms - cli) * 1e3,
            first))
    print()
    print("Reference-shape scan from Python, 1 thread, by where its inputs lie:")
    placements()


if __name__ == "__main__":
    sys.exit(main())
