//===- ParallelScan.cpp - ssm-parallel-scan: scans parallel over time -----===//
//
// See the pass description in Passes.td and docs/parallel-scan.md.
//
// The recurrence h_t = a_t h_{t-1} + b_t is linear in (h_{-1}, b): run from
// a wrong initial state h' instead of h, a chunk's states are off by
// P_t (h - h'), P_t the product of the decays so far, which is itself the
// recurrence with b = 0 started from h - h'. So every chunk runs at once
// from zeros (the first from the true initial state), and a chunk's result
// is repaired by adding that zero-input recurrence started from the
// difference: the correction. For the selective scan the correction is the
// op itself with u = 0 and no D: y is linear in (h0, u) for given delta and
// z, so adding its y repairs y.
//
// The correction decays with the decays of the sequence; once its state is
// exactly zero (every lane underflowed) it stays zero, and the rest of the
// chunk is already right. Corrections run block by block and stop there:
// with Mamba's decays (exp(dt A) < 1) they end long before the chunk does.
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
  /// Runs the op over steps [start, start + size) from state `h`; with
  /// `correction` the input term is zero (u = 0 and no D, or b = 0).
  /// Returns that range's per-step result (null if none) and the state
  /// after its last step in scan order.
  std::function<std::pair<Value, Value>(Value start, Value size, Value h,
                                        bool correction)>
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

  /// `x + y` on tensors of one type.
  Value addTensors(Value x, Value y) {
    return linalg::AddOp::create(b, loc, ValueRange{x, y}, ValueRange{x})
        .getResult(0);
  }

  /// Whether any element of `t` is not zero (NaN counts as not zero, so a
  /// NaN reaching a correction is propagated, as the sequential scan would).
  Value anyNonzero(Value t) {
    auto type = cast<RankedTensorType>(t.getType());
    int64_t rank = type.getRank();
    Value acc = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{},
                                        b.getI1Type());
    Value no = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
    acc = linalg::FillOp::create(b, loc, no, acc).getResult(0);
    SmallVector<AffineMap> maps = {
        b.getMultiDimIdentityMap(rank),
        AffineMap::get(rank, 0, {}, b.getContext())};
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::reduction);
    auto any = linalg::GenericOp::create(
        b, loc, acc.getType(), ValueRange{t}, ValueRange{acc}, maps, iterators,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value zero = arith::ConstantOp::create(
              nb, l, nb.getFloatAttr(args[0].getType(), 0.0));
          Value ne = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNE,
                                           args[0], zero);
          linalg::YieldOp::create(
              nb, l, ValueRange{arith::OrIOp::create(nb, l, args[1], ne)});
        });
    return tensor::ExtractOp::create(b, loc, any.getResult(0), ValueRange{});
  }

  /// Row `k` of a (chunks, state...) tensor, as a state.
  Value row(Value rows, Value k) {
    int64_t rank = r.stateType.getRank();
    SmallVector<OpFoldResult> offsets(rank + 1, b.getIndexAttr(0)),
        sizes = {b.getIndexAttr(1)}, strides(rank + 1, b.getIndexAttr(1));
    offsets[0] = k;
    llvm::append_range(sizes, r.stateShape);
    return tensor::ExtractSliceOp::create(b, loc, r.stateType, rows, offsets,
                                          sizes, strides);
  }

  /// Walks the chunk of `size` steps at `start` block by block in scan
  /// order from state `h`, writing the per-step result into `outChunk` (the
  /// chunk's slice of the result, or null). With `correction`, runs the
  /// zero-input recurrence and adds its result, skipping every block once
  /// the state is zero. Returns {outChunk', state at the chunk's end}.
  std::pair<Value, Value> walk(Value start, Value size, Value outChunk,
                               Value h, bool correction) {
    SmallVector<Value> init = {h};
    if (outChunk)
      init.push_back(outChunk);
    auto loop = scf::ForOp::create(
        b, loc, idx(0), ceilDiv(size, idx(block)), idx(1), init,
        [&](OpBuilder &, Location, Value j, ValueRange args) {
          Value pos = mul(j, idx(block));
          Value n = minU(idx(block), sub(size, pos));
          Value rel = physical(pos, n, size);
          Value at = add(start, rel);
          auto blockStep = [&]() -> SmallVector<Value> {
            auto [part, hEnd] = r.run(at, n, args[0], correction);
            SmallVector<Value> next = {hEnd};
            if (outChunk) {
              if (correction)
                part = addTensors(slice(args[1], r.outTimeDim, rel, n), part);
              next.push_back(insert(part, args[1], r.outTimeDim, rel));
            }
            return next;
          };
          if (!correction) {
            scf::YieldOp::create(b, loc, blockStep());
            return;
          }
          auto ifOp = scf::IfOp::create(
              b, loc, anyNonzero(args[0]),
              [&](OpBuilder &, Location) {
                scf::YieldOp::create(b, loc, blockStep());
              },
              [&](OpBuilder &, Location) {
                scf::YieldOp::create(b, loc, args);
              });
          scf::YieldOp::create(b, loc, ifOp.getResults());
        });
    return {outChunk ? loop.getResult(1) : Value(), loop.getResult(0)};
  }

  /// Builds the parallel form with `chunks` chunks; returns the per-step
  /// result (or null) and the final state.
  std::pair<Value, Value> build(int64_t chunks) {
    Type elt = r.stateType.getElementType();
    Value L = r.length;
    Value T = ceilDiv(L, idx(chunks));
    // Chunks that hold a step (fewer than `chunks` when L is small).
    Value nChunks = ceilDiv(L, T);
    auto chunkAt = [&](Value k) -> std::pair<Value, Value> {
      Value pos = mul(k, T);
      Value size = minU(T, sub(L, pos));
      return {physical(pos, size, L), size};
    };
    SmallVector<OpFoldResult> rowsShape = {nChunks};
    llvm::append_range(rowsShape, r.stateShape);
    Value zeroState = zeros(r.stateShape, elt);

    // Phase 1, chunks in parallel: chunk 0 from the initial state, the
    // others from zeros. Rows of `ends`: each chunk's final state.
    SmallVector<Value> outs = {tensor::EmptyOp::create(b, loc, rowsShape, elt)};
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
      Value outChunk = r.outInit ? slice(shared[1], r.outTimeDim, start, size)
                                 : Value();
      auto [outDone, end] = walk(start, size, outChunk, h, false);
      return {end, outDone};
    }, [&](Value k) { return chunkAt(k).first; });
    Value ends = phase1.getResult(0);
    Value out = r.outInit ? phase1.getResult(1) : Value();

    // Phase 2, chunks 1.. in parallel: the correction of chunk k from the
    // end state of chunk k - 1. Exact for chunk 1 (chunk 0 started from the
    // true state); for k >= 2 it misses what chunk k - 1 itself still had
    // to correct at its end. Rows of `rest`: each correction's final state
    // (row 0 stays zero).
    outs = {zeros(rowsShape, elt)};
    if (out)
      outs.push_back(out);
    auto phase2 = forall(idx(1), nChunks, outs,
                         [&](Value k, ValueRange shared) -> SmallVector<Value> {
      auto [start, size] = chunkAt(k);
      Value outChunk = out ? slice(shared[1], r.outTimeDim, start, size)
                           : Value();
      auto [outDone, rest] = walk(start, size, outChunk,
                                  row(ends, sub(k, idx(1))), true);
      return {rest, outDone};
    }, [&](Value k) { return chunkAt(k).first; });
    Value rests = phase2.getResult(0);
    if (out)
      out = phase2.getResult(1);

    // Phase 3, chunks 2.. in order: what a chunk still had to correct at
    // its end (its correction's end state plus this phase's) enters the
    // next chunk as a further correction. Usually zero: then every block is
    // skipped after one test.
    Value pending = row(rests, minU(idx(1), sub(nChunks, idx(1))));
    SmallVector<Value> init = {pending};
    if (out)
      init.push_back(out);
    auto phase3 = scf::ForOp::create(
        b, loc, idx(2), nChunks, idx(1), init,
        [&](OpBuilder &, Location, Value k, ValueRange args) {
          auto [start, size] = chunkAt(k);
          Value outChunk = out ? slice(args[1], r.outTimeDim, start, size)
                               : Value();
          auto [outDone, q] = walk(start, size, outChunk, args[0], true);
          SmallVector<Value> next = {addTensors(row(rests, k), q)};
          if (out)
            next.push_back(insert(outDone, args[1], r.outTimeDim, start));
          scf::YieldOp::create(b, loc, next);
        });
    if (out)
      out = phase3.getResult(1);
    Value last = addTensors(row(ends, sub(nChunks, idx(1))), phase3.getResult(0));
    return {out, last};
  }

private:
  /// scf.forall over [lb, ub) with shared outputs (a (chunks, state...)
  /// tensor, then optionally the per-step result); body(k, shared) returns
  /// the chunk's state row and its slice of the result, written back with
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
    int64_t rank = r.stateType.getRank();
    SmallVector<OpFoldResult> offsets(rank + 1, b.getIndexAttr(0)),
        sizes = {b.getIndexAttr(1)}, strides(rank + 1, b.getIndexAttr(1));
    offsets[0] = k;
    llvm::append_range(sizes, r.stateShape);
    SmallVector<OpFoldResult> outOffsets, outSizes, outStrides;
    if (outs.size() > 1) {
      int64_t outRank = cast<RankedTensorType>(parts[1].getType()).getRank();
      outOffsets.assign(outRank, b.getIndexAttr(0));
      outOffsets[r.outTimeDim] = chunkStart(k);
      outSizes = tensor::getMixedSizes(b, loc, parts[1]);
      outStrides.assign(outRank, b.getIndexAttr(1));
    }
    b.setInsertionPointToStart(op.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, parts[0],
                                          op.getRegionIterArgs()[0], offsets,
                                          sizes, strides);
    if (outs.size() > 1)
      tensor::ParallelInsertSliceOp::create(b, loc, parts[1],
                                            op.getRegionIterArgs()[1],
                                            outOffsets, outSizes, outStrides);
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
  using Kind = SelectiveScanOp::ProjectionKind;
  Location loc = op.getLoc();
  rw.setInsertionPoint(op);
  TimeSlicer s(rw, loc);
  bool tm = op.isTokenMajor();
  int64_t timeDim = tm ? 1 : 2;
  auto projTimeDim = [&](Value v) -> int64_t {
    switch (SelectiveScanOp::getProjectionKind(v)) {
    case Kind::TimeInvariant:
      return -1;
    case Kind::Variable:
      return tm ? 1 : 2;
    case Kind::Grouped:
      return tm ? 1 : 3;
    }
    llvm_unreachable("unknown projection kind");
  };
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
  r.run = [&, partType](Value start, Value size, Value h,
                        bool correction) -> std::pair<Value, Value> {
    auto cut = [&](Value v, int64_t dim) -> Value {
      return v && dim >= 0 ? s.slice(v, dim, start, size) : v;
    };
    Value uPart;
    if (correction) {
      SmallVector<OpFoldResult> shape = tensor::getMixedSizes(rw, loc, u);
      shape[timeDim] = size;
      uPart = s.zeros(shape, elt);
    } else {
      uPart = cut(u, timeDim);
    }
    auto part = SelectiveScanOp::create(
        rw, loc, partType, r.stateType, op.getLayoutAttr(), uPart,
        cut(op.getDelta(), timeDim), op.getA(),
        cut(op.getB(), projTimeDim(op.getB())),
        cut(op.getC(), projTimeDim(op.getC())),
        correction ? Value() : op.getD(), cut(op.getZ(), timeDim),
        op.getDeltaBias(), h, op.getDeltaSoftplusAttr());
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
  r.run = [&, partType](Value start, Value size, Value h,
                        bool correction) -> std::pair<Value, Value> {
    Value a = s.slice(op.getA(), dim, start, size);
    Value bPart;
    if (correction) {
      SmallVector<OpFoldResult> shape = full;
      shape[dim] = size;
      bPart = s.zeros(shape, elt);
    } else {
      bPart = s.slice(op.getB(), dim, start, size);
    }
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
