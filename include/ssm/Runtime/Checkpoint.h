//===- Checkpoint.h - Mamba checkpoints in Hugging Face layout --*- C++ -*-===//
//
// A directory with config.json and model.safetensors (or shards listed in
// model.safetensors.index.json), as MambaForCausalLM and mamba_ssm save them.
// Files are memory-mapped; tensors are handed out as views of the map (no
// second copy) or, when converted (F16 and BF16 to float32) or realigned,
// as copies. Every malformed file or mismatch is an error naming the file
// and the tensor.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_CHECKPOINT_H
#define SSM_RUNTIME_CHECKPOINT_H

#include "ssm/Runtime/Array.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <vector>

namespace mlir::ssm {

/// The mixer of a layer: the three the research compares (tasks.md).
enum class MixerKind {
  Mamba1, ///< S6, the selective scan (semantics.md section 4)
  Mamba2, ///< SSD, a scalar A per head (section 5)
  /// The Mamba-1 block with its selective scan replaced by a time-invariant
  /// S4D scan (section 6). No checkpoint format carries it: parseMambaConfig
  /// never returns it; the task stacks build it.
  S4D,
};

/// The fields of a config.json that shape the model (semantics.md sections
/// 4, 5 and 8), in transformers' and in mamba_ssm's spelling: Mamba-1
/// (MambaForCausalLM, mamba_ssm's Mamba) or Mamba-2 language models
/// (Mamba2ForCausalLM, mamba_ssm's Mamba2).
struct MambaConfig {
  MixerKind mixer = MixerKind::Mamba1;
  int64_t dModel = 0, nLayer = 0, dState = 16, dConv = 4, dInner = 0,
          dtRank = 0, vocabSize = 0;
  /// Mamba-2: nHeads heads of headDim channels (nHeads * headDim = dInner)
  /// and nGroups groups of B and C.
  int64_t nHeads = 0, headDim = 0, nGroups = 1;
  double eps = 1e-5;
  bool useBias = false, useConvBias = true, tieEmbeddings = true;
  /// The S4D mixer: S4D-Lin (complex A, B real, C complex) instead of
  /// S4D-Real.
  bool s4dComplex = false;
  /// transformers' eos_token_id (an id or a list of ids; none when absent
  /// or null): what generation usually stops at, never implicitly.
  llvm::SmallVector<int64_t, 1> eosTokenIds;

  /// The channels of a layer's causal conv: d_inner (Mamba-1), or x, B and
  /// C together, d_inner + 2 G N (Mamba-2).
  int64_t convChannels() const {
    return mixer == MixerKind::Mamba2 ? dInner + 2 * nGroups * dState
                                      : dInner;
  }
  /// One sequence's ssm state in one layer: (d_inner, N) for Mamba-1,
  /// (heads, head_dim, N) for Mamba-2.
  llvm::SmallVector<int64_t> ssmStateShape() const {
    if (mixer == MixerKind::Mamba2)
      return {nHeads, headDim, dState};
    return {dInner, dState};
  }
};

/// Parses config.json text; `path` names the file in messages.
llvm::Expected<MambaConfig> parseMambaConfig(llvm::StringRef text,
                                             llvm::StringRef path);

/// One tensor of a safetensors file.
struct TensorRecord {
  std::string dtype; ///< "F32", "F16" or "BF16"
  llvm::SmallVector<int64_t> shape;
  const char *data = nullptr;
  size_t bytes = 0;
  std::string file; ///< the file it lives in, for messages
  bool mapped = false; ///< `data` is in a read-only map of the file
};

/// One memory-mapped safetensors file, validated when opened: header length
/// and JSON, dtypes, shapes against byte counts, offsets inside the data
/// and not overlapping.
class SafeTensorsFile {
public:
  static llvm::Expected<std::unique_ptr<SafeTensorsFile>>
  open(llvm::StringRef path);

  const llvm::StringMap<TensorRecord> &tensors() const { return records; }

private:
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  llvm::StringMap<TensorRecord> records;
};

class Checkpoint {
public:
  /// Opens `dir`: config.json, then model.safetensors or the shards of
  /// model.safetensors.index.json.
  static llvm::Expected<std::unique_ptr<Checkpoint>> open(llvm::StringRef dir);

  const MambaConfig &config() const { return cfg; }
  llvm::StringRef directory() const { return dir; }
  /// model.safetensors, or the index of the shards.
  llvm::StringRef weightsSource() const { return source; }

  bool has(llvm::StringRef name) const { return records.count(name); }

  /// The dtype the file stores `name` in ("F32", "F16", "BF16"; empty when
  /// missing).
  llvm::StringRef dtype(llvm::StringRef name) const;
  /// The file that holds `name` (weightsSource() when missing), for
  /// messages.
  llvm::StringRef fileOf(llvm::StringRef name) const;

  /// The tensor `name` of exactly `shape`, as float32, or with `keep16` in
  /// the dtype the file stores it in (DType::F16 and BF16 for 16-bit data):
  /// a view of the mapped file when no conversion is needed and the data
  /// sits at a multiple of `alignment` bytes, else a copy (64-byte aligned;
  /// the copied range of the map is released).
  /// Missing tensors and other shapes are errors naming the file and the
  /// tensor. safetensors aligns data to 8 bytes only: the CPU's vector code
  /// wants whole cache lines (kVectorAlignment), or every 64-byte load of
  /// a matrix-vector product straddles two lines.
  llvm::Expected<Array> tensor(llvm::StringRef name,
                               llvm::ArrayRef<int64_t> shape,
                               size_t alignment = 4, bool keep16 = false) const;

  /// The alignment the CPU's vector code wants of a weight: a cache line.
  static constexpr size_t kVectorAlignment = 64;

  /// The first of `names` the checkpoint has (e.g. the two spellings of the
  /// embedding), or an error listing them.
  llvm::Expected<std::string> firstOf(llvm::ArrayRef<std::string> names) const;

private:
  std::string dir;
  /// model.safetensors or the index: where a missing tensor was looked for.
  std::string source;
  MambaConfig cfg;
  std::vector<std::unique_ptr<SafeTensorsFile>> files;
  llvm::StringMap<const TensorRecord *> records;
};

} // namespace mlir::ssm

#endif // SSM_RUNTIME_CHECKPOINT_H
