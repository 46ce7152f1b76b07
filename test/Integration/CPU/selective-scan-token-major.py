# RUN: %python %s
#
# ssm.selective_scan in token_major layout (u, delta, z, y: (b, L, d); B, C:
# (b, L, n) or (b, L, g, n)) through `ssm-run FILE`, with static and dynamic
# shapes, f32 and f64, against the float64 reference (computed channel-first).
import numpy as np

import ssm_reference as ref
from ssm_testing import SCAN_LOWERINGS, Suite, run_file, scan_inputs, tensor_type

suite = Suite("selective-scan-token-major")
rng = np.random.default_rng(7)


def to_tm(name, a):
    """Channel-first operand -> token-major."""
    if name in ("u", "delta", "z"):
        return np.ascontiguousarray(a.transpose(0, 2, 1))
    if name in ("B", "C") and a.ndim == 3:          # (b, n, L) -> (b, L, n)
        return np.ascontiguousarray(a.transpose(0, 2, 1))
    if name in ("B", "C") and a.ndim == 4:          # (b, g, n, L) -> (b, L, g, n)
        return np.ascontiguousarray(a.transpose(0, 3, 1, 2))
    return a


def case(name, b, d, L, n, elt="f32", dynamic=False, softplus=True, **kw):
    dtype = np.float64 if elt == "f64" else np.float32
    x = scan_inputs(rng, b, d, L, n, softplus=softplus, dtype=dtype, **kw)
    order = ["u", "delta", "A", "B", "C"] + [k for k in ("D", "z", "delta_bias", "h0") if k in x]
    tm = {k: to_tm(k, v) for k, v in x.items()}
    ty = {k: tensor_type(tm[k].shape, elt, dynamic and tm[k].ndim >= 3) for k in order}
    yty = tensor_type((b, L, d), elt, dynamic)
    hty = tensor_type((b, d, n), elt, dynamic)
    opt = "".join(" %s(%%%s : %s)" % (k, k, ty[k]) for k in order[5:])
    program = """
func.func @main(%s) -> (%s, %s) {
  %%y, %%h = ssm.selective_scan token_major %%u, %%delta, %%A, %%B, %%C%s%s
      : (%s) -> %s, %s
  return %%y, %%h : %s, %s
}
""" % (", ".join("%%%s: %s" % (k, ty[k]) for k in order), yty, hty, opt,
       " delta_softplus" if softplus else "", ", ".join(ty[k] for k in order[:5]),
       yty, hty, yty, hty)
    y_ref, h_ref = ref.selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"],
                                      D=x.get("D"), z=x.get("z"),
                                      delta_bias=x.get("delta_bias"),
                                      delta_softplus=softplus, h0=x.get("h0"))
    for lowering, extra in SCAN_LOWERINGS:
        label = "%s [%s]" % (name, lowering)
        outs = run_file(suite, label, program, "main", [tm[k] for k in order], 2, extra)
        if outs is None:
            continue
        suite.compare(label, "y", outs[0], y_ref.transpose(0, 2, 1))
        suite.compare(label, "last_state", outs[1], h_ref)


case("tm_var", 2, 6, 29, 3, D=True, z=True)
case("tm_grouped", 2, 6, 29, 4, bform="grp", cform="grp", bgroups=2, cgroups=3, bias=True, h0=True)
case("tm_inv_dynamic", 1, 5, 40, 3, bform="inv", cform="var", dynamic=True, D=True)
case("tm_f64", 2, 3, 17, 2, elt="f64", z=True, h0=True)
case("tm_L1", 3, 7, 1, 16, D=True, z=True, bias=True)
case("tm_tiles_and_tails", 2, 37, 21, 5, bform="grp", cform="grp", bgroups=1, cgroups=37, D=True, z=True)
case("tm_long", 1, 3, 4096, 16, D=True, z=True)
# n above 64: state groups (StateGroups.cpp), static and dynamic shapes.
case("tm_n100_groups", 2, 17, 23, 100, bform="grp", cform="var", bgroups=1, D=True,
     z=True, bias=True, h0=True)
case("tm_n70_dynamic", 1, 9, 31, 70, dynamic=True, D=True, z=True)
suite.finish()
