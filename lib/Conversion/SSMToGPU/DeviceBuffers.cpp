//===- DeviceBuffers.cpp - device copies for the gpu.launch ops -----------===//
//
// ssm-lower-to-gpu writes kernels against the host buffers of a program on
// tensors, before bufferization; this pass, after bufferization, gives each
// launch device buffers and the copies between them, reusing a device copy
// from one launch to the next while the host leaves its buffer alone, and
// copying back only what the host may read (see Passes.td). It is ours
// because upstream has no such pass: its GPU tests allocate device
// memory by hand or map host memory, which the device reads over the bus.
//
//===----------------------------------------------------------------------===//

#include "BufferRoots.h"
#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/SymbolTable.h"
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

/// How the body of `launch` uses `buffer`, by the memory effects of its
/// users on it (memref and vector loads read, stores write); views inside
/// the kernel pass on their own uses, dims do neither, and any other user
/// (a call, an op without memory effects on it) is taken to do both.
Access accessIn(gpu::LaunchOp launch, Value buffer) {
  Access acc;
  SmallVector<Value> values = {buffer};
  while (!values.empty()) {
    Value v = values.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (!launch->isProperAncestor(user) || isa<memref::DimOp>(user))
        continue;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == v) {
        llvm::append_range(values, user->getResults());
        continue;
      }
      SmallVector<MemoryEffects::EffectInstance> effects;
      if (auto iface = dyn_cast<MemoryEffectOpInterface>(user))
        iface.getEffectsOnValue(v, effects);
      if (effects.empty()) {
        acc.read = acc.written = true;
        continue;
      }
      for (const MemoryEffects::EffectInstance &e : effects) {
        if (isa<MemoryEffects::Read>(e.getEffect()))
          acc.read = true;
        else
          acc.written = true;
      }
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

/// Whether `pred` holds for a use of `buffer` or of a view of it, wherever
/// the view was made (view ops are followed, not asked).
bool anyUseThroughViews(Value buffer, function_ref<bool(OpOperand &)> pred) {
  SmallVector<Value> values = {buffer};
  while (!values.empty()) {
    Value v = values.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == v) {
        llvm::append_range(values, user->getResults());
        continue;
      }
      if (pred(use))
        return true;
    }
  }
  return false;
}

/// The argument attribute that says a memref argument already lives in
/// device memory (see Passes.td).
constexpr llvm::StringLiteral kDeviceResident = "ssm.device_resident";

/// Whether `v` is an argument of a function marked device-resident.
bool isDeviceResident(Value v) { return hasArgumentAttr(v, kDeviceResident); }

/// Marks the arguments of private functions that every call passes a
/// device-resident buffer (or a view of one), until nothing changes: a
/// model's layer function then takes its weights where the model's
/// function has them. A device-resident buffer passed where another call
/// passes host memory, or to a public function, is an error.
LogicalResult propagateThroughCalls(Operation *top) {
  SymbolTableCollection symbols;
  bool changed = true;
  while (changed) {
    changed = false;
    // Per callee argument: whether some call passes a resident buffer and
    // whether some call passes host memory.
    llvm::DenseMap<std::pair<Operation *, unsigned>, std::pair<bool, bool>>
        passed;
    top->walk([&](func::CallOp call) {
      auto callee = symbols.lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      if (!callee)
        return;
      for (auto [i, operand] : llvm::enumerate(call.getOperands())) {
        if (!isa<MemRefType>(operand.getType()))
          continue;
        auto &[resident, host] = passed[{callee, i}];
        (isDeviceResident(rootOf(operand)) ? resident : host) = true;
      }
    });
    for (auto &[key, how] : passed) {
      auto callee = cast<func::FuncOp>(key.first);
      unsigned i = key.second;
      if (!how.first || callee.getArgAttr(i, kDeviceResident))
        continue;
      if (how.second || !callee.isPrivate() || callee.isExternal())
        return callee.emitError("ssm-gpu-device-buffers: argument #")
               << i << " of @" << callee.getSymName()
               << " is given a device-resident buffer by one call, but "
               << (how.second ? "host memory by another"
                              : "the function is public or external")
               << "; the host cannot read device memory";
      callee.setArgAttr(i, kDeviceResident, UnitAttr::get(top->getContext()));
      changed = true;
    }
  }
  return success();
}

/// Checks that the host only passes device-resident arguments on: views of
/// them, their sizes, kernels, and calls that take them device-resident.
LogicalResult checkHostUses(FunctionOpInterface func) {
  for (BlockArgument arg : func.getArguments()) {
    if (!isDeviceResident(arg))
      continue;
    bool bad = anyUseThroughViews(arg, [&](OpOperand &use) {
      Operation *user = use.getOwner();
      if (isa<memref::DimOp>(user) || user->getParentOfType<gpu::LaunchOp>())
        return false;
      if (auto call = dyn_cast<func::CallOp>(user)) {
        auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
            call, call.getCalleeAttr());
        if (callee &&
            callee.getArgAttr(use.getOperandNumber(), kDeviceResident))
          return false;
      }
      user->emitError("ssm-gpu-device-buffers: this op uses argument #")
          << arg.getArgNumber() << " of @" << func.getName()
          << " on the host, but the argument is device-resident ("
          << kDeviceResident << "): only kernels may read it";
      return true;
    });
    if (bad)
      return failure();
  }
  return success();
}

/// Whether a host op between `from` and `to` (two ops of one block) may
/// write or free `buffer`, a memref.alloc or a `llvm.noalias` argument
/// (memory nothing else reaches): any use of the buffer or of a
/// view of it, inside an op of the block between the two, other than a
/// read. Launches are not asked about: the caller passes the last launch
/// that used the buffer as `from`.
bool mayChangeBetween(Value buffer, Operation *from, Operation *to) {
  Block *block = from->getBlock();
  return anyUseThroughViews(buffer, [&](OpOperand &use) {
    Operation *user = use.getOwner();
    Operation *inBlock = block->findAncestorOpInBlock(*user);
    if (!inBlock || !from->isBeforeInBlock(inBlock) ||
        !inBlock->isBeforeInBlock(to) || isa<memref::DimOp>(user))
      return false;
    auto effects = dyn_cast<MemoryEffectOpInterface>(user);
    if (!effects)
      return true;
    SmallVector<MemoryEffects::EffectInstance> onValue;
    effects.getEffectsOnValue(use.get(), onValue);
    return llvm::any_of(onValue, [](const MemoryEffects::EffectInstance &e) {
      return !isa<MemoryEffects::Read>(e.getEffect());
    });
  });
}

/// Whether `op`, or an op nested in it, may have a memory effect that
/// `conflicts` accepts; an op that does not describe its effects (nor
/// takes its regions' as its own) may have any.
bool anyEffect(
    Operation *op,
    function_ref<bool(const MemoryEffects::EffectInstance &)> conflicts) {
  WalkResult walk = op->walk([&](Operation *nested) {
    auto effects = dyn_cast<MemoryEffectOpInterface>(nested);
    if (!effects)
      return nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>()
                 ? WalkResult::advance()
                 : WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> all;
    effects.getEffects(all);
    return llvm::any_of(all, conflicts) ? WalkResult::interrupt()
                                        : WalkResult::advance();
  });
  return walk.wasInterrupted();
}

/// Whether `root` (an allocation or an argument) is memory that only its
/// own views reach: an allocation of the function, or an argument marked
/// `llvm.noalias`.
bool isDistinct(Value root) {
  return isAllocation(root) || isNoAliasArgument(root);
}

/// Whether an op between `from` and `to` (two ops of one block) may write
/// or free memory that an argument not marked `llvm.noalias` may share:
/// such an argument or a view of one, which may alias any other. Launches
/// are asked through their bodies (accessIn), other ops through their
/// memory effects; an op without them may write anything.
bool mayWriteArgumentsBetween(Operation *from, Operation *to) {
  for (Operation *op = from->getNextNode(); op && op != to;
       op = op->getNextNode()) {
    if (auto launch = dyn_cast<gpu::LaunchOp>(op)) {
      SetVector<Value> above;
      getUsedValuesDefinedAbove(launch.getBody(), above);
      for (Value v : above)
        if (isa<MemRefType>(v.getType()) && !isDistinct(rootOf(v)) &&
            accessIn(launch, v).written)
          return true;
      continue;
    }
    if (anyEffect(op, [](const MemoryEffects::EffectInstance &e) {
          Value target = e.getValue();
          return isa<MemoryEffects::Write, MemoryEffects::Free>(
                     e.getEffect()) &&
                 (!target || !isDistinct(rootOf(target)));
        }))
      return true;
  }
  return false;
}

/// What a launch does with one host buffer, decided before any rewrite.
struct Use {
  Value host;
  unsigned device; // index into the block's device buffers
  bool fresh;      // a new device buffer (else one an earlier launch left)
  bool copyIn;
  bool written; // the kernel writes it
  bool copyOut; // the host reads what it wrote (decided last)
};

/// Whether the host may read `buffer` (a memref.alloc or a `llvm.noalias`
/// argument), or a view of it
/// (made anywhere), after `launch` wrote it and before `until` (the next
/// launch that writes its device copy, or null): any use in that range,
/// other than a dim, a dealloc, or a use in one of the launches in
/// `onDevice` (served by the same device copy) of the buffer or of a view
/// made inside that launch.
bool hostReadsBetween(Value buffer, Operation *launch, Operation *until,
                      ArrayRef<Operation *> onDevice) {
  Block *block = launch->getBlock();
  return anyUseThroughViews(buffer, [&](OpOperand &use) {
    Operation *user = use.getOwner();
    Operation *inBlock = block->findAncestorOpInBlock(*user);
    if (!inBlock)
      return true;
    if (inBlock == launch || inBlock->isBeforeInBlock(launch) ||
        (until && until->isBeforeInBlock(inBlock)) ||
        isa<memref::DimOp, memref::DeallocOp>(user))
      return false;
    Value used = use.get();
    Operation *view = used.getDefiningOp();
    bool viaDevice = used == buffer || (view && inBlock->isAncestor(view));
    return !(viaDevice && llvm::is_contained(onDevice, inBlock));
  });
}

/// The ops one launch became: its stream's opening `gpu.wait async`, then
/// allocations, copies, the launch and deallocations up to `last`, whose
/// token ends the chain.
struct Group {
  Operation *open, *last;
  Value token;
};

/// Whether the host op `op` must wait for the device work in flight, which
/// copies to or from `host`: it reads, writes or frees memory that may be
/// one of them, touches memory it does not name, or calls a function.
/// Allocating is free; so are ops without memory effects (views, dims,
/// index arithmetic).
bool mustWait(Operation *op, ArrayRef<Value> host) {
  WalkResult calls =
      op->walk([](CallOpInterface) { return WalkResult::interrupt(); });
  return calls.wasInterrupted() ||
         anyEffect(op, [&](const MemoryEffects::EffectInstance &e) {
           Value target = e.getValue();
           return !isa<MemoryEffects::Allocate>(e.getEffect()) &&
                  (!target || llvm::any_of(host, [&](Value h) {
                    return mayAlias(target, h);
                  }));
         });
}

/// Joins the launches of `block` into as few streams as the host allows:
/// a launch's chain continues the previous one's unless a host op between
/// them must wait (mustWait); the host waits for a stream there, and
/// before the block's terminator (a caller reads the results).
void joinStreams(Block *block, ArrayRef<Group> groups) {
  llvm::DenseMap<Operation *, const Group *> byOpen;
  for (const Group &g : groups)
    byOpen[g.open] = &g;
  Value open;
  SmallVector<Value> host; // the host buffers the open stream copies
  auto close = [&](Operation *before) {
    OpBuilder b(before);
    gpu::WaitOp::create(b, before->getLoc(), Type(), ValueRange{open});
    open = nullptr;
    host.clear();
  };
  for (Operation *op = &block->front(); op; op = op->getNextNode()) {
    if (const Group *g = byOpen.lookup(op)) {
      for (Operation *in = g->open->getNextNode();; in = in->getNextNode()) {
        if (auto copy = dyn_cast<gpu::MemcpyOp>(in))
          for (Value v : {copy.getDst(), copy.getSrc()})
            if (!v.getDefiningOp<gpu::AllocOp>())
              host.push_back(v);
        if (in == g->last)
          break;
      }
      // The launch continues the open stream instead of opening its own.
      if (open) {
        g->open->getResult(0).replaceAllUsesWith(open);
        g->open->erase();
      }
      open = g->token;
      op = g->last;
      continue;
    }
    if (open && (op->hasTrait<OpTrait::IsTerminator>() || mustWait(op, host)))
      close(op);
  }
}

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
    if (failed(propagateThroughCalls(getOperation())))
      return signalPassFailure();
    WalkResult checked = getOperation()->walk([](FunctionOpInterface func) {
      return failed(checkHostUses(func)) ? WalkResult::interrupt()
                                         : WalkResult::advance();
    });
    if (checked.wasInterrupted())
      return signalPassFailure();
    // Views of host buffers into the kernels (a slice of a stacked state
    // is strided): each kernel then captures whole row-major buffers.
    OpBuilder builder(&getContext());
    for (auto &entry : byBlock)
      for (gpu::LaunchOp launch : entry.second)
        sinkViews(builder, launch.getBody());
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
  /// next while nothing else writes or frees its buffer in between: the
  /// later launch reuses it, with no copy in), which writes the host may
  /// read, then the rewrite, each device buffer freed in the chain of the
  /// last launch that uses it.
  LogicalResult rewriteBlock(MutableArrayRef<gpu::LaunchOp> launches,
                             DominanceInfo &dom) {
    Block *parent = launches.front()->getBlock();
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
        if (!type || type.getMemorySpace() || isDeviceResident(rootOf(host)))
          continue;
        if (!type.getLayout().isIdentity())
          return launch.emitError("ssm-gpu-device-buffers: the kernel uses a "
                                  "buffer with a non-identity layout (")
                 << type
                 << "); only row-major buffers are copied to the device";
        Access acc = accessIn(launch, host);
        Use use{host, 0, true, false, acc.written, acc.written};
        auto it = live.find(host);
        bool valid = false;
        if (it != live.end()) {
          Operation *previous = it->second.second;
          // Only the uses of an allocation or of a `llvm.noalias` argument
          // can change it; any write to an argument may change another.
          if (host.getDefiningOp<memref::AllocOp>() || isNoAliasArgument(host))
            valid = !mayChangeBetween(host, previous, launch);
          else if (isa<BlockArgument>(host))
            valid = !mayWriteArgumentsBetween(previous, launch);
        }
        if (valid) {
          use.device = it->second.first;
          use.fresh = false;
        } else {
          use.device = lastUse.size();
          lastUse.push_back(i);
          // A fresh allocation's contents are undefined: nothing to copy,
          // even for a kernel that reads it.
          use.copyIn = (acc.read || acc.written) &&
                       !isFreshAllocation(host, launch, dom);
        }
        lastUse[use.device] = i;
        live[host] = {use.device, launch};
        uses[i].push_back(use);
      }
    }

    // Copies back only what the host may read before the device copy is
    // written again (that launch copies back the whole buffer): an
    // allocation that only later kernels read stays on the device, and a
    // `llvm.noalias` argument goes back once, after the last kernel that
    // writes it (the caller reads it after the function returns). Any
    // other argument goes back after each kernel that writes it: the host
    // may read it through another argument.
    for (auto [i, launch] : llvm::enumerate(launches)) {
      for (Use &use : uses[i]) {
        bool noAliasArgument = isNoAliasArgument(use.host);
        if (!use.written ||
            !(use.host.getDefiningOp<memref::AllocOp>() || noAliasArgument))
          continue;
        Operation *until = nullptr;
        SmallVector<Operation *> onDevice;
        for (size_t j = i + 1; j < launches.size() && !until; ++j)
          for (const Use &later : uses[j])
            if (later.device == use.device && later.host == use.host) {
              onDevice.push_back(launches[j]);
              if (later.written)
                until = launches[j];
            }
        use.copyOut = (noAliasArgument && !until) ||
                      hostReadsBetween(use.host, launch, until, onDevice);
      }
    }

    SmallVector<Value> device(lastUse.size());
    SmallVector<Group> groups;
    // Every launch joins the chain, also one that uses no host buffer (only
    // device-resident ones): it must stay ordered with the others.
    for (auto [i, launch] : llvm::enumerate(launches)) {
      OpBuilder b(launch);
      Location loc = launch.getLoc();
      Type tokenType = gpu::AsyncTokenType::get(b.getContext());
      auto opening = gpu::WaitOp::create(b, loc, tokenType, ValueRange{});
      Value token = opening.getAsyncToken();
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
      groups.push_back({opening, token.getDefiningOp(), token});
      launch.erase();
    }
    if (!groups.empty())
      joinStreams(parent, groups);
    return success();
  }
};

} // namespace
