//===- NpyTest.cpp - .npy reading, writing and dtype conversion -----------===//

#include "ssm/Runtime/Npy.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <iterator>
#include <string>

using namespace mlir::ssm;

namespace {

std::string errorOf(llvm::Expected<Array> a) {
  if (a)
    return "<no error>";
  return llvm::toString(a.takeError());
}

/// A v1.0 .npy image with the given header dict and `dataBytes` zero bytes.
std::string image(const std::string &dict, size_t dataBytes) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header + std::string(dataBytes, '\0');
}

class TempDir : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("npy-test", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }
  std::string path(const char *name) {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
  llvm::SmallString<128> dir;
};

TEST(Npy, ParsesEveryDtypeAndShape) {
  struct Case {
    const char *descr;
    DType dtype;
  } cases[] = {{"<f4", DType::F32},
               {"<f8", DType::F64},
               {"<i4", DType::I32},
               {"<i8", DType::I64},
               {"<f2", DType::F16},
               {"|i1", DType::I8}};
  for (const Case &c : cases) {
    std::string dict = std::string("{'descr': '") + c.descr +
                       "', 'fortran_order': False, 'shape': (2, 3), }";
    auto a = parseNpy(image(dict, 6 * dtypeSize(c.dtype)), "t.npy");
    ASSERT_TRUE(static_cast<bool>(a)) << llvm::toString(a.takeError());
    EXPECT_EQ(a->dtype(), c.dtype);
    EXPECT_EQ(a->shape().vec(), (std::vector<int64_t>{2, 3}));
  }
  auto scalar = parseNpy(
      image("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4), "s");
  ASSERT_TRUE(static_cast<bool>(scalar));
  EXPECT_EQ(scalar->rank(), 0);
  EXPECT_EQ(scalar->numElements(), 1);
  auto empty = parseNpy(
      image("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", 0),
      "e");
  ASSERT_TRUE(static_cast<bool>(empty));
  EXPECT_EQ(empty->numElements(), 0);
}

TEST(Npy, RejectsMalformedFiles) {
  EXPECT_EQ(errorOf(parseNpy("", "x.npy")),
            "x.npy: not a .npy file (missing the \\x93NUMPY magic)");
  std::string ok =
      image("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12);
  EXPECT_EQ(errorOf(parseNpy(ok.substr(0, 9), "x.npy")),
            "x.npy: truncated .npy header");
  EXPECT_NE(errorOf(parseNpy(ok.substr(0, 30), "x.npy"))
                .find("truncated .npy header (header claims"),
            std::string::npos);
  EXPECT_EQ(errorOf(parseNpy(ok.substr(0, ok.size() - 1), "x.npy")),
            "x.npy: truncated data: a float32 array of shape (3,) needs 12 "
            "bytes, the file has 11");
  EXPECT_NE(errorOf(parseNpy(image("{'descr': '<u2', 'fortran_order': False, "
                                   "'shape': (3,), }",
                                   6),
                             "x.npy"))
                .find("unsupported dtype '<u2'"),
            std::string::npos);
  EXPECT_NE(errorOf(parseNpy(image("{'descr': [('a', '<f4')], "
                                   "'fortran_order': False, 'shape': (3,), }",
                                   12),
                             "x.npy"))
                .find("unsupported dtype"),
            std::string::npos);
  EXPECT_NE(errorOf(parseNpy(image("{'descr': '<f4', 'fortran_order': True, "
                                   "'shape': (3,), }",
                                   12),
                             "x.npy"))
                .find("Fortran-order"),
            std::string::npos);
  EXPECT_NE(errorOf(parseNpy(image("{'descr': '<f4', 'fortran_order': False, "
                                   "'shape': (3, -1), }",
                                   12),
                             "x.npy"))
                .find("bad dimension '-1'"),
            std::string::npos);
  // A shape whose byte count overflows is refused before any allocation.
  EXPECT_NE(errorOf(parseNpy(image("{'descr': '<f8', 'fortran_order': False, "
                                   "'shape': (4294967296, 4294967296), }",
                                   0),
                             "x.npy"))
                .find("too large"),
            std::string::npos);
}

TEST_F(TempDir, WritesAndReadsBack) {
  Array a(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i)
    a.as<float>()[i] = 0.5f * i;
  Array b(DType::I64, {4});
  for (int i = 0; i < 4; ++i)
    b.as<int64_t>()[i] = -i;
  ASSERT_FALSE(static_cast<bool>(
      writeNpyFiles({{path("a.npy"), &a}, {path("b.npy"), &b}})));
  auto ra = readNpy(path("a.npy"));
  auto rb = readNpy(path("b.npy"));
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->shape().vec(), a.shape().vec());
  EXPECT_EQ(0, std::memcmp(ra->data(), a.data(), a.byteSize()));
  EXPECT_EQ(0, std::memcmp(rb->data(), b.data(), b.byteSize()));
}

TEST_F(TempDir, WritesNothingWhenOneOutputFails) {
  Array a(DType::F32, {2});
  llvm::Error err = writeNpyFiles(
      {{path("a.npy"), &a}, {path("missing-dir/b.npy"), &a}});
  ASSERT_TRUE(static_cast<bool>(err));
  EXPECT_NE(llvm::toString(std::move(err)).find("cannot create output file"),
            std::string::npos);
  std::error_code ec;
  int entries = 0;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    ++entries;
  EXPECT_EQ(entries, 0) << "a destination or temporary file was left behind";
}

TEST(ArrayDeathTest, UnallocatableArrayExitsWithAMessage) {
  // 2^57 bytes: more than any address space. A message naming the shape
  // and the size, and status 1, not an abort.
  EXPECT_EXIT(
      Array(DType::F32, {int64_t(1) << 45, 1 << 10}),
      testing::ExitedWithCode(1),
      "ssm: error: out of memory: a host array of shape \\(35184372088832, "
      "1024\\) of 144115188075855872 bytes \\(128\\.0 PiB\\) could not "
      "be allocated");
}

TEST(Array, ConvertsWithinAKind) {
  Array d(DType::F64, {3});
  d.as<double>()[0] = 1.5;
  d.as<double>()[1] = -2.25;
  d.as<double>()[2] = 1e300;
  auto f = d.convertTo(DType::F32);
  ASSERT_TRUE(static_cast<bool>(f));
  EXPECT_EQ(f->as<float>()[0], 1.5f);
  EXPECT_EQ(f->as<float>()[1], -2.25f);
  EXPECT_TRUE(std::isinf(f->as<float>()[2]));

  Array big(DType::I64, {2});
  big.as<int64_t>()[0] = 7;
  big.as<int64_t>()[1] = int64_t(1) << 40;
  auto narrowed = big.convertTo(DType::I32);
  ASSERT_FALSE(static_cast<bool>(narrowed));
  EXPECT_NE(llvm::toString(narrowed.takeError()).find("does not fit in int32"),
            std::string::npos);
  auto mixed = big.convertTo(DType::F32);
  ASSERT_FALSE(static_cast<bool>(mixed));
  EXPECT_EQ(llvm::toString(mixed.takeError()),
            "cannot convert int64 to float32");
}

TEST(Array, ConvertsBetweenIntegerWidths) {
  Array wide(DType::I64, {3});
  wide.as<int64_t>()[0] = -128;
  wide.as<int64_t>()[1] = 127;
  wide.as<int64_t>()[2] = 5;
  auto narrow = wide.convertTo(DType::I8);
  ASSERT_TRUE(static_cast<bool>(narrow));
  EXPECT_EQ(narrow->as<int8_t>()[0], -128);
  EXPECT_EQ(narrow->as<int8_t>()[1], 127);
  auto back = narrow->convertTo(DType::I32);
  ASSERT_TRUE(static_cast<bool>(back));
  EXPECT_EQ(back->as<int32_t>()[0], -128);
  EXPECT_EQ(back->as<int32_t>()[2], 5);
  wide.as<int64_t>()[2] = 128;
  auto over = wide.convertTo(DType::I8);
  ASSERT_FALSE(static_cast<bool>(over));
  EXPECT_EQ(llvm::toString(over.takeError()),
            "int64 value 128 at flat index 2 does not fit in int8");
}

TEST(Array, QuantizesRows) {
  // Row 0: max 2.54, scale 0.02; 0.01 is a tie (0.5 -> 0, to even), 0.03
  // one (1.5 -> 2). Row 1: zeros (scale 0). Row 2 from bfloat16.
  Array w(DType::F32, {2, 4});
  float vals[] = {2.54f, -2.54f, 0.01f, 0.03f, 0, 0, 0, 0};
  std::memcpy(w.data(), vals, sizeof(vals));
  auto q = quantizeRows(w, "w");
  ASSERT_TRUE(static_cast<bool>(q)) << llvm::toString(q.takeError());
  const float scale = static_cast<float>(2.54f / 127.0);
  EXPECT_EQ(q->second.as<float>()[0], scale);
  EXPECT_EQ(q->second.as<float>()[1], 0.0f);
  const int8_t *r = q->first.as<int8_t>();
  EXPECT_EQ(r[0], 127);
  EXPECT_EQ(r[1], -127);
  EXPECT_EQ(r[2], static_cast<int8_t>(std::nearbyint(0.01f / double(scale))));
  EXPECT_EQ(r[3], static_cast<int8_t>(std::nearbyint(0.03f / double(scale))));
  EXPECT_EQ(r[4] | r[5] | r[6] | r[7], 0);
  auto b = w.convertTo(DType::BF16);
  ASSERT_TRUE(static_cast<bool>(b));
  auto qb = quantizeRows(*b, "wb");
  ASSERT_TRUE(static_cast<bool>(qb));
  EXPECT_EQ(qb->first.as<int8_t>()[0], 127);
  EXPECT_EQ(qb->second.as<float>()[0],
            static_cast<float>(bfloat16ToFloat(b->as<uint16_t>()[0]) / 127.0));

  w.as<float>()[6] = std::nanf("");
  auto bad = quantizeRows(w, "layer.weight");
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "layer.weight: element (1, 2) is nan; only finite weights can be "
            "quantized");
  Array v(DType::F32, {4});
  auto vector = quantizeRows(v, "v");
  ASSERT_FALSE(static_cast<bool>(vector));
  EXPECT_EQ(llvm::toString(vector.takeError()),
            "v: expected a float matrix to quantize, got float32 (4,)");
}

TEST(Array, ConvertsToAndFromSixteenBits) {
  // float32 -> bfloat16 (the bit path) against APFloat's rounding, on
  // ties, the largest float, infinities, NaN, subnormals and signs.
  const float values[] = {1.0f,
                          1.00390625f, // 1 + 2^-8: a tie, to even (1.0)
                          1.01171875f, // 1 + 3 * 2^-8: a tie, to even up
                          -2.5f,
                          3.4028234e38f, // rounds to infinity
                          -INFINITY,     NAN,
                          1e-40f, // subnormal
                          0.0f,          -0.0f, 65504.0f};
  const int64_t n = std::size(values);
  Array f(DType::F32, {n});
  std::copy(std::begin(values), std::end(values), f.as<float>());
  for (DType to : {DType::BF16, DType::F16}) {
    auto h = f.convertTo(to);
    ASSERT_TRUE(static_cast<bool>(h)) << llvm::toString(h.takeError());
    // Through double (APFloat) gives the same bits: one rounding.
    auto d = f.convertTo(DType::F64);
    ASSERT_TRUE(static_cast<bool>(d));
    auto h2 = d->convertTo(to);
    ASSERT_TRUE(static_cast<bool>(h2));
    for (int64_t i = 0; i < n; ++i) {
      const llvm::fltSemantics &sem = to == DType::BF16
                                          ? llvm::APFloat::BFloat()
                                          : llvm::APFloat::IEEEhalf();
      llvm::APFloat want(values[i]);
      bool lost;
      want.convert(sem, llvm::APFloat::rmNearestTiesToEven, &lost);
      uint16_t bits = h->as<uint16_t>()[i];
      EXPECT_EQ(bits, h2->as<uint16_t>()[i]) << "element " << i;
      if (want.isNaN())
        EXPECT_TRUE(llvm::APFloat(sem, llvm::APInt(16, bits)).isNaN());
      else
        EXPECT_EQ(bits, want.bitcastToAPInt().getZExtValue())
            << "element " << i << " to " << dtypeName(to).str();
    }
    // And back: exactly the 16-bit values.
    auto back = h->convertTo(DType::F32);
    ASSERT_TRUE(static_cast<bool>(back));
    for (int64_t i = 0; i < n; ++i) {
      uint16_t bits = h->as<uint16_t>()[i];
      float want =
          to == DType::BF16 ? bfloat16ToFloat(bits) : halfToFloat(bits);
      if (std::isnan(want))
        EXPECT_TRUE(std::isnan(back->as<float>()[i]));
      else
        EXPECT_EQ(back->as<float>()[i], want);
    }
  }
  EXPECT_EQ(bfloat16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24)); // smallest subnormal
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeName(DType::BF16), "bfloat16");
}

} // namespace
