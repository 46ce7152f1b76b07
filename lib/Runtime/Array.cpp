//===- Array.cpp - host arrays --------------------------------------------===//

#include "ssm/Runtime/Array.h"
#include "ssm/Runtime/BufferCache.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

using namespace mlir::ssm;

llvm::StringRef mlir::ssm::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32: return "float32";
  case DType::F64: return "float64";
  case DType::I32: return "int32";
  case DType::I64: return "int64";
  case DType::F16:
    return "float16";
  case DType::BF16:
    return "bfloat16";
  case DType::I8:
    return "int8";
  }
  llvm_unreachable("unknown dtype");
}

size_t mlir::ssm::dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::I8:
    return 1;
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F64:
  case DType::I64:
    return 8;
  }
  llvm_unreachable("unknown dtype");
}

bool mlir::ssm::isFloat(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F64 || dtype == DType::F16 ||
         dtype == DType::BF16;
}

float mlir::ssm::halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  int32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13); // inf or nan
  } else if (exp != 0) {
    bits = sign | uint32_t(exp - 15 + 127) << 23 | (mant << 13);
  } else if (mant == 0) {
    bits = sign; // signed zero
  } else {
    // Subnormal half: normalise into a float32 exponent.
    int32_t e = -1;
    do {
      mant <<= 1;
      ++e;
    } while (!(mant & 0x400));
    bits = sign | uint32_t(127 - 15 - e) << 23 | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float mlir::ssm::bfloat16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

llvm::Error mlir::ssm::fileError(llvm::StringRef file, const llvm::Twine &what) {
  return llvm::createStringError("%s: %s", file.str().c_str(),
                                 what.str().c_str());
}

std::string mlir::ssm::shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "(";
  for (auto [i, d] : llvm::enumerate(shape))
    os << (i ? ", " : "") << d;
  os << (shape.size() == 1 ? ",)" : ")");
  return s;
}

void Array::Free::operator()(void *p) const { std::free(p); }

Array::Array(DType dtype, llvm::ArrayRef<int64_t> shape)
    : dtype_(dtype), shape_(shape.begin(), shape.end()) {
  // 64-byte aligned (one cache line, one zmm register), large ones in huge
  // pages (hostAlloc); at least one line so that empty arrays still have a
  // valid, distinct pointer.
  size_t bytes = byteSize();
  data_.reset(hostAlloc(64, bytes ? bytes : 64));
  if (!data_)
    reportOutOfMemory(("a host array of shape " + shapeString(shape_)).c_str(),
                      bytes);
  begin_ = data_.get();
}

Array Array::adopt(DType dtype, llvm::ArrayRef<int64_t> shape,
                   void *allocation, void *data) {
  Array a;
  a.dtype_ = dtype;
  a.shape_.assign(shape.begin(), shape.end());
  a.data_.reset(allocation);
  a.begin_ = data;
  return a;
}

Array Array::view(DType dtype, llvm::ArrayRef<int64_t> shape, void *data) {
  Array a;
  a.dtype_ = dtype;
  a.shape_.assign(shape.begin(), shape.end());
  a.begin_ = data;
  return a;
}

void Array::reshape(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  if (n != numElements())
    llvm::report_fatal_error("Array::reshape changes the number of elements");
  shape_.assign(shape.begin(), shape.end());
}

int64_t Array::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape_)
    n *= d;
  return n;
}

template <typename From, typename To>
static void convertElements(const Array &src, Array &dst) {
  const From *in = src.as<From>();
  To *out = dst.as<To>();
  for (int64_t i = 0, e = src.numElements(); i < e; ++i)
    out[i] = static_cast<To>(in[i]);
}

/// Element i of a float array, exactly, as a double.
static double floatAt(const Array &a, int64_t i) {
  switch (a.dtype()) {
  case DType::F16:
    return halfToFloat(a.as<uint16_t>()[i]);
  case DType::BF16:
    return bfloat16ToFloat(a.as<uint16_t>()[i]);
  case DType::F32:
    return a.as<float>()[i];
  default:
    return a.as<double>()[i];
  }
}

/// Float conversions with a 16-bit side: through double, which holds every
/// value of the others exactly, then rounded once to the destination
/// (APFloat: to nearest, ties to even, NaN and infinities kept).
static void convertFloats(const Array &src, Array &dst) {
  const llvm::fltSemantics *narrow =
      dst.dtype() == DType::F16    ? &llvm::APFloat::IEEEhalf()
      : dst.dtype() == DType::BF16 ? &llvm::APFloat::BFloat()
                                   : nullptr;
  if (src.dtype() == DType::F32 && dst.dtype() == DType::BF16) {
    // The common case (a float32 .npy for a bf16 argument), in bits:
    // APFloat takes ~70 ns an element. Rounding to nearest even on the low
    // 16 bits is the same single rounding for finite values and infinities
    // (a carry into the exponent gives the next binade or infinity); a NaN
    // keeps its sign and high payload and is made quiet.
    const uint32_t *in = src.as<uint32_t>();
    uint16_t *out = dst.as<uint16_t>();
    for (int64_t i = 0, e = src.numElements(); i < e; ++i) {
      uint32_t b = in[i];
      out[i] =
          (b & 0x7fffffffu) > 0x7f800000u
              ? static_cast<uint16_t>((b >> 16) | 0x40)
              : static_cast<uint16_t>((b + 0x7fffu + ((b >> 16) & 1)) >> 16);
    }
    return;
  }
  for (int64_t i = 0, e = src.numElements(); i < e; ++i) {
    double v = floatAt(src, i);
    if (!narrow) {
      if (dst.dtype() == DType::F32)
        dst.as<float>()[i] = static_cast<float>(v);
      else
        dst.as<double>()[i] = v;
      continue;
    }
    llvm::APFloat f(v);
    bool lost;
    f.convert(*narrow, llvm::APFloat::rmNearestTiesToEven, &lost);
    dst.as<uint16_t>()[i] =
        static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
  }
}

/// quantizeRows for elements read by `at` (one element type: the loop is
/// compiled per type, a 130M-weight model in a fraction of a second).
template <typename At>
static llvm::Error quantizeRowsWith(At at, int64_t rows, int64_t cols,
                                    llvm::StringRef name, int8_t *q,
                                    float *scale) {
  std::vector<double> row(cols);
  for (int64_t n = 0; n < rows; ++n) {
    double max = 0;
    bool finite = true;
    for (int64_t k = 0; k < cols; ++k) {
      row[k] = at(n * cols + k);
      finite &= std::isfinite(row[k]);
      max = std::max(max, std::fabs(row[k]));
    }
    if (!finite)
      for (int64_t k = 0; k < cols; ++k)
        if (!std::isfinite(row[k]))
          return llvm::createStringError(
              "%s: element (%lld, %lld) is %g; only finite weights can be "
              "quantized",
              name.str().c_str(), static_cast<long long>(n),
              static_cast<long long>(k), row[k]);
    scale[n] = static_cast<float>(max / 127);
    // Rounded against the float32 scale the program multiplies by, to
    // nearest even: adding and subtracting 1.5 * 2^52 leaves |x| < 2^51
    // rounded in the current (default: nearest even) mode, as nearbyint
    // does, without a call per weight.
    const double inv = scale[n] > 0 ? 1.0 / scale[n] : 0.0;
    constexpr double kRound = 6755399441055744.0; // 1.5 * 2^52
    for (int64_t k = 0; k < cols; ++k) {
      double v = (row[k] * inv + kRound) - kRound;
      q[n * cols + k] = static_cast<int8_t>(std::clamp(v, -127.0, 127.0));
    }
  }
  return llvm::Error::success();
}

llvm::Expected<std::pair<Array, Array>>
mlir::ssm::quantizeRows(const Array &w, llvm::StringRef name) {
  if (w.rank() != 2 || !isFloat(w.dtype()))
    return llvm::createStringError(
        "%s: expected a float matrix to quantize, got %s %s", name.str().c_str(),
        dtypeName(w.dtype()).data(), shapeString(w.shape()).c_str());
  const int64_t rows = w.shape()[0], cols = w.shape()[1];
  std::pair<Array, Array> out{Array(DType::I8, {rows, cols}),
                              Array(DType::F32, {rows})};
  int8_t *q = out.first.as<int8_t>();
  float *scale = out.second.as<float>();
  llvm::Error err = llvm::Error::success();
  switch (w.dtype()) {
  case DType::F32: {
    const float *v = w.as<float>();
    err = quantizeRowsWith([v](int64_t i) -> double { return v[i]; }, rows,
                           cols, name, q, scale);
    break;
  }
  case DType::BF16: {
    const uint16_t *v = w.as<uint16_t>();
    err = quantizeRowsWith(
        [v](int64_t i) -> double { return bfloat16ToFloat(v[i]); }, rows,
        cols, name, q, scale);
    break;
  }
  default:
    err = quantizeRowsWith([&w](int64_t i) { return floatAt(w, i); }, rows,
                           cols, name, q, scale);
    break;
  }
  if (err)
    return std::move(err);
  return out;
}

llvm::Expected<Array> Array::convertTo(DType to) const {
  Array out(to, shape_);
  if (to == dtype_) {
    std::memcpy(out.data(), data(), byteSize());
    return out;
  }
  if (isFloat(to) != isFloat(dtype_))
    return llvm::createStringError("cannot convert %s to %s",
                                   dtypeName(dtype_).data(),
                                   dtypeName(to).data());
  if (to == DType::F16 || to == DType::BF16 || dtype_ == DType::F16 ||
      dtype_ == DType::BF16) {
    convertFloats(*this, out);
    return out;
  }
  switch (to) {
  case DType::F16:
  case DType::BF16:
    llvm_unreachable("converted above");
  case DType::F32:
    convertElements<double, float>(*this, out);
    break;
  case DType::F64:
    convertElements<float, double>(*this, out);
    break;
  case DType::I64:
  case DType::I32:
  case DType::I8: {
    // Integers: every value must fit the destination.
    auto at = [&](int64_t i) -> int64_t {
      switch (dtype_) {
      case DType::I8:
        return as<int8_t>()[i];
      case DType::I32:
        return as<int32_t>()[i];
      default:
        return as<int64_t>()[i];
      }
    };
    const int64_t lo = to == DType::I8    ? std::numeric_limits<int8_t>::min()
                       : to == DType::I32 ? std::numeric_limits<int32_t>::min()
                                          : std::numeric_limits<int64_t>::min();
    const int64_t hi = to == DType::I8    ? std::numeric_limits<int8_t>::max()
                       : to == DType::I32 ? std::numeric_limits<int32_t>::max()
                                          : std::numeric_limits<int64_t>::max();
    for (int64_t i = 0, e = numElements(); i < e; ++i) {
      int64_t v = at(i);
      if (v < lo || v > hi)
        return llvm::createStringError(
            "%s value %lld at flat index %lld does not fit in %s",
            dtypeName(dtype_).data(), static_cast<long long>(v),
            static_cast<long long>(i), dtypeName(to).data());
      if (to == DType::I8)
        out.as<int8_t>()[i] = static_cast<int8_t>(v);
      else if (to == DType::I32)
        out.as<int32_t>()[i] = static_cast<int32_t>(v);
      else
        out.as<int64_t>()[i] = v;
    }
    break;
  }
  }
  return out;
}
