//===- MixerStackTest.cpp - the tasks' compiled Mamba-1 stacks
//-------------===//
//
// MixerStack (lib/Tasks/TaskModels.h) on random Mamba-1 mixers against a
// float64 evaluation of the block: a layer whose A_log is one value per
// channel takes it per channel (one decay per channel and step in the
// scan), beside a layer with a decay per state; more states than the
// registers hold; one step; and an A_log changed after compiling into one
// that varies along the states, which the stack must recompile for.
//
//===----------------------------------------------------------------------===//

#include "../../lib/Tasks/TaskModels.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>
#include <vector>

using namespace mlir::ssm;
using namespace mlir::ssm::tasks;

namespace {

constexpr int64_t kWidth = 5, kInner = 19, kConv = 4;

/// Calls f on every element of every weight of `w`, in order.
template <typename F> void forEachElement(MixerWeights &w, F f) {
  for (const WeightSpec &spec : mambaLayerWeights(w.config(), false)) {
    llvm::StringRef name = llvm::StringRef(spec.name).drop_front(6); // mixer.
    int64_t cols = spec.argShape.size() == 2 ? spec.argShape[1] : 1;
    for (int64_t i = 0; i < spec.argShape[0]; ++i)
      for (int64_t j = 0; j < cols; ++j)
        f(w.at(name, i, j));
  }
}

/// A Mamba-1 mixer with biases and random weights; A_log one value per
/// channel when `uniform`, else one per state.
MixerWeights randomMixer(int64_t states, bool uniform, std::mt19937 &gen) {
  MixerWeights w(taskMixerConfig(kWidth, kInner, states, kConv, /*bias=*/true));
  const MambaConfig &cfg = w.config();
  std::uniform_real_distribution<float> sym(-0.5f, 0.5f), alog(-1.0f, 1.0f),
      step(-3.0f, -1.0f);
  forEachElement(w, [&](float &v) { v = sym(gen); });
  for (int64_t e = 0; e < cfg.dInner; ++e) {
    float row = alog(gen);
    for (int64_t n = 0; n < states; ++n)
      w.at("A_log", e, n) = uniform ? row : alog(gen);
    w.at("dt_proj.bias", e) = step(gen);
  }
  return w;
}

double silu(double v) { return v / (1 + std::exp(-v)); }

/// h + mixer(h) per layer in float64: in_proj, causal conv and SiLU,
/// x_proj, softplus(dt_proj + bias), the selective scan with
/// A = -exp(A_log) and D, the SiLU gate, out_proj.
std::vector<double> reference(std::vector<MixerWeights> &layers,
                              const Array &x) {
  const int64_t B = x.shape()[0], L = x.shape()[1], Dm = x.shape()[2];
  std::vector<double> h(x.as<float>(), x.as<float>() + x.numElements());
  for (MixerWeights &w : layers) {
    const MambaConfig &cfg = w.config();
    const int64_t E = cfg.dInner, N = cfg.dState, K = cfg.dConv, R = cfg.dtRank;
    std::vector<double> next = h;
    for (int64_t b = 0; b < B; ++b) {
      std::vector<double> xs(L * E), zs(L * E), u(L * E);
      for (int64_t t = 0; t < L; ++t)
        for (int64_t o = 0; o < 2 * E; ++o) {
          double s = w.at("in_proj.bias", o);
          for (int64_t i = 0; i < Dm; ++i)
            s += double(w.at("in_proj.weight", o, i)) * h[(b * L + t) * Dm + i];
          (o < E ? xs[t * E + o] : zs[t * E + o - E]) = s;
        }
      for (int64_t t = 0; t < L; ++t)
        for (int64_t e = 0; e < E; ++e) {
          double s = w.at("conv1d.bias", e);
          for (int64_t k = 0; k < K; ++k)
            if (int64_t src = t - (K - 1) + k; src >= 0)
              s += double(w.at("conv1d.weight", e, k)) * xs[src * E + e];
          u[t * E + e] = silu(s);
        }
      std::vector<double> state(E * N, 0.0);
      for (int64_t t = 0; t < L; ++t) {
        std::vector<double> dbc(R + 2 * N, 0.0);
        for (int64_t o = 0; o < R + 2 * N; ++o)
          for (int64_t e = 0; e < E; ++e)
            dbc[o] += double(w.at("x_proj.weight", o, e)) * u[t * E + e];
        std::vector<double> y(E);
        for (int64_t e = 0; e < E; ++e) {
          double dt = w.at("dt_proj.bias", e);
          for (int64_t r = 0; r < R; ++r)
            dt += double(w.at("dt_proj.weight", e, r)) * dbc[r];
          dt = std::log1p(std::exp(dt));
          double ye = double(w.at("D", e)) * u[t * E + e];
          for (int64_t n = 0; n < N; ++n) {
            double a = -std::exp(double(w.at("A_log", e, n)));
            double &s = state[e * N + n];
            s = std::exp(dt * a) * s + dt * dbc[R + n] * u[t * E + e];
            ye += dbc[R + N + n] * s;
          }
          y[e] = ye * silu(zs[t * E + e]);
        }
        for (int64_t o = 0; o < Dm; ++o) {
          double s = w.at("out_proj.bias", o);
          for (int64_t e = 0; e < E; ++e)
            s += double(w.at("out_proj.weight", o, e)) * y[e];
          next[(b * L + t) * Dm + o] += s;
        }
      }
    }
    h = std::move(next);
  }
  return h;
}

Array randomInput(int64_t batch, int64_t length, std::mt19937 &gen) {
  Array x(DType::F32, {batch, length, kWidth});
  std::uniform_real_distribution<float> dist(-1, 1);
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.as<float>()[i] = dist(gen);
  return x;
}

/// Runs `stack` on x and checks it against reference() of its layers
/// (normwise relative error, semantics.md's 1e-5).
void expectMatches(MixerStack &stack, std::vector<MixerWeights> &layers,
                   const Array &x) {
  auto out = stack.run(x);
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  std::vector<double> want = reference(layers, x);
  ASSERT_EQ(out->numElements(), static_cast<int64_t>(want.size()));
  double err = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err = maxError(err, std::abs(out->as<float>()[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  EXPECT_LE(err / scale, 1e-5) << "normwise relative error " << err / scale;
}

/// Compiles the layers (residual) and checks them on random inputs of the
/// given shapes. The stack keeps its own copy of the weights; `layers` is
/// rebuilt from the same seed for the reference.
void checkStack(llvm::ArrayRef<std::pair<int64_t, bool>> mixers,
                llvm::ArrayRef<std::pair<int64_t, int64_t>> shapes,
                unsigned seed) {
  auto make = [&] {
    std::mt19937 gen(seed);
    std::vector<MixerWeights> layers;
    for (auto [states, uniform] : mixers)
      layers.push_back(randomMixer(states, uniform, gen));
    return layers;
  };
  auto stack = MixerStack::compile(make(), /*residual=*/true, JitOptions());
  ASSERT_TRUE(static_cast<bool>(stack)) << llvm::toString(stack.takeError());
  std::vector<MixerWeights> layers = make();
  std::mt19937 gen(seed + 1);
  for (auto [batch, length] : shapes)
    expectMatches(**stack, layers, randomInput(batch, length, gen));
}

TEST(MixerStack, UniformAndPerStateALogMatchFloat64) {
  checkStack({{5, true}, {5, false}}, {{2, 37}, {1, 1}, {3, 70}}, 3);
}

TEST(MixerStack, UniformALogBeyondTheRegistersMatchesFloat64) {
  // 70 and 300 states: state blocks, then StateGroups' groups.
  checkStack({{70, true}, {300, true}}, {{1, 45}, {2, 1}}, 5);
}

TEST(MixerStack, ALogChangedToPerStateRecompiles) {
  std::mt19937 gen(9);
  std::vector<MixerWeights> layers;
  layers.push_back(randomMixer(6, /*uniform=*/true, gen));
  auto stack =
      MixerStack::compile(std::move(layers), /*residual=*/true, JitOptions());
  ASSERT_TRUE(static_cast<bool>(stack)) << llvm::toString(stack.takeError());
  Array x = randomInput(2, 21, gen);
  // The stack's own weights, changed: one state of one channel differs.
  MixerWeights &w = (*stack)->weights(0);
  w.at("A_log", 7, 3) += 0.75f;
  std::vector<MixerWeights> current;
  current.push_back(MixerWeights(w.config()));
  std::vector<float> values;
  forEachElement(w, [&](float &v) { values.push_back(v); });
  size_t next = 0;
  forEachElement(current.front(), [&](float &v) { v = values[next++]; });
  expectMatches(**stack, current, x);
}

} // namespace
