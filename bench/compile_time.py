#!/usr/bin/python3
"""Compile time of the JIT's CPU programs (docs/compile-time.md), for one or
more builds side by side: `--tools A --tools B` alternates the builds within
each round, so that the machine's drift falls on both alike. Each figure is
the wall time of `ssm_mlir.compile` (parse, lowering, LLVM optimisation and
code generation, linking), the compile cache off, median of --repeats
compiles in one process per build and round:

- the MQAR codes task's program (one Mamba block, V 8192, d_inner 12286,
  d_state 4: the main job compiles 21 programs of this kind and size);
- a Mamba-130m-shaped model (24 layers, prefill and decoding programs of
  `ssm-run model --emit=ssm`);
- one selective scan at the reference shape (a Python first call).

    /usr/bin/python3 bench/compile_time.py --tools /tmp/base/build/bin --tools build/bin
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "lib"))
import benchlib  # noqa: E402,F401  (turns the cache off by default)
import mamba_reference as mr  # noqa: E402
from mamba_model import model_config  # noqa: E402

# The MQAR codes task's program (lib/Tasks/TaskModels.cpp builds it): one
# Mamba block over one-hot tokens, A_log per channel, a residual add.
TASK_BLOCK = """
func.func @stack(%x: tensor<?x?x{D}xf32>, %in_proj: tensor<{E2}x{D}xf32>,
                 %conv: tensor<{E}x4xf32>, %conv_bias: tensor<{E}xf32>,
                 %x_proj: tensor<{R}x{E}xf32>, %dt_proj: tensor<{E}x1xf32>,
                 %dt_bias: tensor<{E}xf32>, %a_log: tensor<{E}xf32>,
                 %d: tensor<{E}xf32>, %out_proj: tensor<{D}x{E}xf32>)
    -> tensor<?x?x{D}xf32> {{
  %0 = tensor.empty() : tensor<{E}x{N}xf32>
  %a = linalg.broadcast ins(%a_log : tensor<{E}xf32>) outs(%0 : tensor<{E}x{N}xf32>) dimensions = [1]
  %out = ssm.mamba_block %x in_proj(%in_proj : tensor<{E2}x{D}xf32>)
      conv(%conv : tensor<{E}x4xf32>) conv_bias(%conv_bias : tensor<{E}xf32>)
      x_proj(%x_proj : tensor<{R}x{E}xf32>) dt_proj(%dt_proj : tensor<{E}x1xf32>)
      dt_bias(%dt_bias : tensor<{E}xf32>) A_log(%a : tensor<{E}x{N}xf32>)
      D(%d : tensor<{E}xf32>) out_proj(%out_proj : tensor<{D}x{E}xf32>)
      : tensor<?x?x{D}xf32> -> tensor<?x?x{D}xf32>
  %y = arith.addf %x, %out : tensor<?x?x{D}xf32>
  return %y : tensor<?x?x{D}xf32>
}}
"""

SCAN = """
func.func @scan(%u: tensor<1x1536x2048xf32>, %delta: tensor<1x1536x2048xf32>,
                %A: tensor<1536x16xf32>, %B: tensor<1x16x2048xf32>,
                %C: tensor<1x16x2048xf32>, %D: tensor<1536xf32>,
                %z: tensor<1x1536x2048xf32>) -> tensor<1x1536x2048xf32> {
  %y, %h = ssm.selective_scan channel_first %u, %delta, %A, %B, %C
      D(%D : tensor<1536xf32>) z(%z : tensor<1x1536x2048xf32>) delta_softplus
      : (tensor<1x1536x2048xf32>, tensor<1x1536x2048xf32>, tensor<1536x16xf32>,
         tensor<1x16x2048xf32>, tensor<1x16x2048xf32>)
      -> tensor<1x1536x2048xf32>, tensor<1x1536x16xf32>
  return %y : tensor<1x1536x2048xf32>
}
"""

CHILD = r"""
import json, sys, time, ssm_mlir
texts, repeats = json.loads(sys.argv[1]), int(sys.argv[2])
out = {}
for name, text in texts:
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        # A new name each time: the bindings cache programs per (text, name).
        ssm_mlir.compile(text, threads=2, name="%s-%d" % (name, r))
        times.append(time.perf_counter() - t0)
    out[name] = times
print(json.dumps(out))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tools", action="append", help="a build's bin directory (repeatable)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    tools = args.tools or ["build/bin"]
    with tempfile.TemporaryDirectory(prefix="bench-compile-time-") as tmp:
        cfg = model_config(24, False)
        ckpt = os.path.join(tmp, "ckpt")
        mr.write_checkpoint(ckpt, cfg.hf_json(),
                            mr.random_weights(cfg, np.random.default_rng(2)), dtype="BF16")
        emitted = subprocess.run(
            [os.path.join(tools[0], "ssm-run"), "model", "--checkpoint", ckpt, "--tokens",
             "1,2,3", "--threads", "2", "--emit=ssm"],
            check=True, capture_output=True, text=True).stdout
        programs = [
            ("MQAR codes block (d_inner 12286)",
             TASK_BLOCK.format(D=8192, E=12286, E2=2 * 12286, R=9, N=4)),
            ("Mamba-130m-shaped model", emitted),
            ("selective scan (reference shape)", SCAN),
        ]
        figures = {}
        for r in range(args.rounds):
            for t in tools:
                python_dir = os.path.join(os.path.dirname(os.path.abspath(t)), "python")
                env = dict(os.environ, PYTHONPATH=python_dir, SSM_CACHE_DIR="off")
                proc = subprocess.run(
                    [sys.executable, "-c", CHILD, json.dumps(programs), str(args.repeats)],
                    env=env, capture_output=True, text=True)
                if proc.returncode:
                    sys.exit("failed with %s:\n%s" % (t, proc.stderr))
                for name, times in json.loads(proc.stdout).items():
                    med = statistics.median(times)
                    figures.setdefault((name, t), []).append(med)
                    print("round %d  %-36s %-28s %.3f s" % (r, name, t, med), flush=True)
        print("\n%-36s %s" % ("program", "  ".join("%-24s" % t for t in tools)))
        for name, _ in programs:
            row = [figures[(name, t)] for t in tools]
            cells = ["%-24s" % ", ".join("%.2f" % s for s in f) for f in row]
            ratio = ""
            if len(tools) == 2:
                ratio = "  %s / %s: %.2fx" % (
                    "first", "second", statistics.median(row[0]) / statistics.median(row[1]))
            print("%-36s %s%s" % (name, "  ".join(cells), ratio))


if __name__ == "__main__":
    main()
