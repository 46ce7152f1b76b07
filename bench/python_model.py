#!/usr/bin/python3
"""A Mamba language model called from Python against the same program timed
inside ssm-run, in one run, one thread: the prefill of L tokens (the last
position's logits) and the scoring of L tokens (MambaLM.score, every
position's log-probability; and the same prefill calls with every
position's logits that score makes, whose difference from it is the
host's log-softmax and the logits' handling), a random Mamba-130m-shaped
BF16 checkpoint.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_model.py --tools build/bin

The Python side runs in a process of its own twice per round: with the
programs' buffer cache (ssm/Runtime/BufferCache.h, the default) and with it
off (SSM_BUFFER_CACHE_MB=0: the programs' buffers come from glibc's malloc
with its default thresholds, as before the cache). ssm-run raises glibc's
thresholds itself (main), so its time is what the compiled code costs
without page faults. Each figure is the median of --reps calls after a
first one; the rounds alternate the three."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "lib"))
from benchlib import run  # noqa: E402
import mamba_reference as mr  # noqa: E402
from mamba_model import model_config  # noqa: E402

CHILD = r"""
import json, sys, time
import numpy as np
import ssm_mlir
ckpt, tokens, reps = sys.argv[1], np.load(sys.argv[2])[0], int(sys.argv[3])
lm = ssm_mlir.MambaLM.from_pretrained(ckpt, threads=1)
def timed(fn):
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))
# score's own calls: prefills with every position's logits, in its chunks
# (24 MB of logits each, MambaLM::kScoreChunkBytes).
chunk = max(1, (24 << 20) // (lm.vocab_size * 4))
def calls():
    state = lm.initial_state(1)
    for c in range(0, len(tokens), chunk):
        lm.prefill(tokens[c:c + chunk], state)
out = {"prefill": timed(lambda: lm.prefill(tokens, last_only=True)),
       "score": timed(lambda: lm.score(tokens)),
       "score calls": timed(calls)}
out["log-softmax"] = out["score"] - out["score calls"]
print(json.dumps(out))
"""


def python_ms(ckpt, tokens, reps, cache):
    env = dict(os.environ)
    if not cache:
        env["SSM_BUFFER_CACHE_MB"] = "0"
    proc = subprocess.run([sys.executable, "-c", CHILD, ckpt, tokens, str(reps)],
                          capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit("the Python side failed:\n" + proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cli_ms(tools, ckpt, tokens, reps):
    exe = os.path.join(tools, "ssm-run")
    base = [exe, "model", "--checkpoint", ckpt, "--tokens-npy", tokens, "--threads", "1"]
    prefill = float(re.search(r"prefill: .* in ([0-9.]+) ms",
                              run(base + ["--time", str(reps)])).group(1))
    return {"prefill": prefill}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tools", default="build/bin")
    ap.add_argument("--lengths", default="256,2048")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-python-model-") as tmp:
        cfg = model_config(24, False)
        ckpt = os.path.join(tmp, "ckpt")
        rng = np.random.default_rng(2)
        mr.write_checkpoint(ckpt, cfg.hf_json(), mr.random_weights(cfg, rng), dtype="BF16")
        print("== Mamba-130m shape, BF16 checkpoint, one thread; ms, median of %d calls "
              "after a first; %d rounds alternating" % (args.reps, args.rounds))
        print("%5s %-26s %-22s %-22s %-22s %s" % (
            "L", "what", "ssm-run", "Python, cache", "Python, no cache",
            "no cache / cache"))
        for L in (int(x) for x in args.lengths.split(",")):
            tokens = os.path.join(tmp, "tokens%d.npy" % L)
            np.save(tokens, rng.integers(0, cfg.V, (1, L)))
            figs = {"cli": [], "cache": [], "none": []}
            for r in range(args.rounds):
                order = ["cli", "cache", "none"] if r % 2 == 0 else ["none", "cache", "cli"]
                for which in order:
                    figs[which].append(
                        cli_ms(args.tools, ckpt, tokens, args.reps) if which == "cli"
                        else python_ms(ckpt, tokens, args.reps, which == "cache"))
            labels = {"prefill": "prefill (last logits)", "score": "score (every position)",
                      "score calls": "score's prefill calls",
                      "log-softmax": "score - its calls"}
            for what, label in labels.items():
                cli = ", ".join("%.0f" % f[what] for f in figs["cli"]) if what == "prefill" else "-"
                cache = [f[what] for f in figs["cache"]]
                none = [f[what] for f in figs["none"]]
                print("%5d %-26s %-22s %-22s %-22s %.2f" % (
                    L, label, cli, ", ".join("%.0f" % x for x in cache),
                    ", ".join("%.0f" % x for x in none), np.median(none) / np.median(cache)))


if __name__ == "__main__":
    main()
