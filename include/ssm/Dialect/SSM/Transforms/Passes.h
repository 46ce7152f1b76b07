//===- Passes.h - ssm dialect transformations -------------------*- C++ -*-===//

#ifndef SSM_DIALECT_SSM_TRANSFORMS_PASSES_H
#define SSM_DIALECT_SSM_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL
#include "ssm/Dialect/SSM/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ssm/Dialect/SSM/Transforms/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_DIALECT_SSM_TRANSFORMS_PASSES_H
