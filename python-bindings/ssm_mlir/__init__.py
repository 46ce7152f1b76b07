"""ssm_mlir: the ssm-mlir compiler for numpy users.

    import numpy as np, ssm_mlir
    y = ssm_mlir.selective_scan_fn(u, delta, A, B, C, D, z,
                                   delta_softplus=True)
    out = ssm_mlir.causal_conv1d_fn(x, weight, bias, activation="silu")
    prog = ssm_mlir.compile(open("prog.mlir").read())
    y = prog.main(x)                   # numpy in, numpy out
    lm = ssm_mlir.MambaLM.from_pretrained("path/to/checkpoint")
    tok = ssm_mlir.Tokenizer.from_pretrained("path/to/checkpoint")
    text = tok.decode(lm.generate(tok.encode("Mamba is"), 20))
    ssm_mlir.tasks.run("induction", seq_len=4096)

Everything runs through the compiler: the operations are ssm dialect
programs lowered by --ssm-to-llvm and JIT-compiled for this CPU, cached per
(program, options, target) within the process. Arrays are numpy arrays;
float inputs are computed in float32. Errors from the compiler or in the
inputs are Python exceptions carrying the compiler's message: ValueError
and TypeError for arguments, ssm_mlir.CompileError for programs that do not
parse, verify or lower, ssm_mlir.Error for everything else (checkpoints,
targets). See docs/python.md.
"""
from ._ssm_mlir import CompileError, Error
from ._cache import cache_info, clear_cache
from .models import MambaLM, MambaState
from .ops import causal_conv1d_fn, selective_scan_fn
from .program import Function, Program, compile
from .tokenizer import Tokenizer
from ._ssm_mlir import quantize_rows
from . import tasks

__all__ = [
    "CompileError", "Error", "Function", "MambaLM", "MambaState", "Program",
    "cache_info", "causal_conv1d_fn", "clear_cache", "compile",
    "Tokenizer", "quantize_rows", "selective_scan_fn", "tasks",
]
