//===- ExpandBlocks.cpp - ssm-expand-blocks: model ops to core ops --------===//
//
// Rewrites the model-level ops (ssm.mamba_block, ssm.rmsnorm, ssm.linear,
// ssm.embedding) into the core ops (ssm.causal_conv1d, ssm.selective_scan)
// and linalg on tensors, so that every later pass (tiling, the fast paths,
// bufferization) sees only ops it knows. Projections become linalg.generic contractions over the
// token-major activations (b, L, K) x (N, K) -> (b, L, N): the weight keeps
// its checkpoint layout (rows = outputs) and slices of the activations need
// no reshape.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"
#include "ssm/Dialect/SSM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMEXPANDBLOCKS
#include "ssm/Dialect/SSM/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Small builders over one rewriter and location.
struct Expander {
  RewriterBase &b;
  Location loc;
  Type elt;

  SmallVector<OpFoldResult> sizes(Value v) {
    return tensor::getMixedSizes(b, loc, v);
  }

  Value empty(ArrayRef<OpFoldResult> shape) {
    return tensor::EmptyOp::create(b, loc, shape, elt);
  }

  Value constant(double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, v));
  }

  Value zeros(ArrayRef<OpFoldResult> shape) {
    return linalg::FillOp::create(b, loc, constant(0.0), empty(shape))
        .getResult(0);
  }

  /// `v[..., offset : offset + size]` along the last dimension.
  Value lastDimSlice(Value v, int64_t offset, int64_t size) {
    SmallVector<OpFoldResult> sz = sizes(v);
    int64_t rank = sz.size();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
        strides(rank, b.getIndexAttr(1));
    offsets.back() = b.getIndexAttr(offset);
    sz.back() = b.getIndexAttr(size);
    return tensor::ExtractSliceOp::create(b, loc, v, offsets, sz, strides);
  }

  /// out[..., n] = bias[n] + sum_k x[..., k] * w[n, k], for x of rank r:
  /// r parallel loops (the leading dimensions and n), then k.
  Value linear(Value x, Value w, Value bias) {
    SmallVector<OpFoldResult> shape = sizes(x);
    shape.back() = tensor::getMixedSize(b, loc, w, 0);
    int64_t r = shape.size();
    MLIRContext *ctx = b.getContext();
    Value init;
    if (bias) {
      Value dest = empty(shape);
      SmallVector<AffineMap> maps = {
          AffineMap::get(r, 0, b.getAffineDimExpr(r - 1), ctx),
          b.getMultiDimIdentityMap(r)};
      init = linalg::GenericOp::create(
                 b, loc, TypeRange{dest.getType()}, ValueRange{bias},
                 ValueRange{dest}, maps,
                 SmallVector<utils::IteratorType>(r,
                                                  utils::IteratorType::parallel),
                 [](OpBuilder &nb, Location l, ValueRange args) {
                   linalg::YieldOp::create(nb, l, args[0]);
                 })
                 .getResult(0);
    } else {
      init = zeros(shape);
    }
    SmallVector<AffineExpr> lead;
    for (int64_t i = 0; i + 1 < r; ++i)
      lead.push_back(b.getAffineDimExpr(i));
    AffineExpr n = b.getAffineDimExpr(r - 1), k = b.getAffineDimExpr(r);
    SmallVector<AffineExpr> xExprs(lead), outExprs(lead);
    xExprs.push_back(k);
    outExprs.push_back(n);
    SmallVector<AffineMap> maps = {AffineMap::get(r + 1, 0, xExprs, ctx),
                                   AffineMap::get(r + 1, 0, {n, k}, ctx),
                                   AffineMap::get(r + 1, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> iters(r, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, ValueRange{x, w},
               ValueRange{init}, maps, iters,
               [](OpBuilder &nb, Location l, ValueRange args) {
                 Value p = arith::MulFOp::create(nb, l, args[0], args[1]);
                 linalg::YieldOp::create(
                     nb, l, arith::AddFOp::create(nb, l, p, args[2]).getResult());
               })
        .getResult(0);
  }

  /// y[b, l, d] = table[tokens[b, l], d].
  Value embedding(Value tokens, Value table) {
    SmallVector<OpFoldResult> shape = sizes(tokens);
    shape.push_back(tensor::getMixedSize(b, loc, table, 1));
    Value init = empty(shape);
    MLIRContext *ctx = b.getContext();
    AffineExpr d0, d1, d2;
    bindDims(ctx, d0, d1, d2);
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {d0, d1}, ctx),
                                   b.getMultiDimIdentityMap(3)};
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, ValueRange{tokens},
               ValueRange{init}, maps,
               SmallVector<utils::IteratorType>(3,
                                                utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 Value row = arith::IndexCastOp::create(
                     nb, l, nb.getIndexType(), args[0]);
                 Value col = linalg::IndexOp::create(nb, l, 2);
                 linalg::YieldOp::create(
                     nb, l,
                     tensor::ExtractOp::create(nb, l, table,
                                               ValueRange{row, col})
                         .getResult());
               })
        .getResult(0);
  }

  /// An elementwise map of same-shaped tensors (identity maps).
  Value map(ValueRange inputs, Value shapeOf,
            function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    int64_t rank = cast<RankedTensorType>(shapeOf.getType()).getRank();
    Value init = empty(sizes(shapeOf));
    SmallVector<AffineMap> maps(inputs.size() + 1,
                                b.getMultiDimIdentityMap(rank));
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
               maps,
               SmallVector<utils::IteratorType>(rank,
                                                utils::IteratorType::parallel),
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 linalg::YieldOp::create(nb, l, body(nb, l, args));
               })
        .getResult(0);
  }

  /// RMSNorm over the last dimension: x * rsqrt(mean(x^2) + eps) * w.
  Value rmsnorm(Value x, Value w, double eps) {
    SmallVector<OpFoldResult> shape = sizes(x);
    int64_t rank = shape.size();
    SmallVector<OpFoldResult> rowShape(shape.begin(), shape.end() - 1);
    MLIRContext *ctx = b.getContext();
    AffineMap full = b.getMultiDimIdentityMap(rank);
    AffineMap rows = full.getMajorSubMap(rank - 1);
    AffineMap last = AffineMap::get(rank, 0, b.getAffineDimExpr(rank - 1), ctx);
    SmallVector<utils::IteratorType> iters(rank - 1,
                                           utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    Value acc = zeros(rowShape);
    Value sumSq = linalg::GenericOp::create(
                      b, loc, TypeRange{acc.getType()},
                      ValueRange{x}, ValueRange{acc},
                      SmallVector<AffineMap>{full, rows}, iters,
                      [](OpBuilder &nb, Location l, ValueRange args) {
                        Value sq = arith::MulFOp::create(nb, l, args[0], args[0]);
                        linalg::YieldOp::create(
                            nb, l,
                            arith::AddFOp::create(nb, l, sq, args[1]).getResult());
                      })
                      .getResult(0);
    Value width = arith::IndexCastOp::create(
        b, loc, b.getI64Type(),
        getValueOrCreateConstantIndexOp(b, loc, shape.back()));
    Value widthF = arith::SIToFPOp::create(b, loc, elt, width);
    Value epsV = constant(eps);
    Value init = empty(shape);
    iters.back() = utils::IteratorType::parallel;
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, ValueRange{x, sumSq, w},
               ValueRange{init}, SmallVector<AffineMap>{full, rows, last, full},
               iters,
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 Value mean = arith::DivFOp::create(nb, l, args[1], widthF);
                 Value r = math::RsqrtOp::create(
                     nb, l, arith::AddFOp::create(nb, l, mean, epsV));
                 Value y = arith::MulFOp::create(nb, l, args[0], r);
                 linalg::YieldOp::create(
                     nb, l, arith::MulFOp::create(nb, l, y, args[2]).getResult());
               })
        .getResult(0);
  }
};

/// Replaces a one-result model op by what `expand` builds for it.
template <typename OpTy>
struct ExpandOneResult : OpRewritePattern<OpTy> {
  using Expand = Value (*)(Expander &, OpTy);
  ExpandOneResult(MLIRContext *ctx, Expand expand)
      : OpRewritePattern<OpTy>(ctx), expand(expand) {}
  Expand expand;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Expander e{rewriter, op.getLoc(),
               cast<RankedTensorType>(op->getResult(0).getType())
                   .getElementType()};
    rewriter.replaceOp(op, expand(e, op));
    return success();
  }
};

struct ExpandMambaBlock : OpRewritePattern<MambaBlockOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MambaBlockOp op,
                                PatternRewriter &rewriter) const override {
    auto hType = cast<RankedTensorType>(op.getH().getType());
    auto aType = cast<RankedTensorType>(op.getALog().getType());
    auto dtType = cast<RankedTensorType>(op.getDtProj().getType());
    int64_t e = aType.getDimSize(0), n = aType.getDimSize(1),
            r = dtType.getDimSize(1);
    if (ShapedType::isDynamic(e) || ShapedType::isDynamic(n) ||
        ShapedType::isDynamic(r))
      return rewriter.notifyMatchFailure(
          op, "the block's E, N and R must be static to split its projections");
    Location loc = op.getLoc();
    Expander x{rewriter, loc, hType.getElementType()};

    Value xz = x.linear(op.getH(), op.getInProj(), op.getInProjBias());
    Value xs = x.lastDimSlice(xz, 0, e), z = x.lastDimSlice(xz, e, e);

    Type convStateType;
    if (op.getStates())
      convStateType = op.getNewStates()[0].getType();
    auto conv = CausalConv1dOp::create(
        rewriter, loc, xs.getType(), convStateType, Layout::token_major, xs,
        op.getConvWeight(), op.getConvBias(), op.getConvState(),
        /*silu=*/true);
    Value u = conv.getOut();

    Value dbc = x.linear(u, op.getXProj(), Value());
    Value dt = x.lastDimSlice(dbc, 0, r);
    Value B = x.lastDimSlice(dbc, r, n), C = x.lastDimSlice(dbc, r + n, n);
    Value delta = x.linear(dt, op.getDtProj(), Value());
    Value A = x.map(op.getALog(), op.getALog(),
                    [](OpBuilder &nb, Location l, ValueRange args) -> Value {
                      Value ex = math::ExpOp::create(nb, l, args[0]);
                      return arith::NegFOp::create(nb, l, ex);
                    });

    Type lastType;
    if (op.getStates())
      lastType = op.getNewStates()[1].getType();
    auto scan = SelectiveScanOp::create(
        rewriter, loc, u.getType(), lastType, Layout::token_major, u, delta, A,
        B, C, op.getD(), z, op.getDtProjBias(), op.getSsmState(),
        /*delta_softplus=*/true);
    Value out = x.linear(scan.getY(), op.getOutProj(), op.getOutProjBias());

    SmallVector<Value> results = {out};
    if (op.getStates()) {
      results.push_back(conv.getFinalState());
      results.push_back(scan.getLastState());
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct SSMExpandBlocksPass
    : ssm::impl::SSMExpandBlocksBase<SSMExpandBlocksPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    MLIRContext *ctx = &getContext();
    patterns.add<ExpandMambaBlock>(ctx);
    patterns.add<ExpandOneResult<RMSNormOp>>(ctx, [](Expander &e, RMSNormOp op) {
      return e.rmsnorm(op.getX(), op.getWeight(),
                       op.getEpsilon().convertToDouble());
    });
    patterns.add<ExpandOneResult<LinearOp>>(ctx, [](Expander &e, LinearOp op) {
      return e.linear(op.getX(), op.getWeight(), op.getBias());
    });
    patterns.add<ExpandOneResult<EmbeddingOp>>(
        ctx, [](Expander &e, EmbeddingOp op) {
          return e.embedding(op.getTokens(), op.getTable());
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // A block left unexpanded would reach the lowerings: name it.
    WalkResult left = getOperation()->walk([](Operation *op) {
      if (isa<MambaBlockOp, RMSNormOp, LinearOp, EmbeddingOp>(op)) {
        op->emitError() << "could not expand this model op (its d_inner, "
                           "d_state and dt_rank must be static)";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
