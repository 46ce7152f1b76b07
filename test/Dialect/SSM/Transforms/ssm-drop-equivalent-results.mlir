// RUN: ssm-opt %s --ssm-drop-equivalent-results --split-input-file | FileCheck %s
// RUN: ssm-opt %s --ssm-drop-equivalent-results=public-functions=true --split-input-file | FileCheck %s --check-prefix=PUBLIC

// A private function's results that are its arguments go, through a cast
// too; each call uses the operand it passed (cast back to the result's
// type where they differ). The fresh buffer it returns stays a result.
// CHECK-LABEL: func.func private @update(
// CHECK-SAME: %[[S:.*]]: memref<4x8xf32>, %[[T:.*]]: memref<8xf32>, %[[I:.*]]: index) -> memref<8xf32>
// CHECK: %[[NEW:.*]] = memref.alloc() : memref<8xf32>
// CHECK: return %[[NEW]] : memref<8xf32>
func.func private @update(%s: memref<4x8xf32>, %t: memref<8xf32>, %i: index)
    -> (memref<4x8xf32>, memref<8xf32>, memref<?xf32>) {
  %c = arith.constant 1.0 : f32
  memref.store %c, %s[%i, %i] : memref<4x8xf32>
  %new = memref.alloc() : memref<8xf32>
  %cast = memref.cast %t : memref<8xf32> to memref<?xf32>
  return %s, %new, %cast : memref<4x8xf32>, memref<8xf32>, memref<?xf32>
}

// CHECK-LABEL: func.func @caller(
// CHECK-SAME: %[[A:.*]]: memref<4x8xf32>, %[[B:.*]]: memref<8xf32>
// CHECK: %[[R:.*]] = call @update(%[[A]], %[[B]], %{{.*}}) {note} : (memref<4x8xf32>, memref<8xf32>, index) -> memref<8xf32>
// CHECK: %[[BC:.*]] = memref.cast %[[B]] : memref<8xf32> to memref<?xf32>
// CHECK: %[[R2:.*]] = call @update(%[[A]], %[[R]], %{{.*}})
// CHECK: return %[[A]], %[[R2]], %[[BC]]
func.func @caller(%a: memref<4x8xf32>, %b: memref<8xf32>)
    -> (memref<4x8xf32>, memref<8xf32>, memref<?xf32>) {
  %i = arith.constant 2 : index
  %0:3 = call @update(%a, %b, %i) {note} : (memref<4x8xf32>, memref<8xf32>, index) -> (memref<4x8xf32>, memref<8xf32>, memref<?xf32>)
  %1:3 = call @update(%0#0, %0#1, %i) : (memref<4x8xf32>, memref<8xf32>, index) -> (memref<4x8xf32>, memref<8xf32>, memref<?xf32>)
  return %1#0, %1#1, %0#2 : memref<4x8xf32>, memref<8xf32>, memref<?xf32>
}

// -----

// A public function keeps its signature: C callers call it. With
// public-functions (the JIT runner's convention), it loses the results that
// are its arguments and lists, for each result it had, that argument or -1.
// CHECK-LABEL: func.func @public_update(%{{.*}}: memref<8xf32>, %{{.*}}: memref<4xf32>) -> (memref<4xf32>, memref<2xf32>, memref<?xf32>) {
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}} : memref<4xf32>, memref<2xf32>, memref<?xf32>
// PUBLIC-LABEL: func.func @public_update(
// PUBLIC-SAME: %[[S:.*]]: memref<8xf32>, %[[T:.*]]: memref<4xf32>) -> memref<2xf32>
// PUBLIC-SAME: attributes {ssm.in_place_results = array<i64: 1, -1, 0>}
// PUBLIC: %[[NEW:.*]] = memref.alloc() : memref<2xf32>
// PUBLIC: return %[[NEW]] : memref<2xf32>
func.func @public_update(%s: memref<8xf32>, %t: memref<4xf32>)
    -> (memref<4xf32>, memref<2xf32>, memref<?xf32>) {
  %new = memref.alloc() : memref<2xf32>
  %cast = memref.cast %s : memref<8xf32> to memref<?xf32>
  return %t, %new, %cast : memref<4xf32>, memref<2xf32>, memref<?xf32>
}

// A public function with no such result is left alone, and an
// ssm.in_place_results it carried (the pass's own attribute, here written
// by hand) is dropped: its result is still returned.
// PUBLIC-LABEL: func.func @public_fresh() -> memref<2xf32> {
// PUBLIC-NOT: ssm.in_place_results
func.func @public_fresh() -> memref<2xf32> attributes {ssm.in_place_results = array<i64: 0>} {
  %new = memref.alloc() : memref<2xf32>
  return %new : memref<2xf32>
}

// -----

// A private function whose symbol is used other than by func.call (here
// taken as a value) keeps its results.
// CHECK-LABEL: func.func private @referenced(%{{.*}}: memref<8xf32>) -> memref<8xf32>
func.func private @referenced(%s: memref<8xf32>) -> memref<8xf32> {
  return %s : memref<8xf32>
}

func.func @take() -> ((memref<8xf32>) -> memref<8xf32>) {
  %f = func.constant @referenced : (memref<8xf32>) -> memref<8xf32>
  return %f : (memref<8xf32>) -> memref<8xf32>
}
