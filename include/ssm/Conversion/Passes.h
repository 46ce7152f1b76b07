//===- Passes.h - ssm conversion passes -------------------------*- C++ -*-===//

#ifndef SSM_CONVERSION_PASSES_H
#define SSM_CONVERSION_PASSES_H

#include "ssm/Conversion/SSMToLoops/SSMToLoops.h"

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL
#include "ssm/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ssm/Conversion/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_PASSES_H
