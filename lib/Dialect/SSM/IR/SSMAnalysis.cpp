//===- SSMAnalysis.cpp - what the IR proves about ssm operands ------------===//
//
// See SSMAnalysis.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMAnalysis.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

/// The depth of producers isUniformAlongStates follows through elementwise
/// generics (each level may branch over the generic's inputs).
static constexpr int kMaxUniformDepth = 8;

/// True when `map`, an input's indexing map in a generic of `loops` loops
/// whose last loop is the state dimension, reads along that loop: then the
/// input must be uniform itself, and indexed exactly as the output.
static bool readsAlongLast(AffineMap map, unsigned loops) {
  return map.isFunctionOfDim(loops - 1);
}

static bool isUniform(Value a, int depth) {
  while (true) {
    auto type = dyn_cast<RankedTensorType>(a.getType());
    if (!type || type.getRank() < 2)
      return false;
    int64_t last = type.getRank() - 1;
    if (type.getDimSize(last) == 1)
      return true;
    Operation *def = a.getDefiningOp();
    if (!def)
      return false;
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
      if (slice.getSourceType().getRank() != type.getRank())
        return false;
      a = slice.getSource();
      continue;
    }
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def)) {
      // The last result dimension must be exactly the last source one.
      SmallVector<ReassociationIndices> groups =
          collapse.getReassociationIndices();
      if (groups.back().size() != 1 ||
          groups.back().front() != collapse.getSrcType().getRank() - 1)
        return false;
      a = collapse.getSrc();
      continue;
    }
    if (auto cst = dyn_cast<arith::ConstantOp>(def)) {
      auto dense = dyn_cast<DenseElementsAttr>(cst.getValue());
      if (!dense)
        return false;
      if (dense.isSplat())
        return true;
      int64_t row = type.getDimSize(last);
      auto values = llvm::to_vector(dense.getValues<Attribute>());
      for (size_t i = 0; i < values.size(); ++i)
        if (values[i] != values[i - i % row])
          return false;
      return true;
    }
    if (auto bcast = dyn_cast<linalg::BroadcastOp>(def))
      return llvm::is_contained(bcast.getDimensions(), last);
    if (auto gen = dyn_cast<linalg::GenericOp>(def)) {
      // Every output element a function of inputs that ignore the last
      // loop, or that read it through the output's own indexing and are
      // uniform themselves (-exp(A_log) on a broadcast A_log), with that
      // loop parallel and the output indexed identically.
      if (gen.getNumDpsInits() != 1 || !gen.hasPureTensorSemantics() ||
          gen.getNumLoops() != type.getRank() ||
          gen.getIteratorTypesArray()[last] != utils::IteratorType::parallel ||
          !gen.getIndexingMapsArray().back().isIdentity())
        return false;
      Block &body = gen.getRegion().front();
      if (!body.getArguments().back().use_empty() ||
          !body.getOps<linalg::IndexOp>().empty())
        return false;
      for (OpOperand *in : gen.getDpsInputOperands()) {
        AffineMap map = gen.getMatchingIndexingMap(in);
        if (!readsAlongLast(map, gen.getNumLoops()))
          continue;
        if (!map.isIdentity() || depth >= kMaxUniformDepth ||
            !isUniform(in->get(), depth + 1))
          return false;
      }
      return true;
    }
    return false;
  }
}

bool mlir::ssm::isUniformAlongStates(Value a) { return isUniform(a, 0); }

/// narrowUniformAlongStates on an `a` already known to be uniform: each
/// level rebuilds its op on what the level below returns.
static Value narrowUniform(OpBuilder &b, Value a) {
  auto type = cast<RankedTensorType>(a.getType());
  int64_t last = type.getRank() - 1;
  if (type.getDimSize(last) == 1)
    return a;
  Location loc = a.getLoc();
  Operation *def = a.getDefiningOp();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(def);
  // `t`'s shape with a last dimension of 1.
  auto narrowType = [&](RankedTensorType t) {
    SmallVector<int64_t> shape(t.getShape());
    shape.back() = 1;
    return RankedTensorType::get(shape, t.getElementType());
  };
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
    // Any column of the source serves: the first.
    Value src = narrowUniform(b, slice.getSource());
    SmallVector<OpFoldResult> offsets = slice.getMixedOffsets(),
                              sizes = slice.getMixedSizes(),
                              strides = slice.getMixedStrides();
    offsets.back() = b.getIndexAttr(0);
    sizes.back() = b.getIndexAttr(1);
    strides.back() = b.getIndexAttr(1);
    return tensor::ExtractSliceOp::create(b, loc, narrowType(type), src,
                                          offsets, sizes, strides);
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def)) {
    Value src = narrowUniform(b, collapse.getSrc());
    return tensor::CollapseShapeOp::create(b, loc, narrowType(type), src,
                                           collapse.getReassociationIndices());
  }
  if (auto cst = dyn_cast<arith::ConstantOp>(def)) {
    auto dense = cast<DenseElementsAttr>(cst.getValue());
    auto narrow = narrowType(type);
    if (dense.isSplat())
      return arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(narrow, dense.getSplatValue<Attribute>()));
    int64_t row = type.getDimSize(last);
    auto values = llvm::to_vector(dense.getValues<Attribute>());
    SmallVector<Attribute> column;
    for (size_t i = 0; i < values.size(); i += row)
      column.push_back(values[i]);
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(narrow, column));
  }
  // A generic or broadcast: the same op on an init with one column (its
  // values are not read: the generic's body ignores its output element, a
  // broadcast overwrites it).
  // Sizes from the old init, not from `a`, which would keep the wide op.
  Value oldInit = cast<DestinationStyleOpInterface>(def).getDpsInits()[0];
  SmallVector<Value> dynamic;
  for (int64_t i = 0; i < last; ++i)
    if (type.isDynamicDim(i))
      dynamic.push_back(tensor::DimOp::create(b, loc, oldInit, i));
  Value init =
      tensor::EmptyOp::create(b, loc, narrowType(type), dynamic).getResult();
  if (auto bcast = dyn_cast<linalg::BroadcastOp>(def))
    return linalg::BroadcastOp::create(b, loc, bcast.getInput(), init,
                                       bcast.getDimensions())
        .getResult()
        .front();
  auto gen = cast<linalg::GenericOp>(def);
  IRMapping map;
  map.map(gen.getDpsInits()[0], init);
  // An input read along the states is uniform (isUniform): its column too.
  for (OpOperand *in : gen.getDpsInputOperands())
    if (readsAlongLast(gen.getMatchingIndexingMap(in), gen.getNumLoops()))
      map.map(in->get(), narrowUniform(b, in->get()));
  Operation *narrow = b.clone(*gen, map);
  narrow->getResult(0).setType(init.getType());
  return narrow->getResult(0);
}

Value mlir::ssm::narrowUniformAlongStates(OpBuilder &b, Value a) {
  return isUniformAlongStates(a) ? narrowUniform(b, a) : Value();
}
