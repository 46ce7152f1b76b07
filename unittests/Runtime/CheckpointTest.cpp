//===- CheckpointTest.cpp - safetensors dtypes and config.json fields -----===//
//
// What the model tests cannot see through logits: the exact float32 value of
// every F16 and BF16 class (subnormals, signed zero, infinities, NaN, the
// largest finite), and the config fields read in either spelling.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/Checkpoint.h"

#include "TestFiles.h"

#include "llvm/Support/FileSystem.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace mlir::ssm;

namespace {

constexpr const char *kConfig =
    R"({"hidden_size": 16, "num_hidden_layers": 1, "vocab_size": 8})";

/// A checkpoint directory with a minimal config and one 16-bit tensor "t".
std::string writeCheckpoint(const std::string &dtype,
                            const std::vector<uint16_t> &bits) {
  std::string header = R"({"t": {"dtype": ")" + dtype + R"(", "shape": [)" +
                       std::to_string(bits.size()) +
                       R"(], "data_offsets": [0, )" +
                       std::to_string(2 * bits.size()) + "]}}";
  std::string data;
  for (uint16_t b : bits) {
    data.push_back(static_cast<char>(b & 0xff));
    data.push_back(static_cast<char>(b >> 8));
  }
  return ssm_test::writeDirectory(
      {{"config.json", kConfig},
       {"model.safetensors", ssm_test::safetensors(header, data)}});
}

std::vector<float> decode(const std::string &dtype,
                          const std::vector<uint16_t> &bits) {
  std::string dir = writeCheckpoint(dtype, bits);
  auto ckpt = Checkpoint::open(dir);
  // The open map keeps the data readable after the files are removed.
  llvm::sys::fs::remove_directories(dir);
  if (!ckpt) {
    ADD_FAILURE() << llvm::toString(ckpt.takeError());
    return {};
  }
  auto t = (*ckpt)->tensor("t", {static_cast<int64_t>(bits.size())});
  if (!t) {
    ADD_FAILURE() << llvm::toString(t.takeError());
    return {};
  }
  return std::vector<float>(t->as<float>(), t->as<float>() + bits.size());
}

TEST(Checkpoint, F16EveryClass) {
  std::vector<float> v = decode(
      "F16", {0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0x8000, 0x7c00,
              0xfc00, 0x7e00, 0x3555});
  ASSERT_EQ(v.size(), 11u);
  EXPECT_EQ(v[0], std::ldexp(1.0f, -24));              // smallest subnormal
  EXPECT_EQ(v[1], std::ldexp(1023.0f, -24));           // largest subnormal
  EXPECT_EQ(v[2], std::ldexp(1.0f, -14));              // smallest normal
  EXPECT_EQ(v[3], 1.0f);
  EXPECT_EQ(v[4], -2.0f);
  EXPECT_EQ(v[5], 65504.0f);                           // largest finite
  EXPECT_EQ(v[6], 0.0f);
  EXPECT_TRUE(std::signbit(v[6]));                     // -0
  EXPECT_EQ(v[7], INFINITY);
  EXPECT_EQ(v[8], -INFINITY);
  EXPECT_TRUE(std::isnan(v[9]));
  EXPECT_EQ(v[10], (1 + 0x155 / 1024.0f) * 0.25f);   // 0x3555: 1.333 * 2^-2
}

TEST(Checkpoint, BF16IsTheHighHalfOfF32) {
  std::vector<uint16_t> bits = {0x3f80, 0xc2f7, 0x0001, 0x8000, 0x7f80, 0x7fc0,
                                0x7f7f};
  std::vector<float> v = decode("BF16", bits);
  ASSERT_EQ(v.size(), bits.size());
  for (size_t i = 0; i < bits.size(); ++i) {
    uint32_t want = uint32_t(bits[i]) << 16, got;
    std::memcpy(&got, &v[i], 4);
    EXPECT_EQ(got, want) << "element " << i;
  }
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -123.5f);
}

TEST(Checkpoint, F32AViewOrAnAlignedCopy) {
  // 4096 floats (4 pages) at 8 bytes past a cache line, as safetensors'
  // 8-byte alignment allows.
  const int64_t n = 4096;
  std::string header = R"({"t": {"dtype": "F32", "shape": [)" +
                       std::to_string(n) + R"(], "data_offsets": [0, )" +
                       std::to_string(4 * n) + "]}}";
  while ((8 + header.size()) % 64 != 8)
    header += ' ';
  std::string data;
  for (int64_t i = 0; i < n; ++i) {
    float f = 0.5f * static_cast<float>(i) - 7.0f;
    data.append(reinterpret_cast<const char *>(&f), 4);
  }
  std::string dir = ssm_test::writeDirectory(
      {{"config.json", kConfig},
       {"model.safetensors", ssm_test::safetensors(header, data)}});
  auto ckpt = Checkpoint::open(dir);
  ASSERT_TRUE(static_cast<bool>(ckpt)) << llvm::toString(ckpt.takeError());
  auto view = (*ckpt)->tensor("t", {n});
  ASSERT_TRUE(static_cast<bool>(view));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view->data()) % 64, 8u); // the map
  auto copy = (*ckpt)->tensor("t", {n}, Checkpoint::kVectorAlignment);
  ASSERT_TRUE(static_cast<bool>(copy));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copy->data()) % 64, 0u);
  // The copy gave back the map's pages; the view reads them again.
  for (int64_t i = 0; i < n; ++i) {
    float want = 0.5f * static_cast<float>(i) - 7.0f;
    ASSERT_EQ(copy->as<float>()[i], want) << "element " << i;
    ASSERT_EQ(view->as<float>()[i], want) << "element " << i;
  }
  llvm::sys::fs::remove_directories(dir);
}

TEST(Checkpoint, ConfigSpellings) {
  auto hf = parseMambaConfig(
      R"({"hidden_size": 20, "num_hidden_layers": 3, "vocab_size": 50,
          "state_size": 8, "conv_kernel": 3, "time_step_rank": "auto",
          "layer_norm_epsilon": 1e-6, "use_bias": true,
          "use_conv_bias": false, "tie_word_embeddings": false,
          "eos_token_id": 0})",
      "config.json");
  ASSERT_TRUE(bool(hf)) << llvm::toString(hf.takeError());
  EXPECT_EQ(hf->eosTokenIds, (llvm::SmallVector<int64_t, 1>{0}));
  EXPECT_EQ(hf->dModel, 20);
  EXPECT_EQ(hf->dInner, 40);                 // expand 2
  EXPECT_EQ(hf->dtRank, 2);                  // ceil(20 / 16)
  EXPECT_EQ(hf->dState, 8);
  EXPECT_EQ(hf->dConv, 3);
  EXPECT_EQ(hf->eps, 1e-6);
  EXPECT_TRUE(hf->useBias);
  EXPECT_FALSE(hf->useConvBias);
  EXPECT_FALSE(hf->tieEmbeddings);

  auto ms = parseMambaConfig(
      R"({"d_model": 20, "n_layer": 3, "vocab_size": 50277,
          "pad_vocab_size_multiple": 8, "d_inner": 30, "dt_rank": 5,
          "tie_embeddings": true})",
      "config.json");
  ASSERT_TRUE(bool(ms)) << llvm::toString(ms.takeError());
  EXPECT_EQ(ms->vocabSize, 50280);           // padded to a multiple of 8
  EXPECT_EQ(ms->dInner, 30);
  EXPECT_EQ(ms->dtRank, 5);
  EXPECT_EQ(ms->eps, 1e-5);                  // the default
  EXPECT_TRUE(ms->tieEmbeddings);
  EXPECT_TRUE(ms->eosTokenIds.empty());

  // eos_token_id: an id, a list of ids or null, each in the vocabulary.
  const char *base = R"({"d_model": 20, "n_layer": 3, "vocab_size": 50, )";
  auto list = parseMambaConfig(std::string(base) + R"("eos_token_id": [2, 7]})",
                               "config.json");
  ASSERT_TRUE(bool(list)) << llvm::toString(list.takeError());
  EXPECT_EQ(list->eosTokenIds, (llvm::SmallVector<int64_t, 1>{2, 7}));
  auto none = parseMambaConfig(std::string(base) + R"("eos_token_id": null})",
                               "config.json");
  ASSERT_TRUE(bool(none)) << llvm::toString(none.takeError());
  EXPECT_TRUE(none->eosTokenIds.empty());
  for (const char *bad :
       {R"("eos_token_id": 50})", R"("eos_token_id": [1, "x"]})",
        R"("eos_token_id": -1})"}) {
    auto err = parseMambaConfig(std::string(base) + bad, "config.json");
    ASSERT_FALSE(bool(err)) << bad;
    EXPECT_EQ(llvm::toString(err.takeError()),
              "config.json: field 'eos_token_id' must be a token id in [0, 50) "
              "or a list of them");
  }

  auto both = parseMambaConfig(
      R"({"hidden_size": 20, "num_hidden_layers": 3, "vocab_size": 50,
          "time_step_rank": 2, "dt_rank": "auto", "use_conv_bias": true,
          "conv_bias": false})",
      "cfg.json");
  ASSERT_FALSE(bool(both));
  // time_step_rank 2 agrees with "auto" (ceil(20/16) = 2); the conv bias
  // flags do not.
  EXPECT_EQ(llvm::toString(both.takeError()),
            "cfg.json: fields 'use_conv_bias' (true) and 'conv_bias' (false) "
            "disagree");
}

TEST(Checkpoint, Mamba2ConfigSpellings) {
  // transformers' Mamba2Config, with the Infinity Python's json writes.
  auto hf = parseMambaConfig(
      R"({"model_type": "mamba2", "hidden_size": 24, "num_hidden_layers": 2,
          "vocab_size": 50, "state_size": 16, "num_heads": 6, "head_dim": 8,
          "n_groups": 1, "expand": 2, "conv_kernel": 4,
          "time_step_limit": [0.0, Infinity], "note": "Infinity \" NaN"})",
      "config.json");
  ASSERT_TRUE(bool(hf)) << llvm::toString(hf.takeError());
  EXPECT_EQ(hf->mixer, MixerKind::Mamba2);
  EXPECT_EQ(hf->dInner, 48);
  EXPECT_EQ(hf->nHeads, 6);
  EXPECT_EQ(hf->headDim, 8);
  EXPECT_EQ(hf->convChannels(), 48 + 2 * 16);
  EXPECT_EQ(hf->ssmStateShape(), (llvm::SmallVector<int64_t>{6, 8, 16}));

  // mamba_ssm's: the mixer's sizes in ssm_cfg, its defaults (d_state 128,
  // headdim 64, one group) otherwise.
  auto ms = parseMambaConfig(
      R"({"d_model": 64, "n_layer": 2, "vocab_size": 50, "d_intermediate": 0,
          "attn_layer_idx": [], "ssm_cfg": {"layer": "Mamba2"}})",
      "config.json");
  ASSERT_TRUE(bool(ms)) << llvm::toString(ms.takeError());
  EXPECT_EQ(ms->mixer, MixerKind::Mamba2);
  EXPECT_EQ(ms->dState, 128);
  EXPECT_EQ(ms->nHeads, 2);
  EXPECT_EQ(ms->nGroups, 1);

  auto disagree = parseMambaConfig(
      R"({"d_model": 64, "n_layer": 2, "vocab_size": 50, "d_state": 16,
          "ssm_cfg": {"layer": "Mamba2", "d_state": 32}})",
      "c.json");
  ASSERT_FALSE(bool(disagree));
  EXPECT_EQ(llvm::toString(disagree.takeError()),
            "c.json: fields 'd_state' (16) and 'ssm_cfg.d_state' (32) "
            "disagree");

  // transformers' default is 8 groups (and head_dim 64, d_state 128):
  // 8 heads of 64 channels at hidden_size 256 take them, one group per head.
  auto groups = parseMambaConfig(
      R"({"model_type": "mamba2", "hidden_size": 256, "num_hidden_layers": 2,
          "vocab_size": 50})",
      "c.json");
  ASSERT_TRUE(bool(groups)) << llvm::toString(groups.takeError());
  EXPECT_EQ(groups->nGroups, 8);
  EXPECT_EQ(groups->nHeads, 8);
  EXPECT_EQ(groups->convChannels(), 512 + 2 * 8 * 128);
  // At hidden_size 64 there are 2 heads, which 8 groups do not divide.
  auto split = parseMambaConfig(
      R"({"model_type": "mamba2", "hidden_size": 64, "num_hidden_layers": 2,
          "vocab_size": 50})",
      "c.json");
  ASSERT_FALSE(bool(split));
  EXPECT_EQ(llvm::toString(split.takeError()),
            "c.json: n_groups (8) must divide the number of heads 2");
}

} // namespace
