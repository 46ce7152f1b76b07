# Recomputes `ssm-run task haar` in float64 numpy, independently of the C++
# task: the same seeded functions (splitmix64, as lib/Tasks/TaskModels.h),
# the linear Haar projection as cell averages, the best N-term projection
# from the orthonormal Haar transform, and the best S4D-Lin fit by SVD least
# squares on exact ZOH modes. Compares every machine line's rms values.
#
# usage: haar_check.py SSM_RUN T JUMPS SEED N [N ...]
import math
import subprocess
import sys

import numpy as np

MASK = (1 << 64) - 1


class Rng:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        limit = MASK - MASK % n
        while True:
            x = self.next()
            if x < limit:
                return x % n

    def uniform(self):
        return (self.next() >> 11) * 2.0**-53


def function(kind, T, jumps, seed):
    rng = Rng(seed * 1000003 + (1 if kind == "dyadic" else 2))
    if kind == "sine":
        return np.sin(2 * np.pi * (np.arange(T) + 0.5) / T)
    if kind == "dyadic":
        starts = [0, T // 4, T // 2, 3 * T // 4]
    else:
        starts = [0]
        while len(starts) <= jumps:
            k = 1 + rng.below(T - 1)
            if k not in starts:
                starts.append(k)
        starts.sort()
    f = np.empty(T)
    for p, s in enumerate(starts):
        v = 2 * rng.uniform() - 1
        f[s:(starts[p + 1] if p + 1 < len(starts) else T)] = v
    return f


def haar_matrix(T):
    """Rows: the scaling function, then psi_{j,m} level by level, sampled
    at t_i and scaled to be orthonormal in (1/T) sum_i."""
    rows = [np.ones(T)]
    j = 0
    while (1 << j) < T:
        width = T >> j
        for m in range(1 << j):
            r = np.zeros(T)
            r[m * width:m * width + width // 2] = 2 ** (j / 2)
            r[m * width + width // 2:(m + 1) * width] = -(2 ** (j / 2))
            rows.append(r)
        j += 1
    return np.array(rows)


def rms(e):
    return np.sqrt(np.mean(e**2))


def main():
    ssm_run, T, jumps, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    states = [int(n) for n in sys.argv[5:]]
    out = subprocess.run(
        [ssm_run, "task", "haar", "--samples", str(T), "--jumps", str(jumps),
         "--seed", str(seed), "--states", ",".join(map(str, states)), "--threads", "1"],
        capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stdout, out.stderr)
        sys.exit("ssm-run task haar failed")
    got = {}
    for line in out.stdout.splitlines():
        if line.startswith("function="):
            fields = dict(kv.split("=") for kv in line.split())
            got[(fields["function"], int(fields["N"]))] = fields
    H = haar_matrix(T)
    t = (np.arange(T) + 0.5) / T
    worst = {"rms_s6": 0.0, "rms_best": 0.0, "rms_s4d": 0.0}
    for kind in ("dyadic", "generic", "sine"):
        f = function(kind, T, jumps, seed)
        coeffs = H @ f / T
        for N in states:
            linear = np.repeat(f.reshape(N, -1).mean(axis=1), T // N)
            order = np.argsort(-np.abs(coeffs), kind="stable")[:N]
            best = coeffs[order] @ H[order]
            A = np.array([np.exp((-0.5 + 1j * np.pi * n) * t) for n in range(N // 2)])
            basis = np.concatenate([A.real, A.imag]).T
            fit, *_ = np.linalg.lstsq(basis, f, rcond=None)
            want = {"rms_s6": rms(f - linear), "rms_best": rms(f - best),
                    "rms_s4d": rms(f - basis @ fit)}
            line = got.get((kind, N))
            if line is None:
                sys.exit("no machine line for function=%s N=%d" % (kind, N))
            for key, value in want.items():
                diff = abs(float(line[key]) - value)
                # max() drops a NaN second argument: a "nan" from the task
                # must fail the check.
                worst[key] = max(worst[key], diff if diff == diff else math.inf)
                print("%s N=%d %s: task %s float64 %.6e diff %.1e"
                      % (kind, N, key, line[key], value, diff))
    # The block's projections are fp32 (<= 1e-5 relative of |f| <= 1); the
    # S4D fit is float64 in both, by different SVDs with numpy's cutoff.
    ok = all(v <= 1e-5 for v in worst.values())
    print("worst:", " ".join("%s %.1e" % kv for kv in worst.items()))
    print("HAAR-CHECK", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


main()
