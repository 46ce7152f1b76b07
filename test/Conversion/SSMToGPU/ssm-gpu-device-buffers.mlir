// RUN: ssm-opt %s --ssm-gpu-device-buffers -split-input-file -verify-diagnostics | FileCheck %s

// A launch reading an argument, writing a fresh allocation and updating a
// buffer the host wrote before: device copies, copies in for what the kernel
// reads or partly rewrites (not the fresh allocation), the launch on the
// device buffers, copies back of what it writes, frees, all chained on one
// token per op and closed by a wait.

// CHECK-LABEL: func.func @copies(
// CHECK-SAME:    %[[IN:.*]]: memref<?xf32>, %[[N:.*]]: index)
// CHECK:       %[[OUT:.*]] = memref.alloc(%[[N]]) : memref<?xf32>
// CHECK:       %[[ACC:.*]] = memref.alloc() : memref<4xf32>
// CHECK:       memref.store %{{.*}}, %[[ACC]]
// CHECK:       %[[T0:.*]] = gpu.wait async
// CHECK:       %[[DIN:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]] (%{{.*}}) : memref<?xf32>
// CHECK:       %[[T2:.*]] = gpu.memcpy async [%[[T1]]] %[[DIN]], %[[IN]] : memref<?xf32>, memref<?xf32>
// CHECK:       %[[DOUT:.*]], %[[T3:.*]] = gpu.alloc async [%[[T2]]] (%{{.*}}) : memref<?xf32>
// CHECK-NOT:   gpu.memcpy async [%[[T3]]] %[[DOUT]]
// CHECK:       %[[DACC:.*]], %[[T4:.*]] = gpu.alloc async [%[[T3]]] () : memref<4xf32>
// CHECK:       %[[T5:.*]] = gpu.memcpy async [%[[T4]]] %[[DACC]], %[[ACC]]
// CHECK:       %[[T6:.*]] = gpu.launch async [%[[T5]]] blocks
// CHECK:         memref.load %[[DIN]]
// CHECK:         memref.store %{{.*}}, %[[DOUT]]
// CHECK:         memref.store %{{.*}}, %[[DACC]]
// CHECK:       %[[T7:.*]] = gpu.memcpy async [%[[T6]]] %[[OUT]], %[[DOUT]]
// CHECK:       %[[T8:.*]] = gpu.memcpy async [%[[T7]]] %[[ACC]], %[[DACC]]
// CHECK:       %[[T9:.*]] = gpu.dealloc async [%[[T8]]] %[[DIN]]
// CHECK:       %[[T10:.*]] = gpu.dealloc async [%[[T9]]] %[[DOUT]]
// CHECK:       %[[T11:.*]] = gpu.dealloc async [%[[T10]]] %[[DACC]]
// CHECK:       gpu.wait [%[[T11]]]
// CHECK:       return %[[OUT]], %[[ACC]]
func.func @copies(%in: memref<?xf32>, %n: index) -> (memref<?xf32>, memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %out = memref.alloc(%n) : memref<?xf32>
  %acc = memref.alloc() : memref<4xf32>
  memref.store %zero, %acc[%c0] : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %in[%bx] : memref<?xf32>
    memref.store %v, %out[%bx] : memref<?xf32>
    memref.store %v, %acc[%c0] : memref<4xf32>
    gpu.terminator
  }
  return %out, %acc : memref<?xf32>, memref<4xf32>
}

// -----

// Shared memory and launches already asynchronous are left alone.

// CHECK-LABEL: func.func @untouched(
// CHECK-NOT:   gpu.alloc
// CHECK:       gpu.launch async
func.func @untouched(%n: index) {
  %c1 = arith.constant 1 : index
  %t = gpu.wait async
  %done = gpu.launch async [%t] blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  gpu.wait [%done]
  return
}

// -----

func.func @strided(%in: memref<8xf32, strided<[2]>>) {
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{ssm-gpu-device-buffers: the kernel uses a buffer with a non-identity layout}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %in[%c0] : memref<8xf32, strided<[2]>>
    gpu.terminator
  }
  return
}
