"""ssm_mlir.tasks: the research tasks as Python data, the same results as
`ssm-run task`, and their errors."""
import csv
import io
import os
import re
import subprocess

import numpy as np
import pytest

import ssm_mlir

SSM_RUN = os.path.join(os.environ["SSM_TOOLS_DIR"], "ssm-run")


def test_list():
    tasks = ssm_mlir.tasks.list()
    assert {"mqar", "induction", "keep-nth"} <= set(tasks)
    options = {o.name: o for o in tasks["mqar"].options}
    assert "seq_len" in options and "kv_pairs" in options
    assert options["no_filler"].flag


def test_induction_rows_match_the_runner():
    lines = []
    result = ssm_mlir.tasks.run("induction", seq_len=[3, 64], examples=16,
                                seed=5, threads=1, progress=lines.append)
    assert result.passed and result.target == "cpu"
    assert len(result.rows) == 2
    assert all(row["result"] == "PASS" for row in result.rows)
    assert [r["L"] for r in result.rows] == [3, 64]
    assert [r["accuracy"] for r in result.rows] == [1, 1]
    assert list(result.lines) == ["accuracy=1.000000"] * 2
    assert lines and lines[0] == "induction L=3: 16/16 examples"
    # The same run through the command line gives the same table.
    proc = subprocess.run([SSM_RUN, "task", "induction", "--seq-len", "3,64",
                           "--examples", "16", "--seed", "5", "--threads", "1"],
                          capture_output=True, text=True, check=True)
    assert [l for l in proc.stdout.splitlines() if l.startswith("accuracy=")] \
        == list(result.lines)
    rows = list(csv.reader(io.StringIO(result.csv())))
    assert tuple(rows[0]) == result.columns and len(rows) == 3
    assert str(result).startswith("Induction heads")


def test_mqar_flag_and_list_options():
    result = ssm_mlir.tasks.run("mqar", vocab=64, seq_len=[64], kv_pairs=[4, 8],
                                examples=8, no_filler=True, threads=1)
    assert result.passed and len(result.rows) == 2


def _bigram_counter_accuracy(V, L, kappa, sequences, seed):
    """Monte Carlo accuracy of an exact (key -> value) bigram counter with
    first-maximum argmax on Zoology MQAR sequences with filler, written
    from tasks.md section 1 independently of the runner's generator."""
    rng = np.random.default_rng(seed)
    half, space = V // 2, (L - 2 * kappa) // 2
    g = np.arange(space)
    weight = (g + 1.0) ** (0.01 - 1)
    right = total = 0
    for _ in range(sequences):
        keys = rng.choice(np.arange(1, half), kappa, replace=False)
        values = rng.choice(np.arange(half, V), kappa, replace=False)
        x = rng.integers(0, V, L)
        x[0:2 * kappa:2], x[1:2 * kappa:2] = keys, values
        gaps = rng.choice(space, kappa, replace=False, p=weight / weight.sum())
        pos = 2 * kappa + 2 * gaps
        x[pos] = keys
        for k, v, p in zip(keys, values, pos):
            t = np.nonzero((x[:p - 1] == k) & (x[1:p] >= half))[0] + 1
            counts = np.bincount(x[t] - half, minlength=half)
            right += half + np.argmax(counts) == v
            total += 1
    return right / total


@pytest.mark.parametrize("V,L,kappa", [(64, 1000, 25), (256, 2048, 16)])
def test_mqar_filler_expectation_matches_a_bigram_counter(V, L, kappa):
    # The runner's expected accuracy with filler on (derived in closed form,
    # docs/tasks.md) against a direct simulation of what it claims to
    # predict, and the compiled model against both.
    result = ssm_mlir.tasks.run("mqar", vocab=V, seq_len=[L],
                                kv_pairs=[kappa], examples=16, threads=1)
    row, = result.rows
    expected = float(row["expected"].split()[0])
    assert result.passed and row["result"] == "PASS"
    sequences = 3000
    simulated = _bigram_counter_accuracy(V, L, kappa, sequences, seed=V + L)
    sigma = np.sqrt(expected * (1 - expected) / (sequences * kappa))
    assert 0.5 < expected < 0.99
    assert abs(simulated - expected) <= 4 * sigma + 2e-3, (simulated, expected)


class _SplitMix64:
    """tasks::Rng (splitmix64 with rejection for below()), for regenerating
    the runner's KEEP n-TH sequences."""
    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.state = seed & self.MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def below(self, n):
        limit = self.MASK - self.MASK % n
        while True:
            x = self.next()
            if x < limit:
                return x % n


def test_keep_nth_s4d_contrast_matches_float64():
    # The S4D layer with the retention the runner chose, recomputed in
    # float64 on the same sequences: sum_t r^(T-1-t) onehot(x_t), argmax.
    T, positions, examples, seed, V = 40, [40, 39, 36, 20, 1], 96, 3, 16
    result = ssm_mlir.tasks.run("keep-nth", seq_len=[T], n=positions,
                                examples=examples, seed=seed, threads=1)
    assert result.passed and len(result.rows) == len(positions)
    s4d_lines = [l for l in result.lines if l.startswith("s4d_accuracy=")]
    assert len(s4d_lines) == len(positions)
    for row, n, line in zip(result.rows, positions, s4d_lines):
        r = float(row["S4D r"])
        assert 0 < r < 1
        rng = _SplitMix64(seed * 1000003 + T * 1009 + n)
        x = np.array([[rng.below(V) for _ in range(T)]
                      for _ in range(examples)])
        weight = r ** np.arange(T - 1, -1, -1, dtype=np.float64)
        scores = np.stack([((x == v) * weight).sum(1) for v in range(V)], 1)
        exact = np.mean(np.argmax(scores, 1) == x[:, n - 1])
        # fp32 may break a near-tie differently than float64.
        assert abs(row["S4D accuracy"] - exact) <= 2 / examples, (n, exact)
        assert line == "s4d_accuracy=%.6f s4d_retention=%s" % (
            row["S4D accuracy"], row["S4D r"])
        # The S6 blocks keep the n-th token at every distance; the best
        # constant retention recalls the last token alone (r < 1/2 gives it
        # more weight than all others together) and not the earlier ones.
        assert row["accuracy"] == 1
        if n == T:
            assert row["S4D accuracy"] == 1
        else:
            assert row["S4D accuracy"] < 0.5


def test_tasks_on_nvptx_run_or_say_why():
    # With an NVIDIA GPU the scans and convs run as kernels and the task
    # passes; without one (or without a driver or the CUDA runtime) the
    # error says so.
    try:
        result = ssm_mlir.tasks.run("induction", seq_len=[3, 64], examples=4,
                                    target="nvptx")
    except ValueError as e:
        assert re.search("NVIDIA driver|CUDA driver cannot start|no CUDA runtime",
                         str(e)), str(e)
        return
    assert result.passed and result.target == "nvptx"


def test_errors():
    with pytest.raises(ValueError, match="task nope: .*mqar"):
        ssm_mlir.tasks.run("nope")
    with pytest.raises(ValueError, match="task induction: .*bogus"):
        ssm_mlir.tasks.run("induction", bogus=3)
    with pytest.raises(ValueError, match="task induction: .*seq-len"):
        ssm_mlir.tasks.run("induction", seq_len="many")


def test_progress_callback_errors_propagate():
    calls = []

    def boom(line):
        calls.append(line)
        raise RuntimeError("stop: " + line)
    # The task runs on (it cannot be stopped midway), the callback is not
    # called again, and its exception reaches the caller.
    with pytest.raises(RuntimeError, match="stop: induction L=3"):
        ssm_mlir.tasks.run("induction", seq_len=[3, 5], examples=4,
                           threads=1, progress=boom)
    assert len(calls) == 1
