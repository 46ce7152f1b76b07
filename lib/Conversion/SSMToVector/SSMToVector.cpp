//===- SSMToVector.cpp - fused vector lowering of the selective scan ------===//
//
// The CPU fast path of ssm.selective_scan (see the pass description in
// Passes.td). A tile of V channels of one batch row is one iteration of an
// scf.parallel; inside it the n states live in vector registers (scf.for
// iter_args) for the whole sequence, and every per-step quantity is computed
// in registers. The arithmetic per state update is one exp2 polynomial and
// four multiply/FMA operations.
//
//===----------------------------------------------------------------------===//

#include "../LoopBuilder.h"
#include "StateGroups.h"
#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMAnalysis.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <numeric>

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERTOVECTOR
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// The most states per channel the scan keeps in vector registers; larger
/// n is split into groups first (StateGroups.cpp), unless the chunk path
/// parks the states between chunks (below).
constexpr int64_t kMaxRegisterStates = 64;

/// With parked states (tile groups) a chunk runs its state loop once per
/// block of at most `state-block` states, loading the block's states from
/// the park and putting them back (docs/cpu-fast-path.md, "State blocks"),
/// so any n up to this bound stays one scan; each block is a copy of the
/// state loop's code, hence the bound. Larger n goes to StateGroups first.
constexpr int64_t kMaxBlockedStates = 256;

/// The most states per pass of the parked state loop: `state-block`, or
/// by default 16 with one decay per channel and 32 with a decay per state.
/// Measured on Mamba-2-130m's scan (d 1536, L 2048, n 128, token_major,
/// one thread; docs/cpu-fast-path.md, "State blocks"): with one decay per
/// channel 16 states per block ran 15.6-16.3 ms, 8 17.2, 24 16.5-17.6, 32
/// 22.1, 64 30.7; with a decay per state (an exp2 each, and A's block in
/// registers too) 32 ran 43.3 ms, 24 42.4, 16 51.3.
int64_t stateBlockLimit(int64_t stateBlock, bool uniformA) {
  return stateBlock ? stateBlock : uniformA ? 16 : 32;
}

/// The most channel tiles that advance through time together, chunk by
/// chunk, parking their states in between (1: none, each tile walks the
/// whole sequence alone): `tile-group` when set; by default 16 in
/// token_major layout, and in channel_first where the states take more than
/// one block, else 1. Measured (docs/cpu-fast-path.md): on the reference
/// shape token_major ran 11.0-11.4 ms with single tiles, 9.5-10.6 with
/// groups of 8 and 9.7-10.0 with 16; channel_first 10.2-10.7 with single
/// tiles and 10.5-10.8 with groups of 8, which carry their states in
/// registers from chunk to chunk; with more than one block of states,
/// channel_first's parked blocks ran 1.4x faster at n = 64 and 1.2-1.5x at
/// 256.
int64_t maxTileGroup(bool tokenMajor, int64_t tileGroup, int64_t n,
                     int64_t blockLimit) {
  if (tileGroup)
    return tileGroup;
  return tokenMajor || n > blockLimit ? 16 : 1;
}

/// Whether the fast path takes `op` whole with its states parked in blocks
/// (so StateGroups must not split it): more than one tile per group, not a
/// single step (static L = 1 in token_major layout, which parks nothing),
/// and at most kMaxBlockedStates states.
bool blocksStates(SelectiveScanOp op, int64_t tileGroup, int64_t stateBlock) {
  int64_t n = cast<RankedTensorType>(op.getA().getType()).getDimSize(1);
  bool tm = op.isTokenMajor();
  bool onlyStep =
      tm && cast<RankedTensorType>(op.getY().getType()).getDimSize(1) == 1;
  int64_t limit = stateBlockLimit(stateBlock, isUniformAlongStates(op.getA()));
  return !onlyStep && maxTileGroup(tm, tileGroup, n, limit) > 1 &&
         n <= kMaxBlockedStates;
}

/// A grouped B or C (channel c reads group c / G, G = d / g channels per
/// group) is read by a tile of V channels as one broadcast per (state,
/// step) when G is a multiple of V. Otherwise a tile's lanes span groups:
/// up to kMaxBlendGroups groups are read as that many broadcasts blended by
/// lane (masks fixed per tile), more as a per-lane gather.
constexpr int64_t kMaxBlendGroups = 4;

/// The most groups of a grouped B or C (g groups over d channels) that the
/// V channels of one tile read: 1 when G is a multiple of V, V when d or g
/// is dynamic.
int64_t groupsPerTile(int64_t d, int64_t g, int64_t V) {
  if (ShapedType::isDynamic(d) || ShapedType::isDynamic(g) || g < 1 || d < 1)
    return V;
  const int64_t G = d / g;
  if (G % V == 0)
    return 1;
  int64_t most = 1;
  for (int64_t c0 = 0; c0 < d && most < V; c0 += V)
    most = std::max(most, (std::min(c0 + V, d) - 1) / G - c0 / G + 1);
  return most;
}

constexpr double kLog2E = 1.4426950408889634;

/// Vector arithmetic on vector<V x f32> on top of the loop helpers.
class VectorBuilder : public LoopBuilder {
public:
  VectorBuilder(OpBuilder &b, Location loc, int64_t width, bool scalef)
      : LoopBuilder(b, loc), vt(VectorType::get({width}, b.getF32Type())),
        scalef(scalef && width == 16) {}

  VectorType vt;
  /// Use AVX-512's vscalefps for the power of two in exp2.
  bool scalef;

  Value splat(double v) { return flt(vt, v); }
  Value bcast(Value scalar) {
    return vector::BroadcastOp::create(b, loc, vt, scalar);
  }
  Value fma(Value x, Value y, Value acc) {
    return vector::FMAOp::create(b, loc, x, y, acc);
  }

  /// V lanes of `mem` starting at `idx`, lanes running along memref
  /// dimension `laneDim`; lanes past the end read 0 (masked).
  Value readLanes(Value mem, ArrayRef<Value> idx, unsigned laneDim) {
    auto rank = cast<MemRefType>(mem.getType()).getRank();
    AffineMap map =
        AffineMap::get(rank, 0, b.getAffineDimExpr(laneDim), b.getContext());
    return vector::TransferReadOp::create(b, loc, vt, mem, idx,
                                          flt(b.getF32Type(), 0.0), map,
                                          ArrayRef<bool>{false});
  }
  void writeLanes(Value vec, Value mem, ArrayRef<Value> idx, unsigned laneDim) {
    auto rank = cast<MemRefType>(mem.getType()).getRank();
    AffineMap map =
        AffineMap::get(rank, 0, b.getAffineDimExpr(laneDim), b.getContext());
    vector::TransferWriteOp::create(b, loc, vec, mem, idx, map,
                                    ArrayRef<bool>{false});
  }

  /// 2^x = 2^k * P(f), k = x rounded to the nearest integer, f = x - k in
  /// [-1/2, 1/2] (exact), P the degree-5 polynomial of smallest maximum
  /// relative error to 2^f on [-1/2, 1/2] among those with P(0) = 1 (our fit:
  /// 9.2e-8 in exact arithmetic, 1.7e-7 evaluated in fp32 by Horner's rule).
  /// Rounding to nearest rather than down matters for decays just below 1
  /// (Mamba's long-memory channels, dt * A ~ -1e-3): then f = x exactly and
  /// the result is 1 + x ln 2 + ... rounded once, without bias. With
  /// f = x - floor(x) = 1 + x the low bits of x were lost before the
  /// polynomial, and vreduceps did so with a bias of -0.5 ulp; a channel
  /// that remembers 1 / |x| steps accumulates a biased decay error that
  /// many times (5e-5 relative after 20000 steps of dt * A ~ -1e-3).
  /// Written out rather than taken from upstream's
  /// math-polynomial-approximation because the scan calls it on arguments
  /// already scaled by log2(e) (folded into A once per tile), which saves
  /// upstream exp's range reduction by ln 2 in the innermost loop, and
  /// because on AVX-512 vscalefps multiplies by 2^k exactly, with correct
  /// underflow to 0 and overflow to inf and no clamping. Without AVX-512
  /// the power of two is built in the exponent bits of k after clamping x
  /// to [-126, 127].
  /// Measured maximum relative error: test/Integration/CPU/exp2-accuracy.py.
  Value exp2(Value x) {
    if (!scalef) {
      x = arith::MaximumFOp::create(b, loc, x, splat(-126.0));
      x = arith::MinimumFOp::create(b, loc, x, splat(127.0));
    }
    // vrndscaleps / vroundps: round half to even.
    Value k = math::RoundEvenOp::create(b, loc, x);
    Value f = arith::SubFOp::create(b, loc, x, k);
    static constexpr double kP[] = {1.326471567e-03, 9.671512060e-03,
                                    5.550733581e-02, 2.402224243e-01,
                                    6.931470037e-01, 1.0};
    Value p = splat(kP[0]);
    for (double c : ArrayRef<double>(kP).drop_front())
      p = fma(p, f, splat(c));
    if (scalef) {
      // MLIR 22 passes the op's operands (src, a, b) to
      // llvm.x86.avx512.mask.scalef.ps.512 in that order, but the intrinsic
      // takes (a, b, src): so `src` carries p and `a` carries k. The mask
      // selects every lane, so the passthrough value does not matter.
      // Checked by test/Integration/CPU/exp2-accuracy.py.
      // i32(4) is _MM_FROUND_CUR_DIRECTION: the rounding mode of MXCSR.
      return x86vector::MaskScaleFOp::create(b, loc, p, k, p, i16(-1), i32(4));
    }
    auto it = VectorType::get(vt.getShape(), b.getI32Type());
    Value bits = arith::FPToSIOp::create(b, loc, it, k);
    bits = arith::AddIOp::create(
        b, loc, bits,
        arith::ConstantOp::create(
            b, loc, it, DenseElementsAttr::get(it, b.getI32IntegerAttr(127))));
    bits = arith::ShLIOp::create(
        b, loc, bits,
        arith::ConstantOp::create(
            b, loc, it, DenseElementsAttr::get(it, b.getI32IntegerAttr(23))));
    return mul(p, arith::BitcastOp::create(b, loc, vt, bits));
  }

  Value i32(int32_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  Value i16(int16_t v) {
    return arith::ConstantOp::create(b, loc, b.getI16IntegerAttr(v));
  }

  /// softplus(x) = max(x, 0) + log1p(e), e = exp(-|x|) = 2^(-|x| log2 e)
  /// in (0, 1], with log1p(e) = e * q(e) and q our degree-8 polynomial of
  /// least maximum relative error to log1p(e) / e on [0, 1] (3.3e-8 in exact
  /// arithmetic). With exp2's error, softplus is within 4e-7 relative of
  /// float64 plus 1.2e-7 * |x| for x < 0: rounding x * log2 e once costs
  /// about |x| ulps there, which is fp32's own conditioning of softplus at
  /// x << 0 (test/Integration/CPU/softplus-silu.py: at most 5.6e-7 on
  /// [-8, 8]).
  /// Above x = 20 the formula gives x exactly (e * q(e) < 2.1e-9 is below
  /// half an ulp of x), as PyTorch's threshold does, without a select.
  /// Per step, not per state update, but most of the per-step work: with
  /// upstream's math.exp and math.log1p approximations here (and log1p's
  /// division) and upstream's exp in SiLU, the reference shape's scan took
  /// 11.8-12.6 ms; with these two functions 9.4-9.7 ms. This one is about
  /// 20 vector operations and no division.
  Value vsoftplus(Value x) {
    Value ax = math::AbsFOp::create(b, loc, x);
    Value e = exp2(mul(ax, splat(-kLog2E)));
    static constexpr double kQ[] = {5.364913e-03, -3.0066114e-02,
                                    7.920501e-02, -1.3753837e-01,
                                    1.915367e-01, -2.4857166e-01,
                                    3.3321324e-01, -4.9999648e-01, 1.0};
    Value q = splat(kQ[0]);
    for (double c : ArrayRef<double>(kQ).drop_front())
      q = fma(q, e, splat(c));
    return fma(e, q, arith::MaximumFOp::create(b, loc, x, splat(0.0)));
  }

  /// silu(x) = x / (1 + 2^(-x log2 e)) with exp2 above rather than
  /// upstream's math.exp approximation (whose range reduction by ln 2 and
  /// clamping exp2 does without; see vsoftplus for the gain). 2^(-x log2 e)
  /// overflows to +inf for x < -88.7 with vscalefps, giving -0; without
  /// AVX-512 exp2 clamps at 2^127, giving a denormal or -0. Never NaN.
  Value silu(Value x) {
    Value e = exp2(mul(x, splat(-kLog2E)));
    return arith::DivFOp::create(b, loc, x, add(splat(1.0), e));
  }
};

/// A computed elementwise from one array of its shape: Mamba-1's A =
/// -exp(A_log), a linalg.generic of ssm-expand-blocks (identity maps, a body
/// of elementwise-mappable ops on the input alone). The scan then reads that
/// input and applies the body to the vectors it loads, inside its parallel
/// tiles, where the generic would be a serial pass over the whole array
/// before the scan on every call (24576 exps per layer and decoding step at
/// Mamba-130m's shape). Null for any other A.
linalg::GenericOp elementwiseProducer(Value a) {
  auto gen = a.getDefiningOp<linalg::GenericOp>();
  if (!gen || gen.getNumDpsInputs() != 1 || gen.getNumDpsInits() != 1 ||
      !gen.hasPureTensorSemantics() ||
      gen.getDpsInputs()[0].getType() != a.getType() ||
      !llvm::all_of(gen.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }) ||
      !llvm::all_of(gen.getIteratorTypesArray(), [](utils::IteratorType t) {
        return t == utils::IteratorType::parallel;
      }))
    return {};
  Block &body = gen.getRegion().front();
  if (!body.getArgument(1).use_empty())
    return {};
  for (Operation &op : body.without_terminator()) {
    if (!OpTrait::hasElementwiseMappableTraits(&op) ||
        op.getNumResults() != 1 || op.getNumRegions() != 0)
      return {};
    for (Value v : op.getOperands())
      if (v.getParentBlock() != &body)
        return {};
  }
  Value yielded = body.getTerminator()->getOperand(0);
  if (yielded.getParentBlock() != &body)
    return {};
  return gen;
}

/// `gen`'s body (elementwiseProducer) applied to the vector `v` of its input.
Value applyElementwise(OpBuilder &b, linalg::GenericOp gen, Value v) {
  Block &body = gen.getRegion().front();
  auto shape = cast<VectorType>(v.getType()).getShape();
  IRMapping map;
  map.map(body.getArgument(0), v);
  for (Operation &op : body.without_terminator()) {
    Operation *lanes = b.clone(op, map);
    Value r = lanes->getResult(0);
    r.setType(VectorType::get(shape, r.getType()));
  }
  return map.lookupOrDefault(body.getTerminator()->getOperand(0));
}

struct SelectiveScanToVector : OpRewritePattern<SelectiveScanOp> {
  SelectiveScanToVector(MLIRContext *ctx, int64_t width, bool avx512,
                        int64_t tileGroup, int64_t threads, int64_t chunkBlocks,
                        int64_t stateBlock)
      : OpRewritePattern(ctx), width(width), avx512(avx512),
        tileGroup(tileGroup), threads(threads), chunkBlocks(chunkBlocks),
        stateBlock(stateBlock) {}

  int64_t width;
  bool avx512;
  /// Channel tiles that advance through time together, chunk by chunk (at
  /// most; 0: maxTileGroup's defaults), and the threads that must each get
  /// a group.
  int64_t tileGroup, threads;
  /// Blocks of `width` steps per time chunk. Measured on the reference
  /// shape, performance.md's problem, one thread (docs/cpu-fast-path.md):
  /// 1 block 6.3-7.2 ms, 2 blocks 6.0-7.9, 4 blocks 5.9-6.4, 8 blocks
  /// 6.4-7.1.
  int64_t chunkBlocks;
  /// With parked states, the most states per pass of the state loop (0:
  /// stateBlockLimit's defaults).
  int64_t stateBlock;

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    using Kind = SelectiveScanOp::ProjectionKind;
    auto uType = cast<RankedTensorType>(op.getU().getType());
    auto aType = cast<RankedTensorType>(op.getA().getType());
    if (!uType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "the fast path is f32 only");
    // Complex A (S4D) keeps the reference loops: its tile body would need
    // vector sin/cos and twice the registers per state.
    if (op.isComplex())
      return rewriter.notifyMatchFailure(op, "complex A is not vectorised");
    const bool tm = op.isTokenMajor();
    const int64_t V = width;
    // A static length decides between the chunk path and the one-step path
    // at compile time (no branch is emitted); see the decoding step below.
    const int64_t staticL = uType.getDimSize(tm ? 1 : 2);
    const bool onlyChunks = staticL != ShapedType::kDynamic && staticL != 1;
    const bool onlyStep = staticL == 1 && tm;
    // The chunk path holds a channel tile's states in registers: at most 64
    // (StateGroups.cpp splits larger n), or up to 256 in blocks when it parks
    // them. A token_major single step with the states in the lanes streams
    // them, whatever n is.
    if (aType.isDynamicDim(1))
      return rewriter.notifyMatchFailure(op, "needs a static n");
    const int64_t n = aType.getDimSize(1);
    // No states: y is D u (gated) and the state is h0 or empty. The tile
    // code sizes its registers and blocks by n, so the reference loops,
    // which compute that directly, take it.
    if (n == 0)
      return rewriter.notifyMatchFailure(op, "no states (n = 0)");
    const bool uniformA = isUniformAlongStates(op.getA());
    const int64_t blockLimit = stateBlockLimit(stateBlock, uniformA);
    const int64_t maxGroup = maxTileGroup(tm, tileGroup, n, blockLimit);
    if (n > kMaxRegisterStates && !(onlyStep && n % V == 0) &&
        !blocksStates(op, tileGroup, stateBlock))
      return rewriter.notifyMatchFailure(
          op, "n > 64 needs parked states (n <= 256) or a token_major single "
              "step with n a multiple of the vector width");
    Kind kindB = SelectiveScanOp::getProjectionKind(op.getB());
    Kind kindC = SelectiveScanOp::getProjectionKind(op.getC());
    // How a tile reads a grouped B or C: `span` groups at most
    // (groupsPerTile; 1 for the other kinds), as a blend of that many
    // broadcasts (one broadcast for 1) up to kMaxBlendGroups, else gathered
    // (blend 0).
    auto groupSpan = [&](Value proj, Kind kind) -> int64_t {
      if (kind != Kind::Grouped)
        return 1;
      return groupsPerTile(
          uType.getDimSize(tm ? 2 : 1),
          cast<RankedTensorType>(proj.getType()).getDimSize(tm ? 2 : 1), V);
    };
    const int64_t spanB = groupSpan(op.getB(), kindB),
                  spanC = groupSpan(op.getC(), kindC);
    const int64_t blendB = spanB <= kMaxBlendGroups ? spanB : 0,
                  blendC = spanC <= kMaxBlendGroups ? spanC : 0;

    Location loc = op.getLoc();
    VectorBuilder vb(rewriter, loc, V, avx512);
    Value u = vb.toBuffer(op.getU(), true), delta = vb.toBuffer(op.getDelta(), true);
    // A uniform A is read one column per channel; its producer is rebuilt on
    // that column, so the other columns are neither computed nor stored.
    // An elementwise A is read at its input and mapped per vector loaded.
    linalg::GenericOp mapA =
        uniformA ? linalg::GenericOp() : elementwiseProducer(op.getA());
    Value A =
        vb.toBuffer(uniformA ? narrowUniformAlongStates(rewriter, op.getA())
                    : mapA   ? mapA.getDpsInputs()[0]
                             : op.getA(),
                    true);
    auto valuesOfA = [&](Value loaded) {
      return mapA ? applyElementwise(rewriter, mapA, loaded) : loaded;
    };
    Value B = vb.toBuffer(op.getB(), true), C = vb.toBuffer(op.getC(), true);
    Value D = op.getD() ? vb.toBuffer(op.getD(), true) : Value();
    Value z = op.getZ() ? vb.toBuffer(op.getZ(), true) : Value();
    Value bias = op.getDeltaBias() ? vb.toBuffer(op.getDeltaBias(), true) : Value();
    // The last state overwrites h0 where h0 is a view of a state that lives
    // on (a model's state stack, sliced and reshaped), which the last state
    // then updates: every path below reads a tile's h0 before it writes
    // that tile's last state, and the tiles are disjoint. The stack's
    // update is then a copy of a buffer onto itself, which
    // ssm-strided-copies skips at run time (a 786 KB copy per layer of
    // Mamba-2's decoding step). An h0 from elsewhere (an argument) or one
    // that other scans read too (a state group's slice) is only read:
    // writing it would make bufferization copy it first.
    const bool lastInH0 =
        op.getH0() && op.getLastState() && !op->hasAttr(kSharedH0Attr) &&
        op.getH0().getType() == op.getLastState().getType() &&
        isa_and_nonnull<tensor::ExtractSliceOp, tensor::CollapseShapeOp>(
            op.getH0().getDefiningOp());
    Value h0 = op.getH0() ? vb.toBuffer(op.getH0(), true, lastInH0) : Value();

    Value nb = vb.dim(u, 0), nd = vb.dim(u, tm ? 2 : 1), nL = vb.dim(u, tm ? 1 : 2);
    auto yType = cast<RankedTensorType>(op.getY().getType());
    Value y = vb.alloc(yType, {vb.dim(u, 0), vb.dim(u, 1), vb.dim(u, 2)});
    Value last;
    if (op.getLastState())
      last = lastInH0
                 ? h0
                 : vb.alloc(cast<RankedTensorType>(op.getLastState().getType()),
                            {nb, nd, vb.idx(n)});
    Value nTiles = arith::DivUIOp::create(
        rewriter, loc, arith::AddIOp::create(rewriter, loc, nd, vb.idx(V - 1)),
        vb.idx(V));
    Value lastC = arith::SubIOp::create(rewriter, loc, nd, vb.idx(1));
    auto groupSize = [&](Value proj, Kind kind) -> Value {
      if (kind != Kind::Grouped)
        return Value();
      return arith::DivUIOp::create(rewriter, loc, nd,
                                    vb.dim(proj, tm ? 2 : 1));
    };
    Value perGroupB = groupSize(B, kindB), perGroupC = groupSize(C, kindC);
    // Tiles spanning groups: the lane numbers (blend masks, gather
    // offsets); for a gather the groups' stride, and the gather's mask and
    // pass-through (every lane is read; the last tile's lanes past the last
    // channel read the last channel's group).
    VectorType laneIdx = VectorType::get({V}, rewriter.getI64Type());
    Value gatherAll, gatherPass, laneIota;
    if (blendB != 1 || blendC != 1) {
      SmallVector<int64_t> iota(V);
      std::iota(iota.begin(), iota.end(), 0);
      laneIota = arith::ConstantOp::create(
          rewriter, loc, laneIdx,
          DenseElementsAttr::get(laneIdx, ArrayRef<int64_t>(iota)));
    }
    if (blendB == 0 || blendC == 0) {
      auto maskType = VectorType::get({V}, rewriter.getI1Type());
      gatherAll = arith::ConstantOp::create(
          rewriter, loc, maskType,
          DenseElementsAttr::get(maskType, rewriter.getBoolAttr(true)));
      gatherPass = vb.splat(0.0);
    }
    auto groupStride = [&](Value mem, int64_t blend) -> Value {
      if (blend != 0)
        return Value();
      auto meta = memref::ExtractStridedMetadataOp::create(rewriter, loc, mem);
      return meta.getStrides()[tm ? 2 : 1];
    };
    Value strideB = groupStride(B, blendB), strideC = groupStride(C, blendC);

    // Tile groups: the chunk path runs the tiles of a group (maxGroup
    // consecutive tiles at most) one chunk each, then the next chunk, so
    // that in token_major layout a group reads its operands as rows
    // group * V channels wide instead of V wide. A grouped tile's states
    // and A * log2(e) are parked between chunks in (b, tiles, n, V)
    // buffers; single tiles (channel_first) keep their states in registers.
    // A parallel iteration is a (batch row, group); groups shrink (to one
    // tile) until every thread has one, and the decoding step (L = 1)
    // takes groups of one tile.
    Value groupTiles = arith::MaxUIOp::create(
        rewriter, loc, vb.idx(1),
        arith::MinUIOp::create(
            rewriter, loc, vb.idx(maxGroup),
            arith::DivUIOp::create(
                rewriter, loc, arith::MulIOp::create(rewriter, loc, nb, nTiles),
                vb.idx(threads))));
    Value nGroups =
        arith::CeilDivUIOp::create(rewriter, loc, nTiles, groupTiles);
    auto parkType = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic,
                                     n, V},
                                    rewriter.getF32Type());

    // Workspace of the chunk path: one (chunk steps x V channels) block per
    // quantity, allocated by each parallel iteration (the deallocation
    // pipeline frees it at the iteration's end): dt, u and dt * u from the
    // chunk's prologue (z in the epilogue), the C contraction of each step.
    const int64_t chunkSteps = chunkBlocks * V;
    auto wsType = MemRefType::get({chunkSteps, V}, rewriter.getF32Type());

    // A decoding step (L = 1) takes a path of its own (see below). With n a
    // multiple of V it holds a channel's states in the lanes, otherwise the
    // channels as everywhere else. Each reads a row (a batch row's
    // channels, or the states of B and C) as contiguous vectors; in
    // channel_first layout such a row runs along a dimension whose stride
    // is 1 only when the arrays are dense with L = 1, which is tested here
    // (a strided view takes the general path).
    const bool stateLanes = n % V == 0;
    Value oneStep;
    auto requireUnitStride = [&](Value mem, unsigned dim) {
      auto meta = memref::ExtractStridedMetadataOp::create(rewriter, loc, mem);
      Value unit = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                         meta.getStrides()[dim], vb.idx(1));
      oneStep = arith::AndIOp::create(rewriter, loc, oneStep, unit);
    };
    // The chunk path's buffers for parked states.
    Value parkH, parkA;
    if (!onlyStep) {
      if (maxGroup > 1) {
        parkH = memref::AllocOp::create(rewriter, loc, parkType,
                                        ValueRange{nb, nTiles});
        parkA = memref::AllocOp::create(rewriter, loc, parkType,
                                        ValueRange{nb, nTiles});
      }
    }
    if (!onlyChunks && !onlyStep)
      oneStep = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                      nL, vb.idx(1));
    if (oneStep && !tm) {
      for (Value mem : {u, delta, z})
        if (mem)
          requireUnitStride(mem, 1);
      if (stateLanes) {
        if (kindB != Kind::TimeInvariant)
          requireUnitStride(B, kindB == Kind::Grouped ? 2 : 1);
        if (kindC != Kind::TimeInvariant)
          requireUnitStride(C, kindC == Kind::Grouped ? 2 : 1);
      }
    }

    // Tiles per parallel iteration: groupTiles for chunks, 1 for a step.
    Value perIter = onlyStep ? vb.idx(1) : groupTiles;
    Value nIters = onlyStep ? nTiles : nGroups;
    if (oneStep) {
      perIter = arith::SelectOp::create(rewriter, loc, oneStep, vb.idx(1),
                                        perIter);
      nIters = arith::SelectOp::create(rewriter, loc, oneStep, nTiles, nIters);
    }
    auto par = scf::ParallelOp::create(
        rewriter, loc, ValueRange{vb.idx(0), vb.idx(0)}, ValueRange{nb, nIters},
        ValueRange{vb.idx(1), vb.idx(1)});
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(par.getBody());
    Value bi = par.getInductionVars()[0], group = par.getInductionVars()[1];
    Value firstTile = arith::MulIOp::create(rewriter, loc, group, perIter);
    Value endTile = arith::MinUIOp::create(
        rewriter, loc, nTiles,
        arith::AddIOp::create(rewriter, loc, firstTile, perIter));
    // The current tile and its first channel, set by forTiles below for the
    // code it builds (the lambdas read them when they run).
    Value tile, c0;

    // The n states of the tile's V channels, one vector<V> per state, from
    // or to a (..., d, n) buffer whose rows (one channel's states) are
    // contiguous: moved as V x V blocks (V channels x V states, masked past
    // the last channel and the last state) and transposed in registers.
    // Reading a state's V channels directly is a strided gather that
    // lowers to V scalar loads and bounds tests; for a decoding step
    // (L = 1) those were most of the scan's time.
    auto block = VectorType::get({V, V}, rewriter.getF32Type());
    Value zero = vb.flt(rewriter.getF32Type(), 0.0);
    auto statesMap = [&](Value mem) {
      unsigned rank = cast<MemRefType>(mem.getType()).getRank();
      return AffineMap::get(rank, 0,
                            {rewriter.getAffineDimExpr(rank - 2),
                             rewriter.getAffineDimExpr(rank - 1)},
                            rewriter.getContext());
    };
    auto readStates = [&](Value mem, ArrayRef<Value> rowAt,
                          int64_t count = -1) -> SmallVector<Value> {
      SmallVector<Value> states;
      for (int64_t j0 = 0; j0 < (count < 0 ? n : count); j0 += V) {
        SmallVector<Value> at(rowAt);
        at.push_back(vb.idx(j0));
        Value blk = vector::TransferReadOp::create(
            rewriter, loc, block, mem, at, zero, statesMap(mem),
            ArrayRef<bool>{false, false});
        blk = vector::TransposeOp::create(rewriter, loc, blk,
                                          ArrayRef<int64_t>{1, 0});
        for (int64_t j = j0; j < std::min(n, j0 + V); ++j)
          states.push_back(vector::ExtractOp::create(rewriter, loc, blk, j - j0));
      }
      return states;
    };
    auto writeStates = [&](ArrayRef<Value> states, Value mem,
                           ArrayRef<Value> rowAt) {
      for (int64_t j0 = 0; j0 < n; j0 += V) {
        Value blk = arith::ConstantOp::create(
            rewriter, loc, block,
            DenseElementsAttr::get(block, rewriter.getF32FloatAttr(0.0f)));
        for (int64_t j = j0; j < std::min(n, j0 + V); ++j)
          blk = vector::InsertOp::create(rewriter, loc, states[j], blk, j - j0);
        blk = vector::TransposeOp::create(rewriter, loc, blk,
                                          ArrayRef<int64_t>{1, 0});
        SmallVector<Value> at(rowAt);
        at.push_back(vb.idx(j0));
        vector::TransferWriteOp::create(rewriter, loc, blk, mem, at,
                                        statesMap(mem),
                                        ArrayRef<bool>{false, false});
      }
    };

    // Per-tile constants: A * log2(e), time-invariant B/C (loaded by the
    // paths that hold channels in the lanes), D, bias, groups.
    SmallVector<Value> A2, invB, invC;
    Value log2e = vb.splat(kLog2E);
    auto loadChannelLaneConstants = [&]() {
      if (uniformA) {
        // One decay per channel: read the first state's column only.
        A2.assign(n, vb.mul(readStates(A, {c0}, 1).front(), log2e));
      } else {
        A2 = readStates(A, {c0});
        for (Value &a : A2)
          a = vb.mul(valuesOfA(a), log2e);
      }
      if (kindB == Kind::TimeInvariant)
        invB = readStates(B, {c0});
      if (kindC == Kind::TimeInvariant)
        invC = readStates(C, {c0});
    };
    Value Dv, biasV;
    // A tile's groups of a grouped B or C whose groups split tiles: the
    // `span` groups from its first channel's (clamped to the last group),
    // for a blend with the lanes that read each group after the first, for
    // a gather with each lane's element offset in the operand.
    //
    // In channel_first layout the chunk path reads those groups' rows from
    // a copy that the chunk's prologue makes, `rows` ((span, n, chunk
    // steps), contiguous; a gather then takes `rowOffsets`): the rows
    // themselves lie L floats apart, and with L a multiple of 1024 the 2
    // span n rows that the state loop reads one float at a time all fall
    // in one set of the 12-way L1 cache. At the reference shape (L 2048)
    // two groups per tile ran 2.2x slower than one without the copy, and as
    // fast with L 2064 (docs/cpu-fast-path.md).
    struct TileGroups {
      SmallVector<Value> groups, masks;
      Value offsets, rows, rowOffsets, spanned;
    };
    TileGroups tgB, tgC;
    // The chunk path's copies of the rows (TileGroups::rows).
    Value wsRowsB, wsRowsC;
    auto tileGroups = [&](Value mem, Value perGroup, int64_t span,
                          int64_t blend, Value stride,
                          Value rows) -> TileGroups {
      TileGroups tg;
      if (!perGroup)
        return tg;
      auto i64 = [&](Value index) -> Value {
        return arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(),
                                          index);
      };
      auto lanes = [&](Value index) -> Value {
        return vector::BroadcastOp::create(rewriter, loc, laneIdx, i64(index));
      };
      Value first = arith::DivUIOp::create(rewriter, loc, c0, perGroup);
      tg.groups.push_back(first);
      if (span == 1)
        return tg;
      tg.rows = rows;
      Value lastGroup = arith::SubIOp::create(
          rewriter, loc, vb.dim(mem, tm ? 2 : 1), vb.idx(1));
      for (int64_t i = 1; i < span; ++i) {
        Value gi = arith::AddIOp::create(rewriter, loc, first, vb.idx(i));
        tg.groups.push_back(
            arith::MinUIOp::create(rewriter, loc, gi, lastGroup));
        if (blend == 0)
          continue;
        // Group gi starts at lane gi * G - c0 (at least 1), past the tile's
        // lanes when the tile ends first.
        Value from = arith::MinUIOp::create(
            rewriter, loc,
            arith::SubIOp::create(
                rewriter, loc,
                arith::MulIOp::create(rewriter, loc, gi, perGroup), c0),
            vb.idx(V));
        tg.masks.push_back(arith::CmpIOp::create(
            rewriter, loc, arith::CmpIPredicate::uge, laneIota, lanes(from)));
      }
      if (blend != 0)
        return tg;
      Value ch = arith::MinUIOp::create(
          rewriter, loc,
          arith::AddIOp::create(rewriter, loc, lanes(c0), laneIota),
          lanes(lastC));
      Value grp = arith::DivUIOp::create(rewriter, loc, ch, lanes(perGroup));
      tg.offsets = arith::MulIOp::create(rewriter, loc, grp, lanes(stride));
      // The groups this tile spans: from its first channel's to its last's.
      Value lastCh = arith::MinUIOp::create(
          rewriter, loc,
          arith::AddIOp::create(rewriter, loc, c0, vb.idx(V - 1)), lastC);
      tg.spanned = arith::AddIOp::create(
          rewriter, loc,
          arith::SubIOp::create(
              rewriter, loc,
              arith::DivUIOp::create(rewriter, loc, lastCh, perGroup), first),
          vb.idx(1));
      if (rows)
        tg.rowOffsets = arith::MulIOp::create(
            rewriter, loc,
            arith::SubIOp::create(rewriter, loc, grp, lanes(first)),
            lanes(vb.idx(n * chunkSteps)));
      return tg;
    };
    // body(tile) for each tile of this iteration, with tile, c0 and the
    // per-tile constants above set for it.
    auto forTiles = [&](function_ref<void()> body) {
      auto each = [&](Value t) {
        tile = t;
        c0 = arith::MulIOp::create(rewriter, loc, t, vb.idx(V));
        Dv = D ? vb.readLanes(D, {c0}, 0) : Value();
        biasV = bias ? vb.readLanes(bias, {c0}, 0) : Value();
        tgB = tileGroups(B, perGroupB, spanB, blendB, strideB, wsRowsB);
        tgC = tileGroups(C, perGroupC, spanC, blendC, strideC, wsRowsC);
        body();
      };
      if (onlyStep || maxGroup == 1) // one tile per iteration
        return each(firstTile);
      scf::ForOp::create(rewriter, loc, firstTile, endTile, vb.idx(1),
                         ValueRange{},
                         [&](OpBuilder &, Location, Value t, ValueRange) {
                           each(t);
                           scf::YieldOp::create(rewriter, loc);
                         });
    };
    auto initialStates = [&]() -> SmallVector<Value> {
      return h0 ? readStates(h0, {bi, c0}) : SmallVector<Value>(n, vb.splat(0.0));
    };

    // Projection coefficient of state j at step t, broadcast over the lanes.
    // A grouped one is one broadcast, a blend of broadcasts or a gather
    // (TileGroups).
    auto proj = [&](Value mem, Kind kind, ArrayRef<Value> inv,
                    const TileGroups &tg, int64_t j, Value t,
                    Value s) -> Value {
      Value jj = vb.idx(j);
      switch (kind) {
      case Kind::TimeInvariant:
        return inv[j];
      case Kind::Variable:
        return vb.bcast(tm ? vb.load(mem, {bi, t, jj}) : vb.load(mem, {bi, jj, t}));
      case Kind::Grouped: {
        auto at = [&](Value group) -> SmallVector<Value> {
          return tm ? SmallVector<Value>{bi, t, group, jj}
                    : SmallVector<Value>{bi, group, jj, t};
        };
        if (tg.offsets)
          return tg.rows && s
                     ? vector::GatherOp::create(rewriter, loc, vb.vt, tg.rows,
                                                ValueRange{vb.idx(0), jj, s},
                                                tg.rowOffsets, gatherAll,
                                                gatherPass)
                     : vector::GatherOp::create(rewriter, loc, vb.vt, mem,
                                                at(vb.idx(0)), tg.offsets,
                                                gatherAll, gatherPass);
        // The chunk's copy of the groups' rows (TileGroups::rows), else
        // the operand.
        auto group = [&](int64_t i) -> Value {
          return vb.bcast(tg.rows && s ? vb.load(tg.rows, {vb.idx(i), jj, s})
                                       : vb.load(mem, at(tg.groups[i])));
        };
        Value v = group(0);
        for (auto [i, mask] : llvm::enumerate(tg.masks))
          v = arith::SelectOp::create(rewriter, loc, mask, group(i + 1), v);
        return v;
      }
      }
      llvm_unreachable("unknown projection kind");
    };

    // Time goes in chunks of chunkBlocks blocks of V steps. A chunk's
    // prologue reads each per-step operand block by block as (V steps x V
    // channels) blocks (in channel_first layout (channels x steps) blocks
    // with contiguous rows, transposed in registers), parks them in the
    // workspace and computes dt (bias, softplus) and dt * u row by row. The
    // state loop then runs over the chunk's steps with the n states in
    // registers, loading two rows per step and storing the C contraction.
    // The epilogue adds the D skip, applies the SiLU(z) gate row by row and
    // writes y back block by block. Keeping softplus and SiLU out of the
    // state loop keeps that loop small (it fits the micro-op cache) and its
    // registers free for the states. A chunk of several blocks reads that
    // many consecutive cache lines of each row in channel_first layout (V =
    // 16) and spills and reloads the states around its prologue less often.
    // Blocks past the end of the sequence or of the channels are masked;
    // blocks without a real step are skipped and the state loop stops at
    // the last real step. The workspace blocks have static shapes, so their
    // rows are constant offsets from one pointer.
    Value wsDt, wsU, wsDtu, wsY;
    auto slot = [&](Value s) -> SmallVector<Value> { return {s, vb.idx(0)}; };
    AffineMap minor = AffineMap::get(
        3, 0, {rewriter.getAffineDimExpr(1), rewriter.getAffineDimExpr(2)},
        rewriter.getContext());
    auto readBlock = [&](Value mem, Value t0) -> Value {
      SmallVector<Value> at = actIndex(tm, bi, c0, t0);
      Value blk = vector::TransferReadOp::create(rewriter, loc, block, mem, at,
                                                 zero, minor,
                                                 ArrayRef<bool>{false, false});
      if (tm)
        return blk;
      return vector::TransposeOp::create(rewriter, loc, blk,
                                         ArrayRef<int64_t>{1, 0});
    };
    auto writeBlock = [&](Value blk, Value mem, Value t0) {
      if (!tm)
        blk = vector::TransposeOp::create(rewriter, loc, blk,
                                          ArrayRef<int64_t>{1, 0});
      vector::TransferWriteOp::create(rewriter, loc, blk, mem,
                                      actIndex(tm, bi, c0, t0), minor,
                                      ArrayRef<bool>{false, false});
    };
    auto park = [&](Value blk, Value wsMem, Value r0) {
      vector::TransferWriteOp::create(rewriter, loc, blk, wsMem, slot(r0),
                                      ArrayRef<bool>{true, true});
    };
    auto unpark = [&](Value wsMem, Value r0) -> Value {
      return vector::TransferReadOp::create(rewriter, loc, block, wsMem,
                                            slot(r0), zero,
                                            ArrayRef<bool>{true, true});
    };
    auto row = [&](Value wsMem, Value r) -> Value {
      return vector::LoadOp::create(rewriter, loc, vb.vt, wsMem, slot(r));
    };

    // Software prefetch of the blocks kAhead blocks ahead: in channel_first
    // layout a block reads V rows V*4 bytes long from each operand, V
    // separate streams, more than the hardware prefetchers follow (without
    // it the reference shape ran measurably slower in side-by-side runs;
    // see docs/cpu-fast-path.md). Step s of the state loop prefetches row
    // s mod V of the block kAhead blocks after its own, so that the misses
    // spread over the chunk: issued as one burst in the prologue (3V or 4V
    // lines at once) they stalled the core, and the reference shape ran
    // 15-35% slower (docs/cpu-fast-path.md). Indices are clamped into the
    // buffers.
    constexpr int64_t kAhead = 4;
    Value lastT = arith::SubIOp::create(rewriter, loc, nL, vb.idx(1));
    // Row r of the block kAhead blocks after the one at step tb.
    auto prefetchRow = [&](Value tb, Value r) {
      Value tp = arith::AddIOp::create(rewriter, loc, tb, vb.idx(kAhead * V));
      // Row r of a block: channel c0 + r (channel_first) or step tp + r
      // (token_major); the other index is the same for every row.
      auto clamped = [&](Value base, Value off, Value last) -> Value {
        Value i =
            off ? arith::AddIOp::create(rewriter, loc, base, off).getResult()
                : base;
        return arith::MinUIOp::create(rewriter, loc, i, last);
      };
      Value c = clamped(c0, tm ? Value() : r, lastC);
      Value t = clamped(tp, tm ? r : Value(), lastT);
      SmallVector<Value> at = actIndex(tm, bi, c, t);
      for (Value mem : {delta, u, z})
        if (mem)
          memref::PrefetchOp::create(rewriter, loc, mem, at, /*isWrite=*/false,
                                     /*localityHint=*/3, /*isDataCache=*/true);
      memref::PrefetchOp::create(rewriter, loc, y, at, /*isWrite=*/true,
                                 /*localityHint=*/3, /*isDataCache=*/true);
      // In token_major layout the groups of a tile whose lanes span groups
      // (one line of each per 16 states, at step t; a gather's as many as
      // the tile spans): steps lie g n floats apart, a page or more for many
      // groups, where the hardware's prefetchers do not follow. Measured (b
      // 1, d 1536, L 2048, n 16, one thread; docs/cpu-fast-path.md): blends
      // of 12 channels per group 18.1-21.6 ms without, 8.9-10.1 with; 24
      // channels 10.7-12.1 and 8.0-9.3; 8 channels 10.7-13.1 and 12.9-13.3;
      // gathers of 3 channels 101-102 and 46-49, of 1 channel 126-128 and
      // 93-102; groups of 16 (one broadcast, not prefetched) 7.5-8.1.
      if (!tm)
        return;
      auto prefetchGroups = [&](Value mem, int64_t span, const TileGroups &tg) {
        if (span == 1)
          return;
        auto lines = [&](Value g) {
          for (int64_t j = 0; j < n; j += 16)
            memref::PrefetchOp::create(rewriter, loc, mem,
                                       {bi, t, g, vb.idx(j)},
                                       /*isWrite=*/false, /*localityHint=*/3,
                                       /*isDataCache=*/true);
        };
        if (!tg.offsets) {
          for (Value g : tg.groups)
            lines(g);
          return;
        }
        vb.forLoop(tg.spanned, [&](Value i) {
          lines(arith::AddIOp::create(rewriter, loc, tg.groups.front(), i));
        });
      };
      prefetchGroups(B, spanB, tgB);
      prefetchGroups(C, spanC, tgC);
    };

    // One step on V channels of states j0 .. j0 + h.size() - 1: updates
    // them, returns their C contraction. With a uniform A `dtOrDecay` is the
    // step's decay exp2(dt A2), computed once per step by the caller (the
    // chunk's prologue), else dt; `a2` holds A2 of those states.
    auto step = [&](Value dtOrDecay, Value dtu, Value t, Value s,
                    SmallVectorImpl<Value> &h, int64_t j0,
                    ArrayRef<Value> a2) -> Value {
      // The C contraction accumulates into kAcc partial sums summed as a
      // tree: a single chain of n dependent FMAs per step would be the
      // longest latency path of the step.
      constexpr int64_t kAcc = 4;
      SmallVector<Value> partial;
      for (int64_t j = 0; j < int64_t(h.size()); ++j) {
        Value decay = uniformA ? dtOrDecay : vb.exp2(vb.mul(dtOrDecay, a2[j]));
        Value bj = proj(B, kindB, invB, tgB, j0 + j, t, s);
        Value cj = proj(C, kindC, invC, tgC, j0 + j, t, s);
        h[j] = vb.fma(decay, h[j], vb.mul(dtu, bj));
        if (j < kAcc)
          partial.push_back(vb.mul(cj, h[j]));
        else
          partial[j % kAcc] = vb.fma(cj, h[j], partial[j % kAcc]);
      }
      while (partial.size() > 1) {
        SmallVector<Value> next;
        for (size_t i = 0; i + 1 < partial.size(); i += 2)
          next.push_back(vb.add(partial[i], partial[i + 1]));
        if (partial.size() % 2)
          next.push_back(partial.back());
        partial = std::move(next);
      }
      return partial.front();
    };

    // The decoding step (L = 1). The chunk path below would read V x V
    // blocks of which one row is real, run softplus and the gate on V rows
    // and transpose four blocks: on a Mamba-130m step (d 1536, n 16) that
    // machinery cost 3-4 times the step itself. mamba_ssm has a separate
    // kernel for this case (selective_state_update) for the same reason.
    //
    // `lanes(mem, at, dim)`: the vector of `mem` at `at` running along
    // `dim`, as (buffer, indices) for a contiguous access: `mem` itself when
    // `dim` is innermost, else a unit-stride 1-D view (the stride was tested
    // in `oneStep`).
    auto lanes = [&](Value mem, ArrayRef<Value> at,
                     unsigned dim) -> std::pair<Value, SmallVector<Value>> {
      unsigned rank = cast<MemRefType>(mem.getType()).getRank();
      if (dim + 1 == rank)
        return {mem, SmallVector<Value>(at)};
      auto meta = memref::ExtractStridedMetadataOp::create(rewriter, loc, mem);
      Value offset = meta.getOffset();
      for (unsigned i = 0; i < rank; ++i)
        if (i != dim)
          offset = arith::AddIOp::create(
              rewriter, loc, offset,
              arith::MulIOp::create(rewriter, loc, at[i], meta.getStrides()[i]));
      auto viewType = MemRefType::get(
          {ShapedType::kDynamic}, rewriter.getF32Type(),
          StridedLayoutAttr::get(rewriter.getContext(), ShapedType::kDynamic,
                                 {1}));
      Value view = memref::ReinterpretCastOp::create(
          rewriter, loc, viewType, meta.getBaseBuffer(), offset,
          ArrayRef<OpFoldResult>{meta.getSizes()[dim]},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
      return {view, {at[dim]}};
    };
    // Row bi's V channels of a per-step operand (masked past the last).
    auto channelRow = [&](Value mem) {
      auto [view, at] = lanes(mem, actIndex(tm, bi, c0, vb.idx(0)), tm ? 2 : 1);
      return vb.readLanes(view, at, at.size() - 1);
    };
    // dt and dt * u of the step, and its output from the C contraction `acc`.
    Value stepDt, stepU;
    auto stepInputs = [&]() -> Value {
      stepDt = channelRow(delta);
      stepU = channelRow(u);
      if (biasV)
        stepDt = vb.add(stepDt, biasV);
      if (op.getDeltaSoftplus())
        stepDt = vb.vsoftplus(stepDt);
      return vb.mul(stepDt, stepU);
    };
    auto stepOutput = [&](Value acc) {
      if (Dv)
        acc = vb.fma(Dv, stepU, acc);
      if (z)
        acc = vb.mul(acc, vb.silu(channelRow(z)));
      auto [yView, yAt] = lanes(y, actIndex(tm, bi, c0, vb.idx(0)), tm ? 2 : 1);
      vb.writeLanes(acc, yView, yAt, yAt.size() - 1);
    };

    // Channels in the lanes: the step of the chunk path on one step.
    auto channelLaneStep = [&]() {
      loadChannelLaneConstants();
      SmallVector<Value> h = initialStates();
      Value dtu = stepInputs();
      Value dtOrDecay = uniformA ? vb.exp2(vb.mul(stepDt, A2[0])) : stepDt;
      stepOutput(step(dtOrDecay, dtu, vb.idx(0), Value(), h, 0, A2));
      if (last)
        writeStates(h, last, {bi, c0});
    };

    // States in the lanes (n a multiple of V): channel c's n states are n/V
    // contiguous vectors of A, h0 and the last state (and of time-invariant
    // B and C), read and written in place without a transpose; a decoding
    // step's B and C rows are the same vectors for every channel. dt and
    // dt * u are broadcast from their lane. The C contraction of channel c
    // is a vector of partial sums; a shuffle tree reduces the V channels'
    // vectors to one vector of their V sums (log2 V levels of two shuffles
    // and one add per pair, in place of V separate horizontal sums).
    auto stateLaneStep = [&]() {
      Value dtu = stepInputs();
      const int64_t k = n / V;
      auto stateRows = [&](Value mem, Kind kind, Value group) {
        SmallVector<Value> rows;
        if (kind == Kind::TimeInvariant)
          return rows;
        for (int64_t q = 0; q < k; ++q) {
          SmallVector<Value> at =
              kind == Kind::Grouped
                  ? SmallVector<Value>(tm ? ArrayRef<Value>{bi, vb.idx(0), group,
                                                            vb.idx(q * V)}
                                          : ArrayRef<Value>{bi, group,
                                                            vb.idx(q * V),
                                                            vb.idx(0)})
                  : SmallVector<Value>(
                        tm ? ArrayRef<Value>{bi, vb.idx(0), vb.idx(q * V)}
                           : ArrayRef<Value>{bi, vb.idx(q * V), vb.idx(0)});
          unsigned dim = tm ? at.size() - 1 : at.size() - 2;
          auto [view, idx] = lanes(mem, at, dim);
          rows.push_back(vector::LoadOp::create(rewriter, loc, vb.vt, view, idx));
        }
        return rows;
      };
      // exp(dt A) = 2^((dt log2 e) A): log2 e goes into dt once per tile.
      Value dtLog2e = vb.mul(stepDt, log2e);
      // A grouped B or C whose groups split the tile is read per channel.
      auto tileRows = [&](Value mem, Kind kind, int64_t blend,
                          const TileGroups &tg) -> SmallVector<Value> {
        if (blend != 1)
          return {};
        return stateRows(mem, kind, tg.groups.empty() ? Value() : tg.groups[0]);
      };
      SmallVector<Value> rowsB = tileRows(B, kindB, blendB, tgB);
      SmallVector<Value> rowsC = tileRows(C, kindC, blendC, tgC);
      auto channelRows = [&](Value mem, Kind kind, int64_t blend,
                             Value perGroup, ArrayRef<Value> rows,
                             Value ch) -> SmallVector<Value> {
        if (blend == 1)
          return SmallVector<Value>(rows);
        return stateRows(mem, kind,
                         arith::DivUIOp::create(rewriter, loc, ch, perGroup));
      };
      auto load = [&](Value mem, ArrayRef<Value> at) -> Value {
        return vector::LoadOp::create(rewriter, loc, vb.vt, mem, at);
      };
      // Channels past the last (a partial last tile) are skipped; with a
      // static d that is a multiple of V there are none.
      int64_t staticD = uType.getDimSize(tm ? 2 : 1);
      const bool fullTiles = staticD != ShapedType::kDynamic && staticD % V == 0;
      SmallVector<Value> partial;
      for (int64_t c = 0; c < V; ++c) {
        Value ch = arith::AddIOp::create(rewriter, loc, c0, vb.idx(c));
        OpBuilder::InsertionGuard g(rewriter);
        scf::IfOp channel;
        if (!fullTiles) {
          Value inRange = arith::CmpIOp::create(
              rewriter, loc, arith::CmpIPredicate::ult, ch, nd);
          channel = scf::IfOp::create(rewriter, loc, TypeRange{vb.vt}, inRange,
                                      /*withElseRegion=*/true);
          rewriter.setInsertionPointToStart(&channel.getThenRegion().front());
        }
        Value dtc = vb.bcast(vector::ExtractOp::create(rewriter, loc, dtLog2e, c));
        Value dtuc = vb.bcast(vector::ExtractOp::create(rewriter, loc, dtu, c));
        // One decay per channel: one exp, A's one column (narrowed above).
        Value sharedDecay;
        if (h0 && uniformA)
          sharedDecay = vb.exp2(
              vb.mul(dtc, vb.bcast(memref::LoadOp::create(
                              rewriter, loc, A, ValueRange{ch, vb.idx(0)}))));
        SmallVector<Value> chRowsB =
            channelRows(B, kindB, blendB, perGroupB, rowsB, ch);
        SmallVector<Value> chRowsC =
            channelRows(C, kindC, blendC, perGroupC, rowsC, ch);
        Value acc;
        for (int64_t q = 0; q < k; ++q) {
          Value j0 = vb.idx(q * V);
          Value bq =
              kindB == Kind::TimeInvariant ? load(B, {ch, j0}) : chRowsB[q];
          Value cq =
              kindC == Kind::TimeInvariant ? load(C, {ch, j0}) : chRowsC[q];
          Value hq = vb.mul(dtuc, bq);
          if (h0)
            hq = vb.fma(
                uniformA ? sharedDecay
                         : vb.exp2(vb.mul(dtc, valuesOfA(load(A, {ch, j0})))),
                load(h0, {bi, ch, j0}), hq);
          if (last)
            vector::StoreOp::create(rewriter, loc, hq, last, ValueRange{bi, ch, j0});
          acc = acc ? vb.fma(cq, hq, acc) : vb.mul(cq, hq);
        }
        if (fullTiles) {
          partial.push_back(acc);
          continue;
        }
        scf::YieldOp::create(rewriter, loc, acc);
        rewriter.setInsertionPointToStart(&channel.getElseRegion().front());
        scf::YieldOp::create(rewriter, loc, vb.splat(0.0));
        partial.push_back(channel.getResult(0));
      }
      // Level with m channels per vector, q = V / m lanes each: channel t of
      // a pair's first vector goes to lanes [t q/2, (t+1) q/2) as the sum of
      // its two halves, the second vector's channels follow.
      for (int64_t m = 1; m < V; m *= 2) {
        int64_t q = V / m;
        SmallVector<int64_t> lo, hi;
        for (int64_t src : {int64_t(0), V})
          for (int64_t t = 0; t < m; ++t)
            for (int64_t i = 0; i < q / 2; ++i) {
              lo.push_back(src + t * q + i);
              hi.push_back(src + t * q + q / 2 + i);
            }
        SmallVector<Value> next;
        for (size_t i = 0; i < partial.size(); i += 2) {
          Value x = partial[i], y2 = partial[i + 1];
          next.push_back(vb.add(
              vector::ShuffleOp::create(rewriter, loc, x, y2, lo),
              vector::ShuffleOp::create(rewriter, loc, x, y2, hi)));
        }
        partial = std::move(next);
      }
      stepOutput(partial.front());
    };

    // The n vectors of the current tile parked in parkH or parkA.
    auto parkAt = [&](int64_t j) -> SmallVector<Value> {
      return {bi, tile, vb.idx(j), vb.idx(0)};
    };
    // Rows j0 .. j0 + count - 1 of the current tile in parkH or parkA.
    auto unparkBlock = [&](Value mem, int64_t j0,
                           int64_t count) -> SmallVector<Value> {
      SmallVector<Value> rows;
      for (int64_t j = j0; j < j0 + count; ++j)
        rows.push_back(
            vector::LoadOp::create(rewriter, loc, vb.vt, mem, parkAt(j)));
      return rows;
    };
    auto parkBlock = [&](ArrayRef<Value> rows, Value mem, int64_t j0) {
      for (auto [j, r] : llvm::enumerate(rows))
        vector::StoreOp::create(rewriter, loc, r, mem, parkAt(j0 + j));
    };
    // All n rows; a uniform A parks and reloads one row, then repeats it.
    auto parkRows = [&](ArrayRef<Value> rows, Value mem, bool one = false) {
      parkBlock(rows.take_front(one ? 1 : n), mem, 0);
    };
    auto unparkRows = [&](Value mem, bool one = false) -> SmallVector<Value> {
      SmallVector<Value> rows = unparkBlock(mem, 0, one ? 1 : n);
      if (one)
        rows.assign(n, rows.front());
      return rows;
    };

    // The state loop over a chunk's `steps` steps from t0 for the states j0
    // .. j0 + hs.size() - 1 (scaled A `a2`): returns them after the chunk.
    // The first pass over a chunk stores each step's contraction in wsY
    // and prefetches; later passes (state blocks) add theirs.
    auto stateLoop = [&](Value t0, Value steps, ValueRange hs, int64_t j0,
                         ArrayRef<Value> a2, bool first) -> SmallVector<Value> {
      auto loop = scf::ForOp::create(
          rewriter, loc, vb.idx(0), steps, vb.idx(1), hs,
          [&](OpBuilder &, Location, Value s, ValueRange hIn) {
            SmallVector<Value> h(hIn.begin(), hIn.end());
            Value t = arith::AddIOp::create(rewriter, loc, t0, s);
            if (first && chunkBlocks == 1) {
              prefetchRow(t0, s);
            } else if (first) {
              Value r = arith::RemUIOp::create(rewriter, loc, s, vb.idx(V));
              prefetchRow(arith::SubIOp::create(rewriter, loc, t, r), r);
            }
            Value acc = step(row(wsDt, s), row(wsDtu, s), t, s, h, j0, a2);
            if (!first)
              acc = vb.add(row(wsY, s), acc);
            vector::StoreOp::create(rewriter, loc, acc, wsY, slot(s));
            scf::YieldOp::create(rewriter, loc, h);
          });
      return SmallVector<Value>(loop.getResults());
    };

    // One chunk of the current tile: the prologue, the state loops that
    // `stateLoops(t0, steps)` builds, the epilogue.
    auto chunkBody = [&](Value t0,
                         function_ref<void(Value, Value)> stateLoops) {
      // The chunk's real steps, and its blocks that hold any.
      Value steps =
          arith::MinUIOp::create(rewriter, loc, vb.idx(chunkSteps),
                                 arith::SubIOp::create(rewriter, loc, nL, t0));
      Value blocks, rows = vb.idx(V);
      if (chunkBlocks > 1) {
        blocks = arith::CeilDivUIOp::create(rewriter, loc, steps, vb.idx(V));
        rows = arith::MulIOp::create(rewriter, loc, blocks, vb.idx(V));
      }
      // body(first row, first step) for each of those blocks.
      auto forBlocks = [&](function_ref<void(Value, Value)> body) {
        if (chunkBlocks == 1)
          return body(vb.idx(0), t0);
        vb.forLoop(blocks, [&](Value kb) {
          Value r0 = arith::MulIOp::create(rewriter, loc, kb, vb.idx(V));
          body(r0, arith::AddIOp::create(rewriter, loc, t0, r0));
        });
      };
      // Prologue: blocks parked raw, then dt and dt * u row by row (a
      // whole-block softplus would need 16 registers per temporary).
      forBlocks([&](Value r0, Value tb) {
        park(readBlock(delta, tb), wsDt, r0);
        park(readBlock(u, tb), wsU, r0);
      });
      // The chunk's steps of each state row of the tile's groups, where the
      // state loop reads them from a copy (TileGroups::rows): a blend's
      // groups (clamped), or the groups a gather's lanes read (as many as
      // the tile spans, which may be far fewer than the most, `span`, with
      // a dynamic d or g).
      auto copyRows = [&](Value mem, const TileGroups &tg) {
        if (!tg.rows)
          return;
        auto copy = [&](Value i, Value g) {
          vb.forLoop(vb.idx(n), [&](Value j) {
            forBlocks([&](Value r0, Value tb) {
              vector::StoreOp::create(rewriter, loc,
                                      vb.readLanes(mem, {bi, g, j, tb}, 3),
                                      tg.rows, ValueRange{i, j, r0});
            });
          });
        };
        if (!tg.offsets) {
          for (auto [i, g] : llvm::enumerate(tg.groups))
            copy(vb.idx(i), g);
          return;
        }
        vb.forLoop(tg.spanned, [&](Value i) {
          copy(i, arith::AddIOp::create(rewriter, loc, tg.groups.front(), i));
        });
      };
      copyRows(B, tgB);
      copyRows(C, tgC);
      // With a uniform A, wsDt takes the step's decay in place of dt: one
      // exp2 per step and tile, whatever the state blocks.
      vb.forLoop(rows, [&](Value r) {
        Value dt = row(wsDt, r);
        if (biasV)
          dt = vb.add(dt, biasV);
        if (op.getDeltaSoftplus())
          dt = vb.vsoftplus(dt);
        vector::StoreOp::create(rewriter, loc,
                                uniformA ? vb.exp2(vb.mul(dt, A2[0])) : dt,
                                wsDt, slot(r));
        vector::StoreOp::create(rewriter, loc, vb.mul(dt, row(wsU, r)),
                                wsDtu, slot(r));
      });
      stateLoops(t0, steps);
      // Epilogue: D skip and gate row by row (wsDtu is free again and
      // takes the gate's z blocks), then y goes back block by block.
      if (Dv || z) {
        if (z)
          forBlocks(
              [&](Value r0, Value tb) { park(readBlock(z, tb), wsDtu, r0); });
        vb.forLoop(rows, [&](Value r) {
          Value acc = row(wsY, r);
          if (Dv)
            acc = vb.fma(Dv, row(wsU, r), acc);
          if (z)
            acc = vb.mul(acc, vb.silu(row(wsDtu, r)));
          vector::StoreOp::create(rewriter, loc, acc, wsY, slot(r));
        });
      }
      forBlocks(
          [&](Value r0, Value tb) { writeBlock(unpark(wsY, r0), y, tb); });
    };
    Value nChunks =
        arith::CeilDivUIOp::create(rewriter, loc, nL, vb.idx(chunkSteps));
    // State blocks of the parked path, (first state, count): as few as the
    // limit allows, of balanced sizes (n = 128: eight of 16 with a uniform
    // A, four of 32 otherwise; n = 67: 23, 23 and 21).
    SmallVector<std::pair<int64_t, int64_t>> stateBlocks;
    {
      int64_t count = (n + blockLimit - 1) / blockLimit;
      int64_t size = (n + count - 1) / count;
      for (int64_t j0 = 0; j0 < n; j0 += size)
        stateBlocks.push_back({j0, std::min(size, n - j0)});
    }

    // Every length: time in chunks of chunkBlocks * V steps. Single tiles carry
    // their states in registers from chunk to chunk; a group's chunk runs over
    // its tiles, which park their states in between.
    auto chunkPath = [&]() {
      auto ws = [&]() -> Value {
        return memref::AllocOp::create(rewriter, loc, wsType, ValueRange{},
                                       rewriter.getI64IntegerAttr(64));
      };
      wsDt = ws();
      wsU = ws();
      wsDtu = ws();
      wsY = ws();
      auto wsRows = [&](int64_t span) -> Value {
        if (tm || span == 1)
          return Value();
        return memref::AllocOp::create(
            rewriter, loc,
            MemRefType::get({span, n, chunkSteps}, rewriter.getF32Type()),
            ValueRange{}, rewriter.getI64IntegerAttr(64));
      };
      wsRowsB = wsRows(spanB);
      wsRowsC = wsRows(spanC);
      if (maxGroup == 1)
        return forTiles([&] {
          loadChannelLaneConstants();
          auto chunks = scf::ForOp::create(
              rewriter, loc, vb.idx(0), nChunks, vb.idx(1), initialStates(),
              [&](OpBuilder &, Location, Value k, ValueRange hs) {
                Value t0 =
                    arith::MulIOp::create(rewriter, loc, k, vb.idx(chunkSteps));
                SmallVector<Value> next;
                chunkBody(t0, [&](Value from, Value steps) {
                  next = stateLoop(from, steps, hs, 0, A2, true);
                });
                scf::YieldOp::create(rewriter, loc, next);
              });
          if (last)
            writeStates(SmallVector<Value>(chunks.getResults()), last,
                        {bi, c0});
        });
      forTiles([&] {
        loadChannelLaneConstants();
        parkRows(A2, parkA, uniformA);
        parkRows(initialStates(), parkH);
      });
      scf::ForOp::create(
          rewriter, loc, vb.idx(0), nChunks, vb.idx(1), ValueRange{},
          [&](OpBuilder &, Location, Value k, ValueRange) {
            Value t0 =
                arith::MulIOp::create(rewriter, loc, k, vb.idx(chunkSteps));
            forTiles([&] {
              // A non-uniform A is read per state block.
              if (uniformA || stateBlocks.size() == 1)
                A2 = unparkRows(parkA, uniformA);
              // Time-invariant B and C (not Mamba's case) are read again.
              if (kindB == Kind::TimeInvariant)
                invB = readStates(B, {c0});
              if (kindC == Kind::TimeInvariant)
                invC = readStates(C, {c0});
              chunkBody(t0, [&](Value from, Value steps) {
                for (auto [j0, count] : stateBlocks) {
                  SmallVector<Value> a2 = stateBlocks.size() == 1 ? A2
                                          : uniformA
                                              ? SmallVector<Value>()
                                              : unparkBlock(parkA, j0, count);
                  parkBlock(stateLoop(from, steps,
                                      unparkBlock(parkH, j0, count), j0, a2,
                                      j0 == 0),
                            parkH, j0);
                }
              });
            });
            scf::YieldOp::create(rewriter, loc);
          });
      if (last)
        forTiles([&] { writeStates(unparkRows(parkH), last, {bi, c0}); });
    };
    auto stepPath = [&]() {
      forTiles([&] {
        if (stateLanes)
          stateLaneStep();
        else
          channelLaneStep();
      });
    };
    if (onlyChunks) {
      chunkPath();
    } else if (onlyStep) {
      stepPath();
    } else {
      auto branch = scf::IfOp::create(rewriter, loc, TypeRange{}, oneStep,
                                      /*withElseRegion=*/true);
      rewriter.setInsertionPoint(branch.getThenRegion().front().getTerminator());
      stepPath();
      rewriter.setInsertionPoint(branch.getElseRegion().front().getTerminator());
      chunkPath();
      rewriter.setInsertionPointAfter(branch);
    }

    // The workspaces are freed by the pipeline's ownership-based buffer
    // deallocation, like every other buffer.
    rewriter.setInsertionPoint(op);
    vb.replaceWithBuffers(rewriter, op, {y, last});
    return success();
  }
};

/// ssm.causal_conv1d on vectors that walk memory contiguously: along time
/// within a channel's row in channel_first layout, along channels within a
/// step's row in token_major layout. The k - 1 outputs at the start of each
/// sequence (which read the incoming state) and the final state use the
/// reference's scalar code; everything else is vector FMAs over k taps.
struct CausalConv1dToVector : OpRewritePattern<CausalConv1dOp> {
  CausalConv1dToVector(MLIRContext *ctx, int64_t width)
      : OpRewritePattern(ctx), width(width) {}

  int64_t width;
  /// Taps are unrolled; longer filters stay with the reference loops.
  static constexpr int64_t kMaxTaps = 16;
  /// token_major: steps per parallel iteration.
  static constexpr int64_t kStepsPerBlock = 64;
  /// token_major: vectors per column (R * V channels walking a block's
  /// steps together), chosen by the number of taps so that the taps, the
  /// window of k - 1 input rows and the bias (2k R vectors) about fill the
  /// 32 vector registers. Wider columns measured faster (d = 4096, L = 8192,
  /// k = 4, one thread: R = 1 20-28 ms, 2 14-17, 4 10.5-12.4, 6 11.4-11.9,
  /// 8 13.6-15.1; docs/cpu-fast-path.md).
  static int64_t columnVectors(int64_t k) { return k <= 4 ? 4 : k <= 8 ? 2 : 1; }

  LogicalResult matchAndRewrite(CausalConv1dOp op,
                                PatternRewriter &rewriter) const override {
    auto xType = cast<RankedTensorType>(op.getX().getType());
    auto wType = cast<RankedTensorType>(op.getWeight().getType());
    if (!xType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "the fast path is f32 only");
    if (wType.isDynamicDim(1) || wType.getDimSize(1) > kMaxTaps)
      return rewriter.notifyMatchFailure(op, "needs a static k <= 16");
    const int64_t k = wType.getDimSize(1);
    const bool tm = op.isTokenMajor();
    const bool silu = op.getSilu();
    const int64_t V = width;
    Location loc = op.getLoc();
    VectorBuilder vb(rewriter, loc, V, /*scalef=*/false);
    Type f32 = rewriter.getF32Type();

    ConvBuffers conv = ConvBuffers::get(vb, op, /*contiguous=*/true);
    Value x = conv.x, out = conv.out, fin = conv.fin;
    Value nb = conv.nb, nd = conv.nd, nL = conv.nL;
    // Outputs before `head` read the incoming state: scalar code.
    Value head = arith::MinUIOp::create(rewriter, loc, conv.km1, nL);
    Value zero = vb.flt(f32, 0.0);

    // One vector of outputs from the k input vectors `in(i)` and the tap
    // weights `wt(i)` (plus bias), then SiLU.
    auto combine = [&](Value acc, function_ref<Value(int64_t)> wt,
                       function_ref<Value(int64_t)> in) -> Value {
      for (int64_t i = 0; i < k; ++i)
        acc = vb.fma(wt(i), in(i), acc);
      return silu ? vb.silu(acc) : acc;
    };
    auto read = [&](Value mem, ArrayRef<Value> idx, bool inBounds) -> Value {
      return vector::TransferReadOp::create(rewriter, loc, vb.vt, mem, idx,
                                            zero, ArrayRef<bool>{inBounds});
    };
    auto write = [&](Value v, Value mem, ArrayRef<Value> idx, bool inBounds) {
      vector::TransferWriteOp::create(rewriter, loc, v, mem, idx,
                                      ArrayRef<bool>{inBounds});
    };
    // Full vectors in [from, to) step V with in-bounds accesses, then one
    // masked vector for the remainder; `body(pos, inBounds)`.
    auto vectorLoop = [&](Value from, Value to,
                          function_ref<void(Value, bool)> body) {
      Value span = arith::SubIOp::create(rewriter, loc, to, from);
      Value full = arith::MulIOp::create(
          rewriter, loc,
          arith::DivUIOp::create(rewriter, loc, span, vb.idx(V)), vb.idx(V));
      Value fullEnd = arith::AddIOp::create(rewriter, loc, from, full);
      scf::ForOp::create(rewriter, loc, from, fullEnd, vb.idx(V), ValueRange{},
                         [&](OpBuilder &, Location, Value pos, ValueRange) {
                           body(pos, true);
                           scf::YieldOp::create(rewriter, loc);
                         });
      Value rest = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult,
                                         fullEnd, to);
      scf::IfOp::create(rewriter, loc, rest, [&](OpBuilder &, Location) {
        body(fullEnd, false);
        scf::YieldOp::create(rewriter, loc);
      });
    };

    if (!tm) {
      // Rows of (batch, channel) in parallel; each row's time in vectors.
      auto par = scf::ParallelOp::create(
          rewriter, loc, ValueRange{vb.idx(0), vb.idx(0)}, ValueRange{nb, nd},
          ValueRange{vb.idx(1), vb.idx(1)});
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(par.getBody());
      Value bi = par.getInductionVars()[0], c = par.getInductionVars()[1];
      vb.forLoop(head, [&](Value t) {
        vb.store(conv.output(vb, bi, c, t, silu), out, {bi, c, t});
      });
      SmallVector<Value> wt;
      for (int64_t i = 0; i < k; ++i)
        wt.push_back(vb.bcast(vb.load(conv.w, {c, vb.idx(i)})));
      Value acc0 = conv.bias ? vb.bcast(vb.load(conv.bias, {c})) : vb.splat(0.0);
      vectorLoop(head, nL, [&](Value t, bool inBounds) {
        Value start = arith::SubIOp::create(rewriter, loc, t, conv.km1);
        Value y = combine(
            acc0, [&](int64_t i) { return wt[i]; },
            [&](int64_t i) {
              Value p = arith::AddIOp::create(rewriter, loc, start, vb.idx(i));
              return read(x, {bi, c, p}, inBounds);
            });
        write(y, out, {bi, c, t}, inBounds);
      });
      if (fin)
        conv.storeFinalState(vb, bi, c);
    } else {
      // Blocks of steps in parallel; each step's row in channel vectors.
      // The taps are transposed once into a (k, d) buffer so that tap i of
      // V channels is one contiguous load (freed by the pipeline's buffer
      // deallocation, like every other buffer).
      auto wtType = MemRefType::get({k, ShapedType::kDynamic}, f32);
      Value wT = memref::AllocOp::create(rewriter, loc, wtType, ValueRange{nd});
      vb.forLoop(nd, [&](Value c) {
        for (int64_t i = 0; i < k; ++i)
          vb.store(vb.load(conv.w, {c, vb.idx(i)}), wT, {vb.idx(i), c});
      });
      Value nBlocks = arith::DivUIOp::create(
          rewriter, loc,
          arith::AddIOp::create(rewriter, loc, nL, vb.idx(kStepsPerBlock - 1)),
          vb.idx(kStepsPerBlock));
      auto par = scf::ParallelOp::create(
          rewriter, loc, ValueRange{vb.idx(0), vb.idx(0)},
          ValueRange{nb, nBlocks}, ValueRange{vb.idx(1), vb.idx(1)});
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(par.getBody());
      Value bi = par.getInductionVars()[0];
      Value t0 = arith::MulIOp::create(rewriter, loc, par.getInductionVars()[1],
                                       vb.idx(kStepsPerBlock));
      Value t1 = arith::MinUIOp::create(
          rewriter, loc,
          arith::AddIOp::create(rewriter, loc, t0, vb.idx(kStepsPerBlock)), nL);
      // Steps before `head` (only in the first block) are scalar.
      Value vecFrom = arith::MaxUIOp::create(rewriter, loc, t0, head);
      Value scalarTo = arith::MinUIOp::create(rewriter, loc, vecFrom, t1);
      scf::ForOp::create(
          rewriter, loc, t0, scalarTo, vb.idx(1), ValueRange{},
          [&](OpBuilder &, Location, Value t, ValueRange) {
            vb.forLoop(nd, [&](Value c) {
              vb.store(conv.output(vb, bi, c, t, silu), out, {bi, t, c});
            });
            scf::YieldOp::create(rewriter, loc);
          });
      // Each column of R * V channels walks the block's steps with its taps
      // and bias in registers and the last k - 1 input rows in a window of
      // loop-carried vectors, so every input vector is loaded once.
      auto column = [&](Value c, int64_t R, bool inBounds) {
        SmallVector<Value> cs{c}, taps, bias, window;
        for (int64_t r = 1; r < R; ++r)
          cs.push_back(arith::AddIOp::create(rewriter, loc, c, vb.idx(r * V)));
        for (int64_t i = 0; i < k; ++i)
          for (int64_t r = 0; r < R; ++r)
            taps.push_back(read(wT, {vb.idx(i), cs[r]}, inBounds));
        for (int64_t r = 0; r < R; ++r)
          bias.push_back(conv.bias ? read(conv.bias, {cs[r]}, inBounds)
                                   : vb.splat(0.0));
        // Rows vecFrom - (k - 1) .. vecFrom - 1 (vecFrom >= k - 1 here).
        Value first = arith::SubIOp::create(rewriter, loc, vecFrom, conv.km1);
        for (int64_t i = 0; i + 1 < k; ++i) {
          Value row = arith::AddIOp::create(rewriter, loc, first, vb.idx(i));
          for (int64_t r = 0; r < R; ++r)
            window.push_back(read(x, {bi, row, cs[r]}, inBounds));
        }
        scf::ForOp::create(
            rewriter, loc, vecFrom, t1, vb.idx(1), window,
            [&](OpBuilder &, Location, Value t, ValueRange win) {
              // The window moves by one row (it is empty when k = 1).
              SmallVector<Value> next(win.drop_front(std::min<size_t>(R, win.size())));
              for (int64_t r = 0; r < R; ++r) {
                Value now = read(x, {bi, t, cs[r]}, inBounds);
                if (k > 1)
                  next.push_back(now);
                Value y = combine(
                    bias[r], [&](int64_t i) { return taps[i * R + r]; },
                    [&](int64_t i) {
                      return i + 1 < k ? win[i * R + r] : now;
                    });
                write(y, out, {bi, t, cs[r]}, inBounds);
              }
              scf::YieldOp::create(rewriter, loc, next);
            });
      };
      // Columns of R vectors, then single vectors, the last one masked.
      const int64_t R = columnVectors(k);
      Value hasSteps =
          arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult,
                                vecFrom, t1);
      scf::IfOp::create(rewriter, loc, hasSteps, [&](OpBuilder &, Location) {
        Value wide = arith::MulIOp::create(
            rewriter, loc,
            arith::DivUIOp::create(rewriter, loc, nd, vb.idx(R * V)),
            vb.idx(R * V));
        scf::ForOp::create(rewriter, loc, vb.idx(0), wide, vb.idx(R * V),
                           ValueRange{},
                           [&](OpBuilder &, Location, Value c, ValueRange) {
                             column(c, R, true);
                             scf::YieldOp::create(rewriter, loc);
                           });
        vectorLoop(wide, nd,
                   [&](Value c, bool inBounds) { column(c, 1, inBounds); });
        scf::YieldOp::create(rewriter, loc);
      });
      rewriter.setInsertionPointAfter(par);
      if (fin)
        vb.forLoop(nb, [&](Value bi) {
          vb.forLoop(nd, [&](Value c) {
            conv.storeFinalState(vb, bi, c);
          });
        });
    }

    rewriter.setInsertionPoint(op);
    vb.replaceWithBuffers(rewriter, op, {out, fin});
    return success();
  }
};

struct SSMLowerToVectorPass
    : ssm::impl::SSMLowerToVectorBase<SSMLowerToVectorPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorWidth < 1 || tileGroup < 0 || numThreads < 1 || chunkBlocks < 1 ||
        stateBlock < 0) {
      getOperation()->emitError("ssm-lower-to-vector: vector-width, "
                                "num-threads and chunk-blocks must be "
                                "positive, tile-group and state-block not "
                                "negative");
      return signalPassFailure();
    }
    // A tile transposes V x V blocks and keeps V vectors per state row: past
    // one register's 16 lanes the code only grows (width 128 took LLVM over
    // five minutes to compile one scan).
    if (vectorWidth > kMaxVectorWidth) {
      getOperation()->emitError()
          << "ssm-lower-to-vector: vector-width must be at most "
          << kMaxVectorWidth << " (the f32 lanes of one AVX-512 register), got "
          << static_cast<int64_t>(vectorWidth);
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    // Scans with more states than registers hold: groups of at most 64,
    // unless the chunk path parks the states and runs them in blocks (a
    // single step of the chunk path holds them all: no static L = 1).
    RewritePatternSet split(ctx);
    auto keepWhole = [tg = int64_t(tileGroup),
                      sb = int64_t(stateBlock)](SelectiveScanOp op) {
      return blocksStates(op, tg, sb);
    };
    populateSplitStateGroupsPatterns(split, kMaxRegisterStates, vectorWidth,
                                     keepWhole);
    if (failed(applyPatternsGreedily(getOperation(), std::move(split))))
      return signalPassFailure();

    // Ops the fast path declines stay for ssm-lower-to-loops.
    RewritePatternSet patterns(ctx);
    patterns.add<SelectiveScanToVector>(ctx, vectorWidth, x86Avx512, tileGroup,
                                        numThreads, chunkBlocks, stateBlock);
    patterns.add<CausalConv1dToVector>(ctx, vectorWidth);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      return signalPassFailure();

    // Vector exp/log1p of softplus and SiLU: upstream polynomials.
    RewritePatternSet approx(ctx);
    populateMathPolynomialApproximationPatterns(approx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(approx))))
      return signalPassFailure();
  }
};

} // namespace
