//===- TokenizerTest.cpp - tokenizer.json, NFC and UTF-8 -----------------===//
//
// Small cases worked by hand; test/python/test_tokenizer.py compares the
// tokenizer with an independent reference on random text.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/Tokenizer.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

using namespace mlir::ssm;

namespace {

/// A byte-level BPE over "a", "b", " " (as "Ġ", U+0120) with the merges
/// "a b" and "Ġ ab", an added special token and a normalized one.
std::string tinyJson(const std::string &postProcessor = "null") {
  return R"({
    "added_tokens": [
      {"id": 0, "content": "<s>", "special": true, "normalized": false},
      {"id": 6, "content": "  ", "special": false, "normalized": true}],
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
    "post_processor": )" +
         postProcessor + R"(,
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "dropout": null,
      "vocab": {"<s>": 0, "a": 1, "b": 2, "\u0120": 3, "ab": 4, "\u0120ab": 5},
      "merges": ["a b", "\u0120 ab"]}})";
}

std::vector<int64_t> encode(const Tokenizer &t, llvm::StringRef text) {
  auto ids = t.encode(text);
  EXPECT_TRUE(static_cast<bool>(ids)) << llvm::toString(ids.takeError());
  return ids ? *ids : std::vector<int64_t>{};
}

TEST(Tokenizer, MergesWordsAndAddedTokens) {
  auto t = Tokenizer::parse(tinyJson(), "tiny.json");
  ASSERT_TRUE(static_cast<bool>(t)) << llvm::toString(t.takeError());
  // "ab ab": the pre-tokens "ab" and " ab", each merged whole.
  EXPECT_EQ(encode(*t, "ab ab"), (std::vector<int64_t>{4, 5}));
  // "ba": no merge applies.
  EXPECT_EQ(encode(*t, "ba"), (std::vector<int64_t>{2, 1}));
  // The special token split out first; two spaces are the normalized
  // added token, one space before a word joins it.
  EXPECT_EQ(encode(*t, "<s>ab  ab"), (std::vector<int64_t>{0, 4, 6, 4}));
  EXPECT_EQ(encode(*t, "a ab"), (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(encode(*t, ""), (std::vector<int64_t>{}));
  auto text = t->decode({0, 4, 6, 5});
  ASSERT_TRUE(static_cast<bool>(text));
  EXPECT_EQ(*text, "<s>ab   ab");
  auto skipped = t->decode({0, 4}, /*skipSpecial=*/true);
  ASSERT_TRUE(static_cast<bool>(skipped));
  EXPECT_EQ(*skipped, "ab");
  EXPECT_EQ(t->vocabSize(), 7);
  EXPECT_EQ(t->tokenId("\u0120ab"), 5);
  EXPECT_EQ(t->tokenId("<s>"), 0);
  EXPECT_EQ(t->tokenId("zz"), -1);
}

TEST(Tokenizer, SparseIdsAllocateNothingByValue) {
  // The largest id a file may give: the tokens are a map, not a vector
  // sized by it.
  std::string json = tinyJson();
  json.replace(json.find("\"ab\": 4"), 7, "\"ab\": 2147483647");
  json.replace(json.find("\"\\u0120ab\": 5"), 13, "\"\\u0120ab\": 4");
  auto t = Tokenizer::parse(json, "sparse.json");
  ASSERT_TRUE(static_cast<bool>(t)) << llvm::toString(t.takeError());
  EXPECT_EQ(t->vocabSize(), 2147483648);
  EXPECT_EQ(encode(*t, "ab"), (std::vector<int64_t>{2147483647}));
  auto text = t->decode({2147483647, 4});
  ASSERT_TRUE(static_cast<bool>(text));
  EXPECT_EQ(*text, "ab ab");
  EXPECT_FALSE(static_cast<bool>(t->decode({5})));
  EXPECT_FALSE(static_cast<bool>(t->decode({INT64_MAX})));
}

TEST(Tokenizer, TemplateAddsItsSpecialTokens) {
  auto t = Tokenizer::parse(tinyJson(R"({"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                   {"Sequence": {"id": "A", "type_id": 0}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}})"),
                            "tiny.json");
  ASSERT_TRUE(static_cast<bool>(t)) << llvm::toString(t.takeError());
  EXPECT_EQ(encode(*t, "ab"), (std::vector<int64_t>{0, 4}));
}

TEST(Tokenizer, ErrorsNameTheInput) {
  auto t = Tokenizer::parse(tinyJson(), "tiny.json");
  ASSERT_TRUE(static_cast<bool>(t));
  auto missing = t->encode("abc");
  ASSERT_FALSE(static_cast<bool>(missing));
  EXPECT_EQ(llvm::toString(missing.takeError()),
            "tiny.json: the vocabulary has no token for byte 0x63");
  auto invalid = t->encode("ab\xC3(");
  ASSERT_FALSE(static_cast<bool>(invalid));
  EXPECT_EQ(llvm::toString(invalid.takeError()),
            "the text is not valid UTF-8: byte 2 (0xC3) does not begin a "
            "well-formed sequence");
  auto badId = t->decode({1, 7});
  ASSERT_FALSE(static_cast<bool>(badId));
  EXPECT_EQ(llvm::toString(badId.takeError()),
            "tiny.json: token id 7 is not in the vocabulary (ids 0 to 6)");
  auto notJson = Tokenizer::parse("{", "x.json");
  ASSERT_FALSE(static_cast<bool>(notJson));
  EXPECT_NE(llvm::toString(notJson.takeError()).find("x.json: not valid JSON"),
            std::string::npos);
}

TEST(Tokenizer, NFC) {
  auto nfc = [](llvm::StringRef s) {
    auto out = normalizeNFC(s);
    EXPECT_TRUE(static_cast<bool>(out));
    return out ? *out : std::string();
  };
  // e + acute composes; A + ring + acute: the ring composes, the acute
  // then composes with the composite (U+01FA).
  EXPECT_EQ(nfc("e\u0301"), "\u00e9");
  EXPECT_EQ(nfc("A\u030a\u0301"), "\u01fa");
  // Dot below (class 220) sorts before dot above (230): s + dot below
  // composes first, then dot above (U+1E69), whatever the input order.
  EXPECT_EQ(nfc("s\u0307\u0323"), "\u1e69");
  // Singletons and excluded composites stay decomposed.
  EXPECT_EQ(nfc("\u212b"), "\u00c5");
  EXPECT_EQ(nfc("\u0958"), "\u0915\u093c");
  // Hangul jamo compose algorithmically (L V T -> one syllable).
  EXPECT_EQ(nfc("\u1100\u1161\u11a8"), "\uac01");
  EXPECT_EQ(nfc("plain ASCII"), "plain ASCII");
  EXPECT_FALSE(static_cast<bool>(normalizeNFC("\xff")));
}

TEST(Tokenizer, Utf8LossyReplacesMaximalSubparts) {
  // A truncated 3-byte sequence is one U+FFFD; a bad lead byte and a
  // surrogate's encoding one per byte (as Python's errors="replace").
  EXPECT_EQ(utf8Lossy("a\xe2\x82"), "a\ufffd");
  EXPECT_EQ(utf8Lossy("\xe2\x82\xac"), "\u20ac");
  EXPECT_EQ(utf8Lossy("\xff"
                      "b"),
            "\ufffd"
            "b");
  EXPECT_EQ(utf8Lossy("\xed\xa0\x80"), "\ufffd\ufffd\ufffd");
  EXPECT_EQ(utf8Lossy("\xf0\x9f\x98"), "\ufffd");
}

} // namespace
