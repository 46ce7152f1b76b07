# RUN: %python %s
#
# ssm.s4d (expanded into a selective scan with a constant step and B
# rescaled to ZOH; complex A lowers through the reference loops) against a
# float64 complex-arithmetic S4D: S4D-Lin (A_n = -1/2 + i pi n) and
# S4D-Real (A_n = -(n + 1)) with the initialisation's range of steps
# dt in [1e-3, 1e-1], random complex B and C, with and without D and the
# SiLU gate (the S4D mixer's scan), L = 1, N = 1, odd channel counts,
# N = 64, long sequences, a batch, every lowering.
import numpy as np

import ssm_reference as ref
from ssm_testing import SCAN_LOWERINGS, Suite, run_file, tensor_type

suite = Suite("s4d")
rng = np.random.default_rng(13)

# (name, b, L, H, N, kind, D, gate)
CASES = [
    ("S4D-Lin, L = 1", 1, 1, 4, 8, "lin", True, False),
    ("S4D-Lin, N = 1, odd H", 2, 33, 5, 1, "lin", False, False),
    ("S4D-Lin, D and gate (mixer)", 1, 200, 7, 16, "lin", True, True),
    ("S4D-Lin, N = 64, L = 1500", 1, 1500, 3, 64, "lin", True, False),
    ("S4D-Lin, real B and C", 2, 64, 16, 4, "lin-realbc", False, True),
    ("S4D-Real, odd H", 2, 97, 9, 8, "real", True, True),
    ("S4D-Real, 32 channels, L = 1", 1, 1, 32, 16, "real", False, False),
]


def operand(name, shape):
    return "%s(%%%s : %s)" % (name, name, tensor_type(shape))


for index, (name, b, L, H, N, kind, use_d, gate) in enumerate(CASES):
    u = rng.standard_normal((b, L, H)).astype(np.float32)
    log_dt = rng.uniform(np.log(1e-3), np.log(1e-1), H).astype(np.float32)
    n = np.arange(N)
    a_row = np.full(N, -0.5) if kind != "real" else -(n + 1.0)
    a_real = np.tile(a_row, (H, 1)).astype(np.float32)
    args = {"log_dt": log_dt, "A_real": a_real}
    if kind != "real":
        args["A_imag"] = np.tile(np.pi * n, (H, 1)).astype(np.float32)
    args["B"] = rng.standard_normal((H, N)).astype(np.float32)
    if kind == "lin":
        args["B_imag"] = rng.standard_normal((H, N)).astype(np.float32)
    args["C"] = (rng.standard_normal((H, N)) / np.sqrt(N)).astype(np.float32)
    if kind == "lin":
        args["C_imag"] = (rng.standard_normal((H, N)) / np.sqrt(N)).astype(np.float32)
    if use_d:
        args["D"] = rng.standard_normal(H).astype(np.float32)
    if gate:
        args["z"] = rng.standard_normal((b, L, H)).astype(np.float32)

    A = args["A_real"].astype(np.float64)
    B = args["B"].astype(np.float64)
    C = args["C"].astype(np.float64)
    if kind != "real":
        A = A + 1j * args["A_imag"]
        B = B + 1j * args.get("B_imag", 0.0)
        C = C + 1j * args.get("C_imag", 0.0)
    expected = ref.s4d(u, log_dt, A, B, C, args.get("D"), args.get("z"))

    ut = tensor_type(u.shape)
    names = list(args)
    program = """
func.func @main(%%u: %s, %s) -> %s {
  %%y = ssm.s4d %%u %s : %s -> %s
  return %%y : %s
}
""" % (ut, ", ".join("%%%s: %s" % (k, tensor_type(args[k].shape)) for k in names), ut,
       " ".join(operand(k, args[k].shape) for k in names), ut, ut, ut)
    for lname, extra in SCAN_LOWERINGS:
        out = run_file(suite, "s4d%d_%s" % (index, lname), program, "main",
                       [u] + [args[k] for k in names], 1, extra)
        if out is not None:
            suite.compare("%s [%s]" % (name, lname), "y", out[0], expected)

suite.finish()
