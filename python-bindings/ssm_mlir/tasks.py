"""The research tasks of tasks.md (MQAR, induction heads, KEEP n-TH, ...),
the same as `ssm-run task`, with their tables as Python data.

    r = ssm_mlir.tasks.run("mqar", vocab=256, seq_len=[64, 256],
                           kv_pairs=4, examples=64)
    r.passed, r.rows[0]["accuracy"], print(r)

Options are the command line's with '_' for '-' (seq_len for --seq-len),
True for a flag (no_filler=True), and lists for comma-separated values."""
import builtins
import collections

from . import _cache, _ssm_mlir

TaskInfo = collections.namedtuple("TaskInfo", "name summary options")
TaskOption = collections.namedtuple("TaskOption", "name default help flag")


def list():  # noqa: A001 (the module's verb, as in `ssm-run task --list`)
    """{name: TaskInfo(name, summary, options)} of every task, with the
    options as TaskOption(name, default, help, flag) under their Python
    names."""
    out = {}
    for t in _ssm_mlir.list_tasks():
        options = [TaskOption(o["name"].replace("-", "_"), o["default"] or None,
                              o["help"], o["flag"]) for o in t["options"]]
        out[t["name"]] = TaskInfo(t["name"], t["summary"], options)
    return out


def _cell(text):
    """A table cell as a number where it is one."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


class TaskResult:
    """One run of a task: `rows` (a list of {column: value}, numbers as
    numbers), `passed` (every row met its expected value), `lines` (the
    machine-readable accuracy=... lines), `title`, `columns`, `target`,
    `wall_seconds`; str() is the table ssm-run prints, csv() its CSV."""

    def __init__(self, report):
        self.title = report["title"]
        self.columns = tuple(report["columns"])
        self.rows = [dict(zip(self.columns, map(_cell, row)))
                     for row in report["rows"]]
        self.passed = report["passed"]
        self.lines = tuple(report["lines"])
        self.wall_seconds = report["wall_seconds"]
        self.target = report["target"]
        self._table, self._csv = report["table"], report["csv"]

    def csv(self):
        return self._csv

    def __str__(self):
        return self._table

    def __repr__(self):
        return "<ssm_mlir.tasks.TaskResult %s: %d rows, %s>" % (
            self.title, len(self.rows), "PASS" if self.passed else "FAIL")


def _option_value(value):
    """The command line's text of an option value; None leaves it out."""
    if isinstance(value, bool):
        return "" if value else None
    if isinstance(value, (tuple, builtins.list)):
        return ",".join(str(v) for v in value)
    return str(value)


def run(name, threads=None, progress=None, target="cpu", gpu=None, **options):
    """Runs task `name` compiled for `target` ("cpu", "nvptx": its scans
    and convs as kernels on an NVIDIA GPU, or "gpu-emulator": those kernels
    on the CPU's GPU emulator) and returns its TaskResult. A
    result that misses its expected value is a row with "FAIL" and
    passed False (not an exception); unknown tasks and options, and values
    that do not parse, raise ValueError, as does a target that cannot run
    (nvptx without a GPU or driver). `progress`, when given, is called with
    a short status line now and then. gpu: the GPU kernels' options
    (ssm_mlir.compile)."""
    _, opts = _cache.jit_options(target, threads, gpu=gpu)
    values = {}
    for key, value in options.items():
        text = _option_value(value)
        if text is not None:
            values[key.replace("_", "-")] = text
    return TaskResult(_ssm_mlir.run_task(name, values, opts, progress))
