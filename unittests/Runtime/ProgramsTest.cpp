//===- ProgramsTest.cpp - builders of Runtime/Programs.h, compiled -------===//
//
// buildS4DModule in both forms (S4D-Real, S4D-Lin), JIT-compiled and run on
// a short random input against the S4D recurrence in float64 (ZOH), and its
// error for an empty layer; buildMambaStackModule with S4D mixers against
// the same recurrence inside the Mamba block, in float64, and its checks of
// the per-channel A_log flags (MixerStackTest runs them).
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/Jit.h"
#include "ssm/Runtime/Programs.h"

#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

#include <cmath>
#include <complex>
#include <random>

using namespace mlir::ssm;

namespace {

Array random(llvm::ArrayRef<int64_t> shape, std::mt19937 &gen, float lo,
             float hi) {
  Array a(DType::F32, shape);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < a.numElements(); ++i)
    a.as<float>()[i] = dist(gen);
  return a;
}

void checkS4D(bool complex) {
  const int64_t H = 3, N = 2, L = 37;
  std::mt19937 gen(complex ? 7 : 11);
  Array u = random({1, L, H}, gen, -1, 1);
  Array logDt = random({H}, gen, std::log(1e-3f), std::log(1e-1f));
  Array aReal = random({H, N}, gen, -2, -0.1f);
  Array aImag = random({H, N}, gen, 0, 10);
  Array b = random({H, N}, gen, -1, 1), c = random({H, N}, gen, -1, 1),
        cImag = random({H, N}, gen, -1, 1);

  auto ctx = createRunnerContext();
  auto module = buildS4DModule(*ctx, H, N, complex, mlir::ShapedType::kDynamic,
                               mlir::ShapedType::kDynamic);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  auto program = JitProgram::compile(**module, JitOptions());
  ASSERT_TRUE(static_cast<bool>(program))
      << llvm::toString(program.takeError());
  llvm::SmallVector<const Array *> args = {&u, &logDt, &aReal};
  if (complex)
    args.push_back(&aImag);
  args.append({&b, &c});
  if (complex)
    args.push_back(&cImag);
  auto out = (*program)->call(kS4DFunc, args);
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  ASSERT_EQ(out->size(), 1u);
  const float *y = out->front().as<float>();

  // float64: h_t = exp(dt A) h_{t-1} + (exp(dt A) - 1) / A B u_t;
  // y = 2 Re(C h) for complex A, C h for real A.
  double err = 0, scale = 0;
  for (int64_t ch = 0; ch < H; ++ch) {
    double dt = std::exp(double(logDt.as<float>()[ch]));
    std::vector<std::complex<double>> h(N, 0.0);
    for (int64_t t = 0; t < L; ++t) {
      std::complex<double> sum = 0;
      for (int64_t n = 0; n < N; ++n) {
        int64_t i = ch * N + n;
        std::complex<double> A(aReal.as<float>()[i],
                               complex ? aImag.as<float>()[i] : 0.0f);
        std::complex<double> C(c.as<float>()[i],
                               complex ? cImag.as<float>()[i] : 0.0f);
        std::complex<double> aBar = std::exp(dt * A);
        h[n] = aBar * h[n] +
               (aBar - 1.0) / A * double(b.as<float>()[i]) *
                   double(u.as<float>()[t * H + ch]);
        sum += C * h[n];
      }
      double want = complex ? 2 * sum.real() : sum.real();
      // A NaN output counts as an infinite error (std::max would drop it).
      double e = std::abs(y[t * H + ch] - want);
      err = std::max(err, std::isnan(e) ? INFINITY : e);
      scale = std::max(scale, std::abs(want));
    }
  }
  EXPECT_LE(err / scale, 1e-5) << "normwise relative error " << err / scale;
}

TEST(BuildS4DModule, RealMatchesFloat64) { checkS4D(/*complex=*/false); }
TEST(BuildS4DModule, ComplexMatchesFloat64) { checkS4D(/*complex=*/true); }

TEST(BuildS4DModule, EmptyLayerIsAnError) {
  auto ctx = createRunnerContext();
  auto module = buildS4DModule(*ctx, 0, 4, true, 1, 8);
  ASSERT_FALSE(static_cast<bool>(module));
  EXPECT_EQ(llvm::toString(module.takeError()),
            "an S4D layer needs at least one channel and one state; got 0 "
            "channels, 4 states");
}

/// Two S4D-mixer layers (semantics.md section 6) with residuals, batch 2,
/// odd sizes, against a float64 evaluation of
/// h + out_proj((s4d(silu(conv(x)), D) * silu(z))) per layer.
void checkS4DMixerStack(bool complex, bool bias) {
  const int64_t Bt = 2, L = 13, Dm = 5, E = 7, N = 3, K = 4;
  MambaConfig cfg;
  cfg.mixer = MixerKind::S4D;
  cfg.dModel = Dm;
  cfg.dInner = E;
  cfg.dState = N;
  cfg.dConv = K;
  cfg.useBias = bias;
  cfg.s4dComplex = complex;
  std::mt19937 gen(complex * 2 + bias + 21);
  // Each layer's weights by name, drawn in a range that suits the name.
  std::vector<llvm::SmallVector<WeightSpec>> specs(
      2, mambaLayerWeights(cfg, false));
  std::vector<llvm::StringMap<Array>> layers(2);
  for (int l = 0; l < 2; ++l)
    for (const WeightSpec &w : specs[l]) {
      llvm::StringRef name = w.name;
      float lo = -0.5f, hi = 0.5f;
      if (name == "mixer.log_dt")
        lo = std::log(1e-2f), hi = std::log(0.5f);
      else if (name == "mixer.A_real")
        lo = -1.5f, hi = -0.1f;
      else if (name == "mixer.A_imag")
        lo = 0, hi = 6;
      layers[l].try_emplace(name, random(w.argShape, gen, lo, hi));
    }
  Array x = random({Bt, L, Dm}, gen, -1, 1);

  auto ctx = createRunnerContext();
  MambaConfig both[] = {cfg, cfg};
  auto module = buildMambaStackModule(*ctx, both, /*residual=*/true,
                                      mlir::ShapedType::kDynamic,
                                      mlir::ShapedType::kDynamic);
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  auto program = JitProgram::compile(**module, JitOptions());
  ASSERT_TRUE(static_cast<bool>(program))
      << llvm::toString(program.takeError());
  llvm::SmallVector<const Array *> args = {&x};
  for (int l = 0; l < 2; ++l)
    for (const WeightSpec &w : specs[l])
      args.push_back(&layers[l].find(w.name)->second);
  auto out = (*program)->call(kMambaStackFunc, args);
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  const float *got = out->front().as<float>();

  std::vector<double> h(x.as<float>(), x.as<float>() + x.numElements());
  auto silu = [](double v) { return v / (1 + std::exp(-v)); };
  for (int l = 0; l < 2; ++l) {
    auto w = [&](const char *name, int64_t i, int64_t j = 0) -> double {
      auto it = layers[l].find(name);
      if (it == layers[l].end())
        return 0.0; // an absent bias or imaginary part
      const Array &a = it->second;
      return a.as<float>()[i * (a.rank() == 2 ? a.shape()[1] : 1) + j];
    };
    std::vector<double> next = h;
    for (int64_t s = 0; s < Bt; ++s) {
      // in_proj: x and z rows.
      std::vector<double> xin(L * E), z(L * E), y(L * E);
      for (int64_t t = 0; t < L; ++t)
        for (int64_t e = 0; e < 2 * E; ++e) {
          double acc = w("mixer.in_proj.bias", e);
          for (int64_t k = 0; k < Dm; ++k)
            acc += w("mixer.in_proj.weight", e, k) * h[(s * L + t) * Dm + k];
          (e < E ? xin[t * E + e] : z[t * E + e - E]) = acc;
        }
      for (int64_t e = 0; e < E; ++e) {
        double dt = std::exp(w("mixer.log_dt", e));
        std::vector<std::complex<double>> state(N, 0.0);
        for (int64_t t = 0; t < L; ++t) {
          double u = w("mixer.conv1d.bias", e);
          for (int64_t i = 0; i < K; ++i)
            if (t - (K - 1) + i >= 0)
              u += w("mixer.conv1d.weight", e, i) *
                   xin[(t - (K - 1) + i) * E + e];
          u = silu(u);
          std::complex<double> sum = 0;
          for (int64_t n = 0; n < N; ++n) {
            std::complex<double> A(w("mixer.A_real", e, n),
                                   w("mixer.A_imag", e, n));
            std::complex<double> C(w("mixer.C", e, n), w("mixer.C_imag", e, n));
            std::complex<double> aBar = std::exp(dt * A);
            state[n] =
                aBar * state[n] + (aBar - 1.0) / A * w("mixer.B", e, n) * u;
            sum += C * state[n];
          }
          double yv =
              (complex ? 2 * sum.real() : sum.real()) + w("mixer.D", e) * u;
          y[t * E + e] = yv * silu(z[t * E + e]);
        }
      }
      for (int64_t t = 0; t < L; ++t)
        for (int64_t d = 0; d < Dm; ++d) {
          double acc = w("mixer.out_proj.bias", d);
          for (int64_t e = 0; e < E; ++e)
            acc += w("mixer.out_proj.weight", d, e) * y[t * E + e];
          next[(s * L + t) * Dm + d] += acc;
        }
    }
    h = std::move(next);
  }
  double err = 0, norm = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    err += (got[i] - h[i]) * (got[i] - h[i]);
    norm += h[i] * h[i];
  }
  EXPECT_LE(std::sqrt(err / norm), 1e-5)
      << "normwise relative error " << std::sqrt(err / norm);
}

TEST(BuildMambaStackModule, S4DRealMixerMatchesFloat64) {
  checkS4DMixerStack(/*complex=*/false, /*bias=*/false);
}
TEST(BuildMambaStackModule, S4DLinMixerWithBiasesMatchesFloat64) {
  checkS4DMixerStack(/*complex=*/true, /*bias=*/true);
}

TEST(BuildMambaStackModule, UniformALogFlagsAreChecked) {
  MambaConfig mamba1, s4d;
  mamba1.dModel = s4d.dModel = 4;
  mamba1.dInner = s4d.dInner = 8;
  s4d.mixer = MixerKind::S4D;
  MambaConfig both[] = {mamba1, s4d};
  auto ctx = createRunnerContext();
  const bool one[] = {true}, second[] = {false, true};
  auto wrongCount = buildMambaStackModule(*ctx, both, true, 1, 4, one);
  ASSERT_FALSE(static_cast<bool>(wrongCount));
  EXPECT_EQ(llvm::toString(wrongCount.takeError()),
            "uniformALog has 1 flags for a stack of 2 layers");
  auto notMamba1 = buildMambaStackModule(*ctx, both, true, 1, 4, second);
  ASSERT_FALSE(static_cast<bool>(notMamba1));
  EXPECT_EQ(llvm::toString(notMamba1.takeError()),
            "layer 1: only a Mamba-1 mixer takes A_log per channel");
  const bool first[] = {true, false};
  auto ok = buildMambaStackModule(*ctx, both, true, 1, 4, first);
  EXPECT_TRUE(static_cast<bool>(ok)) << llvm::toString(ok.takeError());
}

TEST(BuildMambaLMModule, S4DMixerIsRefused) {
  MambaConfig cfg;
  cfg.mixer = MixerKind::S4D;
  cfg.dModel = 4;
  cfg.dInner = 8;
  cfg.nLayer = 1;
  cfg.vocabSize = 10;
  auto ctx = createRunnerContext();
  auto module = buildMambaLMModule(*ctx, cfg, 1, 4);
  ASSERT_FALSE(static_cast<bool>(module));
  EXPECT_EQ(llvm::toString(module.takeError()),
            "a language model of S4D mixers is not supported: no checkpoint "
            "format has one, and ssm.s4d returns no decoding state");
}

} // namespace
