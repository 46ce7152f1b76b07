//===- TiledMatmul.h - projections as tiled GPU matrix products -*- C++ -*-===//
//
// Private to ssm-host-ops-to-gpu: a model's projections (the linalg form
// ssm-expand-blocks gives ssm.linear, y[..., m, n] += x[..., m, k] *
// W[n, k]) with many rows as launches of a tiled matrix product, blocks of
// 64 x 64 outputs from shared-memory tiles of x and W (TiledMatmul.cpp,
// docs/gpu.md "Projections on the GPU").
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_CONVERSION_SSMTOGPU_TILEDMATMUL_H
#define SSM_LIB_CONVERSION_SSMTOGPU_TILEDMATMUL_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ssm {

/// Rewrites each projection on the host under `root` (a linalg.generic on
/// buffers of the form above, f32, with the linalg.fill of its output or
/// the broadcast of a bias into it just before it if there is one) into a
/// tiled launch when it has at least `minRows` rows (m). With the rows
/// known only at run time, the tiled launch's grid is empty below
/// `minRows`, and the original ops stay after it on views of x and the
/// output that have no rows from `minRows` on: ssm-host-ops-to-gpu makes
/// its warp-per-output kernel of them (a decoding step's shape). `minRows`
/// 0 leaves every projection alone. Returns the new launches, which still
/// capture the operands' views (sinkViews, after any CSE).
SmallVector<gpu::LaunchOp> tileProjections(RewriterBase &rewriter,
                                           Operation *root, int64_t minRows);

} // namespace mlir::ssm

#endif // SSM_LIB_CONVERSION_SSMTOGPU_TILEDMATMUL_H
