//===- Tile.cpp - ssm-tile: lane tiles and time chunks --------------------===//
//
// See the pass description in Passes.td and docs/tiling.md.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Dialect/SSM/Transforms/Passes.h"
#include "TimeSlices.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMTILE
#include "ssm/Dialect/SSM/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Builds the chunk loop of one op: `[start, start + size)` is chunk `k`'s
/// time range; helpers slice operands along time and assemble results.
class Chunker : public TimeSlicer {
public:
  Chunker(RewriterBase &b, Operation *op, int64_t chunk)
      : TimeSlicer(b, op->getLoc()), chunk(chunk) {}

  int64_t chunk;
  /// The current chunk, valid inside the loop body.
  Value start, size;
  /// Static chunk size when every chunk has it (L static, L % T == 0).
  std::optional<int64_t> staticSize;

  /// `v` restricted to the chunk along dimension `dim`.
  Value slice(Value v, int64_t dim) {
    return TimeSlicer::slice(v, dim, start,
                             staticSize ? OpFoldResult(b.getIndexAttr(*staticSize))
                                        : OpFoldResult(size));
  }

  /// Writes `part` (a chunk along `dim`) into `whole`.
  Value insert(Value part, Value whole, int64_t dim) {
    return TimeSlicer::insert(part, whole, dim, start);
  }

  /// The type of `t` with dimension `dim` the chunk's size.
  RankedTensorType chunkType(Type t, int64_t dim) {
    auto rt = cast<RankedTensorType>(t);
    SmallVector<int64_t> shape(rt.getShape());
    shape[dim] = staticSize ? *staticSize : ShapedType::kDynamic;
    return RankedTensorType::get(shape, rt.getElementType());
  }

  /// for chunks of `length` steps, first to last (or last to first):
  /// body(start, size, iterArgs) -> yielded values.
  scf::ForOp loop(Value length, ValueRange init, bool reverse,
                  function_ref<SmallVector<Value>(ValueRange)> body) {
    if (auto l = getConstantIntValue(length); l && *l % chunk == 0)
      staticSize = chunk;
    Value nChunks = arith::CeilDivUIOp::create(b, loc, length, idx(chunk));
    return scf::ForOp::create(
        b, loc, idx(0), nChunks, idx(1), init,
        [&](OpBuilder &, Location, Value k, ValueRange args) {
          // Forward: [kT, min((k+1)T, L)). Reverse: the k-th chunk from the
          // end, [L - min((k+1)T, L), L - kT).
          Value kT = arith::MulIOp::create(b, loc, k, idx(chunk));
          Value end = arith::MinUIOp::create(
              b, loc, arith::AddIOp::create(b, loc, kT, idx(chunk)), length);
          size = arith::SubIOp::create(b, loc, end, kT);
          start = reverse ? arith::SubIOp::create(b, loc, length, end).getResult()
                          : kT;
          scf::YieldOp::create(b, loc, body(args));
        });
  }
};

/// ssm.selective_scan in time chunks carrying h.
LogicalResult chunkTime(RewriterBase &b, SelectiveScanOp op, int64_t chunk) {
  Chunker c(b, op, chunk);
  b.setInsertionPoint(op);
  bool tm = op.isTokenMajor();
  int64_t timeDim = tm ? 1 : 2;
  auto projTimeDim = [&](Value v) { return projectionTimeDim(v, tm); };
  Value length = c.extent(op.getU(), timeDim);
  ReifiedRankedShapedTypeDims shapes;
  if (failed(reifyResultShapes(b, op, shapes)))
    return failure();
  auto yType = cast<RankedTensorType>(op.getY().getType());
  Type elt = yType.getElementType();
  Value u = op.getU();
  SmallVector<OpFoldResult> hShape = {
      tensor::getMixedSize(b, c.loc, u, 0),
      tensor::getMixedSize(b, c.loc, u, tm ? 2 : 1),
      tensor::getMixedSize(b, c.loc, op.getA(), 1)};
  Value h0 = op.getH0() ? op.getH0() : c.zeros(hShape, elt);
  Value yInit = tensor::EmptyOp::create(b, c.loc, shapes[0], elt);
  Type hType = op.getLastState() ? op.getLastState().getType() : h0.getType();
  auto loop = c.loop(length, {yInit, h0}, /*reverse=*/false,
                     [&](ValueRange args) -> SmallVector<Value> {
    auto sliceIf = [&](Value v, int64_t dim) -> Value {
      return v && dim >= 0 ? c.slice(v, dim) : v;
    };
    auto part = SelectiveScanOp::create(
        b, c.loc, c.chunkType(yType, timeDim), hType, op.getLayoutAttr(),
        c.slice(op.getU(), timeDim), c.slice(op.getDelta(), timeDim),
        op.getA(), sliceIf(op.getB(), projTimeDim(op.getB())),
        sliceIf(op.getC(), projTimeDim(op.getC())), op.getD(),
        sliceIf(op.getZ(), timeDim), op.getDeltaBias(), args[1],
        op.getDeltaSoftplusAttr());
    return {c.insert(part.getY(), args[0], timeDim), part.getLastState()};
  });
  SmallVector<Value> results = {loop.getResult(0)};
  if (op.getLastState())
    results.push_back(loop.getResult(1));
  b.replaceOp(op, results);
  return success();
}

/// ssm.causal_conv1d in time chunks carrying the conv state.
LogicalResult chunkTime(RewriterBase &b, CausalConv1dOp op, int64_t chunk) {
  Chunker c(b, op, chunk);
  b.setInsertionPoint(op);
  bool tm = op.isTokenMajor();
  int64_t timeDim = tm ? 1 : 2;
  Value length = c.extent(op.getX(), timeDim);
  ReifiedRankedShapedTypeDims shapes;
  if (failed(reifyResultShapes(b, op, shapes)))
    return failure();
  auto outType = cast<RankedTensorType>(op.getOut().getType());
  Type elt = outType.getElementType();
  OpFoldResult k = tensor::getMixedSize(b, c.loc, op.getWeight(), 1);
  Value km1 = arith::SubIOp::create(
      b, c.loc, getValueOrCreateConstantIndexOp(b, c.loc, k), c.idx(1));
  SmallVector<OpFoldResult> sShape = {
      tensor::getMixedSize(b, c.loc, op.getX(), 0),
      tensor::getMixedSize(b, c.loc, op.getX(), tm ? 2 : 1),
      getAsOpFoldResult(km1)};
  Value s0 = op.getConvState() ? op.getConvState() : c.zeros(sShape, elt);
  Value outInit = tensor::EmptyOp::create(b, c.loc, shapes[0], elt);
  Type sType = op.getFinalState() ? op.getFinalState().getType() : s0.getType();
  auto loop = c.loop(length, {outInit, s0}, /*reverse=*/false,
                     [&](ValueRange args) -> SmallVector<Value> {
    auto part = CausalConv1dOp::create(
        b, c.loc, c.chunkType(outType, timeDim), sType, op.getLayoutAttr(),
        c.slice(op.getX(), timeDim), op.getWeight(), op.getBias(), args[1],
        op.getSiluAttr());
    return {c.insert(part.getOut(), args[0], timeDim), part.getFinalState()};
  });
  SmallVector<Value> results = {loop.getResult(0)};
  if (op.getFinalState())
    results.push_back(loop.getResult(1));
  b.replaceOp(op, results);
  return success();
}

/// ssm.scan in time chunks carrying the last value (the first one when
/// reverse, whose chunks go from the end).
LogicalResult chunkTime(RewriterBase &b, ScanOp op, int64_t chunk) {
  Chunker c(b, op, chunk);
  b.setInsertionPoint(op);
  int64_t dim = op.getDim();
  bool reverse = op.getReverse(), lastOnly = op.getLastOnly();
  auto aType = cast<RankedTensorType>(op.getA().getType());
  Type elt = aType.getElementType();
  Value length = c.extent(op.getA(), dim);
  SmallVector<OpFoldResult> full = tensor::getMixedSizes(b, c.loc, op.getA());
  SmallVector<OpFoldResult> lane(full);
  lane.erase(lane.begin() + dim);
  SmallVector<int64_t> laneShape(aType.getShape());
  laneShape.erase(laneShape.begin() + dim);
  auto laneType = RankedTensorType::get(laneShape, elt);
  Value h0 = op.getInit() ? op.getInit() : c.zeros(lane, elt);
  SmallVector<Value> init = {h0};
  if (!lastOnly)
    init.push_back(tensor::EmptyOp::create(b, c.loc, full, elt));
  auto loop = c.loop(length, init, reverse,
                     [&](ValueRange args) -> SmallVector<Value> {
    Type partType = lastOnly ? Type(laneType) : c.chunkType(aType, dim);
    auto part = ScanOp::create(b, c.loc, partType, c.slice(op.getA(), dim),
                               c.slice(op.getB(), dim), args[0],
                               op.getDimAttr(), op.getReverseAttr(),
                               op.getLastOnlyAttr());
    if (lastOnly)
      return {part.getResult()};
    // The carry is the value at the chunk's last step in scan order.
    SmallVector<OpFoldResult> offsets(aType.getRank(), b.getIndexAttr(0)),
        sizes = tensor::getMixedSizes(b, c.loc, part.getResult()),
        strides(aType.getRank(), b.getIndexAttr(1));
    sizes[dim] = b.getIndexAttr(1);
    if (!reverse)
      offsets[dim] = arith::SubIOp::create(b, c.loc, c.size, c.idx(1)).getResult();
    Value carry = tensor::ExtractSliceOp::create(
        b, c.loc, laneType, part.getResult(), offsets, sizes, strides);
    return {carry, c.insert(part.getResult(), args[1], dim)};
  });
  b.replaceOp(op, loop.getResult(lastOnly ? 0 : 1));
  return success();
}

struct SSMTilePass : ssm::impl::SSMTileBase<SSMTilePass> {
  using Base::Base;

  void runOnOperation() override {
    if (loopKind != "forall" && loopKind != "for") {
      getOperation()->emitError("ssm-tile: loop must be forall or for, not '")
          << loopKind << "'";
      return signalPassFailure();
    }
    if (timeChunk < 0 || llvm::any_of(tileSizes, [](int64_t s) { return s < 0; })) {
      getOperation()->emitError("ssm-tile: tile sizes and time-chunk must not "
                                "be negative");
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<SelectiveScanOp, ScanOp, CausalConv1dOp>(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *op : ops) {
      Operation *target = op;
      if (llvm::any_of(tileSizes, [](int64_t s) { return s > 0; })) {
        auto tileable = cast<TilingInterface>(op);
        size_t loops = tileable.getLoopIteratorTypes().size();
        SmallVector<OpFoldResult> sizes;
        for (size_t i = 0; i < loops; ++i)
          sizes.push_back(rewriter.getIndexAttr(
              i < tileSizes.size() ? tileSizes[i] : 0));
        scf::SCFTilingOptions options;
        options.setTileSizes(sizes);
        options.setLoopType(loopKind == "forall"
                                ? scf::SCFTilingOptions::LoopType::ForallOp
                                : scf::SCFTilingOptions::LoopType::ForOp);
        rewriter.setInsertionPoint(op);
        FailureOr<scf::SCFTilingResult> tiled =
            scf::tileUsingSCF(rewriter, tileable, options);
        if (failed(tiled))
          return signalPassFailure();
        rewriter.replaceOp(op, tiled->replacements);
        target = tiled->tiledOps.back();
      }
      if (timeChunk == 0)
        continue;
      LogicalResult chunked =
          TypeSwitch<Operation *, LogicalResult>(target)
              .Case<SelectiveScanOp, ScanOp, CausalConv1dOp>(
                  [&](auto typed) { return chunkTime(rewriter, typed, timeChunk); })
              .Default([](Operation *) { return failure(); });
      if (failed(chunked)) {
        target->emitOpError("could not be cut into time chunks");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
