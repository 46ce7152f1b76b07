# RUN: %python %s
#
# `ssm-run scan` (mamba_ssm's argument shapes and layout) on seeded random
# cases against the float64 reference: every B/C form, every optional operand
# and flag, awkward shapes (L = 1, odd d, n in {1, 3, 16}, L = 4096).
import numpy as np

import ssm_reference as ref
from ssm_testing import GPU_LOWERINGS, SCAN_LOWERINGS, Suite, scan_inputs

suite = Suite("selective-scan-cli")
rng = np.random.default_rng(20261122)

OPTION_FILES = [("D", "--D"), ("z", "--z"), ("delta_bias", "--delta-bias"), ("h0", "--h0")]


def case(name, b, d, L, n, last=True, softplus=False, **kw):
    x = scan_inputs(rng, b, d, L, n, softplus=softplus, **kw)
    paths = suite.save(name, x)
    args = ["scan", "--u", paths["u"], "--delta", paths["delta"], "--A", paths["A"],
            "--B", paths["B"], "--C", paths["C"], "--out", suite.path(name + "_y.npy")]
    for key, flag in OPTION_FILES:
        if key in x:
            args += [flag, paths[key]]
    if softplus:
        args.append("--delta-softplus")
    if last:
        args += ["--last-state", suite.path(name + "_h.npy")]
    y_ref, h_ref = ref.selective_scan(
        x["u"], x["delta"], x["A"], x["B"], x["C"], D=x.get("D"), z=x.get("z"),
        delta_bias=x.get("delta_bias"), delta_softplus=softplus, h0=x.get("h0"))
    for lowering, extra in SCAN_LOWERINGS + GPU_LOWERINGS:
        label = "%s [%s]" % (name, lowering)
        if not suite.run(args + extra, label):
            continue
        suite.compare(label, "y", np.load(suite.path(name + "_y.npy")), y_ref)
        if last:
            suite.compare(label, "last_state", np.load(suite.path(name + "_h.npy")), h_ref)


# Every combination of the three B/C forms, all options on (grouped B and C
# with different group counts, 3 and 2 of d = 6).
for bform in ("inv", "var", "grp"):
    for cform in ("inv", "var", "grp"):
        case("forms_B%s_C%s" % (bform, cform), 2, 6, 37, 3, bform=bform, cform=cform,
             bgroups=3, cgroups=2, D=True, z=True, bias=True, softplus=True, h0=True)
case("groups_1", 1, 5, 20, 4, bform="grp", cform="grp", bgroups=1, cgroups=1, D=True)
case("groups_eq_d", 1, 4, 20, 2, bform="grp", cform="grp", bgroups=4, cgroups=4, z=True)

# Each option on its own, then none at all.
case("plain", 2, 6, 33, 3, last=False)
case("only_D", 2, 6, 33, 3, D=True)
case("only_z", 2, 6, 33, 3, z=True)
case("only_bias", 2, 6, 33, 3, bias=True)
case("only_softplus", 2, 6, 33, 3, softplus=True)
case("bias_softplus", 2, 6, 33, 3, bias=True, softplus=True)
case("only_h0", 2, 6, 33, 3, h0=True)
case("h0_no_last", 2, 6, 33, 3, h0=True, last=False)
case("float64_inputs", 2, 6, 33, 3, D=True, z=True, softplus=True, dtype=np.float64)

# Awkward shapes.
case("L1", 2, 5, 1, 3, D=True, z=True, softplus=True, h0=True)
case("L1_n1_d1", 1, 1, 1, 1, softplus=True)
case("odd_d7_n1", 3, 7, 19, 1, bform="inv", cform="var", D=True, softplus=True)
case("n16", 1, 9, 65, 16, D=True, z=True, bias=True, softplus=True, h0=True)
case("n3_long", 1, 3, 513, 3, softplus=True)
# Full vector tiles plus a channel tail, whole time chunks plus a time tail;
# exact multiples of both.
case("tiles_and_tails", 2, 35, 50, 4, D=True, z=True, bias=True, softplus=True, h0=True)
case("exact_tiles", 1, 32, 64, 16, bform="grp", cform="var", bgroups=2, D=True, softplus=True)
case("groups_split_tile", 1, 24, 40, 2, bform="grp", cform="grp", bgroups=3, cgroups=2, z=True)
# Groups that split the fast path's tiles: a tile's lanes read up to four
# groups as broadcasts blended by lane (8 and 10 channels per group: two
# or three per 16-lane tile), more groups (3 or 1 channel per group)
# through a per-lane gather; the last tile partial. (A dynamic group count:
# selective-scan-token-major.py.)
case("groups_split_long", 1, 40, 4096, 16, bform="grp", cform="grp", bgroups=5, cgroups=4,
     D=True, z=True, bias=True, softplus=True, h0=True)
case("groups_split_gather", 2, 36, 100, 4, bform="grp", cform="grp", bgroups=12, cgroups=36,
     D=True, z=True, softplus=True, h0=True)
case("groups_split_step", 2, 24, 1, 16, bform="grp", cform="grp", bgroups=3, cgroups=2,
     D=True, z=True, bias=True, softplus=True, h0=True)
case("groups_split_step_n5", 2, 36, 1, 5, bform="grp", cform="grp", bgroups=3, cgroups=12,
     D=True, z=True, softplus=True, h0=True)
case("groups_split_n100", 1, 40, 50, 100, bform="grp", cform="grp", bgroups=5, cgroups=4,
     D=True, z=True, softplus=True, h0=True)
# Time chunks of 4 blocks of 16 steps (AVX-512; 4 of 8 on AVX2): a second
# chunk with 3 blocks, the last one partial (L = 100); two whole chunks
# (128); a last chunk of one step short of whole (127).
case("chunk_tail_blocks", 2, 35, 100, 16, D=True, z=True, bias=True, softplus=True, h0=True)
case("two_chunks", 1, 17, 128, 4, bform="grp", cform="var", bgroups=1, D=True, z=True)
case("chunk_short_by_one", 1, 16, 127, 3, D=True, softplus=True, h0=True)

# Decoding steps (L = 1) take their own path on the fast lowering: with n a
# multiple of the vector width the states lie in the lanes (n = 16, 32, 48
# on AVX-512; also n = 8 on AVX2), otherwise the channels do (n = 8 on
# AVX-512, n = 20). Channel tails (d = 35, 19), several batch rows, every
# B/C form, with and without the incoming and the last state.
for bform, cform in (("var", "var"), ("inv", "inv"), ("grp", "var"), ("var", "grp")):
    case("step_n16_B%s_C%s" % (bform, cform), 3, 32, 1, 16, bform=bform, cform=cform,
         bgroups=2, cgroups=2, D=True, z=True, bias=True, softplus=True, h0=True)
case("step_n16_tail", 2, 35, 1, 16, D=True, z=True, bias=True, softplus=True, h0=True)
case("step_n32_inv_B", 1, 19, 1, 32, bform="inv", D=True, softplus=True, h0=True)
case("step_n48_no_h0", 2, 21, 1, 48, z=True, softplus=True)
case("step_n16_no_last", 1, 17, 1, 16, h0=True, last=False, z=True)
case("step_n8", 2, 13, 1, 8, bform="inv", cform="var", D=True, z=True, softplus=True, h0=True)
case("step_n20", 1, 35, 1, 20, D=True, z=True, bias=True, softplus=True, h0=True)
case("step_plain", 1, 16, 1, 16)

# More states than registers hold: the fast path splits them into groups of
# at most 64 (StateGroups.cpp) and sums the partial outputs before D and z.
case("n65_two_groups", 2, 19, 33, 65, D=True, z=True, bias=True, softplus=True, h0=True)
case("n200_grouped_bc", 1, 16, 20, 200, bform="grp", cform="inv", bgroups=2, D=True,
     z=True, softplus=True)
case("n129_no_last", 1, 5, 7, 129, last=False, z=True)
case("L4096", 1, 3, 4096, 16, D=True, z=True, bias=True, softplus=True, h0=True)
case("L4096_no_softplus", 2, 2, 4096, 1, bform="inv", cform="inv")

suite.finish()
