"""Helpers shared by the benchmark drivers: running a tool and reading the
figures it prints."""
import re
import subprocess
import sys


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
