#!/usr/bin/python3
"""Mamba language-model benchmark (utils/bench.sh): in one run,

1. projections: ssm.linear at the Mamba-130m prefill shapes (2048 tokens:
   in_proj 768 -> 3072, x_proj 1536 -> 80, dt_proj 48 -> 1536, out_proj
   1536 -> 768) and the LM head (768 -> 50280), compiled with 1 and 2
   threads: GFLOP/s and the fraction of the FMA peak of performance.md
   (222 GFLOP/s per core with AVX-512), next to PyTorch's (else numpy's)
   one-thread matmul on the same arrays (median of 3); with --long-rows
   also long rows of x (K = 2560, 5120 and 8192: docs/projections.md,
   "Long rows");
2. one decoding scan step (selective_scan, L = 1, d_inner 1536, n 16, from
   a state), the state-update part of a decoding step: in a compiled loop
   of 1000 steps, as one runner call, on the reference lowering, and as
   PyTorch's one-thread state update;
3. the whole model: a random Mamba-130m-shaped checkpoint (24 layers,
   d_model 768, vocab 50280) written to a temporary directory; `ssm-run
   model` prefill of 2048 tokens and 128 greedy decoding steps, 1 and 2
   threads, with peak memory; side by side with PyTorch (Debian's
   python3-torch, 1.13 CPU) running the same weights through a
   straightforward Hugging Face slow-path implementation (sequential scan
   in Python over time), 1 and 2 threads;
4. weights16 (not in the default parts): the same model shape (or
   Mamba-2's with --mamba2) from a BF16 (or --dtype F16) checkpoint, its
   matrices kept 16-bit (`--weights stored`) against the same checkpoint widened to float32 when
   loading (`--weights f32`), alternating for --rounds rounds: decoding ms
   per token, the weight bytes a token reads and their rate against the
   STREAM figures, the 2048-token prefill, peak memory, and whether both
   generate the same tokens; `int8` (not in the default parts) the same
   with a third mode, every matrix quantized to int8 rows with row scales
   when loading (`--weights int8`), and what that does to a 64-token
   prompt's logits (random weights: not a trained model's accuracy);
5. batch (not in the default parts): batched decoding, B sequences of 3
   prompt tokens decoding 16 steps together (B = 1 .. 64) from a BF16
   checkpoint, matrices kept 16-bit, widened to float32 and quantized to
   int8, 1 and 2 threads: tokens per second with the projections' decoding kernel
   (`--packed-from-rows` above B) and with the packed prefill kernel
   (`--packed-from-rows 1`), and which of the two the default threshold
   picks;
6. sampling (not in the default parts): one sequence decoding 128 tokens
   from the same BF16 checkpoint, greedy against sampled (temperature 1;
   with top-k 50; with top-p 0.9), alternating for --rounds rounds: ms per
   token, the sampler's pass over the 50,280 logits included;
7. prompts (not in the default parts): the prefill of B prompts from the
   same BF16 checkpoint, of one length L (one (B, L) call) against lengths
   L and L + 1 alternating (a batch-1 call per prompt, MambaLM::prefill),
   1 thread: the median prefill's tokens/s and the ratio, and the compile
   time each way (the batch-B program against the batch-1 one).

Everything is measured in this one run; ratios are ours / PyTorch's time.
"""
import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse
import re
import sys
import tempfile
import time

import numpy as np

from benchlib import STREAM_GBS, run, median_ms, peak_mb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "test", "lib"))
import mamba_reference as mr  # noqa: E402

PEAK_1T = 222.0  # GFLOP/s, fp32 FMA, AVX-512, one core (performance.md)
PEAK_2T = 448.0
STREAM_1T, STREAM_2T = STREAM_GBS[1], STREAM_GBS[2]  # GB/s (benchlib)

LINEAR = """
func.func @main(%%x: tensor<%(m)dx%(k)dxf32>, %%w: tensor<%(n)dx%(k)dxf32>) -> tensor<%(m)dx%(n)dxf32> {
  %%y = ssm.linear %%x, %%w : tensor<%(m)dx%(k)dxf32>, tensor<%(n)dx%(k)dxf32> -> tensor<%(m)dx%(n)dxf32>
  return %%y : tensor<%(m)dx%(n)dxf32>
}
"""

STEP = """
func.func @main(%%u: tensor<1x1x%(d)dxf32>, %%dt: tensor<1x1x%(d)dxf32>, %%A: tensor<%(d)dx%(n)dxf32>,
                %%B: tensor<1x1x%(n)dxf32>, %%C: tensor<1x1x%(n)dxf32>, %%D: tensor<%(d)dxf32>,
                %%z: tensor<1x1x%(d)dxf32>, %%bias: tensor<%(d)dxf32>, %%h0: tensor<1x%(d)dx%(n)dxf32>)
    -> (tensor<1x1x%(d)dxf32>, tensor<1x%(d)dx%(n)dxf32>) {
  %%y, %%h = ssm.selective_scan token_major %%u, %%dt, %%A, %%B, %%C D(%%D : tensor<%(d)dxf32>)
      z(%%z : tensor<1x1x%(d)dxf32>) delta_bias(%%bias : tensor<%(d)dxf32>) h0(%%h0 : tensor<1x%(d)dx%(n)dxf32>)
      delta_softplus
      : (tensor<1x1x%(d)dxf32>, tensor<1x1x%(d)dxf32>, tensor<%(d)dx%(n)dxf32>, tensor<1x1x%(n)dxf32>,
         tensor<1x1x%(n)dxf32>) -> tensor<1x1x%(d)dxf32>, tensor<1x%(d)dx%(n)dxf32>
  return %%y, %%h : tensor<1x1x%(d)dxf32>, tensor<1x%(d)dx%(n)dxf32>
}
"""


def reference_matmul():
    """(name, f(x, w) -> seconds of x @ w.T on one thread) for the side-by-side
    reference: PyTorch's matmul when installed, else numpy's."""
    try:
        import torch
        torch.set_num_threads(1)

        def f(x, w):
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            t0 = time.perf_counter()
            torch.matmul(tx, tw.T)
            return time.perf_counter() - t0
        return "torch 1T", f
    except ImportError:
        def f(x, w):
            t0 = time.perf_counter()
            np.matmul(x, w.T)
            return time.perf_counter() - t0
        return "numpy 1T", f


def projections(tools, tmp, tokens, reps, long_rows=False):
    ref_name, ref = reference_matmul()
    print("== projections (ssm.linear, %d tokens): GFLOP/s, fraction of FMA peak, and %s "
          "matmul on the same data" % (tokens, ref_name))
    print("%-22s %9s %9s %6s %9s %6s %6s %10s %7s" % (
        "projection", "1T ms", "GFLOP/s", "peak", "2T ms", "peak", "2T/1T", ref_name + " ms",
        "ref/1T"))
    # (name, rows of x, K, N): Mamba-130m's projections, then long rows
    # (docs/projections.md, "Long rows"): Mamba-2.8b's out_proj (d_inner
    # 5120) and in_proj, and K = 8192 (MQAR at V = 8192 reads one-hot rows
    # of 8192).
    shapes = [("in_proj 768->3072", tokens, 768, 3072), ("x_proj 1536->80", tokens, 1536, 80),
              ("dt_proj 48->1536", tokens, 48, 1536), ("out_proj 1536->768", tokens, 1536, 768),
              ("lm_head 768->50280", tokens, 768, 50280)]
    if long_rows:
        shapes += [("2.8b out_proj 5120->2560", tokens, 5120, 2560),
                   ("2.8b in_proj 2560->10240", tokens, 2560, 10240),
                   ("1024 rows 8192->4096", 1024, 8192, 4096)]
    rng = np.random.default_rng(0)
    for name, m, k, n in shapes:
        src = os.path.join(tmp, "linear.mlir")
        with open(src, "w") as f:
            f.write(LINEAR % {"m": m, "k": k, "n": n})
        xa = rng.standard_normal((m, k)).astype(np.float32)
        wa = rng.standard_normal((n, k)).astype(np.float32)
        x = os.path.join(tmp, "x.npy")
        w = os.path.join(tmp, "w.npy")
        np.save(x, xa)
        np.save(w, wa)
        flop = 2.0 * m * k * n
        times = []
        for threads in (1, 2):
            out = run([os.path.join(tools, "ssm-run"), src, "-e", "main", "--input", x,
                       "--input", w, "--output", os.path.join(tmp, "y.npy"),
                       "--threads", str(threads), "--time", str(reps)])
            times.append(median_ms(out))
        ref_ms = 1e3 * sorted(ref(xa, wa) for _ in range(3))[1]
        g1 = flop / times[0] / 1e6
        g2 = flop / times[1] / 1e6
        print("%-22s %9.2f %9.1f %5.0f%% %9.2f %5.0f%% %6.2f %10.2f %7.2f" % (
            name, times[0], g1, 100 * g1 / PEAK_1T, times[1], 100 * g2 / PEAK_2T,
            times[0] / times[1], ref_ms, ref_ms / times[0]))

    # Decoding: one token, a matrix-vector product bound by reading w. The
    # layers' matrices stacked (what one token reads of each kind, 24
    # layers) so that w streams from memory rather than from a cache.
    print("== decoding projections (ssm.linear, one token; w of all 24 layers stacked): "
          "GB/s of w read, fraction of STREAM, and %s on the same data" % ref_name)
    print("%-30s %8s %8s %7s %8s %8s %7s %10s %7s" % (
        "projection", "1T ms", "GB/s", "STREAM", "2T ms", "GB/s", "STREAM", ref_name + " ms",
        "ref/1T"))
    for name, k, n in [("in_proj x24 768->73728", 768, 24 * 3072),
                       ("out_proj x24 1536->18432", 1536, 24 * 768),
                       ("lm_head 768->50280", 768, 50280)]:
        src = os.path.join(tmp, "linear.mlir")
        with open(src, "w") as f:
            f.write(LINEAR % {"m": 1, "k": k, "n": n})
        xa = rng.standard_normal((1, k)).astype(np.float32)
        wa = rng.standard_normal((n, k)).astype(np.float32)
        x = os.path.join(tmp, "x.npy")
        w = os.path.join(tmp, "w.npy")
        np.save(x, xa)
        np.save(w, wa)
        gb = 4.0 * n * k / 1e9
        times = []
        for threads in (1, 2):
            out = run([os.path.join(tools, "ssm-run"), src, "-e", "main", "--input", x,
                       "--input", w, "--output", os.path.join(tmp, "y.npy"),
                       "--threads", str(threads), "--time", str(max(reps, 9))])
            times.append(median_ms(out))
        ref_ms = 1e3 * sorted(ref(xa, wa) for _ in range(3))[1]
        b1, b2 = gb / times[0] * 1e3, gb / times[1] * 1e3
        print("%-30s %8.2f %8.1f %6.0f%% %8.2f %8.1f %6.0f%% %10.2f %7.2f" % (
            name, times[0], b1, 100 * b1 / STREAM_1T, times[1], b2, 100 * b2 / STREAM_2T,
            ref_ms, ref_ms / times[0]))


STEP_LOOP = """
func.func @main(%%u: tensor<1x?x%(d)dxf32>, %%dt: tensor<1x?x%(d)dxf32>, %%A: tensor<%(d)dx%(n)dxf32>,
                %%B: tensor<1x?x%(n)dxf32>, %%C: tensor<1x?x%(n)dxf32>, %%D: tensor<%(d)dxf32>,
                %%z: tensor<1x?x%(d)dxf32>, %%bias: tensor<%(d)dxf32>, %%h0: tensor<1x%(d)dx%(n)dxf32>)
    -> (tensor<1x?x%(d)dxf32>, tensor<1x%(d)dx%(n)dxf32>) {
  %%c1 = arith.constant 1 : index
  %%steps = arith.constant %(steps)d : index
  %%y0 = tensor.empty(%%c1) : tensor<1x?x%(d)dxf32>
  %%r:2 = scf.for %%i = %%c1 to %%steps step %%c1 iter_args(%%y = %%y0, %%h = %%h0)
      -> (tensor<1x?x%(d)dxf32>, tensor<1x%(d)dx%(n)dxf32>) {
    %%y2, %%h2 = ssm.selective_scan token_major %%u, %%dt, %%A, %%B, %%C D(%%D : tensor<%(d)dxf32>)
        z(%%z : tensor<1x?x%(d)dxf32>) delta_bias(%%bias : tensor<%(d)dxf32>) h0(%%h : tensor<1x%(d)dx%(n)dxf32>)
        delta_softplus
        : (tensor<1x?x%(d)dxf32>, tensor<1x?x%(d)dxf32>, tensor<%(d)dx%(n)dxf32>, tensor<1x?x%(n)dxf32>,
           tensor<1x?x%(n)dxf32>) -> tensor<1x?x%(d)dxf32>, tensor<1x%(d)dx%(n)dxf32>
    scf.yield %%y2, %%h2 : tensor<1x?x%(d)dxf32>, tensor<1x%(d)dx%(n)dxf32>
  }
  return %%r#0, %%r#1 : tensor<1x?x%(d)dxf32>, tensor<1x%(d)dx%(n)dxf32>
}
"""


# STEP with A computed in the program from A_log (Mamba-1's -exp(A_log), the
# form ssm-expand-blocks writes): a linalg.generic the scan's fast path
# applies to the vectors it loads (docs/cpu-fast-path.md).
STEP_ALOG = STEP.replace("%%A: tensor<%(d)dx%(n)dxf32>", "%%A_log: tensor<%(d)dx%(n)dxf32>").replace(
    "  %%y, %%h = ssm.selective_scan", """  %%A = linalg.generic {indexing_maps = [affine_map<(c, j) -> (c, j)>, affine_map<(c, j) -> (c, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%%A_log : tensor<%(d)dx%(n)dxf32>) outs(%%A_log : tensor<%(d)dx%(n)dxf32>) {
  ^bb0(%%x: f32, %%o: f32):
    %%e = math.exp %%x : f32
    %%a = arith.negf %%e : f32
    linalg.yield %%a : f32
  } -> tensor<%(d)dx%(n)dxf32>
  %%y, %%h = ssm.selective_scan""", 1)


def decode_step(tools, tmp, reps):
    """The state update of one decoding step (selective_scan, L = 1, from a
    state), in three forms: one call of a static-shaped program through
    ssm-run (the runner's call and the copies of the results included); a
    program whose loop runs `steps` steps with the dynamic length of the
    model's program, the state carried from step to step (per step: the
    compiled step, its two result buffers); the same loop on the reference
    lowering. PyTorch's one-thread state update (mamba_ssm's
    selective_state_update in torch ops) on the same arrays, same run."""
    d, n, steps = 1536, 16, 1000
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((1, 1, d)), rng.uniform(-4, 1, (1, 1, d)),
              -np.exp(rng.uniform(-2, 1.5, (d, n))), rng.standard_normal((1, 1, n)),
              rng.standard_normal((1, 1, n)), rng.standard_normal(d),
              rng.standard_normal((1, 1, d)), rng.uniform(-1, 0.5, d),
              rng.standard_normal((1, d, n))]
    arrays = [a.astype(np.float32) for a in arrays]
    args = []
    for i, a in enumerate(arrays):
        p = os.path.join(tmp, "step%d.npy" % i)
        np.save(p, a)
        args += ["--input", p]
    outs = ["--output", os.path.join(tmp, "y.npy"), "--output", os.path.join(tmp, "h.npy")]
    # The same A as its logarithm, for STEP_ALOG.
    alog_path = os.path.join(tmp, "step_alog.npy")
    np.save(alog_path, np.log(-arrays[2].astype(np.float64)).astype(np.float32))
    alog_args = args[:5] + [alog_path] + args[6:]

    def timed(template, extra, calls, per, threads=1, inputs=args):
        src = os.path.join(tmp, "step.mlir")
        with open(src, "w") as f:
            f.write(template % {"d": d, "n": n, "steps": steps + 1})
        out = run([os.path.join(tools, "ssm-run"), src, "-e", "main"] + inputs + outs +
                  ["--threads", str(threads), "--time", str(calls)] + extra)
        return median_ms(out) * 1e3 / per

    call_us = timed(STEP, [], max(reps, 200), 1)
    loop_us = timed(STEP_LOOP, [], max(reps, 21), steps)
    ref_us = timed(STEP_LOOP, ["--reference"], 3, steps)
    torch_us = float("nan")
    try:
        import torch
        torch.set_num_threads(1)
        x, dt, A, B, C, D, z, bias, h = [torch.from_numpy(a) for a in arrays]
        x, dt, z, B, C, h = x.view(d), dt.view(d), z.view(d), B.view(n), C.view(n), h.view(d, n)

        def torch_step(state):
            delta = torch.nn.functional.softplus(dt + bias)
            state = state * torch.exp(delta[:, None] * A) + (delta * x)[:, None] * B[None, :]
            y = (state * C[None, :]).sum(-1) + D * x
            return y * torch.nn.functional.silu(z), state

        times = []
        state = h.clone()
        for _ in range(300):
            t0 = time.perf_counter()
            _, state = torch_step(state)
            times.append(time.perf_counter() - t0)
        torch_us = float(np.median(times[50:])) * 1e6
    except ImportError:
        pass
    print("== decoding scan step (d_inner %d, n %d, one token, one layer, 1 thread), us per step "
          "(target <= 10 us)" % (d, n))
    print("   in a loop of %d steps, dynamic length (the model's form): %.1f us" % (steps, loop_us))
    print("   one ssm-run call of a static program (call and result copies included): %.1f us"
          % call_us)
    print("   reference lowering, same loop: %.1f us (%.0fx ours)" % (ref_us, ref_us / loop_us))
    print("   PyTorch 1T state update (torch ops): %.1f us (%.1fx ours)" % (torch_us,
                                                                         torch_us / loop_us))
    alog_us = [timed(STEP_ALOG, [], max(reps, 200), 1, t, alog_args) for t in (1, 2)]
    print("   one ssm-run call, A = -exp(A_log) computed in the program (Mamba-1's form): "
          "%.1f us on 1 thread, %.1f us on 2" % tuple(alog_us))
    return loop_us


def torch_model(cfg, weights, tokens, decode, threads):
    """The Hugging Face slow path in PyTorch: returns (prefill s, decode s per
    token, generated tokens)."""
    import torch
    torch.set_num_threads(threads)
    W = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in weights.items()}
    emb = W["backbone.embeddings.weight"]
    head = W.get("lm_head.weight", emb)

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + cfg.eps) * w

    def layer(i, h, conv, ssm):
        p = "backbone.layers.%d.mixer." % i
        x = rms(h, W["backbone.layers.%d.norm.weight" % i])
        xz = (x @ W[p + "in_proj.weight"].T).transpose(1, 2)      # (b, 2E, L)
        xs, z = xz[:, :cfg.E], xz[:, cfg.E:]
        L = xs.shape[2]
        full = torch.cat([conv, xs], dim=2)
        w = W[p + "conv1d.weight"][:, 0, :]
        xc = W[p + "conv1d.bias"][None, :, None].expand_as(xs).clone()
        for j in range(cfg.K):
            xc += w[None, :, j, None] * full[:, :, j:j + L]
        conv = full[:, :, -(cfg.K - 1):]
        xs = torch.nn.functional.silu(xc)
        dbc = xs.transpose(1, 2) @ W[p + "x_proj.weight"].T
        dt, B, C = torch.split(dbc, [cfg.R, cfg.N, cfg.N], dim=-1)
        dt = torch.nn.functional.softplus(dt @ W[p + "dt_proj.weight"].T + W[p + "dt_proj.bias"])
        dt = dt.transpose(1, 2)                                      # (b, E, L)
        A = -torch.exp(W[p + "A_log"])
        dA = torch.exp(A[None, :, None, :] * dt[:, :, :, None])      # (b, E, L, N)
        dBu = dt[:, :, :, None] * B[:, None, :, :] * xs[:, :, :, None]
        ys = []
        for t in range(L):
            ssm = dA[:, :, t] * ssm + dBu[:, :, t]
            ys.append(torch.matmul(ssm, C[:, t, :, None])[..., 0])
        y = torch.stack(ys, dim=-1) + xs * W[p + "D"][None, :, None]
        y = y * torch.nn.functional.silu(z)
        return h + y.transpose(1, 2) @ W[p + "out_proj.weight"].T, conv, ssm

    def forward(tok, state):
        h = emb[tok]
        new = []
        for i in range(cfg.layers):
            h, c, s = layer(i, h, *state[i])
            new.append((c, s))
        # The last position's logits, all that greedy decoding reads (as
        # ssm-run model --generate, and transformers' generate with
        # logits_to_keep = 1).
        return rms(h[:, -1:], W["backbone.norm_f.weight"]) @ head.T, new

    with torch.no_grad():
        b = tokens.shape[0]
        state = [(torch.zeros(b, cfg.E, cfg.K - 1), torch.zeros(b, cfg.E, cfg.N))
                 for _ in range(cfg.layers)]
        t0 = time.perf_counter()
        logits, state = forward(torch.from_numpy(tokens), state)
        prefill = time.perf_counter() - t0
        gen = []
        nxt = logits[:, -1].argmax(-1)
        t0 = time.perf_counter()
        for s in range(decode):
            gen.append(int(nxt[0]))
            if s + 1 == decode:
                break
            logits, state = forward(nxt[:, None], state)
            nxt = logits[:, -1].argmax(-1)
        per_token = (time.perf_counter() - t0) / max(decode - 1, 1)
    return prefill, per_token, gen


def target_flags(target):
    """ssm-run's flags for a --targets entry: a target, or a GPU target with
    -all (nvptx-all: every op a kernel can run as a kernel)."""
    if target.endswith("-all") and target != "cpu":
        return ["--target", target[:-4], "--gpu-all-kernels"]
    return ["--target", target]


def model_config(layers, mamba2):
    """Mamba-130m's shape, or Mamba-2-130m's (24 heads of 64 channels,
    d_state 128, one group)."""
    if mamba2:
        return mr.Config(d_model=768, n_layer=layers, vocab=50280, d_state=128, version=2,
                         headdim=64)
    return mr.Config(d_model=768, n_layer=layers, vocab=50280, d_state=16)


def model(tools, tmp, layers, prompt_len, decode, skip_torch, mamba2=False,
          targets=("cpu",), thread_counts=(1, 2)):
    cfg = model_config(layers, mamba2)
    if mamba2:
        # The PyTorch slow path below is Mamba-1's, so none runs.
        skip_torch = True
        print("== model: Mamba-2-130m shape (%d layers, d_model 768, d_inner 1536, d_state 128, "
              "24 heads, vocab 50280), prefill %d tokens, %d decoding steps; no PyTorch "
              "reference (its slow path here is Mamba-1's)" % (layers, prompt_len, decode))
    else:
        print("== model: Mamba-130m shape (%d layers, d_model 768, d_inner 1536, vocab 50280), "
              "prefill %d tokens, %d decoding steps" % (layers, prompt_len, decode))
    rng = np.random.default_rng(2)
    weights = {k: v.astype(np.float32) for k, v in mr.random_weights(cfg, rng).items()}
    ckpt = os.path.join(tmp, "mamba-130m-random")
    mr.write_checkpoint(ckpt, cfg.hf_json(), weights)
    tokens = rng.integers(0, cfg.V, (1, prompt_len))
    tok_path = os.path.join(tmp, "prompt.npy")
    np.save(tok_path, tokens)
    rows = []
    ours = {}
    timed = ["/usr/bin/time", "-v"] if os.path.exists("/usr/bin/time") else []
    for target in targets:
        for threads in thread_counts:
            out = run(timed + [os.path.join(tools, "ssm-run"), "model",
                               "--checkpoint", ckpt, "--tokens-npy", tok_path, "--generate",
                               str(decode), "--time", "3", "--threads", str(threads)]
                      + target_flags(target))
            pre = float(re.search(r"prefill: .* in ([0-9.]+) ms", out).group(1))
            dec = float(re.search(r"decode: .* in ([0-9.]+) ms", out).group(1)) / (decode - 1)
            gen = [int(t) for t in re.search(r"generated=([0-9,]+)", out).group(1).split(",")]
            ours[(target, threads)] = (pre, dec, gen)
            name = "ssm-run" if target == "cpu" else " ".join(["ssm-run"] + target_flags(target))
            rows.append((name, threads, pre, prompt_len / pre * 1e3, dec, peak_mb(out)))
    # Every target greedily decodes the same tokens (fp32 within 1e-5 of
    # float64; a near-tie could differ, which this would show).
    first = ours[(targets[0], thread_counts[0])][2]
    for key, (_, _, gen) in ours.items():
        if gen != first:
            print("   %s, %d threads: generated %s, %s/%d threads generated %s" % (
                key[0], key[1], gen, targets[0], thread_counts[0], first))
    torch_times = {}
    if not skip_torch:
        try:
            import torch  # noqa: F401  (only whether it is installed)
        except ImportError:
            print("   PyTorch is not installed (apt-get install python3-torch): reference skipped")
            skip_torch = True
    if not skip_torch:
        for threads in thread_counts:
            pre, dec, gen = torch_model(cfg, weights, tokens, decode, threads)
            torch_times[threads] = (pre * 1e3, dec * 1e3)
            rows.append(("PyTorch slow path", threads, pre * 1e3, prompt_len / pre, dec * 1e3,
                         float("nan")))
            same = sum(a == b for a, b in zip(gen, first))
            print("   PyTorch %dT: %d of %d generated tokens equal ours" % (threads, same, decode))
    print("%-46s %3s %12s %12s %14s %10s" % ("", "T", "prefill ms", "tokens/s", "decode ms/tok",
                                            "peak MB"))
    for name, t, pre, tps, dec, mb in rows:
        print("%-46s %3d %12.1f %12.1f %14.2f %10.0f" % (name, t, pre, tps, dec, mb))
    for threads in thread_counts:
        if threads in torch_times and ("cpu", threads) in ours:
            print("prefill speed-up over PyTorch, %dT: %.1fx; decode: %.1fx" % (
                threads, torch_times[threads][0] / ours[("cpu", threads)][0],
                torch_times[threads][1] / ours[("cpu", threads)][1]))
    for target in targets:
        if (target, 1) in ours and (target, 2) in ours:
            one, two = ours[(target, 1)], ours[(target, 2)]
            print("%s 2T / 1T: prefill %.2fx, decode %.2fx" % (target, one[0] / two[0],
                                                                one[1] / two[1]))
    for target in targets[1:]:
        for threads in thread_counts:
            cpu, other = ours[(targets[0], threads)], ours[(target, threads)]
            print("%s / %s, %dT: prefill %.2fx, decode %.2fx (time ratio, > 1: %s slower)" % (
                target, targets[0], threads, other[0] / cpu[0], other[1] / cpu[1], target))
    t0 = thread_counts[0]
    print("decode per layer (%dT, whole token / layers, LM head included): %.1f us" % (
        t0, ours[(targets[0], t0)][1] * 1e3 / layers))


def weights16(tools, tmp, layers, prompt_len, decode, mamba2, thread_counts, rounds,
              dtype="BF16", modes=("f32", "stored")):
    cfg = model_config(layers, mamba2)
    shape = "Mamba-2-130m" if mamba2 else "Mamba-130m"
    rng = np.random.default_rng(2)
    weights = mr.random_weights(cfg, rng)
    ckpt = os.path.join(tmp, dtype.lower())
    mr.write_checkpoint(ckpt, cfg.hf_json(), weights, dtype=dtype)
    # The bytes one decoding step reads: every layer weight and the head
    # (tied: the embedding, of which the step gathers one row).
    matrices = ("in_proj.weight", "x_proj.weight", "dt_proj.weight", "out_proj.weight")

    def token_bytes(matrix_bytes):
        total = cfg.V * cfg.D * matrix_bytes
        for name, v in weights.items():
            if ".layers." in name:
                total += v.size * (matrix_bytes if name.endswith(matrices) else 4)
        return total
    # int8: a byte per weight and a float32 scale per row.
    rows = cfg.V + sum(v.shape[0] for name, v in weights.items()
                       if ".layers." in name and name.endswith(matrices))
    per_token = {"stored": token_bytes(2), "f32": token_bytes(4),
                 "int8": token_bytes(1) + 4 * rows}
    what = {"f32": "widened to float32 when loading (--weights f32)",
            "stored": "kept 16-bit (--weights stored)",
            "int8": "quantized to int8 rows with row scales (--weights int8)"}
    print("== weights16: %s shape (%d layers), %s checkpoint, matrices %s; %d decoding "
          "steps after a 3-token prompt, then a %d-token prefill (median of 3 after a "
          "first call); %d rounds alternating" % (
              shape, layers, dtype, "; or ".join(
                  "%s, %.0f MB read per token" % (what[m], per_token[m] / 1e6) for m in modes),
              decode, prompt_len, rounds))
    tok_path = os.path.join(tmp, "prompt16.npy")
    np.save(tok_path, rng.integers(0, cfg.V, (1, prompt_len)))
    exe = os.path.join(tools, "ssm-run")
    timed = ["/usr/bin/time", "-v"] if os.path.exists("/usr/bin/time") else []
    dec = {}
    pre = {}
    peak = {}
    gens = {}
    for threads in thread_counts:
        for r in range(rounds):
            for mode in modes[::-1] if r % 2 else modes:
                out = run(timed + [exe, "model", "--checkpoint", ckpt, "--tokens", "1,2,3",
                                   "--generate", str(decode), "--threads", str(threads),
                                   "--weights", mode])
                ms = float(re.search(r"decode: .* in ([0-9.]+) ms", out).group(1)) / (decode - 1)
                dec.setdefault((mode, threads), []).append(ms)
                gens[(mode, threads)] = re.search(r"generated=([0-9,]+)", out).group(1)
                out = run(timed + [exe, "model", "--checkpoint", ckpt, "--tokens-npy", tok_path,
                                   "--generate", "2", "--time", "3", "--threads", str(threads),
                                   "--weights", mode])
                pre.setdefault((mode, threads), []).append(
                    float(re.search(r"prefill: .* in ([0-9.]+) ms", out).group(1)))
                peak[(mode, threads)] = peak_mb(out)
    print("%-8s %3s %-34s %10s %8s %10s %12s %8s" % (
        "weights", "T", "decode ms/token (rounds)", "median", "GB/s", "of STREAM",
        "prefill ms", "peak MB"))
    for threads in thread_counts:
        stream = STREAM_1T if threads == 1 else STREAM_2T
        for mode in modes:
            d = dec[(mode, threads)]
            med = float(np.median(d))
            rate = per_token[mode] / med / 1e6
            print("%-8s %3d %-34s %10.2f %8.1f %9.0f%% %12.1f %8.0f" % (
                mode, threads, ", ".join("%.2f" % x for x in d), med, rate,
                100 * rate / stream, float(np.median(pre[(mode, threads)])),
                peak[(mode, threads)]))
        base = modes[0]
        for mode in modes[1:]:
            b, m = dec[(base, threads)], dec[(mode, threads)]
            same = sum(x == y for x, y in zip(gens[(base, threads)].split(","),
                                              gens[(mode, threads)].split(",")))
            print("   %dT: decoding %.2fx faster with %s than %s (medians; bytes ratio %.2fx); "
                  "prefill %.2fx; generated tokens equal to %s's: %d of %d" % (
                      threads, np.median(b) / np.median(m), mode, base,
                      per_token[base] / per_token[mode],
                      np.median(pre[(base, threads)]) / np.median(pre[(mode, threads)]), base,
                      same, decode))
    if "int8" in modes:
        # What quantization does to the logits (random weights: not a
        # trained model's accuracy): a 64-token prompt's logits with int8
        # matrices against the stored ones.
        logits = {}
        prompt64 = ",".join(map(str, rng.integers(0, cfg.V, 64)))
        for mode in ("stored", "int8"):
            out_path = os.path.join(tmp, "logits-%s.npy" % mode)
            run([exe, "model", "--checkpoint", ckpt, "--tokens", prompt64, "--logits",
                 out_path, "--weights", mode])
            logits[mode] = np.load(out_path).astype(np.float64)
        a, b = logits["int8"], logits["stored"]
        print("   int8 against stored logits, 64-token prompt: normwise rel. err %.2e, "
              "top-1 equal at %d of 64 positions" % (
                  np.linalg.norm(a - b) / np.linalg.norm(b),
                  int(np.sum(a.argmax(-1) == b.argmax(-1)))))


def batch(tools, tmp, layers, thread_counts, dtype="BF16", steps=16,
          sizes=(1, 2, 4, 8, 16, 32, 64)):
    cfg = model_config(layers, False)
    rng = np.random.default_rng(2)
    ckpt = os.path.join(tmp, "batch-" + dtype.lower())
    mr.write_checkpoint(ckpt, cfg.hf_json(), mr.random_weights(cfg, rng), dtype=dtype)
    exe = os.path.join(tools, "ssm-run")
    m = re.search(r"--packed-from-rows N.*?\(default: (\d+) with float32 weights,\s+(\d+)\s+"
                  r"with\s+16-bit\s+ones,\s+(\d+)\s+with\s+int8", run([exe, "--help"]), re.S)
    default = {"f32": int(m.group(1)), "stored": int(m.group(2)), "int8": int(m.group(3))}
    print("== batch: Mamba-130m shape (%d layers), %s checkpoint; B sequences of 3 prompt "
          "tokens, %d decoding steps together; tokens/s with the projections' decoding "
          "kernel (dots) and the packed prefill kernel (packed); the default picks packed "
          "from %d rows with float32 weights, %d with 16-bit ones, %d with int8 ones" % (
              layers, dtype, steps, default["f32"], default["stored"], default["int8"]))
    print("%-8s %3s %5s %12s %12s %9s %10s" % ("weights", "T", "B", "dots tok/s", "packed tok/s",
                                                "packed/dots", "default"))
    for mode in ("stored", "f32", "int8"):
        for threads in thread_counts:
            for b in sizes:
                tok = os.path.join(tmp, "batch%d.npy" % b)
                np.save(tok, rng.integers(0, cfg.V, (b, 3)))
                rate = {}
                gen = {}
                for kernel, rows in (("dots", max(sizes) + 1), ("packed", 1)):
                    out = run([exe, "model", "--checkpoint", ckpt, "--tokens-npy", tok,
                               "--generate", str(steps + 1), "--threads", str(threads),
                               "--weights", mode, "--packed-from-rows", str(rows)])
                    ms = float(re.search(r"decode: .* in ([0-9.]+) ms", out).group(1))
                    rate[kernel] = b * steps / ms * 1e3
                    gen[kernel] = re.findall(r"generated=([0-9,]+)", out)
                if gen["dots"] != gen["packed"]:
                    print("   B=%d: the two kernels generated different tokens" % b)
                print("%-8s %3d %5d %12.1f %12.1f %9.2f %10s" % (
                    mode, threads, b, rate["dots"], rate["packed"],
                    rate["packed"] / rate["dots"], "packed" if b >= default[mode] else "dots"))


def sampling(tools, tmp, layers, threads, rounds, steps=128):
    cfg = model_config(layers, False)
    ckpt = os.path.join(tmp, "sampling-bf16")
    mr.write_checkpoint(ckpt, cfg.hf_json(), mr.random_weights(cfg, np.random.default_rng(2)),
                        dtype="BF16")
    modes = [("greedy", []), ("temperature 1", ["--temperature", "1"]),
             ("top-k 50", ["--temperature", "1", "--top-k", "50"]),
             ("top-p 0.9", ["--temperature", "1", "--top-p", "0.9"])]
    print("== sampling: Mamba-130m shape (%d layers), BF16 checkpoint, one sequence, %d "
          "decoding steps, %d thread(s); ms per token, %d rounds alternating" % (
              layers, steps, threads, rounds))
    ms = {}
    for r in range(rounds):
        for name, extra in (modes if r % 2 == 0 else modes[::-1]):
            out = run([os.path.join(tools, "ssm-run"), "model", "--checkpoint", ckpt,
                       "--tokens", "1,2,3", "--generate", str(steps + 1), "--threads",
                       str(threads)] + extra + (["--seed", "1"] if extra else []))
            ms.setdefault(name, []).append(
                float(re.search(r"decode: .* in ([0-9.]+) ms", out).group(1)) / steps)
    greedy = float(np.median(ms["greedy"]))
    for name, _ in modes:
        med = float(np.median(ms[name]))
        print("%-14s %-30s median %6.2f ms/token (%+.2f ms against greedy)" % (
            name, ", ".join("%.2f" % x for x in ms[name]), med, med - greedy))


def prompts(tools, tmp, layers, threads, reps, b=8, lengths=(4, 16, 64, 256)):
    cfg = model_config(layers, False)
    ckpt = os.path.join(tmp, "prompts-bf16")
    rng = np.random.default_rng(3)
    mr.write_checkpoint(ckpt, cfg.hf_json(), mr.random_weights(cfg, rng), dtype="BF16")
    print("== prompts: Mamba-130m shape (%d layers), BF16 checkpoint, %d prompts, %d "
          "thread(s): prefill tokens/s (median of %d after a first call) of one length L "
          "(one call) and of lengths L and L + 1 alternating (a call per prompt)" % (
              layers, b, threads, reps))
    print("%5s %14s %14s %12s %18s %18s" % ("L", "one call", "per prompt", "one/per",
                                             "compile+1st (one)", "compile+1st (per)"))
    for n in lengths:
        rates, compile_ms = {}, {}
        for kind, lens in (("one", [n] * b), ("per", [n + (i % 2) for i in range(b)])):
            args = [os.path.join(tools, "ssm-run"), "model", "--checkpoint", ckpt,
                    "--threads", str(threads), "--time", str(reps)]
            for k in lens:
                args += ["--tokens", ",".join(map(str, rng.integers(0, cfg.V, k)))]
            out = run(args)
            m = re.search(r"prefill: .* in [0-9.]+ ms \(([0-9.]+) tokens/s; .*compile and first "
                          r"call ([0-9]+) ms", out)
            rates[kind], compile_ms[kind] = float(m.group(1)), float(m.group(2))
        print("%5d %14.1f %14.1f %12.2f %18.0f %18.0f" % (
            n, rates["one"], rates["per"], rates["one"] / rates["per"], compile_ms["one"],
            compile_ms["per"]))


def main():
    sys.stdout.reconfigure(line_buffering=True)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tools", default="build/bin")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--prompt", type=int, default=2048)
    ap.add_argument("--decode", type=int, default=128)
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    ap.add_argument("--mamba2", action="store_true",
                    help="the model part runs Mamba-2-130m's shape (no PyTorch reference)")
    ap.add_argument("--parts", default="projections,step,model",
                    help="comma-separated parts to run (projections, step, model, weights16, int8, batch, "
                         "sampling, prompts)")
    ap.add_argument("--long-rows", action="store_true",
                    help="projections: also K = 2560, 5120 and 8192 (docs/projections.md)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="weights16, int8 and sampling: rounds alternating the modes")
    ap.add_argument("--dtype", default="BF16", choices=("BF16", "F16"),
                    help="weights16, int8 and batch: the checkpoint's dtype")
    ap.add_argument("--targets", default="cpu",
                    help="the model part's ssm-run targets, e.g. cpu,nvptx,nvptx-all on a GPU "
                         "machine (-all: --gpu-all-kernels) "
                         "(the first is the one the others are compared with)")
    ap.add_argument("--threads", default="1,2",
                    help="the model part's thread counts, comma-separated")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    unknown = parts - {"projections", "step", "model", "weights16", "int8", "batch",
                       "sampling", "prompts"}
    if unknown:
        ap.error("unknown --parts %s (expected projections, step, model, weights16, int8, "
                 "batch, sampling, prompts)" %
                 ",".join(sorted(unknown)))
    with tempfile.TemporaryDirectory(prefix="bench-mamba-") as tmp:
        if "projections" in parts:
            projections(args.tools, tmp, args.prompt, args.reps, args.long_rows)
        if "step" in parts:
            decode_step(args.tools, tmp, args.reps)
        if "model" in parts:
            model(args.tools, tmp, args.layers, args.prompt, args.decode, args.no_torch,
                  args.mamba2, tuple(args.targets.split(",")),
                  tuple(int(t) for t in args.threads.split(",")))
        if "weights16" in parts:
            weights16(args.tools, tmp, args.layers, args.prompt, args.decode, args.mamba2,
                      tuple(int(t) for t in args.threads.split(",")), args.rounds, args.dtype)
        if "int8" in parts:
            weights16(args.tools, tmp, args.layers, args.prompt, args.decode, args.mamba2,
                      tuple(int(t) for t in args.threads.split(",")), args.rounds, args.dtype,
                      modes=("f32", "stored", "int8"))
        if "batch" in parts:
            batch(args.tools, tmp, args.layers, tuple(int(t) for t in args.threads.split(",")),
                  args.dtype)
        if "sampling" in parts:
            sampling(args.tools, tmp, args.layers, int(args.threads.split(",")[0]), args.rounds)
        if "prompts" in parts:
            prompts(args.tools, tmp, args.layers, int(args.threads.split(",")[0]), args.reps)


if __name__ == "__main__":
    main()
