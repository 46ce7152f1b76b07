//===- X86Fraction.cpp - x - floor(x) as vreduceps ------------------------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMX86FRACTION
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

struct FractionToReduce : OpRewritePattern<arith::SubFOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(arith::SubFOp op,
                                PatternRewriter &rewriter) const override {
    auto vt = dyn_cast<VectorType>(op.getType());
    if (!vt || vt.getRank() != 1 || vt.getDimSize(0) != 16 ||
        vt.isScalable() || !vt.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not a vector<16xf32>");
    auto floor = op.getRhs().getDefiningOp<math::FloorOp>();
    if (!floor || floor.getOperand() != op.getLhs())
      return rewriter.notifyMatchFailure(op, "not x - floor(x)");
    Location loc = op.getLoc();
    auto i32 = [&](int32_t v) -> Value {
      return arith::ConstantOp::create(rewriter, loc,
                                       rewriter.getI32IntegerAttr(v));
    };
    Value x = op.getLhs();
    // (x, imm, passthrough, mask, rounding): imm 0x09 keeps no fraction bits
    // (imm[7:4] = 0), rounds down (imm[1:0] = 01) and suppresses the
    // precision exception (imm[3]); all 16 lanes; rounding 4 is
    // _MM_FROUND_CUR_DIRECTION.
    Value all = arith::ConstantOp::create(rewriter, loc,
                                          rewriter.getI16IntegerAttr(-1));
    auto call = LLVM::CallIntrinsicOp::create(
        rewriter, loc, vt,
        rewriter.getStringAttr("llvm.x86.avx512.mask.reduce.ps.512"),
        ValueRange{x, i32(0x09), x, all, i32(4)});
    rewriter.replaceOp(op, call.getResult(0));
    return success();
  }
};

struct SSMX86FractionPass
    : ssm::impl::SSMX86FractionBase<SSMX86FractionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FractionToReduce>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
