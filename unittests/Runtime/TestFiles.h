//===- TestFiles.h - files for the runtime's tests --------------*- C++ -*-===//
//
// Checkpoint directories written by the tests themselves: a fresh
// directory of named files, and the safetensors layout.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_UNITTESTS_RUNTIME_TESTFILES_H
#define SSM_UNITTESTS_RUNTIME_TESTFILES_H

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ssm_test {

/// A fresh directory holding `files` (name, contents).
inline std::string
writeDirectory(const std::vector<std::pair<std::string, std::string>> &files) {
  llvm::SmallString<128> dir;
  EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("ssm-test", dir));
  for (const auto &[name, bytes] : files) {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, name);
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    EXPECT_FALSE(ec) << path.str().str();
    os << bytes;
  }
  return std::string(dir);
}

/// A safetensors file: the header's length (8 bytes, little-endian), the
/// JSON header, the data.
inline std::string safetensors(const std::string &header,
                               const std::string &data) {
  std::string image(8, '\0');
  for (int i = 0; i < 8; ++i)
    image[i] =
        static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  return image + header + data;
}

} // namespace ssm_test

#endif // SSM_UNITTESTS_RUNTIME_TESTFILES_H
