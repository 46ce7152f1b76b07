//===- BufferCacheTest.cpp - the JIT programs' buffer cache ---------------===//

#include "ssm/Runtime/BufferCache.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <malloc.h>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace mlir::ssm;

namespace {

constexpr size_t MB = size_t(1) << 20;

TEST(BufferCache, LargeBlocksAreReused) {
  releaseBufferCache();
  BufferCacheStats before = bufferCacheStats();
  void *a = bufferAlloc(8 * MB);
  ASSERT_NE(a, nullptr);
  std::memset(a, 1, 8 * MB);
  bufferFree(a);
  EXPECT_EQ(bufferCacheStats().cachedBlocks, 1u);
  // A request of about the size gets the same block back...
  void *b = bufferAlloc(8 * MB - 4096);
  EXPECT_EQ(b, a);
  EXPECT_EQ(bufferCacheStats().hits, before.hits + 1);
  EXPECT_EQ(bufferCacheStats().cachedBlocks, 0u);
  bufferFree(b);
  // ...a much smaller one does not spend it, nor does a larger one fit.
  void *c = bufferAlloc(2 * MB);
  EXPECT_NE(c, a);
  void *d = bufferAlloc(9 * MB);
  EXPECT_NE(d, a);
  EXPECT_GE(malloc_usable_size(d), 9 * MB);
  bufferFree(c);
  bufferFree(d);
  releaseBufferCache();
  EXPECT_EQ(bufferCacheStats().cachedBlocks, 0u);
  EXPECT_EQ(bufferCacheStats().cachedBytes, 0u);
}

TEST(BufferCache, SmallBlocksAndNullPassThrough) {
  releaseBufferCache();
  void *p = bufferAlloc(4096);
  ASSERT_NE(p, nullptr);
  bufferFree(p);
  bufferFree(nullptr);
  EXPECT_EQ(bufferCacheStats().cachedBlocks, 0u);
}

TEST(BufferCache, AlignmentIsKept) {
  releaseBufferCache();
  for (size_t align : {64, 128, 4096}) {
    void *p = bufferAlignedAlloc(align, 3 * MB + 5);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << align;
    bufferFree(p);
    void *q = bufferAlignedAlloc(align, 3 * MB);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % align, 0u) << align;
    bufferFree(q);
  }
  releaseBufferCache();
}

TEST(BufferCache, StaysUnderItsLimit) {
  releaseBufferCache();
  const size_t limit = bufferCacheStats().limitBytes;
  std::vector<void *> blocks;
  for (size_t held = 0; held <= limit + 64 * MB; held += 48 * MB)
    blocks.push_back(bufferAlloc(48 * MB));
  for (void *p : blocks)
    bufferFree(p);
  BufferCacheStats s = bufferCacheStats();
  EXPECT_LE(s.cachedBytes, limit);
  EXPECT_GT(s.cachedBlocks, 0u);
  releaseBufferCache();
}

TEST(BufferCache, ThreadsAllocateTogether) {
  releaseBufferCache();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        size_t n = (1 + (i + t) % 5) * MB;
        auto *p = static_cast<unsigned char *>(bufferAlloc(n));
        p[0] = p[n - 1] = static_cast<unsigned char>(i);
        bufferFree(p);
      }
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_LE(bufferCacheStats().cachedBytes, bufferCacheStats().limitBytes);
  releaseBufferCache();
}

/// The VmFlags line of the mapping in /proc/self/smaps that holds `p`, or
/// "" when there is none (no procfs).
std::string vmFlagsOf(const void *p) {
  std::ifstream smaps("/proc/self/smaps");
  auto at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long long lo, hi;
    char dash;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= at && at < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0)
      return line;
  }
  return "";
}

TEST(BufferCache, LargeHostBlocksAskForHugePages) {
  // From kHugePageMinBytes on, hostAlloc advises the block's pages for
  // transparent huge pages: the kernel marks their mapping "hg".
  size_t bytes = 2 * kHugePageMinBytes;
  auto *p = static_cast<unsigned char *>(hostAlloc(64, bytes));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  EXPECT_GE(malloc_usable_size(p), bytes);
  // Within a page of the requested size (no 2 MB of slack).
  EXPECT_LT(malloc_usable_size(p), bytes + 2 * 4096);
  std::memset(p, 1, bytes);
  std::string flags = vmFlagsOf(p + bytes / 2);
  if (flags.empty() ||
      !std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled")) {
    std::free(p);
    GTEST_SKIP() << "no /proc/self/smaps or no transparent huge pages";
  }
  EXPECT_NE(flags.find(" hg"), std::string::npos) << flags;
  std::free(p);
  // Small blocks are plain aligned_alloc.
  void *q = hostAlloc(64, 100);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 64, 0u);
  std::free(q);
}

} // namespace
