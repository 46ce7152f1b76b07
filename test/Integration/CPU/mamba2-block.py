# RUN: %python %s
#
# ssm.mamba2_block against the float64 Mamba-2 mixer of semantics.md
# section 5 (test/lib/ssm_reference.py): one and several groups of B and C,
# heads of 16 channels (the fast path's tiles) and of odd width, a conv
# bias or none, the gated RMSNorm over the whole width or per group
# (norm_groups), L = 1, a batch, long sequences; the conv and ssm states
# after the sequence, and chunked prefill (the block continued from the
# states of an earlier chunk equals the block on the whole sequence);
# every lowering.
import numpy as np

import ssm_reference as ref
from ssm_testing import GPU_LOWERINGS, SCAN_LOWERINGS, Suite, run_file, tensor_type

suite = Suite("mamba2-block")
rng = np.random.default_rng(17)


def weights(Dm, H, P, G, N, K, conv_bias):
    I, X = H * P, H * P + 2 * G * N
    w = {
        "in_proj": rng.standard_normal((2 * I + 2 * G * N + H, Dm)) / np.sqrt(Dm),
        "conv_weight": rng.standard_normal((X, K)) / np.sqrt(K),
        "conv_bias": rng.standard_normal(X) * 0.1 if conv_bias else None,
        "dt_bias": rng.uniform(-4.0, -1.0, H),
        "A_log": np.log(rng.uniform(1.0, 16.0, H)),
        "D": rng.standard_normal(H),
        "norm_weight": 1.0 + 0.1 * rng.standard_normal(I),
        "out_proj": rng.standard_normal((Dm, I)) / np.sqrt(I),
    }
    return {k: None if v is None else v.astype(np.float32) for k, v in w.items()}


ORDER = ["in_proj", "conv_weight", "conv_bias", "dt_bias", "A_log", "D", "norm_weight",
         "out_proj"]
KEYWORD = {"conv_weight": "conv", "norm_weight": "norm"}


def program(h_shape, w, G, with_states_in, R=1):
    b = h_shape[0]
    X, K = w["conv_weight"].shape
    H = w["A_log"].shape[0]
    I = w["norm_weight"].shape[0]
    N = (X - I) // (2 * G)
    ht = tensor_type(h_shape)
    cst = tensor_type((b, X, K - 1))
    sst = tensor_type((b, H, I // H, N))
    names = [k for k in ORDER if w[k] is not None]
    args = ["%%h: %s" % ht] + ["%%%s: %s" % (k, tensor_type(w[k].shape)) for k in names]
    ops = ["%s(%%%s : %s)" % (KEYWORD.get(k, k), k, tensor_type(w[k].shape)) for k in names]
    if with_states_in:
        args += ["%%cs_in: %s" % cst, "%%ss_in: %s" % sst]
        ops += ["conv_state(%%cs_in : %s)" % cst, "ssm_state(%%ss_in : %s)" % sst]
    return """
func.func @main(%s) -> (%s, %s, %s) {
  %%out, %%cs, %%ss = ssm.mamba2_block %%h %s ngroups = %d epsilon = 1.0e-05 norm_groups = %d states
      : %s -> %s, %s, %s
  return %%out, %%cs, %%ss : %s, %s, %s
}
""" % (", ".join(args), ht, cst, sst, " ".join(ops), G, R, ht, ht, cst, sst, ht, cst, sst), names


# (name, b, L, D model, heads, head width P, groups, N, K, conv bias, norm
# groups R: the gated RMSNorm per group of I / R channels)
CASES = [
    ("one group, heads of 16, L = 1", 1, 1, 24, 2, 16, 1, 8, 4, True, 1),
    ("two groups, heads of 16", 2, 45, 32, 4, 16, 2, 16, 4, True, 1),
    ("two groups, norm per group", 2, 45, 32, 4, 16, 2, 16, 4, True, 2),
    ("odd head width, no conv bias", 1, 33, 20, 3, 5, 1, 4, 3, False, 1),
    ("three groups of odd heads, K = 2, norm per group", 2, 17, 12, 6, 3, 3, 2, 2, True, 3),
    ("one group, norm in 5 groups of 7", 1, 9, 16, 5, 7, 1, 4, 4, True, 5),
    ("one group, L = 1500", 1, 1500, 16, 2, 16, 1, 16, 4, True, 1),
]

for index, (name, b, L, Dm, H, P, G, N, K, bias, R) in enumerate(CASES):
    w = weights(Dm, H, P, G, N, K, bias)
    h = rng.standard_normal((b, L, Dm)).astype(np.float32)
    expected = ref.mamba2_block(h, w, G, 1e-5, norm_groups=R)
    text, names = program(h.shape, w, G, False, R)
    for lname, extra in SCAN_LOWERINGS + GPU_LOWERINGS:
        out = run_file(suite, "m%d_%s" % (index, lname), text, "main",
                       [h] + [w[k] for k in names], 3, extra)
        if out is None:
            continue
        case = "%s [%s]" % (name, lname)
        for what, got, want in zip(["out", "conv_state", "ssm_state"], out, expected):
            suite.compare(case, what, got, want)

    # Chunked prefill: the first `cut` steps, then the rest from their states.
    if L < 4:
        continue
    cut = L // 3
    _, cs, ss = ref.mamba2_block(h[:, :cut], w, G, 1e-5, norm_groups=R)
    text2, _ = program((b, L - cut, Dm), w, G, True, R)
    expected2 = ref.mamba2_block(h[:, cut:], w, G, 1e-5, cs, ss, norm_groups=R)
    whole = expected[0][:, cut:]
    for lname, extra in SCAN_LOWERINGS + GPU_LOWERINGS:
        out = run_file(suite, "m%d_chunk_%s" % (index, lname), text2, "main",
                       [np.ascontiguousarray(h[:, cut:])] + [w[k] for k in names]
                       + [cs.astype(np.float32), ss.astype(np.float32)], 3, extra)
        if out is None:
            continue
        case = "%s, chunked at %d [%s]" % (name, cut, lname)
        suite.compare(case, "out", out[0], expected2[0])
        suite.compare(case, "out vs whole", out[0], whole)
        suite.compare(case, "ssm_state", out[2], expected[2])

suite.finish()
