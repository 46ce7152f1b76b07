# RUN: %python %s
#
# Scans parallel over time (ssm-parallel-scan) against the float64
# reference: programs rewritten by `ssm-opt --ssm-parallel-scan` with forced
# chunk counts run through both lowerings; the selective scan (both layouts,
# h0 and last state, D, z, bias, softplus, odd channel counts), ssm.scan
# (forward, reverse, last_only) with L not a multiple of the chunk, a single
# chunk, more chunks than steps, L = 1, decays that underflow to 0 at once
# (the recompute of a chunk meets its first run after one block) and decays
# of exactly 1 (recomputes never meet their first run, so the ordered third
# phase recomputes chunks 2.. again from their true initial states). Last, the
# runner's own choice: `ssm-run --threads 2` on b 1, d 16, n 16, L = 2^20,
# where the cost model parallelises over time without being asked.
import os
import subprocess

import numpy as np

import ssm_reference as ref
from ssm_testing import (LOWERINGS, Suite, compare_lowerings, linear_scan_case, scan_inputs,
                         selective_program, tensor_type)

SSM_OPT = os.path.join(os.environ.get("SSM_TOOLS_DIR", ""), "ssm-opt")
suite = Suite("parallel-scan")
rng = np.random.default_rng(41)


def rewrite(name, program, options):
    """The program after ssm-parallel-scan with `options`, or None on error."""
    proc = subprocess.run([SSM_OPT, "--ssm-parallel-scan=" + options],
                          input=program, capture_output=True, text=True)
    if proc.returncode != 0:
        suite.fail(name, "ssm-opt failed: %s" % proc.stderr)
        return None
    if "scf.forall" not in proc.stdout:
        suite.fail(name, "ssm-parallel-scan=%s left the program sequential" % options)
        return None
    return proc.stdout


def check(name, program, options, inputs, expected, lowerings=LOWERINGS):
    if options is not None:
        program = rewrite(name, program, options)
        if program is None:
            return
    compare_lowerings(suite, name, program, inputs, expected, lowerings)


def scan_case(name, b, d, L, n, options, tm=False, h0=True, A=None,
              lowerings=LOWERINGS):
    x = scan_inputs(rng, b, d, L, n, D=True, z=True, bias=True, softplus=True, h0=h0)
    if A is not None:
        x["A"] = np.full((d, n), A, dtype=np.float32)
    y, last = ref.selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"], x["D"],
                                 x["z"], x["delta_bias"], True, x.get("h0"))
    act = lambda a: np.ascontiguousarray(a.transpose(0, 2, 1)) if tm else a
    names = ["u", "delta", "A", "B", "C", "D", "z", "delta_bias"] + (["h0"] if h0 else [])
    vals = {"u": act(x["u"]), "delta": act(x["delta"]), "A": x["A"], "B": act(x["B"]),
            "C": act(x["C"]), "D": x["D"], "z": act(x["z"]),
            "delta_bias": x["delta_bias"], "h0": x.get("h0")}
    program = selective_program(vals, names, tm, tensor_type((b, d, n)))
    check(name, program, options, [vals[k] for k in names], [act(y), last], lowerings)


def linear_case(name, shape, dim, options, reverse=False, last_only=False, a=None):
    program, inputs, expected = linear_scan_case(rng, shape, dim, reverse, last_only, a)
    check(name, program, options, inputs, [expected])


scan_case("scan_3_chunks_uneven", 1, 16, 1000, 16, "chunks=3 block=64")
scan_case("scan_odd_channels_tm", 2, 37, 301, 5, "chunks=4 block=32", tm=True)
scan_case("scan_single_chunk", 1, 16, 77, 4, "chunks=1 block=16")
scan_case("scan_more_chunks_than_steps", 1, 9, 5, 3, "chunks=8 block=2")
scan_case("scan_L1", 1, 16, 1, 4, "chunks=2 block=4")
scan_case("scan_no_h0", 1, 24, 500, 8, "chunks=5 block=50", h0=False)
# exp(dt * A) underflows to 0 at every step: recomputes end after a block.
scan_case("scan_decays_underflow", 1, 16, 600, 4, "chunks=4 block=32", A=-1e4)
# exp(dt * A) = 1: every recompute spans its chunk, and phase 3 redoes
# chunks 2.. from their true initial states.
scan_case("scan_decays_one", 1, 16, 700, 4, "chunks=5 block=64", A=0.0)
linear_case("linear_uneven", (3, 1001), 1, "chunks=4 block=100")
linear_case("linear_reverse", (257, 5), 0, "chunks=3 block=16", reverse=True)
linear_case("linear_last_only", (4, 300), 1, "chunks=3 block=64", last_only=True)
linear_case("linear_reverse_last_only", (300, 2), 0, "chunks=7 block=8", reverse=True,
            last_only=True)
linear_case("linear_decays_one", (2, 999), 1, "chunks=6 block=50",
            a=np.ones((2, 999), dtype=np.float32))
linear_case("linear_decays_zero", (2, 999), 1, "chunks=6 block=50",
            a=np.zeros((2, 999), dtype=np.float32))
# The runner's pipeline decides by itself: one 16-channel tile, 2 threads,
# 2^20 steps -> two chunks over time; the same on one thread is the sequential
# fast path.
scan_case("scan_auto_2threads_L2^20", 1, 16, 1 << 20, 16, None,
          lowerings=[("fast-2threads", ["--threads", "2"]), ("fast-1thread", ["--threads", "1"])])
linear_case("linear_auto_L2^20", (1 << 20, 3), 0, None)
suite.finish()
