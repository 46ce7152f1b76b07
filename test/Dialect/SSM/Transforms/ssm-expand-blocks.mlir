// RUN: ssm-opt %s --ssm-expand-blocks --split-input-file | FileCheck %s

// The Mamba block: in_proj, the x / z halves, the conv (SiLU, states),
// x_proj split into dt / B / C, dt_proj, A = -exp(A_log), the token-major
// scan with D, z, the dt bias, softplus and the ssm state, then out_proj.

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @block(
// CHECK-SAME: %[[H:[^:]+]]: tensor<2x5x8xf32>, %[[WIN:[^:]+]]: tensor<32x8xf32>, %[[CW:[^:]+]]: tensor<16x4xf32>, %[[CB:[^:]+]]: tensor<16xf32>, %[[WX:[^:]+]]: tensor<9x16xf32>, %[[WDT:[^:]+]]: tensor<16x1xf32>, %[[BDT:[^:]+]]: tensor<16xf32>, %[[ALOG:[^:]+]]: tensor<16x4xf32>, %[[D:[^:]+]]: tensor<16xf32>, %[[WOUT:[^:]+]]: tensor<8x16xf32>, %[[CS:[^:]+]]: tensor<2x16x3xf32>, %[[SS:[^:]+]]: tensor<2x16x4xf32>)
// CHECK: %[[XZ:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[H]], %[[WIN]] : {{.*}}) outs(%{{.*}} : tensor<2x5x32xf32>)
// CHECK-DAG: %[[XS:.*]] = tensor.extract_slice %[[XZ]][0, 0, 0] [2, 5, 16] [1, 1, 1]
// CHECK-DAG: %[[Z:.*]] = tensor.extract_slice %[[XZ]][0, 0, 16] [2, 5, 16] [1, 1, 1]
// CHECK: %[[U:.*]], %[[FS:.*]] = ssm.causal_conv1d token_major %[[XS]], %[[CW]] bias(%[[CB]] : tensor<16xf32>) conv_state(%[[CS]] : tensor<2x16x3xf32>) silu
// CHECK: %[[DBC:.*]] = linalg.generic {{.*}} ins(%[[U]], %[[WX]] : {{.*}}) outs(%{{.*}} : tensor<2x5x9xf32>)
// CHECK-DAG: %[[DT:.*]] = tensor.extract_slice %[[DBC]][0, 0, 0] [2, 5, 1] [1, 1, 1]
// CHECK-DAG: %[[B:.*]] = tensor.extract_slice %[[DBC]][0, 0, 1] [2, 5, 4] [1, 1, 1]
// CHECK-DAG: %[[C:.*]] = tensor.extract_slice %[[DBC]][0, 0, 5] [2, 5, 4] [1, 1, 1]
// CHECK: %[[DELTA:.*]] = linalg.generic {{.*}} ins(%[[DT]], %[[WDT]] : {{.*}}) outs(%{{.*}} : tensor<2x5x16xf32>)
// CHECK: %[[A:.*]] = linalg.generic {{.*}} ins(%[[ALOG]] : tensor<16x4xf32>)
// CHECK:   math.exp
// CHECK:   arith.negf
// CHECK: %[[Y:.*]], %[[LAST:.*]] = ssm.selective_scan token_major %[[U]], %[[DELTA]], %[[A]], %[[B]], %[[C]] D(%[[D]] : tensor<16xf32>) z(%[[Z]] : tensor<2x5x16xf32>) delta_bias(%[[BDT]] : tensor<16xf32>) h0(%[[SS]] : tensor<2x16x4xf32>) delta_softplus
// CHECK: %[[OUTV:.*]] = linalg.generic {{.*}} ins(%[[Y]], %[[WOUT]] : {{.*}}) outs(%{{.*}} : tensor<2x5x8xf32>)
// CHECK: return %[[OUTV]], %[[FS]], %[[LAST]]
// CHECK-NOT: ssm.mamba_block
func.func @block(%h: tensor<2x5x8xf32>, %win: tensor<32x8xf32>, %cw: tensor<16x4xf32>, %cb: tensor<16xf32>,
                 %wx: tensor<9x16xf32>, %wdt: tensor<16x1xf32>, %bdt: tensor<16xf32>, %alog: tensor<16x4xf32>,
                 %d: tensor<16xf32>, %wout: tensor<8x16xf32>, %cs: tensor<2x16x3xf32>, %ss: tensor<2x16x4xf32>)
    -> (tensor<2x5x8xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32>) {
  %out, %cs2, %ss2 = ssm.mamba_block %h in_proj(%win : tensor<32x8xf32>)
      conv(%cw : tensor<16x4xf32>) conv_bias(%cb : tensor<16xf32>)
      x_proj(%wx : tensor<9x16xf32>) dt_proj(%wdt : tensor<16x1xf32>)
      dt_bias(%bdt : tensor<16xf32>) A_log(%alog : tensor<16x4xf32>)
      D(%d : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>)
      conv_state(%cs : tensor<2x16x3xf32>) ssm_state(%ss : tensor<2x16x4xf32>) states
      : tensor<2x5x8xf32> -> tensor<2x5x8xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32>
  return %out, %cs2, %ss2 : tensor<2x5x8xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32>
}

// -----

// Biases of the projections initialise the contraction's accumulator.

// CHECK-DAG: #[[BCAST:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @linear_bias(
// CHECK: %[[INIT:.*]] = linalg.generic {indexing_maps = [#[[BCAST]], #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%{{.*}} : tensor<16xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<16x8xf32>) outs(%[[INIT]] : tensor<?x16xf32>)
func.func @linear_bias(%x: tensor<?x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
  %y = ssm.linear %x, %w bias(%b : tensor<16xf32>) : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// RMSNorm: a row reduction of squares, then x * rsqrt(mean + eps) * w.

// CHECK-LABEL: func.func @rmsnorm(
// CHECK: %[[SS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:   arith.mulf
// CHECK:   arith.addf
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[SS]], %{{.*}} : tensor<1x?x8xf32>, tensor<1x?xf32>, tensor<8xf32>)
// CHECK:   arith.divf
// CHECK:   math.rsqrt
func.func @rmsnorm(%x: tensor<1x?x8xf32>, %w: tensor<8xf32>) -> tensor<1x?x8xf32> {
  %y = ssm.rmsnorm %x, %w epsilon = 1.0e-05 : tensor<1x?x8xf32>, tensor<8xf32> -> tensor<1x?x8xf32>
  return %y : tensor<1x?x8xf32>
}

// -----

// Embedding: a gather through tensor.extract at (token, column).

// CHECK-LABEL: func.func @embedding(
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x?xi64>)
// CHECK:   %[[ROW:.*]] = arith.index_cast %{{.*}} : i64 to index
// CHECK:   %[[COL:.*]] = linalg.index 2 : index
// CHECK:   tensor.extract %{{.*}}[%[[ROW]], %[[COL]]] : tensor<16x8xf32>
func.func @embedding(%t: tensor<2x?xi64>, %emb: tensor<16x8xf32>) -> tensor<2x?x8xf32> {
  %h = ssm.embedding %t, %emb : tensor<2x?xi64>, tensor<16x8xf32> -> tensor<2x?x8xf32>
  return %h : tensor<2x?x8xf32>
}
