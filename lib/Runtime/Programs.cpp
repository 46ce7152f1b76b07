//===- Programs.cpp - ssm programs built for the runner -------------------===//

#include "ssm/Runtime/Programs.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::ssm::buildSelectiveScanModule(MLIRContext &ctx, const SelectiveScanSpec &spec) {
  ctx.loadDialect<func::FuncDialect, ssm::SSMDialect>();
  OpBuilder b(&ctx);
  Location loc = NameLoc::get(b.getStringAttr("selective_scan"));
  Type elt = spec.f64 ? b.getF64Type() : b.getF32Type();
  auto tensor = [&](llvm::ArrayRef<int64_t> shape) -> Type {
    return RankedTensorType::get(shape, elt);
  };

  SmallVector<Type> argTypes = {tensor(spec.u), tensor(spec.delta),
                                tensor(spec.A), tensor(spec.B), tensor(spec.C)};
  for (const auto *opt : {&spec.D, &spec.z, &spec.deltaBias, &spec.h0})
    if (*opt)
      argTypes.push_back(tensor(**opt));
  // y has the shape of u; the last state is (b, d, n). If u or A has the
  // wrong rank the verifier reports it; the result types only need a rank.
  SmallVector<Type> resultTypes = {tensor(spec.u)};
  if (spec.returnLastState) {
    int64_t n = spec.A.size() == 2 ? spec.A[1] : ShapedType::kDynamic;
    int64_t bDim = spec.u.size() == 3 ? spec.u[0] : ShapedType::kDynamic;
    int64_t dDim = spec.u.size() == 3 ? spec.u[1] : ShapedType::kDynamic;
    resultTypes.push_back(tensor({bDim, dDim, n}));
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(b, loc, kSelectiveScanFunc,
                                   b.getFunctionType(argTypes, resultTypes));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  unsigned next = 5;
  auto optional = [&](const auto &shape) -> Value {
    return shape ? body->getArgument(next++) : Value();
  };
  Value D = optional(spec.D), z = optional(spec.z),
        bias = optional(spec.deltaBias), h0 = optional(spec.h0);
  Type lastType = spec.returnLastState ? resultTypes[1] : Type();
  auto scan = SelectiveScanOp::create(
      b, loc, resultTypes[0], lastType, Layout::channel_first,
      body->getArgument(0), body->getArgument(1), body->getArgument(2),
      body->getArgument(3), body->getArgument(4), D, z, bias, h0,
      spec.deltaSoftplus);
  func::ReturnOp::create(b, loc, scan->getResults());

  std::string message;
  {
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &diag) {
      if (diag.getSeverity() == DiagnosticSeverity::Error && message.empty())
        message = diag.str();
      return success();
    });
    if (succeeded(verify(*module)))
      return module;
  }
  return llvm::createStringError("%s", message.c_str());
}
