//===- DedupKernels.cpp - one gpu.module per distinct kernel --------------===//
//
// gpu-kernel-outlining outlines every gpu.launch into its own gpu.module,
// so a kernel launched from several places (a layer's kernels in each of a
// model's inlined layers) is compiled, assembled and loaded once per
// launch. Upstream has no pass that merges them; this one keeps the first
// of each set of identical modules, and of each set that differs only in
// the static offsets of some subviews (each layer's slice of a stacked
// state), which become kernel arguments (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"

#include <set>
#include <tuple>

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

/// The ops of a kernel's body in pre-order (an op before the ops of its
/// regions, regions and blocks in order): the order two kernels are
/// compared in, and the positions a merge refers to.
SmallVector<Operation *> opsOf(gpu::GPUFuncOp kernel) {
  SmallVector<Operation *> ops;
  kernel.getBody().walk<WalkOrder::PreOrder>(
      [&](Operation *op) { ops.push_back(op); });
  return ops;
}

/// A subview's offset that may differ between merged kernels: op `op` (a
/// position in opsOf) and offset `dim`.
struct Site {
  unsigned op, dim;
  bool operator<(const Site &o) const {
    return std::tie(op, dim) < std::tie(o.op, o.dim);
  }
  bool operator==(const Site &o) const { return op == o.op && dim == o.dim; }
};

/// Whether a subview's static offsets can become operands: every user is a
/// load or a store, which take a memref of any layout (the result's
/// layout offset becomes dynamic).
bool offsetsMayVary(memref::SubViewOp view) {
  return llvm::all_of(view->getUsers(), [](Operation *user) {
    return isa<memref::LoadOp, memref::StoreOp, vector::LoadOp,
               vector::StoreOp>(user);
  });
}

/// Whether two memref types differ at most in their strided layout's
/// offset.
bool sameButOffset(Type a, Type b) {
  auto ma = dyn_cast<MemRefType>(a), mb = dyn_cast<MemRefType>(b);
  if (!ma || !mb || ma.getShape() != mb.getShape() ||
      ma.getElementType() != mb.getElementType() ||
      ma.getMemorySpace() != mb.getMemorySpace())
    return false;
  SmallVector<int64_t> sa, sb;
  int64_t oa, ob;
  return succeeded(ma.getStridesAndOffset(sa, oa)) &&
         succeeded(mb.getStridesAndOffset(sb, ob)) && sa == sb;
}

/// Compares two subviews but for their static offsets: the offsets where
/// they differ, or failure when anything else differs or the offsets
/// cannot vary.
FailureOr<SmallVector<unsigned>> offsetDifferences(memref::SubViewOp a,
                                                   memref::SubViewOp b) {
  if (a.getStaticSizes() != b.getStaticSizes() ||
      a.getStaticStrides() != b.getStaticStrides() ||
      a->getDiscardableAttrDictionary() != b->getDiscardableAttrDictionary() ||
      a.getStaticOffsets().size() != b.getStaticOffsets().size() ||
      !sameButOffset(a.getType(), b.getType()))
    return failure();
  SmallVector<unsigned> dims;
  for (auto [d, pair] : llvm::enumerate(
           llvm::zip_equal(a.getStaticOffsets(), b.getStaticOffsets()))) {
    auto [x, y] = pair;
    if (x == y)
      continue;
    if (ShapedType::isDynamic(x) || ShapedType::isDynamic(y))
      return failure();
    dims.push_back(d);
  }
  if (dims.empty() ? a.getType() != b.getType()
                   : !(offsetsMayVary(a) && offsetsMayVary(b)))
    return failure();
  return dims;
}

/// Compares two kernels op by op: the sites where subview offsets differ
/// (empty when the kernels are the same, locations and names aside), or
/// failure when they differ otherwise.
FailureOr<SmallVector<Site>> compareKernels(gpu::GPUFuncOp a,
                                            gpu::GPUFuncOp b) {
  if (a.getFunctionType() != b.getFunctionType() ||
      attributesButName(a) != attributesButName(b))
    return failure();
  SmallVector<Operation *> opsA = opsOf(a), opsB = opsOf(b);
  if (opsA.size() != opsB.size())
    return failure();
  IRMapping map;
  auto mapRegions = [&](MutableArrayRef<Region> ra,
                        MutableArrayRef<Region> rb) -> LogicalResult {
    for (auto [x, y] : llvm::zip_equal(ra, rb)) {
      if (x.getBlocks().size() != y.getBlocks().size())
        return failure();
      for (auto [bx, by] : llvm::zip_equal(x, y)) {
        if (bx.getArgumentTypes() != by.getArgumentTypes())
          return failure();
        map.map(bx.getArguments(), by.getArguments());
      }
    }
    return success();
  };
  if (failed(mapRegions(a->getRegions(), b->getRegions())))
    return failure();
  SmallVector<Site> sites;
  for (auto [i, pair] : llvm::enumerate(llvm::zip_equal(opsA, opsB))) {
    auto [x, y] = pair;
    if (x->getName() != y->getName() ||
        x->getNumOperands() != y->getNumOperands() ||
        x->getNumRegions() != y->getNumRegions() || x->getNumSuccessors() ||
        y->getNumSuccessors())
      return failure();
    for (auto [u, v] : llvm::zip_equal(x->getOperands(), y->getOperands()))
      if (map.lookupOrNull(u) != v)
        return failure();
    if (auto va = dyn_cast<memref::SubViewOp>(x)) {
      auto dims = offsetDifferences(va, cast<memref::SubViewOp>(y));
      if (failed(dims))
        return failure();
      for (unsigned d : *dims)
        sites.push_back({static_cast<unsigned>(i), d});
    } else if (x->getResultTypes() != y->getResultTypes() ||
               x->getRawDictionaryAttrs() != y->getRawDictionaryAttrs() ||
               x->getPropertiesAsAttribute() != y->getPropertiesAsAttribute()) {
      return failure();
    }
    if (failed(mapRegions(x->getRegions(), y->getRegions())))
      return failure();
    map.map(x->getResults(), y->getResults());
  }
  return sites;
}

/// A kept module and the modules merged into it: for each of those, the
/// offsets it differs in.
struct Merge {
  gpu::GPUModuleOp kept;
  SmallVector<std::pair<gpu::GPUModuleOp, SmallVector<Site>>> members;
  std::set<Site> sites; // the union, in kernel order
};

/// At most this many offsets become arguments of one kernel; a kernel that
/// would need more stays apart.
constexpr size_t kMaxSites = 16;

/// Makes the offsets at `sites` of `kernel`'s subviews arguments, appended
/// in the order of `sites`.
void offsetsToArguments(gpu::GPUFuncOp kernel, ArrayRef<Site> sites) {
  SmallVector<Operation *> ops = opsOf(kernel);
  OpBuilder b(kernel.getContext());
  for (size_t first = 0; first < sites.size();) {
    auto view = cast<memref::SubViewOp>(ops[sites[first].op]);
    SmallVector<OpFoldResult> offsets = view.getMixedOffsets();
    size_t next = first;
    for (; next < sites.size() && sites[next].op == sites[first].op; ++next) {
      unsigned arg = kernel.getNumArguments();
      (void)kernel.insertArgument(arg, b.getIndexType(), DictionaryAttr(),
                                  view.getLoc());
      offsets[sites[next].dim] = kernel.getArgument(arg);
    }
    b.setInsertionPoint(view);
    MemRefType type = memref::SubViewOp::inferRankReducedResultType(
        view.getType().getShape(), view.getSourceType(), offsets,
        view.getMixedSizes(), view.getMixedStrides());
    auto merged = memref::SubViewOp::create(
        b, view.getLoc(), type, view.getSource(), offsets, view.getMixedSizes(),
        view.getMixedStrides());
    // Loads and stores only (offsetsMayVary): they take the new layout.
    view.getResult().replaceAllUsesWith(merged.getResult());
    view.erase();
    first = next;
  }
}

/// The static offset at `site` of a kernel whose ops are `ops`.
int64_t offsetAt(ArrayRef<Operation *> ops, const Site &site) {
  return cast<memref::SubViewOp>(ops[site.op]).getStaticOffsets()[site.dim];
}

struct SSMGPUDedupKernelsPass
    : ssm::impl::SSMGPUDedupKernelsBase<SSMGPUDedupKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp top = getOperation();
    // Modules by a hash of their kernel's shape (op names in order), each
    // bucket a list of merges.
    llvm::DenseMap<llvm::hash_code, SmallVector<Merge>> buckets;
    SmallVector<Merge *> merges;
    for (auto module : top.getOps<gpu::GPUModuleOp>()) {
      gpu::GPUFuncOp kernel = onlyKernel(module);
      if (!kernel)
        continue;
      llvm::hash_code hash = llvm::hash_combine(kernel.getFunctionType());
      kernel.getBody().walk([&](Operation *op) {
        hash = llvm::hash_combine(hash, op->getName().getAsOpaquePointer());
      });
      SmallVector<Merge> &bucket = buckets[hash];
      bool merged = false;
      for (Merge &m : bucket) {
        if (attributesButName(m.kept) != attributesButName(module))
          continue;
        auto sites = compareKernels(onlyKernel(m.kept), kernel);
        if (failed(sites))
          continue;
        std::set<Site> all = m.sites;
        all.insert(sites->begin(), sites->end());
        if (all.size() > kMaxSites)
          continue;
        m.sites = std::move(all);
        m.members.push_back({module, std::move(*sites)});
        merged = true;
        break;
      }
      if (!merged)
        bucket.push_back(Merge{module, {}, {}});
    }
    for (auto &entry : buckets)
      for (Merge &m : entry.second)
        if (!m.members.empty())
          merges.push_back(&m);
    if (merges.empty())
      return;

    // The launches of each module.
    llvm::DenseMap<StringAttr, SmallVector<gpu::LaunchFuncOp>> launches;
    top.walk([&](gpu::LaunchFuncOp launch) {
      launches[launch.getKernelModuleName()].push_back(launch);
    });
    OpBuilder b(&getContext());
    for (Merge *m : merges) {
      gpu::GPUFuncOp kept = onlyKernel(m->kept);
      SmallVector<Site> sites(m->sites.begin(), m->sites.end());
      SmallVector<Operation *> keptOps = opsOf(kept);
      // Each launch passes its module's offsets at the sites: the kept
      // module's own, or a member's where it differs.
      auto pass = [&](gpu::GPUModuleOp module, ArrayRef<Site> differs,
                      ArrayRef<Operation *> ops) {
        SmallVector<int64_t> values;
        for (const Site &site : sites)
          values.push_back(llvm::is_contained(differs, site)
                               ? offsetAt(ops, site)
                               : offsetAt(keptOps, site));
        for (gpu::LaunchFuncOp launch : launches[module.getSymNameAttr()]) {
          b.setInsertionPoint(launch);
          SmallVector<Value> operands;
          for (int64_t v : values)
            operands.push_back(
                arith::ConstantIndexOp::create(b, launch.getLoc(), v));
          launch.getKernelOperandsMutable().append(operands);
          launch.setKernelAttr(
              SymbolRefAttr::get(m->kept.getSymNameAttr(),
                                 {FlatSymbolRefAttr::get(kept.getNameAttr())}));
        }
      };
      if (!sites.empty())
        pass(m->kept, {}, keptOps);
      for (auto &[module, differs] : m->members) {
        if (sites.empty()) {
          pass(module, {}, keptOps);
          continue;
        }
        pass(module, differs, opsOf(onlyKernel(module)));
      }
      if (!sites.empty())
        offsetsToArguments(kept, sites);
    }
    for (Merge *m : merges)
      for (auto &member : m->members) {
        gpu::GPUModuleOp module = member.first;
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
