// The host side of the GPU pipelines: the ops without a kernel (here a
// projection) take the CPU's fast paths, as in --ssm-to-llvm: vector code,
// OpenMP threads with num-threads, the reference loops with reference=true.
// The scan is a kernel either way.
//
// RUN: ssm-opt %s --ssm-to-nvptx | FileCheck %s --check-prefixes=CHECK,FAST
// RUN: ssm-opt %s --pass-pipeline="builtin.module(ssm-to-nvptx{vector-width=8 num-threads=2})" | FileCheck %s --check-prefixes=CHECK,AVX2,THREADS
// RUN: ssm-opt %s --pass-pipeline="builtin.module(ssm-to-nvptx{reference=true})" | FileCheck %s --check-prefixes=CHECK,REF
// RUN: ssm-opt %s --pass-pipeline="builtin.module(ssm-to-gpu-emulator{num-threads=2})" | FileCheck %s --check-prefixes=EMU
// RUN: ssm-opt %s --pass-pipeline="builtin.module(ssm-to-nvptx{all-kernels=true num-threads=2})" | FileCheck %s --check-prefixes=ALL

// The projection's register block: FMAs on vectors of 16 lanes (8 with
// vector-width=8), none in the reference loops.
// THREADS:     omp.parallel
// THREADS:     omp.wsloop
// FAST:        llvm.intr.fmuladd{{.*}} : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// AVX2:        llvm.intr.fmuladd{{.*}} : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
// REF-NOT:     vector<
// CHECK:       gpu.launch_func {{.*}}@main_kernel::@main_kernel
// CHECK:       gpu.binary @main_kernel

// The emulator's host is the same, its kernel a host function.
// EMU:         omp.wsloop
// EMU:         llvm.intr.fmuladd{{.*}}vector<16xf32>
// EMU-NOT:     gpu.launch_func

// With all-kernels the projection and the transpose are kernels too, and
// the host only moves data: the four inputs in, the scan's output out; the
// projection's and the transpose's outputs never leave the device.
// ALL-NOT:     omp.
// ALL-NOT:     vector<
// ALL-COUNT-2: llvm.call @mgpuMemcpy
// ALL:         gpu.launch_func {{.*}}@main_kernel::@main_kernel
// ALL-NOT:     llvm.call @mgpuMemcpy
// ALL:         gpu.launch_func {{.*}}@main_kernel_0::@main_kernel
// ALL-COUNT-2: llvm.call @mgpuMemcpy
// ALL:         gpu.launch_func {{.*}}@main_kernel_1::@main_kernel
// ALL:         llvm.call @mgpuMemcpy
// ALL-NOT:     llvm.call @mgpuMemcpy
// ALL-COUNT-3: gpu.binary

func.func @main(%x: tensor<2x8x24xf32>, %w: tensor<40x24xf32>,
                %A: tensor<40x16xf32>, %B: tensor<2x16x8xf32>)
    -> tensor<2x40x8xf32> {
  %p = ssm.linear %x, %w : tensor<2x8x24xf32>, tensor<40x24xf32> -> tensor<2x8x40xf32>
  %e = tensor.empty() : tensor<2x40x8xf32>
  %u = linalg.transpose ins(%p : tensor<2x8x40xf32>) outs(%e : tensor<2x40x8xf32>) permutation = [0, 2, 1]
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %B delta_softplus
      : (tensor<2x40x8xf32>, tensor<2x40x8xf32>, tensor<40x16xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32>)
      -> tensor<2x40x8xf32>
  return %y : tensor<2x40x8xf32>
}
