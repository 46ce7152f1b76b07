//===- ObjectCompiler.cpp - LLVM IR to object files, in parallel ----------===//

#include "ssm/Runtime/ObjectCompiler.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/SmallVectorMemoryBuffer.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <algorithm>
#include <mutex>
#include <numeric>

using namespace mlir::ssm;
using llvm::StringRef;

namespace {

/// A partition holds at least this many instructions. A Mamba block of
/// 20,800 instructions takes 1.2 s to optimise and compile whole, about
/// 60 us per instruction, so 2,500 instructions are ~0.15 s of work; a
/// partition's fixed costs (its clone written as bitcode, 28 ms for the
/// block's eight, then parsed, and a target machine and pass pipeline of
/// its own) stay a few percent of that.
constexpr size_t kMinPartitionInstructions = 2500;
/// At most this many partitions: enough to balance a module's largest
/// functions over the threads of the machines we run on (2-16) without
/// multiplying the fixed costs.
constexpr unsigned kMaxPartitions = 8;

size_t instructionCount(const llvm::Function &f) {
  size_t n = 0;
  for (const llvm::BasicBlock &block : f)
    n += block.size();
  return n;
}

/// The cut of a module: the partition of each defined function, and each
/// partition's instruction count.
struct Plan {
  unsigned numPartitions = 1;
  llvm::DenseMap<const llvm::Function *, unsigned> partitionOf;
  llvm::SmallVector<size_t> sizes;
};

/// Whether the module holds something the cut does not handle: then it
/// stays whole (module asm, aliases, ifuncs, appending globals such as
/// llvm.global_ctors, or a function used other than by an instruction, e.g.
/// from a global's initializer).
bool mustStayWhole(llvm::Module &module) {
  if (!module.getModuleInlineAsm().empty() || !module.alias_empty() ||
      !module.ifunc_empty())
    return true;
  for (const llvm::GlobalVariable &gv : module.globals())
    if (gv.hasAppendingLinkage())
      return true;
  for (const llvm::Function &f : module)
    if (!f.isDeclaration())
      for (const llvm::User *user : f.users())
        if (!llvm::isa<llvm::Instruction>(user))
          return true;
  return false;
}

/// Cuts `module` into partitions of whole call clusters (a function and
/// every defined function it calls directly, transitively: they stay in one
/// module, so the inliner and the interprocedural passes see the same calls
/// as in the whole module). Clusters go, largest first, to the partition
/// with the fewest instructions so far. Everything is ordered by size, then
/// by name, so the cut depends on the module alone.
Plan planPartitions(llvm::Module &module) {
  Plan plan;
  llvm::SmallVector<llvm::Function *> defined;
  for (llvm::Function &f : module)
    if (!f.isDeclaration())
      defined.push_back(&f);
  size_t total = 0;
  for (llvm::Function *f : defined)
    total += instructionCount(*f);
  auto whole = [&] {
    for (llvm::Function *f : defined)
      plan.partitionOf[f] = 0;
    plan.sizes = {total};
    return plan;
  };
  if (defined.size() < 2 || total < 2 * kMinPartitionInstructions ||
      mustStayWhole(module))
    return whole();

  llvm::EquivalenceClasses<const llvm::Function *> clusters;
  for (llvm::Function *f : defined) {
    clusters.insert(f);
    for (llvm::BasicBlock &block : *f)
      for (llvm::Instruction &inst : block)
        if (auto *call = llvm::dyn_cast<llvm::CallBase>(&inst))
          if (llvm::Function *callee = call->getCalledFunction();
              callee && !callee->isDeclaration())
            clusters.unionSets(f, callee);
  }
  struct Cluster {
    const llvm::Function *leader;
    size_t size = 0;
  };
  llvm::DenseMap<const llvm::Function *, size_t> clusterIndex;
  llvm::SmallVector<Cluster> list;
  for (llvm::Function *f : defined) {
    const llvm::Function *leader = clusters.getLeaderValue(f);
    auto [it, inserted] = clusterIndex.try_emplace(leader, list.size());
    if (inserted)
      list.push_back({leader, 0});
    list[it->second].size += instructionCount(*f);
  }
  const unsigned n = static_cast<unsigned>(std::min<size_t>(
      {list.size(), kMaxPartitions, total / kMinPartitionInstructions}));
  if (n < 2)
    return whole();

  llvm::SmallVector<size_t> order(list.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::sort(order, [&](size_t a, size_t b) {
    if (list[a].size != list[b].size)
      return list[a].size > list[b].size;
    if (list[a].leader->getName() != list[b].leader->getName())
      return list[a].leader->getName() < list[b].leader->getName();
    return a < b;
  });
  plan.numPartitions = n;
  plan.sizes.assign(n, 0);
  llvm::SmallVector<unsigned> clusterPartition(list.size());
  for (size_t c : order) {
    unsigned p = static_cast<unsigned>(
        std::min_element(plan.sizes.begin(), plan.sizes.end()) -
        plan.sizes.begin());
    clusterPartition[c] = p;
    plan.sizes[p] += list[c].size;
  }
  for (llvm::Function *f : defined)
    plan.partitionOf[f] =
        clusterPartition[clusterIndex.lookup(clusters.getLeaderValue(f))];
  return plan;
}

/// Whether every partition that uses `gv` gets its own copy (a local
/// constant whose address nothing compares), rather than partition 0
/// defining it for the others.
bool copiedPerPartition(const llvm::GlobalVariable &gv) {
  return gv.hasLocalLinkage() && gv.isConstant() && gv.hasGlobalUnnamedAddr();
}

/// Gives external linkage (and a name) to the local symbols that another
/// partition refers to, so that the JIT's linker resolves them across the
/// partitions' objects.
void externalize(llvm::Module &module, const Plan &plan) {
  unsigned unnamed = 0;
  auto makeExternal = [&](llvm::GlobalValue &gv) {
    if (!gv.hasName())
      gv.setName("__ssm_partition_symbol_" + llvm::Twine(unnamed++));
    gv.setLinkage(llvm::GlobalValue::ExternalLinkage);
    gv.setVisibility(llvm::GlobalValue::DefaultVisibility);
  };
  for (llvm::Function &f : module) {
    if (f.isDeclaration() || !f.hasLocalLinkage())
      continue;
    unsigned home = plan.partitionOf.lookup(&f);
    if (llvm::any_of(f.users(), [&](const llvm::User *user) {
          auto *inst = llvm::cast<llvm::Instruction>(user);
          return plan.partitionOf.lookup(inst->getFunction()) != home;
        }))
      makeExternal(f);
  }
  for (llvm::GlobalVariable &gv : module.globals())
    if (!gv.isDeclaration() && gv.hasLocalLinkage() && !copiedPerPartition(gv))
      makeExternal(gv);
}

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
optimizeAndEmit(llvm::Module &module, unsigned optLevel,
                llvm::TargetMachine &tm, StringRef name) {
  auto optimize =
      mlir::makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, &tm);
  if (llvm::Error err = optimize(&module))
    return std::move(err);
  llvm::SmallVector<char, 0> bytes;
  llvm::raw_svector_ostream os(bytes);
  llvm::legacy::PassManager codegen;
  if (tm.addPassesToEmitFile(codegen, os, nullptr,
                             llvm::CodeGenFileType::ObjectFile))
    return llvm::createStringError(
        "the target machine cannot emit object files");
  codegen.run(module);
  return std::make_unique<llvm::SmallVectorMemoryBuffer>(
      std::move(bytes), name, /*RequiresNullTerminator=*/false);
}

} // namespace

llvm::Error mlir::ssm::addPackedWrappers(llvm::Module &module,
                                         llvm::ArrayRef<std::string> names) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type *ptr = b.getPtrTy();
  for (const std::string &name : names) {
    llvm::Function *callee = module.getFunction(name);
    if (!callee || callee->isDeclaration())
      return llvm::createStringError(
          "the lowered program defines no function @%s", name.c_str());
    const std::string wrapperName = "_mlir_" + name;
    if (module.getNamedValue(wrapperName))
      return llvm::createStringError("the lowered program already defines @%s",
                                     wrapperName.c_str());
    auto *wrapper = llvm::Function::Create(
        llvm::FunctionType::get(b.getVoidTy(), {ptr}, /*isVarArg=*/false),
        llvm::GlobalValue::ExternalLinkage, wrapperName, module);
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    llvm::Value *slots = wrapper->getArg(0);
    // args[i] points at argument i's value; args[n] at the result's slot.
    auto slot = [&](unsigned i) {
      return b.CreateLoad(ptr, b.CreateConstGEP1_64(ptr, slots, i));
    };
    llvm::SmallVector<llvm::Value *> args;
    for (llvm::Argument &arg : callee->args())
      args.push_back(b.CreateLoad(arg.getType(), slot(arg.getArgNo())));
    llvm::CallInst *result = b.CreateCall(callee, args);
    if (!result->getType()->isVoidTy())
      b.CreateStore(result, slot(callee->arg_size()));
    b.CreateRetVoid();
  }
  return llvm::Error::success();
}

llvm::SmallVector<size_t> mlir::ssm::partitionSizes(llvm::Module &module) {
  return planPartitions(module).sizes;
}

llvm::Expected<llvm::SmallVector<std::unique_ptr<llvm::MemoryBuffer>>>
mlir::ssm::compileToObjects(std::unique_ptr<llvm::Module> module,
                            unsigned optLevel,
                            TargetMachineFactory createTargetMachine,
                            unsigned maxThreads) {
  const Plan plan = planPartitions(*module);
  const unsigned n = plan.numPartitions;
  llvm::SmallVector<std::unique_ptr<llvm::TargetMachine>> machines;
  for (unsigned p = 0; p < n; ++p) {
    auto tm = createTargetMachine();
    if (!tm)
      return tm.takeError();
    machines.push_back(std::move(*tm));
  }
  llvm::SmallVector<std::unique_ptr<llvm::MemoryBuffer>> objects(n);
  if (n == 1) {
    auto object =
        optimizeAndEmit(*module, optLevel, *machines[0], module->getName());
    if (!object)
      return object.takeError();
    objects[0] = std::move(*object);
    return objects;
  }

  // Each partition travels as bitcode to a context of its own: an
  // LLVMContext, and so a module, is used by one thread at a time.
  externalize(*module, plan);
  llvm::SmallVector<llvm::SmallVector<char, 0>> bitcode(n);
  for (unsigned p = 0; p < n; ++p) {
    llvm::ValueToValueMapTy map;
    std::unique_ptr<llvm::Module> part =
        llvm::CloneModule(*module, map, [&](const llvm::GlobalValue *gv) {
          if (auto *f = llvm::dyn_cast<llvm::Function>(gv))
            return plan.partitionOf.lookup(f) == p;
          if (auto *var = llvm::dyn_cast<llvm::GlobalVariable>(gv))
            if (copiedPerPartition(*var))
              return true;
          return p == 0;
        });
    llvm::raw_svector_ostream os(bitcode[p]);
    llvm::WriteBitcodeToFile(*part, os);
  }
  module.reset();

  std::mutex errorsMutex;
  std::string errors;
  auto compilePartition = [&](unsigned p) {
    auto fail = [&](llvm::Error err) {
      std::lock_guard<std::mutex> lock(errorsMutex);
      errors += (errors.empty() ? "" : "; ") + llvm::toString(std::move(err));
    };
    llvm::LLVMContext ctx;
    auto part = llvm::parseBitcodeFile(
        llvm::MemoryBufferRef(StringRef(bitcode[p].data(), bitcode[p].size()),
                              "partition"),
        ctx);
    if (!part)
      return fail(part.takeError());
    auto object = optimizeAndEmit(**part, optLevel, *machines[p],
                                  ("partition " + llvm::Twine(p)).str());
    if (!object)
      return fail(object.takeError());
    objects[p] = std::move(*object);
  };
  unsigned threads = maxThreads
                         ? maxThreads
                         : llvm::hardware_concurrency().compute_thread_count();
  threads = std::max(1u, std::min(threads, n));
  if (threads == 1) {
    for (unsigned p = 0; p < n; ++p)
      compilePartition(p);
  } else {
    llvm::DefaultThreadPool pool(llvm::hardware_concurrency(threads));
    for (unsigned p = 0; p < n; ++p)
      pool.async([&compilePartition, p] { compilePartition(p); });
    pool.wait();
  }
  if (!errors.empty())
    return llvm::createStringError("%s", errors.c_str());
  return objects;
}
