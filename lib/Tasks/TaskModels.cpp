//===- TaskModels.cpp - fixed-weight models of the tasks ------------------===//

#include "TaskModels.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cstring>
#include <optional>

using namespace mlir::ssm;
using namespace mlir::ssm::tasks;

MixerWeights::MixerWeights(const MambaConfig &cfg)
    : cfg(cfg), specs(mambaLayerWeights(cfg, /*withNorm=*/false)) {
  for (const WeightSpec &w : specs) {
    Array a(DType::F32, w.argShape);
    std::memset(a.data(), 0, a.byteSize());
    arrays.try_emplace(w.name, std::move(a));
  }
}

Array &MixerWeights::weight(llvm::StringRef name) {
  if (last && name == lastName)
    return *last;
  auto it = arrays.find(("mixer." + name).str());
  if (it == arrays.end())
    llvm::report_fatal_error("task model: no weight mixer." + name);
  lastName = name.str();
  last = &it->second;
  return *last;
}

float &MixerWeights::at(llvm::StringRef name, int64_t i, int64_t j) {
  Array &a = weight(name);
  int64_t cols = a.rank() == 2 ? a.shape()[1] : 1;
  if (i < 0 || i >= a.shape()[0] || j < 0 || j >= cols)
    llvm::report_fatal_error("task model: index out of range in mixer." + name);
  return a.as<float>()[i * cols + j];
}

void MixerWeights::fill(llvm::StringRef name, float value) {
  Array &a = weight(name);
  std::fill_n(a.as<float>(), a.numElements(), value);
}

size_t MixerWeights::aLogIndex() const {
  for (auto [i, w] : llvm::enumerate(specs))
    if (w.name == "mixer.A_log")
      return i;
  llvm::report_fatal_error("task model: this mixer has no A_log");
}

llvm::SmallVector<const Array *> MixerWeights::ordered() const {
  llvm::SmallVector<const Array *> out;
  for (const WeightSpec &w : specs)
    out.push_back(&arrays.find(w.name)->second);
  return out;
}

llvm::Expected<std::unique_ptr<JitProgram>> mlir::ssm::tasks::compileProgram(
    llvm::function_ref<llvm::Expected<OwningOpRef<ModuleOp>>(MLIRContext &)>
        build,
    const JitOptions &options) {
  std::unique_ptr<MLIRContext> ctx = createRunnerContext();
  auto module = build(*ctx);
  if (!module)
    return module.takeError();
  return JitProgram::compile(**module, options);
}

/// The first column of `aLog` (E, N) when every row is one value, else
/// std::nullopt.
static std::optional<Array> uniformColumn(const Array &aLog) {
  const int64_t rows = aLog.shape()[0], cols = aLog.shape()[1];
  const float *a = aLog.as<float>();
  Array column(DType::F32, {rows});
  for (int64_t i = 0; i < rows; ++i) {
    const float *row = a + i * cols;
    // Bitwise, so that -0.0 and 0.0 or two NaNs are not taken as one value.
    if (std::any_of(row + 1, row + cols, [&](const float &v) {
          return std::memcmp(&v, row, sizeof(float)) != 0;
        }))
      return std::nullopt;
    column.as<float>()[i] = row[0];
  }
  return column;
}

llvm::Error MixerStack::compileProgram() {
  llvm::SmallVector<MambaConfig> configs;
  uniformALog.clear();
  for (const MixerWeights &w : layers) {
    configs.push_back(w.config());
    uniformALog.push_back(
        w.config().mixer == MixerKind::Mamba1 &&
        uniformColumn(*w.ordered()[w.aLogIndex()]).has_value());
  }
  auto compiled = tasks::compileProgram(
      [&](MLIRContext &ctx) {
        return buildMambaStackModule(ctx, configs, residual,
                                     ShapedType::kDynamic, ShapedType::kDynamic,
                                     uniformALog);
      },
      options);
  if (!compiled)
    return compiled.takeError();
  program = std::move(*compiled);
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<MixerStack>>
MixerStack::compile(std::vector<MixerWeights> layers, bool residual,
                    const JitOptions &options) {
  auto stack = std::unique_ptr<MixerStack>(new MixerStack());
  stack->layers = std::move(layers);
  stack->residual = residual;
  stack->options = options;
  if (llvm::Error err = stack->compileProgram())
    return std::move(err);
  return stack;
}

llvm::Expected<Array> MixerStack::run(const Array &x) {
  // A layer compiled to take A_log per channel whose A_log now varies along
  // the states (changed through weights()) needs a program that takes it
  // whole: compile again.
  aLogColumns.clear();
  aLogColumns.reserve(layers.size());
  for (auto [l, w] : llvm::enumerate(layers)) {
    if (!uniformALog[l])
      continue;
    std::optional<Array> column = uniformColumn(*w.ordered()[w.aLogIndex()]);
    if (!column) {
      if (llvm::Error err = compileProgram())
        return std::move(err);
      return run(x);
    }
    aLogColumns.push_back(std::move(*column));
  }
  llvm::SmallVector<const Array *> args = {&x};
  size_t nextColumn = 0;
  for (auto [l, w] : llvm::enumerate(layers)) {
    llvm::SmallVector<const Array *> ordered = w.ordered();
    if (uniformALog[l])
      ordered[w.aLogIndex()] = &aLogColumns[nextColumn++];
    llvm::append_range(args, ordered);
  }
  auto results = program->call(kMambaStackFunc, args);
  if (!results)
    return results.takeError();
  return std::move(results->front());
}

int64_t MixerStack::maxInner() const {
  int64_t e = 0;
  for (const MixerWeights &w : layers)
    e = std::max(e, w.config().dInner);
  return e;
}

MambaConfig mlir::ssm::tasks::taskMixerConfig(int64_t D, int64_t E, int64_t N,
                                              int64_t K, bool bias,
                                              MixerKind mixer) {
  MambaConfig cfg;
  cfg.mixer = mixer;
  cfg.nHeads = 1;
  cfg.headDim = E;
  cfg.dModel = D;
  cfg.nLayer = 1;
  cfg.dInner = E;
  cfg.dState = N;
  cfg.dConv = K;
  cfg.dtRank = 1;
  cfg.vocabSize = D;
  cfg.useBias = bias;
  cfg.useConvBias = true;
  return cfg;
}

llvm::Error mlir::ssm::tasks::runExamples(
    MixerStack &stack, int64_t examples, int64_t length,
    llvm::function_ref<void(int64_t, int64_t *)> generate,
    llvm::function_ref<void(int64_t, const float *)> score,
    const Progress &progress, llvm::StringRef label, int64_t maxBytes) {
  int64_t width = stack.width();
  // Per token: the one-hot input, the output and the block's activations
  // (x and z, the conv's and the scan's outputs).
  int64_t tokenBytes = 4 * (2 * width + 4 * stack.maxInner());
  int64_t perBatch =
      std::clamp<int64_t>(maxBytes / (tokenBytes * length), 1, examples);
  std::vector<int64_t> ids;
  for (int64_t first = 0; first < examples; first += perBatch) {
    int64_t n = std::min(perBatch, examples - first);
    ids.assign(n * length, 0);
    for (int64_t i = 0; i < n; ++i)
      generate(first + i, ids.data() + i * length);
    auto out = stack.run(oneHot(ids, n, length, width));
    if (!out)
      return out.takeError();
    for (int64_t i = 0; i < n; ++i)
      score(first + i, out->as<float>() + i * length * width);
    progress((label + ": " + llvm::Twine(first + n) + "/" +
              llvm::Twine(examples) + " examples")
                 .str());
  }
  return llvm::Error::success();
}

llvm::Expected<int64_t> mlir::ssm::tasks::lastStepRecall(
    MixerStack &stack, int64_t examples, int64_t length, int64_t vocab,
    llvm::function_ref<int64_t(int64_t, int64_t *)> generate,
    const Progress &progress, llvm::StringRef label) {
  std::vector<int64_t> targets(examples);
  int64_t correct = 0, width = stack.width();
  if (llvm::Error err = runExamples(
          stack, examples, length,
          [&](int64_t i, int64_t *ids) { targets[i] = generate(i, ids); },
          [&](int64_t i, const float *out) {
            correct += argmax(out + (length - 1) * width, vocab) == targets[i];
          },
          progress, label))
    return std::move(err);
  return correct;
}

void mlir::ssm::tasks::addExactRecallRow(TaskReport &report,
                                         std::vector<std::string> cells,
                                         int64_t correct, int64_t total) {
  double acc = static_cast<double>(correct) / total;
  cells.push_back(formatDouble(acc, 6));
  cells.push_back("1.0");
  report.addRow(std::move(cells), correct == total);
  report.lines.push_back(llvm::formatv("accuracy={0:f6}", acc).str());
}

Array mlir::ssm::tasks::filled(llvm::ArrayRef<int64_t> shape, float value) {
  Array a(DType::F32, shape);
  std::fill_n(a.as<float>(), a.numElements(), value);
  return a;
}

Array mlir::ssm::tasks::oneHot(llvm::ArrayRef<int64_t> tokens, int64_t batch,
                               int64_t length, int64_t width) {
  Array x(DType::F32, {batch, length, width});
  std::memset(x.data(), 0, x.byteSize());
  float *p = x.as<float>();
  for (int64_t i = 0; i < batch * length; ++i)
    p[i * width + tokens[i]] = 1.0f;
  return x;
}

int64_t mlir::ssm::tasks::argmax(const float *p, int64_t n) {
  const float *nan = std::find_if(p, p + n, [](float v) { return v != v; });
  return (nan != p + n ? nan : std::max_element(p, p + n)) - p;
}

std::string mlir::ssm::tasks::formatDouble(double v, int digits) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%.*g", digits, v);
  return s;
}
