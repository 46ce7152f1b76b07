//===- Sampling.cpp - choosing the next token from logits -----------------===//

#include "ssm/Runtime/Sampling.h"

#include <algorithm>
#include <cmath>

using namespace mlir::ssm;

llvm::Error SamplingOptions::validate() const {
  if (!std::isfinite(temperature) || temperature < 0)
    return llvm::createStringError(
        "the temperature must be a finite number >= 0 (0: greedy), got %g",
        temperature);
  if (topK < 0)
    return llvm::createStringError(
        "top-k must be >= 0 (0: every token), got %lld",
        static_cast<long long>(topK));
  if (!(topP > 0 && topP <= 1))
    return llvm::createStringError(
        "top-p must be in (0, 1] (1: every token), got %g", topP);
  return llvm::Error::success();
}

int64_t TokenSampler::next(const float *logits, int64_t vocab) {
  if (options.greedy()) {
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (logits[v] > logits[best])
        best = v;
    return best;
  }
  // Every token with a number for its logit; the tempered softmax relative
  // to the largest (so the largest weighs 1 and nothing overflows).
  float top = -INFINITY;
  int64_t first = 0;
  for (int64_t v = 0; v < vocab; ++v)
    if (logits[v] > top) {
      top = logits[v];
      first = v;
    }
  // An infinite logit outweighs every finite one.
  if (std::isinf(top) && top > 0)
    return first;
  auto weight = [&](int64_t v) {
    return std::exp((double(logits[v]) - double(top)) / options.temperature);
  };
  candidates.clear();
  if (options.topK > 0 && options.topK < vocab) {
    // The k largest logits (ties by token) in one pass with a heap of k, and
    // the exponentials of those only: a selection over every weight cost
    // twice the draw itself at 50,280 tokens.
    auto larger = [&](int64_t a, int64_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    };
    std::vector<int64_t> &heap = kept;
    heap.clear();
    for (int64_t v = 0; v < vocab; ++v) {
      if (std::isnan(logits[v]))
        continue;
      if (static_cast<int64_t>(heap.size()) < options.topK) {
        heap.push_back(v);
        std::push_heap(heap.begin(), heap.end(), larger);
      } else if (larger(v, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), larger);
        heap.back() = v;
        std::push_heap(heap.begin(), heap.end(), larger);
      }
    }
    for (int64_t v : heap)
      if (double p = weight(v); p > 0)
        candidates.push_back({p, v});
  } else {
    for (int64_t v = 0; v < vocab; ++v)
      if (double p = weight(v); p > 0) // NaN and underflow fail this too
        candidates.push_back({p, v});
  }
  if (candidates.empty()) // every logit NaN or -inf
    return 0;
  // Most probable first, ties by token: the order top-p cuts in.
  auto byProbability = [](const std::pair<double, int64_t> &a,
                          const std::pair<double, int64_t> &b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (options.topP < 1) {
    // The nucleus lies within the tokens of probability at least
    // (1 - topP) / n of the total: those below it weigh less than 1 - topP
    // together, so the ones above reach topP first. Only they are sorted.
    double total = 0;
    for (auto &c : candidates)
      total += c.first;
    double floor = (1 - options.topP) / candidates.size() * total;
    auto above =
        std::partition(candidates.begin(), candidates.end(),
                       [&](const auto &c) { return c.first >= floor; });
    std::sort(candidates.begin(), above, byProbability);
    double sum = 0;
    size_t n = 0;
    while (n < static_cast<size_t>(above - candidates.begin())) {
      sum += candidates[n++].first;
      if (sum >= options.topP * total)
        break;
    }
    candidates.resize(n);
  }
  // The draw inverts the kept tokens' cumulative distribution in token
  // order (the candidates' order when none was cut).
  if (options.topK > 0 || options.topP < 1)
    std::sort(candidates.begin(), candidates.end(),
              [](const auto &a, const auto &b) { return a.second < b.second; });
  double total = 0;
  for (auto &c : candidates)
    total += c.first;
  double target = rng.uniform() * total;
  double sum = 0;
  for (auto &c : candidates) {
    sum += c.first;
    if (target < sum)
      return c.second;
  }
  return candidates.back().second;
}

namespace {

/// The floor of logSoftmaxAt's exponents.
constexpr float kExpFloor = -87.0f;

/// exp(x) for x in [kExpFloor, 0] (or NaN) in float, within an ulp
/// (1.02e-7 relative at most, over every float of the range): x = k ln 2 +
/// r with |r| <= ln 2 / 2, e^r by its Taylor polynomial of degree 7
/// (truncation under 1e-8), 2^k from the exponent bits. k comes from the
/// float's rounding to an integer after adding 1.5 * 2^23, so that the loop
/// vectorises without a conversion whose NaN case C++ leaves undefined.
/// Not std::exp: glibc's expf is a call per element, 6x slower here.
inline float expNonPositive(float x) {
  // No fused multiply-adds: every clone of logSoftmaxAt below then rounds
  // alike, and gives the same log-probabilities on every x86-64 CPU.
#pragma clang fp contract(off)
  constexpr float kLog2e = 1.44269504088896341f;
  // ln 2 in two parts: k * kLn2Hi is exact for |k| < 2^8.
  constexpr float kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860682030941723e-6f;
  constexpr float kShifter = 12582912.0f; // 1.5 * 2^23
  const float t = x * kLog2e + kShifter;
  const float k = t - kShifter;
  const int32_t ki =
      __builtin_bit_cast(int32_t, t) - __builtin_bit_cast(int32_t, kShifter);
  const float r = (x - k * kLn2Hi) - k * kLn2Lo;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // k >= -126 for x >= -87: 2^k is a normal float.
  return p * __builtin_bit_cast(float, (ki + 127) << 23);
}

} // namespace

// Sixteen independent maxima and sums (two vectors of doubles), so that the
// loops vectorise without reassociating anything: each lane adds its own
// terms in order. One clone per instruction set, chosen when loaded; all
// compute the same values.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3",
                             "default"))) double
mlir::ssm::logSoftmaxAt(const float *row, int64_t n, int64_t at) {
  constexpr int kLanes = 16;
  float lanesMax[kLanes];
  std::fill_n(lanesMax, kLanes, -INFINITY);
  const int64_t whole = n - n % kLanes;
  for (int64_t v = 0; v < whole; v += kLanes)
    for (int j = 0; j < kLanes; ++j)
      lanesMax[j] = std::max(lanesMax[j], row[v + j]);
  float max = -INFINITY;
  for (int64_t v = whole; v < n; ++v)
    max = std::max(max, row[v]);
  for (float m : lanesMax)
    max = std::max(max, m);
  // std::max(NaN - max, floor) keeps the NaN: a NaN logit makes the sum NaN.
  auto term = [&](float x) {
    return static_cast<double>(expNonPositive(std::max(x - max, kExpFloor)));
  };
  double sums[kLanes] = {};
  for (int64_t v = 0; v < whole; v += kLanes)
    for (int j = 0; j < kLanes; ++j)
      sums[j] += term(row[v + j]);
  for (int64_t v = whole; v < n; ++v)
    sums[0] += term(row[v]);
  double sum = 0;
  for (double s : sums)
    sum += s;
  return static_cast<double>(row[at] - max) - std::log(sum);
}
