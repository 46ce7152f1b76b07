//===- ParallelScan.cpp - ssm-parallel-scan: scans parallel over time -----===//
//
// See the pass description in Passes.td and docs/parallel-scan.md.
//
// Every chunk runs at once, chunk 0 from the initial state and the others
// from zeros, keeping its state at the end of every block of `block` steps.
// Then every chunk k >= 1 is recomputed from the state chunk k - 1 ended
// with, block by block, until its state at a block's end is bit for bit the
// one the first run had there: from that state on the first run computed
// exactly what a sequential scan computes, so the rest of the chunk is
// already right. The two runs differ by the initial states' difference
// carried through the decays, so they meet after about ln(2^24) / |dt A|
// steps of the slowest lane (plus the wait for the last bits to merge),
// usually a small part of a chunk; with decays of exactly 1 they never meet
// and the whole chunk is recomputed. A chunk whose recompute reached its
// end without meeting the first run ended elsewhere than its first run, so
// the chunk after it, recomputed from the first run's end, is redone from
// the right state in a last, ordered pass.
//
// Recomputing (rather than adding a correction P_t * carry) costs the same
// per step for ssm.scan and avoids, for the selective scan, a second pass
// of exp(dt A) and of the C contraction over the corrected range.
//
//===----------------------------------------------------------------------===//

#include "TimeSlices.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Dialect/SSM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMPARALLELSCAN
#include "ssm/Dialect/SSM/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// One recurrence as the parallel form sees it: a per-step result along
/// `outTimeDim` (absent for ssm.scan's last_only) and a state per lane.
struct Recurrence {
  Value length;
  bool reverse = false;
  /// Destination of the per-step result (tensor.empty), or null.
  Value outInit;
  int64_t outTimeDim = 0;
  RankedTensorType stateType;
  SmallVector<OpFoldResult> stateShape;
  /// The initial state, or null (zeros).
  Value init;
  /// Runs the op over steps [start, start + size) from state `h`. Returns
  /// that range's per-step result (null if none) and the state after its
  /// last step in scan order.
  std::function<std::pair<Value, Value>(Value start, Value size, Value h)>
      run;
};

class ParallelBuilder : public TimeSlicer {
public:
  ParallelBuilder(OpBuilder &b, Location loc, Recurrence &r, int64_t block)
      : TimeSlicer(b, loc), r(r), block(block) {}

  Recurrence &r;
  int64_t block;

  Value ceilDiv(Value x, Value y) {
    return arith::CeilDivUIOp::create(b, loc, x, y);
  }
  Value minU(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }

  /// Start along the array of `size` steps found `pos` steps into a range
  /// of `total` in scan order (from its end when reversed).
  Value physical(Value pos, Value size, Value total) {
    return r.reverse ? sub(sub(total, pos), size) : pos;
  }

  /// Whether `x` and `y` (same type) differ in any element, bit for bit
  /// as far as floats go: -0 equals +0, and a NaN differs from everything,
  /// so a recompute that meets NaNs runs to the chunk's end.
  Value anyDiffers(Value x, Value y) {
    auto type = cast<RankedTensorType>(x.getType());
    int64_t rank = type.getRank();
    Value acc = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{},
                                        b.getI1Type());
    Value no = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
    acc = linalg::FillOp::create(b, loc, no, acc).getResult(0);
    AffineMap id = b.getMultiDimIdentityMap(rank);
    SmallVector<AffineMap> maps = {id, id,
                                   AffineMap::get(rank, 0, {}, b.getContext())};
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::reduction);
    auto any = linalg::GenericOp::create(
        b, loc, acc.getType(), ValueRange{x, y}, ValueRange{acc}, maps,
        iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
          Value ne = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNE,
                                           args[0], args[1]);
          linalg::YieldOp::create(
              nb, l, ValueRange{arith::OrIOp::create(nb, l, args[2], ne)});
        });
    return tensor::ExtractOp::create(b, loc, any.getResult(0), ValueRange{});
  }

  /// Offsets, sizes and strides of row `k` of a (rows, state...) tensor.
  struct RowSlice {
    SmallVector<OpFoldResult> offsets, sizes, strides;
  };
  RowSlice rowSlice(Value k) {
    int64_t rank = r.stateType.getRank();
    RowSlice rs{SmallVector<OpFoldResult>(rank + 1, b.getIndexAttr(0)),
                {b.getIndexAttr(1)},
                SmallVector<OpFoldResult>(rank + 1, b.getIndexAttr(1))};
    rs.offsets[0] = k;
    llvm::append_range(rs.sizes, r.stateShape);
    return rs;
  }

  /// Row `k` of a (rows, state...) tensor, as a state.
  Value row(Value rows, Value k) {
    RowSlice rs = rowSlice(k);
    return tensor::ExtractSliceOp::create(b, loc, r.stateType, rows,
                                          rs.offsets, rs.sizes, rs.strides);
  }

  /// Writes `state` as row `k` of `rows`.
  Value insertRow(Value state, Value rows, Value k) {
    RowSlice rs = rowSlice(k);
    return tensor::InsertSliceOp::create(b, loc, state, rows, rs.offsets,
                                         rs.sizes, rs.strides);
  }

  /// Row `k` of a (chunks, blocks, state...) tensor: (blocks, state...).
  Value subRows(Value rows, Value k) {
    auto type = cast<RankedTensorType>(rows.getType());
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
        sizes = tensor::getMixedSizes(b, loc, rows),
        strides(rank, b.getIndexAttr(1));
    offsets[0] = k;
    sizes[0] = b.getIndexAttr(1);
    auto result = RankedTensorType::get(type.getShape().drop_front(),
                                        type.getElementType());
    return tensor::ExtractSliceOp::create(b, loc, result, rows, offsets, sizes,
                                          strides);
  }

  /// Blocks in a chunk of `size` steps.
  Value blocksIn(Value size) { return ceilDiv(size, idx(block)); }

  /// Walks the chunk of `size` steps at `start` block by block in scan
  /// order from state `h`, writing the per-step result into `outChunk` (the
  /// chunk's slice of the result, or null).
  ///  - `record` (a (blocks, state...) tensor): the state at the end of
  ///    block j goes into its row j; returned as the third value.
  ///  - `meet` (the same, from the first run): stops at the first block
  ///    whose end state equals meet's row; the state returned is then the
  ///    first run's, `meetEnd`.
  /// Returns {outChunk', state at the chunk's end, record'}.
  std::tuple<Value, Value, Value> walk(Value start, Value size, Value outChunk,
                                       Value h, Value record = Value(),
                                       Value meet = Value(),
                                       Value meetEnd = Value()) {
    // Iteration arguments: the state, [met], [outChunk], [record].
    SmallVector<Value> init = {h};
    if (meet)
      init.push_back(arith::ConstantOp::create(b, loc, b.getBoolAttr(false)));
    int64_t outAt = init.size();
    if (outChunk)
      init.push_back(outChunk);
    int64_t recordAt = init.size();
    if (record)
      init.push_back(record);
    auto loop = scf::ForOp::create(
        b, loc, idx(0), blocksIn(size), idx(1), init,
        [&](OpBuilder &, Location, Value j, ValueRange args) {
          auto blockStep = [&]() -> SmallVector<Value> {
            Value pos = mul(j, idx(block));
            Value n = minU(idx(block), sub(size, pos));
            Value rel = physical(pos, n, size);
            auto [part, hEnd] = r.run(add(start, rel), n, args[0]);
            SmallVector<Value> next = {hEnd};
            if (meet)
              next.push_back(arith::XOrIOp::create(
                  b, loc, anyDiffers(hEnd, row(meet, j)),
                  arith::ConstantOp::create(b, loc, b.getBoolAttr(true))));
            if (outChunk)
              next.push_back(insert(part, args[outAt], r.outTimeDim, rel));
            if (record)
              next.push_back(insertRow(hEnd, args[recordAt], j));
            return next;
          };
          if (!meet) {
            scf::YieldOp::create(b, loc, blockStep());
            return;
          }
          auto ifOp = scf::IfOp::create(
              b, loc, args[1],
              [&](OpBuilder &, Location) {
                scf::YieldOp::create(b, loc, args);
              },
              [&](OpBuilder &, Location) {
                scf::YieldOp::create(b, loc, blockStep());
              });
          scf::YieldOp::create(b, loc, ifOp.getResults());
        });
    Value end = loop.getResult(0);
    if (meet)
      end = scf::IfOp::create(
                b, loc, loop.getResult(1),
                [&](OpBuilder &, Location) {
                  scf::YieldOp::create(b, loc, meetEnd);
                },
                [&](OpBuilder &, Location) {
                  scf::YieldOp::create(b, loc, end);
                })
                .getResult(0);
    return {outChunk ? loop.getResult(outAt) : Value(), end,
            record ? loop.getResult(recordAt) : Value()};
  }

  /// Builds the parallel form with `chunks` chunks; returns the per-step
  /// result (or null) and the final state.
  std::pair<Value, Value> build(int64_t chunks) {
    Type elt = r.stateType.getElementType();
    Value L = r.length;
    Value T = ceilDiv(L, idx(chunks));
    // Chunks that hold a step (fewer than `chunks` when L is small).
    Value nChunks = ceilDiv(L, T);
    Value perChunk = blocksIn(T);
    auto chunkAt = [&](Value k) -> std::pair<Value, Value> {
      Value pos = mul(k, T);
      Value size = minU(T, sub(L, pos));
      return {physical(pos, size, L), size};
    };
    auto chunkStart = [&](Value k) { return chunkAt(k).first; };
    SmallVector<OpFoldResult> rowsShape = {nChunks}, blockRowsShape = {perChunk};
    llvm::append_range(rowsShape, r.stateShape);
    llvm::append_range(blockRowsShape, r.stateShape);
    SmallVector<OpFoldResult> allBlocksShape = {nChunks, perChunk};
    llvm::append_range(allBlocksShape, r.stateShape);
    Value zeroState = zeros(r.stateShape, elt);

    // Phase 1, chunks in parallel: chunk 0 from the initial state, the
    // others from zeros. `ends`: each chunk's final state; `blockEnds`:
    // its state at the end of each block.
    SmallVector<Value> outs = {
        tensor::EmptyOp::create(b, loc, rowsShape, elt),
        tensor::EmptyOp::create(b, loc, allBlocksShape, elt)};
    if (r.outInit)
      outs.push_back(r.outInit);
    auto phase1 = forall(idx(0), nChunks, outs,
                         [&](Value k, ValueRange shared) -> SmallVector<Value> {
      auto [start, size] = chunkAt(k);
      Value h = zeroState;
      if (r.init) {
        Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                            k, idx(0));
        h = scf::IfOp::create(
                b, loc, first,
                [&](OpBuilder &, Location) {
                  scf::YieldOp::create(b, loc, r.init);
                },
                [&](OpBuilder &, Location) {
                  scf::YieldOp::create(b, loc, zeroState);
                })
                .getResult(0);
      }
      Value outChunk = r.outInit ? slice(shared[2], r.outTimeDim, start, size)
                                 : Value();
      Value record = tensor::EmptyOp::create(b, loc, blockRowsShape, elt);
      auto [outDone, end, recorded] = walk(start, size, outChunk, h, record);
      SmallVector<Value> parts = {end, recorded};
      if (outDone)
        parts.push_back(outDone);
      return parts;
    }, chunkStart);
    Value ends = phase1.getResult(0);
    Value blockEnds = phase1.getResult(1);
    Value out = r.outInit ? phase1.getResult(2) : Value();

    // Phase 2, chunks 1.. in parallel: chunk k recomputed from the end
    // state of chunk k - 1 until it meets its first run. Exact for chunk 1
    // (chunk 0 started from the true state). `rerun` starts as `ends` and
    // gets each recomputed chunk's final state.
    outs = {ends};
    if (out)
      outs.push_back(out);
    auto phase2 = forall(idx(1), nChunks, outs,
                         [&](Value k, ValueRange shared) -> SmallVector<Value> {
      auto [start, size] = chunkAt(k);
      Value outChunk = out ? slice(shared[1], r.outTimeDim, start, size)
                           : Value();
      auto [outDone, end, unused] =
          walk(start, size, outChunk, row(ends, sub(k, idx(1))), Value(),
               subRows(blockEnds, k), row(ends, k));
      (void)unused;
      SmallVector<Value> parts = {end};
      if (outDone)
        parts.push_back(outDone);
      return parts;
    }, chunkStart);
    Value rerun = phase2.getResult(0);
    if (out)
      out = phase2.getResult(1);

    // Phase 3, chunks 2.. in order: chunk k - 1 really ended with `prev`;
    // phase 2 recomputed chunk k from ends[k - 1]. Where they differ (chunk
    // k - 1's recompute never met its first run), chunk k is recomputed
    // from `prev` to its end; otherwise its phase-2 result stands.
    SmallVector<Value> init = {row(rerun, minU(idx(1), sub(nChunks, idx(1))))};
    if (out)
      init.push_back(out);
    auto phase3 = scf::ForOp::create(
        b, loc, idx(2), nChunks, idx(1), init,
        [&](OpBuilder &, Location, Value k, ValueRange args) {
          Value prev = args[0];
          auto redo = scf::IfOp::create(
              b, loc, anyDiffers(prev, row(ends, sub(k, idx(1)))),
              [&](OpBuilder &, Location) {
                auto [start, size] = chunkAt(k);
                Value outChunk =
                    out ? slice(args[1], r.outTimeDim, start, size) : Value();
                auto [outDone, end, unused] = walk(start, size, outChunk, prev);
                (void)unused;
                SmallVector<Value> next = {end};
                if (out)
                  next.push_back(insert(outDone, args[1], r.outTimeDim, start));
                scf::YieldOp::create(b, loc, next);
              },
              [&](OpBuilder &, Location) {
                SmallVector<Value> next = {row(rerun, k)};
                if (out)
                  next.push_back(args[1]);
                scf::YieldOp::create(b, loc, next);
              });
          scf::YieldOp::create(b, loc, redo.getResults());
        });
    if (out)
      out = phase3.getResult(1);
    return {out, phase3.getResult(0)};
  }

private:
  /// scf.forall over [lb, ub) with shared outputs: per-chunk rows first
  /// (each (chunks, ...) tensor gets row k), then optionally the per-step
  /// result (the chunk's slice along time), as `r.outInit` says.
  /// body(k, shared) returns one part per output, written back with
  /// parallel_insert_slice.
  scf::ForallOp
  forall(Value lb, Value ub, ValueRange outs,
         function_ref<SmallVector<Value>(Value, ValueRange)> body,
         function_ref<Value(Value)> chunkStart) {
    auto op = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{lb}, ArrayRef<OpFoldResult>{ub},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)}, outs, std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(op.getBody());
    Value k = op.getInductionVar(0);
    SmallVector<Value> parts = body(k, op.getRegionIterArgs());
    // Offsets and sizes are built in the body: the terminator holds only
    // the parallel inserts.
    size_t rows = outs.size() - (r.outInit ? 1 : 0);
    SmallVector<SmallVector<OpFoldResult>> offsets, sizes, strides;
    for (auto [i, part] : llvm::enumerate(parts)) {
      int64_t rank = cast<RankedTensorType>(outs[i].getType()).getRank();
      offsets.emplace_back(rank, b.getIndexAttr(0));
      strides.emplace_back(rank, b.getIndexAttr(1));
      sizes.push_back(tensor::getMixedSizes(b, loc, part));
      if (i < rows) {
        offsets.back()[0] = k;
        sizes.back().insert(sizes.back().begin(), b.getIndexAttr(1));
      } else {
        offsets.back()[r.outTimeDim] = chunkStart(k);
      }
    }
    b.setInsertionPointToStart(op.getTerminator().getBody());
    for (auto [i, part] : llvm::enumerate(parts))
      tensor::ParallelInsertSliceOp::create(b, loc, part,
                                            op.getRegionIterArgs()[i],
                                            offsets[i], sizes[i], strides[i]);
    return op;
  }
};

/// `t` with dimension `dim` dynamic.
RankedTensorType dynamicAlong(Type t, int64_t dim) {
  auto rt = cast<RankedTensorType>(t);
  SmallVector<int64_t> shape(rt.getShape());
  shape[dim] = ShapedType::kDynamic;
  return RankedTensorType::get(shape, rt.getElementType());
}

/// The parallel form of a selective scan.
void rewrite(RewriterBase &rw, SelectiveScanOp op, int64_t chunks,
             int64_t block) {
  Location loc = op.getLoc();
  rw.setInsertionPoint(op);
  TimeSlicer s(rw, loc);
  bool tm = op.isTokenMajor();
  int64_t timeDim = tm ? 1 : 2;
  auto projTimeDim = [&](Value v) { return projectionTimeDim(v, tm); };
  auto yType = cast<RankedTensorType>(op.getY().getType());
  Type elt = yType.getElementType();
  Value u = op.getU();
  Recurrence r;
  r.length = s.extent(u, timeDim);
  r.outTimeDim = timeDim;
  r.outInit = tensor::EmptyOp::create(rw, loc, tensor::getMixedSizes(rw, loc, u),
                                      elt);
  r.stateShape = {tensor::getMixedSize(rw, loc, u, 0),
                  tensor::getMixedSize(rw, loc, u, tm ? 2 : 1),
                  tensor::getMixedSize(rw, loc, op.getA(), 1)};
  r.stateType = op.getLastState()
                    ? cast<RankedTensorType>(op.getLastState().getType())
                    : RankedTensorType::get(
                          {yType.getDimSize(0), yType.getDimSize(tm ? 2 : 1),
                           cast<RankedTensorType>(op.getA().getType())
                               .getDimSize(1)},
                          elt);
  r.init = op.getH0();
  RankedTensorType partType = dynamicAlong(yType, timeDim);
  r.run = [&, partType](Value start, Value size,
                        Value h) -> std::pair<Value, Value> {
    auto cut = [&](Value v, int64_t dim) -> Value {
      return v && dim >= 0 ? s.slice(v, dim, start, size) : v;
    };
    auto part = SelectiveScanOp::create(
        rw, loc, partType, r.stateType, op.getLayoutAttr(), cut(u, timeDim),
        cut(op.getDelta(), timeDim), op.getA(),
        cut(op.getB(), projTimeDim(op.getB())),
        cut(op.getC(), projTimeDim(op.getC())), op.getD(),
        cut(op.getZ(), timeDim), op.getDeltaBias(), h,
        op.getDeltaSoftplusAttr());
    return {part.getY(), part.getLastState()};
  };
  ParallelBuilder pb(rw, loc, r, block);
  auto [y, last] = pb.build(chunks);
  SmallVector<Value> results = {y};
  if (op.getLastState())
    results.push_back(last);
  rw.replaceOp(op, results);
}

/// The parallel form of ssm.scan.
void rewrite(RewriterBase &rw, ScanOp op, int64_t chunks, int64_t block) {
  Location loc = op.getLoc();
  rw.setInsertionPoint(op);
  TimeSlicer s(rw, loc);
  int64_t dim = op.getDim();
  bool lastOnly = op.getLastOnly();
  auto aType = cast<RankedTensorType>(op.getA().getType());
  Type elt = aType.getElementType();
  Recurrence r;
  r.length = s.extent(op.getA(), dim);
  r.reverse = op.getReverse();
  r.outTimeDim = dim;
  SmallVector<OpFoldResult> full = tensor::getMixedSizes(rw, loc, op.getA());
  if (!lastOnly)
    r.outInit = tensor::EmptyOp::create(rw, loc, full, elt);
  r.stateShape = full;
  r.stateShape.erase(r.stateShape.begin() + dim);
  SmallVector<int64_t> laneShape(aType.getShape());
  laneShape.erase(laneShape.begin() + dim);
  r.stateType = RankedTensorType::get(laneShape, elt);
  r.init = op.getInit();
  RankedTensorType partType = dynamicAlong(aType, dim);
  r.run = [&, partType](Value start, Value size,
                        Value h) -> std::pair<Value, Value> {
    Value a = s.slice(op.getA(), dim, start, size);
    Value bPart = s.slice(op.getB(), dim, start, size);
    if (lastOnly) {
      auto part = ScanOp::create(rw, loc, r.stateType, a, bPart, h,
                                 op.getDimAttr(), op.getReverseAttr(),
                                 op.getLastOnlyAttr());
      return {Value(), part.getResult()};
    }
    auto part = ScanOp::create(rw, loc, partType, a, bPart, h, op.getDimAttr(),
                               op.getReverseAttr(), op.getLastOnlyAttr());
    // The state after the range: its last step in scan order.
    SmallVector<OpFoldResult> offsets(aType.getRank(), rw.getIndexAttr(0)),
        sizes = tensor::getMixedSizes(rw, loc, part.getResult()),
        strides(aType.getRank(), rw.getIndexAttr(1));
    sizes[dim] = rw.getIndexAttr(1);
    if (!r.reverse)
      offsets[dim] = arith::SubIOp::create(rw, loc, size, s.idx(1)).getResult();
    Value end = tensor::ExtractSliceOp::create(rw, loc, r.stateType,
                                               part.getResult(), offsets, sizes,
                                               strides);
    return {part.getResult(), end};
  };
  ParallelBuilder pb(rw, loc, r, block);
  auto [out, last] = pb.build(chunks);
  rw.replaceOp(op, lastOnly ? last : out);
}

struct SSMParallelScanPass
    : ssm::impl::SSMParallelScanBase<SSMParallelScanPass> {
  using Base::Base;

  /// Steps of `op`'s time dimension and its lane tiles on the fast path, if
  /// static.
  std::optional<std::pair<int64_t, int64_t>> shape(Operation *op) {
    if (auto scan = dyn_cast<SelectiveScanOp>(op)) {
      auto u = cast<RankedTensorType>(scan.getU().getType());
      bool tm = scan.isTokenMajor();
      int64_t b = u.getDimSize(0), d = u.getDimSize(tm ? 2 : 1),
              L = u.getDimSize(tm ? 1 : 2);
      if (ShapedType::isDynamic(b) || ShapedType::isDynamic(d) ||
          ShapedType::isDynamic(L))
        return std::nullopt;
      return std::make_pair(L, b * llvm::divideCeil(d, laneWidth));
    }
    auto scan = cast<ScanOp>(op);
    auto a = cast<RankedTensorType>(scan.getA().getType());
    int64_t L = a.getDimSize(scan.getDim());
    if (ShapedType::isDynamic(L))
      return std::nullopt;
    // ssm.scan's lowering walks its lanes in one sequential loop nest: one
    // tile whatever its size.
    return std::make_pair(L, int64_t(1));
  }

  /// Chunks for `op`: the `chunks` option, or the cost model (docs/
  /// parallel-scan.md): parallel over time only when the lane tiles cannot
  /// occupy the threads and each chunk gets at least min-chunk-length steps.
  int64_t chooseChunks(Operation *op) {
    // An empty scan (a size 0 anywhere) has nothing to split, and chunk
    // slices at offset 0 of a size-0 dimension do not verify.
    auto empty = [](Type t) {
      auto shaped = dyn_cast<RankedTensorType>(t);
      return shaped && llvm::is_contained(shaped.getShape(), 0);
    };
    if (llvm::any_of(op->getOperandTypes(), empty) ||
        llvm::any_of(op->getResultTypes(), empty))
      return 0;
    if (chunks > 0)
      return chunks;
    if (numThreads < 2)
      return 0;
    auto s = shape(op);
    if (!s || s->second >= static_cast<int64_t>(numThreads))
      return 0;
    int64_t c = std::min<int64_t>(numThreads, s->first / minChunkLength);
    return c >= 2 ? c : 0;
  }

  void runOnOperation() override {
    if (block <= 0 || minChunkLength <= 0 || laneWidth <= 0 || chunks < 0) {
      getOperation()->emitError(
          "ssm-parallel-scan: block, min-chunk-length and lane-width must be "
          "positive, chunks not negative");
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<SelectiveScanOp, ScanOp>(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      // A complex scan (S4D) is time-invariant and runs on the reference
      // loops; it stays sequential.
      if (auto scan = dyn_cast<SelectiveScanOp>(op); scan && scan.isComplex())
        continue;
      int64_t c = chooseChunks(op);
      if (c == 0)
        continue;
      if (auto scan = dyn_cast<SelectiveScanOp>(op))
        rewrite(rewriter, scan, c, block);
      else
        rewrite(rewriter, cast<ScanOp>(op), c, block);
    }
  }
};

} // namespace
