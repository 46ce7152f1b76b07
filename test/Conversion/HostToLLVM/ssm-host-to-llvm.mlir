// RUN: ssm-opt %s --ssm-host-to-llvm --split-input-file --verify-diagnostics | FileCheck %s
// RUN: ssm-opt %s --ssm-host-to-llvm=runtime-allocator --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=GENERIC

// Every dialect of the one conversion in one function: the signature and
// the call (func), a memref's descriptor, loads and allocation (memref),
// arith, index, complex, ub and the branches (cf). Nothing of them is left.
// CHECK-LABEL: llvm.func @callee(i64) -> i64
// CHECK-LABEL: llvm.func @host
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %[[C:.*]]: !llvm.struct<(f32, f32)>)
// CHECK: llvm.call @malloc
// CHECK: llvm.udiv
// CHECK: llvm.call @callee
// CHECK: llvm.extractvalue %[[C]][0] : !llvm.struct<(f32, f32)>
// CHECK: llvm.mlir.poison : f32
// CHECK: llvm.cond_br
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK: llvm.call @free
// CHECK-NOT: arith.
// CHECK-NOT: index.
// CHECK-NOT: complex.
// CHECK-NOT: memref.
// CHECK-NOT: cf.
// CHECK-NOT: ub.
// CHECK-NOT: func.
// CHECK-NOT: builtin.unrealized_conversion_cast
// GENERIC-LABEL: llvm.func @host
// GENERIC: llvm.call @_mlir_memref_to_llvm_alloc
// GENERIC: llvm.call @_mlir_memref_to_llvm_free
// GENERIC-NOT: @malloc
// GENERIC-NOT: @free
func.func private @callee(index) -> index
func.func @host(%m: memref<?xf32>, %n: index, %z: complex<f32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %buf = memref.alloc(%n) : memref<?xf32>
  // ceildivui has no LLVM instruction: expanded, then converted.
  %tiles = arith.ceildivui %n, %c16 : index
  %r = func.call @callee(%tiles) : (index) -> index
  %s = index.add %r, %c0
  %re = complex.re %z : complex<f32>
  %p = ub.poison : f32
  %cond = arith.cmpi ult, %s, %n : index
  cf.cond_br %cond, ^load, ^done(%p : f32)
^load:
  %v = memref.load %m[%s] : memref<?xf32>
  %w = arith.addf %v, %re : f32
  cf.br ^done(%w : f32)
^done(%x: f32):
  memref.dealloc %buf : memref<?xf32>
  return %x : f32
}

// -----

// An OpenMP region of the threaded host code: its operands and block
// arguments become LLVM types, the omp ops stay for the translation.
// CHECK-LABEL: llvm.func @threads
// CHECK: omp.parallel
// CHECK: omp.wsloop
// CHECK: omp.loop_nest (%[[I:.*]]) : i64 =
// CHECK: llvm.getelementptr {{.*}}[%[[I]]]
// CHECK: llvm.store
// CHECK: omp.yield
// CHECK: omp.terminator
func.func @threads(%m: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%c64) step (%c1) {
        memref.store %one, %m[%i] : memref<64xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// What the patterns cannot lower (arith on tensors, which bufferization
// should have removed) is an error at the op, not an unrealized cast that
// the translation to LLVM IR would fail on later.
func.func @tensor_arith() {
  %t = tensor.empty() : tensor<4xf32>
  // expected-error @+1 {{failed to legalize operation 'arith.addf' that was explicitly marked illegal}}
  %s = arith.addf %t, %t : tensor<4xf32>
  return
}

// -----

// cf.assert (the run-time checks of ssm-runtime-verification): a branch to
// a call of the runtime's ssm_runtime_check_failed with the message, a
// NUL-terminated constant of its own, never abort().
// CHECK-DAG: llvm.mlir.global internal constant @[[M0:ssm_check_message_[0-9]+]]("first\00")
// CHECK-DAG: llvm.mlir.global internal constant @[[M1:ssm_check_message_[0-9]+]]("second\00")
// CHECK-DAG: llvm.func @ssm_runtime_check_failed(!llvm.ptr)
// CHECK-LABEL: llvm.func @checks(
// CHECK-SAME: %[[A:.*]]: i1, %[[B:.*]]: i1)
// CHECK: llvm.cond_br %[[A]], ^[[OK:.*]], ^[[FAIL:[a-z0-9]+]]
// CHECK: ^[[FAIL]]:
// CHECK: %[[P:.*]] = llvm.mlir.addressof @[[M0]]
// CHECK: llvm.call @ssm_runtime_check_failed(%{{.*}}) : (!llvm.ptr) -> ()
// CHECK: llvm.unreachable
// CHECK: llvm.cond_br %[[B]]
// CHECK: llvm.mlir.addressof @[[M1]]
// CHECK: llvm.call @ssm_runtime_check_failed
// CHECK-NOT: abort
func.func @checks(%a: i1, %b: i1) {
  cf.assert %a, "first"
  cf.assert %b, "second"
  return
}
