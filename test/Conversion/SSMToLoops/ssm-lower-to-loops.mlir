// RUN: ssm-opt %s --ssm-lower-to-loops --split-input-file | FileCheck %s

// The selective scan: y zeroed, one recurrence per (batch, channel, state)
// carried through time, the C contraction accumulated into y, the last state
// stored after the time loop, then the D skip and the SiLU gate.
// CHECK-LABEL: func.func @selective_scan
// CHECK-DAG: %[[U:.*]] = bufferization.to_buffer %arg0 read_only : tensor<2x8x64xf32> to memref<2x8x64xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-DAG: %[[Y:.*]] = memref.alloc() : memref<2x8x64xf32>
// CHECK-DAG: %[[H:.*]] = memref.alloc() : memref<2x8x16xf32>
// CHECK: scf.for %[[B:[a-z0-9_]+]] = {{.*}} {
// CHECK:   scf.for %[[C:[a-z0-9_]+]] = {{.*}} {
// CHECK:     scf.for %[[T0:[a-z0-9_]+]] = {{.*}} {
// CHECK:       memref.store %{{.*}}, %[[Y]][%[[B]], %[[C]], %[[T0]]]
// CHECK:     scf.for %[[J:[a-z0-9_]+]] = {{.*}} {
// CHECK:       %[[A:.*]] = memref.load %{{.*}}[%[[C]], %[[J]]]
// CHECK:       %[[HEND:.*]] = scf.for %[[T:[a-z0-9_]+]] = {{.*}} iter_args(%[[HC:.*]] = %{{.*}}) -> (f32) {
// CHECK:         %[[DT:.*]] = memref.load %{{.*}}[%[[B]], %[[C]], %[[T]]]
// CHECK:         %[[DTB:.*]] = arith.addf %[[DT]]
// CHECK:         math.exp %[[DTB]]
// CHECK:         math.log
// CHECK:         arith.cmpf ogt
// CHECK:         %[[SP:.*]] = arith.select
// CHECK:         %[[UV:.*]] = memref.load %[[U]][%[[B]], %[[C]], %[[T]]]
// CHECK:         %[[BV:.*]] = memref.load %{{.*}}[%[[B]], %[[J]], %[[T]]]
// CHECK:         %[[CV:.*]] = memref.load %{{.*}}[%[[C]], %[[J]]]
// CHECK:         %[[DA:.*]] = arith.mulf %[[SP]], %[[A]]
// CHECK:         %[[DECAY:.*]] = math.exp %[[DA]]
// CHECK:         %[[HD:.*]] = arith.mulf %[[DECAY]], %[[HC]]
// CHECK:         %[[DB:.*]] = arith.mulf %[[SP]], %[[BV]]
// CHECK:         %[[DBU:.*]] = arith.mulf %[[DB]], %[[UV]]
// CHECK:         %[[HN:.*]] = arith.addf %[[HD]], %[[DBU]]
// CHECK:         %[[YV:.*]] = memref.load %[[Y]][%[[B]], %[[C]], %[[T]]]
// CHECK:         %[[CH:.*]] = arith.mulf %[[CV]], %[[HN]]
// CHECK:         %[[YN:.*]] = arith.addf %[[YV]], %[[CH]]
// CHECK:         memref.store %[[YN]], %[[Y]][%[[B]], %[[C]], %[[T]]]
// CHECK:         scf.yield %[[HN]] : f32
// CHECK:       memref.store %[[HEND]], %[[H]][%[[B]], %[[C]], %[[J]]]
// CHECK:     scf.for
// CHECK:       arith.mulf
// CHECK:       arith.addf
// CHECK:       arith.negf
// CHECK:       math.exp
// CHECK:       arith.divf
// CHECK: %[[YT:.*]] = bufferization.to_tensor %[[Y]] restrict writable
// CHECK: %[[HT:.*]] = bufferization.to_tensor %[[H]] restrict writable
// CHECK: return %[[YT]], %[[HT]]
// CHECK-NOT: ssm.
func.func @selective_scan(%u: tensor<2x8x64xf32>, %dt: tensor<2x8x64xf32>, %A: tensor<8x16xf32>,
                          %B: tensor<2x16x64xf32>, %C: tensor<8x16xf32>, %D: tensor<8xf32>,
                          %z: tensor<2x8x64xf32>, %bias: tensor<8xf32>)
    -> (tensor<2x8x64xf32>, tensor<2x8x16xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C D(%D : tensor<8xf32>)
      z(%z : tensor<2x8x64xf32>) delta_bias(%bias : tensor<8xf32>) delta_softplus
      : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>, tensor<2x16x64xf32>, tensor<8x16xf32>)
      -> tensor<2x8x64xf32>, tensor<2x8x16xf32>
  return %y, %h : tensor<2x8x64xf32>, tensor<2x8x16xf32>
}

// -----

// Token-major with grouped C: time is dimension 1, the group index c / (d/g).
// CHECK-LABEL: func.func @token_major_grouped
// CHECK: %[[G:.*]] = memref.dim %{{.*}} : memref<?x?x2x3xf32
// CHECK: %[[PER:.*]] = arith.divui %{{.*}}, %[[G]]
// CHECK: scf.for %[[B:[a-z0-9_]+]] =
// CHECK:   scf.for %[[C:[a-z0-9_]+]] =
// CHECK:     %[[GRP:.*]] = arith.divui %[[C]], %[[PER]]
// CHECK:     scf.for %[[J:[a-z0-9_]+]] =
// CHECK:       scf.for %[[T:[a-z0-9_]+]] =
// CHECK:         memref.load %{{.*}}[%[[B]], %[[T]], %[[C]]]
// CHECK:         memref.load %{{.*}}[%[[B]], %[[T]], %[[GRP]], %[[J]]]
func.func @token_major_grouped(%u: tensor<?x?x6xf32>, %A: tensor<6x3xf32>, %C: tensor<?x?x2x3xf32>)
    -> tensor<?x?x6xf32> {
  %y = ssm.selective_scan token_major %u, %u, %A, %A, %C
      : (tensor<?x?x6xf32>, tensor<?x?x6xf32>, tensor<6x3xf32>, tensor<6x3xf32>, tensor<?x?x2x3xf32>)
      -> tensor<?x?x6xf32>
  return %y : tensor<?x?x6xf32>
}

// -----

// The generic recurrence: one loop per lane dimension, then time; reverse
// walks t = L-1-step; last_only stores only the final state.
// CHECK-LABEL: func.func @linear_scan
// CHECK: %[[L:.*]] = memref.dim %{{.*}}, %c1
// CHECK: %[[LAST:.*]] = arith.subi %[[L]], %c1
// CHECK: scf.for %[[I:[a-z0-9_]+]] =
// CHECK:   %[[H0:.*]] = memref.load %{{.*}}[%[[I]]]
// CHECK:   %[[HE:.*]] = scf.for %[[S:[a-z0-9_]+]] = %c0{{.*}} to %[[L]] {{.*}} iter_args(%[[H:.*]] = %[[H0]])
// CHECK:     %[[T:.*]] = arith.subi %[[LAST]], %[[S]]
// CHECK:     %[[A:.*]] = memref.load %{{.*}}[%[[I]], %[[T]]]
// CHECK:     %[[AH:.*]] = arith.mulf %[[A]], %[[H]]
// CHECK:     %[[B:.*]] = memref.load %{{.*}}[%[[I]], %[[T]]]
// CHECK:     %[[HN:.*]] = arith.addf %[[AH]], %[[B]]
// CHECK-NOT: memref.store
// CHECK:     scf.yield %[[HN]]
// CHECK:   memref.store %[[HE]], %{{.*}}[%[[I]]]
func.func @linear_scan(%a: tensor<4x?xf32>, %b: tensor<4x?xf32>, %h0: tensor<4xf32>) -> tensor<4xf32> {
  %h = ssm.scan %a, %b init(%h0 : tensor<4xf32>) dim = 1 reverse last_only
      : tensor<4x?xf32>, tensor<4x?xf32> -> tensor<4xf32>
  return %h : tensor<4xf32>
}

// -----

// The causal conv: k taps per step, inputs before t = 0 from the conv state.
// CHECK-LABEL: func.func @conv
// CHECK: scf.for %[[B:[a-z0-9_]+]] =
// CHECK:   scf.for %[[C:[a-z0-9_]+]] =
// CHECK:     scf.for %[[T:[a-z0-9_]+]] =
// CHECK:       %[[BIAS:.*]] = memref.load %{{.*}}[%[[C]]]
// CHECK:       scf.for %[[I:[a-z0-9_]+]] = {{.*}} iter_args(%[[ACC:.*]] = %[[BIAS]])
// CHECK:         %[[P:.*]] = arith.addi
// CHECK:         %[[W:.*]] = memref.load %{{.*}}[%[[C]], %[[I]]]
// CHECK:         %[[IN:.*]] = arith.cmpi sge, %[[P]], %c0
// CHECK:         scf.if %[[IN]] -> (f32) {
// CHECK:           memref.load %{{.*}}[%[[B]], %[[C]], %[[P]]]
// CHECK:         } else {
// CHECK:           %[[SLOT:.*]] = arith.addi %{{.*}}, %[[P]]
// CHECK:           memref.load %{{.*}}[%[[B]], %[[C]], %[[SLOT]]]
// CHECK:     scf.for %[[S:[a-z0-9_]+]] =
// CHECK:       memref.store %{{.*}}, %{{.*}}[%[[B]], %[[C]], %[[S]]]
func.func @conv(%x: tensor<2x8x64xf32>, %w: tensor<8x4xf32>, %b: tensor<8xf32>, %s: tensor<2x8x3xf32>)
    -> (tensor<2x8x64xf32>, tensor<2x8x3xf32>) {
  %y, %fin = ssm.causal_conv1d channel_first %x, %w bias(%b : tensor<8xf32>) conv_state(%s : tensor<2x8x3xf32>) silu
      : tensor<2x8x64xf32>, tensor<8x4xf32> -> tensor<2x8x64xf32>, tensor<2x8x3xf32>
  return %y, %fin : tensor<2x8x64xf32>, tensor<2x8x3xf32>
}

// -----

// Complex A (S4D): the state is carried as a complex value; the arithmetic
// runs on its parts: exp(dt Re A) (cos(dt Im A) + i sin(dt Im A)) times h,
// plus dt u B, and y accumulates 2 Re(C h).
// CHECK-LABEL: func.func @complex_scan
// CHECK: %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK: %[[A:.*]] = memref.load {{.*}} : memref<4x2xcomplex<f32>, strided<[?, ?], offset: ?>>
// CHECK-DAG: %[[AR:.*]] = complex.re %[[A]]
// CHECK-DAG: %[[AI:.*]] = complex.im %[[A]]
// CHECK: %[[H:.*]] = scf.for {{.*}} iter_args(%[[HC:.*]] = %{{.*}}) -> (complex<f32>)
// CHECK:   %[[DT:.*]] = memref.load
// CHECK:   %[[MAG:.*]] = math.exp
// CHECK:   math.cos
// CHECK:   math.sin
// CHECK:   complex.re %[[HC]]
// CHECK:   complex.im %[[HC]]
// CHECK:   arith.mulf %[[TWO]]
// CHECK:   %[[NEXT:.*]] = complex.create
// CHECK:   scf.yield %[[NEXT]] : complex<f32>
// CHECK: memref.store %[[H]], {{.*}} : memref<1x4x2xcomplex<f32>>
func.func @complex_scan(%u: tensor<1x8x4xf32>, %A: tensor<4x2xcomplex<f32>>)
    -> (tensor<1x8x4xf32>, tensor<1x4x2xcomplex<f32>>) {
  %y, %last = ssm.selective_scan token_major %u, %u, %A, %A, %A
      : (tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<4x2xcomplex<f32>>, tensor<4x2xcomplex<f32>>, tensor<4x2xcomplex<f32>>) -> tensor<1x8x4xf32>, tensor<1x4x2xcomplex<f32>>
  return %y, %last : tensor<1x8x4xf32>, tensor<1x4x2xcomplex<f32>>
}
