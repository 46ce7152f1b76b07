//===- Checkpoint.cpp - Mamba checkpoints in Hugging Face layout ----------===//

#include "ssm/Runtime/Checkpoint.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

using namespace mlir::ssm;
using llvm::StringRef;

namespace {

size_t dtypeBytes(StringRef dtype) {
  if (dtype == "F32")
    return 4;
  if (dtype == "F16" || dtype == "BF16")
    return 2;
  return 0;
}

std::string join(llvm::ArrayRef<std::string> names) {
  std::string s;
  for (const std::string &n : names)
    s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}

/// The non-null values of a field spelled `a` or `b` (b may be empty).
llvm::SmallVector<std::pair<StringRef, const llvm::json::Value *>, 2>
spellings(const llvm::json::Object &obj, StringRef a, StringRef b) {
  llvm::SmallVector<std::pair<StringRef, const llvm::json::Value *>, 2> found;
  for (StringRef key : {a, b})
    if (const llvm::json::Value *v = key.empty() ? nullptr : obj.get(key);
        v && v->kind() != llvm::json::Value::Null)
      found.push_back({key, v});
  return found;
}

/// A field spelled `a` or `b`, read with `get` (which fails with `what`);
/// when both spellings are present they must agree.
template <typename T, typename Get>
llvm::Expected<std::optional<T>> field(const llvm::json::Object &obj,
                                       StringRef path, StringRef a, StringRef b,
                                       Get get, const char *what) {
  std::optional<T> result;
  StringRef from;
  const llvm::json::Value *fromValue = nullptr;
  for (auto [key, v] : spellings(obj, a, b)) {
    std::optional<T> value = get(*v);
    if (!value)
      return fileError(path, "field '" + key + "' must be " + what);
    if (result && *result != *value)
      return fileError(path, llvm::formatv("fields '{0}' ({1}) and '{2}' ({3}) "
                                      "disagree",
                                      from, *fromValue, key, *v)
                            .str());
    result = value;
    from = key;
    fromValue = v;
  }
  return result;
}

/// A positive integer field spelled `a` or `b`.
llvm::Expected<std::optional<int64_t>>
intField(const llvm::json::Object &obj, StringRef path, StringRef a,
         StringRef b = {}) {
  return field<int64_t>(
      obj, path, a, b,
      [](const llvm::json::Value &v) -> std::optional<int64_t> {
        std::optional<int64_t> i = v.getAsInteger();
        return i && *i > 0 ? i : std::nullopt;
      },
      "a positive integer");
}

llvm::Expected<std::optional<bool>> boolField(const llvm::json::Object &obj,
                                              StringRef path, StringRef a,
                                              StringRef b = {}) {
  return field<bool>(
      obj, path, a, b,
      [](const llvm::json::Value &v) { return v.getAsBoolean(); },
      "true or false");
}

} // namespace

/// `text` with the tokens Infinity, -Infinity and NaN outside strings made
/// standard JSON: Python's json module writes them (transformers'
/// Mamba2Config has time_step_limit = (0.0, inf)) and JSON parsers,
/// llvm::json's included, reject them. Infinity becomes 1e999, which parses
/// as an infinite double, and NaN becomes null.
static std::string standardJson(StringRef text) {
  std::string out;
  out.reserve(text.size());
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      out += c;
      if (c == '\\' && i + 1 < text.size())
        out += text[++i];
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"')
      inString = true;
    if (text.substr(i).starts_with("Infinity")) {
      out += "1e999";
      i += strlen("Infinity") - 1;
    } else if (text.substr(i).starts_with("NaN")) {
      out += "null";
      i += strlen("NaN") - 1;
    } else {
      out += c;
    }
  }
  return out;
}

llvm::Expected<MambaConfig> mlir::ssm::parseMambaConfig(StringRef text,
                                                        StringRef path) {
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(standardJson(text));
  if (!json)
    return fileError(path, "not valid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *obj = json->getAsObject();
  if (!obj)
    return fileError(path, "expected a JSON object");

  MambaConfig cfg;
  // The layer kind: transformers' model_type, mamba_ssm's ssm_cfg.layer.
  // Other model types (e.g. falcon_mamba, whose mixer adds norms) are
  // refused by name rather than misread.
  const llvm::json::Object *ssmCfg = obj->getObject("ssm_cfg");
  // 1 or 2 from the string field `key` of `o` naming Mamba-1 `one` or
  // Mamba-2 `two`; nullopt when the field is absent.
  auto kind = [&](const llvm::json::Object *o, StringRef key, StringRef one,
                  StringRef two) -> llvm::Expected<std::optional<int>> {
    std::optional<StringRef> value = o ? o->getString(key) : std::nullopt;
    if (!value)
      return std::nullopt;
    if (*value == one || *value == two)
      return *value == one ? 1 : 2;
    return fileError(path, (o == obj ? "" : "ssm_cfg.") + key + " is '" +
                               *value + "'; only '" + one + "' and '" + two +
                               "' are supported");
  };
  auto typeKind = kind(obj, "model_type", "mamba", "mamba2");
  if (!typeKind)
    return typeKind.takeError();
  auto layerKind = kind(ssmCfg, "layer", "Mamba1", "Mamba2");
  if (!layerKind)
    return layerKind.takeError();
  std::optional<int> fromType = *typeKind, fromLayer = *layerKind;
  if (fromType && fromLayer && *fromType != *fromLayer)
    return fileError(path, llvm::formatv("model_type (Mamba-{0}) and "
                                         "ssm_cfg.layer (Mamba{1}) disagree",
                                         *fromType, *fromLayer)
                               .str());
  const bool mamba2 = fromType ? *fromType == 2 : fromLayer.value_or(1) == 2;
  cfg.mixer = mamba2 ? MixerKind::Mamba2 : MixerKind::Mamba1;

  // Variants this runner cannot run, refused by name rather than misread.
  if (std::optional<bool> rms = obj->getBoolean("rms_norm"); rms && !*rms)
    return fileError(path, "rms_norm is false; only RMSNorm models are supported");
  if (std::optional<int64_t> mlp = obj->getInteger("d_intermediate"); mlp && *mlp)
    return fileError(path, "d_intermediate is " + llvm::Twine(*mlp) +
                               "; models with MLP blocks are not supported");
  if (const llvm::json::Array *attn = obj->getArray("attn_layer_idx");
      attn && !attn->empty())
    return fileError(path, "attn_layer_idx is not empty; models with "
                           "attention layers are not supported");

  // Sets `slot` from the field when present; `required` fields must be.
  auto read = [&](int64_t &slot, StringRef a, StringRef b,
                  bool required) -> llvm::Error {
    auto v = intField(*obj, path, a, b);
    if (!v)
      return v.takeError();
    if (*v)
      slot = **v;
    else if (required)
      return fileError(path, "missing field '" + a +
                            (b.empty() ? llvm::Twine("'")
                                       : "' (or '" + b + "')"));
    return llvm::Error::success();
  };
  auto need = [&](int64_t &slot, StringRef a, StringRef b) {
    return read(slot, a, b, /*required=*/true);
  };
  auto optional = [&](int64_t &slot, StringRef a, StringRef b) {
    return read(slot, a, b, /*required=*/false);
  };
  if (auto e = need(cfg.dModel, "hidden_size", "d_model"))
    return std::move(e);
  if (auto e = need(cfg.nLayer, "num_hidden_layers", "n_layer"))
    return std::move(e);
  if (auto e = need(cfg.vocabSize, "vocab_size", {}))
    return std::move(e);
  // The mixer's sizes: at the top level (either spelling) or, in
  // mamba_ssm's configs, in ssm_cfg; where both have one they must agree.
  // Defaults are those of each origin's Mamba-2 (transformers'
  // Mamba2Config, mamba_ssm's Mamba2) or Mamba-1.
  auto mixer = [&](int64_t &slot, StringRef a, StringRef b) -> llvm::Error {
    auto top = intField(*obj, path, a, b);
    if (!top)
      return top.takeError();
    std::optional<int64_t> inner;
    if (ssmCfg) {
      auto v = intField(*ssmCfg, path, b.empty() ? a : b);
      if (!v)
        return v.takeError();
      inner = *v;
    }
    if (*top && inner && **top != *inner)
      return fileError(path, llvm::formatv("fields '{0}' ({1}) and "
                                           "'ssm_cfg.{2}' ({3}) disagree",
                                           spellings(*obj, a, b).front().first,
                                           **top, b.empty() ? a : b, *inner)
                                 .str());
    if (*top)
      slot = **top;
    else if (inner)
      slot = *inner;
    return llvm::Error::success();
  };
  const bool transformers = fromType.has_value() && !fromLayer;
  if (mamba2) {
    cfg.dState = 128;
    cfg.headDim = 64;
    cfg.nGroups = transformers ? 8 : 1;
  }
  if (auto e = mixer(cfg.dState, "state_size", "d_state"))
    return std::move(e);
  if (auto e = mixer(cfg.dConv, "conv_kernel", "d_conv"))
    return std::move(e);

  int64_t expand = 2;
  if (auto e = mixer(expand, "expand", {}))
    return std::move(e);
  cfg.dInner = expand * cfg.dModel;
  if (auto e = optional(cfg.dInner, "intermediate_size", "d_inner"))
    return std::move(e);

  // time_step_rank (HF) or dt_rank (mamba_ssm): an integer or "auto".
  int64_t autoRank = (cfg.dModel + 15) / 16;
  auto rank = field<int64_t>(
      *obj, path, "time_step_rank", "dt_rank",
      [&](const llvm::json::Value &v) -> std::optional<int64_t> {
        if (v.getAsString() == std::optional<StringRef>("auto"))
          return autoRank;
        std::optional<int64_t> i = v.getAsInteger();
        return i && *i > 0 ? i : std::nullopt;
      },
      "a positive integer or \"auto\"");
  if (!rank)
    return rank.takeError();
  cfg.dtRank = rank->value_or(autoRank);

  // mamba_ssm pads the vocabulary of its embedding to a multiple.
  std::optional<int64_t> pad;
  if (auto v = intField(*obj, path, "pad_vocab_size_multiple"); !v)
    return v.takeError();
  else
    pad = *v;
  if (pad && cfg.vocabSize % *pad)
    cfg.vocabSize += *pad - cfg.vocabSize % *pad;

  auto eps = field<double>(
      *obj, path, "layer_norm_epsilon", "norm_epsilon",
      [](const llvm::json::Value &v) -> std::optional<double> {
        std::optional<double> d = v.getAsNumber();
        return d && *d > 0 && std::isfinite(*d) ? d : std::nullopt;
      },
      "a positive number");
  if (!eps)
    return eps.takeError();
  cfg.eps = eps->value_or(cfg.eps);

  auto flag = [&](bool &slot, StringRef a, StringRef b) -> llvm::Error {
    auto v = boolField(*obj, path, a, b);
    if (!v)
      return v.takeError();
    if (*v)
      slot = **v;
    return llvm::Error::success();
  };
  if (auto e = flag(cfg.useBias, "use_bias", {}))
    return std::move(e);
  if (auto e = flag(cfg.useConvBias, "use_conv_bias", "conv_bias"))
    return std::move(e);
  if (auto e = flag(cfg.tieEmbeddings, "tie_word_embeddings", "tie_embeddings"))
    return std::move(e);
  if (const llvm::json::Value *eos = obj->get("eos_token_id");
      eos && eos->kind() != llvm::json::Value::Null) {
    auto bad = [&] {
      return fileError(path, llvm::formatv("field 'eos_token_id' must be a "
                                           "token id in [0, {0}) or a list "
                                           "of them",
                                           cfg.vocabSize)
                                 .str());
    };
    llvm::SmallVector<const llvm::json::Value *> ids;
    if (const llvm::json::Array *list = eos->getAsArray())
      for (const llvm::json::Value &v : *list)
        ids.push_back(&v);
    else
      ids.push_back(eos);
    for (const llvm::json::Value *v : ids) {
      std::optional<int64_t> id = v->getAsInteger();
      if (!id || *id < 0 || *id >= cfg.vocabSize)
        return bad();
      cfg.eosTokenIds.push_back(*id);
    }
  }
  if (!mamba2)
    return cfg;

  // Mamba-2: heads, groups and the options of mamba_ssm's Mamba2 that
  // ssm.mamba2_block (semantics.md section 5) does not have.
  if (auto e = mixer(cfg.headDim, "head_dim", "headdim"))
    return std::move(e);
  if (auto e = mixer(cfg.nGroups, "n_groups", "ngroups"))
    return std::move(e);
  if (cfg.dInner % cfg.headDim)
    return fileError(path, llvm::formatv("the inner width {0} is not a "
                                         "multiple of head_dim {1}",
                                         cfg.dInner, cfg.headDim)
                               .str());
  cfg.nHeads = cfg.dInner / cfg.headDim;
  if (auto heads = intField(*obj, path, "num_heads"); !heads)
    return heads.takeError();
  else if (*heads && **heads != cfg.nHeads)
    return fileError(path, llvm::formatv("num_heads ({0}) * head_dim ({1}) "
                                         "must be the inner width {2} "
                                         "(expand * hidden_size)",
                                         **heads, cfg.headDim, cfg.dInner)
                               .str());
  if (ssmCfg) {
    auto innerFlag = [&](bool &slot, StringRef name) -> llvm::Error {
      auto v = boolField(*ssmCfg, path, name);
      if (!v)
        return v.takeError();
      if (*v)
        slot = **v;
      return llvm::Error::success();
    };
    if (auto e = innerFlag(cfg.useBias, "bias"))
      return std::move(e);
    if (auto e = innerFlag(cfg.useConvBias, "conv_bias"))
      return std::move(e);
    bool dPerChannel = false, gatedNorm = true;
    if (auto e = innerFlag(dPerChannel, "D_has_hdim"))
      return std::move(e);
    if (auto e = innerFlag(gatedNorm, "rmsnorm"))
      return std::move(e);
    if (dPerChannel)
      return fileError(path, "ssm_cfg.D_has_hdim is true; only one D per "
                             "head is supported");
    if (!gatedNorm)
      return fileError(path, "ssm_cfg.rmsnorm is false; only Mamba-2 with "
                             "the gated RMSNorm is supported");
  }
  for (const llvm::json::Object *o : {obj, ssmCfg})
    if (o)
      if (std::optional<bool> before = o->getBoolean("norm_before_gate");
          before && *before)
        return fileError(path, "norm_before_gate is true; only the gated "
                               "RMSNorm after the gate is supported");
  if (const llvm::json::Value *limit = obj->get("time_step_limit")) {
    const llvm::json::Array *pair = limit->getAsArray();
    std::optional<double> lo, hi;
    if (pair && pair->size() == 2) {
      lo = (*pair)[0].getAsNumber();
      hi = (*pair)[1].getAsNumber();
    }
    if (!lo || !hi)
      return fileError(path, "field 'time_step_limit' must be a pair of "
                             "numbers");
    if (*lo > 0 || !std::isinf(*hi)) {
      std::string text;
      llvm::raw_string_ostream(text)
          << "time_step_limit is [" << llvm::format("%g", *lo) << ", "
          << llvm::format("%g", *hi)
          << "]; only the unbounded step [0, Infinity] is supported";
      return fileError(path, text);
    }
  }
  if (cfg.useBias)
    return fileError(path, "use_bias is true; Mamba-2 projections with "
                           "biases are not supported");
  // Each group of B and C serves H / n_groups consecutive heads.
  if (cfg.nGroups < 1 || cfg.nHeads % cfg.nGroups != 0)
    return fileError(path, llvm::formatv("n_groups ({0}) must divide the "
                                         "number of heads {1}",
                                         cfg.nGroups, cfg.nHeads)
                               .str());
  return cfg;
}

llvm::Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::open(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fileError(path, "cannot open: " + buffer.getError().message());
  std::unique_ptr<SafeTensorsFile> file(new SafeTensorsFile());
  file->buffer = std::move(*buffer);
  StringRef bytes = file->buffer->getBuffer();
  if (bytes.size() < 8)
    return fileError(path, "file is " + llvm::Twine(bytes.size()) +
                          " bytes; a safetensors file starts with an 8-byte "
                          "header length");
  uint64_t headerLen =
      llvm::support::endian::read64le(bytes.data());
  if (headerLen > bytes.size() - 8)
    return fileError(path, "header length " + llvm::Twine(headerLen) +
                          " overruns the file (" + llvm::Twine(bytes.size()) +
                          " bytes)");
  StringRef header = bytes.substr(8, headerLen);
  const char *data = bytes.data() + 8 + headerLen;
  uint64_t dataSize = bytes.size() - 8 - headerLen;

  llvm::Expected<llvm::json::Value> json = llvm::json::parse(header);
  if (!json)
    return fileError(path,
                "header is not valid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *obj = json->getAsObject();
  if (!obj)
    return fileError(path, "header is not a JSON object");

  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (const auto &[key, value] : *obj) {
    std::string name = key.str();
    if (name == "__metadata__")
      continue;
    auto bad = [&](const llvm::Twine &what) {
      return fileError(path, "tensor '" + name + "': " + what);
    };
    const llvm::json::Object *entry = value.getAsObject();
    if (!entry)
      return bad("header entry is not an object");
    std::optional<StringRef> dtype = entry->getString("dtype");
    if (!dtype)
      return bad("no dtype");
    size_t elt = dtypeBytes(*dtype);
    if (!elt)
      return bad("dtype '" + *dtype + "' is not supported (F32, F16, BF16)");
    const llvm::json::Array *shape = entry->getArray("shape");
    if (!shape)
      return bad("no shape");
    TensorRecord rec;
    rec.dtype = dtype->str();
    rec.file = path.str();
    uint64_t count = 1;
    for (const llvm::json::Value &d : *shape) {
      std::optional<int64_t> dim = d.getAsInteger();
      if (!dim || *dim < 0)
        return bad("shape entries must be non-negative integers");
      rec.shape.push_back(*dim);
      if (*dim && count > (uint64_t(1) << 50) / uint64_t(*dim))
        return bad("shape is too large");
      count *= *dim;
    }
    const llvm::json::Array *offsets = entry->getArray("data_offsets");
    std::optional<int64_t> begin, end;
    if (offsets && offsets->size() == 2) {
      begin = (*offsets)[0].getAsInteger();
      end = (*offsets)[1].getAsInteger();
    }
    if (!begin || !end || *begin < 0 || *end < *begin)
      return bad("data_offsets must be two integers [begin, end] with "
                 "0 <= begin <= end");
    if (uint64_t(*end) > dataSize)
      return bad("data_offsets [" + llvm::Twine(*begin) + ", " +
                 llvm::Twine(*end) + "] run past the data (" +
                 llvm::Twine(dataSize) + " bytes)");
    rec.bytes = *end - *begin;
    if (rec.bytes != count * elt)
      return bad("shape " + shapeString(rec.shape) + " of " + *dtype +
                 " needs " + llvm::Twine(count * elt) +
                 " bytes, data_offsets span " + llvm::Twine(rec.bytes));
    rec.data = data + *begin;
    rec.mapped =
        file->buffer->getBufferKind() == llvm::MemoryBuffer::MemoryBuffer_MMap;
    spans.push_back({uint64_t(*begin), uint64_t(*end), name});
    file->records[name] = std::move(rec);
  }
  llvm::sort(spans, [](const Span &a, const Span &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].begin < spans[i - 1].end && spans[i].begin < spans[i].end)
      return fileError(path, "tensors '" + spans[i - 1].name + "' and '" +
                            spans[i].name + "' overlap in the data");
  return file;
}

llvm::Expected<std::unique_ptr<Checkpoint>>
Checkpoint::open(StringRef dirPath) {
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  ckpt->dir = dirPath.str();
  if (!llvm::sys::fs::is_directory(dirPath))
    return fileError(dirPath, "not a checkpoint directory (expected config.json "
                         "and model.safetensors in it)");
  auto inDir = [&](StringRef name) {
    llvm::SmallString<256> p(dirPath);
    llvm::sys::path::append(p, name);
    return std::string(p);
  };

  std::string configPath = inDir("config.json");
  auto configText = llvm::MemoryBuffer::getFile(configPath, /*IsText=*/true);
  if (!configText)
    return fileError(configPath, "cannot open: " + configText.getError().message());
  auto cfg = parseMambaConfig((*configText)->getBuffer(), configPath);
  if (!cfg)
    return cfg.takeError();
  ckpt->cfg = *cfg;

  auto add = [&](std::unique_ptr<SafeTensorsFile> file) -> llvm::Error {
    for (const auto &entry : file->tensors()) {
      auto [it, inserted] =
          ckpt->records.try_emplace(entry.getKey(), &entry.getValue());
      if (!inserted)
        return fileError(entry.getValue().file,
                    "tensor '" + entry.getKey() + "' is also in " +
                        it->second->file);
    }
    ckpt->files.push_back(std::move(file));
    return llvm::Error::success();
  };

  std::string single = inDir("model.safetensors");
  std::string index = inDir("model.safetensors.index.json");
  if (llvm::sys::fs::exists(single)) {
    ckpt->source = single;
    auto file = SafeTensorsFile::open(single);
    if (!file)
      return file.takeError();
    if (auto e = add(std::move(*file)))
      return std::move(e);
    return ckpt;
  }
  if (!llvm::sys::fs::exists(index))
    return fileError(dirPath, "neither model.safetensors nor "
                         "model.safetensors.index.json is there");

  ckpt->source = index;
  auto indexText = llvm::MemoryBuffer::getFile(index, /*IsText=*/true);
  if (!indexText)
    return fileError(index, "cannot open: " + indexText.getError().message());
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*indexText)->getBuffer());
  if (!json)
    return fileError(index, "not valid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *weightMap =
      json->getAsObject() ? json->getAsObject()->getObject("weight_map")
                          : nullptr;
  if (!weightMap)
    return fileError(index, "no \"weight_map\" object");
  // Shards in the order they are first named; each opened once.
  std::vector<std::string> shards;
  std::vector<std::pair<std::string, std::string>> mapping;
  for (const auto &[key, value] : *weightMap) {
    std::optional<StringRef> shard = value.getAsString();
    if (!shard || shard->contains('/') || shard->contains('\\'))
      return fileError(index, "weight_map entry '" + key.str() +
                             "' must name a file in the directory");
    mapping.emplace_back(key.str(), shard->str());
    if (!llvm::is_contained(shards, shard->str()))
      shards.push_back(shard->str());
  }
  llvm::sort(shards);
  for (const std::string &shard : shards) {
    auto file = SafeTensorsFile::open(inDir(shard));
    if (!file)
      return file.takeError();
    if (auto e = add(std::move(*file)))
      return std::move(e);
  }
  for (const auto &[name, shard] : mapping) {
    auto it = ckpt->records.find(name);
    if (it == ckpt->records.end() ||
        llvm::sys::path::filename(it->second->file) != shard)
      return fileError(index, "weight_map puts tensor '" + name + "' in " + shard +
                             ", which does not hold it");
  }
  return ckpt;
}

llvm::Expected<std::string>
Checkpoint::firstOf(llvm::ArrayRef<std::string> names) const {
  for (const std::string &n : names)
    if (has(n))
      return n;
  return fileError(source, "missing tensor: none of " + join(names) + " is there");
}

/// madvise over the pages of [p, p + bytes): those wholly inside it
/// (`whole`), or every page it touches.
static void advisePages(const void *p, size_t bytes, bool whole, int advice) {
  const uintptr_t page = sysconf(_SC_PAGESIZE);
  uintptr_t first = reinterpret_cast<uintptr_t>(p), last = first + bytes;
  uintptr_t begin = (whole ? first + page - 1 : first) / page * page;
  uintptr_t end = (whole ? last : last + page - 1) / page * page;
  if (end > begin)
    madvise(reinterpret_cast<void *>(begin), end - begin, advice);
}

StringRef Checkpoint::dtype(StringRef name) const {
  auto it = records.find(name);
  return it == records.end() ? StringRef() : StringRef(it->second->dtype);
}

StringRef Checkpoint::fileOf(StringRef name) const {
  auto it = records.find(name);
  return it == records.end() ? source : StringRef(it->second->file);
}

llvm::Expected<Array> Checkpoint::tensor(StringRef name,
                                         llvm::ArrayRef<int64_t> shape,
                                         size_t alignment, bool keep16) const {
  auto it = records.find(name);
  if (it == records.end())
    return fileError(source, "missing tensor '" + name + "' (expected shape " +
                         shapeString(shape) + ")");
  const TensorRecord &rec = *it->second;
  if (llvm::ArrayRef<int64_t>(rec.shape) != shape)
    return fileError(rec.file, "tensor '" + name + "' has shape " +
                              shapeString(rec.shape) + "; the config implies " +
                              shapeString(shape));
  auto *src = const_cast<char *>(rec.data);
  const DType stored = rec.dtype == "F32"   ? DType::F32
                       : rec.dtype == "F16" ? DType::F16
                                            : DType::BF16;
  const DType want = keep16 ? stored : DType::F32;
  if (want == stored && reinterpret_cast<uintptr_t>(src) %
                                std::max(alignment, dtypeSize(stored)) ==
                            0)
    return Array::view(stored, shape, src);
  Array out(want, shape);
  int64_t n = out.numElements();
  // Every page of the copy is written next: fault them in with one call
  // rather than one trap per 4 KB page (126k for Mamba-130m's 515 MB; the
  // runner's whole run on 3 tokens went from 2.9 to 1.85 s on the
  // development VM, docs/performance.md). Best effort: a kernel before
  // Linux 5.14 refuses the advice and the copy faults as before.
#ifdef MADV_POPULATE_WRITE
  advisePages(out.data(), out.byteSize(), /*whole=*/false, MADV_POPULATE_WRITE);
#endif
  if (want == stored) {
    std::memcpy(out.data(), src, rec.bytes);
    // The copy replaces the mapped pages it read: give back those wholly
    // inside the tensor (the file keeps them; they are read again on a
    // later access), so that the process does not hold both.
    if (rec.mapped)
      advisePages(src, rec.bytes, /*whole=*/true, MADV_DONTNEED);
  } else {
    float *dst = out.as<float>();
    const bool bf16 = stored == DType::BF16;
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h = llvm::support::endian::read16le(src + 2 * i);
      dst[i] = bf16 ? bfloat16ToFloat(h) : halfToFloat(h);
    }
  }
  return out;
}
