//===- HostToLLVM.cpp - the host's code to LLVM in one conversion ---------===//
//
// See the pass description in Passes.td. The patterns are upstream's; what
// is ours is that they share one conversion, so that the module is walked
// and legalised once rather than once per source dialect, and the lowering
// of cf.assert (the run-time checks of ssm-runtime-verification), which
// calls the runtime rather than abort().
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
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Index/IR/IndexDialect.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
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

/// cf.assert as a call of the runtime's ssm_runtime_check_failed(message)
/// where the condition is false. Upstream's lowering calls abort(), which
/// would end a Python session as well; the runtime instead abandons the
/// call with the message as its error (docs/runtime-checks.md).
struct AssertToRuntimeCall : ConvertOpToLLVMPattern<cf::AssertOp> {
  AssertToRuntimeCall(const LLVMTypeConverter &converter,
                      SymbolTableCollection &symbolTables)
      : ConvertOpToLLVMPattern(converter, /*benefit=*/2),
        symbolTables(symbolTables) {}

  LogicalResult
  matchAndRewrite(cf::AssertOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto module = op->getParentOfType<ModuleOp>();
    auto ptr = LLVM::LLVMPointerType::get(rewriter.getContext());
    FailureOr<LLVM::LLVMFuncOp> fail = LLVM::lookupOrCreateFn(
        rewriter, module, "ssm_runtime_check_failed", {ptr},
        LLVM::LLVMVoidType::get(rewriter.getContext()), /*isVarArg=*/false,
        /*isReserved=*/false, &symbolTables);
    if (failed(fail))
      return rewriter.notifyMatchFailure(op, "ssm_runtime_check_failed is "
                                             "declared with another type");

    Block *before = rewriter.getInsertionBlock();
    Block *after = rewriter.splitBlock(before, rewriter.getInsertionPoint());
    Block *failure = rewriter.createBlock(after);
    // The message as a NUL-terminated constant with a name of its own.
    SymbolTable &table = symbolTables.getSymbolTable(module);
    std::string name;
    while (name.empty() || table.lookup(name))
      name = "ssm_check_message_" + std::to_string(nextMessage++);
    Value message = LLVM::createGlobalString(loc, rewriter, name,
                                             (op.getMsg() + Twine('\0')).str(),
                                             LLVM::Linkage::Internal);
    if (auto global = module.lookupSymbol<LLVM::GlobalOp>(name))
      table.insert(global);
    LLVM::CallOp::create(rewriter, loc, *fail, ValueRange{message});
    LLVM::UnreachableOp::create(rewriter, loc);

    rewriter.setInsertionPointToEnd(before);
    rewriter.replaceOpWithNewOp<LLVM::CondBrOp>(op, adaptor.getArg(), after,
                                                failure);
    return success();
  }

  SymbolTableCollection &symbolTables;
  /// The number the next message's name tries (the pattern is const).
  mutable unsigned nextMessage = 0;
};

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
    patterns.add<AssertToRuntimeCall>(converter, symbolTables);
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
