//===- BufferCache.cpp - reuse of the JIT programs' large buffers ---------===//
//
// See BufferCache.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/BufferCache.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <malloc.h>
#include <map>
#include <mutex>
#include <sys/mman.h>

using namespace mlir::ssm;

namespace {

struct Cache {
  std::mutex mutex;
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

void *mlir::ssm::bufferAlloc(size_t bytes) {
  if (bytes < kBufferCacheMinBytes)
    return std::malloc(bytes);
  if (void *p = cache().take(bytes, alignof(std::max_align_t)))
    return p;
  return hostAlloc(alignof(std::max_align_t), bytes);
}

void *mlir::ssm::bufferAlignedAlloc(size_t alignment, size_t bytes) {
  size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  if (rounded >= kBufferCacheMinBytes)
    if (void *p = cache().take(rounded, alignment))
      return p;
  return hostAlloc(alignment, rounded);
}

void mlir::ssm::bufferFree(void *p) {
  if (!p)
    return;
  size_t size = malloc_usable_size(p);
  if (size < kBufferCacheMinBytes || cache().limit == 0) {
    std::free(p);
    return;
  }
  cache().put(p, size);
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
