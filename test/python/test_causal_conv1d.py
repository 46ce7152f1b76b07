"""ssm_mlir.causal_conv1d_fn against the float64 reference (semantics.md
section 3), the causal-conv1d package's options, and its errors."""
import numpy as np
import pytest

import ssm_mlir
from ssm_reference import causal_conv1d, max_rel_err
from ssm_testing import TOL

# (b, d, L, width): L = 1, L shorter than the width, odd channel counts,
# channels not a multiple of the vector width, a long sequence.
SHAPES = [(1, 1, 1, 4), (2, 5, 3, 4), (1, 17, 100, 4), (2, 33, 257, 3),
          (1, 64, 4096, 4), (3, 7, 50, 2)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "b%d-d%d-L%d-w%d" % s)
@pytest.mark.parametrize("activation", [None, "silu", "swish"])
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
def test_matches_float64(rng, shape, activation, bias):
    b, d, L, k = shape
    x = rng.standard_normal((b, d, L)).astype(np.float32)
    w = rng.standard_normal((d, k)).astype(np.float32)
    bb = rng.standard_normal(d).astype(np.float32) if bias else None
    out = ssm_mlir.causal_conv1d_fn(x, w, bb, activation=activation)
    ref, _ = causal_conv1d(x, w, bb, silu_act=activation is not None)
    assert out.dtype == np.float32 and out.shape == (b, d, L)
    assert max_rel_err(out, ref) <= TOL


@pytest.mark.parametrize("L", [1, 2, 9])
def test_initial_and_final_states_continue_a_sequence(rng, L):
    b, d, k = 2, 6, 4
    x = rng.standard_normal((b, d, 2 * L))
    w = rng.standard_normal((d, k))
    bias = rng.standard_normal(d)
    whole, whole_final = causal_conv1d(x, w, bias, True)
    first, state = ssm_mlir.causal_conv1d_fn(x[:, :, :L], w, bias,
                                             activation="silu",
                                             return_final_states=True)
    out = np.empty((b, d, k - 1), np.float32)
    second, final = ssm_mlir.causal_conv1d_fn(
        x[:, :, L:], w, bias, initial_states=state, activation="silu",
        return_final_states=True, final_states_out=out)
    assert final is out
    assert max_rel_err(np.concatenate([first, second], axis=2), whole) <= TOL
    assert max_rel_err(final, whole_final) <= TOL


def test_errors(rng):
    x = rng.standard_normal((1, 4, 8))
    w = rng.standard_normal((4, 3))
    with pytest.raises(NotImplementedError, match="activation must be"):
        ssm_mlir.causal_conv1d_fn(x, w, activation="relu")
    with pytest.raises(NotImplementedError, match="seq_idx"):
        ssm_mlir.causal_conv1d_fn(x, w, seq_idx=np.zeros((1, 8), np.int32))
    with pytest.raises(ValueError, match=r"causal_conv1d_fn: .*'weight'"):
        ssm_mlir.causal_conv1d_fn(x, w[:3])
    with pytest.raises(ValueError, match=r"causal_conv1d_fn: .*'conv_state'"):
        ssm_mlir.causal_conv1d_fn(x, w, initial_states=np.zeros((1, 4, 5)))
    with pytest.raises(ValueError, match="final_states_out needs return_final_states=True"):
        ssm_mlir.causal_conv1d_fn(x, w, final_states_out=np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match="final_states_out has shape"):
        ssm_mlir.causal_conv1d_fn(x, w, return_final_states=True,
                                  final_states_out=np.zeros((1, 4, 3)))
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        ssm_mlir.causal_conv1d_fn(np.ones((1, 4, 8), np.int32), w)
    with pytest.raises(TypeError, match="causal_conv1d_fn: weight is required, got None"):
        ssm_mlir.causal_conv1d_fn(x, None)
