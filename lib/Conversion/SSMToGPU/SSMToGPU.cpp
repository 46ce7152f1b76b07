//===- SSMToGPU.cpp - the selective scan and conv as GPU kernels ----------===//
//
// The GPU lowering of ssm.selective_scan and ssm.causal_conv1d (see the pass
// description in Passes.td and docs/gpu.md). Each op becomes a gpu.launch on
// the host buffers of its operands and results; ssm-gpu-device-buffers later
// gives the launch device copies. Nothing here is specific to NVIDIA except
// exp2, which is `ex2.approx` (the one instruction the scan's inner loop is
// built around); the rest is gpu/arith/math/memref/scf.
//
//===----------------------------------------------------------------------===//

#include "KernelOps.h"
#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMAnalysis.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERTOGPU
#define GEN_PASS_DEF_SSMMATHTONVVM
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;

namespace {

constexpr double kLog2E = 1.4426950408889634;
constexpr int64_t kWarpSize = 32;
/// The scan's shared memory grows with n (warp totals of two chunks and the
/// carried state, (2 * warps * 2 + 2) * n floats): 512 states with 4 warps
/// take 36 KiB of the 48 KiB a block gets without opting in to more.
constexpr int64_t kMaxStates = 512;
/// States a thread of the per-channel scan keeps in registers (four values
/// each: the tile's entering state, its two chains and A * log2(e)).
constexpr int64_t kMaxChannelStates = 32;
/// The shared memory a block gets without opting in (larger n with more
/// warps stays on the host).
constexpr int64_t kSharedBytes = 48 * 1024;
/// Threads per block of the conv kernels.
constexpr int64_t kConvThreads = 256;

/// KernelOps plus the scan's and the conv's arithmetic and memory access.
struct KernelBuilder : KernelOps {
  using KernelOps::KernelOps;

  /// 2^x for the recurrence, whose argument the caller has scaled by
  /// log2(e). Marked `afn` (an approximation is allowed): ssm-math-to-nvvm
  /// makes it PTX's `ex2.approx.ftz.f32` on NVIDIA GPUs, one special-function
  /// instruction with a relative error near 2^-22.
  Value ex2(Value x) {
    return math::Exp2Op::create(b, loc, x, arith::FastMathFlags::afn);
  }

  /// e^x from ex2.approx: 8 instructions against about 17 for upstream's
  /// polynomial. x * log2(e) is carried as t + r, r the rounding error of
  /// the product with log2(e) split in two floats, and 2^r applied as
  /// 1 + r ln 2: without r the product's rounding alone costs up to
  /// |x| * 2^-24 relative (6e-7 at x = -20). What is left is ex2.approx's
  /// own error, near 2^-22, and half an ulp. Results under 2^-126 flush
  /// to 0. x is first clamped to [-104, 89] (the results there are 0 and
  /// inf already), so that t and r stay finite: at x = -FLT_MAX, t = -inf
  /// and r = +inf would give 0 * inf = NaN. A NaN stays NaN.
  Value expApprox(Value x) {
    Type f32 = x.getType();
    x = arith::MinimumFOp::create(
        b, loc, arith::MaximumFOp::create(b, loc, x, flt(f32, -104.0)),
        flt(f32, 89.0));
    const double log2e = 1.4426950408889634;
    const float hi = static_cast<float>(log2e);
    const float lo = static_cast<float>(log2e - static_cast<double>(hi));
    Value t = mul(x, flt(f32, hi));
    Value r = fma(x, flt(f32, lo), fma(x, flt(f32, hi), neg(t)));
    // e * (1 + r ln 2), not fma(e, r ln 2, e): e = inf (x > 88.7) must
    // stay inf, where the fma gives NaN for r < 0.
    return mul(ex2(t), fma(r, flt(f32, 0.6931471805599453), flt(f32, 1.0)));
  }

  /// x / y to about 2 ulps (div.approx.f32: a reciprocal and a product)
  /// rather than div.rn.f32's correctly rounded subroutine; 0 where
  /// |y| > 2^126 on the GPU.
  Value divApprox(Value x, Value y) {
    return arith::DivFOp::create(b, loc, x, y, arith::FastMathFlags::afn);
  }

  /// softplus(x) = max(x, 0) + log1p(w), w = e^-|x| in (0, 1], in about
  /// 25 instructions (upstream's exp and log polynomials and an exact
  /// division take about 60; the kernels evaluate it once per channel and
  /// step). log1p(w) = k ln 2 + 2 atanh(s) with s = w / (2 + w), k = 0, or
  /// for w > sqrt(2) - 1 (halving 1 + w) s = (w - 1) / (w + 3), k = 1: then
  /// |s| < 0.172 and atanh's odd series to s^9 is within 1e-9, and every
  /// numerator and denominator is exact or nearly so, which keeps the
  /// relative accuracy of a tiny w (x very negative). For x > 20 the sum
  /// rounds to x, as PyTorch's threshold gives. lg2.approx is not used: its
  /// error is absolute, and log(1 + w) for a small w needs a relative one.
  Value softplus(Value x) {
    Type f32 = x.getType();
    Value zero = flt(f32, 0.0);
    Value absX = math::AbsFOp::create(b, loc, x);
    Value w = expApprox(neg(absX));
    Value halve = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, w,
                                        flt(f32, 0.41421356237309503));
    Value num = sel(halve, subf(w, flt(f32, 1.0)), w);
    Value den = add(w, sel(halve, flt(f32, 3.0), flt(f32, 2.0)));
    Value s = divApprox(num, den);
    Value s2 = mul(s, s);
    // 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + s^6/7 + s^8/9 + ...).
    Value p = flt(f32, 1.0 / 9);
    for (double c : {1.0 / 7, 1.0 / 5, 1.0 / 3, 1.0})
      p = fma(p, s2, flt(f32, c));
    Value log1p =
        fma(add(s, s), p, sel(halve, flt(f32, 0.6931471805599453), zero));
    return add(arith::MaximumFOp::create(b, loc, x, zero), log1p);
  }

  /// The step dt of step t from its raw delta: plus the channel's bias (if
  /// any), through softplus if asked, and 0 for a step past the sequence's
  /// nL steps, which makes that step the identity (a, b) = (1, 0).
  Value stepDt(Value raw, Value bias, bool softplus, Value t, Value nL) {
    Value d = bias ? add(raw, bias) : raw;
    if (softplus)
      d = this->softplus(d);
    return sel(ult(t, nL), d, flt(d.getType(), 0.0));
  }

  /// silu(x) = x / (1 + e^-x) with expApprox and divApprox; e^-x
  /// overflowing gives -0, never NaN.
  Value silu(Value x) {
    return divApprox(x, add(flt(x.getType(), 1.0), expApprox(neg(x))));
  }

  /// The complement 1 - 2^x of a decay 2^x, accurate to a few ulps of its
  /// own size (the complement of ex2.approx's result near 1 is mostly
  /// ex2's error; docs/gpu.md). For |x| < 1/4, -expm1(x ln 2) from its
  /// Taylor polynomial (degree 6: truncation under 6e-9 relative);
  /// otherwise 1 - ex2.approx(x), at least 0.16, which keeps ex2's own
  /// precision within a factor of 6.
  Value complement(Value x) {
    Type f32 = x.getType();
    Value small = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                        mul(x, x), flt(f32, 1.0 / 16));
    // expm1(x ln 2) = sum_k (ln 2)^k / k! x^k, k = 1..6, by Horner.
    double coef[6];
    double ln2k = 1, fact = 1;
    for (int k = 1; k <= 6; ++k) {
      ln2k *= 0.6931471805599453;
      fact *= k;
      coef[k - 1] = ln2k / fact;
    }
    Value p = flt(f32, coef[5]);
    for (int k = 4; k >= 0; --k)
      p = math::FmaOp::create(b, loc, p, x, flt(f32, coef[k]));
    Value poly = arith::NegFOp::create(b, loc, mul(p, x));
    return sel(small, poly, subf(flt(f32, 1.0), ex2(x)));
  }

  /// The value of lane (lane - offset) of the warp, and whether that lane
  /// exists.
  std::pair<Value, Value> shuffleUp(Value v, int32_t offset) {
    auto s = gpu::ShuffleOp::create(b, loc, v, i32(offset), i32(kWarpSize),
                                    gpu::ShuffleMode::UP);
    return {s.getShuffleResult(), s.getValid()};
  }

  /// A thread's K consecutive steps first .. first + K - 1 of a sequence
  /// whose last step is `lastT`.
  struct Steps {
    Value first, lastT;
    int64_t K;
  };

  /// The values of `buffer` at a thread's steps (indexOf(t) gives the
  /// indices of step t). When `fast` holds, all K steps lie inside the
  /// sequence and time is the contiguous dimension with rows 16-byte
  /// aligned: K / 4 vector loads of 4 steps (ld.global.v4.f32, a quarter of
  /// the memory instructions and of the cache lines a warp touches per
  /// instruction); otherwise one load per step, clamped to the last step. A
  /// null `fast` means always the latter. The steps' indices are computed
  /// where they are used, not kept alive in registers.
  SmallVector<Value>
  loadSteps(Value buffer, Value fast, const Steps &s,
            function_ref<SmallVector<Value>(Value)> indexOf) {
    const int64_t K = s.K;
    Value first = s.first;
    auto scalar = [&] {
      SmallVector<Value> v;
      for (int64_t k = 0; k < K; ++k)
        v.push_back(load(buffer, indexOf(minu(addi(first, idx(k)), s.lastT))));
      return v;
    };
    if (!fast)
      return scalar();
    // The branches yield vectors, extracted after the scf.if: an extract
    // straight from a vector.load would be folded back into scalar loads.
    auto vec4 = VectorType::get({4}, b.getF32Type());
    auto ifOp = scf::IfOp::create(b, loc, SmallVector<Type>(K / 4, vec4), fast,
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      SmallVector<Value> groups;
      for (int64_t q = 0; q < K; q += 4)
        groups.push_back(vector::LoadOp::create(
            b, loc, vec4, buffer, indexOf(addi(first, idx(q))),
            /*nontemporal=*/false, llvm::Align(16)));
      scf::YieldOp::create(b, loc, groups);
      b.setInsertionPointToStart(ifOp.elseBlock());
      SmallVector<Value> v = scalar();
      groups.clear();
      for (int64_t q = 0; q < K; q += 4)
        groups.push_back(vector::FromElementsOp::create(
            b, loc, vec4, ArrayRef<Value>(v).slice(q, 4)));
      scf::YieldOp::create(b, loc, groups);
    }
    SmallVector<Value> v;
    for (Value group : ifOp.getResults())
      for (int64_t r = 0; r < 4; ++r)
        v.push_back(vector::ExtractOp::create(b, loc, group, r));
    return v;
  }

  /// Stores a thread's K step values, the counterpart of loadSteps: vector
  /// stores when `fast` holds, else one store per step inside the sequence.
  void storeSteps(Value buffer, Value fast, const Steps &s,
                  ArrayRef<Value> vals,
                  function_ref<SmallVector<Value>(Value)> indexOf) {
    Value first = s.first;
    auto scalar = [&] {
      for (size_t k = 0; k < vals.size(); ++k) {
        Value t = addi(first, idx(k));
        ifThen(ule(t, s.lastT), [&] { store(vals[k], buffer, indexOf(t)); });
      }
    };
    if (!fast)
      return scalar();
    auto ifOp = scf::IfOp::create(b, loc, fast, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    auto vec4 = VectorType::get({4}, b.getF32Type());
    for (size_t q = 0; q < vals.size(); q += 4) {
      Value group =
          vector::FromElementsOp::create(b, loc, vec4, vals.slice(q, 4));
      vector::StoreOp::create(b, loc, group, buffer,
                              indexOf(addi(first, idx(q))),
                              /*nontemporal=*/false, llvm::Align(16));
    }
    b.setInsertionPoint(ifOp.elseBlock()->getTerminator());
    scalar();
  }

  /// Row (buf, k) of a shared tile, elements j0 .. j0 + w - 1: one
  /// 16-byte vector load when w is 4 and `aligned` says that j0 and the
  /// row are 16-byte aligned (n and j0 multiples of 4), else w scalar
  /// loads.
  SmallVector<Value> loadRow(Value tile, Value buf, int64_t k, Value j0,
                             int64_t w, bool aligned) {
    SmallVector<Value> v;
    if (w == 4 && aligned) {
      auto vec4 = VectorType::get({4}, b.getF32Type());
      Value row = vector::LoadOp::create(
          b, loc, vec4, tile, ValueRange{buf, idx(k), j0},
          /*nontemporal=*/false, llvm::Align(16));
      for (int64_t q = 0; q < 4; ++q)
        v.push_back(vector::ExtractOp::create(b, loc, row, q));
      return v;
    }
    for (int64_t q = 0; q < w; ++q)
      v.push_back(load(tile, {buf, idx(k), addi(j0, idx(q))}));
    return v;
  }

  /// The value of `v` in lane `lane` of the warp.
  Value shuffleIdx(Value v, Value lane) {
    return gpu::ShuffleOp::create(b, loc, v, lane, i32(kWarpSize),
                                  gpu::ShuffleMode::IDX)
        .getShuffleResult();
  }

  /// The sum of `v` over the `lanes` consecutive lanes of an aligned group
  /// (a power of 2), the same bits in each of them: a butterfly of
  /// shuffles, each adding two partial sums in an order that commutes.
  Value sumOverLanes(Value v, int64_t lanes) {
    for (int64_t m = 1; m < lanes; m *= 2)
      v = add(v, gpu::ShuffleOp::create(b, loc, v, i32(m), i32(kWarpSize),
                                        gpu::ShuffleMode::XOR)
                     .getShuffleResult());
    return v;
  }

  void ifThen(Value cond, function_ref<void()> fn) {
    auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    fn();
  }

  /// for iv in [lb, ub) step s: body(iv).
  void forRange(Value lbv, Value ub, Value step,
                function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, loc, lbv, ub, step);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVar());
  }

  /// A tensor operand as a plain row-major buffer: what gpu.memcpy and the
  /// kernel's indexing need. One-shot bufferization copies the rare operand
  /// that is a strided view.
  Value importBuffer(Value tensor) {
    auto t = cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(t.getShape(), t.getElementType()), tensor,
        /*read_only=*/true);
  }

  /// A gpu.launch of grid (gx, gy) and block (tx) with `sharedBytes` of
  /// dynamic shared memory; `body` fills it (its terminator is added here).
  /// Shared buffers are views of the dynamic shared memory rather than
  /// workgroup attributions: the buffer deallocation pipeline, which runs
  /// after this pass, would give memref block arguments ownership
  /// arguments the launch does not allow.
  gpu::LaunchOp launch(Value gx, Value gy, Value tx, int64_t sharedBytes,
                       function_ref<void(gpu::LaunchOp)> body) {
    Value one = idx(1);
    Value smem = sharedBytes ? arith::ConstantOp::create(
                                   b, loc, b.getI32IntegerAttr(sharedBytes))
                                   .getResult()
                             : Value();
    auto op = gpu::LaunchOp::create(b, loc, gx, gy, one, tx, one, one, smem);
    OpBuilder::InsertionGuard guard(b);
    Block &block = op.getBody().front();
    b.setInsertionPointToEnd(&block);
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointToStart(&block);
    body(op);
    return op;
  }
};

//===----------------------------------------------------------------------===//
// Selective scan
//===----------------------------------------------------------------------===//

/// A selective scan's operands as buffers (nulls for absent ones), its
/// results' fresh buffers, and its sizes.
struct ScanBuffers {
  Value u, delta, A, B, C, D, z, bias, h0, y, last;
  Value nb, nd, nL;
  int64_t n;

  ScanBuffers(SelectiveScanOp op, KernelBuilder &kb) {
    const bool tm = op.isTokenMajor();
    auto optional = [&](Value v) { return v ? kb.importBuffer(v) : Value(); };
    u = kb.importBuffer(op.getU());
    delta = kb.importBuffer(op.getDelta());
    A = kb.importBuffer(op.getA());
    B = kb.importBuffer(op.getB());
    C = kb.importBuffer(op.getC());
    D = optional(op.getD());
    z = optional(op.getZ());
    bias = optional(op.getDeltaBias());
    h0 = optional(op.getH0());
    n = cast<RankedTensorType>(op.getA().getType()).getDimSize(1);
    nb = kb.dim(u, 0);
    nd = kb.dim(u, tm ? 2 : 1);
    nL = kb.dim(u, tm ? 1 : 2);
    y = kb.alloc(cast<RankedTensorType>(op.getY().getType()),
                 {kb.dim(u, 0), kb.dim(u, 1), kb.dim(u, 2)});
    if (op.getLastState())
      last = kb.alloc(cast<RankedTensorType>(op.getLastState().getType()),
                      {nb, nd, kb.idx(n)});
  }
};

/// The chunks kernel (docs/gpu.md, "The scan kernel"): a block per
/// (channel, batch row), a block-wide scan per state and chunk of steps.
struct ChunksScan {
  int64_t items, maxThreads, statesPerIteration;
  bool prefetch;

  /// Shared memory: warp totals (a and b) per chunk parity, state and
  /// warp; the carried state per chunk parity and state. Indexing by the
  /// chunk's parity lets one barrier per state and chunk order every write
  /// before its reads: a slot is written again two chunks later, after
  /// many barriers.
  int64_t totalsBytes(int64_t n) const {
    return 2 * n * (maxThreads / kWarpSize) * 4;
  }
  int64_t sharedBytes(int64_t n) const {
    return 2 * totalsBytes(n) + 2 * n * 4;
  }

  /// Whether the kernel takes `op` (the GPU path's conditions).
  LogicalResult check(SelectiveScanOp op, PatternRewriter &rewriter) const {
    auto uType = cast<RankedTensorType>(op.getU().getType());
    auto aType = cast<RankedTensorType>(op.getA().getType());
    if (!uType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "the GPU path is f32 only");
    if (op.isComplex())
      return rewriter.notifyMatchFailure(op, "complex A stays on the host");
    if (aType.isDynamicDim(1) || aType.getDimSize(1) > kMaxStates)
      return rewriter.notifyMatchFailure(op, "needs a static n <= 512");
    if (sharedBytes(aType.getDimSize(1)) > kSharedBytes)
      return rewriter.notifyMatchFailure(
          op, "n x warps needs more than 48 KiB of shared memory");
    return success();
  }

  /// The kernel's launch, writing bufs.y and bufs.last.
  void emit(SelectiveScanOp op, KernelBuilder &kb,
            const ScanBuffers &bufs) const {
    using Kind = SelectiveScanOp::ProjectionKind;
    OpBuilder &rewriter = kb.b;
    Location loc = kb.loc;
    const int64_t n = bufs.n;
    const bool tm = op.isTokenMajor();
    const int64_t K = items;
    const int64_t maxWarps = maxThreads / kWarpSize;
    // States per iteration of the state loop: as asked when they divide n,
    // else one.
    const int64_t S = n % statesPerIteration == 0 ? statesPerIteration : 1;
    // Mamba-2's A, one decay per head: the decays and the thread's
    // composite complement are the same for every state, taken once per
    // chunk rather than once per state (the same values, so the same
    // results).
    const bool uniformA = isUniformAlongStates(op.getA());
    const int64_t totalsBytes = this->totalsBytes(n);
    const int64_t sharedBytes = this->sharedBytes(n);
    Value u = bufs.u, delta = bufs.delta, A = bufs.A, B = bufs.B, C = bufs.C,
          D = bufs.D, z = bufs.z, bias = bufs.bias, h0 = bufs.h0, y = bufs.y,
          last = bufs.last, nb = bufs.nb, nd = bufs.nd, nL = bufs.nL;
    Kind kindB = SelectiveScanOp::getProjectionKind(op.getB());
    Kind kindC = SelectiveScanOp::getProjectionKind(op.getC());

    // As many warps as the sequence fills, at most maxWarps: a short
    // sequence does not pay for idle warps' barriers and shuffles.
    Value warps =
        kb.maxu(kb.idx(1),
                kb.minu(kb.idx(maxWarps), kb.ceilDiv(kb.ceilDiv(nL, kb.idx(K)),
                                                     kb.idx(kWarpSize))));
    Value threads = kb.muli(warps, kb.idx(kWarpSize));

    kb.launch(nd, nb, threads, sharedBytes, [&](gpu::LaunchOp launch) {
      Value totE = kb.sharedView({2, n, maxWarps}, 0);
      Value totB = kb.sharedView({2, n, maxWarps}, totalsBytes);
      Value carry = kb.sharedView({2, n}, 2 * totalsBytes);
      Value c = launch.getBlockIds().x, bi = launch.getBlockIds().y;
      Value tid = launch.getThreadIds().x;
      Value T = launch.getBlockSize().x;
      Value lane = kb.remu(tid, kb.idx(kWarpSize));
      Value warp = kb.divu(tid, kb.idx(kWarpSize));
      Type f32 = rewriter.getF32Type();
      Value zero = kb.flt(f32, 0.0), one = kb.flt(f32, 1.0);
      Value biasC = bias ? kb.load(bias, {c}) : Value();
      Value dC = D ? kb.load(D, {c}) : Value();
      Value chunk = kb.muli(T, kb.idx(K));
      Value nChunks = kb.ceilDiv(nL, chunk);
      Value lastT = kb.subi(nL, kb.idx(1));
      Value n_ = kb.idx(n);

      // The state entering the first chunk.
      kb.forRange(tid, n_, T, [&](Value j) {
        Value h = h0 ? kb.load(h0, {bi, c, j}) : zero;
        kb.store(h, carry, {kb.idx(0), j});
      });

      // B or C at (state j, step t) for this block's channel.
      auto perGroup = [&](Value proj, Kind kind) -> Value {
        if (kind != Kind::Grouped)
          return Value();
        return kb.divu(nd, kb.dim(proj, tm ? 2 : 1));
      };
      Value groupB = perGroup(B, kindB), groupC = perGroup(C, kindC);
      auto projAt = [&](Value proj, Kind kind, Value perGrp, Value j,
                        Value t) -> Value {
        switch (kind) {
        case Kind::TimeInvariant:
          return kb.load(proj, {c, j});
        case Kind::Variable:
          return tm ? kb.load(proj, {bi, t, j}) : kb.load(proj, {bi, j, t});
        case Kind::Grouped: {
          Value g = kb.divu(c, perGrp);
          return tm ? kb.load(proj, {bi, t, g, j})
                    : kb.load(proj, {bi, g, j, t});
        }
        }
        llvm_unreachable("projection kind");
      };

      kb.forRange(kb.idx(0), nChunks, kb.idx(1), [&](Value ch) {
        Value par = kb.remu(ch, kb.idx(2));
        Value next = kb.subi(kb.idx(1), par);
        Value base = kb.addi(kb.muli(ch, chunk), kb.muli(tid, kb.idx(K)));
        // Whether this thread's K steps move as 16-byte vectors: all inside
        // the sequence, time contiguous (channel-first) and every row
        // 16-byte aligned (L a multiple of 4; the buffers themselves are
        // allocation-aligned). Only a sequence's last thread, or every
        // thread when L is not a multiple of 4, takes the scalar path.
        Value fast;
        if (!tm && K % 4 == 0)
          fast = kb.andi(kb.eq(kb.remu(nL, kb.idx(4)), kb.idx(0)),
                         kb.ule(kb.addi(base, kb.idx(K)), nL));
        auto act = [&](Value tt) -> SmallVector<Value> {
          return actIndex(tm, bi, c, tt);
        };
        // This thread's K consecutive steps: dt and dt * u, with steps past
        // the end reading the last step and contributing the identity
        // (a, b) = (1, 0) through dt = 0.
        KernelBuilder::Steps steps{base, lastT, K};
        SmallVector<Value> dt(K), dtu(K);
        SmallVector<Value> dRaw = kb.loadSteps(delta, fast, steps, act);
        SmallVector<Value> uK = kb.loadSteps(u, fast, steps, act);
        for (int64_t k = 0; k < K; ++k) {
          dt[k] = kb.stepDt(dRaw[k], biasC, op.getDeltaSoftplus(),
                            kb.addi(base, kb.idx(k)), nL);
          dtu[k] = kb.mul(dt[k], uK[k]);
        }
        // The thread's total step, for every state's composite decay.
        Value sumDt = dt[0];
        for (int64_t k = 1; k < K; ++k)
          sumDt = kb.add(sumDt, dt[k]);
        Value aUniform, eUniform;
        SmallVector<Value> aSteps;
        if (uniformA) {
          aUniform = kb.mul(kb.load(A, {c, kb.idx(0)}), kb.flt(f32, kLog2E));
          for (int64_t k = 0; k < K; ++k)
            aSteps.push_back(kb.ex2(kb.mul(dt[k], aUniform)));
          eUniform = kb.complement(kb.mul(sumDt, aUniform));
        }
        // B or C of state j at the thread's steps: one value when it is
        // time-invariant, else K.
        auto projLoad = [&](Value proj, Kind kind, Value perGrp,
                            Value j) -> SmallVector<Value> {
          if (kind == Kind::TimeInvariant)
            return {projAt(proj, kind, perGrp, j, {})};
          return kb.loadSteps(proj, fast, steps, [&](Value tt) {
            Value g = kind == Kind::Grouped ? kb.divu(c, perGrp) : Value();
            if (tm)
              return g ? SmallVector<Value>{bi, tt, g, j}
                       : SmallVector<Value>{bi, tt, j};
            return g ? SmallVector<Value>{bi, g, j, tt}
                     : SmallVector<Value>{bi, j, tt};
          });
        };
        auto perStep = [&](SmallVector<Value> v) {
          return v.size() == 1 ? SmallVector<Value>(K, v[0]) : v;
        };
        const int64_t nBVals = kindB == Kind::TimeInvariant ? 1 : K;
        // What state j's iteration needs first: A * log2(e) and B.
        auto stateInputs = [&](Value j) {
          SmallVector<Value> v{
              uniformA ? aUniform
                       : kb.mul(kb.load(A, {c, j}), kb.flt(f32, kLog2E))};
          llvm::append_range(v, projLoad(B, kindB, groupB, j));
          return v;
        };

        // The state loop carries y, and with `prefetch` the next
        // iteration's A and B, loaded an iteration ahead (state n - 1 again
        // in the last). Each iteration starts with a chain of its own:
        // a load, K exponentials, the serial combine, the shuffle scan, the
        // barrier, the replay. Its loads are L1 or L2 hits at best (B and C
        // are shared by every channel of the batch row), hundreds of cycles
        // each that nothing else in the iteration covers; loaded ahead, A
        // and B arrive during the previous iteration and C during the
        // scan.
        SmallVector<Value> init(K, zero);
        if (prefetch)
          for (int64_t s = 0; s < S; ++s)
            llvm::append_range(init, stateInputs(kb.idx(s)));
        const int64_t perState = 1 + nBVals;
        // S states per iteration: their shuffle scans, shared-memory round
        // trips and loads interleave, and one barrier serves them all.
        auto states = scf::ForOp::create(
            rewriter, loc, kb.idx(0), n_, kb.idx(S), init,
            [&](OpBuilder &nested, Location, Value j0, ValueRange carried) {
              OpBuilder::InsertionGuard guard(rewriter);
              rewriter.setInsertionPointToStart(nested.getInsertionBlock());
              ValueRange yAcc = carried.take_front(K);
              SmallVector<Value> js(S);
              SmallVector<SmallVector<Value>> inputs(S), cK(S);
              SmallVector<Value> ahead;
              for (int64_t s = 0; s < S; ++s)
                js[s] = s ? kb.addi(j0, kb.idx(s)) : j0;
              if (prefetch) {
                for (int64_t s = 0; s < S; ++s) {
                  Value jn = kb.minu(kb.addi(js[s], kb.idx(S)), kb.idx(n - 1));
                  llvm::append_range(ahead, stateInputs(jn));
                }
                for (int64_t s = 0; s < S; ++s) {
                  ValueRange mine =
                      carried.drop_front(K + s * perState).take_front(perState);
                  inputs[s].assign(mine.begin(), mine.end());
                  cK[s] = perStep(projLoad(C, kindC, groupC, js[s]));
                }
              } else {
                for (int64_t s = 0; s < S; ++s)
                  inputs[s] = stateInputs(js[s]);
              }
              SmallVector<SmallVector<Value>> a(S), bv(S);
              SmallVector<Value> accE(S), accB(S);
              // The thread's steps as one map h -> (1 - accE) * h + accB.
              // A composed decay is kept as its complement e = 1 - a,
              // composed as e1 + e2 - e1 * e2 (docs/gpu.md: a product of
              // decays near 1 rounded to f32 loses the e1 * e2 term each
              // time, a bias that grows with the chunk). The thread's own
              // composite is 1 - 2^(A log2(e) * its total step): one
              // accurate complement per thread and state, where per-step
              // complements of ex2.approx's results would be mostly its
              // error (slow decays over 1e-5 on an H100). ex2.approx's steps
              // still drive h and accB, over at most K steps.
              auto compose = [&](Value e1, Value e2) {
                return kb.fma(kb.neg(e1), e2, kb.add(e1, e2));
              };
              for (int64_t s = 0; s < S; ++s) {
                Value aScaled = inputs[s][0];
                SmallVector<Value> bK =
                    perStep(SmallVector<Value>(llvm::drop_begin(inputs[s])));
                a[s].resize(K);
                bv[s].resize(K);
                for (int64_t k = 0; k < K; ++k) {
                  a[s][k] =
                      uniformA ? aSteps[k] : kb.ex2(kb.mul(dt[k], aScaled));
                  bv[s][k] = kb.mul(dtu[k], bK[k]);
                }
                accE[s] =
                    uniformA ? eUniform : kb.complement(kb.mul(sumDt, aScaled));
                accB[s] = bv[s][0];
                for (int64_t k = 1; k < K; ++k)
                  accB[s] = kb.fma(a[s][k], accB[s], bv[s][k]);
              }
              // Inclusive warp scan: lane i composes lane i - off's map
              // (earlier steps) before its own.
              for (int32_t off = 1; off < kWarpSize; off *= 2) {
                for (int64_t s = 0; s < S; ++s) {
                  auto [pe, ok] = kb.shuffleUp(accE[s], off);
                  auto [pb, okB] = kb.shuffleUp(accB[s], off);
                  (void)okB;
                  Value nB = kb.fma(kb.subf(one, accE[s]), pb, accB[s]);
                  Value nE = compose(accE[s], pe);
                  accB[s] = kb.sel(ok, nB, accB[s]);
                  accE[s] = kb.sel(ok, nE, accE[s]);
                }
              }
              // Exclusive: the map of the warp's steps before this thread.
              SmallVector<Value> ee(S), eb(S);
              for (int64_t s = 0; s < S; ++s) {
                auto [pe, okE] = kb.shuffleUp(accE[s], 1);
                auto [pb, okEB] = kb.shuffleUp(accB[s], 1);
                (void)okEB;
                ee[s] = kb.sel(okE, pe, zero);
                eb[s] = kb.sel(okE, pb, zero);
              }
              kb.ifThen(kb.eq(lane, kb.idx(kWarpSize - 1)), [&] {
                for (int64_t s = 0; s < S; ++s) {
                  kb.store(accE[s], totE, {par, js[s], warp});
                  kb.store(accB[s], totB, {par, js[s], warp});
                }
              });
              kb.barrier();
              SmallVector<Value> yNext(yAcc.begin(), yAcc.end()), hs(S);
              for (int64_t s = 0; s < S; ++s) {
                // The state before this thread's first step: the carried
                // state through the earlier warps, then the earlier lanes.
                Value j = js[s];
                Value h = kb.load(carry, {par, j});
                h = kb.forLoopCarry(warp, h, [&](Value w, Value hw) {
                  Value aw = kb.subf(one, kb.load(totE, {par, j, w}));
                  return kb.fma(aw, hw, kb.load(totB, {par, j, w}));
                });
                h = kb.fma(kb.subf(one, ee[s]), h, eb[s]);
                if (!prefetch)
                  cK[s] = perStep(projLoad(C, kindC, groupC, j));
                for (int64_t k = 0; k < K; ++k) {
                  h = kb.fma(a[s][k], h, bv[s][k]);
                  yNext[k] = kb.fma(cK[s][k], h, yNext[k]);
                }
                hs[s] = h;
              }
              // The last thread's final states (steps past the end keep
              // them) enter the next chunk.
              kb.ifThen(kb.eq(tid, kb.subi(T, kb.idx(1))), [&] {
                for (int64_t s = 0; s < S; ++s)
                  kb.store(hs[s], carry, {next, js[s]});
              });
              llvm::append_range(yNext, ahead);
              scf::YieldOp::create(rewriter, loc, yNext);
            });

        // u again rather than kept in registers through the state loop
        // (a cache hit: this thread read it before the loop).
        SmallVector<Value> uD, zK;
        if (dC)
          uD = kb.loadSteps(u, fast, steps, act);
        if (z)
          zK = kb.loadSteps(z, fast, steps, act);
        SmallVector<Value> outs(K);
        for (int64_t k = 0; k < K; ++k) {
          outs[k] = states.getResult(k);
          if (dC)
            outs[k] = kb.fma(dC, uD[k], outs[k]);
          if (z)
            outs[k] = kb.mul(outs[k], kb.silu(zK[k]));
        }
        kb.storeSteps(y, fast, steps, outs, act);
      });

      if (last) {
        // The last chunk's final state was written without a barrier after.
        kb.barrier();
        Value fin = kb.remu(nChunks, kb.idx(2));
        kb.forRange(tid, n_, T, [&](Value j) {
          kb.store(kb.load(carry, {fin, j}), last, {bi, c, j});
        });
      }
    });
  }
};

//===----------------------------------------------------------------------===//
// Selective scan, one thread per channel
//===----------------------------------------------------------------------===//

/// The selective scan with one thread per (channel, batch row) holding all
/// n states in registers, serial in time (strategy "channels"; docs/gpu.md,
/// "Two scan strategies"). There is no scan between threads: per step and
/// state an exponential and five multiply-adds, against the chunked
/// kernel's shuffle scan, barrier and replay per state and chunk of steps.
/// It needs b * d threads to fill a GPU (about 16 K on an H100): a large
/// batch, not a long sequence, and n small enough for registers.
///
/// A block is T consecutive channels of one batch row, which share B and
/// C: tiles of K steps x n states of both go through shared memory, loaded
/// by the whole block one tile ahead and read by every thread at once (a
/// broadcast). The thread's own u and dt are loaded one tile ahead into
/// registers, z at the tile's start.
///
/// Accuracy: h_t = a_t h_{t-1} + b_t with ex2.approx's a_t, serially over
/// thousands of steps, would compound ex2's bias (docs/gpu.md: 1e-4 for
/// slow decays). So per tile each state runs two chains from the tile's
/// start: hh (from h, for this tile's outputs) and loc (from 0), both with
/// the approximate a_t over K steps at most; the state that enters the next
/// tile is (1 - E) h + loc, E = 1 - 2^(A log2(e) * the tile's total step)
/// from KernelBuilder::complement. Only f32 rounding compounds from tile to
/// tile, as in the chunked kernel's composition of complements.
///
/// With threads-per-channel S > 1 (S dividing n), S consecutive lanes
/// share a channel, each with n / S of its states: S times the warps for
/// the same b * d, to hide latency when b * d alone gives about one warp
/// per scheduler. Per step their partial outputs are summed by a butterfly
/// of log2(S) shuffles, and the per-step work that does not depend on the
/// state (softplus, SiLU) is spread: each of the S lanes evaluates it for
/// K / S of the steps and shuffles pass the results round.
struct ChannelsScan {
  int64_t items, maxThreads, threadsPerChannel;

  /// Threads per channel for n states: threadsPerChannel if it divides n,
  /// else 1.
  int64_t split(int64_t n) const {
    return n % threadsPerChannel == 0 ? threadsPerChannel : 1;
  }

  /// Two tile buffers of B and of C, K x n floats each.
  int64_t tileBytes(int64_t n) const { return items * n * 4; }

  /// Whether the kernel takes `op` (ChunksScan::check holds).
  bool applies(SelectiveScanOp op) const {
    using Kind = SelectiveScanOp::ProjectionKind;
    auto aType = cast<RankedTensorType>(op.getA().getType());
    const int64_t n = aType.getDimSize(1);
    return n / split(n) <= kMaxChannelStates &&
           SelectiveScanOp::getProjectionKind(op.getB()) == Kind::Variable &&
           SelectiveScanOp::getProjectionKind(op.getC()) == Kind::Variable &&
           4 * tileBytes(aType.getDimSize(1)) <= kSharedBytes;
  }

  /// The kernel's launch, writing bufs.y and bufs.last.
  void emit(SelectiveScanOp op, KernelBuilder &kb,
            const ScanBuffers &bufs) const {
    OpBuilder &rewriter = kb.b;
    Location loc = kb.loc;
    const int64_t n = bufs.n;
    const bool tm = op.isTokenMajor();
    const int64_t K = items, T = maxThreads, S = split(n), m = n / S;
    // Mamba-2's A, one decay per channel: one exponential per step and one
    // complement per tile for all of the thread's states.
    const bool uniformA = isUniformAlongStates(op.getA());
    const int64_t tileBytes = this->tileBytes(n);
    const int64_t sharedBytes = 4 * tileBytes;
    Type f32 = rewriter.getF32Type();
    Value u = bufs.u, delta = bufs.delta, A = bufs.A, B = bufs.B, C = bufs.C,
          D = bufs.D, z = bufs.z, bias = bufs.bias, h0 = bufs.h0, y = bufs.y,
          last = bufs.last, nb = bufs.nb, nd = bufs.nd, nL = bufs.nL;

    Value blocksX = kb.ceilDiv(nd, kb.idx(T / S));
    kb.launch(blocksX, nb, kb.idx(T), sharedBytes, [&](gpu::LaunchOp launch) {
      Value tileB = kb.sharedView({2, K, n}, 0);
      Value tileC = kb.sharedView({2, K, n}, 2 * tileBytes);
      Value tid = launch.getThreadIds().x;
      Value bi = launch.getBlockIds().y;
      // Thread tid: channel tid / S of the block, its states part * m ..
      // part * m + m - 1.
      Value part = S == 1 ? Value() : kb.remu(tid, kb.idx(S));
      Value c = kb.addi(kb.muli(launch.getBlockIds().x, kb.idx(T / S)),
                        S == 1 ? tid : kb.divu(tid, kb.idx(S)));
      auto state = [&](int64_t q) {
        return S == 1 ? kb.idx(q)
                      : kb.addi(kb.muli(part, kb.idx(m)), kb.idx(q));
      };
      // f of K per-step values that the S lanes of a channel all hold:
      // lane part evaluates f(vals[i * S + part]) for i < K / S, and lane
      // r of the group sends out[i * S + r]. Needs K a multiple of S.
      const bool spreads = S > 1 && K % S == 0;
      SmallVector<Value> isPart, fromLane;
      if (spreads) {
        Value base = kb.remu(kb.subi(tid, part), kb.idx(kWarpSize));
        for (int64_t r = 0; r < S; ++r) {
          // Lane 0's value is the default of the selects below.
          isPart.push_back(r == 0 ? Value() : kb.eq(part, kb.idx(r)));
          fromLane.push_back(arith::IndexCastOp::create(
              rewriter, loc, rewriter.getI32Type(), kb.addi(base, kb.idx(r))));
        }
      }
      auto spread = [&](ValueRange vals, function_ref<Value(Value)> f) {
        SmallVector<Value> out(vals.size());
        for (size_t i = 0; i < vals.size(); i += S) {
          Value x = vals[i];
          for (int64_t r = 1; r < S; ++r)
            x = kb.sel(isPart[r], vals[i + r], x);
          Value fx = f(x);
          for (int64_t r = 0; r < S; ++r)
            out[i + r] = kb.shuffleIdx(fx, fromLane[r]);
        }
        return out;
      };
      // Threads past the last channel load the last channel's inputs (the
      // block's tile loads and barriers need every thread) and store
      // nothing.
      Value active = kb.ult(c, nd);
      Value cc = kb.minu(c, kb.subi(nd, kb.idx(1)));
      Value zero = kb.flt(f32, 0.0);
      Value lastT = kb.subi(nL, kb.idx(1));
      Value nTiles = kb.ceilDiv(nL, kb.idx(K));
      Value biasC = bias ? kb.load(bias, {cc}) : Value();
      Value dC = D ? kb.load(D, {cc}) : Value();
      SmallVector<Value> aS(uniformA ? 1 : m), h(m);
      for (int64_t q = 0; q < m; ++q) {
        if (q < static_cast<int64_t>(aS.size()))
          aS[q] = kb.mul(kb.load(A, {cc, uniformA ? kb.idx(0) : state(q)}),
                         kb.flt(f32, kLog2E));
        h[q] = h0 ? kb.load(h0, {bi, cc, state(q)}) : zero;
      }
      auto act = [&](Value t) { return actIndex(tm, bi, cc, t); };
      auto stepsOf = [&](Value tile) {
        return KernelBuilder::Steps{kb.muli(tile, kb.idx(K)), lastT, K};
      };
      // Vector loads and stores when the tile lies inside the sequence,
      // time is contiguous and rows are 16-byte aligned.
      auto fastOf = [&](Value tile) -> Value {
        if (tm || K % 4 != 0)
          return Value();
        return kb.andi(
            kb.eq(kb.remu(nL, kb.idx(4)), kb.idx(0)),
            kb.ule(kb.muli(kb.addi(tile, kb.idx(1)), kb.idx(K)), nL));
      };

      // The block's share of a tile of B and C: element e of the K x n
      // tile is (step, state) with the contiguous dimension fastest, so
      // that consecutive threads read consecutive addresses. Steps past
      // the end read the last step (their dt is 0).
      const int64_t perThread = (K * n + T - 1) / T;
      auto tileElement = [&](int64_t r) {
        Value e = kb.minu(kb.addi(tid, kb.idx(r * T)), kb.idx(K * n - 1));
        Value t = tm ? kb.divu(e, kb.idx(n)) : kb.remu(e, kb.idx(K));
        Value j = tm ? kb.remu(e, kb.idx(n)) : kb.divu(e, kb.idx(K));
        return std::make_pair(t, j);
      };
      auto loadTile = [&](Value tile) {
        SmallVector<Value> v;
        for (int64_t r = 0; r < perThread; ++r) {
          auto [t, j] = tileElement(r);
          Value tt = kb.minu(kb.addi(kb.muli(tile, kb.idx(K)), t), lastT);
          SmallVector<Value> at = tm ? SmallVector<Value>{bi, tt, j}
                                     : SmallVector<Value>{bi, j, tt};
          v.push_back(kb.load(B, at));
          v.push_back(kb.load(C, at));
        }
        return v;
      };
      auto storeTile = [&](ArrayRef<Value> v, Value buf) {
        for (int64_t r = 0; r < perThread; ++r) {
          auto [t, j] = tileElement(r);
          auto put = [&, t = t, j = j] {
            kb.store(v[2 * r], tileB, {buf, t, j});
            kb.store(v[2 * r + 1], tileC, {buf, t, j});
          };
          if ((r + 1) * T <= K * n)
            put();
          else
            kb.ifThen(kb.ult(kb.addi(tid, kb.idx(r * T)), kb.idx(K * n)), put);
        }
      };

      // The first tile's loads, none for an empty sequence (L = 0: the
      // tile loop does not run and the last state is h0).
      Value nonEmpty = kb.ult(kb.idx(0), nL);
      kb.ifThen(nonEmpty, [&] { storeTile(loadTile(kb.idx(0)), kb.idx(0)); });
      kb.barrier();
      // The loop carries the states, and the next tile's u and dt.
      SmallVector<Value> init(h);
      {
        auto first = scf::IfOp::create(rewriter, loc,
                                       SmallVector<Type>(2 * K, f32), nonEmpty,
                                       /*withElseRegion=*/true);
        OpBuilder::InsertionGuard guard(rewriter);
        rewriter.setInsertionPointToStart(first.thenBlock());
        KernelBuilder::Steps s0 = stepsOf(kb.idx(0));
        Value f0 = fastOf(kb.idx(0));
        SmallVector<Value> v = kb.loadSteps(u, f0, s0, act);
        llvm::append_range(v, kb.loadSteps(delta, f0, s0, act));
        scf::YieldOp::create(rewriter, loc, v);
        rewriter.setInsertionPointToStart(first.elseBlock());
        scf::YieldOp::create(rewriter, loc, SmallVector<Value>(2 * K, zero));
        rewriter.setInsertionPointAfter(first);
        llvm::append_range(init, first.getResults());
      }
      auto tiles = scf::ForOp::create(
          rewriter, loc, kb.idx(0), nTiles, kb.idx(1), init,
          [&](OpBuilder &nested, Location, Value tile, ValueRange carried) {
            OpBuilder::InsertionGuard guard(rewriter);
            rewriter.setInsertionPointToStart(nested.getInsertionBlock());
            SmallVector<Value> hIn(carried.take_front(m));
            ValueRange uK = carried.slice(m, K), dRaw = carried.slice(m + K, K);
            Value par = kb.remu(tile, kb.idx(2));
            KernelBuilder::Steps steps = stepsOf(tile);
            Value fast = fastOf(tile);
            // The next tile's loads first (the last tile loads itself
            // again), and this tile's z: their latency runs under this
            // tile's arithmetic.
            Value nextTile =
                kb.minu(kb.addi(tile, kb.idx(1)), kb.subi(nTiles, kb.idx(1)));
            KernelBuilder::Steps nextSteps = stepsOf(nextTile);
            Value nextFast = fastOf(nextTile);
            SmallVector<Value> uN = kb.loadSteps(u, nextFast, nextSteps, act);
            SmallVector<Value> dN =
                kb.loadSteps(delta, nextFast, nextSteps, act);
            SmallVector<Value> bcN = loadTile(nextTile);
            SmallVector<Value> zK;
            if (z)
              zK = kb.loadSteps(z, fast, steps, act);

            // With S lanes per channel, softplus and SiLU of the tile's
            // steps, K / S per lane (null where not spread).
            SmallVector<Value> dtK(K), gateK(K);
            if (spreads) {
              if (op.getDeltaSoftplus())
                dtK = spread(dRaw, [&](Value raw) {
                  return kb.softplus(biasC ? kb.add(raw, biasC) : raw);
                });
              if (z)
                gateK = spread(zK, [&](Value v) { return kb.silu(v); });
            }

            SmallVector<Value> hh(hIn), locB(m), yK(K);
            Value sumDt = zero;
            // Outputs leave in groups of 4 steps (a vector store each),
            // so that few are held in registers.
            const int64_t G = K % 4 == 0 ? 4 : K;
            // Rows of the tiles load as 16-byte vectors when the thread's
            // states start on a multiple of 4.
            const bool aligned = n % 4 == 0 && m % 4 == 0;
            for (int64_t k = 0; k < K; ++k) {
              Value t = kb.addi(steps.first, kb.idx(k));
              Value dt = dtK[k] ? kb.sel(kb.ult(t, nL), dtK[k], zero)
                                : kb.stepDt(dRaw[k], biasC,
                                            op.getDeltaSoftplus(), t, nL);
              Value dtu = kb.mul(dt, uK[k]);
              sumDt = kb.add(sumDt, dt);
              Value aStep = uniformA ? kb.ex2(kb.mul(dt, aS[0])) : Value();
              Value acc = zero;
              for (int64_t q0 = 0; q0 < m; q0 += 4) {
                int64_t w = std::min<int64_t>(4, m - q0);
                SmallVector<Value> bq =
                    kb.loadRow(tileB, par, k, state(q0), w, aligned);
                SmallVector<Value> cq =
                    kb.loadRow(tileC, par, k, state(q0), w, aligned);
                for (int64_t r = 0; r < w; ++r) {
                  int64_t q = q0 + r;
                  Value a = aStep ? aStep : kb.ex2(kb.mul(dt, aS[q]));
                  Value bv = kb.mul(dtu, bq[r]);
                  // loc starts from 0 at the tile's first step.
                  locB[q] = k == 0 ? bv : kb.fma(a, locB[q], bv);
                  hh[q] = kb.fma(a, hh[q], bv);
                  acc = kb.fma(cq[r], hh[q], acc);
                }
              }
              if (S > 1)
                acc = kb.sumOverLanes(acc, S);
              if (dC)
                acc = kb.fma(dC, uK[k], acc);
              if (z)
                acc = kb.mul(acc, gateK[k] ? gateK[k] : kb.silu(zK[k]));
              yK[k] = acc;
              if ((k + 1) % G == 0) {
                int64_t k0 = k + 1 - G;
                KernelBuilder::Steps group{kb.addi(steps.first, kb.idx(k0)),
                                           lastT, G};
                // Every lane of the channel holds the outputs; with S > 1
                // the lanes take turns storing the groups.
                Value stores =
                    S == 1 ? active
                           : kb.andi(active, kb.eq(part, kb.idx((k0 / G) % S)));
                kb.ifThen(stores, [&] {
                  kb.storeSteps(y, fast, group,
                                ArrayRef<Value>(yK).slice(k0, G), act);
                });
              }
            }
            // The state entering the next tile: (1 - E) h + loc.
            SmallVector<Value> hOut(m);
            Value eUniform =
                uniformA ? kb.complement(kb.mul(sumDt, aS[0])) : Value();
            for (int64_t q = 0; q < m; ++q) {
              Value e =
                  eUniform ? eUniform : kb.complement(kb.mul(sumDt, aS[q]));
              hOut[q] = kb.add(kb.fma(kb.neg(e), hIn[q], hIn[q]), locB[q]);
            }
            // The next tile of B and C into the other buffer, which every
            // thread finished reading before the previous barrier.
            storeTile(bcN, kb.subi(kb.idx(1), par));
            kb.barrier();
            llvm::append_range(hOut, uN);
            llvm::append_range(hOut, dN);
            scf::YieldOp::create(rewriter, loc, hOut);
          });

      if (last)
        kb.ifThen(active, [&] {
          for (int64_t q = 0; q < m; ++q)
            kb.store(tiles.getResult(q), last, {bi, c, state(q)});
        });
    });
  }
};

/// Batch rows x channels from which strategy=auto takes the per-channel
/// kernel: about one warp per scheduler of an H100 (132 SMs x 4 x 32 =
/// 16,896 threads), half of that so that a GPU with fewer SMs qualifies too.
/// A first guess, to be set by measurement (docs/gpu.md, "Two scan
/// strategies"); auto is not the default until then.
constexpr int64_t kAutoChannelsFrom = 8192;

/// ssm.selective_scan -> one of the two kernels, or with strategy=auto both
/// and a choice at run time by batch rows x channels.
struct SelectiveScanToGPU : OpRewritePattern<SelectiveScanOp> {
  SelectiveScanToGPU(MLIRContext *ctx, ChunksScan chunks, ChannelsScan channels,
                     StringRef strategy)
      : OpRewritePattern(ctx), chunks(chunks), channels(channels),
        strategy(strategy.str()) {}

  ChunksScan chunks;
  ChannelsScan channels;
  std::string strategy;

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    if (failed(chunks.check(op, rewriter)))
      return failure();
    const bool perChannel = strategy != "chunks" && channels.applies(op);
    KernelBuilder kb(rewriter, op.getLoc());
    ScanBuffers bufs(op, kb);
    if (!perChannel) {
      chunks.emit(op, kb, bufs);
    } else if (strategy == "channels") {
      channels.emit(op, kb, bufs);
    } else {
      Value rows = kb.muli(bufs.nb, bufs.nd);
      auto choice = scf::IfOp::create(rewriter, op.getLoc(),
                                      kb.ule(kb.idx(kAutoChannelsFrom), rows),
                                      /*withElseRegion=*/true);
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPoint(choice.thenBlock()->getTerminator());
      channels.emit(op, kb, bufs);
      rewriter.setInsertionPoint(choice.elseBlock()->getTerminator());
      chunks.emit(op, kb, bufs);
    }
    kb.replaceWithBuffers(rewriter, op, {bufs.y, bufs.last});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Causal conv1d
//===----------------------------------------------------------------------===//

/// One thread per output, threads along the contiguous dimension (time in
/// channel_first, channels in token_major) so that a warp's loads and
/// stores coalesce; the k taps re-read neighbouring inputs from cache. The
/// final state, when asked for, is one more small kernel (a thread per
/// channel).
struct CausalConv1dToGPU : OpRewritePattern<CausalConv1dOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CausalConv1dOp op,
                                PatternRewriter &rewriter) const override {
    auto xType = cast<RankedTensorType>(op.getX().getType());
    if (!xType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "the GPU path is f32 only");
    Location loc = op.getLoc();
    KernelBuilder kb(rewriter, loc);
    ConvBuffers cb = ConvBuffers::get(
        kb, op, [&](Value tensor) { return kb.importBuffer(tensor); });

    // Blocks along x: (rows of the other dimension) x (tiles of the
    // contiguous one), flattened because grid y and z stop at 65535.
    Value inner = cb.tm ? cb.nd : cb.nL, outer = cb.tm ? cb.nL : cb.nd;
    Value tiles = kb.ceilDiv(inner, kb.idx(kConvThreads));
    kb.launch(kb.muli(tiles, outer), cb.nb, kb.idx(kConvThreads), 0,
              [&](gpu::LaunchOp launch) {
                Value bx = launch.getBlockIds().x;
                Value bi = launch.getBlockIds().y;
                Value row = kb.divu(bx, tiles);
                Value pos =
                    kb.addi(kb.muli(kb.remu(bx, tiles), kb.idx(kConvThreads)),
                            launch.getThreadIds().x);
                kb.ifThen(kb.ult(pos, inner), [&] {
                  Value c = cb.tm ? pos : row, t = cb.tm ? row : pos;
                  Value out = cb.output(kb, bi, c, t, op.getSilu());
                  kb.store(out, cb.out, actIndex(cb.tm, bi, c, t));
                });
              });
    if (cb.fin) {
      Value chTiles = kb.ceilDiv(cb.nd, kb.idx(kConvThreads));
      kb.launch(
          chTiles, cb.nb, kb.idx(kConvThreads), 0, [&](gpu::LaunchOp launch) {
            Value c =
                kb.addi(kb.muli(launch.getBlockIds().x, kb.idx(kConvThreads)),
                        launch.getThreadIds().x);
            kb.ifThen(kb.ult(c, cb.nd), [&] {
              cb.storeFinalState(kb, launch.getBlockIds().y, c);
            });
          });
    }
    kb.replaceWithBuffers(rewriter, op, {cb.out, cb.fin});
    return success();
  }
};

/// gpu.barrier declares no memory effects, and the ownership-based buffer
/// deallocation that runs after this pass (on the host code around the
/// launches) rejects any op whose effects are unknown. A barrier orders the
/// block's reads and writes: it is declared to read and write memory.
struct BarrierMemoryEffects
    : MemoryEffectOpInterface::ExternalModel<BarrierMemoryEffects,
                                             gpu::BarrierOp> {
  void
  getEffects(Operation *,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) const {
    effects.emplace_back(MemoryEffects::Read::get());
    effects.emplace_back(MemoryEffects::Write::get());
  }
};

struct SSMLowerToGPUPass : ssm::impl::SSMLowerToGPUBase<SSMLowerToGPUPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registry.addExtension(+[](MLIRContext *ctx, gpu::GPUDialect *) {
      gpu::BarrierOp::attachInterface<BarrierMemoryEffects>(*ctx);
    });
  }

  void runOnOperation() override {
    if (itemsPerThread < 1 || itemsPerThread > 64 || maxThreads < kWarpSize ||
        maxThreads > 1024 || maxThreads % kWarpSize != 0 ||
        statesPerIteration < 1 || statesPerIteration > 8 ||
        threadsPerChannel < 1 || threadsPerChannel > 8 ||
        (threadsPerChannel & (threadsPerChannel - 1)) != 0 ||
        (strategy != "chunks" && strategy != "channels" &&
         strategy != "auto")) {
      getOperation()->emitError(
          "ssm-lower-to-gpu: items-per-thread must be in [1, 64], "
          "max-threads a multiple of 32 in [32, 1024], "
          "states-per-iteration in [1, 8], threads-per-channel 1, 2, 4 or "
          "8, strategy chunks, channels or auto");
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    // Ops the GPU path declines stay for ssm-lower-to-loops (on the host).
    RewritePatternSet patterns(ctx);
    patterns.add<SelectiveScanToGPU>(
        ctx,
        ChunksScan{itemsPerThread, maxThreads, statesPerIteration, prefetch},
        ChannelsScan{itemsPerThread, maxThreads, threadsPerChannel}, strategy);
    patterns.add<CausalConv1dToGPU>(ctx);
    // Constants stay where the kernels create them: hoisted out of a
    // launch, each would become one more kernel argument.
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    config.enableConstantCSE(false);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();

    // The exp of the conv kernels' SiLU: upstream's polynomial, so the
    // kernels call no libdevice function and build without the toolkit
    // (the scan's softplus and SiLU are KernelBuilder's own).
    RewritePatternSet approx(ctx);
    populateMathPolynomialApproximationPatterns(approx);
    FrozenRewritePatternSet frozen(std::move(approx));
    GreedyRewriteConfig inLaunch;
    inLaunch.enableConstantCSE(false);
    WalkResult walk = getOperation()->walk([&](gpu::LaunchOp launch) {
      if (failed(applyPatternsGreedily(launch, frozen, inLaunch)))
        return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }
};

//===----------------------------------------------------------------------===//
// Math on NVIDIA GPUs without libdevice
//===----------------------------------------------------------------------===//

/// f32 math.exp2 marked afn -> ex2.approx.ftz.f32: a decay under 2^-126
/// may as well be 0, and the flush spares the non-ftz form's scaling
/// instructions around each special-function op.
struct FastExp2ToNVVM : OpRewritePattern<math::Exp2Op> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::Exp2Op op,
                                PatternRewriter &rewriter) const override {
    if (!op.getType().isF32() ||
        !arith::bitEnumContainsAll(op.getFastmath(), arith::FastMathFlags::afn))
      return failure();
    rewriter.replaceOpWithNewOp<LLVM::CallIntrinsicOp>(
        op, op.getType(),
        rewriter.getStringAttr("llvm.nvvm.ex2.approx.ftz.f32"),
        ValueRange{op.getOperand()});
    return success();
  }
};

/// An f32 unary math op -> an LLVM intrinsic called by name: floor ->
/// llvm.floor.f32 (cvt.rmi.f32.f32), absf -> llvm.fabs.f32 (abs.f32).
/// Called as intrinsics because convert-gpu-to-nvvm rejects llvm.intr.floor
/// and llvm.intr.fabs (it wants libdevice's __nv_floorf and __nv_fabsf).
template <typename OpTy> struct UnaryToIntrinsic : OpRewritePattern<OpTy> {
  UnaryToIntrinsic(MLIRContext *ctx, StringRef intrinsic)
      : OpRewritePattern<OpTy>(ctx), intrinsic(intrinsic) {}

  StringRef intrinsic;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!op.getType().isF32())
      return failure();
    rewriter.replaceOpWithNewOp<LLVM::CallIntrinsicOp>(
        op, op.getType(), rewriter.getStringAttr(intrinsic),
        ValueRange{op.getOperand()});
    return success();
  }
};

/// math.fma -> llvm.intr.fma (fma.rn), not libdevice's __nv_fmaf.
struct FmaToNVVM : OpRewritePattern<math::FmaOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::FmaOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getType().isF32())
      return failure();
    rewriter.replaceOpWithNewOp<LLVM::FMAOp>(op, op.getA(), op.getB(),
                                             op.getC());
    return success();
  }
};

/// f32 math.rsqrt -> 1 / llvm.sqrt.f32 (sqrt.rn and div.rn: correctly
/// rounded each, not rsqrt.approx); libdevice's __nv_rsqrtf otherwise. An
/// RMSNorm takes one per row, so the cost does not matter.
struct RsqrtToNVVM : OpRewritePattern<math::RsqrtOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(math::RsqrtOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getType().isF32())
      return failure();
    Location loc = op.getLoc();
    Value root =
        LLVM::CallIntrinsicOp::create(rewriter, loc, op.getType(),
                                      rewriter.getStringAttr("llvm.sqrt.f32"),
                                      ValueRange{op.getOperand()})
            .getResult(0);
    Value one = LLVM::ConstantOp::create(rewriter, loc, op.getType(),
                                         rewriter.getF32FloatAttr(1.0f));
    rewriter.replaceOpWithNewOp<LLVM::FDivOp>(op, one, root);
    return success();
  }
};

struct SSMMathToNVVMPass : ssm::impl::SSMMathToNVVMBase<SSMMathToNVVMPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FastExp2ToNVVM, FmaToNVVM>(&getContext());
    patterns.add<UnaryToIntrinsic<math::FloorOp>>(&getContext(),
                                                  "llvm.floor.f32");
    patterns.add<UnaryToIntrinsic<math::AbsFOp>>(&getContext(),
                                                 "llvm.fabs.f32");
    patterns.add<UnaryToIntrinsic<math::SqrtOp>>(&getContext(),
                                                 "llvm.sqrt.f32");
    patterns.add<RsqrtToNVVM>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
