//===- StateGroups.h - split a scan's states into register groups -*- C++ -*-===//

#ifndef SSM_LIB_CONVERSION_SSMTOVECTOR_STATEGROUPS_H
#define SSM_LIB_CONVERSION_SSMTOVECTOR_STATEGROUPS_H

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/IR/PatternMatch.h"

#include <functional>

namespace mlir::ssm {

/// Rewrites an f32 ssm.selective_scan with a static n above `maxStates`
/// into scans over groups of at most `maxStates` states (slices of A, B, C
/// and h0), whose outputs are summed before the D skip and the SiLU(z)
/// gate; the last states are put back together. A token_major scan with n
/// a multiple of `laneWidth` is left whole on a single step (the fast
/// path's step streams any n), and branches on its length when that is
/// dynamic. Scans for which `keepWhole` holds are left whole (the fast
/// path runs their states in blocks).
void populateSplitStateGroupsPatterns(
    RewritePatternSet &patterns, int64_t maxStates, int64_t laneWidth,
    std::function<bool(SelectiveScanOp)> keepWhole);

/// Marks a group's scan, whose h0 is a slice of a state the other groups
/// read too: its last state must not overwrite its h0 (SSMToVector.cpp),
/// or bufferization would copy the slice first.
constexpr llvm::StringLiteral kSharedH0Attr = "ssm.shared_h0";

} // namespace mlir::ssm

#endif // SSM_LIB_CONVERSION_SSMTOVECTOR_STATEGROUPS_H
