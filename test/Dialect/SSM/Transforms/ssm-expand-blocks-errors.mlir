// RUN: ssm-opt %s --ssm-expand-blocks --split-input-file -verify-diagnostics

// A model op whose weights' sizes are dynamic cannot be split into its
// projections and slices: the pass names the op instead of leaving it to
// the lowerings.

func.func @linear_attention_dynamic(%q: tensor<1x5x?xf32>, %v: tensor<1x5x8xf32>) -> tensor<1x5x8xf32> {
  // expected-error @+1 {{could not expand this model op (its weights' sizes, such as d_inner, d_state, dt_rank, the heads and the widths of q, k and v, must be static)}}
  %y = ssm.linear_attention %q, %q, %v heads = 2 : tensor<1x5x?xf32>, tensor<1x5x?xf32>, tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return %y : tensor<1x5x8xf32>
}

// -----

func.func @mamba2_dynamic(%h: tensor<1x5x8xf32>, %win: tensor<50x8xf32>, %cw: tensor<?x4xf32>, %e: tensor<2xf32>, %nw: tensor<16xf32>, %wout: tensor<8x16xf32>) -> tensor<1x5x8xf32> {
  // expected-error @+1 {{could not expand this model op}}
  %o = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>) conv(%cw : tensor<?x4xf32>)
      dt_bias(%e : tensor<2xf32>) A_log(%e : tensor<2xf32>) D(%e : tensor<2xf32>)
      norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) ngroups = 1 epsilon = 1.0e-05
      : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
  return %o : tensor<1x5x8xf32>
}
