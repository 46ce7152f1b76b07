//===- Tokenizer.cpp - a checkpoint's tokenizer.json (byte-level BPE) ----===//
//
// What each step follows, and why a hand-written scanner stands in for the
// pre-tokenizer's regular expression: docs/tokenizer.md.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/Tokenizer.h"

#include "ssm/Runtime/Array.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <functional>
#include <queue>

using namespace mlir::ssm;
using llvm::StringRef;

namespace {

struct CodeRange {
  char32_t lo, hi;
};
struct CombiningRange {
  char32_t lo, hi;
  uint8_t ccc;
};
struct Decomposition {
  char32_t cp, first, second;
};
struct Composition {
  char32_t first, second, composite;
};

#include "UnicodeTables.inc"

bool inRanges(llvm::ArrayRef<CodeRange> table, char32_t cp) {
  auto it = llvm::partition_point(
      table, [&](const CodeRange &r) { return r.hi < cp; });
  return it != table.end() && it->lo <= cp;
}

uint8_t combiningClass(char32_t cp) {
  llvm::ArrayRef<CombiningRange> table(kCombiningClasses);
  auto it = llvm::partition_point(
      table, [&](const CombiningRange &r) { return r.hi < cp; });
  return it != table.end() && it->lo <= cp ? it->ccc : 0;
}

//===----------------------------------------------------------------------===//
// UTF-8
//===----------------------------------------------------------------------===//

/// One step of decoding: a code point and its length, or (valid false) the
/// length of the maximal invalid subpart to replace, at least 1 (Unicode
/// 15, section 3.9, "U+FFFD Substitution of Maximal Subparts").
struct Utf8Step {
  char32_t cp;
  unsigned len;
  bool valid;
};

Utf8Step utf8Step(const unsigned char *p, size_t n) {
  unsigned char b = p[0];
  if (b < 0x80)
    return {b, 1, true};
  unsigned need;
  char32_t cp;
  // The well-formed second bytes after each lead (Table 3-7).
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
    cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    cp = b & 0x0F;
    if (b == 0xE0)
      lo = 0xA0;
    if (b == 0xED)
      hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    cp = b & 0x07;
    if (b == 0xF0)
      lo = 0x90;
    if (b == 0xF4)
      hi = 0x8F;
  } else {
    return {0, 1, false};
  }
  for (unsigned i = 1; i <= need; ++i) {
    if (i >= n || p[i] < lo || p[i] > hi)
      return {0, i, false};
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  return {cp, need + 1, true};
}

void appendUtf8(std::string &out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// The code points of `text`, or an error naming its first invalid byte.
llvm::Expected<std::vector<char32_t>> decodeUtf8(StringRef text,
                                                 StringRef what) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  auto *p = reinterpret_cast<const unsigned char *>(text.data());
  for (size_t i = 0; i < text.size();) {
    Utf8Step s = utf8Step(p + i, text.size() - i);
    if (!s.valid)
      return llvm::createStringError(
          llvm::formatv("{0} is not valid UTF-8: byte {1} (0x{2:X-2}) does "
                        "not begin a well-formed sequence",
                        what, i, p[i])
              .str());
    cps.push_back(s.cp);
    i += s.len;
  }
  return cps;
}

std::string encodeUtf8(llvm::ArrayRef<char32_t> cps) {
  std::string s;
  s.reserve(cps.size());
  for (char32_t cp : cps)
    appendUtf8(s, cp);
  return s;
}

//===----------------------------------------------------------------------===//
// NFC (Unicode Standard Annex #15)
//===----------------------------------------------------------------------===//

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161,
                   kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28,
              kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void decompose(char32_t cp, std::vector<char32_t> &out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    int s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount)
      out.push_back(kTBase + s % kTCount);
    return;
  }
  llvm::ArrayRef<Decomposition> table(kDecompositions);
  auto it = llvm::partition_point(
      table, [&](const Decomposition &d) { return d.cp < cp; });
  if (it == table.end() || it->cp != cp) {
    out.push_back(cp);
    return;
  }
  decompose(it->first, out);
  if (it->second)
    decompose(it->second, out);
}

/// The primary composite of a starter and a following character, if any.
std::optional<char32_t> compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase &&
      b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 &&
      b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  llvm::ArrayRef<Composition> table(kCompositions);
  auto it = llvm::partition_point(table, [&](const Composition &c) {
    return c.first < a || (c.first == a && c.second < b);
  });
  if (it != table.end() && it->first == a && it->second == b)
    return it->composite;
  return std::nullopt;
}

std::vector<char32_t> toNFC(llvm::ArrayRef<char32_t> cps) {
  // Quick path: ASCII is its own NFC.
  if (llvm::all_of(cps, [](char32_t c) { return c < 0x80; }))
    return cps.vec();
  std::vector<char32_t> d;
  d.reserve(cps.size());
  for (char32_t cp : cps)
    decompose(cp, d);
  // Canonical order: each run of non-starters stably sorted by class.
  for (size_t i = 0; i < d.size();) {
    if (!combiningClass(d[i])) {
      ++i;
      continue;
    }
    // An insertion sort: runs are short, and it is stable.
    size_t j = i + 1;
    for (; j < d.size() && combiningClass(d[j]); ++j)
      for (size_t k = j;
           k > i && combiningClass(d[k - 1]) > combiningClass(d[k]); --k)
        std::swap(d[k - 1], d[k]);
    i = j;
  }
  // Composition: each character with the last starter, unless a character
  // between them blocks it (a starter, or one of the same or higher class).
  std::vector<char32_t> out;
  out.reserve(d.size());
  ptrdiff_t starter = -1;
  int lastClass = 0;
  for (char32_t c : d) {
    int cls = combiningClass(c);
    if (starter >= 0) {
      bool adjacent = static_cast<size_t>(starter) + 1 == out.size();
      if (adjacent || (lastClass != 0 && lastClass < cls)) {
        if (std::optional<char32_t> comp = compose(out[starter], c)) {
          out[starter] = *comp;
          continue;
        }
      }
    }
    out.push_back(c);
    lastClass = cls;
    if (cls == 0)
      starter = static_cast<ptrdiff_t>(out.size()) - 1;
  }
  return out;
}

//===----------------------------------------------------------------------===//
// The byte-level pre-tokenizer
//===----------------------------------------------------------------------===//

enum class CharClass { Space, Letter, Number, Other };

CharClass classify(char32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
      return CharClass::Letter;
    if (cp >= '0' && cp <= '9')
      return CharClass::Number;
    if (cp == ' ' || (cp >= 9 && cp <= 13))
      return CharClass::Space;
    return CharClass::Other;
  }
  if (inRanges(kSpaces, cp))
    return CharClass::Space;
  if (inRanges(kLetters, cp))
    return CharClass::Letter;
  if (inRanges(kNumbers, cp))
    return CharClass::Number;
  return CharClass::Other;
}

/// The end of the match of GPT-2's pattern at `i` (leftmost-first, as a
/// backtracking engine takes its alternatives):
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// Every character is in one of the classes, so matches tile the text.
size_t matchEnd(llvm::ArrayRef<char32_t> s, size_t i) {
  size_t e = s.size();
  if (s[i] == '\'' && i + 1 < e) {
    char32_t a = s[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
      return i + 2;
    if (i + 2 < e) {
      char32_t b = s[i + 2];
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
          (a == 'l' && b == 'l'))
        return i + 3;
    }
  }
  // ` ?X+` for the letter, number and other runs: a space joins the run
  // that follows it.
  size_t k = i;
  if (s[i] == ' ' && i + 1 < e && classify(s[i + 1]) != CharClass::Space)
    k = i + 1;
  CharClass cls = classify(s[k]);
  if (cls != CharClass::Space) {
    size_t j = k + 1;
    while (j < e && classify(s[j]) == cls)
      ++j;
    return j;
  }
  // Whitespace: the whole run at the end of the text; before other text,
  // `\s+(?!\S)` leaves the run's last character to the next match, unless
  // the run is a single character (then `\s+` takes it).
  size_t j = i + 1;
  while (j < e && classify(s[j]) == CharClass::Space)
    ++j;
  if (j == e || j - i == 1)
    return j;
  return j - 1;
}

/// GPT-2's map of bytes to printable characters: the printable bytes of
/// Latin-1 are themselves, the others 256, 257, ... in byte order.
struct ByteLevelMap {
  char32_t byteToChar[256];
  int16_t charToByte[324];
  ByteLevelMap() {
    std::fill(std::begin(charToByte), std::end(charToByte), -1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                       (b >= 0xAE && b <= 0xFF);
      byteToChar[b] = printable ? b : next++;
      charToByte[byteToChar[b]] = static_cast<int16_t>(b);
    }
  }
};
const ByteLevelMap &byteLevel() {
  static const ByteLevelMap map;
  return map;
}

std::string byteLevelString(StringRef bytes) {
  std::string s;
  for (unsigned char b : bytes)
    appendUtf8(s, byteLevel().byteToChar[b]);
  return s;
}

//===----------------------------------------------------------------------===//
// tokenizer.json
//===----------------------------------------------------------------------===//

/// "tokenizer.json: FIELD: WHAT".
llvm::Error fieldError(StringRef path, const llvm::Twine &field,
                       const llvm::Twine &what) {
  return fileError(path, field + ": " + what);
}

std::string typeOf(const llvm::json::Object *o) {
  if (!o)
    return "null";
  if (std::optional<StringRef> t = o->getString("type"))
    return t->str();
  return "(no type)";
}

/// A boolean field that may be absent (then `dflt`).
llvm::Expected<bool> boolField(const llvm::json::Object &o, StringRef key,
                               bool dflt, StringRef path,
                               const llvm::Twine &where) {
  const llvm::json::Value *v = o.get(key);
  if (!v || v->kind() == llvm::json::Value::Null)
    return dflt;
  if (std::optional<bool> b = v->getAsBoolean())
    return *b;
  return fieldError(path, where + "." + key, "expected true or false");
}

} // namespace

llvm::Expected<std::string> mlir::ssm::normalizeNFC(StringRef text) {
  auto cps = decodeUtf8(text, "the text");
  if (!cps)
    return cps.takeError();
  return encodeUtf8(toNFC(*cps));
}

std::string mlir::ssm::utf8Lossy(StringRef bytes) {
  std::string out;
  out.reserve(bytes.size());
  auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
  for (size_t i = 0; i < bytes.size();) {
    Utf8Step s = utf8Step(p + i, bytes.size() - i);
    if (s.valid)
      out.append(bytes.data() + i, s.len);
    else
      appendUtf8(out, 0xFFFD);
    i += s.len;
  }
  return out;
}

StringRef mlir::ssm::tokenizerUnicodeVersion() { return kUnicodeVersion; }

llvm::Expected<Tokenizer> Tokenizer::load(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fileError(path, "cannot open: " + buffer.getError().message());
  return parse((*buffer)->getBuffer(), path);
}

llvm::Expected<Tokenizer> Tokenizer::parse(StringRef text, StringRef path) {
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(text);
  if (!json)
    return fileError(path,
                     "not valid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  if (!root)
    return fileError(path, "expected a JSON object");

  Tokenizer tok;
  tok.path = path.str();

  // The model: BPE over a vocabulary and ranked merges.
  const llvm::json::Object *model = root->getObject("model");
  if (!model)
    return fieldError(path, "model", "missing (expected a BPE model)");
  if (std::optional<StringRef> type = model->getString("type");
      type && *type != "BPE")
    return fieldError(path, "model.type",
                      "'" + *type +
                          "' is not supported (only byte-level BPE "
                          "tokenizers, as Mamba's GPT-NeoX one)");
  if (const llvm::json::Value *d = model->get("dropout")) {
    std::optional<double> p = d->getAsNumber();
    if (d->kind() != llvm::json::Value::Null && (!p || *p != 0))
      return fieldError(path, "model.dropout",
                        "BPE dropout (random merges, for training) is not "
                        "supported; expected null");
  }
  for (StringRef key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (std::optional<StringRef> s = model->getString(key); s && !s->empty())
      return fieldError(path, "model." + key,
                        "'" + *s + "' is not supported; expected null");
  auto byteFallback = boolField(*model, "byte_fallback", false, path, "model");
  if (!byteFallback)
    return byteFallback.takeError();
  if (*byteFallback)
    return fieldError(path, "model.byte_fallback",
                      "true is not supported (a SentencePiece-style "
                      "tokenizer; only byte-level BPE)");
  auto ignoreMerges = boolField(*model, "ignore_merges", false, path, "model");
  if (!ignoreMerges)
    return ignoreMerges.takeError();
  tok.ignoreMerges = *ignoreMerges;

  const llvm::json::Object *vocab = model->getObject("vocab");
  if (!vocab)
    return fieldError(path, "model.vocab",
                      "missing (expected an object "
                      "of token -> id)");
  int64_t maxId = -1;
  for (const auto &[key, value] : *vocab) {
    std::optional<int64_t> id = value.getAsInteger();
    if (StringRef(key).empty())
      return fieldError(path, "model.vocab", "an empty token");
    if (!id || *id < 0 || *id > INT32_MAX)
      return fieldError(path, "model.vocab",
                        "the id of token '" + StringRef(key) +
                            "' must be an integer in [0, 2^31)");
    tok.vocab[key] = *id;
    maxId = std::max(maxId, *id);
  }

  // Added tokens: ids of their own (or of vocabulary tokens).
  if (const llvm::json::Value *a = root->get("added_tokens");
      a && a->kind() != llvm::json::Value::Null) {
    const llvm::json::Array *arr = a->getAsArray();
    if (!arr)
      return fieldError(path, "added_tokens", "expected an array");
    for (size_t i = 0; i < arr->size(); ++i) {
      std::string where = llvm::formatv("added_tokens[{0}]", i).str();
      const llvm::json::Object *o = (*arr)[i].getAsObject();
      std::optional<int64_t> id = o ? o->getInteger("id") : std::nullopt;
      std::optional<StringRef> content =
          o ? o->getString("content") : std::nullopt;
      if (!id || !content || *id < 0 || *id > INT32_MAX || content->empty())
        return fieldError(path, where,
                          "expected an object with an integer 'id' in [0, "
                          "2^31) and a non-empty string 'content'");
      auto special = boolField(*o, "special", false, path, where);
      if (!special)
        return special.takeError();
      auto normalized = boolField(*o, "normalized", !*special, path, where);
      if (!normalized)
        return normalized.takeError();
      for (StringRef flag : {"lstrip", "rstrip", "single_word"}) {
        auto set = boolField(*o, flag, false, path, where);
        if (!set)
          return set.takeError();
        if (*set)
          return fieldError(path, where + "." + flag,
                            "true is not supported (token '" + *content +
                                "'); expected false");
      }
      int index = static_cast<int>(tok.added.size());
      tok.added.push_back({content->str(), *id, *special});
      (*normalized ? tok.normalizedAdded
                   : tok.rawAdded)[static_cast<unsigned char>((*content)[0])]
          .push_back(index);
      maxId = std::max(maxId, *id);
    }
  }
  // Longest first within each first byte: leftmost-longest matching.
  for (auto *buckets : {&tok.rawAdded, &tok.normalizedAdded})
    for (std::vector<int> &b : *buckets)
      llvm::sort(b, [&](int x, int y) {
        size_t lx = tok.added[x].content.size(),
               ly = tok.added[y].content.size();
        return lx != ly ? lx > ly : x < y;
      });

  tok.maxId = maxId;
  for (const auto &entry : tok.vocab) {
    int64_t id = entry.getValue();
    auto [it, fresh] = tok.idToToken.try_emplace(id);
    if (!fresh)
      return fieldError(path, "model.vocab",
                        llvm::formatv("tokens '{0}' and '{1}' share id {2}",
                                      it->second.text, entry.getKey(), id)
                            .str());
    it->second.text = entry.getKey().str();
  }
  // An added token's text stands for its id, also where the vocabulary
  // has a token of that id.
  for (const AddedToken &t : tok.added)
    tok.idToToken[t.id] = {t.content, t.special};

  // Merges: "left right" strings or [left, right] pairs, by rank.
  const llvm::json::Array *merges = model->getArray("merges");
  if (!merges)
    return fieldError(path, "model.merges", "missing (expected an array)");
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const llvm::json::Value &m = (*merges)[rank];
    StringRef left, right;
    if (std::optional<StringRef> s = m.getAsString()) {
      auto [l, r] = s->split(' ');
      left = l;
      right = r;
      if (s->count(' ') != 1 || left.empty() || right.empty())
        return fieldError(path, llvm::formatv("model.merges[{0}]", rank),
                          "'" + *s +
                              "' is not two tokens separated by "
                              "one space");
    } else if (const llvm::json::Array *pair = m.getAsArray();
               pair && pair->size() == 2 && (*pair)[0].getAsString() &&
               (*pair)[1].getAsString()) {
      left = *(*pair)[0].getAsString();
      right = *(*pair)[1].getAsString();
    } else {
      return fieldError(path, llvm::formatv("model.merges[{0}]", rank),
                        "expected \"left right\" or [\"left\", \"right\"]");
    }
    std::string merged = (left + right).str();
    for (StringRef t : {left, right, StringRef(merged)})
      if (!tok.vocab.count(t))
        return fieldError(path, llvm::formatv("model.merges[{0}]", rank),
                          "'" + t + "' is not in the vocabulary");
    uint64_t key = (static_cast<uint64_t>(tok.vocab[left]) << 32) |
                   static_cast<uint64_t>(tok.vocab[right]);
    // The first (best) rank of a pair listed twice stands.
    tok.merges.try_emplace(key, static_cast<int32_t>(rank),
                           static_cast<int32_t>(tok.vocab[merged]));
  }
  for (int b = 0; b < 256; ++b) {
    std::string c;
    appendUtf8(c, byteLevel().byteToChar[b]);
    auto it = tok.vocab.find(c);
    tok.byteIds[b] = it == tok.vocab.end() ? -1 : it->getValue();
  }

  // Normalizer: none, NFC, or a sequence of those.
  std::function<llvm::Error(const llvm::json::Value *, std::string)>
      normalizer =
          [&](const llvm::json::Value *v, std::string where) -> llvm::Error {
    if (!v || v->kind() == llvm::json::Value::Null)
      return llvm::Error::success();
    const llvm::json::Object *o = v->getAsObject();
    std::string type = typeOf(o);
    if (type == "NFC") {
      tok.nfc = true;
      return llvm::Error::success();
    }
    if (type == "Sequence" && o->getArray("normalizers")) {
      const llvm::json::Array &list = *o->getArray("normalizers");
      for (size_t i = 0; i < list.size(); ++i)
        if (llvm::Error e = normalizer(
                &list[i], llvm::formatv("{0}.normalizers[{1}]", where, i)))
          return e;
      return llvm::Error::success();
    }
    return fieldError(path, where,
                      "'" + type +
                          "' is not supported (supported: NFC, "
                          "none)");
  };
  if (llvm::Error e = normalizer(root->get("normalizer"), "normalizer"))
    return std::move(e);

  // Pre-tokenizer: ByteLevel.
  const llvm::json::Object *pre = root->getObject("pre_tokenizer");
  if (typeOf(pre) != "ByteLevel")
    return fieldError(path, "pre_tokenizer",
                      "'" + typeOf(pre) +
                          "' is not supported (only ByteLevel: a byte-level "
                          "BPE tokenizer, as GPT-NeoX's and GPT-2's)");
  auto prefix =
      boolField(*pre, "add_prefix_space", true, path, "pre_tokenizer");
  if (!prefix)
    return prefix.takeError();
  auto regex = boolField(*pre, "use_regex", true, path, "pre_tokenizer");
  if (!regex)
    return regex.takeError();
  tok.addPrefixSpace = *prefix;
  tok.useRegex = *regex;

  // Decoder: ByteLevel.
  const llvm::json::Object *dec = root->getObject("decoder");
  if (typeOf(dec) != "ByteLevel")
    return fieldError(path, "decoder",
                      "'" + typeOf(dec) +
                          "' is not supported (only "
                          "ByteLevel)");

  // Post-processor: nothing to add (none, ByteLevel), or a template's
  // special tokens around the sequence.
  std::function<llvm::Error(const llvm::json::Value *, std::string)> post =
      [&](const llvm::json::Value *v, std::string where) -> llvm::Error {
    if (!v || v->kind() == llvm::json::Value::Null)
      return llvm::Error::success();
    const llvm::json::Object *o = v->getAsObject();
    std::string type = typeOf(o);
    if (type == "ByteLevel")
      return llvm::Error::success();
    if (type == "Sequence" && o->getArray("processors")) {
      const llvm::json::Array &list = *o->getArray("processors");
      for (size_t i = 0; i < list.size(); ++i)
        if (llvm::Error e =
                post(&list[i], llvm::formatv("{0}.processors[{1}]", where, i)))
          return e;
      return llvm::Error::success();
    }
    if (type != "TemplateProcessing")
      return fieldError(path, where,
                        "'" + type +
                            "' is not supported (supported: "
                            "ByteLevel, TemplateProcessing, none)");
    const llvm::json::Array *single = o->getArray("single");
    const llvm::json::Object *specials = o->getObject("special_tokens");
    if (!single || !specials)
      return fieldError(path, where,
                        "expected the arrays 'single' and the object "
                        "'special_tokens' of a template");
    bool sequenceSeen = false;
    for (size_t i = 0; i < single->size(); ++i) {
      std::string at = llvm::formatv("{0}.single[{1}]", where, i).str();
      const llvm::json::Object *item = (*single)[i].getAsObject();
      if (item && item->getObject("Sequence")) {
        if (sequenceSeen)
          return fieldError(path, at, "a second Sequence in the template");
        sequenceSeen = true;
        continue;
      }
      const llvm::json::Object *sp =
          item ? item->getObject("SpecialToken") : nullptr;
      std::optional<StringRef> name = sp ? sp->getString("id") : std::nullopt;
      if (!name)
        return fieldError(path, at,
                          "expected {\"Sequence\": ...} or "
                          "{\"SpecialToken\": {\"id\": ...}}");
      const llvm::json::Object *entry = specials->getObject(*name);
      const llvm::json::Array *ids = entry ? entry->getArray("ids") : nullptr;
      if (!ids)
        return fieldError(path, where + ".special_tokens",
                          "no ids for '" + *name + "'");
      for (const llvm::json::Value &idv : *ids) {
        std::optional<int64_t> id = idv.getAsInteger();
        if (!id || !tok.idToToken.count(*id))
          return fieldError(path, where + ".special_tokens",
                            "an id of '" + *name +
                                "' is not a token of the vocabulary");
        (sequenceSeen ? tok.suffixIds : tok.prefixIds).push_back(*id);
      }
    }
    if (!sequenceSeen)
      return fieldError(path, where + ".single",
                        "the template has no Sequence");
    return llvm::Error::success();
  };
  if (llvm::Error e = post(root->get("post_processor"), "post_processor"))
    return std::move(e);
  return tok;
}

int64_t Tokenizer::tokenId(StringRef token) const {
  for (const AddedToken &t : added)
    if (t.content == token)
      return t.id;
  auto it = vocab.find(token);
  return it == vocab.end() ? -1 : it->getValue();
}

void Tokenizer::splitAdded(StringRef text, const AddedBuckets &buckets,
                           std::vector<Piece> &out) const {
  size_t start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const AddedToken *best = nullptr;
    // Longest first: the first that matches is the longest here.
    for (int index : buckets[static_cast<unsigned char>(text[pos])])
      if (text.substr(pos).starts_with(added[index].content)) {
        best = &added[index];
        break;
      }
    if (!best) {
      ++pos;
      continue;
    }
    if (pos > start)
      out.push_back({text.slice(start, pos).str(), -1});
    out.push_back({best->content, best->id});
    pos += best->content.size();
    start = pos;
  }
  if (start < text.size())
    out.push_back({text.substr(start).str(), -1});
}

llvm::Error Tokenizer::encodeWord(StringRef word,
                                  std::vector<int64_t> &ids) const {
  if (ignoreMerges) {
    auto it = vocab.find(byteLevelString(word));
    if (it != vocab.end()) {
      ids.push_back(it->getValue());
      return llvm::Error::success();
    }
  }
  // The word's bytes as symbols, merged pair by pair: always the pair of
  // lowest rank, the leftmost of equals (as `tokenizers`' BPE).
  size_t n = word.size();
  std::vector<int32_t> sym(n), prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    unsigned char b = word[i];
    if (byteIds[b] < 0)
      return fileError(path, llvm::formatv("the vocabulary has no token for "
                                           "byte 0x{0:X-2}",
                                           b)
                                 .str());
    sym[i] = static_cast<int32_t>(byteIds[b]);
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < n ? static_cast<int32_t>(i) + 1 : -1;
  }
  struct Candidate {
    int32_t rank, pos, left, right;
    bool operator>(const Candidate &o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto consider = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0)
      return;
    uint64_t key = (static_cast<uint64_t>(sym[pos]) << 32) |
                   static_cast<uint32_t>(sym[next[pos]]);
    auto it = merges.find(key);
    if (it != merges.end())
      heap.push({it->second.first, pos, sym[pos], sym[next[pos]]});
  };
  for (size_t i = 0; i + 1 < n; ++i)
    consider(static_cast<int32_t>(i));
  std::vector<bool> alive(n, true);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    // Entries whose symbols have changed since are stale.
    if (!alive[c.pos] || next[c.pos] < 0 || sym[c.pos] != c.left ||
        sym[next[c.pos]] != c.right)
      continue;
    uint64_t key =
        (static_cast<uint64_t>(c.left) << 32) | static_cast<uint32_t>(c.right);
    int32_t right = next[c.pos];
    sym[c.pos] = merges.find(key)->second.second;
    alive[right] = false;
    next[c.pos] = next[right];
    if (next[right] >= 0)
      prev[next[right]] = c.pos;
    consider(prev[c.pos]);
    consider(c.pos);
  }
  for (int32_t i = 0; i >= 0 && static_cast<size_t>(i) < n; i = next[i])
    ids.push_back(sym[i]);
  return llvm::Error::success();
}

llvm::Expected<std::vector<int64_t>> Tokenizer::encode(StringRef text) const {
  // Validated once here; the pieces below are cut at character
  // boundaries (added tokens are whole UTF-8), so their decoding cannot fail.
  if (auto valid = decodeUtf8(text, "the text"); !valid)
    return valid.takeError();
  std::vector<int64_t> ids(prefixIds);
  std::vector<Piece> raw;
  splitAdded(text, rawAdded, raw);
  for (const Piece &p : raw) {
    if (p.addedId >= 0) {
      ids.push_back(p.addedId);
      continue;
    }
    std::string normal = p.text;
    if (nfc)
      normal = encodeUtf8(toNFC(llvm::cantFail(decodeUtf8(p.text, ""))));
    std::vector<Piece> pieces;
    splitAdded(normal, normalizedAdded, pieces);
    for (const Piece &q : pieces) {
      if (q.addedId >= 0) {
        ids.push_back(q.addedId);
        continue;
      }
      std::vector<char32_t> cps = llvm::cantFail(decodeUtf8(q.text, ""));
      if (addPrefixSpace && (cps.empty() || cps.front() != ' '))
        cps.insert(cps.begin(), ' ');
      llvm::ArrayRef<char32_t> all(cps);
      for (size_t i = 0; i < cps.size();) {
        size_t j = useRegex ? matchEnd(all, i) : cps.size();
        if (llvm::Error e = encodeWord(encodeUtf8(all.slice(i, j - i)), ids))
          return std::move(e);
        i = j;
      }
    }
  }
  ids.insert(ids.end(), suffixIds.begin(), suffixIds.end());
  return ids;
}

llvm::Expected<std::string> Tokenizer::decode(llvm::ArrayRef<int64_t> ids,
                                              bool skipSpecial) const {
  std::string bytes;
  for (int64_t id : ids) {
    // (The range check first: DenseMap reserves two keys near INT64_MAX.)
    auto it = id < 0 || id > maxId ? idToToken.end() : idToToken.find(id);
    if (it == idToToken.end())
      return fileError(path, llvm::formatv("token id {0} is not in the "
                                           "vocabulary (ids 0 to {1})",
                                           id, vocabSize() - 1)
                                 .str());
    if (skipSpecial && it->second.special)
      continue;
    const std::string &t = it->second.text;
    // A token whose characters are all byte-level ones is those bytes;
    // any other (an added token's text) stands as written.
    std::string asBytes;
    bool byteLevelToken = true;
    auto *p = reinterpret_cast<const unsigned char *>(t.data());
    for (size_t i = 0; i < t.size() && byteLevelToken;) {
      Utf8Step s = utf8Step(p + i, t.size() - i);
      byteLevelToken =
          s.valid && s.cp < 324 && byteLevel().charToByte[s.cp] >= 0;
      if (byteLevelToken)
        asBytes += static_cast<char>(byteLevel().charToByte[s.cp]);
      i += s.len;
    }
    bytes += byteLevelToken ? asBytes : t;
  }
  return utf8Lossy(bytes);
}
