"""Random differential testing of the selective scan's lowerings.

usage: /usr/bin/python3 utils/fuzz/differential-scan.py SEED ITERATIONS

Each iteration draws a scan (batch, channels, length, states, the forms and
groups of B and C, the optional operands, softplus, layout, dynamic types,
f64) and runs it through three lowerings drawn from the fast path (AVX-512,
AVX2, 4 and 1 lanes, one or two threads), the reference loops and the GPU
emulator's kernels, comparing each with the float64 reference at the
suite's tolerance (docs/testing.md). Failing programs are written to
fuzz-fail-SEED-ITERATION-LOWERING.mlir in the current directory. Uses
build/bin unless SSM_TOOLS_DIR is set; the compile cache is off.
"""
import json
import os
import random
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))
os.environ.setdefault("SSM_TOOLS_DIR", os.path.join(ROOT, "build", "bin"))
os.environ["SSM_CACHE_DIR"] = "off"
import ssm_reference as ref
from ssm_testing import Suite, scan_inputs, to_token_major, tensor_type, run_file

seed = int(sys.argv[1]); iters = int(sys.argv[2])
R = random.Random(seed)
suite = Suite("fz%d" % seed)
LOW = [("fast", []), ("reference", ["--reference"]),
       ("avx2", ["--vector-width", "8", "--mattr", "-avx512f", "--threads", "1"]),
       ("w4", ["--vector-width", "4", "--threads", "2"]),
       ("w1", ["--vector-width", "1"]),
       ("emu", ["--target", "gpu-emulator"]),
       ("emu-ch", ["--target", "gpu-emulator", "--gpu-scan", "channels"]),
       ("emu-st", ["--target", "gpu-emulator", "--gpu-states", "2", "--gpu-items", "3", "--gpu-threads", "64"]),
       ]
def pick(xs): return R.choice(xs)
for it in range(iters):
    rng = np.random.default_rng(seed * 1000 + it)
    b = pick([1, 1, 2, 3])
    d = pick([1, 3, 7, 16, 17, 33, 64])
    L = pick([1, 2, 5, 16, 31, 100, 513, 3000])
    n = pick([1, 2, 3, 4, 5, 8, 16, 17, 32, 64, 129])
    forms = ["inv", "var", "grouped"]
    bform, cform = pick(forms), pick(forms)
    divs = [g for g in range(1, d + 1) if d % g == 0]
    bg, cg = pick(divs), pick(divs)
    opts = dict(D=R.random() < .5, z=R.random() < .5, bias=R.random() < .5, h0=R.random() < .5)
    softplus = R.random() < .7
    tm = R.random() < .5
    dyn = R.random() < .3
    f64 = R.random() < .15
    x = scan_inputs(rng, b, d, L, n, bform=bform, cform=cform, bgroups=bg, cgroups=cg,
                    softplus=softplus, dtype=np.float64 if f64 else np.float32, **opts)
    names = ["u", "delta", "A", "B", "C"] + [k for k in ("D", "z", "delta_bias", "h0") if k in x]
    vals = {k: to_token_major(k, v) if tm else v for k, v in x.items()}
    elt = "f64" if f64 else "f32"
    types = {k: tensor_type(vals[k].shape, elt, dyn and vals[k].ndim >= 3 and R.random() < .7) for k in names}
    want_h = R.random() < .6
    hty = tensor_type((b, d, n), elt)
    opt = "".join(" %s(%%%s : %s)" % (k, k, types[k]) for k in ["D", "z", "delta_bias", "h0"] if k in names)
    yty = types["u"]
    res = "%s, %s" % (yty, hty) if want_h else yty
    prog = """func.func @main(%s) -> (%s) {
  %%y, %%h = ssm.selective_scan %s %%u, %%delta, %%A, %%B, %%C%s%s
      : (%s, %s, %s, %s, %s) -> %s, %s
  return %s : %s
}
""" % (", ".join("%%%s: %s" % (k, types[k]) for k in names), res,
       "token_major" if tm else "channel_first", opt, " delta_softplus" if softplus else "",
       types["u"], types["delta"], types["A"], types["B"], types["C"], yty, hty,
       "%y, %h" if want_h else "%y", res)
    y_ref, h_ref = ref.selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"], D=x.get("D"),
                                      z=x.get("z"), delta_bias=x.get("delta_bias"),
                                      delta_softplus=softplus, h0=x.get("h0"))
    exp = [y_ref.transpose(0, 2, 1) if tm else y_ref] + ([h_ref] if want_h else [])
    desc = dict(b=b, d=d, L=L, n=n, bform=bform, cform=cform, bg=bg, cg=cg, opts=opts, sp=softplus, tm=tm, dyn=dyn, f64=f64, h=want_h)
    lows = R.sample(LOW, 3) if L * d * b * n < 200000 else R.sample(LOW[:5], 2)
    for lname, extra in lows:
        if lname.startswith("emu") and f64: continue
        if lname.startswith("emu") and L * d * b > 20000: continue
        thr = pick([[], ["--threads", "2"], ["--threads", "1"]]) if "--threads" not in extra else []
        label = "it%d_%s" % (it, lname)
        before = len(suite.failures)
        outs = run_file(suite, label, prog, "main", [vals[k] for k in names], len(exp), list(extra) + thr)
        if outs is not None:
            for i, (g, w) in enumerate(zip(outs, exp)):
                suite.compare(label, "r%d" % i, g, w)
        if len(suite.failures) > before:
            print("FAILCASE", label, json.dumps(desc), extra + thr, suite.failures[-1][:600], flush=True)
            with open("fuzz-fail-%d-%d-%s.mlir" % (seed, it, lname), "w") as f:
                f.write(prog)
print("done", seed, len(suite.failures), "failures of", suite.count)
