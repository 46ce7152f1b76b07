//===- KernelOps.h - helpers shared by the GPU kernel builders --*- C++ -*-===//
//
// Private to lib/Conversion/SSMToGPU: LoopBuilder plus index arithmetic and
// the GPU ops the scan, conv and tiled matrix product kernels are written
// with (SSMToGPU.cpp, TiledMatmul.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_CONVERSION_SSMTOGPU_KERNELOPS_H
#define SSM_LIB_CONVERSION_SSMTOGPU_KERNELOPS_H

#include "../LoopBuilder.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::ssm {

/// LoopBuilder plus index arithmetic and the GPU-specific ops.
struct KernelOps : LoopBuilder {
  using LoopBuilder::LoopBuilder;

  Value addi(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value subi(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value subf(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value muli(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value divu(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value remu(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value ceilDiv(Value x, Value y) {
    return arith::CeilDivUIOp::create(b, loc, x, y);
  }
  Value minu(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value maxu(Value x, Value y) { return arith::MaxUIOp::create(b, loc, x, y); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value ule(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, x, y);
  }
  Value andi(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value eq(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
  }
  Value sel(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value i32(int32_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  /// x * y + z with one rounding (fma.rn.f32). The kernels' multiply-adds
  /// are written as fmas: an arith.mulf/addf pair becomes PTX's mul.rn and
  /// add.rn, whose explicit rounding forbids ptxas to fuse them.
  Value fma(Value x, Value y, Value z) {
    return math::FmaOp::create(b, loc, x, y, z);
  }
  Value neg(Value x) { return arith::NegFOp::create(b, loc, x); }
  void barrier() { gpu::BarrierOp::create(b, loc); }

  /// An f32 buffer of `shape` at byte `offset` of the dynamic shared memory.
  Value sharedView(ArrayRef<int64_t> shape, int64_t offset) {
    MLIRContext *ctx = b.getContext();
    Attribute wg =
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    auto bytes = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                 MemRefLayoutAttrInterface{}, wg);
    Value all = gpu::DynamicSharedMemoryOp::create(b, loc, bytes);
    auto type =
        MemRefType::get(shape, b.getF32Type(), MemRefLayoutAttrInterface{}, wg);
    return memref::ViewOp::create(b, loc, type, all, idx(offset), ValueRange{});
  }
};

} // namespace mlir::ssm

#endif // SSM_LIB_CONVERSION_SSMTOGPU_KERNELOPS_H
