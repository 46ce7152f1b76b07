//===- TaskModels.h - fixed-weight models of the tasks ----------*- C++ -*-===//
//
// Shared by the task implementations: a seeded generator that gives the same
// numbers on every platform, mixer weights (Mamba-1, Mamba-2, S4D) addressed
// by their names, and a compiled mixer stack (buildMambaStackModule) called
// on host arrays.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_TASKS_TASKMODELS_H
#define SSM_LIB_TASKS_TASKMODELS_H

#include "ssm/Runtime/Checkpoint.h"
#include "ssm/Runtime/Jit.h"
#include "ssm/Runtime/Programs.h"
#include "ssm/Runtime/Sampling.h"
#include "ssm/Tasks/Tasks.h"

#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

namespace mlir::ssm::tasks {

/// The seeded generator of the tasks' data (splitmix64, Runtime/Sampling.h).
using Rng = mlir::ssm::Rng;

/// The first error of `values` (llvm::Expected), the others consumed; for
/// reading several options at once.
template <typename... Ts>
llvm::Error firstError(llvm::Expected<Ts> &...values) {
  llvm::Error first = llvm::Error::success();
  auto take = [&](auto &v) {
    if (v)
      return;
    llvm::Error err = v.takeError();
    if (first)
      llvm::consumeError(std::move(err));
    else
      first = std::move(err);
  };
  (take(values), ...);
  return first;
}

/// The weights of one mixer (of any MixerKind), zero-initialised in the
/// shapes of mambaLayerWeights(cfg, /*withNorm=*/false), addressed by name.
class MixerWeights {
public:
  explicit MixerWeights(const MambaConfig &cfg);
  MixerWeights(const MixerWeights &) = delete;
  MixerWeights(MixerWeights &&) = default;
  MixerWeights &operator=(MixerWeights &&) = default;
  const MambaConfig &config() const { return cfg; }
  /// The element (i) or (i, j) of weight `name` ("in_proj.weight",
  /// "conv1d.weight" as (E, K), ...; the "mixer." prefix is implied).
  float &at(llvm::StringRef name, int64_t i, int64_t j = 0);
  /// Sets every element of a weight.
  void fill(llvm::StringRef name, float value);
  /// The weights in the order the stack function takes them.
  llvm::SmallVector<const Array *> ordered() const;
  /// The position of A_log in ordered() (Mamba-1 and Mamba-2 mixers).
  size_t aLogIndex() const;

private:
  /// The weight `name` ("mixer." implied). The last one found is kept: the
  /// builders set millions of elements of one weight in turn (MQAR at V =
  /// 8192 sets 34 M), and a lookup by the prefixed name each time took 5 s
  /// of a 20 s task.
  Array &weight(llvm::StringRef name);

  MambaConfig cfg;
  llvm::SmallVector<WeightSpec> specs;
  llvm::StringMap<Array> arrays;
  std::string lastName;
  Array *last = nullptr; // an entry of `arrays`: stays valid when moved
};

/// Builds the module `build` makes in a fresh context and JIT-compiles it
/// (the context is only needed until then).
llvm::Expected<std::unique_ptr<JitProgram>> compileProgram(
    llvm::function_ref<
        llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>(mlir::MLIRContext &)>
        build,
    const JitOptions &options);

/// A compiled stack of mixers with fixed weights.
class MixerStack {
public:
  /// Builds and compiles the stack of `layers` for any batch and length.
  static llvm::Expected<std::unique_ptr<MixerStack>>
  compile(std::vector<MixerWeights> layers, bool residual,
          const JitOptions &options);
  /// The stack on features x (b, L, D) float32; returns (b, L, D).
  llvm::Expected<Array> run(const Array &x);
  int64_t width() const { return layers.front().config().dModel; }
  /// The widest layer's d_inner.
  int64_t maxInner() const;
  /// Layer l's weights, which later runs use: the program takes them as
  /// arguments, so changing them needs no recompilation (but for A_log's
  /// form, below).
  MixerWeights &weights(size_t l) { return layers[l]; }

private:
  /// Compiles the program for the layers' current A_log: a Mamba-1 layer
  /// whose A_log is the same for all states of each channel (the tasks'
  /// constructions fill it with one value) takes it per channel
  /// (buildMambaStackModule's uniformALog), and its scan computes one decay
  /// per channel and step instead of one per state. MQAR at V = 8192 has
  /// 4095 states.
  llvm::Error compileProgram();

  std::vector<MixerWeights> layers;
  bool residual = false;
  JitOptions options;
  /// Per layer: compiled with A_log per channel; and that column, which run()
  /// passes in place of the (E, N) array.
  llvm::SmallVector<bool> uniformALog;
  std::vector<Array> aLogColumns;
  std::unique_ptr<JitProgram> program;
};

/// The config of a task mixer: width D, E channels, N states, K taps,
/// dt rank 1, conv bias on, other biases as `bias` says; a Mamba-1 mixer
/// unless `mixer` says otherwise (a Mamba-2 one has one head of E channels
/// and one group until the caller sets nHeads and headDim).
MambaConfig taskMixerConfig(int64_t D, int64_t E, int64_t N, int64_t K = 4,
                            bool bias = false,
                            MixerKind mixer = MixerKind::Mamba1);

/// Runs `stack` on `examples` one-hot token sequences of `length`, in
/// batches whose activations stay near `maxBytes` (at least one sequence
/// per batch): `generate(i, ids)` writes example
/// i's `length` ids, `score(i, out)` reads its (length, width) outputs.
/// Reports "<label>: i/n examples" through `progress`.
llvm::Error runExamples(MixerStack &stack, int64_t examples, int64_t length,
                        llvm::function_ref<void(int64_t, int64_t *)> generate,
                        llvm::function_ref<void(int64_t, const float *)> score,
                        const Progress &progress, llvm::StringRef label,
                        int64_t maxBytes = int64_t(256) << 20);

/// Runs `examples` sequences whose answer is read at the last step:
/// `generate(i, ids)` writes sequence i and returns its target token; the
/// prediction is the argmax of the first `vocab` outputs there. Returns the
/// number of correct predictions.
llvm::Expected<int64_t>
lastStepRecall(MixerStack &stack, int64_t examples, int64_t length,
               int64_t vocab,
               llvm::function_ref<int64_t(int64_t, int64_t *)> generate,
               const Progress &progress, llvm::StringRef label);

/// Appends a row whose expected accuracy is 1.0, with `cells` before the
/// accuracy, and its `accuracy=` line.
void addExactRecallRow(TaskReport &report, std::vector<std::string> cells,
                       int64_t correct, int64_t total);

/// A float32 array of `shape` with every element `value`.
Array filled(llvm::ArrayRef<int64_t> shape, float value);

/// One-hot features (b, L, width) of tokens (b * L ids in [0, width)).
Array oneHot(llvm::ArrayRef<int64_t> tokens, int64_t batch, int64_t length,
             int64_t width);

/// The index of the largest of `n` values at `p` (the first on ties, and
/// the first NaN if there is one, as numpy's argmax).
int64_t argmax(const float *p, int64_t n);

/// max(a, b) for error measures: NaN if either is NaN. std::max(err, NaN)
/// keeps err, so a NaN output would leave an error of 0 and a PASS.
inline double maxError(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
}

std::string formatDouble(double v, int digits = 4);

// The tasks, one per file, gathered by allTasks().
TaskInfo mqarTask();
TaskInfo inductionTask();
TaskInfo keepNthTask();
TaskInfo haarTask();
TaskInfo polynomialTask();

} // namespace mlir::ssm::tasks

#endif // SSM_LIB_TASKS_TASKMODELS_H
