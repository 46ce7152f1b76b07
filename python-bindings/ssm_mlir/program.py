"""ssm_mlir.compile: programs in the ssm dialect (and upstream tensor-level
dialects) compiled with --ssm-to-llvm and called on numpy arrays."""
import os

from . import _cache, _ssm_mlir


class Function:
    """One public function of a Program: call it with numpy arrays (or
    anything numpy.asarray takes) in the order of its arguments."""

    def __init__(self, program, name):
        self.program, self.name = program, name

    def __call__(self, *args):
        return self.program.call(self.name, *args)

    @property
    def signature(self):
        return self.program.signature(self.name)

    def __repr__(self):
        return "<ssm_mlir.Function @%s>" % self.name


class Program:
    """A compiled program. Each public function is an attribute (or an item,
    prog["name"]) that takes numpy arrays and returns a numpy array, a tuple
    of them (several results) or None (no result). Float arguments accept
    any float dtype and integer arguments any integer dtype (converted to
    the argument's width); shapes must match the function's (dynamic
    dimensions take any size, and where an op needs two of them to agree,
    a call whose sizes disagree raises ValueError naming the op and the
    size). Arguments are never written: results are fresh arrays."""

    def __init__(self, core, options):
        self._core = core
        self.options = dict(options)

    @property
    def functions(self):
        """The names of the public functions (calling one whose types
        cannot be exchanged with numpy raises ValueError saying why)."""
        return tuple(self._core.functions)

    def signature(self, name):
        """{"args": [(dtype, shape, type)], "results": [...]} of function
        `name`; dynamic dimensions are None."""
        return self._core.signature(name)

    def call(self, name, *args):
        results = self._core.call(name, list(args))
        if not results:
            return None
        return results[0] if len(results) == 1 else tuple(results)

    def ir(self, stage="input"):
        """The program's IR at `stage`, as text:
        "input" (or "ssm"): as given;
        a pass of --ssm-to-llvm by its argument (e.g. "ssm-expand-blocks",
        "ssm-lower-to-vector", "one-shot-bufferize"): each op the pass ran
        on, after it, as mlir-opt's --mlir-print-ir-after prints it;
        "llvm-dialect" (or "mlir"): the end of --ssm-to-llvm;
        "llvm": the optimised LLVM IR that is JIT-compiled.
        An unknown stage raises ValueError listing this program's stages."""
        return self._core.ir(stage)

    def __getitem__(self, name):
        if name not in self._core.functions:
            raise KeyError(self._missing(name))
        return Function(self, name)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._core.functions:
            raise AttributeError(self._missing(name))
        return Function(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._core.functions))

    def _missing(self, name):
        known = ", ".join("@" + f for f in self._core.functions) or "none"
        return "the program has no public function @%s (it has: %s)" % (
            name, known)

    def __repr__(self):
        return "<ssm_mlir.Program functions=%s>" % list(self._core.functions)


def compile(source, target="cpu", threads=None, reference=False,
            vector_width=None, cpu=None, features=None, opt_level=3,
            parallel_scan=True, name=None, gpu=None, packed_from_rows=None):
    """Compiles `source`, the text of a module or the path of a file (an
    os.PathLike, or a one-line str that ends in .mlir or names an existing
    file), for `target`.

    Options (see ssm-run --help for the same ones on the command line):
    threads (None: every core), reference (the reference loops instead of
    the fast paths), vector_width, cpu, features, opt_level, parallel_scan,
    packed_from_rows (rows from which a projection runs the packed prefill
    kernel rather than the decoding one; None: by the weights' type),
    and for target "nvptx" or "gpu-emulator" `gpu`, a dict of the GPU
    kernels' options (chip, items, threads, states, prefetch, scan,
    channel_threads: ssm-run's --chip and --gpu-*; docs/python.md).
    `name` names the text in diagnostics (default: the path, or "<string>").

    Programs are cached per (text, options, target) within the process:
    compiling the same text again returns the same Program. A program that
    does not parse, verify or lower raises ssm_mlir.CompileError with the
    compiler's diagnostics (file:line:col: error: ...)."""
    if isinstance(source, os.PathLike) or (
            isinstance(source, str) and "\n" not in source
            and (source.endswith(".mlir") or os.path.isfile(source))):
        path = os.fspath(source)
        with open(path) as f:
            text = f.read()
        name = name or path
    elif isinstance(source, str):
        text = source
        name = name or "<string>"
    else:
        raise TypeError("compile() takes the text of a module or a path, "
                        "got %s" % type(source).__name__)
    key, opts = _cache.jit_options(target, threads, reference, vector_width,
                                   cpu, features, opt_level, parallel_scan, gpu,
                                   packed_from_rows)
    options = dict(zip(("target", "threads", "reference", "vector_width",
                        "cpu", "features", "opt_level", "parallel_scan",
                        "packed_from_rows"), key))
    if target != "cpu":
        options["gpu"] = dict(key[-1])
    return _cache.programs.get(
        ("text", text, name, key),
        lambda: Program(_ssm_mlir.Program.parse(text, name, opts), options))
