# RUN: %python %s
#
# ssm.selective_scan whose A does not vary along the states (Mamba-2's one
# decay per head), for which the fast path computes exp(dt * A) once per
# channel and step: A built in the program by linalg.broadcast, by a
# linalg.generic plus collapse_shape (ssm-expand-blocks' Mamba-2 form), as
# a constant with uniform rows and as -exp of a broadcast A_log (Mamba-1's
# form on one value per channel); and controls the shortcut must not take: a
# constant whose last row is not uniform, a generic that reads the state
# index, and a per-state A computed elementwise from A_log (Mamba-1's form,
# which the fast path maps per vector it loads). Token-major, against the
# float64 reference; a partial channel tile (d = 40), state groups (n = 80
# > 64), one step (the decoding path, also at n = 128 with A narrowed to
# its first column), h0, a long sequence (time-parallel with 2 threads);
# every lowering, and the GPU kernels on the emulator (the chunks kernel
# takes the decays once per chunk for a uniform A, the per-channel kernel
# once per step; both per state for the controls).
import numpy as np

import ssm_reference as ref
from ssm_testing import GPU_LOWERINGS, SCAN_LOWERINGS, Suite, run_file, tensor_type

suite = Suite("uniform-decay")
EMULATOR = [("gpu-emulator", ["--target", "gpu-emulator"]),
            # The per-channel kernel with 4 lanes per channel: n / 4 states
            # each (1 to 32: n = 128 fits), one decay per step for a uniform A.
            ("gpu-emulator-channels", ["--target", "gpu-emulator", "--gpu-scan", "channels",
                                       "--gpu-channel-threads", "4"])]
rng = np.random.default_rng(23)


def neg_exp(src, init, d, n):
    """IR of %A = -exp(src) (d, n) elementwise, as ssm-expand-blocks writes
    Mamba-1's A from A_log, into `init`."""
    return """
  %%A = linalg.generic {indexing_maps = [affine_map<(c, j) -> (c, j)>, affine_map<(c, j) -> (c, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%s : tensor<%dx%dxf32>) outs(%s : tensor<%dx%dxf32>) {
  ^bb0(%%x: f32, %%o: f32):
    %%ex = math.exp %%x : f32
    %%ng = arith.negf %%ex : f32
    linalg.yield %%ng : f32
  } -> tensor<%dx%dxf32>
""" % (src, d, n, init, d, n, d, n)


def a_program(form, d, n, P=4):
    """(argument declaration, IR building %A (d, n) from %a, the A the
    reference sees as a function of the array passed as %a)."""
    if form == "broadcast":
        return ("%%a: tensor<%dxf32>" % d, """
  %%e = tensor.empty() : tensor<%dx%dxf32>
  %%A = linalg.broadcast ins(%%a : tensor<%dxf32>) outs(%%e : tensor<%dx%dxf32>) dimensions = [1]
""" % (d, n, d, d, n), lambda a: np.repeat(a[:, None], n, axis=1))
    if form == "heads":
        H = d // P
        return ("%%a: tensor<%dxf32>" % H, """
  %%e = tensor.empty() : tensor<%dx%dx%dxf32>
  %%g = linalg.generic {indexing_maps = [affine_map<(h, p, j) -> (h)>, affine_map<(h, p, j) -> (h, p, j)>],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%%a : tensor<%dxf32>) outs(%%e : tensor<%dx%dx%dxf32>) {
  ^bb0(%%x: f32, %%o: f32):
    %%ex = math.exp %%x : f32
    %%ng = arith.negf %%ex : f32
    linalg.yield %%ng : f32
  } -> tensor<%dx%dx%dxf32>
  %%A = tensor.collapse_shape %%g [[0, 1], [2]] : tensor<%dx%dx%dxf32> into tensor<%dx%dxf32>
""" % (H, P, n, H, H, P, n, H, P, n, H, P, n, d, n),
                lambda a: np.repeat(np.repeat(-np.exp(a.astype(np.float64)), P)[:, None], n, axis=1))
    if form == "elementwise":
        # Control: Mamba-1's A = -exp(A_log), one value per state, which the
        # fast path reads at A_log and maps per vector it loads.
        return ("%%a: tensor<%dx%dxf32>" % (d, n), neg_exp("%a", "%a", d, n),
                lambda a: -np.exp(a.astype(np.float64)))
    if form == "broadcast-elementwise":
        # Mamba-1's A = -exp(A_log) on an A_log broadcast along the states
        # (the tasks' fixed-weight models): uniform, the generic rebuilt on
        # the broadcast's column.
        return ("%%a: tensor<%dxf32>" % d, """
  %%e = tensor.empty() : tensor<%dx%dxf32>
  %%alog = linalg.broadcast ins(%%a : tensor<%dxf32>) outs(%%e : tensor<%dx%dxf32>) dimensions = [1]
""" % (d, n, d, d, n) + neg_exp("%alog", "%e", d, n),
                lambda a: np.repeat(-np.exp(a.astype(np.float64))[:, None], n, axis=1))
    if form == "index":
        # Control: A[c, j] = a[c] * (1 + j / 8) varies along j.
        return ("%%a: tensor<%dxf32>" % d, """
  %%e = tensor.empty() : tensor<%dx%dxf32>
  %%A = linalg.generic {indexing_maps = [affine_map<(c, j) -> (c)>, affine_map<(c, j) -> (c, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%%a : tensor<%dxf32>) outs(%%e : tensor<%dx%dxf32>) {
  ^bb0(%%x: f32, %%o: f32):
    %%j = linalg.index 1 : index
    %%ji = arith.index_cast %%j : index to i32
    %%jf = arith.sitofp %%ji : i32 to f32
    %%c8 = arith.constant 0.125 : f32
    %%one = arith.constant 1.0 : f32
    %%s = math.fma %%jf, %%c8, %%one : f32
    %%r = arith.mulf %%x, %%s : f32
    linalg.yield %%r : f32
  } -> tensor<%dx%dxf32>
""" % (d, n, d, d, n, d, n),
                lambda a: a.astype(np.float64)[:, None] * (1 + np.arange(n) / 8.0)[None, :])
    raise ValueError(form)


def constant_program(A):
    d, n = A.shape
    body = ", ".join("[%s]" % ", ".join("%.9e" % v for v in row) for row in A)
    return "", "\n  %%A = arith.constant dense<[%s]> : tensor<%dx%dxf32>\n" % (body, d, n)


def case(name, form, b, d, L, n, h0=False, P=4,
         lowerings=SCAN_LOWERINGS + GPU_LOWERINGS + EMULATOR):
    u = rng.standard_normal((b, L, d)).astype(np.float32)
    delta = rng.uniform(-4.0, 1.0, (b, L, d)).astype(np.float32)
    B = rng.standard_normal((b, L, n)).astype(np.float32)
    C = rng.standard_normal((b, L, n)).astype(np.float32)
    D = rng.standard_normal(d).astype(np.float32)
    z = rng.standard_normal((b, L, d)).astype(np.float32)
    bias = rng.uniform(-1.0, 0.5, d).astype(np.float32)
    h = rng.standard_normal((b, d, n)).astype(np.float32) if h0 else None
    if form in ("constant", "constant-last-row"):
        rows = -np.exp(rng.uniform(-2.0, 1.5, d)).astype(np.float32)
        A = np.repeat(rows[:, None], n, axis=1)
        if form == "constant-last-row":
            A[-1, -1] *= 3.0
        decl, build = constant_program(A)
        a_in = []
    else:
        decl, build, expand = a_program(form, d, n, P)
        a = (rng.uniform(-2.0, 1.5, d // P) if form == "heads"
             else rng.uniform(-2.0, 1.5, (d, n)) if form == "elementwise"
             else rng.uniform(-2.0, 1.5, d) if form == "broadcast-elementwise"
             else -np.exp(rng.uniform(-2.0, 1.5, d))).astype(np.float32)
        A = expand(a)
        a_in = [a]
    yt, ht = tensor_type((b, L, d)), tensor_type((b, d, n))
    bt, dt1 = tensor_type((b, L, n)), tensor_type((d,))
    args = ["%%u: %s" % yt, "%%delta: %s" % yt] + ([decl] if decl else []) + [
        "%%B: %s" % bt, "%%C: %s" % bt, "%%D: %s" % dt1, "%%z: %s" % yt, "%%bias: %s" % dt1]
    if h0:
        args.append("%%h0: %s" % ht)
    program = """
func.func @main(%s) -> (%s, %s) {%s
  %%y, %%h = ssm.selective_scan token_major %%u, %%delta, %%A, %%B, %%C D(%%D : %s)
      z(%%z : %s) delta_bias(%%bias : %s)%s delta_softplus
      : (%s, %s, tensor<%dx%dxf32>, %s, %s) -> %s, %s
  return %%y, %%h : %s, %s
}
""" % (", ".join(args), yt, ht, build, dt1, yt, dt1,
       " h0(%%h0 : %s)" % ht if h0 else "", yt, yt, d, n, bt, bt, yt, ht, yt, ht)
    inputs = [u, delta] + a_in + [B, C, D, z, bias] + ([h] if h0 else [])
    cf = lambda x: x.transpose(0, 2, 1)
    y_ref, h_ref = ref.selective_scan(cf(u), cf(delta), A, cf(B), cf(C), D, cf(z), bias,
                                      True, h)
    for index, (lname, extra) in enumerate(lowerings):
        out = run_file(suite, "%s_%d" % (name.replace(" ", "_").replace(",", ""), index),
                       program, "main", inputs, 2, extra)
        if out is None:
            continue
        case_name = "%s [%s]" % (name, lname)
        suite.compare(case_name, "y", out[0], cf(y_ref))
        suite.compare(case_name, "last_state", out[1], h_ref)


case("broadcast, d 40, n 16", "broadcast", 2, 40, 37, 16)
case("broadcast, state blocks n 80, h0", "broadcast", 1, 40, 29, 80, h0=True)
case("broadcast, one step, h0", "broadcast", 2, 48, 1, 16, h0=True)
case("heads of 4 (expand-blocks form), n 8", "heads", 1, 36, 45, 8)
case("heads of 16, n 128, h0", "heads", 1, 32, 21, 128, h0=True, P=16)
# The chunk's state loop in blocks of at most 16 states sharing the decay
# the prologue computed once per step (n = 128: 8 blocks; 200: 12 of 16 and
# one of 8), over several chunks (L = 150: 64, 64, 22 steps) and partial
# tiles; above 256 states, StateGroups' groups first (n = 300: 5 groups of
# 60, each in 4 blocks of 15).
case("heads of 16, n 128, 3 chunks, h0", "heads", 2, 48, 150, 128, h0=True, P=16)
case("broadcast, n 200, d 40, h0", "broadcast", 1, 40, 70, 200, h0=True)
case("broadcast, n 300 (groups, then blocks), h0", "broadcast", 1, 20, 33, 300, h0=True)
# Mamba-1's form on a per-channel A_log: chunks, groups then blocks, a step.
case("-exp(broadcast A_log), d 40, n 16", "broadcast-elementwise", 2, 40, 37, 16)
case("-exp(broadcast A_log), n 300, h0", "broadcast-elementwise", 1, 20, 33, 300, h0=True)
case("-exp(broadcast A_log), one step, h0", "broadcast-elementwise", 2, 48, 1, 16, h0=True)
# Mamba-2's decoding step: states in the lanes, A narrowed to one column.
case("heads of 16, n 128, one step, h0", "heads", 2, 48, 1, 128, h0=True, P=16)
case("constant uniform rows, one step, d 20, n 16, h0", "constant", 1, 20, 1, 16, h0=True)
case("constant uniform rows", "constant", 1, 20, 19, 4)
case("long sequence, 2 threads (time-parallel)", "broadcast", 1, 16, 6000, 16,
     lowerings=[("fast-2threads", ["--threads", "2"]), ("reference", ["--reference"])])
# Controls: A varies along the states.
case("control: last row not uniform", "constant-last-row", 1, 20, 19, 4)
case("control: generic reading the state index", "index", 1, 40, 23, 16)
case("elementwise A (-exp(A_log)), d 40, n 16", "elementwise", 2, 40, 37, 16)
case("elementwise A, n 4, one step, h0", "elementwise", 1, 24, 1, 4, h0=True)
case("elementwise A, n 16, one step, h0", "elementwise", 2, 40, 1, 16, h0=True)

suite.finish()
