//===- Tokenizer.h - a checkpoint's tokenizer.json (byte-level BPE) -*- C++
//-*-===//
//
// The tokenizer of a Hugging Face checkpoint, read from its tokenizer.json,
// for the byte-level BPE family that Mamba's checkpoints use (GPT-NeoX's,
// also GPT-2's): added tokens split out first (leftmost-longest, the
// non-normalized ones on the raw text, the normalized ones after the
// normalizer), NFC, the byte-level pre-tokenizer's split, BPE merges by
// rank, the post-processor's template; and back, byte-level tokens to bytes
// to UTF-8 text. The ids are those of `tokenizers`' Tokenizer.encode with
// add_special_tokens (transformers' `tokenizer(text).input_ids`).
// A tokenizer.json of another kind (Metaspace, WordPiece, Unigram, other
// normalizers) is refused with a message naming the field
// (docs/tokenizer.md).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_TOKENIZER_H
#define SSM_RUNTIME_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mlir::ssm {

/// The NFC form of UTF-8 `text` (Unicode's canonical composition, tables
/// of lib/Runtime/UnicodeTables.inc); an error names the first byte that is
/// not valid UTF-8.
llvm::Expected<std::string> normalizeNFC(llvm::StringRef text);

/// The UTF-8 of `bytes` with each maximal invalid subsequence replaced by
/// U+FFFD (Python's errors="replace", Rust's from_utf8_lossy).
std::string utf8Lossy(llvm::StringRef bytes);

/// The Unicode version of the tables behind normalizeNFC and the
/// pre-tokenizer's letter and number classes.
llvm::StringRef tokenizerUnicodeVersion();

class Tokenizer {
public:
  /// Reads `path` (a tokenizer.json); errors name the file and the field.
  static llvm::Expected<Tokenizer> load(llvm::StringRef path);
  /// The same from the file's text; `path` names it in errors.
  static llvm::Expected<Tokenizer> parse(llvm::StringRef json,
                                         llvm::StringRef path);

  /// The ids of UTF-8 `text`; an error if it is not valid UTF-8 or holds a
  /// byte the vocabulary has no token for.
  llvm::Expected<std::vector<int64_t>> encode(llvm::StringRef text) const;

  /// The text of `ids`: added tokens as written, the others' byte-level
  /// characters back to bytes, invalid UTF-8 replaced by U+FFFD; special
  /// tokens left out with `skipSpecial`. An error names an id that is no
  /// token's.
  llvm::Expected<std::string> decode(llvm::ArrayRef<int64_t> ids,
                                     bool skipSpecial = false) const;

  /// One more than the largest id of a token.
  int64_t vocabSize() const { return maxId + 1; }
  /// The id of a token, in byte-level form for the model's vocabulary or as
  /// written for an added token; -1 if none.
  int64_t tokenId(llvm::StringRef token) const;

private:
  struct AddedToken {
    std::string content;
    int64_t id;
    bool special;
  };
  struct Piece {
    std::string text;
    int64_t addedId; // >= 0: the piece is that added token
  };

  /// Indices into `added` by their content's first byte, longest first.
  using AddedBuckets = std::array<std::vector<int>, 256>;

  /// `text` cut at the leftmost-longest matches of the added tokens in
  /// `buckets`.
  void splitAdded(llvm::StringRef text, const AddedBuckets &buckets,
                  std::vector<Piece> &out) const;
  llvm::Error encodeWord(llvm::StringRef word, std::vector<int64_t> &ids) const;

  std::string path;
  llvm::StringMap<int64_t> vocab;
  struct TokenText {
    std::string text;
    bool special = false;
  };
  /// The tokens by id (a map: ids come from the file and need not be
  /// dense, and a vector sized by the largest would let one id allocate).
  llvm::DenseMap<int64_t, TokenText> idToToken;
  int64_t maxId = -1;
  /// (left id << 32 | right id) -> (rank, merged id).
  llvm::DenseMap<uint64_t, std::pair<int32_t, int32_t>> merges;
  /// The id of each byte's byte-level character (-1: none).
  int64_t byteIds[256];
  std::vector<AddedToken> added;
  /// Matched on the raw text, or after normalizing.
  AddedBuckets rawAdded, normalizedAdded;
  bool nfc = false;
  bool addPrefixSpace = false;
  bool useRegex = true;
  bool ignoreMerges = false;
  /// The post-processor's ids around a sequence.
  std::vector<int64_t> prefixIds, suffixIds;
};

} // namespace mlir::ssm

#endif // SSM_RUNTIME_TOKENIZER_H
