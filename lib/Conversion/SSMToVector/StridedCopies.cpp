//===- StridedCopies.cpp - memref.copy of strided buffers as loops --------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
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
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    }
  }
};

} // namespace
