//===- Polynomial.cpp - P2's polynomial expressivity (tasks.md section 5) -===//
//
// Targets are sparse multilinear polynomials of x in [-1, 1]^L (uniform, or
// +-1 with --inputs signs): a few monomials prod_{j in S} x_j on distinct
// positions, one of them of the row's degree d, each scaled to unit RMS
// (of the unit-RMS inputs z = x / RMS(x)) so that every monomial carries
// its coefficient's share of the target's energy.
//
// The simplified selective layer computes each monomial exactly in one
// channel of a generic recurrence h_t = a_t h_{t-1} + b_t (ssm.scan): a BOS
// step (a = 0, b = 1) writes h = 1, then a_t = z_t where t is in the
// monomial's set and 1 elsewhere (the selection: the decay depends on
// the input and the step); a readout adds the coefficients. Its error is fp32
// rounding.
//
// The baseline is the best fit of K residual linear-attention layers
// (semantics.md section 7) on the features [x_t, onehot(t)], read out by
// least squares at the last step. Its error is known exactly
// (docs/tasks.md, "How deep linear attention must be", has the proof):
//
//  - Bound. Let w_K be the most distinct inputs other than x_{L-1} in a
//    monomial of the last step's features after K layers. A layer's output
//    at t is Q(t) sum_{s <= t} K(s) V(s), with Q, K, V linear in the
//    previous features: x_t, plus at most w inputs before t from Q, w from
//    each of K(s) and V(s), and x_s once. So w_K = 3 w_{K-1} + 1 =
//    (3^K - 1) / 2, for any width, heads and weights. A target monomial on
//    more inputs is orthogonal to every such feature (the inputs are
//    independent with mean 0), so no readout recovers any of it.
//  - Construction. Heads of width 1 (each channel y_t = q_t sum k_s v_s)
//    reach every monomial within that bound exactly: a channel for a set U
//    takes its largest position p as the pivot, K a channel that is U's
//    part B at step p only, V a channel x_s times U's part C, and Q a
//    channel of U's part A; each part has at most w_{K-1} inputs.
//
// So the best K-layer fit's error is the RMS of the target's monomials on
// more than w_K inputs (not counting x_{L-1}); the task builds that network,
// runs it compiled, fits its readout and reports the measured error next to
// the exact one.
//
//===----------------------------------------------------------------------===//

#include "TaskModels.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <numeric>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::tasks;

namespace {

/// The inputs as every part of the task holds them: z = x / RMS(x), of
/// unit RMS, so that a monomial prod z_j has unit RMS too and the programs
/// compute it at that scale. prod x_j itself, with x uniform in [-1, 1],
/// has RMS 3^{-|S|/2}, below fp32's normal range from |S| = 160 on, and
/// the weight 3^{|S|/2} that would restore it is infinite in fp32 from
/// |S| = 162 (at |S| = 256 the selective layer's channel read 0, its
/// weight inf, its output NaN).
///  - uniform: x uniform in [-1, 1], z = sqrt(3) x;
///  - signs: x = z = +-1 with probability 1/2 each. Every monomial is then
///    +-1 on every example, with no rare corners (docs/tasks.md, "What the
///    columns say"), and fp32 computes it exactly.
std::vector<double> sampleInputs(Rng &rng, int64_t count, bool signs) {
  const double sqrt3 = std::sqrt(3.0);
  std::vector<double> z(count);
  for (double &v : z)
    v = signs ? (rng.below(2) ? 1.0 : -1.0) : sqrt3 * (2 * rng.uniform() - 1);
  return z;
}

struct Monomial {
  std::vector<int64_t> vars; ///< positions j, distinct and sorted
  double coeff;              ///< on the unit-RMS monomial prod z_j
};

/// `terms` monomials over L positions; the first has degree `degree`, the
/// others a degree in [1, degree]; coefficients uniform in [-1, 1]. A set
/// drawn twice is one monomial with the coefficients' sum.
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
    double coeff = 2 * rng.uniform() - 1;
    auto same = llvm::find_if(
        poly, [&](const Monomial &other) { return other.vars == pos; });
    if (same != poly.end())
      same->coeff += coeff;
    else
      poly.push_back({pos, coeff});
  }
  return poly;
}

/// The polynomial at the unit-RMS inputs z (one example's L values).
double evaluate(const std::vector<Monomial> &poly, const double *z) {
  double sum = 0;
  for (const Monomial &m : poly) {
    double p = m.coeff;
    for (int64_t j : m.vars)
      p *= z[j];
    sum += p;
  }
  return sum;
}

/// Least squares min |A w - y| for A (rows, cols), by the normal equations
/// with a tiny ridge and Cholesky, in double. The columns are scaled to
/// unit norm first: a monomial of degree 16 has RMS 3^-8, and a ridge
/// relative to the largest column would bias its weight by 1e-4.
std::vector<double> leastSquares(const std::vector<double> &A,
                                 const std::vector<double> &y, int64_t rows,
                                 int64_t cols) {
  std::vector<double> norm(cols, 0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t a = 0; a < cols; ++a)
      norm[a] += A[i * cols + a] * A[i * cols + a];
  for (double &v : norm)
    v = v > 0 ? 1 / std::sqrt(v) : 0; // an all-zero column keeps weight 0
  std::vector<double> G(cols * cols, 0), r(cols, 0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t a = 0; a < cols; ++a) {
      double ia = A[i * cols + a] * norm[a];
      r[a] += ia * y[i];
      for (int64_t b = 0; b <= a; ++b)
        G[a * cols + b] += ia * A[i * cols + b] * norm[b];
    }
  for (int64_t a = 0; a < cols; ++a)
    G[a * cols + a] += 1e-12;
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
  for (int64_t a = 0; a < cols; ++a)
    w[a] *= norm[a];
  return w;
}

/// The selective layer (`program`: buildScanReadoutModule over n examples,
/// L + 1 steps, one channel per monomial) on z (n, L): its outputs.
llvm::Expected<std::vector<double>>
runSelective(JitProgram &program, const std::vector<Monomial> &poly,
             int64_t channels, const std::vector<double> &z, int64_t n,
             int64_t L) {
  int64_t m = poly.size(), steps = L + 1;
  Array a(DType::F32, {n, steps, channels}),
      b(DType::F32, {n, steps, channels}), w(DType::F32, {1, channels});
  float *pa = a.as<float>(), *pb = b.as<float>();
  std::fill_n(pa, a.numElements(), 1.0f);
  std::fill_n(pb, b.numElements(), 0.0f);
  std::fill_n(w.as<float>(), channels, 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < m; ++c) {
      pa[(i * steps) * channels + c] = 0; // BOS: h = 0 * h + 1
      pb[(i * steps) * channels + c] = 1;
      for (int64_t j : poly[c].vars)
        pa[(i * steps + j + 1) * channels + c] =
            static_cast<float>(z[i * L + j]);
    }
  for (int64_t c = 0; c < m; ++c)
    w.as<float>()[c] = static_cast<float>(poly[c].coeff);
  auto out = program.call(kScanReadoutFunc, {&a, &b, &w});
  if (!out)
    return out.takeError();
  const float *py = out->front().as<float>();
  return std::vector<double>(py, py + n);
}

/// w_K = (3^K - 1) / 2: the most inputs other than the last one in a
/// monomial that K linear-attention layers compute (the file comment).
int64_t linearAttentionReach(int64_t layers) {
  int64_t w = 0;
  for (int64_t k = 0; k < layers && w < (int64_t(1) << 40); ++k)
    w = 3 * w + 1;
  return w;
}

/// The fewest layers whose reach is at least `inputs`.
int64_t layersFor(int64_t inputs) {
  int64_t layers = 0;
  while (linearAttentionReach(layers) < inputs)
    ++layers;
  return layers;
}

/// The constructed linear-attention stack for one polynomial: width-1
/// heads, one channel per monomial and per part of one, the features
/// [x_t, onehot(t)] in columns 0 .. L and channel c in column L + 1 + c.
class LinearAttentionPlan {
public:
  explicit LinearAttentionPlan(int64_t L) : L(L) {}

  /// Whether K = `layers` layers compute prod_{j in vars} x_j at the last
  /// of L steps: at most w_K inputs besides the last one.
  static bool reaches(llvm::ArrayRef<int64_t> vars, int64_t L, int64_t layers) {
    int64_t others = vars.size() - llvm::count(vars, L - 1);
    return others <= linearAttentionReach(layers);
  }

  /// Builds the channels that hold prod_{j in vars} x_j (sorted, distinct,
  /// at least one) at the last step; the readout reads every channel.
  void addMonomial(llvm::ArrayRef<int64_t> vars) {
    // A current channel is x_t times its set: at t = L - 1, the monomial.
    bool last = vars.back() == L - 1;
    plan(last ? Kind::Current : Kind::Broadcast, last ? vars.drop_back() : vars,
         0);
  }

  int64_t numChannels() const { return channels.size(); }
  int64_t layerOf(int64_t channel) const { return channels[channel].layer; }

  /// The q, k, v projections (each (W, W), row = output column) of layer
  /// `layer` (1-based) in a stack of width W.
  std::array<std::vector<float>, 3> weights(int64_t layer, int64_t W) const {
    std::array<std::vector<float>, 3> mats;
    for (auto &m : mats)
      m.assign(W * W, 0.0f);
    for (auto [c, ch] : llvm::enumerate(channels)) {
      if (ch.layer != layer)
        continue;
      int64_t row = L + 1 + c;
      for (auto [m, form] : llvm::zip(mats, ch.qkv)) {
        float *r = &m[row * W];
        if (form.source == Form::One)
          std::fill_n(r + 1, L, 1.0f); // the one-hots sum to 1
        else
          r[form.column(L)] = 1.0f;
      }
    }
    return mats;
  }

private:
  /// A linear form of a layer's input features.
  struct Form {
    enum Source { X, OneHot, One, Channel } source;
    int64_t index = 0; ///< the position (OneHot) or channel (Channel)
    int64_t column(int64_t L) const {
      return source == X ? 0 : source == OneHot ? 1 + index : L + 1 + index;
    }
  };
  /// What a channel for a set U holds at step t:
  ///  - Broadcast: prod_U x for t >= max U (0 before);
  ///  - Current: x_t prod_U x for t >= max U (read at steps after U only);
  ///  - Gated: prod_U x at t = gate only (U <= gate).
  enum class Kind { Broadcast, Current, Gated };
  struct Channel {
    int64_t layer;
    std::array<Form, 3> qkv;
  };

  /// The form holding `kind` of U, its channel built on first use at the
  /// fewest layers that reach |U|.
  Form plan(Kind kind, llvm::ArrayRef<int64_t> U, int64_t gate) {
    if (U.empty())
      switch (kind) {
      case Kind::Broadcast:
        return {Form::One};
      case Kind::Current:
        return {Form::X};
      case Kind::Gated:
        return {Form::OneHot, gate};
      }
    auto key = std::make_tuple(static_cast<int>(kind),
                               std::vector<int64_t>(U.begin(), U.end()),
                               kind == Kind::Gated ? gate : 0);
    if (auto it = memo.find(key); it != memo.end())
      return {Form::Channel, it->second};
    int64_t layer = layersFor(U.size());
    int64_t part = linearAttentionReach(layer - 1);
    // The pivot p = max U and three parts of the rest: Q holds the first
    // (times x_t or the gate, by the kind), K the second at step p only,
    // V x_s times the third; so y_t = Q(t) sum_{s <= t} K(s) V(s) is
    // Q(t) [t >= p] x_p B C.
    int64_t pivot = U.back();
    llvm::ArrayRef<int64_t> rest = U.drop_back();
    auto take = [&] {
      llvm::ArrayRef<int64_t> chunk =
          rest.take_front(std::min<size_t>(part, rest.size()));
      rest = rest.drop_front(chunk.size());
      return std::vector<int64_t>(chunk.begin(), chunk.end());
    };
    std::vector<int64_t> a = take(), bPart = take(), cPart = take();
    assert(rest.empty() && "U is within the layer's reach");
    Channel ch{layer,
               {plan(kind, a, gate), plan(Kind::Gated, bPart, pivot),
                plan(Kind::Current, cPart, 0)}};
    int64_t index = channels.size();
    channels.push_back(ch);
    memo.emplace(std::move(key), index);
    return {Form::Channel, index};
  }

  int64_t L;
  std::vector<Channel> channels;
  std::map<std::tuple<int, std::vector<int64_t>, int64_t>, int64_t> memo;
};

/// How many examples one call of the linear-attention stack takes: its
/// activations are (examples, L, W) floats per layer input, output and
/// projection, so all n at once would not fit in memory at L = 256 (1400
/// examples, W = 887: 1.3 GB each, and the process was killed at 24 GB).
/// About 32 MB each; below 8M floats per call a single call takes every
/// example, as before.
int64_t examplesPerCall(int64_t n, int64_t L, int64_t W) {
  constexpr int64_t kFloatsPerCall = int64_t(8) << 20;
  return std::clamp<int64_t>(kFloatsPerCall / (L * W), 1, n);
}

/// The last-step features (n, W) of a K-layer linear-attention stack
/// (`program`: buildLinearAttentionStackModule of width W, heads W, over
/// `chunk` examples of L steps) on z (n, L) with the plan's weights, called
/// on `chunk` examples at a time (the last call padded with zeros).
llvm::Expected<std::vector<double>>
runLinearAttention(JitProgram &program, const LinearAttentionPlan &plan,
                   int64_t layers, int64_t W, const std::vector<double> &z,
                   int64_t n, int64_t L, int64_t chunk) {
  std::vector<Array> weights;
  for (int64_t l = 1; l <= layers; ++l)
    for (std::vector<float> &m : plan.weights(l, W)) {
      Array wk(DType::F32, {W, W});
      std::copy(m.begin(), m.end(), wk.as<float>());
      weights.push_back(std::move(wk));
    }
  Array feats(DType::F32, {chunk, L, W});
  llvm::SmallVector<const Array *> args = {&feats};
  for (const Array &wk : weights)
    args.push_back(&wk);
  std::vector<double> last(n * W);
  for (int64_t first = 0; first < n; first += chunk) {
    int64_t count = std::min(chunk, n - first);
    float *pf = feats.as<float>();
    std::fill_n(pf, feats.numElements(), 0.0f);
    for (int64_t i = 0; i < count; ++i)
      for (int64_t t = 0; t < L; ++t) {
        pf[(i * L + t) * W] = static_cast<float>(z[(first + i) * L + t]);
        pf[(i * L + t) * W + 1 + t] = 1.0f;
      }
    auto out = program.call(kLinearAttentionStackFunc, args);
    if (!out)
      return out.takeError();
    const float *po = out->front().as<float>();
    for (int64_t i = 0; i < count; ++i)
      for (int64_t c = 0; c < W; ++c)
        last[(first + i) * W + c] = po[(i * L + L - 1) * W + c];
  }
  return last;
}

/// A readout fitted by least squares to `y` on the first `train` rows of
/// A (n, cols), applied to the others: max |error| and the sum of squares.
std::pair<double, double> heldOutError(const std::vector<double> &A,
                                       const std::vector<double> &y, int64_t n,
                                       int64_t cols, int64_t train) {
  std::vector<double> w = leastSquares(A, y, train, cols);
  double maxErr = 0, sumSq = 0;
  for (int64_t i = train; i < n; ++i) {
    double p = 0;
    for (int64_t c = 0; c < cols; ++c)
      p += A[i * cols + c] * w[c];
    double e = std::abs(p - y[i]);
    maxErr = maxError(maxErr, e);
    sumSq += e * e;
  }
  return {maxErr, sumSq};
}

double maxAbs(llvm::ArrayRef<double> v) {
  double m = 0;
  for (double e : v)
    m = std::max(m, std::abs(e));
  return m;
}

llvm::Expected<TaskReport> runPolynomial(const TaskArgs &args,
                                         TaskContext &ctx) {
  auto length = args.integer("seq-len", 1);
  auto degrees = args.integers("degree", 1);
  auto layerCounts = args.integers("layers", 1);
  auto terms = args.integer("terms", 1);
  auto examples = args.integer("examples", 8);
  auto seed = args.integer("seed", 0);
  auto batch = args.integer("batch", 0);
  if (llvm::Error err = firstError(length, degrees, layerCounts, terms,
                                   examples, seed, batch))
    return std::move(err);
  int64_t L = *length, n = *examples;
  std::string inputKind = args.str("inputs");
  if (inputKind != "uniform" && inputKind != "signs")
    return llvm::createStringError(
        "polynomial: --inputs '%s' is not one of uniform, signs",
        inputKind.c_str());
  bool signs = inputKind == "signs";
  for (int64_t d : *degrees)
    if (d > L)
      return llvm::createStringError(
          "polynomial: --degree %lld is above --seq-len %lld (a monomial "
          "uses each input at most once)",
          static_cast<long long>(d), static_cast<long long>(L));
  for (int64_t K : *layerCounts)
    if (K > 16)
      return llvm::createStringError(
          "polynomial: --layers %lld is above 16 (16 layers reach monomials "
          "of 21 million inputs)",
          static_cast<long long>(K));
  if (L > 256)
    return llvm::createStringError(
        "polynomial: --seq-len %lld is above 256 (the baseline's width is "
        "L + 1 features plus up to L channels per "
        "monomial, and its projections cost examples x L x width^2)",
        static_cast<long long>(L));

  // The targets and inputs of every degree first: the construction's width
  // is the widest plan's, so that one program per depth K serves them all.
  // The polynomials come from their own stream, so that they do not
  // depend on --examples (nor the readout's width that the error for too
  // few examples names).
  Rng rng(*seed * 1000003 + 17), inputs(*seed * 1000003 + 29);
  struct Row {
    int64_t degree;
    std::vector<Monomial> poly;
    std::vector<double> z, target; ///< unit-RMS inputs (n, L), targets
    LinearAttentionPlan plan;
  };
  std::vector<Row> rows;
  int64_t maxLayers =
      *std::max_element(layerCounts->begin(), layerCounts->end());
  int64_t channels = 0, monomials = 1;
  for (int64_t d : *degrees) {
    Row row{d, samplePolynomial(rng, L, d, *terms),
            sampleInputs(inputs, n * L, signs), std::vector<double>(n),
            LinearAttentionPlan(L)};
    for (int64_t i = 0; i < n; ++i)
      row.target[i] = evaluate(row.poly, &row.z[i * L]);
    for (const Monomial &m : row.poly)
      if (LinearAttentionPlan::reaches(m.vars, L, maxLayers))
        row.plan.addMonomial(m.vars);
    channels = std::max(channels, row.plan.numChannels());
    monomials = std::max<int64_t>(monomials, row.poly.size());
    rows.push_back(std::move(row));
  }
  int64_t W = L + 1 + channels;
  // Half of the examples fit the readout (x_t, the channels and a bias);
  // fewer than its columns leave it underdetermined.
  if (n / 2 < channels + 2)
    return llvm::createStringError(
        "polynomial: --examples %lld leaves %lld examples to fit a readout "
        "of %lld columns; use at least %lld",
        static_cast<long long>(n), static_cast<long long>(n / 2),
        static_cast<long long>(channels + 2),
        static_cast<long long>(2 * (channels + 2)));

  TaskReport report;
  report.title = llvm::formatv("Polynomial expressivity, L = {0}, {1} "
                               "monomials per target, {2} examples{3}",
                               L, *terms, n, signs ? ", inputs +-1" : "")
                     .str();
  report.columns = {"degree", "model",     "max_err",  "rel_rms",
                    "best",   "best_dist", "expected", "result"};
  // One program for the selective layer and one per depth K, whatever the
  // degree: the polynomial is in the inputs and the weights, not the shapes.
  ctx.progress("polynomial: compiling");
  auto selective = compileProgram(
      [&](MLIRContext &c) {
        return buildScanReadoutModule(c, n, L + 1, monomials, 1);
      },
      ctx.jit);
  if (!selective)
    return selective.takeError();
  int64_t chunk = *batch > 0 ? std::min(*batch, n) : examplesPerCall(n, L, W);
  std::vector<std::unique_ptr<JitProgram>> stacks;
  for (int64_t K : *layerCounts) {
    auto stack = compileProgram(
        [&](MLIRContext &c) {
          return buildLinearAttentionStackModule(c, K, W, W, chunk, L);
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

  int64_t train = n / 2;
  for (Row &row : rows) {
    int64_t d = row.degree;
    double scale = maxAbs(row.target), sumSq = 0;
    for (double t : row.target)
      sumSq += t * t;
    double rms = std::sqrt(sumSq / n);
    ctx.progress(llvm::formatv("polynomial degree {0}: selective layer", d));
    auto got = runSelective(**selective, row.poly, monomials, row.z, n, L);
    if (!got)
      return got.takeError();
    double maxErr = 0, errSq = 0;
    for (int64_t i = 0; i < n; ++i) {
      double e = std::abs((*got)[i] - row.target[i]);
      maxErr = maxError(maxErr, e);
      errSq += e * e;
    }
    // Normwise relative (semantics.md's fp32 contract).
    double relMax = scale > 0 ? maxErr / scale : maxErr;
    double relRms = rms > 0 ? std::sqrt(errSq / n) / rms : 0;
    report.addRow({std::to_string(d), "selective (1 layer)",
                   formatDouble(relMax, 3), formatDouble(relRms, 3), "0", "0",
                   "<= 1e-5"},
                  relMax <= 1e-5);
    std::string line = llvm::formatv("degree={0} max_err={1:e3}", d, relMax);
    addPoint(0, d, relRms);

    for (auto [k, K, stack] : llvm::enumerate(*layerCounts, stacks)) {
      ctx.progress(llvm::formatv("polynomial degree {0}: {1}-layer linear "
                                 "attention",
                                 d, K));
      auto feats =
          runLinearAttention(*stack, row.plan, K, W, row.z, n, L, chunk);
      if (!feats)
        return feats.takeError();
      // The readout: x_t's column and the channels of layers <= K (the
      // one-hots are constant at the last step), and a bias.
      std::vector<int64_t> columns = {0};
      for (int64_t c = 0; c < row.plan.numChannels(); ++c)
        if (row.plan.layerOf(c) <= K)
          columns.push_back(L + 1 + c);
      int64_t cols = columns.size() + 1;
      std::vector<double> A(n * cols);
      for (int64_t i = 0; i < n; ++i) {
        for (auto [j, c] : llvm::enumerate(columns))
          A[i * cols + j] = (*feats)[i * W + c];
        A[i * cols + cols - 1] = 1;
      }
      // What K layers can compute (the monomials within reach): the best
      // K-layer network for the inputs' distribution reads exactly that
      // part out, and its error is the rest (the file comment). `best` is
      // that error on the held-out examples, which the fitted readout's
      // error should match but for what the fit takes from noise.
      std::vector<Monomial> reachable, beyond;
      for (const Monomial &m : row.poly)
        (LinearAttentionPlan::reaches(m.vars, L, K) ? reachable : beyond)
            .push_back(m);
      std::vector<double> part(n);
      double heldSq = 0, beyondSq = 0;
      for (int64_t i = 0; i < n; ++i) {
        part[i] = evaluate(reachable, &row.z[i * L]);
        if (i >= train) {
          heldSq += row.target[i] * row.target[i];
          double rest = evaluate(beyond, &row.z[i * L]);
          beyondSq += rest * rest;
        }
      }
      auto relative = [&](double sq) {
        return heldSq > 0 ? std::sqrt(sq / heldSq) : std::sqrt(sq);
      };
      double best = relative(beyondSq);
      // The same over the distribution: the monomials are orthonormal, so
      // the unreachable part's share is that of its coefficients. Samples
      // of a many-input monomial rarely show it (docs/tasks.md, "What the
      // columns say"), so `best` can be far below this.
      auto coeffSq = [](const std::vector<Monomial> &ms) {
        double sq = 0;
        for (const Monomial &m : ms)
          sq += m.coeff * m.coeff;
        return sq;
      };
      double totalSq = coeffSq(row.poly);
      double bestDist = totalSq > 0 ? std::sqrt(coeffSq(beyond) / totalSq) : 0;
      // The construction computes the reachable part exactly...
      double partMax = heldOutError(A, part, n, cols, train).first;
      double partScale = maxAbs(part);
      double relPart = partScale > 0 ? partMax / partScale : partMax;
      // ...and a readout fitted to the whole target scores near `best`.
      double laRel =
          relative(heldOutError(A, row.target, n, cols, train).second);
      report.addRow({std::to_string(d),
                     llvm::formatv("linear attention, K = {0} (reach {1})", K,
                                   linearAttentionReach(K))
                         .str(),
                     formatDouble(relPart, 3), formatDouble(laRel, 3),
                     formatDouble(best, 3), formatDouble(bestDist, 3),
                     "<= 1e-5"},
                    relPart <= 1e-5);
      line += llvm::formatv(" la{0}_rel_rms={1:e3} la{0}_best={2:e3} "
                            "la{0}_best_dist={3:e3} la{0}_max_err={4:e3}",
                            K, laRel, best, bestDist, relPart)
                  .str();
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
          "layer, vs the best fit of K linear-attention layers",
          {{"seq-len", "16", "inputs per example L"},
           {"degree", "1,2,3,4,6,9,12,16", "degrees d <= L (one row each)"},
           {"layers", "1,2,3,4", "linear-attention depths K"},
           {"terms", "4", "monomials per target"},
           {"examples", "2048", "examples (half fit the baseline's readout)"},
           {"seed", "0", "generator seed"},
           {"inputs", "uniform",
            "x uniform in [-1, 1], or signs: +-1 (each monomial +-1 on every "
            "example)"},
           {"batch", "0",
            "examples per call of the linear-attention stack (0: as many "
            "as keep its activations near 32 MB)"}},
          runPolynomial};
}
