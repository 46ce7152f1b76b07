//===- Jit.cpp - compile ssm programs in process and call them ------------===//

#include "ssm/Runtime/Jit.h"
#include "ssm/Conversion/Passes.h"
#include "ssm/Pipelines/Pipelines.h"
#include "ssm/Runtime/BufferCache.h"
#include "ssm/Runtime/CompileCache.h"
#include "ssm/Runtime/CudaRuntime.h"
#include "ssm/Runtime/GpuEmulator.h"
#include "ssm/Runtime/ObjectCompiler.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ExecutionEngine/JITEventListener.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <thread>

using namespace mlir::ssm;
using llvm::StringRef;

namespace {

void initializeNativeTarget() {
  static bool done = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)done;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const JitOptions &options) {
  initializeNativeTarget();
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb)
    return jtmb.takeError();
  if (!options.cpu.empty()) {
    jtmb->setCPU(options.cpu);
    jtmb->getFeatures() = llvm::SubtargetFeatures();
  }
  if (!options.features.empty()) {
    llvm::SmallVector<StringRef> features;
    StringRef(options.features).split(features, ',', -1, false);
    for (StringRef f : features)
      jtmb->getFeatures().AddFeature(f);
  }
  // ExecutionEngineOptions::jitCodeGenOptLevel does not reach the target
  // machine we pass in, so set the level here.
  jtmb->setCodeGenOptLevel(
      options.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
      : options.optLevel == 0 ? llvm::CodeGenOptLevel::None
                              : llvm::CodeGenOptLevel::Default);
  return jtmb->createTargetMachine();
}

std::optional<DType> dtypeOf(mlir::Type t) {
  if (t.isF32())
    return DType::F32;
  if (t.isF64())
    return DType::F64;
  if (t.isSignlessInteger(32))
    return DType::I32;
  if (t.isSignlessInteger(64))
    return DType::I64;
  if (t.isF16())
    return DType::F16;
  if (t.isBF16())
    return DType::BF16;
  if (t.isSignlessInteger(8))
    return DType::I8;
  return std::nullopt;
}

std::string printType(mlir::Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

llvm::Expected<TensorSig> tensorSig(mlir::Type t, StringRef func,
                                    StringRef what) {
  auto shaped = llvm::dyn_cast<mlir::ShapedType>(t);
  if (!shaped || !shaped.hasRank() ||
      !(llvm::isa<mlir::RankedTensorType, mlir::MemRefType>(t)))
    return llvm::createStringError(
        "@%s: %s has type %s; the runner exchanges .npy arrays, so it must "
        "be a ranked tensor or memref",
        func.str().c_str(), what.str().c_str(), printType(t).c_str());
  if (auto mr = llvm::dyn_cast<mlir::MemRefType>(t);
      mr && !mr.getLayout().isIdentity())
    return llvm::createStringError(
        "@%s: %s has type %s; memrefs at the boundary must have the identity "
        "layout",
        func.str().c_str(), what.str().c_str(), printType(t).c_str());
  std::optional<DType> dtype = dtypeOf(shaped.getElementType());
  if (!dtype)
    return llvm::createStringError(
        "@%s: %s has element type %s; supported are f32, f64, f16, bf16, i8, "
        "i32 and i64",
        func.str().c_str(), what.str().c_str(),
        printType(shaped.getElementType()).c_str());
  return TensorSig{*dtype,
                   llvm::SmallVector<int64_t>(shaped.getShape().begin(),
                                              shaped.getShape().end()),
                   printType(t)};
}

/// bufferization::BufferizationDialect::kWritableAttrName, without the
/// dialect's header.
constexpr const char *kWritableAttr = "bufferization.writable";

/// A memref descriptor as func-to-llvm lays it out:
/// {ptr allocated, ptr aligned, i64 offset, i64 sizes[R], i64 strides[R]}.
size_t descriptorWords(size_t rank) { return 3 + 2 * rank; }

/// Copies a strided source into a dense C-ordered destination.
void gatherStrided(const char *src, char *dst, llvm::ArrayRef<int64_t> sizes,
                   llvm::ArrayRef<int64_t> strides, size_t elt) {
  if (sizes.empty()) {
    std::memcpy(dst, src, elt);
    return;
  }
  int64_t inner = 1;
  for (int64_t s : sizes.drop_front())
    inner *= s;
  for (int64_t i = 0; i < sizes[0]; ++i)
    gatherStrided(src + i * strides[0] * elt, dst + i * inner * elt,
                  sizes.drop_front(), strides.drop_front(), elt);
}

/// Whether strides describe dense C-ordered elements of `sizes` (a
/// dimension of one may have any stride).
bool isDense(llvm::ArrayRef<int64_t> sizes, llvm::ArrayRef<int64_t> strides) {
  int64_t expect = 1;
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
    if (sizes[i] != 1 && strides[i] != expect)
      return false;
    expect *= sizes[i];
  }
  return true;
}

/// Tensor arguments of public functions are the caller's arrays (a numpy
/// array in the bindings, a checkpoint's read-only map): bufferization must
/// not write into them unless the program says it may
/// (bufferization.writable = true, as the language model's states are).
void markArgumentsReadOnly(mlir::ModuleOp module) {
  for (auto func : module.getOps<mlir::func::FuncOp>()) {
    if (func.isExternal() || !func.isPublic())
      continue;
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (llvm::isa<mlir::TensorType>(func.getArgument(i).getType()) &&
          !func.getArgAttr(i, kWritableAttr))
        func.setArgAttr(i, kWritableAttr,
                        mlir::BoolAttr::get(module.getContext(), false));
  }
}

/// ExecutionEngine::create gives every function F a wrapper `_mlir_F(void
/// **args)` that loads each argument from the array and calls F; the runner
/// calls the wrappers. A model's entry takes every weight as an unpacked
/// memref descriptor (Mamba-130m's `forward`: over a thousand scalars), and
/// lowering that one call, most of its arguments stored to the stack in one
/// block, is quadratic in SelectionDAG's store combining: 3.1 s of a 4.3 s
/// compile on one thread, 8 s of 12.9 s with OpenMP (more descriptor
/// fields live). A function that only its wrapper calls is inlined into it
/// instead, so the arguments become loads where they are used and no such
/// call is left; the function itself goes (the runner looks up only
/// wrappers). A function something else calls, or marked noinline, keeps
/// its call.
void inlineIntoPackedWrappers(llvm::Module &module) {
  constexpr llvm::StringLiteral kPrefix = "_mlir_";
  llvm::SmallVector<llvm::CallBase *> calls;
  for (llvm::Function &wrapper : module) {
    if (wrapper.isDeclaration() || !wrapper.getName().starts_with(kPrefix))
      continue;
    llvm::Function *callee =
        module.getFunction(wrapper.getName().drop_front(kPrefix.size()));
    if (!callee || callee->isDeclaration() || !callee->hasOneUse() ||
        callee->hasFnAttribute(llvm::Attribute::NoInline))
      continue;
    auto *call = llvm::dyn_cast<llvm::CallBase>(callee->user_back());
    if (call && call->getFunction() == &wrapper &&
        call->getCalledFunction() == callee)
      calls.push_back(call);
  }
  for (llvm::CallBase *call : calls) {
    llvm::Function *callee = call->getCalledFunction();
    llvm::InlineFunctionInfo info;
    if (llvm::InlineFunction(*call, info).isSuccess() && callee->use_empty())
      callee->eraseFromParent();
  }
}

/// The LLVM IR of an LLVM-dialect module, for `options`' target machine.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateForHost(mlir::ModuleOp module, const JitOptions &options,
                 llvm::LLVMContext &llvmContext) {
  auto tm = createTargetMachine(options);
  if (!tm)
    return tm.takeError();
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule)
    return llvm::createStringError("translation to LLVM IR failed");
  llvmModule->setDataLayout((*tm)->createDataLayout());
  llvmModule->setTargetTriple((*tm)->getTargetTriple());
  return llvmModule;
}

/// A lowered CPU program's object files: its LLVM IR with a packed wrapper
/// for each callable function (JitProgram::call's convention), optimised
/// and compiled by compileToObjects.
llvm::Expected<llvm::SmallVector<std::unique_ptr<llvm::MemoryBuffer>>>
compileCpuObjects(mlir::ModuleOp module, const JitOptions &options,
                  const llvm::StringMap<FunctionSig> &functions) {
  llvm::LLVMContext llvmContext;
  auto llvmModule = translateForHost(module, options, llvmContext);
  if (!llvmModule)
    return llvmModule.takeError();
  llvm::SmallVector<std::string> names;
  for (const auto &entry : functions)
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  if (llvm::Error err = addPackedWrappers(**llvmModule, names))
    return std::move(err);
  inlineIntoPackedWrappers(**llvmModule);
  // On as many threads as the program runs on: a run told to use one core
  // compiles on one too (the code is the same either way).
  return compileToObjects(
      std::move(*llvmModule), options.optLevel,
      [&] { return createTargetMachine(options); }, resolveThreads(options));
}

} // namespace

unsigned mlir::ssm::resolveThreads(const JitOptions &options) {
  if (options.numThreads)
    return options.numThreads;
  return std::max(1u, std::thread::hardware_concurrency());
}

const char *mlir::ssm::cudaRuntimeLibraryPath() {
#ifdef SSM_CUDA_RUNTIME_LIBRARY
  return SSM_CUDA_RUNTIME_LIBRARY;
#else
  return "";
#endif
}

namespace {

/// Loads the CUDA runtime and checks for a GPU; returns its error reporter.
llvm::Expected<int (*)(char *, size_t)> loadCudaRuntime() {
  const char *path = cudaRuntimeLibraryPath();
  if (!*path)
    return llvm::createStringError(
        "the nvptx target cannot run here: this build has no CUDA runtime (the "
        "CUDA toolkit was not found when it was configured); PTX can be "
        "emitted without one (--emit=ptx)");
  void *handle = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (!handle)
    return llvm::createStringError(
        "the nvptx target needs the NVIDIA driver, which this machine lacks "
        "(loading the CUDA runtime failed: %s)",
        dlerror());
  auto init =
      reinterpret_cast<int (*)(char *, size_t)>(dlsym(handle, "ssmCudaInit"));
  auto take = reinterpret_cast<int (*)(char *, size_t)>(
      dlsym(handle, "ssmCudaTakeError"));
  if (!init || !take)
    return llvm::createStringError("%s is not ssm-mlir's CUDA runtime", path);
  char message[512];
  if (init(message, sizeof(message)))
    return llvm::createStringError("the nvptx target: %s", message);
  return take;
}

llvm::Error gpuError(int (*take)(char *, size_t), llvm::StringRef when) {
  char message[4608];
  if (take && take(message, sizeof(message)))
    return llvm::createStringError("GPU error %s: %s", when.str().c_str(),
                                   message);
  return llvm::Error::success();
}

/// The scan kernel's shape, from the JIT's options into a GPU pipeline's.
template <typename Derived>
void setKernelOptions(mlir::ssm::GPUKernelOptions<Derived> &pipeline,
                      const JitOptions &options) {
  pipeline.itemsPerThread = options.gpuItemsPerThread;
  pipeline.maxThreads = options.gpuMaxThreads;
  pipeline.statesPerIteration = options.gpuStatesPerIteration;
  pipeline.prefetch = options.gpuPrefetch;
  pipeline.strategy = options.gpuStrategy;
  pipeline.threadsPerChannel = options.gpuThreadsPerChannel;
  pipeline.allKernels = options.gpuAllKernels;
  pipeline.tiledFromRows = options.gpuTiledFromRows;
}

/// How the host's ops are lowered, from the JIT's options and the host CPU
/// (the same on every target: on the GPU targets the host runs the ops
/// without a kernel).
template <typename Derived>
llvm::Error setHostOptions(mlir::ssm::HostOptions<Derived> &pipeline,
                           const JitOptions &options,
                           HostAllocation allocation) {
  pipeline.reference = options.reference;
  // libomp aborts the process when it cannot start the threads a parallel
  // region asks for (--threads 100000 did); refuse such counts up front.
  unsigned threadLimit =
      std::max(256u, 4 * std::thread::hardware_concurrency());
  if (options.numThreads > threadLimit)
    return llvm::createStringError(
        "%u threads requested, at most %u here (4 per hardware thread, at "
        "least 256)",
        options.numThreads, threadLimit);
  if (options.vectorWidth > kMaxVectorWidth)
    return llvm::createStringError(
        "a vector width of %lld f32 lanes requested, at most %lld (one "
        "AVX-512 register)",
        static_cast<long long>(options.vectorWidth),
        static_cast<long long>(kMaxVectorWidth));
  auto tm = createTargetMachine(options);
  if (!tm)
    return tm.takeError();
  // The CPU's own features plus the explicit ones; the fast path's
  // AVX-512 code needs AVX512F.
  bool avx512 = (*tm)->getMCSubtargetInfo()->checkFeatures("+avx512f");
  pipeline.x86Avx512 = avx512;
  pipeline.vectorWidth =
      options.vectorWidth ? options.vectorWidth : (avx512 ? 16 : 8);
  pipeline.packedFromRows = options.packedFromRows;
  pipeline.numThreads = resolveThreads(options);
  // JitProgram::call hands the updated writable arguments back itself.
  pipeline.inPlaceResults = true;
  // JitProgram::compile maps the generic allocation functions to the
  // buffer cache.
  pipeline.runtimeAllocator = allocation == HostAllocation::BufferCache;
  return llvm::Error::success();
}

} // namespace

/// Whether the pass manager verifies the IR after every pass of the
/// pipeline (SSM_VERIFY_PASSES set and not "0": the test suites set it)
/// rather than once, at the end. A verification walks the whole module:
/// after each of the pipeline's thirty-odd passes it took about a fifth of
/// a program's lowering (docs/compile-time.md). The input was verified
/// when it was parsed or built; what the passes make of it is checked once
/// before it goes on.
static bool verifyEachPass() {
  static const bool on = [] {
    const char *value = std::getenv("SSM_VERIFY_PASSES");
    return value && *value && llvm::StringRef(value) != "0";
  }();
  return on;
}

llvm::Error mlir::ssm::lowerToLLVMDialect(
    mlir::ModuleOp module, const JitOptions &options,
    llvm::function_ref<void(mlir::PassManager &)> configure,
    HostAllocation allocation) {
  markArgumentsReadOnly(module);
  mlir::PassManager pm(module.getContext());
  const bool verifyPasses = verifyEachPass();
  pm.enableVerifier(verifyPasses);
  const char *pipelineName = "--ssm-to-llvm";
  if (options.target == Target::GPUEmulator) {
    mlir::ssm::SSMToGPUEmulatorOptions pipeline;
    if (llvm::Error err = setHostOptions(pipeline, options, allocation))
      return err;
    setKernelOptions(pipeline, options);
    mlir::ssm::buildSSMToGPUEmulatorPipeline(pm, pipeline);
    pipelineName = "--ssm-to-gpu-emulator";
  } else if (options.target == Target::NVPTX) {
    mlir::ssm::SSMToNVPTXOptions pipeline;
    pipeline.chip = options.gpuChip;
    if (llvm::Error err = setHostOptions(pipeline, options, allocation))
      return err;
    setKernelOptions(pipeline, options);
    mlir::ssm::buildSSMToNVPTXPipeline(pm, pipeline);
    pipelineName = "--ssm-to-nvptx";
  } else {
    mlir::ssm::SSMToLLVMOptions pipeline;
    if (llvm::Error err = setHostOptions(pipeline, options, allocation))
      return err;
    pipeline.parallelScan = options.parallelScan;
    mlir::ssm::buildSSMToLLVMPipeline(pm, pipeline);
  }
  if (configure)
    configure(pm);
  if (mlir::failed(pm.run(module)))
    return llvm::createStringError("lowering with %s failed", pipelineName);
  if (!verifyPasses && mlir::failed(mlir::verify(module)))
    return llvm::createStringError(
        "the program lowered with %s does not verify (a bug of the "
        "pipeline; SSM_VERIFY_PASSES=1 verifies after each pass and names "
        "the pass)",
        pipelineName);
  return llvm::Error::success();
}

llvm::Expected<std::string> mlir::ssm::emitPTX(mlir::ModuleOp module,
                                               const JitOptions &options) {
  JitOptions nvptx = options;
  nvptx.target = Target::NVPTX;
  if (llvm::Error err = lowerToLLVMDialect(module, nvptx))
    return std::move(err);
  std::string text;
  llvm::raw_string_ostream os(text);
  module.walk([&](mlir::gpu::BinaryOp binary) {
    for (mlir::Attribute attr : binary.getObjects()) {
      auto object = llvm::cast<mlir::gpu::ObjectAttr>(attr);
      os << "// gpu.binary @" << binary.getName() << " (" << object.getTarget()
         << ")\n"
         << object.getObject().getValue() << "\n";
    }
  });
  return text;
}

llvm::Expected<std::string> mlir::ssm::emitLLVMIR(mlir::ModuleOp module,
                                                  const JitOptions &options) {
  auto tm = createTargetMachine(options);
  if (!tm)
    return tm.takeError();
  llvm::LLVMContext llvmContext;
  auto llvmModule = translateForHost(module, options, llvmContext);
  if (!llvmModule)
    return llvmModule.takeError();
  auto optimize =
      mlir::makeOptimizingTransformer(options.optLevel, 0, tm->get());
  if (llvm::Error err = optimize(llvmModule->get()))
    return std::move(err);
  std::string text;
  llvm::raw_string_ostream os(text);
  (*llvmModule)->print(os, nullptr);
  return text;
}

/// The symbols the programs call that the runner defines: the buffer
/// cache's allocation functions (the pipelines' runtime-allocator), the
/// failure of a run-time check (ssm-host-to-llvm's cf.assert) and, for
/// the emulator, its functions, which win over any mgpu* a loaded CUDA
/// runtime exports.
static llvm::orc::SymbolMap runtimeSymbols(llvm::orc::MangleAndInterner &mangle,
                                           bool emulator) {
  llvm::orc::SymbolMap map;
  auto define = [&](llvm::StringRef name, void *address) {
    map[mangle(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                         llvm::JITSymbolFlags::Exported};
  };
  define("_mlir_memref_to_llvm_alloc", reinterpret_cast<void *>(&bufferAlloc));
  define("_mlir_memref_to_llvm_aligned_alloc",
         reinterpret_cast<void *>(&bufferAlignedAlloc));
  define("_mlir_memref_to_llvm_free", reinterpret_cast<void *>(&bufferFree));
  define("ssm_runtime_check_failed",
         reinterpret_cast<void *>(&runtimeCheckFailed));
  if (emulator)
    for (const GpuEmulatorSymbol &symbol : gpuEmulatorSymbols())
      define(symbol.name, symbol.address);
  return map;
}

JitProgram::~JitProgram() = default;

/// What a JIT's session reports while it links: the names it found no
/// definition for (SymbolsNotFound) and any other error's message. A
/// lookup that fails returns only "Failed to materialize symbols" (the
/// functions that needed them); the session's reporter gets the reason,
/// and printed it to stderr, in the JIT's words and once per lookup.
namespace {
struct SessionReports {
  std::mutex mutex;
  std::vector<std::string> missing, other;

  /// Makes `reports` the session's reporter for as long as the session
  /// lives (it outlives the lookups that read it).
  static void install(std::shared_ptr<SessionReports> reports,
                      llvm::orc::ExecutionSession &es) {
    es.setErrorReporter(
        [reports](llvm::Error err) { reports->record(std::move(err)); });
  }

  void record(llvm::Error err) {
    std::lock_guard<std::mutex> lock(mutex);
    llvm::handleAllErrors(
        std::move(err),
        [&](const llvm::orc::SymbolsNotFound &e) {
          for (const llvm::orc::SymbolStringPtr &sym : e.getSymbols())
            if (!llvm::is_contained(missing, (*sym).str()))
              missing.push_back((*sym).str());
        },
        [&](const llvm::ErrorInfoBase &e) { other.push_back(e.message()); });
  }

  /// `err` (a failed lookup) said in the program's terms: the functions
  /// it declares without a body (`declared`: name -> location) that
  /// nothing defines, or the session's own messages.
  llvm::Error explain(llvm::Error err,
                      const llvm::StringMap<std::string> &declared) {
    std::lock_guard<std::mutex> lock(mutex);
    if (missing.empty() && other.empty())
      return err;
    llvm::consumeError(std::move(err));
    if (missing.empty())
      return llvm::createStringError(llvm::join(other, "; "));
    std::string names, where;
    for (const std::string &name : missing) {
      names += (names.empty() ? "'" : ", '") + name + "'";
      auto it = declared.find(name);
      if (where.empty() && it != declared.end() && !it->second.empty())
        where = it->second + ": ";
    }
    return llvm::createStringError(
        "%sthe program calls %s, which nothing defines: neither the program "
        "(a function declared without a body) nor the process and the "
        "libraries the runner loads",
        where.c_str(), names.c_str());
  }
};
} // namespace

llvm::Error JitProgram::loadObjects(CachedProgram &cached,
                                    const JitOptions &options) {
  initializeNativeTarget();
  // As MLIR's ExecutionEngine links what it compiles: RuntimeDyld with a
  // section memory manager, the GDB and perf listeners (so that debuggers
  // and profiles name the code), the process's symbols and the libraries
  // it loads. The target machine's JIT code model (large on x86-64) makes
  // the references between the partitions' objects absolute, so they
  // resolve wherever the memory manager puts each object.
  static llvm::JITEventListener *gdb =
      llvm::JITEventListener::createGDBRegistrationListener();
  static llvm::JITEventListener *perf =
      llvm::JITEventListener::createPerfJITEventListener();
  std::string error;
  if (resolveThreads(options) > 1 &&
      llvm::sys::DynamicLibrary::LoadLibraryPermanently(SSM_OPENMP_LIBRARY,
                                                        &error))
    return llvm::createStringError("%s: %s", SSM_OPENMP_LIBRARY, error.c_str());
  if (cached.runnerUtils && llvm::sys::DynamicLibrary::LoadLibraryPermanently(
                                SSM_C_RUNNER_UTILS_LIBRARY, &error))
    return llvm::createStringError("%s: %s", SSM_C_RUNNER_UTILS_LIBRARY,
                                   error.c_str());
  auto jit =
      llvm::orc::LLJITBuilder()
          .setObjectLinkingLayerCreator([](llvm::orc::ExecutionSession &es) {
            auto layer = std::make_unique<llvm::orc::RTDyldObjectLinkingLayer>(
                es, [](const llvm::MemoryBuffer &) {
                  return std::make_unique<llvm::SectionMemoryManager>();
                });
            if (gdb)
              layer->registerJITEventListener(*gdb);
            if (perf)
              layer->registerJITEventListener(*perf);
            return layer;
          })
          .create();
  if (!jit)
    return jit.takeError();
  llvm::orc::JITDylib &main = (*jit)->getMainJITDylib();
  const char prefix = (*jit)->getDataLayout().getGlobalPrefix();
  auto process =
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix);
  if (!process)
    return process.takeError();
  main.addGenerator(std::move(*process));
  llvm::orc::MangleAndInterner mangle((*jit)->getExecutionSession(),
                                      (*jit)->getDataLayout());
  if (llvm::Error err = main.define(
          llvm::orc::absoluteSymbols(runtimeSymbols(mangle, false))))
    return err;
  for (std::unique_ptr<llvm::MemoryBuffer> &object : cached.objects)
    if (llvm::Error err = (*jit)->addObjectFile(std::move(object)))
      return err;
  auto reports = std::make_shared<SessionReports>();
  SessionReports::install(reports, (*jit)->getExecutionSession());
  llvm::StringMap<void (*)(void **)> found;
  for (const auto &entry : functions) {
    auto address = (*jit)->lookup(("_mlir_" + entry.getKey()).str());
    if (!address)
      return reports->explain(address.takeError(), declared);
    found[entry.getKey()] = address->toPtr<void (*)(void **)>();
  }
  if (llvm::Error err = (*jit)->initialize(main))
    return err;
  objectJit = std::move(*jit);
  entries = std::move(found);
  resultArguments = std::move(cached.resultArguments);
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<JitProgram>>
JitProgram::compile(mlir::ModuleOp module, const JitOptions &options) {
  std::unique_ptr<JitProgram> program(new JitProgram());
  for (auto func : module.getOps<mlir::func::FuncOp>()) {
    if (func.isExternal()) {
      std::string where;
      llvm::raw_string_ostream os(where);
      if (auto loc = llvm::dyn_cast<mlir::FileLineColLoc>(func.getLoc()))
        os << loc.getFilename().getValue() << ":" << loc.getLine() << ":"
           << loc.getColumn();
      program->declared[func.getName()] = where;
    }
    if (func.isExternal() || !func.isPublic())
      continue;
    FunctionSig sig;
    sig.name = func.getName().str();
    mlir::FunctionType ft = func.getFunctionType();
    auto collect = [&](mlir::TypeRange types, llvm::StringRef what,
                       llvm::SmallVectorImpl<TensorSig> &out) -> llvm::Error {
      for (auto [i, t] : llvm::enumerate(types)) {
        auto ts = tensorSig(t, sig.name, what.str() + " #" + std::to_string(i));
        if (!ts)
          return ts.takeError();
        out.push_back(*ts);
      }
      return llvm::Error::success();
    };
    // A function the runner cannot call does not stop the program (it may
    // be a helper); why it cannot be called is reported if it is called.
    llvm::Error err = collect(ft.getInputs(), "argument", sig.args);
    if (!err)
      err = collect(ft.getResults(), "result", sig.results);
    if (err)
      program->uncallable[sig.name] = llvm::toString(std::move(err));
    else
      program->functions[sig.name] = std::move(sig);
  }

  // NVPTX: the driver and a GPU are checked before anything is compiled.
  if (options.target == Target::NVPTX) {
    auto take = loadCudaRuntime();
    if (!take)
      return take.takeError();
    program->takeGpuError = *take;
  }
  if (options.target == Target::GPUEmulator)
    program->takeGpuError = ssmGpuEmulatorTakeError;

  // CPU programs: the compile cache, keyed before the module is lowered.
  // (GPU programs embed their kernels' binaries and load them in global
  // constructors; they are compiled every time.)
  std::optional<std::string> cacheDir, cacheKey;
  if (options.target == Target::CPU) {
    cacheDir = compileCacheDir();
    if (cacheDir)
      cacheKey = compileCacheKey(module, options);
  }
  if (cacheKey) {
    if (std::optional<CachedProgram> cached =
            loadCachedProgram(*cacheDir, *cacheKey)) {
      // A loaded entry that does not link (it cannot, short of a bug) is
      // compiled again, below, and overwritten.
      llvm::Error err = program->loadObjects(*cached, options);
      if (!err) {
        program->fromCache = true;
        return program;
      }
      llvm::consumeError(std::move(err));
    }
  }

  if (llvm::Error err = lowerToLLVMDialect(module, options, nullptr,
                                           HostAllocation::BufferCache))
    return std::move(err);
  // The results the lowering dropped because they were writable arguments
  // updated in place (ssm-drop-equivalent-results).
  for (auto &[name, sig] : program->functions) {
    mlir::Operation *lowered = module.lookupSymbol(name);
    auto argOf = lowered ? lowered->getAttrOfType<mlir::DenseI64ArrayAttr>(
                               "ssm.in_place_results")
                         : nullptr;
    if (!argOf)
      continue;
    const int64_t numArgs = static_cast<int64_t>(sig.args.size());
    if (argOf.size() != static_cast<int64_t>(sig.results.size()) ||
        llvm::any_of(argOf.asArrayRef(),
                     [numArgs](int64_t a) { return a >= numArgs; }))
      return llvm::createStringError(
          "@%s: ssm.in_place_results does not match its %zu results and %zu "
          "arguments",
          name.str().c_str(), sig.results.size(), sig.args.size());
    program->resultArguments[name].assign(argOf.asArrayRef().begin(),
                                          argOf.asArrayRef().end());
  }
  // Strided memref.copy becomes a call to memrefCopy.
  const bool runnerUtils = module.lookupSymbol("memrefCopy") != nullptr;

  // CPU programs: compiled to object files here, in parallel
  // (ObjectCompiler.h), then linked as a cached program is.
  if (options.target == Target::CPU) {
    auto objects = compileCpuObjects(module, options, program->functions);
    if (!objects)
      return objects.takeError();
    CachedProgram built;
    built.objects = std::move(*objects);
    built.resultArguments = program->resultArguments;
    built.runnerUtils = runnerUtils;
    // A failure to store costs the next run a compile, nothing else.
    if (cacheKey)
      llvm::consumeError(storeCachedProgram(*cacheDir, *cacheKey, built));
    if (llvm::Error err = program->loadObjects(built, options))
      return std::move(err);
    return program;
  }

  // GPU programs: MLIR's ExecutionEngine, whose JIT runs the global
  // constructors that load the kernels.
  auto tm = createTargetMachine(options);
  if (!tm)
    return tm.takeError();
  auto optimize =
      mlir::makeOptimizingTransformer(options.optLevel, 0, tm->get());
  // ExecutionEngineOptions::transformer is a function_ref: the callable
  // lives here, and the lookups below, still in this scope, compile.
  auto transformer = [&optimize](llvm::Module *m) -> llvm::Error {
    inlineIntoPackedWrappers(*m);
    return optimize(m);
  };
  mlir::ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  // Parallel loops call into libomp; it is loaded only then.
  llvm::SmallVector<llvm::StringRef> libs;
  if (resolveThreads(options) > 1)
    libs.push_back(SSM_OPENMP_LIBRARY);
  if (runnerUtils)
    libs.push_back(SSM_C_RUNNER_UTILS_LIBRARY);
  if (options.target == Target::NVPTX)
    libs.push_back(cudaRuntimeLibraryPath());
  engineOptions.sharedLibPaths = libs;
  auto engine =
      mlir::ExecutionEngine::create(module, engineOptions, std::move(*tm));
  if (!engine)
    return engine.takeError();
  program->engine = std::move(*engine);
  // The host buffers' allocation functions (the pipelines'
  // runtime-allocator) are the buffer cache's. The emulator's functions
  // are the program's own definitions: they win over any mgpu* a loaded
  // CUDA runtime exports.
  const bool emulator = options.target == Target::GPUEmulator;
  program->engine->registerSymbols(
      [emulator](llvm::orc::MangleAndInterner mangle) {
        return runtimeSymbols(mangle, emulator);
      });
  // The JIT generates machine code on the first lookup: do it now, so that
  // the first call's time is the call's and compile errors surface here.
  for (const auto &entry : program->functions) {
    auto fn = program->engine->lookupPacked(entry.getKey());
    if (!fn)
      return fn.takeError();
    program->entries[entry.getKey()] = *fn;
  }
  program->engine->initialize();
  // The kernels' modules were loaded by the program's constructors.
  if (llvm::Error err = gpuError(program->takeGpuError, "loading the kernels"))
    return std::move(err);
  return program;
}

llvm::Expected<const FunctionSig *>
JitProgram::signature(StringRef name) const {
  auto it = functions.find(name);
  if (it != functions.end())
    return &it->second;
  auto why = uncallable.find(name);
  if (why != uncallable.end())
    return llvm::createStringError("%s", why->second.c_str());
  llvm::SmallVector<llvm::StringRef> names;
  for (const auto &entry : functions)
    names.push_back(entry.getKey());
  llvm::sort(names);
  std::string known;
  for (llvm::StringRef n : names)
    known += (known.empty() ? "@" : ", @") + n.str();
  return llvm::createStringError(
      "no callable public function @%s in the program (callable: %s; a "
      "callable function takes and returns ranked tensors or memrefs of f32, "
      "f64, f16, bf16, i8, i32 or i64)",
      name.str().c_str(), known.empty() ? "none" : known.c_str());
}

llvm::Expected<llvm::SmallVector<Array>>
JitProgram::call(StringRef name, llvm::ArrayRef<const Array *> inputs,
                 double *ms, InPlaceResults inPlace) {
  auto sigOr = signature(name);
  if (!sigOr)
    return sigOr.takeError();
  const FunctionSig &sig = **sigOr;
  if (inputs.size() != sig.args.size())
    return llvm::createStringError("@%s takes %zu arguments, got %zu inputs",
                                   name.str().c_str(), sig.args.size(),
                                   inputs.size());

  // One int64 word per scalar of every argument descriptor, then the result
  // descriptors, which the packed wrapper writes into one buffer.
  llvm::SmallVector<llvm::SmallVector<int64_t, 8>> argWords;
  for (const Array *in : inputs) {
    llvm::SmallVector<int64_t, 8> words;
    auto ptr = reinterpret_cast<int64_t>(in->data());
    words.append({ptr, ptr, 0});
    words.append(in->shape().begin(), in->shape().end());
    int64_t stride = 1;
    llvm::SmallVector<int64_t> strides(in->rank());
    for (int64_t i = in->rank() - 1; i >= 0; --i) {
      strides[i] = stride;
      stride *= in->shape()[i];
    }
    words.append(strides.begin(), strides.end());
    argWords.push_back(std::move(words));
  }
  llvm::SmallVector<void *> packed;
  for (auto &words : argWords)
    for (int64_t &w : words)
      packed.push_back(&w);
  // For each result, the input it is when the program updated that input
  // in place and returns only the others, or -1.
  llvm::SmallVector<int64_t> argOf(sig.results.size(), -1);
  if (auto it = resultArguments.find(name); it != resultArguments.end())
    argOf = it->second;
  size_t resultWords = 0;
  for (auto [r, a] : llvm::zip_equal(sig.results, argOf))
    if (a < 0)
      resultWords += descriptorWords(r.shape.size());
  llvm::SmallVector<int64_t> resultBuffer(resultWords, 0);
  if (resultWords)
    packed.push_back(resultBuffer.data());

  auto start = std::chrono::steady_clock::now();
  GuardedCall call = callGuarded(entries.lookup(name), packed.data());
  auto stop = std::chrono::steady_clock::now();
  if (call.refusedBytes)
    return llvm::createStringError(
        std::make_error_code(std::errc::not_enough_memory),
        "out of memory: @%s asked for a buffer of %s, which could not be "
        "allocated; the call was abandoned and its buffers released",
        name.str().c_str(), formatByteCount(call.refusedBytes).c_str());
  // A dynamic size that disagrees with another (ssm-runtime-verification):
  // the check's message names the op, its location and the operands.
  if (call.failedCheck)
    return llvm::createStringError(
        std::make_error_code(std::errc::invalid_argument),
        "%s (in a call of @%s, abandoned before the op ran)", call.failedCheck,
        name.str().c_str());
  if (ms)
    *ms = std::chrono::duration<double, std::milli>(stop - start).count();

  llvm::SmallVector<Array> outputs;
  llvm::SmallVector<void *> taken;
  size_t offset = 0;
  for (auto [r, a] : llvm::zip_equal(sig.results, argOf)) {
    if (a >= 0) {
      const Array &in = *inputs[a];
      if (inPlace == InPlaceResults::View) {
        outputs.push_back(
            Array::view(in.dtype(), in.shape(), const_cast<void *>(in.data())));
      } else {
        Array out(in.dtype(), in.shape());
        std::memcpy(out.data(), in.data(), in.byteSize());
        outputs.push_back(std::move(out));
      }
      continue;
    }
    size_t rank = r.shape.size();
    const int64_t *d = resultBuffer.data() + offset;
    offset += descriptorWords(rank);
    void *allocated = reinterpret_cast<void *>(d[0]);
    auto *aligned = reinterpret_cast<char *>(d[1]);
    llvm::ArrayRef<int64_t> sizes(d + 3, rank), strides(d + 3 + rank, rank);
    size_t elt = dtypeSize(r.dtype);
    char *first = aligned + d[2] * elt;
    // Results are owned by the caller (ownership-based deallocation), unless
    // the function handed back one of our own input buffers or a buffer that
    // an earlier result already took.
    bool owned =
        allocated &&
        llvm::none_of(
            inputs, [&](const Array *in) { return in->data() == allocated; }) &&
        !llvm::is_contained(taken, allocated);
    // A dense row-major result is adopted as it is; anything else is copied.
    if (owned && isDense(sizes, strides)) {
      taken.push_back(allocated);
      outputs.push_back(Array::adopt(r.dtype, sizes, allocated, first));
      continue;
    }
    Array out(r.dtype, sizes);
    if (out.numElements())
      gatherStrided(first, static_cast<char *>(out.data()), sizes, strides,
                    elt);
    outputs.push_back(std::move(out));
    if (owned) {
      taken.push_back(allocated);
      std::free(allocated);
    }
  }
  // A failed driver call leaves the results undefined: no answer at all.
  if (llvm::Error err = gpuError(takeGpuError, ("in @" + name).str()))
    return std::move(err);
  return outputs;
}

//===----------------------------------------------------------------------===//
// Device buffers
//===----------------------------------------------------------------------===//

/// The mgpu* functions of the CUDA runtime (or the emulator's) that the
/// compiled programs call too, resolved once per target.
struct DeviceBuffer::Runtime {
  void *(*alloc)(uint64_t, void *, bool) = nullptr;
  void (*free)(void *, void *) = nullptr;
  void (*memcpy)(void *, void *, size_t, void *) = nullptr;
  void *(*streamCreate)() = nullptr;
  void (*streamSynchronize)(void *) = nullptr;
  void (*streamDestroy)(void *) = nullptr;
  int (*takeError)(char *, size_t) = nullptr;

  /// Fills the functions from `lookup` (a name to an address); false when
  /// one is missing.
  template <typename Lookup> bool resolve(Lookup lookup) {
    auto get = [&](auto &fn, const char *name) {
      fn =
          reinterpret_cast<std::remove_reference_t<decltype(fn)>>(lookup(name));
      return fn != nullptr;
    };
    return get(alloc, "mgpuMemAlloc") && get(free, "mgpuMemFree") &&
           get(memcpy, "mgpuMemcpy") && get(streamCreate, "mgpuStreamCreate") &&
           get(streamSynchronize, "mgpuStreamSynchronize") &&
           get(streamDestroy, "mgpuStreamDestroy");
  }
};

namespace {
llvm::Expected<const DeviceBuffer::Runtime *> deviceRuntime(Target target) {
  using Runtime = DeviceBuffer::Runtime;
  if (target == Target::GPUEmulator) {
    static const Runtime emulator = [] {
      Runtime r;
      r.resolve([](const char *name) -> void * {
        for (const GpuEmulatorSymbol &symbol : gpuEmulatorSymbols())
          if (llvm::StringRef(symbol.name) == name)
            return symbol.address;
        return nullptr;
      });
      r.takeError = ssmGpuEmulatorTakeError;
      return r;
    }();
    return &emulator;
  }
  if (target != Target::NVPTX)
    return llvm::createStringError(
        "device buffers need a GPU target (nvptx or gpu-emulator)");
  // MambaLMs in several threads may upload at once.
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  static Runtime cuda;
  static bool loaded = false;
  if (!loaded) {
    auto take = loadCudaRuntime();
    if (!take)
      return take.takeError();
    void *handle = dlopen(cudaRuntimeLibraryPath(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle ||
        !cuda.resolve([&](const char *name) { return dlsym(handle, name); }))
      return llvm::createStringError("%s lacks the mgpu* memory functions",
                                     cudaRuntimeLibraryPath());
    cuda.takeError = *take;
    loaded = true;
  }
  return &cuda;
}
} // namespace

llvm::Expected<DeviceBuffer> DeviceBuffer::upload(Target target,
                                                  const Array &host) {
  auto runtime = deviceRuntime(target);
  if (!runtime)
    return runtime.takeError();
  const Runtime &rt = **runtime;
  DeviceBuffer buffer;
  buffer.runtime = &rt;
  void *stream = rt.streamCreate();
  void *ptr = rt.alloc(host.byteSize(), stream, /*isHostShared=*/false);
  rt.memcpy(ptr, const_cast<void *>(host.data()), host.byteSize(), stream);
  rt.streamSynchronize(stream);
  rt.streamDestroy(stream);
  buffer.device = Array::view(host.dtype(), host.shape(), ptr);
  if (llvm::Error err = gpuError(
          rt.takeError, "uploading " + std::to_string(host.byteSize()) +
                            " bytes to the device"))
    return std::move(err);
  return buffer;
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&other) noexcept
    : runtime(other.runtime), device(std::move(other.device)) {
  other.runtime = nullptr;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    release();
    runtime = other.runtime;
    device = std::move(other.device);
    other.runtime = nullptr;
  }
  return *this;
}

void DeviceBuffer::release() {
  if (runtime && device.data())
    runtime->free(device.data(), nullptr);
  runtime = nullptr;
}

DeviceBuffer::~DeviceBuffer() { release(); }

llvm::Error mlir::ssm::prepareInputs(const FunctionSig &sig,
                                     llvm::MutableArrayRef<Array> inputs,
                                     llvm::ArrayRef<std::string> labels) {
  if (inputs.size() != sig.args.size())
    return llvm::createStringError(
        "@%s takes %zu arguments, but %zu inputs were given", sig.name.c_str(),
        sig.args.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    Array &in = inputs[i];
    const TensorSig &arg = sig.args[i];
    auto mismatch = [&]() {
      llvm::StringRef dtype = dtypeName(in.dtype());
      return llvm::createStringError(
          "%s: %s %s array of shape %s does not fit argument #%zu of @%s, "
          "which is %s",
          labels[i].c_str(), dtype.starts_with("i") ? "an" : "a", dtype.data(),
          shapeString(in.shape()).c_str(), i, sig.name.c_str(),
          arg.type.c_str());
    };
    if (in.rank() != static_cast<int64_t>(arg.shape.size()))
      return mismatch();
    for (auto [have, want] : llvm::zip(in.shape(), arg.shape))
      if (want != mlir::ShapedType::kDynamic && have != want)
        return mismatch();
    if (isFloat(in.dtype()) != isFloat(arg.dtype))
      return mismatch();
    if (in.dtype() == arg.dtype)
      continue;
    auto converted = in.convertTo(arg.dtype);
    if (!converted)
      return llvm::createStringError(
          "%s: %s", labels[i].c_str(),
          llvm::toString(converted.takeError()).c_str());
    in = std::move(*converted);
  }
  return llvm::Error::success();
}
