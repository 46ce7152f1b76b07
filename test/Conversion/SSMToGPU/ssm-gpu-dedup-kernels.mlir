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

// -----

// Kernels that differ only in the static offsets of subviews that only
// loads and stores use (a layer's slice of a stacked state) are one
// kernel, each such offset an argument after the others; each launch
// passes its module's offset (0 for @a, whose layout has none, 2 and 3).
// @d and @e view their slices again, so that their offsets cannot vary:
// both stay.

// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:       %[[O0:.*]] = arith.constant 0 : index
// CHECK-NEXT:  gpu.launch_func @a::@a {{.*}} args(%[[S:.*]] : memref<4x8xf32>, %[[O0]] : index)
// CHECK:       %[[O2:.*]] = arith.constant 2 : index
// CHECK-NEXT:  gpu.launch_func @a::@a {{.*}} args(%[[S]] : memref<4x8xf32>, %[[O2]] : index)
// CHECK:       %[[O3:.*]] = arith.constant 3 : index
// CHECK-NEXT:  gpu.launch_func @a::@a {{.*}} args(%[[S]] : memref<4x8xf32>, %[[O3]] : index)
// CHECK-NEXT:  gpu.launch_func @d::@d {{.*}} args(%[[S]] : memref<4x8xf32>)
// CHECK-NEXT:  gpu.launch_func @e::@e {{.*}} args(%[[S]] : memref<4x8xf32>)
// CHECK:       gpu.module @a {
// CHECK:         gpu.func @a(%[[M:.*]]: memref<4x8xf32>, %[[OFF:.*]]: index) kernel
// CHECK:           %[[V:.*]] = memref.subview %[[M]][%[[OFF]], 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1], offset: ?>>
// CHECK:           memref.load %[[V]]
// CHECK:           memref.store %{{.*}}, %[[V]]
// CHECK-NOT:   gpu.module @b
// CHECK-NOT:   gpu.module @c
// CHECK:       gpu.module @d {
// CHECK:       gpu.module @e {
module attributes {gpu.container_module} {
  func.func @h(%s: memref<4x8xf32>) {
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    gpu.launch_func @a::@a blocks in (%c1, %c1, %c1) threads in (%c8, %c1, %c1) args(%s : memref<4x8xf32>)
    gpu.launch_func @b::@b blocks in (%c1, %c1, %c1) threads in (%c8, %c1, %c1) args(%s : memref<4x8xf32>)
    gpu.launch_func @c::@c blocks in (%c1, %c1, %c1) threads in (%c8, %c1, %c1) args(%s : memref<4x8xf32>)
    gpu.launch_func @d::@d blocks in (%c1, %c1, %c1) threads in (%c8, %c1, %c1) args(%s : memref<4x8xf32>)
    gpu.launch_func @e::@e blocks in (%c1, %c1, %c1) threads in (%c8, %c1, %c1) args(%s : memref<4x8xf32>)
    return
  }
  gpu.module @a {
    gpu.func @a(%m: memref<4x8xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.subview %m[0, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1]>>
      %x = memref.load %v[%t] : memref<8xf32, strided<[1]>>
      %y = arith.addf %x, %x : f32
      memref.store %y, %v[%t] : memref<8xf32, strided<[1]>>
      gpu.return
    }
  }
  gpu.module @b {
    gpu.func @b(%m: memref<4x8xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.subview %m[2, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1], offset: 16>>
      %x = memref.load %v[%t] : memref<8xf32, strided<[1], offset: 16>>
      %y = arith.addf %x, %x : f32
      memref.store %y, %v[%t] : memref<8xf32, strided<[1], offset: 16>>
      gpu.return
    }
  }
  gpu.module @c {
    gpu.func @c(%m: memref<4x8xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.subview %m[3, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1], offset: 24>>
      %x = memref.load %v[%t] : memref<8xf32, strided<[1], offset: 24>>
      %y = arith.addf %x, %x : f32
      memref.store %y, %v[%t] : memref<8xf32, strided<[1], offset: 24>>
      gpu.return
    }
  }
  gpu.module @d {
    gpu.func @d(%m: memref<4x8xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.subview %m[1, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1], offset: 8>>
      %w = memref.subview %v[0] [8] [1] : memref<8xf32, strided<[1], offset: 8>> to memref<8xf32, strided<[1], offset: 8>>
      %x = memref.load %w[%t] : memref<8xf32, strided<[1], offset: 8>>
      %y = arith.addf %x, %x : f32
      memref.store %y, %w[%t] : memref<8xf32, strided<[1], offset: 8>>
      gpu.return
    }
  }
  gpu.module @e {
    gpu.func @e(%m: memref<4x8xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.subview %m[2, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<8xf32, strided<[1], offset: 16>>
      %w = memref.subview %v[0] [8] [1] : memref<8xf32, strided<[1], offset: 16>> to memref<8xf32, strided<[1], offset: 16>>
      %x = memref.load %w[%t] : memref<8xf32, strided<[1], offset: 16>>
      %y = arith.addf %x, %x : f32
      memref.store %y, %w[%t] : memref<8xf32, strided<[1], offset: 16>>
      gpu.return
    }
  }
}
