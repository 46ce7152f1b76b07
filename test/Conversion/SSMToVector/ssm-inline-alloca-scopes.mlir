// RUN: ssm-opt %s --ssm-inline-alloca-scopes --split-input-file | FileCheck %s

// A scope whose body only calls a function (which the canonicaliser treats
// as a possible stack allocation) and uses the heap is inlined, results
// included.
// CHECK-LABEL: func.func @no_alloca
// CHECK-NOT: memref.alloca_scope
// CHECK: %[[M:.*]] = memref.alloc()
// CHECK: call @helper(%[[M]])
// CHECK: %[[V:.*]] = memref.load %[[M]]
// CHECK: return %[[V]]
func.func private @helper(memref<4xf32>)
func.func @no_alloca(%i: index) -> f32 {
  %r = memref.alloca_scope -> (f32) {
    %m = memref.alloc() : memref<4xf32>
    func.call @helper(%m) : (memref<4xf32>) -> ()
    %v = memref.load %m[%i] : memref<4xf32>
    memref.alloca_scope.return %v : f32
  }
  return %r : f32
}

// -----

// A scope that allocates on the stack stays; one nested in it that does
// not is inlined into it.
// CHECK-LABEL: func.func @with_alloca
// CHECK: memref.alloca_scope
// CHECK-NEXT: memref.alloca()
// CHECK-NOT: memref.alloca_scope
// CHECK: call @helper
func.func private @helper(memref<4xf32>)
func.func @with_alloca() {
  memref.alloca_scope {
    %s = memref.alloca() : memref<4xf32>
    memref.alloca_scope {
      func.call @helper(%s) : (memref<4xf32>) -> ()
    }
  }
  return
}
