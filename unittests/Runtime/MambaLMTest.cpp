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

#include "TestFiles.h"

#include "gtest/gtest.h"

#include <string>

using namespace mlir::ssm;

namespace {

constexpr const char *kConfig =
    R"({"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 4,
        "state_size": 4, "expand": 2, "conv_kernel": 4, "time_step_rank": 1})";

/// A one-layer Mamba-1 checkpoint of zeros in a fresh directory.
std::string writeCheckpoint() {
  auto cfg = parseMambaConfig(kConfig, "config.json");
  EXPECT_TRUE(static_cast<bool>(cfg));
  std::vector<std::pair<std::string, llvm::SmallVector<int64_t>>> tensors = {
      {"backbone.embeddings.weight", {cfg->vocabSize, cfg->dModel}},
      {"backbone.norm_f.weight", {cfg->dModel}}};
  for (const WeightSpec &w : mambaLayerWeights(*cfg))
    tensors.push_back({"backbone.layers.0." + w.name, w.checkpointShape});
  std::string header = "{";
  size_t offset = 0;
  for (const auto &[name, shape] : tensors) {
    size_t bytes = 4;
    std::string dims;
    for (int64_t d : shape) {
      bytes *= d;
      dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    }
    header += (header.size() > 1 ? ", \"" : "\"") + name +
              R"(": {"dtype": "F32", "shape": [)" + dims +
              R"(], "data_offsets": [)" + std::to_string(offset) + ", " +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  return ssm_test::writeDirectory(
      {{"config.json", kConfig},
       {"model.safetensors",
        ssm_test::safetensors(header, std::string(offset, '\0'))}});
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
