//===- CompileCache.h - compiled CPU programs kept on disk ------*- C++ -*-===//
//
// Compiling a model takes seconds (Mamba-130m: ~1.2 s of MLIR lowering,
// ~2 s of LLVM optimisation and code generation) and gives the same machine
// code every time for the same program, options, host and build. The cache
// keeps that code, the object files of each program, so that a second run of
// ssm-run, of a task or of MambaLM.from_pretrained loads it instead
// (docs/compile-cache.md). JitProgram::compile uses it for CPU programs.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_COMPILECACHE_H
#define SSM_RUNTIME_COMPILECACHE_H

#include "ssm/Runtime/Jit.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <optional>
#include <string>

namespace mlir::ssm {

/// One cache entry: the program's object files (one per partition the
/// compile cut it into, ObjectCompiler.h) and what the lowering found that
/// the objects do not say.
struct CachedProgram {
  llvm::SmallVector<std::unique_ptr<llvm::MemoryBuffer>> objects;
  /// JitProgram's resultArguments (ssm.in_place_results of the lowering).
  llvm::StringMap<llvm::SmallVector<int64_t>> resultArguments;
  /// Whether the program calls the MLIR C runner utilities (memrefCopy).
  bool runnerUtils = false;
};

/// The cache's directory: $SSM_CACHE_DIR, else $XDG_CACHE_HOME/ssm-mlir,
/// else $HOME/.cache/ssm-mlir; none when SSM_CACHE_DIR is set empty or to
/// "off", or when no directory can be named.
std::optional<std::string> compileCacheDir();

/// The key of `module` (before lowering) compiled with `options`: a SHA-256
/// over the program's text, every option, the host CPU and its features,
/// LLVM's version and the identity (path, size, time) of the binaries that
/// hold the lowering and the JIT, so that a rebuilt compiler never reads an
/// older build's code. None when the build's identity cannot be read.
std::optional<std::string> compileCacheKey(mlir::ModuleOp module,
                                           const JitOptions &options);

/// The entry `key` in `dir`, or none when it is absent, unreadable or
/// damaged (a damaged entry is removed; checksums cover the objects).
std::optional<CachedProgram> loadCachedProgram(llvm::StringRef dir,
                                               llvm::StringRef key);

/// Writes the entry `key` (to a temporary file, then renamed: readers never
/// see half an entry), then prunes `dir` to its limits (1 GiB, entries
/// unused for 30 days). A failure only costs the next run a compile, so it
/// is reported to the caller to ignore or log.
llvm::Error storeCachedProgram(llvm::StringRef dir, llvm::StringRef key,
                               const CachedProgram &program);

} // namespace mlir::ssm

#endif // SSM_RUNTIME_COMPILECACHE_H
