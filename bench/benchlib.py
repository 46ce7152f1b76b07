"""Helpers shared by the benchmark drivers: running a tool and reading the
figures it prints."""
import csv
import glob
import os
import re
import shutil
import subprocess
import sys

import numpy as np

# The benchmarks time compiles as a first run makes them: the compile cache
# (docs/compile-cache.md) is off for every tool and child process they start.
os.environ["SSM_CACHE_DIR"] = "off"


# performance.md's machine limits: the selective scan's arithmetic bound
# (5.28 ms per 50.3 M state updates on one core: one exp2 and about four
# FMA-class operations per update at the FMA peak), and the STREAM triad
# bandwidth in GB/s on 1 and 2 threads.
BOUND_NS_PER_UPDATE = 5.28e6 / 50.3e6
STREAM_GBS = {1: 36.9, 2: 70.2}


# The selective scan in token_major layout with D, z, delta_bias and
# delta_softplus, as an ssm-run FILE program (entry @scan); fill with the
# tensor types of act (u, delta, z, y: (b, L, d)), a (A), bc (B, C), ch (D,
# delta_bias).
TM_PROGRAM = """
func.func @scan(%%u: %(act)s, %%delta: %(act)s, %%A: %(a)s, %%B: %(bc)s, %%C: %(bc)s,
                %%D: %(ch)s, %%z: %(act)s, %%bias: %(ch)s) -> %(act)s {
  %%y = ssm.selective_scan token_major %%u, %%delta, %%A, %%B, %%C D(%%D : %(ch)s)
      z(%%z : %(act)s) delta_bias(%%bias : %(ch)s) delta_softplus
      : (%(act)s, %(act)s, %(a)s, %(bc)s, %(bc)s) -> %(act)s
  return %%y : %(act)s
}
"""


def run(cmd, stdin=None):
    """Runs `cmd`; exits with its stderr if it fails; returns stdout+stderr."""
    proc = subprocess.run(cmd, capture_output=True, text=True, input=stdin)
    if proc.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), proc.stderr))
    return proc.stdout + proc.stderr


def median_ms(out):
    """The median_ms= figure of `ssm-run --time`."""
    return float(re.search(r"median_ms=([0-9.]+)", out).group(1))


def peak_mb(out):
    """Peak resident memory from `/usr/bin/time -v` output (nan if absent)."""
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", out)
    return int(m.group(1)) / 1024.0 if m else float("nan")


def scan_inputs(rng, b, d, L, n):
    """The benchmarks' selective-scan inputs, float32, in mamba_ssm's layout:
    Mamba-like steps and decays, B and C varying with time, D, z and a
    delta bias (keys as ssm-run scan's options)."""
    x = {
        "u": rng.standard_normal((b, d, L)),
        "delta": rng.uniform(-4.0, 1.0, (b, d, L)),
        "A": -np.exp(rng.uniform(-2.0, 1.5, (d, n))),
        "B": rng.standard_normal((b, n, L)),
        "C": rng.standard_normal((b, n, L)),
        "D": rng.standard_normal(d),
        "z": rng.standard_normal((b, d, L)),
        "delta-bias": rng.uniform(-1.0, 0.5, d),
    }
    return {k: v.astype(np.float32) for k, v in x.items()}


def save_inputs(tmp, arrays, paths=None):
    """Writes each array to tmp/<key>.npy; returns (or adds to) the paths by
    key."""
    paths = {} if paths is None else paths
    for k, v in arrays.items():
        paths[k] = os.path.join(tmp, k + ".npy")
        np.save(paths[k], v)
    return paths


def scan_command(ssm_run, paths, out):
    """`ssm-run scan` on the .npy inputs `paths` (keys as its options), with
    delta_softplus, writing y to `out`."""
    cmd = [ssm_run, "scan", "--delta-softplus", "--out", out]
    for k, p in paths.items():
        cmd += ["--" + k, p]
    return cmd


def find_ncu():
    """Nsight Compute's ncu, or None."""
    for c in [shutil.which("ncu"), "/usr/local/cuda/bin/ncu"] + sorted(
            glob.glob("/opt/nvidia/nsight-compute/*/ncu")):
        if c and os.path.exists(c):
            return c
    return None


def kernel_ms(ncu, cmd, log, kernel):
    """Median gpu__time_duration of the launches of the kernels named by the
    regular expression `kernel` under ncu, and their count."""
    run([ncu, "--clock-control", "none", "--metrics", "gpu__time_duration.sum",
         "--csv", "--print-units", "base", "--log-file", log, "-k",
         "regex:" + kernel] + cmd)
    lines = open(log).read().splitlines()
    head = next(i for i, l in enumerate(lines) if '"Metric Name"' in l)
    rows = [r for r in csv.DictReader(lines[head:]) if r.get("Metric Name") ==
            "gpu__time_duration.sum"]
    scale = {"nsecond": 1e-6, "ns": 1e-6, "usecond": 1e-3, "us": 1e-3,
             "msecond": 1.0, "ms": 1.0, "second": 1e3, "s": 1e3}
    ms = [float(r["Metric Value"].replace(",", "")) * scale[r["Metric Unit"]] for r in rows]
    if not ms:
        sys.exit("ncu reported no launch of %s:\n%s" % (kernel, "\n".join(lines[-20:])))
    return float(np.median(ms)), len(ms)


def events_ms(fn, reps):
    """Median of `reps` timed calls of fn (after one warm-up), CUDA events."""
    import torch  # only the GPU benchmarks need it

    fn()
    times = []
    for _ in range(reps):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop))
    return float(np.median(times))
