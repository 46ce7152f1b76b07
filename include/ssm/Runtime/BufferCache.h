//===- BufferCache.h - reuse of the JIT programs' large buffers -*- C++ -*-===//
//
// The allocation functions the JIT's programs call for their host buffers
// (finalize-memref-to-llvm with use-generic-functions, the pipelines'
// runtime-allocator option): malloc and free, but for large blocks, which
// are kept when freed and handed out again for a later request of about
// their size. glibc returns large blocks to the system (a mapping of its
// own above its mmap threshold, a trim of the heap's top below), and the
// next call's first touch of a fresh mapping takes a page fault per 4 KB
// page: 3.9x the time of a 2048-token Mamba-130m prefill called from
// Python, whose process keeps glibc's defaults (docs/python.md, "The
// compiled programs' buffers"). ssm-run raises glibc's thresholds instead;
// a library cannot change its host process's allocator, so the programs
// get this cache of their own.
//
// The blocks are plain malloc memory: a buffer a program returns (a result
// adopted by an Array) is freed with std::free, and free() of a block the
// cache handed out is always valid. The cache holds at most
// kBufferCacheBytes (SSM_BUFFER_CACHE_MB overrides it, read at the first
// large block; 0 turns caching off; a value that is not a number of
// megabytes is named on stderr and the default kept), and only blocks of
// at least kBufferCacheMinBytes. Thread-safe: the
// programs' OpenMP threads allocate.
//
// Blocks of kHugePageMinBytes or more (the cache's fresh ones and host
// Arrays) are advised for transparent huge pages (hostAlloc): a first touch
// then faults once per 2 MB instead of once per 4 KB. On the development
// machine a first write of fresh memory ran at 0.4 GB/s in 4 KB pages and
// 1.5 GB/s or more in huge ones (bench/first_touch.cpp; docs/performance.md,
// "First touch of large buffers").
//
// A request the system refuses must not become a write through a null
// pointer in compiled code. callGuarded abandons the program's
// call instead, where that is safe, and everywhere else the process stops
// with a message (docs/out-of-memory.md).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_BUFFERCACHE_H
#define SSM_RUNTIME_BUFFERCACHE_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace mlir::ssm {

/// Blocks below this size go straight to malloc and free.
constexpr size_t kBufferCacheMinBytes = size_t(1) << 20;
/// The most the cache keeps by default.
constexpr size_t kBufferCacheBytes = size_t(512) << 20;

/// Blocks from this size on are advised for transparent huge pages.
constexpr size_t kHugePageMinBytes = size_t(8) << 20;

/// aligned_alloc(alignment, bytes rounded up to it), from kHugePageMinBytes
/// on with madvise(MADV_HUGEPAGE) over its whole pages (which a kernel
/// without transparent huge pages ignores). The block is plain malloc
/// memory: std::free releases it. Null when out of memory.
void *hostAlloc(size_t alignment, size_t bytes);

/// malloc(bytes), or a cached block of at least `bytes` (and at most a
/// quarter more).
void *bufferAlloc(size_t bytes);
/// aligned_alloc(alignment, bytes rounded up to it), or such a cached block.
void *bufferAlignedAlloc(size_t alignment, size_t bytes);
/// free(p), or p kept for reuse.
void bufferFree(void *p);

/// How a call under callGuarded ended.
struct GuardedCall {
  /// The size of the buffer request that was refused, or 0.
  size_t refusedBytes = 0;
  /// The message of the run-time check that failed (a constant of the
  /// program's), or null.
  const char *failedCheck = nullptr;
  bool completed() const { return !refusedBytes && !failedCheck; }
};
/// Calls `fn(args)`, a compiled program's packed entry point. When one of
/// its buffer allocations fails, or one of its run-time checks
/// (runtimeCheckFailed), on this thread outside any OpenMP parallel region,
/// the call is abandoned there (a longjmp out of the compiled code, which
/// holds no locks and runs no destructors there): the blocks of
/// kBufferCacheMinBytes or more that it allocated on this thread and had
/// not freed go back to the cache or the system, and the result says why.
/// A refused request or a failed check anywhere else (another thread, a
/// parallel region: the call cannot be abandoned there) stops the process:
/// reportOutOfMemory, or the check's message and exit status 1.
GuardedCall callGuarded(void (*fn)(void **), void **args);
/// What a program's failed run-time check calls (the lowering of cf.assert
/// in ssm-host-to-llvm, as `ssm_runtime_check_failed`): abandons the
/// guarded call with `message` as above. Does not return.
[[noreturn]] void runtimeCheckFailed(const char *message);

/// Prints "ssm: error: out of memory: <what> of N bytes (X GiB) could not
/// be allocated" on stderr and exits with status 1 (no crash report, no
/// core). For the allocations no caller can be told about.
[[noreturn]] void reportOutOfMemory(const char *what, size_t bytes);

/// "40000000000 bytes (37.3 GiB)".
std::string formatByteCount(size_t bytes);

struct BufferCacheStats {
  uint64_t hits = 0, misses = 0;
  size_t cachedBytes = 0, cachedBlocks = 0, limitBytes = 0;
};
BufferCacheStats bufferCacheStats();
/// Frees every cached block.
void releaseBufferCache();

} // namespace mlir::ssm

#endif // SSM_RUNTIME_BUFFERCACHE_H
