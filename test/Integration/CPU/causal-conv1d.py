# RUN: %python %s
#
# ssm.causal_conv1d through `ssm-run FILE`: k in {1, 2, 4, 5}, bias, SiLU, an
# incoming conv state and the final state (also when L < k - 1, where it
# still holds part of the incoming state), both layouts, odd d, L = 4096;
# the fast path's vector loops with and without a masked remainder (time in
# channel_first, channels in token_major), several token_major step blocks
# and column widths, and its AVX2 form.
import numpy as np

import ssm_reference as ref
from ssm_testing import (GPU_LOWERINGS, SCAN_LOWERINGS, Suite, conv_inputs, run_file,
                         tensor_type)

suite = Suite("causal-conv1d")
rng = np.random.default_rng(5)


def case(name, b, d, L, k, bias=False, silu=False, state=False, final=False,
         layout="channel_first", dynamic=False):
    x, w, bv, s = conv_inputs(rng, b, d, L, k)
    tm = layout == "token_major"
    xin = np.ascontiguousarray(x.transpose(0, 2, 1)) if tm else x
    xty = tensor_type(xin.shape, dynamic=dynamic)
    wty, bty, sty = tensor_type(w.shape), tensor_type(bv.shape), tensor_type(s.shape)
    args = ["%%x: %s" % xty, "%%w: %s" % wty]
    inputs = [xin, w]
    opt = ""
    if bias:
        args.append("%%bias: %s" % bty)
        inputs.append(bv)
        opt += " bias(%%bias : %s)" % bty
    if state:
        args.append("%%s: %s" % sty)
        inputs.append(s)
        opt += " conv_state(%%s : %s)" % sty
    results = [xty] + ([sty] if final else [])
    program = """
func.func @main(%s) -> (%s) {
  %s = ssm.causal_conv1d %s %%x, %%w%s%s : %s, %s -> %s
  return %s : %s
}
""" % (", ".join(args), ", ".join(results),
       "%y, %fin" if final else "%y", layout, opt, " silu" if silu else "", xty, wty,
       ", ".join(results), "%y, %fin" if final else "%y", ", ".join(results))
    out_ref, fin_ref = ref.causal_conv1d(x, w, bv if bias else None, silu,
                                         s if state else None)
    for lowering, extra in SCAN_LOWERINGS + GPU_LOWERINGS:
        label = "%s [%s]" % (name, lowering)
        outs = run_file(suite, label, program, "main", inputs, len(results), extra)
        if outs is None:
            continue
        suite.compare(label, "out", outs[0], out_ref.transpose(0, 2, 1) if tm else out_ref)
        if final:
            suite.compare(label, "final_state", outs[1], fin_ref)


case("k4_plain", 2, 6, 30, 4)
case("k4_bias_silu", 2, 6, 30, 4, bias=True, silu=True)
case("k4_state_final", 2, 6, 30, 4, bias=True, silu=True, state=True, final=True)
case("k4_final_no_state", 1, 5, 30, 4, final=True)
case("k4_L1_state", 2, 3, 1, 4, state=True, final=True)
case("k4_L2_state_final", 1, 3, 2, 4, bias=True, state=True, final=True)
case("k1", 2, 7, 19, 1, bias=True, final=True)
case("k2_silu", 1, 7, 19, 2, silu=True, state=True, final=True)
case("token_major", 2, 6, 30, 4, bias=True, silu=True, state=True, final=True,
     layout="token_major")
case("token_major_dynamic", 1, 9, 23, 3, bias=True, layout="token_major", dynamic=True)
case("dynamic", 2, 5, 23, 4, silu=True, dynamic=True)
case("L4096", 1, 3, 4096, 4, bias=True, silu=True, state=True, final=True)
# Vector loops: time 3 + 16 * 6 (no remainder) and 3 + 16 * 6 + 7.
case("vec_exact", 2, 3, 99, 4, bias=True, silu=True, state=True, final=True)
case("vec_rest", 1, 3, 106, 4, bias=True, state=True)
case("k5", 1, 4, 40, 5, bias=True, silu=True, state=True, final=True)
# token_major: 48 channels (3 full vectors of 16, 6 of 8), 37 (a masked
# remainder), several blocks of 64 steps and a partial one.
case("tm_d48", 1, 48, 150, 4, bias=True, silu=True, state=True, final=True,
     layout="token_major")
case("tm_d37", 2, 37, 70, 4, bias=True, state=True, final=True, layout="token_major")
case("tm_L2", 1, 37, 2, 4, state=True, final=True, layout="token_major")
# token_major columns: 4 vectors for k <= 4, 2 for k <= 8, 1 beyond (64,
# 32, 16 channels with AVX-512; half that with AVX2), then single vectors,
# the last one masked. 600 = 9 columns of 64, one vector and 8 masked lanes
# (AVX2: 18 columns of 32 and 3 vectors); 70 at k = 5 = 2 columns of 32 and
# 6 masked lanes; k = 9 and k = 1 (an empty window); L = k - 1 (no vector
# step) and L = k (one).
case("tm_d600", 2, 600, 77, 4, bias=True, silu=True, state=True, final=True,
     layout="token_major")
case("tm_k5_d70", 1, 70, 90, 5, bias=True, silu=True, state=True, final=True,
     layout="token_major")
case("tm_k9_d37", 1, 37, 80, 9, bias=True, state=True, final=True, layout="token_major")
case("tm_k1_d70", 1, 70, 65, 1, bias=True, silu=True, final=True, layout="token_major")
case("tm_L3", 1, 100, 3, 4, bias=True, state=True, final=True, layout="token_major")
case("tm_L4", 1, 100, 4, 4, bias=True, silu=True, state=True, final=True,
     layout="token_major")
suite.finish()
