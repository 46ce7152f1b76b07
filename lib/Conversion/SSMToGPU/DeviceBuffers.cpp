//===- DeviceBuffers.cpp - device copies for the gpu.launch ops -----------===//
//
// ssm-lower-to-gpu writes kernels against the host buffers of a program on
// tensors, before bufferization; this pass, after bufferization, gives each
// launch device buffers and the copies between them, reusing a device copy
// from one launch to the next while the host leaves its buffer alone (see
// Passes.td). It is
// ours because upstream has no such pass: its GPU tests allocate device
// memory by hand or map host memory, which the device reads over the bus.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/MapVector.h"

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

/// Whether a host op between `from` and `to` (two ops of one block) may
/// write or free `buffer`, a memref.alloc: any user of the buffer or of a
/// view of it, inside an op of the block between the two, other than a
/// read. Launches are not asked about: the caller passes the last launch
/// that used the buffer as `from`.
bool mayChangeBetween(Value buffer, Operation *from, Operation *to) {
  Block *block = from->getBlock();
  SmallVector<Value> aliases = {buffer};
  while (!aliases.empty()) {
    Value v = aliases.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      Operation *inBlock = block->findAncestorOpInBlock(*user);
      if (!inBlock || !from->isBeforeInBlock(inBlock) ||
          !inBlock->isBeforeInBlock(to))
        continue;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
        if (view.getViewSource() == v) {
          llvm::append_range(aliases, user->getResults());
          continue;
        }
      }
      if (isa<memref::DimOp>(user))
        continue;
      auto effects = dyn_cast<MemoryEffectOpInterface>(user);
      if (!effects)
        return true;
      SmallVector<MemoryEffects::EffectInstance> onValue;
      effects.getEffectsOnValue(v, onValue);
      if (llvm::any_of(onValue, [](const MemoryEffects::EffectInstance &e) {
            return !isa<MemoryEffects::Read>(e.getEffect());
          }))
        return true;
    }
  }
  return false;
}

/// What a launch does with one host buffer, decided before any rewrite.
struct Use {
  Value host;
  unsigned device; // index into the block's device buffers
  bool fresh;      // a new device buffer (else one an earlier launch left)
  bool copyIn, copyOut;
};

struct SSMGPUDeviceBuffersPass
    : ssm::impl::SSMGPUDeviceBuffersBase<SSMGPUDeviceBuffersPass> {
  using Base::Base;

  void runOnOperation() override {
    // Synchronous launches by block, in order.
    llvm::MapVector<Block *, SmallVector<gpu::LaunchOp>> byBlock;
    getOperation()->walk([&](gpu::LaunchOp launch) {
      if (!launch.getAsyncToken())
        byBlock[launch->getBlock()].push_back(launch);
    });
    DominanceInfo dom(getOperation());
    for (auto &[block, launches] : byBlock) {
      llvm::sort(launches, [](gpu::LaunchOp a, gpu::LaunchOp b) {
        return a->isBeforeInBlock(b);
      });
      if (failed(rewriteBlock(launches, dom)))
        return signalPassFailure();
    }
  }

  /// The launches of one block: which host buffers each uses, which device
  /// buffer serves each (a device copy stays valid from one launch to the
  /// next while the host neither writes nor frees its buffer in between:
  /// the later launch reuses it, with no copy in), then the rewrite, each
  /// device buffer freed in the chain of the last launch that uses it.
  LogicalResult rewriteBlock(MutableArrayRef<gpu::LaunchOp> launches,
                             DominanceInfo &dom) {
    SmallVector<SmallVector<Use>> uses(launches.size());
    SmallVector<unsigned> lastUse; // per device buffer, a launch index
    // The device copy of each host buffer and the last launch using it.
    llvm::DenseMap<Value, std::pair<unsigned, Operation *>> live;
    for (auto [i, launch] : llvm::enumerate(launches)) {
      if (launch.hasClusterSize())
        return launch.emitError(
            "ssm-gpu-device-buffers: launches with clusters are not supported");
      SetVector<Value> above;
      getUsedValuesDefinedAbove(launch.getBody(), above);
      for (Value host : above) {
        auto type = dyn_cast<MemRefType>(host.getType());
        if (!type || type.getMemorySpace())
          continue;
        if (!type.getLayout().isIdentity())
          return launch.emitError("ssm-gpu-device-buffers: the kernel uses a "
                                  "buffer with a non-identity layout (")
                 << type
                 << "); only row-major buffers are copied to the device";
        Access acc = accessIn(launch, host);
        Use use{host, 0, true, false, acc.written};
        auto it = live.find(host);
        if (it != live.end() && host.getDefiningOp<memref::AllocOp>() &&
            !mayChangeBetween(host, it->second.second, launch)) {
          use.device = it->second.first;
          use.fresh = false;
        } else {
          use.device = lastUse.size();
          lastUse.push_back(i);
          use.copyIn = acc.read ||
                       (acc.written && !isFreshAllocation(host, launch, dom));
        }
        lastUse[use.device] = i;
        live[host] = {use.device, launch};
        uses[i].push_back(use);
      }
    }

    SmallVector<Value> device(lastUse.size());
    for (auto [i, launch] : llvm::enumerate(launches)) {
      if (uses[i].empty())
        continue;
      OpBuilder b(launch);
      Location loc = launch.getLoc();
      Type tokenType = gpu::AsyncTokenType::get(b.getContext());
      Value token =
          gpu::WaitOp::create(b, loc, tokenType, ValueRange{}).getAsyncToken();
      for (const Use &use : uses[i]) {
        if (!use.fresh)
          continue;
        auto type = cast<MemRefType>(use.host.getType());
        SmallVector<Value> sizes;
        for (int64_t d = 0; d < type.getRank(); ++d)
          if (type.isDynamicDim(d))
            sizes.push_back(memref::DimOp::create(b, loc, use.host, d));
        auto alloc = gpu::AllocOp::create(b, loc, type, tokenType,
                                          ValueRange{token}, sizes,
                                          /*symbolOperands=*/ValueRange{});
        token = alloc.getAsyncToken();
        if (use.copyIn)
          token = gpu::MemcpyOp::create(b, loc, tokenType, ValueRange{token},
                                        alloc.getMemref(), use.host)
                      .getAsyncToken();
        device[use.device] = alloc.getMemref();
      }

      // The same launch, asynchronous on the chain, on the device buffers.
      auto grid = launch.getGridSizeOperandValues();
      auto block = launch.getBlockSizeOperandValues();
      SmallVector<Type> workgroup, priv;
      for (BlockArgument arg : launch.getWorkgroupAttributions())
        workgroup.push_back(arg.getType());
      for (BlockArgument arg : launch.getPrivateAttributions())
        priv.push_back(arg.getType());
      auto async = gpu::LaunchOp::create(
          b, loc, grid.x, grid.y, grid.z, block.x, block.y, block.z,
          launch.getDynamicSharedMemorySize(), tokenType, ValueRange{token},
          workgroup, priv);
      async.getBody().takeBody(launch.getBody());
      for (const Use &use : uses[i])
        replaceAllUsesInRegionWith(use.host, device[use.device],
                                   async.getBody());
      token = async.getAsyncToken();

      for (const Use &use : uses[i])
        if (use.copyOut)
          token = gpu::MemcpyOp::create(b, loc, tokenType, ValueRange{token},
                                        use.host, device[use.device])
                      .getAsyncToken();
      for (const Use &use : uses[i])
        if (lastUse[use.device] == i)
          token = gpu::DeallocOp::create(b, loc, tokenType, ValueRange{token},
                                         device[use.device])
                      .getAsyncToken();
      gpu::WaitOp::create(b, loc, Type(), ValueRange{token});
      launch.erase();
    }
    return success();
  }
};

} // namespace
