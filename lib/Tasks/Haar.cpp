//===- Haar.cpp - Haar-wavelet approximation, P1's claim (i) (tasks.md 4) -===//
//
// A function f sampled at t_i = (i + 1/2) / T is fed to one Mamba-1 block
// with fixed weights, T input steps (f(t_i), t_i, 1) and then T query steps
// (0, s_j, 1) at s_j = t_j. The block's state after the inputs holds the
// Haar coefficients <f, phi_k> = (1/T) sum_i phi_k(t_i) f(t_i) of a chosen
// set of N Haar functions, and each query step outputs the projection
// (P_N f)(s_j) = sum_k phi_k(s_j) <f, phi_k>:
//
//   - Two value channels silu(f) and silu(-f). Their difference is exactly
//     f (silu(x) - silu(-x) = x), so no offset is needed and the queries,
//     whose f is 0, write nothing (silu(0) = 0). tasks.md's offset channels
//     f + M and M would do the same in exact arithmetic, but cost the fp32
//     accumulation log2(M) bits of f.
//   - Two ramp channels per breakpoint a: silu(w (t - a)) and
//     silu(w (t - a) - 1), w = 64 T, whose difference is the step
//     1[t >= a] (the argument is at least 32 away from 0 on the sample
//     grid, where silu is the identity or 0 in fp32).
//   - B_t[k] = phi_k(t) 2^{-j/2} and C_t[k] = phi_k(t) 2^{j/2}, combinations
//     of steps: the scaling function is the step at 0 and psi_{j,m} =
//     2^{j/2} (step_a - 2 step_mid + step_b). The selection is the point of
//     the task: S6 reads its B and C from the input; S4D's are constant.
//   - A_log = -30 (no decay), a constant step dt = 32, the gate silu(32) =
//     32 from the constant input, and out_proj = (channel 0 - channel 1) /
//     (dt T 32), all powers of two.
//
// The linear approximation uses the scaling function and the wavelets of
// the levels j < log2 N; the best N-term approximation the N Haar
// functions (of all T) with the largest coefficients of f. Both run through
// the same compiled block; only its weights differ.
//
// S4D is time-invariant: whatever its input, its output after the input
// ends lies in the span of its modes' functions exp(A_n t). The best S4D-Lin
// readout with N real degrees of freedom is the least-squares fit of f in
// the span of Re and Im of exp(A_n t), A_n = -1/2 + i pi n, n < N/2. The
// compiled ssm.s4d layer computes the mode functions (its response to an
// impulse, one mode per channel), which are checked against exact ZOH; the
// fit itself is done on the exact modes in float64. Fitting the compiled
// fp32 modes instead would let the fit use their rounding as extra
// directions (the modes are nearly dependent, see projectOnto): at N = 64
// it finds errors below the true optimum (0.057 for 0.059). For the same
// reason a fitted layer cannot be run in fp32 at N = 64: its readout
// weights would be huge and cancel.
//
// Each compiled result is checked against float64 (the block's projection
// against the exact discrete projection, the layer's mode functions against
// exact ZOH) within semantics.md's fp32 tolerance, or T 2^-24 where that is
// larger (both are T-step fp32 recurrences; see runHaar).
//
//===----------------------------------------------------------------------===//

#include "TaskModels.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <complex>
#include <limits>
#include <map>
#include <numeric>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::tasks;

namespace {

constexpr float kStep = 32, kGate = 32, kALog = -30;
constexpr int64_t kSlope = 64; ///< ramp slope w = kSlope * T
constexpr double kTolerance = 1e-5;
constexpr int64_t kMaxStates = 256, kMaxSamples = int64_t(1) << 14;

/// A Haar function on [0, 1): the scaling function (level -1) or the
/// wavelet psi_{j,m}, 2^{j/2} on the first half of [m 2^-j, (m+1) 2^-j) and
/// -2^{j/2} on the second.
struct HaarFn {
  int64_t level, shift;
};

/// The samples [first, last) where phi is nonzero.
std::pair<int64_t, int64_t> support(HaarFn h, int64_t T) {
  if (h.level < 0)
    return {0, T};
  int64_t width = T >> h.level;
  return {h.shift * width, (h.shift + 1) * width};
}

/// phi(t_i) for sample i of T.
double haarAt(HaarFn h, int64_t i, int64_t T) {
  auto [start, end] = support(h, T);
  if (i < start || i >= end)
    return 0;
  if (h.level < 0)
    return 1;
  double amp = std::sqrt(std::ldexp(1.0, h.level));
  return i < (start + end) / 2 ? amp : -amp;
}

/// phi / 2^{j/2} as a combination of steps 1[t >= k / T]: (k, integer
/// coefficient) pairs; steps at k = T never fire on [0, 1) and are left out.
llvm::SmallVector<std::pair<int64_t, float>, 3> haarSteps(HaarFn h,
                                                          int64_t T) {
  if (h.level < 0)
    return {{0, 1.0f}};
  auto [start, end] = support(h, T);
  llvm::SmallVector<std::pair<int64_t, float>, 3> steps = {
      {start, 1.0f}, {(start + end) / 2, -2.0f}};
  if (end < T)
    steps.push_back({end, 1.0f});
  return steps;
}

/// The scaling function and the wavelets of the levels below log2 N.
std::vector<HaarFn> linearSet(int64_t N) {
  std::vector<HaarFn> fns = {{-1, 0}};
  for (int64_t j = 0; (int64_t(1) << j) < N; ++j)
    for (int64_t m = 0; m < (int64_t(1) << j); ++m)
      fns.push_back({j, m});
  return fns;
}

/// <f, phi> = (1/T) sum_i f_i phi(t_i).
double coefficient(const std::vector<double> &f, HaarFn h) {
  int64_t T = f.size();
  auto [first, last] = support(h, T);
  double sum = 0;
  for (int64_t i = first; i < last; ++i)
    sum += f[i] * haarAt(h, i, T);
  return sum / T;
}

/// The N Haar functions (of the T on the grid) with the largest |<f, phi>|,
/// the first in (level, shift) order on ties.
std::vector<HaarFn> bestSet(const std::vector<double> &f, int64_t N) {
  int64_t T = f.size();
  std::vector<HaarFn> all = linearSet(T);
  std::vector<double> mag;
  for (HaarFn h : all)
    mag.push_back(std::abs(coefficient(f, h)));
  std::vector<size_t> order(all.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::sort(order, [&](size_t a, size_t b) {
    return mag[a] != mag[b] ? mag[a] > mag[b] : a < b;
  });
  std::vector<HaarFn> best;
  for (int64_t k = 0; k < N; ++k)
    best.push_back(all[order[k]]);
  return best;
}

/// sum_k <f, phi_k> phi_k on the grid, in float64: the exact discrete
/// projection the block computes.
std::vector<double> projection(const std::vector<double> &f,
                               const std::vector<HaarFn> &fns) {
  int64_t T = f.size();
  std::vector<double> p(T, 0);
  for (HaarFn h : fns) {
    double c = coefficient(f, h);
    auto [first, last] = support(h, T);
    for (int64_t i = first; i < last; ++i)
      p[i] += c * haarAt(h, i, T);
  }
  return p;
}

/// The block of the file comment for up to `states` Haar functions and
/// `pairs` breakpoints (each function adds at most three, so 3 * states is
/// always enough); unused channels and states have zero weights.
MixerWeights haarBlock(const std::vector<HaarFn> &fns, int64_t T,
                       int64_t states, int64_t pairs) {
  MixerWeights w(taskMixerConfig(3, 2 + 2 * pairs, states));
  int64_t E = w.config().dInner, K = w.config().dConv;
  w.fill("A_log", kALog);
  w.fill("dt_proj.bias", kStep);
  // Value channels silu(f) and silu(-f); the gate silu(32 * 1).
  w.at("in_proj.weight", 0, 0) = 1;
  w.at("in_proj.weight", 1, 0) = 1;
  w.at("conv1d.weight", 0, K - 1) = 1;
  w.at("conv1d.weight", 1, K - 1) = -1;
  for (int64_t e = 0; e < E; ++e)
    w.at("in_proj.weight", E + e, 2) = kGate;
  float scale = 1 / (kStep * static_cast<float>(T) * kGate);
  w.at("out_proj.weight", 0, 0) = scale;
  w.at("out_proj.weight", 0, 1) = -scale;

  std::map<int64_t, int64_t> channelOf; // breakpoint k -> first ramp channel
  auto rampPair = [&](int64_t k) {
    auto [it, inserted] = channelOf.try_emplace(k, 2 + 2 * channelOf.size());
    int64_t c = it->second;
    if (inserted)
      for (int64_t r = 0; r < 2; ++r) {
        // w (t - k/T) - r = 64 (i + 1/2 - k) - r: exact in fp32.
        w.at("in_proj.weight", c + r, 1) = 1;
        w.at("conv1d.weight", c + r, K - 1) = static_cast<float>(kSlope * T);
        w.at("conv1d.bias", c + r) = static_cast<float>(-kSlope * k - r);
      }
    return c;
  };
  // B gets phi / 2^{j/2} and C phi * 2^{j/2}: integer and power-of-two
  // weights, so that x_proj's sums of the large ramp values (up to 64 T)
  // are exact; with the irrational 2^{j/2} in both they cancel to ~1e-3.
  for (auto [s, h] : llvm::enumerate(fns))
    for (auto [k, coeff] : haarSteps(h, T)) {
      int64_t c = rampPair(k);
      float factor[2] = {1.0f,
                         std::ldexp(1.0f, std::max<int64_t>(h.level, 0))};
      int64_t rows[2] = {1 + int64_t(s), 1 + states + int64_t(s)};
      for (int r = 0; r < 2; ++r) {
        w.at("x_proj.weight", rows[r], c) += factor[r] * coeff;
        w.at("x_proj.weight", rows[r], c + 1) -= factor[r] * coeff;
      }
    }
  return w;
}

/// The compiled block's projection of f onto `fns`.
llvm::Expected<std::vector<double>> runBlock(MixerStack &stack,
                                             const std::vector<double> &f,
                                             const std::vector<HaarFn> &fns,
                                             int64_t states, int64_t pairs) {
  int64_t T = f.size();
  stack.weights(0) = haarBlock(fns, T, states, pairs);
  Array x(DType::F32, {1, 2 * T, 3});
  float *px = x.as<float>();
  for (int64_t i = 0; i < 2 * T; ++i) {
    int64_t j = i % T;
    px[3 * i] = i < T ? static_cast<float>(f[j]) : 0.0f;
    px[3 * i + 1] = static_cast<float>((j + 0.5) / T);
    px[3 * i + 2] = 1;
  }
  auto out = stack.run(x);
  if (!out)
    return out.takeError();
  std::vector<double> p(T);
  for (int64_t j = 0; j < T; ++j)
    p[j] = out->as<float>()[3 * (T + j)];
  return p;
}

/// The mode functions of S4D-Lin with N real degrees of freedom, (T, N)
/// row-major, from the compiled layer (`program`: buildS4DModule(N, N/2,
/// complex)): N/2 modes A_n = -1/2 + i pi n at dt = 1/T with B = 1, driven
/// by an impulse; channel 2n reads mode n with C = 1 (2 Re h_n), channel
/// 2n + 1 with C = i (2 Re(i h_n)).
llvm::Expected<std::vector<double>> compiledModes(JitProgram &program,
                                                  int64_t N, int64_t T) {
  int64_t modes = N / 2;
  Array u = filled({1, T, N}, 0), logDt = filled({N}, -std::log(float(T))),
        aReal = filled({N, modes}, -0.5f), aImag = filled({N, modes}, 0),
        b = filled({N, modes}, 1), c = filled({N, modes}, 0),
        cImag = filled({N, modes}, 0);
  std::fill_n(u.as<float>(), N, 1.0f);
  for (int64_t ch = 0; ch < N; ++ch)
    for (int64_t n = 0; n < modes; ++n)
      aImag.as<float>()[ch * modes + n] =
          static_cast<float>(llvm::numbers::pi * n);
  for (int64_t n = 0; n < modes; ++n) {
    c.as<float>()[(2 * n) * modes + n] = 1;
    cImag.as<float>()[(2 * n + 1) * modes + n] = 1;
  }
  auto out =
      program.call(kS4DFunc, {&u, &logDt, &aReal, &aImag, &b, &c, &cImag});
  if (!out)
    return out.takeError();
  const float *y = out->front().as<float>();
  return std::vector<double>(y, y + T * N);
}

/// The same in float64 from the fp32 log_dt and A_imag compiledModes gives
/// the layer: h_i = exp(dt A i) (exp(dt A) - 1) / A (ZOH).
std::vector<double> exactModes(int64_t N, int64_t T) {
  std::vector<double> modes(T * N);
  double dt = std::exp(double(-std::log(float(T))));
  for (int64_t n = 0; n < N / 2; ++n) {
    std::complex<double> A(-0.5, float(llvm::numbers::pi * n));
    std::complex<double> bBar = (std::exp(dt * A) - 1.0) / A;
    for (int64_t i = 0; i < T; ++i) {
      std::complex<double> h = std::exp(dt * A * double(i)) * bBar;
      modes[i * N + 2 * n] = 2 * h.real();
      modes[i * N + 2 * n + 1] = -2 * h.imag();
    }
  }
  return modes;
}

/// The projection of f onto the span of the columns of `basis` (T, N) in
/// float64, as numpy.linalg.lstsq computes it: through the SVD, with
/// singular values below eps * max(T, N) of the largest taken as zero. The
/// SVD is one-sided Jacobi (rotate column pairs until all are orthogonal;
/// the columns are then sigma_k u_k). The modes of S4D-Lin on [0, 1] are
/// nearly dependent: cos(pi n t) and sin(pi n t) are each a complete
/// family, and the condition number is ~1e5 at N = 16 and ~1e15 at N = 64,
/// where singular values decay smoothly to the cutoff and the fit moves by
/// ~1e-3 with it (docs/results.md).
std::vector<double> projectOnto(const std::vector<double> &basis,
                                const std::vector<double> &f, int64_t N) {
  int64_t T = f.size();
  std::vector<std::vector<double>> cols(N, std::vector<double>(T));
  for (int64_t i = 0; i < T; ++i)
    for (int64_t k = 0; k < N; ++k)
      cols[k][i] = basis[i * N + k];
  auto dot = [&](const std::vector<double> &a, const std::vector<double> &b) {
    double sum = 0;
    for (int64_t i = 0; i < T; ++i)
      sum += a[i] * b[i];
    return sum;
  };
  const double eps = std::numeric_limits<double>::epsilon();
  for (int sweep = 0; sweep < 60; ++sweep) {
    bool rotated = false;
    for (int64_t p = 0; p < N; ++p)
      for (int64_t q = p + 1; q < N; ++q) {
        double alpha = dot(cols[p], cols[p]), beta = dot(cols[q], cols[q]),
               gamma = dot(cols[p], cols[q]);
        if (std::abs(gamma) <= eps * std::sqrt(alpha * beta))
          continue;
        rotated = true;
        double zeta = (beta - alpha) / (2 * gamma);
        double t = std::copysign(1.0, zeta) /
                   (std::abs(zeta) + std::sqrt(1 + zeta * zeta));
        double c = 1 / std::sqrt(1 + t * t), sn = c * t;
        for (int64_t i = 0; i < T; ++i) {
          double x = cols[p][i], y = cols[q][i];
          cols[p][i] = c * x - sn * y;
          cols[q][i] = sn * x + c * y;
        }
      }
    if (!rotated)
      break;
  }
  std::vector<double> sigma(N);
  for (int64_t k = 0; k < N; ++k)
    sigma[k] = std::sqrt(dot(cols[k], cols[k]));
  double cutoff = eps * std::max(T, N) *
                  *std::max_element(sigma.begin(), sigma.end());
  std::vector<double> p(T, 0);
  for (int64_t k = 0; k < N; ++k) {
    if (sigma[k] <= cutoff || sigma[k] == 0)
      continue;
    double c = dot(cols[k], f) / (sigma[k] * sigma[k]);
    for (int64_t i = 0; i < T; ++i)
      p[i] += c * cols[k][i];
  }
  return p;
}

double rmsDiff(const std::vector<double> &a, const std::vector<double> &b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i)
    sum += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(sum / a.size());
}

/// max |got - want| / max |want| (semantics.md's normwise relative error).
double normwise(const std::vector<double> &got,
                const std::vector<double> &want) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = maxError(err, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return scale > 0 ? err / scale : err;
}

/// The functions of tasks.md: piecewise constant with jumps at the
/// quarters (dyadic), at `jumps` random sample boundaries (generic), and
/// sin(2 pi t); piece values uniform in [-1, 1].
std::vector<double> sampleFunction(llvm::StringRef kind, int64_t T,
                                   int64_t jumps, Rng &rng) {
  std::vector<double> f(T);
  auto pieces = [&](std::vector<int64_t> starts) {
    for (size_t p = 0; p < starts.size(); ++p) {
      double v = 2 * rng.uniform() - 1;
      int64_t end = p + 1 < starts.size() ? starts[p + 1] : T;
      std::fill(f.begin() + starts[p], f.begin() + end, v);
    }
  };
  if (kind == "sine") {
    for (int64_t i = 0; i < T; ++i)
      f[i] = std::sin(2 * llvm::numbers::pi * (i + 0.5) / T);
  } else if (kind == "dyadic") {
    pieces({0, T / 4, T / 2, 3 * T / 4});
  } else {
    std::vector<int64_t> starts = {0};
    while (static_cast<int64_t>(starts.size()) <= jumps) {
      int64_t k = 1 + rng.below(T - 1);
      if (!llvm::is_contained(starts, k))
        starts.push_back(k);
    }
    llvm::sort(starts);
    pieces(starts);
  }
  return f;
}

/// tasks.md's figures for sin(2 pi t) at T = 1024 and N = 4, 16, 64 (linear
/// Haar, S4D).
/// Its piecewise-constant functions are random draws it does not specify,
/// so their figures are not comparable number for number (docs/results.md).
std::optional<std::pair<double, double>> sineFigures(int64_t N) {
  switch (N) {
  case 4:
    return std::make_pair(0.308, 0.365);
  case 16:
    return std::make_pair(0.080, 0.000);
  case 64:
    return std::make_pair(0.020, 0.000);
  default:
    return std::nullopt;
  }
}

llvm::Expected<TaskReport> runHaar(const TaskArgs &args, TaskContext &ctx) {
  auto statesList = args.integers("states", 2);
  auto samples = args.integer("samples", 2);
  auto jumps = args.integer("jumps", 1);
  auto seed = args.integer("seed", 0);
  if (llvm::Error err = firstError(statesList, samples, jumps, seed))
    return std::move(err);
  int64_t T = *samples;
  if (!llvm::isPowerOf2_64(T) || T > kMaxSamples)
    return llvm::createStringError(
        "haar: --samples %lld must be a power of two <= %lld (dyadic "
        "breakpoints fall between samples, and the ramps, up to 64 T, stay "
        "exact in fp32)",
        static_cast<long long>(T), static_cast<long long>(kMaxSamples));
  for (int64_t N : *statesList)
    if (!llvm::isPowerOf2_64(N) || N > std::min(T, kMaxStates))
      return llvm::createStringError(
          "haar: --states %lld must be a power of two in [2, %lld] (N = 2^J "
          "Haar functions, at most --samples and %lld)",
          static_cast<long long>(N),
          static_cast<long long>(std::min(T, kMaxStates)),
          static_cast<long long>(kMaxStates));
  if (*jumps >= T)
    return llvm::createStringError(
        "haar: --jumps %lld must be below --samples %lld",
        static_cast<long long>(*jumps), static_cast<long long>(T));
  std::string functions = args.str("function");
  llvm::SmallVector<llvm::StringRef> kinds;
  llvm::StringRef(functions).split(kinds, ',');
  for (llvm::StringRef kind : kinds)
    if (kind != "dyadic" && kind != "generic" && kind != "sine")
      return llvm::createStringError(
          "haar: --function '%s' is not one of dyadic, generic, sine",
          kind.str().c_str());

  TaskReport report;
  report.title =
      llvm::formatv("Haar approximation, T = {0} samples: one S6 block "
                    "(linear and best N-term Haar) vs the best S4D-Lin "
                    "readout; RMS error, and each compiled result against "
                    "float64 (<= max(1e-5, T 2^-24))",
                    T)
          .str();
  report.columns = {"function", "N",        "model",   "rms_err",
                    "vs_f64",   "expected", "result"};
  int64_t levels = llvm::Log2_64(T);
  // semantics.md's 1e-5, or T 2^-24 where that is larger: the block's
  // state is a running fp32 sum of T terms (recursive summation's bound;
  // measured 1.9e-6 at T = 1024, 9.3e-5 at T = 16384 on the dyadic f), and
  // S4D's impulse response at step i is the i-th power of its fp32
  // per-step factor exp(dt A) (measured: linear in i, 3.6e-5 at i = 1023).
  double tolerance = std::max(kTolerance, std::ldexp(double(T), -24));
  for (int64_t N : *statesList) {
    // Up to three breakpoints per Haar function (the best N-term set).
    int64_t pairs = 3 * N;
    ctx.progress(llvm::formatv("haar N={0}: compiling", N));
    std::vector<MixerWeights> layers;
    layers.push_back(haarBlock({}, T, N, pairs));
    auto stack = MixerStack::compile(std::move(layers), /*residual=*/false,
                                     ctx.jit);
    if (!stack)
      return stack.takeError();
    auto s4dProgram = compileProgram(
        [&](MLIRContext &c) {
          return buildS4DModule(c, N, N / 2, /*complex=*/true, 1, T);
        },
        ctx.jit);
    if (!s4dProgram)
      return s4dProgram.takeError();
    auto modes = compiledModes(**s4dProgram, N, T);
    if (!modes)
      return modes.takeError();
    std::vector<double> exact = exactModes(N, T);
    double modesErr = normwise(*modes, exact);

    for (llvm::StringRef kind : kinds) {
      ctx.progress(llvm::formatv("haar N={0}: {1}", N, kind));
      Rng rng(*seed * 1000003 + (kind == "dyadic" ? 1 : 2));
      std::vector<double> f = sampleFunction(kind, T, *jumps, rng);

      struct Result {
        std::string model;
        double rms, vsF64;
        std::vector<double> curve;
      };
      std::vector<Result> results;
      for (bool best : {false, true}) {
        std::vector<HaarFn> fns = best ? bestSet(f, N) : linearSet(N);
        auto got = runBlock(**stack, f, fns, N, pairs);
        if (!got)
          return got.takeError();
        results.push_back({best ? "S6, best N-term Haar" : "S6, Haar",
                           rmsDiff(*got, f), normwise(*got, projection(f, fns)),
                           std::move(*got)});
      }
      // The best readout; vs_f64 is the compiled modes' error.
      std::vector<double> s4dCurve = projectOnto(exact, f, N);
      results.push_back({"S4D-Lin", rmsDiff(s4dCurve, f), modesErr, s4dCurve});

      // The panel: f and the three approximations over t_i = (i + 1/2) / T.
      Plot panel;
      panel.title = llvm::formatv("{0} f, N = {1}", kind, N).str();
      panel.xLabel = "t";
      panel.yLabel = "f(t) and its approximations";
      std::vector<double> t(T);
      for (int64_t i = 0; i < T; ++i)
        t[i] = (i + 0.5) / T;
      panel.series.push_back({"f", t, f});
      for (const Result &r : results)
        panel.series.push_back({r.model, t, r.curve});
      report.plots.push_back(std::move(panel));

      // The claims each row checks, besides vs_f64 <= tolerance.
      double lin = results[0].rms, best = results[1].rms,
             s4dRms = results[2].rms;
      std::string expect[3] = {"-", "<= linear", "-"};
      std::optional<bool> claim[3] = {std::nullopt, best <= lin + 1e-6,
                                      std::nullopt};
      auto figures =
          kind == "sine" && T == 1024 ? sineFigures(N) : std::nullopt;
      auto close = [](double got, double want) {
        return std::abs(got - want) < 5e-4; // the 3 decimals of tasks.md
      };
      if (figures) {
        expect[0] = llvm::formatv("{0:f3}", figures->first).str();
        claim[0] = close(lin, figures->first);
        expect[2] = llvm::formatv("{0:f3}", figures->second).str();
        claim[2] = close(s4dRms, figures->second);
      }
      if (kind == "dyadic" && N >= 4) {
        // Jumps at the quarters: the linear set contains f.
        expect[0] = "0 (fp32)";
        claim[0] = lin <= tolerance;
        expect[2] = "> S6 Haar";
        claim[2] = s4dRms > lin;
      }
      // A jump at a sample boundary has one nonzero wavelet per level.
      if (kind == "generic" && N >= 1 + *jumps * levels) {
        expect[1] = "0 (fp32)";
        claim[1] = best <= tolerance;
      }
      for (int r = 0; r < 3; ++r) {
        bool ok = results[r].vsF64 <= tolerance && claim[r].value_or(true);
        report.addRow({kind.str(), std::to_string(N), results[r].model,
                       llvm::formatv("{0:f4}", results[r].rms).str(),
                       llvm::formatv("{0:e1}", results[r].vsF64).str(),
                       expect[r]},
                      ok);
      }
      report.lines.push_back(
          llvm::formatv("function={0} N={1} rms_s6={2:e6} rms_s4d={3:e6} "
                        "rms_best={4:e6}",
                        kind, N, lin, s4dRms, best)
              .str());
    }
  }
  return report;
}

} // namespace

TaskInfo mlir::ssm::tasks::haarTask() {
  return {"haar",
          "P1 claim (i): Haar projections with one S6 block vs the best "
          "S4D-Lin readout",
          {{"function", "dyadic,generic,sine",
            "functions: dyadic (jumps at the quarters), generic (random "
            "jumps), sine"},
           {"states", "4,16,64", "N = 2^J Haar functions / S4D degrees of "
                                 "freedom"},
           {"samples", "1024", "samples T of f on [0, 1)"},
           {"jumps", "4", "jumps of the generic function"},
           {"seed", "0", "generator seed"}},
          runHaar};
}
