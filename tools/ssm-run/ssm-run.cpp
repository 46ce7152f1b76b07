//===- ssm-run.cpp - JIT runner for ssm programs --------------------------===//
//
//   ssm-run FILE.mlir -e FUNC --input a.npy ... --output out.npy ...
//   ssm-run scan --u U --delta DELTA --A A --B B --C C [...] --out Y
//
// Every failure prints "ssm-run: error: ..." naming the file, argument or
// operand at fault, exits with status 1 and leaves no output file behind.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/Jit.h"
#include "ssm/Runtime/Npy.h"
#include "ssm/Runtime/Programs.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <malloc.h>
#include <map>
#include <set>

using namespace mlir::ssm;
using llvm::StringRef;

namespace {

constexpr const char *kUsage = R"(usage:
  ssm-run FILE.mlir -e FUNC [--input A.npy]... [--output OUT.npy]...
  ssm-run scan --u U --delta DELTA --A A --B B --C C [--D D] [--z Z]
               [--delta-bias BIAS] [--delta-softplus] [--h0 H0]
               --out Y [--last-state S] [--threads N]

FILE mode compiles FILE (ssm and upstream dialects on tensors) with
--ssm-to-llvm, calls FUNC on the .npy inputs in order and writes its results
to the outputs in order. `scan` runs mamba_ssm's selective_scan_fn on .npy
files with its shapes and layout: u, delta, z (b, d, L); A (d, n); B and C
(d, n), (b, n, L) or (b, g, n, L); D and delta_bias (d,); h0 and the last
state (b, d, n). Inputs are float32 or float64 (converted to float32).

common options:
  --time N          call once to warm up, then N times; print median_ms=
  --emit=ssm|mlir|llvm
                    print the program (as built or parsed, lowered to the
                    LLVM dialect, or as optimised LLVM IR) instead of running
  --cpu NAME        target CPU for the JIT (default: the host)
  --mattr A,B       extra target features, e.g. -avx512f
  --reference       lower with the reference loops (the oracle of the tests)
                    instead of the fast vector paths
  --vector-width N  f32 lanes per vector on the fast paths (default: 16 with
                    AVX-512, else 8)
  --threads N       threads for parallel loops, i.e. the scan's channel
                    tiles, or time chunks of long scans with fewer tiles
                    than threads (default: every core; the reference
                    lowering uses one)
  --no-parallel-scan
                    never parallelise a scan over time (ssm-parallel-scan)
  -h, --help        this text
)";

/// A small option parser: `--name value`, `--name=value` and flags, with
/// errors that name the option.
class Options {
public:
  struct Spec {
    bool takesValue;
    bool repeatable;
  };

  Options(std::map<std::string, Spec> specs) : specs(std::move(specs)) {}

  llvm::Error parse(llvm::ArrayRef<const char *> args) {
    for (size_t i = 0; i < args.size(); ++i) {
      StringRef arg = args[i];
      if (!arg.starts_with("-") || arg == "-") {
        positional.push_back(arg.str());
        continue;
      }
      StringRef name = arg.ltrim('-'), value;
      bool inlineValue = false;
      if (size_t eq = name.find('='); eq != StringRef::npos) {
        value = name.drop_front(eq + 1);
        name = name.take_front(eq);
        inlineValue = true;
      }
      auto it = specs.find(name.str());
      if (it == specs.end())
        return llvm::createStringError("unknown option '%s' (see --help)",
                                       arg.str().c_str());
      if (!it->second.takesValue) {
        if (inlineValue)
          return llvm::createStringError("option '--%s' takes no value",
                                         name.str().c_str());
        flags.insert(name.str());
        continue;
      }
      if (!inlineValue) {
        if (i + 1 >= args.size())
          return llvm::createStringError("option '--%s' needs a value",
                                         name.str().c_str());
        value = args[++i];
      }
      auto &slot = values[name.str()];
      if (!slot.empty() && !it->second.repeatable)
        return llvm::createStringError("option '--%s' given twice",
                                       name.str().c_str());
      slot.push_back(value.str());
    }
    return llvm::Error::success();
  }

  bool flag(StringRef name) const { return flags.count(name.str()); }
  std::optional<std::string> value(StringRef name) const {
    auto it = values.find(name.str());
    if (it == values.end())
      return std::nullopt;
    return it->second.front();
  }
  std::vector<std::string> list(StringRef name) const {
    auto it = values.find(name.str());
    return it == values.end() ? std::vector<std::string>() : it->second;
  }
  std::vector<std::string> positional;

private:
  std::map<std::string, Spec> specs;
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> flags;
};

std::map<std::string, Options::Spec> commonSpecs() {
  return {{"time", {true, false}},    {"emit", {true, false}},
          {"cpu", {true, false}},     {"mattr", {true, false}},
          {"threads", {true, false}}, {"help", {false, false}},
          {"reference", {false, false}}, {"vector-width", {true, false}},
          {"no-parallel-scan", {false, false}},
          {"h", {false, false}}};
}

llvm::Expected<int64_t> positiveInt(const Options &opts, StringRef name,
                                    int64_t fallback) {
  std::optional<std::string> v = opts.value(name);
  if (!v)
    return fallback;
  int64_t n;
  if (StringRef(*v).getAsInteger(10, n) || n < 1)
    return llvm::createStringError(
        "option '--%s' expects a positive integer, got '%s'", name.data(),
        v->c_str());
  return n;
}

struct Common {
  JitOptions jit;
  std::string emit; // empty: run
  int64_t timeRuns = 0;
};

llvm::Expected<Common> parseCommon(const Options &opts) {
  Common c;
  if (auto v = opts.value("emit")) {
    if (*v != "ssm" && *v != "mlir" && *v != "llvm")
      return llvm::createStringError(
          "option '--emit' expects ssm, mlir or llvm, got '%s'", v->c_str());
    c.emit = *v;
  }
  if (opts.value("time")) {
    auto n = positiveInt(opts, "time", 0);
    if (!n)
      return n.takeError();
    c.timeRuns = *n;
  }
  auto threads = positiveInt(opts, "threads", 1);
  if (!threads)
    return threads.takeError();
  c.jit.numThreads = opts.value("threads") ? static_cast<unsigned>(*threads) : 0;
  c.jit.reference = opts.flag("reference");
  c.jit.parallelScan = !opts.flag("no-parallel-scan");
  if (opts.value("vector-width")) {
    auto width = positiveInt(opts, "vector-width", 0);
    if (!width)
      return width.takeError();
    c.jit.vectorWidth = *width;
  }
  c.jit.cpu = opts.value("cpu").value_or("");
  c.jit.features = opts.value("mattr").value_or("");
  return c;
}

/// Emits, or compiles and calls `func` on `inputs` (with --time), and
/// writes the results to `outputs`. Nothing is written on any error.
llvm::Error runProgram(mlir::ModuleOp module, StringRef func,
                       llvm::MutableArrayRef<Array> inputs,
                       llvm::ArrayRef<std::string> inputLabels,
                       llvm::ArrayRef<std::string> outputs,
                       const Common &common) {
  if (common.emit == "ssm") {
    module.print(llvm::outs());
    llvm::outs() << "\n";
    return llvm::Error::success();
  }
  if (!common.emit.empty()) {
    if (llvm::Error err = lowerToLLVMDialect(module, common.jit))
      return err;
    if (common.emit == "mlir") {
      module.print(llvm::outs());
      llvm::outs() << "\n";
      return llvm::Error::success();
    }
    auto ir = emitLLVMIR(module, common.jit);
    if (!ir)
      return ir.takeError();
    llvm::outs() << *ir;
    return llvm::Error::success();
  }

  auto program = JitProgram::compile(module, common.jit);
  if (!program)
    return program.takeError();
  auto sig = (*program)->signature(func);
  if (!sig)
    return sig.takeError();
  if (outputs.size() != (*sig)->results.size())
    return llvm::createStringError(
        "@%s returns %zu result(s), but %zu output file(s) were given",
        func.str().c_str(), (*sig)->results.size(), outputs.size());
  if (llvm::Error err = prepareInputs(**sig, inputs, inputLabels))
    return err;

  llvm::SmallVector<const Array *> args;
  for (Array &a : inputs)
    args.push_back(&a);
  auto results = (*program)->call(func, args);
  if (!results)
    return results.takeError();
  if (common.timeRuns) {
    std::vector<double> times;
    for (int64_t i = 0; i < common.timeRuns; ++i) {
      double ms = 0;
      auto again = (*program)->call(func, args, &ms);
      if (!again)
        return again.takeError();
      times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    size_t n = times.size();
    double median =
        n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    llvm::outs() << "median_ms=" << llvm::format("%.6f", median) << "\n";
  }

  std::vector<std::pair<std::string, const Array *>> files;
  for (auto [path, array] : llvm::zip(outputs, *results))
    files.push_back({path, &array});
  return writeNpyFiles(files);
}

llvm::Error loadInputs(llvm::ArrayRef<std::string> paths,
                       llvm::SmallVectorImpl<Array> &arrays) {
  for (const std::string &path : paths) {
    auto a = readNpy(path);
    if (!a)
      return a.takeError();
    arrays.push_back(std::move(*a));
  }
  return llvm::Error::success();
}

llvm::Error runFile(Options &opts) {
  auto common = parseCommon(opts);
  if (!common)
    return common.takeError();
  if (opts.positional.size() != 1)
    return llvm::createStringError(
        "expected exactly one input file (FILE.mlir), got %zu (see --help)",
        opts.positional.size());
  std::string path = opts.positional[0];
  std::optional<std::string> func = opts.value("e");
  if (!func && common->emit.empty())
    return llvm::createStringError("missing '-e FUNC': the function to call");

  llvm::SmallVector<Array> inputs;
  std::vector<std::string> inputPaths = opts.list("input");
  if (common->emit.empty())
    if (llvm::Error err = loadInputs(inputPaths, inputs))
      return err;
  std::vector<std::string> labels;
  for (const std::string &p : inputPaths)
    labels.push_back("--input " + p);

  std::unique_ptr<mlir::MLIRContext> ctx = createRunnerContext();
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, ctx.get(), llvm::errs());
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(path);
  if (!buffer)
    return llvm::createStringError("%s: cannot open: %s", path.c_str(),
                                   buffer.getError().message().c_str());
  sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, ctx.get());
  if (!module)
    return llvm::createStringError("%s: the program does not parse or verify "
                                   "(see the diagnostics above)",
                                   path.c_str());
  return runProgram(*module, func.value_or(""), inputs, labels,
                    opts.list("output"), *common);
}

llvm::Error runScan(Options &opts) {
  auto common = parseCommon(opts);
  if (!common)
    return common.takeError();
  if (!opts.positional.empty())
    return llvm::createStringError("unexpected argument '%s' for 'scan'",
                                   opts.positional.front().c_str());
  // Operand name in the op, option name, required.
  struct Operand {
    const char *option;
    bool required;
  };
  const Operand operands[] = {{"u", true},           {"delta", true},
                              {"A", true},           {"B", true},
                              {"C", true},           {"D", false},
                              {"z", false},          {"delta-bias", false},
                              {"h0", false}};
  SelectiveScanSpec spec;
  llvm::SmallVector<Array> inputs;
  std::vector<std::string> labels;
  for (const Operand &o : operands) {
    std::optional<std::string> path = opts.value(o.option);
    if (!path) {
      if (o.required)
        return llvm::createStringError("missing required option '--%s'",
                                       o.option);
      continue;
    }
    labels.push_back(std::string("--") + o.option + " " + *path);
    auto a = readNpy(*path);
    if (!a)
      return llvm::createStringError("--%s: %s", o.option,
                                     llvm::toString(a.takeError()).c_str());
    if (!isFloat(a->dtype()))
      return llvm::createStringError(
          "%s: expected a float32 or float64 array, got %s",
          labels.back().c_str(), dtypeName(a->dtype()).data());
    llvm::SmallVector<int64_t> shape(a->shape().begin(), a->shape().end());
    StringRef name = o.option;
    if (name == "u") spec.u = shape;
    else if (name == "delta") spec.delta = shape;
    else if (name == "A") spec.A = shape;
    else if (name == "B") spec.B = shape;
    else if (name == "C") spec.C = shape;
    else if (name == "D") spec.D = shape;
    else if (name == "z") spec.z = shape;
    else if (name == "delta-bias") spec.deltaBias = shape;
    else if (name == "h0") spec.h0 = shape;
    inputs.push_back(std::move(*a));
  }
  std::optional<std::string> out = opts.value("out");
  std::optional<std::string> last = opts.value("last-state");
  if (!out && common->emit.empty())
    return llvm::createStringError("missing required option '--out'");
  spec.deltaSoftplus = opts.flag("delta-softplus");
  spec.returnLastState = last.has_value();

  std::unique_ptr<mlir::MLIRContext> ctx = createRunnerContext();
  auto module = buildSelectiveScanModule(*ctx, spec);
  if (!module) {
    // The verifier names the operand ('B', 'delta_bias', ...): say which
    // file that was.
    std::string message = llvm::toString(module.takeError());
    std::string culprit;
    size_t at = message.find("operand '");
    if (at != std::string::npos) {
      std::string operand = message.substr(at + 9);
      operand = operand.substr(0, operand.find('\''));
      for (StringRef label : labels)
        if (label.drop_front(2).split(' ').first ==
            StringRef(operand == "delta_bias" ? "delta-bias" : operand))
          culprit = " [" + label.str() + "]";
    }
    return llvm::createStringError(
        "the scan arguments break selective_scan's contract%s: %s",
        culprit.c_str(), message.c_str());
  }
  std::vector<std::string> outputs;
  if (out)
    outputs.push_back(*out);
  if (last)
    outputs.push_back(*last);
  return runProgram(**module, kSelectiveScanFunc, inputs, labels, outputs,
                    *common);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Serve large buffers (the compiled code's results, our arrays) from the
  // heap and keep freed ones for reuse, instead of a fresh mmap per call:
  // first-touch page faults are expensive in a VM and otherwise dominate
  // repeated calls whose outputs exceed glibc's 32 MB dynamic threshold.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  llvm::ArrayRef<const char *> args(argv + 1, argv + argc);
  auto fail = [](llvm::Error err) {
    llvm::errs() << "ssm-run: error: " << llvm::toString(std::move(err))
                 << "\n";
    return 1;
  };

  bool scan = !args.empty() && StringRef(args.front()) == "scan";
  std::map<std::string, Options::Spec> specs = commonSpecs();
  if (scan) {
    args = args.drop_front();
    for (const char *name : {"u", "delta", "A", "B", "C", "D", "z",
                             "delta-bias", "h0", "out", "last-state"})
      specs[name] = {true, false};
    specs["delta-softplus"] = {false, false};
  } else {
    specs["e"] = {true, false};
    specs["input"] = {true, true};
    specs["output"] = {true, true};
  }
  Options opts(specs);
  if (llvm::Error err = opts.parse(args))
    return fail(std::move(err));
  if (opts.flag("help") || opts.flag("h") || argc == 1) {
    llvm::outs() << kUsage;
    return argc == 1 ? 1 : 0;
  }
  if (llvm::Error err = scan ? runScan(opts) : runFile(opts))
    return fail(std::move(err));
  return 0;
}
