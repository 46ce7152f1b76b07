//===- RuntimeVerification.cpp - run-time checks of dynamic shapes --------===//
//
// ssm-runtime-verification: each ssm op (RuntimeVerifiableOpInterface)
// emits, before itself, the checks of what its verifier could not check at
// compile time. Upstream's generate-runtime-verification pass calls the
// same interface; this one exists for the message, which it writes as a
// diagnostic would ("file:line:col: 'ssm.linear' op ...") rather than as
// upstream's dump of the op, because a user sees it as the error of their
// program.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/Transforms/Passes.h"

#include "ssm/Dialect/SSM/IR/SSMDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/RuntimeVerifiableOpInterface.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMRUNTIMEVERIFICATION
#include "ssm/Dialect/SSM/Transforms/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

/// "file:line:col" for a file location (the first one a fused or named
/// location holds), "unknown location" for none (a program built in
/// memory), else the location as MLIR prints it.
std::string describe(Location loc) {
  FileLineColLoc file;
  loc->walk([&](Location inner) {
    if (auto f = dyn_cast<FileLineColLoc>(inner)) {
      file = f;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  std::string text;
  llvm::raw_string_ostream os(text);
  if (file)
    os << file.getFilename().getValue() << ":" << file.getLine() << ":"
       << file.getColumn();
  else if (isa<UnknownLoc>(loc))
    os << "unknown location";
  else
    os << loc;
  return text;
}

struct SSMRuntimeVerificationPass
    : ssm::impl::SSMRuntimeVerificationBase<SSMRuntimeVerificationPass> {
  void runOnOperation() override {
    // The checks are ops too: collect first, then emit. Only the ssm ops:
    // upstream's (linalg, tensor) have their own checks, in their own words,
    // which a tool that registers them would add to every program; they
    // stay upstream's generate-runtime-verification's.
    SmallVector<RuntimeVerifiableOpInterface> ops;
    getOperation()->walk([&](RuntimeVerifiableOpInterface op) {
      if (isa<ssm::SSMDialect>(op->getDialect()))
        ops.push_back(op);
    });
    OpBuilder builder(&getContext());
    for (RuntimeVerifiableOpInterface op : ops) {
      builder.setInsertionPoint(op);
      op.generateRuntimeVerification(
          builder, op.getLoc(), [](Operation *op, StringRef what) {
            return describe(op->getLoc()) + ": '" +
                   op->getName().getStringRef().str() + "' op " + what.str();
          });
    }
  }
};

} // namespace
