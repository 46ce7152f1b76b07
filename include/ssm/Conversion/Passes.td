//===- Passes.td - ssm conversion passes -------------------*- tablegen -*-===//

#ifndef SSM_CONVERSION_PASSES_TD
#define SSM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def SSMLowerToLoops : Pass<"ssm-lower-to-loops"> {
  let summary = "Reference lowering of the ssm ops to scf loops on memrefs";
  let description = [{
    Rewrites every ssm op into a loop nest of scf/arith/math/memref ops that
    follows the op's definition literally, one scalar at a time: the oracle
    the fast lowerings are tested against, not a fast path. Tensor operands
    enter through `bufferization.to_buffer` and results leave through
    `bufferization.to_tensor restrict writable` of a fresh `memref.alloc`,
    so one-shot bufferization finishes the job for the surrounding program.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::complex::ComplexDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def SSMLowerToVector : Pass<"ssm-lower-to-vector"> {
  let summary = "Fused, vectorised lowering of the selective scan and the "
                "causal conv1d for CPUs";
  let description = [{
    Lowers each f32 `ssm.selective_scan` with a static state size into a
    parallel loop over (batch, group of channel tiles) of `vector-width`
    channels each. A tile keeps the n states of its channels in vector
    registers for a chunk of `vector-width` steps and walks time chunk by
    chunk:
    a prologue reads the chunk's delta and u as blocks (transposed in
    registers in channel_first layout) and computes bias, softplus and
    dt * u for the chunk; the state loop computes per step and state
    `exp2(dt * A log2(e))` (A pre-scaled once per tile), the recurrence and
    the C contraction; an epilogue adds the D skip, applies the SiLU gate and
    writes y back. Blocks are prefetched a few chunks ahead; channel and
    sequence tails are masked; no (b, L, d, n) array exists.

    A decoding step (L = 1; with a dynamic length chosen at run time) skips
    the chunk machinery: with n a multiple of `vector-width` a channel's
    states lie in the lanes (rows of A and of the states read and written
    in place, the tile's C contractions reduced by a shuffle tree),
    otherwise the channels do.

    Each f32 `ssm.causal_conv1d` with a static k <= 16 becomes vector FMAs
    over its taps that walk memory contiguously (along time in
    channel_first, along channels in token_major layout).

    In token_major layout, groups of up to `tile-group` tiles (16 by
    default, fewer when `num-threads` threads need more parallel
    iterations) walk time together: each chunk runs over the group's tiles,
    whose states and scaled A are parked in small (b, tiles, n, width)
    buffers between chunks, so that a chunk reads rows group * width
    channels wide. channel_first keeps groups of one tile (measured: no
    gain there).

    Ops the fast path does not cover (f64, dynamic n or k, groups that split
    a channel tile) are left for ssm-lower-to-loops. Softplus and SiLU use
    the same exp2 as the recurrence; any other math op left behind gets
    upstream's polynomial approximations, applied by this pass.
    docs/cpu-fast-path.md explains the design.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "Channels per vector: 16 for AVX-512, 8 for AVX2">,
    Option<"x86Avx512", "x86-avx512", "bool", /*default=*/"false",
           "With vector-width=16: scale exp2's polynomial by AVX-512's "
           "vscalefps (needs AVX512F)">,
    Option<"tileGroup", "tile-group", "int64_t", /*default=*/"0",
           "Channel tiles that advance through time together, chunk by "
           "chunk (1: each tile walks the whole sequence alone; 0: 16 in "
           "token_major layout, 1 in channel_first)">,
    Option<"numThreads", "num-threads", "int64_t", /*default=*/"1",
           "Threads the parallel loops run on: tile groups shrink until "
           "each thread has one">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
    "::mlir::x86vector::X86VectorDialect"
  ];
}

def SSMLowerProjections : Pass<"ssm-lower-projections"> {
  let summary = "Register-blocked vector code for the models' projections";
  let description = [{
    Lowers each f32 projection `out[..., n] = init[..., n] + sum_k x[..., k]
    * w[n, k]` (the linalg.generic contractions of ssm-expand-blocks, x of
    rank 2 or 3, w in checkpoint layout) to one of two kernels, chosen at run
    time by the number of rows of x:

    * prefill (>= 8 rows): a parallel loop over panels of 2 x `vector-width`
      outputs; each iteration packs its panel of w transposed (k-major, so a
      step of k reads two contiguous vectors) and runs register blocks of 8
      rows (4 with AVX2) x 2 vectors over all rows of x: per k, two vector
      loads, one broadcast per row and two FMAs per row, 16 accumulators in
      registers. Output tails are masked.
    * decoding (fewer rows): per output, a dot product of a row of x with a
      row of w, vectorised along k: w is read once and never packed.

    docs/projections.md gives the design and the figures.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector: 16 for AVX-512, 8 for AVX2">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def SSMStridedCopies : Pass<"ssm-strided-copies"> {
  let summary = "Copy strided buffers with loops rather than memrefCopy";
  let description = [{
    Rewrites every `memref.copy` whose source or target is not contiguous
    (a slice of a larger buffer, as when a lane tile or a time chunk of
    ssm-tile or ssm-parallel-scan goes into its result) into `linalg.copy`.
    The LLVM lowering of memref.copy calls MLIR's generic `memrefCopy` for
    such copies, which walks the descriptor element by element: the
    selective scan b1 d16 n16 L 2^20 applied per block of 1024 steps (the
    blocks copied into the result) took 110 ms with it and 70 ms with loops,
    against 65 ms unblocked (one thread, this machine, one run each).
    convert-linalg-to-loops makes loops whose unit-stride innermost loop
    LLVM vectorises. Contiguous copies stay memcpy.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def SSMInlineAllocaScopes : Pass<"ssm-inline-alloca-scopes"> {
  let summary = "Inline memref.alloca_scope ops that contain no stack allocation";
  let description = [{
    convert-scf-to-openmp wraps each parallel loop body in a
    `memref.alloca_scope`. Upstream's canonicaliser inlines such a scope only
    when nothing in it may allocate on the stack, and it counts any op
    without memory-effect information as a possible allocation: the call to
    the ownership-based deallocation's `dealloc_helper` in the body of a
    tiled program is one. The scope then survives until scf-to-cf turns its
    body into several blocks, which the op does not allow. This pass inlines
    every scope whose body (outside nested scopes) has no `memref.alloca`
    and no `llvm.alloca`, which is the case for all code our lowerings and
    the bufferization produce.
  }];
}

#endif // SSM_CONVERSION_PASSES_TD
