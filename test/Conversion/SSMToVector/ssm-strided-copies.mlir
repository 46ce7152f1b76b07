// RUN: ssm-opt %s --ssm-strided-copies --split-input-file | FileCheck %s

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

// -----

// Layouts known only at run time (here after an scf.if): a memcpy when both
// buffers turn out contiguous and are not the same (a state updated in
// place and put back where it came from), the loops otherwise.
// CHECK-LABEL: func.func @runtime_layouts
// CHECK: memref.extract_strided_metadata %arg0
// CHECK: memref.extract_strided_metadata %arg1
// CHECK: arith.cmpi eq, %strides
// CHECK: scf.if %{{.*}} {
// CHECK:   memref.extract_aligned_pointer_as_index %arg1
// CHECK:   llvm.getelementptr
// CHECK:   memref.extract_aligned_pointer_as_index %arg0
// CHECK:   llvm.getelementptr
// CHECK:   %[[MOVES:.*]] = llvm.icmp "ne"
// CHECK:   scf.if %[[MOVES]] {
// CHECK:     "llvm.intr.memcpy"
// CHECK: } else {
// CHECK:   linalg.copy ins(%arg0 : memref<2x8x128xf32, strided<[?, ?, ?], offset: ?>>) outs(%arg1
// CHECK: }
// CHECK-NOT: memref.copy
func.func @runtime_layouts(%a: memref<2x8x128xf32, strided<[?, ?, ?], offset: ?>>,
                           %b: memref<2x8x128xf32, strided<[1024, 128, 1], offset: ?>>) {
  memref.copy %a, %b : memref<2x8x128xf32, strided<[?, ?, ?], offset: ?>> to memref<2x8x128xf32, strided<[1024, 128, 1], offset: ?>>
  return
}

// -----

// Static strides that are not contiguous take the loops without a branch.
// CHECK-LABEL: func.func @never_contiguous
// CHECK-NOT: scf.if
// CHECK: linalg.copy
func.func @never_contiguous(%a: memref<2x8x64xf32, strided<[?, ?, ?], offset: ?>>,
                            %b: memref<2x8x64xf32, strided<[1024, 128, 1], offset: ?>>) {
  memref.copy %a, %b : memref<2x8x64xf32, strided<[?, ?, ?], offset: ?>> to memref<2x8x64xf32, strided<[1024, 128, 1], offset: ?>>
  return
}
