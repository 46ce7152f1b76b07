// RUN: ssm-opt %s --ssm-lower-projections --split-input-file | FileCheck %s
// RUN: ssm-opt %s --ssm-lower-projections=vector-width=8 --split-input-file | FileCheck %s --check-prefix=AVX2
// RUN: ssm-opt %s --ssm-lower-projections=packed-from-rows=5 --split-input-file | FileCheck %s --check-prefix=FROM5
// RUN: not ssm-opt %s --ssm-lower-projections=packed-from-rows=-1 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: ssm-lower-projections: packed-from-rows must not be negative
// RUN: not ssm-opt %s --ssm-lower-projections=vector-width=32 --split-input-file 2>&1 | FileCheck %s --check-prefix=WIDE
// WIDE: error: ssm-lower-projections: vector-width must be 1 to 16, got 32

// A projection as ssm-expand-blocks emits it (x (b, L, K), w (N, K), the
// accumulator initialised with the bias): the run-time choice between the
// packed prefill kernel (from packed-from-rows rows: by default 16 with f32
// weights, 32 with 16-bit ones, 64 with int8 ones) and the decoding dot
// products.

#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// CHECK-LABEL: func.func @projection(
// CHECK-SAME: %[[X:[^:]+]]: tensor<2x?x8xf32>, %[[W:[^:]+]]: tensor<40x8xf32>, %[[INIT:[^:]+]]: tensor<2x?x40xf32>)
// CHECK-DAG: bufferization.to_buffer %[[X]] read_only
// CHECK-DAG: bufferization.to_buffer %[[W]] read_only
// CHECK-DAG: %[[IB:.*]] = bufferization.to_buffer %[[INIT]] read_only
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<2x?x40xf32>
// CHECK: %[[ROWS:.*]] = arith.muli
// CHECK: %[[PACKED:.*]] = arith.cmpi uge, %[[ROWS]], %c16
// CHECK: scf.if %[[PACKED]] {
// The rows in chunks of about 8 MB of x (8 MB / 4 K rows, rounded down to
// a multiple of the 8-row block, at least one block), every panel over a
// chunk before the next.
// CHECK:   %[[KB:.*]] = arith.muli %{{.*}}, %c4 : index
// CHECK:   %[[PER:.*]] = arith.divui %c8388608, %[[KB]] : index
// CHECK:   %[[CHUNK:.*]] = arith.maxui %{{.*}}, %c8 : index
// CHECK:   scf.for %[[C0:.*]] = %c0 to %[[ROWS]] step %[[CHUNK]] {
// CHECK:     %[[C1:.*]] = arith.minui %{{.*}}, %[[ROWS]] : index
// Panels of 32 outputs, each packed transposed into its own K x 32 buffer
// inside the parallel loop, as 16 x 16 blocks transposed in registers: rows
// of w in bounds for a whole panel, the last block of k masked.
// CHECK:   scf.parallel (%[[P:.*]]) =
// CHECK:     %[[PANELS:.*]] = memref.alloc(%{{.*}}) : memref<?x32xf32>
// CHECK:     scf.if
// CHECK:       scf.for
// CHECK:         %[[BLK:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true, true]} : memref<40x8xf32, strided<[?, 1], offset: ?>>, vector<16x16xf32>
// CHECK:         %[[T:.*]] = vector.transpose %[[BLK]], [1, 0]
// CHECK:         vector.transfer_write %[[T]], %[[PANELS]][%{{.*}}, %c0] {in_bounds = [true, true]}
// CHECK:       scf.if
// CHECK:         vector.transfer_read %{{.*}} {in_bounds = [true, false]}
// CHECK:         vector.transfer_write %{{.*}}, %[[PANELS]][%{{.*}}, %c0] {in_bounds = [false, true]}
// CHECK:       scf.for
// CHECK:         vector.transfer_write %{{.*}}, %[[PANELS]][%{{.*}}, %c16] {in_bounds = [true, true]}
// The last panel: rows of w past N read as zeros.
// CHECK:     } else {
// CHECK:         vector.transfer_read %{{.*}} {in_bounds = [false, true]}
// CHECK-NOT: step %c2048
// Register blocks of 8 rows x 2 vectors over the chunk's rows: 16
// accumulators over k (all of it: K is at most 2048), the rows of every
// batch element in turn.
// CHECK:     scf.for %{{.*}} = %[[C0]] to %{{.*}} step %c8 {
// CHECK:       arith.divui
// CHECK:       arith.remui
// CHECK:       scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK-COUNT-2: vector.load %[[PANELS]]
// CHECK-COUNT-16: vector.fma
// CHECK:       }
// Results plus the accumulator's initial value, stored with masked tails.
// CHECK:       vector.transfer_read %[[IB]]
// CHECK:       arith.addf
// CHECK:       vector.transfer_write %{{.*}}, %[[OUT]]
// The rows left over (fewer than 8): a block of 4, of 2, of 1 row as the
// remainder's bits say (8, 4, 2 accumulators).
// CHECK:     %[[LEFT:.*]] = arith.subi %[[C1]], %{{.*}} : index
// CHECK:     arith.andi %[[LEFT]], %c4 : index
// CHECK:     scf.if
// CHECK:       scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK:     arith.andi %[[LEFT]], %c2 : index
// CHECK:     scf.if
// CHECK:       scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK:     arith.andi %[[LEFT]], %c1 : index
// CHECK:     scf.if
// CHECK:       scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>) {
// CHECK:     }
// CHECK:   }
// CHECK: } else {
// Decoding: groups of 8 outputs, w read in place: pairs of full vectors of
// k unmasked, then the full vector left, then the tail of k masked, then
// reassociated sums. Rows of x (the sequences of a batch) go 4 at a time,
// each vector of w loaded once for the 4: 4 outputs x 4 rows, 16
// accumulators, twice per group.
// CHECK:   %[[KPAIRS:.*]] = arith.muli %{{.*}}, %c32 : index
// CHECK:   %[[KFULL:.*]] = arith.muli %{{.*}}, %c16 : index
// CHECK:   scf.parallel (%[[G:.*]]) =
// CHECK:     %[[N0:.*]] = arith.muli %[[G]], %c8 : index
// CHECK:     %[[END:.*]] = arith.addi %[[N0]], %c8 : index
// CHECK:     %[[WHOLE:.*]] = arith.cmpi ule, %[[END]], %{{.*}} : index
// CHECK:     scf.if %[[WHOLE]] {
// CHECK:       scf.for %{{.*}} step %c4 {
// CHECK:         scf.for %{{.*}} = %c0 to %[[KPAIRS]] step %c32 iter_args({{.*}}) -> ([[V16:vector<16xf32>(, vector<16xf32>){15}]]) {
// CHECK-COUNT-4:   vector.load %{{.*}} : memref<2x?x8xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK:           %[[W:.*]] = vector.load %{{.*}} : memref<40x8xf32, strided<[?, 1], offset: ?>>, vector<16xf32>
// CHECK-COUNT-4:   vector.fma %{{.*}}, %[[W]], %{{.*}} : vector<16xf32>
// CHECK-COUNT-3:   vector.load %{{.*}} : memref<40x8xf32, strided<[?, 1], offset: ?>>, vector<16xf32>
// CHECK:         scf.for %{{.*}} = %[[KPAIRS]] to %[[KFULL]] step %c16 iter_args({{.*}}) -> ([[V16]]) {
// CHECK:         scf.for %{{.*}} = %[[KFULL]] to %{{.*}} step %c16 iter_args({{.*}}) -> ([[V16]]) {
// CHECK-COUNT-16: vector.reduction <add>, %{{.*}} fastmath<reassoc>
// The second 4 outputs of the group.
// CHECK:         scf.for %{{.*}} = %c0 to %[[KPAIRS]] step %c32 iter_args({{.*}}) -> ([[V16]]) {
// CHECK-COUNT-16: vector.reduction <add>, %{{.*}} fastmath<reassoc>
// CHECK:       }
// Two rows left: 8 outputs x 2 rows.
// CHECK:       arith.andi %{{.*}}, %c2 : index
// CHECK:       scf.if
// CHECK:         scf.for %{{.*}} = %c0 to %[[KPAIRS]] step %c32 iter_args({{.*}}) -> ([[V16]]) {
// CHECK-COUNT-16: vector.reduction <add>, %{{.*}} fastmath<reassoc>
// One row (decoding a single sequence): 8 outputs with 2 accumulators each
// (16 independent FMA chains) over alternate vectors of k, each vector of x
// shared by the group.
// CHECK:       arith.andi %{{.*}}, %c1 : index
// CHECK:       scf.if
// CHECK:         scf.for %{{.*}} = %c0 to %[[KPAIRS]] step %c32 iter_args({{.*}}) -> ([[V16]]) {
// CHECK:           vector.load %{{.*}} : memref<2x?x8xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK-COUNT-8:   vector.load %{{.*}} : memref<40x8xf32, strided<[?, 1], offset: ?>>, vector<16xf32>
// CHECK:           vector.load %{{.*}} : memref<2x?x8xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK-COUNT-8:   vector.load %{{.*}} : memref<40x8xf32, strided<[?, 1], offset: ?>>, vector<16xf32>
// CHECK:         scf.for %{{.*}} = %[[KPAIRS]] to %[[KFULL]] step %c16 iter_args({{.*}}) -> ([[V16]]) {
// CHECK:         scf.for %{{.*}} = %[[KFULL]] to %{{.*}} step %c16 iter_args({{.*}}) -> ([[V16]]) {
// CHECK:           vector.transfer_read %{{.*}} : memref<2x?x8xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK-COUNT-8:   vector.transfer_read %{{.*}} : memref<40x8xf32, strided<[?, 1], offset: ?>>, vector<16xf32>
// CHECK:         arith.addf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK:         vector.reduction <add>, %{{.*}} fastmath<reassoc>
// CHECK-COUNT-7:  vector.reduction <add>, %{{.*}} fastmath<reassoc>
// The last group, short of 8 outputs: one at a time from n0, for every row.
// CHECK:     } else {
// CHECK:       scf.for %{{.*}} = %[[N0]] to %{{.*}} step %c1 {
// CHECK:         -> (vector<16xf32>, vector<16xf32>) {
// CHECK:         vector.reduction <add>, %{{.*}} fastmath<reassoc>
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// CHECK-NOT: linalg.generic

// With 8 lanes (AVX2): panels of 16 outputs packed as 8 x 8 blocks, blocks
// of 4 rows x 2 vectors; decoding groups of 4 outputs, rows 2 at a time (4
// outputs x 2 rows) or alone (4 outputs x 2 accumulators).
// FROM5-LABEL: func.func @projection(
// FROM5: arith.cmpi uge, %{{.*}}, %c5 : index
// AVX2-LABEL: func.func @projection(
// AVX2: memref.alloc(%{{.*}}) : memref<?x16xf32>
// AVX2: vector.transpose %{{.*}}, [1, 0] : vector<8x8xf32> to vector<8x8xf32>
// AVX2: scf.for %{{.*}} step %c4 {
// AVX2: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// AVX2: } else {
// AVX2: scf.parallel
// AVX2: arith.muli %{{.*}}, %c4 : index
// AVX2: scf.for %{{.*}} step %c2 {
// AVX2: scf.for %{{.*}} step %c16 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// AVX2: arith.andi %{{.*}}, %c1 : index
// AVX2: scf.for %{{.*}} step %c16 iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
func.func @projection(%x: tensor<2x?x8xf32>, %w: tensor<40x8xf32>, %init: tensor<2x?x40xf32>) -> tensor<2x?x40xf32> {
  %y = linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x?x8xf32>, tensor<40x8xf32>) outs(%init : tensor<2x?x40xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %m, %c : f32
    linalg.yield %s : f32
  } -> tensor<2x?x40xf32>
  return %y : tensor<2x?x40xf32>
}

// -----

// Long rows (K = 5000 > 2048): each panel's register blocks go over k in
// chunks of 2048 (2048, 2048, 904), so that the part of the panel they read
// stays in L2; the first chunk adds the bias, the later ones what `out`
// holds. The rows of x come in chunks of 8 MB / 20000 B = 419 -> 416 rows
// (K is the buffer's dim here; LLVM folds it).

#xl = affine_map<(d0, d1, d2) -> (d0, d2)>
#wl = affine_map<(d0, d1, d2) -> (d1, d2)>
#ol = affine_map<(d0, d1, d2) -> (d0, d1)>
#bl = affine_map<(d0, d1) -> (d1)>
#il = affine_map<(d0, d1) -> (d0, d1)>

// CHECK-LABEL: func.func @long_rows(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x5000xf32>
// CHECK: arith.divui %c8388608, %{{.*}} : index
// CHECK: scf.for %[[C0:.*]] = %c0 to %{{.*}} step %{{.*}} {
// CHECK:   scf.parallel
// CHECK:     scf.for %[[K0:.*]] = %c0 to %[[K:.*]] step %c2048 {
// CHECK:       %[[K1:.*]] = arith.minui %{{.*}}, %[[K]] : index
// CHECK:       %[[FIRST:.*]] = arith.cmpi eq, %[[K0]], %c0 : index
// CHECK:       scf.for %{{.*}} = %[[C0]] to %{{.*}} step %c8 {
// CHECK:         scf.for %{{.*}} = %[[K0]] to %[[K1]] step %c1 iter_args
// CHECK-COUNT-16: vector.fma
// CHECK:         }
// CHECK:         %[[BASE:.*]] = scf.if %[[FIRST]] -> (vector<16xf32>) {
// CHECK:           scf.yield %{{.*}} : vector<16xf32>
// CHECK:         } else {
// CHECK:           %[[SO_FAR:.*]] = vector.transfer_read %[[OUT:[^\[]*]]
// CHECK:           scf.yield %[[SO_FAR]] : vector<16xf32>
// CHECK:         }
// CHECK:         %[[SUM:.*]] = arith.addf %{{.*}}, %[[BASE]] : vector<16xf32>
// CHECK:         vector.transfer_write %[[SUM]], %[[OUT]]
func.func @long_rows(%x: tensor<?x5000xf32>, %w: tensor<40x5000xf32>, %bias: tensor<40xf32>) -> tensor<?x40xf32> {
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x5000xf32>
  %e = tensor.empty(%rows) : tensor<?x40xf32>
  %b = linalg.generic {indexing_maps = [#bl, #il], iterator_types = ["parallel", "parallel"]}
      ins(%bias : tensor<40xf32>) outs(%e : tensor<?x40xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<?x40xf32>
  %y = linalg.generic {indexing_maps = [#xl, #wl, #ol], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x5000xf32>, tensor<40x5000xf32>) outs(%b : tensor<?x40xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32):
    %m = arith.mulf %a, %c : f32
    %s = arith.addf %m, %d : f32
    linalg.yield %s : f32
  } -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}

// -----

// The two inits ssm-expand-blocks emits are read at their source, not
// materialised: zeros (linalg.fill) become a splat and a bias broadcast
// along the rows one masked read of the bias per output vector, hoisted out
// of the row blocks; the fill and the broadcast are gone.

#xb = affine_map<(d0, d1, d2) -> (d0, d2)>
#wb = affine_map<(d0, d1, d2) -> (d1, d2)>
#ob = affine_map<(d0, d1, d2) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// CHECK-LABEL: func.func @zero_init(
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: linalg.fill
// CHECK: scf.parallel
// CHECK:   %[[SPLAT:.*]] = vector.broadcast %[[ZERO]] : f32 to vector<16xf32>
// CHECK:   scf.for %{{.*}} step %c8 {
// CHECK:     arith.addf %{{.*}}, %[[SPLAT]] : vector<16xf32>
// CHECK-NOT: linalg.fill
func.func @zero_init(%x: tensor<?x8xf32>, %w: tensor<40x8xf32>) -> tensor<?x40xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?x40xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?x40xf32>) -> tensor<?x40xf32>
  %y = linalg.generic {indexing_maps = [#xb, #wb, #ob], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x8xf32>, tensor<40x8xf32>) outs(%init : tensor<?x40xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %p, %c : f32
    linalg.yield %s : f32
  } -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}

// CHECK-LABEL: func.func @bias_init(
// CHECK-SAME: %{{[^:]+}}: tensor<?x8xf32>, %{{[^:]+}}: tensor<40x8xf32>, %[[BIAS:[^:]+]]: tensor<40xf32>)
// CHECK-NOT: linalg.generic
// CHECK: bufferization.to_buffer %[[BIAS]] read_only
// CHECK: scf.parallel
// CHECK:   %[[B0:.*]] = vector.transfer_read %{{.*}} : memref<40xf32, strided<[1], offset: ?>>, vector<16xf32>
// CHECK:   %[[B1:.*]] = vector.transfer_read %{{.*}} : memref<40xf32, strided<[1], offset: ?>>, vector<16xf32>
// CHECK:   scf.for %{{.*}} step %c8 {
// CHECK:     arith.addf %{{.*}}, %[[B0]] : vector<16xf32>
// CHECK:     arith.addf %{{.*}}, %[[B1]] : vector<16xf32>
// Decoding: the bias element of each output.
// CHECK: } else {
// CHECK:   memref.load %{{.*}} : memref<40xf32, strided<[1], offset: ?>>
// CHECK-NOT: linalg.generic
func.func @bias_init(%x: tensor<?x8xf32>, %w: tensor<40x8xf32>, %bias: tensor<40xf32>) -> tensor<?x40xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%m) : tensor<?x40xf32>
  %init = linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bias : tensor<40xf32>) outs(%e : tensor<?x40xf32>) {
  ^bb0(%a: f32, %c: f32):
    linalg.yield %a : f32
  } -> tensor<?x40xf32>
  %y = linalg.generic {indexing_maps = [#xb, #wb, #ob], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x8xf32>, tensor<40x8xf32>) outs(%init : tensor<?x40xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %p, %c : f32
    linalg.yield %s : f32
  } -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}

// -----

// Contractions of another form stay for the generic linalg lowering: here
// w is (K, N), not the checkpoint's (N, K).

#x2 = affine_map<(d0, d1, d2) -> (d0, d2)>
#w2 = affine_map<(d0, d1, d2) -> (d2, d1)>
#o2 = affine_map<(d0, d1, d2) -> (d0, d1)>

// CHECK-LABEL: func.func @other_layout(
// CHECK: linalg.generic
// CHECK-NOT: vector.fma
func.func @other_layout(%x: tensor<16x8xf32>, %w: tensor<8x40xf32>, %init: tensor<16x40xf32>) -> tensor<16x40xf32> {
  %y = linalg.generic {indexing_maps = [#x2, #w2, #o2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<16x8xf32>, tensor<8x40xf32>) outs(%init : tensor<16x40xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %m, %c : f32
    linalg.yield %s : f32
  } -> tensor<16x40xf32>
  return %y : tensor<16x40xf32>
}

// -----

// f64 projections are left for the reference loops.

#x3 = affine_map<(d0, d1, d2) -> (d0, d2)>
#w3 = affine_map<(d0, d1, d2) -> (d1, d2)>
#o3 = affine_map<(d0, d1, d2) -> (d0, d1)>

// CHECK-LABEL: func.func @f64(
// CHECK: linalg.generic
// CHECK-NOT: vector.fma
func.func @f64(%x: tensor<16x8xf64>, %w: tensor<40x8xf64>, %init: tensor<16x40xf64>) -> tensor<16x40xf64> {
  %y = linalg.generic {indexing_maps = [#x3, #w3, #o3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<16x8xf64>, tensor<40x8xf64>) outs(%init : tensor<16x40xf64>) {
  ^bb0(%a: f64, %b: f64, %c: f64):
    %m = arith.mulf %a, %b : f64
    %s = arith.addf %m, %c : f64
    linalg.yield %s : f64
  } -> tensor<16x40xf64>
  return %y : tensor<16x40xf64>
}

// -----

// A weight stored in 16 bits (the contraction widens it in its body) is read
// as stored. The packed kernel widens it into its f32 panels; the decoding
// kernel, for bf16, loads 32 weights at once as 16 pairs, widens the even
// ones by a shift and the odd ones by a mask, against x's even and odd
// lanes (shuffled once per row of x: below, the first of a block of 4), and
// prefetches the same line of the next group's row; the single vector left
// and the masked tail widen with arith.extf.

#x4 = affine_map<(d0, d1, d2) -> (d0, d2)>
#w4 = affine_map<(d0, d1, d2) -> (d1, d2)>
#o4 = affine_map<(d0, d1, d2) -> (d0, d1)>

// CHECK-LABEL: func.func @bf16_weight(
// CHECK-DAG: %[[HIGH:.*]] = arith.constant dense<-65536> : vector<16xi32>
// CHECK-DAG: %[[SHIFT:.*]] = arith.constant dense<16> : vector<16xi32>
// CHECK: arith.cmpi uge, %{{.*}}, %c32 : index
// CHECK: scf.if
// CHECK:   vector.transfer_read %{{.*}} : memref<24x40xbf16, strided<[?, 1], offset: ?>>, vector<16x16xbf16>
// CHECK:   arith.extf %{{.*}} : vector<16x16xbf16> to vector<16x16xf32>
// CHECK:   vector.transpose
// CHECK:   vector.transfer_write %{{.*}} : vector<16x16xf32>, memref<?x32xf32>
// CHECK: } else {
// CHECK:   scf.for %{{.*}} step %c32 iter_args
// CHECK:     %[[X0:.*]] = vector.load %{{.*}} : memref<?x40xf32, strided<[?, 1], offset: ?>>, vector<16xf32>
// CHECK:     %[[X1:.*]] = vector.load %{{.*}} : memref<?x40xf32, strided<[?, 1], offset: ?>>, vector<16xf32>
// CHECK:     %[[XE:.*]] = vector.shuffle %[[X0]], %[[X1]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]
// CHECK:     %[[XO:.*]] = vector.shuffle %[[X0]], %[[X1]] [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31]
// CHECK:     %[[AHEAD:.*]] = arith.minui
// CHECK:     memref.prefetch %{{.*}}[%[[AHEAD]], %{{.*}}], read, locality<3>, data : memref<24x40xbf16
// CHECK:     %[[RAW:.*]] = vector.load %{{.*}} : memref<24x40xbf16, strided<[?, 1], offset: ?>>, vector<32xbf16>
// CHECK:     %[[PAIRS:.*]] = vector.bitcast %[[RAW]] : vector<32xbf16> to vector<16xi32>
// CHECK:     %[[LO:.*]] = arith.shli %[[PAIRS]], %[[SHIFT]] : vector<16xi32>
// CHECK:     %[[EVEN:.*]] = vector.bitcast %[[LO]] : vector<16xi32> to vector<16xf32>
// CHECK:     %[[HI:.*]] = arith.andi %[[PAIRS]], %[[HIGH]] : vector<16xi32>
// CHECK:     %[[ODD:.*]] = vector.bitcast %[[HI]] : vector<16xi32> to vector<16xf32>
// CHECK:     vector.fma %[[XE]], %[[EVEN]], %{{.*}} : vector<16xf32>
// CHECK:     vector.fma %[[XO]], %[[ODD]], %{{.*}} : vector<16xf32>
// CHECK:   scf.for %{{.*}} step %c16 iter_args
// CHECK:     vector.load %{{.*}} : memref<24x40xbf16, strided<[?, 1], offset: ?>>, vector<16xbf16>
// CHECK:     arith.extf %{{.*}} : vector<16xbf16> to vector<16xf32>
// CHECK:   scf.for %{{.*}} step %c16 iter_args
// CHECK:     vector.transfer_read %{{.*}} : memref<24x40xbf16, strided<[?, 1], offset: ?>>, vector<16xbf16>
// CHECK:     arith.extf %{{.*}} : vector<16xbf16> to vector<16xf32>
// CHECK-NOT: linalg.generic
func.func @bf16_weight(%x: tensor<?x40xf32>, %w: tensor<24x40xbf16>, %init: tensor<?x24xf32>) -> tensor<?x24xf32> {
  %y = linalg.generic {indexing_maps = [#x4, #w4, #o4], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x40xf32>, tensor<24x40xbf16>) outs(%init : tensor<?x24xf32>) {
  ^bb0(%a: f32, %b: bf16, %c: f32):
    %e = arith.extf %b : bf16 to f32
    %p = arith.mulf %a, %e : f32
    %s = arith.addf %p, %c : f32
    linalg.yield %s : f32
  } -> tensor<?x24xf32>
  return %y : tensor<?x24xf32>
}

// f16 has no cheap bit trick: each vector is widened (vcvtph2ps), with the
// same prefetch in the unrolled step.

// CHECK-LABEL: func.func @f16_weight(
// CHECK: } else {
// CHECK:   scf.for %{{.*}} step %c32 iter_args
// CHECK:     memref.prefetch %{{.*}} : memref<24x40xf16
// CHECK:     vector.load %{{.*}} : memref<24x40xf16, strided<[?, 1], offset: ?>>, vector<16xf16>
// CHECK:     arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// CHECK-NOT: arith.shli
func.func @f16_weight(%x: tensor<?x40xf32>, %w: tensor<24x40xf16>, %init: tensor<?x24xf32>) -> tensor<?x24xf32> {
  %y = linalg.generic {indexing_maps = [#x4, #w4, #o4], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x40xf32>, tensor<24x40xf16>) outs(%init : tensor<?x24xf32>) {
  ^bb0(%a: f32, %b: f16, %c: f32):
    %e = arith.extf %b : f16 to f32
    %p = arith.mulf %a, %e : f32
    %s = arith.addf %p, %c : f32
    linalg.yield %s : f32
  } -> tensor<?x24xf32>
  return %y : tensor<?x24xf32>
}

// A widened operand that is not the weight (x) is not a projection.

// CHECK-LABEL: func.func @f16_activations(
// CHECK: linalg.generic
// CHECK-NOT: vector.fma
func.func @f16_activations(%x: tensor<?x40xf16>, %w: tensor<24x40xf32>, %init: tensor<?x24xf32>) -> tensor<?x24xf32> {
  %y = linalg.generic {indexing_maps = [#x4, #w4, #o4], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x40xf16>, tensor<24x40xf32>) outs(%init : tensor<?x24xf32>) {
  ^bb0(%a: f16, %b: f32, %c: f32):
    %e = arith.extf %a : f16 to f32
    %p = arith.mulf %e, %b : f32
    %s = arith.addf %p, %c : f32
    linalg.yield %s : f32
  } -> tensor<?x24xf32>
  return %y : tensor<?x24xf32>
}

// -----

// int8 weights with per-row scales (ssm.dequantize's q and scale, read by
// the body of the projection ssm-expand-blocks emits). The prefill kernel
// widens each 16 x 16 block with sitofp and multiplies it, transposed, by
// its rows' scales, so that the panel holds q * scale as the body does; the
// decoding kernel streams the int8 rows (a quarter of float32's bytes),
// converts each vector as it reads it and scales each dot product once.

#x8 = affine_map<(d0, d1, d2) -> (d0, d2)>
#w8 = affine_map<(d0, d1, d2) -> (d1, d2)>
#s8 = affine_map<(d0, d1, d2) -> (d1)>
#o8 = affine_map<(d0, d1, d2) -> (d0, d1)>

// CHECK-LABEL: func.func @int8_weight(
// CHECK-DAG: %[[Q:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<24x40xi8>
// CHECK-DAG: %[[S:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<24xf32>
// CHECK: arith.cmpi uge, %{{.*}}, %c64 : index
// CHECK: scf.if
// CHECK:   %[[ROWS:.*]] = vector.broadcast %{{.*}} : vector<16xf32> to vector<16x16xf32>
// CHECK:   vector.transfer_read %{{.*}} : memref<24x40xi8, strided<[?, 1], offset: ?>>, vector<16x16xi8>
// CHECK:   arith.sitofp %{{.*}} : vector<16x16xi8> to vector<16x16xf32>
// CHECK:   %[[T:.*]] = vector.transpose
// CHECK:   %[[SCALED:.*]] = arith.mulf %[[T]], %[[ROWS]] : vector<16x16xf32>
// CHECK:   vector.transfer_write %[[SCALED]], %{{.*}} : vector<16x16xf32>, memref<?x32xf32>
// CHECK: } else {
// CHECK:   scf.for %{{.*}} step %c32 iter_args
// CHECK:     memref.prefetch %{{.*}} : memref<24x40xi8
// CHECK:     vector.load %{{.*}} : memref<24x40xi8, strided<[?, 1], offset: ?>>, vector<16xi8>
// CHECK:     arith.sitofp %{{.*}} : vector<16xi8> to vector<16xf32>
// CHECK:   %[[DOT:.*]] = vector.reduction <add>
// CHECK:   %[[SC:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<24xf32, strided<[1], offset: ?>>
// CHECK:   arith.mulf %[[DOT]], %[[SC]] : f32
// CHECK-NOT: linalg.generic
func.func @int8_weight(%x: tensor<?x40xf32>, %q: tensor<24x40xi8>, %s: tensor<24xf32>, %init: tensor<?x24xf32>) -> tensor<?x24xf32> {
  %y = linalg.generic {indexing_maps = [#x8, #w8, #s8, #o8], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %q, %s : tensor<?x40xf32>, tensor<24x40xi8>, tensor<24xf32>) outs(%init : tensor<?x24xf32>) {
  ^bb0(%a: f32, %b: i8, %sc: f32, %c: f32):
    %e = arith.sitofp %b : i8 to f32
    %w = arith.mulf %e, %sc : f32
    %p = arith.mulf %a, %w : f32
    %r = arith.addf %p, %c : f32
    linalg.yield %r : f32
  } -> tensor<?x24xf32>
  return %y : tensor<?x24xf32>
}

// -----

// A scale read along k (not one per row) is not a projection's.

// CHECK-LABEL: func.func @int8_scale_along_k(
// CHECK: linalg.generic
// CHECK-NOT: vector.fma
func.func @int8_scale_along_k(%x: tensor<?x40xf32>, %q: tensor<40x40xi8>, %s: tensor<40xf32>, %init: tensor<?x40xf32>) -> tensor<?x40xf32> {
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %q, %s : tensor<?x40xf32>, tensor<40x40xi8>, tensor<40xf32>) outs(%init : tensor<?x40xf32>) {
  ^bb0(%a: f32, %b: i8, %sc: f32, %c: f32):
    %e = arith.sitofp %b : i8 to f32
    %w = arith.mulf %e, %sc : f32
    %p = arith.mulf %a, %w : f32
    %r = arith.addf %p, %c : f32
    linalg.yield %r : f32
  } -> tensor<?x40xf32>
  return %y : tensor<?x40xf32>
}
