//===- DropEquivalentResults.cpp - private results updated in place ------===//
//
// ssm-drop-equivalent-results: after bufferization, a private function's
// result that is one of its own arguments is erased, and each call uses the
// operand it passed. A layer function that updates the model's state stacks
// in place returns them (tensor semantics need the results); left as they
// are, the buffer deallocation pipeline clones every such result, because a
// function owns no argument. Upstream's drop-equivalent-buffer-results
// rewrites every public function, which changes what a C caller calls,
// hence this pass; with public-functions (the JIT runner's choice) public
// functions lose such results too and say which in ssm.in_place_results.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/BitVector.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMDROPEQUIVALENTRESULTS
#include "ssm/Dialect/SSM/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// For each result of `func`, the argument it is (through memref.cast), or
/// -1. Empty when the function is not a single block ending in func.return.
SmallVector<int64_t> argumentsReturned(func::FuncOp func) {
  if (!func.getBody().hasOneBlock())
    return {};
  auto ret = dyn_cast<func::ReturnOp>(func.getBody().front().getTerminator());
  if (!ret)
    return {};
  SmallVector<int64_t> argOf;
  for (Value v : ret.getOperands()) {
    while (auto cast = v.getDefiningOp<memref::CastOp>())
      v = cast.getSource();
    auto arg = dyn_cast<BlockArgument>(v);
    argOf.push_back(arg && arg.getOwner() == &func.getBody().front()
                        ? static_cast<int64_t>(arg.getArgNumber())
                        : int64_t(-1));
  }
  return argOf;
}

/// The attribute a public function that lost results carries: for each
/// result it had, the argument that result was, or -1.
constexpr llvm::StringLiteral kInPlaceResults = "ssm.in_place_results";

struct SSMDropEquivalentResultsPass
    : ssm::impl::SSMDropEquivalentResultsBase<SSMDropEquivalentResultsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The attribute is this pass's word on what became of the results: one
    // the input carried (written by hand, or left by an earlier run) would
    // tell a caller to read results the function still returns.
    if (publicFunctions)
      for (func::FuncOp func : module.getOps<func::FuncOp>())
        func->removeAttr(kInPlaceResults);
    for (func::FuncOp func :
         llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (func.isExternal() || func.isNested() ||
          (func.isPublic() && !publicFunctions))
        continue;
      SmallVector<int64_t> argOf = argumentsReturned(func);
      if (llvm::all_of(argOf, [](int64_t a) { return a < 0; }))
        continue;
      // Every use of the symbol must be a call we can rewrite.
      SmallVector<func::CallOp> calls;
      std::optional<SymbolTable::UseRange> uses =
          SymbolTable::getSymbolUses(func, module);
      if (!uses)
        continue;
      bool onlyCalls = true;
      for (const SymbolTable::SymbolUse &use : *uses) {
        auto call = dyn_cast<func::CallOp>(use.getUser());
        onlyCalls &= call != nullptr;
        if (call)
          calls.push_back(call);
      }
      if (!onlyCalls)
        continue;

      llvm::BitVector erased(argOf.size());
      for (auto [i, a] : llvm::enumerate(argOf))
        if (a >= 0)
          erased.set(i);
      auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
      SmallVector<Value> kept;
      for (auto [i, v] : llvm::enumerate(ret.getOperands()))
        if (!erased.test(i))
          kept.push_back(v);
      ret.getOperandsMutable().assign(kept);
      if (failed(func.eraseResults(erased)))
        return signalPassFailure();
      // A caller outside the module needs to know what became of them.
      if (func.isPublic())
        func->setAttr(kInPlaceResults,
                      DenseI64ArrayAttr::get(&getContext(), argOf));

      OpBuilder b(&getContext());
      for (func::CallOp call : calls) {
        b.setInsertionPoint(call);
        auto replacement = func::CallOp::create(b, call.getLoc(), func,
                                                call.getOperands());
        replacement->setDiscardableAttrs(
            call->getDiscardableAttrDictionary());
        SmallVector<Value> results;
        unsigned next = 0;
        for (auto [i, old] : llvm::enumerate(call.getResults())) {
          if (!erased.test(i)) {
            results.push_back(replacement.getResult(next++));
            continue;
          }
          Value operand = call.getOperand(argOf[i]);
          if (operand.getType() != old.getType())
            operand = memref::CastOp::create(b, call.getLoc(), old.getType(),
                                             operand);
          results.push_back(operand);
        }
        call.replaceAllUsesWith(results);
        call.erase();
      }
    }
  }
};

} // namespace
