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
# lanes per channel (--gpu-channel-threads 2). Then a layer's worth of the
# other ops with --gpu-all-kernels (embedding, RMSNorm, a projection with a
# bias in both its kernels, slices, tanh, log1p, exp, sqrt, a gate, and a scan): every one a
# kernel, none calling libdevice. Then 16-bit weights (a bf16 embedding
# table and bf16 and f16 projections). Prints each kernel's registers and
# spills (ptxas -v).
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


def kernels_of(tmp, src, chip, flags, label):
    """Compiles `src` to PTX with ssm-run and runs ptxas on each kernel;
    prints a line per kernel and returns (kernels, failures). A kernel that
    calls libdevice fails too."""
    proc = subprocess.run([SSM_RUN, src, "--emit=ptx", "--chip", chip] + flags,
                          capture_output=True, text=True)
    if proc.returncode:
        print("ssm-run --emit=ptx --chip %s %s failed:\n%s" % (chip, " ".join(flags), proc.stderr))
        sys.exit(1)
    count = bad = 0
    parts = re.split(r"^// gpu\.binary @(\S+) .*$", proc.stdout, flags=re.M)
    for name, ptx in zip(parts[1::2], parts[2::2]):
        path = os.path.join(tmp, "%s_%s_%s.ptx" % (name, chip, label.replace(" ", "_")))
        with open(path, "w") as f:
            f.write(ptx)
        res = subprocess.run([PTXAS, "-arch=" + chip, "-O3", "-v", path, "-o", os.devnull],
                             capture_output=True, text=True)
        count += 1
        info = " ".join(re.findall(r"Used \d+ registers|\d+ bytes spill stores", res.stderr))
        ok = res.returncode == 0 and "__nv_" not in ptx
        print("%-4s %-6s %-11s %-32s %s" % ("ok" if ok else "FAIL", chip, label, name, info))
        if not ok:
            bad += 1
            print(res.stderr if res.returncode else "calls libdevice")
    return count, bad


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
        n, bad = kernels_of(tmp, src, chip, scan_flags, " x".join(scan_flags[1::2]) or "chunks")
        kernels += n
        failures += bad

LAYER = """
func.func @layer(%tok: tensor<2x?xi64>, %table: tensor<50x24xf32>, %nw: tensor<24xf32>,
                 %w: tensor<40x24xf32>, %bias: tensor<40xf32>, %A: tensor<20x4xf32>,
                 %B: tensor<2x?x4xf32>) -> (tensor<2x?x20xf32>, tensor<2x?x20xf32>) {
  %h = ssm.embedding %tok, %table : tensor<2x?xi64>, tensor<50x24xf32> -> tensor<2x?x24xf32>
  %n = ssm.rmsnorm %h, %nw epsilon = 1.0e-05 : tensor<2x?x24xf32>, tensor<24xf32> -> tensor<2x?x24xf32>
  %p = ssm.linear %n, %w bias(%bias : tensor<40xf32>) : tensor<2x?x24xf32>, tensor<40x24xf32> -> tensor<2x?x40xf32>
  %c1 = arith.constant 1 : index
  %L = tensor.dim %p, %c1 : tensor<2x?x40xf32>
  %x = tensor.extract_slice %p[0, 0, 0] [2, %L, 20] [1, 1, 1] : tensor<2x?x40xf32> to tensor<2x?x20xf32>
  %z = tensor.extract_slice %p[0, 0, 20] [2, %L, 20] [1, 1, 1] : tensor<2x?x40xf32> to tensor<2x?x20xf32>
  %t = math.tanh %x : tensor<2x?x20xf32>
  %l = math.log1p %t : tensor<2x?x20xf32>
  %e = math.exp %z : tensor<2x?x20xf32>
  %s = math.sqrt %e : tensor<2x?x20xf32>
  %g = arith.mulf %l, %s : tensor<2x?x20xf32>
  %y = ssm.selective_scan token_major %g, %x, %A, %B, %B delta_softplus
      : (tensor<2x?x20xf32>, tensor<2x?x20xf32>, tensor<20x4xf32>, tensor<2x?x4xf32>, tensor<2x?x4xf32>) -> tensor<2x?x20xf32>
  return %y, %g : tensor<2x?x20xf32>, tensor<2x?x20xf32>
}
"""


def all_kernels_of(text, what):
    """(kernels, failures) of `text` with --gpu-all-kernels for both chips."""
    count = bad_count = 0
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "program.mlir")
        with open(src, "w") as f:
            f.write(text)
        for chip in ("sm_80", "sm_90"):
            n, bad = kernels_of(tmp, src, chip, ["--gpu-all-kernels"], what)
            count += n
            bad_count += bad
    return count, bad_count


layer_kernels, bad = all_kernels_of(LAYER, "all")
failures += bad

# Weights stored in 16 bits (a BF16 or F16 checkpoint's): the gather and
# the projections widen them in the kernel (cvt.f32.bf16 on sm_90, a shift
# on sm_80; cvt.f32.f16).
SIXTEEN = """
func.func @sixteen(%tok: tensor<2x?xi64>, %table: tensor<50x24xbf16>,
                   %w: tensor<40x24xbf16>, %v: tensor<40x24xf16>) -> (tensor<2x?x40xf32>, tensor<2x?x40xf32>) {
  %h = ssm.embedding %tok, %table : tensor<2x?xi64>, tensor<50x24xbf16> -> tensor<2x?x24xf32>
  %p = ssm.linear %h, %w : tensor<2x?x24xf32>, tensor<40x24xbf16> -> tensor<2x?x40xf32>
  %q = ssm.linear %h, %v : tensor<2x?x24xf32>, tensor<40x24xf16> -> tensor<2x?x40xf32>
  return %p, %q : tensor<2x?x40xf32>, tensor<2x?x40xf32>
}
"""
sixteen_kernels, bad = all_kernels_of(SIXTEEN, "16-bit weights")
failures += bad

print("%d scan and conv kernels, %d of the layer and %d with 16-bit weights, %d rejected by "
      "ptxas or calling libdevice" % (kernels, layer_kernels, sixteen_kernels, failures))
# Per chip: the gather and the two projections, each a warp per output with
# its zero fill fused in (the tiled matrix product reads f32 weights only).
if sixteen_kernels != 2 * 3:
    print("expected 3 kernels per chip with 16-bit weights, got %d in all" % sixteen_kernels)
    sys.exit(1)
# The layer, per chip: the embedding gather, RMSNorm's sum of squares and
# its scaling, the projection twice (from 32 rows the tiled matrix product,
# which starts from the bias; below, a warp per output with its bias fill
# fused in), copies of the slices the scan takes as row-major buffers, the
# elementwise chain (fused into one loop), and the scan.
if layer_kernels != 2 * 9:
    print("expected 9 kernels per chip for the layer, got %d in all" % layer_kernels)
    sys.exit(1)
# 2 chips x 3 scan kernels x (2 layouts x 13 scans + 2 layouts x 4 convs,
# 6 of them with a final-state kernel).
expected = 2 * 3 * (2 * 13 + 2 * 4 + 2 * 3)
if kernels != expected:
    print("expected %d kernels" % expected)
    sys.exit(1)
sys.exit(1 if failures else 0)
