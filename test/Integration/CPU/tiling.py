# RUN: %python %s
#
# Programs tiled by `ssm-opt --ssm-tile` (lane tiles and time chunks that
# carry the state), run through `ssm-run FILE` on both lowerings, against the
# float64 reference: the selective scan (both layouts, h0 and the last
# state, grouped B, a channel tile that is not a multiple of the vector
# width, chunks that do and do not divide L, one chunk longer than L), the
# conv (incoming and final state, chunks shorter than k - 1) and ssm.scan
# (reverse, last_only).
import os
import subprocess

import numpy as np

import ssm_reference as ref
from ssm_testing import (Suite, compare_lowerings, conv_inputs, linear_scan_case, scan_inputs,
                         selective_program, tensor_type)

SSM_OPT = os.path.join(os.environ.get("SSM_TOOLS_DIR", ""), "ssm-opt")
suite = Suite("tiling")
rng = np.random.default_rng(23)


def tile(name, program, options):
    """The program after ssm-tile with `options`, or None on error."""
    proc = subprocess.run([SSM_OPT, "--ssm-tile=" + options], input=program,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        suite.fail(name, "ssm-opt --ssm-tile=%s failed: %s" % (options, proc.stderr))
        return None
    return proc.stdout


def check(name, program, options, inputs, expected):
    tiled = tile(name, program, options)
    if tiled is None:
        return
    compare_lowerings(suite, name, tiled, inputs, expected)


def scan_case(name, b, d, L, n, options, tm=False, bform="var", bgroups=1, h0=True):
    x = scan_inputs(rng, b, d, L, n, bform=bform, bgroups=bgroups, D=True, z=True,
                    bias=True, softplus=True, h0=h0)
    y, last = ref.selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"], x["D"],
                                 x["z"], x["delta_bias"], True, x.get("h0"))
    act = lambda a: np.ascontiguousarray(a.transpose(0, 2, 1)) if tm else a
    B = x["B"]
    if tm and B.ndim == 3:
        B = np.ascontiguousarray(B.transpose(0, 2, 1))
    if tm and B.ndim == 4:
        B = np.ascontiguousarray(B.transpose(0, 3, 1, 2))
    C = act(x["C"])
    names = ["u", "delta", "A", "B", "C", "D", "z", "delta_bias"] + (["h0"] if h0 else [])
    vals = {"u": act(x["u"]), "delta": act(x["delta"]), "A": x["A"], "B": B, "C": C,
            "D": x["D"], "z": act(x["z"]), "delta_bias": x["delta_bias"], "h0": x.get("h0")}
    program = selective_program(vals, names, tm, tensor_type((b, d, n)))
    check(name, program, options, [vals[k] for k in names], [act(y), last])


def conv_case(name, b, d, L, k, options):
    x, w, bias, s = conv_inputs(rng, b, d, L, k)
    out, fin = ref.causal_conv1d(x, w, bias, True, s)
    xt, wt, bt, st = (tensor_type(v.shape) for v in (x, w, bias, s))
    program = """
func.func @main(%%x: %s, %%w: %s, %%b: %s, %%s: %s) -> (%s, %s) {
  %%y, %%f = ssm.causal_conv1d channel_first %%x, %%w bias(%%b : %s) conv_state(%%s : %s) silu
      : %s, %s -> %s, %s
  return %%y, %%f : %s, %s
}
""" % (xt, wt, bt, st, xt, st, bt, st, xt, wt, xt, st, xt, st)
    check(name, program, options, [x, w, bias, s], [out, fin])


def linear_case(name, shape, dim, options, reverse=False, last_only=False):
    program, inputs, expected = linear_scan_case(rng, shape, dim, reverse, last_only)
    check(name, program, options, inputs, [expected])


scan_case("scan_tiles_chunks", 2, 40, 37, 4, "tile-sizes=1,16 time-chunk=8")
scan_case("scan_no_h0_chunk_divides", 1, 24, 64, 16, "tile-sizes=1,8 time-chunk=16", h0=False)
scan_case("scan_chunk_longer_than_L", 2, 5, 7, 3, "tile-sizes=1,2 time-chunk=100")
scan_case("scan_chunks_only", 1, 17, 50, 5, "time-chunk=7")
scan_case("scan_token_major", 2, 32, 29, 4, "tile-sizes=1,16 time-chunk=10", tm=True)
scan_case("scan_grouped", 1, 32, 33, 2, "tile-sizes=1,16 time-chunk=9", bform="grp", bgroups=2)
scan_case("scan_grouped_tm_for", 1, 32, 21, 2, "tile-sizes=1,16 time-chunk=4 loop=for",
          tm=True, bform="grp", bgroups=2)
conv_case("conv_tiles_chunks", 2, 20, 30, 4, "tile-sizes=1,16 time-chunk=8")
conv_case("conv_chunk_shorter_than_state", 1, 6, 11, 4, "time-chunk=2")
linear_case("linear_reverse", (3, 20, 5), 1, "tile-sizes=2,3 time-chunk=6", reverse=True)
linear_case("linear_last_only", (4, 19), 1, "tile-sizes=3 time-chunk=5", last_only=True)
linear_case("linear_reverse_last_only", (19, 4), 0, "time-chunk=4", reverse=True,
            last_only=True)
suite.finish()
