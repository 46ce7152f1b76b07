// RUN: ssm-opt %s --ssm-gpu-dedup-kernels -split-input-file | FileCheck %s

// Three launches of two kernels: the second module equals the first but for
// its names and locations and goes, its launch launching the first; the
// third differs in a constant and stays.

// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       func.func @f(
// CHECK:         gpu.launch_func @k::@k
// CHECK:         gpu.launch_func @k::@k
// CHECK:         gpu.launch_func @k_1::@k_1
// CHECK:       gpu.module @k {
// CHECK-NOT:   gpu.module @k_0
// CHECK:       gpu.module @k_1 {
// CHECK:         arith.constant 3.000000e+00 : f32
module attributes {gpu.container_module} {
  func.func @f(%a: memref<8xf32>, %b: memref<8xf32>) {
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c8, %c1, %c1) args(%a : memref<8xf32>)
    gpu.launch_func @k_0::@k_0 blocks in (%c1, %c1, %c1) threads in (%c8, %c1, %c1) args(%b : memref<8xf32>)
    gpu.launch_func @k_1::@k_1 blocks in (%c1, %c1, %c1) threads in (%c8, %c1, %c1) args(%b : memref<8xf32>)
    return
  }
  gpu.module @k {
    gpu.func @k(%x: memref<8xf32>) kernel {
      %t = gpu.thread_id x
      %two = arith.constant 2.0 : f32
      %v = memref.load %x[%t] : memref<8xf32>
      %w = arith.mulf %v, %two : f32
      memref.store %w, %x[%t] : memref<8xf32>
      gpu.return
    }
  }
  gpu.module @k_0 {
    gpu.func @k_0(%y: memref<8xf32>) kernel {
      %t = gpu.thread_id x loc("elsewhere")
      %two = arith.constant 2.0 : f32
      %v = memref.load %y[%t] : memref<8xf32>
      %w = arith.mulf %v, %two : f32
      memref.store %w, %y[%t] : memref<8xf32>
      gpu.return
    }
  }
  gpu.module @k_1 {
    gpu.func @k_1(%y: memref<8xf32>) kernel {
      %t = gpu.thread_id x
      %three = arith.constant 3.0 : f32
      %v = memref.load %y[%t] : memref<8xf32>
      %w = arith.mulf %v, %three : f32
      memref.store %w, %y[%t] : memref<8xf32>
      gpu.return
    }
  }
}

// -----

// Modules whose targets differ are not merged.

// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:         gpu.launch_func @a::@a
// CHECK:         gpu.launch_func @b::@b
// CHECK:       gpu.module @a
// CHECK:       gpu.module @b
module attributes {gpu.container_module} {
  func.func @g() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @a::@a blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @b::@b blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
  gpu.module @a [#nvvm.target<chip = "sm_80">] {
    gpu.func @a() kernel {
      gpu.return
    }
  }
  gpu.module @b [#nvvm.target<chip = "sm_90">] {
    gpu.func @b() kernel {
      gpu.return
    }
  }
}
