//===- Context.cpp - the runner's dialect registry ------------------------===//
//
// Kept apart from Jit.cpp: InitAllDialects.h and friends are the slowest
// headers to compile, and this is the only runtime file that needs them.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Runtime/Jit.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::ssm::registerRunnerDialects(mlir::DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::ssm::SSMDialect>();
}

std::unique_ptr<mlir::MLIRContext> mlir::ssm::createRunnerContext() {
  mlir::DialectRegistry registry;
  registerRunnerDialects(registry);
  return std::make_unique<mlir::MLIRContext>(registry);
}
