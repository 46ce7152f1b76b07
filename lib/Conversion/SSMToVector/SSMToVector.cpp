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
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/X86Vector/X86VectorDialect.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERTOVECTOR
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// The most states per channel the scan keeps in vector registers; larger
/// n is split into groups first (StateGroups.cpp).
constexpr int64_t kMaxRegisterStates = 64;

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

  /// softplus on a vector of any shape, through math ops that upstream's
  /// polynomial approximations replace (see the pass).
  Value vsoftplus(Value x) {
    Value l = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, x));
    Value big = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x,
                                      flt(x.getType(), 20.0));
    return arith::SelectOp::create(b, loc, big, x, l);
  }
};

struct SelectiveScanToVector : OpRewritePattern<SelectiveScanOp> {
  SelectiveScanToVector(MLIRContext *ctx, int64_t width, bool avx512)
      : OpRewritePattern(ctx), width(width), avx512(avx512) {}

  int64_t width;
  bool avx512;

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
    if (aType.isDynamicDim(1) || aType.getDimSize(1) > kMaxRegisterStates)
      return rewriter.notifyMatchFailure(op, "needs a static n <= 64");
    const int64_t n = aType.getDimSize(1);
    const bool tm = op.isTokenMajor();
    const int64_t V = width;
    Kind kindB = SelectiveScanOp::getProjectionKind(op.getB());
    Kind kindC = SelectiveScanOp::getProjectionKind(op.getC());
    // A channel tile must read one group: d / g a multiple of V, statically.
    for (Value proj : {op.getB(), op.getC()}) {
      if (SelectiveScanOp::getProjectionKind(proj) != Kind::Grouped)
        continue;
      auto pt = cast<RankedTensorType>(proj.getType());
      int64_t g = pt.getDimSize(tm ? 2 : 1);
      int64_t d = uType.getDimSize(tm ? 2 : 1);
      if (ShapedType::isDynamic(g) || ShapedType::isDynamic(d) ||
          (d / g) % V != 0)
        return rewriter.notifyMatchFailure(
            op, "grouped B/C whose groups split a channel tile");
    }

    Location loc = op.getLoc();
    VectorBuilder vb(rewriter, loc, V, avx512);
    Value u = vb.toBuffer(op.getU(), true), delta = vb.toBuffer(op.getDelta(), true);
    Value A = vb.toBuffer(op.getA(), true);
    Value B = vb.toBuffer(op.getB(), true), C = vb.toBuffer(op.getC(), true);
    Value D = op.getD() ? vb.toBuffer(op.getD(), true) : Value();
    Value z = op.getZ() ? vb.toBuffer(op.getZ(), true) : Value();
    Value bias = op.getDeltaBias() ? vb.toBuffer(op.getDeltaBias(), true) : Value();
    Value h0 = op.getH0() ? vb.toBuffer(op.getH0(), true) : Value();

    Value nb = vb.dim(u, 0), nd = vb.dim(u, tm ? 2 : 1), nL = vb.dim(u, tm ? 1 : 2);
    auto yType = cast<RankedTensorType>(op.getY().getType());
    Value y = vb.alloc(yType, {vb.dim(u, 0), vb.dim(u, 1), vb.dim(u, 2)});
    Value last;
    if (op.getLastState())
      last = vb.alloc(cast<RankedTensorType>(op.getLastState().getType()),
                      {nb, nd, vb.idx(n)});
    Value nTiles = arith::DivUIOp::create(
        rewriter, loc, arith::AddIOp::create(rewriter, loc, nd, vb.idx(V - 1)),
        vb.idx(V));
    auto groupSize = [&](Value proj, Kind kind) -> Value {
      if (kind != Kind::Grouped)
        return Value();
      return arith::DivUIOp::create(rewriter, loc, nd,
                                    vb.dim(proj, tm ? 2 : 1));
    };
    Value perGroupB = groupSize(B, kindB), perGroupC = groupSize(C, kindC);

    // Workspace: one V x V block (V steps x V channels) per quantity and
    // tile, (b, tiles, V, V) floats each, indexed by the tile so that no two
    // parallel iterations share one: dt, u and dt * u from the chunk's
    // prologue (z in the epilogue), the C contraction of each step.
    auto wsType = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic,
                                   V, V},
                                  rewriter.getF32Type());
    auto ws = [&]() -> Value {
      return memref::AllocOp::create(rewriter, loc, wsType,
                                     ValueRange{nb, nTiles});
    };
    Value wsDt = ws(), wsU = ws(), wsDtu = ws(), wsY = ws();

    auto par = scf::ParallelOp::create(
        rewriter, loc, ValueRange{vb.idx(0), vb.idx(0)}, ValueRange{nb, nTiles},
        ValueRange{vb.idx(1), vb.idx(1)});
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(par.getBody());
    Value bi = par.getInductionVars()[0];
    Value c0 = arith::MulIOp::create(rewriter, loc, par.getInductionVars()[1],
                                     vb.idx(V));

    // Per-tile constants: A * log2(e), time-invariant B/C, D, bias, groups.
    SmallVector<Value> A2, invB, invC;
    Value log2e = vb.splat(kLog2E);
    for (int64_t j = 0; j < n; ++j) {
      A2.push_back(vb.mul(vb.readLanes(A, {c0, vb.idx(j)}, 0), log2e));
      if (kindB == Kind::TimeInvariant)
        invB.push_back(vb.readLanes(B, {c0, vb.idx(j)}, 0));
      if (kindC == Kind::TimeInvariant)
        invC.push_back(vb.readLanes(C, {c0, vb.idx(j)}, 0));
    }
    Value Dv = D ? vb.readLanes(D, {c0}, 0) : Value();
    Value biasV = bias ? vb.readLanes(bias, {c0}, 0) : Value();
    Value gB = perGroupB ? arith::DivUIOp::create(rewriter, loc, c0, perGroupB)
                               .getResult()
                         : Value();
    Value gC = perGroupC ? arith::DivUIOp::create(rewriter, loc, c0, perGroupC)
                               .getResult()
                         : Value();
    SmallVector<Value> hInit;
    for (int64_t j = 0; j < n; ++j)
      hInit.push_back(h0 ? vb.readLanes(h0, {bi, c0, vb.idx(j)}, 1)
                         : vb.splat(0.0));

    // Projection coefficient of state j at step t, broadcast over the lanes.
    auto proj = [&](Value mem, Kind kind, ArrayRef<Value> inv, Value group,
                    int64_t j, Value t) -> Value {
      Value jj = vb.idx(j);
      switch (kind) {
      case Kind::TimeInvariant:
        return inv[j];
      case Kind::Variable:
        return vb.bcast(tm ? vb.load(mem, {bi, t, jj}) : vb.load(mem, {bi, jj, t}));
      case Kind::Grouped:
        return vb.bcast(tm ? vb.load(mem, {bi, t, group, jj})
                           : vb.load(mem, {bi, group, jj, t}));
      }
      llvm_unreachable("unknown projection kind");
    };

    // Time goes in chunks of V steps. A chunk's prologue reads each
    // per-step operand as a (V steps x V channels) block (in channel_first
    // layout a (channels x steps) block with contiguous rows, transposed in
    // registers), computes dt (bias, softplus) and dt * u for all V steps at
    // once and parks them in the workspace. The state loop then runs over
    // the chunk's steps with the n states in registers, loading two rows
    // per step and storing the C contraction. The epilogue adds the D skip,
    // applies the SiLU(z) gate to the whole block and writes y back. Keeping
    // softplus and SiLU out of the state loop keeps that loop small (it
    // fits the micro-op cache) and its registers free for the states.
    // Blocks past the end of the sequence or of the channels are masked;
    // the state loop stops at the last real step.
    auto block = VectorType::get({V, V}, rewriter.getF32Type());
    Value tile = par.getInductionVars()[1];
    auto slot = [&](Value s) -> SmallVector<Value> {
      return {bi, tile, s, vb.idx(0)};
    };
    AffineMap minor = AffineMap::get(
        3, 0, {rewriter.getAffineDimExpr(1), rewriter.getAffineDimExpr(2)},
        rewriter.getContext());
    Value zero = vb.flt(rewriter.getF32Type(), 0.0);
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
    auto park = [&](Value blk, Value wsMem) {
      vector::TransferWriteOp::create(rewriter, loc, blk, wsMem,
                                      slot(vb.idx(0)),
                                      ArrayRef<bool>{true, true});
    };
    auto unpark = [&](Value wsMem) -> Value {
      return vector::TransferReadOp::create(rewriter, loc, block, wsMem,
                                            slot(vb.idx(0)), zero,
                                            ArrayRef<bool>{true, true});
    };
    auto row = [&](Value wsMem, Value r) -> Value {
      return vector::LoadOp::create(rewriter, loc, vb.vt, wsMem, slot(r));
    };
    // for r in [0, V): body(r), not unrolled.
    auto rowLoop = [&](function_ref<void(Value)> body) {
      vb.forLoop(vb.idx(V), body);
    };

    // Software prefetch of the blocks kAhead chunks ahead: in channel_first
    // layout a chunk reads V rows V*4 bytes long from each operand, V
    // separate streams, more than the hardware prefetchers follow (without
    // it the reference shape ran measurably slower in side-by-side runs;
    // see docs/cpu-fast-path.md). Indices are clamped into the buffers.
    constexpr int64_t kAhead = 4;
    Value lastC = arith::SubIOp::create(rewriter, loc, nd, vb.idx(1));
    Value lastT = arith::SubIOp::create(rewriter, loc, nL, vb.idx(1));
    auto prefetchBlocks = [&](Value t0) {
      Value tp = arith::AddIOp::create(rewriter, loc, t0, vb.idx(kAhead * V));
      // Row r of a block: channel c0 + r (channel_first) or step tp + r
      // (token_major); the other index is the same for every row.
      auto clamped = [&](Value base, int64_t r, Value last) -> Value {
        Value i = r ? arith::AddIOp::create(rewriter, loc, base, vb.idx(r))
                          .getResult()
                    : base;
        return arith::MinUIOp::create(rewriter, loc, i, last);
      };
      Value fixed = tm ? clamped(c0, 0, lastC) : clamped(tp, 0, lastT);
      for (int64_t r = 0; r < V; ++r) {
        Value c = tm ? fixed : clamped(c0, r, lastC);
        Value t = tm ? clamped(tp, r, lastT) : fixed;
        SmallVector<Value> at = actIndex(tm, bi, c, t);
        for (Value mem : {delta, u, z})
          if (mem)
            memref::PrefetchOp::create(rewriter, loc, mem, at, /*isWrite=*/false,
                                       /*localityHint=*/3, /*isDataCache=*/true);
        memref::PrefetchOp::create(rewriter, loc, y, at, /*isWrite=*/true,
                                   /*localityHint=*/3, /*isDataCache=*/true);
      }
    };

    // One step on V channels: updates the states, returns the contraction.
    auto step = [&](Value dt, Value dtu, Value t,
                    SmallVectorImpl<Value> &h) -> Value {
      // The C contraction accumulates into kAcc partial sums summed as a
      // tree: a single chain of n dependent FMAs per step would be the
      // longest latency path of the step.
      constexpr int64_t kAcc = 4;
      SmallVector<Value> partial;
      for (int64_t j = 0; j < n; ++j) {
        Value decay = vb.exp2(vb.mul(dt, A2[j]));
        Value bj = proj(B, kindB, invB, gB, j, t);
        Value cj = proj(C, kindC, invC, gC, j, t);
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

    Value nChunks = arith::DivUIOp::create(
        rewriter, loc, arith::AddIOp::create(rewriter, loc, nL, vb.idx(V - 1)),
        vb.idx(V));
    auto chunks = scf::ForOp::create(
        rewriter, loc, vb.idx(0), nChunks, vb.idx(1), hInit,
        [&](OpBuilder &, Location, Value k, ValueRange hs) {
          Value t0 = arith::MulIOp::create(rewriter, loc, k, vb.idx(V));
          prefetchBlocks(t0);
          // Prologue: blocks parked raw, then dt and dt * u row by row (a
          // whole-block softplus would need 16 registers per temporary).
          park(readBlock(delta, t0), wsDt);
          park(readBlock(u, t0), wsU);
          rowLoop([&](Value r) {
            Value dt = row(wsDt, r);
            if (biasV)
              dt = vb.add(dt, biasV);
            if (op.getDeltaSoftplus())
              dt = vb.vsoftplus(dt);
            vector::StoreOp::create(rewriter, loc, dt, wsDt, slot(r));
            vector::StoreOp::create(rewriter, loc, vb.mul(dt, row(wsU, r)),
                                    wsDtu, slot(r));
          });
          // State loop over the chunk's steps.
          Value steps = arith::MinUIOp::create(
              rewriter, loc, vb.idx(V),
              arith::SubIOp::create(rewriter, loc, nL, t0));
          auto loop = scf::ForOp::create(
              rewriter, loc, vb.idx(0), steps, vb.idx(1), hs,
              [&](OpBuilder &, Location, Value s, ValueRange hIn) {
                SmallVector<Value> h(hIn.begin(), hIn.end());
                Value t = arith::AddIOp::create(rewriter, loc, t0, s);
                Value acc = step(row(wsDt, s), row(wsDtu, s), t, h);
                vector::StoreOp::create(rewriter, loc, acc, wsY, slot(s));
                scf::YieldOp::create(rewriter, loc, h);
              });
          // Epilogue: D skip and gate row by row (wsDtu is free again and
          // takes the gate's z block), then y goes back as one block.
          if (Dv || z) {
            if (z)
              park(readBlock(z, t0), wsDtu);
            rowLoop([&](Value r) {
              Value acc = row(wsY, r);
              if (Dv)
                acc = vb.fma(Dv, row(wsU, r), acc);
              if (z)
                acc = vb.mul(acc, vb.silu(row(wsDtu, r)));
              vector::StoreOp::create(rewriter, loc, acc, wsY, slot(r));
            });
          }
          writeBlock(unpark(wsY), y, t0);
          scf::YieldOp::create(rewriter, loc, loop.getResults());
        });
    SmallVector<Value> hEnd(chunks.getResults());
    if (last)
      for (int64_t j = 0; j < n; ++j)
        vb.writeLanes(hEnd[j], last, {bi, c0, vb.idx(j)}, 1);

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
      scf::ForOp::create(
          rewriter, loc, vecFrom, t1, vb.idx(1), ValueRange{},
          [&](OpBuilder &, Location, Value t, ValueRange) {
            Value start = arith::SubIOp::create(rewriter, loc, t, conv.km1);
            vectorLoop(vb.idx(0), nd, [&](Value c, bool inBounds) {
              Value acc0 =
                  conv.bias ? read(conv.bias, {c}, inBounds) : vb.splat(0.0);
              Value y = combine(
                  acc0,
                  [&](int64_t i) { return read(wT, {vb.idx(i), c}, inBounds); },
                  [&](int64_t i) {
                    Value p =
                        arith::AddIOp::create(rewriter, loc, start, vb.idx(i));
                    return read(x, {bi, p, c}, inBounds);
                  });
              write(y, out, {bi, t, c}, inBounds);
            });
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
    if (vectorWidth < 1) {
      getOperation()->emitError("ssm-lower-to-vector: vector-width must be "
                                "positive");
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    // Scans with more states than registers hold: groups of at most 64.
    RewritePatternSet split(ctx);
    populateSplitStateGroupsPatterns(split, kMaxRegisterStates);
    if (failed(applyPatternsGreedily(getOperation(), std::move(split))))
      return signalPassFailure();

    // Ops the fast path declines stay for ssm-lower-to-loops.
    RewritePatternSet patterns(ctx);
    patterns.add<SelectiveScanToVector>(ctx, vectorWidth, x86Avx512);
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
