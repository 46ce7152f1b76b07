//===- Jit.h - compile ssm programs in process and call them ----*- C++ -*-===//
//
// JitProgram lowers a module of ssm (and upstream tensor-level) IR through
// --ssm-to-llvm (or --ssm-to-nvptx, whose kernels run on an NVIDIA GPU),
// JIT-compiles it for the host CPU at -O3 and calls its functions on host
// arrays. Functions take and return ranked tensors (or
// memrefs) of f32, f64, i32 or i64.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_JIT_H
#define SSM_RUNTIME_JIT_H

#include "ssm/Runtime/Array.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"

#include <memory>
#include <optional>

namespace llvm::orc {
class LLJIT;
} // namespace llvm::orc

namespace mlir {
class ExecutionEngine;
class DialectRegistry;
class MLIRContext;
class PassManager;
} // namespace mlir

namespace mlir::ssm {

struct CachedProgram;

/// Registers every dialect, extension and LLVM IR translation the runner
/// needs (all of upstream plus ssm).
void registerRunnerDialects(mlir::DialectRegistry &registry);

/// A context with registerRunnerDialects() loaded lazily.
std::unique_ptr<mlir::MLIRContext> createRunnerContext();

/// Where the program's scans and convolutions run.
enum class Target { CPU, NVPTX, GPUEmulator };

struct JitOptions {
  /// CPU: everything on the host. NVPTX: the selective scan and the causal
  /// conv1d as kernels on an NVIDIA GPU (through the CUDA driver runtime),
  /// the rest on the host. GPUEmulator: the same kernels run on the CPU by
  /// the GPU emulator (include/ssm/Runtime/GpuEmulator.h), to check them
  /// without a GPU.
  Target target = Target::CPU;
  /// NVPTX: the chip the kernels are compiled for.
  std::string gpuChip = "sm_90";
  /// NVPTX and GPUEmulator: the scan kernel's consecutive steps per thread,
  /// most threads per block, states per iteration of its state loop and
  /// whether it loads A, B and C ahead (the pipelines' items-per-thread,
  /// max-threads, states-per-iteration and prefetch).
  int64_t gpuItemsPerThread = 16;
  int64_t gpuMaxThreads = 128;
  int64_t gpuStatesPerIteration = 1;
  bool gpuPrefetch = false;
  /// NVPTX and GPUEmulator: the scan kernel's strategy (chunks, channels or
  /// auto).
  std::string gpuStrategy = "chunks";
  /// NVPTX and GPUEmulator: threads sharing a channel's states in the
  /// channels kernel (the pipelines' threads-per-channel).
  int64_t gpuThreadsPerChannel = 1;
  /// NVPTX and GPUEmulator: every op a kernel can run as a kernel, not only
  /// the scan and the conv (the pipelines' all-kernels).
  bool gpuAllKernels = false;
  /// NVPTX and GPUEmulator, with gpuAllKernels: rows from which a
  /// projection is a tiled matrix product (the pipelines' tiled-from-rows;
  /// 0: never).
  int64_t gpuTiledFromRows = 32;
  /// Rows of x (b * L) from which a projection on the host runs the packed
  /// prefill kernel (the pipelines' packed-from-rows; 0: by the weight's
  /// type).
  int64_t packedFromRows = 0;
  /// LLVM IR optimisation level and codegen level.
  unsigned optLevel = 3;
  /// Target CPU and extra features; empty means the host CPU and features.
  std::string cpu;
  std::string features;
  /// Lower with the reference loops instead of the fast paths.
  bool reference = false;
  /// f32 lanes per vector on the fast paths; 0 picks 16 when the target has
  /// AVX-512F and 8 otherwise.
  int64_t vectorWidth = 0;
  /// Threads for parallel loops (OpenMP, libomp loaded into the JIT);
  /// 0 means every core, 1 runs sequentially without OpenMP.
  unsigned numThreads = 0;
  /// With several threads, let long scans with few channel tiles run
  /// parallel over time (ssm-parallel-scan's cost model decides).
  bool parallelScan = true;
};

/// The threads `options` runs parallel loops on: numThreads, or every core
/// for 0. Host code beside the programs (MambaLM's scoring) uses as many.
unsigned resolveThreads(const JitOptions &options);

/// The type of one argument or result before lowering.
struct TensorSig {
  DType dtype;
  llvm::SmallVector<int64_t> shape; ///< mlir::ShapedType::kDynamic for '?'
  std::string type;                 ///< as printed, for messages
};

struct FunctionSig {
  std::string name;
  llvm::SmallVector<TensorSig> args, results;
};

/// How lowered code allocates its host buffers: malloc, aligned_alloc and
/// free (what --emit prints: any C caller links it), or the buffer cache's
/// functions (ssm/Runtime/BufferCache.h), which JitProgram::compile maps
/// them to.
enum class HostAllocation { Libc, BufferCache };

/// Lowers `module` in place to the LLVM dialect with --ssm-to-llvm, with
/// the pipeline options `options` implies for its target. Tensor arguments
/// of public functions become read-only (bufferization.writable = false)
/// unless marked writable: they are the caller's arrays.
/// Diagnostics go to the context's handler. `configure`, when given, sees
/// the pass manager before it runs (to add instrumentation, e.g. the
/// bindings' IR after a named pass).
llvm::Error lowerToLLVMDialect(
    mlir::ModuleOp module, const JitOptions &options = {},
    llvm::function_ref<void(mlir::PassManager &)> configure = nullptr,
    HostAllocation allocation = HostAllocation::Libc);

/// The PTX of every kernel of `module` (ssm IR), lowered in place with
/// --ssm-to-nvptx for `options.gpuChip`; needs no GPU and no CUDA toolkit.
/// Each kernel module's text follows a `// gpu.binary @name` line.
llvm::Expected<std::string> emitPTX(mlir::ModuleOp module,
                                    const JitOptions &options);

/// The optimised LLVM IR of an LLVM-dialect module.
llvm::Expected<std::string> emitLLVMIR(mlir::ModuleOp module,
                                       const JitOptions &options);

class JitProgram {
public:
  ~JitProgram();

  /// Records the signatures of the public functions of `module`, lowers it
  /// in place and JIT-compiles it. A CPU program whose code is in the
  /// compile cache (ssm/Runtime/CompileCache.h) is loaded from there
  /// instead, and `module` is left as it was; a compiled one is stored.
  static llvm::Expected<std::unique_ptr<JitProgram>>
  compile(mlir::ModuleOp module, const JitOptions &options = {});

  /// The signature of a public function, or an error naming the functions
  /// the program has.
  llvm::Expected<const FunctionSig *> signature(llvm::StringRef name) const;

  /// What call() hands back for a result that is a writable argument the
  /// function updated in place (and the lowering dropped from its
  /// signature: ssm.in_place_results).
  enum class InPlaceResults {
    Copy, ///< a fresh array with its elements
    View, ///< a view of that input (Array::view), which the caller keeps
          ///< alive: no copy, e.g. for states of megabytes per token
  };

  /// Calls `name` on `inputs`, which must already have the argument dtypes
  /// and shapes. Returns the results as fresh arrays (see InPlaceResults
  /// for the results that are inputs); `ms`, when given, receives the time
  /// of the call itself (not of copying the results out).
  llvm::Expected<llvm::SmallVector<Array>>
  call(llvm::StringRef name, llvm::ArrayRef<const Array *> inputs,
       double *ms = nullptr, InPlaceResults inPlace = InPlaceResults::Copy);

  /// True when the machine code came from the compile cache
  /// (ssm/Runtime/CompileCache.h) instead of being compiled.
  bool loadedFromCache() const { return fromCache; }

private:
  JitProgram() = default;
  /// Links a CPU program's object files (compiled here, or from the cache)
  /// into a fresh LLJIT (objectJit) and looks its functions up.
  llvm::Error loadObjects(CachedProgram &cached, const JitOptions &options);
  /// The JIT holding the code: an LLJIT of the object files for CPU
  /// programs, MLIR's engine for GPU programs (its JIT runs the global
  /// constructors that load their kernels).
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::unique_ptr<llvm::orc::LLJIT> objectJit;
  bool fromCache = false;
  /// Each callable function's packed wrapper (_mlir_<name>).
  llvm::StringMap<void (*)(void **)> entries;
  /// GPU programs: the runtime's error report (ssmCudaTakeError,
  /// ssmGpuEmulatorTakeError).
  int (*takeGpuError)(char *, size_t) = nullptr;
  llvm::StringMap<FunctionSig> functions;
  /// The program's functions declared without a body, with where: when the
  /// JIT finds no definition of one, the error says which and where.
  llvm::StringMap<std::string> declared;
  /// Functions whose lowering dropped results that were writable arguments
  /// updated in place: for each result, that argument, or -1.
  llvm::StringMap<llvm::SmallVector<int64_t>> resultArguments;
  /// Public functions with a signature the runner cannot call, and why.
  llvm::StringMap<std::string> uncallable;
};

/// A copy of a host array in the device memory of a GPU target (the GPU
/// emulator's device memory is host memory), for the arguments a program
/// takes `ssm.device_resident` (ssm-gpu-device-buffers): uploaded once,
/// passed to any number of calls, freed with this object.
class DeviceBuffer {
public:
  /// Allocates device memory of `target` (NVPTX or GPUEmulator) and copies
  /// `host` into it; an error names the failing driver call.
  static llvm::Expected<DeviceBuffer> upload(Target target, const Array &host);

  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer();

  /// The copy as an argument of JitProgram::call: data() is a device
  /// address, which the host must not read.
  const Array &array() const { return device; }

  /// The functions of a GPU target's runtime that manage device memory.
  struct Runtime;

private:
  DeviceBuffer() = default;
  void release();
  const Runtime *runtime = nullptr;
  Array device;
};

/// Checks host arrays against a signature and converts, in place, dtypes
/// where allowed (float widths, int widths). `labels` name each input in
/// messages (e.g. "--input x.npy" or "--B b.npy").
llvm::Error prepareInputs(const FunctionSig &sig,
                          llvm::MutableArrayRef<Array> inputs,
                          llvm::ArrayRef<std::string> labels);

} // namespace mlir::ssm

#endif // SSM_RUNTIME_JIT_H
