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

/// How the host's ops are lowered: the fast paths or the reference loops,
/// the vector width, OpenMP threads. Every pipeline has a host: on the GPU
/// targets it runs the ops that have no kernel (the projections, the norms).
template <typename Derived>
struct HostOptions : public PassPipelineOptions<Derived> {
  template <typename T>
  using Option = typename PassPipelineOptions<Derived>::template Option<T>;

  Option<bool> reference{
      *this, "reference",
      llvm::cl::desc("Lower every host op with the reference loops "
                     "(ssm-lower-to-loops) instead of the fast paths"),
      llvm::cl::init(false)};
  Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector on the fast paths, 1 to 16 "
                     "(16: AVX-512, 8: AVX2)"),
      llvm::cl::init(16)};
  Option<int64_t> packedFromRows{
      *this, "packed-from-rows",
      llvm::cl::desc("Rows of x (b * L) from which a projection runs the "
                     "packed prefill kernel rather than the decoding one "
                     "(ssm-lower-projections; 0: by the weight's type)"),
      llvm::cl::init(0)};
  Option<bool> x86Avx512{
      *this, "x86-avx512",
      llvm::cl::desc("The host has AVX-512F: the fast paths may use its "
                     "instructions (vscalefps)"),
      llvm::cl::init(false)};
  Option<unsigned> numThreads{
      *this, "num-threads",
      llvm::cl::desc("Run the host's scf.parallel loops (the tiles of the "
                     "fast paths) on this many OpenMP threads; 0 or 1 keeps "
                     "them sequential"),
      llvm::cl::init(0)};
  Option<bool> inPlaceResults{
      *this, "in-place-results",
      llvm::cl::desc("A public function's results that are writable "
                     "arguments it updated in place leave its signature, "
                     "listed in ssm.in_place_results (the JIT runner's "
                     "convention), instead of coming back as clones"),
      llvm::cl::init(false)};
  Option<bool> runtimeAllocator{
      *this, "runtime-allocator",
      llvm::cl::desc("Host buffers are allocated and freed through "
                     "_mlir_memref_to_llvm_alloc, _aligned_alloc and _free "
                     "(finalize-memref-to-llvm's generic functions), which "
                     "the JIT runner maps to its buffer cache, instead of "
                     "malloc, aligned_alloc and free"),
      llvm::cl::init(false)};
};

struct SSMToLLVMOptions : public HostOptions<SSMToLLVMOptions> {
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

/// The options both GPU pipelines take: the host's (above), the scan
/// kernel's shape and the host buffers' deallocation.
template <typename Derived>
struct GPUKernelOptions : public HostOptions<Derived> {
  template <typename T>
  using Option = typename HostOptions<Derived>::template Option<T>;

  Option<int64_t> itemsPerThread{
      *this, "items-per-thread",
      llvm::cl::desc("Consecutive steps each thread of the scan holds"),
      llvm::cl::init(16)};
  Option<int64_t> maxThreads{
      *this, "max-threads",
      llvm::cl::desc("Most threads per block of the scan (a multiple of 32)"),
      llvm::cl::init(128)};
  Option<int64_t> statesPerIteration{
      *this, "states-per-iteration",
      llvm::cl::desc("States the scan's state loop handles together (1 when "
                     "it does not divide n)"),
      llvm::cl::init(1)};
  Option<bool> prefetch{
      *this, "prefetch",
      llvm::cl::desc("Load the scan's A and B an iteration of its state loop "
                     "ahead, and C before the barrier"),
      llvm::cl::init(false)};
  Option<std::string> strategy{
      *this, "strategy",
      llvm::cl::desc("The scan's kernel: chunks, channels or auto (see "
                     "ssm-lower-to-gpu)"),
      llvm::cl::init("chunks")};
  Option<int64_t> threadsPerChannel{
      *this, "threads-per-channel",
      llvm::cl::desc("Threads sharing a channel's states in the channels "
                     "kernel: 1, 2, 4 or 8 (1 when it does not divide n)"),
      llvm::cl::init(1)};
  Option<bool> lowerDeallocations{
      *this, "buffer-deallocation",
      llvm::cl::desc("Insert deallocations of intermediate host buffers"),
      llvm::cl::init(true)};
  Option<bool> allKernels{
      *this, "all-kernels",
      llvm::cl::desc("Run every op a kernel can run on the GPU (projections, "
                     "norms, gates, copies: ssm-host-ops-to-gpu), not only "
                     "the scan and the conv; the host keeps the rest, on its "
                     "loops. Calls of private functions (a model's layers) "
                     "are inlined first"),
      llvm::cl::init(false)};
  Option<int64_t> tiledFromRows{
      *this, "tiled-from-rows",
      llvm::cl::desc("With all-kernels: rows from which a projection is a "
                     "tiled matrix product rather than a warp per output "
                     "(0: never; ssm-host-ops-to-gpu)"),
      llvm::cl::init(32)};
};

struct SSMToNVPTXOptions : public GPUKernelOptions<SSMToNVPTXOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("NVIDIA chip the kernels target"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features, e.g. +ptx80; empty picks the oldest PTX "
                     "version the chip allows (the widest driver support)"),
      llvm::cl::init("")};
  PassOptions::Option<unsigned> optLevel{
      *this, "opt-level",
      llvm::cl::desc("LLVM optimisation level of the device code"),
      llvm::cl::init(3)};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What gpu-module-to-binary embeds: isa (PTX text, "
                     "compiled by the driver at load), bin (cubin) or fatbin "
                     "(both need ptxas from the CUDA toolkit)"),
      llvm::cl::init("isa")};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit root for ptxas and fatbinary (default: "
                     "CUDA_ROOT, CUDA_HOME or CUDA_PATH, then PATH)"),
      llvm::cl::init("")};
};

/// The emulator's pipeline has no chip or binary format: its kernels run on
/// the host.
struct SSMToGPUEmulatorOptions
    : public GPUKernelOptions<SSMToGPUEmulatorOptions> {};

/// ssm programs on tensors -> LLVM dialect host code with embedded NVPTX
/// kernels: ssm-lower-to-gpu (scan and conv as kernels), every other op on
/// the host as in --ssm-to-llvm (the fast paths unless `reference`, OpenMP
/// threads), bufferization, device buffers and their copies at the launches,
/// kernel outlining, NVVM, gpu-to-llvm and gpu-module-to-binary.
void buildSSMToNVPTXPipeline(OpPassManager &pm,
                             const SSMToNVPTXOptions &options);

/// The kernels of --ssm-to-nvptx, up to and including gpu-kernel-outlining
/// and scf-to-cf, then run on the host by the GPU emulator
/// (lib/Runtime/GpuEmulator.cpp) instead of being compiled for a GPU.
void buildSSMToGPUEmulatorPipeline(OpPassManager &pm,
                                   const SSMToGPUEmulatorOptions &options);

/// ssm (and upstream tensor/linalg/scf/arith/math) IR on tensors -> LLVM
/// dialect: ssm-parallel-scan (several threads, fast paths),
/// ssm-lower-to-vector (unless `reference`), ssm-lower-to-loops for the rest,
/// one-shot bufferization with function boundaries (identity layouts at
/// function boundaries), buffer deallocation, then the standard conversions to
/// LLVM.
void buildSSMToLLVMPipeline(OpPassManager &pm, const SSMToLLVMOptions &options);

/// Registers --ssm-to-llvm and --ssm-to-nvptx with the pass registry (for
/// ssm-opt).
void registerSSMPipelines();

} // namespace ssm
} // namespace mlir

#endif // SSM_PIPELINES_PIPELINES_H
