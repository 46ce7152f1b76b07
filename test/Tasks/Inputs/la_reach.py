# Checks, independently of the C++ task, the bound that `ssm-run task
# polynomial` scores linear attention against (docs/tasks.md, "How deep
# linear attention must be"): after K residual layers of linear attention
# (semantics.md section 7) on the features [x_t, onehot(t)], no monomial of
# the last step's features has more than w_K = (3^K - 1) / 2 inputs other
# than the last one, whatever the weights, width and heads.
#
# Random float64 stacks (Gaussian weights, several head counts) run on every
# input in {-1, 1}^L; the fast Walsh-Hadamard transform of each last-step
# feature gives its exact coefficient on every multilinear monomial. Sets
# beyond w_K must have coefficient 0 (to rounding), and random weights reach
# w_K itself (the bound is attained).
#
# usage: la_reach.py L WIDTH SEED (every depth K with sets beyond reach)
import sys

import numpy as np


def linear_attention(q, k, v, heads):
    """y_t = S_t^T q_t, S_t = sum_{s<=t} k_s v_s^T per head; (B, L, W)."""
    B, L, W = q.shape
    dh = W // heads
    y = np.zeros_like(q)
    for h in range(heads):
        sl = slice(h * dh, (h + 1) * dh)
        S = np.zeros((B, dh, dh))
        for t in range(L):
            S += k[:, t, sl, None] * v[:, t, None, sl]
            y[:, t, sl] = np.einsum("bij,bi->bj", S, q[:, t, sl])
    return y


def walsh(f):
    """Walsh coefficients over the first axis (2^L rows, row i = input bits)."""
    f = f.copy()
    h = 1
    while h < f.shape[0]:
        for i in range(0, f.shape[0], 2 * h):
            a, b = f[i:i + h].copy(), f[i + h:i + 2 * h].copy()
            f[i:i + h], f[i + h:i + 2 * h] = a + b, a - b
        h *= 2
    return f / f.shape[0]


def main():
    L, W, seed = (int(a) for a in sys.argv[1:4])
    rng = np.random.default_rng(seed)
    T = L - 1
    rows = np.arange(2 ** L)
    # x_j = -1 where bit j of the row is set: the Walsh transform's row S is
    # then the coefficient on prod_{j in S} x_j.
    x = 1.0 - 2.0 * ((rows[:, None] >> np.arange(L)) & 1)
    feats = np.zeros((2 ** L, L, W))
    feats[:, :, 0] = x
    feats[:, :, 1:1 + L] = np.eye(L)
    others = np.array([bin(s & ~(1 << T)).count("1") for s in rows])
    ok = True
    K = 0
    while (3 ** (K + 1) - 1) // 2 < L - 1:  # a depth with sets beyond reach
        K += 1
        reach = (3 ** K - 1) // 2
        for heads in [h for h in (1, 2, W // 2, W) if W % h == 0]:
            h = feats
            for _ in range(K):
                q, k, v = (h @ rng.standard_normal((W, W)).T / np.sqrt(W)
                           for _ in range(3))
                h = h + linear_attention(q, k, v, heads)
            coef = walsh(h[:, T, :])
            size = np.abs(coef).max()
            beyond = np.abs(coef[others > reach]).max(initial=0) / size
            at = np.abs(coef[others == reach]).max(initial=0) / size
            largest = others[(np.abs(coef) > 1e-9 * size).any(axis=1)].max()
            good = beyond < 1e-12 and at > 1e-6 and largest == reach
            ok &= good
            print("K=%d heads=%d: reach %d, largest support %d, beyond %.1e, "
                  "at %.1e %s" % (K, heads, reach, largest, beyond, at,
                                 "ok" if good else "WRONG"))
    print("all ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
