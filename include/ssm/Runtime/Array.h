//===- Array.h - host arrays exchanged with compiled programs --*- C++ -*-===//
//
// A dense, C-ordered, 64-byte aligned host array of one of the element types
// the runner exchanges with compiled code and .npy files.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_ARRAY_H
#define SSM_RUNTIME_ARRAY_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>

namespace mlir::ssm {

/// F16 and BF16 are storage types: a checkpoint's 16-bit weights, which the
/// programs widen where they read them (docs/models.md, "16-bit weights").
/// I8 is the storage of 8-bit weights (ssm.dequantize's rows).
enum class DType { F32, F64, I32, I64, F16, BF16, I8 };

/// "float32", "float64", "int32", "int64", "float16", "bfloat16", "int8".
llvm::StringRef dtypeName(DType dtype);
size_t dtypeSize(DType dtype);
bool isFloat(DType dtype);

/// The float32 value of IEEE half `bits` and of bfloat16 `bits` (exact).
float halfToFloat(uint16_t bits);
float bfloat16ToFloat(uint16_t bits);

/// "FILE: WHAT", the form of every error about a file the runner reads.
llvm::Error fileError(llvm::StringRef file, const llvm::Twine &what);

/// "(2, 3, 4)", numpy's spelling of a shape.
std::string shapeString(llvm::ArrayRef<int64_t> shape);

class Array {
public:
  Array() = default;
  Array(DType dtype, llvm::ArrayRef<int64_t> shape);

  /// Takes ownership of a malloc'ed `allocation` whose dense C-ordered
  /// elements start at `data` (e.g. a buffer returned by compiled code).
  static Array adopt(DType dtype, llvm::ArrayRef<int64_t> shape,
                     void *allocation, void *data);

  /// A view of dense C-ordered elements owned by someone else (e.g. the
  /// memory map of a checkpoint); it must not outlive them.
  static Array view(DType dtype, llvm::ArrayRef<int64_t> shape, void *data);

  /// Gives the array another shape with the same number of elements.
  void reshape(llvm::ArrayRef<int64_t> shape);

  DType dtype() const { return dtype_; }
  llvm::ArrayRef<int64_t> shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numElements() const;
  size_t byteSize() const { return numElements() * dtypeSize(dtype_); }

  void *data() { return begin_; }
  const void *data() const { return begin_; }
  template <typename T> T *as() { return static_cast<T *>(data()); }
  template <typename T> const T *as() const {
    return static_cast<const T *>(data());
  }

  /// This array with its elements converted to `to`. Float widths convert
  /// freely (narrowing rounds to nearest, ties to even), int64 -> int32
  /// fails on values out of range, and converting between floats and
  /// integers is refused.
  llvm::Expected<Array> convertTo(DType to) const;

private:
  struct Free {
    void operator()(void *p) const;
  };
  DType dtype_ = DType::F32;
  llvm::SmallVector<int64_t, 4> shape_;
  std::unique_ptr<void, Free> data_; ///< the allocation
  void *begin_ = nullptr;             ///< the first element, inside it
};

/// A float matrix `w` (N, K) as int8 rows and one float32 scale per row,
/// the operands of ssm.dequantize: scale[n] = max_k |w[n, k]| / 127 and
/// q[n, k] = w[n, k] / scale[n] rounded to the nearest integer (ties to
/// even), so that |q * scale - w| <= scale / 2 (a row of zeros has scale 0).
/// A non-finite element is an error naming `name` and the element.
llvm::Expected<std::pair<Array, Array>> quantizeRows(const Array &w,
                                                     llvm::StringRef name);

} // namespace mlir::ssm

#endif // SSM_RUNTIME_ARRAY_H
