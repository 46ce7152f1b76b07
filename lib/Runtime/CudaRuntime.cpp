//===- CudaRuntime.cpp - mgpu* entry points over the CUDA driver API ------===//
//
// The functions MLIR 22's lowering of gpu ops calls (signatures as
// gpu-to-llvm declares them; docs/gpu.md lists them), implemented on the
// driver API with the primary context of device 0 pushed around each call.
// See include/ssm/Runtime/CudaRuntime.h for the error protocol.
//
// Device memory comes from the device's stream-ordered pool (cuMemAllocAsync)
// with its release threshold raised, so that a program called repeatedly
// reuses its buffers instead of paying cuMemAlloc each call. Empty arrays
// are legal in ssm programs: a zero-byte allocation is a null pointer, and
// a zero-byte copy or a launch of no blocks does nothing.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/CudaRuntime.h"
#include "ssm/Runtime/FirstError.h"

#include <cuda.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#define SSM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

mlir::ssm::FirstError errors;

/// "CUDA_ERROR_X (text)", or the code when the library cannot name it (the
/// toolkit's stub libcuda answers every call with CUDA_ERROR_STUB_LIBRARY).
std::string describe(CUresult result) {
  if (result == CUDA_ERROR_STUB_LIBRARY)
    return "CUDA_ERROR_STUB_LIBRARY (libcuda.so.1 is the CUDA toolkit's stub, "
           "not a driver)";
  const char *name = nullptr, *text = nullptr;
  if (cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    return "CUDA error " + std::to_string(static_cast<int>(result));
  std::string s = name;
  if (cuGetErrorString(result, &text) == CUDA_SUCCESS && text)
    s += std::string(" (") + text + ")";
  return s;
}

void record(const char *call, CUresult result, const char *detail = "") {
  if (errors.hasFailed())
    return;
  std::string message = std::string(call) + " failed: " + describe(result);
  if (*detail)
    message += std::string(": ") + detail;
  errors.record(message);
}

bool hasFailed() { return errors.hasFailed(); }

#define CHECK(call)                                                            \
  do {                                                                         \
    CUresult r_ = (call);                                                      \
    if (r_ != CUDA_SUCCESS)                                                    \
      record(#call, r_);                                                       \
  } while (0)

CUdevice device = 0;
int defaultDevice = 0;

/// The primary context of the default device, created once.
CUcontext primaryContext() {
  static CUcontext ctx = [] {
    CUcontext c = nullptr;
    CUresult r = cuInit(0);
    if (r != CUDA_SUCCESS) {
      record("cuInit(0)", r);
      return c;
    }
    CHECK(cuDeviceGet(&device, defaultDevice));
    CHECK(cuDevicePrimaryCtxRetain(&c, device));
    if (c) {
      // Keep freed pool memory for the next call.
      CUmemoryPool pool;
      if (cuDeviceGetDefaultMemPool(&pool, device) == CUDA_SUCCESS) {
        cuuint64_t keep = UINT64_MAX;
        cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep);
      }
    }
    return c;
  }();
  return ctx;
}

/// Pushes the primary context for the lifetime of the object. `ok` is false
/// when an earlier call failed or there is no context: the caller then does
/// nothing.
struct Scoped {
  bool ok;
  Scoped() {
    CUcontext ctx = primaryContext();
    ok = ctx && !hasFailed();
    if (ok)
      CHECK(cuCtxPushCurrent(ctx));
  }
  ~Scoped() {
    if (ok) {
      CUcontext popped;
      cuCtxPopCurrent(&popped);
    }
  }
};

} // namespace

SSM_EXPORT int ssmCudaInit(char *message, size_t size) {
  CUresult r = cuInit(0);
  int count = 0;
  if (r == CUDA_SUCCESS)
    r = cuDeviceGetCount(&count);
  if (r == CUDA_SUCCESS && count > 0)
    return 0;
  if (r == CUDA_SUCCESS)
    std::snprintf(message, size, "the CUDA driver reports no GPU");
  else
    std::snprintf(message, size, "the CUDA driver cannot start: %s",
                  describe(r).c_str());
  return 1;
}

SSM_EXPORT int ssmCudaTakeError(char *message, size_t size) {
  return errors.take(message, size);
}

//===----------------------------------------------------------------------===//
// Modules and launches
//===----------------------------------------------------------------------===//

SSM_EXPORT CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  Scoped s;
  CUmodule module = nullptr;
  if (s.ok)
    CHECK(cuModuleLoadData(&module, data));
  return module;
}

SSM_EXPORT CUmodule mgpuModuleLoadJIT(void *ptx, int optLevel) {
  Scoped s;
  CUmodule module = nullptr;
  if (!s.ok)
    return module;
  char log[4096] = {0};
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel)),
                    log, reinterpret_cast<void *>(sizeof(log))};
  CUresult r = cuModuleLoadDataEx(&module, ptx, 3, options, values);
  if (r != CUDA_SUCCESS)
    record("cuModuleLoadDataEx (the driver compiling the PTX)", r, log);
  return module;
}

SSM_EXPORT void mgpuModuleUnload(CUmodule module) {
  // Runs from a global destructor, after any error: always unload.
  if (module && primaryContext()) {
    cuCtxPushCurrent(primaryContext());
    cuModuleUnload(module);
    CUcontext popped;
    cuCtxPopCurrent(&popped);
  }
}

SSM_EXPORT CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  Scoped s;
  CUfunction function = nullptr;
  if (s.ok && module)
    CHECK(cuModuleGetFunction(&function, module, name));
  return function;
}

SSM_EXPORT void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                 intptr_t gridY, intptr_t gridZ,
                                 intptr_t blockX, intptr_t blockY,
                                 intptr_t blockZ, int32_t smem, CUstream stream,
                                 void **params, void **extra,
                                 size_t /*paramsCount*/) {
  Scoped s;
  if (!s.ok || !function || gridX == 0 || gridY == 0 || gridZ == 0)
    return;
  // More than the default 48 KiB of dynamic shared memory needs opting in.
  if (smem > 48 * 1024)
    CHECK(cuFuncSetAttribute(
        function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem));
  CHECK(cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                       smem, stream, params, extra));
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

SSM_EXPORT CUstream mgpuStreamCreate() {
  Scoped s;
  CUstream stream = nullptr;
  if (s.ok)
    CHECK(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
  return stream;
}

SSM_EXPORT void mgpuStreamDestroy(CUstream stream) {
  Scoped s;
  if (stream)
    cuStreamDestroy(stream);
}

SSM_EXPORT void mgpuStreamSynchronize(CUstream stream) {
  Scoped s;
  if (s.ok && stream)
    CHECK(cuStreamSynchronize(stream));
}

SSM_EXPORT void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  Scoped s;
  if (s.ok && stream && event)
    CHECK(cuStreamWaitEvent(stream, event, 0));
}

SSM_EXPORT CUevent mgpuEventCreate() {
  Scoped s;
  CUevent event = nullptr;
  if (s.ok)
    CHECK(cuEventCreate(&event, CU_EVENT_DISABLE_TIMING));
  return event;
}

SSM_EXPORT void mgpuEventDestroy(CUevent event) {
  Scoped s;
  if (event)
    cuEventDestroy(event);
}

SSM_EXPORT void mgpuEventSynchronize(CUevent event) {
  Scoped s;
  if (s.ok && event)
    CHECK(cuEventSynchronize(event));
}

SSM_EXPORT void mgpuEventRecord(CUevent event, CUstream stream) {
  Scoped s;
  if (s.ok && event)
    CHECK(cuEventRecord(event, stream));
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

SSM_EXPORT void *mgpuMemAlloc(uint64_t bytes, CUstream stream,
                              bool isHostShared) {
  Scoped s;
  CUdeviceptr ptr = 0;
  if (!s.ok || bytes == 0)
    return nullptr;
  if (isHostShared)
    CHECK(cuMemAllocManaged(&ptr, bytes, CU_MEM_ATTACH_GLOBAL));
  else
    CHECK(cuMemAllocAsync(&ptr, bytes, stream));
  return reinterpret_cast<void *>(ptr);
}

SSM_EXPORT void mgpuMemFree(void *ptr, CUstream stream) {
  Scoped s;
  if (ptr)
    cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(ptr), stream);
}

SSM_EXPORT void mgpuMemcpy(void *dst, void *src, size_t bytes,
                           CUstream stream) {
  Scoped s;
  if (s.ok && bytes)
    CHECK(cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                        reinterpret_cast<CUdeviceptr>(src), bytes, stream));
}

SSM_EXPORT void mgpuMemset32(void *dst, unsigned value, size_t count,
                             CUstream stream) {
  Scoped s;
  if (s.ok && count)
    CHECK(cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                           stream));
}

SSM_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                             CUstream stream) {
  Scoped s;
  if (s.ok && count)
    CHECK(cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                           stream));
}

SSM_EXPORT void mgpuSetDefaultDevice(int32_t index) { defaultDevice = index; }
