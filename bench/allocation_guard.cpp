// The cost of calling a compiled program through callGuarded
// (docs/out-of-memory.md): the same empty entry point called plainly and
// through the guard, alternating rounds, nanoseconds per call.
//
//   g++ -O2 -std=c++17 -Iinclude -o build/bin/allocation_guard \
//       bench/allocation_guard.cpp lib/Runtime/BufferCache.cpp
//   build/bin/allocation_guard [calls] [rounds]
#include "ssm/Runtime/BufferCache.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

// Not inlinable into the loops: a program's entry point is reached through
// a pointer too.
__attribute__((noinline)) static void entry(void **args) {
  asm volatile("" : : "r"(args) : "memory");
}

static double nsPerCall(bool guarded, int calls) {
  void (*volatile fn)(void **) = &entry;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) {
    if (guarded)
      mlir::ssm::callGuarded(fn, nullptr);
    else
      fn(nullptr);
  }
  auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(stop - start).count() / calls;
}

int main(int argc, char **argv) {
  int calls = argc > 1 ? std::atoi(argv[1]) : 2000000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  std::printf("%-6s %12s %12s %12s\n", "round", "plain ns", "guarded ns",
              "difference");
  for (int r = 0; r < rounds; ++r) {
    double plain = nsPerCall(false, calls);
    double guarded = nsPerCall(true, calls);
    std::printf("%-6d %12.1f %12.1f %12.1f\n", r, plain, guarded,
                guarded - plain);
  }
}
