# RUN: %python %s
#
# ssm.selective_scan in token_major layout (u, delta, z, y: (b, L, d); B, C:
# (b, L, n) or (b, L, g, n)) through `ssm-run FILE`, with static and dynamic
# shapes, f32 and f64, against the float64 reference (computed channel-first).
import numpy as np

import ssm_reference as ref
from ssm_testing import (GPU_LOWERINGS, SCAN_LOWERINGS, Suite, run_file, scan_inputs,
                          tensor_type, to_token_major)

suite = Suite("selective-scan-token-major")
rng = np.random.default_rng(7)


def case(name, b, d, L, n, elt="f32", dynamic=False, softplus=True, **kw):
    dtype = np.float64 if elt == "f64" else np.float32
    x = scan_inputs(rng, b, d, L, n, softplus=softplus, dtype=dtype, **kw)
    order = ["u", "delta", "A", "B", "C"] + [k for k in ("D", "z", "delta_bias", "h0") if k in x]
    tm = {k: to_token_major(k, v) for k, v in x.items()}
    ty = {k: tensor_type(tm[k].shape, elt, dynamic and tm[k].ndim >= 3) for k in order}
    yty = tensor_type((b, L, d), elt, dynamic)
    hty = tensor_type((b, d, n), elt, dynamic)
    opt = "".join(" %s(%%%s : %s)" % (k, k, ty[k]) for k in order[5:])
    program = """
func.func @main(%s) -> (%s, %s) {
  %%y, %%h = ssm.selective_scan token_major %%u, %%delta, %%A, %%B, %%C%s%s
      : (%s) -> %s, %s
  return %%y, %%h : %s, %s
}
""" % (", ".join("%%%s: %s" % (k, ty[k]) for k in order), yty, hty, opt,
       " delta_softplus" if softplus else "", ", ".join(ty[k] for k in order[:5]),
       yty, hty, yty, hty)
    y_ref, h_ref = ref.selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"],
                                      D=x.get("D"), z=x.get("z"),
                                      delta_bias=x.get("delta_bias"),
                                      delta_softplus=softplus, h0=x.get("h0"))
    for lowering, extra in SCAN_LOWERINGS + GPU_LOWERINGS:
        label = "%s [%s]" % (name, lowering)
        outs = run_file(suite, label, program, "main", [tm[k] for k in order], 2, extra)
        if outs is None:
            continue
        suite.compare(label, "y", outs[0], y_ref.transpose(0, 2, 1))
        suite.compare(label, "last_state", outs[1], h_ref)


case("tm_var", 2, 6, 29, 3, D=True, z=True)
case("tm_grouped", 2, 6, 29, 4, bform="grp", cform="grp", bgroups=2, cgroups=3, bias=True, h0=True)
case("tm_inv_dynamic", 1, 5, 40, 3, bform="inv", cform="var", dynamic=True, D=True)
case("tm_f64", 2, 3, 17, 2, elt="f64", z=True, h0=True)
case("tm_L1", 3, 7, 1, 16, D=True, z=True, bias=True)
case("tm_tiles_and_tails", 2, 37, 21, 5, bform="grp", cform="grp", bgroups=1, cgroups=37, D=True, z=True)
case("tm_long", 1, 3, 4096, 16, D=True, z=True)
# Tile groups (token_major runs up to 16 channel tiles chunk by chunk, their
# states parked between chunks): 19 tiles make a group of 16 and one of 3,
# the last tile partial; with 2 threads and 5 tiles, groups of 2, 2 and 1.
case("tm_tile_groups", 2, 16 * 18 + 5, 37, 5, D=True, z=True, bias=True, h0=True)
case("tm_tile_groups_threads", 1, 80, 50, 16, D=True, z=True, h0=True)
# A group walking chunks of 4 blocks whose second chunk has 3 (L = 100).
case("tm_chunk_tail_blocks", 2, 16 * 3 + 7, 100, 16, D=True, z=True, bias=True, h0=True)
# More states than one pass of the state loop holds (at most 32 with a
# decay per state): the chunk's state loop runs once per block of states,
# parked in between (n = 100: 4 blocks of 25; 70: 24, 24, 22; 33: 17, 16),
# static and dynamic shapes, several chunks with a partial last one (L =
# 130), partial tiles. Above 256 states StateGroups splits the scan first
# (n = 257: four groups of 52 and one of 49, each run in 2 blocks).
case("tm_n100_blocks", 2, 17, 23, 100, bform="grp", cform="var", bgroups=1, D=True,
     z=True, bias=True, h0=True)
case("tm_n70_dynamic", 1, 9, 31, 70, dynamic=True, D=True, z=True)
case("tm_step_n70_dynamic", 2, 9, 1, 70, dynamic=True, D=True, z=True, h0=True)
case("tm_n33_blocks_chunks", 2, 37, 130, 33, bform="grp", cform="grp", bgroups=1, cgroups=1,
     D=True, z=True, bias=True, h0=True)
case("tm_n257_groups_blocks", 1, 20, 19, 257, D=True, z=True, h0=True)
# Decoding steps with a dynamic length (as in a model, whose program serves
# the prefill and the steps): the fast path branches at run time to its
# one-step code, states in the lanes (n = 16, 32 on AVX-512) or channels in
# the lanes (n = 3), with channel tails (d = 35, 21).
case("tm_step_n16_dynamic", 2, 35, 1, 16, dynamic=True, D=True, z=True, bias=True, h0=True)
case("tm_step_n32_grouped", 1, 32, 1, 32, bform="grp", cform="var", bgroups=2, dynamic=True,
     z=True, h0=True)
case("tm_step_n3_dynamic", 3, 21, 1, 3, bform="inv", dynamic=True, D=True, h0=True)
# Groups that split the tiles (blended broadcasts up to four groups per
# tile, a gather beyond or with a dynamic group count): chunks with tile
# groups and a partial last tile, a dynamic shape, a single step with the
# states in the lanes (B and C rows read per channel) and one with the
# channels in the lanes.
case("tm_groups_split", 2, 40, 150, 16, bform="grp", cform="grp", bgroups=5, cgroups=4,
     D=True, z=True, bias=True, h0=True)
case("tm_groups_split_dynamic", 1, 36, 70, 5, bform="grp", cform="grp", bgroups=12,
     cgroups=4, dynamic=True, D=True, z=True, h0=True)
case("tm_step_n32_groups_split", 2, 36, 1, 32, bform="grp", cform="grp", bgroups=3,
     cgroups=36, D=True, z=True, bias=True, h0=True)
case("tm_step_n3_groups_split", 2, 24, 1, 3, bform="grp", cform="grp", bgroups=3, cgroups=2,
     dynamic=True, D=True, h0=True)
# n = 128 (Mamba-2's): one step runs whole, all states streamed through the
# lanes (no state groups), static or behind the run-time branch on L; the
# branch's other side (L > 1) runs the chunks with the states in blocks.
case("tm_step_n128_whole", 2, 35, 1, 128, bform="grp", cform="grp", bgroups=1, cgroups=1,
     D=True, z=True, bias=True, h0=True)
case("tm_step_n128_dynamic", 1, 40, 1, 128, dynamic=True, D=True, z=True, bias=True, h0=True)
case("tm_n128_dynamic_chunks", 1, 19, 6, 128, dynamic=True, D=True, z=True, h0=True)

def cf_case(name, program, x, y_ref, h_ref):
    """Runs a channel_first program @main(u, delta, A, B, C, D, z, h0) ->
    (y, last state) on every lowering against the float64 results."""
    for lowering, extra in SCAN_LOWERINGS + GPU_LOWERINGS:
        label = "%s [%s]" % (name, lowering)
        outs = run_file(suite, label, program, "main",
                        [x[k] for k in ("u", "delta", "A", "B", "C", "D", "z", "h0")], 2, extra)
        if outs is not None:
            suite.compare(label, "y", outs[0], y_ref)
            suite.compare(label, "last_state", outs[1], h_ref)


# channel_first: the one-step code reads a batch row's channels through a
# unit-stride view, valid when the channel stride is 1. A time slice of a
# longer array (stride 3 here) must take the chunk path and still be right.
x = scan_inputs(rng, 1, 40, 3, 16, bform="var", cform="var", D=True, z=True, h0=True)
program = """
func.func @main(%u: tensor<1x40x3xf32>, %delta: tensor<1x40x3xf32>, %A: tensor<40x16xf32>,
                %B: tensor<1x16x3xf32>, %C: tensor<1x16x3xf32>, %D: tensor<40xf32>,
                %z: tensor<1x40x3xf32>, %h0: tensor<1x40x16xf32>)
    -> (tensor<1x40x1xf32>, tensor<1x40x16xf32>) {
  %us = tensor.extract_slice %u[0, 0, 1] [1, 40, 1] [1, 1, 1] : tensor<1x40x3xf32> to tensor<1x40x1xf32>
  %ds = tensor.extract_slice %delta[0, 0, 1] [1, 40, 1] [1, 1, 1] : tensor<1x40x3xf32> to tensor<1x40x1xf32>
  %bs = tensor.extract_slice %B[0, 0, 1] [1, 16, 1] [1, 1, 1] : tensor<1x16x3xf32> to tensor<1x16x1xf32>
  %cs = tensor.extract_slice %C[0, 0, 1] [1, 16, 1] [1, 1, 1] : tensor<1x16x3xf32> to tensor<1x16x1xf32>
  %zs = tensor.extract_slice %z[0, 0, 1] [1, 40, 1] [1, 1, 1] : tensor<1x40x3xf32> to tensor<1x40x1xf32>
  %y, %h = ssm.selective_scan channel_first %us, %ds, %A, %bs, %cs D(%D : tensor<40xf32>)
      z(%zs : tensor<1x40x1xf32>) h0(%h0 : tensor<1x40x16xf32>) delta_softplus
      : (tensor<1x40x1xf32>, tensor<1x40x1xf32>, tensor<40x16xf32>, tensor<1x16x1xf32>,
         tensor<1x16x1xf32>) -> tensor<1x40x1xf32>, tensor<1x40x16xf32>
  return %y, %h : tensor<1x40x1xf32>, tensor<1x40x16xf32>
}
"""
sl = {k: (v[..., 1:2] if k in ("u", "delta", "z", "B", "C") else v) for k, v in x.items()}
y_ref, h_ref = ref.selective_scan(sl["u"], sl["delta"], sl["A"], sl["B"], sl["C"], D=sl["D"],
                                  z=sl["z"], delta_softplus=True, h0=sl["h0"])
cf_case("cf_step_strided_slice", program, x, y_ref, h_ref)

# channel_first with dynamic shapes and groups that split the tiles: a
# dynamic group count is gathered, from a copy of the rows of the groups
# each tile spans (B: 24 channels per group, C: 3).
x = scan_inputs(rng, 2, 72, 150, 5, bform="grp", cform="grp", bgroups=3, cgroups=24, D=True,
                z=True, h0=True)
dyn3, dyn4 = "tensor<?x?x?xf32>", "tensor<?x?x?x?xf32>"
program = """
func.func @main(%u: T3, %delta: T3, %A: tensor<?x5xf32>, %B: T4, %C: T4, %D: tensor<?xf32>,
                %z: T3, %h0: T3) -> (T3, T3) {
  %y, %h = ssm.selective_scan channel_first %u, %delta, %A, %B, %C D(%D : tensor<?xf32>)
      z(%z : T3) h0(%h0 : T3) delta_softplus
      : (T3, T3, tensor<?x5xf32>, T4, T4) -> T3, T3
  return %y, %h : T3, T3
}
""".replace("T3", dyn3).replace("T4", dyn4)
y_ref, h_ref = ref.selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"], D=x["D"], z=x["z"],
                                  delta_softplus=True, h0=x["h0"])
cf_case("cf_groups_split_dynamic", program, x, y_ref, h_ref)

suite.finish()
