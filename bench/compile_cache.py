#!/usr/bin/python3
"""The compile cache (docs/compile-cache.md): the wall time of whole runs
that compile their programs, with the cache off (every run compiles: the
reference), with an empty cache (the run compiles and stores) and with the
entry already stored (the run loads it), alternating for --rounds rounds:

- `ssm-run model` on a random Mamba-130m-shaped BF16 checkpoint, a 3-token
  prompt and 8 decoding steps, 1 and 2 threads;
- `ssm-run task induction` (L = 256, 4096, 16 examples), 2 threads;
- Python: `MambaLM.from_pretrained` and one prefill, 2 threads.

    /usr/bin/python3 bench/compile_cache.py --tools build/bin

Each figure is one process's wall time (seconds), from start to exit."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "lib"))
import benchlib  # noqa: E402,F401  (turns the cache off by default)
import mamba_reference as mr  # noqa: E402
from mamba_model import model_config  # noqa: E402

PYTHON_CHILD = r"""
import sys, numpy as np, ssm_mlir
lm = ssm_mlir.MambaLM.from_pretrained(sys.argv[1], threads=2)
lm.prefill(np.array([1, 2, 3]), last_only=True)
"""


def timed(cmd, cache_dir):
    env = dict(os.environ)
    env["SSM_CACHE_DIR"] = cache_dir
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), proc.stderr))
    out = proc.stdout + proc.stderr
    return seconds, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tools", default="build/bin")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    ssm_run = os.path.join(args.tools, "ssm-run")
    python_dir = os.path.join(os.path.dirname(os.path.abspath(args.tools)), "python")
    with tempfile.TemporaryDirectory(prefix="bench-compile-cache-") as tmp:
        cfg = model_config(24, False)
        ckpt = os.path.join(tmp, "ckpt")
        mr.write_checkpoint(ckpt, cfg.hf_json(),
                            mr.random_weights(cfg, np.random.default_rng(2)), dtype="BF16")
        model = [ssm_run, "model", "--checkpoint", ckpt, "--tokens", "1,2,3", "--generate", "8"]
        cases = [
            ("ssm-run model, 1 thread", model + ["--threads", "1"]),
            ("ssm-run model, 2 threads", model + ["--threads", "2"]),
            ("ssm-run task induction, 2 threads",
             [ssm_run, "task", "induction", "--seq-len", "256,4096", "--threads", "2"]),
            ("Python from_pretrained + prefill, 2 threads",
             ["env", "PYTHONPATH=" + python_dir, sys.executable, "-c", PYTHON_CHILD, ckpt]),
        ]
        print("== whole runs, wall seconds per round (%d rounds); cache off / empty / "
              "stored" % args.rounds)
        print("%-44s %-16s %-16s %-16s %s" % ("run", "off", "empty (store)", "stored (load)",
                                             "off / stored"))
        for name, cmd in cases:
            figs = {"off": [], "empty": [], "stored": []}
            for r in range(args.rounds):
                cache = os.path.join(tmp, "cache-%d" % r)
                order = ["off", "empty", "stored"] if r % 2 == 0 else ["empty", "stored", "off"]
                for mode in order:
                    if mode == "empty":
                        shutil.rmtree(cache, ignore_errors=True)
                    seconds, out = timed(cmd, "off" if mode == "off" else cache)
                    if mode == "stored" and "program from the compile cache" not in out \
                            and "ssm-run model" in name:
                        sys.exit("the stored run did not load the program:\n" + out)
                    figs[mode].append(seconds)
            print("%-44s %-16s %-16s %-16s %.1fx" % (
                name, ", ".join("%.2f" % s for s in figs["off"]),
                ", ".join("%.2f" % s for s in figs["empty"]),
                ", ".join("%.2f" % s for s in figs["stored"]),
                np.median(figs["off"]) / np.median(figs["stored"])))


if __name__ == "__main__":
    main()
