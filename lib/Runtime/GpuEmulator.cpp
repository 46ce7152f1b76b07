//===- GpuEmulator.cpp - GPU kernels on the CPU, one fiber per thread -----===//
//
// See include/ssm/Runtime/GpuEmulator.h for what the emulator checks and
// include/ssm/Conversion/SSMToGPU/EmulatorABI.h for the calls it answers.
//
// A launch runs its blocks one after the other on the calling thread. A
// block is one fiber (ucontext) per GPU thread; a fiber runs until it
// reaches a gpu.barrier or a shuffle, or returns, and then hands control
// back to the block's scheduler. When no fiber can run, the scheduler
// releases a barrier that every live thread of the block has reached, or a
// shuffle that every live lane of a warp has reached; if neither exists,
// the threads wait at different barriers, which on a GPU hangs or
// corrupts, and the launch stops with an error. Each round the ready
// fibers run in a seeded random order.
//
// A shuffle posts the lane's value in one of two slots (by the parity of
// its shuffle count) and waits for its warp; released, it reads the source
// lane's slot. A lane can post into the same slot again only after the
// next shuffle's release, which needs every lane to have read this one, so
// one rendezvous per shuffle suffices.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/GpuEmulator.h"
#include "ssm/Conversion/SSMToGPU/EmulatorABI.h"
#include "ssm/Runtime/FirstError.h"

#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <vector>

using namespace mlir::ssm;
namespace emu = mlir::ssm::emulator;

namespace {

constexpr int64_t kWarpSize = 32;
constexpr int64_t kMaxThreadsPerBlock = 1024;
/// The most dynamic shared memory a block of an sm_90 GPU may opt in to.
constexpr int64_t kMaxSharedBytes = 227 * 1024;
/// A fiber's stack and the inaccessible page below it (an overflow faults
/// instead of writing over the next stack).
constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kGuardBytes = 4096;

//===----------------------------------------------------------------------===//
// Errors (the CUDA runtime's protocol: the first one, then nothing runs)
//===----------------------------------------------------------------------===//

mlir::ssm::FirstError errors;

void record(const std::string &message) { errors.record(message); }

bool hasFailed() { return errors.hasFailed(); }

//===----------------------------------------------------------------------===//
// Fibers and the block scheduler
//===----------------------------------------------------------------------===//

enum class State { Ready, AtBarrier, AtShuffle, Done };

struct Fiber {
  ucontext_t context;
  State state = State::Ready;
  /// The thread's index in its block, x fastest.
  int64_t linear = 0;
  /// Shuffles the thread has posted, and its values (by their parity).
  int64_t shuffles = 0;
  int64_t posted[2] = {0, 0};
};

/// Stacks of the fibers, mapped once per host thread and reused.
struct StackPool {
  std::vector<char *> stacks;
  ~StackPool() {
    for (char *s : stacks)
      munmap(s, kStackBytes + kGuardBytes);
  }
  char *get(size_t i) {
    while (stacks.size() <= i) {
      void *p = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED)
        return nullptr;
      mprotect(p, kGuardBytes, PROT_NONE);
      stacks.push_back(static_cast<char *>(p));
    }
    return stacks[i] + kGuardBytes;
  }
};

struct Launch {
  void (*kernel)(void **) = nullptr;
  void **params = nullptr;
  int64_t grid[3] = {1, 1, 1}, block[3] = {1, 1, 1}, blockId[3] = {0, 0, 0};
  int64_t threads = 0;
  std::vector<Fiber> fibers;
  char *shared = nullptr;
  int64_t sharedBytes = 0;
  int64_t current = -1;
  ucontext_t scheduler;
  std::mt19937_64 rng;

  std::string where() const {
    char s[96];
    std::snprintf(s, sizeof(s), "block (%lld, %lld, %lld)",
                  static_cast<long long>(blockId[0]),
                  static_cast<long long>(blockId[1]),
                  static_cast<long long>(blockId[2]));
    return s;
  }
  Fiber &self() { return fibers[current]; }
};

thread_local Launch *active = nullptr;
thread_local StackPool stackPool;
std::atomic<uint64_t> launchCount{0};

void fiberMain() {
  Launch *l = active;
  l->kernel(l->params);
  l->self().state = State::Done;
  // Returning resumes uc_link, the scheduler.
}

/// Parks the running fiber in `state` until the scheduler releases it.
void park(State state) {
  Launch *l = active;
  Fiber &f = l->self();
  f.state = state;
  swapcontext(&f.context, &l->scheduler);
}

/// Runs the current block to its end; false (with the error recorded) when
/// its threads cannot all finish.
bool runBlock(Launch &l) {
  std::memset(l.shared, 0xff, l.sharedBytes);
  for (int64_t i = 0; i < l.threads; ++i) {
    Fiber &f = l.fibers[i];
    f.state = State::Ready;
    f.linear = i;
    f.shuffles = 0;
    char *stack = stackPool.get(i);
    if (!stack) {
      record("the GPU emulator cannot map the stacks of " +
             std::to_string(l.threads) + " threads");
      return false;
    }
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = stack;
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = &l.scheduler;
    makecontext(&f.context, fiberMain, 0);
  }

  std::vector<int64_t> ready;
  while (true) {
    ready.clear();
    for (int64_t i = 0; i < l.threads; ++i)
      if (l.fibers[i].state == State::Ready)
        ready.push_back(i);
    if (!ready.empty()) {
      std::shuffle(ready.begin(), ready.end(), l.rng);
      for (int64_t i : ready) {
        l.current = i;
        swapcontext(&l.scheduler, &l.fibers[i].context);
      }
      l.current = -1;
      continue;
    }

    int64_t live = 0, atBarrier = 0, atShuffle = 0;
    for (const Fiber &f : l.fibers) {
      live += f.state != State::Done;
      atBarrier += f.state == State::AtBarrier;
      atShuffle += f.state == State::AtShuffle;
    }
    if (live == 0)
      return true;
    if (atBarrier == live) {
      if (live != l.threads) {
        record("the GPU emulator: in " + l.where() + ", " +
               std::to_string(l.threads - live) + " of " +
               std::to_string(l.threads) +
               " threads exited without reaching a gpu.barrier that the "
               "others wait at");
        return false;
      }
      for (Fiber &f : l.fibers)
        f.state = State::Ready;
      continue;
    }
    // Warps whose live lanes all wait at a shuffle.
    bool released = false;
    for (int64_t base = 0; base < l.threads; base += kWarpSize) {
      int64_t end = std::min(base + kWarpSize, l.threads);
      int64_t warpLive = 0, warpShuffle = 0;
      for (int64_t i = base; i < end; ++i) {
        warpLive += l.fibers[i].state != State::Done;
        warpShuffle += l.fibers[i].state == State::AtShuffle;
      }
      if (warpShuffle && warpShuffle == warpLive) {
        for (int64_t i = base; i < end; ++i)
          if (l.fibers[i].state == State::AtShuffle)
            l.fibers[i].state = State::Ready;
        released = true;
      }
    }
    if (released)
      continue;
    record("the GPU emulator: the threads of " + l.where() +
           " wait at different barriers (" + std::to_string(atBarrier) +
           " at a gpu.barrier, " + std::to_string(atShuffle) +
           " at a gpu.shuffle, " + std::to_string(l.threads - live) +
           " exited): on a GPU this hangs or corrupts");
    return false;
  }
}

uint64_t baseSeed() {
  static uint64_t seed = [] {
    const char *env = std::getenv("SSM_GPU_EMULATOR_SEED");
    return env ? std::strtoull(env, nullptr, 0) : uint64_t(20261122);
  }();
  return seed;
}

/// Whether lane `lane` reads a lane in a shuffle, and which (the gpu
/// dialect's definition: only the first `width` lanes take part).
bool shuffleSource(int64_t lane, int32_t offset, int32_t width, int32_t mode,
                   int64_t &source) {
  if (width <= 0 || width > kWarpSize || lane >= width)
    return false;
  switch (mode) {
  case emu::kShuffleXor:
    source = lane ^ offset;
    break;
  case emu::kShuffleUp:
    source = lane - offset;
    break;
  case emu::kShuffleDown:
    source = lane + offset;
    break;
  case emu::kShuffleIdx:
    source = offset;
    break;
  default:
    return false;
  }
  return source >= 0 && source < width;
}

Launch *inKernel(const char *what) {
  if (!active || active->current < 0) {
    record(std::string("the GPU emulator: ") + what +
           " called outside a kernel");
    return nullptr;
  }
  return active;
}

//===----------------------------------------------------------------------===//
// What the kernels call
//===----------------------------------------------------------------------===//

int64_t emuId(int32_t which) {
  Launch *l = inKernel("a thread or block id");
  if (!l)
    return 0;
  int64_t linear = l->self().linear;
  int dim = which % 3;
  switch (which - dim) {
  case emu::kThreadId: {
    int64_t t[3] = {linear % l->block[0], linear / l->block[0] % l->block[1],
                    linear / (l->block[0] * l->block[1])};
    return t[dim];
  }
  case emu::kBlockId:
    return l->blockId[dim];
  case emu::kBlockDim:
    return l->block[dim];
  case emu::kGridDim:
    return l->grid[dim];
  case emu::kLaneId:
    return linear % kWarpSize;
  default:
    record("the GPU emulator: unknown id " + std::to_string(which));
    return 0;
  }
}

void emuBarrier() {
  if (inKernel("gpu.barrier"))
    park(State::AtBarrier);
}

int64_t emuShuffle(int64_t value, int32_t offset, int32_t width, int32_t mode) {
  Launch *l = inKernel("gpu.shuffle");
  if (!l)
    return value;
  int64_t slot = l->self().shuffles & 1;
  l->self().posted[slot] = value;
  ++l->self().shuffles;
  park(State::AtShuffle);

  Fiber &f = l->self();
  int64_t lane = f.linear % kWarpSize, source = 0;
  if (!shuffleSource(lane, offset, width, mode, source))
    return value; // NVPTX gives the lane its own value
  int64_t from = f.linear - lane + source;
  // The source lane took part if it posted this shuffle (it may already
  // have posted the next one, into the other slot).
  if (from >= l->threads || l->fibers[from].shuffles < f.shuffles) {
    record("the GPU emulator: in " + l->where() + ", thread " +
           std::to_string(f.linear) + " shuffles from lane " +
           std::to_string(source) + ", which " +
           (from >= l->threads ? "is outside the block"
                               : "exited without taking part"));
    return value;
  }
  return l->fibers[from].posted[slot];
}

int32_t emuShuffle32(int32_t value, int32_t offset, int32_t width,
                     int32_t mode) {
  return static_cast<int32_t>(emuShuffle(value, offset, width, mode));
}

int64_t emuShuffle64(int64_t value, int32_t offset, int32_t width,
                     int32_t mode) {
  return emuShuffle(value, offset, width, mode);
}

int32_t emuShuffleValid(int32_t offset, int32_t width, int32_t mode) {
  Launch *l = inKernel("gpu.shuffle");
  int64_t source = 0;
  return l && shuffleSource(l->self().linear % kWarpSize, offset, width, mode,
                            source);
}

/// memref<?xi8> as func-to-llvm lays it out.
struct ByteMemRef {
  char *allocated, *aligned;
  int64_t offset, size, stride;
};

void emuShared(ByteMemRef *out) {
  Launch *l = inKernel("gpu.dynamic_shared_memory");
  char *p = l ? l->shared : nullptr;
  *out = {p, p, 0, l ? l->sharedBytes : 0, 1};
}

void emuLaunch(void (*kernel)(void **), int64_t gridX, int64_t gridY,
               int64_t gridZ, int64_t blockX, int64_t blockY, int64_t blockZ,
               int32_t sharedBytes, void **params, int64_t /*numParams*/) {
  if (hasFailed())
    return;
  if (active) {
    record("the GPU emulator: a kernel launches a kernel");
    return;
  }
  int64_t sizes[] = {gridX, gridY, gridZ, blockX, blockY, blockZ};
  if (std::any_of(std::begin(sizes), std::end(sizes),
                  [](int64_t s) { return s < 0; })) {
    record("the GPU emulator: a launch with a negative grid or block size");
    return;
  }
  if (std::any_of(std::begin(sizes), std::end(sizes),
                  [](int64_t s) { return s == 0; }))
    return; // an empty grid runs nothing (as the CUDA runtime)
  Launch l;
  l.kernel = kernel;
  l.params = params;
  l.grid[0] = gridX, l.grid[1] = gridY, l.grid[2] = gridZ;
  l.block[0] = blockX, l.block[1] = blockY, l.block[2] = blockZ;
  l.threads = blockX * blockY * blockZ;
  if (blockX > kMaxThreadsPerBlock || blockY > kMaxThreadsPerBlock ||
      blockZ > kMaxThreadsPerBlock || l.threads > kMaxThreadsPerBlock) {
    record("the GPU emulator: a launch of " + std::to_string(blockX) + " x " +
           std::to_string(blockY) + " x " + std::to_string(blockZ) +
           " threads per block; a block has at most " +
           std::to_string(kMaxThreadsPerBlock));
    return;
  }
  if (sharedBytes < 0 || sharedBytes > kMaxSharedBytes) {
    record("the GPU emulator: a launch with " + std::to_string(sharedBytes) +
           " bytes of dynamic shared memory; a block has at most " +
           std::to_string(kMaxSharedBytes));
    return;
  }
  std::vector<char> shared(std::max<int64_t>(sharedBytes, 1));
  l.shared = shared.data();
  l.sharedBytes = sharedBytes;
  l.fibers.resize(l.threads);
  l.rng.seed(baseSeed() + 0x9e3779b97f4a7c15ull * launchCount++);

  active = &l;
  for (int64_t z = 0; z < gridZ; ++z)
    for (int64_t y = 0; y < gridY; ++y)
      for (int64_t x = 0; x < gridX; ++x) {
        l.blockId[0] = x, l.blockId[1] = y, l.blockId[2] = z;
        if (!runBlock(l)) {
          active = nullptr;
          return;
        }
      }
  active = nullptr;
}

//===----------------------------------------------------------------------===//
// Device memory, streams and events: host memory, synchronous
//===----------------------------------------------------------------------===//

/// A distinct non-null handle for streams and events.
char handle;

void *emuStreamCreate() { return &handle; }
void emuStreamDestroy(void *) {}
void emuStreamSynchronize(void *) {}
void emuStreamWaitEvent(void *, void *) {}
void *emuEventCreate() { return &handle; }
void emuEventDestroy(void *) {}
void emuEventSynchronize(void *) {}
void emuEventRecord(void *, void *) {}
void emuSetDefaultDevice(int32_t) {}

void *emuMemAlloc(uint64_t bytes, void * /*stream*/, uint8_t /*shared*/) {
  if (bytes == 0)
    return nullptr;
  void *p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) {
    record("the GPU emulator cannot allocate " + std::to_string(bytes) +
           " bytes of device memory");
    return nullptr;
  }
  // NaN in every f32: what a kernel reads without a write shows.
  std::memset(p, 0xff, bytes);
  return p;
}

void emuMemFree(void *ptr, void * /*stream*/) { std::free(ptr); }

void emuMemcpy(void *dst, void *src, size_t bytes, void * /*stream*/) {
  if (bytes && !hasFailed())
    std::memcpy(dst, src, bytes);
}

void emuMemset32(void *dst, uint32_t value, size_t count, void * /*stream*/) {
  auto *p = static_cast<uint32_t *>(dst);
  std::fill(p, p + count, value);
}

void emuMemset16(void *dst, uint16_t value, size_t count, void * /*stream*/) {
  auto *p = static_cast<uint16_t *>(dst);
  std::fill(p, p + count, value);
}

template <typename F> void *address(F *f) {
  return reinterpret_cast<void *>(f);
}

} // namespace

extern "C" int ssmGpuEmulatorTakeError(char *message, size_t size) {
  return errors.take(message, size);
}

llvm::ArrayRef<GpuEmulatorSymbol> mlir::ssm::gpuEmulatorSymbols() {
  static const std::string shared =
      std::string("_mlir_ciface_") + emu::kSharedFn;
  static const GpuEmulatorSymbol symbols[] = {
      {emu::kIdFn, address(emuId)},
      {emu::kBarrierFn, address(emuBarrier)},
      {emu::kShuffle32Fn, address(emuShuffle32)},
      {emu::kShuffle64Fn, address(emuShuffle64)},
      {emu::kShuffleValidFn, address(emuShuffleValid)},
      {shared.c_str(), address(emuShared)},
      {emu::kLaunchFn, address(emuLaunch)},
      {"mgpuStreamCreate", address(emuStreamCreate)},
      {"mgpuStreamDestroy", address(emuStreamDestroy)},
      {"mgpuStreamSynchronize", address(emuStreamSynchronize)},
      {"mgpuStreamWaitEvent", address(emuStreamWaitEvent)},
      {"mgpuEventCreate", address(emuEventCreate)},
      {"mgpuEventDestroy", address(emuEventDestroy)},
      {"mgpuEventSynchronize", address(emuEventSynchronize)},
      {"mgpuEventRecord", address(emuEventRecord)},
      {"mgpuSetDefaultDevice", address(emuSetDefaultDevice)},
      {"mgpuMemAlloc", address(emuMemAlloc)},
      {"mgpuMemFree", address(emuMemFree)},
      {"mgpuMemcpy", address(emuMemcpy)},
      {"mgpuMemset32", address(emuMemset32)},
      {"mgpuMemset16", address(emuMemset16)},
  };
  return symbols;
}
