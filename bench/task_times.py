#!/usr/bin/python3
"""Wall seconds of the main job's heaviest tasks (utils/demo.py's MQAR runs
at V = 8192, and one smaller MQAR sweep), with the compile cache off, for
one or more builds side by side: `--tools A --tools B` alternates the
builds within each round, so that the machine's drift falls on both alike.
Prints one line per run and a median per (task, build)."""
import argparse
import os
import statistics
import subprocess
import time

TASKS = [
    ("mqar V=8192 filler", ["mqar", "--vocab", "8192", "--seq-len", "256", "--kv-pairs", "64",
                            "--examples", "4"]),
    ("mqar V=8192 codes", ["mqar", "--vocab", "8192", "--seq-len", "256", "--kv-pairs", "64",
                           "--no-filler", "--state", "4,8,16,32", "--examples", "4"]),
    ("mqar V=256 3 mixers", ["mqar", "--mixer", "mamba,mamba2,s4d", "--vocab", "256",
                             "--seq-len", "64,256,1024", "--kv-pairs", "4,16,64", "--no-filler",
                             "--examples", "8"]),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tools", action="append", help="a build's bin directory (repeatable)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", help="run only the tasks whose name contains this")
    args = ap.parse_args()
    tools = args.tools or ["build/bin"]
    env = dict(os.environ, SSM_CACHE_DIR="off")
    times = {}
    for r in range(args.rounds):
        for name, argv in TASKS:
            if args.only and args.only not in name:
                continue
            for t in tools:
                t0 = time.perf_counter()
                subprocess.run([os.path.join(t, "ssm-run"), "task"] + argv, env=env,
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                s = time.perf_counter() - t0
                times.setdefault((name, t), []).append(s)
                print("round %d  %-22s %-30s %7.2f s" % (r + 1, name, t, s), flush=True)
    print("== medians (wall s, compile cache off)")
    for (name, t), v in times.items():
        print("%-22s %-30s %7.2f  (%s)" % (name, t, statistics.median(v),
                                          ", ".join("%.2f" % x for x in v)))


if __name__ == "__main__":
    main()
