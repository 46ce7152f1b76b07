# RUN: %python %s
#
# ssm.scan (h_t = a_t * h_{t-1} + b_t) through `ssm-run FILE`: any rank and
# scanned dimension, initial state, reverse, all steps or the last only,
# dynamic shapes, f32/f64, L = 1 and L = 4096.
import numpy as np

import ssm_reference as ref
from ssm_testing import LOWERINGS, Suite, run_file, tensor_type

suite = Suite("linear-scan")
rng = np.random.default_rng(11)


def case(name, shape, dim, init=False, reverse=False, last_only=False, elt="f32",
         dynamic=False):
    dtype = np.float64 if elt == "f64" else np.float32
    a = rng.uniform(0.5, 1.0, shape).astype(dtype)
    b = rng.standard_normal(shape).astype(dtype)
    lanes = tuple(s for i, s in enumerate(shape) if i != dim)
    h0 = rng.standard_normal(lanes).astype(dtype)
    aty = tensor_type(shape, elt, dynamic)
    hty = tensor_type(lanes, elt, dynamic)
    rty = hty if last_only else aty
    args = "%%a: %s, %%b: %s" % (aty, aty) + (", %%h0: %s" % hty if init else "")
    program = """
func.func @main(%s) -> %s {
  %%r = ssm.scan %%a, %%b%s dim = %d%s%s : %s, %s -> %s
  return %%r : %s
}
""" % (args, rty, " init(%%h0 : %s)" % hty if init else "", dim,
       " reverse" if reverse else "", " last_only" if last_only else "", aty, aty, rty, rty)
    inputs = [a, b] + ([h0] if init else [])
    expected = ref.linear_scan(a, b, dim, h0 if init else None, reverse, last_only)
    for lowering, extra in LOWERINGS:
        label = "%s [%s]" % (name, lowering)
        outs = run_file(suite, label, program, "main", inputs, 1, extra)
        if outs is not None:
            suite.compare(label, "h", outs[0], expected)


case("rank1", (50,), 0)
case("rank1_init_last", (50,), 0, init=True, last_only=True)
case("rank2_dim0", (33, 5), 0, init=True)
case("rank2_dim1_reverse", (5, 33), 1, reverse=True)
case("rank2_reverse_init_last", (5, 33), 1, init=True, reverse=True, last_only=True)
case("rank3_dim1", (2, 17, 3), 1, init=True)
case("rank3_dim2_dynamic", (2, 3, 17), 2, init=True, reverse=True, dynamic=True)
case("rank3_dim0_last_dynamic", (9, 2, 3), 0, last_only=True, dynamic=True)
case("f64", (4, 21), 1, init=True, elt="f64")
case("L1", (7, 1), 1, init=True)
case("L1_last", (1, 7), 0, init=True, last_only=True, reverse=True)
case("L4096", (3, 4096), 1, init=True)
case("L4096_reverse_last", (4096, 3), 0, reverse=True, last_only=True)
suite.finish()
