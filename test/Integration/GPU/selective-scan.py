# REQUIRES: cuda-gpu
# RUN: %python %s
# RUN: %python %s nvptx --gpu-states 2
# RUN: %python %s nvptx --gpu-prefetch --gpu-states 2 --gpu-items 8
# RUN: %python %s nvptx --gpu-scan channels
# RUN: %python %s nvptx --gpu-scan channels --gpu-channel-threads 2
#
# (selective-scan-emulator.test runs the same cases on the GPU emulator,
# `%python selective-scan.py gpu-emulator`, on any machine.)
#
# The GPU kernels against the float64 references, on shapes chosen for the
# kernel's structure (a block per channel and batch row, up to 4 warps of 32
# threads x 16 consecutive steps = 2048-step chunks, the state carried from
# chunk to chunk): partial and full warps, one to five chunks with the
# parity of the shared buffers wrapping, L = 1, n from 1 to 128, odd d,
# slow decays that carry the state across every chunk, both layouts; then
# the conv on long sequences. The CPU integration tests also run their
# scan and conv cases with --target nvptx here (GPU_LOWERINGS).
import sys

import numpy as np

import ssm_reference as ref
from ssm_testing import (Suite, conv_inputs, run_file, scan_inputs, selective_program,
                          tensor_type, to_token_major)

# selective-scan.py [TARGET [ssm-run flags, e.g. --gpu-states 2]]
TARGET = sys.argv[1] if len(sys.argv) > 1 else "nvptx"
suite = Suite(" ".join(["gpu-selective-scan-" + TARGET] + sys.argv[2:]))
rng = np.random.default_rng(20261123)
NVPTX = ["--target", TARGET] + sys.argv[2:]


def scan_case(name, b, d, L, n, tm=False, slow=False, **kw):
    x = scan_inputs(rng, b, d, L, n, softplus=True, D=True, z=True, bias=True, h0=True, **kw)
    if slow:  # |A| small: exp(dt * A) near 1, the state lives across chunks
        x["A"] = (-rng.uniform(1e-4, 1e-2, x["A"].shape)).astype(np.float32)
    y_ref, h_ref = ref.selective_scan(
        x["u"], x["delta"], x["A"], x["B"], x["C"], D=x["D"], z=x["z"],
        delta_bias=x["delta_bias"], delta_softplus=True, h0=x["h0"])
    names = ["u", "delta", "A", "B", "C", "D", "z", "delta_bias", "h0"]
    vals = {k: (to_token_major(k, x[k]) if tm else x[k]) for k in names}
    program = selective_program(vals, names, tm, tensor_type(h_ref.shape))
    outs = run_file(suite, name, program, "main", [vals[k] for k in names], 2, NVPTX)
    if outs is None:
        return
    y = outs[0].transpose(0, 2, 1) if tm else outs[0]
    suite.compare(name, "y", y, y_ref)
    suite.compare(name, "last_state", outs[1], h_ref)


scan_case("L1", 2, 5, 1, 16)
scan_case("L31_one_partial_warp", 1, 3, 31, 4)
scan_case("L512_one_full_warp", 1, 3, 512, 4)
scan_case("L513_two_warps", 2, 3, 513, 4)
scan_case("L2048_one_chunk", 1, 4, 2048, 16)
scan_case("L2049_two_chunks", 1, 4, 2049, 16, slow=True)
scan_case("L6151_four_chunks", 2, 3, 3 * 2048 + 7, 8, slow=True)
scan_case("L10240_five_chunks_n1", 1, 7, 5 * 2048, 1, slow=True)
scan_case("n128_grouped", 2, 8, 700, 128, bform="grp", cform="grp", bgroups=2, cgroups=4)
scan_case("time_invariant", 1, 9, 3000, 16, bform="inv", cform="inv", slow=True)
scan_case("token_major_long", 2, 33, 4100, 16, tm=True, slow=True)
scan_case("token_major_grouped", 1, 12, 300, 16, tm=True, bform="grp", cform="var", bgroups=3)
# For --gpu-scan channels (a thread per channel, blocks of channels, tiles
# of steps; the chunks kernel runs them too): more channels than a block
# with a partial last block, n = 3 (no vector reads of the tile) and 32 (the
# most), a slow decay over many tiles, token-major with two blocks.
scan_case("channels_d131_n3", 2, 131, 77, 3)
scan_case("channels_n32", 1, 40, 301, 32)
scan_case("channels_slow_L9001", 1, 6, 9001, 16, slow=True)
scan_case("channels_token_major_d200", 2, 200, 130, 8, tm=True)


def conv_case(name, b, d, L, k, tm):
    x, w, bias, s = conv_inputs(rng, b, d, L, k)
    y_ref, f_ref = ref.causal_conv1d(x, w, bias, True, s)
    xin = np.ascontiguousarray(x.transpose(0, 2, 1)) if tm else x
    xty, sty = tensor_type(xin.shape), tensor_type(s.shape)
    program = """
func.func @main(%%x: %s, %%w: %s, %%b: %s, %%s: %s) -> (%s, %s) {
  %%y, %%f = ssm.causal_conv1d %s %%x, %%w bias(%%b : %s) conv_state(%%s : %s) silu
      : %s, %s -> %s, %s
  return %%y, %%f : %s, %s
}
""" % (xty, tensor_type(w.shape), tensor_type(bias.shape), sty, xty, sty,
       "token_major" if tm else "channel_first", tensor_type(bias.shape), sty,
       xty, tensor_type(w.shape), xty, sty, xty, sty)
    outs = run_file(suite, name, program, "main", [xin, w, bias, s], 2, NVPTX)
    if outs is None:
        return
    y = outs[0].transpose(0, 2, 1) if tm else outs[0]
    suite.compare(name, "out", y, y_ref)
    suite.compare(name, "final_state", outs[1], f_ref)


conv_case("conv_cf_long", 2, 37, 10000, 4, False)
conv_case("conv_tm_long", 2, 300, 2000, 4, True)
conv_case("conv_L2_k4", 3, 5, 2, 4, False)

suite.finish()
