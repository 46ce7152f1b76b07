//===- BufferCache.cpp - reuse of the JIT programs' large buffers ---------===//
//
// See BufferCache.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/BufferCache.h"

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <malloc.h>
#include <map>
#include <memory>
#include <mutex>
#include <sys/mman.h>
#include <unordered_map>
#include <vector>

using namespace mlir::ssm;

namespace {

/// A call in progress under callGuarded.
struct Guard {
  sigjmp_buf resume;
  /// The size of the refused request.
  size_t refused = 0;
  /// The message of the run-time check that failed.
  const char *failedCheck = nullptr;
  /// Large blocks allocated on the guarded thread during the call (some
  /// may have been freed since: Cache::owners says which are still live).
  std::vector<void *> blocks;
};

/// The guard of the call running on this thread, if any.
thread_local Guard *currentGuard = nullptr;

struct Cache {
  std::mutex mutex;
  /// The live large blocks allocated under a guard, and by which.
  std::unordered_map<void *, Guard *> owners;
  /// Free blocks by usable size (malloc_usable_size), oldest first among
  /// equal sizes.
  std::multimap<size_t, void *> blocks;
  size_t bytes = 0;
  size_t limit = kBufferCacheBytes;
  BufferCacheStats stats;

  Cache() {
    if (const char *mb = std::getenv("SSM_BUFFER_CACHE_MB")) {
      char *end = nullptr;
      unsigned long long v = std::strtoull(mb, &end, 10);
      if (end != mb && *end == '\0' && mb[0] != '-')
        limit = static_cast<size_t>(v) << 20;
      else
        std::fprintf(stderr,
                     "ssm: SSM_BUFFER_CACHE_MB='%s' is not a number of "
                     "megabytes; the buffer cache keeps its default, %zu MB\n",
                     mb, kBufferCacheBytes >> 20);
    }
  }

  /// A cached block of at least `want` bytes aligned to `alignment`, or
  /// null.
  void *take(size_t want, size_t alignment) {
    std::lock_guard<std::mutex> lock(mutex);
    // The smallest fit, up to a quarter larger: a large block is not spent
    // on a much smaller request.
    for (auto it = blocks.lower_bound(want);
         it != blocks.end() && it->first <= want + want / 4; ++it) {
      if (reinterpret_cast<uintptr_t>(it->second) % alignment)
        continue;
      void *p = it->second;
      bytes -= it->first;
      blocks.erase(it);
      ++stats.hits;
      return p;
    }
    ++stats.misses;
    return nullptr;
  }

  /// Keeps `p` (usable size `size`): the largest cached blocks are freed
  /// to make room under the limit, or `p` itself when it alone passes it.
  void put(void *p, size_t size) {
    std::unique_lock<std::mutex> lock(mutex);
    if (size > limit) {
      lock.unlock();
      std::free(p);
      return;
    }
    // Evict the largest blocks first: they are the rarest to fit again.
    while (bytes + size > limit && !blocks.empty()) {
      auto last = std::prev(blocks.end());
      bytes -= last->first;
      std::free(last->second);
      blocks.erase(last);
    }
    blocks.emplace(size, p);
    bytes += size;
  }
};

Cache &cache() {
  // Never destroyed: the programs may free buffers during static
  // destruction, and cached memory needs no freeing at exit.
  static Cache *c = new Cache;
  return *c;
}

} // namespace

void *mlir::ssm::hostAlloc(size_t alignment, size_t bytes) {
  if (bytes > SIZE_MAX - alignment)
    return nullptr;
  // aligned_alloc wants a size that is a multiple of the alignment.
  size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  void *p = std::aligned_alloc(alignment, rounded);
  if (p && rounded >= kHugePageMinBytes) {
    // The whole pages of the block: the kernel backs each 2 MB-aligned range
    // inside them with a huge page, and the few KB at the ends with small
    // ones. (Aligning the block to 2 MB instead would make glibc map 2 MB
    // more, which malloc_usable_size then counts.) Advice: its failure
    // changes nothing.
    constexpr uintptr_t kPage = 4096;
    uintptr_t begin =
        (reinterpret_cast<uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
    uintptr_t end = (reinterpret_cast<uintptr_t>(p) + rounded) & ~(kPage - 1);
    madvise(reinterpret_cast<void *>(begin), end - begin, MADV_HUGEPAGE);
  }
  return p;
}

std::string mlir::ssm::formatByteCount(size_t bytes) {
  const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = double(bytes);
  int unit = -1;
  while (value >= 1024.0 && unit < 5) {
    value /= 1024.0;
    ++unit;
  }
  char text[64];
  if (unit < 0)
    std::snprintf(text, sizeof(text), "%zu bytes", bytes);
  else
    std::snprintf(text, sizeof(text), "%zu bytes (%.1f %s)", bytes, value,
                  units[unit]);
  return text;
}

void mlir::ssm::reportOutOfMemory(const char *what, size_t bytes) {
  std::fprintf(stderr,
               "ssm: error: out of memory: %s of %s could not be "
               "allocated\n",
               what, formatByteCount(bytes).c_str());
  std::fflush(stdout);
  // Not exit(): other threads may still be running compiled code (the
  // refusal can come from a parallel region) and static destructors
  // would run under them.
  std::_Exit(1);
}

namespace {

/// Whether this thread is inside an OpenMP parallel region (including one
/// serialised to a single thread). libomp is loaded, into the global
/// namespace, only for programs with parallel loops.
bool inParallelRegion() {
  using LevelFn = int (*)();
  auto level = reinterpret_cast<LevelFn>(dlsym(RTLD_DEFAULT, "omp_get_level"));
  return level && level() > 0;
}

/// `p` (a request of `bytes`) as allocated: a large block allocated under
/// a guard on its thread is recorded; a refused request abandons the
/// guarded call or stops the process.
void *checked(void *p, size_t bytes) {
  if (!p && bytes) {
    Guard *guard = currentGuard;
    if (!guard || inParallelRegion())
      reportOutOfMemory("a compiled program's buffer", bytes);
    guard->refused = bytes;
    siglongjmp(guard->resume, 1);
  }
  if (p && currentGuard && bytes >= kBufferCacheMinBytes) {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.owners[p] = currentGuard;
    currentGuard->blocks.push_back(p);
  }
  return p;
}

} // namespace

void *mlir::ssm::bufferAlloc(size_t bytes) {
  if (bytes < kBufferCacheMinBytes)
    return checked(std::malloc(bytes), bytes);
  if (void *p = cache().take(bytes, alignof(std::max_align_t)))
    return checked(p, bytes);
  return checked(hostAlloc(alignof(std::max_align_t), bytes), bytes);
}

void *mlir::ssm::bufferAlignedAlloc(size_t alignment, size_t bytes) {
  // A size the rounding would wrap around is refused as it is.
  if (bytes > SIZE_MAX - alignment)
    return checked(nullptr, bytes);
  size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  if (rounded >= kBufferCacheMinBytes)
    if (void *p = cache().take(rounded, alignment))
      return checked(p, rounded);
  return checked(hostAlloc(alignment, rounded), rounded);
}

void mlir::ssm::bufferFree(void *p) {
  if (!p)
    return;
  size_t size = malloc_usable_size(p);
  if (size >= kBufferCacheMinBytes) {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.owners.erase(p);
  }
  if (size < kBufferCacheMinBytes || cache().limit == 0) {
    std::free(p);
    return;
  }
  cache().put(p, size);
}

namespace {

/// Runs the call; true when it completed, false when an allocation refused
/// it (guard.refused) or a run-time check failed (guard.failedCheck). The
/// setjmp lives in this frame, which stays active for the whole call; the guard
/// is heap memory that the longjmp leaves as the allocator wrote it.
bool runGuarded(Guard &guard, void (*fn)(void **), void **args) {
  if (sigsetjmp(guard.resume, 0) != 0)
    return false;
  fn(args);
  return true;
}

} // namespace

mlir::ssm::GuardedCall mlir::ssm::callGuarded(void (*fn)(void **),
                                              void **args) {
  auto guard = std::make_unique<Guard>();
  Guard *outer = currentGuard;
  currentGuard = guard.get();
  bool completed = runGuarded(*guard, fn, args);
  currentGuard = outer;
  // Forget the call's blocks; after a refusal, release those still live
  // (the results of a completed call belong to the caller).
  std::vector<void *> release;
  if (!guard->blocks.empty()) {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    for (void *p : guard->blocks) {
      auto it = c.owners.find(p);
      if (it == c.owners.end() || it->second != guard.get())
        continue;
      c.owners.erase(it);
      if (!completed)
        release.push_back(p);
    }
  }
  for (void *p : release)
    bufferFree(p);
  if (completed)
    return {};
  return {guard->refused, guard->failedCheck};
}

void mlir::ssm::runtimeCheckFailed(const char *message) {
  Guard *guard = currentGuard;
  if (!guard || inParallelRegion()) {
    std::fprintf(stderr, "ssm: error: %s\n", message);
    std::fflush(stderr);
    std::_Exit(1);
  }
  guard->failedCheck = message;
  siglongjmp(guard->resume, 1);
}

BufferCacheStats mlir::ssm::bufferCacheStats() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  BufferCacheStats s = c.stats;
  s.cachedBytes = c.bytes;
  s.cachedBlocks = c.blocks.size();
  s.limitBytes = c.limit;
  return s;
}

void mlir::ssm::releaseBufferCache() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto &[size, p] : c.blocks)
    std::free(p);
  c.blocks.clear();
  c.bytes = 0;
}
