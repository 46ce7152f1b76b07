//===- NVPTXProgramsTest.cpp - the task programs through --ssm-to-nvptx ---===//
//
// `ssm-run task --target nvptx` compiles the same builders as on the CPU
// (mixer stacks of the three mixers, the S4D layer, P2's scan readout and
// linear-attention stack, all with dynamic batch and length) through
// --ssm-to-nvptx. Running them needs a GPU; lowering them to PTX does not,
// so this checks, on any machine, that every one of them lowers, and that
// the mixers' scans and convs become kernels (a stack does not return the
// convs' final states, so their kernels are dropped).
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/Jit.h"
#include "ssm/Runtime/Programs.h"

#include "mlir/IR/MLIRContext.h"

#include "gtest/gtest.h"

using namespace mlir::ssm;

namespace {

constexpr int64_t kDyn = mlir::ShapedType::kDynamic;

/// The PTX of the module `build` makes (empty when it has no kernels).
std::string
ptxOf(llvm::function_ref<
      llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>(mlir::MLIRContext &)>
          build) {
  auto ctx = createRunnerContext();
  auto module = build(*ctx);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return "";
  }
  auto ptx = emitPTX(**module, JitOptions());
  if (!ptx) {
    ADD_FAILURE() << llvm::toString(ptx.takeError());
    return "";
  }
  return *ptx;
}

/// The kernels of `ptx` (emitPTX's text: one `// gpu.binary` header per
/// kernel module): how many, and how many scan with warp shuffles.
struct Kernels {
  size_t total = 0, scans = 0;
};
Kernels kernelsOf(llvm::StringRef ptx) {
  Kernels k;
  llvm::SmallVector<llvm::StringRef> modules;
  ptx.split(modules, "// gpu.binary");
  for (llvm::StringRef m : modules) {
    k.total += m.count(".entry ");
    k.scans += m.contains(".entry ") && m.contains("shfl.sync.up");
  }
  return k;
}

/// Two identical layers of `mixer` at task-like sizes (odd widths, d_state
/// 1 and 16): a scan and a conv kernel each, which ssm-gpu-dedup-kernels
/// merges into one scan and one conv kernel for both.
Kernels mixerStackKernels(MixerKind mixer) {
  MambaConfig cfg;
  cfg.mixer = mixer;
  cfg.dModel = 17;
  cfg.dInner = 20;
  cfg.dState = mixer == MixerKind::S4D ? 1 : 16;
  cfg.dConv = 4;
  cfg.dtRank = 1;
  cfg.nHeads = 5;
  cfg.headDim = 4;
  MambaConfig layers[] = {cfg, cfg};
  std::string ptx = ptxOf([&](mlir::MLIRContext &ctx) {
    return buildMambaStackModule(ctx, layers, /*residual=*/true, kDyn, kDyn);
  });
  return kernelsOf(ptx);
}

TEST(NVPTXTaskPrograms, Mamba1StackHasScanAndConvKernels) {
  Kernels k = mixerStackKernels(MixerKind::Mamba1);
  EXPECT_EQ(k.scans, 1u);
  EXPECT_EQ(k.total, 2u);
}

TEST(NVPTXTaskPrograms, Mamba2StackHasScanAndConvKernels) {
  Kernels k = mixerStackKernels(MixerKind::Mamba2);
  EXPECT_EQ(k.scans, 1u);
  EXPECT_EQ(k.total, 2u);
}

TEST(NVPTXTaskPrograms, S4DStackHasScanAndConvKernels) {
  // S4D-Real's ssm.s4d is a selective scan with a constant step by the
  // time it reaches the GPU lowering.
  Kernels k = mixerStackKernels(MixerKind::S4D);
  EXPECT_EQ(k.scans, 1u);
  EXPECT_EQ(k.total, 2u);
}

TEST(NVPTXTaskPrograms, HostOnlyProgramsLower) {
  // Ops without a GPU lowering run on the host: these lower without a
  // kernel (ptxOf reports any failure).
  ptxOf([](mlir::MLIRContext &ctx) {
    return buildS4DModule(ctx, 16, 1, /*complex=*/false, kDyn, kDyn);
  });
  ptxOf([](mlir::MLIRContext &ctx) {
    return buildS4DModule(ctx, 8, 4, /*complex=*/true, 1, 64);
  });
  ptxOf([](mlir::MLIRContext &ctx) {
    return buildScanReadoutModule(ctx, kDyn, 9, 3, 1);
  });
  ptxOf([](mlir::MLIRContext &ctx) {
    return buildLinearAttentionStackModule(ctx, 2, 9, 1, kDyn, 8);
  });
}

} // namespace
