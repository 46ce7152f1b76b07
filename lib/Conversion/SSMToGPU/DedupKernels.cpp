//===- DedupKernels.cpp - one gpu.module per distinct kernel --------------===//
//
// gpu-kernel-outlining outlines every gpu.launch into its own gpu.module,
// so a kernel launched from several places (a layer's kernels in each of a
// model's inlined layers) is compiled, assembled and loaded once per
// launch. Upstream has no pass that merges them; this one keeps the first
// of each set of identical modules (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMGPUDEDUPKERNELS
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// An operation's attributes without its symbol name.
SmallVector<NamedAttribute> attributesButName(Operation *op) {
  SmallVector<NamedAttribute> attrs;
  for (NamedAttribute a : op->getAttrs())
    if (a.getName() != SymbolTable::getSymbolAttrName())
      attrs.push_back(a);
  return attrs;
}

/// The single function of an outlined module, or null.
gpu::GPUFuncOp onlyKernel(gpu::GPUModuleOp module) {
  gpu::GPUFuncOp kernel;
  for (Operation &op : module.getBody()->getOperations()) {
    auto func = dyn_cast<gpu::GPUFuncOp>(op);
    if (!func || kernel)
      return nullptr;
    kernel = func;
  }
  return kernel;
}

bool equivalent(gpu::GPUModuleOp a, gpu::GPUModuleOp b) {
  gpu::GPUFuncOp fa = onlyKernel(a), fb = onlyKernel(b);
  return fa && fb && attributesButName(a) == attributesButName(b) &&
         attributesButName(fa) == attributesButName(fb) &&
         OperationEquivalence::isRegionEquivalentTo(
             &fa.getBody(), &fb.getBody(),
             OperationEquivalence::IgnoreLocations);
}

struct SSMGPUDedupKernelsPass
    : ssm::impl::SSMGPUDedupKernelsBase<SSMGPUDedupKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp top = getOperation();
    // Kept modules by a hash of their kernel's body; each duplicate maps to
    // the reference of the kernel that replaces it.
    llvm::DenseMap<llvm::hash_code, SmallVector<gpu::GPUModuleOp>> kept;
    llvm::DenseMap<StringAttr, SymbolRefAttr> replacement;
    SmallVector<gpu::GPUModuleOp> erased;
    for (auto module : top.getOps<gpu::GPUModuleOp>()) {
      gpu::GPUFuncOp kernel = onlyKernel(module);
      if (!kernel)
        continue;
      llvm::hash_code hash = llvm::hash_combine(
          kernel.getBody().getBlocks().size(), kernel.getFunctionType());
      for (Operation &op : kernel.getBody().getOps())
        hash = llvm::hash_combine(
            hash, OperationEquivalence::computeHash(
                      &op, OperationEquivalence::ignoreHashValue,
                      OperationEquivalence::ignoreHashValue,
                      OperationEquivalence::IgnoreLocations));
      SmallVector<gpu::GPUModuleOp> &bucket = kept[hash];
      auto same = llvm::find_if(
          bucket, [&](gpu::GPUModuleOp k) { return equivalent(k, module); });
      if (same == bucket.end()) {
        bucket.push_back(module);
        continue;
      }
      replacement[module.getSymNameAttr()] = SymbolRefAttr::get(
          same->getSymNameAttr(),
          {FlatSymbolRefAttr::get(onlyKernel(*same).getNameAttr())});
      erased.push_back(module);
    }
    if (erased.empty())
      return;
    top.walk([&](gpu::LaunchFuncOp launch) {
      auto it = replacement.find(launch.getKernelModuleName());
      if (it != replacement.end())
        launch.setKernelAttr(it->second);
    });
    for (gpu::GPUModuleOp module : erased) {
      if (!SymbolTable::symbolKnownUseEmpty(module, top)) {
        module.emitError("ssm-gpu-dedup-kernels: a duplicate kernel module "
                         "is still referenced by a non-launch op");
        return signalPassFailure();
      }
      module.erase();
    }
  }
};

} // namespace
