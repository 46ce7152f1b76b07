//===- SSMToLoops.cpp - reference lowering of ssm ops to loops ------------===//
//
// Each ssm op becomes a loop nest that follows its definition literally, one
// scalar at a time, in the op's own element type. This is the oracle of the
// test suite and the semantics every faster lowering must reproduce; it makes
// no attempt at speed (it recomputes dt once per state, for instance).
//
//===----------------------------------------------------------------------===//

#include "../LoopBuilder.h"
#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERTOLOOPS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

//===----------------------------------------------------------------------===//
// ssm.selective_scan
//===----------------------------------------------------------------------===//

struct SelectiveScanLowering : OpConversionPattern<SelectiveScanOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(SelectiveScanOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    bool tm = op.isTokenMajor();
    bool softplus = op.getDeltaSoftplus();
    Type elt = op.getU().getType().getElementType();

    Value u = lb.toBuffer(op.getU()), delta = lb.toBuffer(op.getDelta());
    Value A = lb.toBuffer(op.getA());
    Value B = lb.toBuffer(op.getB()), C = lb.toBuffer(op.getC());
    Value D = op.getD() ? lb.toBuffer(op.getD()) : Value();
    Value z = op.getZ() ? lb.toBuffer(op.getZ()) : Value();
    Value bias = op.getDeltaBias() ? lb.toBuffer(op.getDeltaBias()) : Value();
    Value h0 = op.getH0() ? lb.toBuffer(op.getH0()) : Value();

    Value nb = lb.dim(u, 0);
    Value nd = lb.dim(u, tm ? 2 : 1);
    Value nL = lb.dim(u, tm ? 1 : 2);
    Value nn = lb.dim(A, 1);

    auto yType = cast<RankedTensorType>(op.getY().getType());
    Value y = lb.alloc(yType, {lb.dim(u, 0), lb.dim(u, 1), lb.dim(u, 2)});
    Value last;
    if (op.getLastState())
      last = lb.alloc(cast<RankedTensorType>(op.getLastState().getType()),
                      {nb, nd, nn});

    auto kindB = SelectiveScanOp::getProjectionKind(op.getB());
    auto kindC = SelectiveScanOp::getProjectionKind(op.getC());
    // Channels per group of a grouped projection (d / g).
    auto perGroup = [&](Value proj, SelectiveScanOp::ProjectionKind kind) {
      if (kind != SelectiveScanOp::ProjectionKind::Grouped)
        return Value();
      Value g = lb.dim(proj, tm ? 2 : 1);
      return arith::DivUIOp::create(rewriter, op.getLoc(), nd, g).getResult();
    };
    Value perGroupB = perGroup(B, kindB), perGroupC = perGroup(C, kindC);

    auto loadProj = [&](Value proj, SelectiveScanOp::ProjectionKind kind,
                        Value group, Value bi, Value c, Value j,
                        Value t) -> Value {
      switch (kind) {
      case SelectiveScanOp::ProjectionKind::TimeInvariant:
        return lb.load(proj, {c, j});
      case SelectiveScanOp::ProjectionKind::Variable:
        return tm ? lb.load(proj, {bi, t, j}) : lb.load(proj, {bi, j, t});
      case SelectiveScanOp::ProjectionKind::Grouped:
        return tm ? lb.load(proj, {bi, t, group, j})
                  : lb.load(proj, {bi, group, j, t});
      }
      llvm_unreachable("unknown projection kind");
    };

    // The step at `at`: delta (+ the channel's bias), softplus if asked.
    auto stepAt = [&](ArrayRef<Value> at, Value biasC) {
      Value dt = lb.load(delta, at);
      if (biasC)
        dt = lb.add(dt, biasC);
      return softplus ? lb.softplus(dt) : dt;
    };

    // One state of a complex scan (S4D): A, B, C and h are complex, and
    // the state's share of y is 2 * Re(C * h). The arithmetic runs on the
    // real and imaginary parts: exp(dt * A) = exp(dt * Re A) *
    // (cos(dt * Im A) + i sin(dt * Im A)).
    Value gB, gC;
    auto complexState = [&](Value bi, Value c, Value j, Value biasC) {
      Location loc = op.getLoc();
      auto re = [&](Value v) {
        return complex::ReOp::create(rewriter, loc, v).getResult();
      };
      auto im = [&](Value v) {
        return complex::ImOp::create(rewriter, loc, v).getResult();
      };
      auto sub = [&](Value x, Value y) {
        return arith::SubFOp::create(rewriter, loc, x, y).getResult();
      };
      Type cplx = ComplexType::get(elt);
      Value zero = lb.flt(elt, 0.0), two = lb.flt(elt, 2.0);
      Value a = lb.load(A, {c, j});
      Value ar = re(a), ai = im(a);
      Value hInit =
          h0 ? lb.load(h0, {bi, c, j})
             : complex::CreateOp::create(rewriter, loc, cplx, zero, zero)
                   .getResult();
      Value hEnd = lb.forLoopCarry(nL, hInit, [&](Value t, Value h) {
        SmallVector<Value> at = actIndex(tm, bi, c, t);
        Value dt = stepAt(at, biasC);
        Value bv = loadProj(B, kindB, gB, bi, c, j, t);
        Value cv = loadProj(C, kindC, gC, bi, c, j, t);
        Value mag = lb.exp(lb.mul(dt, ar)), ang = lb.mul(dt, ai);
        Value er = lb.mul(mag, math::CosOp::create(rewriter, loc, ang));
        Value ei = lb.mul(mag, math::SinOp::create(rewriter, loc, ang));
        Value hr = re(h), hi = im(h);
        Value s = lb.mul(dt, lb.load(u, at));
        Value nr =
            lb.add(sub(lb.mul(er, hr), lb.mul(ei, hi)), lb.mul(s, re(bv)));
        Value ni =
            lb.add(lb.add(lb.mul(er, hi), lb.mul(ei, hr)), lb.mul(s, im(bv)));
        Value share =
            lb.mul(two, sub(lb.mul(re(cv), nr), lb.mul(im(cv), ni)));
        lb.store(lb.add(lb.load(y, at), share), y, at);
        return complex::CreateOp::create(rewriter, loc, cplx, nr, ni)
            .getResult();
      });
      if (last)
        lb.store(hEnd, last, {bi, c, j});
    };

    lb.forLoop(nb, [&](Value bi) {
      lb.forLoop(nd, [&](Value c) {
        Value zero = lb.flt(elt, 0.0);
        lb.forLoop(nL, [&](Value t) { lb.store(zero, y, actIndex(tm, bi, c, t)); });
        Value biasC = bias ? lb.load(bias, {c}) : Value();
        gB = perGroupB ? arith::DivUIOp::create(rewriter, op.getLoc(), c,
                                                perGroupB)
                             .getResult()
                       : Value();
        gC = perGroupC ? arith::DivUIOp::create(rewriter, op.getLoc(), c,
                                                perGroupC)
                             .getResult()
                       : Value();
        lb.forLoop(nn, [&](Value j) {
          if (op.isComplex())
            return complexState(bi, c, j, biasC);
          Value a = lb.load(A, {c, j});
          Value hInit = h0 ? lb.load(h0, {bi, c, j}) : zero;
          Value hEnd = lb.forLoopCarry(nL, hInit, [&](Value t, Value h) {
            SmallVector<Value> at = actIndex(tm, bi, c, t);
            Value dt = stepAt(at, biasC);
            Value uv = lb.load(u, at);
            Value bv = loadProj(B, kindB, gB, bi, c, j, t);
            Value cv = loadProj(C, kindC, gC, bi, c, j, t);
            Value decay = lb.exp(lb.mul(dt, a));
            Value hNext = lb.add(lb.mul(decay, h), lb.mul(lb.mul(dt, bv), uv));
            lb.store(lb.add(lb.load(y, at), lb.mul(cv, hNext)), y, at);
            return hNext;
          });
          if (last)
            lb.store(hEnd, last, {bi, c, j});
        });
        if (D || z) {
          Value dC = D ? lb.load(D, {c}) : Value();
          lb.forLoop(nL, [&](Value t) {
            SmallVector<Value> at = actIndex(tm, bi, c, t);
            Value yv = lb.load(y, at);
            if (dC)
              yv = lb.add(yv, lb.mul(dC, lb.load(u, at)));
            if (z)
              yv = lb.mul(yv, lb.silu(lb.load(z, at)));
            lb.store(yv, y, at);
          });
        }
      });
    });

    lb.replaceWithBuffers(rewriter, op, {y, last});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// ssm.scan
//===----------------------------------------------------------------------===//

struct ScanLowering : OpConversionPattern<ScanOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ScanOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    auto aType = cast<RankedTensorType>(op.getA().getType());
    int64_t rank = aType.getRank(), dim = op.getDim();
    bool reverse = op.getReverse(), lastOnly = op.getLastOnly();

    Value a = lb.toBuffer(op.getA()), b = lb.toBuffer(op.getB());
    Value init = op.getInit() ? lb.toBuffer(op.getInit()) : Value();
    SmallVector<Value> sizes, laneSizes;
    for (int64_t i = 0; i < rank; ++i) {
      sizes.push_back(lb.dim(a, i));
      if (i != dim)
        laneSizes.push_back(sizes.back());
    }
    auto resType = cast<RankedTensorType>(op.getResult().getType());
    Value res = lb.alloc(resType, lastOnly ? laneSizes : sizes);
    Value nL = sizes[dim];
    Value lastIdx = arith::SubIOp::create(rewriter, op.getLoc(), nL, lb.idx(1));

    // One loop per lane dimension, then the recurrence over `dim`.
    SmallVector<Value> lane;
    std::function<void(int64_t)> nest = [&](int64_t i) {
      if (i < rank && i == dim)
        return nest(i + 1);
      if (i < rank)
        return lb.forLoop(sizes[i], [&](Value iv) {
          lane.push_back(iv);
          nest(i + 1);
          lane.pop_back();
        });
      Value h0 = init ? lb.load(init, lane) : lb.flt(aType.getElementType(), 0.0);
      Value hEnd = lb.forLoopCarry(nL, h0, [&](Value step, Value h) {
        Value t = reverse ? arith::SubIOp::create(rewriter, op.getLoc(),
                                                  lastIdx, step)
                                .getResult()
                          : step;
        SmallVector<Value> at(lane.begin(), lane.end());
        at.insert(at.begin() + dim, t);
        Value hNext = lb.add(lb.mul(lb.load(a, at), h), lb.load(b, at));
        if (!lastOnly)
          lb.store(hNext, res, at);
        return hNext;
      });
      if (lastOnly)
        lb.store(hEnd, res, lane);
    };
    nest(0);

    lb.replaceWithBuffers(rewriter, op, {res});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// ssm.causal_conv1d
//===----------------------------------------------------------------------===//

struct CausalConv1dLowering : OpConversionPattern<CausalConv1dOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CausalConv1dOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    LoopBuilder lb(rewriter, loc);
    ConvBuffers conv = ConvBuffers::get(lb, op, /*contiguous=*/false);
    lb.forLoop(conv.nb, [&](Value bi) {
      lb.forLoop(conv.nd, [&](Value c) {
        lb.forLoop(conv.nL, [&](Value t) {
          lb.store(conv.output(lb, bi, c, t, op.getSilu()), conv.out,
                   actIndex(conv.tm, bi, c, t));
        });
        if (conv.fin)
          conv.storeFinalState(lb, bi, c);
      });
    });
    lb.replaceWithBuffers(rewriter, op, {conv.out, conv.fin});
    return success();
  }
};

struct SSMLowerToLoopsPass
    : ssm::impl::SSMLowerToLoopsBase<SSMLowerToLoopsPass> {
  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addIllegalDialect<SSMDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateSSMToLoopsPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::ssm::populateSSMToLoopsPatterns(RewritePatternSet &patterns) {
  patterns.add<SelectiveScanLowering, ScanLowering, CausalConv1dLowering>(
      patterns.getContext());
}
