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

// Refused requests (callGuarded). A request of half the
// address space is refused by any malloc.
constexpr size_t kRefused = SIZE_MAX / 2;

/// What the "programs" below saw: args[0] points at this.
struct ProgramState {
  void *kept = nullptr;
  bool pastTheRefusal = false;
};

/// Keeps an 8 MB buffer, allocates and frees a 2 MB one, then asks for
/// kRefused (and, were it granted, would go on).
void refusedProgram(void **args) {
  auto *state = static_cast<ProgramState *>(args[0]);
  state->kept = bufferAlloc(8 * MB);
  std::memset(state->kept, 1, 8 * MB);
  bufferFree(bufferAlignedAlloc(64, 2 * MB));
  void *huge = bufferAlloc(kRefused);
  state->pastTheRefusal = true;
  bufferFree(huge);
}

/// Returns an 8 MB buffer to its caller, as a program's result.
void completedProgram(void **args) {
  auto *state = static_cast<ProgramState *>(args[0]);
  state->kept = bufferAlloc(8 * MB);
}

TEST(BufferCache, RefusedRequestAbandonsTheCallAndReleasesItsBlocks) {
  releaseBufferCache();
  ProgramState state;
  void *args[] = {&state};
  EXPECT_EQ(callGuarded(&refusedProgram, args).refusedBytes, kRefused);
  EXPECT_FALSE(state.pastTheRefusal);
  // The freed 2 MB block and the 8 MB one the call still held are cached:
  // the next 8 MB request gets the latter back.
  BufferCacheStats s = bufferCacheStats();
  EXPECT_EQ(s.cachedBlocks, 2u);
  EXPECT_GE(s.cachedBytes, 10 * MB);
  void *again = bufferAlloc(8 * MB);
  EXPECT_EQ(again, state.kept);
  bufferFree(again);
  // The thread can make guarded calls again.
  ProgramState next;
  void *nextArgs[] = {&next};
  EXPECT_EQ(callGuarded(&completedProgram, nextArgs).refusedBytes, 0u);
  releaseBufferCache();
  bufferFree(next.kept);
  releaseBufferCache();
}

TEST(BufferCache, CompletedCallKeepsItsResults) {
  releaseBufferCache();
  ProgramState state;
  void *args[] = {&state};
  EXPECT_EQ(callGuarded(&completedProgram, args).refusedBytes, 0u);
  ASSERT_NE(state.kept, nullptr);
  EXPECT_EQ(bufferCacheStats().cachedBlocks, 0u);
  // A later refusal releases only its own call's blocks, not this result.
  ProgramState refused;
  void *refusedArgs[] = {&refused};
  EXPECT_EQ(callGuarded(&refusedProgram, refusedArgs).refusedBytes, kRefused);
  std::memset(state.kept, 2, 8 * MB);
  std::free(state.kept);
  releaseBufferCache();
}

TEST(BufferCache, SizesThatWrapAroundAreRefused) {
  auto program = [](void **) { bufferAlignedAlloc(4096, SIZE_MAX - 100); };
  EXPECT_EQ(callGuarded(program, nullptr).refusedBytes, SIZE_MAX - 100);
  EXPECT_EQ(hostAlloc(64, SIZE_MAX - 10), nullptr);
}

/// Keeps an 8 MB buffer, then fails a run-time check.
void failedCheckProgram(void **args) {
  auto *state = static_cast<ProgramState *>(args[0]);
  state->kept = bufferAlloc(8 * MB);
  runtimeCheckFailed("x.mlir:3:8: 'ssm.linear' op operand 'x' differs");
  state->pastTheRefusal = true;
}

TEST(BufferCache, FailedCheckAbandonsTheCallAndReleasesItsBlocks) {
  releaseBufferCache();
  ProgramState state;
  void *args[] = {&state};
  GuardedCall call = callGuarded(&failedCheckProgram, args);
  EXPECT_FALSE(call.completed());
  EXPECT_EQ(call.refusedBytes, 0u);
  ASSERT_NE(call.failedCheck, nullptr);
  EXPECT_STREQ(call.failedCheck,
               "x.mlir:3:8: 'ssm.linear' op operand 'x' differs");
  EXPECT_FALSE(state.pastTheRefusal);
  // The block the call held went back to the cache.
  EXPECT_EQ(bufferCacheStats().cachedBlocks, 1u);
  void *again = bufferAlloc(8 * MB);
  EXPECT_EQ(again, state.kept);
  bufferFree(again);
  // A completed call says so.
  ProgramState next;
  void *nextArgs[] = {&next};
  EXPECT_TRUE(callGuarded(&completedProgram, nextArgs).completed());
  releaseBufferCache();
  bufferFree(next.kept);
  releaseBufferCache();
}

TEST(BufferCacheDeathTest, UnguardedFailedCheckExitsWithItsMessage) {
  EXPECT_EXIT(runtimeCheckFailed("t.mlir:1:2: 'ssm.scan' op bad"),
              testing::ExitedWithCode(1),
              "ssm: error: t.mlir:1:2: 'ssm.scan' op bad");
}

TEST(BufferCacheDeathTest, UnguardedRefusalExitsWithAMessage) {
  EXPECT_EXIT(bufferAlloc(kRefused), testing::ExitedWithCode(1),
              "ssm: error: out of memory: a compiled program's buffer of "
              "[0-9]+ bytes \\(8\\.0 EiB\\) could not be allocated");
}

TEST(BufferCache, FormatsByteCounts) {
  EXPECT_EQ(formatByteCount(1000), "1000 bytes");
  EXPECT_EQ(formatByteCount(3 * MB / 2), "1572864 bytes (1.5 MiB)");
  EXPECT_EQ(formatByteCount(size_t(40) << 30), "42949672960 bytes (40.0 GiB)");
}

} // namespace
