//===- Polynomial.cpp - P2's polynomial expressivity (tasks.md section 5) -===//
//
// Targets are sparse multivariate polynomials of x in [-1, 1]^L: a few
// monomials prod_{j in S} x_j, one of them of the row's degree d. The
// simplified selective layer computes each monomial exactly in one channel
// of a generic recurrence h_t = a_t h_{t-1} + b_t (ssm.scan): a BOS step
// (a = 0, b = 1) writes h = 1, then a_t = x_t where t is in the monomial's
// set and 1 elsewhere (the selection: the decay depends on the input and
// the step); a readout adds the coefficients. Its error is fp32 rounding.
//
// The baseline is a stack of K linear-attention layers with residuals on
// the features [x_t, onehot(t)], whose last-step features are a polynomial
// of degree <= 3^K. With no training, its q, k, v weights are random
// (seeded) and only the readout is fitted, by least squares on half of the
// examples and scored on the other half: an upper bound on the best
// K-layer fit, shown next to the exact selective layer.
//
//===----------------------------------------------------------------------===//

#include "TaskModels.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FormatVariadic.h"

#include <numeric>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::tasks;

namespace {

struct Monomial {
  std::vector<int64_t> vars; ///< positions j, distinct
  double coeff;
};

/// `terms` monomials over L positions; the first has degree `degree`, the
/// others a degree in [1, degree]; coefficients uniform in [-1, 1].
std::vector<Monomial> samplePolynomial(Rng &rng, int64_t L, int64_t degree,
                                       int64_t terms) {
  std::vector<Monomial> poly;
  for (int64_t m = 0; m < terms; ++m) {
    int64_t deg = m == 0 ? degree : 1 + rng.below(degree);
    std::vector<int64_t> pos(L);
    std::iota(pos.begin(), pos.end(), 0);
    for (int64_t i = 0; i < deg; ++i) // partial Fisher-Yates
      std::swap(pos[i], pos[i + rng.below(L - i)]);
    pos.resize(deg);
    std::sort(pos.begin(), pos.end());
    poly.push_back({pos, 2 * rng.uniform() - 1});
  }
  return poly;
}

double evaluate(const std::vector<Monomial> &poly, const double *x) {
  double sum = 0;
  for (const Monomial &m : poly) {
    double p = m.coeff;
    for (int64_t j : m.vars)
      p *= x[j];
    sum += p;
  }
  return sum;
}

/// Least squares min |A w - y| for A (rows, cols), by the normal equations
/// with a tiny ridge and Cholesky, in double.
std::vector<double> leastSquares(const std::vector<double> &A,
                                 const std::vector<double> &y, int64_t rows,
                                 int64_t cols) {
  std::vector<double> G(cols * cols, 0), r(cols, 0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t a = 0; a < cols; ++a) {
      r[a] += A[i * cols + a] * y[i];
      for (int64_t b = 0; b <= a; ++b)
        G[a * cols + b] += A[i * cols + a] * A[i * cols + b];
    }
  double trace = 0;
  for (int64_t a = 0; a < cols; ++a)
    trace += G[a * cols + a];
  for (int64_t a = 0; a < cols; ++a)
    G[a * cols + a] += 1e-10 * trace / cols + 1e-300;
  // Cholesky G = L L^T in the lower triangle.
  for (int64_t j = 0; j < cols; ++j) {
    double d = G[j * cols + j];
    for (int64_t k = 0; k < j; ++k)
      d -= G[j * cols + k] * G[j * cols + k];
    d = std::sqrt(std::max(d, 1e-300));
    G[j * cols + j] = d;
    for (int64_t i = j + 1; i < cols; ++i) {
      double s = G[i * cols + j];
      for (int64_t k = 0; k < j; ++k)
        s -= G[i * cols + k] * G[j * cols + k];
      G[i * cols + j] = s / d;
    }
  }
  std::vector<double> w(r);
  for (int64_t i = 0; i < cols; ++i) { // L z = r
    for (int64_t k = 0; k < i; ++k)
      w[i] -= G[i * cols + k] * w[k];
    w[i] /= G[i * cols + i];
  }
  for (int64_t i = cols - 1; i >= 0; --i) { // L^T w = z
    for (int64_t k = i + 1; k < cols; ++k)
      w[i] -= G[k * cols + i] * w[k];
    w[i] /= G[i * cols + i];
  }
  return w;
}

/// The selective layer (`program`: buildScanReadoutModule over n examples,
/// L + 1 steps, one channel per monomial) on x (n, L): its outputs.
llvm::Expected<std::vector<double>>
runSelective(JitProgram &program, const std::vector<Monomial> &poly,
             const std::vector<double> &x, int64_t n, int64_t L) {
  int64_t m = poly.size(), steps = L + 1;
  Array a(DType::F32, {n, steps, m}), b(DType::F32, {n, steps, m}),
      w(DType::F32, {1, m});
  float *pa = a.as<float>(), *pb = b.as<float>();
  std::fill_n(pb, b.numElements(), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < m; ++c) {
      pa[(i * steps) * m + c] = 0; // BOS: h = 0 * h + 1
      pb[(i * steps) * m + c] = 1;
      std::vector<bool> in(L, false);
      for (int64_t j : poly[c].vars)
        in[j] = true;
      for (int64_t t = 0; t < L; ++t)
        pa[(i * steps + t + 1) * m + c] =
            in[t] ? static_cast<float>(x[i * L + t]) : 1.0f;
    }
  for (int64_t c = 0; c < m; ++c)
    w.as<float>()[c] = static_cast<float>(poly[c].coeff);
  auto out = program.call(kScanReadoutFunc, {&a, &b, &w});
  if (!out)
    return out.takeError();
  const float *py = out->front().as<float>();
  return std::vector<double>(py, py + n);
}

/// The last-step features (n, W) of a K-layer linear-attention stack
/// (`program`: buildLinearAttentionStackModule of width W = L + 1 over n
/// examples of L steps) on x (n, L), with random weights from `rng`.
llvm::Expected<std::vector<double>>
runLinearAttention(JitProgram &program, int64_t layers,
                   const std::vector<double> &x, int64_t n, int64_t L,
                   Rng &rng) {
  int64_t W = L + 1;
  Array feats(DType::F32, {n, L, W});
  float *pf = feats.as<float>();
  std::fill_n(pf, feats.numElements(), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < L; ++t) {
      pf[(i * L + t) * W] = static_cast<float>(x[i * L + t]);
      pf[(i * L + t) * W + 1 + t] = 1.0f;
    }
  std::vector<Array> weights;
  for (int64_t k = 0; k < 3 * layers; ++k) {
    Array wk(DType::F32, {W, W});
    // Gaussian-like entries (sum of uniforms), variance 1 / W.
    for (int64_t e = 0; e < W * W; ++e) {
      double g = rng.uniform() + rng.uniform() + rng.uniform() - 1.5;
      wk.as<float>()[e] = static_cast<float>(2 * g / std::sqrt(double(W)));
    }
    weights.push_back(std::move(wk));
  }
  llvm::SmallVector<const Array *> args = {&feats};
  for (const Array &wk : weights)
    args.push_back(&wk);
  auto out = program.call(kLinearAttentionStackFunc, args);
  if (!out)
    return out.takeError();
  const float *po = out->front().as<float>();
  std::vector<double> last(n * W);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < W; ++c)
      last[i * W + c] = po[(i * L + L - 1) * W + c];
  return last;
}

llvm::Expected<TaskReport> runPolynomial(const TaskArgs &args,
                                         TaskContext &ctx) {
  auto length = args.integer("seq-len", 1);
  auto degrees = args.integers("degree", 1);
  auto layerCounts = args.integers("layers", 1);
  auto terms = args.integer("terms", 1);
  auto examples = args.integer("examples", 8);
  auto seed = args.integer("seed", 0);
  if (llvm::Error err =
          firstError(length, degrees, layerCounts, terms, examples, seed))
    return std::move(err);
  int64_t L = *length, n = *examples;
  for (int64_t d : *degrees)
    if (d > L)
      return llvm::createStringError(
          "polynomial: --degree %lld is above --seq-len %lld (a monomial "
          "uses each input at most once)",
          static_cast<long long>(d), static_cast<long long>(L));
  if (L > 256)
    return llvm::createStringError(
        "polynomial: --seq-len %lld is above 256 (the baseline's one-hot "
        "positions make its width L + 1)",
        static_cast<long long>(L));

  TaskReport report;
  report.title = llvm::formatv("Polynomial expressivity, L = {0}, {1} "
                               "monomials per target, {2} examples",
                               L, *terms, n)
                     .str();
  report.columns = {"degree",   "model",    "max_err", "rel_rms",
                    "expected", "result"};
  // One program for the selective layer and one per depth K, whatever the
  // degree: the polynomial is in the inputs and the readout, not the shapes.
  ctx.progress("polynomial: compiling");
  auto selective = compileProgram(
      [&](MLIRContext &c) {
        return buildScanReadoutModule(c, n, L + 1, *terms, 1);
      },
      ctx.jit);
  if (!selective)
    return selective.takeError();
  std::vector<std::unique_ptr<JitProgram>> stacks;
  for (int64_t K : *layerCounts) {
    auto stack = compileProgram(
        [&](MLIRContext &c) {
          return buildLinearAttentionStackModule(c, K, L + 1, 1, n, L);
        },
        ctx.jit);
    if (!stack)
      return stack.takeError();
    stacks.push_back(std::move(*stack));
  }

  // Error against degree: the selective layer, then each depth K.
  Plot plot;
  plot.title = llvm::formatv("Polynomial fit error, L = {0}", L).str();
  plot.xLabel = "degree";
  plot.yLabel = "relative RMS error (log)";
  plot.logY = true;
  plot.series.push_back({"selective (1 layer)", {}, {}});
  for (int64_t K : *layerCounts)
    plot.series.push_back(
        {llvm::formatv("linear attention, K = {0}", K).str(), {}, {}});
  auto addPoint = [&](size_t series, int64_t d, double err) {
    plot.series[series].x.push_back(static_cast<double>(d));
    plot.series[series].y.push_back(err);
  };

  Rng rng(*seed * 1000003 + 17);
  for (int64_t d : *degrees) {
    std::vector<Monomial> poly = samplePolynomial(rng, L, d, *terms);
    std::vector<double> x(n * L), target(n);
    for (double &v : x)
      v = 2 * rng.uniform() - 1;
    double scale = 0, sumSq = 0;
    for (int64_t i = 0; i < n; ++i) {
      target[i] = evaluate(poly, &x[i * L]);
      scale = std::max(scale, std::abs(target[i]));
      sumSq += target[i] * target[i];
    }
    double rms = std::sqrt(sumSq / n);
    ctx.progress(llvm::formatv("polynomial degree {0}: selective layer", d));
    auto got = runSelective(**selective, poly, x, n, L);
    if (!got)
      return got.takeError();
    double maxErr = 0, errSq = 0;
    for (int64_t i = 0; i < n; ++i) {
      double e = std::abs((*got)[i] - target[i]);
      maxErr = std::max(maxErr, e);
      errSq += e * e;
    }
    // Normwise relative (semantics.md's fp32 contract).
    double relMax = scale > 0 ? maxErr / scale : maxErr;
    report.addRow({std::to_string(d), "selective (1 layer)",
                   formatDouble(relMax, 3),
                   formatDouble(std::sqrt(errSq / n) / rms, 3), "<= 1e-5"},
                  relMax <= 1e-5);
    std::string line = llvm::formatv("degree={0} max_err={1:e3}", d, relMax);
    addPoint(0, d, std::sqrt(errSq / n) / rms);

    for (auto [k, K, stack] : llvm::enumerate(*layerCounts, stacks)) {
      ctx.progress(llvm::formatv("polynomial degree {0}: {1}-layer linear "
                                 "attention",
                                 d, K));
      auto feats = runLinearAttention(*stack, K, x, n, L, rng);
      if (!feats)
        return feats.takeError();
      int64_t W = L + 1, cols = W + 1, train = n / 2;
      std::vector<double> A(n * cols);
      for (int64_t i = 0; i < n; ++i) {
        std::copy_n(&(*feats)[i * W], W, &A[i * cols]);
        A[i * cols + W] = 1;
      }
      std::vector<double> w = leastSquares(A, target, train, cols);
      double laMax = 0, laSq = 0;
      for (int64_t i = train; i < n; ++i) {
        double p = 0;
        for (int64_t c = 0; c < cols; ++c)
          p += A[i * cols + c] * w[c];
        double e = std::abs(p - target[i]);
        laMax = std::max(laMax, e);
        laSq += e * e;
      }
      double laRel = std::sqrt(laSq / (n - train)) / rms;
      report.addRow({std::to_string(d),
                     llvm::formatv("linear attention, K = {0} (deg <= {1})",
                                   K, static_cast<int64_t>(std::pow(3.0, K)))
                         .str(),
                     formatDouble(scale > 0 ? laMax / scale : laMax, 3),
                     formatDouble(laRel, 3), "-"},
                    std::nullopt);
      line += llvm::formatv(" la{0}_rel_rms={1:e3}", K, laRel).str();
      addPoint(1 + k, d, laRel);
    }
    report.lines.push_back(line);
  }
  report.plots.push_back(std::move(plot));
  return report;
}

} // namespace

TaskInfo mlir::ssm::tasks::polynomialTask() {
  return {"polynomial",
          "P2: sparse polynomials of degree d, exact with one selective "
          "layer, vs K linear-attention layers",
          {{"seq-len", "16", "inputs per example L"},
           {"degree", "1,2,3,4,6,9,12,16", "degrees d <= L (one row each)"},
           {"layers", "1,2", "linear-attention depths K"},
           {"terms", "4", "monomials per target"},
           {"examples", "2048", "examples (half fit the baseline's readout)"},
           {"seed", "0", "generator seed"}},
          runPolynomial};
}
