// RUN: ssm-opt %s --ssm-lower-to-vector --split-input-file | FileCheck %s
// RUN: ssm-opt %s --ssm-lower-to-vector=vector-width=8 --split-input-file | FileCheck %s --check-prefix=W8
// RUN: ssm-opt %s --ssm-lower-to-vector=x86-avx512=true --split-input-file | FileCheck %s --check-prefix=AVX512
// RUN: ssm-opt %s --ssm-lower-to-vector=tile-group=1 --split-input-file | FileCheck %s --check-prefix=TG1
// RUN: ssm-opt %s --ssm-lower-to-vector=num-threads=2 --split-input-file | FileCheck %s --check-prefix=THREADS
// RUN: ssm-opt %s --ssm-lower-to-vector=chunk-blocks=1 --split-input-file | FileCheck %s --check-prefix=CB1
// RUN: not ssm-opt %s --ssm-lower-to-vector=tile-group=-1 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: ssm-opt %s --ssm-lower-to-vector=state-block=64 --split-input-file | FileCheck %s --check-prefix=SB64
// RUN: not ssm-opt %s --ssm-lower-to-vector=chunk-blocks=0 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not ssm-opt %s --ssm-lower-to-vector=state-block=-1 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: ssm-lower-to-vector: vector-width, num-threads and chunk-blocks must be positive, tile-group and state-block not negative
// RUN: not ssm-opt %s --ssm-lower-to-vector=vector-width=32 --split-input-file 2>&1 | FileCheck %s --check-prefix=WIDE
// WIDE: error: ssm-lower-to-vector: vector-width must be at most 16 (the f32 lanes of one AVX-512 register), got 32

// channel_first: one scf.parallel iteration per (batch, 16-channel tile)
// (channel_first keeps tile groups of one), which allocates its own 64 x 16
// workspace blocks; A is scaled by log2(e) once per tile; the n = 2 states
// are loop-carried vectors. Time goes in chunks of 4 blocks of 16 steps
// (L = 37: one chunk of 3 blocks, the last one partial): for each block
// with a real step, delta and u are read as masked 16x16 blocks,
// transposed and parked at the block's rows of the workspace; a row loop
// over those rows computes softplus(dt) (max(dt, 0) + e * q(e), e =
// exp2(-|dt| log2 e): 5 FMAs of exp2, 8 of q, one more) and dt * u; the
// state loop runs over the chunk's real steps (min(64, L - t0)); step s
// prefetches row s mod 16 (channel c0 + s mod 16) of delta, u, z and y in
// the block 4 blocks after its own, clamped into the arrays, loads two
// rows and stores the C contraction; the epilogue adds D * u, gates with
// SiLU(z) row by row and writes y back block by block, transposed. A (d,
// n) and the last state (b, d, n) move as masked 16 x 16 blocks (channels
// x states), transposed in registers. L = 37 is static: no decoding-step
// branch.
// CHECK-LABEL: func.func @channel_first
// CHECK-DAG: %[[LOG2E:.*]] = arith.constant dense<1.44269502> : vector<16xf32>
// CHECK-NOT: memref<?x?x16x16xf32>
// CHECK: scf.parallel (%[[B:.*]], %[[TILE:.*]]) = (%c0, %c0) to (%c2, %c2) step (%c1, %c1) {
// CHECK:   %[[WSDT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x16xf32>
// CHECK:   %[[WSU:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x16xf32>
// CHECK:   %[[WSDTU:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x16xf32>
// CHECK:   %[[WSY:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x16xf32>
// CHECK:   %[[C0:.*]] = arith.muli %[[TILE]], %c16
// CHECK-NOT: scf.if
// CHECK:   %[[ABLK:.*]] = vector.transfer_read %{{.*}}[%[[C0]], %c0], %{{.*}} : memref<20x2xf32, strided<[?, 1], offset: ?>>, vector<16x16xf32>
// CHECK:   %[[AT:.*]] = vector.transpose %[[ABLK]], [1, 0]
// CHECK:   %[[A0:.*]] = vector.extract %[[AT]][0] : vector<16xf32> from vector<16x16xf32>
// CHECK:   arith.mulf %[[A0]], %[[LOG2E]]
// CHECK:   %[[CHUNKS:.*]]:2 = scf.for %[[K:.*]] = %c0 to %c1 step %c1 iter_args(%[[H0:.*]] = %{{.*}}, %[[H1:.*]] = %{{.*}}) -> (vector<16xf32>, vector<16xf32>) {
// CHECK:     %[[T0:.*]] = arith.muli %[[K]], %c64
// CHECK:     %[[LEFT:.*]] = arith.subi %c37, %[[T0]]
// CHECK:     %[[STEPS:.*]] = arith.minui %[[LEFT]], %c64
// CHECK:     %[[BLOCKS:.*]] = arith.ceildivui %[[STEPS]], %c16
// CHECK:     %[[ROWS:.*]] = arith.muli %[[BLOCKS]], %c16
// CHECK:     scf.for %[[KB:.*]] = %c0 to %[[BLOCKS]] step %c1 {
// CHECK:       %[[R0:.*]] = arith.muli %[[KB]], %c16
// CHECK:       %[[TB:.*]] = arith.addi %[[T0]], %[[R0]]
// CHECK-NOT: memref.prefetch
// CHECK:       %[[DT:.*]] = vector.transfer_read %{{.*}}[%[[B]], %[[C0]], %[[TB]]], %{{.*}} : memref<2x20x37xf32, strided<[?, ?, 1], offset: ?>>, vector<16x16xf32>
// CHECK:       %[[DTT:.*]] = vector.transpose %[[DT]], [1, 0] : vector<16x16xf32> to vector<16x16xf32>
// CHECK:       vector.transfer_write %[[DTT]], %[[WSDT]][%[[R0]], %c0] {in_bounds = [true, true]}
// CHECK:       vector.transfer_write %{{.*}}, %[[WSU]][%[[R0]], %c0] {in_bounds = [true, true]}
// CHECK:     scf.for %[[R:.*]] = %c0 to %[[ROWS]] step %c1 {
// CHECK:       vector.load %[[WSDT]][%[[R]], %c0]
// CHECK:       math.absf %{{.*}} : vector<16xf32>
// CHECK:       math.roundeven
// CHECK-COUNT-13: vector.fma
// CHECK:       arith.maximumf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK-NEXT:  vector.fma
// CHECK:       vector.store %{{.*}}, %[[WSDT]][%[[R]], %c0]
// CHECK:       vector.store %{{.*}}, %[[WSDTU]][%[[R]], %c0]
// CHECK:     %[[H:.*]]:2 = scf.for %[[S:.*]] = %c0 to %[[STEPS]] step %c1 iter_args(%[[HS0:.*]] = %[[H0]], %{{.*}} = %[[H1]])
// CHECK-DAG:   %[[T:.*]] = arith.addi %[[T0]], %[[S]]
// CHECK-DAG:   %[[SR:.*]] = arith.remui %[[S]], %c16
// CHECK-DAG:   %[[OWN:.*]] = arith.subi %[[T]], %[[SR]]
// CHECK-DAG:   %[[AHEAD:.*]] = arith.addi %[[OWN]], %c64
// CHECK-DAG:   %[[ROW:.*]] = arith.addi %[[C0]], %[[SR]]
// CHECK-DAG:   %[[PC:.*]] = arith.minui %[[ROW]], %c19
// CHECK-DAG:   %[[PT:.*]] = arith.minui %[[AHEAD]], %c36
// CHECK-COUNT-3: memref.prefetch %{{.*}}[%[[B]], %[[PC]], %[[PT]]], read, locality<3>, data
// CHECK-NEXT:  memref.prefetch %{{.*}}[%[[B]], %[[PC]], %[[PT]]], write, locality<3>, data
// CHECK:       vector.load %[[WSDT]][%[[S]], %c0]
// CHECK:       math.roundeven
// CHECK-COUNT-5: vector.fma
// CHECK:       arith.shli
// CHECK:       vector.fma %{{.*}}, %[[HS0]], %{{.*}} : vector<16xf32>
// CHECK:       vector.store %{{.*}}, %[[WSY]][%[[S]], %c0]
// CHECK:     scf.for %[[KB:.*]] = %c0 to %[[BLOCKS]] step %c1 {
// CHECK:       %[[R0:.*]] = arith.muli %[[KB]], %c16
// CHECK:       vector.transfer_write %{{.*}}, %[[WSDTU]][%[[R0]], %c0] {in_bounds = [true, true]}
// CHECK:     scf.for %[[R:.*]] = %c0 to %[[ROWS]] step %c1 {
// CHECK:       vector.load %[[WSY]]
// CHECK:       vector.load %[[WSU]]
// CHECK:       vector.fma
// CHECK:       arith.divf
// CHECK:       vector.store %{{.*}}, %[[WSY]]
// CHECK:     scf.for %[[KB:.*]] = %c0 to %[[BLOCKS]] step %c1 {
// CHECK:       %[[R0:.*]] = arith.muli %[[KB]], %c16
// CHECK:       %[[TB:.*]] = arith.addi %[[T0]], %[[R0]]
// CHECK:       %[[YR:.*]] = vector.transfer_read %[[WSY]][%[[R0]], %c0]
// CHECK:       %[[YT:.*]] = vector.transpose %[[YR]], [1, 0] : vector<16x16xf32> to vector<16x16xf32>
// CHECK:       vector.transfer_write %[[YT]], %{{.*}}[%[[B]], %[[C0]], %[[TB]]] : vector<16x16xf32>, memref<2x20x37xf32>
// CHECK:     scf.yield %[[H]]#0, %[[H]]#1
// CHECK:   %[[HB0:.*]] = vector.insert %[[CHUNKS]]#0, %{{.*}} [0] : vector<16xf32> into vector<16x16xf32>
// CHECK:   %[[HB1:.*]] = vector.insert %[[CHUNKS]]#1, %[[HB0]] [1]
// CHECK:   %[[HT:.*]] = vector.transpose %[[HB1]], [1, 0]
// CHECK:   vector.transfer_write %[[HT]], %{{.*}}[%[[B]], %[[C0]], %c0] : vector<16x16xf32>, memref<2x20x2xf32>
// CHECK: bufferization.to_tensor
// CHECK-NOT: ssm.selective_scan
// chunk-blocks=1: chunks of one block (16 steps), no block loop; step s
// prefetches row s of the block four after its own.
// CB1-LABEL: func.func @channel_first
// CB1: memref.alloc() {alignment = 64 : i64} : memref<16x16xf32>
// CB1: scf.for %[[K:.*]] = %c0 to %c3 step %c1
// CB1:   %[[T0:.*]] = arith.muli %[[K]], %c16
// CB1-NOT: scf.for
// CB1:   vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %[[T0]]]
// CB1:   scf.for %{{.*}} = %c0 to %c16 step %c1 {
// CB1:   scf.for %[[S:.*]] = %c0 to %{{.*}} step %c1 iter_args
// CB1-NOT: arith.remui
// CB1:     %[[AHEAD:.*]] = arith.addi %[[T0]], %c64
// CB1:     arith.addi %{{.*}}, %[[S]]
// CB1:     memref.prefetch
// W8-LABEL: func.func @channel_first
// W8: scf.parallel {{.*}} to (%c2, %c3)
// W8: vector.transfer_read {{.*}} vector<8x8xf32>
// W8-NOT: x86vector
// With AVX-512 the power of two 2^k, k = roundeven(x), is applied by
// vscalefps without clamping x; f = x - k feeds the polynomial.
// AVX512-LABEL: func.func @channel_first
// AVX512: arith.subi %c37
// AVX512: scf.for
// AVX512: %[[X:.*]] = arith.mulf %{{.*}}, %{{.*}} : vector<16xf32>
// AVX512-NOT: arith.maximumf
// AVX512: %[[K:.*]] = math.roundeven %[[X]]
// AVX512: %[[F:.*]] = arith.subf %[[X]], %[[K]]
// AVX512: %[[P:.*]] = vector.fma %{{.*}}, %[[F]], %{{.*}}
// AVX512: x86vector.avx512.mask.scalef %{{.*}}, %[[K]], %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
func.func @channel_first(%u: tensor<2x20x37xf32>, %dt: tensor<2x20x37xf32>, %A: tensor<20x2xf32>,
                         %B: tensor<2x2x37xf32>, %C: tensor<2x2x37xf32>, %D: tensor<20xf32>,
                         %z: tensor<2x20x37xf32>) -> (tensor<2x20x37xf32>, tensor<2x20x2xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C D(%D : tensor<20xf32>)
      z(%z : tensor<2x20x37xf32>) delta_softplus
      : (tensor<2x20x37xf32>, tensor<2x20x37xf32>, tensor<20x2xf32>, tensor<2x2x37xf32>, tensor<2x2x37xf32>)
      -> tensor<2x20x37xf32>, tensor<2x20x2xf32>
  return %y, %h : tensor<2x20x37xf32>, tensor<2x20x2xf32>
}

// -----

// token_major: the chunk's blocks are read with rows along time and need no
// transpose. The d = 24 channels' two tiles form one group (at most 16
// tiles, fewer when the threads need more groups) that walks time chunk by
// chunk, each tile taking its states and A from the parked buffers in
// turn (the states after the chunk's prologue, just before its state
// loop); time-invariant B is read in each chunk.
// CHECK-LABEL: func.func @token_major
// CHECK: %[[PARKH:.*]] = memref.alloc(%c1, %c2) : memref<?x?x1x16xf32>
// CHECK: %[[PARKA:.*]] = memref.alloc(%c1, %c2) : memref<?x?x1x16xf32>
// CHECK: scf.parallel (%[[B:.*]], %[[G:.*]]) = (%c0, %c0) to (%c1, %c1) step (%c1, %c1) {
// CHECK:   %[[FIRST:.*]] = arith.muli %[[G]], %c2
// CHECK:   %[[END:.*]] = arith.minui %{{.*}}, %c2
// CHECK:   scf.for %[[T:.*]] = %[[FIRST]] to %[[END]] step %c1 {
// CHECK:     vector.transfer_read %{{.*}} : memref<24x1xf32, strided<[?, 1], offset: ?>>, vector<16x16xf32>
// CHECK:     vector.store %{{.*}}, %[[PARKA]][%[[B]], %[[T]], %c0, %c0]
// CHECK:     vector.store %{{.*}}, %[[PARKH]][%[[B]], %[[T]], %c0, %c0]
// CHECK:   scf.for %[[K:.*]] = %c0 to %c1 step %c1 {
// CHECK:     scf.for %[[TK:.*]] = %[[FIRST]] to %[[END]] step %c1 {
// CHECK:       vector.load %[[PARKA]][%[[B]], %[[TK]], %c0, %c0]
// CHECK:       %[[BBLK:.*]] = vector.transfer_read %{{.*}} : memref<24x1xf32, strided<[?, 1], offset: ?>>, vector<16x16xf32>
// CHECK:       %[[BT:.*]] = vector.transpose %[[BBLK]], [1, 0]
// CHECK:       %[[BINV:.*]] = vector.extract %[[BT]][0]
// CHECK:       vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}], %{{.*}} : memref<1x9x24xf32, strided<[?, ?, 1], offset: ?>>, vector<16x16xf32>
// CHECK-NOT:   vector.transpose
// CHECK:       %[[H:.*]] = vector.load %[[PARKH]][%[[B]], %[[TK]], %c0, %c0]
// CHECK:       scf.for {{.*}} iter_args(%{{.*}} = %[[H]])
// CHECK:         arith.mulf %{{.*}}, %[[BINV]]
// CHECK:       vector.store %{{.*}}, %[[PARKH]][%[[B]], %[[TK]], %c0, %c0]
// CHECK:       vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : vector<16x16xf32>, memref<1x9x24xf32>
// CHECK-NOT: vector.transpose
// tile-group=1: token_major takes single tiles too, one parallel iteration
// per tile, states loop-carried from chunk to chunk, nothing parked.
// TG1-LABEL: func.func @token_major
// TG1-NOT: memref<?x?x1x16xf32>
// TG1: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c1, %c2) step (%c1, %c1) {
// TG1: scf.for %{{.*}} = %c0 to %c1 step %c1 iter_args(%{{.*}} = %{{.*}}) -> (vector<16xf32>) {
func.func @token_major(%u: tensor<1x9x24xf32>, %A: tensor<24x1xf32>, %C: tensor<1x9x1xf32>)
    -> tensor<1x9x24xf32> {
  %y = ssm.selective_scan token_major %u, %u, %A, %A, %C
      : (tensor<1x9x24xf32>, tensor<1x9x24xf32>, tensor<24x1xf32>, tensor<24x1xf32>, tensor<1x9x1xf32>)
      -> tensor<1x9x24xf32>
  return %y : tensor<1x9x24xf32>
}

// -----

// A dynamic length: a decoding step (L == 1) takes its own path. n = 16 is
// a multiple of the vector width, so a channel's states lie in the lanes:
// per channel (d = 32: full tiles, no bounds test) one vector of A, of the
// incoming and of the last state, read and written in place; dt broadcast
// from its lane; the C contractions of the tile's 16 channels reduced by a
// shuffle tree (4 levels) to one vector of y. Every other length runs the
// chunks, in one group of the two tiles (min(16, 2 * 2 tiles / 1 thread)):
// parked states and A per (b, tile), workspaces allocated by the chunk
// branch of each parallel iteration. A step
// takes groups of one tile, so its parallel loop has an iteration per tile.
// With num-threads=2 the 2 x 2 (batch, tile) pairs make groups of
// 4 / 2 = 2 tiles, one per batch row and thread (a step still takes 1).
// THREADS-LABEL: func.func @decode_state_lanes
// THREADS: %[[STEP:.*]] = arith.cmpi eq, %dim{{.*}}, %c1 : index
// THREADS-NEXT: arith.select %[[STEP]], %c1, %c2 : index
// THREADS-NEXT: arith.select %[[STEP]], %c2, %c1 : index
// CHECK-LABEL: func.func @decode_state_lanes
// CHECK-COUNT-2: memref.alloc(%c2, %c2) : memref<?x?x16x16xf32>
// CHECK-NEXT: %[[STEP:.*]] = arith.cmpi eq, %{{.*}}, %c1 : index
// CHECK-NEXT: arith.select %[[STEP]], %c1, %c4 : index
// CHECK-NEXT: %[[ITERS:.*]] = arith.select %[[STEP]], %c2, %c1 : index
// CHECK-NEXT: scf.parallel (%[[B:.*]], %{{.*}}) = (%c0, %c0) to (%c2, %[[ITERS]])
// CHECK:   scf.if %[[STEP]] {
// CHECK:     scf.for %[[T:.*]] =
// CHECK:       %[[CH:.*]] = arith.muli %[[T]], %c16
// CHECK-NOT: scf.if
// CHECK-NOT: vector.transpose
// CHECK:     %[[BROW:.*]] = vector.load %{{.*}}[%[[B]], %c0, %c0] : memref<2x?x16xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK:     %[[CROW:.*]] = vector.load %{{.*}}[%[[B]], %c0, %c0] : memref<2x?x16xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK:     vector.extract %{{.*}}[0] : f32 from vector<16xf32>
// CHECK:     vector.load %{{.*}}[%[[CH]], %c0] : memref<32x16xf32
// CHECK:     math.roundeven
// CHECK:     %[[H:.*]] = vector.load %{{.*}}[%[[B]], %[[CH]], %c0] : memref<2x32x16xf32
// CHECK:     %[[HN:.*]] = vector.fma %{{.*}}, %[[H]], %{{.*}}
// CHECK:     vector.store %[[HN]], %{{.*}}[%[[B]], %[[CH]], %c0] : memref<2x32x16xf32>
// CHECK:     arith.mulf %[[CROW]], %[[HN]]
// CHECK-COUNT-15: vector.store
// CHECK-COUNT-8: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]
// CHECK-COUNT-4: vector.shuffle %{{.*}}, %{{.*}} [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31]
// CHECK-COUNT-2: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29]
// CHECK:     vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]
// CHECK:     %[[Y:.*]] = arith.addf
// CHECK:     vector.transfer_write %[[Y]], %{{.*}}[%[[B]], %c0, %{{.*}}] : vector<16xf32>, memref<2x?x32xf32>
// CHECK:   } else {
// CHECK-COUNT-4: memref.alloc() {alignment = 64 : i64} : memref<64x16xf32>
// CHECK:     vector.transpose
// CHECK:     scf.for
func.func @decode_state_lanes(%u: tensor<2x?x32xf32>, %dt: tensor<2x?x32xf32>, %A: tensor<32x16xf32>,
                              %B: tensor<2x?x16xf32>, %C: tensor<2x?x16xf32>, %h0: tensor<2x32x16xf32>)
    -> (tensor<2x?x32xf32>, tensor<2x32x16xf32>) {
  %y, %h = ssm.selective_scan token_major %u, %dt, %A, %B, %C h0(%h0 : tensor<2x32x16xf32>)
      : (tensor<2x?x32xf32>, tensor<2x?x32xf32>, tensor<32x16xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>)
      -> tensor<2x?x32xf32>, tensor<2x32x16xf32>
  return %y, %h : tensor<2x?x32xf32>, tensor<2x32x16xf32>
}

// -----

// A static L = 1 in token_major layout needs no branch, no chunk loop and
// no workspace.
// n = 2 is not a multiple of 16: the channels stay in the lanes, A moves as
// a transposed block; channels past d = 20 in the second tile are masked.
// With 8 lanes d = 20 is no multiple either and the states (n = 8) lie in
// the lanes: each channel tests its bounds.
// CHECK-LABEL: func.func @decode_channel_lanes
// CHECK-NOT: memref<?x?x16x16xf32>
// CHECK: scf.parallel
// CHECK-NOT: scf.for
// CHECK-NOT: scf.if
// CHECK:   vector.transfer_read %{{.*}} : memref<20x2xf32, strided<[?, 1], offset: ?>>, vector<16x16xf32>
// CHECK:   vector.transpose
// CHECK:   vector.transfer_read %{{.*}} : memref<1x1x20xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK:   math.roundeven
// CHECK:   vector.transfer_write %{{.*}} : vector<16xf32>, memref<1x1x20xf32>
// CHECK-NOT: scf.for
// W8-LABEL: func.func @decode_channel_lanes
// W8: scf.parallel
// W8: vector.transpose
// W8: scf.parallel
// W8-NOT: vector.transpose
// W8: arith.cmpi ult
// W8: scf.if %{{.*}} -> (vector<8xf32>)
// W8-COUNT-4: vector.shuffle
func.func @decode_channel_lanes(%u: tensor<1x1x20xf32>, %A: tensor<20x2xf32>, %B: tensor<1x1x2xf32>,
                                %A8: tensor<20x8xf32>, %B8: tensor<1x1x8xf32>)
    -> (tensor<1x1x20xf32>, tensor<1x1x20xf32>) {
  %y = ssm.selective_scan token_major %u, %u, %A, %B, %B
      : (tensor<1x1x20xf32>, tensor<1x1x20xf32>, tensor<20x2xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>)
      -> tensor<1x1x20xf32>
  %y8 = ssm.selective_scan token_major %u, %u, %A8, %B8, %B8
      : (tensor<1x1x20xf32>, tensor<1x1x20xf32>, tensor<20x8xf32>, tensor<1x1x8xf32>, tensor<1x1x8xf32>)
      -> tensor<1x1x20xf32>
  return %y, %y8 : tensor<1x1x20xf32>, tensor<1x1x20xf32>
}

// -----

// channel_first with a dynamic length: the decoding step reads a batch
// row's channels (stride L) as one vector through a unit-stride view, so
// the branch also tests that the channel strides of u and delta are 1.
// CHECK-LABEL: func.func @decode_channel_first
// CHECK: %[[ISONE:.*]] = arith.cmpi eq, %dim{{[_0-9]*}}, %c1 : index
// CHECK-NEXT: %{{.*}}, %{{.*}}, %{{.*}}:3, %[[US:.*]]:3 = memref.extract_strided_metadata
// CHECK-NEXT: %[[UNIT:.*]] = arith.cmpi eq, %[[US]]#1, %c1
// CHECK-NEXT: arith.andi %[[ISONE]], %[[UNIT]]
// CHECK: scf.parallel
// CHECK:   scf.if %{{.*}} {
// CHECK:     memref.reinterpret_cast %{{.*}} to offset: [%{{.*}}], sizes: [%c40], strides: [1]
// CHECK:     vector.transfer_read %{{.*}} : memref<?xf32, strided<[1], offset: ?>>, vector<16xf32>
func.func @decode_channel_first(%u: tensor<1x40x?xf32>, %A: tensor<40x16xf32>, %B: tensor<1x16x?xf32>)
    -> tensor<1x40x?xf32> {
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %B
      : (tensor<1x40x?xf32>, tensor<1x40x?xf32>, tensor<40x16xf32>, tensor<1x16x?xf32>, tensor<1x16x?xf32>)
      -> tensor<1x40x?xf32>
  return %y : tensor<1x40x?xf32>
}

// -----

// What the fast path leaves to ssm-lower-to-loops: f64, a dynamic state
// size, complex A (S4D) and no states at all (n = 0: y is D u; the tiles
// are sized by n).
// CHECK-LABEL: func.func @declined
// CHECK: ssm.selective_scan {{.*}} -> tensor<1x4x8xf64>
// CHECK: ssm.selective_scan {{.*}} -> tensor<1x4x8xf32>
// CHECK: ssm.selective_scan {{.*}} tensor<16x2xcomplex<f32>>{{.*}} -> tensor<1x16x8xf32>
// CHECK: ssm.selective_scan {{.*}} tensor<16x0xf32>{{.*}} -> tensor<1x16x8xf32>
func.func @declined(%u64: tensor<1x4x8xf64>, %A64: tensor<4x2xf64>, %u: tensor<1x4x8xf32>,
                    %Adyn: tensor<4x?xf32>, %B: tensor<1x?x8xf32>, %u16: tensor<1x16x8xf32>,
                    %Ac: tensor<16x2xcomplex<f32>>, %A0: tensor<16x0xf32>, %B0: tensor<1x0x8xf32>,
                    %D: tensor<16xf32>)
    -> (tensor<1x4x8xf64>, tensor<1x4x8xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>) {
  %0 = ssm.selective_scan channel_first %u64, %u64, %A64, %A64, %A64
      : (tensor<1x4x8xf64>, tensor<1x4x8xf64>, tensor<4x2xf64>, tensor<4x2xf64>, tensor<4x2xf64>) -> tensor<1x4x8xf64>
  %1 = ssm.selective_scan channel_first %u, %u, %Adyn, %B, %B
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x?xf32>, tensor<1x?x8xf32>, tensor<1x?x8xf32>) -> tensor<1x4x8xf32>
  %3 = ssm.selective_scan channel_first %u16, %u16, %Ac, %Ac, %Ac
      : (tensor<1x16x8xf32>, tensor<1x16x8xf32>, tensor<16x2xcomplex<f32>>, tensor<16x2xcomplex<f32>>, tensor<16x2xcomplex<f32>>) -> tensor<1x16x8xf32>
  %4 = ssm.selective_scan channel_first %u16, %u16, %A0, %B0, %B0 D(%D : tensor<16xf32>)
      : (tensor<1x16x8xf32>, tensor<1x16x8xf32>, tensor<16x0xf32>, tensor<1x0x8xf32>, tensor<1x0x8xf32>) -> tensor<1x16x8xf32>
  return %0, %1, %3, %4 : tensor<1x4x8xf64>, tensor<1x4x8xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32>
}

// -----

// Grouped B and C whose groups split the 16-channel tiles. Up to four
// groups per tile (8 channels per group here: two) are read as broadcasts
// blended by lane, the mask fixed per tile; in channel_first layout from a
// copy of the groups' rows that the chunk's prologue makes (the rows are L
// floats apart). With 8-lane tiles those groups align and one broadcast
// does. More groups per tile (one channel per group), or a dynamic group
// count, are read by a per-lane gather whose offsets are fixed per tile,
// in channel_first layout from the copy of the rows too.
// CHECK-LABEL: func.func @grouped_blend(
// CHECK: scf.parallel
// CHECK: %[[ROWS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x2x64xf32>
// CHECK: %[[MASK:.*]] = arith.cmpi ule, %{{.*}}, %{{.*}} : vector<16xi64>
// CHECK: scf.for %[[J:.*]] = %c0 to %c2
// CHECK: %[[G0:.*]] = vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %[[J]], %{{.*}}], %{{.*}} : memref<1x3x2x40xf32
// CHECK-NEXT: vector.store %[[G0]], %[[ROWS]][%c0, %[[J]], %{{.*}}] : memref<2x2x64xf32>, vector<16xf32>
// CHECK: scf.for %[[J1:.*]] = %c0 to %c2
// CHECK: %[[G1:.*]] = vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %[[J1]], %{{.*}}], %{{.*}} : memref<1x3x2x40xf32
// CHECK-NEXT: vector.store %[[G1]], %[[ROWS]][%c1, %[[J1]], %{{.*}}] : memref<2x2x64xf32>, vector<16xf32>
// CHECK: scf.for {{.*}} iter_args
// CHECK: %[[B0:.*]] = memref.load %[[ROWS]][%c0, %c0, %[[S:.*]]] : memref<2x2x64xf32>
// CHECK-NEXT: %[[B0V:.*]] = vector.broadcast %[[B0]]
// CHECK-NEXT: %[[B1:.*]] = memref.load %[[ROWS]][%c1, %c0, %[[S]]] : memref<2x2x64xf32>
// CHECK-NEXT: %[[B1V:.*]] = vector.broadcast %[[B1]]
// CHECK-NEXT: arith.select %[[MASK]], %[[B1V]], %[[B0V]] : vector<16xi1>, vector<16xf32>
// CHECK-NOT: vector.gather
// CHECK-LABEL: func.func @grouped_blend_tm(
// CHECK-NOT: memref<2x2x64xf32>
// CHECK: scf.for {{.*}} iter_args
// CHECK: %[[B0:.*]] = memref.load %[[BUF:.*]][%{{.*}}, %[[T:.*]], %{{.*}}, %c0] : memref<1x40x3x2xf32
// CHECK-NEXT: %[[B0V:.*]] = vector.broadcast %[[B0]]
// CHECK-NEXT: %[[B1:.*]] = memref.load %[[BUF]][%{{.*}}, %[[T]], %{{.*}}, %c0] : memref<1x40x3x2xf32
// CHECK-NEXT: %[[B1V:.*]] = vector.broadcast %[[B1]]
// CHECK-NEXT: arith.select %{{.*}}, %[[B1V]], %[[B0V]] : vector<16xi1>, vector<16xf32>
// CHECK-LABEL: func.func @grouped_gather(
// CHECK: scf.parallel
// CHECK: %[[ROWSB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x2x64xf32>
// CHECK: %[[ROWSC:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x2x64xf32>
// CHECK: %[[OFFB:.*]] = arith.muli %{{.*}}, %{{.*}} : vector<16xi64>
// CHECK: arith.divui %{{.*}}, %{{.*}} : vector<16xi64>
// CHECK: %[[OFFC:.*]] = arith.muli %{{.*}}, %{{.*}} : vector<16xi64>
// The groups the tile spans, from its first channel's to its last's.
// CHECK: scf.for %[[I:.*]] = %c0 to %[[SPANB:.*]] step %c1 {
// CHECK: vector.store %{{.*}}, %[[ROWSB]][%[[I]], %{{.*}}, %{{.*}}] : memref<16x2x64xf32>, vector<16xf32>
// CHECK: scf.for %[[I:.*]] = %c0 to %[[SPANC:.*]] step %c1 {
// CHECK: vector.store %{{.*}}, %[[ROWSC]][%[[I]], %{{.*}}, %{{.*}}] : memref<16x2x64xf32>, vector<16xf32>
// CHECK: scf.for {{.*}} iter_args
// CHECK: vector.gather %[[ROWSB]][%c0, %c0, %[[S:.*]]] [%[[OFFB]]], %{{.*}}, %{{.*}} : memref<16x2x64xf32>, vector<16xi64>, vector<16xi1>, vector<16xf32> into vector<16xf32>
// CHECK-NEXT: vector.gather %[[ROWSC]][%c0, %c0, %[[S]]] [%[[OFFC]]]
// CHECK-NOT: arith.select {{.*}} vector<16xf32>
// CHECK: return
// W8-LABEL: func.func @grouped_blend(
// W8-NOT: arith.select
// W8: return
func.func @grouped_blend(%u: tensor<1x24x40xf32>, %A: tensor<24x2xf32>, %B: tensor<1x3x2x40xf32>)
    -> tensor<1x24x40xf32> {
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %B
      : (tensor<1x24x40xf32>, tensor<1x24x40xf32>, tensor<24x2xf32>, tensor<1x3x2x40xf32>, tensor<1x3x2x40xf32>) -> tensor<1x24x40xf32>
  return %y : tensor<1x24x40xf32>
}
func.func @grouped_blend_tm(%u: tensor<1x40x24xf32>, %A: tensor<24x2xf32>, %B: tensor<1x40x3x2xf32>)
    -> tensor<1x40x24xf32> {
  %y = ssm.selective_scan token_major %u, %u, %A, %B, %B
      : (tensor<1x40x24xf32>, tensor<1x40x24xf32>, tensor<24x2xf32>, tensor<1x40x3x2xf32>, tensor<1x40x3x2xf32>) -> tensor<1x40x24xf32>
  return %y : tensor<1x40x24xf32>
}
func.func @grouped_gather(%u: tensor<1x24x40xf32>, %A: tensor<24x2xf32>, %B: tensor<1x24x2x40xf32>,
                          %C: tensor<1x?x2x40xf32>) -> tensor<1x24x40xf32> {
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %C
      : (tensor<1x24x40xf32>, tensor<1x24x40xf32>, tensor<24x2xf32>, tensor<1x24x2x40xf32>, tensor<1x?x2x40xf32>) -> tensor<1x24x40xf32>
  return %y : tensor<1x24x40xf32>
}

// -----

// causal_conv1d, channel_first: rows of (batch, channel) in parallel; the
// k - 1 = 3 outputs that read the incoming state are scalar; then time in
// full vectors of 16 (in bounds: 3 + 16 * 3 = 51), one per tap read at
// offsets -3 .. 0, and a masked remainder; the final state per row.
// CHECK-LABEL: func.func @conv_channel_first
// CHECK: scf.parallel (%[[B:.*]], %[[C:.*]]) = (%c0, %c0) to (%c2, %c8)
// CHECK:   scf.for %{{.*}} = %c0 to %{{.*}} step %c1 {
// CHECK:     scf.if
// CHECK:     memref.store
// CHECK:   scf.for %[[T:[a-z0-9]+]] = %{{.*}} to %{{.*}} step %c16 {
// CHECK:     %[[S:.*]] = arith.subi %[[T]], %c3
// CHECK:     %[[X0:.*]] = vector.transfer_read %{{.*}}[%[[B]], %[[C]], %[[S]]], %{{.*}} {in_bounds = [true]} : memref<2x8x64xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK:     vector.fma %{{.*}}, %[[X0]], %{{.*}} : vector<16xf32>
// CHECK-COUNT-3: vector.fma
// CHECK:     arith.divf
// CHECK:     vector.transfer_write %{{.*}}, %{{.*}}[%[[B]], %[[C]], %[[T]]] {in_bounds = [true]} : vector<16xf32>, memref<2x8x64xf32>
// CHECK:   scf.if
// CHECK:     vector.transfer_read %{{.*}} : memref<2x8x64xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK:     vector.transfer_write %{{.*}} : vector<16xf32>, memref<2x8x64xf32>
// CHECK:   scf.for
// CHECK:     memref.store %{{.*}}, %{{.*}}[%[[B]], %[[C]], %{{.*}}] : memref<2x8x3xf32>
func.func @conv_channel_first(%x: tensor<2x8x64xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>,
                              %s: tensor<2x8x3xf32>) -> (tensor<2x8x64xf32>, tensor<2x8x3xf32>) {
  %y, %fin = ssm.causal_conv1d channel_first %x, %w bias(%b : tensor<8xf32>) conv_state(%s : tensor<2x8x3xf32>) silu
      : tensor<2x8x64xf32>, tensor<8x4xf32> -> tensor<2x8x64xf32>, tensor<2x8x3xf32>
  return %y, %fin : tensor<2x8x64xf32>, tensor<2x8x3xf32>
}

// -----

// causal_conv1d, token_major: the taps are transposed into a (k, d) buffer;
// blocks of 64 steps in parallel; steps before k - 1 scalar; then columns
// of 4 vectors (64 channels, one here) walk the block's steps with the
// taps in registers and the last 3 input rows carried as a window of 12
// vectors; then 2 single vectors and a masked one (100 = 64 + 32 + 4).
// CHECK-LABEL: func.func @conv_token_major
// CHECK: %[[WT:.*]] = memref.alloc(%{{.*}}) : memref<4x?xf32>
// CHECK: scf.for
// CHECK:   memref.store %{{.*}}, %[[WT]]
// CHECK: scf.parallel (%[[B:.*]], %{{.*}}) = (%c0, %c0) to (%c1, %c2)
// CHECK:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK:     scf.for %{{.*}} = %c0 to %c100 step %c1 {
// CHECK:   scf.if
// CHECK:     scf.for %[[C:[a-z0-9]+]] = %c0 to %c64 step %c64 {
// CHECK-COUNT-16: vector.transfer_read %[[WT]]{{.*}} {in_bounds = [true]} : memref<4x?xf32>, vector<16xf32>
// CHECK-COUNT-12: vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<1x100x100xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK:       %{{.*}}:12 = scf.for %[[T:[a-z0-9]+]] = %{{[0-9]+}} to %{{[0-9]+}} step %c1 iter_args(%[[OLD0:[a-z0-9]+]] = %{{[0-9]+}}, %{{[a-z0-9]+}} = %{{[0-9]+}}, %{{[a-z0-9]+}} = %{{[0-9]+}}, %{{[a-z0-9]+}} = %{{[0-9]+}}, %[[OLD1:[a-z0-9]+]] = %{{[0-9]+}}, %{{[a-z0-9]+}} = %{{[0-9]+}}, %{{[a-z0-9]+}} = %{{[0-9]+}}, %{{[a-z0-9]+}} = %{{[0-9]+}}, %[[OLD2:[a-z0-9]+]] = %{{[0-9]+}},
// CHECK-NEXT:    %[[NOW:.*]] = vector.transfer_read %{{.*}}[%[[B]], %[[T]], %[[C]]]
// CHECK-NEXT:    vector.fma %{{.*}}, %[[OLD0]], %{{.*}}
// CHECK-NEXT:    vector.fma %{{.*}}, %[[OLD1]], %{{.*}}
// CHECK-NEXT:    vector.fma %{{.*}}, %[[OLD2]], %{{.*}}
// CHECK-NEXT:    %[[Y:.*]] = vector.fma %{{.*}}, %[[NOW]], %{{.*}}
// CHECK-NEXT:    vector.transfer_write %[[Y]], %{{.*}}[%[[B]], %[[T]], %[[C]]] {in_bounds = [true]}
// CHECK-COUNT-3: vector.transfer_write
// CHECK:         scf.yield %{{.*}}, %[[NOW]], %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK:     scf.for %{{.*}} = %c64 to %c96 step %c16 {
// CHECK:       scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK:     scf.if
// CHECK:       vector.transfer_read %{{.*}}[%[[B]], %{{.*}}, %c96], %{{.*}} : memref<1x100x100xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK:       vector.transfer_write %{{.*}}, %{{.*}}[%[[B]], %{{.*}}, %c96] : vector<16xf32>, memref<1x100x100xf32>
func.func @conv_token_major(%x: tensor<1x100x100xf32>, %w: tensor<100x4xf32>) -> tensor<1x100x100xf32> {
  %y = ssm.causal_conv1d token_major %x, %w : tensor<1x100x100xf32>, tensor<100x4xf32> -> tensor<1x100x100xf32>
  return %y : tensor<1x100x100xf32>
}

// -----

// Left to ssm-lower-to-loops: f64, and k dynamic.
// CHECK-LABEL: func.func @conv_declined
// CHECK: ssm.causal_conv1d
// CHECK: ssm.causal_conv1d
func.func @conv_declined(%x64: tensor<1x4x8xf64>, %w64: tensor<4x4xf64>, %x: tensor<1x4x8xf32>,
                         %wdyn: tensor<4x?xf32>) -> (tensor<1x4x8xf64>, tensor<1x4x8xf32>) {
  %0 = ssm.causal_conv1d channel_first %x64, %w64 : tensor<1x4x8xf64>, tensor<4x4xf64> -> tensor<1x4x8xf64>
  %1 = ssm.causal_conv1d channel_first %x, %wdyn : tensor<1x4x8xf32>, tensor<4x?xf32> -> tensor<1x4x8xf32>
  return %0, %1 : tensor<1x4x8xf64>, tensor<1x4x8xf32>
}

// -----

// n = 100 is more than the registers hold. Without parking (tile-group=1)
// an scf.for over groups of 50 states runs one scan per group on slices of A, B and C (lowered to the
// vector loop nest, without D and z) and accumulates y and the last state;
// one linalg.generic then adds D * u and gates by silu(z) (its exp is the
// upstream polynomial).
// By default channel_first parks the states too when they take more than
// one block (here 4 blocks of 25): the scan stays whole.
// CHECK-LABEL: func.func @state_groups(
// CHECK-NOT: step %c50
// CHECK: memref.alloc(%c2, %c1) : memref<?x?x100x16xf32>
// CHECK-COUNT-4: %{{.*}}:25 = scf.for {{.*}}
// CHECK-NOT: ssm.selective_scan
// TG1-LABEL: func.func @state_groups(
// TG1-NOT: ssm.selective_scan
// TG1: %[[ZERO:.*]] = linalg.fill
// TG1: %[[LOOP:.*]]:2 = scf.for %[[J:.*]] = %c0 to %c100 step %c50 iter_args(%[[Y:.*]] = %[[ZERO]], %[[H:.*]] = %{{.*}}) -> (tensor<2x16x8xf32>, tensor<2x16x100xf32>)
// TG1:   tensor.extract_slice %arg2[0, %[[J]]] [16, 50] [1, 1] : tensor<16x100xf32> to tensor<16x50xf32>
// TG1:   tensor.extract_slice %arg3[0, %[[J]], 0] [2, 50, 8] [1, 1, 1] : tensor<2x100x8xf32> to tensor<2x50x8xf32>
// TG1:   tensor.extract_slice %arg4[0, %[[J]], 0] [2, 50, 8] [1, 1, 1] : tensor<2x100x8xf32> to tensor<2x50x8xf32>
// TG1:   scf.parallel
// TG1:   linalg.generic {{.*}} ins(%[[Y]], %{{.*}} : tensor<2x16x8xf32>, tensor<2x16x8xf32>) outs(%[[Y]] : tensor<2x16x8xf32>)
// TG1:   tensor.insert_slice %{{.*}} into %[[H]][0, 0, %[[J]]] [2, 16, 50] [1, 1, 1] : tensor<2x16x50xf32> into tensor<2x16x100xf32>
// TG1: linalg.generic {{.*}} ins(%[[LOOP]]#0, %arg0, %arg5, %arg6 : tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<16xf32>, tensor<2x16x8xf32>)
// TG1:   arith.mulf
// TG1:   arith.addf
// TG1:   arith.negf
// TG1:   arith.divf
// TG1:   arith.mulf
// TG1: return %{{.*}}, %[[LOOP]]#1
func.func @state_groups(%u: tensor<2x16x8xf32>, %dt: tensor<2x16x8xf32>, %A: tensor<16x100xf32>, %B: tensor<2x100x8xf32>, %C: tensor<2x100x8xf32>, %D: tensor<16xf32>, %z: tensor<2x16x8xf32>) -> (tensor<2x16x8xf32>, tensor<2x16x100xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C D(%D : tensor<16xf32>) z(%z : tensor<2x16x8xf32>) delta_softplus
    : (tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<16x100xf32>, tensor<2x100x8xf32>, tensor<2x100x8xf32>) -> tensor<2x16x8xf32>, tensor<2x16x100xf32>
  return %y, %h : tensor<2x16x8xf32>, tensor<2x16x100xf32>
}

// -----

// With h0 and a last state, each group reads its slice of h0 read-only
// (ssm.shared_h0): the other groups read h0 too, so writing a group's last
// state over its slice would make bufferization copy the slice first. By
// default the scan stays whole and reads h0, an argument, read-only.
// CHECK-LABEL: func.func @state_groups_h0
// CHECK: bufferization.to_buffer %arg3 read_only
// CHECK-NOT: tensor.extract_slice %arg3
// TG1-LABEL: func.func @state_groups_h0
// TG1: scf.for
// TG1: %[[SLICE:.*]] = tensor.extract_slice %arg3[0, 0, %{{.*}}] [1, 16, 50] [1, 1, 1] : tensor<1x16x100xf32> to tensor<1x16x50xf32>
// TG1: bufferization.to_buffer %[[SLICE]] read_only
func.func @state_groups_h0(%u: tensor<1x16x8xf32>, %A: tensor<16x100xf32>, %B: tensor<1x100x8xf32>, %h0: tensor<1x16x100xf32>) -> (tensor<1x16x8xf32>, tensor<1x16x100xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %u, %A, %B, %B h0(%h0 : tensor<1x16x100xf32>)
    : (tensor<1x16x8xf32>, tensor<1x16x8xf32>, tensor<16x100xf32>, tensor<1x100x8xf32>, tensor<1x100x8xf32>) -> tensor<1x16x8xf32>, tensor<1x16x100xf32>
  return %y, %h : tensor<1x16x8xf32>, tensor<1x16x100xf32>
}

// -----

// n = 67, token-major B, without parking (tile-group=1): one group of 34
// in the loop (B sliced on its last axis) and a last group of 33 after it.
// TG1-LABEL: func.func @state_groups_tail
// TG1: scf.for %[[J:.*]] = %c0 to %c34 step %c34
// TG1:   tensor.extract_slice %arg1[0, %[[J]]] [4, 34] [1, 1] : tensor<4x67xf32> to tensor<4x34xf32>
// TG1:   tensor.extract_slice %arg2[0, 0, %[[J]]] [1, 9, 34] [1, 1, 1] : tensor<1x9x67xf32> to tensor<1x9x34xf32>
// TG1: tensor.extract_slice %arg1[0, 34] [4, 33] [1, 1] : tensor<4x67xf32> to tensor<4x33xf32>
// TG1-NOT: ssm.selective_scan
// By default the chunk path parks the states and takes the scan whole: a
// chunk's state loop runs in three blocks of 23, 23 and 21 states (at most
// 32 each, balanced), each loading its states from the park before the
// loop and storing them after it; only the first prefetches, the others add
// their contraction to the first's.
// CHECK-LABEL: func.func @state_groups_tail
// CHECK-NOT: ssm.selective_scan
// CHECK: %[[PARKH:.*]] = memref.alloc(%c1, %c1) : memref<?x?x67x16xf32>
// CHECK: vector.load %[[PARKH]][%{{.*}}, %{{.*}}, %c0, %c0]
// CHECK: %{{.*}}:23 = scf.for {{.*}}
// CHECK:   memref.prefetch
// CHECK: vector.store %{{.*}}, %[[PARKH]][%{{.*}}, %{{.*}}, %c22, %c0]
// CHECK: vector.load %[[PARKH]][%{{.*}}, %{{.*}}, %c23, %c0]
// CHECK: %{{.*}}:23 = scf.for {{.*}}
// CHECK-NOT: memref.prefetch
// CHECK:   arith.addf
// CHECK: vector.load %[[PARKH]][%{{.*}}, %{{.*}}, %c46, %c0]
// CHECK: %{{.*}}:21 = scf.for {{.*}}
// CHECK-NOT: memref.prefetch
// CHECK: vector.store %{{.*}}, %[[PARKH]][%{{.*}}, %{{.*}}, %c66, %c0]
// CHECK-NOT: ssm.selective_scan
func.func @state_groups_tail(%u: tensor<1x9x4xf32>, %A: tensor<4x67xf32>, %B: tensor<1x9x67xf32>) -> tensor<1x9x4xf32> {
  %y = ssm.selective_scan token_major %u, %u, %A, %B, %B
    : (tensor<1x9x4xf32>, tensor<1x9x4xf32>, tensor<4x67xf32>, tensor<1x9x67xf32>, tensor<1x9x67xf32>) -> tensor<1x9x4xf32>
  return %y : tensor<1x9x4xf32>
}

// -----

// A token_major single step with n = 128 (a multiple of the vector width):
// no groups; the step with the states in the lanes streams all 128 states
// of a channel, 8 vectors of 16, in one parallel loop over the tiles.
// CHECK-LABEL: func.func @step_whole_n128
// CHECK-NOT: scf.for {{.*}} step %c64
// CHECK-NOT: linalg.fill
// CHECK: scf.parallel
// CHECK-COUNT-8: vector.store %{{.*}} : memref<1x32x128xf32>, vector<16xf32>
// CHECK-NOT: ssm.selective_scan
func.func @step_whole_n128(%u: tensor<1x1x32xf32>, %A: tensor<32x128xf32>, %B: tensor<1x1x128xf32>, %h0: tensor<1x32x128xf32>) -> (tensor<1x1x32xf32>, tensor<1x32x128xf32>) {
  %y, %h = ssm.selective_scan token_major %u, %u, %A, %B, %B h0(%h0 : tensor<1x32x128xf32>)
    : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<32x128xf32>, tensor<1x1x128xf32>, tensor<1x1x128xf32>) -> tensor<1x1x32xf32>, tensor<1x32x128xf32>
  return %y, %h : tensor<1x1x32xf32>, tensor<1x32x128xf32>
}

// -----

// h0 a slice of a state stack that the last state goes back into (a
// model's layer): the last state overwrites h0's buffer (each tile reads its
// h0 before it writes its last state), so there is no buffer of its own
// and the stack's update copies a buffer onto itself.
// CHECK-LABEL: func.func @last_state_in_h0
// CHECK: %[[H0:.*]] = tensor.extract_slice %arg3
// CHECK: %[[HB:.*]] = bufferization.to_buffer %[[H0]] : tensor<1x32x16xf32> to memref
// CHECK: vector.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<1x32x16xf32, strided<[?, ?, 1], offset: ?>>, vector<16xf32>
// CHECK: %[[LAST:.*]] = bufferization.to_tensor %{{.*}} restrict writable : memref<1x32x16xf32, strided<[?, ?, 1], offset: ?>>
// CHECK: tensor.insert_slice %[[LAST]] into %arg3
func.func @last_state_in_h0(%u: tensor<1x1x32xf32>, %A: tensor<32x16xf32>, %B: tensor<1x1x16xf32>, %stack: tensor<4x1x32x16xf32>, %l: index) -> (tensor<1x1x32xf32>, tensor<4x1x32x16xf32>) {
  %h0 = tensor.extract_slice %stack[%l, 0, 0, 0] [1, 1, 32, 16] [1, 1, 1, 1] : tensor<4x1x32x16xf32> to tensor<1x32x16xf32>
  %y, %h = ssm.selective_scan token_major %u, %u, %A, %B, %B h0(%h0 : tensor<1x32x16xf32>)
    : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<32x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>) -> tensor<1x1x32xf32>, tensor<1x32x16xf32>
  %new = tensor.insert_slice %h into %stack[%l, 0, 0, 0] [1, 1, 32, 16] [1, 1, 1, 1] : tensor<1x32x16xf32> into tensor<4x1x32x16xf32>
  return %y, %new : tensor<1x1x32xf32>, tensor<4x1x32x16xf32>
}

// An h0 that is an argument is only read: the last state has its own
// buffer.
// CHECK-LABEL: func.func @last_state_own_buffer
// CHECK: bufferization.to_buffer %arg3 read_only
// CHECK: memref.alloc() : memref<1x32x16xf32>
func.func @last_state_own_buffer(%u: tensor<1x1x32xf32>, %A: tensor<32x16xf32>, %B: tensor<1x1x16xf32>, %h0: tensor<1x32x16xf32>) -> (tensor<1x1x32xf32>, tensor<1x32x16xf32>) {
  %y, %h = ssm.selective_scan token_major %u, %u, %A, %B, %B h0(%h0 : tensor<1x32x16xf32>)
    : (tensor<1x1x32xf32>, tensor<1x1x32xf32>, tensor<32x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>) -> tensor<1x1x32xf32>, tensor<1x32x16xf32>
  return %y, %h : tensor<1x1x32xf32>, tensor<1x32x16xf32>
}

// -----

// The same with L known at run time (a model's program). The chunk path
// parks the states (token_major tile groups), so the scan stays whole: one
// step takes the step with the states in the lanes, longer scans the chunks,
// whose state loop runs in blocks: 4 of 32 states (a decay per state; with
// state-block=64, 2 of 64), the first storing its contraction, the others
// adding theirs.
// CHECK-LABEL: func.func @step_or_groups_n128
// CHECK-NOT: scf.for {{.*}} step %c64
// CHECK: memref.alloc(%c1, %c2) : memref<?x?x128x16xf32>
// CHECK: scf.parallel
// CHECK-COUNT-4: %{{.*}}:32 = scf.for {{.*}}
// CHECK-NOT: iter_args
// CHECK: return
// SB64-LABEL: func.func @step_or_groups_n128
// SB64-COUNT-2: %{{.*}}:64 = scf.for {{.*}}
// SB64-NOT: iter_args
// SB64: return
// Without parking (tile-group=1) StateGroups splits it: one step runs the
// whole scan on operands cast to L = 1, longer scans the groups of 64.
// TG1-LABEL: func.func @step_or_groups_n128
// TG1: %[[L:.*]] = tensor.dim %arg0, %c1 : tensor<1x?x32xf32>
// TG1: %[[ONE:.*]] = arith.cmpi eq, %[[L]], %c1
// TG1: %[[R:.*]]:2 = scf.if %[[ONE]] -> (tensor<1x?x32xf32>, tensor<1x32x128xf32>) {
// TG1:   tensor.cast %arg0 : tensor<1x?x32xf32> to tensor<1x1x32xf32>
// TG1:   tensor.cast %arg2 : tensor<1x?x128xf32> to tensor<1x1x128xf32>
// TG1-NOT: scf.for {{.*}} step %c64
// TG1:   scf.parallel
// TG1:   scf.yield
// TG1: } else {
// TG1:   scf.for %{{.*}} = %c0 to %c128 step %c64
// TG1:   scf.yield
// TG1: return %[[R]]#0, %[[R]]#1
func.func @step_or_groups_n128(%u: tensor<1x?x32xf32>, %A: tensor<32x128xf32>, %B: tensor<1x?x128xf32>, %h0: tensor<1x32x128xf32>) -> (tensor<1x?x32xf32>, tensor<1x32x128xf32>) {
  %y, %h = ssm.selective_scan token_major %u, %u, %A, %B, %B h0(%h0 : tensor<1x32x128xf32>)
    : (tensor<1x?x32xf32>, tensor<1x?x32xf32>, tensor<32x128xf32>, tensor<1x?x128xf32>, tensor<1x?x128xf32>) -> tensor<1x?x32xf32>, tensor<1x32x128xf32>
  return %y, %h : tensor<1x?x32xf32>, tensor<1x32x128xf32>
}

// -----

// A broadcast along the states (Mamba-2's one decay per head): the decay
// exp2(dt * A log2 e) is computed once per channel vector and step and
// shared by the n = 4 states (one polynomial in the decoding step, one in
// the chunk loop; a per-state A has four in each), and of A only the
// first column is used: the broadcast is rebuilt on that column, and the
// full one is gone.

// CHECK-LABEL: func.func @uniform_decay(
// CHECK-NOT: tensor<16x4xf32>
// CHECK: %[[COL:.*]] = tensor.empty() : tensor<16x1xf32>
// CHECK: linalg.broadcast ins(%{{.*}} : tensor<16xf32>) outs(%[[COL]] : tensor<16x1xf32>) dimensions = [1]
// CHECK-NOT: tensor<16x4xf32>
// CHECK: vector.transfer_read %{{.*}} : memref<16x1xf32, strided<[?, 1], offset: ?>>, vector<16x16xf32>
// CHECK: math.roundeven
// CHECK-NOT: math.roundeven
// CHECK: } else {
// The chunks: the prologue's row loop computes each step's decay (one exp2)
// into the dt workspace, so the state loop computes none.
// CHECK: math.roundeven
// CHECK-NOT: math.roundeven
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK-NOT: math.roundeven
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK-NOT: math.roundeven
// CHECK-LABEL: func.func @per_state_decay(
// CHECK-COUNT-4: math.roundeven
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK-COUNT-4: math.roundeven
func.func @uniform_decay(%u: tensor<1x?x16xf32>, %dt: tensor<1x?x16xf32>, %a: tensor<16xf32>,
                         %B: tensor<1x?x4xf32>) -> tensor<1x?x16xf32> {
  %e = tensor.empty() : tensor<16x4xf32>
  %A = linalg.broadcast ins(%a : tensor<16xf32>) outs(%e : tensor<16x4xf32>) dimensions = [1]
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %B
      : (tensor<1x?x16xf32>, tensor<1x?x16xf32>, tensor<16x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> tensor<1x?x16xf32>
  return %y : tensor<1x?x16xf32>
}
func.func @per_state_decay(%u: tensor<1x?x16xf32>, %dt: tensor<1x?x16xf32>, %A: tensor<16x4xf32>,
                           %B: tensor<1x?x4xf32>) -> tensor<1x?x16xf32> {
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %B
      : (tensor<1x?x16xf32>, tensor<1x?x16xf32>, tensor<16x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> tensor<1x?x16xf32>
  return %y : tensor<1x?x16xf32>
}

// -----

// Mamba-1's A = -exp(A_log) (ssm-expand-blocks' elementwise generic) on an
// A_log broadcast along the states, as the tasks' fixed-weight models give
// it: uniform too. The generic is rebuilt on the broadcast's one column and
// the scan computes one decay per channel vector and step. A generic that
// reads a per-state input along the states, or reads a uniform one through
// another indexing than its output's, stays per state.

#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @uniform_alog(
// CHECK-NOT: tensor<16x4xf32>
// CHECK: %[[COL:.*]] = tensor.empty() : tensor<16x1xf32>
// CHECK: %[[BC:.*]] = linalg.broadcast ins(%{{.*}} : tensor<16xf32>) outs(%[[COL]] : tensor<16x1xf32>) dimensions = [1]
// CHECK: linalg.generic {{.*}} ins(%[[BC]] : tensor<16x1xf32>) outs(%{{.*}} : tensor<16x1xf32>)
// CHECK-NOT: tensor<16x4xf32>
// CHECK: math.roundeven
// CHECK-NOT: math.roundeven
// CHECK: } else {
// CHECK: math.roundeven
// CHECK-NOT: math.roundeven
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK-NOT: math.roundeven
// CHECK: scf.yield
// CHECK-LABEL: func.func @per_state_alog_with_uniform_input(
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK-COUNT-4: math.roundeven
// CHECK-LABEL: func.func @transposed_uniform_input(
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK-COUNT-4: math.roundeven
func.func @uniform_alog(%u: tensor<1x?x16xf32>, %dt: tensor<1x?x16xf32>, %a: tensor<16xf32>,
                        %B: tensor<1x?x4xf32>) -> tensor<1x?x16xf32> {
  %e = tensor.empty() : tensor<16x4xf32>
  %alog = linalg.broadcast ins(%a : tensor<16xf32>) outs(%e : tensor<16x4xf32>) dimensions = [1]
  %A = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%alog : tensor<16x4xf32>) outs(%e : tensor<16x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %x = math.exp %in : f32
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  } -> tensor<16x4xf32>
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %B
      : (tensor<1x?x16xf32>, tensor<1x?x16xf32>, tensor<16x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> tensor<1x?x16xf32>
  return %y : tensor<1x?x16xf32>
}
func.func @per_state_alog_with_uniform_input(%u: tensor<1x?x16xf32>, %dt: tensor<1x?x16xf32>, %a: tensor<16xf32>,
                                             %s: tensor<16x4xf32>, %B: tensor<1x?x4xf32>) -> tensor<1x?x16xf32> {
  %e = tensor.empty() : tensor<16x4xf32>
  %alog = linalg.broadcast ins(%a : tensor<16xf32>) outs(%e : tensor<16x4xf32>) dimensions = [1]
  %A = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%alog, %s : tensor<16x4xf32>, tensor<16x4xf32>) outs(%e : tensor<16x4xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %x = arith.addf %in, %in2 : f32
    linalg.yield %x : f32
  } -> tensor<16x4xf32>
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %B
      : (tensor<1x?x16xf32>, tensor<1x?x16xf32>, tensor<16x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> tensor<1x?x16xf32>
  return %y : tensor<1x?x16xf32>
}
func.func @transposed_uniform_input(%u: tensor<1x?x16xf32>, %dt: tensor<1x?x16xf32>, %a: tensor<16xf32>,
                                    %B: tensor<1x?x4xf32>) -> tensor<1x?x16xf32> {
  %e = tensor.empty() : tensor<16x16xf32>
  %alog = linalg.broadcast ins(%a : tensor<16xf32>) outs(%e : tensor<16x16xf32>) dimensions = [1]
  %e4 = tensor.empty() : tensor<16x4xf32>
  %sq = tensor.extract_slice %alog[0, 0] [4, 16] [1, 1] : tensor<16x16xf32> to tensor<4x16xf32>
  %A = linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%sq : tensor<4x16xf32>) outs(%e4 : tensor<16x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<16x4xf32>
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %B
      : (tensor<1x?x16xf32>, tensor<1x?x16xf32>, tensor<16x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> tensor<1x?x16xf32>
  return %y : tensor<1x?x16xf32>
}

// -----

// A computed elementwise from A_log (Mamba-1's -exp(A_log), as
// ssm-expand-blocks writes it): the scan reads A_log and applies the body to
// the vectors it loads, in its tiles; the generic over the whole array is
// gone. A generic that also reads its output keeps the array.

#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @elementwise_a(
// CHECK-SAME: %{{[^:]+}}: tensor<1x?x16xf32>, %{{[^:]+}}: tensor<1x?x16xf32>, %[[ALOG:[^:]+]]: tensor<16x4xf32>
// CHECK-NOT: linalg.generic
// CHECK: bufferization.to_buffer %[[ALOG]] read_only
// CHECK-NOT: linalg.generic
// The body on vectors (exp already as the pass's polynomial), then the
// scan's own exp2 of dt * A.
// CHECK: arith.negf %{{.*}} : vector<16xf32>
// CHECK-NOT: linalg.generic
// CHECK-LABEL: func.func @elementwise_a_reading_out(
// CHECK: linalg.generic
func.func @elementwise_a(%u: tensor<1x?x16xf32>, %dt: tensor<1x?x16xf32>, %alog: tensor<16x4xf32>,
                         %B: tensor<1x?x4xf32>) -> tensor<1x?x16xf32> {
  %A = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%alog : tensor<16x4xf32>) outs(%alog : tensor<16x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    %n = arith.negf %e : f32
    linalg.yield %n : f32
  } -> tensor<16x4xf32>
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %B
      : (tensor<1x?x16xf32>, tensor<1x?x16xf32>, tensor<16x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> tensor<1x?x16xf32>
  return %y : tensor<1x?x16xf32>
}
func.func @elementwise_a_reading_out(%u: tensor<1x?x16xf32>, %dt: tensor<1x?x16xf32>, %alog: tensor<16x4xf32>,
                                     %B: tensor<1x?x4xf32>) -> tensor<1x?x16xf32> {
  %A = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%alog : tensor<16x4xf32>) outs(%alog : tensor<16x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<16x4xf32>
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %B
      : (tensor<1x?x16xf32>, tensor<1x?x16xf32>, tensor<16x4xf32>, tensor<1x?x4xf32>, tensor<1x?x4xf32>) -> tensor<1x?x16xf32>
  return %y : tensor<1x?x16xf32>
}
