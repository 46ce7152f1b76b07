//===- CompileCache.cpp - compiled CPU programs kept on disk --------------===//

#include "ssm/Runtime/CompileCache.h"
#include "ssm/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CachePruning.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"
#include "llvm/TargetParser/Host.h"

#include <chrono>
#include <cstdlib>
#include <dlfcn.h>
#include <limits>

using namespace mlir::ssm;
using llvm::StringRef;

namespace {

/// The first line of every entry; a new format gets a new one.
constexpr StringRef kMagic = "ssm-mlir compiled program 2\n";
/// Entries are named so that llvm::pruneCache, which only looks at files
/// whose names start with "llvmcache-", manages them.
constexpr StringRef kPrefix = "llvmcache-ssm-";

/// "path size mtime" of the binary (executable or shared object) that holds
/// `address`, or empty.
std::string binaryIdentity(const void *address) {
  Dl_info info;
  if (!dladdr(address, &info) || !info.dli_fname)
    return "";
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(info.dli_fname, status))
    return "";
  return llvm::formatv(
             "{0} {1} {2}", info.dli_fname, status.getSize(),
             status.getLastModificationTime().time_since_epoch().count())
      .str();
}

std::string entryPath(StringRef dir, StringRef key) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, kPrefix + key);
  return std::string(path);
}

std::string checksum(StringRef bytes) {
  return llvm::utohexstr(llvm::xxh3_64bits(bytes));
}

} // namespace

std::optional<std::string> mlir::ssm::compileCacheDir() {
  if (const char *dir = std::getenv("SSM_CACHE_DIR")) {
    StringRef d(dir);
    if (d.empty() || d == "off")
      return std::nullopt;
    return d.str();
  }
  llvm::SmallString<256> path;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    path = xdg;
  } else if (const char *home = std::getenv("HOME"); home && *home) {
    path = home;
    llvm::sys::path::append(path, ".cache");
  } else {
    return std::nullopt;
  }
  llvm::sys::path::append(path, "ssm-mlir");
  return std::string(path);
}

std::optional<std::string> mlir::ssm::compileCacheKey(mlir::ModuleOp module,
                                                      const JitOptions &o) {
  // The lowering (the pipelines) and the JIT (this library) may live in
  // different binaries; either rebuilt changes the key.
  std::string lowering =
      binaryIdentity(reinterpret_cast<const void *>(&buildSSMToLLVMPipeline));
  std::string jit =
      binaryIdentity(reinterpret_cast<const void *>(&compileCacheKey));
  if (lowering.empty() || jit.empty())
    return std::nullopt;

  std::string text;
  llvm::raw_string_ostream os(text);
  os << kMagic << lowering << '\n'
     << jit << '\n'
     << LLVM_VERSION_STRING << '\n';
  os << llvm::sys::getHostCPUName() << '\n';
  llvm::SmallVector<std::string> features;
  for (const auto &f : llvm::sys::getHostCPUFeatures())
    features.push_back((f.getValue() ? "+" : "-") + f.getKey().str());
  llvm::sort(features);
  os << llvm::join(features, ",") << '\n';
  // Every field of JitOptions. The assertion fails when the struct grows:
  // add the new field here, then update the size.
#if defined(__x86_64__) && defined(__GLIBCXX__) && _GLIBCXX_USE_CXX11_ABI
  static_assert(sizeof(JitOptions) == 232,
                "a new JitOptions field must join the compile cache's key");
#endif
  os << static_cast<int>(o.target) << ' ' << o.gpuChip << ' '
     << o.gpuItemsPerThread << ' ' << o.gpuMaxThreads << ' '
     << o.gpuStatesPerIteration << ' ' << o.gpuPrefetch << ' ' << o.gpuStrategy
     << ' ' << o.gpuThreadsPerChannel << ' ' << o.gpuAllKernels << ' '
     << o.gpuTiledFromRows << ' ' << o.packedFromRows << ' ' << o.optLevel
     << " cpu=" << o.cpu << " features=" << o.features << ' ' << o.reference
     << ' ' << o.vectorWidth << ' ' << resolveThreads(o) << ' '
     << o.parallelScan << '\n';
  // In full: elided constants (a command-line default of MLIR's printer)
  // would let two programs that differ only there share a key. With the
  // locations: the run-time checks' messages name the file, line and
  // column of their op (ssm-runtime-verification).
  module->print(
      os, mlir::OpPrintingFlags()
              .printGenericOpForm()
              .enableDebugInfo()
              .elideLargeElementsAttrs(std::numeric_limits<int64_t>::max())
              .elideLargeResourceString(std::numeric_limits<int64_t>::max()));
  os.flush();
  return llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef(text)),
                     /*LowerCase=*/true);
}

std::optional<CachedProgram> mlir::ssm::loadCachedProgram(StringRef dir,
                                                          StringRef key) {
  const std::string path = entryPath(dir, key);
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file)
    return std::nullopt;
  StringRef bytes = (*file)->getBuffer();
  auto damaged = [&]() -> std::optional<CachedProgram> {
    llvm::sys::fs::remove(path);
    return std::nullopt;
  };
  // magic, one line of JSON, then the objects, one after the other.
  if (!bytes.consume_front(kMagic))
    return damaged();
  size_t eol = bytes.find('\n');
  if (eol == StringRef::npos)
    return damaged();
  auto header = llvm::json::parse(bytes.take_front(eol));
  if (!header) {
    llvm::consumeError(header.takeError());
    return damaged();
  }
  StringRef rest = bytes.drop_front(eol + 1);
  const llvm::json::Object *h = header->getAsObject();
  const llvm::json::Array *objects = h ? h->getArray("objects") : nullptr;
  if (!h || h->getString("key") != key || !objects || objects->empty())
    return damaged();
  CachedProgram program;
  for (const llvm::json::Value &o : *objects) {
    const llvm::json::Object *entry = o.getAsObject();
    std::optional<int64_t> size =
        entry ? entry->getInteger("bytes") : std::nullopt;
    if (!size || *size <= 0 || static_cast<uint64_t>(*size) > rest.size())
      return damaged();
    StringRef object = rest.take_front(*size);
    rest = rest.drop_front(*size);
    if (entry->getString("xxh3") != checksum(object))
      return damaged();
    program.objects.push_back(
        llvm::MemoryBuffer::getMemBufferCopy(object, path));
  }
  if (!rest.empty())
    return damaged();
  program.runnerUtils = h->getBoolean("runner_utils").value_or(false);
  if (const llvm::json::Object *results = h->getObject("in_place_results"))
    for (const auto &[name, value] : *results) {
      const llvm::json::Array *args = value.getAsArray();
      if (!args)
        return damaged();
      auto &out = program.resultArguments[name.str()];
      for (const llvm::json::Value &a : *args) {
        std::optional<int64_t> i = a.getAsInteger();
        if (!i)
          return damaged();
        out.push_back(*i);
      }
    }
  // Mark the entry used, for the pruning's expiration (as LLVM's own
  // caches do on a hit).
  if (auto fd = llvm::sys::fs::openNativeFileForRead(path)) {
    (void)llvm::sys::fs::setLastAccessAndModificationTime(
        *fd, std::chrono::system_clock::now());
    llvm::sys::fs::closeFile(*fd);
  } else {
    llvm::consumeError(fd.takeError());
  }
  return program;
}

llvm::Error mlir::ssm::storeCachedProgram(StringRef dir, StringRef key,
                                          const CachedProgram &program) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError(ec, "%s: cannot create the directory: %s",
                                   dir.str().c_str(), ec.message().c_str());
  llvm::json::Array objects;
  for (const std::unique_ptr<llvm::MemoryBuffer> &object : program.objects)
    objects.push_back(llvm::json::Object{
        {"bytes", static_cast<int64_t>(object->getBufferSize())},
        {"xxh3", checksum(object->getBuffer())}});
  llvm::json::Object results;
  for (const auto &entry : program.resultArguments) {
    llvm::json::Array args;
    for (int64_t a : entry.getValue())
      args.push_back(a);
    results[entry.getKey()] = std::move(args);
  }
  llvm::json::Object header{{"key", key},
                            {"objects", std::move(objects)},
                            {"runner_utils", program.runnerUtils},
                            {"in_place_results", std::move(results)}};

  const std::string path = entryPath(dir, key);
  int fd;
  llvm::SmallString<256> temp;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temp))
    return llvm::createStringError(ec, "%s: cannot write: %s", path.c_str(),
                                   ec.message().c_str());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << kMagic << llvm::json::Value(std::move(header)) << '\n';
    for (const std::unique_ptr<llvm::MemoryBuffer> &object : program.objects)
      os << object->getBuffer();
    os.close();
    if (os.has_error()) {
      std::error_code ec = os.error();
      os.clear_error();
      llvm::sys::fs::remove(temp);
      return llvm::createStringError(ec, "%s: cannot write: %s", path.c_str(),
                                     ec.message().c_str());
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(temp, path)) {
    llvm::sys::fs::remove(temp);
    return llvm::createStringError(ec, "%s: cannot write: %s", path.c_str(),
                                   ec.message().c_str());
  }
  llvm::CachePruningPolicy policy;
  policy.Interval = std::chrono::minutes(5);
  policy.Expiration = std::chrono::hours(24 * 30);
  policy.MaxSizeBytes = uint64_t(1) << 30;
  policy.MaxSizePercentageOfAvailableSpace = 50;
  llvm::pruneCache(dir, policy);
  return llvm::Error::success();
}
