// RUN: ssm-opt %s --ssm-lower-to-gpu="items-per-thread=2 max-threads=64" -split-input-file | FileCheck %s
// RUN: ssm-opt %s --ssm-lower-to-gpu -split-input-file | FileCheck %s --check-prefix=DEFAULT
// RUN: not ssm-opt %s --ssm-lower-to-gpu="max-threads=48" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not ssm-opt %s --ssm-lower-to-gpu="states-per-iteration=9" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: ssm-opt %s --ssm-lower-to-gpu="items-per-thread=2 max-threads=64 states-per-iteration=2" -split-input-file | FileCheck %s --check-prefix=S2
// RUN: ssm-opt %s --ssm-lower-to-gpu="items-per-thread=2 max-threads=64 states-per-iteration=3" -split-input-file | FileCheck %s --check-prefix=S3
// RUN: ssm-opt %s --ssm-lower-to-gpu="items-per-thread=4 max-threads=64 prefetch=true" -split-input-file | FileCheck %s --check-prefix=PF
// RUN: ssm-opt %s --ssm-lower-to-gpu="items-per-thread=4 max-threads=64 strategy=channels" -split-input-file | FileCheck %s --check-prefix=CHAN
// RUN: not ssm-opt %s --ssm-lower-to-gpu="strategy=states" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: ssm-opt %s --ssm-lower-to-gpu="items-per-thread=4 max-threads=64 strategy=auto" -split-input-file | FileCheck %s --check-prefix=AUTO
// RUN: ssm-opt %s --ssm-lower-to-gpu="items-per-thread=4 max-threads=64 strategy=channels threads-per-channel=2" -split-input-file | FileCheck %s --check-prefix=PAIR
// RUN: not ssm-opt %s --ssm-lower-to-gpu="threads-per-channel=3" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADOPT

// BADOPT: ssm-lower-to-gpu: items-per-thread must be in [1, 64], max-threads a multiple of 32 in [32, 1024], states-per-iteration in [1, 8], threads-per-channel 1, 2, 4 or 8, strategy chunks, channels or auto

// The scan: one block per (channel, batch row), as many warps as the
// sequence fills (at most max-threads / 32 = 2), shared memory for the warp
// totals (2 parities x n x 2 warps, twice) and the carried state (2 x n).
// Per thread 2 consecutive steps; per state a serial combine, a 5-step
// shuffle-up warp scan of (a, b), a shuffle by one lane for the exclusive
// prefix, one barrier, the carry through the earlier warps, the replay.

// CHECK-LABEL: func.func @scan(
// CHECK-DAG:   %[[U:.*]] = bufferization.to_buffer %arg0 read_only : tensor<2x8x?xf32> to memref<2x8x?xf32>
// CHECK-DAG:   %[[H0:.*]] = bufferization.to_buffer %arg5 read_only
// CHECK:       %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<2x8x?xf32>
// CHECK:       %[[LAST:.*]] = memref.alloc() : memref<2x8x4xf32>
// CHECK:       %[[STEPS:.*]] = arith.ceildivui %[[L:.*]], %{{.*}} : index
// CHECK:       %[[WARPS:.*]] = arith.ceildivui %[[STEPS]], %{{.*}} : index
// CHECK:       arith.minui
// CHECK:       arith.maxui
// CHECK:       %[[T:.*]] = arith.muli
// CHECK:       gpu.launch blocks(%[[C:.*]], %[[BI:.*]], %{{.*}}) in (%{{.*}} = %[[D:.*]], %{{.*}} = %[[B:.*]], %{{.*}} = %{{.*}}) threads(%[[TID:.*]], %{{.*}}, %{{.*}}) in (%[[BT:.*]] = %[[T]], {{.*}}) dynamic_shared_memory_size %c160_i32 {
// CHECK:         memref.view {{.*}} to memref<2x4x2xf32, #gpu.address_space<workgroup>>
// CHECK:         memref.view {{.*}} to memref<2x4x2xf32, #gpu.address_space<workgroup>>
// CHECK:         %[[CARRY:.*]] = memref.view {{.*}} to memref<2x4xf32, #gpu.address_space<workgroup>>
// The incoming state, strided over the threads.
// CHECK:         scf.for %[[J0:.*]] = %[[TID]] to %c4 step %[[BT]] {
// CHECK:           memref.load %[[H0]][%[[BI]], %[[C]], %[[J0]]]
// CHECK:           memref.store {{.*}}, %[[CARRY]][%{{.*}}, %[[J0]]]
// Chunks of threads x 2 steps.
// CHECK:         scf.for %[[CH:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NOT:       vector.load
// CHECK:           %[[PAR:.*]] = arith.remui %[[CH]], %{{.*}} : index
// CHECK:           %[[NEXT:.*]] = arith.subi %{{.*}}, %[[PAR]] : index
// CHECK:           scf.for %[[J:.*]] = %{{.*}} to %c4 step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (f32, f32) {
// CHECK-COUNT-2:     math.exp2 %{{.*}} fastmath<afn> : f32
// CHECK-COUNT-2:     gpu.shuffle  up %{{.*}}, %c1_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-COUNT-2:     gpu.shuffle  up %{{.*}}, %c2_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-COUNT-2:     gpu.shuffle  up %{{.*}}, %c4_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-COUNT-2:     gpu.shuffle  up %{{.*}}, %c8_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-COUNT-2:     gpu.shuffle  up %{{.*}}, %c16_i32{{.*}}, %c32_i32{{.*}} : f32
// CHECK-COUNT-2:     gpu.shuffle  up %{{.*}}, %c1_i32{{.*}}, %c32_i32{{.*}} : f32
// Lane 31 publishes its warp's total, for this chunk's parity.
// CHECK:             arith.cmpi eq, %{{.*}}, %c31 : index
// CHECK:             scf.if
// CHECK-COUNT-2:       memref.store %{{.*}}[%[[PAR]], %[[J]], %{{.*}}] : memref<2x4x2xf32, #gpu.address_space<workgroup>>
// CHECK:             gpu.barrier
// CHECK:             memref.load %[[CARRY]][%[[PAR]], %[[J]]]
// CHECK:             scf.for {{.*}} iter_args
// Grouped C: group = channel / (d / g).
// CHECK:             memref.load %{{.*}}[%[[BI]], %{{.*}}, %[[J]], %{{.*}}] : memref<2x2x4x?xf32>
// The last thread carries the state into the next chunk.
// CHECK:             scf.if
// CHECK-NEXT:          memref.store %{{.*}}, %[[CARRY]][%[[NEXT]], %[[J]]]
// CHECK:             scf.yield
// Steps past the end are not stored.
// CHECK-COUNT-2:   memref.store %{{.*}}, %[[Y]][%[[BI]], %[[C]], %{{.*}}] : memref<2x8x?xf32>
// The last state after a barrier, from the parity after the last chunk.
// CHECK:         gpu.barrier
// CHECK:         scf.for %[[J2:.*]] = %[[TID]] to %c4 step %[[BT]] {
// CHECK:           memref.store %{{.*}}, %[[LAST]][%[[BI]], %[[C]], %[[J2]]]
// CHECK:         gpu.terminator
// CHECK:       bufferization.to_tensor %[[Y]] restrict writable
// CHECK-NOT:   ssm.selective_scan

// Two states per iteration (n = 4): the loop steps by 2; each state's two
// steps, then the two warp scans interleaved level by level, one barrier,
// each state's carry and replay. Three do not divide n: one at a time.

// S2-LABEL:   func.func @scan(
// S2:         scf.for %{{.*}} = %{{.*}} to %c4 step %c2{{.*}} iter_args
// S2-COUNT-2:   math.exp2
// S2:           math.exp2
// S2-COUNT-2:   math.exp2
// S2:           math.exp2
// S2-COUNT-2:   gpu.shuffle  up %{{.*}}, %c1_i32{{.*}}, %c32_i32{{.*}} : f32
// S2-COUNT-2:   gpu.shuffle  up %{{.*}}, %c1_i32{{.*}}, %c32_i32{{.*}} : f32
// S2-COUNT-2:   gpu.shuffle  up %{{.*}}, %c2_i32{{.*}}, %c32_i32{{.*}} : f32
// S2-COUNT-2:   gpu.shuffle  up %{{.*}}, %c2_i32{{.*}}, %c32_i32{{.*}} : f32
// S2:           gpu.barrier
// S2-NOT:       gpu.barrier
// S2:           scf.yield %{{.*}}, %{{.*}} : f32, f32
// S3-LABEL:   func.func @scan(
// S3:         scf.for %{{.*}} = %{{.*}} to %c4 step %c1{{.*}} iter_args

// With 16 steps per thread (a multiple of 4) and time contiguous, a
// thread's steps move as 16-byte vectors when L is a multiple of 4 and they
// all lie inside the sequence, else one by one (the else branch): dt and u
// before the state loop, C (grouped) inside it, y after it. With 2 steps per
// thread (the CHECK run above), only the scalar loads.

// DEFAULT-LABEL: func.func @scan(
// DEFAULT:       dynamic_shared_memory_size %c288_i32
// DEFAULT:       %[[REM:.*]] = arith.remui %{{.*}}, %c4{{.*}} : index
// DEFAULT:       %[[FAST:.*]] = arith.andi
// DEFAULT:       scf.if %[[FAST]] -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// DEFAULT-COUNT-4: vector.load %{{.*}} {alignment = 16 : i64} : memref<2x8x?xf32>, vector<4xf32>
// DEFAULT:       } else {
// DEFAULT-COUNT-4: memref.load %{{.*}} : memref<2x8x?xf32>
// DEFAULT:       scf.for
// DEFAULT-COUNT-16: math.exp2
// DEFAULT:       vector.load %{{.*}} {alignment = 16 : i64} : memref<2x2x4x?xf32>, vector<4xf32>
// DEFAULT:       scf.if %[[FAST]] {
// DEFAULT-COUNT-4: vector.store %{{.*}} {alignment = 16 : i64} : memref<2x8x?xf32>, vector<4xf32>
// With prefetch, state 0's A (scaled) and B (time-invariant here: one
// value) are loaded before the state loop, which carries them with y; each
// iteration loads the next state's (state n - 1 = 3 again in the last) and
// its own C (grouped, by vectors) before its exponentials and its barrier,
// and no load of A, B or C follows the barrier.
// PF-LABEL: func.func @scan(
// PF:       scf.for %[[CH:.*]] = %{{.*}} to %{{.*}} step
// PF:         memref.load %{{.*}}[%{{.*}}, %c0{{.*}}] : memref<8x4xf32>
// PF:         %[[A0:.*]] = arith.mulf
// PF:         %[[B0:.*]] = memref.load %{{.*}}[%{{.*}}, %c0{{.*}}] : memref<8x4xf32>
// PF:         scf.for %[[J:.*]] = %{{.*}} to %c4{{.*}} step %{{.*}} iter_args({{.*}}, %{{.*}} = %[[A0]], %{{.*}} = %[[B0]]) -> (f32, f32, f32, f32, f32, f32) {
// PF:           %[[JN:.*]] = arith.minui %{{.*}}, %c3{{.*}} : index
// PF:           memref.load %{{.*}}[%{{.*}}, %[[JN]]] : memref<8x4xf32>
// PF:           memref.load %{{.*}}[%{{.*}}, %[[JN]]] : memref<8x4xf32>
// PF:           vector.load %{{.*}}[%{{.*}}, %{{.*}}, %[[J]], %{{.*}}] {alignment = 16 : i64} : memref<2x2x4x?xf32>, vector<4xf32>
// PF:           math.exp2
// PF:           gpu.barrier
// PF-NOT:       memref<2x2x4x?xf32>
// PF-NOT:       memref<8x4xf32>
// PF:           scf.yield {{.*}} : f32, f32, f32, f32, f32, f32
func.func @scan(%u: tensor<2x8x?xf32>, %dt: tensor<2x8x?xf32>, %A: tensor<8x4xf32>,
                %B: tensor<8x4xf32>, %C: tensor<2x2x4x?xf32>, %h0: tensor<2x8x4xf32>)
    -> (tensor<2x8x?xf32>, tensor<2x8x4xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C h0(%h0 : tensor<2x8x4xf32>)
      : (tensor<2x8x?xf32>, tensor<2x8x?xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<2x2x4x?xf32>)
      -> tensor<2x8x?xf32>, tensor<2x8x4xf32>
  return %y, %h : tensor<2x8x?xf32>, tensor<2x8x4xf32>
}

// -----

// Fused bias, softplus, D and the SiLU gate; token_major indexing (b, t, c).
// Softplus and SiLU take e^x from ex2.approx (math.exp2 afn) and divide
// approximately (arith.divf afn); softplus's log1p is a polynomial in fmas.
// No math.exp or math.log is left, and no exact division. The recurrence's
// multiply-adds are math.fma, as is D's.

// CHECK-LABEL: func.func @fused(
// CHECK:       gpu.launch
// CHECK-NOT:   math.exp %
// CHECK-NOT:   math.log
// CHECK:       memref.load %{{.*}}[%[[BI:.*]], %[[T:.*]], %[[C:.*]]] : memref<1x?x5xf32>
// CHECK:       math.absf
// CHECK:       math.exp2 %{{.*}} fastmath<afn>
// CHECK:       arith.divf %{{.*}}, %{{.*}} fastmath<afn>
// CHECK-COUNT-5: math.fma
// CHECK:       arith.maximumf
// CHECK:       scf.for
// CHECK:       math.exp2 %{{.*}} fastmath<afn>
// CHECK:       gpu.barrier
// CHECK:       math.fma
// CHECK:       scf.yield
// CHECK:       math.fma
// CHECK:       math.exp2 %{{.*}} fastmath<afn>
// CHECK-NOT:   math.exp %
// CHECK:       arith.divf %{{.*}}, %{{.*}} fastmath<afn>
// CHECK:       memref.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : memref<1x?x5xf32>
// CHECK-NOT:   arith.divf %{{[0-9]+}}, %{{[0-9]+}} : f32
// CHECK-NOT:   ssm.selective_scan
func.func @fused(%u: tensor<1x?x5xf32>, %dt: tensor<1x?x5xf32>, %A: tensor<5x3xf32>,
                 %B: tensor<1x?x3xf32>, %C: tensor<1x?x3xf32>, %D: tensor<5xf32>,
                 %z: tensor<1x?x5xf32>, %bias: tensor<5xf32>) -> tensor<1x?x5xf32> {
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %C D(%D : tensor<5xf32>)
      z(%z : tensor<1x?x5xf32>) delta_bias(%bias : tensor<5xf32>) delta_softplus
      : (tensor<1x?x5xf32>, tensor<1x?x5xf32>, tensor<5x3xf32>, tensor<1x?x3xf32>, tensor<1x?x3xf32>)
      -> tensor<1x?x5xf32>
  return %y : tensor<1x?x5xf32>
}

// -----

// strategy=channels: a thread per (channel, batch row), blocks of 64
// channels (2 for d = 100, the second partial) by batch rows; two
// buffers of a 4-step x 4-state tile of B and of C in shared memory,
// the first filled before the tile loop; the loop carries the 4 states
// and the next tile's u and dt (4 each). Per step a vector read of each
// tile row (4 states), per state an exponential, no shuffle; one barrier
// per tile after the next tile's store. (@scan above, with B time-invariant
// and C grouped, keeps the chunks kernel.)
// CHAN-LABEL: func.func @per_channel(
// CHAN:       %[[BX:.*]] = arith.ceildivui %{{.*}}, %c64{{.*}} : index
// CHAN:       gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BX]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c64{{.*}}, {{.*}}) dynamic_shared_memory_size %c256_i32 {
// CHAN:         %[[TB:.*]] = memref.view {{.*}} to memref<2x4x4xf32, #gpu.address_space<workgroup>>
// CHAN:         %[[TC:.*]] = memref.view {{.*}} to memref<2x4x4xf32, #gpu.address_space<workgroup>>
// CHAN:         memref.store %{{.*}}, %[[TB]]
// CHAN:         memref.store %{{.*}}, %[[TC]]
// CHAN:         gpu.barrier
// CHAN:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHAN-NOT:       gpu.shuffle
// CHAN:           vector.load %[[TB]][{{.*}}] {alignment = 16 : i64} : memref<2x4x4xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHAN:           vector.load %[[TC]][{{.*}}] {alignment = 16 : i64} : memref<2x4x4xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHAN-COUNT-4:   math.exp2 %{{.*}} fastmath<afn> : f32
// CHAN-NOT:       gpu.shuffle
// CHAN:           vector.store %{{.*}}, %{{.*}}[{{.*}}] {alignment = 16 : i64} : memref<2x100x?xf32>, vector<4xf32>
// CHAN:           memref.store %{{.*}}, %[[TB]]
// CHAN:           gpu.barrier
// CHAN-NOT:       gpu.barrier
// CHAN:           scf.yield {{.*}} : f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32
// CHAN:         memref.store %{{.*}}, %{{.*}}[{{.*}}] : memref<2x100x4xf32>
// strategy=auto: both kernels, chosen at run time by batch rows x
// channels (from 8192, the per-channel one), writing the same buffers.
// AUTO-LABEL: func.func @per_channel(
// AUTO:       %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<2x100x?xf32>
// AUTO:       %[[ROWS:.*]] = arith.muli
// AUTO:       %[[MANY:.*]] = arith.cmpi ule, %c8192{{.*}}, %[[ROWS]] : index
// AUTO:       scf.if %[[MANY]] {
// AUTO:         gpu.launch
// AUTO-NOT:     gpu.shuffle
// AUTO:         memref.store %{{.*}}, %[[Y]]
// AUTO:       } else {
// AUTO:         gpu.launch
// AUTO:         gpu.shuffle
// AUTO:       }
// AUTO:       bufferization.to_tensor %[[Y]]
// threads-per-channel=2: two lanes per channel, 2 of its 4 states each
// (read from the tiles as scalars: a thread's row of 2 is not 16-byte
// aligned), 32 channels per block of 64 threads; the loop carries 2 states
// and the next tile's u and dt; per step the two partial outputs are added
// by one xor shuffle.
// PAIR-LABEL: func.func @per_channel(
// PAIR:       %[[PBX:.*]] = arith.ceildivui %{{.*}}, %c32{{.*}} : index
// PAIR:       gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[PBX]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c64{{.*}}, {{.*}})
// PAIR:         arith.remui %[[TX]], %c2{{.*}} : index
// PAIR:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// PAIR-NOT:       vector.load %{{.*}} : memref<2x4x4xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// PAIR-NOT:       gpu.shuffle idx
// PAIR-COUNT-2:   math.exp2 %{{.*}} fastmath<afn> : f32
// PAIR:           %[[PART:.*]], %{{.*}} = gpu.shuffle xor %[[OWN:.*]], %c1_i32{{.*}}, %c32_i32{{.*}} : f32
// PAIR:           arith.addf %[[OWN]], %[[PART]] : f32
// PAIR-COUNT-2:   math.exp2 %{{.*}} fastmath<afn> : f32
// PAIR:           gpu.shuffle xor
// PAIR:           scf.yield {{.*}} : f32, f32, f32, f32, f32, f32, f32, f32, f32, f32
func.func @per_channel(%u: tensor<2x100x?xf32>, %dt: tensor<2x100x?xf32>, %A: tensor<100x4xf32>,
                       %B: tensor<2x4x?xf32>, %C: tensor<2x4x?xf32>) -> (tensor<2x100x?xf32>, tensor<2x100x4xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C
      : (tensor<2x100x?xf32>, tensor<2x100x?xf32>, tensor<100x4xf32>, tensor<2x4x?xf32>, tensor<2x4x?xf32>)
      -> tensor<2x100x?xf32>, tensor<2x100x4xf32>
  return %y, %h : tensor<2x100x?xf32>, tensor<2x100x4xf32>
}

// -----

// threads-per-channel=2 with softplus and a gate: each lane of a pair
// evaluates softplus and SiLU for half of the tile's 4 steps (its step of
// each pair picked by a select) and idx shuffles from the pair's two lanes
// give both lanes all 4 values (two softplus, then two SiLU, per lane and
// tile); the thread's 4 of the 8 states start on a
// multiple of 4, so each step reads them as one vector per tile.
// PAIR-LABEL: func.func @per_channel_gated(
// PAIR:         scf.for
// PAIR:           arith.divf %{{.*}}, %{{.*}} fastmath<afn> : f32
// PAIR-NOT:       arith.divf
// PAIR:           gpu.shuffle idx %[[V0:.*]], %[[L0:.*]], %c32_i32{{.*}} : f32
// PAIR-NOT:       arith.divf
// PAIR:           gpu.shuffle idx %[[V0]], %[[L1:.*]], %c32_i32{{.*}} : f32
// PAIR:           arith.divf %{{.*}}, %{{.*}} fastmath<afn> : f32
// PAIR-NOT:       arith.divf
// PAIR:           gpu.shuffle idx %[[V1:.*]], %[[L0]], %c32_i32{{.*}} : f32
// PAIR-NOT:       arith.divf
// PAIR:           gpu.shuffle idx %[[V1]], %[[L1]], %c32_i32{{.*}} : f32
// PAIR:           arith.divf %{{.*}}, %{{.*}} fastmath<afn> : f32
// PAIR-NOT:       arith.divf
// PAIR:           gpu.shuffle idx %[[V2:.*]], %[[L0]], %c32_i32{{.*}} : f32
// PAIR-NOT:       arith.divf
// PAIR:           gpu.shuffle idx %[[V2]], %[[L1]], %c32_i32{{.*}} : f32
// PAIR:           arith.divf %{{.*}}, %{{.*}} fastmath<afn> : f32
// PAIR-NOT:       arith.divf
// PAIR:           gpu.shuffle idx %[[V3:.*]], %[[L0]], %c32_i32{{.*}} : f32
// PAIR-NOT:       arith.divf
// PAIR:           gpu.shuffle idx %[[V3]], %[[L1]], %c32_i32{{.*}} : f32
// PAIR-NOT:       arith.divf
// PAIR:           vector.load %{{.*}} {alignment = 16 : i64} : memref<2x4x8xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// PAIR:           vector.load %{{.*}} {alignment = 16 : i64} : memref<2x4x8xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// PAIR-COUNT-4:   math.exp2 %{{.*}} fastmath<afn> : f32
// PAIR:           gpu.shuffle xor
// PAIR:           gpu.barrier
// PAIR:           scf.yield
func.func @per_channel_gated(%u: tensor<1x40x?xf32>, %dt: tensor<1x40x?xf32>, %A: tensor<40x8xf32>,
                             %B: tensor<1x8x?xf32>, %C: tensor<1x8x?xf32>, %z: tensor<1x40x?xf32>,
                             %bias: tensor<40xf32>) -> tensor<1x40x?xf32> {
  %y = ssm.selective_scan channel_first %u, %dt, %A, %B, %C
      z(%z : tensor<1x40x?xf32>) delta_bias(%bias : tensor<40xf32>) delta_softplus
      : (tensor<1x40x?xf32>, tensor<1x40x?xf32>, tensor<40x8xf32>, tensor<1x8x?xf32>, tensor<1x8x?xf32>)
      -> tensor<1x40x?xf32>
  return %y : tensor<1x40x?xf32>
}

// -----

// A uniform along the states (Mamba-2's one decay per head, here a
// linalg.broadcast): the thread's 2 decays and its composite complement's
// exp2 come once per chunk, before the state loop, from A's first column;
// the state loop has no exp2 and loads no A. A per-state A (@scan above)
// has them in the loop.
// CHECK-LABEL: func.func @uniform_decay(
// CHECK:       gpu.launch
// CHECK:         scf.for
// CHECK:           memref.load %{{.*}}[%{{.*}}, %c0{{.*}}] : memref<8x4xf32>
// CHECK-COUNT-3:   math.exp2 %{{.*}} fastmath<afn> : f32
// CHECK:           scf.for %{{.*}} = %{{.*}} to %c4{{.*}} step %{{.*}} iter_args
// CHECK-NOT:         math.exp2
// CHECK-NOT:         memref<8x4xf32>
// CHECK:             gpu.barrier
// CHECK-NOT:         math.exp2
// CHECK:             scf.yield {{.*}} : f32, f32
// The per-channel kernel: A's first column once, before the tile loop;
// in the loop, for 4 steps, 5 exp2: one per step (not one per state) and
// one for the complement of all 4 states at the tile's end.
// CHAN-LABEL: func.func @uniform_decay(
// CHAN:         memref.load %{{.*}}[%{{.*}}, %c0{{.*}}] : memref<8x4xf32>
// CHAN-NOT:     memref<8x4xf32>
// CHAN:         scf.for %{{.*}} iter_args
// CHAN-NOT:       memref<8x4xf32>
// CHAN-COUNT-5:   math.exp2 %{{.*}} fastmath<afn> : f32
// CHAN-NOT:       math.exp2
// CHAN-NOT:       memref<8x4xf32>
// CHAN:           gpu.barrier
// CHAN:           scf.yield
func.func @uniform_decay(%u: tensor<2x8x?xf32>, %dt: tensor<2x8x?xf32>, %a: tensor<8xf32>,
                         %B: tensor<2x4x?xf32>) -> tensor<2x8x?xf32> {
  %e = tensor.empty() : tensor<8x4xf32>
  %A = linalg.broadcast ins(%a : tensor<8xf32>) outs(%e : tensor<8x4xf32>) dimensions = [1]
  %y = ssm.selective_scan channel_first %u, %dt, %A, %B, %B
      : (tensor<2x8x?xf32>, tensor<2x8x?xf32>, tensor<8x4xf32>, tensor<2x4x?xf32>, tensor<2x4x?xf32>) -> tensor<2x8x?xf32>
  return %y : tensor<2x8x?xf32>
}

// -----

// What the GPU path declines stays for the host's lowerings: f64, complex
// A (S4D), a dynamic n, n above 512.

// CHECK-LABEL: func.func @declined(
// CHECK-NOT:   gpu.launch
// CHECK-COUNT-4: ssm.selective_scan
func.func @declined(%u: tensor<1x4x8xf64>, %A: tensor<4x2xf64>, %B: tensor<4x2xf64>,
                    %uc: tensor<1x4x8xf32>, %Ac: tensor<4x2xcomplex<f32>>, %Bc: tensor<4x2xcomplex<f32>>,
                    %Ad: tensor<4x?xf32>, %Bd: tensor<4x?xf32>,
                    %Ab: tensor<4x513xf32>, %Bb: tensor<4x513xf32>)
    -> (tensor<1x4x8xf64>, tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>) {
  %0 = ssm.selective_scan channel_first %u, %u, %A, %B, %B
      : (tensor<1x4x8xf64>, tensor<1x4x8xf64>, tensor<4x2xf64>, tensor<4x2xf64>, tensor<4x2xf64>) -> tensor<1x4x8xf64>
  %1 = ssm.selective_scan channel_first %uc, %uc, %Ac, %Bc, %Bc
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xcomplex<f32>>, tensor<4x2xcomplex<f32>>, tensor<4x2xcomplex<f32>>) -> tensor<1x4x8xf32>
  %2 = ssm.selective_scan channel_first %uc, %uc, %Ad, %Bd, %Bd
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x?xf32>, tensor<4x?xf32>, tensor<4x?xf32>) -> tensor<1x4x8xf32>
  %3 = ssm.selective_scan channel_first %uc, %uc, %Ab, %Bb, %Bb
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x513xf32>, tensor<4x513xf32>, tensor<4x513xf32>) -> tensor<1x4x8xf32>
  return %0, %1, %2, %3 : tensor<1x4x8xf64>, tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>
}

// -----

// The conv: one thread per output, threads along time (channel_first);
// blocks = time tiles x channels (flattened), batch rows; the final state
// is a second kernel, a thread per channel.

// CHECK-LABEL: func.func @conv(
// CHECK:       %[[TILES:.*]] = arith.ceildivui %{{.*}}, %c256 : index
// CHECK:       %[[GX:.*]] = arith.muli %[[TILES]], %{{.*}} : index
// CHECK:       gpu.launch blocks(%[[BX:.*]], %[[BI:.*]], %{{.*}}) in (%{{.*}} = %[[GX]], {{.*}} threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c256{{.*}}, {{.*}}) {
// CHECK:         %[[ROW:.*]] = arith.divui %[[BX]], %[[TILES]] : index
// CHECK:         scf.if
// CHECK:           scf.for
// CHECK:           memref.store %{{.*}}, %{{.*}}[%[[BI]], %[[ROW]], %{{.*}}] : memref<2x3x?xf32>
// CHECK:         gpu.terminator
// CHECK:       gpu.launch
// CHECK:         memref.store %{{.*}} : memref<2x3x3xf32>
// CHECK-NOT:   ssm.causal_conv1d
func.func @conv(%x: tensor<2x3x?xf32>, %w: tensor<3x4xf32>, %s: tensor<2x3x3xf32>)
    -> (tensor<2x3x?xf32>, tensor<2x3x3xf32>) {
  %y, %f = ssm.causal_conv1d channel_first %x, %w conv_state(%s : tensor<2x3x3xf32>) silu
      : tensor<2x3x?xf32>, tensor<3x4xf32> -> tensor<2x3x?xf32>, tensor<2x3x3xf32>
  return %y, %f : tensor<2x3x?xf32>, tensor<2x3x3xf32>
}

// -----

// n = 512 with 32 warps would need 264 KiB of shared memory: declined.
// RUN: ssm-opt %s --ssm-lower-to-gpu="max-threads=1024" -split-input-file | FileCheck %s --check-prefix=BIG

// BIG-LABEL: func.func @big_shared(
// BIG-NOT:   gpu.launch
// BIG:       ssm.selective_scan
func.func @big_shared(%u: tensor<1x2x8xf32>, %A: tensor<2x512xf32>, %B: tensor<2x512xf32>)
    -> tensor<1x2x8xf32> {
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %B
      : (tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<2x512xf32>, tensor<2x512xf32>, tensor<2x512xf32>) -> tensor<1x2x8xf32>
  return %y : tensor<1x2x8xf32>
}
