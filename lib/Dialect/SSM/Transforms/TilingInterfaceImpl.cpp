//===- TilingInterfaceImpl.cpp - TilingInterface for the ssm ops ----------===//
//
// Each op is described by a LaneMap: for every dimension of every operand
// and result, the loop of the iteration domain it runs along (or none, or
// the group of a grouped B/C, whose tile is the channel tile divided by the
// group size). One generic implementation of the interfaces works from it.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/Transforms/TilingInterfaceImpl.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/TilingInterface.h"

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Dimension markers of a LaneMap besides a loop index.
constexpr int kWhole = -1; // not tiled: the whole dimension
constexpr int kGroup = -2; // group of a grouped B/C: the channel loop / group

/// Where each dimension of each operand and result runs in the iteration
/// domain, and where each loop's extent is read (operand, dimension).
struct LaneMap {
  SmallVector<SmallVector<int>> operands, results;
  SmallVector<std::pair<unsigned, unsigned>> loopExtent;
  /// For kGroup dims: the loop divided by the group size.
  int groupLoop = 1;
};

SmallVector<int> activation(bool tm) {
  return tm ? SmallVector<int>{0, kWhole, 1} : SmallVector<int>{0, 1, kWhole};
}

LaneMap laneMap(SelectiveScanOp op) {
  using Kind = SelectiveScanOp::ProjectionKind;
  bool tm = op.isTokenMajor();
  auto projection = [&](Value v) -> SmallVector<int> {
    switch (SelectiveScanOp::getProjectionKind(v)) {
    case Kind::TimeInvariant:
      return {1, kWhole};
    case Kind::Variable:
      return {0, kWhole, kWhole};
    case Kind::Grouped:
      return tm ? SmallVector<int>{0, kWhole, kGroup, kWhole}
                : SmallVector<int>{0, kGroup, kWhole, kWhole};
    }
    llvm_unreachable("unknown projection kind");
  };
  LaneMap m;
  m.operands = {activation(tm), activation(tm), {1, kWhole},
                projection(op.getB()), projection(op.getC())};
  if (op.getD())
    m.operands.push_back({1});
  if (op.getZ())
    m.operands.push_back(activation(tm));
  if (op.getDeltaBias())
    m.operands.push_back({1});
  if (op.getH0())
    m.operands.push_back({0, 1, kWhole});
  m.results = {activation(tm)};
  if (op.getLastState())
    m.results.push_back({0, 1, kWhole});
  m.loopExtent = {{0, 0}, {0, tm ? 2u : 1u}};
  return m;
}

LaneMap laneMap(ScanOp op) {
  int64_t rank = cast<RankedTensorType>(op.getA().getType()).getRank();
  int64_t dim = op.getDim();
  SmallVector<int> full, reduced;
  LaneMap m;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == dim) {
      full.push_back(kWhole);
      continue;
    }
    int loop = i < dim ? i : i - 1;
    full.push_back(loop);
    reduced.push_back(loop);
    m.loopExtent.push_back({0, static_cast<unsigned>(i)});
  }
  m.operands = {full, full};
  if (op.getInit())
    m.operands.push_back(reduced);
  m.results = {op.getLastOnly() ? reduced : full};
  return m;
}

LaneMap laneMap(CausalConv1dOp op) {
  bool tm = op.isTokenMajor();
  LaneMap m;
  m.operands = {activation(tm), {1, kWhole}};
  if (op.getBias())
    m.operands.push_back({1});
  if (op.getConvState())
    m.operands.push_back({0, 1, kWhole});
  m.results = {activation(tm)};
  if (op.getFinalState())
    m.results.push_back({0, 1, kWhole});
  m.loopExtent = {{0, 0}, {0, tm ? 2u : 1u}};
  return m;
}

/// The extent of every loop.
SmallVector<OpFoldResult> loopExtents(OpBuilder &b, Operation *op,
                                      const LaneMap &m) {
  SmallVector<OpFoldResult> extents;
  for (auto [operand, dim] : m.loopExtent)
    extents.push_back(
        tensor::getMixedSize(b, op->getLoc(), op->getOperand(operand), dim));
  return extents;
}

/// Offsets and sizes of the tile of a value of shape `shape` (sizes of its
/// whole dimensions) given the loops' tile.
void tileOf(OpBuilder &b, Location loc, ArrayRef<int> dims,
            ArrayRef<OpFoldResult> shape, ArrayRef<OpFoldResult> offsets,
            ArrayRef<OpFoldResult> sizes, ArrayRef<OpFoldResult> extents,
            int groupLoop, SmallVectorImpl<OpFoldResult> &tileOffsets,
            SmallVectorImpl<OpFoldResult> &tileSizes) {
  for (auto [i, loop] : llvm::enumerate(dims)) {
    if (loop == kWhole) {
      tileOffsets.push_back(b.getIndexAttr(0));
      tileSizes.push_back(shape[i]);
    } else if (loop == kGroup) {
      // Channels per group = channel extent / groups.
      auto div = [&](OpFoldResult x, OpFoldResult y) -> OpFoldResult {
        auto cx = getConstantIntValue(x), cy = getConstantIntValue(y);
        if (cx && cy)
          return b.getIndexAttr(*cx / *cy);
        return arith::DivUIOp::create(
                   b, loc, getValueOrCreateConstantIndexOp(b, loc, x),
                   getValueOrCreateConstantIndexOp(b, loc, y))
            .getResult();
      };
      OpFoldResult perGroup = div(extents[groupLoop], shape[i]);
      tileOffsets.push_back(div(offsets[groupLoop], perGroup));
      tileSizes.push_back(div(sizes[groupLoop], perGroup));
    } else {
      tileOffsets.push_back(offsets[loop]);
      tileSizes.push_back(sizes[loop]);
    }
  }
}

template <typename OpTy>
struct LaneTiling
    : public TilingInterface::ExternalModel<LaneTiling<OpTy>, OpTy> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    return SmallVector<utils::IteratorType>(
        laneMap(cast<OpTy>(op)).loopExtent.size(),
        utils::IteratorType::parallel);
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    SmallVector<Range> domain;
    for (OpFoldResult extent : loopExtents(b, op, laneMap(cast<OpTy>(op))))
      domain.push_back(Range{b.getIndexAttr(0), extent, b.getIndexAttr(1)});
    return domain;
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    LaneMap m = laneMap(cast<OpTy>(op));
    Location loc = op->getLoc();
    SmallVector<OpFoldResult> extents = loopExtents(b, op, m);
    // A channel tile must cover whole groups of a grouped B/C.
    for (auto [operand, dims] : llvm::zip(op->getOperands(), m.operands)) {
      for (auto [i, loop] : llvm::enumerate(dims)) {
        if (loop != kGroup)
          continue;
        auto groups = cast<RankedTensorType>(operand.getType()).getDimSize(i);
        auto extent = getConstantIntValue(extents[m.groupLoop]);
        auto size = getConstantIntValue(sizes[m.groupLoop]);
        if (ShapedType::isDynamic(groups) || !extent || !size ||
            *size % (*extent / groups) != 0) {
          op->emitOpError("a channel tile must cover whole groups of a "
                          "grouped B or C (")
              << (extent && !ShapedType::isDynamic(groups)
                      ? std::to_string(*extent / groups)
                      : std::string("an unknown number of"))
              << " channels per group)";
          return failure();
        }
      }
    }
    SmallVector<Value> operands;
    SmallVector<Operation *> slices;
    for (auto [operand, dims] : llvm::zip(op->getOperands(), m.operands)) {
      SmallVector<OpFoldResult> shape =
          tensor::getMixedSizes(b, loc, operand), tOff, tSize;
      tileOf(b, loc, dims, shape, offsets, sizes, extents, m.groupLoop, tOff,
             tSize);
      auto slice = tensor::ExtractSliceOp::create(
          b, loc, operand, tOff, tSize,
          SmallVector<OpFoldResult>(dims.size(), b.getIndexAttr(1)));
      operands.push_back(slice);
      slices.push_back(slice);
    }
    SmallVector<Type> resultTypes;
    for (unsigned r = 0; r < op->getNumResults(); ++r) {
      SmallVector<OpFoldResult> rOff, rSize;
      if (failed(getResultTilePosition(op, b, r, offsets, sizes, rOff, rSize)))
        return failure();
      SmallVector<int64_t> shape;
      SmallVector<Value> dynamic;
      dispatchIndexOpFoldResults(rSize, dynamic, shape);
      resultTypes.push_back(RankedTensorType::get(
          shape, cast<RankedTensorType>(op->getResult(r).getType())
                     .getElementType()));
    }
    Operation *tiled = mlir::clone(b, op, resultTypes, operands);
    return TilingResult{{tiled},
                        SmallVector<Value>(tiled->getResults()),
                        slices};
  }

  LogicalResult
  getResultTilePosition(Operation *op, OpBuilder &b, unsigned resultNumber,
                        ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes,
                        SmallVector<OpFoldResult> &resultOffsets,
                        SmallVector<OpFoldResult> &resultSizes) const {
    LaneMap m = laneMap(cast<OpTy>(op));
    Location loc = op->getLoc();
    SmallVector<OpFoldResult> shape;
    if (failed(resultShape(op, b, resultNumber, shape)))
      return failure();
    tileOf(b, loc, m.results[resultNumber], shape, offsets, sizes,
           loopExtents(b, op, m), m.groupLoop, resultOffsets, resultSizes);
    return success();
  }

  /// The sizes of result `r`, from the operands.
  static LogicalResult resultShape(Operation *op, OpBuilder &b, unsigned r,
                                   SmallVectorImpl<OpFoldResult> &shape) {
    ReifiedRankedShapedTypeDims dims;
    if (failed(reifyResultShapes(b, op, dims)))
      return failure();
    shape.assign(dims[r].begin(), dims[r].end());
    return success();
  }
};

/// Result shapes from the operands' shapes: what upstream's tiling driver
/// needs to create destination tensors for ops that are not in destination
/// passing style.
template <typename OpTy>
struct LaneShapes
    : public ReifyRankedShapedTypeOpInterface::ExternalModel<LaneShapes<OpTy>,
                                                            OpTy> {
  LogicalResult
  reifyResultShapes(Operation *op, OpBuilder &b,
                    ReifiedRankedShapedTypeDims &reified) const {
    Location loc = op->getLoc();
    auto sizes = [&](Value v) { return tensor::getMixedSizes(b, loc, v); };
    auto opTy = cast<OpTy>(op);
    if constexpr (std::is_same_v<OpTy, SelectiveScanOp>) {
      reified.push_back(sizes(opTy.getU()));
      if (opTy.getLastState()) {
        bool tm = opTy.isTokenMajor();
        reified.push_back({tensor::getMixedSize(b, loc, opTy.getU(), 0),
                           tensor::getMixedSize(b, loc, opTy.getU(), tm ? 2 : 1),
                           tensor::getMixedSize(b, loc, opTy.getA(), 1)});
      }
    } else if constexpr (std::is_same_v<OpTy, ScanOp>) {
      SmallVector<OpFoldResult> full = sizes(opTy.getA());
      if (opTy.getLastOnly())
        full.erase(full.begin() + opTy.getDim());
      reified.push_back(full);
    } else {
      reified.push_back(sizes(opTy.getX()));
      if (opTy.getFinalState()) {
        bool tm = opTy.isTokenMajor();
        OpFoldResult k = tensor::getMixedSize(b, loc, opTy.getWeight(), 1);
        OpFoldResult km1 =
            getConstantIntValue(k)
                ? OpFoldResult(b.getIndexAttr(*getConstantIntValue(k) - 1))
                : OpFoldResult(arith::SubIOp::create(
                                   b, loc, getValueOrCreateConstantIndexOp(b, loc, k),
                                   arith::ConstantIndexOp::create(b, loc, 1))
                                   .getResult());
        reified.push_back({tensor::getMixedSize(b, loc, opTy.getX(), 0),
                           tensor::getMixedSize(b, loc, opTy.getX(), tm ? 2 : 1),
                           km1});
      }
    }
    return success();
  }
};

} // namespace

void mlir::ssm::registerTilingInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SSMDialect *) {
    SelectiveScanOp::attachInterface<LaneTiling<SelectiveScanOp>,
                                     LaneShapes<SelectiveScanOp>>(*ctx);
    ScanOp::attachInterface<LaneTiling<ScanOp>, LaneShapes<ScanOp>>(*ctx);
    CausalConv1dOp::attachInterface<LaneTiling<CausalConv1dOp>,
                                    LaneShapes<CausalConv1dOp>>(*ctx);
  });
}
