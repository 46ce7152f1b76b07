// RUN: ssm-opt %s --ssm-runtime-verification --split-input-file | FileCheck %s

// Every size static: the verifier checked it all, no run-time check (but
// for the ids of ssm.embedding, at the end).
// CHECK-LABEL: func.func @all_static
// CHECK-NOT: cf.assert
// CHECK: ssm.selective_scan
func.func @all_static(%u: tensor<2x8x64xf32>, %A: tensor<8x16xf32>) -> tensor<2x8x64xf32> {
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %A
      : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>)
      -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}

// -----

// A dynamic size against a static one of another operand (or of the
// result): compared with that constant, named in the message.
// CHECK-LABEL: func.func @linear(
// CHECK-SAME: %[[X:.*]]: tensor<?x5x?xf32>, %[[W:.*]]: tensor<16x8xf32>
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %[[C0]]
// CHECK: %[[OK:.*]] = arith.cmpi eq, %[[B]], %[[C1]]
// CHECK: cf.assert %[[OK]], "{{.*}}ssm-runtime-verification.mlir:[[# @LINE + 7]]:8: 'ssm.linear' op operand 'x' (b, L, K): its b (dimension 0) differs from the b = 1 of 'y'"
// CHECK: %[[C8:.*]] = arith.constant 8 : index
// CHECK: %[[K:.*]] = tensor.dim %[[X]], %{{.*}}
// CHECK: %[[OK2:.*]] = arith.cmpi eq, %[[K]], %[[C8]]
// CHECK: cf.assert %[[OK2]], "{{.*}}'ssm.linear' op operand 'x' (b, L, K): its K (dimension 2) differs from the K = 8 of 'weight'"
// CHECK: ssm.linear
func.func @linear(%x: tensor<?x5x?xf32>, %w: tensor<16x8xf32>) -> tensor<1x5x16xf32> {
  %y = ssm.linear %x, %w : tensor<?x5x?xf32>, tensor<16x8xf32> -> tensor<1x5x16xf32>
  return %y : tensor<1x5x16xf32>
}

// -----

// Dynamic sizes only: each is compared with the first operand that has
// the symbol; a dynamic result constrains nothing.
// CHECK-LABEL: func.func @scan_dynamic(
// CHECK-SAME: %[[U:[^:]*]]: tensor<?x?x?xf32>, %[[DT:[^:]*]]: tensor<?x?x?xf32>
// CHECK: %[[UB:.*]] = tensor.dim %[[U]], %{{.*}}
// CHECK: %[[DB:.*]] = tensor.dim %[[DT]], %{{.*}}
// CHECK: arith.cmpi eq, %[[DB]], %[[UB]]
// CHECK: cf.assert {{.*}}"{{.*}}'ssm.selective_scan' op operand 'delta' (b, L, d) in token_major layout: its b (dimension 0) differs from the b of 'u'"
// CHECK: cf.assert {{.*}}operand 'h0' (b, d, n) in token_major layout: its b (dimension 0) differs from the b of 'u'
// CHECK: cf.assert {{.*}}operand 'delta' (b, L, d) in token_major layout: its L (dimension 1) differs from the L of 'u'
// CHECK: cf.assert {{.*}}operand 'delta' (b, L, d) in token_major layout: its d (dimension 2) differs from the d of 'u'
// CHECK: cf.assert {{.*}}operand 'A' (d, n) in token_major layout: its d (dimension 0) differs from the d of 'u'
// CHECK: cf.assert {{.*}}operand 'B' (b, L, n) in token_major layout: its n (dimension 2) differs from the n of 'A'
// CHECK-NOT: cf.assert {{.*}}'y'
// CHECK: ssm.selective_scan
func.func @scan_dynamic(%u: tensor<?x?x?xf32>, %dt: tensor<?x?x?xf32>, %A: tensor<?x?xf32>,
                        %B: tensor<?x?x?xf32>, %h0: tensor<?x?x?xf32>) -> tensor<?x?x?xf32> {
  %y, %h = ssm.selective_scan token_major %u, %dt, %A, %B, %B h0(%h0 : tensor<?x?x?xf32>)
      : (tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>)
      -> tensor<?x?x?xf32>, tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}

// -----

// Grouped B of a dynamic group count: at least one group, dividing d
// (what each size must be on its own comes before how they agree).
// CHECK-LABEL: func.func @groups
// CHECK: %[[G:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<1x?x4x16xf32>
// CHECK: %[[NZ:.*]] = arith.cmpi ne, %[[G]], %{{.*}}
// CHECK: cf.assert %[[NZ]], "{{.*}}'ssm.selective_scan' op operand 'B' must have at least one group (g), and g must divide the d channels"
// CHECK: %[[SAFE:.*]] = arith.maxui %[[G]], %{{.*}}
// CHECK: %[[REM:.*]] = arith.remui %{{.*}}, %[[SAFE]]
// CHECK: %[[DIV:.*]] = arith.cmpi eq, %[[REM]], %{{.*}}
// CHECK: cf.assert %[[DIV]], "{{.*}}operand 'B' must have at least one group
func.func @groups(%u: tensor<1x6x16xf32>, %A: tensor<6x4xf32>, %B: tensor<1x?x4x16xf32>) -> tensor<1x6x16xf32> {
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %B
      : (tensor<1x6x16xf32>, tensor<1x6x16xf32>, tensor<6x4xf32>, tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>)
      -> tensor<1x6x16xf32>
  return %y : tensor<1x6x16xf32>
}

// -----

// A conv weight of dynamic width: at least one tap, and the state's width
// is k - 1 of it.
// CHECK-LABEL: func.func @conv(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x8x64xf32>, %[[W:[^:]*]]: tensor<8x?xf32>, %[[S:[^:]*]]: tensor<2x8x?xf32>
// CHECK: %[[K:.*]] = tensor.dim %[[W]], %{{.*}}
// CHECK: arith.cmpi sge, %[[K]], %{{.*}}
// CHECK: cf.assert {{.*}}"{{.*}}'ssm.causal_conv1d' op operand 'weight' must have at least one tap (k >= 1)"
// CHECK: %[[KM1:.*]] = arith.addi %[[K]], %{{.*}}
// CHECK: %[[SK:.*]] = tensor.dim %[[S]], %{{.*}}
// CHECK: arith.cmpi eq, %[[SK]], %[[KM1]]
// CHECK: cf.assert {{.*}}"{{.*}}'ssm.causal_conv1d' op operand 'conv_state' (b, d, k-1) in channel_first layout: its k-1 (dimension 2) differs from the k-1 of 'weight'"
func.func @conv(%x: tensor<2x8x64xf32>, %w: tensor<8x?xf32>, %s: tensor<2x8x?xf32>) -> tensor<2x8x64xf32> {
  %y, %f = ssm.causal_conv1d channel_first %x, %w conv_state(%s : tensor<2x8x?xf32>)
      : tensor<2x8x64xf32>, tensor<8x?xf32> -> tensor<2x8x64xf32>, tensor<2x8x?xf32>
  return %y : tensor<2x8x64xf32>
}

// -----

// Linear attention of dynamic width: a positive multiple of the heads.
// CHECK-LABEL: func.func @linear_attention
// CHECK: arith.cmpi sge
// CHECK: cf.assert {{.*}}'ssm.linear_attention' op operand 'q' must have a positive multiple of heads = 2 columns
// CHECK-NOT: arith.cmpi ne
// CHECK: arith.remui
// CHECK: cf.assert {{.*}}operand 'q' must have a positive multiple of heads = 2 columns
// CHECK: cf.assert {{.*}}operand 'k' (b, L, heads*dk): its heads*dk (dimension 2) differs from the heads*dk of 'q'
func.func @linear_attention(%q: tensor<1x5x?xf32>, %k: tensor<1x5x?xf32>, %v: tensor<1x5x8xf32>) -> tensor<1x5x8xf32> {
  %y = ssm.linear_attention %q, %k, %v heads = 2
      : tensor<1x5x?xf32>, tensor<1x5x?xf32>, tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return %y : tensor<1x5x8xf32>
}

// -----

// ssm.embedding: every id picks a row of the table, [0, V), checked by a
// loop over the ids even when every size is static.
// CHECK-LABEL: func.func @embedding(
// CHECK-SAME: %[[T:[^:]*]]: tensor<2x3xi32>, %[[W:[^:]*]]: tensor<16x8xf32>
// CHECK: %[[V:.*]] = tensor.dim %[[W]], %{{.*}}
// CHECK: %[[ALL:.*]] = scf.for %[[I:.*]] = {{.*}} iter_args(%{{.*}} = %true)
// CHECK:   scf.for %[[J:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK:     %[[E:.*]] = tensor.extract %[[T]][%[[I]], %[[J]]] : tensor<2x3xi32>
// CHECK:     %[[ID:.*]] = arith.index_cast %[[E]] : i32 to index
// CHECK:     %[[LO:.*]] = arith.cmpi sge, %[[ID]], %{{.*}} : index
// CHECK:     %[[HI:.*]] = arith.cmpi slt, %[[ID]], %[[V]] : index
// CHECK: cf.assert %[[ALL]], "{{.*}}'ssm.embedding' op a token id in 'tokens' is outside the table's rows [0, V)"
// CHECK: ssm.embedding
func.func @embedding(%t: tensor<2x3xi32>, %w: tensor<16x8xf32>) -> tensor<2x3x8xf32> {
  %y = ssm.embedding %t, %w : tensor<2x3xi32>, tensor<16x8xf32> -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}
