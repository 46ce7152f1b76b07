// REQUIRES: ptxas
// The options of --ssm-to-nvptx: a cubin (ptxas from the toolkit given as
// an option; lit's environment has no CUDA_HOME) for sm_80 with an explicit
// PTX version, a fatbin, and the scan's block shape.
//
// RUN: ssm-opt %s --pass-pipeline="builtin.module(ssm-to-nvptx{chip=sm_80 features=+ptx80 format=bin toolkit=%cuda_root})" | FileCheck %s --check-prefix=BIN
// RUN: ssm-opt %s --pass-pipeline="builtin.module(ssm-to-nvptx{format=fatbin toolkit=%cuda_root})" | FileCheck %s --check-prefix=FATBIN
// RUN: ssm-opt %s --pass-pipeline="builtin.module(ssm-to-nvptx{items-per-thread=4 max-threads=64})" | FileCheck %s --check-prefix=SHAPE
// Without the toolkit a cubin cannot be built. Upstream's
// gpu-module-to-binary reports it but does not fail the pass (ssm-opt exits
// 0); ssm-run only builds PTX (format=isa), which needs no toolkit.
// RUN: ssm-opt %s --pass-pipeline="builtin.module(ssm-to-nvptx{format=bin toolkit=/nonexistent})" 2>&1 | FileCheck %s --check-prefix=NOPTXAS

// A cubin is an ELF file.
// BIN:    gpu.binary @scan_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, properties = {{.*}}, bin = "\7FELF

// A fatbin starts with its magic, 0xBA55ED50 little-endian.
// FATBIN: gpu.binary @scan_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90">, properties = {{.*}}, "P\EDU\BA

// 2 warps at most (n = 16): (2 * 2 * 2 + 2) * 16 floats = 640 bytes of
// shared memory (the default, 4 warps, takes 1152).
// SHAPE:  %[[SMEM:.*]] = llvm.mlir.constant(640 : i32) : i32
// SHAPE:  gpu.launch_func {{.*}} @scan_kernel::@scan_kernel {{.*}} dynamic_shared_memory_size %[[SMEM]]

// NOPTXAS: error: CUDA path: /nonexistent does not exist or is not a directory.

func.func @scan(%u: tensor<1x4x?xf32>, %A: tensor<4x16xf32>, %B: tensor<1x16x?xf32>)
    -> tensor<1x4x?xf32> {
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %B delta_softplus
      : (tensor<1x4x?xf32>, tensor<1x4x?xf32>, tensor<4x16xf32>, tensor<1x16x?xf32>, tensor<1x16x?xf32>)
      -> tensor<1x4x?xf32>
  return %y : tensor<1x4x?xf32>
}
