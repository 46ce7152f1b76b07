//===- ssm-opt.cpp - mlir-opt with the ssm dialect and pipelines ----------===//

#include "ssm/Conversion/Passes.h"
#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Dialect/SSM/Transforms/Passes.h"
#include "ssm/Dialect/SSM/Transforms/TilingInterfaceImpl.h"
#include "ssm/Pipelines/Pipelines.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::ssm::registerSSMConversionPasses();
  mlir::ssm::registerSSMTransformsPasses();
  mlir::ssm::registerSSMPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllGPUToLLVMIRTranslations(registry);
  registry.insert<mlir::ssm::SSMDialect>();
  mlir::ssm::registerTilingInterfaceExternalModels(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "ssm-mlir optimizer driver\n", registry));
}
