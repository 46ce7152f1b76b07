//===- ProgramsTest.cpp - builders of Runtime/Programs.h, compiled ---------===//
//
// buildS4DModule in both forms (S4D-Real, S4D-Lin), JIT-compiled and run on
// a short random input against the S4D recurrence in float64 (ZOH), and its
// error for an empty layer.
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
      err = std::max(err, std::abs(y[t * H + ch] - want));
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

} // namespace
