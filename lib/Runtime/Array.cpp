//===- Array.cpp - host arrays --------------------------------------------===//

#include "ssm/Runtime/Array.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include <limits>

using namespace mlir::ssm;

llvm::StringRef mlir::ssm::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32: return "float32";
  case DType::F64: return "float64";
  case DType::I32: return "int32";
  case DType::I64: return "int64";
  }
  llvm_unreachable("unknown dtype");
}

size_t mlir::ssm::dtypeSize(DType dtype) {
  return dtype == DType::F32 || dtype == DType::I32 ? 4 : 8;
}

bool mlir::ssm::isFloat(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F64;
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
  // 64-byte aligned (one cache line, one zmm register); at least one line
  // so that empty arrays still have a valid, distinct pointer.
  size_t bytes = (byteSize() + 63) / 64 * 64;
  data_.reset(std::aligned_alloc(64, bytes ? bytes : 64));
  if (!data_)
    llvm::report_fatal_error("out of memory allocating a host array");
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
  switch (to) {
  case DType::F32:
    convertElements<double, float>(*this, out);
    break;
  case DType::F64:
    convertElements<float, double>(*this, out);
    break;
  case DType::I64:
    convertElements<int32_t, int64_t>(*this, out);
    break;
  case DType::I32: {
    const int64_t *in = as<int64_t>();
    for (int64_t i = 0, e = numElements(); i < e; ++i)
      if (in[i] < std::numeric_limits<int32_t>::min() ||
          in[i] > std::numeric_limits<int32_t>::max())
        return llvm::createStringError(
            "int64 value %lld at flat index %lld does not fit in int32",
            static_cast<long long>(in[i]), static_cast<long long>(i));
    convertElements<int64_t, int32_t>(*this, out);
    break;
  }
  }
  return out;
}
