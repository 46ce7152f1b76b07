# RUN: %python %s
#
# ssm.linear_attention (expanded into a selective scan with A = 0, unit
# steps, B = k, C = q) against the float64 recurrence S_t = S_{t-1} +
# k_t v_t^T, y_t = S_t^T q_t: one head (variable B/C), several heads
# (grouped), widths that fill the 16-lane tiles of the fast path and odd
# ones that do not, L = 1, long sequences, a batch, every lowering.
#
# At L = 1 every output of a head is the one dot product q.k times v: a
# draw whose q.k cancels would measure the conditioning of that draw, not
# the lowering, so that case takes positive q and k.
import numpy as np

import ssm_reference as ref
from ssm_testing import SCAN_LOWERINGS, Suite, run_file, tensor_type

suite = Suite("linear-attention")
rng = np.random.default_rng(11)

# (name, b, L, heads, dk, dv)
CASES = [
    ("one head, L = 1", 1, 1, 1, 4, 8),
    ("one head, odd widths", 2, 37, 1, 3, 5),
    ("two heads of 32 values (fast-path tiles)", 1, 300, 2, 8, 32),
    ("three heads, odd widths", 2, 129, 3, 5, 7),
    ("four heads, L = 2000", 1, 2000, 4, 4, 16),
]

for index, (name, b, L, heads, dk, dv) in enumerate(CASES):
    if L == 1:
        q = rng.uniform(0.5, 1.0, (b, L, heads * dk)).astype(np.float32)
        k = rng.uniform(0.5, 1.0, (b, L, heads * dk)).astype(np.float32)
    else:
        q = rng.standard_normal((b, L, heads * dk)).astype(np.float32)
        k = (rng.standard_normal((b, L, heads * dk)) / np.sqrt(L)).astype(np.float32)
    v = rng.standard_normal((b, L, heads * dv)).astype(np.float32)
    qt, vt = tensor_type(q.shape), tensor_type(v.shape)
    program = """
func.func @main(%%q: %s, %%k: %s, %%v: %s) -> %s {
  %%y = ssm.linear_attention %%q, %%k, %%v heads = %d : %s, %s, %s -> %s
  return %%y : %s
}
""" % (qt, qt, vt, vt, heads, qt, qt, vt, vt, vt)
    expected = ref.linear_attention(q, k, v, heads)
    for lname, extra in SCAN_LOWERINGS:
        out = run_file(suite, "la%d_%s" % (index, lname), program, "main",
                       [q, k, v], 1, extra)
        if out is not None:
            suite.compare("%s [%s]" % (name, lname), "y", out[0], expected)

suite.finish()
