//===- Projections.cpp - ssm-lower-projections: fast CPU projections ------===//
//
// The projections of the model ops (ssm.linear and the four of
// ssm.mamba_block after ssm-expand-blocks) are linalg.generic contractions
//
//   out[..., n] = init[..., n] + sum_k x[..., k] * w[n, k]
//
// with the weight in its checkpoint layout (rows = outputs). This pass
// lowers them to register-blocked vector code (see the pass description).
// Upstream's linalg tiling and vectorisation could produce a similar
// microkernel, but not the packing of w into panels inside the parallel loop
// nor the run-time choice between the prefill kernel and the decoding one
// (one token: a bandwidth-bound matrix-vector product that must not pack),
// so the loop nest is written here, in the style of SSMToVector.
//
//===----------------------------------------------------------------------===//

#include "../LoopBuilder.h"
#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERPROJECTIONS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Rows of x per register block of the prefill kernel; with two vectors of
/// outputs per row that is 16 accumulators, enough independent FMAs to
/// cover the FMA latency on both pipes, and few enough registers for the
/// weight vectors and the broadcasts (32 zmm, 16 ymm on AVX2: there the
/// block is 4 rows).
constexpr int64_t kRowsAvx512 = 8, kRowsAvx2 = 4;
/// Rows of x (b * L) from which the packed prefill kernel runs rather than
/// the decoding one, by default. Measured on Mamba-130m's decoding with B
/// sequences (bench/mamba_model.py --parts batch, docs/performance.md): with
/// f32 weights the two kernels break even at 8-16 rows; with bf16 ones the
/// decoding kernel streams half the bytes without packing and leads up to
/// 32 rows.
constexpr int64_t kPackedFromRowsF32 = 16, kPackedFromRows16 = 32;
/// With int8 weights the decoding kernel streams a quarter of float32's
/// bytes, and it leads up to ~64 rows (measured on one and two threads,
/// docs/performance.md, "8-bit weights").
constexpr int64_t kPackedFromRows8 = 64;
/// The prefill kernel's chunks of x: about this many bytes of rows, every
/// panel over one chunk before the next (so that the chunk stays in cache
/// from panel to panel), and, for long rows, this many k per pass of the
/// register blocks (so that the part of the panel they read stays in L2:
/// 256 KB of a panel of K x 32 floats). Measured at 2048 rows, one thread
/// (docs/projections.md, "Long rows"): K = 5120 -> 2560 155-170 GFLOP/s
/// unchunked, 181-184 with both; K = 8192 -> 4096 150 -> 180; rows chunks
/// of 4 or 16 MB and k chunks of 512 or 1024 no better.
constexpr int64_t kRowChunkBytes = int64_t(8) << 20;
constexpr int64_t kPanelChunkK = 2048;
/// The decoding kernel's register block: outputs (rows of w) per parallel
/// iteration, each with kDecodeUnroll accumulators over alternate vectors
/// of k: 16 independent FMA chains sharing each vector of x (8 on AVX2's
/// 16 ymm). Measured on Mamba-130m's matrices, one thread: 37 GB/s against
/// 31 for one output and one accumulator (docs/performance.md).
constexpr int64_t kDecodeRowsAvx512 = 8, kDecodeRowsAvx2 = 4;
constexpr int64_t kDecodeUnroll = 2;
/// Rows of x per block of the decoding kernel when several rows decode
/// together, each block sharing every vector of w it loads (with
/// kDecodeRowsAvx512 x kDecodeUnroll accumulators: 4 rows x 4 outputs).
constexpr int64_t kDecodeRowBlockAvx512 = 4, kDecodeRowBlockAvx2 = 2;

/// True for the contraction ssm-expand-blocks emits for a projection: f32
/// activations, and a weight of f32 or, widened in the body, bf16 or f16,
/// or int8 with a third input, the per-row scales (ssm.dequantize's q and
/// scale: the body converts the element and multiplies it by its row's
/// scale).
bool isProjection(linalg::GenericOp op) {
  int64_t inputs = op.getNumDpsInputs();
  if ((inputs != 2 && inputs != 3) || op.getNumDpsInits() != 1 ||
      !op.hasPureTensorSemantics())
    return false;
  auto outType = dyn_cast<RankedTensorType>(op.getResult(0).getType());
  if (!outType || !outType.getElementType().isF32())
    return false;
  int64_t r = outType.getRank();
  if (r != 2 && r != 3)
    return false;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  if (static_cast<int64_t>(iters.size()) != r + 1 ||
      iters.back() != utils::IteratorType::reduction ||
      llvm::any_of(ArrayRef(iters).drop_back(), [](utils::IteratorType t) {
        return t != utils::IteratorType::parallel;
      }))
    return false;
  MLIRContext *ctx = op.getContext();
  SmallVector<AffineExpr> lead;
  for (int64_t i = 0; i + 1 < r; ++i)
    lead.push_back(getAffineDimExpr(i, ctx));
  AffineExpr n = getAffineDimExpr(r - 1, ctx), k = getAffineDimExpr(r, ctx);
  SmallVector<AffineExpr> xe(lead), oe(lead);
  xe.push_back(k);
  oe.push_back(n);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[0] != AffineMap::get(r + 1, 0, xe, ctx) ||
      maps[1] != AffineMap::get(r + 1, 0, {n, k}, ctx) ||
      maps.back() != AffineMap::get(r + 1, 0, oe, ctx) ||
      (inputs == 3 && maps[2] != AffineMap::get(r + 1, 0, {n}, ctx)))
    return false;
  // Body: yield (in0 * in1) + out, with in1 (the weight) first widened
  // from 16 bits when it is stored so, or converted from int8 and scaled.
  Block &body = op.getRegion().front();
  Value a0 = body.getArgument(0), a1 = body.getArgument(1),
        acc = body.getArguments().back();
  if (!a0.getType().isF32())
    return false;
  auto it = body.begin();
  if (inputs == 3) {
    Value scale = body.getArgument(2);
    auto conv = dyn_cast<arith::SIToFPOp>(*it++);
    if (!a1.getType().isSignlessInteger(8) || !scale.getType().isF32() ||
        !conv || conv.getIn() != a1 || !conv.getType().isF32() ||
        it == body.end())
      return false;
    auto scaled = dyn_cast<arith::MulFOp>(*it++);
    if (!scaled ||
        !((scaled.getLhs() == conv.getResult() && scaled.getRhs() == scale) ||
          (scaled.getRhs() == conv.getResult() && scaled.getLhs() == scale)))
      return false;
    a1 = scaled.getResult();
  } else if (!a1.getType().isF32()) {
    auto ext = dyn_cast<arith::ExtFOp>(*it++);
    if (!(a1.getType().isBF16() || a1.getType().isF16()) || !ext ||
        ext.getIn() != a1 || !ext.getType().isF32())
      return false;
    a1 = ext.getResult();
  }
  if (std::distance(it, body.end()) != 3)
    return false;
  auto mul = dyn_cast<arith::MulFOp>(*it++);
  auto add = dyn_cast<arith::AddFOp>(*it);
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!mul || !add || !yield || yield.getValues().size() != 1 ||
      yield.getValues()[0] != add.getResult())
    return false;
  bool mulOk = (mul.getLhs() == a0 && mul.getRhs() == a1) ||
               (mul.getLhs() == a1 && mul.getRhs() == a0);
  bool addOk = (add.getLhs() == mul.getResult() && add.getRhs() == acc) ||
               (add.getRhs() == mul.getResult() && add.getLhs() == acc);
  return mulOk && addOk;
}

/// Where the kernel takes the values it adds to the contraction. The
/// projections of ssm-expand-blocks start from zeros (a linalg.fill) or from
/// a bias broadcast along the rows (a linalg.generic); materialising either
/// costs a write and a read of the whole output, which for a short
/// contraction (dt_proj: K = 48 against 1536 outputs per token) is more
/// memory traffic than the FMAs take time. Those two forms are read at
/// their source: a scalar, or one vector of the bias per output vector.
/// Any other init is read element by element as before.
struct InitSource {
  Value scalar; // linalg.fill's value
  Value bias;   // the 1-D bias tensor of a row broadcast
  Value full;   // any other init: the tensor itself
};

InitSource classifyInit(Value init) {
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    if (fill.getInputs().size() == 1 &&
        fill.getInputs()[0].getType().isF32())
      return {fill.getInputs()[0], Value(), Value()};
  if (auto bcast = init.getDefiningOp<linalg::GenericOp>()) {
    int64_t r = cast<RankedTensorType>(init.getType()).getRank();
    MLIRContext *ctx = bcast.getContext();
    Block &body = bcast.getRegion().front();
    auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
    if (bcast.getNumDpsInputs() == 1 && bcast.getNumDpsInits() == 1 &&
        bcast.hasPureTensorSemantics() && body.getOperations().size() == 1 &&
        yield && yield.getValues().size() == 1 &&
        yield.getValues()[0] == body.getArgument(0) &&
        llvm::all_of(bcast.getIteratorTypesArray(),
                     [](utils::IteratorType t) {
                       return t == utils::IteratorType::parallel;
                     }) &&
        bcast.getIndexingMapsArray()[0] ==
            AffineMap::get(r, 0, getAffineDimExpr(r - 1, ctx), ctx) &&
        bcast.getIndexingMapsArray()[1] == AffineMap::getMultiDimIdentityMap(r, ctx))
      return {Value(), bcast.getDpsInputs()[0], Value()};
  }
  return {Value(), Value(), init};
}

struct ProjectionToVector : OpRewritePattern<linalg::GenericOp> {
  ProjectionToVector(MLIRContext *ctx, int64_t width, int64_t packedFromRows)
      : OpRewritePattern(ctx), width(width), packedFromRows(packedFromRows) {}
  int64_t width;
  /// Rows of x (b * L) from which the packed prefill kernel runs; below, the
  /// decoding one.
  int64_t packedFromRows;

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!isProjection(op))
      return failure();
    Location loc = op.getLoc();
    LoopBuilder lb(rewriter, loc);
    auto outType = cast<RankedTensorType>(op.getResult(0).getType());
    int64_t r = outType.getRank();
    bool batched = r == 3;
    Type f32 = rewriter.getF32Type();
    VectorType vt = VectorType::get({width}, f32);
    int64_t rows = width >= 16 ? kRowsAvx512 : kRowsAvx2;
    int64_t nr = 2 * width; // outputs per panel: two vectors

    Value x = lb.toBuffer(op.getDpsInputs()[0], /*unitInner=*/true);
    Value w = lb.toBuffer(op.getDpsInputs()[1], /*unitInner=*/true);
    // An int8 weight's per-row scales (ssm.dequantize).
    Value scale = op.getNumDpsInputs() == 3
                      ? lb.toBuffer(op.getDpsInputs()[2], /*unitInner=*/true)
                      : Value();
    // A weight stored in 16 or 8 bits is widened as it is read: into the
    // f32 panels of the prefill kernel (once per element and panel, an int8
    // one times its row's scale there), and in registers by the decoding
    // kernel, which then streams half or a quarter of the bytes and scales
    // each int8 row's dot product once at its end.
    Type wElt = cast<MemRefType>(w.getType()).getElementType();
    VectorType wvt = VectorType::get({width}, wElt);
    auto widen = [&](Value v) -> Value {
      if (wElt.isF32())
        return v;
      auto in = dyn_cast<VectorType>(v.getType());
      Type to = in ? Type(VectorType::get(in.getShape(), f32)) : f32;
      if (scale)
        return arith::SIToFPOp::create(rewriter, loc, to, v);
      return arith::ExtFOp::create(rewriter, loc, to, v);
    };
    InitSource src = classifyInit(op.getDpsInits()[0]);
    Value init = src.full ? lb.toBuffer(src.full) : Value();
    Value bias = src.bias ? lb.toBuffer(src.bias, /*unitInner=*/true) : Value();
    SmallVector<Value> outSizes;
    for (int64_t i = 0; i + 1 < r; ++i)
      outSizes.push_back(lb.dim(x, i));
    outSizes.push_back(lb.dim(w, 0));
    Value out = lb.alloc(outType, outSizes);

    Value nB = batched ? lb.dim(x, 0) : lb.idx(1);
    Value M = lb.dim(x, r - 2), K = lb.dim(x, r - 1), N = lb.dim(w, 0);
    Value zero = lb.flt(f32, 0.0);
    // The padding of a masked read of `elt`.
    auto padOf = [&](Type elt) -> Value {
      if (isa<IntegerType>(elt))
        return arith::ConstantOp::create(rewriter, loc,
                                         rewriter.getIntegerAttr(elt, 0));
      return elt == f32 ? zero : lb.flt(elt, 0.0);
    };
    auto index = [&](Value bi, Value m, Value last) {
      return batched ? SmallVector<Value>{bi, m, last}
                     : SmallVector<Value>{m, last};
    };
    // The lanes of `mem` from idx along its last dimension, zeros past its
    // end; a 16-bit weight's widened.
    auto lanes = [&](Value mem, ArrayRef<Value> idx) -> Value {
      auto type = cast<MemRefType>(mem.getType());
      int64_t rank = type.getRank();
      AffineMap map = AffineMap::get(rank, 0,
                                     rewriter.getAffineDimExpr(rank - 1),
                                     rewriter.getContext());
      Type elt = type.getElementType();
      Value v = vector::TransferReadOp::create(
          rewriter, loc, VectorType::get({width}, elt), mem, idx, padOf(elt),
          map, ArrayRef<bool>{false});
      return elt == f32 ? v : widen(v);
    };
    auto writeLanes = [&](Value v, Value mem, ArrayRef<Value> idx) {
      int64_t rank = cast<MemRefType>(mem.getType()).getRank();
      AffineMap map = AffineMap::get(rank, 0,
                                     rewriter.getAffineDimExpr(rank - 1),
                                     rewriter.getContext());
      vector::TransferWriteOp::create(rewriter, loc, v, mem, idx, map,
                                      ArrayRef<bool>{false});
    };
    auto parallel = [&](Value ub, function_ref<void(Value)> body) {
      auto par = scf::ParallelOp::create(rewriter, loc, ValueRange{lb.idx(0)},
                                         ValueRange{ub}, ValueRange{lb.idx(1)});
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(par.getBody());
      body(par.getInductionVars()[0]);
    };
    auto ceilDiv = [&](Value a, int64_t d) {
      return arith::DivUIOp::create(
          rewriter, loc,
          arith::AddIOp::create(rewriter, loc, a, lb.idx(d - 1)), lb.idx(d));
    };
    auto roundDown = [&](Value a, int64_t d) -> Value {
      return arith::MulIOp::create(
          rewriter, loc, arith::DivUIOp::create(rewriter, loc, a, lb.idx(d)),
          lb.idx(d));
    };

    Value totalRows = arith::MulIOp::create(rewriter, loc, nB, M);
    // A flat row of x (b * L rows) as its batch element and row.
    auto rowAt = [&](Value row) -> std::pair<Value, Value> {
      if (!batched)
        return {lb.idx(0), row};
      return {arith::DivUIOp::create(rewriter, loc, row, M),
              arith::RemUIOp::create(rewriter, loc, row, M)};
    };
    // The flat rows r0 .. r0 + count - 1 as (batch element, row) pairs.
    auto rowsFrom = [&](Value r0, int64_t count) {
      SmallVector<std::pair<Value, Value>> at;
      for (int64_t i = 0; i < count; ++i)
        at.push_back(
            rowAt(arith::AddIOp::create(rewriter, loc, r0, lb.idx(i))));
      return at;
    };
    // Calls body(r0, count) on the flat rows in blocks of `size` rows (a
    // power of two), then on the rest as at most one block of each smaller
    // power of two (the remainder's bits): a kernel's register blocks need
    // a static count of rows, and a block of one row where 4 would fit runs
    // a quarter as many independent FMA chains.
    // The rows are those of [from, to) (default: all).
    auto forRowBlocks = [&](int64_t size,
                            function_ref<void(Value, int64_t)> body,
                            Value from = {}, Value to = {}) {
      Value full;
      if (!from) {
        from = lb.idx(0);
        to = totalRows;
        full = roundDown(totalRows, size);
      } else {
        full = arith::AddIOp::create(
            rewriter, loc, from,
            roundDown(arith::SubIOp::create(rewriter, loc, to, from), size));
      }
      scf::ForOp::create(rewriter, loc, from, full, lb.idx(size), ValueRange{},
                         [&](OpBuilder &nb, Location l, Value r0, ValueRange) {
                           OpBuilder::InsertionGuard g(rewriter);
                           rewriter.setInsertionPointToStart(
                               nb.getInsertionBlock());
                           body(r0, size);
                           scf::YieldOp::create(rewriter, loc);
                         });
      Value r = full;
      Value left = arith::SubIOp::create(rewriter, loc, to, full);
      for (int64_t count = size / 2; count >= 1; count /= 2) {
        Value has = arith::CmpIOp::create(
            rewriter, loc, arith::CmpIPredicate::ne,
            arith::AndIOp::create(rewriter, loc, left, lb.idx(count)),
            lb.idx(0));
        auto part = scf::IfOp::create(rewriter, loc, has);
        {
          OpBuilder::InsertionGuard g(rewriter);
          rewriter.setInsertionPointToStart(&part.getThenRegion().front());
          body(r, count);
        }
        if (count > 1)
          r = arith::SelectOp::create(
              rewriter, loc, has,
              arith::AddIOp::create(rewriter, loc, r, lb.idx(count)), r);
      }
    };
    Value packed = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::uge, totalRows,
        lb.idx(packedFromRows ? packedFromRows
               : wElt.isF32() ? kPackedFromRowsF32
               : scale        ? kPackedFromRows8
                              : kPackedFromRows16));
    auto choice = scf::IfOp::create(rewriter, loc, packed, /*else=*/true);
    {
      // Prefill: for each chunk of rows of x, each parallel iteration packs
      // a panel of nr rows of w, transposed (panel p: [k][j] = w[n0 + j][k],
      // zeros past N), and runs the register blocks of `rows` x nr outputs
      // over every row of the chunk.
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(&choice.getThenRegion().front());
      // Each iteration packs into its own buffer of K x nr floats (96 KB at
      // K = 768), freed at the end of the iteration by the buffer
      // deallocation pipeline: the workspace is one panel per thread, not a
      // transposed copy of all of w (154 MB for Mamba-130m's LM head).
      Value nPanels = ceilDiv(N, nr);
      auto panelType = MemRefType::get({ShapedType::kDynamic, nr}, f32);
      // The rows of x in chunks of about kRowChunkBytes (a multiple of
      // `rows` rows, at least one block), every panel over one chunk before
      // the next: each panel walks its chunk of x, which stays in cache from
      // panel to panel, where a walk over all of x would stream it from
      // memory once per panel. A panel is packed once per chunk.
      Value kBytes = arith::MulIOp::create(
          rewriter, loc, arith::MaxUIOp::create(rewriter, loc, K, lb.idx(1)),
          lb.idx(4));
      Value chunkRows = arith::MaxUIOp::create(
          rewriter, loc,
          roundDown(arith::DivUIOp::create(rewriter, loc,
                                           lb.idx(kRowChunkBytes), kBytes),
                    rows),
          lb.idx(rows));
      auto chunks =
          scf::ForOp::create(rewriter, loc, lb.idx(0), totalRows, chunkRows);
      OpBuilder::InsertionGuard chunkGuard(rewriter);
      rewriter.setInsertionPointToStart(chunks.getBody());
      Value c0 = chunks.getInductionVar();
      Value c1 = arith::MinUIOp::create(
          rewriter, loc, arith::AddIOp::create(rewriter, loc, c0, chunkRows),
          totalRows);
      parallel(nPanels, [&](Value p) {
        Value panel =
            memref::AllocOp::create(rewriter, loc, panelType, ValueRange{K});
        Value n0 = arith::MulIOp::create(rewriter, loc, p, lb.idx(nr));
        // The pack moves width x width blocks: `width` rows of w read as
        // vectors along k, widened, transposed in registers (16 x 16
        // shuffles with AVX-512, the pipeline's transpose lowering), and
        // stored as `width` rows of the panel. Written element by element,
        // the transposed stores were vectorised by LLVM into scatters, a few
        // cycles per weight: 40% of a decoding step at 8 sequences, where
        // the pack is amortised over 8 rows of x only (docs/projections.md).
        // Rows of w past N read as zeros; the last block of k is masked.
        auto packBlocks = [&](bool rowsInside) {
          VectorType wBlock = VectorType::get({width, width}, wElt);
          VectorType block = VectorType::get({width, width}, f32);
          Value kFull = roundDown(K, width);
          for (int64_t j0 = 0; j0 < nr; j0 += width) {
            Value n = arith::AddIOp::create(rewriter, loc, n0, lb.idx(j0));
            // An int8 block's rows times their scales: after the
            // transpose, lane j of every row of the block is row n + j's.
            Value rowScales =
                scale ? vector::BroadcastOp::create(rewriter, loc, block,
                                                    lanes(scale, {n}))
                      : Value();
            auto move = [&](Value k0, bool kInside) {
              Value blk = vector::TransferReadOp::create(
                  rewriter, loc, wBlock, w, ValueRange{n, k0}, padOf(wElt),
                  ArrayRef<bool>{rowsInside, kInside});
              if (!wElt.isF32())
                blk = widen(blk);
              blk = vector::TransposeOp::create(rewriter, loc, blk,
                                                ArrayRef<int64_t>{1, 0});
              if (rowScales)
                blk = arith::MulFOp::create(rewriter, loc, blk, rowScales);
              vector::TransferWriteOp::create(rewriter, loc, blk, panel,
                                              ValueRange{k0, lb.idx(j0)},
                                              ArrayRef<bool>{kInside, true});
            };
            scf::ForOp::create(
                rewriter, loc, lb.idx(0), kFull, lb.idx(width), ValueRange{},
                [&](OpBuilder &nb, Location l, Value k0, ValueRange) {
                  OpBuilder::InsertionGuard g(rewriter);
                  rewriter.setInsertionPointToStart(nb.getInsertionBlock());
                  move(k0, /*kInside=*/true);
                  scf::YieldOp::create(rewriter, loc);
                });
            Value kTail = arith::CmpIOp::create(
                rewriter, loc, arith::CmpIPredicate::ult, kFull, K);
            auto tail = scf::IfOp::create(rewriter, loc, kTail);
            OpBuilder::InsertionGuard g(rewriter);
            rewriter.setInsertionPointToStart(&tail.getThenRegion().front());
            move(kFull, /*kInside=*/false);
          }
        };
        Value wholePanel = arith::CmpIOp::create(
            rewriter, loc, arith::CmpIPredicate::ule,
            arith::AddIOp::create(rewriter, loc, n0, lb.idx(nr)), N);
        auto packIf = scf::IfOp::create(rewriter, loc, wholePanel, true);
        {
          OpBuilder::InsertionGuard g(rewriter);
          rewriter.setInsertionPointToStart(&packIf.getThenRegion().front());
          packBlocks(/*rowsInside=*/true);
          rewriter.setInsertionPointToStart(&packIf.getElseRegion().front());
          packBlocks(/*rowsInside=*/false);
        }

        // What a scalar or bias init adds to the panel's two output vectors
        // (once per panel; the masked read zeroes the lanes past N).
        SmallVector<Value, 2> initLanes;
        for (int64_t h = 0; h < 2 && !init; ++h) {
          if (src.scalar) {
            initLanes.push_back(
                vector::BroadcastOp::create(rewriter, loc, vt, src.scalar));
            continue;
          }
          Value n = arith::AddIOp::create(rewriter, loc, n0, lb.idx(h * width));
          initLanes.push_back(lanes(bias, {n}));
        }

        // The sums over k in [k0, k1) of `count` rows from the flat row r0
        // (the rows of every batch element in turn, so that a batch of
        // single tokens fills the register blocks as a longer sequence
        // does), added to init when `first` is null or true, else to what
        // `out` holds (the chunks of k before), and stored.
        auto block = [&](Value r0, int64_t count, Value k0, Value k1,
                         Value first) {
          SmallVector<std::pair<Value, Value>> at = rowsFrom(r0, count);
          SmallVector<Value> accs(2 * count, lb.flt(vt, 0.0));
          auto loop = scf::ForOp::create(
              rewriter, loc, k0, k1, lb.idx(1), accs,
              [&](OpBuilder &nb, Location l, Value k, ValueRange args) {
                OpBuilder::InsertionGuard g(rewriter);
                rewriter.setInsertionPointToStart(nb.getInsertionBlock());
                Value w0 = vector::LoadOp::create(
                    rewriter, loc, vt, panel, ValueRange{k, lb.idx(0)});
                Value w1 = vector::LoadOp::create(
                    rewriter, loc, vt, panel, ValueRange{k, lb.idx(width)});
                SmallVector<Value> next;
                for (int64_t i = 0; i < count; ++i) {
                  auto [bi, m] = at[i];
                  Value xs = vector::BroadcastOp::create(
                      rewriter, loc, vt, lb.load(x, index(bi, m, k)));
                  next.push_back(vector::FMAOp::create(rewriter, loc, xs, w0,
                                                       args[2 * i]));
                  next.push_back(vector::FMAOp::create(rewriter, loc, xs, w1,
                                                       args[2 * i + 1]));
                }
                scf::YieldOp::create(rewriter, loc, next);
              });
          for (int64_t i = 0; i < count; ++i) {
            Value bi = at[i].first, m = at[i].second;
            for (int64_t h = 0; h < 2; ++h) {
              Value n = arith::AddIOp::create(rewriter, loc, n0,
                                              lb.idx(h * width));
              auto initOf = [&] {
                return init ? lanes(init, index(bi, m, n)) : initLanes[h];
              };
              Value base;
              if (!first) {
                base = initOf();
              } else {
                auto pick = scf::IfOp::create(rewriter, loc, TypeRange{vt},
                                              first, /*withElse=*/true);
                OpBuilder::InsertionGuard g(rewriter);
                rewriter.setInsertionPointToStart(
                    &pick.getThenRegion().front());
                scf::YieldOp::create(rewriter, loc, initOf());
                rewriter.setInsertionPointToStart(
                    &pick.getElseRegion().front());
                scf::YieldOp::create(rewriter, loc,
                                     lanes(out, index(bi, m, n)));
                base = pick.getResult(0);
              }
              writeLanes(arith::AddFOp::create(rewriter, loc,
                                               loop.getResult(2 * i + h), base),
                         out, index(bi, m, n));
            }
          }
        };
        // Blocks of `rows` rows, then of 4, 2 and 1 for the rest; over k
        // in chunks of kPanelChunkK when K may be longer, so that the part
        // of the panel the blocks read stays in L2 (the whole panel is
        // 1 MB, L2's size, at K = 8192).
        int64_t staticK = cast<MemRefType>(x.getType()).getDimSize(r - 1);
        if (!ShapedType::isDynamic(staticK) && staticK <= kPanelChunkK) {
          forRowBlocks(
              rows,
              [&](Value r0, int64_t count) {
                block(r0, count, lb.idx(0), K, Value());
              },
              c0, c1);
          return;
        }
        scf::ForOp::create(
            rewriter, loc, lb.idx(0), K, lb.idx(kPanelChunkK), ValueRange{},
            [&](OpBuilder &nb, Location l, Value k0, ValueRange) {
              OpBuilder::InsertionGuard g(rewriter);
              rewriter.setInsertionPointToStart(nb.getInsertionBlock());
              Value k1 = arith::MinUIOp::create(
                  rewriter, loc,
                  arith::AddIOp::create(rewriter, loc, k0,
                                        lb.idx(kPanelChunkK)),
                  K);
              Value first = arith::CmpIOp::create(
                  rewriter, loc, arith::CmpIPredicate::eq, k0, lb.idx(0));
              forRowBlocks(
                  rows,
                  [&](Value r0, int64_t count) {
                    block(r0, count, k0, k1, first);
                  },
                  c0, c1);
              scf::YieldOp::create(rewriter, loc);
            });
      });

      // Decoding (few rows): every output a dot product of a row of x with
      // a row of w, both contiguous; w is read once, which is what bounds
      // this case. One output with one accumulator is a chain of K / width
      // dependent FMAs (4 cycles each) and 16 dependent scalar adds, which
      // reads w below the memory bandwidth; so each parallel iteration takes
      // `group` outputs, and the sums are reassociated (a shuffle tree). The
      // order of the additions differs from the prefill kernel's by rounding
      // only. A single row has kDecodeUnroll accumulators per output; several
      // rows (a batch of sequences decoding together) are taken 4 at a time
      // (kDecodeRowBlockAvx512; 2 with AVX2) with one accumulator per output
      // and row, so that each vector of w, loaded and widened once, serves
      // every row of the block: the group's rows of w are read from memory
      // for the first block and from L1 for the others.
      int64_t group = width >= 16 ? kDecodeRowsAvx512 : kDecodeRowsAvx2;
      rewriter.setInsertionPointToStart(&choice.getElseRegion().front());
      Value kUnrolled = roundDown(K, width * kDecodeUnroll);
      Value kFull = roundDown(K, width);
      // `count` outputs from n0 for the rows `at` of x, `ua` accumulators per
      // output and row (over alternate vectors of k): unrolled pairs of full
      // vectors of k, the full vector left, then at most one masked step for
      // the tail of k.
      auto dots = [&](ArrayRef<std::pair<Value, Value>> at, Value n0,
                      int64_t count, int64_t ua) {
        int64_t nRows = at.size();
        int64_t u = kDecodeUnroll;
        auto accOf = [&](int64_t i, int64_t r, int64_t j) {
          return (i * nRows + r) * ua + j % ua;
        };
        SmallVector<Value> accs(count * nRows * ua, lb.flt(vt, 0.0));
        auto step = [&](Value from, Value to, int64_t vectors, ValueRange init,
                        bool masked) {
          return scf::ForOp::create(
              rewriter, loc, from, to, lb.idx(width * vectors), init,
              [&](OpBuilder &nb, Location l, Value k0, ValueRange args) {
                OpBuilder::InsertionGuard g(rewriter);
                rewriter.setInsertionPointToStart(nb.getInsertionBlock());
                auto read = [&](Value mem, ArrayRef<Value> idx) -> Value {
                  if (masked)
                    return lanes(mem, idx);
                  if (mem == w)
                    return widen(
                        vector::LoadOp::create(rewriter, loc, wvt, mem, idx));
                  return vector::LoadOp::create(rewriter, loc, vt, mem, idx);
                };
                auto xAt = [&](int64_t r, Value k) {
                  return index(at[r].first, at[r].second, k);
                };
                SmallVector<Value> next(args.begin(), args.end());
                // A 16-bit w's rows are short streams for the hardware
                // prefetchers (1.5 KB at K = 768): the unrolled step asks
                // for the line it reads of the row `group` ahead, the next
                // group's (the last row at most).
                auto prefetchAhead = [&](Value n) {
                  if (wElt.isF32() || masked || vectors != u)
                    return;
                  Value ahead = arith::MinUIOp::create(
                      rewriter, loc,
                      arith::AddIOp::create(rewriter, loc, n, lb.idx(group)),
                      arith::SubIOp::create(rewriter, loc, N, lb.idx(1)));
                  memref::PrefetchOp::create(rewriter, loc, w,
                                             ValueRange{ahead, k0},
                                             /*isWrite=*/false,
                                             /*localityHint=*/3,
                                             /*isDataCache=*/true);
                };
                if (wElt.isBF16() && vectors == 2 && u == 2) {
                  // bf16 pairs: one load of 2 * width weights as width
                  // 32-bit pairs; a bfloat16 is the high half of its
                  // float32, so a shift widens the even ones and a mask the
                  // odd ones, against x's even and odd lanes (two shuffles
                  // per row of x, shared by the outputs). A widening load
                  // and a shift per width weights bounded the kernel by the
                  // core, not by memory (docs/projections.md).
                  SmallVector<int64_t> evens, odds;
                  for (int64_t e = 0; e < width; ++e) {
                    evens.push_back(2 * e);
                    odds.push_back(2 * e + 1);
                  }
                  SmallVector<Value> xe, xo;
                  Value k1 =
                      arith::AddIOp::create(rewriter, loc, k0, lb.idx(width));
                  for (int64_t r = 0; r < nRows; ++r) {
                    Value x0 = read(x, xAt(r, k0));
                    Value x1 = read(x, xAt(r, k1));
                    xe.push_back(vector::ShuffleOp::create(rewriter, loc, x0,
                                                           x1, evens));
                    xo.push_back(
                        vector::ShuffleOp::create(rewriter, loc, x0, x1, odds));
                  }
                  VectorType pairs =
                      VectorType::get({width}, rewriter.getI32Type());
                  Value shift = arith::ConstantOp::create(
                      rewriter, loc,
                      DenseElementsAttr::get(pairs, APInt(32, 16)));
                  Value high = arith::ConstantOp::create(
                      rewriter, loc,
                      DenseElementsAttr::get(pairs, APInt(32, 0xFFFF0000u)));
                  for (int64_t i = 0; i < count; ++i) {
                    Value n =
                        arith::AddIOp::create(rewriter, loc, n0, lb.idx(i));
                    prefetchAhead(n);
                    Value bits = vector::BitCastOp::create(
                        rewriter, loc, pairs,
                        vector::LoadOp::create(
                            rewriter, loc, VectorType::get({2 * width}, wElt),
                            w, ValueRange{n, k0}));
                    Value even = vector::BitCastOp::create(
                        rewriter, loc, vt,
                        arith::ShLIOp::create(rewriter, loc, bits, shift));
                    Value odd = vector::BitCastOp::create(
                        rewriter, loc, vt,
                        arith::AndIOp::create(rewriter, loc, bits, high));
                    for (int64_t r = 0; r < nRows; ++r) {
                      int64_t e = accOf(i, r, 0), o = accOf(i, r, 1);
                      next[e] = vector::FMAOp::create(rewriter, loc, xe[r],
                                                      even, next[e]);
                      next[o] = vector::FMAOp::create(rewriter, loc, xo[r], odd,
                                                      next[o]);
                    }
                  }
                  scf::YieldOp::create(rewriter, loc, next);
                  return;
                }
                for (int64_t j = 0; j < vectors; ++j) {
                  Value k = arith::AddIOp::create(rewriter, loc, k0,
                                                  lb.idx(j * width));
                  SmallVector<Value> xs;
                  for (int64_t r = 0; r < nRows; ++r)
                    xs.push_back(read(x, xAt(r, k)));
                  for (int64_t i = 0; i < count; ++i) {
                    Value n =
                        arith::AddIOp::create(rewriter, loc, n0, lb.idx(i));
                    if (j == 0)
                      prefetchAhead(n);
                    Value wv = read(w, {n, k});
                    for (int64_t r = 0; r < nRows; ++r) {
                      int64_t a = accOf(i, r, j);
                      next[a] = vector::FMAOp::create(rewriter, loc, xs[r], wv,
                                                      next[a]);
                    }
                  }
                }
                scf::YieldOp::create(rewriter, loc, next);
              });
        };
        ValueRange sums =
            step(lb.idx(0), kUnrolled, u, accs, /*masked=*/false).getResults();
        sums = step(kUnrolled, kFull, 1, sums, /*masked=*/false).getResults();
        sums = step(kFull, K, 1, sums, /*masked=*/true).getResults();
        for (int64_t i = 0; i < count; ++i) {
          Value n = arith::AddIOp::create(rewriter, loc, n0, lb.idx(i));
          for (int64_t r = 0; r < nRows; ++r) {
            auto [bi, m] = at[r];
            Value acc = sums[accOf(i, r, 0)];
            for (int64_t j = 1; j < ua; ++j)
              acc = arith::AddFOp::create(rewriter, loc, acc,
                                          sums[accOf(i, r, j)]);
            Value dot = vector::ReductionOp::create(
                rewriter, loc, vector::CombiningKind::ADD, acc,
                arith::FastMathFlags::reassoc);
            // sum_k x q s = s sum_k x q: an int8 row's scale once per dot
            // product (the order differs from the body's by rounding).
            if (scale)
              dot = arith::MulFOp::create(rewriter, loc, dot,
                                          lb.load(scale, {n}));
            Value start = init         ? lb.load(init, index(bi, m, n))
                          : src.scalar ? src.scalar
                                       : lb.load(bias, {n});
            Value sum = arith::AddFOp::create(rewriter, loc, dot, start);
            lb.store(sum, out, index(bi, m, n));
          }
        }
      };
      // The group's `group` outputs for every row: blocks of blockRows rows,
      // each as sub-blocks of perBlock outputs so that the accumulators
      // (group * kDecodeUnroll) fit the registers, then the rest as a block
      // of each smaller power of two; a lone row has kDecodeUnroll
      // accumulators per output.
      int64_t blockRows =
          width >= 16 ? kDecodeRowBlockAvx512 : kDecodeRowBlockAvx2;
      auto groupRows = [&](Value n0) {
        int64_t accumulators = group * kDecodeUnroll;
        auto rowBlock = [&](Value r0, int64_t nRows) {
          if (nRows == 1) {
            dots(rowsFrom(r0, 1), n0, group, kDecodeUnroll);
            return;
          }
          int64_t perBlock = std::min(group, accumulators / nRows);
          for (int64_t i0 = 0; i0 < group; i0 += perBlock)
            dots(rowsFrom(r0, nRows),
                 arith::AddIOp::create(rewriter, loc, n0, lb.idx(i0)), perBlock,
                 1);
        };
        forRowBlocks(blockRows, rowBlock);
      };
      parallel(ceilDiv(N, group), [&](Value g) {
        Value n0 = arith::MulIOp::create(rewriter, loc, g, lb.idx(group));
        Value whole = arith::CmpIOp::create(
            rewriter, loc, arith::CmpIPredicate::ule,
            arith::AddIOp::create(rewriter, loc, n0, lb.idx(group)), N);
        auto split = scf::IfOp::create(rewriter, loc, whole, /*else=*/true);
        OpBuilder::InsertionGuard g2(rewriter);
        rewriter.setInsertionPointToStart(&split.getThenRegion().front());
        groupRows(n0);
        // The last group, short of `group` outputs: one at a time.
        rewriter.setInsertionPointToStart(&split.getElseRegion().front());
        auto rest = scf::ForOp::create(rewriter, loc, n0, N, lb.idx(1));
        rewriter.setInsertionPoint(rest.getBody()->getTerminator());
        Value n = rest.getInductionVar();
        lb.forLoop(totalRows, [&](Value row) {
          dots(rowsFrom(row, 1), n, 1, kDecodeUnroll);
        });
      });
    }
    // The fill or broadcast that built init, dead now unless shared, goes
    // with the driver's dead-code elimination.
    rewriter.replaceOp(op, lb.toTensor(outType, out));
    return success();
  }
};

struct SSMLowerProjectionsPass
    : ssm::impl::SSMLowerProjectionsBase<SSMLowerProjectionsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (vectorWidth < 1 || vectorWidth > kMaxVectorWidth) {
      getOperation()->emitError()
          << "ssm-lower-projections: vector-width must be 1 to "
          << kMaxVectorWidth << ", got " << static_cast<int64_t>(vectorWidth);
      return signalPassFailure();
    }
    if (packedFromRows < 0) {
      getOperation()->emitError("ssm-lower-projections: packed-from-rows must "
                                "not be negative");
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<ProjectionToVector>(&getContext(), vectorWidth,
                                     packedFromRows);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      return signalPassFailure();
  }
};

} // namespace
