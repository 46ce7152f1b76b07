//===- Npy.cpp - reading and writing .npy files ---------------------------===//

#include "ssm/Runtime/Npy.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir::ssm;
using llvm::StringRef;

namespace {

/// The value text after `'key':` in the header dict, or an empty ref.
StringRef valueOf(StringRef header, StringRef key) {
  size_t pos = header.find(("'" + key + "'").str());
  if (pos == StringRef::npos)
    return {};
  StringRef rest = header.drop_front(pos + key.size() + 2).ltrim();
  if (!rest.consume_front(":"))
    return {};
  return rest.ltrim();
}

} // namespace

namespace {
struct NpyHeader {
  DType dtype;
  llvm::SmallVector<int64_t> shape;
  size_t dataStart;  ///< offset of the first data byte
  uint64_t dataSize; ///< bytes of data the shape needs
};
} // namespace

/// Parses the header at the start of `bytes`, which must hold at least the
/// whole header (it may hold more).
static llvm::Expected<NpyHeader> parseHeader(StringRef bytes, StringRef name) {
  static constexpr char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 8 || !bytes.starts_with(StringRef(kMagic, 6)))
    return fileError(name, "not a .npy file (missing the \\x93NUMPY magic)");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t lenBytes = major == 1 ? 2 : (major == 2 || major == 3) ? 4 : 0;
  if (!lenBytes)
    return fileError(name, "unsupported .npy format version " +
                          llvm::Twine(major) + " (expected 1, 2 or 3)");
  if (bytes.size() < 8 + lenBytes)
    return fileError(name, "truncated .npy header");
  size_t headerLen = 0;
  for (size_t i = 0; i < lenBytes; ++i)
    headerLen |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
  size_t dataStart = 8 + lenBytes + headerLen;
  if (bytes.size() < dataStart)
    return fileError(name, "truncated .npy header (header claims " +
                          llvm::Twine(headerLen) + " bytes, file has " +
                          llvm::Twine(bytes.size() - 8 - lenBytes) + ")");
  StringRef header = bytes.slice(8 + lenBytes, dataStart);

  StringRef descr = valueOf(header, "descr");
  if (!descr.consume_front("'") && !descr.consume_front("\""))
    return fileError(name, "unsupported dtype (expected a simple dtype string: "
                           "float32, float64, float16, int32, int64 or int8)");
  descr = descr.take_until([](char c) { return c == '\'' || c == '"'; });
  DType dtype;
  if (descr == "<f4" || descr == "=f4")
    dtype = DType::F32;
  else if (descr == "<f8" || descr == "=f8")
    dtype = DType::F64;
  else if (descr == "<i4" || descr == "=i4")
    dtype = DType::I32;
  else if (descr == "<i8" || descr == "=i8")
    dtype = DType::I64;
  else if (descr == "<f2" || descr == "=f2")
    dtype = DType::F16;
  else if (descr == "|i1" || descr == "<i1" || descr == "=i1")
    dtype = DType::I8;
  else
    return fileError(name, "unsupported dtype '" + descr +
                               "' (expected little-endian float32, float64, "
                               "float16, int32, int64 or int8)");

  StringRef order = valueOf(header, "fortran_order");
  if (order.starts_with("True"))
    return fileError(name, "Fortran-order arrays are not supported (save a "
                      "C-ordered array, e.g. np.ascontiguousarray)");
  if (!order.starts_with("False"))
    return fileError(name, "malformed .npy header: no fortran_order entry");

  StringRef shapeText = valueOf(header, "shape");
  if (!shapeText.consume_front("("))
    return fileError(name, "malformed .npy header: no shape tuple");
  shapeText = shapeText.take_until([](char c) { return c == ')'; });
  llvm::SmallVector<int64_t> shape;
  llvm::SmallVector<StringRef> parts;
  shapeText.split(parts, ',');
  for (StringRef part : parts) {
    part = part.trim();
    if (part.empty())
      continue;
    int64_t dim;
    if (part.getAsInteger(10, dim) || dim < 0)
      return fileError(name, "malformed .npy header: bad dimension '" + part + "'");
    shape.push_back(dim);
  }

  // Reject sizes whose byte count would overflow before allocating.
  uint64_t count = 1;
  for (int64_t d : shape) {
    if (d != 0 && count > (uint64_t(1) << 48) / uint64_t(d))
      return fileError(name, "shape " + shapeString(shape) + " is too large");
    count *= uint64_t(d);
  }
  return NpyHeader{dtype, shape, dataStart, count * dtypeSize(dtype)};
}

static llvm::Error checkDataSize(const NpyHeader &h, uint64_t have,
                                 StringRef name) {
  if (have == h.dataSize)
    return llvm::Error::success();
  return fileError(name, llvm::Twine(have < h.dataSize ? "truncated data: "
                                                  : "trailing data: ") +
                        "a " + dtypeName(h.dtype) + " array of shape " +
                        shapeString(h.shape) + " needs " +
                        llvm::Twine(h.dataSize) + " bytes, the file has " +
                        llvm::Twine(have));
}

llvm::Expected<Array> mlir::ssm::parseNpy(StringRef bytes, StringRef name) {
  auto h = parseHeader(bytes, name);
  if (!h)
    return h.takeError();
  if (llvm::Error err = checkDataSize(*h, bytes.size() - h->dataStart, name))
    return std::move(err);
  Array array(h->dtype, h->shape);
  if (h->dataSize)
    std::memcpy(array.data(), bytes.data() + h->dataStart, h->dataSize);
  return array;
}

llvm::Expected<Array> mlir::ssm::readNpy(StringRef path) {
  // Read the header, then the data straight into the array: no second copy
  // of the data, in memory or mapped.
  auto file = llvm::sys::fs::openNativeFileForRead(path);
  if (!file)
    return fileError(path, "cannot open: " + llvm::toString(file.takeError()));
  llvm::scope_exit closer([&] { llvm::sys::fs::closeFile(*file); });
  uint64_t fileSize = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, fileSize))
    return fileError(path, "cannot open: " + ec.message());
  auto readAt = [&](char *dst, size_t n, uint64_t offset) -> llvm::Error {
    while (n) {
      auto got = llvm::sys::fs::readNativeFileSlice(
          *file, llvm::MutableArrayRef<char>(dst, n), offset);
      if (!got)
        return fileError(path, "cannot read: " + llvm::toString(got.takeError()));
      if (*got == 0)
        return fileError(path, "cannot read: unexpected end of file");
      dst += *got;
      n -= *got;
      offset += *got;
    }
    return llvm::Error::success();
  };
  // The header length sits in bytes 8..11; the header itself is small.
  std::string head(std::min<uint64_t>(fileSize, 12), '\0');
  if (llvm::Error err = readAt(head.data(), head.size(), 0))
    return std::move(err);
  size_t lenBytes = head.size() > 6 && head[6] == 1 ? 2 : 4;
  size_t headerLen = 0;
  for (size_t i = 0; i < lenBytes && 8 + i < head.size(); ++i)
    headerLen |= size_t(static_cast<unsigned char>(head[8 + i])) << (8 * i);
  size_t prefix = std::min<uint64_t>(fileSize, 8 + lenBytes + headerLen);
  head.resize(prefix);
  if (llvm::Error err = readAt(head.data(), prefix, 0))
    return std::move(err);
  auto h = parseHeader(head, path);
  if (!h)
    return h.takeError();
  if (llvm::Error err = checkDataSize(*h, fileSize - h->dataStart, path))
    return std::move(err);
  Array array(h->dtype, h->shape);
  if (h->dataSize)
    if (llvm::Error err = readAt(static_cast<char *>(array.data()),
                                 h->dataSize, h->dataStart))
      return std::move(err);
  return array;
}

static std::string npyHeader(const Array &a) {
  std::string dict;
  llvm::raw_string_ostream os(dict);
  const char *descr = a.dtype() == DType::F32   ? "<f4"
                      : a.dtype() == DType::F64 ? "<f8"
                      : a.dtype() == DType::F16 ? "<f2"
                      : a.dtype() == DType::I32 ? "<i4"
                      : a.dtype() == DType::I8  ? "|i1"
                                                : "<i8";
  os << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': "
     << shapeString(a.shape()) << ", }";
  // Pad with spaces and a newline so the data starts 64-byte aligned.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  return out + dict;
}

llvm::Error mlir::ssm::writeNpyFiles(
    llvm::ArrayRef<std::pair<std::string, const Array *>> files) {
  llvm::SmallVector<std::string> temps;
  auto cleanup = [&] {
    for (const std::string &t : temps)
      llvm::sys::fs::remove(t);
  };
  for (auto [path, array] : files) {
    // numpy has no bfloat16: such an array is written as float32, which
    // holds each of its values exactly.
    Array widened;
    if (array->dtype() == DType::BF16) {
      widened = llvm::cantFail(array->convertTo(DType::F32));
      array = &widened;
    }
    int fd;
    llvm::SmallString<256> temp;
    if (std::error_code ec =
            llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temp)) {
      cleanup();
      return fileError(path, "cannot create output file: " + ec.message());
    }
    temps.push_back(temp.str().str());
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << npyHeader(*array);
    os.write(static_cast<const char *>(array->data()), array->byteSize());
    os.close();
    if (os.has_error()) {
      std::string msg = os.error().message();
      os.clear_error();
      cleanup();
      return fileError(path, "cannot write output file: " + msg);
    }
  }
  for (auto [i, file] : llvm::enumerate(files)) {
    if (std::error_code ec = llvm::sys::fs::rename(temps[i], file.first)) {
      cleanup();
      return fileError(file.first, "cannot write output file: " + ec.message());
    }
  }
  return llvm::Error::success();
}
