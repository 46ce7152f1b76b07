"""Helpers for the integration tests: seeded inputs, running ssm-run on .npy
files in a temporary directory, and comparing with the float64 references
under the suite's tolerance (max normwise relative error 1e-5, see
docs/testing.md)."""
import os
import subprocess
import sys
import tempfile

import numpy as np

from ssm_reference import linear_scan, max_rel_err

TOL = 1e-5
# Every integration case runs through both lowerings: the default fast path
# and the reference loops.
LOWERINGS = [("fast", []), ("reference", ["--reference"])]
# The fast paths (scan and conv) also run as AVX2 code (8 lanes, no
# AVX-512 instructions), on one thread (no OpenMP); the others use every core.
SCAN_LOWERINGS = LOWERINGS + [("avx2-1thread", ["--vector-width", "8", "--mattr", "-avx512f", "--threads", "1"])]
# With an NVIDIA GPU (lit's cuda-gpu feature), the scan and conv tests run
# their cases as kernels too (FILE mode, `scan` and `model`).
GPU_LOWERINGS = [("nvptx", ["--target", "nvptx"])] if os.environ.get("SSM_TEST_NVPTX") else []
SSM_RUN = os.path.join(os.environ.get("SSM_TOOLS_DIR", ""), "ssm-run")


class Suite:
    """Collects case results; `finish()` exits non-zero if any case failed."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.count = 0
        self.tmp = tempfile.TemporaryDirectory(prefix=name + "-")

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def save(self, prefix, arrays):
        """Saves each array as <prefix>_<key>.npy; returns {key: path}."""
        paths = {}
        for key, value in arrays.items():
            paths[key] = self.path("%s_%s.npy" % (prefix, key))
            np.save(paths[key], value)
        return paths

    def run(self, args, case):
        proc = subprocess.run([SSM_RUN] + args, capture_output=True, text=True)
        if proc.returncode != 0:
            self.fail(case, "ssm-run exited %d: %s" % (proc.returncode,
                                                       proc.stderr.strip()))
            return False
        return True

    def compare(self, case, what, got, ref, tol=TOL):
        self.count += 1
        got = np.asarray(got)
        if got.shape != np.shape(ref):
            self.fail(case, "%s has shape %s, expected %s" % (what, got.shape, np.shape(ref)))
            return
        if got.dtype != np.float32 and got.dtype != np.float64:
            self.fail(case, "%s has dtype %s" % (what, got.dtype))
            return
        if not np.all(np.isfinite(got)):
            self.fail(case, "%s has non-finite values" % what)
            return
        err = max_rel_err(got, ref)
        status = "ok" if err <= tol else "FAIL"
        print("%-4s %-60s %-10s rel_err=%.3e" % (status, case, what, err))
        if err > tol:
            self.fail(case, "%s: relative error %.3e > %.0e" % (what, err, tol))

    def fail(self, case, message):
        self.failures.append("%s: %s" % (case, message))

    def finish(self):
        for f in self.failures:
            print("FAILED " + f, file=sys.stderr)
        print("%s: %d comparisons, %d failures" % (self.name, self.count, len(self.failures)))
        if self.count == 0:
            print("no comparison was made", file=sys.stderr)
            sys.exit(1)
        sys.exit(1 if self.failures else 0)


def tensor_type(shape, elt="f32", dynamic=False):
    dims = ["?" if dynamic else str(s) for s in shape]
    return "tensor<%s>" % "x".join(dims + [elt])


def linear_scan_case(rng, shape, dim, reverse=False, last_only=False, a=None):
    """An ssm.scan program with init (function @main(a, b, h0)), seeded
    inputs (decays in [0.5, 1) unless `a` is given) and its float64 result:
    returns (program, inputs, expected)."""
    if a is None:
        a = rng.uniform(0.5, 1.0, shape).astype(np.float32)
    b = rng.standard_normal(shape).astype(np.float32)
    lanes = tuple(s for i, s in enumerate(shape) if i != dim)
    h0 = rng.standard_normal(lanes).astype(np.float32)
    aty, hty = tensor_type(shape), tensor_type(lanes)
    rty = hty if last_only else aty
    program = """
func.func @main(%%a: %s, %%b: %s, %%h0: %s) -> %s {
  %%r = ssm.scan %%a, %%b init(%%h0 : %s) dim = %d%s%s : %s, %s -> %s
  return %%r : %s
}
""" % (aty, aty, hty, rty, hty, dim, " reverse" if reverse else "",
       " last_only" if last_only else "", aty, aty, rty, rty)
    expected = linear_scan(a, b, dim, h0, reverse, last_only)
    return program, [a, b, h0], expected


def file_command(suite, name, program, func, inputs, n_outputs, extra=()):
    """Writes `program` to <name>.mlir and the arrays `inputs` as .npy
    files; returns the arguments of `ssm-run FILE -e func` (plus `extra`
    options) on them, the paths of its outputs and the program's path."""
    src = suite.path(name + ".mlir")
    with open(src, "w") as f:
        f.write(program)
    args = [src, "-e", func] + list(extra)
    for i, a in enumerate(inputs):
        p = suite.path("%s_in%d.npy" % (name, i))
        np.save(p, a)
        args += ["--input", p]
    outs = [suite.path("%s_out%d.npy" % (name, i)) for i in range(n_outputs)]
    for p in outs:
        args += ["--output", p]
    return args, outs, src


def run_file(suite, name, program, func, inputs, n_outputs, extra=()):
    """Runs `ssm-run FILE -e func` (file_command) and returns the list of
    output arrays (None on error)."""
    args, outs, _ = file_command(suite, name, program, func, inputs, n_outputs, extra)
    if not suite.run(args, name):
        return None
    return [np.load(p) for p in outs]


def to_token_major(name, a):
    """A channel-first operand of the selective scan in token-major layout."""
    if name in ("u", "delta", "z"):
        return np.ascontiguousarray(a.transpose(0, 2, 1))
    if name in ("B", "C") and a.ndim == 3:          # (b, n, L) -> (b, L, n)
        return np.ascontiguousarray(a.transpose(0, 2, 1))
    if name in ("B", "C") and a.ndim == 4:          # (b, g, n, L) -> (b, L, g, n)
        return np.ascontiguousarray(a.transpose(0, 3, 1, 2))
    return a


def selective_program(vals, names, tm, hty):
    """A @main returning (y, last state) of one ssm.selective_scan (softplus on)
    over the operands `names` (u, delta, A, B, C, then any of D, z,
    delta_bias, h0) with the shapes of `vals`; `hty` is the last state's type."""
    types = {k: tensor_type(vals[k].shape) for k in names}
    opt = "".join(" %s(%%%s : %s)" % (k, k, types[k])
                  for k in ["D", "z", "delta_bias", "h0"] if k in names)
    return """
func.func @main(%s) -> (%s, %s) {
  %%y, %%h = ssm.selective_scan %s %%u, %%delta, %%A, %%B, %%C%s delta_softplus
      : (%s, %s, %s, %s, %s) -> %s, %s
  return %%y, %%h : %s, %s
}
""" % (", ".join("%%%s: %s" % (k, types[k]) for k in names), types["u"], hty,
       "token_major" if tm else "channel_first", opt, types["u"], types["delta"],
       types["A"], types["B"], types["C"], types["u"], hty, types["u"], hty)


def compare_lowerings(suite, name, program, inputs, expected, lowerings=LOWERINGS):
    """Runs @main of `program` on `inputs` through each lowering and compares
    its results with the float64 `expected` ones."""
    for lowering, extra in lowerings:
        label = "%s [%s]" % (name, lowering)
        outs = run_file(suite, label, program, "main", inputs, len(expected), extra)
        if outs is None:
            continue
        for i, (got, want) in enumerate(zip(outs, expected)):
            suite.compare(label, "result%d" % i, got, want)


def conv_inputs(rng, b, d, L, k):
    """Random float32 inputs of a causal conv1d in channel_first layout:
    x (b, d, L), weight (d, k), bias (d,), incoming state (b, d, k - 1)."""
    return (rng.standard_normal((b, d, L)).astype(np.float32),
            rng.standard_normal((d, k)).astype(np.float32),
            rng.standard_normal(d).astype(np.float32),
            rng.standard_normal((b, d, k - 1)).astype(np.float32))


def scan_inputs(rng, b, d, L, n, bform="var", cform="var", bgroups=1, cgroups=1,
                D=False, z=False, bias=False, softplus=False, h0=False,
                dtype=np.float32):
    """Well-conditioned random inputs for a selective scan (positive step
    sizes: toolchain.md pitfall 18)."""
    def proj(form, groups):
        if form == "inv":
            return rng.standard_normal((d, n))
        if form == "var":
            return rng.standard_normal((b, n, L))
        return rng.standard_normal((b, groups, n, L))

    x = {
        "u": rng.standard_normal((b, d, L)),
        "A": -np.exp(rng.uniform(-2.0, 1.5, (d, n))),
        "B": proj(bform, bgroups),
        "C": proj(cform, cgroups),
    }
    if softplus:
        x["delta"] = rng.uniform(-4.0, 1.0, (b, d, L))
    else:
        x["delta"] = rng.uniform(0.01, 0.3, (b, d, L))
    if D:
        x["D"] = rng.standard_normal(d)
    if z:
        x["z"] = rng.standard_normal((b, d, L))
    if bias:
        x["delta_bias"] = rng.uniform(-1.0, 0.5, d) if softplus else rng.uniform(0.0, 0.2, d)
    if h0:
        x["h0"] = rng.standard_normal((b, d, n))
    return {k: v.astype(dtype) for k, v in x.items()}
