// RUN: ssm-opt %s --pass-pipeline='builtin.module(ssm-to-llvm{reference=true})' | FileCheck %s
// RUN: ssm-opt %s --pass-pipeline='builtin.module(ssm-to-llvm{reference=true buffer-deallocation=false})' | FileCheck %s --check-prefix=NODEALLOC
// RUN: ssm-opt %s --ssm-to-llvm | FileCheck %s --check-prefix=FAST
// RUN: ssm-opt %s --pass-pipeline='builtin.module(ssm-to-llvm{vector-width=8})' | FileCheck %s --check-prefix=FAST8
// RUN: ssm-opt %s --ssm-to-llvm --mlir-timing -o /dev/null 2>&1 | FileCheck %s --check-prefix=TIMING
// RUN: ssm-opt %s --ssm-to-llvm --mlir-print-ir-after-all -o /dev/null 2>&1 | FileCheck %s --check-prefix=AFTER
// RUN: ssm-opt %s --pass-pipeline='builtin.module(ssm-to-llvm{in-place-results=true})' | FileCheck %s --check-prefix=INPLACE
// RUN: ssm-opt %s --pass-pipeline='builtin.module(ssm-to-llvm{runtime-allocator=true})' | FileCheck %s --check-prefix=RUNTIMEALLOC

// runtime-allocator: allocations and deallocations call the generic
// functions (the JIT runner's buffer cache), not malloc and free.
// RUNTIMEALLOC-LABEL: llvm.func @program
// RUNTIMEALLOC: llvm.call @_mlir_memref_to_llvm_alloc
// RUNTIMEALLOC: llvm.call @_mlir_memref_to_llvm_free
// RUNTIMEALLOC-NOT: llvm.call @malloc
// RUNTIMEALLOC-NOT: llvm.call @free

// The default takes the fast path for the scan: 16-lane vector code with
// FMAs (vector.fma becomes llvm.intr.fmuladd) and exp2's rounding of its
// argument, and no call to a scalar exp for it (the conv stays on the loops).
// FAST-LABEL: llvm.func @program
// FAST: llvm.intr.roundeven({{.*}}) : (vector<16xf32>) -> vector<16xf32>
// FAST: llvm.intr.fmuladd({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// FAST-NOT: llvm.call @expf
// FAST-NOT: unrealized_conversion_cast
// FAST8-LABEL: llvm.func @program
// FAST8: llvm.intr.fmuladd({{.*}}) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
// FAST8-NOT: vector<16xf32>

// The pipeline's stages, in order.
// TIMING: SSMLowerToVector
// TIMING: SSMLowerToLoops
// TIMING: OneShotBufferizePass
// TIMING: OwnershipBasedBufferDeallocationPass
// TIMING: ConvertVectorToLLVMPass
// TIMING: SSMHostToLLVM
// TIMING: ReconcileUnrealizedCastsPass
// AFTER: IR Dump After SSMLowerToVector (ssm-lower-to-vector)
// AFTER: IR Dump After SSMLowerToLoops (ssm-lower-to-loops)
// AFTER-NOT: ssm.selective_scan
// AFTER: IR Dump After OneShotBufferizePass

// Everything ends in the LLVM dialect: no ssm, tensor, memref, scf or
// bufferization op is left, results are returned as memref descriptors and
// the exponentials are LLVM intrinsics (libm at run time).
// CHECK-LABEL: llvm.func @program
// CHECK-SAME: -> !llvm.struct<(struct<(ptr, ptr, i64, array<3 x i64>, array<3 x i64>)>, struct<(ptr, ptr, i64, array<3 x i64>, array<3 x i64>)>)>
// CHECK: llvm.call @malloc
// CHECK: llvm.intr.exp
// CHECK: llvm.intr.log
// The intermediate conv output is freed once the scan has consumed it.
// CHECK: llvm.call @free
// CHECK-NOT: ssm.
// CHECK-NOT: scf.
// CHECK-NOT: memref.
// CHECK-NOT: bufferization.
// CHECK-NOT: unrealized_conversion_cast
// NODEALLOC-LABEL: llvm.func @program
// NODEALLOC-NOT: llvm.call @free
func.func @program(%x: tensor<1x6x17xf32>, %w: tensor<6x4xf32>, %dt: tensor<1x6x17xf32>,
                   %A: tensor<6x3xf32>, %B: tensor<1x3x17xf32>, %C: tensor<1x3x17xf32>)
    -> (tensor<1x6x17xf32>, tensor<1x6x3xf32>) {
  %xc = ssm.causal_conv1d channel_first %x, %w silu
      : tensor<1x6x17xf32>, tensor<6x4xf32> -> tensor<1x6x17xf32>
  %y, %h = ssm.selective_scan channel_first %xc, %dt, %A, %B, %C delta_softplus
      : (tensor<1x6x17xf32>, tensor<1x6x17xf32>, tensor<6x3xf32>, tensor<1x3x17xf32>, tensor<1x3x17xf32>)
      -> tensor<1x6x17xf32>, tensor<1x6x3xf32>
  return %y, %h : tensor<1x6x17xf32>, tensor<1x6x3xf32>
}

// A public function that updates a writable argument and returns it: by
// default the result stays (a clone, which the caller owns); with
// in-place-results (the JIT runner's lowering) it leaves the signature and
// ssm.in_place_results says which argument each result was.
// FAST-LABEL: llvm.func @update
// FAST-SAME: -> !llvm.struct<(struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>, struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>)>
// FAST-NOT: ssm.in_place_results
// INPLACE-LABEL: llvm.func @update
// INPLACE-SAME: -> !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> attributes {ssm.in_place_results = array<i64: -1, 0>}
func.func @update(%s: tensor<2x8xf32> {bufferization.writable = true},
                  %x: tensor<8xf32> {bufferization.writable = false})
    -> (tensor<8xf32>, tensor<2x8xf32>) {
  %i = arith.constant 1 : index
  %c = arith.constant 2.0 : f32
  %s2 = tensor.insert %c into %s[%i, %i] : tensor<2x8xf32>
  %y = arith.addf %x, %x : tensor<8xf32>
  return %y, %s2 : tensor<8xf32>, tensor<2x8xf32>
}
