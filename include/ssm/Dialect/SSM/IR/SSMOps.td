//===- SSMOps.td - operations of the ssm dialect -----------*- tablegen -*-===//

#ifndef SSM_DIALECT_SSM_IR_SSMOPS_TD
#define SSM_DIALECT_SSM_IR_SSMOPS_TD

include "ssm/Dialect/SSM/IR/SSMDialect.td"
include "ssm/Dialect/SSM/IR/SSMAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Operands are any ranked tensor: ranks, shapes and element types are checked
// by the C++ verifiers, whose messages name the operand and the layout that
// was expected (ODS type constraints could only say "must be tensor of ...").

def SSM_SelectiveScanOp : SSM_Op<"selective_scan",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "selective scan (Mamba's S6 recurrence)";
  let description = [{
    The selective scan of mamba_ssm (`selective_scan_fn`). With `b` batch,
    `d` channels, `L` steps, `n` states per channel and `g` groups of B/C:

    | operand | channel_first | token_major |
    |---|---|---|
    | `u`, `delta`, `z`, result `y` | (b, d, L) | (b, L, d) |
    | `A` | (d, n) | (d, n) |
    | `B`, `C` time-invariant | (d, n) | (d, n) |
    | `B`, `C` variable | (b, n, L) | (b, L, n) |
    | `B`, `C` grouped | (b, g, n, L) | (b, L, g, n) |
    | `D`, `delta_bias` | (d) | (d) |
    | `h0`, result `last_state` | (b, d, n) | (b, d, n) |

    B and C take their forms independently; with `g` groups, channel `c`
    reads group `c / (d / g)` (`d % g == 0`). Per batch, channel `c`, state
    `j` and step `t`, with `h = h0` (or zeros):

    ```
    dt      = delta[c,t] + delta_bias[c]     ; softplus(dt) if delta_softplus
    h[c,j]  = exp(dt * A[c,j]) * h[c,j] + dt * B[j,t] * u[c,t]
    y[c,t]  = sum_j C[j,t] * h[c,j]  (+ D[c] * u[c,t])  (* silu(z[c,t]))
    ```

    `softplus(x) = log1p(exp(x))`, taken as `x` for `x > 20`. The optional
    second result is the state after the last step. All operands share one
    real element type (f32 or f64).

    Complex A (S4D, as in mamba_ssm): `A`, `B`, `C`, `h0` and `last_state`
    are `complex<f32>` (or `complex<f64>`) while `u`, `delta`, `z`, `D`,
    `delta_bias` and `y` stay real, and the output is
    `y[c,t] = 2 * Re(sum_j C[j,t] * h[c,j])` (the conjugate pair's share),
    then the D skip and the gate as above. The fast vector path handles real
    scans; complex ones lower through the reference loops.

    Example:

    ```mlir
    %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C
        D(%D : tensor<8xf32>) delta_bias(%bias : tensor<8xf32>) delta_softplus
        : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>,
           tensor<2x16x64xf32>, tensor<2x16x64xf32>)
        -> tensor<2x8x64xf32>, tensor<2x8x16xf32>
    ```
  }];
  let arguments = (ins
    SSM_LayoutAttr:$layout,
    AnyRankedTensor:$u,
    AnyRankedTensor:$delta,
    AnyRankedTensor:$A,
    AnyRankedTensor:$B,
    AnyRankedTensor:$C,
    Optional<AnyRankedTensor>:$D,
    Optional<AnyRankedTensor>:$z,
    Optional<AnyRankedTensor>:$delta_bias,
    Optional<AnyRankedTensor>:$h0,
    UnitAttr:$delta_softplus);
  let results = (outs AnyRankedTensor:$y, Optional<AnyRankedTensor>:$last_state);
  let assemblyFormat = [{
    custom<Layout>($layout) $u `,` $delta `,` $A `,` $B `,` $C
    (`D` `(` $D^ `:` type($D) `)`)?
    (`z` `(` $z^ `:` type($z) `)`)?
    (`delta_bias` `(` $delta_bias^ `:` type($delta_bias) `)`)?
    (`h0` `(` $h0^ `:` type($h0) `)`)?
    (`delta_softplus` $delta_softplus^)?
    attr-dict `:` `(` type($u) `,` type($delta) `,` type($A) `,` type($B) `,`
    type($C) `)` `->` type(results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The form a B or C operand takes.
    enum class ProjectionKind { TimeInvariant, Variable, Grouped };
    static ProjectionKind getProjectionKind(::mlir::Value v) {
      unsigned rank = ::llvm::cast<::mlir::RankedTensorType>(v.getType()).getRank();
      return rank == 2 ? ProjectionKind::TimeInvariant
           : rank == 3 ? ProjectionKind::Variable : ProjectionKind::Grouped;
    }
    bool isTokenMajor() { return getLayout() == ::mlir::ssm::Layout::token_major; }
    /// Whether A (and so B, C and the state) is complex.
    bool isComplex() {
      return ::llvm::isa<::mlir::ComplexType>(getA().getType().getElementType());
    }
  }];
}

def SSM_ScanOp : SSM_Op<"scan", [Pure]> {
  let summary = "first-order linear recurrence along one dimension";
  let description = [{
    The generic first-order linear recurrence, elementwise over every lane
    (every index of the dimensions other than `dim`):

    ```
    h_t = a_t * h_{t-1} + b_t,   h_{-1} = init (or 0)
    ```

    `a` and `b` have the same shape; `init`, when given, has that shape with
    `dim` removed. With `reverse` the recurrence runs from the last index of
    `dim` to the first (`h_t = a_t * h_{t+1} + b_t`). The result holds every
    `h_t` (same shape as `a`), or with `last_only` only the final state of the
    recurrence (the shape of `init`): `h_{L-1}`, or `h_0` when reversed.

    The combination `(a1, b1) o (a2, b2) = (a2 * a1, a2 * b1 + b2)` is
    associative, which is what lets this op run in parallel over time.

    Example:

    ```mlir
    %h = ssm.scan %a, %b init(%h0 : tensor<4xf32>) dim = 1 reverse
        : tensor<4x128xf32>, tensor<4x128xf32> -> tensor<4x128xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$a,
    AnyRankedTensor:$b,
    Optional<AnyRankedTensor>:$init,
    I64Attr:$dim,
    UnitAttr:$reverse,
    UnitAttr:$last_only);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $a `,` $b (`init` `(` $init^ `:` type($init) `)`)? `dim` `=` $dim
    (`reverse` $reverse^)? (`last_only` $last_only^)?
    attr-dict `:` type($a) `,` type($b) `->` type($result)
  }];
  let hasVerifier = 1;
}

def SSM_CausalConv1dOp : SSM_Op<"causal_conv1d",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "causal depthwise 1-D convolution (Mamba block, causal-conv1d)";
  let description = [{
    Depthwise causal convolution with `k` taps per channel, as in the
    causal-conv1d package:

    ```
    out[c,t] = bias[c] + sum_{i=0..k-1} weight[c,i] * x[c, t-(k-1)+i]
    ```

    The last tap multiplies the current step. Inputs at negative `t` come
    from `conv_state` (the k-1 inputs before this sequence, oldest first) or
    are zero. `silu` applies `x * sigmoid(x)` to the result. `x` and `out`
    are (b, d, L) in channel_first or (b, L, d) in token_major layout;
    `weight` is (d, k), `bias` (d), `conv_state` and the optional second
    result `final_state` (b, d, k-1): the last k-1 inputs of the sequence
    preceded by `conv_state`, which continues the convolution in a later call.

    Example:

    ```mlir
    %y, %s = ssm.causal_conv1d channel_first %x, %w bias(%b : tensor<8xf32>) silu
        : tensor<2x8x64xf32>, tensor<8x4xf32> -> tensor<2x8x64xf32>, tensor<2x8x3xf32>
    ```
  }];
  let arguments = (ins
    SSM_LayoutAttr:$layout,
    AnyRankedTensor:$x,
    AnyRankedTensor:$weight,
    Optional<AnyRankedTensor>:$bias,
    Optional<AnyRankedTensor>:$conv_state,
    UnitAttr:$silu);
  let results = (outs AnyRankedTensor:$out, Optional<AnyRankedTensor>:$final_state);
  let assemblyFormat = [{
    custom<Layout>($layout) $x `,` $weight
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`conv_state` `(` $conv_state^ `:` type($conv_state) `)`)?
    (`silu` $silu^)?
    attr-dict `:` type($x) `,` type($weight) `->` type(results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    bool isTokenMajor() { return getLayout() == ::mlir::ssm::Layout::token_major; }
  }];
}

//===----------------------------------------------------------------------===//
// Model-level ops: expanded into the core ops plus linalg by
// ssm-expand-blocks before any lowering.
//===----------------------------------------------------------------------===//

def SSM_RMSNormOp : SSM_Op<"rmsnorm", [Pure]> {
  let summary = "RMSNorm over the last dimension";
  let description = [{
    `y = x / sqrt(mean(x^2) + epsilon) * weight` over the last dimension of
    `x` (any rank >= 1); `weight` has the size of that dimension.

    ```mlir
    %y = ssm.rmsnorm %x, %w epsilon = 1.0e-05
        : tensor<1x64x768xf32>, tensor<768xf32> -> tensor<1x64x768xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$weight,
                   F64Attr:$epsilon);
  let results = (outs AnyRankedTensor:$y);
  let assemblyFormat = [{
    $x `,` $weight `epsilon` `=` $epsilon attr-dict `:` type($x) `,`
    type($weight) `->` type($y)
  }];
  let hasVerifier = 1;
}

def SSM_LinearOp : SSM_Op<"linear", [Pure]> {
  let summary = "a projection with the weight in checkpoint layout";
  let description = [{
    `y[..., n] = sum_k x[..., k] * weight[n, k] (+ bias[n])`: PyTorch's
    `nn.Linear` with its (out, in) weight, on activations of rank 2 or 3.

    ```mlir
    %y = ssm.linear %x, %w bias(%b : tensor<32xf32>)
        : tensor<1x64x8xf32>, tensor<32x8xf32> -> tensor<1x64x32xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$weight,
                   Optional<AnyRankedTensor>:$bias);
  let results = (outs AnyRankedTensor:$y);
  let assemblyFormat = [{
    $x `,` $weight (`bias` `(` $bias^ `:` type($bias) `)`)? attr-dict `:`
    type($x) `,` type($weight) `->` type($y)
  }];
  let hasVerifier = 1;
}

def SSM_DequantizeOp : SSM_Op<"dequantize", [Pure]> {
  let summary = "an int8 weight matrix with one scale per row";
  let description = [{
    `weight[n, k] = q[n, k] * scale[n]`: symmetric 8-bit weights, one scale
    per output row (the per-channel weight-only quantization of LLM
    runtimes), as run-time tensors so that a program serves any checkpoint.
    Its result feeds the weight of ssm.linear, ssm.embedding and the
    matrices of the blocks: ssm-expand-blocks then reads `q` and `scale`
    where those ops read the weight, and never materialises the float
    matrix (docs/models.md, "8-bit weights"); anywhere else the op becomes
    an elementwise linalg.generic.

    ```mlir
    %w = ssm.dequantize %q, %s
        : tensor<3072x768xi8>, tensor<3072xf32> -> tensor<3072x768xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$scale);
  let results = (outs AnyRankedTensor:$weight);
  let assemblyFormat = [{
    $q `,` $scale attr-dict `:` type($q) `,` type($scale) `->` type($weight)
  }];
  let hasVerifier = 1;
}

def SSM_EmbeddingOp : SSM_Op<"embedding", [Pure]> {
  let summary = "rows of an embedding table picked by token ids";
  let description = [{
    `y[b, l, :] = table[tokens[b, l], :]` for integer `tokens` (b, L) and a
    (V, D) table. Token ids outside [0, V) are undefined behaviour; the
    runner checks them before the call.

    ```mlir
    %h = ssm.embedding %tokens, %table
        : tensor<1x64xi64>, tensor<50280x768xf32> -> tensor<1x64x768xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$tokens, AnyRankedTensor:$table);
  let results = (outs AnyRankedTensor:$y);
  let assemblyFormat = [{
    $tokens `,` $table attr-dict `:` type($tokens) `,` type($table) `->`
    type($y)
  }];
  let hasVerifier = 1;
}

def SSM_MambaBlockOp : SSM_Op<"mamba_block",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "the Mamba-1 mixer (mamba_ssm's Mamba, Hugging Face MambaMixer)";
  let description = [{
    The mixer of a Mamba-1 layer on token-major activations, with the
    weights in their Hugging Face shapes (E = d_inner, D = d_model, N =
    d_state, R = dt_rank, K = conv kernel):

    ```
    xz    = h @ in_proj^T (+ in_proj_bias)     x = xz[..., :E], z = xz[..., E:]
    x     = silu(causal_conv1d(x, conv_weight, conv_bias, conv_state))
    dbc   = x @ x_proj^T                       dt (R), B (N), C (N)
    delta = dt @ dt_proj^T
    y     = selective_scan(x, delta, -exp(A_log), B, C, D, z,
                           dt_proj_bias, delta_softplus, h0 = ssm_state)
    out   = y @ out_proj^T (+ out_proj_bias)
    ```

    | operand | shape |
    |---|---|
    | `h`, result `out` | (b, L, D) |
    | `in_proj` | (2E, D) |
    | `conv_weight` (the checkpoint's (E, 1, K) without its unit axis) | (E, K) |
    | `conv_bias`, `dt_proj_bias`, `D` | (E) |
    | `x_proj` | (R + 2N, E) |
    | `dt_proj` | (E, R) |
    | `A_log` | (E, N) |
    | `out_proj` | (D, E) |
    | `in_proj_bias` / `out_proj_bias` | (2E) / (D) |
    | `conv_state`, result `conv_state` | (b, E, K-1) |
    | `ssm_state`, result `ssm_state` | (b, E, N) |

    With `states`, the op also returns the conv and ssm states after the
    last step (decoding continues from them); absent input states are zero.
    `ssm-expand-blocks` rewrites the op into ssm.causal_conv1d,
    ssm.selective_scan and linalg.

    ```mlir
    %out, %cs, %hs = ssm.mamba_block %h in_proj(%win : tensor<32x8xf32>)
        conv(%cw : tensor<16x4xf32>) conv_bias(%cb : tensor<16xf32>)
        x_proj(%wx : tensor<9x16xf32>) dt_proj(%wdt : tensor<16x1xf32>)
        dt_bias(%bdt : tensor<16xf32>) A_log(%alog : tensor<16x4xf32>)
        D(%d : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>) states
        : tensor<1x5x8xf32> -> tensor<1x5x8xf32>, tensor<1x16x3xf32>, tensor<1x16x4xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$h,
    AnyRankedTensor:$in_proj,
    AnyRankedTensor:$conv_weight,
    Optional<AnyRankedTensor>:$conv_bias,
    AnyRankedTensor:$x_proj,
    AnyRankedTensor:$dt_proj,
    AnyRankedTensor:$dt_proj_bias,
    AnyRankedTensor:$A_log,
    AnyRankedTensor:$D,
    AnyRankedTensor:$out_proj,
    Optional<AnyRankedTensor>:$in_proj_bias,
    Optional<AnyRankedTensor>:$out_proj_bias,
    Optional<AnyRankedTensor>:$conv_state,
    Optional<AnyRankedTensor>:$ssm_state,
    UnitAttr:$states);
  let results = (outs AnyRankedTensor:$out, Variadic<AnyRankedTensor>:$new_states);
  let assemblyFormat = [{
    $h `in_proj` `(` $in_proj `:` type($in_proj) `)`
    (`in_proj_bias` `(` $in_proj_bias^ `:` type($in_proj_bias) `)`)?
    `conv` `(` $conv_weight `:` type($conv_weight) `)`
    (`conv_bias` `(` $conv_bias^ `:` type($conv_bias) `)`)?
    `x_proj` `(` $x_proj `:` type($x_proj) `)`
    `dt_proj` `(` $dt_proj `:` type($dt_proj) `)`
    `dt_bias` `(` $dt_proj_bias `:` type($dt_proj_bias) `)`
    `A_log` `(` $A_log `:` type($A_log) `)`
    `D` `(` $D `:` type($D) `)`
    `out_proj` `(` $out_proj `:` type($out_proj) `)`
    (`out_proj_bias` `(` $out_proj_bias^ `:` type($out_proj_bias) `)`)?
    (`conv_state` `(` $conv_state^ `:` type($conv_state) `)`)?
    (`ssm_state` `(` $ssm_state^ `:` type($ssm_state) `)`)?
    (`states` $states^)?
    attr-dict `:` type($h) `->` type(results)
  }];
  let hasVerifier = 1;
}

def SSM_Mamba2BlockOp : SSM_Op<"mamba2_block",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "the Mamba-2 mixer (mamba_ssm's Mamba2, Hugging Face Mamba2Mixer)";
  let description = [{
    The mixer of a Mamba-2 layer (SSD) on token-major activations, with the
    weights in their Hugging Face shapes (I = d_inner = H * P heads of
    P channels, G = `ngroups` groups of B and C, N = d_state, K = conv
    kernel, X = I + 2GN the channels of the convolution):

    ```
    zxbcdt = h @ in_proj^T              z (I), xBC (X), dt (H)
    xBC    = silu(causal_conv1d(xBC, conv_weight, conv_bias, conv_state))
    x (I), B (G, N), C (G, N)           head hd reads group hd / (H / G)
    dt     = softplus(dt + dt_bias)                                    (H)
    h[hd]  = exp(dt[hd] * A[hd]) h[hd] + dt[hd] x[hd] B^T,  A = -exp(A_log)
    y[hd]  = h[hd] C + D[hd] x[hd]                       state (P, N) per head
    y      = rmsnorm(y * silu(z), norm_weight, epsilon)
    out    = y @ out_proj^T
    ```

    The gated RMSNorm normalises the whole width I (semantics.md section
    5) unless `norm_groups = R` is given: then it normalises each of R
    consecutive groups of I / R channels on its own, as mamba_ssm's
    RMSNormGated does with `group_size = d_inner / ngroups` (the checkpoint
    loader sets R = ngroups for grouped Mamba-2 models such as
    Mamba-Codestral). With one group the two are the same.

    | operand | shape |
    |---|---|
    | `h`, result `out` | (b, L, D) |
    | `in_proj` | (2I + 2GN + H, D) |
    | `conv_weight` / `conv_bias` | (X, K) / (X) |
    | `dt_bias`, `A_log`, `D` | (H) |
    | `norm_weight` | (I) |
    | `out_proj` | (D, I) |
    | `conv_state`, result `conv_state` | (b, X, K-1) |
    | `ssm_state`, result `ssm_state` | (b, H, P, N) |

    With `states` the op also returns the conv and ssm states after the last
    step. `ssm-expand-blocks` rewrites it into ssm.causal_conv1d, one
    ssm.selective_scan over the I channels (every channel of a head shares
    its dt, A and D; B and C are grouped), ssm.rmsnorm's expansion and linalg.

    ```mlir
    %out = ssm.mamba2_block %h in_proj(%win : tensor<50x8xf32>)
        conv(%cw : tensor<32x4xf32>) dt_bias(%dtb : tensor<2xf32>)
        A_log(%alog : tensor<2xf32>) D(%d : tensor<2xf32>)
        norm(%nw : tensor<16xf32>) out_proj(%wout : tensor<8x16xf32>)
        ngroups = 1 epsilon = 1.0e-05
        : tensor<1x5x8xf32> -> tensor<1x5x8xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$h,
    AnyRankedTensor:$in_proj,
    AnyRankedTensor:$conv_weight,
    Optional<AnyRankedTensor>:$conv_bias,
    AnyRankedTensor:$dt_bias,
    AnyRankedTensor:$A_log,
    AnyRankedTensor:$D,
    AnyRankedTensor:$norm_weight,
    AnyRankedTensor:$out_proj,
    Optional<AnyRankedTensor>:$conv_state,
    Optional<AnyRankedTensor>:$ssm_state,
    I64Attr:$ngroups,
    F64Attr:$epsilon,
    DefaultValuedAttr<I64Attr, "1">:$norm_groups,
    UnitAttr:$states);
  let results = (outs AnyRankedTensor:$out, Variadic<AnyRankedTensor>:$new_states);
  let assemblyFormat = [{
    $h `in_proj` `(` $in_proj `:` type($in_proj) `)`
    `conv` `(` $conv_weight `:` type($conv_weight) `)`
    (`conv_bias` `(` $conv_bias^ `:` type($conv_bias) `)`)?
    `dt_bias` `(` $dt_bias `:` type($dt_bias) `)`
    `A_log` `(` $A_log `:` type($A_log) `)`
    `D` `(` $D `:` type($D) `)`
    `norm` `(` $norm_weight `:` type($norm_weight) `)`
    `out_proj` `(` $out_proj `:` type($out_proj) `)`
    (`conv_state` `(` $conv_state^ `:` type($conv_state) `)`)?
    (`ssm_state` `(` $ssm_state^ `:` type($ssm_state) `)`)?
    `ngroups` `=` $ngroups `epsilon` `=` $epsilon
    (`norm_groups` `=` $norm_groups^)?
    (`states` $states^)?
    attr-dict `:` type($h) `->` type(results)
  }];
  let hasVerifier = 1;
}

def SSM_S4DOp : SSM_Op<"s4d", [Pure, AttrSizedOperandSegments]> {
  let summary = "the S4D layer: a time-invariant diagonal SSM discretised by ZOH";
  let description = [{
    The S4D layer (Gu et al. 2022) on token-major activations u (b, L, H),
    with N states per channel, real (S4D-Real) or complex (S4D-Lin) A given
    as its real part and, for complex A, its imaginary part:

    ```
    dt    = exp(log_dt[c])
    Abar  = exp(dt * A[c,n])       Bbar = (exp(dt * A[c,n]) - 1) / A[c,n] * B[c,n]
    h_t   = Abar * h_{t-1} + Bbar * u_t          (zero initial state)
    y_t   = 2 * Re(sum_n C[c,n] * h_t[n])        complex A
          =     sum_n C[c,n] * h_t[n]            real A
    y_t   = (y_t + D[c] * u_t) * silu(z_t)       D and the gate z optional
    ```

    | operand | shape |
    |---|---|
    | `u`, `z`, result `y` | (b, L, H) |
    | `log_dt`, `D` | (H) |
    | `A_real`, `A_imag`, `B`, `B_imag`, `C`, `C_imag` | (H, N) |

    `A_imag` makes the layer complex; then `B_imag` and `C_imag` are the
    imaginary parts of B and C (zero when absent). `ssm-expand-blocks`
    rewrites the layer into one ssm.selective_scan with time-invariant B and
    C (complex for complex A) whose Euler step `dt * B` is rescaled to ZOH:
    `B' = (exp(dt A) - 1) / (dt A) * B`. With `z` this is the S4D mixer's
    scan: the Mamba block with its selective scan replaced by S4D.

    ```mlir
    %y = ssm.s4d %u log_dt(%ldt : tensor<8xf32>)
        A_real(%ar : tensor<8x4xf32>) A_imag(%ai : tensor<8x4xf32>)
        B(%b : tensor<8x4xf32>) C(%c : tensor<8x4xf32>)
        C_imag(%ci : tensor<8x4xf32>) D(%d : tensor<8xf32>)
        : tensor<1x64x8xf32> -> tensor<1x64x8xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$u,
    AnyRankedTensor:$log_dt,
    AnyRankedTensor:$A_real,
    Optional<AnyRankedTensor>:$A_imag,
    AnyRankedTensor:$B,
    Optional<AnyRankedTensor>:$B_imag,
    AnyRankedTensor:$C,
    Optional<AnyRankedTensor>:$C_imag,
    Optional<AnyRankedTensor>:$D,
    Optional<AnyRankedTensor>:$z);
  let results = (outs AnyRankedTensor:$y);
  let assemblyFormat = [{
    $u `log_dt` `(` $log_dt `:` type($log_dt) `)`
    `A_real` `(` $A_real `:` type($A_real) `)`
    (`A_imag` `(` $A_imag^ `:` type($A_imag) `)`)?
    `B` `(` $B `:` type($B) `)`
    (`B_imag` `(` $B_imag^ `:` type($B_imag) `)`)?
    `C` `(` $C `:` type($C) `)`
    (`C_imag` `(` $C_imag^ `:` type($C_imag) `)`)?
    (`D` `(` $D^ `:` type($D) `)`)?
    (`z` `(` $z^ `:` type($z) `)`)?
    attr-dict `:` type($u) `->` type($y)
  }];
  let hasVerifier = 1;
}

def SSM_LinearAttentionOp : SSM_Op<"linear_attention", [Pure]> {
  let summary = "causal linear attention (no softmax, no feature map)";
  let description = [{
    Per head, with `heads` heads of key width dk and value width dv on
    token-major activations:

    ```
    S_t = S_{t-1} + k_t v_t^T        (dk, dv), S_{-1} = 0
    y_t = S_t^T q_t
    ```

    | operand | shape |
    |---|---|
    | `q`, `k` | (b, L, heads * dk) |
    | `v`, result `y` | (b, L, heads * dv) |

    Head `i` reads columns `[i * dk, (i + 1) * dk)` of q and k and writes
    columns `[i * dv, (i + 1) * dv)` of y. `ssm-expand-blocks` rewrites it
    into a selective scan with no decay (A = 0), a unit step, B = k and
    C = q (grouped by head) over the channels of v: the state of channel c
    is column c of its head's S.

    ```mlir
    %y = ssm.linear_attention %q, %k, %v heads = 2
        : tensor<1x64x8xf32>, tensor<1x64x8xf32>, tensor<1x64x6xf32>
        -> tensor<1x64x6xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$k,
                   AnyRankedTensor:$v, I64Attr:$heads);
  let results = (outs AnyRankedTensor:$y);
  let assemblyFormat = [{
    $q `,` $k `,` $v `heads` `=` $heads attr-dict `:` type($q) `,` type($k)
    `,` type($v) `->` type($y)
  }];
  let hasVerifier = 1;
}

#endif // SSM_DIALECT_SSM_IR_SSMOPS_TD
