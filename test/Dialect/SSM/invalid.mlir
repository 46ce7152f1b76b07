// RUN: ssm-opt %s -split-input-file -verify-diagnostics

func.func @complex_a_real_b(%u: tensor<1x4x8xf32>, %A: tensor<4x2xcomplex<f32>>, %B: tensor<4x2xf32>) {
  // expected-error @+1 {{with complex 'A', 'B' must have element type 'complex<f32>' (complex of the type of 'u'), got 'f32'}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %B
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xcomplex<f32>>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @complex_a_real_state(%u: tensor<1x4x8xf32>, %A: tensor<4x2xcomplex<f32>>, %h: tensor<1x4x2xf32>) {
  // expected-error @+1 {{with complex 'A', 'h0' must have element type 'complex<f32>' (complex of the type of 'u'), got 'f32'}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %A h0(%h : tensor<1x4x2xf32>)
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xcomplex<f32>>, tensor<4x2xcomplex<f32>>, tensor<4x2xcomplex<f32>>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @complex_u(%u: tensor<1x4x8xcomplex<f32>>, %A: tensor<4x2xcomplex<f32>>) {
  // expected-error @+1 {{element type of 'u' must be f32 or f64, got 'complex<f32>'}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %A
      : (tensor<1x4x8xcomplex<f32>>, tensor<1x4x8xcomplex<f32>>, tensor<4x2xcomplex<f32>>, tensor<4x2xcomplex<f32>>, tensor<4x2xcomplex<f32>>) -> tensor<1x4x8xcomplex<f32>>
  return
}

// -----

func.func @u_rank(%u: tensor<4x8xf32>, %A: tensor<4x2xf32>) {
  // expected-error @+1 {{operand 'u' must be a rank-3 tensor (b, d, L) in channel_first layout, got 'tensor<4x8xf32>'}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %A
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @delta_shape(%u: tensor<1x4x8xf32>, %dt: tensor<1x4x9xf32>, %A: tensor<4x2xf32>) {
  // expected-error @+1 {{operand 'delta' (b, d, L) in channel_first layout has L = 9 in dimension 2, but 'u' has L = 8 (got 'tensor<1x4x9xf32>')}}
  %y = ssm.selective_scan channel_first %u, %dt, %A, %A, %A
      : (tensor<1x4x8xf32>, tensor<1x4x9xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @delta_shape_token_major(%u: tensor<1x8x4xf32>, %dt: tensor<1x8x5xf32>, %A: tensor<4x2xf32>) {
  // expected-error @+1 {{operand 'delta' (b, L, d) in token_major layout has d = 5 in dimension 2, but 'u' has d = 4}}
  %y = ssm.selective_scan token_major %u, %dt, %A, %A, %A
      : (tensor<1x8x4xf32>, tensor<1x8x5xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x8x4xf32>
  return
}

// -----

func.func @a_channels(%u: tensor<1x4x8xf32>, %A: tensor<3x2xf32>, %B: tensor<4x2xf32>) {
  // expected-error @+1 {{operand 'A' (d, n) in channel_first layout has d = 3 in dimension 0, but 'u' has d = 4}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %B
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<3x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @b_rank(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>, %B: tensor<2xf32>) {
  // expected-error @+1 {{operand 'B' must be (d, n) time-invariant, (b, n, L) variable or (b, g, n, L) grouped in channel_first layout, got 'tensor<2xf32>'}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %A
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @b_variable_states(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>, %B: tensor<1x3x8xf32>) {
  // expected-error @+1 {{operand 'B' (b, n, L) in channel_first layout has n = 3 in dimension 1, but 'A' has n = 2}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %A
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<1x3x8xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @b_variable_token_major(%u: tensor<1x8x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x8xf32>) {
  // expected-error @+1 {{operand 'B' (b, L, n) in token_major layout has L = 2 in dimension 1, but 'u' has L = 8}}
  %y = ssm.selective_scan token_major %u, %u, %A, %B, %A
      : (tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<4x2xf32>, tensor<1x2x8xf32>, tensor<4x2xf32>) -> tensor<1x8x4xf32>
  return
}

// -----

func.func @groups_divide(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>, %C: tensor<1x3x2x8xf32>) {
  // expected-error @+1 {{operand 'C' has g = 3 groups, which does not divide d = 4 channels}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %C
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<1x3x2x8xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @zero_groups(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>, %C: tensor<1x0x2x8xf32>) {
  // expected-error @+1 {{operand 'C' must have at least one group}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %C
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<1x0x2x8xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @d_shape(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>, %D: tensor<5xf32>) {
  // expected-error @+1 {{operand 'D' (d) in channel_first layout has d = 5 in dimension 0, but 'u' has d = 4}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %A D(%D : tensor<5xf32>)
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @z_shape(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>, %z: tensor<2x4x8xf32>) {
  // expected-error @+1 {{operand 'z' (b, d, L) in channel_first layout has b = 2 in dimension 0, but 'u' has b = 1}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %A z(%z : tensor<2x4x8xf32>)
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @bias_rank(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>) {
  // expected-error @+1 {{operand 'delta_bias' must be a rank-1 tensor (d) in channel_first layout, got 'tensor<4x2xf32>'}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %A delta_bias(%A : tensor<4x2xf32>)
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @h0_shape(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>, %h0: tensor<1x4x3xf32>) {
  // expected-error @+1 {{operand 'h0' (b, d, n) in channel_first layout has n = 3 in dimension 2, but 'A' has n = 2}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %A h0(%h0 : tensor<1x4x3xf32>)
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @y_shape(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>) {
  // expected-error @+1 {{result 'y' (b, d, L) in channel_first layout has L = 7 in dimension 2, but 'u' has L = 8}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %A
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x7xf32>
  return
}

// -----

func.func @last_state_shape(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>) {
  // expected-error @+1 {{result 'last_state' (b, d, n) in channel_first layout has n = 8 in dimension 2, but 'A' has n = 2}}
  %y, %h = ssm.selective_scan channel_first %u, %u, %A, %A, %A
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>, tensor<1x4x8xf32>
  return
}

// -----

func.func @f16(%u: tensor<1x4x8xf16>, %A: tensor<4x2xf16>) {
  // expected-error @+1 {{element type of 'u' must be f32 or f64, got 'f16'}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %A, %A
      : (tensor<1x4x8xf16>, tensor<1x4x8xf16>, tensor<4x2xf16>, tensor<4x2xf16>, tensor<4x2xf16>) -> tensor<1x4x8xf16>
  return
}

// -----

func.func @mixed_types(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf64>, %B: tensor<4x2xf32>) {
  // expected-error @+1 {{element type of 'A' must match 'u' ('f32'), got 'f64'}}
  %y = ssm.selective_scan channel_first %u, %u, %A, %B, %B
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf64>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @bad_layout(%u: tensor<1x4x8xf32>, %A: tensor<4x2xf32>) {
  // expected-error @+1 {{expected layout channel_first or token_major, got 'time_major'}}
  %y = ssm.selective_scan time_major %u, %u, %A, %A, %A
      : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @scan_rank0(%a: tensor<f32>) {
  // expected-error @+1 {{operand 'a' must have rank >= 1, got 'tensor<f32>'}}
  %h = ssm.scan %a, %a dim = 0 : tensor<f32>, tensor<f32> -> tensor<f32>
  return
}

// -----

func.func @scan_dim(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{dim = 2 is out of range for 'a' of rank 2 (expected 0 <= dim < 2)}}
  %h = ssm.scan %a, %a dim = 2 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @scan_b_shape(%a: tensor<4x8xf32>, %b: tensor<4x9xf32>) {
  // expected-error @+1 {{operand 'b' (d0, L) has L = 9 in dimension 1, but 'a' has L = 8}}
  %h = ssm.scan %a, %b dim = 1 : tensor<4x8xf32>, tensor<4x9xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @scan_init_shape(%a: tensor<4x8xf32>, %h0: tensor<8xf32>) {
  // expected-error @+1 {{operand 'init' (d0) has d0 = 8 in dimension 0, but 'a' has d0 = 4}}
  %h = ssm.scan %a, %a init(%h0 : tensor<8xf32>) dim = 1 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @scan_result_all(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{result 'result' must be a rank-2 tensor (d0, L), got 'tensor<4xf32>'}}
  %h = ssm.scan %a, %a dim = 1 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @scan_result_last(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{result 'result' must be a rank-1 tensor (d0), got 'tensor<4x8xf32>'}}
  %h = ssm.scan %a, %a dim = 1 last_only : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @scan_int(%a: tensor<8xi32>) {
  // expected-error @+1 {{element type of 'a' must be f32 or f64, got 'i32'}}
  %h = ssm.scan %a, %a dim = 0 : tensor<8xi32>, tensor<8xi32> -> tensor<8xi32>
  return
}

// -----

func.func @conv_rank(%x: tensor<4x8xf32>, %w: tensor<4x4xf32>) {
  // expected-error @+1 {{operand 'x' must be a rank-3 tensor (b, L, d) in token_major layout, got 'tensor<4x8xf32>'}}
  %y = ssm.causal_conv1d token_major %x, %w : tensor<4x8xf32>, tensor<4x4xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @conv_weight(%x: tensor<1x4x8xf32>, %w: tensor<5x4xf32>) {
  // expected-error @+1 {{operand 'weight' (d, k) in channel_first layout has d = 5 in dimension 0, but 'x' has d = 4}}
  %y = ssm.causal_conv1d channel_first %x, %w : tensor<1x4x8xf32>, tensor<5x4xf32> -> tensor<1x4x8xf32>
  return
}

// -----

func.func @conv_no_taps(%x: tensor<1x4x8xf32>, %w: tensor<4x0xf32>) {
  // expected-error @+1 {{operand 'weight' must have at least one tap (k >= 1), got 'tensor<4x0xf32>'}}
  %y = ssm.causal_conv1d channel_first %x, %w : tensor<1x4x8xf32>, tensor<4x0xf32> -> tensor<1x4x8xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x4x8xf32>, %w: tensor<4x4xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{operand 'bias' (d) in channel_first layout has d = 3 in dimension 0, but 'x' has d = 4}}
  %y = ssm.causal_conv1d channel_first %x, %w bias(%b : tensor<3xf32>) : tensor<1x4x8xf32>, tensor<4x4xf32> -> tensor<1x4x8xf32>
  return
}

// -----

func.func @conv_state(%x: tensor<1x4x8xf32>, %w: tensor<4x4xf32>, %s: tensor<1x4x4xf32>) {
  // expected-error @+1 {{operand 'conv_state' (b, d, k-1) in channel_first layout has k-1 = 4 in dimension 2, but 'weight' has k-1 = 3}}
  %y = ssm.causal_conv1d channel_first %x, %w conv_state(%s : tensor<1x4x4xf32>) : tensor<1x4x8xf32>, tensor<4x4xf32> -> tensor<1x4x8xf32>
  return
}

// -----

func.func @conv_out(%x: tensor<1x4x8xf32>, %w: tensor<4x4xf32>) {
  // expected-error @+1 {{result 'out' (b, d, L) in channel_first layout has d = 8 in dimension 1, but 'x' has d = 4}}
  %y = ssm.causal_conv1d channel_first %x, %w : tensor<1x4x8xf32>, tensor<4x4xf32> -> tensor<1x8x8xf32>
  return
}

// -----

func.func @conv_final_state(%x: tensor<1x4x8xf32>, %w: tensor<4x4xf32>) {
  // expected-error @+1 {{result 'final_state' (b, d, k-1) in channel_first layout has k-1 = 2 in dimension 2, but 'weight' has k-1 = 3}}
  %y, %s = ssm.causal_conv1d channel_first %x, %w : tensor<1x4x8xf32>, tensor<4x4xf32> -> tensor<1x4x8xf32>, tensor<1x4x2xf32>
  return
}

// -----

func.func @conv_types(%x: tensor<1x4x8xf32>, %w: tensor<4x4xf64>) {
  // expected-error @+1 {{element type of 'weight' must match 'x' ('f32'), got 'f64'}}
  %y = ssm.causal_conv1d channel_first %x, %w : tensor<1x4x8xf32>, tensor<4x4xf64> -> tensor<1x4x8xf32>
  return
}

// -----

func.func @rmsnorm_weight(%x: tensor<2x8xf32>, %w: tensor<6xf32>) {
  // expected-error @+1 {{operand 'weight' (D) has D = 6 in dimension 0, but 'x' has D = 8}}
  %y = ssm.rmsnorm %x, %w epsilon = 1.0e-05 : tensor<2x8xf32>, tensor<6xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @rmsnorm_eps(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{epsilon must be positive, got 0}}
  %y = ssm.rmsnorm %x, %w epsilon = 0.0 : tensor<2x8xf32>, tensor<8xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @linear_k(%x: tensor<1x5x8xf32>, %w: tensor<16x7xf32>) {
  // expected-error @+1 {{operand 'weight' (N, K) has K = 7 in dimension 1, but 'x' has K = 8}}
  %y = ssm.linear %x, %w : tensor<1x5x8xf32>, tensor<16x7xf32> -> tensor<1x5x16xf32>
  return
}

// -----

func.func @linear_weight_int(%x: tensor<1x5x8xf32>, %w: tensor<16x8xi16>) {
  // expected-error @+1 {{element type of 'weight' must match 'x' ('f32') or be bf16 or f16, got 'i16'}}
  %y = ssm.linear %x, %w : tensor<1x5x8xf32>, tensor<16x8xi16> -> tensor<1x5x16xf32>
  return
}

// -----

// Only weights may be 16-bit: the activations are f32 or f64.
func.func @linear_x_bf16(%x: tensor<1x5x8xbf16>, %w: tensor<16x8xbf16>) {
  // expected-error @+1 {{element type of 'x' must be f32 or f64, got 'bf16'}}
  %y = ssm.linear %x, %w : tensor<1x5x8xbf16>, tensor<16x8xbf16> -> tensor<1x5x16xbf16>
  return
}

// -----

func.func @embedding_y_f16(%t: tensor<1x5xi64>, %emb: tensor<16x8xf16>) {
  // expected-error @+1 {{element type of 'y' must be f32 or f64, got 'f16'}}
  %h = ssm.embedding %t, %emb : tensor<1x5xi64>, tensor<16x8xf16> -> tensor<1x5x8xf16>
  return
}

// -----

// The block's small weights (conv, A_log, D, biases) stay in the
// activations' type; only its four projections may be 16-bit.
func.func @mamba_conv_bf16(%h: tensor<1x5x8xf32>, %win: tensor<32x8xbf16>, %cw: tensor<16x4xbf16>,
                           %e: tensor<16xf32>, %wx: tensor<9x16xf32>, %wdt: tensor<16x1xf32>,
                           %alog: tensor<16x4xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{element type of 'conv_weight' must match 'h' ('f32'), got 'bf16'}}
  %o = ssm.mamba_block %h in_proj(%win : tensor<32x8xbf16>)
      conv(%cw : tensor<16x4xbf16>) x_proj(%wx : tensor<9x16xf32>)
      dt_proj(%wdt : tensor<16x1xf32>) dt_bias(%e : tensor<16xf32>)
      A_log(%alog : tensor<16x4xf32>) D(%e : tensor<16xf32>)
      out_proj(%wout : tensor<8x16xf32>)
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @embedding_tokens(%t: tensor<1x5xf32>, %emb: tensor<16x8xf32>) {
  // expected-error @+1 {{operand 'tokens' must hold integers, got 'tensor<1x5xf32>'}}
  %h = ssm.embedding %t, %emb : tensor<1x5xf32>, tensor<16x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba_x_proj(%h: tensor<1x5x8xf32>, %win: tensor<32x8xf32>, %cw: tensor<16x4xf32>,
                        %e: tensor<16xf32>, %wx: tensor<10x16xf32>, %wdt: tensor<16x1xf32>,
                        %alog: tensor<16x4xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{operand 'x_proj' (R+2N, E) has R+2N = 10 in dimension 0, but 'dt_proj and A_log' has R+2N = 9}}
  %o = ssm.mamba_block %h in_proj(%win : tensor<32x8xf32>) conv(%cw : tensor<16x4xf32>)
      x_proj(%wx : tensor<10x16xf32>) dt_proj(%wdt : tensor<16x1xf32>) dt_bias(%e : tensor<16xf32>)
      A_log(%alog : tensor<16x4xf32>) D(%e : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>)
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba_in_proj(%h: tensor<1x5x8xf32>, %win: tensor<30x8xf32>, %cw: tensor<16x4xf32>,
                         %e: tensor<16xf32>, %wx: tensor<9x16xf32>, %wdt: tensor<16x1xf32>,
                         %alog: tensor<16x4xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{operand 'in_proj' (2E, D) has 2E = 30 in dimension 0, but 'conv_weight' has 2E = 32}}
  %o = ssm.mamba_block %h in_proj(%win : tensor<30x8xf32>) conv(%cw : tensor<16x4xf32>)
      x_proj(%wx : tensor<9x16xf32>) dt_proj(%wdt : tensor<16x1xf32>) dt_bias(%e : tensor<16xf32>)
      A_log(%alog : tensor<16x4xf32>) D(%e : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>)
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba_states(%h: tensor<1x5x8xf32>, %win: tensor<32x8xf32>, %cw: tensor<16x4xf32>,
                        %e: tensor<16xf32>, %wx: tensor<9x16xf32>, %wdt: tensor<16x1xf32>,
                        %alog: tensor<16x4xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{with 'states' the op returns the conv and ssm states after out (3 results), got 1}}
  %o = ssm.mamba_block %h in_proj(%win : tensor<32x8xf32>) conv(%cw : tensor<16x4xf32>)
      x_proj(%wx : tensor<9x16xf32>) dt_proj(%wdt : tensor<16x1xf32>) dt_bias(%e : tensor<16xf32>)
      A_log(%alog : tensor<16x4xf32>) D(%e : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) states
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba2_conv_channels(%h: tensor<1x5x8xf32>, %win: tensor<49x8xf32>, %cw: tensor<31x4xf32>, %e: tensor<2xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{operand 'conv_weight' has X = 31 channels; expected I + 2 * ngroups * N = 16 + 2 * N with N >= 1}}
  %o = ssm.mamba2_block %h in_proj(%win : tensor<49x8xf32>) conv(%cw : tensor<31x4xf32>)
      dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>) D(%e : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ngroups = 1 epsilon = 1.0e-05
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba2_in_proj(%h: tensor<1x5x8xf32>, %win: tensor<48x8xf32>, %cw: tensor<32x4xf32>, %e: tensor<2xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{operand 'in_proj' (2I+2GN+H, D) has 2I+2GN+H = 48 in dimension 0, but 'conv_weight, norm_weight and A_log' has 2I+2GN+H = 50}}
  %o = ssm.mamba2_block %h in_proj(%win : tensor<48x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>) D(%e : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ngroups = 1 epsilon = 1.0e-05
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba2_norm_groups(%h: tensor<1x5x8xf32>, %win: tensor<50x8xf32>, %cw: tensor<32x4xf32>, %e: tensor<2xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{norm_groups = 3 does not divide d_inner I = 16 (from 'norm_weight')}}
  %o = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>) D(%e : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ngroups = 1 epsilon = 1.0e-05
      norm_groups = 3
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba2_norm_groups_zero(%h: tensor<1x5x8xf32>, %win: tensor<50x8xf32>, %cw: tensor<32x4xf32>, %e: tensor<2xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{norm_groups must be at least 1, got 0}}
  %o = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>) D(%e : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ngroups = 1 epsilon = 1.0e-05
      norm_groups = 0
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba2_groups(%h: tensor<1x5x8xf32>, %win: tensor<51x8xf32>, %cw: tensor<32x4xf32>, %e: tensor<3xf32>, %nw: tensor<15xf32>, %wout: tensor<8x15xf32>) {
  // expected-error @+1 {{ngroups = 2 does not divide the H = 3 heads (from 'A_log')}}
  %o = ssm.mamba2_block %h in_proj(%win : tensor<51x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%e : tensor<3xf32>) A_log(%e : tensor<3xf32>) D(%e : tensor<3xf32>)
      norm(%nw : tensor<15xf32>) out_proj(%wout : tensor<8x15xf32>) ngroups = 2 epsilon = 1.0e-05
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba2_state(%h: tensor<1x5x8xf32>, %win: tensor<50x8xf32>, %cw: tensor<32x4xf32>, %e: tensor<2xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>, %ss: tensor<1x16x8xf32>) {
  // expected-error @+1 {{operand 'ssm_state' must be a rank-4 tensor (b, H, P, N), got 'tensor<1x16x8xf32>'}}
  %o = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>) D(%e : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ssm_state(%ss : tensor<1x16x8xf32>)
      ngroups = 1 epsilon = 1.0e-05
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @s4d_imag_without_complex_a(%u: tensor<1x5x4xf32>, %dt: tensor<4xf32>, %a: tensor<4x2xf32>) {
  // expected-error @+1 {{'C_imag' needs complex A: give 'A_imag' too (zeros for a real A with complex B or C)}}
  %y = ssm.s4d %u log_dt(%dt : tensor<4xf32>) A_real(%a : tensor<4x2xf32>) B(%a : tensor<4x2xf32>)
      C(%a : tensor<4x2xf32>) C_imag(%a : tensor<4x2xf32>) : tensor<1x5x4xf32> -> tensor<1x5x4xf32>
  return
}

// -----

func.func @s4d_states(%u: tensor<1x5x4xf32>, %dt: tensor<4xf32>, %a: tensor<4x2xf32>, %c: tensor<4x3xf32>) {
  // expected-error @+1 {{operand 'C' (H, N) has N = 3 in dimension 1, but 'A_real' has N = 2 (got 'tensor<4x3xf32>')}}
  %y = ssm.s4d %u log_dt(%dt : tensor<4xf32>) A_real(%a : tensor<4x2xf32>) B(%a : tensor<4x2xf32>)
      C(%c : tensor<4x3xf32>) : tensor<1x5x4xf32> -> tensor<1x5x4xf32>
  return
}

// -----

func.func @linear_attention_heads(%q: tensor<1x5x6xf32>, %v: tensor<1x5x8xf32>) {
  // expected-error @+1 {{operand 'q' has 6 columns, which is not a positive multiple of heads = 4}}
  %y = ssm.linear_attention %q, %q, %v heads = 4 : tensor<1x5x6xf32>, tensor<1x5x6xf32>, tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @linear_attention_k(%q: tensor<1x5x6xf32>, %k: tensor<1x5x4xf32>, %v: tensor<1x5x8xf32>) {
  // expected-error @+1 {{operand 'k' (b, L, heads*dk) has heads*dk = 4 in dimension 2, but 'q' has heads*dk = 6 (got 'tensor<1x5x4xf32>')}}
  %y = ssm.linear_attention %q, %k, %v heads = 2 : tensor<1x5x6xf32>, tensor<1x5x4xf32>, tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba2_ngroups(%h: tensor<1x5x8xf32>, %win: tensor<50x8xf32>, %cw: tensor<32x4xf32>, %e: tensor<2xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{ngroups must be at least 1, got 0}}
  %o = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>) D(%e : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ngroups = 0 epsilon = 1.0e-05
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba2_heads(%h: tensor<1x5x8xf32>, %win: tensor<51x8xf32>, %cw: tensor<32x4xf32>, %e: tensor<3xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{d_inner I = 16 (from 'norm_weight') is not a multiple of the H = 3 heads (from 'A_log')}}
  %o = ssm.mamba2_block %h in_proj(%win : tensor<51x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%e : tensor<3xf32>) A_log(%e : tensor<3xf32>) D(%e : tensor<3xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ngroups = 1 epsilon = 1.0e-05
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @mamba2_states_results(%h: tensor<1x5x8xf32>, %win: tensor<50x8xf32>, %cw: tensor<32x4xf32>, %e: tensor<2xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>) {
  // expected-error @+1 {{with 'states' the op returns the conv and ssm states after out (3 results), got 1}}
  %o = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>) conv(%cw : tensor<32x4xf32>)
      dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>) D(%e : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ngroups = 1 epsilon = 1.0e-05 states
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return
}

// -----

func.func @dequantize_q_type(%q: tensor<16x8xi16>, %s: tensor<16xf32>) {
  // expected-error @+1 {{operand 'q' must hold i8, got 'tensor<16x8xi16>'}}
  %w = ssm.dequantize %q, %s : tensor<16x8xi16>, tensor<16xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @dequantize_scale_rows(%q: tensor<16x8xi8>, %s: tensor<8xf32>) {
  // expected-error @+1 {{'scale'}}
  %w = ssm.dequantize %q, %s : tensor<16x8xi8>, tensor<8xf32> -> tensor<16x8xf32>
  return
}

// -----

func.func @dequantize_scale_type(%q: tensor<16x8xi8>, %s: tensor<16xf16>) {
  // expected-error @+1 {{element type of 'scale' must match 'weight' ('f32'), got 'f16'}}
  %w = ssm.dequantize %q, %s : tensor<16x8xi8>, tensor<16xf16> -> tensor<16x8xf32>
  return
}
