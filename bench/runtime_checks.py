"""The cost of ssm.embedding's run-time check of its ids
(docs/runtime-checks.md), side by side with the op it guards: the
embedding of Mamba-130m's table (50280 x 768) for a 2048-token prefill and
for one decoding token, and the check's loop alone (the same loop, written
out in bench/runtime_checks.mlir), on one thread, in one run.

    /usr/bin/python3 bench/runtime_checks.py [--tools build/bin]

Prints each median (ssm-run --time 200) and the loop's share of the
embedding call. The loop's figure is a whole call of its own (the entry
point, its arguments): an upper bound on what the check adds."""
import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import median_ms, run  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tools", default=os.path.join(HERE, "..", "build", "bin"))
    args = parser.parse_args()
    ssm_run = os.path.join(args.tools, "ssm-run")
    program = os.path.join(HERE, "runtime_checks.mlir")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        table = os.path.join(tmp, "w.npy")
        np.save(table, rng.standard_normal((50280, 768)).astype(np.float32))
        for length in (2048, 1):
            ids = os.path.join(tmp, "ids%d.npy" % length)
            np.save(ids, rng.integers(0, 50280, (1, length)).astype(np.int64))
            ms = {}
            for func in ("embedding", "check_loop"):
                out = run([ssm_run, program, "-e", func, "--input", ids, "--input", table,
                           "--output", os.path.join(tmp, "out.npy"), "--threads", "1",
                           "--time", "200"])
                ms[func] = median_ms(out)
            print("%5d ids: embedding (checked) %.6f ms, check loop alone %.6f ms "
                  "(a call of its own: an upper bound), %.3f%% of the call" % (length, ms["embedding"], ms["check_loop"],
                                          100 * ms["check_loop"] / ms["embedding"]))


if __name__ == "__main__":
    main()
