//===- LoopBuilder.h - helpers shared by the ssm lowerings ------*- C++ -*-===//
//
// Private to lib/Conversion: buffer import/export around a lowered ssm op,
// loops, constants and the scalar or vector activation functions.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_CONVERSION_LOOPBUILDER_H
#define SSM_LIB_CONVERSION_LOOPBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::ssm {

/// Small helpers shared by the three lowerings: buffer import/export, index
/// and float constants, loops, and the scalar activation functions.
class LoopBuilder {
public:
  LoopBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  /// A float constant of scalar or vector type `t`.
  Value flt(Type t, double v) {
    if (auto vt = dyn_cast<VectorType>(t))
      return arith::ConstantOp::create(
          b, loc, vt,
          DenseElementsAttr::get(vt, b.getFloatAttr(vt.getElementType(), v)));
    return arith::ConstantOp::create(b, loc, t, b.getFloatAttr(t, v));
  }

  /// Reads a tensor operand as a memref with a fully dynamic strided layout,
  /// so that any buffer one-shot bufferization picks for it fits.
  /// With `unitInner`, the result has innermost stride 1 (vector loads need
  /// it) and dynamic other strides and offset: a slice of a larger buffer
  /// (the lane tiles and time chunks of ssm-tile and ssm-parallel-scan) is
  /// used in place, and only a buffer whose innermost stride is not 1 at run
  /// time is copied. The test is ours rather than bufferization's: asked
  /// for the layout directly, one-shot bufferization copies any buffer whose
  /// layout it cannot prove, into an allocation of that (invalid,
  /// dynamic-offset) layout. With `writable` the code may write the buffer
  /// (one-shot bufferization then writes the tensor's buffer in place, or
  /// a copy of it where its old value is still read).
  Value toBuffer(Value tensor, bool unitInner = false, bool writable = false) {
    auto t = cast<RankedTensorType>(tensor.getType());
    int64_t rank = t.getRank();
    auto strided = [&](bool unit) {
      SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
      if (unit)
        strides.back() = 1;
      return MemRefType::get(
          t.getShape(), t.getElementType(),
          StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides));
    };
    Value buf =
        bufferization::ToBufferOp::create(b, loc, strided(false), tensor,
                                          /*read_only=*/!writable);
    if (!unitInner || rank == 0)
      return buf;
    MemRefType target = strided(true);
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, buf);
    Value unit = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                       meta.getStrides().back(), idx(1));
    auto choice = scf::IfOp::create(
        b, loc, unit,
        [&](OpBuilder &, Location) {
          scf::YieldOp::create(
              b, loc, ValueRange{memref::CastOp::create(b, loc, target, buf)});
        },
        [&](OpBuilder &, Location) {
          SmallVector<Value> sizes;
          for (int64_t i = 0; i < rank; ++i)
            if (t.isDynamicDim(i))
              sizes.push_back(dim(buf, i));
          Value copy = memref::AllocOp::create(
              b, loc, MemRefType::get(t.getShape(), t.getElementType()), sizes);
          memref::CopyOp::create(b, loc, buf, copy);
          scf::YieldOp::create(
              b, loc, ValueRange{memref::CastOp::create(b, loc, target, copy)});
        });
    return choice.getResult(0);
  }

  /// A fresh buffer for a result; `sizes` gives every dimension (static ones
  /// are taken from the type).
  Value alloc(RankedTensorType t, ArrayRef<Value> sizes) {
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (t.isDynamicDim(i))
        dyn.push_back(sizes[i]);
    auto mt = MemRefType::get(t.getShape(), t.getElementType());
    return memref::AllocOp::create(b, loc, mt, dyn);
  }

  Value toTensor(RankedTensorType t, Value buffer) {
    return bufferization::ToTensorOp::create(b, loc, t, buffer,
                                             /*restrict=*/b.getUnitAttr(),
                                             /*writable=*/b.getUnitAttr());
  }

  /// Replaces `op` by its result buffers, each exported as a tensor of the
  /// corresponding result type. A null buffer stands for an optional result
  /// the op does not have and is skipped.
  void replaceWithBuffers(RewriterBase &rewriter, Operation *op,
                          ArrayRef<Value> buffers) {
    SmallVector<Value> present(llvm::make_filter_range(
        buffers, [](Value v) { return static_cast<bool>(v); }));
    assert(present.size() == op->getNumResults() && "one buffer per result");
    SmallVector<Value> results;
    for (auto [result, buffer] : llvm::zip(op->getResults(), present))
      results.push_back(
          toTensor(cast<RankedTensorType>(result.getType()), buffer));
    rewriter.replaceOp(op, results);
  }

  Value dim(Value buffer, int64_t i) {
    return memref::DimOp::create(b, loc, buffer, i);
  }
  Value load(Value buffer, ValueRange indices) {
    return memref::LoadOp::create(b, loc, buffer, indices);
  }
  void store(Value v, Value buffer, ValueRange indices) {
    memref::StoreOp::create(b, loc, v, buffer, indices);
  }

  /// for iv in [0, ub): body(iv). Inserts after the loop on return.
  void forLoop(Value ub, function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, loc, idx(0), ub, idx(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVar());
  }

  /// for iv in [0, ub) with one carried value; returns the final value.
  Value forLoopCarry(Value ub, Value init,
                     function_ref<Value(Value iv, Value carried)> body) {
    auto loop = scf::ForOp::create(
        b, loc, idx(0), ub, idx(1), ValueRange{init},
        [&](OpBuilder &nested, Location, Value iv, ValueRange args) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(nested.getInsertionBlock());
          Value next = body(iv, args[0]);
          scf::YieldOp::create(b, loc, next);
        });
    return loop.getResult(0);
  }

  /// cond ? thenFn() : elseFn(), both yielding one value of type `t`.
  Value select(Value cond, Type t, function_ref<Value()> thenFn,
               function_ref<Value()> elseFn) {
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{t}, cond,
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, loc, thenFn());
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, loc, elseFn());
    }
    return ifOp.getResult(0);
  }

  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value exp(Value x) { return math::ExpOp::create(b, loc, x); }

  /// softplus(x) = log1p(exp(x)), and x itself for x > 20 (as PyTorch).
  /// log1p is written out with Goldberg's correction
  ///   log1p(e) = e                          if 1 + e == 1
  ///            = log(1 + e) * e / ((1 + e) - 1)  otherwise
  /// because math-to-llvm lowers math.log1p to a plain log(1 + e), which
  /// loses every digit of e once e < ulp(1).
  Value softplus(Value x) {
    Type t = x.getType();
    Value e = exp(x);
    Value one = flt(t, 1.0);
    Value u = add(one, e);
    Value um1 = arith::SubFOp::create(b, loc, u, one);
    Value logu = math::LogOp::create(b, loc, u);
    Value corrected =
        arith::DivFOp::create(b, loc, mul(logu, e), um1);
    Value tiny =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, u, one);
    Value log1p = arith::SelectOp::create(b, loc, tiny, e, corrected);
    Value big = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x,
                                      flt(t, 20.0));
    return arith::SelectOp::create(b, loc, big, x, log1p);
  }

  /// silu(x) = x * sigmoid(x) = x / (1 + exp(-x)); exp(-x) overflowing to
  /// +inf gives -0, never NaN.
  Value silu(Value x) {
    Value negX = arith::NegFOp::create(b, loc, x);
    Value den = add(flt(x.getType(), 1.0), exp(negX));
    return arith::DivFOp::create(b, loc, x, den);
  }
};

/// Index order of a per-token activation in either layout.
inline SmallVector<Value> actIndex(bool tokenMajor, Value bi, Value c, Value t) {
  if (tokenMajor)
    return {bi, t, c};
  return {bi, c, t};
}

/// The buffers of a lowered ssm.causal_conv1d and its scalar arithmetic,
/// shared by the reference lowering (every output) and the vector lowering
/// (the k-1 outputs at the start of a sequence, which read the incoming
/// state, and the final state).
struct ConvBuffers {
  bool tm;
  Type elt;
  Value x, w, bias, state; // bias and state may be null
  Value km1;               // k - 1
  Value nb, nd, nL;        // batch, channels, steps
  Value out, fin;          // results; fin null without final_state

  /// Imports the operands of `op` (innermost stride 1 when `contiguous`)
  /// and allocates its results.
  static ConvBuffers get(LoopBuilder &lb, CausalConv1dOp op, bool contiguous) {
    return get(lb, op,
               [&](Value tensor) { return lb.toBuffer(tensor, contiguous); });
  }

  /// The same with each operand imported by `import`.
  static ConvBuffers get(LoopBuilder &lb, CausalConv1dOp op,
                         function_ref<Value(Value)> import) {
    ConvBuffers c;
    c.tm = op.isTokenMajor();
    c.elt = op.getX().getType().getElementType();
    c.x = import(op.getX());
    c.w = import(op.getWeight());
    c.bias = op.getBias() ? import(op.getBias()) : Value();
    c.state = op.getConvState() ? import(op.getConvState()) : Value();
    auto wType = cast<MemRefType>(c.w.getType());
    c.km1 = wType.isDynamicDim(1)
                ? arith::SubIOp::create(lb.b, lb.loc, lb.dim(c.w, 1), lb.idx(1))
                      .getResult()
                : lb.idx(wType.getDimSize(1) - 1);
    c.nb = lb.dim(c.x, 0);
    c.nd = lb.dim(c.x, c.tm ? 2 : 1);
    c.nL = lb.dim(c.x, c.tm ? 1 : 2);
    c.out = lb.alloc(cast<RankedTensorType>(op.getOut().getType()),
                     {lb.dim(c.x, 0), lb.dim(c.x, 1), lb.dim(c.x, 2)});
    if (op.getFinalState())
      c.fin = lb.alloc(cast<RankedTensorType>(op.getFinalState().getType()),
                       {c.nb, c.nd, c.km1});
    return c;
  }

  /// x at time p of (batch bi, channel c), where p < 0 reads the incoming
  /// conv state (slot k-1+p) or zero.
  Value input(LoopBuilder &lb, Value bi, Value c, Value p) const {
    OpBuilder &b = lb.b;
    Value inSeq = arith::CmpIOp::create(b, lb.loc, arith::CmpIPredicate::sge,
                                        p, lb.idx(0));
    return lb.select(
        inSeq, elt, [&] { return lb.load(x, actIndex(tm, bi, c, p)); },
        [&]() -> Value {
          if (!state)
            return lb.flt(elt, 0.0);
          Value slot = arith::AddIOp::create(b, lb.loc, km1, p);
          return lb.load(state, {bi, c, slot});
        });
  }

  /// out[bi, c, t] = bias + sum_i w[c, i] x[t-(k-1)+i], then SiLU if asked.
  Value output(LoopBuilder &lb, Value bi, Value c, Value t, bool silu) const {
    OpBuilder &b = lb.b;
    Value acc0 = bias ? lb.load(bias, {c}) : lb.flt(elt, 0.0);
    Value tMinus = arith::SubIOp::create(b, lb.loc, t, km1);
    Value nk = lb.dim(w, 1);
    Value acc = lb.forLoopCarry(nk, acc0, [&](Value i, Value acc) {
      Value p = arith::AddIOp::create(b, lb.loc, tMinus, i);
      return lb.add(acc, lb.mul(lb.load(w, {c, i}), input(lb, bi, c, p)));
    });
    return silu ? lb.silu(acc) : acc;
  }

  /// Slot s of the final state holds x at time L-(k-1)+s.
  void storeFinalState(LoopBuilder &lb, Value bi, Value c) const {
    Value base = arith::SubIOp::create(lb.b, lb.loc, nL, km1);
    lb.forLoop(km1, [&](Value s) {
      Value p = arith::AddIOp::create(lb.b, lb.loc, base, s);
      lb.store(input(lb, bi, c, p), fin, {bi, c, s});
    });
  }
};

} // namespace mlir::ssm

#endif // SSM_LIB_CONVERSION_LOOPBUILDER_H
