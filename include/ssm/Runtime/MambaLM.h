//===- MambaLM.h - Mamba language models from checkpoints -------*- C++ -*-===//
//
// A Mamba-1 or Mamba-2 checkpoint in Hugging Face layout compiled through
// the dialect (buildMambaLMModule -> --ssm-to-llvm -> JIT) and run on token
// ids:
// prefill, chunked prefill and decoding all run the same program from an
// explicit state. Weights stay in the checkpoint's memory map where they
// can; 16-bit projection matrices are kept as stored on the CPU.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_MAMBALM_H
#define SSM_RUNTIME_MAMBALM_H

#include "ssm/Runtime/Checkpoint.h"
#include "ssm/Runtime/Jit.h"
#include "ssm/Runtime/Programs.h"
#include "ssm/Runtime/Sampling.h"

#include <map>
#include <vector>

namespace mlir::ssm {

/// How a language model keeps a checkpoint's 16-bit (F16, BF16) projection
/// matrices: as stored, widened where the compiled code reads them (half
/// the bytes a decoding step streams; docs/models.md, "16-bit weights"), or
/// converted to float32 when loaded. The results are the same but for the
/// order of the sums. Int8 quantizes every matrix (of any stored type) when
/// loaded to int8 rows with one scale per row (quantizeRows, ssm.dequantize:
/// a quarter of float32's bytes; docs/models.md, "8-bit weights"); its
/// results are the model's with those weights, on every target (the GPU
/// kernels read float32: there the quantized values are widened back).
enum class WeightPrecision { Stored, Float32, Int8 };

class MambaLM {
public:
  /// The recurrent state of every layer for a batch of sequences.
  struct State {
    /// (layers, b, config().convChannels(), K-1): the last K-1 conv inputs
    Array conv;
    /// (layers, b, E, N) for Mamba-1, (layers, b, H, P, N) for Mamba-2
    Array ssm;
  };

  static llvm::Expected<std::unique_ptr<MambaLM>>
  load(llvm::StringRef dir, const JitOptions &options = {},
       WeightPrecision precision = WeightPrecision::Stored);
  ~MambaLM();

  const MambaConfig &config() const { return ckpt->config(); }

  /// Whether the model's weights live on the device for `options`: a GPU
  /// target with all-kernels, where only kernels read them (uploaded once,
  /// before the first call; the program marks them ssm.device_resident).
  static bool usesDeviceWeights(const JitOptions &options) {
    return options.target != Target::CPU && options.gpuAllKernels;
  }

  /// The element type of the model's matrices (the embedding, the LM head,
  /// the layers' projections; buildMambaLMModule's `matrices`): I8 for
  /// WeightPrecision::Int8 on the CPU; the checkpoint's F16 or BF16 when
  /// every one of them is stored so, the precision asks for them as stored
  /// and the target is the CPU (the GPU kernels read float32); else F32.
  static DType matrixDType(const Checkpoint &ckpt, const JitOptions &options,
                           WeightPrecision precision);

  /// The element type of this model's matrices (matrixDType at load).
  DType matrixType() const { return matrices; }
  /// The bytes of the weights the model holds (a tied head counted once).
  size_t weightBytes() const;

  /// The state before any token: zeros.
  State initialState(int64_t batch) const;

  /// Checks that `state` fits the model and a batch of `batch` sequences.
  llvm::Error checkState(const State &state, int64_t batch) const;

  /// Runs `tokens` ((b, L) integers) from `state` and leaves in it the state
  /// after the last token; returns the logits (b, L, vocab), or (b, 1,
  /// vocab) with LMLogits::Last (the prefill of a generation). Prefill is a
  /// call from initialState(), a decoding step a call with L = 1, and a
  /// chunked prefill a call from the state an earlier call left.
  /// `ms`, when given, receives the time of the compiled call.
  llvm::Expected<Array> forward(const Array &tokens, State &state,
                                double *ms = nullptr,
                                LMLogits logits = LMLogits::All);

  /// The log-probabilities the model gives each token of `tokens` ((b, L)
  /// integers) after the ones before it: (b, L - 1) float64, entry (i, t)
  /// log p(tokens[i, t + 1] | tokens[i, 0..t]), from `state`, which is left
  /// after the last token as forward() leaves it. The logits are computed
  /// `chunk` positions at a time (a chunked prefill, the same values), so
  /// memory stays at b x chunk x vocab floats however long the sequence;
  /// chunk 0 takes as many as keep that under kScoreChunkBytes. Each
  /// position's log-softmax is taken on the host, summed in double
  /// precision. `ms` receives the compiled calls' time.
  llvm::Expected<Array> score(const Array &tokens, State &state,
                              int64_t chunk = 0, double *ms = nullptr);
  /// The logits score() lets one call produce by default: below glibc's
  /// largest mmap threshold (32 MB), so that the buffer of one call is
  /// reused by the next instead of mapped afresh; a fresh mapping's page
  /// faults cost as much as the LM head's arithmetic here (docs/models.md).
  static constexpr int64_t kScoreChunkBytes = 24 << 20;

  /// The prefill of sequences of different lengths (each at least one
  /// token): sequence i runs prompts[i] from its part of `state` (batch
  /// prompts.size()), which is left after its last token. Returns the
  /// logits of each sequence's last position, (b, 1, vocab), what decode()
  /// starts from. Prompts of one length are one forward() call; otherwise
  /// each prompt is a call of the batch-1 program (docs/models.md, "Prompts
  /// of different lengths", says why). `ms` receives the calls' time.
  llvm::Expected<Array> prefill(llvm::ArrayRef<llvm::ArrayRef<int64_t>> prompts,
                                State &state, double *ms = nullptr);

  /// What decode() generated.
  struct Generated {
    /// (b, n) int64: each sequence's tokens, n the most any sequence
    /// generated; a sequence that stopped repeats its stop token to n.
    Array tokens;
    /// The tokens each sequence generated, its stop token included.
    llvm::SmallVector<int64_t> lengths;
  };

  /// Decoding of up to `steps` tokens after `logits` ((b, L, vocab), the
  /// output that left `state`): each token is picked from the previous
  /// logits as `sampling` says (greedy, the argmax, by default; an error if
  /// its options are out of range). A sequence that picks one of
  /// `stopTokens` ends there; decoding ends when every sequence has ended
  /// or after `steps` tokens. Each sequence's state is left after all but
  /// its last token (for a stopped one, before its stop token). The steps
  /// run the program of the last position's logits, or the one of every
  /// position when only that one is compiled (at L = 1 they are the same).
  /// `onStep`, when given, is called after each step's picks with the
  /// step's index and its b tokens (a sequence that ended repeats its stop
  /// token), before the step's call; returning true ends decoding there, as
  /// if `steps` ended there. `ms` receives the wall time of the steps (the
  /// tokens' picks, the calls and their results, not `onStep`); `calls` the
  /// number of calls made.
  using StepCallback =
      llvm::function_ref<bool(int64_t step, llvm::ArrayRef<int64_t> tokens)>;
  llvm::Expected<Generated>
  decode(const Array &logits, int64_t steps, State &state,
         const SamplingOptions &sampling = {},
         llvm::ArrayRef<int64_t> stopTokens = {}, StepCallback onStep = nullptr,
         double *ms = nullptr, int64_t *calls = nullptr);

  /// How many of the programs made so far (one per batch size and logits
  /// kind) were loaded from the compile cache rather than compiled.
  int64_t programsFromCache() const;

private:
  MambaLM() = default;
  llvm::Expected<JitProgram *> program(int64_t batch, LMLogits logits);

  std::unique_ptr<mlir::MLIRContext> ctx;
  std::unique_ptr<Checkpoint> ckpt;
  JitOptions options;
  /// embedding, norm_f, lm_head, then every layer's weights; with int8
  /// matrices then their scales (buildMambaLMModule's argument order).
  llvm::SmallVector<Array> weights;
  /// GPU targets with all-kernels: the weights' device copies, uploaded
  /// before the first call (a tied head shares the embedding's), and what
  /// the calls pass for each weight.
  bool deviceWeights = false;
  /// The element type of the matrices in `weights` and in the programs.
  DType matrices = DType::F32;
  std::vector<DeviceBuffer> uploads;
  llvm::SmallVector<const Array *> weightArgs;
  /// Compiled programs by batch size (the length is dynamic) and logits.
  std::map<std::pair<int64_t, LMLogits>, std::unique_ptr<JitProgram>> programs;
};

} // namespace mlir::ssm

#endif // SSM_RUNTIME_MAMBALM_H
