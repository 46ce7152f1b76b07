//===- Sampling.h - choosing the next token from logits ---------*- C++ -*-===//
//
// A seeded generator whose stream is the same on every platform
// (splitmix64; the standard library's distributions differ between
// implementations), and the token sampler of generation: greedy, or a draw
// from the tempered softmax restricted to the top k tokens and to the top-p
// nucleus, in the order of mamba_ssm's and transformers' generate
// (docs/models.md, "Sampling"); and the log-softmax that scoring takes of
// each position's logits.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_SAMPLING_H
#define SSM_RUNTIME_SAMPLING_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace mlir::ssm {

/// splitmix64: a small generator whose stream depends only on the seed.
class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n), without modulo bias.
  int64_t below(int64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % static_cast<uint64_t>(n);
    uint64_t x;
    do
      x = next();
    while (x >= limit);
    return static_cast<int64_t>(x % static_cast<uint64_t>(n));
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return (next() >> 11) * 0x1.0p-53; }

private:
  uint64_t state;
};

/// How generation picks each token from its position's logits.
struct SamplingOptions {
  /// 0: greedy (the argmax, the first of equal maxima); > 0: a draw from
  /// softmax(logits / temperature).
  double temperature = 0;
  /// With temperature > 0: only the k largest logits, ties by token (0:
  /// every token).
  int64_t topK = 0;
  /// With temperature > 0: only the smallest set of the most probable
  /// tokens (after top-k) whose probabilities sum to at least topP (1:
  /// every token).
  double topP = 1;
  /// The generator's seed; the draws of a batch go sequence by sequence
  /// within each step.
  uint64_t seed = 0;

  bool greedy() const { return temperature == 0 || topK == 1; }
  /// An error naming the option that is out of range (temperature negative
  /// or not finite, topK negative, topP outside (0, 1]).
  llvm::Error validate() const;
};

/// Picks tokens as `options` say, drawing from its own generator.
class TokenSampler {
public:
  explicit TokenSampler(const SamplingOptions &options)
      : options(options), rng(options.seed) {}

  /// The next token after `logits` (vocab values): the first +inf logit if
  /// there is one, else a draw that keeps the k largest logits (ties by
  /// token), then of those the top-p nucleus (most probable first, ties by
  /// token), weighs each kept token by exp((logit - max) / temperature) in
  /// double precision, and takes the first in token order whose running
  /// sum exceeds u times their total, u the generator's next uniform(). NaN
  /// logits are never drawn, nor is a token whose weight underflows to 0
  /// (token 0 when none is left).
  int64_t next(const float *logits, int64_t vocab);

private:
  SamplingOptions options;
  Rng rng;
  /// (probability before normalising, token) of the candidates.
  std::vector<std::pair<double, int64_t>> candidates;
  /// The top-k selection's heap.
  std::vector<int64_t> kept;
};

/// log softmax(row)[at] over the n values of `row`, the log-probability
/// scoring reads: row[at] - max - log sum exp(row - max), the exponentials
/// in float (each within an ulp) and their sum in double. Vectorised, with
/// AVX-512 or AVX2 where the CPU has them (docs/models.md, "Scoring").
/// Arguments below -87 count as -87 (glibc's expf would leave its fast path
/// for the underflow's there; a clamped term adds under 1.7e-38 to a sum of
/// at least 1). A NaN in the row gives NaN.
double logSoftmaxAt(const float *row, int64_t n, int64_t at);

} // namespace mlir::ssm

#endif // SSM_RUNTIME_SAMPLING_H
