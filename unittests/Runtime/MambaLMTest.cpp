//===- MambaLMTest.cpp - MambaLM's checks on the caller's states ----------===//
//
// What the front ends cannot reach: ssm-run and the bindings always hand
// MambaLM two arrays of their own, but a C++ caller may not, and the
// compiled program takes the states as llvm.noalias arguments.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/MambaLM.h"
#include "ssm/Runtime/Checkpoint.h"
#include "ssm/Runtime/Programs.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <string>

using namespace mlir::ssm;

namespace {

constexpr const char *kConfig =
    R"({"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 4,
        "state_size": 4, "expand": 2, "conv_kernel": 4, "time_step_rank": 1})";

/// A safetensors image of float32 zeros for `tensors` (name, shape).
std::string zeroSafetensors(
    const std::vector<std::pair<std::string, llvm::SmallVector<int64_t>>>
        &tensors) {
  std::string header = "{";
  size_t offset = 0;
  for (const auto &[name, shape] : tensors) {
    size_t n = 4;
    std::string dims;
    for (int64_t d : shape) {
      n *= d;
      dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    }
    header += (header.size() > 1 ? ", \"" : "\"") + name +
              R"(": {"dtype": "F32", "shape": [)" + dims +
              R"(], "data_offsets": [)" + std::to_string(offset) + ", " +
              std::to_string(offset + n) + "]}";
    offset += n;
  }
  header += "}";
  std::string image(8, '\0');
  for (int i = 0; i < 8; ++i)
    image[i] =
        static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  return image + header + std::string(offset, '\0');
}

/// A one-layer Mamba-1 checkpoint of zeros in a fresh directory.
std::string writeCheckpoint() {
  llvm::SmallString<128> dir;
  EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("ssm-lm", dir));
  auto cfg = parseMambaConfig(kConfig, "config.json");
  EXPECT_TRUE(static_cast<bool>(cfg));
  std::vector<std::pair<std::string, llvm::SmallVector<int64_t>>> tensors = {
      {"backbone.embeddings.weight", {cfg->vocabSize, cfg->dModel}},
      {"backbone.norm_f.weight", {cfg->dModel}}};
  for (const WeightSpec &w : mambaLayerWeights(*cfg))
    tensors.push_back({"backbone.layers.0." + w.name, w.checkpointShape});
  auto write = [&](const char *name, const std::string &bytes) {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, name);
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    EXPECT_FALSE(ec);
    os << bytes;
  };
  write("config.json", kConfig);
  write("model.safetensors", zeroSafetensors(tensors));
  return std::string(dir);
}

TEST(MambaLM, StatesThatShareMemoryAreRefused) {
  std::string dir = writeCheckpoint();
  auto lm = MambaLM::load(dir);
  ASSERT_TRUE(static_cast<bool>(lm)) << llvm::toString(lm.takeError());
  MambaLM::State fresh = (*lm)->initialState(1);
  // The conv state as a view of the (larger) ssm state's memory.
  MambaLM::State shared{
      Array::view(DType::F32, fresh.conv.shape(), fresh.ssm.data()),
      std::move(fresh.ssm)};
  Array tokens(DType::I64, {1, 2});
  tokens.as<int64_t>()[0] = tokens.as<int64_t>()[1] = 1;
  auto logits = (*lm)->forward(tokens, shared);
  ASSERT_FALSE(static_cast<bool>(logits));
  EXPECT_NE(llvm::toString(logits.takeError()).find("share memory"),
            std::string::npos);
  llvm::sys::fs::remove_directories(dir);
}

} // namespace
