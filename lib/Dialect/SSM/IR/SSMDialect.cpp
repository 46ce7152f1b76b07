//===- SSMDialect.cpp - the ssm dialect -----------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMDialect.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Transforms/InliningUtils.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ssm;

#include "ssm/Dialect/SSM/IR/SSMOpsDialect.cpp.inc"
#include "ssm/Dialect/SSM/IR/SSMEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "ssm/Dialect/SSM/IR/SSMAttrs.cpp.inc"

namespace {
/// Every ssm op may be inlined: they are functions of their operands (the
/// ops that update state in place do so through their results), with no
/// regions and nothing tied to the enclosing function. Whole models call a
/// layer function per layer; the GPU pipeline inlines them so that one
/// analysis sees every kernel of a forward pass.
struct SSMInlinerInterface : DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
  bool isLegalToInline(Region *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void SSMDialect::initialize() {
  addInterfaces<SSMInlinerInterface>();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "ssm/Dialect/SSM/IR/SSMAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "ssm/Dialect/SSM/IR/SSMOps.cpp.inc"
      >();
}
