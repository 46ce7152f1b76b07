//===- EmulatorABI.h - what emulated kernels call on the host ---*- C++ -*-===//
//
// The contract between ssm-gpu-emulate-kernels / ssm-gpu-emulate-launches
// (lib/Conversion/SSMToGPU/Emulation.cpp), which turn GPU kernels into host
// functions, and the GPU emulator (lib/Runtime/GpuEmulator.cpp), which runs
// them on fibers: the runtime functions' names and the codes of their
// arguments. Plain constants, so that both sides include it without MLIR.
//
// The functions, as the host code calls them (C ABI):
//   int64_t ssm_emu_id(int32_t which);           // which: EmulatorId
//   void    ssm_emu_barrier(void);               // gpu.barrier
//   int32_t ssm_emu_shuffle32(int32_t value, int32_t offset, int32_t width,
//                             int32_t mode);     // mode: EmulatorShuffle
//   int64_t ssm_emu_shuffle64(int64_t value, int32_t offset, int32_t width,
//                             int32_t mode);
//   int32_t ssm_emu_shuffle_valid(int32_t offset, int32_t width, int32_t mode);
//   void    _mlir_ciface_ssm_emu_shared(descriptor of memref<?xi8> *out);
//   void    ssm_emu_launch(void (*kernel)(void **params), int64_t gridX,
//                          int64_t gridY, int64_t gridZ, int64_t blockX,
//                          int64_t blockY, int64_t blockZ, int32_t smem,
//                          void **params, int64_t numParams);
// `kernel` takes the launch's arguments packed as CUDA's cuLaunchKernel
// takes them: params[i] points to the i-th (memref descriptors expanded).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONVERSION_SSMTOGPU_EMULATORABI_H
#define SSM_CONVERSION_SSMTOGPU_EMULATORABI_H

namespace mlir::ssm::emulator {

constexpr const char *kIdFn = "ssm_emu_id";
constexpr const char *kBarrierFn = "ssm_emu_barrier";
constexpr const char *kShuffle32Fn = "ssm_emu_shuffle32";
constexpr const char *kShuffle64Fn = "ssm_emu_shuffle64";
constexpr const char *kShuffleValidFn = "ssm_emu_shuffle_valid";
constexpr const char *kSharedFn = "ssm_emu_shared";
constexpr const char *kLaunchFn = "ssm_emu_launch";

/// `which` of ssm_emu_id: a quantity times 3 plus the dimension (x, y, z).
enum EmulatorId : int {
  kThreadId = 0,
  kBlockId = 3,
  kBlockDim = 6,
  kGridDim = 9,
  kLaneId = 12,
};

/// `mode` of the shuffles.
enum EmulatorShuffle : int {
  kShuffleXor = 0,
  kShuffleUp = 1,
  kShuffleDown = 2,
  kShuffleIdx = 3,
};

} // namespace mlir::ssm::emulator

#endif // SSM_CONVERSION_SSMTOGPU_EMULATORABI_H
