// RUN: ssm-opt %s --ssm-x86-fraction --split-input-file | FileCheck %s

// x - floor(x) on 16 floats becomes one vreduceps (round down, no fraction
// bits kept, all lanes); the floor goes when nothing else uses it.
// CHECK-LABEL: func.func @fraction
// CHECK-SAME: (%[[X:.*]]: vector<16xf32>)
// CHECK-DAG: %[[IMM:.*]] = arith.constant 9 : i32
// CHECK-DAG: %[[ALL:.*]] = arith.constant -1 : i16
// CHECK-DAG: %[[CUR:.*]] = arith.constant 4 : i32
// CHECK: %[[F:.*]] = llvm.call_intrinsic "llvm.x86.avx512.mask.reduce.ps.512"(%[[X]], %[[IMM]], %[[X]], %[[ALL]], %[[CUR]]) : (vector<16xf32>, i32, vector<16xf32>, i16, i32) -> vector<16xf32>
// CHECK-NOT: math.floor
// CHECK: return %[[F]]
func.func @fraction(%x: vector<16xf32>) -> vector<16xf32> {
  %i = math.floor %x : vector<16xf32>
  %f = arith.subf %x, %i : vector<16xf32>
  return %f : vector<16xf32>
}

// -----

// Left alone: other widths, other element types, y - floor(x), floor(x) - x.
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: llvm.call_intrinsic
// CHECK-COUNT-4: arith.subf
func.func @untouched(%x8: vector<8xf32>, %x: vector<16xf32>, %y: vector<16xf32>,
                     %d: vector<16xf64>)
    -> (vector<8xf32>, vector<16xf32>, vector<16xf32>, vector<16xf64>) {
  %i8 = math.floor %x8 : vector<8xf32>
  %a = arith.subf %x8, %i8 : vector<8xf32>
  %i = math.floor %x : vector<16xf32>
  %b = arith.subf %y, %i : vector<16xf32>
  %c = arith.subf %i, %x : vector<16xf32>
  %id = math.floor %d : vector<16xf64>
  %e = arith.subf %d, %id : vector<16xf64>
  return %a, %b, %c, %e : vector<8xf32>, vector<16xf32>, vector<16xf32>, vector<16xf64>
}
