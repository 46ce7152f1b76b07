#!/usr/bin/python3
"""The main job (utils/run-demo.sh): the research tasks of tasks.md with
`ssm-run task` (fixed-weight models compiled for the CPU, scored against the
expected values), then compiled selective scans on seeded random .npy inputs
checked against the float64 reference. Ends with a summary table; exits 1
if anything missed its expected value."""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "lib"))
import ssm_reference as ref  # noqa: E402
from ssm_testing import TOL, scan_inputs  # noqa: E402

CASES = [
    # name, (b, d, L, n), options
    ("Mamba-130m layer (b 1, d 1536, L 2048, n 16)", (1, 1536, 2048, 16),
     dict(D=True, z=True, bias=True, softplus=True)),
    # Groups of 12 and 24 channels split the fast path's 16-lane tiles: a
    # tile reads two groups, blended by lane (docs/cpu-fast-path.md).
    ("S6, grouped B/C, initial state (b 2, d 48, L 4096, n 16)", (2, 48, 4096, 16),
     dict(bform="grp", cform="grp", bgroups=4, cgroups=2, D=True, z=True, bias=True,
          softplus=True, h0=True)),
    ("S6, time-invariant B, L = 1 (b 4, d 7, L 1, n 3)", (4, 7, 1, 3),
     dict(bform="inv", D=True, softplus=True)),
]
FLAGS = [("D", "--D"), ("z", "--z"), ("delta_bias", "--delta-bias"), ("h0", "--h0")]

# A representative run of every task available (tasks.md sections 1-5).
TASKS = [
    ("induction", ["--seq-len", "256,4096,65536,1048576", "--examples", "4"]),
    ("keep-nth", ["--examples", "8"]),
    ("mqar", ["--mixer", "mamba,mamba2,s4d", "--vocab", "256", "--seq-len", "64,256,1024",
              "--kv-pairs", "4,16,64", "--no-filler", "--examples", "8"]),
    ("mqar", ["--vocab", "8192", "--seq-len", "256", "--kv-pairs", "64", "--no-filler",
              "--state", "4,8,16,32", "--examples", "4"]),
    ("mqar", ["--vocab", "8192", "--seq-len", "256", "--kv-pairs", "64", "--examples", "4"]),
    ("haar", []),
    ("polynomial", ["--degree", "1,4,16", "--layers", "1,2,3,4", "--examples", "512"]),
]


def run_tasks(ssm_run, tmp):
    """Runs TASKS, printing each table; returns summary rows counted from the
    result column of the CSV each run writes."""
    rows = []
    for i, (name, opts) in enumerate(TASKS):
        csv_path = os.path.join(tmp, "task%d.csv" % i)
        cmd = [ssm_run, "task", name] + opts + ["--csv", csv_path]
        print("$ ssm-run task %s %s" % (name, " ".join(opts)), flush=True)
        start = time.time()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        wall = time.time() - start
        print(proc.stdout, flush=True)
        results = []
        if os.path.exists(csv_path):
            with open(csv_path, newline="") as f:
                results = [r["result"] for r in csv.DictReader(f)]
        verdict = "PASS" if proc.returncode == 0 else "FAIL"
        rows.append((name, " ".join(opts), results.count("PASS"),
                     results.count("FAIL"), wall, verdict))
    return rows

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ssm_run = os.path.join(args.tools, "ssm-run")
    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ssm-demo-") as tmp:
        task_rows = run_tasks(ssm_run, tmp)
        ok = all(r[-1] == "PASS" for r in task_rows)
        for name, (b, d, L, n), opts in CASES:
            softplus = opts.get("softplus", False)
            x = scan_inputs(rng, b, d, L, n, **opts)
            paths = {}
            for k, v in x.items():
                paths[k] = os.path.join(tmp, k + ".npy")
                np.save(paths[k], v)
            y_path, h_path = os.path.join(tmp, "y.npy"), os.path.join(tmp, "h.npy")
            cmd = [ssm_run, "scan", "--u", paths["u"], "--delta", paths["delta"],
                   "--A", paths["A"], "--B", paths["B"], "--C", paths["C"],
                   "--out", y_path, "--last-state", h_path, "--time", "3"]
            cmd += [a for k, flag in FLAGS if k in x for a in (flag, paths[k])]
            if softplus:
                cmd.append("--delta-softplus")
            start = time.time()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.time() - start
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            ms = float(proc.stdout.split("median_ms=")[1].split()[0])
            y_ref, h_ref = ref.selective_scan(
                x["u"], x["delta"], x["A"], x["B"], x["C"], D=x.get("D"), z=x.get("z"),
                delta_bias=x.get("delta_bias"), delta_softplus=softplus, h0=x.get("h0"))
            err = max(ref.max_rel_err(np.load(y_path), y_ref),
                      ref.max_rel_err(np.load(h_path), h_ref))
            good = err <= TOL
            ok &= good
            rows.append((name, ms, b * d * L * n / (ms * 1e-3) / 1e6, err, "PASS" if good else "FAIL"))
            print("ran %-58s in %.1f s (compile, warm-up, 3 timed calls)" % (name, wall), flush=True)

    print()
    print("ssm-run scan (compiled fast path, every core) vs float64 reference")
    print("%-58s %10s %12s %11s %6s" % ("case", "median ms", "Mupdates/s", "rel err", ""))
    for name, ms, rate, err, status in rows:
        print("%-58s %10.2f %12.1f %11.2e %6s" % (name, ms, rate, err, status))
    print("tolerance: max relative error <= %.0e (docs/testing.md)" % TOL)

    print()
    print("Research tasks (ssm-run task, target cpu; expected values from tasks.md)")
    print("%-10s %-90s %6s %6s %8s %6s" % ("task", "options", "passed", "failed", "wall s", ""))
    for name, opts, passed, failed, wall, verdict in task_rows:
        print("%-10s %-90s %6d %6d %8.1f %6s" % (name, opts, passed, failed, wall, verdict))
    print("overall: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
