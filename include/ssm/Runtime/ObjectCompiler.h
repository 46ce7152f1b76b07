//===- ObjectCompiler.h - LLVM IR to object files, in parallel --*- C++ -*-===//
//
// The JIT's CPU programs are compiled here from LLVM IR to object files,
// which JitProgram links (and the compile cache keeps). A program is one
// module whose code is mostly independent functions: the function of each
// parallel loop (OpenMP's outlined `..omp_par` bodies, reached only through
// __kmpc_fork_call) and the entry point. The module is cut into partitions
// of whole call clusters (functions that call each other directly stay
// together), and each partition is optimised and compiled on its own thread
// (docs/compile-time.md).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_OBJECTCOMPILER_H
#define SSM_RUNTIME_OBJECTCOMPILER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace mlir::ssm {

/// Makes one target machine (called on the calling thread, once per
/// partition: a target machine is not shared between threads).
using TargetMachineFactory =
    llvm::function_ref<llvm::Expected<std::unique_ptr<llvm::TargetMachine>>()>;

/// Defines `_mlir_<name>(void **args)` for each function named: it loads
/// argument i from the pointer in args[i], calls the function and stores
/// its result, if any, through args[<number of arguments>] (the packed
/// calling convention of MLIR's ExecutionEngine, which JitProgram::call
/// and the compile cache's objects use).
llvm::Error addPackedWrappers(llvm::Module &module,
                              llvm::ArrayRef<std::string> names);

/// How `module` is cut: the partitions' instruction counts, largest call
/// clusters first (for tests and docs; compileToObjects cuts the same way).
llvm::SmallVector<size_t> partitionSizes(llvm::Module &module);

/// Optimises `module` at `optLevel` (as mlir::makeOptimizingTransformer)
/// and compiles it to object files: one per partition, compiled on up to
/// `maxThreads` threads (0: one per hardware thread). The partitions depend
/// on the module alone, never on the thread count, so the machine code is
/// the same on any machine with the same target. `module` is consumed.
llvm::Expected<llvm::SmallVector<std::unique_ptr<llvm::MemoryBuffer>>>
compileToObjects(std::unique_ptr<llvm::Module> module, unsigned optLevel,
                 TargetMachineFactory createTargetMachine,
                 unsigned maxThreads = 0);

} // namespace mlir::ssm

#endif // SSM_RUNTIME_OBJECTCOMPILER_H
