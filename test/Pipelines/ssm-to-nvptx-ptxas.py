# REQUIRES: ptxas
# RUN: %python %s %ptxas
#
# ptxas accepts every kernel --ssm-to-nvptx generates, for sm_80 and sm_90,
# on a machine without a GPU: the scan in both layouts with every B/C form,
# with and without each optional operand, n from 1 to 512 and several block
# shapes; the conv with and without bias, state, final state and SiLU, and a
# dynamic k. All of it again with --gpu-scan channels (the per-channel scan
# kernel where it applies: B and C varying with time, n <= 32 states per
# thread), and with two
# lanes per channel (--gpu-channel-threads 2). Prints each
# kernel's registers and spills (ptxas -v).
import os
import re
import subprocess
import sys
import tempfile

PTXAS = sys.argv[1]
SSM_RUN = os.path.join(os.environ["SSM_TOOLS_DIR"], "ssm-run")


def t(shape):
    return "tensor<%sxf32>" % "x".join(str(s) for s in shape)


def scan(name, tm, n, bform, cform, opts):
    b, d, L, g = 2, 6, "?", 3
    act = (b, L, d) if tm else (b, d, L)
    proj = {"inv": (d, n), "var": (b, L, n) if tm else (b, n, L),
            "grp": (b, L, g, n) if tm else (b, g, n, L)}
    ty = {"u": t(act), "delta": t(act), "A": t((d, n)), "B": t(proj[bform]),
          "C": t(proj[cform]), "D": t((d,)), "z": t(act), "delta_bias": t((d,)),
          "h0": t((b, d, n))}
    names = ["u", "delta", "A", "B", "C"] + [k for k in ("D", "z", "delta_bias", "h0") if k in opts]
    opt = "".join(" %s(%%%s : %s)" % (k, k, ty[k]) for k in names[5:])
    hty = t((b, d, n))
    return """
func.func @%s(%s) -> (%s, %s) {
  %%y, %%h = ssm.selective_scan %s %%u, %%delta, %%A, %%B, %%C%s%s
      : (%s, %s, %s, %s, %s) -> %s, %s
  return %%y, %%h : %s, %s
}
""" % (name, ", ".join("%%%s: %s" % (k, ty[k]) for k in names), ty["u"], hty,
       "token_major" if tm else "channel_first", opt,
       " delta_softplus" if "softplus" in opts else "",
       ty["u"], ty["delta"], ty["A"], ty["B"], ty["C"], ty["u"], hty, ty["u"], hty)


def conv(name, tm, k, bias, state, final, silu):
    x = t((2, "?", 5) if tm else (2, 5, "?"))
    w = "tensor<5x%sxf32>" % k
    km1 = "?" if k == "?" else k - 1
    s = "tensor<2x5x%sxf32>" % km1
    args = ["%%x: %s" % x, "%%w: %s" % w]
    opt = ""
    if bias:
        args.append("%%b: %s" % t((5,)))
        opt += " bias(%%b : %s)" % t((5,))
    if state:
        args.append("%%s: %s" % s)
        opt += " conv_state(%%s : %s)" % s
    results = [x] + ([s] if final else [])
    names = ["%y"] + (["%f"] if final else [])
    return """
func.func @%s(%s) -> (%s) {
  %s = ssm.causal_conv1d %s %%x, %%w%s%s : %s, %s -> %s
  return %s : %s
}
""" % (name, ", ".join(args), ", ".join(results), ", ".join(names),
       "token_major" if tm else "channel_first", opt, " silu" if silu else "",
       x, w, ", ".join(results), ", ".join(names), ", ".join(results))


programs = []
for tm in (False, True):
    for bform in ("inv", "var", "grp"):
        for cform in ("inv", "var", "grp"):
            programs.append(scan("scan_%d_%s_%s" % (tm, bform, cform), tm, 16, bform, cform,
                                 ("D", "z", "delta_bias", "h0", "softplus")))
    for n in (1, 3, 64, 512):
        programs.append(scan("scan_%d_n%d" % (tm, n), tm, n, "var", "var", ()))
    for k, bias, state, final, silu in ((4, True, True, True, True), (1, False, False, False, False),
                                        (2, True, False, True, False), ("?", False, True, True, True)):
        programs.append(conv("conv_%d_k%s_%d%d%d%d" % (tm, "dyn" if k == "?" else k, bias, state, final, silu),
                             tm, k, bias, state, final, silu))
source = "\n".join(programs)

failures = 0
kernels = 0
with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "programs.mlir")
    with open(src, "w") as f:
        f.write(source)
    for chip, scan_flags in [(c, s) for c in ("sm_80", "sm_90")
                             for s in ([], ["--gpu-scan", "channels"],
                                       ["--gpu-scan", "channels", "--gpu-channel-threads", "2"])]:
        proc = subprocess.run([SSM_RUN, src, "--emit=ptx", "--chip", chip] + scan_flags,
                              capture_output=True, text=True)
        if proc.returncode:
            print("ssm-run --emit=ptx --chip %s failed:\n%s" % (chip, proc.stderr))
            sys.exit(1)
        parts = re.split(r"^// gpu\.binary @(\S+) .*$", proc.stdout, flags=re.M)
        for name, ptx in zip(parts[1::2], parts[2::2]):
            path = os.path.join(tmp, "%s_%s_%d.ptx" % (name, chip, len(scan_flags)))
            with open(path, "w") as f:
                f.write(ptx)
            res = subprocess.run([PTXAS, "-arch=" + chip, "-O3", "-v", path, "-o", os.devnull],
                                 capture_output=True, text=True)
            kernels += 1
            info = " ".join(re.findall(r"Used \d+ registers|\d+ bytes spill stores", res.stderr))
            status = "ok" if res.returncode == 0 else "FAIL"
            strategy = " x".join(scan_flags[1::2]) or "chunks"
            print("%-4s %-6s %-11s %-32s %s" % (status, chip, strategy, name, info))
            if res.returncode:
                failures += 1
                print(res.stderr)
print("%d kernels, %d rejected by ptxas" % (kernels, failures))
# 2 chips x 3 scan kernels x (2 layouts x 13 scans + 2 layouts x 4 convs,
# 6 of them with a final-state kernel).
expected = 2 * 3 * (2 * 13 + 2 * 4 + 2 * 3)
if kernels != expected:
    print("expected %d kernels" % expected)
    sys.exit(1)
sys.exit(1 if failures else 0)
