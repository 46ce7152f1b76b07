//===- BufferRoots.h - what a memref is a view of --------------*- C++ -*-===//
//
// The aliasing the GPU passes rely on, shared by ssm-host-ops-to-gpu and
// ssm-gpu-device-buffers: a memref's root is the allocation or argument it
// is a view of; an allocation of the function aliases nothing but its own
// views, nor does an argument marked `llvm.noalias`, while two other
// arguments may alias. And the views a kernel should make
// itself, so that it captures whole buffers.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_CONVERSION_SSMTOGPU_BUFFERROOTS_H
#define SSM_LIB_CONVERSION_SSMTOGPU_BUFFERROOTS_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::ssm {

/// The allocation or argument `v` is a view of.
inline Value rootOf(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

inline bool isAllocation(Value v) {
  return v.getDefiningOp<memref::AllocOp>() ||
         v.getDefiningOp<memref::AllocaOp>();
}

/// Whether `v` is an argument of a function that gives it the attribute
/// `name`.
inline bool hasArgumentAttr(Value v, StringRef name) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || !arg.getOwner()->isEntryBlock())
    return false;
  auto func = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
  return func && func.getArgAttr(arg.getArgNumber(), name);
}

/// Whether `v` is a function argument marked `llvm.noalias`: upstream's
/// way to say that it shares memory with no other argument (the programs
/// a runtime calls with separate buffers carry it).
inline bool isNoAliasArgument(Value v) {
  return hasArgumentAttr(v, "llvm.noalias");
}

/// Whether two memrefs may share memory: the same root, or two roots
/// neither of which is an allocation or a `llvm.noalias` argument.
inline bool mayAlias(Value a, Value b) {
  Value ra = rootOf(a), rb = rootOf(b);
  auto unknown = [](Value r) {
    return !isAllocation(r) && !isNoAliasArgument(r);
  };
  return ra == rb || (unknown(ra) && unknown(rb));
}

/// The memref views a kernel can make from a buffer it captures.
inline bool isViewOp(Operation *op) {
  return isa<memref::SubViewOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
             memref::ReinterpretCastOp, memref::CastOp>(op);
}

/// Clones into `region` (a kernel's body, or a loop's that will become one)
/// the views made above it that it uses, until it captures the buffers
/// themselves: those are row-major, where a slice of one (a layer's part of
/// a stacked state) has a strided layout that a device copy cannot take.
inline void sinkViews(OpBuilder &builder, Region &region) {
  OpBuilder::InsertionGuard guard(builder);
  while (true) {
    SetVector<Value> above;
    getUsedValuesDefinedAbove(region, above);
    Operation *view = nullptr;
    for (Value v : above)
      if (Operation *def = v.getDefiningOp(); def && isViewOp(def)) {
        view = def;
        break;
      }
    if (!view)
      return;
    builder.setInsertionPointToStart(&region.front());
    Operation *clone = builder.clone(*view);
    for (auto [from, to] :
         llvm::zip_equal(view->getResults(), clone->getResults()))
      replaceAllUsesInRegionWith(from, to, region);
  }
}

} // namespace mlir::ssm

#endif // SSM_LIB_CONVERSION_SSMTOGPU_BUFFERROOTS_H
