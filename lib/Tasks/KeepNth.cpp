//===- KeepNth.cpp - KEEP n-TH, P1's memory task (tasks.md section 3) -----===//
//
// Two Mamba-1 blocks on one-hot tokens plus a counter slot in the residual:
// block 1 counts the steps into the counter, block 2 turns the counter into
// B_t = 1[t = n] with two pairs of SiLU ramps and stores the token of that
// step. As in Recall.cpp the constants are powers of two (M = 32 instead of
// tasks.md's 40, a step of exactly 32) so that the counter is an exact
// integer up to 2^19 steps.
//
// Next to each row, the memory-decay contrast of tasks.md: one S4D layer
// (ssm.s4d, time-invariant, one state per token channel) with the constant
// retention r that recalls best on held-out sequences, scored on the same
// sequences as the S6 blocks. A time-invariant layer is a linear map of its
// input sequence: its output at T is sum_j r^j e(x_{T-j}), so the n-th token
// weighs r^(T-n) against the later tokens' larger weights, and a counter in
// its input would only add a term linear in t (docs/tasks.md).
//
//===----------------------------------------------------------------------===//

#include "TaskModels.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

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

/// The tokens of one KEEP n-TH sequence, uniform over the vocabulary.
template <typename Id> void drawSequence(Rng &rng, int64_t T, Id *ids) {
  for (int64_t t = 0; t < T; ++t)
    ids[t] = static_cast<Id>(rng.below(kVocab));
}

/// The retentions the S4D contrast tries: 1 - 10^(-e) for e = 1/8 .. 6 in
/// steps of 1/8, from 0.25 (the last token dominates) to 1 - 1e-6 (every
/// token counts almost alike up to T ~ 10^5).
constexpr int kRetentions = 48;
double retention(int k) { return 1 - std::pow(10.0, -0.125 * (k + 1)); }

/// The retention r whose one-state S4D layer recalls the n-th token best
/// (first on ties) on `ids` (`count` sequences of T), in float64: the
/// prediction is the argmax over v of sum_t r^(T-1-t) [x_t = v].
double bestRetention(const std::vector<uint8_t> &ids, int64_t count, int64_t T,
                     int64_t n) {
  std::vector<double> weight(T);
  int64_t bestCorrect = -1;
  double best = 0;
  for (int k = 0; k < kRetentions; ++k) {
    double r = retention(k), w = 1;
    for (int64_t t = T - 1; t >= 0; --t, w *= r)
      weight[t] = w;
    int64_t correct = 0;
    for (int64_t i = 0; i < count; ++i) {
      const uint8_t *x = ids.data() + i * T;
      double score[kVocab] = {};
      for (int64_t t = 0; t < T; ++t)
        score[x[t]] += weight[t];
      correct += std::max_element(score, score + kVocab) - score == x[n - 1];
    }
    if (correct > bestCorrect) {
      bestCorrect = correct;
      best = r;
    }
  }
  return best;
}

/// The compiled S4D layer (channels = tokens, one real state each, dt = 1,
/// A = ln r, B = C = 1) on `examples` sequences drawn by `rng`; returns how
/// many recall their n-th token at the last step.
llvm::Expected<int64_t> s4dRecall(JitProgram &program, double r,
                                  int64_t examples, int64_t T, int64_t n,
                                  Rng &rng) {
  Array logDt = filled({kVocab}, 0),
        aReal = filled({kVocab, 1}, static_cast<float>(std::log(r))),
        b = filled({kVocab, 1}, 1), c = filled({kVocab, 1}, 1);
  // Batches of about 64 MB of input and output.
  int64_t perBatch =
      std::clamp<int64_t>((int64_t(64) << 20) / (8 * kVocab * T), 1, examples);
  std::vector<int64_t> ids;
  int64_t correct = 0;
  for (int64_t first = 0; first < examples; first += perBatch) {
    int64_t count = std::min(perBatch, examples - first);
    ids.assign(count * T, 0);
    for (int64_t i = 0; i < count; ++i)
      drawSequence(rng, T, ids.data() + i * T);
    Array u = oneHot(ids, count, T, kVocab);
    auto out = program.call(kS4DFunc, {&u, &logDt, &aReal, &b, &c});
    if (!out)
      return out.takeError();
    const float *y = out->front().as<float>();
    for (int64_t i = 0; i < count; ++i)
      correct +=
          argmax(y + ((i + 1) * T - 1) * kVocab, kVocab) == ids[i * T + n - 1];
  }
  return correct;
}

llvm::Expected<TaskReport> runKeepNth(const TaskArgs &args, TaskContext &ctx) {
  auto lengths = args.integers("seq-len", 1);
  auto positions = args.integers("n", 1);
  auto examples = args.integer("examples", 1);
  auto seed = args.integer("seed", 0);
  if (llvm::Error err = firstError(lengths, positions, examples, seed))
    return std::move(err);
  // The (T, n) pairs: the lists paired in order, or one of them a single
  // value used with every entry of the other.
  size_t rows = std::max(lengths->size(), positions->size());
  if (std::min(lengths->size(), positions->size()) != 1 &&
      positions->size() != lengths->size())
    return llvm::createStringError(
        "keep-nth: give one --n for every --seq-len (paired in order), or a "
        "single value for either; got %zu and %zu",
        positions->size(), lengths->size());
  auto pair = [&](size_t i) {
    return std::make_pair((*lengths)[lengths->size() == 1 ? 0 : i],
                          (*positions)[positions->size() == 1 ? 0 : i]);
  };
  for (size_t i = 0; i < rows; ++i) {
    int64_t T = pair(i).first, n = pair(i).second;
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
  report.columns = {"T",        "n",        "T-n",
                    "examples", "S4D r",    "S4D accuracy",
                    "accuracy", "expected", "result"};
  Plot plot;
  plot.title = "KEEP n-TH: accuracy against the distance T - n";
  plot.xLabel = "T - n";
  plot.yLabel = "accuracy";
  plot.series.push_back({"S6 (counter and selector blocks)", {}, {}});
  plot.series.push_back({"S4D layer, best constant retention", {}, {}});
  std::vector<MixerWeights> layers;
  layers.push_back(counterBlock());
  layers.push_back(selectorBlock());
  auto stack =
      MixerStack::compile(std::move(layers), /*residual=*/true, ctx.jit);
  if (!stack)
    return stack.takeError();
  auto s4d = compileProgram(
      [](mlir::MLIRContext &c) {
        return buildS4DModule(c, kVocab, 1, /*complex=*/false,
                              mlir::ShapedType::kDynamic,
                              mlir::ShapedType::kDynamic);
      },
      ctx.jit);
  if (!s4d)
    return s4d.takeError();
  for (size_t i = 0; i < rows; ++i) {
    int64_t T = pair(i).first, n = pair(i).second;
    selectPosition((*stack)->weights(1), n);
    uint64_t stream = *seed * 1000003 + T * 1009 + n;
    Rng rng(stream);
    auto correct = lastStepRecall(
        **stack, *examples, T, kVocab,
        [&](int64_t, int64_t *ids) {
          drawSequence(rng, T, ids);
          return ids[n - 1];
        },
        ctx.progress, llvm::formatv("keep-nth T={0} n={1}", T, n).str());
    if (!correct)
      return correct.takeError();

    // The S4D contrast: its retention chosen on other sequences (at least
    // 64), then scored on the S6 blocks' sequences.
    ctx.progress(llvm::formatv("keep-nth T={0} n={1}: S4D retention", T, n));
    int64_t held = std::max<int64_t>(*examples, 64);
    std::vector<uint8_t> heldIds(held * T);
    Rng heldRng(~stream);
    for (int64_t i = 0; i < held; ++i)
      drawSequence(heldRng, T, heldIds.data() + i * T);
    double r = bestRetention(heldIds, held, T, n);
    Rng sameRng(stream);
    auto s4dCorrect = s4dRecall(**s4d, r, *examples, T, n, sameRng);
    if (!s4dCorrect)
      return s4dCorrect.takeError();
    double s4dAcc = static_cast<double>(*s4dCorrect) / *examples;

    addExactRecallRow(report,
                      {std::to_string(T), std::to_string(n),
                       std::to_string(T - n), std::to_string(*examples),
                       formatDouble(r, 7), formatDouble(s4dAcc, 6)},
                      *correct, *examples);
    report.lines.push_back(
        llvm::formatv("s4d_accuracy={0:f6} s4d_retention={1}", s4dAcc,
                      formatDouble(r, 7))
            .str());
    double distance = static_cast<double>(T - n);
    plot.series[0].x.push_back(distance);
    plot.series[0].y.push_back(static_cast<double>(*correct) / *examples);
    plot.series[1].x.push_back(distance);
    plot.series[1].y.push_back(s4dAcc);
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
            "positions n (1-based), one per T, or one for all T (a single T "
            "takes every n)"},
           {"examples", "16", "sequences per (T, n)"},
           {"seed", "0", "generator seed"}},
          runKeepNth};
}
