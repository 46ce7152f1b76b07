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
