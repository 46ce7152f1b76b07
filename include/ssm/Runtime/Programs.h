//===- Programs.h - ssm programs built for the runner -----------*- C++ -*-===//
//
// Programs the runner and the bindings build through the dialect, so that
// every entry point goes through the same ops, verifiers and pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_PROGRAMS_H
#define SSM_RUNTIME_PROGRAMS_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <optional>

namespace mlir::ssm {

/// mamba_ssm's selective_scan_fn, channel-first: the shapes of its operands
/// and its flags. Optional operands are absent when their shape is unset.
struct SelectiveScanSpec {
  llvm::SmallVector<int64_t> u, delta, A, B, C;
  std::optional<llvm::SmallVector<int64_t>> D, z, deltaBias, h0;
  bool deltaSoftplus = false;
  bool returnLastState = false;
  bool f64 = false; ///< element type f64 instead of f32
};

/// The name of the function buildSelectiveScanModule() defines. Its
/// arguments are u, delta, A, B, C, then D, z, delta_bias and h0 where
/// present; its results y and, when asked for, the last state.
inline constexpr const char *kSelectiveScanFunc = "selective_scan";

/// Builds a module with one function holding one ssm.selective_scan of the
/// given static shapes. Shapes that break the contract give an error with
/// the op verifier's message (naming the operand and the expected shape).
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildSelectiveScanModule(mlir::MLIRContext &ctx, const SelectiveScanSpec &spec);

} // namespace mlir::ssm

#endif // SSM_RUNTIME_PROGRAMS_H
