//===- Passes.h - ssm conversion passes -------------------------*- C++ -*-===//

#ifndef SSM_CONVERSION_PASSES_H
#define SSM_CONVERSION_PASSES_H

#include "ssm/Conversion/SSMToLoops/SSMToLoops.h"

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

/// The most f32 lanes the CPU fast paths (ssm-lower-to-vector,
/// ssm-lower-projections) accept as their vector width: one AVX-512
/// register. Wider vectors only grow the code.
constexpr int64_t kMaxVectorWidth = 16;

#define GEN_PASS_DECL
#include "ssm/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ssm/Conversion/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_PASSES_H
