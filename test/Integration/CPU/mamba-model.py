# RUN: %python %s
#
# Mamba-1 and Mamba-2 language models from checkpoints written here (random weights)
# against the float64 Hugging Face slow path of test/lib/mamba_reference.py,
# through `ssm-run model`: logits within 1e-4 normwise relative error, for
# each config spelling (transformers / mamba_ssm with a padded vocabulary),
# each dtype (F32, F16, BF16: the reference reads back the stored values),
# single file and sharded, tied and untied heads, both embedding names,
# biases on and off, odd sizes, batches, L = 1; the states after a prefill;
# chunked prefill (a prefill continued from the states of an earlier one
# equals the prefill of the whole prompt); greedy decoding against the
# reference's argmax chain; both lowerings. The GPU targets: the models'
# scans and convs as kernels, on the GPU emulator (and on a GPU when the
# tests have one), the rest on the host's fast paths.
import subprocess

import numpy as np

import mamba_reference as mr
from ssm_testing import GPU_LOWERINGS, SCAN_LOWERINGS, SSM_RUN, TOL, Suite

# semantics.md: the fp32 paths reach 1e-5 relative of float64 (the models
# issue asks 1e-4 of the logits; they meet the stricter bound).
suite = Suite("mamba-model")
rng = np.random.default_rng(7)


def checkpoint(name, cfg, dtype="F32", shards=1, spelling="hf",
               embedding="backbone.embeddings.weight", pad=None):
    d = suite.path(name)
    w = mr.random_weights(cfg, rng, embedding)
    cj = cfg.hf_json() if spelling == "hf" else cfg.mamba_ssm_json(pad)
    mr.write_checkpoint(d, cj, w, dtype, shards)
    return d, {k: mr.stored(v, dtype) for k, v in w.items()}


def run_model(case, d, tokens, extra=(), states_in=None, states_out=False):
    """Runs ssm-run model; returns (logits, conv, ssm, stdout) or None."""
    args = ["model", "--checkpoint", d, "--logits", suite.path(case + "_logits.npy")]
    if tokens.shape[0] == 1 and case.endswith("-list"):
        args += ["--tokens", ",".join(str(t) for t in tokens[0])]
    else:
        np.save(suite.path(case + "_tokens.npy"), tokens)
        args += ["--tokens-npy", suite.path(case + "_tokens.npy")]
    if states_in is not None:
        np.save(suite.path(case + "_cin.npy"), states_in[0].astype(np.float32))
        np.save(suite.path(case + "_sin.npy"), states_in[1].astype(np.float32))
        args += ["--conv-state", suite.path(case + "_cin.npy"),
                 "--ssm-state", suite.path(case + "_sin.npy")]
    if states_out:
        args += ["--conv-state-out", suite.path(case + "_cout.npy"),
                 "--ssm-state-out", suite.path(case + "_sout.npy")]
    proc = subprocess.run([SSM_RUN] + args + list(extra), capture_output=True, text=True)
    if proc.returncode != 0:
        suite.fail(case, "ssm-run exited %d: %s" % (proc.returncode, proc.stderr.strip()))
        return None
    logits = np.load(suite.path(case + "_logits.npy"))
    conv = np.load(suite.path(case + "_cout.npy")) if states_out else None
    ssm = np.load(suite.path(case + "_sout.npy")) if states_out else None
    return logits, conv, ssm, proc.stdout


def logits_case(case, cfg, tokens, extra=(), **ckpt):
    d, w = checkpoint(case, cfg, **ckpt)
    ref, rc, rs = mr.lm_forward(cfg, w, tokens)
    got = run_model(case, d, tokens, extra, states_out=True)
    if got is None:
        return
    logits, conv, ssm, _ = got
    if case.endswith("-list"):
        ref = ref[0]  # --tokens: (L, V)
    suite.compare(case, "logits", logits, ref, TOL)
    suite.compare(case, "conv_state", conv, rc, TOL)
    suite.compare(case, "ssm_state", ssm, rs, TOL)


# Config spellings, dtypes, files, heads and biases.
for lname, extra in SCAN_LOWERINGS:
    base = mr.Config(d_model=16, n_layer=2, vocab=48, d_state=8)
    logits_case("hf-f32-%s-list" % lname, base, rng.integers(0, 48, (1, 9)), extra)
logits_case("mamba_ssm-f16-sharded-untied",
            mr.Config(d_model=24, n_layer=3, vocab=64, d_state=4, tied=False),
            rng.integers(0, 64, (2, 12)), dtype="F16", shards=3,
            spelling="mamba_ssm", embedding="backbone.embedding.weight", pad=8)
logits_case("bf16-bias-noconvbias-odd",
            mr.Config(d_model=13, n_layer=2, vocab=37, d_state=5, d_conv=3,
                      d_inner=21, dt_rank=3, use_bias=True, use_conv_bias=False,
                      eps=1e-6),
            rng.integers(0, 37, (3, 17)), dtype="BF16")
logits_case("L1-batch",
            mr.Config(d_model=16, n_layer=2, vocab=40, d_state=16),
            rng.integers(0, 40, (4, 1)))
logits_case("long-1thread",
            mr.Config(d_model=32, n_layer=2, vocab=50, d_state=16),
            rng.integers(0, 50, (1, 300)), ["--threads", "1"])

# Mamba-2 language models (Mamba2ForCausalLM; mamba_ssm's Mamba2 with
# ssm_cfg): transformers' spelling (time_step_limit written as Python's
# Infinity), mamba_ssm's with a padded vocabulary, F32 and BF16, tied and
# untied heads, 4 heads of 8 or 6 channels, one token.
M2 = mr.Config(d_model=16, n_layer=2, vocab=40, d_state=16, version=2, headdim=8)
for lname, extra in SCAN_LOWERINGS:
    logits_case("mamba2-hf [%s]" % lname, M2, rng.integers(0, 40, (2, 9)), extra)
logits_case("mamba2-mamba_ssm-bf16",
            mr.Config(d_model=12, n_layer=3, vocab=48, d_state=8, version=2, headdim=6,
                      tied=False),
            rng.integers(0, 48, (1, 11)), spelling="mamba_ssm", dtype="BF16", pad=16,
            embedding="backbone.embedding.weight")
logits_case("mamba2-one-token-list", M2, rng.integers(0, 40, (1, 1)))
# Grouped Mamba-2 (Mamba-Codestral's form): 2 groups of B and C over 4
# heads, and the gated RMSNorm per group of I / 2 = 16 channels, in both
# spellings; d_inner 24 in 3 groups of 8 channels, one head each.
for lname, extra in SCAN_LOWERINGS:
    logits_case("mamba2-groups-hf [%s]" % lname,
                mr.Config(d_model=16, n_layer=2, vocab=40, d_state=8, version=2, headdim=8,
                          n_groups=2),
                rng.integers(0, 40, (2, 7)), extra)
logits_case("mamba2-groups-3-mamba_ssm",
            mr.Config(d_model=12, n_layer=2, vocab=32, d_state=4, version=2, headdim=8,
                      n_groups=3),
            rng.integers(0, 32, (1, 6)), spelling="mamba_ssm")

# The GPU targets: Mamba-1 (channel-first scan) and Mamba-2 (token-major,
# one decay per head; with two groups), both scan kernels, a batch of
# single tokens (the decoding step), and with threads per channel.
GPU_TARGETS = [("gpu-emulator", ["--target", "gpu-emulator"]),
               ("gpu-emulator-channels", ["--target", "gpu-emulator", "--gpu-scan", "channels",
                                          "--gpu-channel-threads", "2"])]
GPU_TARGETS += [(n, e) for n, e in GPU_LOWERINGS]
GPU_TARGETS += [(n + "-channels", e + ["--gpu-scan", "channels"]) for n, e in GPU_LOWERINGS]
# Every op as a kernel (--gpu-all-kernels: norms, projections, gates,
# embedding, slices), intermediates kept on the device.
ALL_KERNELS = [("gpu-emulator-all", ["--target", "gpu-emulator", "--gpu-all-kernels"])]
ALL_KERNELS += [(n + "-all", e + ["--gpu-all-kernels"]) for n, e in GPU_LOWERINGS]
GPU_TARGETS += ALL_KERNELS
for lname, extra in ALL_KERNELS:
    logits_case("bf16-bias-noconvbias-odd [%s]" % lname,
                mr.Config(d_model=13, n_layer=2, vocab=37, d_state=5, d_conv=3,
                          d_inner=21, dt_rank=3, use_bias=True, use_conv_bias=False,
                          eps=1e-6),
                rng.integers(0, 37, (3, 17)), extra, dtype="BF16")
    # Sums longer than a warp (d_model 45, d_inner 90): lanes take several
    # steps, some one fewer than others.
    logits_case("wide [%s]" % lname,
                mr.Config(d_model=45, n_layer=1, vocab=23, d_state=6, d_inner=90, dt_rank=4),
                rng.integers(0, 23, (1, 13)), extra)
    # Prompts of 32 tokens or more: the projections and the LM head become
    # tiled matrix products (below 32 rows, a warp per output), with
    # partial tiles of rows, outputs and k.
    logits_case("mamba1-long [%s]" % lname,
                mr.Config(d_model=20, n_layer=2, vocab=70, d_state=8, d_inner=40, dt_rank=3,
                          use_bias=True),
                rng.integers(0, 70, (2, 40)), extra)
    logits_case("mamba2-long [%s]" % lname, M2, rng.integers(0, 40, (1, 70)), extra)
for lname, extra in GPU_TARGETS:
    logits_case("mamba1 [%s]" % lname,
                mr.Config(d_model=12, n_layer=2, vocab=40, d_state=8, d_inner=26, dt_rank=3),
                rng.integers(0, 40, (2, 19)), extra)
    logits_case("mamba2 [%s]" % lname, M2, rng.integers(0, 40, (2, 9)), extra)
    logits_case("mamba2-groups [%s]" % lname,
                mr.Config(d_model=16, n_layer=2, vocab=40, d_state=8, version=2, headdim=8,
                          n_groups=2),
                rng.integers(0, 40, (1, 7)), extra)
    logits_case("L1-batch [%s]" % lname, mr.Config(d_model=16, n_layer=2, vocab=40, d_state=16),
                rng.integers(0, 40, (3, 1)), extra)

# Chunked prefill: prompt = p1 + p2 run as one prefill and as a prefill of
# p1 whose states continue into p2 (including single-token steps). The
# single-token step takes the scan's decoding path: channels in the lanes
# for d_state 8, states in the lanes for d_state 16 (here with d_inner 26,
# a partial channel tile).
for name, cfg in (("chunked", mr.Config(d_model=16, n_layer=2, vocab=48, d_state=8)),
                  ("chunked-n16", mr.Config(d_model=13, n_layer=2, vocab=48, d_state=16)),
                  ("chunked-mamba2", mr.Config(d_model=16, n_layer=2, vocab=48, d_state=16,
                                               version=2, headdim=8)),
                  ("chunked-mamba2-groups", mr.Config(d_model=16, n_layer=2, vocab=48,
                                                      d_state=8, version=2, headdim=4,
                                                      n_groups=4))):
    d, w = checkpoint(name, cfg)
    tokens = rng.integers(0, 48, (2, 21))
    ref, rc, rs = mr.lm_forward(cfg, w, tokens)
    whole = run_model(name + "-whole", d, tokens, states_out=True)
    first = run_model(name + "-first", d, tokens[:, :13], states_out=True)
    if not (whole and first):
        continue
    second = run_model(name + "-second", d, tokens[:, 13:20],
                       states_in=(first[1], first[2]), states_out=True)
    if not second:
        continue
    step = run_model(name + "-step", d, tokens[:, 20:],
                     states_in=(second[1], second[2]), states_out=True)
    if step:
        joined = np.concatenate([first[0], second[0], step[0]], axis=1)
        suite.compare(name, "logits vs whole prefill", joined, whole[0], TOL)
        suite.compare(name, "logits vs reference", joined, ref, TOL)
        suite.compare(name, "conv_state vs whole", step[1], whole[1], TOL)
        suite.compare(name, "ssm_state vs whole", step[2], whole[2], TOL)
        suite.compare(name, "ssm_state vs reference", step[2], rs, TOL)

# Greedy decoding: the generated tokens are the reference's argmax chain.
# An untied head: with the head tied to N(0, 1) embeddings a random model
# repeats its last token, which would test little.
cfg = mr.Config(d_model=16, n_layer=2, vocab=48, d_state=8, tied=False)
d, w = checkpoint("generate", cfg)
tokens = rng.integers(0, 48, (1, 5))
want = []
logits, conv, ssm = mr.lm_forward(cfg, w, tokens)
for _ in range(6):
    nxt = int(np.argmax(logits[0, -1]))
    want.append(nxt)
    logits, conv, ssm = mr.lm_forward(cfg, w, np.array([[nxt]]), conv, ssm)
if len(set(want)) < 3:
    suite.fail("generate", "the reference chain %s is too uniform to test decoding" % want)
got = run_model("generate-list", d, tokens, ["--generate", "6"])
if got:
    line = [l for l in got[3].splitlines() if l.startswith("generated=")]
    generated = [int(t) for t in line[0].split("=")[1].split(",")] if line else []
    suite.count += 1
    status = "ok" if generated == want else "FAIL"
    print("%-4s %-60s generated=%s expected=%s" % (status, "generate", generated, want))
    if generated != want:
        suite.fail("generate", "generated %s, expected %s" % (generated, want))

suite.finish()
