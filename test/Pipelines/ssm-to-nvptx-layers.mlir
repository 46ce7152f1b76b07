// A model's layers on the GPU with all-kernels: ssm-to-nvptx inlines the
// layer calls, so that one function holds the forward pass, and
// ssm-gpu-device-buffers sees every kernel of it. The activations stay on
// the device from layer to layer; the stacked state (llvm.noalias) goes in
// once, before the first kernel that updates it, and back once, after the
// last; the two layers' projections are one kernel (ssm-gpu-dedup-kernels),
// and so are their state updates, which differ only in their slice's offset
// (a kernel argument).
//
// RUN: ssm-opt %s --split-input-file --pass-pipeline="builtin.module(ssm-to-nvptx{all-kernels=true})" | FileCheck %s

// CHECK-NOT:   @layer
// CHECK-LABEL: llvm.func @forward(
// x and layer 0's weight in, its projection:
// CHECK-COUNT-2: llvm.call @mgpuMemcpy
// CHECK:       gpu.launch_func {{.*}} @[[LINEAR:[a-z_0-9]+]]::@forward_kernel
// the stacked state in, layer 0's update of its slice:
// CHECK:       llvm.call @mgpuMemcpy
// CHECK:       gpu.launch_func {{.*}} @[[UPDATE:[a-z_0-9]+]]::@forward_kernel
// layer 1's weight in, its projection and update (the same kernels):
// CHECK:       llvm.call @mgpuMemcpy
// CHECK:       gpu.launch_func {{.*}} @[[LINEAR]]::@forward_kernel
// CHECK-NOT:   llvm.call @mgpuMemcpy
// CHECK:       gpu.launch_func {{.*}} @[[UPDATE]]::@forward_kernel
// the state and the output back; the returned copy of the state:
// CHECK-COUNT-2: llvm.call @mgpuMemcpy
// CHECK:       gpu.launch_func
// CHECK:       llvm.call @mgpuMemcpy
// CHECK-NOT:   llvm.call @mgpuMemcpy
// CHECK:       llvm.return
// CHECK-COUNT-3: gpu.binary
// CHECK-NOT:   gpu.binary

func.func private @layer(%x: tensor<2x8xf32>, %s: tensor<2x8xf32>, %w: tensor<8x8xf32>)
    -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %p = ssm.linear %x, %w : tensor<2x8xf32>, tensor<8x8xf32> -> tensor<2x8xf32>
  %e = tensor.empty() : tensor<2x8xf32>
  %n = linalg.add ins(%p, %s : tensor<2x8xf32>, tensor<2x8xf32>) outs(%e : tensor<2x8xf32>) -> tensor<2x8xf32>
  return %n, %n : tensor<2x8xf32>, tensor<2x8xf32>
}

func.func @forward(%x: tensor<2x8xf32>,
                   %states: tensor<2x2x8xf32> {bufferization.writable = true, llvm.noalias},
                   %w0: tensor<8x8xf32>, %w1: tensor<8x8xf32>)
    -> (tensor<2x8xf32>, tensor<2x2x8xf32>) {
  %s0 = tensor.extract_slice %states[0, 0, 0] [1, 2, 8] [1, 1, 1] : tensor<2x2x8xf32> to tensor<2x8xf32>
  %h0, %n0 = func.call @layer(%x, %s0, %w0) : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<8x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>)
  %t0 = tensor.insert_slice %n0 into %states[0, 0, 0] [1, 2, 8] [1, 1, 1] : tensor<2x8xf32> into tensor<2x2x8xf32>
  %s1 = tensor.extract_slice %t0[1, 0, 0] [1, 2, 8] [1, 1, 1] : tensor<2x2x8xf32> to tensor<2x8xf32>
  %h1, %n1 = func.call @layer(%h0, %s1, %w1) : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<8x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>)
  %t1 = tensor.insert_slice %n1 into %t0[1, 0, 0] [1, 2, 8] [1, 1, 1] : tensor<2x8xf32> into tensor<2x2x8xf32>
  return %h1, %t1 : tensor<2x8xf32>, tensor<2x2x8xf32>
}

// -----

// With rows known only at run time (a prompt's length), each projection is
// two launches, the tiled matrix product and the warp-per-output kernel,
// one of them on an empty grid: still one stream, no copy between them, and
// one wait, before the return. The layers share the three kernels.

// CHECK-LABEL: llvm.func @forward(
// CHECK-SAME:    %{{.*}}: !llvm.ptr
// CHECK:       %[[S:.*]] = llvm.call @mgpuStreamCreate
// x and layer 0's weight in:
// CHECK-COUNT-2: llvm.call @mgpuMemcpy
// CHECK:       gpu.launch_func <%[[S]] : !llvm.ptr> @[[TILED:[a-z_0-9]+]]::@forward_kernel {{.*}} dynamic_shared_memory_size
// CHECK-NOT:   llvm.call @mgpuMemcpy
// CHECK:       gpu.launch_func <%[[S]] : !llvm.ptr> @[[WARP:[a-z_0-9]+]]::@forward_kernel
// CHECK-NOT:   llvm.call @mgpuMemcpy
// CHECK:       gpu.launch_func <%[[S]] : !llvm.ptr> @[[ADD:[a-z_0-9]+]]::@forward_kernel
// layer 1's weight in:
// CHECK:       llvm.call @mgpuMemcpy
// CHECK-NOT:   llvm.call @mgpuMemcpy
// CHECK:       gpu.launch_func <%[[S]] : !llvm.ptr> @[[TILED]]::@forward_kernel
// CHECK:       gpu.launch_func <%[[S]] : !llvm.ptr> @[[WARP]]::@forward_kernel
// CHECK:       gpu.launch_func <%[[S]] : !llvm.ptr> @[[ADD]]::@forward_kernel
// the output back, one wait:
// CHECK:       llvm.call @mgpuMemcpy
// CHECK-NOT:   llvm.call @mgpuMemcpy
// CHECK:       llvm.call @mgpuStreamSynchronize(%[[S]])
// CHECK-NOT:   llvm.call @mgpuStreamSynchronize
// CHECK:       llvm.return
// CHECK-COUNT-3: gpu.binary
// CHECK-NOT:   gpu.binary

func.func private @layer(%x: tensor<?x8xf32>, %w: tensor<8x8xf32>) -> tensor<?x8xf32> {
  %p = ssm.linear %x, %w : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%m) : tensor<?x8xf32>
  %n = linalg.add ins(%p, %x : tensor<?x8xf32>, tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  return %n : tensor<?x8xf32>
}

func.func @forward(%x: tensor<?x8xf32>, %w0: tensor<8x8xf32>, %w1: tensor<8x8xf32>) -> tensor<?x8xf32> {
  %h0 = func.call @layer(%x, %w0) : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  %h1 = func.call @layer(%h0, %w1) : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  return %h1 : tensor<?x8xf32>
}
