//===- Passes.td - ssm dialect transformations -------------*- tablegen -*-===//

#ifndef SSM_DIALECT_SSM_TRANSFORMS_PASSES_TD
#define SSM_DIALECT_SSM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SSMExpandBlocks : Pass<"ssm-expand-blocks"> {
  let summary = "Expand model-level ops into the core ssm ops and linalg";
  let description = [{
    Rewrites ssm.mamba_block into its projections (linalg.generic
    contractions of the token-major activations with the weights in their
    checkpoint layout), ssm.causal_conv1d (token_major, SiLU) and
    ssm.selective_scan (token_major, softplus, D skip, SiLU(z) gate), and
    ssm.rmsnorm into a row reduction and an elementwise map.
    ssm.mamba2_block becomes the same core ops with per-head dt, A and D
    broadcast over the head's channels, grouped B and C, and a gated
    RMSNorm; ssm.s4d a selective scan with a constant step, time-invariant
    B and C rescaled to ZOH (complex for S4D-Lin); ssm.linear_attention a
    selective scan with A = 0, unit steps, B = k and C = q. The conv and
    ssm states pass through to the core ops' `conv_state` / `h0` operands
    and `final_state` / `last_state` results. A weight that ssm.dequantize
    produces is read as its int8 rows and per-row scales inside the
    projection or the embedding that uses it; an ssm.dequantize with other
    users becomes an elementwise map. Runs first in --ssm-to-llvm.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::complex::ComplexDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def SSMRuntimeVerification : Pass<"ssm-runtime-verification"> {
  let summary = "Check at run time the shapes the verifiers could not check";
  let description = [{
    An op's verifier checks every relation between its operands' sizes that
    the types fix; a dynamic size (`?`) is known only when the program runs,
    and an input that disagrees with the others would make the lowered code
    read or write out of bounds. This pass inserts before every ssm op the
    checks of those relations (its RuntimeVerifiableOpInterface, from the
    same shape description as its verifier) as `cf.assert` ops, whose
    message says where and what, in the verifier's words:

      file.mlir:3:8: 'ssm.selective_scan' op operand 'delta' (b, d, L) in
      channel_first layout: its L (dimension 2) differs from the L of 'u'

    ssm.embedding also checks that every token id picks a row of its table
    (a loop over the ids). Otherwise a program whose sizes are all static
    gets no checks. The pipelines run
    it first; ssm-host-to-llvm lowers the asserts to a call of the runtime's
    `ssm_runtime_check_failed`, which abandons the call with that error
    (docs/runtime-checks.md). Upstream ops (linalg, tensor) keep to
    upstream's generate-runtime-verification, which also calls the ssm
    ops' interface, with its own messages.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def SSMTile : Pass<"ssm-tile"> {
  let summary = "Tile ssm ops over batch x channel tiles and time chunks";
  let description = [{
    Tiles every ssm.selective_scan, ssm.scan and ssm.causal_conv1d on
    tensors in two independent steps:

    * lanes: the op's TilingInterface (batch x channel for the scan and the
      conv, the dimensions other than `dim` for ssm.scan) through upstream's
      `scf::tileUsingSCF`, with `tile-sizes` (0 leaves a dimension whole) and
      an `scf.forall` (or `scf.for` with `loop=for`) over the tiles;
    * time: with `time-chunk=T`, the op (or each tile) becomes an `scf.for`
      over chunks of T steps whose iteration arguments carry the state from
      one chunk to the next: the selective scan's `h0` / `last_state`, the
      conv's `conv_state` / `final_state`, ssm.scan's `init` and the last
      value of the chunk. The last chunk may be shorter. A reverse ssm.scan
      walks its chunks from the end.

    The result equals the untiled op. Grouped B/C require channel tiles that
    are multiples of the group size; an op that cannot be tiled as asked is
    reported with an error.
  }];
  let options = [
    ListOption<"tileSizes", "tile-sizes", "int64_t",
               "Tile sizes of the op's lanes (batch, channel for the scan and "
               "the conv); missing or 0: untiled">,
    Option<"timeChunk", "time-chunk", "int64_t", /*default=*/"0",
           "Steps per time chunk; 0: time is not cut">,
    Option<"loopKind", "loop", "std::string", /*default=*/"\"forall\"",
           "Loop over lane tiles: forall or for">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SSMParallelScan : Pass<"ssm-parallel-scan"> {
  let summary = "Parallelise selective scans and ssm.scan over time";
  let description = [{
    Rewrites ssm.selective_scan and ssm.scan (forward or reverse, last_only
    or not) on tensors into a scan parallel over time chunks, for sequences
    whose lanes cannot occupy the threads (one long sequence, few channels):

    1. chunks in parallel (`scf.forall`): chunk 0 from the initial state,
       the others from zeros, each recording its state at the end of every
       block of `block` steps;
    2. chunks 1.. in parallel: chunk k recomputed from the final state of
       chunk k - 1, block by block, until its state at a block's end equals
       the one recorded there bit for bit; from there on the first run
       already computed what the sequential scan computes;
    3. chunks 2.. in order: a chunk whose recompute never met its first run
       ended elsewhere, so the next chunk is recomputed from its true end.

    The op itself is applied per block (temporaries stay O(block)). The two
    runs of a chunk differ by their initial states' difference carried
    through the decays, so they meet after about ln(2^24) / |dt A| steps of
    the slowest lane: a small part of a long chunk with Mamba's decays; with
    decays of exactly 1 never, and the chunk is recomputed whole (correct,
    and no faster than the sequential scan). The result is bit for bit the
    sequential scan's on the same lowering.

    Chunks: `chunks=N` forces N; otherwise the cost model parallelises over
    time only when the op's lane tiles (batch x ceil(d / lane-width) for the
    selective scan, one for ssm.scan, whose lowering is one sequential loop
    nest) are fewer than `num-threads`, L is static, and each of
    min(num-threads, L / min-chunk-length) >= 2 chunks gets at least
    min-chunk-length steps. See docs/parallel-scan.md.
  }];
  let options = [
    Option<"numThreads", "num-threads", "unsigned", /*default=*/"1",
           "Threads the program will run on (the cost model)">,
    Option<"chunks", "chunks", "int64_t", /*default=*/"0",
           "Time chunks; 0: from the cost model">,
    Option<"minChunkLength", "min-chunk-length", "int64_t", /*default=*/"65536",
           "Fewest steps per chunk the cost model allows (a recompute takes "
           "some 10^4 steps with Mamba's slowest decays)">,
    Option<"laneWidth", "lane-width", "int64_t", /*default=*/"16",
           "Channels per tile of the selective scan's fast path (16 AVX-512, "
           "8 AVX2), to count its tiles">,
    Option<"block", "block", "int64_t", /*default=*/"1024",
           "Steps per block inside a chunk (the op applied per block)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def SSMDropEquivalentResults
    : Pass<"ssm-drop-equivalent-results", "::mlir::ModuleOp"> {
  let summary = "Drop a private function's buffer results that are its "
                "arguments";
  let description = [{
    After bufferization with function boundaries: a result of a private
    function that is one of its arguments (possibly through memref.cast),
    the buffer it updated in place, is erased from the function and its
    calls, which use the operand instead. Upstream's
    drop-equivalent-buffer-results does the same to every function, public
    ones too, which would change the signature the runner and a C caller
    call; this pass leaves public functions alone. Runs before the buffer
    deallocation pipeline, which would otherwise clone each such result
    (the function does not own its argument). A function whose symbol has
    a use other than a func.call is left alone.

    With `public-functions`, public functions lose such results too (the
    runner's convention: it hands the writable arguments in and reads them
    back, instead of a clone of each per call, 18.9 MB per token for a
    Mamba-2's states). Each function that lost results records, for every
    result it had, the argument that result was or -1, as the attribute
    `ssm.in_place_results` (array<i64>), which the LLVM function keeps.
  }];
  let options = [
    Option<"publicFunctions", "public-functions", "bool", /*default=*/"false",
           "Also drop public functions' results that are their arguments, "
           "recording them in ssm.in_place_results">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

#endif // SSM_DIALECT_SSM_TRANSFORMS_PASSES_TD
