"""ssm_mlir.compile: programs from text and files, calls on numpy arrays
(dtypes, shapes, results), ir() at each stage, errors as exceptions with
the compiler's message, caching, and the GIL released while running."""
import os
import re
import threading
import time

import numpy as np
import pytest

import ssm_mlir
from ssm_reference import linear_scan, max_rel_err
from ssm_testing import TOL

SCAN = """
func.func @scan(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %h = ssm.scan %a, %b dim = 1 : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
  return %h : tensor<?x?xf32>
}
"""

MIXED = """
func.func @two(%x: tensor<3xf64>, %i: tensor<2xi32>) -> (tensor<3xf64>, tensor<2xi32>) {
  %y = arith.addf %x, %x : tensor<3xf64>
  %j = arith.muli %i, %i : tensor<2xi32>
  return %y, %j : tensor<3xf64>, tensor<2xi32>
}
func.func @none(%x: tensor<3xf32>) {
  return
}
func.func private @helper(%x: tensor<3xf32>) -> tensor<3xf32> {
  return %x : tensor<3xf32>
}
"""


def test_scan_program_matches_float64(rng):
    prog = ssm_mlir.compile(SCAN)
    assert prog.functions == ("scan",)
    for shape in [(1, 1), (3, 70), (17, 1000)]:
        a = rng.uniform(0.5, 1.0, shape)
        b = rng.standard_normal(shape)
        h = prog.scan(a, b)
        assert h.dtype == np.float32 and h.shape == shape
        assert max_rel_err(h, linear_scan(a, b, 1)) <= TOL


def test_results_dtypes_and_signature():
    prog = ssm_mlir.compile(MIXED)
    assert set(prog.functions) == {"two", "none"}
    y, j = prog.two([1.5, 2.0, -1.0], np.array([3, -4], np.int64))
    assert y.dtype == np.float64 and j.dtype == np.int32
    np.testing.assert_array_equal(y, [3.0, 4.0, -2.0])
    np.testing.assert_array_equal(j, [9, 16])
    assert prog.none(np.zeros(3)) is None
    assert prog["two"].signature["args"][1] == ("int32", (2,), "tensor<2xi32>")


SIXTEEN = """
func.func @project(%x: tensor<2x40xf32>, %w: tensor<9x40xbf16>, %v: tensor<9x40xf16>) -> (tensor<2x9xf32>, tensor<2x9xf32>) {
  %y = ssm.linear %x, %w : tensor<2x40xf32>, tensor<9x40xbf16> -> tensor<2x9xf32>
  %z = ssm.linear %x, %v : tensor<2x40xf32>, tensor<9x40xf16> -> tensor<2x9xf32>
  return %y, %z : tensor<2x9xf32>, tensor<2x9xf32>
}
func.func @same(%w: tensor<3xbf16>, %v: tensor<3xf16>) -> (tensor<3xbf16>, tensor<3xf16>) {
  return %w, %v : tensor<3xbf16>, tensor<3xf16>
}
"""


def test_sixteen_bit_arguments(rng):
    """bf16 and f16 parameters: float16 arrays are taken as they are, other
    floats rounded to nearest even; results come back as float16, and
    bfloat16 (which numpy lacks) as float32, with the same values."""
    import mamba_reference as mr
    prog = ssm_mlir.compile(SIXTEEN)
    assert prog["project"].signature["args"][1] == ("bfloat16", (9, 40), "tensor<9x40xbf16>")
    x = rng.standard_normal((2, 40)).astype(np.float32)
    w = rng.standard_normal((9, 40))
    y, z = prog.project(x, w, w.astype(np.float16))
    assert max_rel_err(y, x @ mr.stored(w.astype(np.float32), "BF16").T) <= TOL
    assert max_rel_err(z, x @ w.astype(np.float16).astype(np.float64).T) <= TOL
    b, h = prog.same([1.0, 1.00390625, -3.0e38], np.array([1.0, 0.5, 65504.0]))
    assert b.dtype == np.float32 and h.dtype == np.float16
    # 1 + 2^-8 is a tie between two bfloat16s: to even, 1.0.
    np.testing.assert_array_equal(
        b, mr.stored(np.array([1.0, 1.00390625, -3.0e38], np.float32), "BF16"))
    assert b[1] == 1.0
    np.testing.assert_array_equal(h, [1.0, 0.5, 65504.0])


INT8 = """
func.func @project(%x: tensor<?x40xf32>, %q: tensor<9x40xi8>, %s: tensor<9xf32>) -> (tensor<?x9xf32>, tensor<9x40xi8>) {
  %w = ssm.dequantize %q, %s : tensor<9x40xi8>, tensor<9xf32> -> tensor<9x40xf32>
  %y = ssm.linear %x, %w : tensor<?x40xf32>, tensor<9x40xf32> -> tensor<?x9xf32>
  return %y, %q : tensor<?x9xf32>, tensor<9x40xi8>
}
"""


def test_int8_arguments(rng):
    """i8 parameters (ssm.dequantize's rows, from ssm_mlir.quantize_rows):
    int8 arrays are taken as they are, other integers checked to fit; i8
    results come back as int8; the product against float64 with q * scale,
    through both projection kernels (1 and 40 rows)."""
    prog = ssm_mlir.compile(INT8)
    assert prog["project"].signature["args"][1] == ("int8", (9, 40), "tensor<9x40xi8>")
    w = rng.standard_normal((9, 40))
    q, scale = ssm_mlir.quantize_rows(w)
    wq = q.astype(np.float64) * scale.astype(np.float64)[:, None]
    for rows in (1, 40):
        x = rng.standard_normal((rows, 40)).astype(np.float32)
        y, back = prog.project(x, q, scale)
        assert max_rel_err(y, x @ wq.T) <= TOL
        assert back.dtype == np.int8 and np.array_equal(back, q)
        y64, _ = prog.project(x, q.astype(np.int64), scale)
        np.testing.assert_array_equal(y64, y)
    with pytest.raises(ValueError, match="int64 value 300 at flat index 0 does not fit in int8"):
        prog.project(x, np.full((9, 40), 300), scale)


def test_packed_from_rows(rng):
    """The projections' kernel threshold: forced either way, the same
    product (to rounding), and a key of the cache."""
    import mamba_reference as mr
    x = rng.standard_normal((2, 40)).astype(np.float32)
    w = rng.standard_normal((9, 40))
    packed = ssm_mlir.compile(SIXTEEN, packed_from_rows=1)
    dots = ssm_mlir.compile(SIXTEEN, packed_from_rows=1000)
    assert packed is not dots and packed.options["packed_from_rows"] == 1
    assert ssm_mlir.compile(SIXTEEN).options["packed_from_rows"] == 0
    for prog in (packed, dots):
        y, _ = prog.project(x, w, w.astype(np.float16))
        assert max_rel_err(y, x @ mr.stored(w.astype(np.float32), "BF16").T) <= TOL


def test_source_file_and_cache(tmp_path):
    path = tmp_path / "scan.mlir"
    path.write_text(SCAN)
    ssm_mlir.clear_cache()
    p1 = ssm_mlir.compile(path)
    assert ssm_mlir.compile(str(path)) is p1
    text = ssm_mlir.compile(SCAN)
    assert text is not p1                  # the same text, named differently
    assert ssm_mlir.compile(SCAN, threads=1) is not text
    assert ssm_mlir.cache_info()[:3] == (1, 3, 3)


def test_too_many_threads_is_an_error_not_an_abort():
    # libomp would abort the process starting them.
    with pytest.raises(ssm_mlir.CompileError,
                       match=r"100000 threads requested, at most \d+ here"):
        ssm_mlir.compile(SCAN, threads=100000)
    # Past one register's 16 lanes the fast path's code only grows (width
    # 128 compiled for minutes).
    with pytest.raises(ssm_mlir.CompileError,
                       match=r"a vector width of 128 f32 lanes requested, at most 16"):
        ssm_mlir.compile(SCAN, vector_width=128)


def test_parse_errors_carry_the_location(tmp_path):
    bad = tmp_path / "bad.mlir"
    bad.write_text("func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
                   "  %0 = arith.addf %a, %b : tensor<4xf32>\n"
                   "  return %0 : tensor<4xf32>\n}\n")
    with pytest.raises(ssm_mlir.CompileError,
                       match=r"bad\.mlir:2:\d+: error: use of undeclared SSA value"):
        ssm_mlir.compile(bad)
    # The verifier's message, with its location, for an ssm op.
    with pytest.raises(ssm_mlir.CompileError, match=r"<string>:3:\d+: error: .*ssm.scan"):
        ssm_mlir.compile(SCAN.replace("dim = 1", "dim = 2"))
    with pytest.raises(FileNotFoundError):
        ssm_mlir.compile(tmp_path / "missing.mlir")
    with pytest.raises(TypeError):
        ssm_mlir.compile(42)


def test_call_errors():
    prog = ssm_mlir.compile(MIXED)
    with pytest.raises(AttributeError, match=r"no public function @helper .*@two"):
        prog.helper
    with pytest.raises(KeyError):
        prog["missing"]
    with pytest.raises(TypeError, match=r"@two takes 2 argument\(s\), got 1"):
        prog.two(np.zeros(3))
    with pytest.raises(ValueError, match=r"argument #0 of @two: .*\(4,\).*tensor<3xf64>"):
        prog.two(np.zeros(4), np.zeros(2, np.int32))
    with pytest.raises(TypeError, match="argument #1 of @two: expected an array of integer"):
        prog.two(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="int64 value 1099511627776 at flat index 0 does not fit in int32"):
        prog.two(np.zeros(3), np.array([2**40, 1]))


def test_sizes_that_disagree_at_run_time_are_a_value_error():
    # Each argument fits its type (every size dynamic), but b is shorter
    # than a: the run-time check before ssm.scan stops the call with the
    # verifier's words (docs/runtime-checks.md); the session goes on.
    prog = ssm_mlir.compile(SCAN)
    a = np.full((2, 5), 0.5, np.float32)
    message = (r"'ssm.scan' op operand 'b' \(d0, L\): its L \(dimension 1\) differs from "
               r"the L of 'a' \(in a call of @scan, abandoned before the op ran\)")
    for _ in range(3):
        with pytest.raises(ValueError, match=message):
            prog.scan(a, np.ones((2, 4), np.float32))
    b = np.ones((2, 5), np.float32)
    got = prog.scan(a, b)
    assert max_rel_err(got, linear_scan(a, b, 1)) <= TOL


def test_out_of_memory_is_a_memory_error():
    # A buffer no machine can give (more than a process's address space):
    # MemoryError with the size, the call abandoned, its buffers released
    # (docs/out-of-memory.md). The programs are ssm-run's test inputs.
    inputs = os.path.join(os.path.dirname(__file__), "..", "Tools", "ssm-run", "Inputs")
    prog = ssm_mlir.compile(os.path.join(inputs, "out-of-memory.mlir"), threads=1)

    def rss_mb():
        with open("/proc/self/status") as f:
            return int(f.read().split("VmRSS:")[1].split()[0]) // 1024

    message = (r"out of memory: @huge_result asked for a buffer of 400000000000064 bytes "
               r"\(363.8 TiB\), which could not be allocated; the call was abandoned")
    with pytest.raises(MemoryError, match=message):
        prog.huge_result(np.ones(2, np.float32))
    # Each call fills a 300 MB buffer before the refusal: were it not
    # released, every call would hold 300 MB more.
    before = rss_mb()
    for _ in range(4):
        with pytest.raises(MemoryError):
            prog.huge_result(np.ones(2, np.float32))
    assert rss_mb() - before < 300, (before, rss_mb())
    with pytest.raises(MemoryError, match=r"@huge_in_parallel_loop asked for a buffer"):
        prog.huge_in_parallel_loop(np.arange(4, dtype=np.float32))
    # The process and the compiler go on.
    out = ssm_mlir.compile(SCAN).scan(np.ones((2, 3), np.float32), np.ones((2, 3), np.float32))
    assert np.array_equal(out, np.cumsum(np.ones((2, 3)), axis=1))


def test_arguments_are_never_written():
    prog = ssm_mlir.compile("""
func.func @set(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant 7.0 : f32
  %i = arith.constant 1 : index
  %0 = tensor.insert %c into %a[%i] : tensor<4xf32>
  return %0 : tensor<4xf32>
}
func.func @same(%a: tensor<4xf32>) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}""")
    x = np.zeros(4, np.float32)
    np.testing.assert_array_equal(prog.set(x), [0, 7, 0, 0])
    np.testing.assert_array_equal(x, 0)
    y = prog.same(x)
    assert not np.shares_memory(x, y)
    # What ir() shows is what runs: the insert goes into a copy.
    bufferized = prog.ir("one-shot-bufferize")
    assert "memref.copy %arg0, %alloc" in bufferized


def test_writable_argument_is_updated_and_returned_as_a_copy():
    # A writable argument is the caller's to update: the program writes
    # into it and, lowered for the runner, no longer returns it
    # (ssm.in_place_results); the result is a copy of it all the same.
    prog = ssm_mlir.compile("""
func.func @bump(%s: tensor<4xf32> {bufferization.writable = true},
                %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %c = arith.constant 7.0 : f32
  %i = arith.constant 1 : index
  %0 = tensor.insert %c into %s[%i] : tensor<4xf32>
  %y = arith.addf %x, %x : tensor<4xf32>
  return %0, %y : tensor<4xf32>, tensor<4xf32>
}""")
    assert "ssm.in_place_results = array<i64: 0, -1>" in prog.ir("llvm-dialect")
    s = np.zeros(4, np.float32)
    r, y = prog.bump(s, np.ones(4, np.float32))
    np.testing.assert_array_equal(r, [0, 7, 0, 0])
    np.testing.assert_array_equal(y, 2)
    np.testing.assert_array_equal(s, [0, 7, 0, 0])
    assert not np.shares_memory(r, s)


def test_in_place_results_attribute_in_the_input_is_not_trusted():
    # The attribute is the lowering's own; one written in the program must
    # not make the runner hand an argument back in place of a result.
    prog = ssm_mlir.compile("""
func.func @twice(%x: tensor<4xf32>) -> tensor<4xf32>
    attributes {ssm.in_place_results = array<i64: 0>} {
  %y = arith.addf %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}""")
    np.testing.assert_array_equal(prog.twice(np.ones(4, np.float32)), 2)


def test_ir_stages():
    prog = ssm_mlir.compile(SCAN)
    assert "ssm.scan" in prog.ir() and prog.ir("ssm") == prog.ir("input")
    vec = prog.ir("ssm-lower-to-loops")
    # No ssm.scan op is left (the run-time checks' messages name it).
    assert "IR Dump After" in vec and "ssm.scan %" not in vec
    assert "llvm.func @scan" in prog.ir("llvm-dialect")
    assert prog.ir("mlir") == prog.ir("llvm-dialect")
    assert "define " in prog.ir("llvm")
    with pytest.raises(ValueError, match="unknown stage 'nope'.*one-shot-bufferize"):
        prog.ir("nope")


def test_reference_lowering_option(rng):
    fast = ssm_mlir.compile(SCAN)
    ref = ssm_mlir.compile(SCAN, reference=True)
    a = rng.uniform(0.5, 1.0, (5, 33))
    b = rng.standard_normal((5, 33))
    assert max_rel_err(fast.scan(a, b), ref.scan(a, b)) <= TOL


def test_gil_is_released_while_running(rng):
    """A Python thread runs while compiled code runs in another."""
    prog = ssm_mlir.compile(SCAN, threads=1)
    a = rng.uniform(0.5, 1.0, (64, 200000)).astype(np.float32)
    b = rng.standard_normal((64, 200000)).astype(np.float32)
    prog.scan(a, b)                                   # warm up
    span = {}

    def call():
        span["start"] = time.perf_counter()
        prog.scan(a, b)
        span["end"] = time.perf_counter()

    worker = threading.Thread(target=call)
    ticks = []
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
    worker.join()
    inside = [t for t in ticks if span["start"] < t < span["end"]]
    assert span["end"] - span["start"] > 0.01
    assert len(inside) > 100


def test_option_errors():
    with pytest.raises(ValueError, match="vector_width must be a positive integer"):
        ssm_mlir.compile(SCAN, vector_width=-8)
    with pytest.raises(ValueError, match="packed_from_rows must be a positive integer"):
        ssm_mlir.compile(SCAN, packed_from_rows=0)
    with pytest.raises(ValueError, match="opt_level must be 0, 1, 2 or 3"):
        ssm_mlir.compile(SCAN, opt_level=4)


def test_nvptx_target_runs_or_says_why():
    # With an NVIDIA GPU the program compiles; without one (or without a
    # driver, or a build without the CUDA runtime) the error says so.
    try:
        ssm_mlir.compile(SCAN, target="nvptx")
    except ssm_mlir.Error as e:
        assert re.search("NVIDIA driver|CUDA driver cannot start|no CUDA runtime",
                         str(e)), str(e)
