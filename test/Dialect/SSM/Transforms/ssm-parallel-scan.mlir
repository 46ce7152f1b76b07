// RUN: ssm-opt %s --ssm-parallel-scan="num-threads=2" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: ssm-opt %s --ssm-parallel-scan="chunks=3 block=16" --split-input-file | FileCheck %s --check-prefix=FORCED
// RUN: not ssm-opt %s --ssm-parallel-scan="block=0" 2>&1 | FileCheck %s --check-prefix=BAD

// The cost model, 2 threads: one 16-channel tile and 2^17 steps -> two
// chunks of 65536 steps (min-chunk-length), blocks of 1024 steps.
// Phase 1: chunks in parallel from zeros (no h0 given), each recording its
// state at every block's end. Phase 2: chunks 1.. in parallel, recomputed
// from the previous chunk's end until the state meets the recorded one bit
// for bit (une compare), then skipped. Phase 3: chunks 2.. in order, redone
// from the true end of the chunk before when it differs from the one phase
// 2 started from.
// CHECK-LABEL: func.func @one_tile
// CHECK: %[[P1:.*]]:3 = scf.forall (%[[K:.*]]) in (%{{.*}}) shared_outs(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<?x1x16x4xf32>, tensor<?x?x1x16x4xf32>, tensor<1x16x131072xf32>)
// CHECK:   arith.muli %[[K]], %{{.*}}
// CHECK:   scf.for {{.*}} iter_args
// CHECK:     ssm.selective_scan channel_first {{.*}} h0(
// CHECK:     tensor.insert_slice %{{.*}} : tensor<1x16x?xf32> into tensor<1x16x?xf32>
// CHECK:     tensor.insert_slice %{{.*}} : tensor<1x16x4xf32> into tensor<?x1x16x4xf32>
// CHECK:   scf.forall.in_parallel
// CHECK: %[[P2:.*]]:2 = scf.forall (%{{.*}}) = (%c1) to (%{{.*}}) step (1) shared_outs(%{{.*}} = %[[P1]]#0, %{{.*}} = %[[P1]]#2)
// CHECK:   scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[MET:.*]] = %false, %{{.*}} = %{{.*}})
// CHECK:     scf.if %[[MET]]
// CHECK:     } else {
// CHECK:       ssm.selective_scan channel_first
// CHECK:       linalg.generic
// CHECK:         arith.cmpf une
// CHECK: scf.for %{{.*}} = %c2{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %[[P2]]#1)
// CHECK:   scf.if
// CHECK:     ssm.selective_scan channel_first
func.func @one_tile(%u: tensor<1x16x131072xf32>, %dt: tensor<1x16x131072xf32>, %A: tensor<16x4xf32>,
                    %B: tensor<1x4x131072xf32>, %C: tensor<1x4x131072xf32>)
    -> (tensor<1x16x131072xf32>, tensor<1x16x4xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C
      : (tensor<1x16x131072xf32>, tensor<1x16x131072xf32>, tensor<16x4xf32>, tensor<1x4x131072xf32>, tensor<1x4x131072xf32>)
      -> tensor<1x16x131072xf32>, tensor<1x16x4xf32>
  return %y, %h : tensor<1x16x131072xf32>, tensor<1x16x4xf32>
}

// -----

// Two 16-channel tiles fill two threads: parallel over channels, the op
// stays as it is. Forced chunks rewrite it anyway.
// CHECK-LABEL: func.func @two_tiles
// CHECK-NOT: scf.forall
// CHECK: ssm.selective_scan token_major
// CHECK-NOT: scf.forall
// FORCED-LABEL: func.func @two_tiles
// FORCED: scf.forall
func.func @two_tiles(%u: tensor<1x131072x32xf32>, %dt: tensor<1x131072x32xf32>, %A: tensor<32x4xf32>,
                     %B: tensor<1x131072x4xf32>, %C: tensor<1x131072x4xf32>) -> tensor<1x131072x32xf32> {
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %C
      : (tensor<1x131072x32xf32>, tensor<1x131072x32xf32>, tensor<32x4xf32>, tensor<1x131072x4xf32>, tensor<1x131072x4xf32>)
      -> tensor<1x131072x32xf32>
  return %y : tensor<1x131072x32xf32>
}

// -----

// An empty batch: no lane tiles at all, which the cost model took for
// spare threads; the chunks' slices at offset 0 of the size-0 dimension
// did not verify. Empty scans stay as they are, forced chunks or not.
// CHECK-LABEL: func.func @empty_batch
// CHECK-NOT: scf.forall
// CHECK: ssm.selective_scan channel_first
// FORCED-LABEL: func.func @empty_batch
// FORCED-NOT: scf.forall
// FORCED: ssm.selective_scan channel_first
// FORCED-NOT: scf.forall
// FORCED: return
func.func @empty_batch(%u: tensor<0x1x131072xf32>, %dt: tensor<0x1x131072xf32>, %A: tensor<1x4xf32>,
                       %B: tensor<0x4x131072xf32>, %C: tensor<0x4x131072xf32>)
    -> (tensor<0x1x131072xf32>, tensor<0x1x4xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C
      : (tensor<0x1x131072xf32>, tensor<0x1x131072xf32>, tensor<1x4xf32>, tensor<0x4x131072xf32>, tensor<0x4x131072xf32>)
      -> tensor<0x1x131072xf32>, tensor<0x1x4xf32>
  return %y, %h : tensor<0x1x131072xf32>, tensor<0x1x4xf32>
}

// -----

// No lanes in a generic scan, forced chunks: stays as it is.
// CHECK-LABEL: func.func @empty_lanes
// CHECK: ssm.scan
// FORCED-LABEL: func.func @empty_lanes
// FORCED-NOT: scf.forall
// FORCED: ssm.scan
// FORCED-NOT: scf.forall
// FORCED: return
func.func @empty_lanes(%a: tensor<0x200000xf32>, %b: tensor<0x200000xf32>) -> tensor<0x200000xf32> {
  %h = ssm.scan %a, %b dim = 1 : tensor<0x200000xf32>, tensor<0x200000xf32> -> tensor<0x200000xf32>
  return %h : tensor<0x200000xf32>
}

// -----

// Too short for two chunks of min-chunk-length steps: sequential.
// CHECK-LABEL: func.func @short
// CHECK-NOT: scf.forall
// CHECK: ssm.scan
func.func @short(%a: tensor<4x1000xf32>, %b: tensor<4x1000xf32>) -> tensor<4x1000xf32> {
  %h = ssm.scan %a, %b dim = 1 : tensor<4x1000xf32>, tensor<4x1000xf32> -> tensor<4x1000xf32>
  return %h : tensor<4x1000xf32>
}

// -----

// ssm.scan, reverse and last_only, 3 forced chunks of T = 34 steps (100
// steps): chunk k of the scan order, of min(T, 100 - kT) steps, starts at
// 100 - kT - its size along the array; the
// first chunk starts from the given init; blocks of 16 inside; the result is
// the final state.
// FORCED-LABEL: func.func @reverse_last_only
// FORCED: scf.forall (%[[K:.*]]) in (%{{.*}}) shared_outs({{.*}}) -> (tensor<?x4xf32>, tensor<?x?x4xf32>) {
// FORCED:   %[[POS:.*]] = arith.muli %[[K]], %[[T:.*]] : index
// FORCED:   %[[LEFT:.*]] = arith.subi %c100, %[[POS]]
// FORCED:   %[[SIZE:.*]] = arith.minui %[[T]], %[[LEFT]]
// FORCED:   %[[BACK:.*]] = arith.subi %c100, %[[POS]]
// FORCED:   arith.subi %[[BACK]], %[[SIZE]]
// FORCED:   %[[FIRST:.*]] = arith.cmpi eq, %[[K]], %{{.*}}
// FORCED:   scf.if %[[FIRST]] -> (tensor<4xf32>)
// FORCED:     scf.yield %arg2
// FORCED:   ssm.scan {{.*}} init({{.*}}) dim = 1 reverse last_only
// FORCED: scf.forall
// FORCED: ssm.scan {{.*}} dim = 1 reverse last_only
// FORCED: %[[R:.*]] = scf.for %{{.*}} = %c2
// FORCED: return %[[R]] : tensor<4xf32>
func.func @reverse_last_only(%a: tensor<4x100xf32>, %b: tensor<4x100xf32>, %h0: tensor<4xf32>) -> tensor<4xf32> {
  %h = ssm.scan %a, %b init(%h0 : tensor<4xf32>) dim = 1 reverse last_only
      : tensor<4x100xf32>, tensor<4x100xf32> -> tensor<4xf32>
  return %h : tensor<4xf32>
}

// BAD: error: ssm-parallel-scan: block, min-chunk-length and lane-width must be positive, chunks not negative
