"""ssm_mlir.selective_scan_fn against the float64 reference (semantics.md
section 1; tolerance 1e-5 normwise relative, docs/testing.md), its
argument handling, errors and caching."""
import numpy as np
import pytest

import ssm_mlir
from ssm_reference import max_rel_err, selective_scan
from ssm_testing import TOL, scan_inputs

# (b, d, L, n, B form, C form, groups, options): awkward shapes on purpose:
# L = 1, one channel, odd channel counts and sizes that are not multiples
# of the vector width, n > 64 (state groups), long sequences.
CASES = [
    (1, 1, 1, 1, "var", "var", 1, {}),
    (2, 5, 33, 7, "var", "var", 1,
     dict(D=True, z=True, bias=True, softplus=True, h0=True)),
    (1, 17, 100, 16, "inv", "inv", 1, dict(D=True)),
    (3, 12, 40, 4, "grp", "grp", 3, dict(z=True, softplus=True, bias=True)),
    (2, 16, 64, 5, "inv", "var", 1, dict(h0=True)),
    (1, 3, 257, 65, "var", "var", 1, dict(D=True, z=True)),
    (1, 24, 3000, 16, "var", "var", 1,
     dict(D=True, z=True, bias=True, softplus=True)),
]


def as_kwargs(x):
    return {k: x[k] for k in ("D", "z", "delta_bias", "h0") if k in x}


@pytest.mark.parametrize("case", CASES, ids=lambda c: "b%d-d%d-L%d-n%d-%s%s" % c[:6])
@pytest.mark.parametrize("last", [False, True], ids=["y", "y+state"])
def test_matches_float64(rng, case, last):
    b, d, L, n, bform, cform, groups, opts = case
    x = scan_inputs(rng, b, d, L, n, bform, cform, groups, groups, **opts)
    softplus = opts.get("softplus", False)
    got = ssm_mlir.selective_scan_fn(
        x["u"], x["delta"], x["A"], x["B"], x["C"], delta_softplus=softplus,
        return_last_state=last, **as_kwargs(x))
    ry, rlast = selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"],
                               delta_softplus=softplus, **as_kwargs(x))
    y = got[0] if last else got
    assert y.dtype == np.float32 and y.shape == (b, d, L)
    assert max_rel_err(y, ry) <= TOL
    if last:
        assert got[1].shape == (b, d, n)
        assert max_rel_err(got[1], rlast) <= TOL


@pytest.mark.parametrize("threads", [1, 2])
def test_threads(rng, threads):
    x = scan_inputs(rng, 2, 40, 129, 16, D=True, z=True, softplus=True)
    y = ssm_mlir.selective_scan_fn(x["u"], x["delta"], x["A"], x["B"], x["C"],
                                   x["D"], x["z"], delta_softplus=True,
                                   threads=threads)
    ry, _ = selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"], x["D"],
                           x["z"], delta_softplus=True)
    assert max_rel_err(y, ry) <= TOL


def test_other_float_dtypes_and_layouts_are_converted(rng):
    x = scan_inputs(rng, 2, 6, 20, 3, D=True, dtype=np.float64)
    ry, _ = selective_scan(x["u"], x["delta"], x["A"], x["B"], x["C"], x["D"])
    # float64, a Fortran-ordered copy, a strided view and big-endian values.
    u_f = np.asfortranarray(x["u"])
    wide = np.zeros((2, 6, 40))
    wide[:, :, ::2] = x["delta"]
    y = ssm_mlir.selective_scan_fn(u_f, wide[:, :, ::2], x["A"].astype(">f8"),
                                   x["B"], x["C"], x["D"])
    assert y.dtype == np.float32
    assert max_rel_err(y, ry) <= TOL
    # float16 inputs are computed in float32 from their float16 values.
    h = {k: v.astype(np.float16) for k, v in x.items()}
    yh = ssm_mlir.selective_scan_fn(h["u"], h["delta"], h["A"], h["B"],
                                    h["C"], h["D"])
    rh, _ = selective_scan(h["u"], h["delta"], h["A"], h["B"], h["C"], h["D"])
    assert max_rel_err(yh, rh) <= TOL


def test_inputs_are_not_modified(rng):
    x = scan_inputs(rng, 1, 8, 16, 4, D=True, z=True, h0=True)
    before = {k: v.copy() for k, v in x.items()}
    ssm_mlir.selective_scan_fn(x["u"], x["delta"], x["A"], x["B"], x["C"],
                               x["D"], x["z"], h0=x["h0"],
                               return_last_state=True)
    for k in x:
        np.testing.assert_array_equal(x[k], before[k])


def test_compiled_once_per_shape_and_options(rng):
    ssm_mlir.clear_cache()
    x = scan_inputs(rng, 1, 8, 16, 4)
    args = (x["u"], x["delta"], x["A"], x["B"], x["C"])
    first = ssm_mlir.selective_scan_fn(*args)
    second = ssm_mlir.selective_scan_fn(*args)
    np.testing.assert_array_equal(first, second)
    assert ssm_mlir.cache_info()[:3] == (1, 1, 1)
    # Another length, another flag or other threads compile anew.
    ssm_mlir.selective_scan_fn(*(a[..., :8] if a.ndim == 3 else a for a in args))
    ssm_mlir.selective_scan_fn(*args, delta_softplus=True)
    ssm_mlir.selective_scan_fn(*args, threads=1)
    assert ssm_mlir.cache_info().misses == 4


def test_contract_violations_name_the_operand(rng):
    x = scan_inputs(rng, 2, 8, 16, 4)
    with pytest.raises(ValueError, match=r"selective_scan_fn: .*operand 'B'"):
        ssm_mlir.selective_scan_fn(x["u"], x["delta"], x["A"],
                                   x["B"][:, :3], x["C"])
    with pytest.raises(ValueError, match=r"operand 'delta'"):
        ssm_mlir.selective_scan_fn(x["u"], x["delta"][:, :, :5], x["A"],
                                   x["B"], x["C"])
    with pytest.raises(ValueError, match=r"'D'"):
        ssm_mlir.selective_scan_fn(x["u"], x["delta"], x["A"], x["B"],
                                   x["C"], D=np.ones(7))
    with pytest.raises(ValueError, match=r"'u'"):
        ssm_mlir.selective_scan_fn(x["u"][0], x["delta"], x["A"], x["B"],
                                   x["C"])
    with pytest.raises(ValueError, match=r"'u' must be a rank-3 .* got 'tensor<f32>'"):
        ssm_mlir.selective_scan_fn(np.float32(1), x["delta"], x["A"], x["B"],
                                   x["C"])


def test_dtype_and_target_errors(rng):
    x = scan_inputs(rng, 1, 4, 8, 2)
    with pytest.raises(TypeError, match="selective_scan_fn: A is complex"):
        ssm_mlir.selective_scan_fn(x["u"], x["delta"], x["A"] + 1j, x["B"],
                                   x["C"])
    with pytest.raises(TypeError, match="u must be a floating-point array"):
        ssm_mlir.selective_scan_fn(np.ones((1, 4, 8), np.int64), x["delta"],
                                   x["A"], x["B"], x["C"])
    # A required operand given as None (it reached pybind11's own message).
    with pytest.raises(TypeError, match="selective_scan_fn: C is required, got None"):
        ssm_mlir.selective_scan_fn(x["u"], x["delta"], x["A"], x["B"], None)
    with pytest.raises(ValueError, match="target must be one of"):
        ssm_mlir.selective_scan_fn(*(x[k] for k in "u delta A B C".split()),
                                   target="tpu")
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        ssm_mlir.selective_scan_fn(*(x[k] for k in "u delta A B C".split()),
                                   threads=0)


def test_nvptx_matches_float64_when_there_is_a_gpu(rng):
    x = scan_inputs(rng, 2, 5, 3000, 16, D=True, z=True, bias=True,
                    softplus=True, h0=True)
    args = [x[k] for k in "u delta A B C".split()]
    kw = dict(D=x["D"], z=x["z"], delta_bias=x["delta_bias"], h0=x["h0"],
              delta_softplus=True, return_last_state=True)
    try:
        y, h = ssm_mlir.selective_scan_fn(*args, target="nvptx", **kw)
    except ssm_mlir.Error as e:
        pytest.skip("no GPU here: %s" % e)
    y_ref, h_ref = selective_scan(*args, **{k: v for k, v in kw.items()
                                            if k != "return_last_state"})
    assert max_rel_err(y, y_ref) <= TOL
    assert max_rel_err(h, h_ref) <= TOL
