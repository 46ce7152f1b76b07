//===- KeepNth.cpp - KEEP n-TH, P1's memory task (tasks.md section 3) -----===//
//
// Two Mamba-1 blocks on one-hot tokens plus a counter slot in the residual:
// block 1 counts the steps into the counter, block 2 turns the counter into
// B_t = 1[t = n] with two pairs of SiLU ramps and stores the token of that
// step. As in Recall.cpp the constants are powers of two (M = 32 instead of
// tasks.md's 40, a step of exactly 32) so that the counter is an exact
// integer up to 2^19 steps.
//
//===----------------------------------------------------------------------===//

#include "TaskModels.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir::ssm;
using namespace mlir::ssm::tasks;

namespace {

constexpr int64_t kVocab = 16, kCounter = kVocab, kWidth = kVocab + 1;
constexpr float kM = 32, kStep = 32, kALog = -30, kRamp = 64;

void noDecay(MixerWeights &w) {
  w.fill("A_log", kALog);
  w.fill("dt_proj.bias", kStep);
}

/// Block 1: one channel with u = silu(M) = M and B = C = 1/M, so the state
/// after t steps is dt * t and out_proj writes t into the counter slot.
MixerWeights counterBlock() {
  MixerWeights w(taskMixerConfig(kWidth, 1, 1));
  noDecay(w);
  for (int64_t v = 0; v < kVocab; ++v) {
    w.at("in_proj.weight", 0, v) = 1;  // the one-hot sums to 1
    w.at("in_proj.weight", 1, v) = kM; // gate silu(M) = M
  }
  w.at("conv1d.weight", 0, w.config().dConv - 1) = kM;
  w.at("x_proj.weight", 1, 0) = 1 / (kM * kM);
  w.at("x_proj.weight", 2, 0) = 1 / (kM * kM);
  // y = C * (dt * t * B * M) * M = t * dt.
  w.at("out_proj.weight", kCounter, 0) = 1 / kStep;
  return w;
}

/// Block 2 for position n (1-based): value channels u_v = M * 1[x_t = v];
/// ramp channels silu(w (c - a)) and silu(w (c - a) - 1) at a = n -+ 1/2,
/// whose differences are the steps 1[c >= n] and 1[c >= n + 1]; B is their
/// difference, C = 1, and out_proj gives the stored token a logit of 2 (the
/// residual's one-hot of the last token adds 1).
MixerWeights selectorBlock() {
  MixerWeights w(taskMixerConfig(kWidth, kVocab + 4, 1));
  noDecay(w);
  int64_t E = w.config().dInner, K = w.config().dConv;
  for (int64_t v = 0; v < kVocab; ++v) {
    w.at("in_proj.weight", v, v) = 1;
    w.at("conv1d.weight", v, K - 1) = kM;
    for (int64_t col = 0; col < kVocab; ++col)
      w.at("in_proj.weight", E + v, col) = kM;
    w.at("x_proj.weight", 2, v) = 1 / kM;
    w.at("out_proj.weight", v, v) = 2 / (kStep * kM * kM);
  }
  for (int64_t r = 0; r < 4; ++r) {
    w.at("in_proj.weight", kVocab + r, kCounter) = 1;
    w.at("conv1d.weight", kVocab + r, K - 1) = kRamp;
  }
  const float sign[4] = {1, -1, -1, 1};
  for (int64_t r = 0; r < 4; ++r)
    w.at("x_proj.weight", 1, kVocab + r) = sign[r];
  return w;
}

/// Moves block 2's ramps to position n.
void selectPosition(MixerWeights &w, int64_t n) {
  float a[2] = {static_cast<float>(n) - 0.5f, static_cast<float>(n) + 0.5f};
  for (int p = 0; p < 2; ++p) {
    w.at("conv1d.bias", kVocab + 2 * p) = -kRamp * a[p];
    w.at("conv1d.bias", kVocab + 2 * p + 1) = -kRamp * a[p] - 1;
  }
}

llvm::Expected<TaskReport> runKeepNth(const TaskArgs &args, TaskContext &ctx) {
  auto lengths = args.integers("seq-len", 1);
  auto positions = args.integers("n", 1);
  auto examples = args.integer("examples", 1);
  auto seed = args.integer("seed", 0);
  if (llvm::Error err = firstError(lengths, positions, examples, seed))
    return std::move(err);
  if (positions->size() != 1 && positions->size() != lengths->size())
    return llvm::createStringError(
        "keep-nth: give one --n for every --seq-len (paired in order) or a "
        "single --n for all; got %zu and %zu",
        positions->size(), lengths->size());
  for (size_t i = 0; i < lengths->size(); ++i) {
    int64_t T = (*lengths)[i], n = (*positions)[positions->size() == 1 ? 0 : i];
    if (n > T)
      return llvm::createStringError(
          "keep-nth: --n %lld is past the end of --seq-len %lld",
          static_cast<long long>(n), static_cast<long long>(T));
    if (T > (1 << 19))
      return llvm::createStringError(
          "keep-nth: --seq-len %lld is above 2^19, where the counter of "
          "this construction stops being exact in fp32",
          static_cast<long long>(T));
  }

  TaskReport report;
  report.title = "KEEP n-TH, two Mamba-1 blocks (counter, selector), "
                 "d_state 1, V = 16";
  report.columns = {"T",        "n",        "T-n",   "examples",
                    "accuracy", "expected", "result"};
  Plot plot;
  plot.title = "KEEP n-TH: accuracy against the distance T - n";
  plot.xLabel = "T - n";
  plot.yLabel = "accuracy";
  plot.series.push_back({"S6 (counter and selector blocks)", {}, {}});
  std::vector<MixerWeights> layers;
  layers.push_back(counterBlock());
  layers.push_back(selectorBlock());
  auto stack =
      MixerStack::compile(std::move(layers), /*residual=*/true, ctx.jit);
  if (!stack)
    return stack.takeError();
  for (size_t i = 0; i < lengths->size(); ++i) {
    int64_t T = (*lengths)[i], n = (*positions)[positions->size() == 1 ? 0 : i];
    selectPosition((*stack)->weights(1), n);
    Rng rng(*seed * 1000003 + T * 1009 + n);
    auto correct = lastStepRecall(
        **stack, *examples, T, kVocab,
        [&](int64_t, int64_t *ids) {
          for (int64_t t = 0; t < T; ++t)
            ids[t] = rng.below(kVocab);
          return ids[n - 1];
        },
        ctx.progress, llvm::formatv("keep-nth T={0} n={1}", T, n).str());
    if (!correct)
      return correct.takeError();
    addExactRecallRow(report,
                      {std::to_string(T), std::to_string(n),
                       std::to_string(T - n), std::to_string(*examples)},
                      *correct, *examples);
    plot.series[0].x.push_back(static_cast<double>(T - n));
    plot.series[0].y.push_back(static_cast<double>(*correct) / *examples);
  }
  // Distances of 0 cannot sit on a log axis; show them on a linear one.
  plot.logX = llvm::all_of(plot.series[0].x, [](double d) { return d > 0; });
  report.plots.push_back(std::move(plot));
  return report;
}

} // namespace

TaskInfo mlir::ssm::tasks::keepNthTask() {
  return {"keep-nth",
          "KEEP n-TH: output the n-th of T tokens (P1's memory task)",
          {{"seq-len", "64,256,4096,4096,65536", "sequence lengths T"},
           {"n", "5,100,1,4000,30000",
            "positions n (1-based), one per T or one for all"},
           {"examples", "16", "sequences per (T, n)"},
           {"seed", "0", "generator seed"}},
          runKeepNth};
}
