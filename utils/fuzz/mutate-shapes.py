"""Shape mutations of the test programs through the pipelines.

usage: /usr/bin/python3 utils/fuzz/mutate-shapes.py SEED ITERATIONS

Takes the functions with ssm ops of the lit tests' programs, changes one to
three things (a dimension to 0, 1, an odd size or `?`, consistently or not;
an element type; a unit keyword; an integer attribute), and runs ssm-opt:
the verifier, then, when it accepts, one of the pipelines. A crash (a
signal, an assertion, "PLEASE submit a bug report") is written to
fuzz-crash-SEED-ITERATION.mlir, and a pipeline that fails on a verified
program (an error of ours, or invalid IR a pass made) to
fuzz-pipeline-SEED-ITERATION.mlir, for a look at whether the error is the
right one. Uses build/bin/ssm-opt unless SSM_TOOLS_DIR is set.
"""
import glob
import os
import random
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
seed = int(sys.argv[1]); iters = int(sys.argv[2])
R = random.Random(seed)
TESTS = os.path.join(ROOT, "test")
files = sorted(glob.glob(TESTS + "/Dialect/SSM/*.mlir") + glob.glob(TESTS + "/Dialect/SSM/Transforms/*.mlir")
               + glob.glob(TESTS + "/Conversion/*/*.mlir") + glob.glob(TESTS + "/Pipelines/*.mlir"))
funcs = []
for f in files:
    txt = open(f).read()
    if "expected-error" in txt: continue
    for m in re.finditer(r"^func\.func @\w+\(.*?^}\n", txt, re.S | re.M):
        body = m.group(0)
        if "ssm." in body and "gpu." not in body:
            funcs.append((f, body))
print(len(funcs), "functions", flush=True)
OPT = os.path.join(os.environ.get("SSM_TOOLS_DIR", os.path.join(ROOT, "build", "bin")), "ssm-opt")
CRASH = re.compile(r"PLEASE submit|Assertion|LLVM ERROR|UNREACHABLE|Stack dump|Segmentation")
def run(args, src, timeout=120):
    try:
        p = subprocess.run([OPT] + args + ["-"], input=src, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    return p.returncode, p.stderr
def mutate(s):
    kind = R.random()
    dims = list(re.finditer(r"(?<=[<x])(\d+|\?)(?=x)", s))
    if kind < 0.6 and dims:
        m = R.choice(dims)
        new = R.choice(["0", "1", "2", "3", "?", "5", "7", "16", "17", "64"])
        # change all identical occurrences sometimes to keep consistency
        if R.random() < 0.5:
            return s[:m.start()] + new + s[m.end():]
        old = m.group(0)
        return re.sub(r"(?<=[<x])%s(?=x)" % re.escape(old), new, s)
    if kind < 0.75:
        return s.replace("f32", R.choice(["f64", "f16", "bf16", "i32"]), R.randint(1, 3))
    if kind < 0.85:
        kws = ["delta_softplus", "last_only", "reverse", "silu", "states"]
        k = R.choice(kws)
        return s.replace(" " + k, "", 1) if k in s else s
    nums = list(re.finditer(r"(?<== )\d+", s))
    if nums:
        m = R.choice(nums)
        return s[:m.start()] + R.choice(["0", "1", "3", "-1", "100"]) + s[m.end():]
    return s
stats = {}
for it in range(iters):
    f, body = R.choice(funcs)
    src = body
    for _ in range(R.randint(1, 3)):
        src = mutate(src)
    rc, err = run([], src)
    tag = "verify"
    if rc == 0:
        pipe = R.choice([["--ssm-to-llvm"], ["--ssm-to-llvm=reference"], ["--ssm-to-llvm=num-threads=2 parallel-scan"],
                         ["--ssm-to-gpu-emulator"], ["--ssm-to-nvptx"], ["--ssm-to-gpu-emulator=all-kernels"],
                         ["--ssm-to-llvm=vector-width=4"]])
        rc, err = run(pipe, src); tag = " ".join(pipe)
    stats[(tag, rc if rc in (0, 1) else "X")] = stats.get((tag, rc if rc in (0,1) else "X"), 0) + 1
    if rc not in (0, 1) or CRASH.search(err or ""):
        path = "fuzz-crash-%d-%d.mlir" % (seed, it)
        with open(path, "w") as f:
            f.write(src)
        print("CRASH", tag, rc, path, (err or "")[:800].replace("\n", " | "), flush=True)
    elif rc == 1 and tag != "verify":
        print("PIPEFAIL", tag, f, (err or "")[:300].replace("\n", " | "), flush=True)
        with open("fuzz-pipeline-%d-%d.mlir" % (seed, it), "w") as f:
            f.write(src)
print(stats)
