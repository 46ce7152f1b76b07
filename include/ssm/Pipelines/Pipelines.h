//===- Pipelines.h - named ssm pipelines ------------------------*- C++ -*-===//
//
// Pipelines are C++ builders taking an options struct, shared by ssm-opt
// (registered as named pipelines), the JIT runner and the Python bindings.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_PIPELINES_PIPELINES_H
#define SSM_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace ssm {

struct SSMToLLVMOptions : public PassPipelineOptions<SSMToLLVMOptions> {
  PassOptions::Option<bool> reference{
      *this, "reference",
      llvm::cl::desc("Lower every ssm op with the reference loops "
                     "(ssm-lower-to-loops) instead of the fast paths"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector on the fast paths (16: AVX-512, "
                     "8: AVX2)"),
      llvm::cl::init(16)};
  PassOptions::Option<bool> x86Avx512{
      *this, "x86-avx512",
      llvm::cl::desc("The target has AVX-512F: the fast paths may use its "
                     "instructions (vscalefps)"),
      llvm::cl::init(false)};
  PassOptions::Option<unsigned> numThreads{
      *this, "num-threads",
      llvm::cl::desc("Run scf.parallel loops (the scan's tiles) on this many "
                     "OpenMP threads; 0 or 1 keeps them sequential"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> parallelScan{
      *this, "parallel-scan",
      llvm::cl::desc("With several threads, let ssm-parallel-scan cut long "
                     "scans with few channel tiles into time chunks run in "
                     "parallel (fast paths only)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> lowerDeallocations{
      *this, "buffer-deallocation",
      llvm::cl::desc("Insert deallocations of intermediate buffers "
                     "(ownership-based buffer deallocation)"),
      llvm::cl::init(true)};
};

/// ssm (and upstream tensor/linalg/scf/arith/math) IR on tensors -> LLVM
/// dialect: ssm-parallel-scan (several threads, fast paths), ssm-lower-to-vector (unless `reference`), ssm-lower-to-loops
/// for the rest, one-shot bufferization with function
/// boundaries (identity layouts at function boundaries), buffer
/// deallocation, then the standard conversions to LLVM.
void buildSSMToLLVMPipeline(OpPassManager &pm, const SSMToLLVMOptions &options);

/// Registers --ssm-to-llvm with the pass registry (for ssm-opt).
void registerSSMPipelines();

} // namespace ssm
} // namespace mlir

#endif // SSM_PIPELINES_PIPELINES_H
