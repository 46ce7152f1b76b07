//===- SamplingTest.cpp - the token sampler and the log-softmax ----------===//

#include "ssm/Runtime/Sampling.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace mlir::ssm;

namespace {

/// How often each token comes out of `draws` draws.
std::vector<double> frequencies(const SamplingOptions &options,
                                const std::vector<float> &logits, int draws) {
  TokenSampler sampler(options);
  std::vector<double> counts(logits.size(), 0.0);
  for (int i = 0; i < draws; ++i)
    counts[sampler.next(logits.data(), logits.size())] += 1;
  for (double &c : counts)
    c /= draws;
  return counts;
}

/// softmax(logits / temperature) over `kept` (the others 0), in double.
std::vector<double> expected(const std::vector<float> &logits,
                             double temperature,
                             const std::vector<bool> &kept) {
  std::vector<double> p(logits.size(), 0.0);
  double total = 0;
  for (size_t v = 0; v < logits.size(); ++v)
    if (kept[v])
      total += p[v] = std::exp(logits[v] / temperature);
  for (double &x : p)
    x /= total;
  return p;
}

/// Each frequency within 5 standard deviations of its probability (and the
/// tokens of probability 0 never drawn).
void expectClose(const std::vector<double> &freq, const std::vector<double> &p,
                 int draws) {
  ASSERT_EQ(freq.size(), p.size());
  for (size_t v = 0; v < p.size(); ++v) {
    double sigma = std::sqrt(p[v] * (1 - p[v]) / draws);
    EXPECT_NEAR(freq[v], p[v], 5 * sigma + 1e-12) << "token " << v;
  }
}

const std::vector<float> kLogits = {1.0f, 2.5f, -0.5f, 2.5f, 0.0f, -3.0f};

TEST(SamplingTest, GreedyIsTheFirstArgmax) {
  TokenSampler greedy(SamplingOptions{});
  EXPECT_EQ(greedy.next(kLogits.data(), kLogits.size()), 1);
  SamplingOptions topOne;
  topOne.temperature = 5;
  topOne.topK = 1;
  EXPECT_EQ(TokenSampler(topOne).next(kLogits.data(), kLogits.size()), 1);
}

TEST(SamplingTest, DrawsTheTemperedSoftmax) {
  const int draws = 200000;
  for (double temperature : {1.0, 0.5, 2.0}) {
    SamplingOptions o;
    o.temperature = temperature;
    o.seed = 11;
    expectClose(frequencies(o, kLogits, draws),
                expected(kLogits, temperature, std::vector<bool>(6, true)),
                draws);
  }
}

TEST(SamplingTest, TopKKeepsTheLargest) {
  const int draws = 100000;
  SamplingOptions o;
  o.temperature = 1;
  o.topK = 3; // 2.5, 2.5 and 1.0
  expectClose(frequencies(o, kLogits, draws),
              expected(kLogits, 1, {true, true, false, true, false, false}),
              draws);
}

TEST(SamplingTest, TopPKeepsTheNucleus) {
  // Probabilities 0.5, 0.3, 0.15, 0.05 (logits their logs).
  std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.05f),
                               std::log(0.3f)};
  const int draws = 100000;
  SamplingOptions o;
  o.temperature = 1;
  o.topP = 0.75; // 0.5 + 0.3 reach it
  expectClose(frequencies(o, logits, draws),
              expected(logits, 1, {false, true, false, true}), draws);
  o.topP = 0.9; // and 0.15
  expectClose(frequencies(o, logits, draws),
              expected(logits, 1, {true, true, false, true}), draws);
  o.topP = 0.2; // the most probable alone
  expectClose(frequencies(o, logits, draws),
              expected(logits, 1, {false, true, false, false}), draws);
  // top-k first, then the nucleus of what is left: 0.15 / 0.2 of the two.
  o.topP = 0.7;
  o.topK = 2;
  o.temperature = 1;
  std::vector<float> two = {std::log(0.15f), std::log(0.05f)};
  expectClose(frequencies(o, two, draws), expected(two, 1, {true, false}),
              draws);
}

TEST(SamplingTest, TheSeedFixesTheStream) {
  SamplingOptions o;
  o.temperature = 1.5;
  o.seed = 3;
  TokenSampler a(o), b(o);
  o.seed = 4;
  TokenSampler c(o);
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    int64_t x = a.next(kLogits.data(), kLogits.size());
    EXPECT_EQ(x, b.next(kLogits.data(), kLogits.size()));
    differ += x != c.next(kLogits.data(), kLogits.size());
  }
  EXPECT_GT(differ, 10);
}

TEST(SamplingTest, NeverDrawsNaNOrUnderflow) {
  std::vector<float> logits = {NAN, 0.0f, -1e30f, 1.0f, NAN};
  SamplingOptions o;
  o.temperature = 1;
  TokenSampler sampler(o);
  for (int i = 0; i < 1000; ++i) {
    int64_t t = sampler.next(logits.data(), logits.size());
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(SamplingTest, AnInfiniteLogitWins) {
  std::vector<float> logits = {0.0f, INFINITY, 3.0f, INFINITY};
  SamplingOptions o;
  o.temperature = 1;
  EXPECT_EQ(TokenSampler(o).next(logits.data(), logits.size()), 1);
  std::vector<float> none = {-INFINITY, NAN};
  EXPECT_EQ(TokenSampler(o).next(none.data(), none.size()), 0);
}

TEST(SamplingTest, OptionsOutOfRange) {
  auto message = [](SamplingOptions o) { return llvm::toString(o.validate()); };
  SamplingOptions o;
  EXPECT_EQ(message(o), "");
  o.temperature = -1;
  EXPECT_EQ(message(o),
            "the temperature must be a finite number >= 0 (0: greedy), got -1");
  o.temperature = NAN;
  EXPECT_NE(message(o).find("temperature"), std::string::npos);
  o = SamplingOptions{};
  o.topK = -2;
  EXPECT_EQ(message(o), "top-k must be >= 0 (0: every token), got -2");
  o = SamplingOptions{};
  o.topP = 0;
  EXPECT_EQ(message(o), "top-p must be in (0, 1] (1: every token), got 0");
  o.topP = 1.5;
  EXPECT_EQ(message(o), "top-p must be in (0, 1] (1: every token), got 1.5");
}

} // namespace

namespace {

/// log softmax(row)[at] in double from the float row.
double logSoftmaxReference(const std::vector<float> &row, int64_t at) {
  double max = -INFINITY;
  for (float x : row)
    max = std::max(max, double(x));
  double sum = 0;
  for (float x : row)
    sum += std::exp(double(x) - max);
  return double(row[at]) - max - std::log(sum);
}

TEST(LogSoftmaxTest, MatchesFloat64) {
  // Lengths around the 16 lanes and a vocabulary's, logits of a trained
  // model's spread (sd 3) and of a random model's (sd 100: most terms
  // clamped), the maximum anywhere (also in the tail).
  std::mt19937 gen(4);
  for (int64_t n : {1, 2, 15, 16, 17, 33, 1000, 50280})
    for (double sd : {3.0, 100.0}) {
      std::normal_distribution<float> dist(0, sd);
      std::vector<float> row(n);
      for (float &x : row)
        x = dist(gen);
      row[n - 1] = std::abs(row[n - 1]) + 4 * sd;
      for (int64_t at : {int64_t(0), n / 2, n - 1}) {
        double want = logSoftmaxReference(row, at);
        EXPECT_NEAR(logSoftmaxAt(row.data(), n, at), want,
                    1e-6 * std::max(1.0, std::abs(want)))
            << "n " << n << ", sd " << sd << ", at " << at;
      }
    }
}

TEST(LogSoftmaxTest, ExtremesAndNaN) {
  // Terms far below the maximum add nothing: log p of the maximum is 0.
  std::vector<float> far = {0.0f, -1000.0f, -INFINITY, -90.0f};
  EXPECT_EQ(logSoftmaxAt(far.data(), far.size(), 0), 0.0);
  EXPECT_NEAR(logSoftmaxAt(far.data(), far.size(), 3), -90.0, 1e-6);
  // Equal logits: log(1 / n) for every token.
  std::vector<float> flat(37, 2.5f);
  EXPECT_NEAR(logSoftmaxAt(flat.data(), flat.size(), 20), -std::log(37.0),
              1e-7);
  // A NaN anywhere (in the lanes or the tail) makes every result NaN.
  for (size_t where : {size_t(3), size_t(35)}) {
    std::vector<float> row(37, 1.0f);
    row[where] = NAN;
    EXPECT_TRUE(std::isnan(logSoftmaxAt(row.data(), row.size(), 0)));
  }
}

} // namespace
