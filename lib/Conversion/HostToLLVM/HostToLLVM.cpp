//===- HostToLLVM.cpp - the host's code to LLVM in one conversion ---------===//
//
// See the pass description in Passes.td. The patterns are upstream's; what
// is ours is that they share one conversion, so that the module is walked
// and legalised once rather than once per source dialect.
//
//===----------------------------------------------------------------------===//

#include "ssm/Conversion/Passes.h"

#include "mlir/Analysis/DataLayoutAnalysis.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ComplexToLLVM/ComplexToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/LoweringOptions.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMHOSTTOLLVM
#include "ssm/Conversion/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;

namespace {

struct SSMHostToLLVMPass : ssm::impl::SSMHostToLLVMBase<SSMHostToLLVMPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    // The options each upstream pass would build: the module's data layout
    // (index width), malloc/free or the generic allocation functions.
    const auto &dataLayout = getAnalysis<DataLayoutAnalysis>();
    LowerToLLVMOptions options(context, dataLayout.getAtOrAbove(module));
    options.useGenericFunctions = runtimeAllocator;
    LLVMTypeConverter converter(context, options, &dataLayout);

    // The functions the patterns declare (malloc, free, abort, ...) go into
    // the module's symbol table once, found through this collection.
    SymbolTableCollection symbolTables;
    RewritePatternSet patterns(context);
    // convert-arith-to-llvm expands ceildiv/floordiv (no LLVM instruction)
    // into arith ops that the same conversion then lowers.
    arith::populateCeilFloorDivExpandOpsPatterns(patterns);
    arith::populateArithToLLVMConversionPatterns(converter, patterns);
    populateComplexToLLVMConversionPatterns(converter, patterns);
    index::populateIndexToLLVMConversionPatterns(converter, patterns);
    populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns,
                                                   &symbolTables);
    populateFuncToLLVMConversionPatterns(converter, patterns, &symbolTables);
    cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
    cf::populateAssertToLLVMConversionPattern(
        converter, patterns, /*abortOnFailure=*/true, &symbolTables);
    ub::populateUBToLLVMConversionPatterns(converter, patterns);
    populateOpenMPToLLVMConversionPatterns(converter, patterns);

    LLVMConversionTarget target(*context);
    // OpenMP ops stay (the translation to LLVM IR lowers them to libomp
    // calls) once their operands and region arguments are LLVM types.
    configureOpenMPToLLVMConversionLegality(target, converter);
    target.addLegalOp<omp::BarrierOp, omp::FlushOp, omp::TaskwaitOp,
                      omp::TaskyieldOp, omp::TerminatorOp>();
    // What the patterns cover must be gone afterwards: an op they leave
    // (none of the upstream passes says so) fails here, at its location,
    // rather than as an unrealized cast in the translation to LLVM IR.
    target.addIllegalDialect<arith::ArithDialect, complex::ComplexDialect,
                             index::IndexDialect, memref::MemRefDialect,
                             func::FuncDialect, cf::ControlFlowDialect,
                             ub::UBDialect>();
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
