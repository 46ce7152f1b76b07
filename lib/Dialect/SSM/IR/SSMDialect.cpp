//===- SSMDialect.cpp - the ssm dialect -----------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ssm;

#include "ssm/Dialect/SSM/IR/SSMOpsDialect.cpp.inc"
#include "ssm/Dialect/SSM/IR/SSMEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "ssm/Dialect/SSM/IR/SSMAttrs.cpp.inc"

void SSMDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "ssm/Dialect/SSM/IR/SSMAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "ssm/Dialect/SSM/IR/SSMOps.cpp.inc"
      >();
}
