//===- StateGroups.cpp - split a scan's states into register groups -------===//
//
// The fast path keeps a channel tile's n states in vector registers, which
// holds up to n = 64. Larger n (the exact MQAR construction has one state
// per key) would otherwise fall back to the reference loops, an order of
// magnitude slower. The states of a channel are independent until the C
// contraction sums them, so a scan with n states is the sum of scans over
// slices of the states: each group recomputes dt (a few operations per
// step, against 2 * 64 state updates) and adds its partial y to a running
// sum; the D skip and the gate apply once, to the sum. The groups run in
// an scf.for, so that the kernel is generated once (plus once for a
// smaller last group) whatever n is.
//
// A decoding step (L = 1) in token_major layout with n a multiple of the
// vector width needs no groups: the fast path's step with the states in
// the lanes streams a channel's states through a few registers, whatever
// n is. Such a scan is left whole, and one whose L is only known at run
// time branches: the whole scan on one step, the groups otherwise.
// Mamba-2's decoding step (n = 128) so runs one kernel instead of two
// groups whose partial outputs are summed and whose last states are put
// back together by strided copies.
//
//===----------------------------------------------------------------------===//

#include "StateGroups.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::ssm;

namespace {

struct SplitStateGroups : OpRewritePattern<SelectiveScanOp> {
  SplitStateGroups(MLIRContext *ctx, int64_t maxStates, int64_t laneWidth,
                   std::function<bool(SelectiveScanOp)> keepWhole)
      : OpRewritePattern(ctx, /*benefit=*/2), maxStates(maxStates),
        laneWidth(laneWidth), keepWhole(std::move(keepWhole)) {}
  int64_t maxStates, laneWidth;
  std::function<bool(SelectiveScanOp)> keepWhole;

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
                     OpFoldResult offset, int64_t size) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    offsets[axis] = offset;
    sizes[axis] = b.getIndexAttr(size);
    SmallVector<int64_t> shape(type.getShape());
    shape[axis] = size;
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), v, offsets,
        sizes, strides);
  }

  /// Elementwise `lhs + rhs` over tensors of one shape.
  static Value add(OpBuilder &b, Location loc, Value lhs, Value rhs) {
    auto type = cast<RankedTensorType>(lhs.getType());
    AffineMap id =
        AffineMap::getMultiDimIdentityMap(type.getRank(), b.getContext());
    SmallVector<utils::IteratorType> iterators(type.getRank(),
                                               utils::IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, type, ValueRange{lhs, rhs}, ValueRange{lhs},
               SmallVector<AffineMap>(3, id), iterators,
               [](OpBuilder &nb, Location l, ValueRange args) {
                 Value sum = arith::AddFOp::create(nb, l, args[0], args[1]);
                 linalg::YieldOp::create(nb, l, sum);
               })
        .getResult(0);
  }

  /// The scan over states [offset, offset + count) without D and z: its y
  /// and (when `op` has one) its last state.
  static SelectiveScanOp part(OpBuilder &b, Location loc, SelectiveScanOp op,
                              OpFoldResult offset, int64_t count) {
    auto cut = [&](Value v) {
      return v ? slice(b, loc, v, stateAxis(op, v), offset, count) : Value();
    };
    Type lastType;
    if (op.getLastState()) {
      auto t = cast<RankedTensorType>(op.getLastState().getType());
      SmallVector<int64_t> shape(t.getShape());
      shape[2] = count;
      lastType = RankedTensorType::get(shape, t.getElementType());
    }
    auto group = SelectiveScanOp::create(
        b, loc, op.getY().getType(), lastType, op.getLayout(), op.getU(),
        op.getDelta(), cut(op.getA()), cut(op.getB()), cut(op.getC()),
        /*D=*/Value(), /*z=*/Value(), op.getDeltaBias(), cut(op.getH0()),
        op.getDeltaSoftplus());
    group->setAttr(kSharedH0Attr, b.getUnitAttr());
    return group;
  }

  /// Inserts a group's last state (b, d, count) at `offset` of `state`.
  static Value insertState(OpBuilder &b, Location loc, Value partState,
                           Value state, OpFoldResult offset) {
    SmallVector<OpFoldResult> offsets(3, b.getIndexAttr(0));
    offsets[2] = offset;
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    return tensor::InsertSliceOp::create(
        b, loc, partState, state, offsets,
        tensor::getMixedSizes(b, loc, partState), strides);
  }

  /// `op` on one step: its operands with a time axis cast to length 1, and
  /// its output cast back to `op`'s type.
  static SmallVector<Value> oneStep(OpBuilder &b, Location loc,
                                    SelectiveScanOp op) {
    using Kind = SelectiveScanOp::ProjectionKind;
    auto step = [&](Value v) -> Value {
      if (!v)
        return v;
      auto t = cast<RankedTensorType>(v.getType());
      SmallVector<int64_t> shape(t.getShape());
      shape[1] = 1; // token_major: (b, L, ...)
      return tensor::CastOp::create(
          b, loc, RankedTensorType::get(shape, t.getElementType()), v);
    };
    auto projection = [&](Value v) {
      return SelectiveScanOp::getProjectionKind(v) == Kind::TimeInvariant
                 ? v
                 : step(v);
    };
    Value u = step(op.getU());
    auto whole = SelectiveScanOp::create(
        b, loc, u.getType(),
        op.getLastState() ? op.getLastState().getType() : Type(),
        op.getLayout(), u, step(op.getDelta()), op.getA(),
        projection(op.getB()), projection(op.getC()), op.getD(),
        step(op.getZ()), op.getDeltaBias(), op.getH0(), op.getDeltaSoftplus());
    SmallVector<Value> results = {
        tensor::CastOp::create(b, loc, op.getY().getType(), whole.getY())};
    if (op.getLastState())
      results.push_back(whole.getLastState());
    return results;
  }

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    auto aType = cast<RankedTensorType>(op.getA().getType());
    auto yType = cast<RankedTensorType>(op.getY().getType());
    if (!yType.getElementType().isF32() || op.isComplex() ||
        aType.isDynamicDim(1) || aType.getDimSize(1) <= maxStates)
      return rewriter.notifyMatchFailure(op, "no real f32 scan with large n");
    if (keepWhole && keepWhole(op))
      return rewriter.notifyMatchFailure(op, "the fast path takes it whole");
    // No batch, channels or steps: nothing to split, and upstream's
    // verifier refuses a static slice at offset 0 of an empty dimension.
    // The op stays whole for ssm-lower-to-loops (y empty, the last state
    // h0 or empty).
    if (llvm::any_of(op->getOperands(), [](Value v) {
          return llvm::is_contained(
              cast<RankedTensorType>(v.getType()).getShape(), 0);
        }))
      return rewriter.notifyMatchFailure(op, "an empty dimension");
    const int64_t n = aType.getDimSize(1);
    const bool stepWhole = op.isTokenMajor() && n % laneWidth == 0;
    const int64_t staticL = yType.getDimSize(op.isTokenMajor() ? 1 : 2);
    if (stepWhole && staticL == 1)
      return rewriter.notifyMatchFailure(op, "a single step needs no groups");
    if (!stepWhole || !ShapedType::isDynamic(staticL)) {
      rewriter.replaceOp(op, groups(rewriter, op));
      return success();
    }
    // L at run time: one step whole, more in groups.
    Location loc = op.getLoc();
    Value length = tensor::DimOp::create(rewriter, loc, op.getU(), 1);
    Value isStep =
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, length,
                              arith::ConstantIndexOp::create(rewriter, loc, 1));
    auto branch = scf::IfOp::create(rewriter, loc, op->getResultTypes(), isStep,
                                    /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(&branch.getThenRegion().front());
      scf::YieldOp::create(rewriter, loc, oneStep(rewriter, loc, op));
      rewriter.setInsertionPointToStart(&branch.getElseRegion().front());
      scf::YieldOp::create(rewriter, loc, groups(rewriter, op));
    }
    rewriter.replaceOp(op, branch.getResults());
    return success();
  }

  /// The scan `op` as groups of states: its results.
  SmallVector<Value> groups(PatternRewriter &rewriter,
                            SelectiveScanOp op) const {
    auto yType = cast<RankedTensorType>(op.getY().getType());
    int64_t n = cast<RankedTensorType>(op.getA().getType()).getDimSize(1);
    Location loc = op.getLoc();
    int64_t groups = (n + maxStates - 1) / maxStates;
    int64_t size = (n + groups - 1) / groups;
    int64_t full = n / size, tail = n - full * size;
    unsigned rank = yType.getRank(), channel = op.isTokenMajor() ? 2 : 1;
    Type f32 = yType.getElementType();

    // The full groups in a loop, so that the vector kernel is generated once
    // (and once more for a tail group): y accumulates, the last state is
    // filled group by group.
    SmallVector<OpFoldResult> uSizes =
        tensor::getMixedSizes(rewriter, loc, op.getU());
    Value zero =
        arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
    Value y =
        linalg::FillOp::create(
            rewriter, loc, zero,
            ValueRange{tensor::EmptyOp::create(rewriter, loc, uSizes, f32)})
            .getResult(0);
    SmallVector<Value> inits = {y};
    Type lastType;
    if (op.getLastState()) {
      lastType = op.getLastState().getType();
      SmallVector<OpFoldResult> shape = {uSizes[0], uSizes[channel],
                                         rewriter.getIndexAttr(n)};
      inits.push_back(tensor::EmptyOp::create(rewriter, loc, shape, f32));
    }
    auto idx = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(rewriter, loc, v);
    };
    auto loop = scf::ForOp::create(
        rewriter, loc, idx(0), idx(full * size), idx(size), inits,
        [&](OpBuilder &b, Location l, Value first, ValueRange acc) {
          SelectiveScanOp scan = part(b, l, op, first, size);
          SmallVector<Value> next = {add(b, l, acc[0], scan.getY())};
          if (op.getLastState())
            next.push_back(
                insertState(b, l, scan.getLastState(), acc[1], first));
          scf::YieldOp::create(b, l, next);
        });
    y = loop.getResult(0);
    Value state = op.getLastState() ? loop.getResult(1) : Value();
    if (tail) {
      SelectiveScanOp scan =
          part(rewriter, loc, op, rewriter.getIndexAttr(full * size), tail);
      y = add(rewriter, loc, y, scan.getY());
      if (state)
        state = insertState(rewriter, loc, scan.getLastState(), state,
                            rewriter.getIndexAttr(full * size));
    }

    // y = (y + D * u) * silu(z), elementwise over u's shape; D is indexed
    // by the channel axis.
    Value D = op.getD(), z = op.getZ();
    if (D || z) {
      MLIRContext *ctx = rewriter.getContext();
      AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
      SmallVector<Value> inputs = {y};
      SmallVector<AffineMap> maps = {identity};
      if (D) {
        inputs.append({op.getU(), D});
        maps.append(
            {identity,
             AffineMap::get(rank, 0, rewriter.getAffineDimExpr(channel))});
      }
      if (z) {
        inputs.push_back(z);
        maps.push_back(identity);
      }
      maps.push_back(identity);
      SmallVector<utils::IteratorType> iterators(rank,
                                                 utils::IteratorType::parallel);
      y = linalg::GenericOp::create(
              rewriter, loc, yType, inputs, ValueRange{y}, maps, iterators,
              [&](OpBuilder &b, Location l, ValueRange args) {
                Value acc = args[0];
                size_t next = 1;
                if (D) {
                  Value du =
                      arith::MulFOp::create(b, l, args[next], args[next + 1]);
                  acc = arith::AddFOp::create(b, l, acc, du);
                  next += 2;
                }
                if (z) {
                  // silu(z) = z / (1 + exp(-z)): exp overflows to inf for
                  // very negative z and the quotient is then -0, never NaN.
                  Value zv = args[next];
                  Value one =
                      arith::ConstantOp::create(b, l, b.getF32FloatAttr(1));
                  Value e = math::ExpOp::create(
                      b, l, arith::NegFOp::create(b, l, zv));
                  Value silu = arith::DivFOp::create(
                      b, l, zv, arith::AddFOp::create(b, l, one, e));
                  acc = arith::MulFOp::create(b, l, acc, silu);
                }
                linalg::YieldOp::create(b, l, acc);
              })
              .getResult(0);
    }

    SmallVector<Value> results = {y};
    if (state) {
      if (state.getType() != lastType)
        state = tensor::CastOp::create(rewriter, loc, lastType, state);
      results.push_back(state);
    }
    return results;
  }
};

} // namespace

void mlir::ssm::populateSplitStateGroupsPatterns(
    RewritePatternSet &patterns, int64_t maxStates, int64_t laneWidth,
    std::function<bool(SelectiveScanOp)> keepWhole) {
  patterns.add<SplitStateGroups>(patterns.getContext(), maxStates, laneWidth,
                                 std::move(keepWhole));
}
