# RUN: %python %s
#
# Dimensions of extent zero in every op, through every lowering (the fast
# paths, the reference loops, AVX2 on one thread, the GPU kernels on the
# emulator), against the float64 references: a selective scan without
# states (n = 0: y = D u, gated; it crashed the fast path before) in both
# layouts, with time-invariant and grouped B/C, as a single step and long
# enough for the time-parallel scan; empty batch, channels and sequences
# (the last state is h0, the conv's final state its incoming one); the
# linear recurrence, projections with no inputs (y = bias) or no outputs,
# rmsnorm, embedding, and the Mamba blocks on an empty sequence or batch
# (Mamba-1 also without states). Each group of cases is one program, so that each lowering
# compiles it once.
import numpy as np

import ssm_reference as ref
from ssm_testing import (GPU_LOWERINGS, SCAN_LOWERINGS, Suite, conv_inputs, run_file,
                         scan_inputs, tensor_type, to_token_major)

suite = Suite("empty-dims")
rng = np.random.default_rng(23)
LOWERINGS = SCAN_LOWERINGS + GPU_LOWERINGS + [
    ("gpu-emulator", ["--target", "gpu-emulator"]),
    ("gpu-emulator-channels-all", ["--target", "gpu-emulator", "--gpu-scan", "channels",
                                   "--gpu-all-kernels"])]


class Program:
    """One @main built case by case: arguments, ops, results and the
    float64 results expected."""

    def __init__(self):
        self.args, self.inputs, self.ops = [], [], []
        self.results, self.expected, self.names = [], [], []

    def arg(self, value, elt="f32", dynamic=False):
        name = "%%a%d" % len(self.args)
        ty = tensor_type(value.shape, elt, dynamic)
        self.args.append("%s: %s" % (name, ty))
        self.inputs.append(value)
        return name, ty

    def result(self, name, ty, expected, what):
        self.results.append((name, ty))
        self.expected.append(expected)
        self.names.append(what)

    def text(self):
        return "func.func @main(%s) -> (%s) {\n%s\n  return %s : %s\n}\n" % (
            ", ".join(self.args), ", ".join(t for _, t in self.results),
            "\n".join(self.ops), ", ".join(n for n, _ in self.results),
            ", ".join(t for _, t in self.results))

    def check(self, group):
        text = self.text()
        for lowering, extra in LOWERINGS:
            outs = run_file(suite, "%s_%s" % (group, lowering), text, "main",
                            self.inputs, len(self.results), extra)
            if outs is None:
                continue
            for got, want, what in zip(outs, self.expected, self.names):
                suite.compare("%s [%s]" % (what, lowering), "result", got, want)


def selective(p, name, b, d, L, n, tm=False, dynamic=False, bform="var", groups=1,
              **options):
    x = scan_inputs(rng, b, d, L, n, bform=bform, cform=bform, bgroups=groups,
                    cgroups=groups, softplus=True, **options)
    order = ["u", "delta", "A", "B", "C"] + [k for k in ("D", "z", "delta_bias", "h0")
                                             if k in x]
    vals = {k: to_token_major(k, v) if tm else v for k, v in x.items()}
    operand = {k: p.arg(vals[k], dynamic=dynamic and vals[k].ndim >= 3) for k in order}
    y_ref, h_ref = ref.selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"],
                                      D=x.get("D"), z=x.get("z"),
                                      delta_bias=x.get("delta_bias"),
                                      delta_softplus=True, h0=x.get("h0"))
    yty = operand["u"][1]
    hty = tensor_type((b, d, n), dynamic=dynamic)
    y, h = "%%y%d" % len(p.ops), "%%h%d" % len(p.ops)
    p.ops.append("  %s, %s = ssm.selective_scan %s %s%s delta_softplus : (%s) -> %s, %s" % (
        y, h, "token_major" if tm else "channel_first",
        ", ".join(operand[k][0] for k in order[:5]),
        "".join(" %s(%s : %s)" % (k, operand[k][0], operand[k][1]) for k in order[5:]),
        ", ".join(operand[k][1] for k in order[:5]), yty, hty))
    p.result(y, yty, y_ref.transpose(0, 2, 1) if tm else y_ref, name + ": y")
    p.result(h, hty, h_ref, name + ": last state")


scans = Program()
full = dict(D=True, z=True, bias=True, h0=True)
selective(scans, "n = 0, every operand", 2, 5, 9, 0, **full)
selective(scans, "n = 0, token_major, dynamic", 1, 19, 7, 0, tm=True, dynamic=True, D=True)
selective(scans, "n = 0, token_major single step", 2, 16, 1, 0, tm=True, **full)
selective(scans, "n = 0, time-invariant B/C", 1, 7, 5, 0, bform="inv", D=True)
selective(scans, "n = 0, grouped B/C", 1, 6, 5, 0, bform="grouped", groups=2, D=True, z=True)
selective(scans, "n = 0, long (time-parallel)", 1, 2, 4099, 0, D=True, h0=True)
selective(scans, "L = 0", 2, 5, 0, 4, **full)
selective(scans, "L = 0, token_major, dynamic", 1, 17, 0, 16, tm=True, dynamic=True, h0=True)
selective(scans, "b = 0", 0, 5, 9, 4, **full)
selective(scans, "d = 0", 2, 0, 9, 4, **full)
# More states than the fast path's registers (state groups), empty: the
# groups' slices of an empty dimension failed upstream's verifier.
selective(scans, "d = 0, n = 513", 1, 0, 9, 513, **full)
selective(scans, "L = 0, n = 300, token_major", 1, 16, 0, 300, tm=True, h0=True)
selective(scans, "b = 0, n = 300", 0, 16, 5, 300, D=True)
scans.check("scans")

others = Program()
# Causal conv1d with an incoming state: the final state of an empty
# sequence is the incoming one.
for name, (b, d, L, k), tm in [("conv L = 0", (2, 3, 0, 4), False),
                               ("conv L = 0, token_major", (1, 17, 0, 4), True),
                               ("conv d = 0", (1, 0, 6, 4), False),
                               ("conv b = 0", (0, 3, 6, 2), True)]:
    x, w, bias, state = conv_inputs(rng, b, d, L, k)
    xin = np.ascontiguousarray(x.transpose(0, 2, 1)) if tm else x
    (xa, xty), (wa, wty) = others.arg(xin), others.arg(w)
    (ba, bty), (sa, sty) = others.arg(bias), others.arg(state)
    out, fin = ref.causal_conv1d(x, w, bias, True, state)
    y, f = "%%c%d" % len(others.ops), "%%cf%d" % len(others.ops)
    others.ops.append("  %s, %s = ssm.causal_conv1d %s %s, %s bias(%s : %s) conv_state(%s : %s) silu"
                      " : %s, %s -> %s, %s" % (y, f, "token_major" if tm else "channel_first",
                                               xa, wa, ba, bty, sa, sty, xty, wty, xty, sty))
    others.result(y, xty, out.transpose(0, 2, 1) if tm else out, name + ": out")
    others.result(f, sty, fin, name + ": final state")
# The linear recurrence along an empty dimension, and across one.
for name, shape, dim, last_only in [("scan L = 0", (0, 3), 0, False),
                                    ("scan L = 0, last_only", (3, 0), 1, True),
                                    ("scan of empty lanes", (4, 0), 0, False)]:
    a = rng.uniform(0.5, 1.0, shape).astype(np.float32)
    bv = rng.standard_normal(shape).astype(np.float32)
    lanes = tuple(s for i, s in enumerate(shape) if i != dim)
    h0 = rng.standard_normal(lanes).astype(np.float32)
    (aa, aty), (ba, _), (ha, hty) = others.arg(a), others.arg(bv), others.arg(h0)
    rty = hty if last_only else aty
    r = "%%s%d" % len(others.ops)
    others.ops.append("  %s = ssm.scan %s, %s init(%s : %s) dim = %d%s : %s, %s -> %s" % (
        r, aa, ba, ha, hty, dim, " last_only" if last_only else "", aty, aty, rty))
    others.result(r, rty, ref.linear_scan(a, bv, dim, h0, False, last_only), name)
# Projections: no inputs (y is the bias), no outputs, no rows; int8 rows.
for name, (b, L, K, N) in [("linear K = 0", (1, 5, 0, 4)), ("linear N = 0", (2, 3, 4, 0)),
                           ("linear of no rows", (1, 0, 4, 3))]:
    x = rng.standard_normal((b, L, K)).astype(np.float32)
    w = rng.standard_normal((N, K)).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)
    q = rng.integers(-127, 128, (N, K)).astype(np.int8)
    scale = rng.uniform(0.01, 0.1, N).astype(np.float32)
    (xa, xty), (wa, wty), (ba, bty) = others.arg(x), others.arg(w), others.arg(bias)
    (qa, qty), (sa, sty) = others.arg(q, "i8"), others.arg(scale)
    yty = tensor_type((b, L, N))
    i = len(others.ops)
    others.ops.append("  %%l%d = ssm.linear %s, %s bias(%s : %s) : %s, %s -> %s" % (
        i, xa, wa, ba, bty, xty, wty, yty))
    others.ops.append("  %%w%d = ssm.dequantize %s, %s : %s, %s -> %s" % (i, qa, sa, qty, sty, wty))
    others.ops.append("  %%q%d = ssm.linear %s, %%w%d : %s, %s -> %s" % (i, xa, i, xty, wty, yty))
    x64 = x.astype(np.float64)
    others.result("%%l%d" % i, yty, x64 @ w.T.astype(np.float64) + bias, name + ", bias")
    others.result("%%q%d" % i, yty, x64 @ (q.astype(np.float64) * scale[:, None]).T,
                  name + ", int8 rows")
# rmsnorm and embedding of no tokens.
x = rng.standard_normal((2, 0, 8)).astype(np.float32)
nw = rng.standard_normal(8).astype(np.float32)
(xa, xty), (na, nty) = others.arg(x), others.arg(nw)
others.ops.append("  %%n = ssm.rmsnorm %s, %s epsilon = 1.0e-05 : %s, %s -> %s" % (xa, na, xty, nty, xty))
others.result("%n", xty, x.astype(np.float64), "rmsnorm of no tokens")
tokens = np.zeros((1, 0), np.int64)
table = rng.standard_normal((16, 8)).astype(np.float32)
(ta, tty), (ea, ety) = others.arg(tokens, "i64"), others.arg(table)
others.ops.append("  %%e = ssm.embedding %s, %s : %s, %s -> %s" % (ta, ea, tty, ety, tensor_type((1, 0, 8))))
others.result("%e", tensor_type((1, 0, 8)), np.zeros((1, 0, 8)), "embedding of no tokens")
others.check("others")


def mamba_reference(h, w, conv_state, ssm_state):
    """The Mamba-1 mixer (semantics.md) in float64 from the given states."""
    E = w["A_log"].shape[0]
    R = w["dt_proj"].shape[1]
    N = w["A_log"].shape[1]
    xz = h.astype(np.float64) @ w["in_proj"].T
    xs, z = xz[..., :E].transpose(0, 2, 1), xz[..., E:].transpose(0, 2, 1)
    xs, conv_final = ref.causal_conv1d(xs, w["conv"], w["conv_bias"], True, conv_state)
    dbc = xs.transpose(0, 2, 1) @ w["x_proj"].T
    delta = (dbc[..., :R] @ w["dt_proj"].T).transpose(0, 2, 1)
    B = dbc[..., R:R + N].transpose(0, 2, 1)
    C = dbc[..., R + N:].transpose(0, 2, 1)
    y, last = ref.selective_scan(xs, delta, -np.exp(w["A_log"]), B, C, D=w["D"], z=z,
                                 delta_bias=w["dt_bias"], delta_softplus=True, h0=ssm_state)
    return y.transpose(0, 2, 1) @ w["out_proj"].T, conv_final, last


blocks = Program()
for name, (b, L, Dm, E, N, R, K) in [("mamba_block L = 0", (2, 0, 8, 16, 4, 1, 4)),
                                     ("mamba_block b = 0", (0, 5, 8, 16, 4, 1, 4)),
                                     ("mamba_block n = 0", (1, 6, 8, 16, 0, 2, 4))]:
    w = {"in_proj": rng.standard_normal((2 * E, Dm)) / np.sqrt(Dm),
         "conv": rng.standard_normal((E, K)) / 2, "conv_bias": rng.standard_normal(E) * 0.1,
         "x_proj": rng.standard_normal((R + 2 * N, E)) / np.sqrt(E),
         "dt_proj": rng.standard_normal((E, R)), "dt_bias": rng.uniform(-4.0, -1.0, E),
         "A_log": np.log(rng.uniform(1.0, 16.0, (E, N))), "D": rng.standard_normal(E),
         "out_proj": rng.standard_normal((Dm, E)) / np.sqrt(E)}
    w = {k: v.astype(np.float32) for k, v in w.items()}
    h = rng.standard_normal((b, L, Dm)).astype(np.float32)
    cs = rng.standard_normal((b, E, K - 1)).astype(np.float32)
    ss = rng.standard_normal((b, E, N)).astype(np.float32)
    ha, hty = blocks.arg(h)
    operands = " ".join("%s(%s : %s)" % ((k,) + blocks.arg(v)) for k, v in w.items())
    (ca, cty), (sa, sty) = blocks.arg(cs), blocks.arg(ss)
    i = len(blocks.ops)
    blocks.ops.append("  %%o%d, %%cs%d, %%ss%d = ssm.mamba_block %s %s conv_state(%s : %s)"
                      " ssm_state(%s : %s) states : %s -> %s, %s, %s" % (
                          i, i, i, ha, operands, ca, cty, sa, sty, hty, hty, cty, sty))
    out, conv_final, last = mamba_reference(h, w, cs, ss)
    blocks.result("%%o%d" % i, hty, out, name + ": out")
    blocks.result("%%cs%d" % i, cty, conv_final, name + ": conv state")
    blocks.result("%%ss%d" % i, sty, last, name + ": ssm state")
# Mamba-2 on an empty sequence, from given states (heads H of P channels,
# G groups of N states, conv of K taps over X = H P + 2 G N channels).
b, L, Dm, H, P, G, N, K = 2, 0, 12, 2, 4, 1, 3, 4
I, X = H * P, H * P + 2 * G * N
w = {"in_proj": rng.standard_normal((2 * I + 2 * G * N + H, Dm)) / np.sqrt(Dm),
     "conv_weight": rng.standard_normal((X, K)) / 2, "conv_bias": rng.standard_normal(X) * 0.1,
     "dt_bias": rng.uniform(-4.0, -1.0, H), "A_log": np.log(rng.uniform(1.0, 16.0, H)),
     "D": rng.standard_normal(H), "norm_weight": 1.0 + 0.1 * rng.standard_normal(I),
     "out_proj": rng.standard_normal((Dm, I)) / np.sqrt(I)}
w = {k: v.astype(np.float32) for k, v in w.items()}
h = rng.standard_normal((b, L, Dm)).astype(np.float32)
cs = rng.standard_normal((b, X, K - 1)).astype(np.float32)
ss = rng.standard_normal((b, H, P, N)).astype(np.float32)
ha, hty = blocks.arg(h)
keyword = {"conv_weight": "conv", "norm_weight": "norm"}
operands = " ".join("%s(%s : %s)" % ((keyword.get(k, k),) + blocks.arg(v)) for k, v in w.items())
(ca, cty), (sa, sty) = blocks.arg(cs), blocks.arg(ss)
blocks.ops.append("  %%m2o, %%m2cs, %%m2ss = ssm.mamba2_block %s %s conv_state(%s : %s) ssm_state(%s : %s)"
                  " ngroups = %d epsilon = 1.0e-05 states : %s -> %s, %s, %s" % (
                      ha, operands, ca, cty, sa, sty, G, hty, hty, cty, sty))
out, conv_final, last = ref.mamba2_block(h, w, G, 1e-5, cs, ss)
blocks.result("%m2o", hty, out, "mamba2_block L = 0: out")
blocks.result("%m2cs", cty, conv_final, "mamba2_block L = 0: conv state")
blocks.result("%m2ss", sty, last, "mamba2_block L = 0: ssm state")
blocks.check("blocks")

suite.finish()
