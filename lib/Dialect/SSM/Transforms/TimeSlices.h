//===- TimeSlices.h - slicing ssm operands along time -----------*- C++ -*-===//
//
// Private helpers of ssm-tile and ssm-parallel-scan: both cut an op's
// operands and results along its time dimension and carry a state tensor.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_DIALECT_SSM_TRANSFORMS_TIMESLICES_H
#define SSM_LIB_DIALECT_SSM_TRANSFORMS_TIMESLICES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

namespace mlir::ssm {

/// Builds slices along one dimension at a dynamic offset.
struct TimeSlicer {
  TimeSlicer(OpBuilder &b, Location loc) : b(b), loc(loc) {}
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// Size of dimension `dim` of `v`: a constant when static.
  Value extent(Value v, int64_t dim) {
    return getValueOrCreateConstantIndexOp(
        b, loc, tensor::getMixedSize(b, loc, v, dim));
  }

  /// `v[..., start : start + size, ...]` along `dim`.
  Value slice(Value v, int64_t dim, OpFoldResult start, OpFoldResult size) {
    auto t = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(t.getRank(), b.getIndexAttr(0)),
        sizes = tensor::getMixedSizes(b, loc, v),
        strides(t.getRank(), b.getIndexAttr(1));
    offsets[dim] = start;
    sizes[dim] = size;
    return tensor::ExtractSliceOp::create(b, loc, v, offsets, sizes, strides);
  }

  /// Writes `part` into `whole` at `start` along `dim`.
  Value insert(Value part, Value whole, int64_t dim, OpFoldResult start) {
    auto t = cast<RankedTensorType>(whole.getType());
    SmallVector<OpFoldResult> offsets(t.getRank(), b.getIndexAttr(0)),
        sizes = tensor::getMixedSizes(b, loc, part),
        strides(t.getRank(), b.getIndexAttr(1));
    offsets[dim] = start;
    return tensor::InsertSliceOp::create(b, loc, part, whole, offsets, sizes,
                                         strides);
  }

  /// A tensor of `shape` and `elt` filled with zeros.
  Value zeros(ArrayRef<OpFoldResult> shape, Type elt) {
    Value empty = tensor::EmptyOp::create(b, loc, shape, elt);
    Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, 0.0));
    return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
  }
};

/// The time dimension of a selective scan's B or C operand, or -1 when it
/// is time-invariant.
inline int64_t projectionTimeDim(Value v, bool tokenMajor) {
  switch (SelectiveScanOp::getProjectionKind(v)) {
  case SelectiveScanOp::ProjectionKind::TimeInvariant:
    return -1;
  case SelectiveScanOp::ProjectionKind::Variable:
    return tokenMajor ? 1 : 2;
  case SelectiveScanOp::ProjectionKind::Grouped:
    return tokenMajor ? 1 : 3;
  }
  llvm_unreachable("unknown projection kind");
}

} // namespace mlir::ssm

#endif // SSM_LIB_DIALECT_SSM_TRANSFORMS_TIMESLICES_H
