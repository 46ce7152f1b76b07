//===- SSMAnalysis.h - what the IR proves about ssm operands ---*- C++ -*-===//
//
// Facts about the operands of ssm ops that the IR producing them proves,
// shared by the lowerings (CPU vector code and GPU kernels).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_SSM_IR_SSMANALYSIS_H
#define SSM_DIALECT_SSM_IR_SSMANALYSIS_H

#include "mlir/IR/Value.h"

namespace mlir {
class OpBuilder;
} // namespace mlir

namespace mlir::ssm {

/// True when the IR proves that `a` (rank >= 2) does not vary along its last
/// dimension: Mamba-2's A, one decay per head that ssm-expand-blocks
/// broadcasts over the head's channels and states (a linalg.generic whose
/// inputs ignore the state dimension, then a collapse_shape of (H, P) into
/// channels), seen through the slices of tiling and of state groups; a
/// linalg.broadcast along the last dimension; a constant whose rows are
/// uniform; an elementwise generic on such values (Mamba-1's -exp(A_log)
/// on an A_log broadcast along the states, as the tasks' fixed-weight
/// models give it). The scans then compute exp(dt * A) once per channel and
/// step instead of once per state, as mamba_ssm's Mamba-2 kernels do; nothing
/// is assumed that the IR does not show.
bool isUniformAlongStates(Value a);

/// For `a` with isUniformAlongStates(a): the same values with the last
/// dimension of size 1, rebuilt from the IR that proves the uniformity (the
/// generic, broadcast or constant on one column, then the same slices and
/// collapse_shapes), so that a lowering which reads one column does not
/// compute or read the others. Mamba-2's A is (d_inner, d_state) with one
/// exp per element as ssm-expand-blocks writes it: 196608 exps and 786 KB
/// per layer at Mamba-2-130m's shape, every decoding step, for 1536 values.
/// Null when `a` is not uniform along states.
Value narrowUniformAlongStates(OpBuilder &b, Value a);

} // namespace mlir::ssm

#endif // SSM_DIALECT_SSM_IR_SSMANALYSIS_H
