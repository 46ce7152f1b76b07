//===- Npy.h - reading and writing .npy files -------------------*- C++ -*-===//
//
// NumPy's .npy format, versions 1.0 to 3.0: little-endian float32, float64,
// float16, int32 and int64 in C order (bfloat16 arrays, which numpy lacks,
// are written as float32). Every malformed, truncated or unsupported file
// is an error naming the file and what was expected.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_RUNTIME_NPY_H
#define SSM_RUNTIME_NPY_H

#include "ssm/Runtime/Array.h"

#include <utility>
#include <vector>

namespace mlir::ssm {

llvm::Expected<Array> readNpy(llvm::StringRef path);

/// Parses an in-memory .npy image; `name` is used in error messages.
llvm::Expected<Array> parseNpy(llvm::StringRef bytes, llvm::StringRef name);

/// Writes every (path, array) pair, or none: each file is first written to a
/// temporary next to its destination, and all are renamed into place only
/// once every one has been written. On error no destination is touched and
/// no temporary is left behind.
llvm::Error writeNpyFiles(
    llvm::ArrayRef<std::pair<std::string, const Array *>> files);

} // namespace mlir::ssm

#endif // SSM_RUNTIME_NPY_H
