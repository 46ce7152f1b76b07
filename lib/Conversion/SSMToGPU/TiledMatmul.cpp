//===- TiledMatmul.cpp - projections as tiled GPU matrix products ---------===//
//
// ssm-host-ops-to-gpu makes a kernel of a projection by giving each output
// a warp that reads its row of x and its row of W (the dot product's
// terms): the right shape for a decoding step, whose one row of x meets
// each weight once, but with many rows every block reads its weights
// again from L2 per output, a few flops per byte. Here a block computes a
// 64 x 64 tile of outputs from 64 x 16 tiles of x and W staged in shared
// memory: each element a block loads from global memory serves 64 of its
// outputs, and each thread keeps a 4 x 4 tile of sums in registers,
// reading 4 x values and 4 W values (two 16-byte shared loads) per 16
// fmas.
//
// Upstream has the pieces (linalg tiling to scf.forall, promotion to
// workgroup memory, gpu mapping through the transform dialect), but no
// pass that composes them for memrefs that reach us after bufferization,
// with dynamic row counts, strided views and the guards of partial tiles;
// the kernel is small enough to write out here.
//
//===----------------------------------------------------------------------===//

#include "TiledMatmul.h"

#include "BufferRoots.h"
#include "KernelOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Outputs per block along m and along n.
constexpr int64_t kTile = 64;
/// The k extent of the shared tiles.
constexpr int64_t kDepth = 16;
/// Threads per block along m and along n (256 in all), each with a
/// kPer x kPer tile of outputs.
constexpr int64_t kThreads = 16;
constexpr int64_t kPer = kTile / kThreads;
/// Floats per row of a shared tile: 4 more than the tile, which keeps rows
/// 16-byte aligned for the vector loads and spreads the loader's column
/// stores (k fastest across a warp) over the banks.
constexpr int64_t kPitch = kTile + 4;
static_assert(kPer == 4, "the shared loads are one vector<4xf32> each");
static_assert(kThreads == kDepth,
              "the loader gives each thread one k of kTile / kThreads rows");

/// A projection: out[b..., m, n] (+)= x[b..., m, k] * w[n, k] over k, as a
/// linalg.generic on buffers, with the op that initialises `out` just
/// before it if the kernel can take its place: a linalg.fill (`fill`, its
/// scalar) or the broadcast of a bias along n (`bias`, the vector).
struct Projection {
  linalg::GenericOp op;
  Operation *init = nullptr;
  Value fill, bias;
  Value x, w, out;
  int64_t rank; // of out: the batch dimensions, then m and n
};

/// Whether `v`'s root (the buffer a kernel will capture once its views are
/// sunk) is a row-major f32 buffer in the default memory space.
bool capturable(Value v) {
  auto type = dyn_cast<MemRefType>(rootOf(v).getType());
  return type && type.getLayout().isIdentity() && !type.getMemorySpace() &&
         type.getElementType().isF32();
}

/// The vector `op` broadcasts into all of `out` along its last dimension
/// (out[..., n] = bias[n]: how ssm.linear's bias initialises the output),
/// or null.
Value broadcastBias(linalg::GenericOp op, Value out) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || op.getDpsInits()[0] != out ||
      op.getNumReductionLoops() != 0)
    return {};
  const unsigned loops = op.getNumLoops();
  MLIRContext *ctx = op.getContext();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[1] != AffineMap::getMultiDimIdentityMap(loops, ctx) ||
      maps[0] !=
          AffineMap::get(loops, 0, getAffineDimExpr(loops - 1, ctx), ctx))
    return {};
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 1 ||
      body.getTerminator()->getOperand(0) != body.getArgument(0))
    return {};
  Value bias = op.getDpsInputs()[0];
  if (!capturable(bias) || mayAlias(bias, out))
    return {};
  return bias;
}

std::optional<Projection> matchProjection(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1)
    return std::nullopt;
  const unsigned loops = op.getNumLoops();
  if (loops < 3)
    return std::nullopt;
  const unsigned p = loops - 1; // parallel dimensions; p is k
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  for (unsigned i = 0; i < p; ++i)
    if (iters[i] != utils::IteratorType::parallel)
      return std::nullopt;
  if (iters[p] != utils::IteratorType::reduction)
    return std::nullopt;

  MLIRContext *ctx = op.getContext();
  auto mapOf = [&](ArrayRef<unsigned> dims) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d : dims)
      exprs.push_back(getAffineDimExpr(d, ctx));
    return AffineMap::get(loops, 0, exprs, ctx);
  };
  SmallVector<unsigned> outDims, xDims;
  for (unsigned d = 0; d < p; ++d)
    outDims.push_back(d);
  for (unsigned d = 0; d + 1 < p; ++d)
    xDims.push_back(d);
  xDims.push_back(p);
  AffineMap outMap = mapOf(outDims), xMap = mapOf(xDims),
            wMap = mapOf({p - 1, p});
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[2] != outMap)
    return std::nullopt;
  unsigned xi;
  if (maps[0] == xMap && maps[1] == wMap)
    xi = 0;
  else if (maps[1] == xMap && maps[0] == wMap)
    xi = 1;
  else
    return std::nullopt;

  // The body: out + a * b (either order of either operation), nothing else.
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return std::nullopt;
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  Value acc = body.getArgument(2);
  Value prod = add.getLhs() == acc   ? add.getRhs()
               : add.getRhs() == acc ? add.getLhs()
                                     : Value();
  auto mul = prod ? prod.getDefiningOp<arith::MulFOp>() : arith::MulFOp();
  if (!mul ||
      !llvm::is_contained(ArrayRef<Value>{mul.getLhs(), mul.getRhs()},
                          body.getArgument(0)) ||
      !llvm::is_contained(ArrayRef<Value>{mul.getLhs(), mul.getRhs()},
                          body.getArgument(1)) ||
      mul.getLhs() == mul.getRhs())
    return std::nullopt;

  Projection proj;
  proj.op = op;
  proj.x = op.getDpsInputs()[xi];
  proj.w = op.getDpsInputs()[1 - xi];
  proj.out = op.getDpsInits()[0];
  proj.rank = p;
  for (Value v : {proj.x, proj.w, proj.out})
    if (!capturable(v))
      return std::nullopt;
  // x as its own weight: the view of x's rows below would replace W too.
  if (proj.x == proj.w)
    return std::nullopt;
  // Each output is read (without an init op) and written by one thread, after
  // every read of x and W it depends on, but other blocks read x and W
  // concurrently: the output may share memory with neither.
  if (mayAlias(proj.out, proj.x) || mayAlias(proj.out, proj.w))
    return std::nullopt;
  Operation *prev = op->getPrevNode();
  if (auto fill = dyn_cast_or_null<linalg::FillOp>(prev)) {
    if (fill.hasPureBufferSemantics() && fill.getDpsInits()[0] == proj.out &&
        fill.getInputs()[0].getType().isF32()) {
      proj.init = fill;
      proj.fill = fill.getInputs()[0];
    }
  } else if (auto bcast = dyn_cast_or_null<linalg::GenericOp>(prev)) {
    if (Value bias = broadcastBias(bcast, proj.out)) {
      proj.init = bcast;
      proj.bias = bias;
    }
  }
  return proj;
}

/// Builds the kernel of one projection at the builder's insertion point.
struct TiledKernel : KernelOps {
  using KernelOps::KernelOps;

  /// `buffer`[indices] where `inside` holds, else 0.
  Value loadOrZero(Value inside, Value buffer, ValueRange indices) {
    Type f32 = b.getF32Type();
    return select(
        inside, f32, [&] { return load(buffer, indices); },
        [&] { return flt(f32, 0.0); });
  }

  /// The kPer values of row k of a shared tile from column j0 (a multiple
  /// of 4): one 16-byte load.
  SmallVector<Value> loadQuad(Value tile, Value k, Value j0) {
    auto vec4 = VectorType::get({kPer}, b.getF32Type());
    Value quad = vector::LoadOp::create(b, loc, vec4, tile, ValueRange{k, j0},
                                        /*nontemporal=*/false, llvm::Align(16));
    SmallVector<Value> v;
    for (int64_t q = 0; q < kPer; ++q)
      v.push_back(vector::ExtractOp::create(b, loc, quad, q));
    return v;
  }

  /// The launch; with `many`, on an empty grid where `many` is false.
  gpu::LaunchOp build(const Projection &p, Value many) {
    const int64_t r = p.rank;
    Value rows = dim(p.out, r - 2), cols = dim(p.out, r - 1),
          depth = dim(p.x, r - 1);
    SmallVector<Value> batchDims;
    Value blocks = idx(1);
    for (int64_t d = 0; d + 2 < r; ++d) {
      batchDims.push_back(dim(p.out, d));
      blocks = muli(blocks, batchDims.back());
    }
    Value tile = idx(kTile);
    Value rowBlocks = ceilDiv(rows, tile), colBlocks = ceilDiv(cols, tile);
    blocks = muli(blocks, muli(rowBlocks, colBlocks));
    if (many)
      blocks = sel(many, blocks, idx(0));
    const int64_t tileBytes = kDepth * kPitch * 4;
    Value smem = i32(static_cast<int32_t>(2 * tileBytes));
    Value one = idx(1);
    // One grid dimension (x allows 2^31 - 1 blocks; y and z 65535), column
    // blocks fastest: consecutive blocks share their rows of x in L2.
    auto launch = gpu::LaunchOp::create(
        b, loc, blocks, one, one, idx(kThreads * kThreads), one, one, smem);
    OpBuilder::InsertionGuard guard(b);
    Block &body = launch.getBody().front();
    b.setInsertionPointToEnd(&body);
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointToStart(&body);

    Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value thread = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    Value threads = idx(kThreads);
    Value tx = remu(thread, threads), ty = divu(thread, threads);
    Value col0 = muli(remu(block, colBlocks), tile);
    Value rest = divu(block, colBlocks);
    Value row0 = muli(remu(rest, rowBlocks), tile);
    rest = divu(rest, rowBlocks);
    SmallVector<Value> batch(batchDims.size());
    for (int64_t d = static_cast<int64_t>(batchDims.size()) - 1; d >= 0; --d) {
      batch[d] = remu(rest, batchDims[d]);
      rest = divu(rest, batchDims[d]);
    }
    auto at = [&](Value row, Value last) {
      SmallVector<Value> indices(batch);
      indices.push_back(row);
      indices.push_back(last);
      return indices;
    };
    Value xs = sharedView({kDepth, kPitch}, 0),
          ws = sharedView({kDepth, kPitch}, tileBytes);

    // This thread's outputs: rows row0 + 4 ty + i, columns col0 + 4 tx + j.
    Value per = idx(kPer);
    SmallVector<Value> myRows, myCols, rowIn, colIn;
    for (int64_t i = 0; i < kPer; ++i) {
      myRows.push_back(addi(addi(row0, muli(ty, per)), idx(i)));
      myCols.push_back(addi(addi(col0, muli(tx, per)), idx(i)));
      rowIn.push_back(ult(myRows.back(), rows));
      colIn.push_back(ult(myCols.back(), cols));
    }
    // The sums start from the fill's scalar, the bias of their column, or
    // what the output holds.
    SmallVector<Value> biasOf;
    if (p.bias)
      for (int64_t j = 0; j < kPer; ++j)
        biasOf.push_back(loadOrZero(colIn[j], p.bias, {myCols[j]}));
    SmallVector<Value> init;
    for (int64_t i = 0; i < kPer; ++i)
      for (int64_t j = 0; j < kPer; ++j)
        init.push_back(p.fill   ? p.fill
                       : p.bias ? biasOf[j]
                                : loadOrZero(andi(rowIn[i], colIn[j]), p.out,
                                             at(myRows[i], myCols[j])));

    auto outer = scf::ForOp::create(b, loc, idx(0), depth, idx(kDepth), init);
    {
      OpBuilder::InsertionGuard inLoop(b);
      b.setInsertionPointToStart(outer.getBody());
      Value k0 = outer.getInductionVar();
      // The tiles: thread (tx, ty) loads k0 + tx of rows ty + 16 i (a
      // warp reads two rows' 16 consecutive k), 0 outside the operands,
      // and stores them transposed, k major, for the vector loads below.
      Value k = addi(k0, tx);
      Value kIn = ult(k, depth);
      for (int64_t i = 0; i < kTile / kThreads; ++i) {
        Value t = addi(ty, idx(i * kThreads));
        Value xRow = addi(row0, t), wRow = addi(col0, t);
        store(loadOrZero(andi(ult(xRow, rows), kIn), p.x, at(xRow, k)), xs,
              {tx, t});
        store(loadOrZero(andi(ult(wRow, cols), kIn), p.w, {wRow, k}), ws,
              {tx, t});
      }
      barrier();
      auto inner = scf::ForOp::create(b, loc, idx(0), idx(kDepth), idx(1),
                                      outer.getRegionIterArgs());
      {
        OpBuilder::InsertionGuard inInner(b);
        b.setInsertionPointToStart(inner.getBody());
        Value kk = inner.getInductionVar();
        SmallVector<Value> a = loadQuad(xs, kk, muli(ty, per));
        SmallVector<Value> w = loadQuad(ws, kk, muli(tx, per));
        SmallVector<Value> next;
        for (int64_t i = 0; i < kPer; ++i)
          for (int64_t j = 0; j < kPer; ++j)
            next.push_back(
                fma(a[i], w[j], inner.getRegionIterArgs()[i * kPer + j]));
        scf::YieldOp::create(b, loc, next);
      }
      // The next iteration's stores must wait for every thread's reads.
      barrier();
      scf::YieldOp::create(b, loc, inner.getResults());
    }

    for (int64_t i = 0; i < kPer; ++i)
      for (int64_t j = 0; j < kPer; ++j) {
        auto inside = scf::IfOp::create(b, loc, andi(rowIn[i], colIn[j]),
                                        /*withElseRegion=*/false);
        OpBuilder::InsertionGuard inIf(b);
        b.setInsertionPoint(inside.thenBlock()->getTerminator());
        store(outer.getResult(i * kPer + j), p.out, at(myRows[i], myCols[j]));
      }
    return launch;
  }
};

} // namespace

SmallVector<gpu::LaunchOp> mlir::ssm::tileProjections(RewriterBase &rewriter,
                                                      Operation *root,
                                                      int64_t minRows) {
  SmallVector<gpu::LaunchOp> launches;
  if (minRows <= 0)
    return launches;
  SmallVector<Projection> projections;
  root->walk([&](linalg::GenericOp op) {
    if (op->getParentOfType<gpu::LaunchOp>() ||
        op->getParentOfType<gpu::GPUModuleOp>())
      return;
    if (std::optional<Projection> p = matchProjection(op))
      projections.push_back(*p);
  });
  for (Projection &p : projections) {
    Operation *first = p.init ? p.init : p.op.getOperation();
    Location loc = p.op.getLoc();
    rewriter.setInsertionPoint(first);
    TiledKernel kernel(rewriter, loc);
    auto outType = cast<MemRefType>(p.out.getType());
    int64_t staticRows = outType.getDimSize(p.rank - 2);
    if (!ShapedType::isDynamic(staticRows)) {
      if (staticRows < minRows)
        continue;
      launches.push_back(kernel.build(p, /*many=*/Value()));
    } else {
      // Both kernels, one of them on an empty grid (a launch of no blocks
      // runs nothing): the tiled one from minRows rows, the loop kernels
      // below (decoding's shape) on views of x and the output with 0 rows
      // or all of them. Two launches in the function's block rather than
      // an scf.if between them: ssm-gpu-device-buffers chains the launches
      // of one block on one stream, and a branch would cost a wait and the
      // copies of every buffer the branch uses.
      Value rows = kernel.dim(p.out, p.rank - 2);
      Value zero = kernel.idx(0);
      Value many = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::uge, rows, kernel.idx(minRows));
      launches.push_back(kernel.build(p, many));
      Value few = arith::SelectOp::create(rewriter, loc, many, zero, rows);
      auto firstRows = [&](Value buffer) {
        int64_t rank = cast<MemRefType>(buffer.getType()).getRank();
        SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0)),
            strides(rank, rewriter.getIndexAttr(1));
        SmallVector<OpFoldResult> sizes =
            memref::getMixedSizes(rewriter, loc, buffer);
        sizes[p.rank - 2] = few;
        return memref::SubViewOp::create(rewriter, loc, buffer, offsets, sizes,
                                         strides)
            .getResult();
      };
      IRMapping map;
      map.map(p.x, firstRows(p.x));
      map.map(p.out, firstRows(p.out));
      if (p.init)
        rewriter.clone(*p.init, map);
      rewriter.clone(*p.op, map);
    }
    if (p.init)
      rewriter.eraseOp(p.init);
    rewriter.eraseOp(p.op);
  }
  return launches;
}
