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

// -----

// A slice of a stacked buffer (a layer's part of the stacked states) is
// strided: the view moves into the kernel, which captures the whole stack,
// copied in and back row-major.

// CHECK-LABEL: func.func @slice_of_stack(
// CHECK-SAME:    %[[S:.*]]: memref<4x8xf32>)
// CHECK:       %[[D:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] () : memref<4x8xf32>
// CHECK:       gpu.memcpy async [%{{.*}}] %[[D]], %[[S]]
// CHECK:       gpu.launch async
// CHECK:         %[[V:.*]] = memref.subview %[[D]][2, 0] [1, 8] [1, 1]
// CHECK:         memref.load %[[V]]
// CHECK:         memref.store %{{.*}}, %[[V]]
// CHECK:       gpu.memcpy async [%{{.*}}] %[[S]], %[[D]]
func.func @slice_of_stack(%stack: memref<4x8xf32>) {
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  %layer = memref.subview %stack[2, 0] [1, 8] [1, 1]
      : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: 16>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %layer[%c0, %tx] : memref<1x8xf32, strided<[8, 1], offset: 16>>
    %w = arith.addf %v, %v : f32
    memref.store %w, %layer[%c0, %tx] : memref<1x8xf32, strided<[8, 1], offset: 16>>
    gpu.terminator
  }
  return
}

// -----

// Launches in a row: a device copy serves the next launch that uses its
// host buffer while the host only reads that buffer in between (%x: copied
// in once, read by both kernels; %y: written by the first kernel, copied
// out for the host's read, then read by the second kernel with no copy in;
// %w, an argument: copied in once, no op in between writes any argument);
// each device buffer is freed in the chain of the last launch that uses it.

// CHECK-LABEL: func.func @reuse(
// CHECK-SAME:    %[[W:.*]]: memref<8xf32>, %[[F:.*]]: f32)
// CHECK:       %[[X:.*]] = memref.alloc() : memref<8xf32>
// CHECK:       %[[Y:.*]] = memref.alloc() : memref<8xf32>
// CHECK:       %[[DX:.*]], %{{.*}} = gpu.alloc async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[DX]], %[[X]]
// CHECK:       %[[DW:.*]], %{{.*}} = gpu.alloc async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[DW]], %[[W]]
// CHECK:       %[[DY:.*]], %{{.*}} = gpu.alloc async
// CHECK-NOT:   gpu.memcpy async [%{{.*}}] %[[DY]], %[[Y]]
// CHECK:       gpu.launch async
// CHECK:       %[[T0:.*]] = gpu.memcpy async [%{{.*}}] %[[Y]], %[[DY]]
// CHECK-NEXT:  gpu.wait [%[[T0]]]
// CHECK:       memref.load %[[Y]]
// CHECK:       %[[T:.*]] = gpu.wait async
// CHECK-NOT:   gpu.memcpy
// CHECK:       %[[DZ:.*]], %[[T1:.*]] = gpu.alloc async [%[[T]]]
// CHECK:       %[[T2:.*]] = gpu.launch async [%[[T1]]]
// CHECK:         memref.load %[[DX]]
// CHECK:         memref.load %[[DY]]
// CHECK:         memref.load %[[DW]]
// CHECK:         memref.store %{{.*}}, %[[DZ]]
// CHECK:       %[[T3:.*]] = gpu.memcpy async [%[[T2]]] %{{.*}}, %[[DZ]]
// CHECK-DAG:   gpu.dealloc async [%{{.*}}] %[[DX]]
// CHECK-DAG:   gpu.dealloc async [%{{.*}}] %[[DY]]
// CHECK-DAG:   gpu.dealloc async [%{{.*}}] %[[DW]]
// CHECK-DAG:   gpu.dealloc async [%{{.*}}] %[[DZ]]
// CHECK:       gpu.wait [
// CHECK-NOT:   gpu.
// CHECK:       return
func.func @reuse(%w: memref<8xf32>, %f: f32) -> (memref<8xf32>, f32, memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %x = memref.alloc() : memref<8xf32>
  linalg.fill ins(%f : f32) outs(%x : memref<8xf32>)
  %y = memref.alloc() : memref<8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%bx] : memref<8xf32>
    %u = memref.load %w[%bx] : memref<8xf32>
    %s = arith.addf %v, %u : f32
    memref.store %s, %y[%bx] : memref<8xf32>
    gpu.terminator
  }
  %r = memref.load %y[%c0] : memref<8xf32>
  %z = memref.alloc() : memref<8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %a = memref.load %x[%bx] : memref<8xf32>
    %b = memref.load %y[%bx] : memref<8xf32>
    %e = memref.load %w[%bx] : memref<8xf32>
    %s = arith.addf %a, %b : f32
    %t = arith.addf %s, %e : f32
    memref.store %t, %z[%bx] : memref<8xf32>
    gpu.terminator
  }
  return %y, %r, %z : memref<8xf32>, f32, memref<8xf32>
}

// -----

// The host writes between the launches, directly (%a), through a view (%b)
// or as a linalg output (%c): each second launch copies that buffer in
// again, from a new device buffer, and the first launch frees its own.

// CHECK-LABEL: func.func @host_writes(
// CHECK-SAME:    %[[F:.*]]: f32
// CHECK-COUNT-3: gpu.memcpy async
// CHECK:       gpu.launch async
// CHECK-COUNT-3: gpu.dealloc async
// CHECK:       gpu.wait [
// CHECK:       memref.store %[[F]]
// CHECK:       memref.subview
// CHECK:       memref.store %[[F]]
// CHECK:       linalg.fill
// CHECK:       gpu.wait async
// CHECK-COUNT-3: gpu.memcpy async
// CHECK:       gpu.launch async
// CHECK-COUNT-3: gpu.dealloc async
// CHECK:       gpu.wait [
func.func @host_writes(%f: f32) -> (memref<8xf32>, memref<8xf32>, memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %a = memref.alloc() : memref<8xf32>
  %b = memref.alloc() : memref<8xf32>
  %c = memref.alloc() : memref<8xf32>
  linalg.fill ins(%f : f32) outs(%a : memref<8xf32>)
  linalg.fill ins(%f : f32) outs(%b : memref<8xf32>)
  linalg.fill ins(%f : f32) outs(%c : memref<8xf32>)
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%bx] : memref<8xf32>
    %w = memref.load %b[%bx] : memref<8xf32>
    %u = memref.load %c[%bx] : memref<8xf32>
    gpu.terminator
  }
  memref.store %f, %a[%c0] : memref<8xf32>
  %view = memref.subview %b[2] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 2>>
  memref.store %f, %view[%c0] : memref<4xf32, strided<[1], offset: 2>>
  linalg.fill ins(%f : f32) outs(%c : memref<8xf32>)
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%bx] : memref<8xf32>
    %w = memref.load %b[%bx] : memref<8xf32>
    %u = memref.load %c[%bx] : memref<8xf32>
    gpu.terminator
  }
  return %a, %b, %c : memref<8xf32>, memref<8xf32>, memref<8xf32>
}

// -----

// Arguments may alias one another: a kernel writing %v between two kernels
// reading %w makes the second copy %w in again.

// CHECK-LABEL: func.func @argument_written(
// CHECK-SAME:    %[[W:.*]]: memref<8xf32>, %[[V:.*]]: memref<8xf32>
// CHECK:       gpu.memcpy async [%{{.*}}] %{{.*}}, %[[W]]
// CHECK:       gpu.launch async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[V]], %{{.*}}
// CHECK:       gpu.memcpy async [%{{.*}}] %{{.*}}, %[[W]]
// CHECK:       gpu.launch async
func.func @argument_written(%w: memref<8xf32>, %v: memref<8xf32>, %f: f32) -> memref<8xf32> {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %y = memref.alloc() : memref<8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %a = memref.load %w[%bx] : memref<8xf32>
    memref.store %a, %y[%bx] : memref<8xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %f, %v[%bx] : memref<8xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %a = memref.load %w[%bx] : memref<8xf32>
    %b = memref.load %y[%bx] : memref<8xf32>
    %s = arith.addf %a, %b : f32
    memref.store %s, %y[%bx] : memref<8xf32>
    gpu.terminator
  }
  return %y : memref<8xf32>
}

// -----

// Arguments marked llvm.noalias share memory with no other argument. A
// kernel writing %v then leaves the device copies of %w and %s valid, and
// %s, which two kernels update (a stacked state, a layer's slice each),
// goes back once, after the last of them; %v goes back after its kernel.
// No host op in between touches memory: one stream, one wait.

// CHECK-LABEL: func.func @noalias_arguments(
// CHECK-SAME:    %[[S:[^:]*]]: memref<2x8xf32> {llvm.noalias}, %[[W:[^:]*]]: memref<8xf32> {llvm.noalias}, %[[V:[^:]*]]: memref<8xf32> {llvm.noalias}
// CHECK:       gpu.wait async
// CHECK-COUNT-2: gpu.memcpy async
// CHECK:       gpu.launch async
// CHECK-NOT:   gpu.memcpy
// CHECK:       %[[DV:.*]], %{{.*}} = gpu.alloc async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[DV]], %[[V]]
// CHECK:       gpu.launch async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[V]], %[[DV]]
// CHECK-NOT:   gpu.memcpy
// CHECK-NOT:   gpu.wait
// CHECK:       gpu.launch async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[S]], %{{.*}}
// CHECK-NOT:   gpu.memcpy
// CHECK:       return
func.func @noalias_arguments(%s: memref<2x8xf32> {llvm.noalias}, %w: memref<8xf32> {llvm.noalias}, %v: memref<8xf32> {llvm.noalias}, %f: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %a = memref.load %w[%bx] : memref<8xf32>
    memref.store %a, %s[%c0, %bx] : memref<2x8xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %f, %v[%bx] : memref<8xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %a = memref.load %w[%bx] : memref<8xf32>
    memref.store %a, %s[%c1, %bx] : memref<2x8xf32>
    gpu.terminator
  }
  return
}

// -----

// A llvm.noalias argument the host reads (through a view) between two
// kernels that write it goes back after each; one the host writes in
// between is copied in again.

// CHECK-LABEL: func.func @noalias_host_uses(
// CHECK-SAME:    %[[S:[^:]*]]: memref<2x8xf32> {llvm.noalias}
// CHECK:       gpu.launch async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[S]], %{{.*}}
// CHECK:       gpu.wait [
// CHECK:       memref.load
// CHECK:       memref.store
// CHECK:       gpu.memcpy async [%{{.*}}] %{{.*}}, %[[S]]
// CHECK:       gpu.launch async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[S]], %{{.*}}
func.func @noalias_host_uses(%s: memref<2x8xf32> {llvm.noalias}, %f: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %f, %s[%c0, %bx] : memref<2x8xf32>
    gpu.terminator
  }
  %row = memref.subview %s[0, 0] [1, 8] [1, 1] : memref<2x8xf32> to memref<8xf32, strided<[1]>>
  %r = memref.load %row[%c1] : memref<8xf32, strided<[1]>>
  memref.store %r, %s[%c1, %c0] : memref<2x8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %a = memref.load %s[%c1, %bx] : memref<2x8xf32>
    memref.store %a, %s[%c0, %bx] : memref<2x8xf32>
    gpu.terminator
  }
  return %r : f32
}

// -----

// One stream for the launches of a block: the host waits for it only
// before an op that may touch memory the stream copies (the load of %a,
// which the first kernel's stream copies back), a call, or the return. A
// store to %b, which no kernel uses, and an allocation do not wait.

// CHECK-LABEL: func.func @streams(
// CHECK-SAME:    %[[F:.*]]: f32)
// CHECK:       %[[A:.*]] = memref.alloc() : memref<8xf32>
// CHECK:       %[[B:.*]] = memref.alloc() : memref<8xf32>
// CHECK:       gpu.wait async
// CHECK:       gpu.launch async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[A]], %{{.*}}
// CHECK-NOT:   gpu.wait
// CHECK:       memref.store %[[F]], %[[B]]
// CHECK-NOT:   gpu.wait
// CHECK:       gpu.launch async
// CHECK:       gpu.wait [
// CHECK-NEXT:  memref.load %[[A]]
// CHECK:       gpu.wait async
// CHECK:       gpu.launch async
// CHECK:       gpu.wait [
// CHECK-NEXT:  call @ext(%[[B]])
// CHECK-NOT:   gpu.wait
// CHECK:       return
func.func private @ext(memref<8xf32>)
func.func @streams(%f: f32) -> (memref<8xf32>, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %a = memref.alloc() : memref<8xf32>
  %b = memref.alloc() : memref<8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %f, %a[%bx] : memref<8xf32>
    gpu.terminator
  }
  memref.store %f, %b[%c0] : memref<8xf32>
  %c = memref.alloc() : memref<8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%bx] : memref<8xf32>
    memref.store %v, %c[%bx] : memref<8xf32>
    gpu.terminator
  }
  %r = memref.load %a[%c0] : memref<8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %f, %c[%bx] : memref<8xf32>
    gpu.terminator
  }
  func.call @ext(%b) : (memref<8xf32>) -> ()
  return %c, %r : memref<8xf32>, f32
}

// -----

// A launch that uses only a device-resident buffer has nothing to copy but
// joins the stream all the same: the next kernel reads what it writes.

// CHECK-LABEL: func.func @resident_only(
// CHECK:       gpu.wait async
// CHECK-NOT:   gpu.memcpy
// CHECK:       %[[T:.*]] = gpu.launch async
// CHECK:       gpu.alloc async [%[[T]]]
// CHECK:       gpu.launch async
// CHECK:       gpu.memcpy
// CHECK:       gpu.wait [
// CHECK-NEXT:  return
func.func @resident_only(%w: memref<8xf32> {ssm.device_resident}, %f: f32) -> memref<8xf32> {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %f, %w[%bx] : memref<8xf32>
    gpu.terminator
  }
  %y = memref.alloc() : memref<8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %a = memref.load %w[%bx] : memref<8xf32>
    memref.store %a, %y[%bx] : memref<8xf32>
    gpu.terminator
  }
  return %y : memref<8xf32>
}

// -----

// What only kernels read stays on the device: %t, written by the first
// kernel (a fresh allocation: its contents are undefined, so nothing is
// copied in although the kernel reads it too) and read by the second
// (through a view inside the kernel, which neither reads nor writes by
// itself), is never copied out. %u is written by the first kernel and read
// by the second and by the host after both: copied out after the first.
// One stream: the allocation between the kernels does not wait for it.

// CHECK-LABEL: func.func @device_only(
// CHECK-SAME:    %[[W:.*]]: memref<8xf32>
// CHECK:       %[[T:.*]] = memref.alloc() : memref<8xf32>
// CHECK:       %[[U:.*]] = memref.alloc() : memref<8xf32>
// CHECK:       %[[DW:.*]], %{{.*}} = gpu.alloc async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[DW]], %[[W]]
// CHECK-NOT:   gpu.memcpy
// CHECK:       gpu.launch async
// CHECK-NOT:   gpu.memcpy async [%{{.*}}] %[[T]]
// CHECK:       gpu.memcpy async [%{{.*}}] %[[U]], %{{.*}}
// CHECK-NOT:   gpu.memcpy async [%{{.*}}] %[[T]]
// CHECK-NOT:   gpu.wait [
// CHECK:       %[[Y:.*]] = memref.alloc() : memref<4xf32>
// CHECK-NOT:   gpu.memcpy async [%{{.*}}] %{{.*}}, %[[T]]
// CHECK-NOT:   gpu.memcpy async [%{{.*}}] %{{.*}}, %[[U]]
// CHECK:       gpu.launch async
// CHECK:         memref.subview
// CHECK:       gpu.memcpy async [%{{.*}}] %[[Y]], %{{.*}}
// CHECK-NOT:   gpu.memcpy
// CHECK:       gpu.wait [
// CHECK:       memref.load %[[U]]
func.func @device_only(%w: memref<8xf32>) -> (memref<4xf32>, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %t = memref.alloc() : memref<8xf32>
  %u = memref.alloc() : memref<8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %a = memref.load %w[%bx] : memref<8xf32>
    memref.store %a, %t[%bx] : memref<8xf32>
    %b = memref.load %t[%bx] : memref<8xf32>
    memref.store %b, %u[%bx] : memref<8xf32>
    gpu.terminator
  }
  %y = memref.alloc() : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %view = memref.subview %t[4] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 4>>
    %a = memref.load %view[%bx] : memref<4xf32, strided<[1], offset: 4>>
    %b = memref.load %u[%bx] : memref<8xf32>
    %s = arith.addf %a, %b : f32
    memref.store %s, %y[%bx] : memref<4xf32>
    gpu.terminator
  }
  %r = memref.load %u[%c0] : memref<8xf32>
  memref.dealloc %t : memref<8xf32>
  return %y, %r : memref<4xf32>, f32
}

// -----

// A view made before the kernel that writes %t, read by the host after it:
// the kernel's writes are copied back.

// CHECK-LABEL: func.func @view_made_before(
// CHECK:       %[[T:.*]] = memref.alloc() : memref<8xf32>
// CHECK:       %[[V:.*]] = memref.subview %[[T]]
// CHECK:       gpu.launch async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[T]], %{{.*}}
// CHECK:       gpu.wait [
// CHECK:       memref.load %[[V]]
func.func @view_made_before(%f: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %t = memref.alloc() : memref<8xf32>
  %v = memref.subview %t[4] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 4>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %f, %t[%bx] : memref<8xf32>
    gpu.terminator
  }
  %r = memref.load %v[%c0] : memref<4xf32, strided<[1], offset: 4>>
  return %r : f32
}

// -----

// Device-resident arguments: the kernel uses %w as it is (no device copy,
// no copy in); a private function every call gives it becomes resident
// too, and its kernel does not copy it either.

// CHECK-LABEL: func.func private @layer(
// CHECK-SAME:    %[[LW:.*]]: memref<4x8xf32> {ssm.device_resident}, %[[LX:.*]]: memref<8xf32>)
// CHECK:       %[[LD:.*]], %{{.*}} = gpu.alloc async
// CHECK:       gpu.memcpy async [%{{.*}}] %[[LD]], %[[LX]]
// CHECK-NOT:   gpu.memcpy async [%{{.*}}] %{{.*}}, %[[LW]]
// CHECK:       gpu.launch async
// CHECK:         memref.load %[[LW]]
// CHECK-LABEL: func.func @resident(
// CHECK-SAME:    %[[W:.*]]: memref<4x8xf32> {ssm.device_resident}, %[[X:.*]]: memref<8xf32>)
// CHECK-NOT:   gpu.memcpy async [%{{.*}}] %{{.*}}, %[[W]]
// CHECK:       gpu.launch async
// CHECK:         memref.subview %[[W]][1, 0] [1, 8] [1, 1]
// CHECK:       call @layer(%{{.*}}, %[[X]])
func.func private @layer(%w: memref<4x8xf32>, %x: memref<8xf32>) {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %a = memref.load %w[%tx, %tx] : memref<4x8xf32>
    %b = memref.load %x[%tx] : memref<8xf32>
    %c = arith.addf %a, %b : f32
    memref.store %c, %x[%tx] : memref<8xf32>
    gpu.terminator
  }
  return
}

func.func @resident(%w: memref<4x8xf32> {ssm.device_resident}, %x: memref<8xf32>) {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c0 = arith.constant 0 : index
  %row = memref.subview %w[1, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: 8>>
  %flat = memref.collapse_shape %row [[0, 1]] : memref<1x8xf32, strided<[8, 1], offset: 8>> into memref<8xf32, strided<[1], offset: 8>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %a = memref.load %row[%c0, %tx] : memref<1x8xf32, strided<[8, 1], offset: 8>>
    memref.store %a, %x[%tx] : memref<8xf32>
    gpu.terminator
  }
  %cast = memref.cast %flat : memref<8xf32, strided<[1], offset: 8>> to memref<8xf32, strided<[1], offset: ?>>
  %dense = memref.alloc() : memref<8xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %a = memref.load %cast[%tx] : memref<8xf32, strided<[1], offset: ?>>
    memref.store %a, %dense[%tx] : memref<8xf32>
    gpu.terminator
  }
  call @layer(%w, %x) : (memref<4x8xf32>, memref<8xf32>) -> ()
  return
}

// -----

// The host reading a device-resident argument is an error.

func.func @host_reads(%w: memref<8xf32> {ssm.device_resident}) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{ssm-gpu-device-buffers: this op uses argument #0 of @host_reads on the host, but the argument is device-resident (ssm.device_resident): only kernels may read it}}
  %v = memref.load %w[%c0] : memref<8xf32>
  return %v : f32
}

// -----

// A private function given a device-resident buffer by one call and host
// memory by another is an error.

// expected-error @+1 {{ssm-gpu-device-buffers: argument #0 of @mixed is given a device-resident buffer by one call, but host memory by another; the host cannot read device memory}}
func.func private @mixed(%w: memref<8xf32>) {
  return
}

func.func @calls(%w: memref<8xf32> {ssm.device_resident}, %h: memref<8xf32>) {
  call @mixed(%w) : (memref<8xf32>) -> ()
  call @mixed(%h) : (memref<8xf32>) -> ()
  return
}

// -----

// ... and so is a device-resident buffer passed to a public function, whose
// other callers the pass cannot see.

// expected-error @+1 {{ssm-gpu-device-buffers: argument #0 of @public_callee is given a device-resident buffer by one call, but the function is public or external; the host cannot read device memory}}
func.func @public_callee(%w: memref<8xf32>) {
  return
}

func.func @calls_public(%w: memref<8xf32> {ssm.device_resident}) {
  call @public_callee(%w) : (memref<8xf32>) -> ()
  return
}
