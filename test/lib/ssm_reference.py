"""Independent float64 references for the ssm ops, written from
../shared/spec/semantics.md (sections 1 to 3) with numpy only.

These are the oracles of the integration tests: they share no code with the
compiler and compute everything in float64.
"""
import numpy as np


def softplus(x):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


def silu(x):
    x = np.asarray(x, dtype=np.float64)
    return x / (1.0 + np.exp(-x))


def _expand_projection(P, b, d, L):
    """B or C in any of mamba_ssm's forms -> (b, d, n, L) float64."""
    P = np.asarray(P, dtype=np.float64)
    if P.ndim == 2:                       # (d, n) time-invariant
        return np.broadcast_to(P[None, :, :, None], (b, d, P.shape[1], L))
    if P.ndim == 3:                       # (b, n, L) variable
        return np.broadcast_to(P[:, None, :, :], (b, d, P.shape[1], L))
    g = P.shape[1]                        # (b, g, n, L) grouped
    return np.repeat(P, d // g, axis=1)


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                   delta_softplus=False, h0=None):
    """mamba_ssm's selective_scan_ref in float64; returns (y, last_state)."""
    u = np.asarray(u, dtype=np.float64)
    dt = np.asarray(delta, dtype=np.float64)
    A = np.asarray(A, dtype=np.float64)
    b, d, L = u.shape
    n = A.shape[1]
    if delta_bias is not None:
        dt = dt + np.asarray(delta_bias, dtype=np.float64)[None, :, None]
    if delta_softplus:
        dt = softplus(dt)
    Bx = _expand_projection(B, b, d, L)
    Cx = _expand_projection(C, b, d, L)
    h = np.zeros((b, d, n)) if h0 is None else np.array(h0, dtype=np.float64)
    y = np.empty((b, d, L))
    for t in range(L):
        dtt = dt[:, :, t][:, :, None]
        h = np.exp(dtt * A[None]) * h + dtt * Bx[:, :, :, t] * u[:, :, t][:, :, None]
        y[:, :, t] = np.sum(Cx[:, :, :, t] * h, axis=2)
    if D is not None:
        y = y + np.asarray(D, dtype=np.float64)[None, :, None] * u
    if z is not None:
        y = y * silu(z)
    return y, h


def linear_scan(a, b, dim, init=None, reverse=False, last_only=False):
    """h_t = a_t * h_{t-1} + b_t along `dim` (semantics.md section 2)."""
    a = np.moveaxis(np.asarray(a, dtype=np.float64), dim, -1)
    b = np.moveaxis(np.asarray(b, dtype=np.float64), dim, -1)
    L = a.shape[-1]
    h = np.zeros(a.shape[:-1]) if init is None else np.array(init, dtype=np.float64)
    out = np.empty(a.shape)
    steps = range(L - 1, -1, -1) if reverse else range(L)
    for t in steps:
        h = a[..., t] * h + b[..., t]
        out[..., t] = h
    if last_only:
        return h
    return np.moveaxis(out, -1, dim)


def causal_conv1d(x, weight, bias=None, silu_act=False, conv_state=None):
    """causal-conv1d on (b, d, L); returns (out, final_state (b, d, k-1))."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    b, d, L = x.shape
    k = w.shape[1]
    prev = (np.zeros((b, d, k - 1)) if conv_state is None
            else np.asarray(conv_state, dtype=np.float64))
    full = np.concatenate([prev, x], axis=2)          # (b, d, k-1+L)
    out = np.zeros((b, d, L))
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64)[None, :, None]
    for i in range(k):
        out += w[None, :, i, None] * full[:, :, i:i + L]
    if silu_act:
        out = silu(out)
    final = full[:, :, full.shape[2] - (k - 1):]
    return out, final


def max_rel_err(got, ref):
    """Normwise relative error max|got - ref| / max|ref| (the suite's metric,
    docs/testing.md); 0 for two empty arrays."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if ref.size == 0:
        return 0.0
    scale = np.max(np.abs(ref))
    diff = np.max(np.abs(got - ref))
    if scale == 0.0:
        return diff
    return diff / scale
