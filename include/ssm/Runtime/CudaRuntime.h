//===- CudaRuntime.h - the CUDA driver runtime of NVPTX programs -*- C++
//-*-===//
//
// libssm_cuda_runtime.so provides the mgpu* functions that MLIR 22's
// gpu-to-llvm and gpu.binary translation emit calls to (module load, kernel
// launch, streams, events, device memory), over the CUDA driver API. It is
// built only when the CUDA toolkit is found, and loaded only into programs
// compiled for `--target nvptx`: the CPU path never depends on it.
//
// The host code the JIT runs has no way to return an error, so the runtime
// records the first failing driver call, skips every later call, and the
// runner asks for the error after each call (ssmCudaTakeError).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_CUDARUNTIME_H
#define SSM_RUNTIME_CUDARUNTIME_H

#include <cstddef>

extern "C" {

/// Initialises the driver and checks that a device exists. Returns 0, or
/// non-zero with a message in `message` (at most `size` bytes, terminated).
int ssmCudaInit(char *message, size_t size);

/// Copies the first error recorded since the last call into `message` and
/// returns non-zero, or returns 0 when there was none. Clears the error.
int ssmCudaTakeError(char *message, size_t size);

} // extern "C"

namespace mlir::ssm {

/// Where the runtime was built (empty when the CUDA toolkit was not found).
const char *cudaRuntimeLibraryPath();

} // namespace mlir::ssm

#endif // SSM_RUNTIME_CUDARUNTIME_H
