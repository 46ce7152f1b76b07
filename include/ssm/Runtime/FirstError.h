//===- FirstError.h - the GPU runtimes' error protocol ----------*- C++ -*-===//
//
// The JIT's host code cannot receive an error from an mgpu* call, so both GPU
// runtimes (CudaRuntime.cpp, GpuEmulator.cpp) keep the first one, skip the
// work of every later call, and hand the message to the runner after the
// program returns (ssmCudaTakeError, ssmGpuEmulatorTakeError). Header-only and
// free of LLVM: libssm_cuda_runtime.so links nothing but the CUDA driver.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_FIRSTERROR_H
#define SSM_RUNTIME_FIRSTERROR_H

#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>

namespace mlir::ssm {

class FirstError {
public:
  /// Keeps `message` unless an error is already recorded.
  void record(const std::string &message) {
    std::lock_guard<std::mutex> lock(mutex);
    if (failed)
      return;
    failed = true;
    first = message;
  }

  bool hasFailed() {
    std::lock_guard<std::mutex> lock(mutex);
    return failed;
  }

  /// 0 if nothing failed; else 1, with the first message copied into
  /// `message` (truncated to `size`), and the state cleared for the next
  /// call of the program.
  int take(char *message, size_t size) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!failed)
      return 0;
    std::snprintf(message, size, "%s", first.c_str());
    failed = false;
    first.clear();
    return 1;
  }

private:
  std::mutex mutex;
  std::string first;
  bool failed = false;
};

} // namespace mlir::ssm

#endif // SSM_RUNTIME_FIRSTERROR_H
