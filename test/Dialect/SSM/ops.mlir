// RUN: ssm-opt %s | FileCheck %s
// RUN: ssm-opt %s | ssm-opt | FileCheck %s
// RUN: ssm-opt %s --mlir-print-op-generic | ssm-opt | FileCheck %s

// CHECK-LABEL: func.func @scan_minimal
// CHECK: ssm.selective_scan channel_first %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<2x8x64xf32>
func.func @scan_minimal(%u: tensor<2x8x64xf32>, %dt: tensor<2x8x64xf32>, %A: tensor<8x16xf32>,
                        %B: tensor<8x16xf32>, %C: tensor<8x16xf32>) -> tensor<2x8x64xf32> {
  %y = ssm.selective_scan channel_first %u, %dt, %A, %B, %C
      : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>)
      -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}

// CHECK-LABEL: func.func @scan_everything
// CHECK: %[[Y:.*]], %[[H:.*]] = ssm.selective_scan channel_first %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} D(%{{.*}} : tensor<8xf32>) z(%{{.*}} : tensor<2x8x64xf32>) delta_bias(%{{.*}} : tensor<8xf32>) h0(%{{.*}} : tensor<2x8x16xf32>) delta_softplus : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>, tensor<2x16x64xf32>, tensor<2x4x16x64xf32>) -> tensor<2x8x64xf32>, tensor<2x8x16xf32>
func.func @scan_everything(%u: tensor<2x8x64xf32>, %dt: tensor<2x8x64xf32>, %A: tensor<8x16xf32>,
                           %B: tensor<2x16x64xf32>, %C: tensor<2x4x16x64xf32>, %D: tensor<8xf32>,
                           %z: tensor<2x8x64xf32>, %bias: tensor<8xf32>, %h0: tensor<2x8x16xf32>)
    -> (tensor<2x8x64xf32>, tensor<2x8x16xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C D(%D : tensor<8xf32>)
      z(%z : tensor<2x8x64xf32>) delta_bias(%bias : tensor<8xf32>) h0(%h0 : tensor<2x8x16xf32>)
      delta_softplus
      : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>, tensor<2x16x64xf32>, tensor<2x4x16x64xf32>)
      -> tensor<2x8x64xf32>, tensor<2x8x16xf32>
  return %y, %h : tensor<2x8x64xf32>, tensor<2x8x16xf32>
}

// Token-major layout, grouped B, dynamic sizes, f64.
// CHECK-LABEL: func.func @scan_token_major
// CHECK: ssm.selective_scan token_major {{.*}} : (tensor<?x?x6xf64>, tensor<?x?x6xf64>, tensor<6x3xf64>, tensor<?x?x2x3xf64>, tensor<?x?x3xf64>) -> tensor<?x?x6xf64>
func.func @scan_token_major(%u: tensor<?x?x6xf64>, %dt: tensor<?x?x6xf64>, %A: tensor<6x3xf64>,
                            %B: tensor<?x?x2x3xf64>, %C: tensor<?x?x3xf64>) -> tensor<?x?x6xf64> {
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %C
      : (tensor<?x?x6xf64>, tensor<?x?x6xf64>, tensor<6x3xf64>, tensor<?x?x2x3xf64>, tensor<?x?x3xf64>)
      -> tensor<?x?x6xf64>
  return %y : tensor<?x?x6xf64>
}

// CHECK-LABEL: func.func @linear_scan
// CHECK: ssm.scan %{{.*}}, %{{.*}} dim = 1 : tensor<4x128xf32>, tensor<4x128xf32> -> tensor<4x128xf32>
// CHECK: ssm.scan %{{.*}}, %{{.*}} init(%{{.*}} : tensor<4xf32>) dim = 1 reverse last_only : tensor<4x?xf32>, tensor<4x?xf32> -> tensor<4xf32>
func.func @linear_scan(%a: tensor<4x128xf32>, %b: tensor<4x128xf32>, %a2: tensor<4x?xf32>,
                       %b2: tensor<4x?xf32>, %h0: tensor<4xf32>) -> (tensor<4x128xf32>, tensor<4xf32>) {
  %all = ssm.scan %a, %b dim = 1 : tensor<4x128xf32>, tensor<4x128xf32> -> tensor<4x128xf32>
  %last = ssm.scan %a2, %b2 init(%h0 : tensor<4xf32>) dim = 1 reverse last_only
      : tensor<4x?xf32>, tensor<4x?xf32> -> tensor<4xf32>
  return %all, %last : tensor<4x128xf32>, tensor<4xf32>
}

// CHECK-LABEL: func.func @conv
// CHECK: ssm.causal_conv1d channel_first %{{.*}}, %{{.*}} : tensor<2x8x64xf32>, tensor<8x4xf32> -> tensor<2x8x64xf32>
// CHECK: ssm.causal_conv1d token_major %{{.*}}, %{{.*}} bias(%{{.*}} : tensor<8xf32>) conv_state(%{{.*}} : tensor<2x8x3xf32>) silu : tensor<2x64x8xf32>, tensor<8x4xf32> -> tensor<2x64x8xf32>, tensor<2x8x3xf32>
func.func @conv(%x: tensor<2x8x64xf32>, %xt: tensor<2x64x8xf32>, %w: tensor<8x4xf32>,
                %b: tensor<8xf32>, %s: tensor<2x8x3xf32>)
    -> (tensor<2x8x64xf32>, tensor<2x64x8xf32>, tensor<2x8x3xf32>) {
  %y = ssm.causal_conv1d channel_first %x, %w : tensor<2x8x64xf32>, tensor<8x4xf32> -> tensor<2x8x64xf32>
  %yt, %fin = ssm.causal_conv1d token_major %xt, %w bias(%b : tensor<8xf32>) conv_state(%s : tensor<2x8x3xf32>) silu
      : tensor<2x64x8xf32>, tensor<8x4xf32> -> tensor<2x64x8xf32>, tensor<2x8x3xf32>
  return %y, %yt, %fin : tensor<2x8x64xf32>, tensor<2x64x8xf32>, tensor<2x8x3xf32>
}

// Model-level ops.

// CHECK-LABEL: func.func @model_ops
// CHECK: ssm.embedding %{{.*}}, %{{.*}} : tensor<1x5xi64>, tensor<16x8xf32> -> tensor<1x5x8xf32>
// CHECK: ssm.rmsnorm %{{.*}}, %{{.*}} epsilon = 1.000000e-05 : tensor<1x5x8xf32>, tensor<8xf32> -> tensor<1x5x8xf32>
// CHECK: ssm.mamba_block %{{.*}} in_proj(%{{.*}} : tensor<32x8xf32>) conv(%{{.*}} : tensor<16x4xf32>) conv_bias(%{{.*}} : tensor<16xf32>) x_proj(%{{.*}} : tensor<9x16xf32>) dt_proj(%{{.*}} : tensor<16x1xf32>) dt_bias(%{{.*}} : tensor<16xf32>) A_log(%{{.*}} : tensor<16x4xf32>) D(%{{.*}} : tensor<16xf32>) out_proj(%{{.*}} : tensor<8x16xf32>) conv_state(%{{.*}} : tensor<1x16x3xf32>) ssm_state(%{{.*}} : tensor<1x16x4xf32>) states : tensor<1x5x8xf32> -> tensor<1x5x8xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>
// CHECK: ssm.mamba_block %{{.*}} in_proj(%{{.*}} : tensor<32x8xf32>) in_proj_bias(%{{.*}} : tensor<32xf32>) conv(%{{.*}} : tensor<16x4xf32>) x_proj
// CHECK-SAME: out_proj_bias(%{{.*}} : tensor<8xf32>) : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
// CHECK: ssm.linear %{{.*}}, %{{.*}} bias(%{{.*}} : tensor<16xf32>) : tensor<1x5x8xf32>, tensor<16x8xf32> -> tensor<1x5x16xf32>
func.func @model_ops(%tok: tensor<1x5xi64>, %emb: tensor<16x8xf32>, %nw: tensor<8xf32>,
                     %win: tensor<32x8xf32>, %bin: tensor<32xf32>, %cw: tensor<16x4xf32>,
                     %e: tensor<16xf32>, %wx: tensor<9x16xf32>, %wdt: tensor<16x1xf32>,
                     %alog: tensor<16x4xf32>, %wout: tensor<8x16xf32>, %bout: tensor<8xf32>,
                     %cs: tensor<1x16x3xf32>, %ss: tensor<1x16x4xf32>, %bv: tensor<16xf32>) -> tensor<1x5x16xf32> {
  %h = ssm.embedding %tok, %emb : tensor<1x5xi64>, tensor<16x8xf32> -> tensor<1x5x8xf32>
  %n = ssm.rmsnorm %h, %nw epsilon = 1.0e-05 : tensor<1x5x8xf32>, tensor<8xf32> -> tensor<1x5x8xf32>
  %o, %cs2, %ss2 = ssm.mamba_block %n in_proj(%win : tensor<32x8xf32>)
      conv(%cw : tensor<16x4xf32>) conv_bias(%e : tensor<16xf32>)
      x_proj(%wx : tensor<9x16xf32>) dt_proj(%wdt : tensor<16x1xf32>)
      dt_bias(%e : tensor<16xf32>) A_log(%alog : tensor<16x4xf32>)
      D(%e : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>)
      conv_state(%cs : tensor<1x16x3xf32>) ssm_state(%ss : tensor<1x16x4xf32>) states
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>
  %o2 = ssm.mamba_block %o in_proj(%win : tensor<32x8xf32>) in_proj_bias(%bin : tensor<32xf32>)
      conv(%cw : tensor<16x4xf32>) x_proj(%wx : tensor<9x16xf32>)
      dt_proj(%wdt : tensor<16x1xf32>) dt_bias(%e : tensor<16xf32>)
      A_log(%alog : tensor<16x4xf32>) D(%e : tensor<16xf32>)
      out_proj(%wout : tensor<8x16xf32>) out_proj_bias(%bout : tensor<8xf32>)
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  %y = ssm.linear %o2, %emb bias(%bv : tensor<16xf32>) : tensor<1x5x8xf32>, tensor<16x8xf32> -> tensor<1x5x16xf32>
  return %y : tensor<1x5x16xf32>
}

// Weights stored in 16 bits: the projection matrices and the embedding
// table may be bf16 or f16 beside f32 activations.

// CHECK-LABEL: func.func @sixteen_bit_weights
// CHECK: ssm.embedding %{{.*}}, %{{.*}} : tensor<1x5xi64>, tensor<16x8xf16> -> tensor<1x5x8xf32>
// CHECK: ssm.mamba_block %{{.*}} in_proj(%{{.*}} : tensor<32x8xbf16>) conv(%{{.*}} : tensor<16x4xf32>) x_proj(%{{.*}} : tensor<9x16xbf16>) dt_proj(%{{.*}} : tensor<16x1xbf16>)
// CHECK-SAME: out_proj(%{{.*}} : tensor<8x16xbf16>)
// CHECK: ssm.linear %{{.*}}, %{{.*}} : tensor<1x5x8xf32>, tensor<16x8xf16> -> tensor<1x5x16xf32>
func.func @sixteen_bit_weights(%tok: tensor<1x5xi64>, %emb: tensor<16x8xf16>,
                     %win: tensor<32x8xbf16>, %cw: tensor<16x4xf32>,
                     %e: tensor<16xf32>, %wx: tensor<9x16xbf16>, %wdt: tensor<16x1xbf16>,
                     %alog: tensor<16x4xf32>, %wout: tensor<8x16xbf16>) -> tensor<1x5x16xf32> {
  %h = ssm.embedding %tok, %emb : tensor<1x5xi64>, tensor<16x8xf16> -> tensor<1x5x8xf32>
  %o = ssm.mamba_block %h in_proj(%win : tensor<32x8xbf16>)
      conv(%cw : tensor<16x4xf32>) x_proj(%wx : tensor<9x16xbf16>)
      dt_proj(%wdt : tensor<16x1xbf16>) dt_bias(%e : tensor<16xf32>)
      A_log(%alog : tensor<16x4xf32>) D(%e : tensor<16xf32>)
      out_proj(%wout : tensor<8x16xbf16>)
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  %y = ssm.linear %o, %emb : tensor<1x5x8xf32>, tensor<16x8xf16> -> tensor<1x5x16xf32>
  return %y : tensor<1x5x16xf32>
}

// 8-bit weights: ssm.dequantize's int8 rows and per-row scales feed the
// weight operands as a float matrix.

// CHECK-LABEL: func.func @int8_weights
// CHECK: %[[W:.*]] = ssm.dequantize %{{.*}}, %{{.*}} : tensor<16x8xi8>, tensor<16xf32> -> tensor<16x8xf32>
// CHECK: ssm.linear %{{.*}}, %[[W]] : tensor<1x5x8xf32>, tensor<16x8xf32> -> tensor<1x5x16xf32>
func.func @int8_weights(%x: tensor<1x5x8xf32>, %q: tensor<16x8xi8>, %s: tensor<16xf32>) -> tensor<1x5x16xf32> {
  %w = ssm.dequantize %q, %s : tensor<16x8xi8>, tensor<16xf32> -> tensor<16x8xf32>
  %y = ssm.linear %x, %w : tensor<1x5x8xf32>, tensor<16x8xf32> -> tensor<1x5x16xf32>
  return %y : tensor<1x5x16xf32>
}

// CHECK-LABEL: func.func @complex_scan
// CHECK: ssm.selective_scan token_major %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} h0(%{{.*}} : tensor<1x4x2xcomplex<f32>>) : (tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<4x2xcomplex<f32>>, tensor<4x2xcomplex<f32>>, tensor<1x8x2xcomplex<f32>>) -> tensor<1x8x4xf32>, tensor<1x4x2xcomplex<f32>>
func.func @complex_scan(%u: tensor<1x8x4xf32>, %A: tensor<4x2xcomplex<f32>>, %C: tensor<1x8x2xcomplex<f32>>, %h: tensor<1x4x2xcomplex<f32>>) -> tensor<1x4x2xcomplex<f32>> {
  %y, %last = ssm.selective_scan token_major %u, %u, %A, %A, %C h0(%h : tensor<1x4x2xcomplex<f32>>)
      : (tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<4x2xcomplex<f32>>, tensor<4x2xcomplex<f32>>, tensor<1x8x2xcomplex<f32>>) -> tensor<1x8x4xf32>, tensor<1x4x2xcomplex<f32>>
  return %last : tensor<1x4x2xcomplex<f32>>
}

// CHECK-LABEL: func.func @mamba2_s4d_linear_attention
// CHECK: ssm.mamba2_block %{{.*}} in_proj(%{{.*}} : tensor<50x8xf32>) conv(%{{.*}} : tensor<32x4xf32>) conv_bias(%{{.*}} : tensor<32xf32>) dt_bias(%{{.*}} : tensor<2xf32>) A_log(%{{.*}} : tensor<2xf32>) D(%{{.*}} : tensor<2xf32>) norm(%{{.*}} : tensor<16xf32>) out_proj(%{{.*}} : tensor<8x16xf32>) ssm_state(%{{.*}} : tensor<1x2x8x4xf32>) ngroups = 2 epsilon = 1.000000e-05 norm_groups = 2 states : tensor<1x5x8xf32> -> tensor<1x5x8xf32>, tensor<1x32x3xf32>, tensor<1x2x8x4xf32>
// CHECK: ssm.s4d %{{.*}} log_dt(%{{.*}} : tensor<8xf32>) A_real(%{{.*}} : tensor<8x4xf32>) A_imag(%{{.*}} : tensor<8x4xf32>) B(%{{.*}} : tensor<8x4xf32>) C(%{{.*}} : tensor<8x4xf32>) C_imag(%{{.*}} : tensor<8x4xf32>) D(%{{.*}} : tensor<8xf32>) z(%{{.*}} : tensor<1x5x8xf32>) : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
// CHECK: ssm.linear_attention %{{.*}}, %{{.*}}, %{{.*}} heads = 2 : tensor<1x5x8xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32> -> tensor<1x5x8xf32>
func.func @mamba2_s4d_linear_attention(%h: tensor<1x5x8xf32>, %win: tensor<50x8xf32>, %cw: tensor<32x4xf32>, %cb: tensor<32xf32>,
    %e: tensor<2xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>, %ss: tensor<1x2x8x4xf32>,
    %ldt: tensor<8xf32>, %a: tensor<8x4xf32>, %d: tensor<8xf32>) -> tensor<1x5x8xf32> {
  %o, %cs2, %ss2 = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>) conv(%cw : tensor<32x4xf32>)
      conv_bias(%cb : tensor<32xf32>) dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>)
      D(%e : tensor<2xf32>) norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>)
      ssm_state(%ss : tensor<1x2x8x4xf32>) ngroups = 2 epsilon = 1.0e-05 norm_groups = 2 states
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>, tensor<1x32x3xf32>, tensor<1x2x8x4xf32>
  %y = ssm.s4d %o log_dt(%ldt : tensor<8xf32>) A_real(%a : tensor<8x4xf32>) A_imag(%a : tensor<8x4xf32>)
      B(%a : tensor<8x4xf32>) C(%a : tensor<8x4xf32>) C_imag(%a : tensor<8x4xf32>) D(%d : tensor<8xf32>)
      z(%h : tensor<1x5x8xf32>) : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  %la = ssm.linear_attention %y, %y, %y heads = 2 : tensor<1x5x8xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return %la : tensor<1x5x8xf32>
}
