//===- ObjectCompilerTest.cpp - ObjectCompiler's cut and objects ---------===//
//
// compileToObjects on a module of independent functions, a call cluster and
// function pointers (as a lowered program's parallel-loop bodies are
// reached): the cut keeps a function and its direct callees in one object,
// the objects are the same bytes whatever the thread count, and linked
// together they compute what the module says. Small modules stay whole.
// The JIT's programs (every lit and Python test) run through the same path.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/ObjectCompiler.h"

#include "llvm/AsmParser/Parser.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include "gtest/gtest.h"

#include <string>

using namespace mlir::ssm;

namespace {

constexpr int kFunctions = 6;
constexpr int kAdds = 1500;

/// f<k>(x) = x + kAdds * (k + 1), as a chain of kAdds adds; @helper(x) =
/// 2x, internal, called directly by @sum only; @sum(x) = helper(x) + the
/// f<k>(x), each called through a pointer loaded from a table on the
/// stack.
std::string moduleText() {
  std::string s;
  for (int k = 0; k < kFunctions; ++k) {
    s += "define internal i64 @f" + std::to_string(k) + "(i64 %x) {\n";
    std::string prev = "%x";
    for (int i = 0; i < kAdds; ++i) {
      std::string v = "%v" + std::to_string(i);
      s +=
          "  " + v + " = add i64 " + prev + ", " + std::to_string(k + 1) + "\n";
      prev = v;
    }
    s += "  ret i64 " + prev + "\n}\n";
  }
  s += "define internal i64 @helper(i64 %x) {\n  %y = mul i64 %x, 2\n  ret "
       "i64 %y\n}\n";
  s += "define i64 @sum(i64 %x) {\n";
  s += "  %table = alloca [" + std::to_string(kFunctions) + " x ptr]\n";
  for (int k = 0; k < kFunctions; ++k)
    s += "  %p" + std::to_string(k) + " = getelementptr ptr, ptr %table, i64 " +
         std::to_string(k) + "\n  store volatile ptr @f" + std::to_string(k) +
         ", ptr %p" + std::to_string(k) + "\n";
  s += "  %acc0 = call i64 @helper(i64 %x)\n";
  for (int k = 0; k < kFunctions; ++k) {
    std::string ks = std::to_string(k), next = std::to_string(k + 1);
    s += "  %q" + ks + " = getelementptr ptr, ptr %table, i64 " + ks +
         "\n  %fp" + ks + " = load volatile ptr, ptr %q" + ks + "\n  %r" + ks +
         " = call i64 %fp" + ks + "(i64 %x)\n  %acc" + next +
         " = add i64 %acc" + ks + ", %r" + ks + "\n";
  }
  s += "  ret i64 %acc" + std::to_string(kFunctions) + "\n}\n";
  return s;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> hostMachine() {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  return builder->createTargetMachine();
}

std::unique_ptr<llvm::Module> parse(llvm::LLVMContext &ctx,
                                    const std::string &text) {
  llvm::SMDiagnostic diag;
  auto module = llvm::parseAssemblyString(text, diag, ctx);
  EXPECT_TRUE(module) << diag.getMessage().str();
  auto tm = hostMachine();
  EXPECT_TRUE(static_cast<bool>(tm));
  if (module && tm) {
    module->setDataLayout((*tm)->createDataLayout());
    module->setTargetTriple((*tm)->getTargetTriple());
  }
  return module;
}

llvm::SmallVector<std::unique_ptr<llvm::MemoryBuffer>>
compile(const std::string &text, unsigned threads) {
  llvm::LLVMContext ctx;
  auto objects = compileToObjects(parse(ctx, text), 3, hostMachine, threads);
  EXPECT_TRUE(static_cast<bool>(objects))
      << llvm::toString(objects.takeError());
  return objects ? std::move(*objects)
                 : llvm::SmallVector<std::unique_ptr<llvm::MemoryBuffer>>();
}

/// The object (index) that defines `name`, and whether as a local symbol;
/// -1 when none does.
std::pair<int, bool>
definedIn(llvm::ArrayRef<std::unique_ptr<llvm::MemoryBuffer>> objects,
          llvm::StringRef name) {
  for (auto [i, object] : llvm::enumerate(objects)) {
    auto file = llvm::object::ObjectFile::createObjectFile(*object);
    if (!file) {
      llvm::consumeError(file.takeError());
      continue;
    }
    for (const llvm::object::SymbolRef &sym : (*file)->symbols()) {
      auto symName = sym.getName();
      auto flags = sym.getFlags();
      if (!symName || !flags) {
        llvm::consumeError(symName.takeError());
        llvm::consumeError(flags.takeError());
        continue;
      }
      if (*symName == name && !(*flags & llvm::object::SymbolRef::SF_Undefined))
        return {static_cast<int>(i),
                !(*flags & llvm::object::SymbolRef::SF_Global)};
    }
  }
  return {-1, false};
}

TEST(ObjectCompilerTest, CutsWholeClustersAndBalances) {
  llvm::LLVMContext ctx;
  auto module = parse(ctx, moduleText());
  ASSERT_TRUE(module);
  llvm::SmallVector<size_t> sizes = partitionSizes(*module);
  // Six f<k> of kAdds + 1 instructions; @helper's 2; @sum's alloca, call
  // of @helper and ret, 2 per table entry and 4 per indirect call: 9047
  // instructions, cut in three (at least 2500 each).
  ASSERT_EQ(sizes.size(), 3u);
  size_t total = 0;
  for (size_t s : sizes)
    total += s;
  EXPECT_EQ(total, static_cast<size_t>(kFunctions * (kAdds + 1) + 2 + 3 +
                                       kFunctions * (2 + 4)));
  for (size_t s : sizes)
    EXPECT_GE(s, 2u * (kAdds + 1));

  auto objects = compile(moduleText(), 2);
  ASSERT_EQ(objects.size(), 3u);
  // @helper is called directly by @sum only: it stays beside it, local.
  auto [sumIn, sumLocal] = definedIn(objects, "sum");
  auto [helperIn, helperLocal] = definedIn(objects, "helper");
  ASSERT_GE(sumIn, 0);
  EXPECT_FALSE(sumLocal);
  if (helperIn >= 0) { // (the inliner may have folded it into @sum)
    EXPECT_EQ(helperIn, sumIn);
    EXPECT_TRUE(helperLocal);
  }
  // Each f<k> is defined once, global where @sum's object is another.
  for (int k = 0; k < kFunctions; ++k) {
    auto [in, local] = definedIn(objects, "f" + std::to_string(k));
    ASSERT_GE(in, 0) << "f" << k;
    if (in != sumIn)
      EXPECT_FALSE(local) << "f" << k;
  }
}

TEST(ObjectCompilerTest, SameBytesOnAnyThreadCount) {
  auto one = compile(moduleText(), 1);
  auto four = compile(moduleText(), 4);
  ASSERT_EQ(one.size(), four.size());
  for (size_t i = 0; i < one.size(); ++i)
    EXPECT_EQ(one[i]->getBuffer(), four[i]->getBuffer()) << "object " << i;
}

TEST(ObjectCompilerTest, LinkedObjectsComputeTheModule) {
  auto objects = compile(moduleText(), 2);
  ASSERT_GT(objects.size(), 1u);
  auto jit = llvm::orc::LLJITBuilder().create();
  ASSERT_TRUE(static_cast<bool>(jit)) << llvm::toString(jit.takeError());
  for (auto &object : objects)
    ASSERT_FALSE(static_cast<bool>((*jit)->addObjectFile(std::move(object))));
  auto sum = (*jit)->lookup("sum");
  ASSERT_TRUE(static_cast<bool>(sum)) << llvm::toString(sum.takeError());
  auto *fn = sum->toPtr<int64_t (*)(int64_t)>();
  for (int64_t x : {0, 5, -7}) {
    int64_t expected = 2 * x;
    for (int k = 0; k < kFunctions; ++k)
      expected += x + int64_t(kAdds) * (k + 1);
    EXPECT_EQ(fn(x), expected) << "x = " << x;
  }
}

TEST(ObjectCompilerTest, SmallModulesStayWhole) {
  const std::string text = "define i64 @id(i64 %x) {\n  ret i64 %x\n}\n"
                           "define i64 @twice(i64 %x) {\n  %y = add i64 %x, "
                           "%x\n  ret i64 %y\n}\n";
  llvm::LLVMContext ctx;
  auto module = parse(ctx, text);
  ASSERT_TRUE(module);
  EXPECT_EQ(partitionSizes(*module).size(), 1u);
  EXPECT_EQ(compile(text, 4).size(), 1u);
}

TEST(ObjectCompilerTest, PackedWrappers) {
  llvm::LLVMContext ctx;
  auto module = parse(ctx, "define i64 @twice(i64 %x) {\n  %y = add i64 %x, "
                           "%x\n  ret i64 %y\n}\n");
  ASSERT_TRUE(module);
  llvm::Error missing = addPackedWrappers(*module, {"nope"});
  ASSERT_TRUE(static_cast<bool>(missing));
  EXPECT_NE(llvm::toString(std::move(missing)).find("no function @nope"),
            std::string::npos);
  ASSERT_FALSE(static_cast<bool>(addPackedWrappers(*module, {"twice"})));
  auto objects = compileToObjects(std::move(module), 3, hostMachine);
  ASSERT_TRUE(static_cast<bool>(objects))
      << llvm::toString(objects.takeError());
  auto jit = llvm::orc::LLJITBuilder().create();
  ASSERT_TRUE(static_cast<bool>(jit));
  for (auto &object : *objects)
    ASSERT_FALSE(static_cast<bool>((*jit)->addObjectFile(std::move(object))));
  auto wrapper = (*jit)->lookup("_mlir_twice");
  ASSERT_TRUE(static_cast<bool>(wrapper))
      << llvm::toString(wrapper.takeError());
  int64_t x = 21, result = 0;
  void *args[] = {&x, &result};
  wrapper->toPtr<void (*)(void **)>()(args);
  EXPECT_EQ(result, 42);
}

} // namespace
