//===- SSMAnalysis.cpp - what the IR proves about ssm operands ------------===//
//
// See SSMAnalysis.h.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMAnalysis.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

bool mlir::ssm::isUniformAlongStates(Value a) {
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
      // loop, with that loop parallel and the output indexed identically.
      if (gen.getNumDpsInits() != 1 || !gen.hasPureTensorSemantics() ||
          gen.getNumLoops() != type.getRank() ||
          gen.getIteratorTypesArray()[last] != utils::IteratorType::parallel ||
          !gen.getIndexingMapsArray().back().isIdentity())
        return false;
      Block &body = gen.getRegion().front();
      if (!body.getArguments().back().use_empty() ||
          !body.getOps<linalg::IndexOp>().empty())
        return false;
      for (OpOperand *in : gen.getDpsInputOperands())
        if (gen.getMatchingIndexingMap(in).isFunctionOfDim(last))
          return false;
      return true;
    }
    return false;
  }
}
