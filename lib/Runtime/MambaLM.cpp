//===- MambaLM.cpp - Mamba language models from checkpoints ---------------===//

#include "ssm/Runtime/MambaLM.h"
#include "ssm/Runtime/Programs.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/DenseSet.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

using namespace mlir::ssm;

MambaLM::~MambaLM() = default;

/// Calls `fn` with the checkpoint name of each of the model's matrices
/// (`embedding` is the embedding's spelling in this checkpoint) until it
/// returns false. Lazily: config.json's layer count is not checked against
/// the tensors yet (load() does that, tensor by tensor), and a list of every
/// name for num_hidden_layers = 10^12 hung the loader.
static void
forEachMatrixName(const Checkpoint &ckpt, const std::string &embedding,
                  llvm::function_ref<bool(const std::string &)> fn) {
  if (!fn(embedding))
    return;
  if (ckpt.has("lm_head.weight") && !fn("lm_head.weight"))
    return;
  const MambaConfig &cfg = ckpt.config();
  for (int64_t l = 0; l < cfg.nLayer; ++l)
    for (const WeightSpec &w : mambaLayerWeights(cfg))
      if (w.matrix &&
          !fn("backbone.layers." + std::to_string(l) + "." + w.name))
        return;
}

DType MambaLM::matrixDType(const Checkpoint &ckpt, const JitOptions &options,
                           WeightPrecision precision) {
  if (precision == WeightPrecision::Float32 || options.target != Target::CPU)
    return DType::F32;
  if (precision == WeightPrecision::Int8)
    return DType::I8;
  auto embedding =
      ckpt.firstOf({"backbone.embeddings.weight", "backbone.embedding.weight"});
  if (!embedding) {
    // load() reports the missing tensor.
    llvm::consumeError(embedding.takeError());
    return DType::F32;
  }
  // One type for all of them (the layers share one function): a checkpoint
  // that mixes dtypes is widened. A missing tensor is load()'s error.
  llvm::StringRef first;
  bool mixed = false;
  forEachMatrixName(ckpt, *embedding, [&](const std::string &name) {
    llvm::StringRef dtype = ckpt.dtype(name);
    if (dtype.empty())
      return false; // load() reports the missing tensor
    if (first.empty())
      first = dtype;
    mixed = dtype != first;
    return !mixed;
  });
  if (mixed)
    return DType::F32;
  return first == "BF16"  ? DType::BF16
         : first == "F16" ? DType::F16
                          : DType::F32;
}

llvm::Expected<std::unique_ptr<MambaLM>>
MambaLM::load(llvm::StringRef dir, const JitOptions &options,
              WeightPrecision precision) {
  auto ckpt = Checkpoint::open(dir);
  if (!ckpt)
    return ckpt.takeError();
  std::unique_ptr<MambaLM> lm(new MambaLM());
  lm->ckpt = std::move(*ckpt);
  lm->options = options;
  lm->matrices = matrixDType(*lm->ckpt, options, precision);
  const MambaConfig &cfg = lm->ckpt->config();
  int64_t V = cfg.vocabSize, D = cfg.dModel;

  // The CPU's vector code reads the weights: whole cache lines (a copy of
  // each weight the file does not align so, 1.5x faster decoding of
  // Mamba-130m; docs/performance.md). Device-resident weights are uploaded
  // from wherever they are.
  lm->deviceWeights = usesDeviceWeights(options);
  const size_t alignment =
      lm->deviceWeights ? sizeof(float) : Checkpoint::kVectorAlignment;
  const bool quantize = precision == WeightPrecision::Int8;
  const bool keep16 = !quantize && lm->matrices != DType::F32;
  // Int8: each matrix's scales, in the order of its matrices (appended to
  // the weights after the layers').
  llvm::SmallVector<Array> scales;
  auto take = [&](const std::string &name, llvm::ArrayRef<int64_t> shape,
                  llvm::ArrayRef<int64_t> argShape,
                  bool matrix = false) -> llvm::Error {
    // A matrix to quantize is read as stored too: quantizeRows widens each
    // row as it goes, without a float32 copy of the matrix.
    auto t = lm->ckpt->tensor(name, shape, alignment,
                              matrix && (keep16 || quantize));
    if (!t)
      return t.takeError();
    t->reshape(argShape);
    if (matrix && quantize) {
      auto q = quantizeRows(
          *t, (lm->ckpt->fileOf(name) + ": tensor '" + name + "'").str());
      if (!q)
        return q.takeError();
      if (lm->matrices == DType::I8) {
        lm->weights.push_back(std::move(q->first));
        scales.push_back(std::move(q->second));
        return llvm::Error::success();
      }
      // A GPU target: the quantized values, widened back to float32 (into
      // an array of their own: `t` may be the checkpoint's read-only map).
      Array wide(DType::F32, argShape);
      const int8_t *qv = q->first.as<int8_t>();
      const float *s = q->second.as<float>();
      float *w = wide.as<float>();
      for (int64_t n = 0, cols = argShape[1]; n < argShape[0]; ++n)
        for (int64_t k = 0; k < cols; ++k)
          w[n * cols + k] = qv[n * cols + k] * s[n];
      lm->weights.push_back(std::move(wide));
      return llvm::Error::success();
    }
    lm->weights.push_back(std::move(*t));
    return llvm::Error::success();
  };
  auto embName = lm->ckpt->firstOf(
      {"backbone.embeddings.weight", "backbone.embedding.weight"});
  if (!embName)
    return embName.takeError();
  if (auto e = take(*embName, {V, D}, {V, D}, /*matrix=*/true))
    return std::move(e);
  if (auto e = take("backbone.norm_f.weight", {D}, {D}))
    return std::move(e);
  // The LM head: its own tensor when the checkpoint has one (untied), else
  // the embedding (tied; checked against the config's claim).
  if (lm->ckpt->has("lm_head.weight")) {
    if (auto e = take("lm_head.weight", {V, D}, {V, D}, /*matrix=*/true))
      return std::move(e);
  } else {
    if (!cfg.tieEmbeddings)
      return llvm::createStringError(
          "%s: missing tensor 'lm_head.weight' (config.json says "
          "tie_word_embeddings is false)",
          lm->ckpt->weightsSource().str().c_str());
    // The embedding itself, not a second copy of it (and its scales).
    lm->weights.push_back(Array::view(lm->weights.front().dtype(), {V, D},
                                      lm->weights.front().data()));
    if (!scales.empty())
      scales.push_back(Array::view(DType::F32, {V}, scales.front().data()));
  }
  for (int64_t l = 0; l < cfg.nLayer; ++l) {
    std::string prefix = "backbone.layers." + std::to_string(l) + ".";
    // A layer with none of its tensors: config.json's count is wrong (or
    // the files incomplete), which "missing tensor" alone does not say.
    if (llvm::none_of(mambaLayerWeights(cfg), [&](const WeightSpec &w) {
          return lm->ckpt->has(prefix + w.name);
        }))
      return llvm::createStringError(
          "%s: config.json's num_hidden_layers is %lld, but there is no "
          "tensor of layer %lld ('%s*')",
          lm->ckpt->weightsSource().str().c_str(),
          static_cast<long long>(cfg.nLayer), static_cast<long long>(l),
          prefix.c_str());
    for (const WeightSpec &w : mambaLayerWeights(cfg))
      if (auto e =
              take(prefix + w.name, w.checkpointShape, w.argShape, w.matrix))
        return std::move(e);
  }
  for (Array &s : scales)
    lm->weights.push_back(std::move(s));
  for (const Array &w : lm->weights)
    lm->weightArgs.push_back(&w);
  lm->ctx = createRunnerContext();
  return lm;
}

size_t MambaLM::weightBytes() const {
  llvm::DenseSet<const void *> seen;
  size_t bytes = 0;
  for (const Array &w : weights)
    if (seen.insert(w.data()).second)
      bytes += w.byteSize();
  return bytes;
}

/// The shapes of a batch's stacked states: conv (layers, b, channels,
/// K-1) and ssm (layers, b, ssmStateShape()...).
static std::pair<llvm::SmallVector<int64_t>, llvm::SmallVector<int64_t>>
stateShapes(const MambaConfig &cfg, int64_t batch) {
  llvm::SmallVector<int64_t> conv = {cfg.nLayer, batch, cfg.convChannels(),
                                     cfg.dConv - 1},
                             ssm = {cfg.nLayer, batch};
  llvm::append_range(ssm, cfg.ssmStateShape());
  return {conv, ssm};
}

MambaLM::State MambaLM::initialState(int64_t batch) const {
  auto [conv, ssm] = stateShapes(config(), batch);
  State s{Array(DType::F32, conv), Array(DType::F32, ssm)};
  std::memset(s.conv.data(), 0, s.conv.byteSize());
  std::memset(s.ssm.data(), 0, s.ssm.byteSize());
  return s;
}

llvm::Error MambaLM::checkState(const State &state, int64_t batch) const {
  auto [conv, ssm] = stateShapes(config(), batch);
  const bool mamba2 = config().mixer == MixerKind::Mamba2;
  auto check = [&](const Array &a, llvm::ArrayRef<int64_t> want,
                   const char *what, const char *dims) -> llvm::Error {
    if (a.dtype() == DType::F32 && a.shape() == want)
      return llvm::Error::success();
    return llvm::createStringError(
        "the %s state is a %s array of shape %s; this model and batch need "
        "float32 %s (%s)",
        what, dtypeName(a.dtype()).data(), shapeString(a.shape()).c_str(),
        shapeString(want).c_str(), dims);
  };
  if (auto e = check(state.conv, conv, "conv",
                     mamba2 ? "layers, batch, d_inner + 2 * n_groups * "
                              "d_state, d_conv - 1"
                            : "layers, batch, d_inner, d_conv - 1"))
    return e;
  return check(state.ssm, ssm, "ssm",
               mamba2 ? "layers, batch, heads, head_dim, d_state"
                      : "layers, batch, d_inner, d_state");
}

int64_t MambaLM::programsFromCache() const {
  return llvm::count_if(programs, [](const auto &entry) {
    return entry.second->loadedFromCache();
  });
}

llvm::Expected<JitProgram *> MambaLM::program(int64_t batch, LMLogits logits) {
  auto it = programs.find({batch, logits});
  if (it != programs.end())
    return it->second.get();
  auto module =
      buildMambaLMModule(*ctx, config(), batch, mlir::ShapedType::kDynamic,
                         logits, deviceWeights, matrices);
  if (!module)
    return module.takeError();
  auto compiled = JitProgram::compile(**module, options);
  if (!compiled)
    return compiled.takeError();
  if (deviceWeights && uploads.empty()) {
    // The program loaded the target's runtime; a weight the checkpoint
    // holds twice (a tied head) is uploaded once. Nothing is kept unless
    // every upload succeeds: a device-resident program is never called
    // with host weights.
    std::vector<DeviceBuffer> device;
    device.reserve(weights.size());
    llvm::SmallVector<size_t> which;
    llvm::DenseMap<const void *, size_t> uploaded;
    for (const Array &w : weights) {
      auto [it, fresh] = uploaded.try_emplace(w.data(), device.size());
      if (fresh) {
        auto copy = DeviceBuffer::upload(options.target, w);
        if (!copy)
          return copy.takeError();
        device.push_back(std::move(*copy));
      }
      which.push_back(it->second);
    }
    uploads = std::move(device);
    for (auto [i, u] : llvm::enumerate(which))
      weightArgs[i] = &uploads[u].array();
  }
  JitProgram *p = compiled->get();
  programs[{batch, logits}] = std::move(*compiled);
  return p;
}

namespace {
/// `tokens` as a (batch, length) int64 array, checked: integers, at least
/// one per sequence, each in the vocabulary [0, vocab).
llvm::Expected<Array> checkedTokens(const Array &tokensIn, int64_t vocab) {
  if (tokensIn.rank() != 2 || isFloat(tokensIn.dtype()))
    return llvm::createStringError(
        "tokens must be a (batch, length) array of integers, got %s %s",
        dtypeName(tokensIn.dtype()).data(),
        shapeString(tokensIn.shape()).c_str());
  auto tokens = tokensIn.convertTo(DType::I64);
  if (!tokens)
    return tokens.takeError();
  const int64_t batch = tokens->shape()[0], length = tokens->shape()[1];
  if (batch < 1 || length < 1)
    return llvm::createStringError(
        "tokens must hold at least one token per sequence, got shape %s",
        shapeString(tokens->shape()).c_str());
  const int64_t *ids = tokens->as<int64_t>();
  for (int64_t i = 0; i < batch * length; ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      return llvm::createStringError(
          "token %lld at (%lld, %lld) is outside the vocabulary [0, %lld)",
          static_cast<long long>(ids[i]), static_cast<long long>(i / length),
          static_cast<long long>(i % length), static_cast<long long>(vocab));
  return tokens;
}
} // namespace

llvm::Expected<Array> MambaLM::forward(const Array &tokensIn, State &state,
                                       double *ms, LMLogits logits) {
  auto tokens = checkedTokens(tokensIn, config().vocabSize);
  if (!tokens)
    return tokens.takeError();
  const int64_t batch = tokens->shape()[0];
  if (auto e = checkState(state, batch))
    return std::move(e);
  // The program takes the two states as llvm.noalias arguments.
  auto *conv = static_cast<const char *>(state.conv.data());
  auto *ssm = static_cast<const char *>(state.ssm.data());
  if (conv < ssm + state.ssm.byteSize() && ssm < conv + state.conv.byteSize())
    return llvm::createStringError(
        "the conv and ssm states share memory; they must be two arrays");

  auto prog = program(batch, logits);
  if (!prog)
    return prog.takeError();
  // `weights` holds the embedding, norm_f and the LM head, then the layers.
  llvm::SmallVector<const Array *> args(kLayerWeightsArg);
  args[kTokensArg] = &*tokens;
  args[kEmbeddingArg] = weightArgs[0];
  args[kNormFArg] = weightArgs[1];
  args[kLMHeadArg] = weightArgs[2];
  args[kConvStatesArg] = &state.conv;
  args[kSsmStatesArg] = &state.ssm;
  for (size_t i = 3; i < weights.size(); ++i)
    args.push_back(weightArgs[i]);
  // The program updates the states in place and returns them: no copy of
  // them back (2 x 18.9 MB per token for a Mamba-2 of 24 layers).
  auto results =
      (*prog)->call(kMambaLMFunc, args, ms, JitProgram::InPlaceResults::View);
  if (!results)
    return results.takeError();
  for (auto [was, now] : {std::pair{&state.conv, &(*results)[1]},
                          std::pair{&state.ssm, &(*results)[2]}})
    if (now->data() != was->data())
      *was = std::move(*now);
  return std::move((*results)[0]);
}

llvm::Expected<Array> MambaLM::score(const Array &tokensIn, State &state,
                                     int64_t chunk, double *ms) {
  if (chunk < 0)
    return llvm::createStringError("score: the chunk must be 0 (automatic) "
                                   "or a number of positions, got %lld",
                                   static_cast<long long>(chunk));
  // Every token is checked before the first call: a chunk's last position
  // reads the next chunk's first token.
  const int64_t V = config().vocabSize;
  auto tokens = checkedTokens(tokensIn, V);
  if (!tokens)
    return tokens.takeError();
  const int64_t batch = tokens->shape()[0], length = tokens->shape()[1];
  const int64_t *ids = tokens->as<int64_t>();
  Array out(DType::F64, {batch, length - 1});
  if (chunk == 0)
    chunk = std::max<int64_t>(
        1,
        kScoreChunkBytes / (batch * V * static_cast<int64_t>(sizeof(float))));
  double total = 0;
  for (int64_t c0 = 0; c0 < length; c0 += chunk) {
    const int64_t n = std::min(chunk, length - c0);
    Array part(DType::I64, {batch, n});
    for (int64_t b = 0; b < batch; ++b)
      std::copy_n(ids + b * length + c0, n, part.as<int64_t>() + b * n);
    double callMs = 0;
    // forward() checks the tokens and the state.
    auto logits = forward(part, state, &callMs, LMLogits::All);
    if (!logits)
      return logits.takeError();
    total += callMs;
    // The chunk's positions (b, t) with a next token, split over the
    // threads the program runs on: on the host this is serial code between
    // the calls, a quarter of a two-thread scoring when it ran on one.
    const int64_t scored = std::min(n, length - 1 - c0);
    auto logSoftmaxes = [&](int64_t from, int64_t to) {
      for (int64_t i = from; i < to; ++i) {
        const int64_t b = i / scored, t = c0 + i % scored;
        const float *row = logits->as<float>() + (b * n + (t - c0)) * V;
        out.as<double>()[b * (length - 1) + t] =
            logSoftmaxAt(row, V, ids[b * length + t + 1]);
      }
    };
    const int64_t positions = batch * scored;
    const int64_t workers =
        std::min<int64_t>(positions, resolveThreads(options));
    std::vector<std::thread> helpers;
    for (int64_t w = 1; w < workers; ++w)
      helpers.emplace_back(logSoftmaxes, positions * w / workers,
                           positions * (w + 1) / workers);
    logSoftmaxes(0, workers > 0 ? positions / workers : 0);
    for (std::thread &h : helpers)
      h.join();
  }
  if (ms)
    *ms = total;
  return out;
}

namespace {
/// Copies sequence `fromB` of the state stack `from` (layers, batch, ...)
/// to sequence `toB` of `to`, a stack of the same layers and per-sequence
/// shape (float32).
void copySequence(const Array &from, int64_t fromB, Array &to, int64_t toB) {
  const int64_t layers = from.shape()[0], fromBatch = from.shape()[1],
                toBatch = to.shape()[1];
  const int64_t per = from.numElements() / (layers * fromBatch);
  for (int64_t l = 0; l < layers; ++l)
    std::memcpy(to.as<float>() + (l * toBatch + toB) * per,
                from.as<float>() + (l * fromBatch + fromB) * per,
                per * sizeof(float));
}

void copySequence(const MambaLM::State &from, int64_t fromB, MambaLM::State &to,
                  int64_t toB) {
  copySequence(from.conv, fromB, to.conv, toB);
  copySequence(from.ssm, fromB, to.ssm, toB);
}
} // namespace

llvm::Expected<Array>
MambaLM::prefill(llvm::ArrayRef<llvm::ArrayRef<int64_t>> prompts, State &state,
                 double *ms) {
  const int64_t batch = prompts.size();
  if (batch == 0)
    return llvm::createStringError("prefill: no prompts given");
  // Checked before any call, so that an error leaves `state` as it was.
  const int64_t V = config().vocabSize;
  for (auto [i, p] : llvm::enumerate(prompts)) {
    if (p.empty())
      return llvm::createStringError(
          "prompt %zu is empty: each sequence needs at least one token", i);
    for (auto [t, id] : llvm::enumerate(p))
      if (id < 0 || id >= V)
        return llvm::createStringError(
            "token %lld at (%zu, %zu) is outside the vocabulary [0, %lld)",
            static_cast<long long>(id), i, t, static_cast<long long>(V));
  }
  if (auto e = checkState(state, batch))
    return std::move(e);
  const size_t length = prompts.front().size();
  if (llvm::all_of(prompts, [&](auto p) { return p.size() == length; })) {
    Array tokens(DType::I64, {batch, static_cast<int64_t>(length)});
    for (auto [i, p] : llvm::enumerate(prompts))
      std::copy(p.begin(), p.end(), tokens.as<int64_t>() + i * length);
    return forward(tokens, state, ms, LMLogits::Last);
  }
  // Different lengths: each prompt a call of the batch-1 program, on a copy
  // of its part of the state. One program for any mix of lengths; batching
  // prompts of equal length would compile a program per group size (3-4 s
  // each for Mamba-130m) to save at most 1.6x on short prompts
  // (docs/models.md, "Prompts of different lengths").
  Array logits(DType::F32, {batch, 1, V});
  State one = initialState(1);
  double total = 0;
  for (auto [i, p] : llvm::enumerate(prompts)) {
    Array tokens(DType::I64, {1, static_cast<int64_t>(p.size())});
    std::copy(p.begin(), p.end(), tokens.as<int64_t>());
    copySequence(state, i, one, 0);
    double callMs = 0;
    auto out = forward(tokens, one, &callMs, LMLogits::Last);
    if (!out)
      return llvm::createStringError("prompt %zu: %s", i,
                                     llvm::toString(out.takeError()).c_str());
    total += callMs;
    std::memcpy(logits.as<float>() + i * V, out->as<float>(),
                V * sizeof(float));
    copySequence(one, 0, state, i);
  }
  if (ms)
    *ms = total;
  return logits;
}

llvm::Expected<MambaLM::Generated>
MambaLM::decode(const Array &logits, int64_t steps, State &state,
                const SamplingOptions &sampling,
                llvm::ArrayRef<int64_t> stopTokens, StepCallback onStep,
                double *ms, int64_t *calls) {
  if (llvm::Error e = sampling.validate())
    return e;
  if (logits.rank() != 3 || logits.shape()[2] != config().vocabSize)
    return llvm::createStringError(
        "decode: expected logits (batch, length, %lld), got %s",
        static_cast<long long>(config().vocabSize),
        shapeString(logits.shape()).c_str());
  int64_t batch = logits.shape()[0], V = config().vocabSize;
  for (int64_t t : stopTokens)
    if (t < 0 || t >= V)
      return llvm::createStringError(
          "stop token %lld is outside the vocabulary [0, %lld)",
          static_cast<long long>(t), static_cast<long long>(V));
  if (auto e = checkState(state, batch))
    return std::move(e);
  Array out(DType::I64, {batch, steps});
  Array next(DType::I64, {batch, 1});
  Array stepLogits;
  const Array *last = &logits;
  // At L = 1 both programs give the same logits: no second compile.
  const LMLogits stepProgram = programs.count({batch, LMLogits::All}) &&
                                       !programs.count({batch, LMLogits::Last})
                                   ? LMLogits::All
                                   : LMLogits::Last;
  TokenSampler sampler(sampling);
  // A sequence that stopped still takes a row of every later call (the
  // program's batch is fixed); its state before the stop token is kept
  // aside and put back at the end.
  llvm::SmallVector<int64_t> lengths(batch, 0);
  std::optional<State> stopped;
  int64_t running = batch, n = 0, made = 0;
  // `ms` is the wall time of the loop but `onStep`: every token's pick, call
  // and result's handling, which a user waits for (the calls alone would leave
  // out any copy of the states back).
  auto start = std::chrono::steady_clock::now();
  double callbacksMs = 0;
  for (int64_t s = 0; s < steps && running; ++s) {
    int64_t L = last->shape()[1];
    for (int64_t b = 0; b < batch; ++b) {
      int64_t token;
      if (lengths[b]) {
        token = out.as<int64_t>()[b * steps + s - 1];
      } else {
        const float *row = last->as<float>() + (b * L + L - 1) * V;
        // NaN logits leave nothing to pick from (greedy took token 0, as a
        // sampler that skips NaN does when every logit is one): an error
        // rather than tokens that mean nothing.
        if (std::any_of(row, row + V, [](float v) { return std::isnan(v); }))
          return llvm::createStringError(
              "cannot pick token %lld of sequence %lld: its logits are NaN "
              "(the model's outputs are not numbers: non-finite weights, or "
              "an overflow)",
              static_cast<long long>(s + 1), static_cast<long long>(b));
        token = sampler.next(row, V);
        if (llvm::is_contained(stopTokens, token)) {
          lengths[b] = s + 1;
          --running;
          if (!stopped)
            stopped = initialState(batch);
          copySequence(state, b, *stopped, b);
        }
      }
      out.as<int64_t>()[b * steps + s] = token;
      next.as<int64_t>()[b] = token;
    }
    n = s + 1;
    if (onStep) {
      auto before = std::chrono::steady_clock::now();
      bool end = onStep(s, llvm::ArrayRef(next.as<int64_t>(), batch));
      callbacksMs += std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - before)
                         .count();
      if (end)
        break;
    }
    if (n < steps && running) {
      auto step = forward(next, state, nullptr, stepProgram);
      if (!step)
        return step.takeError();
      ++made;
      stepLogits = std::move(*step);
      last = &stepLogits;
    }
  }
  for (int64_t b = 0; b < batch; ++b) {
    if (!lengths[b])
      lengths[b] = n;
    else if (stopped)
      copySequence(*stopped, b, state, b);
  }
  if (ms)
    *ms = std::chrono::duration<double, std::milli>(
              std::chrono::steady_clock::now() - start)
              .count() -
          callbacksMs;
  if (calls)
    *calls = made;
  // The first n columns of `out`.
  Generated result{Array(DType::I64, {batch, n}), std::move(lengths)};
  for (int64_t b = 0; b < batch; ++b)
    std::copy_n(out.as<int64_t>() + b * steps, n,
                result.tokens.as<int64_t>() + b * n);
  return result;
}
