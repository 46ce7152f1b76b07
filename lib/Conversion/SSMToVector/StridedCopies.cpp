//===- StridedCopies.cpp - memref.copy of strided buffers as loops --------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMSTRIDEDCOPIES
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// Whether the LLVM lowering of memref.copy turns a copy of this type into
/// a memcpy: identity layout, or a static shape that is contiguous.
bool copiesAsMemcpy(MemRefType t) {
  return t.getLayout().isIdentity() ||
         memref::isStaticShapeAndContiguousRowMajor(t);
}

/// Whether a buffer of type `t` may be contiguous row-major at run time:
/// false when its static sizes and strides already say it is not.
bool mayBeContiguous(MemRefType t) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(t.getStridesAndOffset(strides, offset)))
    return false;
  int64_t expect = 1;
  for (int64_t i = t.getRank() - 1; i >= 0; --i) {
    int64_t size = t.getDimSize(i), stride = strides[i];
    if (ShapedType::isDynamic(size) || ShapedType::isDynamic(stride) ||
        ShapedType::isDynamic(expect))
      return true; // decided at run time
    if (size != 1 && stride != expect)
      return false;
    expect *= size;
  }
  return true;
}

/// `mem`'s sizes and strides describe contiguous row-major elements (a
/// dimension of one may have any stride), as an i1.
Value isContiguous(OpBuilder &b, Location loc,
                   memref::ExtractStridedMetadataOp meta) {
  Value expect = arith::ConstantIndexOp::create(b, loc, 1);
  Value one = expect;
  Value all = arith::ConstantIntOp::create(b, loc, 1, 1);
  for (int64_t i = meta.getSizes().size() - 1; i >= 0; --i) {
    Value size = meta.getSizes()[i], stride = meta.getStrides()[i];
    Value dense = arith::OrIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size, one),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, stride,
                              expect));
    all = arith::AndIOp::create(b, loc, all, dense);
    expect = arith::MulIOp::create(b, loc, expect, size);
  }
  return all;
}

/// The address of `mem`'s first element as an LLVM pointer.
Value firstElement(OpBuilder &b, Location loc, Value mem,
                   memref::ExtractStridedMetadataOp meta) {
  Type i64 = b.getI64Type();
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  Value aligned = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, mem);
  Value base = LLVM::IntToPtrOp::create(
      b, loc, ptrType, Value(arith::IndexCastOp::create(b, loc, i64, aligned)));
  Value offset = arith::IndexCastOp::create(b, loc, i64, meta.getOffset());
  return LLVM::GEPOp::create(b, loc, ptrType,
                             cast<MemRefType>(mem.getType()).getElementType(),
                             base, ValueRange{offset});
}

struct SSMStridedCopiesPass
    : ssm::impl::SSMStridedCopiesBase<SSMStridedCopiesPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp copy) {
      auto source = dyn_cast<MemRefType>(copy.getSource().getType());
      auto target = dyn_cast<MemRefType>(copy.getTarget().getType());
      if (source && target &&
          !(copiesAsMemcpy(source) && copiesAsMemcpy(target)))
        copies.push_back(copy);
    });
    IRRewriter rewriter(&getContext());
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      Location loc = copy.getLoc();
      Value source = copy.getSource(), target = copy.getTarget();
      auto sourceType = cast<MemRefType>(source.getType());
      auto targetType = cast<MemRefType>(target.getType());
      Type element = sourceType.getElementType();
      // Layouts known only at run time (a buffer that went through an
      // scf.if or a loop) are mostly contiguous: a memcpy then, as
      // memref.copy's own lowering emits for static contiguous types.
      if (isa<IntegerType, FloatType>(element) &&
          element.getIntOrFloatBitWidth() % 8 == 0 &&
          mayBeContiguous(sourceType) && mayBeContiguous(targetType)) {
        auto from =
            memref::ExtractStridedMetadataOp::create(rewriter, loc, source);
        auto to =
            memref::ExtractStridedMetadataOp::create(rewriter, loc, target);
        Value dense = arith::AndIOp::create(rewriter, loc,
                                            isContiguous(rewriter, loc, from),
                                            isContiguous(rewriter, loc, to));
        auto branch = scf::IfOp::create(rewriter, loc, TypeRange{}, dense,
                                        /*withElseRegion=*/true);
        rewriter.setInsertionPoint(branch.thenYield());
        Value count = arith::ConstantIndexOp::create(
            rewriter, loc, element.getIntOrFloatBitWidth() / 8);
        for (Value size : from.getSizes())
          count = arith::MulIOp::create(rewriter, loc, count, size);
        // A buffer copied onto itself (a state a scan updated in place, put
        // back into the stack it came from) is left alone.
        Value dst = firstElement(rewriter, loc, target, to);
        Value src = firstElement(rewriter, loc, source, from);
        Value moves = LLVM::ICmpOp::create(rewriter, loc,
                                           LLVM::ICmpPredicate::ne, dst, src);
        auto copyIf = scf::IfOp::create(rewriter, loc, TypeRange{}, moves,
                                        /*withElseRegion=*/false);
        rewriter.setInsertionPoint(copyIf.thenYield());
        LLVM::MemcpyOp::create(rewriter, loc, dst, src,
                               arith::IndexCastOp::create(
                                   rewriter, loc, rewriter.getI64Type(), count),
                               /*isVolatile=*/false);
        rewriter.setInsertionPoint(branch.elseYield());
      }
      linalg::CopyOp::create(rewriter, loc, source, target);
      rewriter.eraseOp(copy);
    }
  }
};

} // namespace
