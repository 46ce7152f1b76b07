// The whole GPU lowering, checked without a GPU or a CUDA toolkit: the PTX
// of each kernel (ssm-run --emit=ptx), the NVVM IR before it, and the host
// side that launches it.
//
// RUN: ssm-run %s --emit=ptx | FileCheck %s --check-prefix=PTX
// RUN: ssm-run %s --emit=ptx --chip sm_80 | FileCheck %s --check-prefix=SM80
// RUN: ssm-run %s --emit=ptx | FileCheck %s --check-prefix=MATH
// RUN: ssm-opt %s --ssm-to-nvptx | FileCheck %s --check-prefix=HOST
// RUN: ssm-opt %s --ssm-to-nvptx | FileCheck %s --check-prefix=BIN
// RUN: ssm-opt %s --pass-pipeline="builtin.module(ssm-lower-to-gpu, one-shot-bufferize{bufferize-function-boundaries}, ssm-gpu-device-buffers, gpu-kernel-outlining, convert-scf-to-cf, gpu.module(ssm-math-to-nvvm, convert-gpu-to-nvvm))" | FileCheck %s --check-prefix=NVVM

// The scan kernel: a shuffle-up warp scan of (a, b) pairs (5 steps, then
// one for the exclusive prefix, two values each), one barrier per state,
// exp2 as ex2.approx, shared memory, no libdevice call left unresolved.
// PTX-LABEL: // gpu.binary @scan_kernel (#nvvm.target<O = 3, chip = "sm_90">)
// PTX:       .target sm_90
// PTX-NOT:   .extern
// PTX:       .entry scan_kernel(
// PTX:       ex2.approx.ftz.f32
// PTX-COUNT-12: shfl.sync.up.b32
// PTX:       bar.sync 0;
// PTX-LABEL: // gpu.binary @conv_kernel
// PTX-NOT:   .extern
// PTX:       .entry conv_kernel(
// PTX-LABEL: // gpu.binary @conv_kernel_0
// PTX:       .entry conv_kernel(

// The scan kernel's softplus and SiLU divide with div.approx, not
// div.rn's subroutine, and call no exp or log function.
// MATH:     .entry scan_kernel(
// MATH-NOT: div.rn.f32
// MATH:     div.approx.f32
// MATH-NOT: div.rn.f32
// MATH:     // gpu.binary @conv_kernel

// SM80: .target sm_80
// SM80: shfl.sync.up.b32

// HOST:     module attributes {gpu.container_module}
// HOST-LABEL: llvm.func @scan(
// HOST:       llvm.call @mgpuStreamCreate()
// HOST:       llvm.call @mgpuMemAlloc(
// HOST:       llvm.call @mgpuMemcpy(
// HOST:       gpu.launch_func <%{{.*}} : !llvm.ptr> @scan_kernel::@scan_kernel blocks in
// HOST-SAME:  dynamic_shared_memory_size
// HOST:       llvm.call @mgpuMemcpy(
// HOST:       llvm.call @mgpuMemFree(
// HOST:       llvm.call @mgpuStreamSynchronize(
// HOST:       llvm.call @mgpuStreamDestroy(
// HOST-LABEL: llvm.func @conv(
// HOST:       gpu.launch_func {{.*}} @conv_kernel::@conv_kernel
// HOST:       gpu.launch_func {{.*}} @conv_kernel_0::@conv_kernel

// BIN-NOT: memref.
// BIN-DAG: gpu.binary @scan_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90">
// BIN-DAG: gpu.binary @conv_kernel [#gpu.object
// BIN-DAG: gpu.binary @conv_kernel_0 [#gpu.object
// BIN-NOT: memref.

// NVVM-LABEL: gpu.module @scan_kernel
// NVVM:         llvm.func @scan_kernel(
// NVVM-SAME:      nvvm.kernel
// NVVM:         llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"
// NVVM:         nvvm.shfl.sync  up
// NVVM:         nvvm.barrier
// NVVM-NOT:     __nv_

func.func @scan(%u: tensor<2x8x?xf32>, %dt: tensor<2x8x?xf32>, %A: tensor<8x16xf32>,
                %B: tensor<2x16x?xf32>, %C: tensor<2x16x?xf32>, %D: tensor<8xf32>,
                %z: tensor<2x8x?xf32>, %bias: tensor<8xf32>)
    -> (tensor<2x8x?xf32>, tensor<2x8x16xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C D(%D : tensor<8xf32>)
      z(%z : tensor<2x8x?xf32>) delta_bias(%bias : tensor<8xf32>) delta_softplus
      : (tensor<2x8x?xf32>, tensor<2x8x?xf32>, tensor<8x16xf32>, tensor<2x16x?xf32>, tensor<2x16x?xf32>)
      -> tensor<2x8x?xf32>, tensor<2x8x16xf32>
  return %y, %h : tensor<2x8x?xf32>, tensor<2x8x16xf32>
}

func.func @conv(%x: tensor<2x?x8xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>)
    -> (tensor<2x?x8xf32>, tensor<2x8x3xf32>) {
  %y, %s = ssm.causal_conv1d token_major %x, %w bias(%b : tensor<8xf32>) silu
      : tensor<2x?x8xf32>, tensor<8x4xf32> -> tensor<2x?x8xf32>, tensor<2x8x3xf32>
  return %y, %s : tensor<2x?x8xf32>, tensor<2x8x3xf32>
}
