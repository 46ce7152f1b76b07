// RUN: ssm-opt %s --ssm-tile="tile-sizes=1,16 time-chunk=8" --split-input-file --verify-diagnostics | FileCheck %s
// RUN: ssm-opt %s --ssm-tile="tile-sizes=0,16 loop=for" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=FOR

// Lanes: an scf.forall over (batch, 16-channel) tiles through the op's
// TilingInterface; each tile reads slices of the lane operands and the whole
// B/C of its batch, and goes into the results with parallel_insert_slice.
// Time: chunks of 8 steps (37 = 4 * 8 + 5, so the chunk size is dynamic)
// carrying the state: h0 of chunk k is last_state of chunk k - 1, zeros
// first (no h0 given).
// CHECK-LABEL: func.func @scan
// CHECK: scf.forall (%[[B:.*]], %[[C:.*]]) = (0, 0) to (2, 40) step (1, 16) shared_outs(%[[YO:.*]] = %{{.*}}, %[[HO:.*]] = %{{.*}})
// CHECK:   %[[U:.*]] = tensor.extract_slice %{{.*}}[%[[B]], %[[C]], 0] [1, %[[SD:.*]], 37] [1, 1, 1] : tensor<2x40x37xf32> to tensor<1x?x37xf32>
// CHECK:   tensor.extract_slice %{{.*}}[%[[C]], 0] [%[[SD]], 4] [1, 1] : tensor<40x4xf32> to tensor<?x4xf32>
// CHECK:   tensor.extract_slice %{{.*}}[%[[B]], 0, 0] [1, 4, 37] [1, 1, 1] : tensor<2x4x37xf32> to tensor<1x4x37xf32>
// CHECK:   %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x?x4xf32>)
// CHECK:   %[[CH:.*]]:2 = scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[YA:.*]] = %{{.*}}, %[[H:.*]] = %[[Z]])
// CHECK:     %[[T0:.*]] = arith.muli %[[K]], %c8
// CHECK:     %[[UC:.*]] = tensor.extract_slice %[[U]][0, 0, %[[T0]]] [1, %{{.*}}, %[[N:.*]]] [1, 1, 1] : tensor<1x?x37xf32> to tensor<1x?x?xf32>
// CHECK:     %[[Y:.*]], %[[LAST:.*]] = ssm.selective_scan channel_first %[[UC]], {{.*}} h0(%[[H]] : tensor<1x?x4xf32>) delta_softplus
// CHECK:     %[[YI:.*]] = tensor.insert_slice %[[Y]] into %[[YA]][0, 0, %[[T0]]]
// CHECK:     scf.yield %[[YI]], %[[LAST]]
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %[[CH]]#0 into %[[YO]][%[[B]], %[[C]], 0]
// CHECK:     tensor.parallel_insert_slice %[[CH]]#1 into %[[HO]][%[[B]], %[[C]], 0]
// FOR-LABEL: func.func @scan
// FOR: scf.for %[[C:.*]] = %c0 to %c40 step %c16 iter_args
// FOR:   tensor.extract_slice %{{.*}}[0, %[[C]], 0] [2, %{{.*}}, 37]
// FOR:   ssm.selective_scan
// FOR:   tensor.insert_slice
// FOR-NOT: scf.for
// FOR: return
func.func @scan(%u: tensor<2x40x37xf32>, %dt: tensor<2x40x37xf32>, %A: tensor<40x4xf32>,
                %B: tensor<2x4x37xf32>, %C: tensor<2x4x37xf32>, %D: tensor<40xf32>)
    -> (tensor<2x40x37xf32>, tensor<2x40x4xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C D(%D : tensor<40xf32>) delta_softplus
      : (tensor<2x40x37xf32>, tensor<2x40x37xf32>, tensor<40x4xf32>, tensor<2x4x37xf32>, tensor<2x4x37xf32>)
      -> tensor<2x40x37xf32>, tensor<2x40x4xf32>
  return %y, %h : tensor<2x40x37xf32>, tensor<2x40x4xf32>
}

// -----

// token_major with grouped B (2 groups of 16 channels): a tile of 16
// channels reads one group, group = channel offset / 16; the given h0 starts
// the chain of chunks; 32 steps make 4 chunks of a static 8.
// CHECK-LABEL: func.func @grouped_token_major
// CHECK: scf.forall (%[[B:.*]], %[[C:.*]]) = (0, 0) to (1, 32) step (1, 16)
// CHECK:   %[[G:.*]] = arith.divui %[[C]], %c16
// CHECK:   tensor.extract_slice %{{.*}}[%[[B]], 0, %[[G]], 0] [1, 32, 1, 2] [1, 1, 1, 1] : tensor<1x32x2x2xf32> to tensor<1x32x1x2xf32>
// CHECK:   %[[H0:.*]] = tensor.extract_slice %{{.*}}[%[[B]], %[[C]], 0] [1, 16, 2]
// CHECK:   scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[H:.*]] = %[[H0]])
// CHECK:     tensor.extract_slice %{{.*}}[0, %{{.*}}, 0, 0] [1, 8, 1, 2] [1, 1, 1, 1] : tensor<1x32x1x2xf32> to tensor<1x8x1x2xf32>
// CHECK:     ssm.selective_scan token_major {{.*}} h0(%[[H]] : tensor<1x16x2xf32>) : (tensor<1x8x16xf32>
func.func @grouped_token_major(%u: tensor<1x32x32xf32>, %A: tensor<32x2xf32>, %B: tensor<1x32x2x2xf32>,
                               %h0: tensor<1x32x2xf32>) -> tensor<1x32x32xf32> {
  %y = ssm.selective_scan token_major %u, %u, %A, %B, %B h0(%h0 : tensor<1x32x2xf32>)
      : (tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<32x2xf32>, tensor<1x32x2x2xf32>, tensor<1x32x2x2xf32>)
      -> tensor<1x32x32xf32>
  return %y : tensor<1x32x32xf32>
}

// -----

// A channel tile that splits a group is an error.
func.func @split_group(%u: tensor<1x40x8xf32>, %A: tensor<40x2xf32>, %B: tensor<1x2x2x8xf32>) -> tensor<1x40x8xf32> {
  // expected-error @below {{a channel tile must cover whole groups of a grouped B or C (20 channels per group)}}
  // expected-error @below {{faild to tile operation}}
  // expected-error @below {{failed to generate tiling loops}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %B
      : (tensor<1x40x8xf32>, tensor<1x40x8xf32>, tensor<40x2xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>)
      -> tensor<1x40x8xf32>
  return %y : tensor<1x40x8xf32>
}

// -----

// The conv's chunks carry the conv state (given here) through
// conv_state / final_state.
// CHECK-LABEL: func.func @conv
// CHECK: scf.forall
// CHECK:   %[[S0:.*]] = tensor.extract_slice %{{.*}} : tensor<2x20x3xf32> to tensor<1x?x3xf32>
// CHECK:   scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[S:.*]] = %[[S0]])
// CHECK:     %{{.*}}, %[[F:.*]] = ssm.causal_conv1d channel_first %{{.*}}, %{{.*}} bias(%{{.*}} : tensor<?xf32>) conv_state(%[[S]] : tensor<1x?x3xf32>) silu
// CHECK:     scf.yield %{{.*}}, %[[F]]
func.func @conv(%x: tensor<2x20x30xf32>, %w: tensor<20x4xf32>, %b: tensor<20xf32>, %s: tensor<2x20x3xf32>)
    -> tensor<2x20x30xf32> {
  %y = ssm.causal_conv1d channel_first %x, %w bias(%b : tensor<20xf32>) conv_state(%s : tensor<2x20x3xf32>) silu
      : tensor<2x20x30xf32>, tensor<20x4xf32> -> tensor<2x20x30xf32>
  return %y : tensor<2x20x30xf32>
}

// -----

// ssm.scan: lanes are the dimensions other than `dim`; a reverse scan's
// chunks go from the end and carry the value at the chunk's first step.
// CHECK-LABEL: func.func @reverse_scan
// CHECK: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (3, 5) step (1, 16)
// CHECK:   scf.for {{.*}} iter_args(%[[H:.*]] = %{{.*}}, %{{.*}} = %{{.*}})
// CHECK:     %[[END:.*]] = arith.minui
// CHECK:     %[[START:.*]] = arith.subi %c20, %[[END]]
// CHECK:     %[[P:.*]] = ssm.scan %{{.*}}, %{{.*}} init(%[[H]] : tensor<1x?xf32>) dim = 1 reverse
// CHECK:     %[[CARRY:.*]] = tensor.extract_slice %[[P]][0, 0, 0] [1, 1, %{{.*}}] [1, 1, 1] : tensor<1x?x?xf32> to tensor<1x?xf32>
// CHECK:     tensor.insert_slice %[[P]] into %{{.*}}[0, %[[START]], 0]
// CHECK:     scf.yield %[[CARRY]]
func.func @reverse_scan(%a: tensor<3x20x5xf32>, %b: tensor<3x20x5xf32>) -> tensor<3x20x5xf32> {
  %h = ssm.scan %a, %b dim = 1 reverse : tensor<3x20x5xf32>, tensor<3x20x5xf32> -> tensor<3x20x5xf32>
  return %h : tensor<3x20x5xf32>
}

// -----

// last_only: each chunk's result is the carry.
// CHECK-LABEL: func.func @last_only
// CHECK: scf.for {{.*}} iter_args(%[[H:.*]] = %{{.*}}) -> (tensor<1xf32>)
// CHECK:   %[[P:.*]] = ssm.scan {{.*}} init(%[[H]] : tensor<1xf32>) dim = 1 last_only
// CHECK:   scf.yield %[[P]]
func.func @last_only(%a: tensor<4x19xf32>, %b: tensor<4x19xf32>) -> tensor<4xf32> {
  %h = ssm.scan %a, %b dim = 1 last_only : tensor<4x19xf32>, tensor<4x19xf32> -> tensor<4xf32>
  return %h : tensor<4xf32>
}

// Bad options are reported with the pass's name.
// RUN: not ssm-opt %s --ssm-tile="loop=while" --split-input-file 2>&1 | FileCheck %s --check-prefix=LOOP
// LOOP: ssm-tile: loop must be forall or for, not 'while'
// RUN: not ssm-opt %s --ssm-tile="time-chunk=-4" --split-input-file 2>&1 | FileCheck %s --check-prefix=NEG
// NEG: ssm-tile: tile sizes and time-chunk must not be negative
