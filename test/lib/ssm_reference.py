"""Independent float64 references for the ssm ops, written from
../shared/spec/semantics.md (sections 1 to 3, 5 to 7) with numpy only.

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


def rmsnorm(x, w, eps):
    x = np.asarray(x, dtype=np.float64)
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def mamba2_block(h, w, ngroups, eps, conv_state=None, ssm_state=None, norm_groups=1):
    """The Mamba-2 mixer (semantics.md section 5) on token-major h (b, L, D)
    with the weights `w` (in_proj (2I+2GN+H, D), conv_weight (X, K),
    conv_bias (X) or None, dt_bias, A_log, D (H), norm_weight (I), out_proj
    (D, I)); returns (out, conv_state (b, X, K-1), ssm_state (b, H, P, N)).
    The gated RMSNorm normalises each of `norm_groups` consecutive groups of
    I / norm_groups channels on its own (mamba_ssm's RMSNormGated with
    group_size = I / norm_groups); one group is the whole width."""
    h = np.asarray(h, dtype=np.float64)
    w = {k: (None if v is None else np.asarray(v, dtype=np.float64)) for k, v in w.items()}
    b, L, _ = h.shape
    H = w["A_log"].shape[0]
    I = w["norm_weight"].shape[0]
    X = w["conv_weight"].shape[0]
    G = ngroups
    N = (X - I) // (2 * G)
    P = I // H
    zxbcdt = h @ w["in_proj"].T
    z, xbc, dt = zxbcdt[..., :I], zxbcdt[..., I:I + X], zxbcdt[..., I + X:]
    xbc, conv_final = causal_conv1d(xbc.transpose(0, 2, 1), w["conv_weight"],
                                    w.get("conv_bias"), True, conv_state)
    xbc = xbc.transpose(0, 2, 1)                                # (b, L, X)
    x = xbc[..., :I].reshape(b, L, H, P)
    B = xbc[..., I:I + G * N].reshape(b, L, G, N)
    C = xbc[..., I + G * N:].reshape(b, L, G, N)
    dt = softplus(dt + w["dt_bias"])                            # (b, L, H)
    A = -np.exp(w["A_log"])
    state = (np.zeros((b, H, P, N)) if ssm_state is None
             else np.array(ssm_state, dtype=np.float64))
    y = np.empty((b, L, H, P))
    group = np.arange(H) // (H // G)
    for t in range(L):
        dtt = dt[:, t, :, None, None]                           # (b, H, 1, 1)
        Bt = B[:, t, group, None, :]                            # (b, H, 1, N)
        Ct = C[:, t, group, :]                                  # (b, H, N)
        state = np.exp(dtt * A[None, :, None, None]) * state + dtt * x[:, t, :, :, None] * Bt
        y[:, t] = np.einsum("bhpn,bhn->bhp", state, Ct) + w["D"][None, :, None] * x[:, t]
    y = (y.reshape(b, L, I) * silu(z)).reshape(b, L, norm_groups, I // norm_groups)
    y = rmsnorm(y, w["norm_weight"].reshape(norm_groups, I // norm_groups), eps)
    out = y.reshape(b, L, I) @ w["out_proj"].T
    return out, conv_final, state


def s4d(u, log_dt, A, B, C, D=None, z=None):
    """The S4D layer (semantics.md section 6) on token-major u (b, L, H): A, B
    and C (H, N) real or complex (complex A: y = 2 Re(C h)), ZOH."""
    u = np.asarray(u, dtype=np.float64)
    A = np.asarray(A)
    complex_a = np.iscomplexobj(A)
    dt = np.exp(np.asarray(log_dt, dtype=np.float64))[:, None]   # (H, 1)
    dA = dt * A
    Abar = np.exp(dA)
    Bbar = (Abar - 1.0) / A * np.asarray(B)
    b, L, H = u.shape
    h = np.zeros((b,) + A.shape, dtype=np.complex128 if complex_a else np.float64)
    y = np.empty((b, L, H))
    for t in range(L):
        h = Abar[None] * h + Bbar[None] * u[:, t, :, None]
        s = np.sum(np.asarray(C)[None] * h, axis=-1)
        y[:, t] = 2.0 * s.real if complex_a else s.real
    if D is not None:
        y = y + np.asarray(D, dtype=np.float64) * u
    if z is not None:
        y = y * silu(z)
    return y


def linear_attention(q, k, v, heads):
    """S_t = S_{t-1} + k_t v_t^T, y_t = S_t^T q_t per head (semantics.md
    section 7) on token-major (b, L, heads * width) arrays."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    b, L, _ = q.shape
    dk, dv = q.shape[2] // heads, v.shape[2] // heads
    S = np.zeros((b, heads, dk, dv))
    y = np.empty((b, L, heads * dv))
    for t in range(L):
        qt = q[:, t].reshape(b, heads, dk)
        kt = k[:, t].reshape(b, heads, dk)
        vt = v[:, t].reshape(b, heads, dv)
        S = S + kt[..., :, None] * vt[..., None, :]
        y[:, t] = np.einsum("bhkv,bhk->bhv", S, qt).reshape(b, heads * dv)
    return y


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
