# RUN: %python %s
#
# Sizes known only at run time. Programs whose types leave sizes dynamic
# (or declare a result static where the operands are dynamic, or dynamic
# where the weights fix it) run through every lowering: with inputs whose
# sizes agree, against the float64 references; with inputs that disagree,
# ssm-run exits 1 with the run-time check's message (the op, its location
# in the file, the operand and the size; ssm-runtime-verification), writes
# no output, and never reads out of bounds (before these checks: silent
# wrong answers, heap corruption and segfaults). Token ids outside the
# embedding table are the same kind of error.
import os
import subprocess

import numpy as np

import ssm_reference as ref
from ssm_testing import (SCAN_LOWERINGS, SSM_RUN, Suite, compare_lowerings, file_command,
                         scan_inputs, to_token_major)

suite = Suite("dynamic-shapes")
rng = np.random.default_rng(71)
LOWERINGS = SCAN_LOWERINGS + [
    ("parallel-scan", ["--threads", "2"]),
    ("gpu-emulator", ["--target", "gpu-emulator"])]

SCAN = """
func.func @main(%u: tensor<?x?x?xf32>, %delta: tensor<?x?x?xf32>, %A: tensor<?x?xf32>,
                %B: tensor<?x?x?x?xf32>, %C: tensor<?x?x?xf32>, %D: tensor<?xf32>,
                %h0: tensor<?x?x?xf32>) -> (tensor<?x?x?xf32>, tensor<?x?x?xf32>) {
  %y, %h = ssm.selective_scan token_major %u, %delta, %A, %B, %C D(%D : tensor<?xf32>)
      h0(%h0 : tensor<?x?x?xf32>) delta_softplus
      : (tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>)
      -> tensor<?x?x?xf32>, tensor<?x?x?xf32>
  return %y, %h : tensor<?x?x?xf32>, tensor<?x?x?xf32>
}
"""

CONV = """
func.func @main(%x: tensor<?x?x?xf32>, %w: tensor<?x?xf32>, %s: tensor<?x?x?xf32>)
    -> (tensor<?x?x?xf32>, tensor<?x?x?xf32>) {
  %y, %f = ssm.causal_conv1d channel_first %x, %w conv_state(%s : tensor<?x?x?xf32>) silu
      : tensor<?x?x?xf32>, tensor<?x?xf32> -> tensor<?x?x?xf32>, tensor<?x?x?xf32>
  return %y, %f : tensor<?x?x?xf32>, tensor<?x?x?xf32>
}
"""

# Results declared more static than the operands, and less static than the
# weights make them (the expansion casts to the declared types).
LINEAR = """
func.func @main(%x: tensor<?x?x?xf32>, %w: tensor<16x8xf32>, %n: tensor<8xf32>)
    -> (tensor<1x5x16xf32>, tensor<1x?x?xf32>) {
  %y = ssm.linear %x, %w : tensor<?x?x?xf32>, tensor<16x8xf32> -> tensor<1x5x16xf32>
  %r = ssm.rmsnorm %x, %n epsilon = 1.0e-05 : tensor<?x?x?xf32>, tensor<8xf32> -> tensor<1x?x?xf32>
  return %y, %r : tensor<1x5x16xf32>, tensor<1x?x?xf32>
}
"""

MAMBA2 = """
func.func @main(%h: tensor<?x?x8xf32>, %in_proj: tensor<50x8xf32>, %conv: tensor<32x4xf32>,
                %dt_bias: tensor<2xf32>, %A_log: tensor<2xf32>, %D: tensor<2xf32>,
                %norm: tensor<16xf32>, %out_proj: tensor<8x16xf32>, %ss: tensor<?x2x?x4xf32>)
    -> (tensor<1x5x8xf32>, tensor<?x32x3xf32>, tensor<1x2x8x?xf32>) {
  %o, %cs, %s = ssm.mamba2_block %h in_proj(%in_proj : tensor<50x8xf32>) conv(%conv : tensor<32x4xf32>)
      dt_bias(%dt_bias : tensor<2xf32>) A_log(%A_log : tensor<2xf32>) D(%D : tensor<2xf32>)
      norm(%norm : tensor<16xf32>) out_proj(%out_proj : tensor<8x16xf32>)
      ssm_state(%ss : tensor<?x2x?x4xf32>) ngroups = 2 epsilon = 1.0e-05 states
      : tensor<?x?x8xf32> -> tensor<1x5x8xf32>, tensor<?x32x3xf32>, tensor<1x2x8x?xf32>
  return %o, %cs, %s : tensor<1x5x8xf32>, tensor<?x32x3xf32>, tensor<1x2x8x?xf32>
}
"""


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def agree(name, text, inputs, expected):
    compare_lowerings(suite, name, text, inputs, expected, LOWERINGS)


def disagree(name, text, inputs, results, message, lowerings=LOWERINGS):
    """ssm-run must exit 1 with `message` (after the file's name and the
    op's line and column) and write none of the `results` outputs."""
    for lowering, extra in lowerings:
        label = "%s [%s]" % (name, lowering)
        args, outs, src = file_command(suite, label, text, "main", inputs, results, extra)
        proc = subprocess.run([SSM_RUN] + args, capture_output=True, text=True)
        suite.count += 1
        err = proc.stderr.strip()
        if proc.returncode != 1:
            suite.fail(label, "exit status %d (expected 1): %s" % (proc.returncode, err[-400:]))
        elif message not in err or (src + ":") not in err:
            suite.fail(label, "message %r lacks %r" % (err, message))
        elif any(os.path.exists(out) for out in outs):
            suite.fail(label, "an output file was written")
        else:
            print("ok   %-60s %s" % (label, err.splitlines()[-1][:120]))


# The selective scan, token-major, grouped B (g = 3 of d = 6), every size
# dynamic, including a single step.
for L in (37, 1):
    b, d, n, g = 2, 6, 5, 3
    x = scan_inputs(rng, b, d, L, n, bform="grouped", bgroups=g, D=True, h0=True, softplus=True)
    y, h = ref.selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"], D=x["D"],
                              delta_softplus=True, h0=x["h0"])
    inputs = [to_token_major(k, x[k]) for k in ("u", "delta", "A", "B", "C", "D", "h0")]
    agree("scan L = %d" % L, SCAN, inputs, [y.transpose(0, 2, 1), h])
bad = list(inputs)
bad[1] = np.ascontiguousarray(inputs[1][:, :, :5])                 # delta: d = 5
disagree("scan, delta's d", SCAN, bad, 2,
         "'ssm.selective_scan' op operand 'delta' (b, L, d) in token_major layout: its d "
         "(dimension 2) differs from the d of 'u'")
bad = list(inputs)
bad[3] = np.ascontiguousarray(np.concatenate([inputs[3]] * 2, axis=1))  # B: L = 2
disagree("scan, B's L", SCAN, bad, 2, "operand 'B' (b, L, g, n) in token_major layout: its L "
         "(dimension 1) differs from the L of 'u'")
bad = list(inputs)
bad[3] = np.zeros((2, 1, 4, 5), np.float32)                         # B: g = 4
disagree("scan, 4 groups of 6 channels", SCAN, bad, 2,
         "operand 'B' must have at least one group (g), and g must divide the d channels")
bad = list(inputs)
bad[6] = inputs[6][:1]                                              # h0: b = 1
disagree("scan, h0's batch", SCAN, bad, 2, "operand 'h0' (b, d, n) in token_major layout: its b "
         "(dimension 0) differs from the b of 'u'")

# The causal conv1d: the state's width is the weight's k - 1.
xc, wc, _, sc = (f32(2, 7, 19), f32(7, 4), None, f32(2, 7, 3))
out, fin = ref.causal_conv1d(xc, wc, None, True, sc)
agree("conv, dynamic k", CONV, [xc, wc, sc], [out, fin])
disagree("conv, state of width k", CONV, [xc, wc, f32(2, 7, 4)], 2,
         "'ssm.causal_conv1d' op operand 'conv_state' (b, d, k-1) in channel_first layout: its "
         "k-1 (dimension 2) differs from the k-1 of 'weight'")
disagree("conv, no taps", CONV,
         [xc, np.zeros((7, 0), np.float32), np.zeros((2, 7, 0), np.float32)], 2,
         "operand 'weight' must have at least one tap (k >= 1)", lowerings=LOWERINGS[:2])

# A projection and a norm whose declared result types differ from what the
# operands fix.
xl, wl, nl = f32(1, 5, 8), f32(16, 8), f32(8)
agree("linear and rmsnorm, declared types", LINEAR, [xl, wl, nl],
      [xl.astype(np.float64) @ wl.T.astype(np.float64), ref.rmsnorm(xl, nl, 1e-5)])
disagree("linear, a batch of 2 for a result of 1", LINEAR, [f32(2, 5, 8), wl, nl], 2,
         "'ssm.linear' op operand 'x' (b, L, K): its b (dimension 0) differs from the b = 1 of 'y'")

# A Mamba-2 block whose state types leave the head width and batch dynamic.
Dm, H, P, G, N, K = 8, 2, 8, 2, 4, 4
I, X = H * P, H * P + 2 * G * N
w = {"in_proj": f32(2 * I + 2 * G * N + H, Dm, scale=Dm ** -0.5), "conv_weight": f32(X, K, scale=0.5),
     "dt_bias": rng.uniform(-4.0, -1.0, H).astype(np.float32),
     "A_log": np.log(rng.uniform(1.0, 16.0, H)).astype(np.float32), "D": f32(H),
     "norm_weight": (1.0 + 0.1 * rng.standard_normal(I)).astype(np.float32),
     "out_proj": f32(Dm, I, scale=I ** -0.5)}
hm, ssm_in = f32(1, 5, Dm), f32(1, H, P, N)
o, cs, ss = ref.mamba2_block(hm, w, G, 1e-5, ssm_state=ssm_in)
margs = [hm] + [w[k] for k in ("in_proj", "conv_weight", "dt_bias", "A_log", "D", "norm_weight",
                               "out_proj")] + [ssm_in]
agree("mamba2_block, dynamic state types", MAMBA2, margs, [o, cs, ss])
bad = list(margs)
bad[-1] = f32(1, H, 4, N)                                           # P = 4
disagree("mamba2_block, head width 4 of 8", MAMBA2, bad, 3,
         "'ssm.mamba2_block' op operand 'ssm_state' (b, H, P, N): its P (dimension 2) differs "
         "from the P = 8 of 'norm_weight and A_log'")

# ssm.embedding: ids outside the table are an error, not a read past it
# (int32 ids, a dynamic table).
EMBEDDING = """
func.func @main(%t: tensor<?x?xi32>, %w: tensor<?x8xf32>) -> tensor<?x?x8xf32> {
  %y = ssm.embedding %t, %w : tensor<?x?xi32>, tensor<?x8xf32> -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}
"""
table = f32(11, 8)
ids = np.array([[0, 10, 3], [7, 7, 1]], np.int32)
agree("embedding", EMBEDDING, [ids, table], [table.astype(np.float64)[ids]])
for bad_id in (11, -1):
    disagree("embedding, id %d of 11 rows" % bad_id, EMBEDDING,
             [np.array([[0, bad_id]], np.int32), table], 1,
             "'ssm.embedding' op a token id in 'tokens' is outside the table's rows [0, V)")
# i8 ids of a 300-row table: the bound is not narrowed to the ids' type.
EMBEDDING_I8 = EMBEDDING.replace("xi32>", "xi8>")
table300 = f32(300, 8)
ids8 = np.array([[0, 127, 44, 5]], np.int8)
agree("embedding, i8 ids, 300 rows", EMBEDDING_I8, [ids8, table300],
      [table300.astype(np.float64)[ids8.astype(np.int64)]])
disagree("embedding, i8 id -3", EMBEDDING_I8, [np.array([[1, -3]], np.int8), table300], 1,
         "'ssm.embedding' op a token id in 'tokens' is outside the table's rows [0, V)")

suite.finish()
