//===- HostOpsToGPU.cpp - the host's remaining loops as GPU kernels -------===//
//
// With `kernels=all`, the GPU pipelines run every op a kernel can run on
// the device, not only the scan and the conv: a model's activations then
// pass from kernel to kernel and ssm-gpu-device-buffers can keep them on
// the device. The ops reach this pass as linalg ops and loops on memrefs;
// the loops it cannot prove a kernel can run stay on the host (see
// Passes.td and docs/gpu.md, "Whole models on the GPU").
//
// The loops are mapped by hand rather than through upstream's
// gpu-map-parallel-loops and convert-parallel-loops-to-gpu: those map each
// dimension of the outermost loop to a grid dimension with one thread per
// block unless the loop is tiled first, and a one-dimensional loop (after
// upstream's collapseParallelLoops) is a launch of a few lines.
//
//===----------------------------------------------------------------------===//

#include "BufferRoots.h"
#include "TiledMatmul.h"
#include "ssm/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "mlir/Transforms/RegionUtils.h"

#include <numeric>

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMHOSTOPSTOGPU
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

bool isScalar(Type type) { return type.isIntOrIndexOrFloat(); }

/// f32 math a kernel can take without libdevice: what upstream's
/// polynomial approximations rewrite into arith, floor and fma, and what
/// ssm-math-to-nvvm turns into instructions.
bool isKernelMath(Operation *op) {
  if (op->getNumResults() != 1 || !op->getResult(0).getType().isF32())
    return false;
  return isa<math::ExpOp, math::LogOp, math::Log1pOp, math::TanhOp,
             math::SqrtOp, math::RsqrtOp, math::AbsFOp, math::FloorOp,
             math::FmaOp>(op);
}

/// Whether a kernel can run the body of `loop` (see Passes.td).
bool hasKernelBody(scf::ParallelOp loop) {
  if (loop.getNumResults() != 0)
    return false;
  WalkResult walk = loop.getBody()->walk([](Operation *op) {
    if (isa<scf::ParallelOp>(op))
      return WalkResult::interrupt();
    if (isa<scf::ForOp, scf::IfOp, scf::YieldOp, scf::ReduceOp,
            affine::AffineApplyOp, affine::AffineMinOp, affine::AffineMaxOp>(
            op))
      return WalkResult::advance();
    if (isa<memref::LoadOp, memref::StoreOp, memref::DimOp>(op) || isViewOp(op))
      return WalkResult::advance();
    Dialect *dialect = op->getDialect();
    if (!dialect)
      return WalkResult::interrupt();
    if (isa<math::MathDialect>(dialect))
      return isKernelMath(op) ? WalkResult::advance() : WalkResult::interrupt();
    if (isa<arith::ArithDialect, index::IndexDialect>(dialect) &&
        llvm::all_of(op->getOperandTypes(), isScalar) &&
        llvm::all_of(op->getResultTypes(), isScalar))
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  return !walk.wasInterrupted();
}

/// Whether everything `loop` captures can go to a kernel: scalars, and
/// row-major memrefs in the default memory space (ssm-gpu-device-buffers
/// copies those).
bool hasKernelCaptures(scf::ParallelOp loop) {
  SetVector<Value> above;
  getUsedValuesDefinedAbove(loop.getRegion(), above);
  return llvm::all_of(above, [](Value v) {
    if (auto type = dyn_cast<MemRefType>(v.getType()))
      return type.getLayout().isIdentity() && !type.getMemorySpace() &&
             isScalar(type.getElementType());
    return isScalar(v.getType());
  });
}

/// In the sequential `loop` of a kernel body, an accumulation into one
/// location (a reduction of linalg: load, combine, store at loop-invariant
/// indices) kept in a register: loaded before the loop, stored after it.
/// Applies when the store is the loop's only write and no other load in the
/// loop may read the same memory.
void promoteAccumulator(RewriterBase &rewriter, scf::ForOp loop) {
  SmallVector<memref::StoreOp> stores;
  SmallVector<memref::LoadOp> loads;
  loop.getBody()->walk([&](Operation *op) {
    if (auto store = dyn_cast<memref::StoreOp>(op))
      stores.push_back(store);
    else if (auto load = dyn_cast<memref::LoadOp>(op))
      loads.push_back(load);
  });
  if (stores.size() != 1)
    return;
  memref::StoreOp store = stores.front();
  if (store->getBlock() != loop.getBody() ||
      !loop.isDefinedOutsideOfLoop(store.getMemRef()) ||
      !llvm::all_of(store.getIndices(), [&](Value index) {
        return loop.isDefinedOutsideOfLoop(index);
      }))
    return;
  memref::LoadOp acc;
  for (memref::LoadOp load : loads) {
    if (load.getMemRef() == store.getMemRef() &&
        llvm::equal(load.getIndices(), store.getIndices()) &&
        load->getBlock() == loop.getBody() && load->isBeforeInBlock(store) &&
        !acc) {
      acc = load;
      continue;
    }
    if (mayAlias(load.getMemRef(), store.getMemRef()))
      return;
  }
  if (!acc)
    return;

  rewriter.setInsertionPoint(loop);
  Value init = memref::LoadOp::create(rewriter, acc.getLoc(), store.getMemRef(),
                                      store.getIndices());
  auto newLoop = cast<scf::ForOp>(*loop.replaceWithAdditionalYields(
      rewriter, ValueRange{init}, /*replaceInitOperandUsesInLoop=*/false,
      [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
        return SmallVector<Value>{store.getValueToStore()};
      }));
  rewriter.replaceOp(acc, newLoop.getRegionIterArgs().back());
  rewriter.setInsertionPointAfter(newLoop);
  memref::StoreOp::create(rewriter, store.getLoc(), newLoop.getResults().back(),
                          store.getMemRef(), store.getIndices());
  rewriter.eraseOp(store);
}

/// The sum a warp can share out in `loop`'s body: the body's one sequential
/// loop, when it only accumulates an f32 sum (one iteration argument, `acc
/// + x` yielded, x independent of acc) and writes nothing. That is every
/// reduction of the expanded models after promoteAccumulator: the
/// projections' dot products, RMSNorm's sum of squares.
scf::ForOp sharedSum(scf::ParallelOp loop) {
  scf::ForOp sum;
  for (Operation &op : loop.getBody()->without_terminator()) {
    auto f = dyn_cast<scf::ForOp>(op);
    if (!f)
      continue;
    if (sum)
      return {};
    sum = f;
  }
  if (!sum || sum.getNumRegionIterArgs() != 1 ||
      !sum.getRegionIterArgs()[0].getType().isF32() ||
      !sum.getRegionIterArgs()[0].hasOneUse())
    return {};
  Value acc = sum.getRegionIterArgs()[0];
  auto add = sum.getBody()
                 ->getTerminator()
                 ->getOperand(0)
                 .getDefiningOp<arith::AddFOp>();
  if (!add || (add.getLhs() != acc && add.getRhs() != acc))
    return {};
  WalkResult writes = sum.getBody()->walk(
      [](memref::StoreOp) { return WalkResult::interrupt(); });
  if (writes.wasInterrupted())
    return {};
  // Only lane 0 will store (below); the lanes' shares must not read what
  // it stores.
  SmallVector<Value> stored;
  loop.getBody()->walk(
      [&](memref::StoreOp store) { stored.push_back(store.getMemRef()); });
  WalkResult reads = sum.getBody()->walk([&](memref::LoadOp load) {
    for (Value target : stored)
      if (mayAlias(load.getMemRef(), target))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (reads.wasInterrupted())
    return {};
  return sum;
}

/// `loop` (one dimension) as a launch of blockSize threads per block.
/// Iteration i of the loop is thread i, or with a sum a warp can share out
/// (sharedSum) warp i: lane j takes the sum's steps j, j + 32, ..., the 32
/// partial sums meet in a butterfly of xor shuffles (every lane gets the
/// total) and are added to the sum's initial value. A warp reads 32
/// consecutive elements of a row-major operand per step, where a thread per
/// iteration would read one element of 32 rows; the sum's order changes
/// (as on the CPU's vector path). Every lane runs the body, but only lane 0
/// stores: one thread writes the iteration's locations and reads them back
/// in its own program order (the shuffles order no memory), and the other
/// lanes' loads of them feed nothing they store.
gpu::LaunchOp launchLoop(RewriterBase &rewriter, scf::ParallelOp loop,
                         int64_t blockSize) {
  constexpr int64_t kWarp = 32;
  Location loc = loop.getLoc();
  scf::ForOp sum = sharedSum(loop);
  int64_t perBlock = sum ? blockSize / kWarp : blockSize;
  rewriter.setInsertionPoint(loop);
  Value lb = loop.getLowerBound().front(), ub = loop.getUpperBound().front(),
        step = loop.getStep().front();
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value block = arith::ConstantIndexOp::create(rewriter, loc, blockSize);
  Value items = arith::ConstantIndexOp::create(rewriter, loc, perBlock);
  // Iterations: ceil((ub - lb) / step), none when ub <= lb.
  Value span = arith::MaxSIOp::create(
      rewriter, loc, arith::SubIOp::create(rewriter, loc, ub, lb), zero);
  Value n = arith::CeilDivUIOp::create(rewriter, loc, span, step);
  Value grid = arith::CeilDivUIOp::create(rewriter, loc, n, items);
  auto launch =
      gpu::LaunchOp::create(rewriter, loc, grid, one, one, block, one, one);
  rewriter.setInsertionPointToStart(&launch.getBody().front());
  Value blockId = gpu::BlockIdOp::create(rewriter, loc, gpu::Dimension::x);
  Value threadId = gpu::ThreadIdOp::create(rewriter, loc, gpu::Dimension::x);
  Value warp = arith::ConstantIndexOp::create(rewriter, loc, kWarp);
  Value item =
      sum ? arith::DivUIOp::create(rewriter, loc, threadId, warp) : threadId;
  Value i = arith::AddIOp::create(
      rewriter, loc,
      arith::MulIOp::create(
          rewriter, loc, blockId,
          arith::ConstantIndexOp::create(rewriter, loc, perBlock)),
      item);
  // With a shared sum the condition is the same in every lane of a warp:
  // all of them reach the shuffles.
  Value inside =
      arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult, i, n);
  auto guard = scf::IfOp::create(rewriter, loc, inside, /*else=*/false);
  gpu::TerminatorOp::create(rewriter, loc);
  rewriter.setInsertionPointToStart(&guard.getThenRegion().front());
  Value lane = arith::RemUIOp::create(rewriter, loc, threadId, warp);
  Value iv = arith::AddIOp::create(
      rewriter, loc, lb, arith::MulIOp::create(rewriter, loc, i, step));

  // The loop's body, without its scf.reduce, into the guard.
  Block *body = loop.getBody();
  rewriter.eraseOp(body->getTerminator());
  Block *then = &guard.getThenRegion().front();
  rewriter.inlineBlockBefore(body, then->getTerminator(), ValueRange{iv});
  rewriter.eraseOp(loop);
  if (!sum)
    return launch;

  // Lane j's share of the sum, from 0; then the total into the initial
  // value.
  rewriter.setInsertionPoint(sum);
  Value sumStep = sum.getStep();
  sum.setLowerBound(arith::AddIOp::create(
      rewriter, loc, sum.getLowerBound(),
      arith::MulIOp::create(rewriter, loc, lane, sumStep)));
  sum.setStep(arith::MulIOp::create(rewriter, loc, sumStep, warp));
  Value init = sum.getInitArgs()[0];
  Value fzero =
      arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0.0f));
  sum.getInitArgsMutable()[0].set(fzero);
  rewriter.setInsertionPointAfter(sum);
  Value partial = sum.getResult(0);
  SmallVector<OpOperand *> uses;
  for (OpOperand &use : partial.getUses())
    uses.push_back(&use);
  Value total = partial;
  for (int64_t m = 1; m < kWarp; m *= 2) {
    Value other = gpu::ShuffleOp::create(
                      rewriter, loc, total,
                      arith::ConstantIntOp::create(rewriter, loc, m, 32),
                      arith::ConstantIntOp::create(rewriter, loc, kWarp, 32),
                      gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    total = arith::AddFOp::create(rewriter, loc, total, other);
  }
  Value result = arith::AddFOp::create(rewriter, loc, init, total);
  for (OpOperand *use : uses)
    rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(result); });

  SmallVector<memref::StoreOp> stores;
  guard.getThenRegion().walk(
      [&](memref::StoreOp store) { stores.push_back(store); });
  for (memref::StoreOp store : stores) {
    rewriter.setInsertionPoint(store);
    Value first = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                        lane, zero);
    auto only = scf::IfOp::create(rewriter, loc, first, /*else=*/false);
    rewriter.moveOpBefore(store, only.getThenRegion().front().getTerminator());
  }
  return launch;
}

struct SSMHostOpsToGPUPass
    : ssm::impl::SSMHostOpsToGPUBase<SSMHostOpsToGPUPass> {
  using Base::Base;

  /// Whether `op` runs on the host: not in a launch or a GPU module.
  static bool onHost(Operation *op) {
    return !op->getParentOfType<gpu::LaunchOp>() &&
           !op->getParentOfType<gpu::GPUModuleOp>();
  }

  void runOnOperation() override {
    if (blockSize < 32 || blockSize > 1024 || blockSize % 32) {
      getOperation()->emitError("ssm-host-ops-to-gpu: block-size must be a "
                                "multiple of 32 in [32, 1024]");
      return signalPassFailure();
    }
    if (tiledFromRows < 0) {
      getOperation()->emitError(
          "ssm-host-ops-to-gpu: tiled-from-rows must be 0 (never) or more");
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    IRRewriter rewriter(ctx);
    Operation *root = getOperation();

    // Projections with many rows as tiled matrix products (TiledMatmul.h).
    SmallVector<gpu::LaunchOp> tiled =
        tileProjections(rewriter, root, tiledFromRows);

    // Copies and linalg ops to parallel loops.
    SmallVector<memref::CopyOp> copies;
    root->walk([&](memref::CopyOp copy) {
      if (onHost(copy))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    }
    SmallVector<linalg::LinalgOp> linalgOps;
    root->walk([&](linalg::LinalgOp op) {
      if (onHost(op) && op.hasPureBufferSemantics())
        linalgOps.push_back(op);
    });
    for (linalg::LinalgOp op : linalgOps) {
      rewriter.setInsertionPoint(op);
      if (succeeded(linalg::linalgOpToParallelLoops(rewriter, op)))
        rewriter.eraseOp(op);
    }

    // Adjacent loops over the same space as one (a zero fill and the
    // accumulation into it), where upstream finds no conflict; it wants the
    // same SSA values as bounds, hence CSE first.
    DominanceInfo dom(root);
    eliminateCommonSubExpressions(rewriter, dom, root);
    root->walk([](Operation *op) {
      if (onHost(op))
        for (Region &region : op->getRegions())
          scf::naivelyFuseParallelOps(region, mayAlias);
    });

    // The tiled kernels' views sunk, after the CSE that would hoist them
    // back out (a launch is not isolated from above).
    for (gpu::LaunchOp launch : tiled)
      sinkViews(rewriter, launch.getBody());

    // The loops a kernel can run: views sunk, accumulations promoted,
    // dimensions collapsed into one, then launched.
    SmallVector<scf::ParallelOp> loops;
    SmallVector<gpu::LaunchOp> launches;
    root->walk([&](scf::ParallelOp loop) {
      if (onHost(loop) && !loop->getParentOfType<scf::ParallelOp>() &&
          hasKernelBody(loop))
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops) {
      sinkViews(rewriter, loop.getRegion());
      if (!hasKernelCaptures(loop))
        continue;
      SmallVector<scf::ForOp> inner;
      loop.getBody()->walk([&](scf::ForOp f) { inner.push_back(f); });
      for (scf::ForOp f : inner) {
        // Index arithmetic out of the loop first (linalg's loops compute
        // each access's indices where it is made).
        moveLoopInvariantCode(cast<LoopLikeOpInterface>(f.getOperation()));
        promoteAccumulator(rewriter, f);
      }
      if (loop.getNumLoops() > 1) {
        // collapseParallelLoops puts its loop where `loop` was.
        Operation *next = loop->getNextNode();
        std::vector<unsigned> all(loop.getNumLoops());
        std::iota(all.begin(), all.end(), 0u);
        collapseParallelLoops(rewriter, loop, {all});
        loop = dyn_cast_or_null<scf::ParallelOp>(next->getPrevNode());
        if (!loop || loop.getNumLoops() != 1) {
          next->emitError("ssm-host-ops-to-gpu: no collapsed loop before");
          return signalPassFailure();
        }
      }
      launches.push_back(launchLoop(rewriter, loop, blockSize));
    }

    // The new kernels' f32 math in arith, floor and fma (no libdevice); the
    // scan's and conv's are ssm-lower-to-gpu's own.
    RewritePatternSet approx(ctx);
    populateMathPolynomialApproximationPatterns(approx);
    FrozenRewritePatternSet frozen(std::move(approx));
    GreedyRewriteConfig config;
    config.enableConstantCSE(false);
    for (gpu::LaunchOp launch : launches)
      if (failed(applyPatternsGreedily(launch, frozen, config)))
        return signalPassFailure();
  }
};

} // namespace
