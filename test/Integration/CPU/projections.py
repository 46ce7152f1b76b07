# RUN: %python %s
#
# ssm.linear (the models' projections, ssm-lower-projections) against a
# float64 matmul: both kernels (the packed one from 32 rows up, the decoding
# dot products below, in groups of 8 outputs with a shorter last group, rows
# in blocks of 4, 2 and 1), and each forced on every case (fast-packed:
# --packed-from-rows 1; fast-dots: never packed); rows not a multiple of the
# blocks of either kernel, blocks of rows spanning batch elements (a batch
# of single tokens decoding together), outputs not a multiple of the 32-wide
# panel or of the decoding group, K = 1 and K not a multiple of the vector
# (the packing's masked last block), a bias, rank 2 and 3, a dynamic length,
# through the fast path (AVX-512 on every core, AVX2 on one thread) and the
# reference loops.
# The same cases as GPU kernels (--gpu-all-kernels) on the GPU emulator, and
# on a GPU when there is one: from 32 rows the tiled matrix product (64 x 64
# outputs per block, 16-deep k tiles: rows, outputs and K not multiples of
# them, K = 1, a batch), below it a warp per output, and with a dynamic
# length both launched, one on an empty grid, on both sides of 32.
#
# Weights stored in 16 bits (bf16, f16; a checkpoint's, kept as stored and
# widened where they are read, docs/models.md): the decoding kernel's bf16
# pairs (32 weights per load, even and odd lanes) and its f16 widening, the
# unrolled k steps, the single vector left and the masked tail, the packed
# kernel widening into its panels; against the float64 product with the
# weights' stored values. bf16 weights come from float32 .npy files, which
# the runner rounds to nearest even; f16 ones from float16 files. int8
# weights with per-row scales: see INT8_CASES below.
import numpy as np

import mamba_reference as mr
from ssm_testing import GPU_LOWERINGS, SCAN_LOWERINGS, Suite, run_file, tensor_type

suite = Suite("projections")
rng = np.random.default_rng(5)

# (name, x shape, N, bias, dynamic length)
CASES = [
    ("one row (decoding)", (1, 8), 40, True, False),
    ("3 rows (decoding), K = 37, N = 43 (groups of 8 + 3)", (3, 37), 43, True, False),
    ("one row (decoding), K = 1536, N = 3 (no whole group)", (1, 1, 1536), 3, False, False),
    ("b 2 x L 3 dynamic (decoding), K = 48, N = 1537", (2, 3, 48), 1537, True, True),
    ("7 rows (decoding), K = 1", (1, 7, 1), 5, False, False),
    ("b 3 x L 5: 15 rows (blocks across batch elements), N = 47", (3, 5, 33), 47, True, False),
    ("8 rows, K = 17", (8, 17), 32, False, False),
    ("b 7 x L 1 (single tokens; 4 + 2 + 1 rows), K = 64, N = 24", (7, 1, 64), 24, True, False),
    ("b 33 x L 1 (packed), K = 35, N = 70", (33, 1, 35), 70, True, False),
    ("b 3 x L 13 dynamic: 39 rows (packed, 32 + 4 + 2 + 1), K = 40, N = 33", (3, 13, 40), 33,
     False, True),
    ("64 rows, N = 31 (one partial panel)", (64, 64), 31, True, False),
    ("b 2 x L 2049 dynamic, K 768, N 100", (2, 2049, 768), 100, True, True),
    ("L 31 dynamic, K = 17, N = 65", (1, 31, 17), 65, False, True),
    ("L 32 dynamic, K = 17, N = 65", (1, 32, 17), 65, True, True),
    ("b 3 x L 70, K = 1, N = 129", (3, 70, 1), 129, False, False),
    # The packed kernel's chunks: 8 MB of rows of x (here 8 MB / 12004 B ->
    # 696 rows: 696 + 696 + 8, the second across batch elements) and k in
    # chunks of 2048 (2048 + 953), the later adding to what the earlier
    # stored.
    ("b 2 x L 700 dynamic: row chunks of 696, K = 3001 (k chunks 2048 + 953), N = 45",
     (2, 700, 3001), 45, True, True),
]
LOWERINGS_ALL = SCAN_LOWERINGS + [
    ("fast-packed", ["--packed-from-rows", "1"]),
    ("fast-dots", ["--packed-from-rows", "100000"]),
    ("gpu-emulator-all", ["--target", "gpu-emulator", "--gpu-all-kernels"])]
LOWERINGS_ALL += [(n + "-all", e + ["--gpu-all-kernels"]) for n, e in GPU_LOWERINGS]



def linear_program(xshape, n, bias, dynamic, welt="f32"):
    """@main(x, w[, b]) -> ssm.linear of x (dimension 1 dynamic when
    `dynamic`) and an (n, K) weight of element type `welt`; with welt "i8",
    @main(x, q, s[, b]) and the weight ssm.dequantize(q, s)."""
    k = xshape[-1]
    yshape = xshape[:-1] + (n,)
    xt, yt = tensor_type(xshape), tensor_type(yshape)
    if dynamic:
        xt = xt.replace("x%d" % xshape[1], "x?", 1)
        yt = yt.replace("x%d" % yshape[1], "x?", 1)
    bt = tensor_type((n,))
    if welt == "i8":
        qt, wt = tensor_type((n, k), "i8"), tensor_type((n, k))
        args = "%%x: %s, %%q: %s, %%s: %s" % (xt, qt, bt)
        dequantize = "  %%w = ssm.dequantize %%q, %%s : %s, %s -> %s\n" % (qt, bt, wt)
    else:
        wt = tensor_type((n, k), welt)
        args = "%%x: %s, %%w: %s" % (xt, wt)
        dequantize = ""
    args += ", %%b: %s" % bt if bias else ""
    return """
func.func @main(%s) -> %s {
%s  %%y = ssm.linear %%x, %%w%s : %s, %s -> %s
  return %%y : %s
}
""" % (args, yt, dequantize, " bias(%%b : %s)" % bt if bias else "", xt, wt, yt, yt)


for index, (name, xshape, n, bias, dynamic) in enumerate(CASES):
    k = xshape[-1]
    x = rng.standard_normal(xshape).astype(np.float32)
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    program = linear_program(xshape, n, bias, dynamic)
    expected = x.astype(np.float64) @ w.T.astype(np.float64)
    if bias:
        expected += b
    inputs = [x, w] + ([b] if bias else [])
    for lname, extra in LOWERINGS_ALL:
        case = "%s [%s]" % (name, lname)
        out = run_file(suite, "p%d_%s" % (index, lname), program, "main", inputs, 1,
                       extra)
        if out is not None:
            suite.compare(case, "y", out[0], expected)

# (name, x shape, N, bias, dynamic length)
HALF_CASES = [
    ("one row (decoding), K = 768 (bf16 pairs only), N = 43", (1, 768), 43, False, False),
    ("one row (decoding), K = 85 (pairs, one vector, tail)", (1, 1, 85), 37, True, False),
    ("3 rows (decoding), K = 1, N = 9", (3, 1), 9, False, False),
    ("b 2 x L 3 dynamic (decoding), K = 31, N = 17", (2, 3, 31), 17, True, True),
    ("b 2 x L 9 dynamic, K = 50, N = 70", (2, 9, 50), 70, True, True),
    ("b 7 x L 1 (single tokens; 4 + 2 + 1 rows), K = 96, N = 19", (7, 1, 96), 19, True, False),
    ("40 rows (packed), K = 33, N = 33", (40, 33), 33, False, False),
]
for index, (name, xshape, n, bias, dynamic) in enumerate(HALF_CASES):
    k = xshape[-1]
    x = rng.standard_normal(xshape).astype(np.float32)
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    for elt, stored in (("bf16", "BF16"), ("f16", "F16")):
        program = linear_program(xshape, n, bias, dynamic, elt)
        expected = x.astype(np.float64) @ mr.stored(w, stored).T
        if bias:
            expected += b
        wfile = w if elt == "bf16" else w.astype(np.float16)
        inputs = [x, wfile] + ([b] if bias else [])
        for lname, extra in LOWERINGS_ALL:
            case = "%s, %s weights [%s]" % (name, elt, lname)
            out = run_file(suite, "h%d_%s_%s" % (index, elt, lname), program,
                           "main", inputs, 1, extra)
            if out is not None:
                suite.compare(case, "y", out[0], expected)

# int8 weights with per-row scales (ssm.dequantize's q and scale, the
# weights of MambaLM's weights="int8"): the decoding kernel's int8 vectors
# with the unrolled k steps, the single vector left and the masked tail and
# each dot product scaled once; the packed kernel's blocks scaled by their
# rows' scales (rows past N and K's tail masked); the reference loops and
# the GPU kernels on the generic form. Against the float64 product with
# q * scale; x, q and scale from .npy files (int8 .npy for q).


INT8_CASES = [(name.replace("bf16 pairs only", "unrolled steps only")
               .replace("pairs, one vector", "unrolled steps, one vector"),)
              + tuple(case) for name, *case in HALF_CASES] + [
    ("one row (decoding), K = 1536, N = 3 (no whole group)", (1, 1, 1536), 3, False, False),
    ("b 3 x L 13 dynamic: 39 rows (decoding, 4-row blocks + 2 + 1), K = 40, N = 33",
     (3, 13, 40), 33, False, True),
    ("64 rows (packed from 64 with int8), K = 770, N = 31 (one partial panel)", (64, 770), 31,
     True, False),
    ("600 rows (packed), K = 4100 (k chunks 2048 + 2048 + 4; row chunks 504 + 96), N = 33",
     (600, 4100), 33, False, False),
]
for index, (name, xshape, n, bias, dynamic) in enumerate(INT8_CASES):
    k = xshape[-1]
    x = rng.standard_normal(xshape).astype(np.float32)
    w = rng.standard_normal((n, k)) * rng.uniform(0.01, 1, (n, 1))
    q, scale = mr.quantize_rows(w)
    b = rng.standard_normal(n).astype(np.float32)
    program = linear_program(xshape, n, bias, dynamic, "i8")
    expected = x.astype(np.float64) @ (q.astype(np.float64) *
                                       scale.astype(np.float64)[:, None]).T
    if bias:
        expected += b
    inputs = [x, q, scale] + ([b] if bias else [])
    for lname, extra in LOWERINGS_ALL:
        case = "%s, int8 weights [%s]" % (name, lname)
        out = run_file(suite, "q%d_%s" % (index, lname), program, "main",
                       inputs, 1, extra)
        if out is not None:
            suite.compare(case, "y", out[0], expected)

suite.finish()
