"""Compile options and the per-process cache of compiled programs."""
import collections
import re
import threading

from . import _ssm_mlir

Error = _ssm_mlir.Error
TARGETS = ("cpu", "nvptx", "gpu-emulator")

CacheInfo = collections.namedtuple("CacheInfo", "hits misses size maxsize")


# The GPU kernels' options: name -> (JitOptions field, check, what the
# check wants). The defaults are JitOptions' own (ssm-run's).
GPU_OPTIONS = {
    "chip": ("gpu_chip",
             lambda v: isinstance(v, str) and re.fullmatch(r"sm_\d{2,}a?", v),
             "an NVIDIA chip such as 'sm_80' or 'sm_90'"),
    "items": ("gpu_items", lambda v: _int(v) and 1 <= v <= 64,
              "steps per thread, an integer in [1, 64]"),
    "threads": ("gpu_threads",
                lambda v: _int(v) and 32 <= v <= 1024 and v % 32 == 0,
                "threads per block, a multiple of 32 up to 1024"),
    "states": ("gpu_states", lambda v: _int(v) and 1 <= v <= 8,
               "states per iteration, an integer in [1, 8]"),
    "prefetch": ("gpu_prefetch", lambda v: isinstance(v, bool), "True or False"),
    "scan": ("gpu_scan", lambda v: v in ("chunks", "channels", "auto"),
             "'chunks', 'channels' or 'auto'"),
    "channel_threads": ("gpu_channel_threads", lambda v: v in (1, 2, 4, 8)
                        and not isinstance(v, bool), "1, 2, 4 or 8"),
    "all_kernels": ("gpu_all_kernels", lambda v: isinstance(v, bool),
                    "True or False"),
    "tiled_from_rows": ("gpu_tiled_from_rows", lambda v: _int(v) and 0 <= v < 2**63,
                        "rows from which a projection is a tiled matrix product, "
                        "an integer >= 0 (0: never)"),
}


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def gpu_options(opts, gpu, target):
    """Sets the GPU kernels' options of `opts` (a JitOptions) from the dict
    `gpu` and returns them as a hashable key."""
    if gpu is not None:
        if not isinstance(gpu, dict):
            raise TypeError("gpu must be a dict of GPU kernel options, got %s"
                            % type(gpu).__name__)
        if target == "cpu" and gpu:
            raise ValueError("gpu options apply to target 'nvptx' or "
                             "'gpu-emulator', not 'cpu'")
        for name, value in gpu.items():
            if name not in GPU_OPTIONS:
                raise ValueError("unknown GPU option %r; the options are %s"
                                 % (name, ", ".join(GPU_OPTIONS)))
            field, ok, wanted = GPU_OPTIONS[name]
            if not ok(value):
                raise ValueError("GPU option %r expects %s, got %r"
                                 % (name, wanted, value))
            setattr(opts, field, value)
    return tuple((name, getattr(opts, field))
                 for name, (field, _, _) in GPU_OPTIONS.items())


def jit_options(target="cpu", threads=None, reference=False,
                vector_width=None, cpu=None, features=None, opt_level=3,
                parallel_scan=True, gpu=None, packed_from_rows=None):
    """(a hashable key, _ssm_mlir.JitOptions) for these compile options.

    target: "cpu" (the host, through the JIT) or "nvptx" (selective scans
        and causal convs as kernels on an NVIDIA GPU through the CUDA
        driver, the rest on the host; an Error without a driver or GPU) or
        "gpu-emulator" (the same kernels run on the CPU by the GPU
        emulator, one fiber per GPU thread: slow, to check them without a
        GPU).
    threads: threads for the parallel loops; None means every core.
    reference: lower with the reference loops instead of the fast paths.
    vector_width: f32 lanes per vector, 1 to 16 (None: 16 with AVX-512,
        else 8).
    packed_from_rows: rows (batch x tokens) from which a projection runs
        the packed prefill kernel rather than the decoding dot products
        (None: 16 with float32 weights, 32 with 16-bit ones;
        docs/projections.md).
    cpu, features: the target CPU and extra features (None: the host's).
    gpu: for nvptx and gpu-emulator, a dict of the GPU kernels' options,
        ssm-run's --chip and --gpu-* (defaults as there): chip ("sm_90"),
        items (steps per thread, 16), threads (per block, 128), states (per
        iteration of the chunks kernel's state loop, 1), prefetch (False),
        scan ("chunks", "channels" or "auto"), channel_threads (threads
        sharing a channel in the channels kernel, 1) and all_kernels (every
        op a kernel can run on the GPU, not only the scans and convs,
        False). docs/gpu.md.
    """
    if target not in TARGETS:
        raise ValueError("target must be one of %s, got %r"
                         % (", ".join(repr(t) for t in TARGETS), target))
    for name, value in (("threads", threads), ("vector_width", vector_width),
                        ("packed_from_rows", packed_from_rows)):
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, int) or value < 1):
            raise ValueError("%s must be a positive integer or None, got %r"
                             % (name, value))
    if opt_level not in (0, 1, 2, 3):
        raise ValueError("opt_level must be 0, 1, 2 or 3, got %r" % (opt_level,))
    opts = _ssm_mlir.JitOptions()
    opts.threads = threads or 0
    opts.reference = bool(reference)
    opts.vector_width = vector_width or 0
    opts.packed_from_rows = packed_from_rows or 0
    opts.cpu = cpu or ""
    opts.features = features or ""
    opts.opt_level = opt_level
    opts.parallel_scan = bool(parallel_scan)
    opts.target = target
    key = (target, opts.threads, opts.reference, opts.vector_width, opts.cpu,
           opts.features, opts.opt_level, opts.parallel_scan,
           opts.packed_from_rows, gpu_options(opts, gpu, target))
    return key, opts


class ProgramCache:
    """A least-recently-used map from (program, options, target) to a
    compiled program. Compiling happens outside the lock: two threads that
    miss on the same key may both compile; the first result is kept."""

    def __init__(self, maxsize=64):
        self.maxsize = maxsize
        self._entries = collections.OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key, build):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
            self.misses += 1
        value = build()
        with self._lock:
            value = self._entries.setdefault(key, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value

    def info(self):
        with self._lock:
            return CacheInfo(self.hits, self.misses, len(self._entries),
                             self.maxsize)

    def clear(self):
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


programs = ProgramCache()


def cache_info():
    """CacheInfo(hits, misses, size, maxsize) of the compiled-program cache
    that compile(), selective_scan_fn() and causal_conv1d_fn() share."""
    return programs.info()


def clear_cache():
    """Drops every cached program (and resets the counts)."""
    programs.clear()
