//===- Pipelines.cpp - named ssm pipelines --------------------------------===//

#include "ssm/Pipelines/Pipelines.h"
#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::ssm;

/// Tensors to memrefs, after the ssm lowerings: elementwise ops on tensors
/// through linalg, one-shot bufferization with row-major function
/// boundaries, optionally deallocation.
template <typename Options>
static void addBufferization(OpPassManager &pm, const Options &options) {
  // Elementwise arith/math on tensors has no bufferization of its own.
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());

  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  // Plain row-major memrefs at function boundaries: what the runner and any
  // C caller hand in and expect back.
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // The state a time chunk of ssm-tile yields is a fresh buffer (the
  // chunk's last_state / final_state), not the loop's own argument.
  bufferize.allowReturnAllocsFromLoops = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // A private function's results that are its arguments (state stacks a
  // layer updates in place) go, before deallocation would clone them; a
  // public function's too when its caller knows (in-place-results).
  SSMDropEquivalentResultsOptions drop;
  drop.publicFunctions = options.inPlaceResults;
  pm.addPass(createSSMDropEquivalentResults(drop));
  if (options.lowerDeallocations)
    bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
}

/// The host's scalar code (math, arith, complex, index, memref, func, cf,
/// ub) and OpenMP regions to the LLVM dialect; allocations call the generic
/// functions with `runtimeAllocator`.
static void addHostToLLVM(OpPassManager &pm, bool runtimeAllocator) {
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // arith, complex (the S4D scans' create/re/im), index, memref, func, cf,
  // ub and OpenMP in one conversion (docs/compile-time.md).
  SSMHostToLLVMOptions toLLVM;
  toLLVM.runtimeAllocator = runtimeAllocator;
  pm.addPass(createSSMHostToLLVM(toLLVM));
}

/// The fast paths of the host's ops (every target has a host): scans and
/// convs the GPU lowering left (or all of them on the CPU) and the
/// projections as vector code; ssm-lower-to-loops takes the rest.
template <typename Derived>
static void addHostFastPaths(OpPassManager &pm,
                             const HostOptions<Derived> &options) {
  if (options.reference)
    return;
  SSMLowerToVectorOptions vector;
  vector.vectorWidth = options.vectorWidth;
  vector.x86Avx512 = options.x86Avx512;
  vector.numThreads = std::max(1u, options.numThreads.getValue());
  pm.addPass(createSSMLowerToVector(vector));
  SSMLowerProjectionsOptions projections;
  projections.vectorWidth = options.vectorWidth;
  projections.packedFromRows = options.packedFromRows;
  pm.addPass(createSSMLowerProjections(projections));
}

/// Tiles over threads: scf.parallel -> omp.parallel + omp.wsloop (static
/// schedule over the batch x channel-tile space). GPU launches hold no
/// scf.parallel (ssm-lower-to-gpu writes scf.for), so only the host's
/// loops become OpenMP.
static void addHostThreads(OpPassManager &pm, unsigned numThreads) {
  if (numThreads <= 1)
    return;
  ConvertSCFToOpenMPPassOptions omp;
  omp.numThreads = numThreads;
  pm.addPass(createConvertSCFToOpenMPPass(omp));
  // Inlines the memref.alloca_scope the conversion wraps around each loop
  // body (ours allocate nothing on the stack); scf-to-cf would otherwise
  // leave multi-block regions inside it.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createSSMInlineAllocaScopes());
}

/// Upstream ops a user program may mix with ours, copies between strided
/// buffers as loops LLVM vectorises, masked and transposing transfers as
/// 1-D transfers and shuffles, then control flow.
static void addHostLoops(OpPassManager &pm) {
  pm.addPass(createSSMStridedCopies());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
}

/// The host's code to LLVM: its vector code (transposes as 16x16 shuffles,
/// AVX-512 intrinsics where the host has them), its scalar code and its
/// OpenMP regions.
template <typename Derived>
static void addHostCodeToLLVM(OpPassManager &pm,
                              const HostOptions<Derived> &options) {
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.vectorTransposeLowering =
      vector::VectorTransposeLowering::Shuffle16x16;
  vectorToLLVM.x86Vector = options.x86Avx512;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  addHostToLLVM(pm, options.runtimeAllocator);
}

void ssm::buildSSMToLLVMPipeline(OpPassManager &pm,
                                 const SSMToLLVMOptions &options) {
  // Checks of the dynamic sizes the verifiers could not check, on the
  // program as written; then model-level ops become core ops and linalg.
  pm.addPass(createSSMRuntimeVerification());
  pm.addPass(createSSMExpandBlocks());
  // Long sequences with too few channel tiles for the threads: chunks of
  // time in parallel (the cost model is the pass's).
  if (!options.reference && options.parallelScan && options.numThreads > 1) {
    SSMParallelScanOptions parallel;
    parallel.numThreads = options.numThreads;
    parallel.laneWidth = options.vectorWidth;
    pm.addPass(createSSMParallelScan(parallel));
  }
  addHostFastPaths(pm, options);
  pm.addPass(createSSMLowerToLoops());
  addBufferization(pm, options);
  // Tiles of ssm-tile (scf.forall) join the parallel loops of the lowerings.
  pm.addPass(createForallToParallelLoopPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  addHostThreads(pm, options.numThreads);
  addHostLoops(pm);
  addHostCodeToLLVM(pm, options);
  pm.addPass(createReconcileUnrealizedCastsPass());
}

/// The GPU lowering up to outlined kernels and control flow, shared by the
/// NVPTX pipeline and the emulator's.
template <typename Options>
static void addGPUKernels(OpPassManager &pm, const Options &options) {
  // With every op a kernel, a model's layer calls are inlined: one function
  // holds the whole forward pass, so that ssm-gpu-device-buffers keeps its
  // activations and states on the device from layer to layer (a call's
  // arguments and results would be host memory), and
  // ssm-gpu-dedup-kernels merges the layers' copies of each kernel.
  pm.addPass(createSSMRuntimeVerification());
  if (options.allKernels)
    pm.addPass(createInlinerPass());
  pm.addPass(createSSMExpandBlocks());
  SSMLowerToGPUOptions gpu;
  gpu.itemsPerThread = options.itemsPerThread;
  gpu.maxThreads = options.maxThreads;
  gpu.statesPerIteration = options.statesPerIteration;
  gpu.prefetch = options.prefetch;
  gpu.strategy = options.strategy;
  gpu.threadsPerChannel = options.threadsPerChannel;
  pm.addPass(createSSMLowerToGPU(gpu));
  // Everything else runs on the host, as on the CPU target; with
  // all-kernels, what a kernel can run becomes one after bufferization.
  if (!options.allKernels)
    addHostFastPaths(pm, options);
  pm.addPass(createSSMLowerToLoops());
  addBufferization(pm, options);
  if (options.allKernels) {
    SSMHostOpsToGPUOptions hostOps;
    hostOps.tiledFromRows = options.tiledFromRows;
    pm.addPass(createSSMHostOpsToGPU(hostOps));
  }
  pm.addPass(createSSMGPUDeviceBuffers());
  pm.addPass(createForallToParallelLoopPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  addHostThreads(pm, options.numThreads);
  // Constants and dims into the kernels rather than kernel arguments.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createSSMGPUDedupKernels());
  addHostLoops(pm);
}

/// The host's code to LLVM, launches included (gpu-to-llvm).
template <typename Options>
static void addGPUHostToLLVM(OpPassManager &pm, const Options &options) {
  addHostCodeToLLVM(pm, options);
  pm.addPass(createGpuToLLVMConversionPass());
}

void ssm::buildSSMToNVPTXPipeline(OpPassManager &pm,
                                  const SSMToNVPTXOptions &options) {
  addGPUKernels(pm, options);

  // Device side.
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(target));
  // The scan's exp2 as ex2.approx, floor and fma as instructions, before
  // convert-gpu-to-nvvm would call libdevice for them.
  pm.addNestedPass<gpu::GPUModuleOp>(createSSMMathToNVVM());
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  // Host side.
  addGPUHostToLLVM(pm, options);
  pm.addPass(createReconcileUnrealizedCastsPass());

  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void ssm::buildSSMToGPUEmulatorPipeline(
    OpPassManager &pm, const SSMToGPUEmulatorOptions &options) {
  addGPUKernels(pm, options);
  // The kernels become host functions over the emulator's runtime calls,
  // converted to LLVM with the host; launches become calls of the emulator.
  pm.addPass(createSSMGPUEmulateKernels());
  addGPUHostToLLVM(pm, options);
  pm.addPass(createSSMGPUEmulateLaunches());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void ssm::registerSSMPipelines() {
  PassPipelineRegistration<SSMToLLVMOptions>(
      "ssm-to-llvm",
      "Lower ssm programs on tensors to the LLVM dialect (reference loops, "
      "bufferization, standard conversions)",
      buildSSMToLLVMPipeline);
  PassPipelineRegistration<SSMToNVPTXOptions>(
      "ssm-to-nvptx",
      "Lower ssm programs on tensors to LLVM dialect host code that launches "
      "NVPTX kernels for the selective scan and the causal conv1d",
      buildSSMToNVPTXPipeline);
  PassPipelineRegistration<SSMToGPUEmulatorOptions>(
      "ssm-to-gpu-emulator",
      "Lower ssm programs on tensors like --ssm-to-nvptx, but with the "
      "kernels as host functions that the GPU emulator runs on the CPU",
      buildSSMToGPUEmulatorPipeline);
}
