//===- DeviceBuffers.cpp - device copies around each gpu.launch -----------===//
//
// ssm-lower-to-gpu writes kernels against the host buffers of a program on
// tensors, before bufferization; this pass, after bufferization, gives each
// launch device buffers and the copies between them (see Passes.td). It is
// ours because upstream has no such pass: its GPU tests allocate device
// memory by hand or map host memory, which the device reads over the bus.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMGPUDEVICEBUFFERS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

struct Access {
  bool read = false, written = false;
};

/// How the body of `launch` uses `buffer`: loads read, stores write, dims do
/// neither, anything else (a view, a call) is taken to do both.
Access accessIn(gpu::LaunchOp launch, Value buffer) {
  Access acc;
  for (OpOperand &use : buffer.getUses()) {
    Operation *user = use.getOwner();
    if (!launch->isProperAncestor(user))
      continue;
    if (isa<memref::LoadOp>(user)) {
      acc.read = true;
    } else if (auto store = dyn_cast<memref::StoreOp>(user)) {
      if (store.getMemRef() == buffer)
        acc.written = true;
      else
        acc.read = acc.written = true; // the buffer itself is stored
    } else if (!isa<memref::DimOp>(user)) {
      acc.read = acc.written = true;
    }
  }
  return acc;
}

/// A fresh memref.alloc whose contents nothing reads or writes before
/// `launch` (its sizes may be asked): they are undefined, so there is
/// nothing to copy in.
bool isFreshAllocation(Value buffer, gpu::LaunchOp launch, DominanceInfo &dom) {
  if (!buffer.getDefiningOp<memref::AllocOp>())
    return false;
  for (Operation *user : buffer.getUsers())
    if (!isa<memref::DimOp>(user) && !launch->isAncestor(user) &&
        !dom.properlyDominates(launch, user))
      return false;
  return true;
}

struct SSMGPUDeviceBuffersPass
    : ssm::impl::SSMGPUDeviceBuffersBase<SSMGPUDeviceBuffersPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation()->walk([&](gpu::LaunchOp launch) {
      if (!launch.getAsyncToken())
        launches.push_back(launch);
    });
    DominanceInfo dom(getOperation());
    for (gpu::LaunchOp launch : launches)
      if (failed(rewrite(launch, dom)))
        return signalPassFailure();
  }

  LogicalResult rewrite(gpu::LaunchOp launch, DominanceInfo &dom) {
    if (launch.hasClusterSize())
      return launch.emitError(
          "ssm-gpu-device-buffers: launches with clusters are not supported");
    SetVector<Value> above;
    getUsedValuesDefinedAbove(launch.getBody(), above);
    SmallVector<Value> buffers;
    for (Value v : above) {
      auto type = dyn_cast<MemRefType>(v.getType());
      if (!type || type.getMemorySpace())
        continue;
      if (!type.getLayout().isIdentity())
        return launch.emitError("ssm-gpu-device-buffers: the kernel uses a "
                                "buffer with a non-identity layout (")
               << type << "); only row-major buffers are copied to the device";
      buffers.push_back(v);
    }
    if (buffers.empty())
      return success();

    // Decided before any op is added.
    SmallVector<Access> access;
    SmallVector<bool> copyIn;
    for (Value host : buffers) {
      Access acc = accessIn(launch, host);
      access.push_back(acc);
      copyIn.push_back(acc.read ||
                       (acc.written && !isFreshAllocation(host, launch, dom)));
    }

    OpBuilder b(launch);
    Location loc = launch.getLoc();
    Type tokenType = gpu::AsyncTokenType::get(b.getContext());
    Value token =
        gpu::WaitOp::create(b, loc, tokenType, ValueRange{}).getAsyncToken();
    SmallVector<Value> device;
    for (auto [host, in] : llvm::zip(buffers, copyIn)) {
      auto type = cast<MemRefType>(host.getType());
      SmallVector<Value> sizes;
      for (int64_t i = 0; i < type.getRank(); ++i)
        if (type.isDynamicDim(i))
          sizes.push_back(memref::DimOp::create(b, loc, host, i));
      auto alloc = gpu::AllocOp::create(b, loc, type, tokenType,
                                        ValueRange{token}, sizes,
                                        /*symbolOperands=*/ValueRange{});
      token = alloc.getAsyncToken();
      if (in)
        token = gpu::MemcpyOp::create(b, loc, tokenType, ValueRange{token},
                                      alloc.getMemref(), host)
                    .getAsyncToken();
      device.push_back(alloc.getMemref());
    }

    // The same launch, asynchronous on the chain, on the device buffers.
    auto grid = launch.getGridSizeOperandValues();
    auto block = launch.getBlockSizeOperandValues();
    SmallVector<Type> workgroup, priv;
    for (BlockArgument arg : launch.getWorkgroupAttributions())
      workgroup.push_back(arg.getType());
    for (BlockArgument arg : launch.getPrivateAttributions())
      priv.push_back(arg.getType());
    auto async =
        gpu::LaunchOp::create(b, loc, grid.x, grid.y, grid.z, block.x, block.y,
                              block.z, launch.getDynamicSharedMemorySize(),
                              tokenType, ValueRange{token}, workgroup, priv);
    async.getBody().takeBody(launch.getBody());
    for (auto [host, dev] : llvm::zip(buffers, device))
      replaceAllUsesInRegionWith(host, dev, async.getBody());
    token = async.getAsyncToken();

    for (auto [host, dev, acc] : llvm::zip(buffers, device, access))
      if (acc.written)
        token = gpu::MemcpyOp::create(b, loc, tokenType, ValueRange{token},
                                      host, dev)
                    .getAsyncToken();
    for (Value dev : device)
      token = gpu::DeallocOp::create(b, loc, tokenType, ValueRange{token}, dev)
                  .getAsyncToken();
    gpu::WaitOp::create(b, loc, Type(), ValueRange{token});
    launch.erase();
    return success();
  }
};

} // namespace
