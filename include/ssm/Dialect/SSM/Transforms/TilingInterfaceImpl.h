//===- TilingInterfaceImpl.h - TilingInterface for the ssm ops --*- C++ -*-===//
//
// External models of upstream's TilingInterface (and of
// ReifyRankedShapedTypeOpInterface, which upstream's tiling driver needs to
// create destination tensors) for ssm.selective_scan, ssm.scan and
// ssm.causal_conv1d. The iteration domain of each op is its independent
// lanes: (batch, channel) for the selective scan and the conv, every
// dimension but `dim` for ssm.scan. Time is not part of it: it is a
// recurrence, neither parallel nor a reduction, and ssm-tile cuts it into
// chunks that carry their state itself (docs/tiling.md).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_TRANSFORMS_TILINGINTERFACEIMPL_H
#define SSM_DIALECT_SSM_TRANSFORMS_TILINGINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;
namespace ssm {
void registerTilingInterfaceExternalModels(DialectRegistry &registry);
} // namespace ssm
} // namespace mlir

#endif // SSM_DIALECT_SSM_TRANSFORMS_TILINGINTERFACEIMPL_H
