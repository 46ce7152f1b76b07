//===- GpuEmulator.h - GPU kernels on the CPU, one fiber per thread -*- C++
//-*-===//
//
// The runtime of programs compiled with --ssm-to-gpu-emulator (ssm-run
// --target gpu-emulator): the kernels the GPU lowering produces run on the
// host, each GPU thread a fiber (ucontext) with its own stack, the threads
// of a block interleaved only at barriers and shuffles. It checks what a
// GPU run would check of the kernels' algorithm without a GPU, and more:
//
// - the threads of a block run between two barriers in a seeded random
//   order, so a read of shared memory that a barrier does not separate
//   from the write it needs gives a different, wrong answer (the seed is
//   fixed, so runs repeat; SSM_GPU_EMULATOR_SEED=N draws other orders);
// - device allocations and shared memory start as NaN bytes (0xff), so a
//   kernel that reads what nothing wrote produces NaN;
// - a barrier that not every live thread of the block reaches, a shuffle
//   that not every live lane of the warp reaches or that reads a lane
//   outside the block, and a block of more than 1024 threads are errors.
//
// It does not model NVPTX code generation, ex2.approx's precision or
// timing; docs/gpu.md says what it is for. Launches run synchronously on
// the calling thread, block after block. Device memory is host memory:
// streams and events are no-ops.
//
// Like the CUDA runtime, it records the first error, skips every later
// launch and reports it to the runner after the call (ssmGpuEmulatorTakeError).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_GPUEMULATOR_H
#define SSM_RUNTIME_GPUEMULATOR_H

#include "llvm/ADT/ArrayRef.h"

#include <cstddef>

extern "C" {

/// Copies the first error recorded since the last call into `message` and
/// returns non-zero, or returns 0 when there was none. Clears the error.
int ssmGpuEmulatorTakeError(char *message, size_t size);

} // extern "C"

namespace mlir::ssm {

/// A function of the emulator that compiled programs call, by the name they
/// call it (the mgpu* functions of gpu-to-llvm's lowering and the ssm_emu_*
/// functions of include/ssm/Conversion/SSMToGPU/EmulatorABI.h).
struct GpuEmulatorSymbol {
  const char *name;
  void *address;
};

/// Every function the JIT must resolve to the emulator in a program
/// compiled with --ssm-to-gpu-emulator.
llvm::ArrayRef<GpuEmulatorSymbol> gpuEmulatorSymbols();

} // namespace mlir::ssm

#endif // SSM_RUNTIME_GPUEMULATOR_H
