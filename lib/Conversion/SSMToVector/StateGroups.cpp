//===- StateGroups.cpp - split a scan's states into register groups -------===//
//
// The fast path keeps a channel tile's n states in vector registers, which
// holds up to n = 64. Larger n (the exact MQAR construction has one state
// per key) would otherwise fall back to the reference loops, an order of
// magnitude slower. The states of a channel are independent until the C
// contraction sums them, so a scan with n states is the sum of scans over
// slices of the states: each group recomputes dt (a few operations per
// step, against 2 * 64 state updates) and writes its partial y; the D skip
// and the gate apply once, to the sum.
//
//===----------------------------------------------------------------------===//

#include "StateGroups.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::ssm;

namespace {

struct SplitStateGroups : OpRewritePattern<SelectiveScanOp> {
  SplitStateGroups(MLIRContext *ctx, int64_t maxStates)
      : OpRewritePattern(ctx, /*benefit=*/2), maxStates(maxStates) {}
  int64_t maxStates;

  /// The state axis of operand `v` of `op` (A, B, C or h0).
  static unsigned stateAxis(SelectiveScanOp op, Value v) {
    using Kind = SelectiveScanOp::ProjectionKind;
    bool tm = op.isTokenMajor();
    if (v == op.getA())
      return 1;
    if (v == op.getH0())
      return 2;
    switch (SelectiveScanOp::getProjectionKind(v)) {
    case Kind::TimeInvariant:
      return 1;
    case Kind::Variable:
      return tm ? 2 : 1;
    case Kind::Grouped:
      return tm ? 3 : 2;
    }
    llvm_unreachable("projection kinds");
  }

  static Value slice(OpBuilder &b, Location loc, Value v, unsigned axis,
                     int64_t offset, int64_t size) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    offsets[axis] = b.getIndexAttr(offset);
    sizes[axis] = b.getIndexAttr(size);
    SmallVector<int64_t> shape(type.getShape());
    shape[axis] = size;
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), v, offsets,
        sizes, strides);
  }

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    auto aType = cast<RankedTensorType>(op.getA().getType());
    auto yType = cast<RankedTensorType>(op.getY().getType());
    if (!yType.getElementType().isF32() || aType.isDynamicDim(1) ||
        aType.getDimSize(1) <= maxStates)
      return rewriter.notifyMatchFailure(op, "no f32 scan with large n");
    Location loc = op.getLoc();
    int64_t n = aType.getDimSize(1);
    int64_t groups = (n + maxStates - 1) / maxStates;
    int64_t size = (n + groups - 1) / groups;

    SmallVector<Value> partial, lasts;
    for (int64_t first = 0; first < n; first += size) {
      int64_t count = std::min(size, n - first);
      auto cut = [&](Value v) {
        return v ? slice(rewriter, loc, v, stateAxis(op, v), first, count)
                 : Value();
      };
      Type lastType;
      if (op.getLastState()) {
        auto t = cast<RankedTensorType>(op.getLastState().getType());
        SmallVector<int64_t> shape(t.getShape());
        shape[2] = count;
        lastType = RankedTensorType::get(shape, t.getElementType());
      }
      auto part = SelectiveScanOp::create(
          rewriter, loc, yType, lastType, op.getLayout(), op.getU(),
          op.getDelta(), cut(op.getA()), cut(op.getB()), cut(op.getC()),
          /*D=*/Value(), /*z=*/Value(), op.getDeltaBias(), cut(op.getH0()),
          op.getDeltaSoftplus());
      partial.push_back(part.getY());
      if (op.getLastState())
        lasts.push_back(part.getLastState());
    }

    // y = (sum of the partial y + D * u) * silu(z), elementwise over u's
    // shape; D is indexed by the channel axis.
    unsigned rank = yType.getRank(), channel = op.isTokenMajor() ? 2 : 1;
    MLIRContext *ctx = rewriter.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    SmallVector<Value> inputs(partial);
    SmallVector<AffineMap> maps(partial.size(), identity);
    Value D = op.getD(), z = op.getZ();
    if (D) {
      inputs.append({op.getU(), D});
      maps.append({identity, AffineMap::get(
                                 rank, 0, rewriter.getAffineDimExpr(channel))});
    }
    if (z) {
      inputs.push_back(z);
      maps.push_back(identity);
    }
    maps.push_back(identity);
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, op.getU()),
        yType.getElementType());
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    size_t numPartial = partial.size();
    auto sum = linalg::GenericOp::create(
        rewriter, loc, yType, inputs, ValueRange{init}, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value acc = args[0];
          for (size_t i = 1; i < numPartial; ++i)
            acc = arith::AddFOp::create(b, l, acc, args[i]);
          size_t next = numPartial;
          if (D) {
            Value du = arith::MulFOp::create(b, l, args[next], args[next + 1]);
            acc = arith::AddFOp::create(b, l, acc, du);
            next += 2;
          }
          if (z) {
            // silu(z) = z / (1 + exp(-z)): exp overflows to inf for very
            // negative z and the quotient is then -0, never NaN.
            Value zv = args[next];
            Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1));
            Value e =
                math::ExpOp::create(b, l, arith::NegFOp::create(b, l, zv));
            Value silu = arith::DivFOp::create(
                b, l, zv, arith::AddFOp::create(b, l, one, e));
            acc = arith::MulFOp::create(b, l, acc, silu);
          }
          linalg::YieldOp::create(b, l, acc);
        });

    SmallVector<Value> results = {sum.getResult(0)};
    if (op.getLastState()) {
      auto lastType = cast<RankedTensorType>(op.getLastState().getType());
      SmallVector<OpFoldResult> sizes =
          tensor::getMixedSizes(rewriter, loc, op.getU());
      // (b, d, n): b is u's axis 0 and d its channel axis.
      SmallVector<OpFoldResult> shape = {sizes[0], sizes[channel],
                                         rewriter.getIndexAttr(n)};
      Value state = tensor::EmptyOp::create(rewriter, loc, shape,
                                            lastType.getElementType());
      int64_t first = 0;
      for (Value part : lasts) {
        int64_t count = cast<RankedTensorType>(part.getType()).getDimSize(2);
        SmallVector<OpFoldResult> offsets(3, rewriter.getIndexAttr(0));
        offsets[2] = rewriter.getIndexAttr(first);
        SmallVector<OpFoldResult> partSizes = {sizes[0], sizes[channel],
                                               rewriter.getIndexAttr(count)};
        SmallVector<OpFoldResult> strides(3, rewriter.getIndexAttr(1));
        state = tensor::InsertSliceOp::create(rewriter, loc, part, state,
                                              offsets, partSizes, strides);
        first += count;
      }
      if (state.getType() != lastType)
        state = tensor::CastOp::create(rewriter, loc, lastType, state);
      results.push_back(state);
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::ssm::populateSplitStateGroupsPatterns(RewritePatternSet &patterns,
                                                 int64_t maxStates) {
  patterns.add<SplitStateGroups>(patterns.getContext(), maxStates);
}
