//===- BufferRoots.h - what a memref is a view of --------------*- C++ -*-===//
//
// The aliasing the GPU passes rely on, shared by ssm-host-ops-to-gpu and
// ssm-gpu-device-buffers: a memref's root is the allocation or argument it
// is a view of; an allocation of the function aliases nothing but its own
// views, while two arguments may alias.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_CONVERSION_SSMTOGPU_BUFFERROOTS_H
#define SSM_LIB_CONVERSION_SSMTOGPU_BUFFERROOTS_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

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

/// Whether two memrefs may share memory: the same root, or two roots
/// neither of which is an allocation.
inline bool mayAlias(Value a, Value b) {
  Value ra = rootOf(a), rb = rootOf(b);
  return ra == rb || (!isAllocation(ra) && !isAllocation(rb));
}

} // namespace mlir::ssm

#endif // SSM_LIB_CONVERSION_SSMTOGPU_BUFFERROOTS_H
