//===- Passes.td - ssm conversion passes -------------------*- tablegen -*-===//

#ifndef SSM_CONVERSION_PASSES_TD
#define SSM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def SSMLowerToLoops : Pass<"ssm-lower-to-loops"> {
  let summary = "Reference lowering of the ssm ops to scf loops on memrefs";
  let description = [{
    Rewrites every ssm op into a loop nest of scf/arith/math/memref ops that
    follows the op's definition literally, one scalar at a time: the oracle
    the fast lowerings are tested against, not a fast path. Tensor operands
    enter through `bufferization.to_buffer` and results leave through
    `bufferization.to_tensor restrict writable` of a fresh `memref.alloc`,
    so one-shot bufferization finishes the job for the surrounding program.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

#endif // SSM_CONVERSION_PASSES_TD
