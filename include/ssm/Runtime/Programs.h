//===- Programs.h - ssm programs built for the runner -----------*- C++ -*-===//
//
// Programs the runner and the bindings build through the dialect, so that
// every entry point goes through the same ops, verifiers and pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_PROGRAMS_H
#define SSM_RUNTIME_PROGRAMS_H

#include "ssm/Runtime/Checkpoint.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <optional>

namespace mlir::ssm {

/// mamba_ssm's selective_scan_fn, channel-first: the shapes of its operands
/// and its flags. Optional operands are absent when their shape is unset.
struct SelectiveScanSpec {
  llvm::SmallVector<int64_t> u, delta, A, B, C;
  std::optional<llvm::SmallVector<int64_t>> D, z, deltaBias, h0;
  bool deltaSoftplus = false;
  bool returnLastState = false;
  bool f64 = false; ///< element type f64 instead of f32
};

/// The name of the function buildSelectiveScanModule() defines. Its
/// arguments are u, delta, A, B, C, then D, z, delta_bias and h0 where
/// present; its results y and, when asked for, the last state.
inline constexpr const char *kSelectiveScanFunc = "selective_scan";

/// Builds a module with one function holding one ssm.selective_scan of the
/// given static shapes. Shapes that break the contract give an error with
/// the op verifier's message (naming the operand and the expected shape).
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildSelectiveScanModule(mlir::MLIRContext &ctx, const SelectiveScanSpec &spec);

/// The causal-conv1d package's causal_conv1d_fn, channel-first: x (b, d, L),
/// weight (d, k), bias (d,) and initial states (b, d, k-1) where present.
struct CausalConv1dSpec {
  llvm::SmallVector<int64_t> x, weight;
  std::optional<llvm::SmallVector<int64_t>> bias, initialStates;
  bool silu = false;
  bool returnFinalStates = false;
};

/// The name of the function buildCausalConv1dModule() defines. Its
/// arguments are x, weight, then bias and the initial states where present;
/// its results the output (b, d, L) and, when asked for, the final states.
inline constexpr const char *kCausalConv1dFunc = "causal_conv1d";

/// Builds a module with one function holding one ssm.causal_conv1d of the
/// given static shapes; shapes that break the contract give an error with
/// the verifier's message.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildCausalConv1dModule(mlir::MLIRContext &ctx, const CausalConv1dSpec &spec);

/// One weight of a Mamba layer: its name after `backbone.layers.{i}.`,
/// its shape in the checkpoint and as the compiled program takes it.
struct WeightSpec {
  std::string name;
  llvm::SmallVector<int64_t> checkpointShape, argShape;
  /// A projection matrix: the weights a language model may keep in a
  /// checkpoint's 16 bits or quantize to int8 (buildMambaLMModule's
  /// `matrices`).
  bool matrix = false;
};

/// The weights of one layer (by `cfg.mixer`) in the order the layer
/// function takes them; optional biases appear only when the config has
/// them. The S4D mixer's are Mamba-1's in_proj, conv1d and out_proj with
/// ssm.s4d's log_dt, A_real, A_imag, B, C, C_imag and D (A_imag and C_imag
/// only when `cfg.s4dComplex`). `withNorm` leads
/// with the layer's norm.weight (the language model's layers have one, the
/// mixer stacks of buildMambaStackModule do not).
llvm::SmallVector<WeightSpec> mambaLayerWeights(const MambaConfig &cfg,
                                                bool withNorm = true);

/// The name of the function buildMambaLMModule() defines. Arguments:
/// tokens (b, L) i64, the embedding (V, D), norm_f (D), lm_head (V, D), the
/// stacked conv states (layers, b, cfg.convChannels(), K-1) and ssm states
/// (layers, b, cfg.ssmStateShape()...), then each layer's weights
/// (mambaLayerWeights); with int8 matrices, then their per-row scales (f32):
/// the embedding's (V), the LM head's (V), then each layer's matrices' in
/// the order of mambaLayerWeights (each ssm.dequantize'd in the program).
/// Results: logits (b, L, V), or (b, 1, V) for the
/// last position only (LMLogits::Last), and the states after the last
/// token, stacked the same way.
inline constexpr const char *kMambaLMFunc = "forward";

/// The argument positions of kMambaLMFunc; layer l's weights start at
/// kLayerWeightsArg + l * mambaLayerWeights(cfg).size().
enum MambaLMArg : unsigned {
  kTokensArg,
  kEmbeddingArg,
  kNormFArg,
  kLMHeadArg,
  kConvStatesArg,
  kSsmStatesArg,
  kLayerWeightsArg
};

/// The positions a language model's program computes logits for: every
/// position, or the last one only (what generation needs: the final norm
/// and the LM head, a third of Mamba-130m's prefill arithmetic at 2048
/// tokens, on one position instead of L).
enum class LMLogits { All, Last };

/// A Mamba-1 or Mamba-2 language model (semantics.md sections 4 and 5) of
/// config `cfg` over `batch` sequences of `length` tokens
/// (ShapedType::kDynamic for either is allowed), in ssm.embedding,
/// ssm.rmsnorm, ssm.mamba_block or ssm.mamba2_block and ssm.linear, with
/// one private function per layer called for each layer. With
/// `deviceWeights`, every weight argument is marked `ssm.device_resident`:
/// the caller passes device copies (DeviceBuffer), for the GPU pipelines
/// with all-kernels, where kernels are the only readers of weights.
/// `matrices` is the element type of the embedding, the LM head and the
/// layers' projection matrices (WeightSpec::matrix): F32, a checkpoint's
/// F16 or BF16 kept as stored (the ops widen them where they read them),
/// or I8 with per-row scales (ssm.dequantize; see kMambaLMFunc).
/// Every other weight, the activations and the states are float32.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildMambaLMModule(mlir::MLIRContext &ctx, const MambaConfig &cfg,
                   int64_t batch, int64_t length,
                   LMLogits logits = LMLogits::All, bool deviceWeights = false,
                   DType matrices = DType::F32);

/// The name of the function buildMambaStackModule() defines. Arguments:
/// the features x (b, L, D), then each layer's weights
/// (mambaLayerWeights(layer, /*withNorm=*/false)); result: (b, L, D).
inline constexpr const char *kMambaStackFunc = "stack";

/// A stack of Mamba-1, Mamba-2 or S4D mixers (by each config's `mixer`) on
/// float features without norms, the models of
/// the research tasks' fixed-weight constructions (tasks.md): layer l maps
/// h to h + mixer_l(h), or to mixer_l(h) when `residual` is false. Every
/// layer has the width `layers[l].dModel`, which must be the same for all.
/// `batch` and `length` may be ShapedType::kDynamic. A Mamba-1 layer l with
/// `uniformALog[l]` takes A_log as (d_inner) instead of (d_inner, d_state),
/// one value per channel for all its states, broadcast in the program: the
/// IR then shows A uniform along the states, and the scan takes one decay
/// per channel and step (SSMAnalysis.h). `uniformALog` is empty or one flag
/// per layer.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>> buildMambaStackModule(
    mlir::MLIRContext &ctx, llvm::ArrayRef<MambaConfig> layers, bool residual,
    int64_t batch, int64_t length, llvm::ArrayRef<bool> uniformALog = {});

/// The name of the function buildLinearAttentionStackModule() defines.
/// Arguments: the features x (b, L, W), then per layer the q, k and v
/// weights, each (W, W) in nn.Linear's (out, in) layout; result (b, L, W).
inline constexpr const char *kLinearAttentionStackFunc = "linear_attention_stack";

/// A stack of `layers` linear-attention layers (semantics.md section 7) of
/// width `width` with `heads` heads and residuals, the baseline of P2's
/// polynomial study: h <- h + linear_attention(h Wq^T, h Wk^T, h Wv^T).
/// `batch` and `length` may be ShapedType::kDynamic.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildLinearAttentionStackModule(mlir::MLIRContext &ctx, int64_t layers,
                                int64_t width, int64_t heads, int64_t batch,
                                int64_t length);

/// The name of the function buildScanReadoutModule() defines. Arguments:
/// the decays a and inputs b (batch, L, channels) and the readout weight
/// (outputs, channels); result (batch, outputs).
inline constexpr const char *kScanReadoutFunc = "scan_readout";

/// The simplified selective layer of P2 (tasks.md section 5): the generic
/// recurrence h_t = a_t h_{t-1} + b_t (ssm.scan, last state only) over
/// given a and b, then a linear readout of the final state.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildScanReadoutModule(mlir::MLIRContext &ctx, int64_t batch, int64_t length,
                       int64_t channels, int64_t outputs);

/// The name of the function buildS4DModule() defines. Arguments: u
/// (b, L, H), log_dt (H), A_real (H, N), then A_imag (H, N) when `complex`,
/// B (H, N), C (H, N), then C_imag (H, N) when `complex`; result y (b, L, H).
inline constexpr const char *kS4DFunc = "s4d";

/// One ssm.s4d layer (semantics.md section 6): S4D-Lin when `complex` (B
/// real, C complex), S4D-Real otherwise. `batch` and `length` may be
/// ShapedType::kDynamic. The Haar task takes S4D-Lin's mode functions from
/// such a layer.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildS4DModule(mlir::MLIRContext &ctx, int64_t channels, int64_t states,
               bool complex, int64_t batch, int64_t length);

} // namespace mlir::ssm

#endif // SSM_RUNTIME_PROGRAMS_H
