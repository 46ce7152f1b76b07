// RUN: ssm-opt %s --ssm-strided-copies | FileCheck %s

// A block of steps copied into a slice of a longer sequence (non-contiguous
// target) becomes linalg.copy; a copy between contiguous buffers stays a
// memref.copy (memcpy in LLVM).
// CHECK-LABEL: func.func @copies
// CHECK: %[[SV:.*]] = memref.subview
// CHECK: linalg.copy ins(%{{.*}} : memref<1x16x64xf32>) outs(%[[SV]] : memref<1x16x64xf32, strided<[16384, 1024, 1], offset: ?>>)
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<1x16x64xf32> to memref<1x16x64xf32>
// CHECK-NOT: memref.copy
func.func @copies(%seq: memref<1x16x1024xf32>, %blk: memref<1x16x64xf32>, %other: memref<1x16x64xf32>, %t: index) {
  %sv = memref.subview %seq[0, 0, %t] [1, 16, 64] [1, 1, 1]
      : memref<1x16x1024xf32> to memref<1x16x64xf32, strided<[16384, 1024, 1], offset: ?>>
  memref.copy %blk, %sv : memref<1x16x64xf32> to memref<1x16x64xf32, strided<[16384, 1024, 1], offset: ?>>
  memref.copy %blk, %other : memref<1x16x64xf32> to memref<1x16x64xf32>
  return
}
