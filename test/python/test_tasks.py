"""ssm_mlir.tasks: the research tasks as Python data, the same results as
`ssm-run task`, and their errors."""
import csv
import io
import os
import subprocess

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
