# RUN: %python %s
#
# Accuracy of the fast path's per-step softplus (of delta) and SiLU (of the
# gate z), measured through the compiled scan: with u = B = C = 1 and A = 0
# (decay exp2(0) = 1 exactly), the state sums the dt of the steps: one step
# gives y = dt = softplus(delta); of two steps, the first with delta = -1e4,
# y1 - y0 is the second step's dt (exactly: the first dt is 0, or 2^-126
# where exp2 clamps its argument, and the sum of two such values is exact).
# Without softplus, with dt 0 then 1, the second output is 1 * SiLU(z).
# 2^16 channels per run, token_major; L = 2 takes the chunk path, L = 1 the
# decoding-step path; both vector widths (16 uses vscalefps in exp2, 8
# builds the power of two from bits after clamping).
#
# The bound is relative to the float64 function at the fp32 argument:
# 4e-7 (polynomials and roundings) plus 1.2e-7 * max(0, -x), which is the
# rounding of x * log2 e in the argument of exp2 times the condition number
# of softplus and SiLU at x << 0 (about |x|): no fp32 implementation that
# rounds its argument once does better there.
import numpy as np

from ssm_testing import Suite, run_file

suite = Suite("softplus-silu")
rng = np.random.default_rng(11)
d = 1 << 16


def program(L, softplus, gate):
    ty = "tensor<1x%dx%dxf32>" % (L, d)
    bty = "tensor<1x%dx1xf32>" % L
    aty = "tensor<%dx1xf32>" % d
    z = " z(%%z : %s)" % ty if gate else ""
    zarg = ", %%z: %s" % ty if gate else ""
    return """
func.func @main(%%u: %s, %%dt: %s, %%A: %s, %%B: %s%s) -> %s {
  %%y = ssm.selective_scan token_major %%u, %%dt, %%A, %%B, %%B%s%s
      : (%s, %s, %s, %s, %s) -> %s
  return %%y : %s
}
""" % (ty, ty, aty, bty, zarg, ty, z, " delta_softplus" if softplus else "",
       ty, ty, aty, bty, bty, ty, ty)


def last_step(name, L, delta_last, z_last, extra):
    """y at the last step for delta (softplus on) or z (gate, dt = 1)."""
    softplus = z_last is None
    u = np.ones((1, L, d), np.float32)
    delta = np.empty((1, L, d), np.float32)
    # The first of two steps has dt = softplus(-1e4) (0, or 2^-126 when
    # exp2 clamps) or, without softplus, 0.
    delta[0, 0] = -1e4 if softplus else 0.0
    delta[0, L - 1] = delta_last
    inputs = [u, delta, np.zeros((d, 1), np.float32), np.ones((1, L, 1), np.float32)]
    if not softplus:
        z = np.zeros((1, L, d), np.float32)
        z[0, L - 1] = z_last
        inputs.append(z)
    outs = run_file(suite, name, program(L, softplus, not softplus), "main", inputs, 1,
                    extra)
    if outs is None:
        return None
    y = outs[0][0].astype(np.float64)
    return y[L - 1] - y[0] if L == 2 else y[0]


def check(name, x, got, ref):
    suite.count += 1
    err = np.abs(got - ref)
    bound = (4e-7 + 1.2e-7 * np.maximum(0.0, -x)) * np.abs(ref)
    ratio = np.where(err > 0, err / np.maximum(bound, 1e-300), 0.0)
    worst = int(np.argmax(ratio))
    mid = np.abs(x) <= 8.0
    print("%-4s %-34s max_rel_err=%.2e on [-8, 8]; max err/bound %.2f (at x = %.4g)" % (
        "ok" if ratio[worst] <= 1 else "FAIL", name,
        float(np.max(err[mid] / np.maximum(np.abs(ref[mid]), 1e-300))), ratio[worst], x[worst]))
    if ratio[worst] > 1:
        suite.fail(name, "error %.3e at x = %.6g exceeds the bound %.3e" % (
            err[worst], x[worst], bound[worst]))


# Arguments: dense in [-8, 8] where both functions bend, sparse out to the
# ends (softplus: down to -87, where it is ~1e-38, and past the threshold 20;
# SiLU: down to -80 and up to 40), plus special points.
def arguments(lo):
    x = np.concatenate([rng.uniform(-8.0, 8.0, d // 2), rng.uniform(lo, 40.0, d // 2)])
    x[:12] = [0.0, -0.0, 1e-7, -1e-7, 19.999998, 20.0, 20.000002, 25.0, -20.0,
              lo, 40.0, 0.5]
    return x.astype(np.float32)


xs = arguments(-87.0)
xz = arguments(-80.0)
x64, z64 = xs.astype(np.float64), xz.astype(np.float64)
softplus_ref = np.where(x64 > 20.0, x64, np.log1p(np.exp(x64)))
silu_ref = z64 / (1.0 + np.exp(-z64))
for width in ("16", "8"):
    extra = ["--vector-width", width]
    for L, path in ((2, "chunk"), (1, "step")):
        got = last_step("softplus_w%s_L%d" % (width, L), L, xs, None, extra)
        if got is not None:
            check("softplus, width %s, %s path" % (width, path), x64, got, softplus_ref)
            # PyTorch's threshold: x itself above 20, bit for bit.
            suite.count += 1
            above = x64 > 20.0
            if not np.array_equal(got[above], x64[above]):
                suite.fail("softplus threshold w%s L%d" % (width, L),
                           "softplus(x) != x for some x > 20")
        got = last_step("silu_w%s_L%d" % (width, L), L, np.ones(d, np.float32), xz, extra)
        if got is not None:
            check("silu, width %s, %s path" % (width, path), z64, got, silu_ref)
suite.finish()
