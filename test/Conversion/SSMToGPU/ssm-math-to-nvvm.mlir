// RUN: ssm-opt %s --ssm-math-to-nvvm | FileCheck %s

// exp2 becomes ex2.approx only where an approximation is allowed (afn) and
// in f32; floor, fma and absf become LLVM intrinsics; nothing else changes.

// CHECK-LABEL: func.func @math(
// CHECK:       llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f32"(%arg0) : (f32) -> f32
// CHECK:       math.exp2 %arg0 : f32
// CHECK:       math.exp2 %arg2 fastmath<afn> : f64
// CHECK:       llvm.call_intrinsic "llvm.floor.f32"(%arg0) : (f32) -> f32
// CHECK:       llvm.intr.fma(%arg0, %arg1, %arg0) : (f32, f32, f32) -> f32
// CHECK:       math.exp %arg0 : f32
// CHECK:       llvm.call_intrinsic "llvm.fabs.f32"(%arg1) : (f32) -> f32
// CHECK:       math.absf %arg2 : f64
func.func @math(%x: f32, %y: f32, %w: f64) -> (f32, f32, f64, f32, f32, f32, f32, f64) {
  %0 = math.exp2 %x fastmath<afn> : f32
  %1 = math.exp2 %x : f32
  %2 = math.exp2 %w fastmath<afn> : f64
  %3 = math.floor %x : f32
  %4 = math.fma %x, %y, %x : f32
  %5 = math.exp %x : f32
  %6 = math.absf %y : f32
  %7 = math.absf %w : f64
  return %0, %1, %2, %3, %4, %5, %6, %7 : f32, f32, f64, f32, f32, f32, f32, f64
}

// sqrt and rsqrt (the RMSNorm kernels' of all-kernels) as llvm.sqrt.f32,
// rsqrt as its correctly rounded reciprocal; f64 stays.

// CHECK-LABEL: func.func @roots(
// CHECK-DAG:   %[[ONE:.*]] = llvm.mlir.constant(1.000000e+00 : f32) : f32
// CHECK-DAG:   %[[S:.*]] = llvm.call_intrinsic "llvm.sqrt.f32"(%arg0) : (f32) -> f32
// CHECK-DAG:   %[[R:.*]] = llvm.call_intrinsic "llvm.sqrt.f32"(%arg0) : (f32) -> f32
// CHECK:       %[[Q:.*]] = llvm.fdiv %[[ONE]], %[[R]] : f32
// CHECK:       math.rsqrt %arg1 : f64
// CHECK:       return %[[S]], %[[Q]]
func.func @roots(%x: f32, %w: f64) -> (f32, f32, f64) {
  %0 = math.sqrt %x : f32
  %1 = math.rsqrt %x : f32
  %2 = math.rsqrt %w : f64
  return %0, %1, %2 : f32, f32, f64
}
