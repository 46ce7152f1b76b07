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

// Empty slices are empty tensors: upstream's verifier refuses a static
// tensor.extract_slice whose offset is not below its dimension's size, even
// of size 0, so neither an empty sequence (every slice of x / z and of dt /
// B / C) nor a block without states (B and C start at the end of x_proj's
// output) may slice.

// CHECK-LABEL: func.func @empty_sequence(
// CHECK-NOT: tensor.extract_slice
// CHECK: tensor.empty() : tensor<2x0x16xf32>
// CHECK: ssm.causal_conv1d
// CHECK: tensor.empty() : tensor<2x0x1xf32>
// CHECK: tensor.empty() : tensor<2x0x4xf32>
// CHECK: ssm.selective_scan
// CHECK-NOT: tensor.extract_slice
func.func @empty_sequence(%h: tensor<2x0x8xf32>, %win: tensor<32x8xf32>, %cw: tensor<16x4xf32>, %cb: tensor<16xf32>,
                 %wx: tensor<9x16xf32>, %wdt: tensor<16x1xf32>, %bdt: tensor<16xf32>, %alog: tensor<16x4xf32>,
                 %d: tensor<16xf32>, %wout: tensor<8x16xf32>, %cs: tensor<2x16x3xf32>, %ss: tensor<2x16x4xf32>)
    -> (tensor<2x0x8xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32>) {
  %o, %cs2, %ss2 = ssm.mamba_block %h in_proj(%win : tensor<32x8xf32>)
      conv(%cw : tensor<16x4xf32>) conv_bias(%cb : tensor<16xf32>)
      x_proj(%wx : tensor<9x16xf32>) dt_proj(%wdt : tensor<16x1xf32>)
      dt_bias(%bdt : tensor<16xf32>) A_log(%alog : tensor<16x4xf32>)
      D(%d : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>)
      conv_state(%cs : tensor<2x16x3xf32>) ssm_state(%ss : tensor<2x16x4xf32>) states
      : tensor<2x0x8xf32> -> tensor<2x0x8xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32>
  return %o, %cs2, %ss2 : tensor<2x0x8xf32>, tensor<2x16x3xf32>, tensor<2x16x4xf32>
}

// CHECK-LABEL: func.func @no_states(
// CHECK: %[[DBC:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x6x2xf32>)
// CHECK-NOT: tensor.extract_slice %[[DBC]]
// CHECK: %[[B:.*]] = tensor.empty() : tensor<1x6x0xf32>
// CHECK: %[[C:.*]] = tensor.empty() : tensor<1x6x0xf32>
// CHECK-NOT: tensor.extract_slice %[[DBC]]
// CHECK: linalg.generic {{.*}} ins(%[[DBC]], %{{.*}} : tensor<1x6x2xf32>, tensor<16x2xf32>)
// CHECK: ssm.selective_scan token_major %{{.*}}, %{{.*}}, %{{.*}}, %[[B]], %[[C]] D(
func.func @no_states(%h: tensor<1x6x8xf32>, %win: tensor<32x8xf32>, %cw: tensor<16x4xf32>, %cb: tensor<16xf32>,
                 %wx: tensor<2x16xf32>, %wdt: tensor<16x2xf32>, %bdt: tensor<16xf32>, %alog: tensor<16x0xf32>,
                 %d: tensor<16xf32>, %wout: tensor<8x16xf32>) -> tensor<1x6x8xf32> {
  %o = ssm.mamba_block %h in_proj(%win : tensor<32x8xf32>)
      conv(%cw : tensor<16x4xf32>) conv_bias(%cb : tensor<16xf32>)
      x_proj(%wx : tensor<2x16xf32>) dt_proj(%wdt : tensor<16x2xf32>)
      dt_bias(%bdt : tensor<16xf32>) A_log(%alog : tensor<16x0xf32>)
      D(%d : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>)
      : tensor<1x6x8xf32> -> tensor<1x6x8xf32>
  return %o : tensor<1x6x8xf32>
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

// A weight stored in 16 bits is read as stored: the contraction widens each
// element in its body. So does the embedding's gather.

// CHECK-LABEL: func.func @sixteen_bit(
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x8xf32>, tensor<16x8xbf16>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[W:.*]]: bf16, %[[ACC:.*]]: f32):
// CHECK:   %[[WIDE:.*]] = arith.extf %[[W]] : bf16 to f32
// CHECK:   %[[P:.*]] = arith.mulf %[[X]], %[[WIDE]] : f32
// CHECK:   arith.addf %[[P]], %[[ACC]] : f32
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x?xi64>)
// CHECK:   %[[E:.*]] = tensor.extract %{{.*}} : tensor<16x8xf16>
// CHECK:   %[[EW:.*]] = arith.extf %[[E]] : f16 to f32
// CHECK:   linalg.yield %[[EW]] : f32
func.func @sixteen_bit(%x: tensor<?x8xf32>, %w: tensor<16x8xbf16>, %t: tensor<2x?xi64>, %emb: tensor<16x8xf16>) -> (tensor<?x16xf32>, tensor<2x?x8xf32>) {
  %y = ssm.linear %x, %w : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
  %h = ssm.embedding %t, %emb : tensor<2x?xi64>, tensor<16x8xf16> -> tensor<2x?x8xf32>
  return %y, %h : tensor<?x16xf32>, tensor<2x?x8xf32>
}

// -----

// An ssm.dequantize'd weight is read as its int8 rows and per-row scales
// where the projection, the embedding or a block's projection reads it
// (the float matrix is never built); one with any other user becomes an
// elementwise map.

// CHECK-DAG: #[[ROWSCALE:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-DAG: #[[ELT:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @int8(
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x8xf32>, %[[Q:[^:]+]]: tensor<16x8xi8>, %[[S:[^:]+]]: tensor<16xf32>, %[[T:[^:]+]]: tensor<2x?xi64>)
// CHECK: %[[WF:.*]] = linalg.generic {indexing_maps = [#[[ELT]], #[[ROW]], #[[ELT]]], iterator_types = ["parallel", "parallel"]} ins(%[[Q]], %[[S]] : tensor<16x8xi8>, tensor<16xf32>)
// CHECK:   arith.sitofp
// CHECK:   arith.mulf
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #[[ROWSCALE]], #{{.*}}], {{.*}} ins(%[[X]], %[[Q]], %[[S]] : tensor<?x8xf32>, tensor<16x8xi8>, tensor<16xf32>)
// CHECK: ^bb0(%[[XV:.*]]: f32, %[[QV:.*]]: i8, %[[SV:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK:   %[[QF:.*]] = arith.sitofp %[[QV]] : i8 to f32
// CHECK:   %[[W:.*]] = arith.mulf %[[QF]], %[[SV]] : f32
// CHECK:   %[[P:.*]] = arith.mulf %[[XV]], %[[W]] : f32
// CHECK:   arith.addf %[[P]], %[[ACC]] : f32
// CHECK: linalg.generic {{.*}} ins(%[[T]] : tensor<2x?xi64>)
// CHECK:   %[[TOK:.*]] = arith.index_cast
// CHECK:   %[[EQ:.*]] = tensor.extract %[[Q]][%[[TOK]], %{{.*}}] : tensor<16x8xi8>
// CHECK:   %[[ES:.*]] = tensor.extract %[[S]][%[[TOK]]] : tensor<16xf32>
// CHECK:   %[[EF:.*]] = arith.sitofp %[[EQ]] : i8 to f32
// CHECK:   %[[EW:.*]] = arith.mulf %[[EF]], %[[ES]] : f32
// CHECK:   linalg.yield %[[EW]] : f32
// CHECK: return %{{.*}}, %{{.*}}, %[[WF]]
// CHECK-NOT: ssm.dequantize
func.func @int8(%x: tensor<?x8xf32>, %q: tensor<16x8xi8>, %s: tensor<16xf32>, %t: tensor<2x?xi64>) -> (tensor<?x16xf32>, tensor<2x?x8xf32>, tensor<16x8xf32>) {
  %w = ssm.dequantize %q, %s : tensor<16x8xi8>, tensor<16xf32> -> tensor<16x8xf32>
  %y = ssm.linear %x, %w : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  %h = ssm.embedding %t, %w : tensor<2x?xi64>, tensor<16x8xf32> -> tensor<2x?x8xf32>
  return %y, %h, %w : tensor<?x16xf32>, tensor<2x?x8xf32>, tensor<16x8xf32>
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

// -----

// Mamba-2: in_proj split into z / xBC / dt, the conv over xBC, x / B / C
// sliced from it with B and C grouped (b, L, G, N), each head's dt, dt_bias
// and D repeated over its P channels, A (I, N) from A_log per head, the
// scan with the gate z, the RMSNorm after it, out_proj; the scan's state
// (b, I, N) is the block's (b, H, P, N).

// CHECK-LABEL: func.func @mamba2(
// CHECK-SAME: %[[H:[^:]+]]: tensor<1x5x8xf32>, %[[WIN:[^:]+]]: tensor<50x8xf32>, %[[CW:[^:]+]]: tensor<32x4xf32>, %[[DTB:[^:]+]]: tensor<2xf32>, %[[ALOG:[^:]+]]: tensor<2xf32>, %[[D:[^:]+]]: tensor<2xf32>, %[[NW:[^:]+]]: tensor<16xf32>, %[[WOUT:[^:]+]]: tensor<8x16xf32>, %[[SS:[^:]+]]: tensor<1x2x8x4xf32>)
// CHECK: %[[ZX:.*]] = linalg.generic {{.*}} ins(%[[H]], %[[WIN]] : {{.*}}) outs(%{{.*}} : tensor<1x5x50xf32>)
// CHECK-DAG: %[[Z:.*]] = tensor.extract_slice %[[ZX]][0, 0, 0] [1, 5, 16] [1, 1, 1]
// CHECK-DAG: %[[XBC:.*]] = tensor.extract_slice %[[ZX]][0, 0, 16] [1, 5, 32] [1, 1, 1]
// CHECK-DAG: %[[DT:.*]] = tensor.extract_slice %[[ZX]][0, 0, 48] [1, 5, 2] [1, 1, 1]
// CHECK: %[[CONV:.*]], %[[FS:.*]] = ssm.causal_conv1d token_major %[[XBC]], %[[CW]] silu
// CHECK-DAG: %[[X:.*]] = tensor.extract_slice %[[CONV]][0, 0, 0] [1, 5, 16] [1, 1, 1]
// CHECK-DAG: %[[BS:.*]] = tensor.extract_slice %[[CONV]][0, 0, 16] [1, 5, 8] [1, 1, 1]
// CHECK-DAG: %[[CS:.*]] = tensor.extract_slice %[[CONV]][0, 0, 24] [1, 5, 8] [1, 1, 1]
// CHECK-DAG: %[[B:.*]] = tensor.expand_shape %[[BS]] {{\[}}[0], [1], [2, 3]] output_shape [1, 5, 2, 4]
// CHECK-DAG: %[[C:.*]] = tensor.expand_shape %[[CS]] {{\[}}[0], [1], [2, 3]] output_shape [1, 5, 2, 4]
// CHECK: %[[DTW:.*]] = linalg.generic {{.*}} ins(%[[DT]] : tensor<1x5x2xf32>) outs(%{{.*}} : tensor<1x5x2x8xf32>)
// CHECK: %[[DELTA:.*]] = tensor.collapse_shape %[[DTW]] {{\[}}[0], [1], [2, 3]]
// CHECK: %[[DTBW:.*]] = linalg.generic {{.*}} ins(%[[DTB]] : tensor<2xf32>) outs(%{{.*}} : tensor<2x8xf32>)
// CHECK: %[[BIAS:.*]] = tensor.collapse_shape %[[DTBW]] {{\[}}[0, 1]]
// CHECK: %[[DW:.*]] = linalg.generic {{.*}} ins(%[[D]] : tensor<2xf32>) outs(%{{.*}} : tensor<2x8xf32>)
// CHECK: %[[DX:.*]] = tensor.collapse_shape %[[DW]] {{\[}}[0, 1]]
// CHECK: %[[AW:.*]] = linalg.generic {{.*}} ins(%[[ALOG]] : tensor<2xf32>) outs(%{{.*}} : tensor<2x8x4xf32>)
// CHECK:   math.exp
// CHECK:   arith.negf
// CHECK: %[[A:.*]] = tensor.collapse_shape %[[AW]] {{\[}}[0, 1], [2]]
// CHECK: %[[H0:.*]] = tensor.collapse_shape %[[SS]] {{\[}}[0], [1, 2], [3]]
// CHECK: %[[Y:.*]], %[[LAST:.*]] = ssm.selective_scan token_major %[[X]], %[[DELTA]], %[[A]], %[[B]], %[[C]] D(%[[DX]] : tensor<16xf32>) z(%[[Z]] : tensor<1x5x16xf32>) delta_bias(%[[BIAS]] : tensor<16xf32>) h0(%[[H0]] : tensor<1x16x4xf32>) delta_softplus
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} ins(%[[Y]] : tensor<1x5x16xf32>) outs(%{{.*}} : tensor<1x5xf32>)
// CHECK: %[[NORMED:.*]] = linalg.generic {{.*}} ins(%[[Y]], %[[SQ]], %[[NW]] : {{.*}})
// CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[NORMED]], %[[WOUT]] : {{.*}}) outs(%{{.*}} : tensor<1x5x8xf32>)
// CHECK: %[[STATE:.*]] = tensor.expand_shape %[[LAST]] {{\[}}[0], [1, 2], [3]] output_shape [1, 2, 8, 4]
// CHECK: return %[[OUT]], %[[FS]], %[[STATE]]
func.func @mamba2(%h: tensor<1x5x8xf32>, %win: tensor<50x8xf32>, %cw: tensor<32x4xf32>, %dtb: tensor<2xf32>,
                  %alog: tensor<2xf32>, %d: tensor<2xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>,
                  %ss: tensor<1x2x8x4xf32>) -> (tensor<1x5x8xf32>, tensor<1x32x3xf32>, tensor<1x2x8x4xf32>) {
  %out, %cs, %s = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%dtb : tensor<2xf32>) A_log(%alog : tensor<2xf32>) D(%d : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ssm_state(%ss : tensor<1x2x8x4xf32>)
      ngroups = 2 epsilon = 1.0e-05 states
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>, tensor<1x32x3xf32>, tensor<1x2x8x4xf32>
  return %out, %cs, %s : tensor<1x5x8xf32>, tensor<1x32x3xf32>, tensor<1x2x8x4xf32>
}

// -----

// norm_groups = 2: the gated RMSNorm splits the 16 channels into 2 groups
// of 8 (y and the norm weight), normalises each along its 8 channels and
// merges them back before out_proj.

// CHECK-LABEL: func.func @mamba2_norm_groups(
// CHECK-SAME: %[[NW:[^:]+]]: tensor<16xf32>, %[[WOUT:[^:]+]]: tensor<8x16xf32>)
// CHECK: %[[Y:.*]] = ssm.selective_scan
// CHECK-DAG: %[[YG:.*]] = tensor.expand_shape %[[Y]] {{\[}}[0], [1], [2, 3]] output_shape [1, 5, 2, 8] : tensor<1x5x16xf32> into tensor<1x5x2x8xf32>
// CHECK-DAG: %[[WG:.*]] = tensor.expand_shape %[[NW]] {{\[}}[0, 1]] output_shape [2, 8] : tensor<16xf32> into tensor<2x8xf32>
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} ins(%[[YG]] : tensor<1x5x2x8xf32>) outs(%{{.*}} : tensor<1x5x2xf32>)
// CHECK: %[[NORMED:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #[[WMAP:.*]], #{{.*}}], {{.*}} ins(%[[YG]], %[[SQ]], %[[WG]] : tensor<1x5x2x8xf32>, tensor<1x5x2xf32>, tensor<2x8xf32>)
// CHECK: %[[MERGED:.*]] = tensor.collapse_shape %[[NORMED]] {{\[}}[0], [1], [2, 3]] : tensor<1x5x2x8xf32> into tensor<1x5x16xf32>
// CHECK: linalg.generic {{.*}} ins(%[[MERGED]], %[[WOUT]] : {{.*}})
func.func @mamba2_norm_groups(%h: tensor<1x5x8xf32>, %win: tensor<50x8xf32>, %cw: tensor<32x4xf32>, %e: tensor<2xf32>,
                              %nw: tensor<16xf32>, %wout: tensor<8x16xf32>) -> tensor<1x5x8xf32> {
  %out = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>) D(%e : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>)
      ngroups = 2 epsilon = 1.0e-05 norm_groups = 2
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return %out : tensor<1x5x8xf32>
}

// -----

// S4D-Lin: dt = exp(log_dt) as the scan's delta_bias over a zero delta (no
// softplus); B' = (exp(dt A) - 1) / (dt A) * B in f64, rounded once, as a
// complex time-invariant B; A and C complex from their parts.

// CHECK-LABEL: func.func @s4d(
// CHECK-SAME: %[[U:[^:]+]]: tensor<1x5x3xf32>, %[[LDT:[^:]+]]: tensor<3xf32>, %[[AR:[^:]+]]: tensor<3x2xf32>, %[[AI:[^:]+]]: tensor<3x2xf32>, %[[B:[^:]+]]: tensor<3x2xf32>, %[[C:[^:]+]]: tensor<3x2xf32>, %[[CI:[^:]+]]: tensor<3x2xf32>, %[[D:[^:]+]]: tensor<3xf32>)
// CHECK: %[[DT:.*]] = linalg.generic {{.*}} ins(%[[LDT]] : tensor<3xf32>)
// CHECK:   math.exp
// CHECK: %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<1x5x3xf32>
// CHECK: %[[BP:.*]] = linalg.generic {{.*}} ins(%[[DT]], %[[AR]], %[[AI]], %[[B]] : {{.*}}) outs(%{{.*}} : tensor<3x2xcomplex<f32>>)
// CHECK:   arith.extf
// CHECK:   math.exp %{{.*}} : f64
// CHECK:   math.cos %{{.*}} : f64
// CHECK:   math.sin %{{.*}} : f64
// CHECK:   arith.truncf
// CHECK:   complex.create
// CHECK: %[[A:.*]] = linalg.generic {{.*}} ins(%[[AR]], %[[AI]] : {{.*}}) outs(%{{.*}} : tensor<3x2xcomplex<f32>>)
// CHECK: %[[CC:.*]] = linalg.generic {{.*}} ins(%[[C]], %[[CI]] : {{.*}}) outs(%{{.*}} : tensor<3x2xcomplex<f32>>)
// CHECK: %[[Y:.*]] = ssm.selective_scan token_major %[[U]], %[[ZERO]], %[[A]], %[[BP]], %[[CC]] D(%[[D]] : tensor<3xf32>) delta_bias(%[[DT]] : tensor<3xf32>) :
// CHECK-NOT: delta_softplus
// CHECK: return %[[Y]]
func.func @s4d(%u: tensor<1x5x3xf32>, %ldt: tensor<3xf32>, %ar: tensor<3x2xf32>, %ai: tensor<3x2xf32>,
               %b: tensor<3x2xf32>, %c: tensor<3x2xf32>, %ci: tensor<3x2xf32>, %d: tensor<3xf32>) -> tensor<1x5x3xf32> {
  %y = ssm.s4d %u log_dt(%ldt : tensor<3xf32>) A_real(%ar : tensor<3x2xf32>) A_imag(%ai : tensor<3x2xf32>)
      B(%b : tensor<3x2xf32>) C(%c : tensor<3x2xf32>) C_imag(%ci : tensor<3x2xf32>) D(%d : tensor<3xf32>)
      : tensor<1x5x3xf32> -> tensor<1x5x3xf32>
  return %y : tensor<1x5x3xf32>
}

// -----

// S4D-Real: a real scan with a real ZOH B'.

// CHECK-LABEL: func.func @s4d_real(
// CHECK: %[[BP:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<3x2xf32>)
// CHECK: ssm.selective_scan token_major %{{.*}}, %{{.*}}, %{{.*}}, %[[BP]], %{{.*}} delta_bias({{.*}}) : (tensor<1x5x3xf32>, tensor<1x5x3xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<1x5x3xf32>
func.func @s4d_real(%u: tensor<1x5x3xf32>, %ldt: tensor<3xf32>, %a: tensor<3x2xf32>) -> tensor<1x5x3xf32> {
  %y = ssm.s4d %u log_dt(%ldt : tensor<3xf32>) A_real(%a : tensor<3x2xf32>) B(%a : tensor<3x2xf32>)
      C(%a : tensor<3x2xf32>) : tensor<1x5x3xf32> -> tensor<1x5x3xf32>
  return %y : tensor<1x5x3xf32>
}

// -----

// Linear attention: v is the scan's input, a unit step, A = 0, k and q the
// grouped B and C (one group per head).

// CHECK-LABEL: func.func @linear_attention(
// CHECK-SAME: %[[Q:[^:]+]]: tensor<1x5x4xf32>, %[[K:[^:]+]]: tensor<1x5x4xf32>, %[[V:[^:]+]]: tensor<1x5x6xf32>)
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[DELTA:.*]] = linalg.fill ins(%[[ONE]] : f32) {{.*}} -> tensor<1x5x6xf32>
// CHECK: %[[A:.*]] = linalg.fill ins(%[[ZERO]] : f32) {{.*}} -> tensor<6x2xf32>
// CHECK-DAG: %[[B:.*]] = tensor.expand_shape %[[K]] {{\[}}[0], [1], [2, 3]] output_shape [1, 5, 2, 2]
// CHECK-DAG: %[[C:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1], [2, 3]] output_shape [1, 5, 2, 2]
// CHECK: %[[Y:.*]] = ssm.selective_scan token_major %[[V]], %[[DELTA]], %[[A]], %[[B]], %[[C]] :
// CHECK: return %[[Y]]
func.func @linear_attention(%q: tensor<1x5x4xf32>, %k: tensor<1x5x4xf32>, %v: tensor<1x5x6xf32>) -> tensor<1x5x6xf32> {
  %y = ssm.linear_attention %q, %k, %v heads = 2 : tensor<1x5x4xf32>, tensor<1x5x4xf32>, tensor<1x5x6xf32> -> tensor<1x5x6xf32>
  return %y : tensor<1x5x6xf32>
}

// -----

// Result types the verifiers allow but the expansion does not compute: more
// static than the operands (a projection of dynamic x declared 1x5x16) or
// less static than the weights (a Mamba-2 state declared with a dynamic
// head width). Each replacement is cast to the declared type; before, the
// state's tensor.expand_shape took the declared type and was invalid.

// CHECK-LABEL: func.func @declared_types(
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x16xf32>)
// CHECK: %[[YC:.*]] = tensor.cast %[[Y]] : tensor<?x?x16xf32> to tensor<1x5x16xf32>
// CHECK: %[[S:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2], [3]] output_shape [1, 2, 8, 4] : tensor<1x16x4xf32> into tensor<1x2x8x4xf32>
// CHECK: %[[OC:.*]] = tensor.cast %{{.*}} : tensor<1x5x8xf32> to tensor<1x5x?xf32>
// CHECK: %[[SC:.*]] = tensor.cast %[[S]] : tensor<1x2x8x4xf32> to tensor<1x2x?x4xf32>
// CHECK: return %[[YC]], %[[OC]], %[[SC]]
func.func @declared_types(%x: tensor<?x?x?xf32>, %w: tensor<16x8xf32>, %h: tensor<1x5x8xf32>,
    %win: tensor<50x8xf32>, %cw: tensor<32x4xf32>, %e: tensor<2xf32>, %nw: tensor<16xf32>,
    %wout: tensor<8x16xf32>, %ss: tensor<1x2x8x4xf32>)
    -> (tensor<1x5x16xf32>, tensor<1x5x?xf32>, tensor<1x2x?x4xf32>) {
  %y = ssm.linear %x, %w : tensor<?x?x?xf32>, tensor<16x8xf32> -> tensor<1x5x16xf32>
  %o, %cs, %s = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>) D(%e : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ssm_state(%ss : tensor<1x2x8x4xf32>)
      ngroups = 2 epsilon = 1.0e-05 states
      : tensor<1x5x8xf32> -> tensor<1x5x?xf32>, tensor<1x32x3xf32>, tensor<1x2x?x4xf32>
  return %y, %o, %s : tensor<1x5x16xf32>, tensor<1x5x?xf32>, tensor<1x2x?x4xf32>
}
