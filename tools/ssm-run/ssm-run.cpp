//===- ssm-run.cpp - JIT runner for ssm programs --------------------------===//
//
//   ssm-run FILE.mlir -e FUNC --input a.npy ... --output out.npy ...
//   ssm-run scan --u U --delta DELTA --A A --B B --C C [...] --out Y
//   ssm-run model --checkpoint DIR --tokens 1,2,3 [--logits OUT] [...]
//   ssm-run tokenize --checkpoint DIR --text "..." [--ids 1,2,3]
//   ssm-run task NAME [task options] [--csv FILE] [--plot FILE.png]
//
// Every failure prints "ssm-run: error: ..." naming the file, argument or
// operand at fault, exits with status 1 and leaves no output file behind.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/Jit.h"
#include "ssm/Runtime/MambaLM.h"
#include "ssm/Runtime/Npy.h"
#include "ssm/Runtime/Programs.h"
#include "ssm/Runtime/Tokenizer.h"
#include "ssm/Tasks/Tasks.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
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
  ssm-run model --checkpoint DIR (--tokens 1,2,3 [--tokens 4,5]... |
               --tokens-npy T.npy | (--prompt TEXT | --prompt-file F)...)
               [--tokenizer FILE] [--logits OUT.npy]
               [--score [--logprobs OUT.npy]]
               [--generate N [--stop-tokens eos,0,...] [--temperature T
               [--top-k K] [--top-p P] [--seed S]]] [--conv-state C.npy
               --ssm-state S.npy] [--conv-state-out C.npy --ssm-state-out
               S.npy] [--weights stored|f32|int8] [--threads N]
               [--target cpu|nvptx|gpu-emulator]
  ssm-run tokenize (--checkpoint DIR | --tokenizer FILE) [--text TEXT]...
               [--text-file F]... [--ids 1,2,3]... [--skip-special]
  ssm-run task NAME [task options] [--csv FILE] [--plot FILE.png]
               [--threads N] [--target cpu|nvptx|gpu-emulator]
  ssm-run task --list | ssm-run task NAME --help

FILE mode compiles FILE (ssm and upstream dialects on tensors) with
--ssm-to-llvm (--ssm-to-nvptx with --target nvptx), calls FUNC on the .npy
inputs in order and writes its results to the outputs in order (a float
input is converted to its argument's type, rounding to nearest even when it
narrows; a bf16 result, which .npy cannot hold, is written as float32).
`scan` runs mamba_ssm's selective_scan_fn on .npy files with its shapes
and layout: u, delta, z (b, d, L); A (d, n); B and C
(d, n), (b, n, L) or (b, g, n, L); D and delta_bias (d,); h0 and the last
state (b, d, n). Inputs are float32, float64 or float16 (converted to
float32).
`model` runs a Mamba-1 or Mamba-2 checkpoint in Hugging Face layout
(config.json and model.safetensors or shards) on token ids: --tokens once
per sequence (the lengths may differ), or --tokens-npy with (batch, length)
integers. It prints the weights' size and matrix type, prefill (and with
--generate N, decoding) throughput and the generated tokens of each
sequence, up to N or to the first of --stop-tokens (ids; `eos`:
config.json's eos_token_id): greedy, or with --temperature T > 0 drawn
from softmax(logits / T), restricted to the K most probable tokens
(--top-k) and to the smallest set of the most probable whose
probabilities reach P (--top-p), from a generator seeded by --seed
(default 0: the same tokens on every run and platform). --logits writes
the prompts' logits, (length, vocab) for one sequence and (batch, length,
vocab) for several, which must then be of one length (without it, the
final norm and the LM head run on the last position only). --score
prints, per sequence, the log-probability of each token after the ones
before it, summed (log_prob=), its mean negative (nll=) and the perplexity
exp(nll) (perplexity=); --logprobs writes them, (length - 1) or (batch,
length - 1) float64. The states can be given to continue from (chunked prefill, decoding) and written after the
last token: conv (layers, batch, channels, d_conv - 1) with channels d_inner
(Mamba-1) or d_inner + 2 * d_state (Mamba-2), ssm (layers, batch, d_inner,
d_state) or (layers, batch, heads, head_dim, d_state). A checkpoint's F16
or BF16 projection matrices (embedding, LM head, in/x/dt/out_proj) stay
16-bit on the CPU, widened where they are read (half the bytes a decoding
step reads); --weights f32 converts them to float32 when loading instead,
and --weights int8 quantizes every matrix (any stored type) to int8 rows
with one scale per row (a quarter of float32's bytes; the results are the
model's with those weights). --prompt TEXT (or --prompt-file with the text)
gives a sequence as text, made token ids by the checkpoint's tokenizer.json
(or --tokenizer FILE; byte-level BPE, as Mamba's GPT-NeoX tokenizer), which
are printed (prompt=...); each sequence's text, prompt and generated tokens,
is then printed as text="..." (a JSON string), also for token ids with
--tokenizer.
`tokenize` prints the ids of each --text or --text-file (ids=...) and the
text of each --ids list (text="..."; --skip-special leaves out special
tokens such as <|endoftext|>), by the same tokenizer.
`task` runs one of the research tasks of tasks.md (mqar, induction,
keep-nth, ...) with its fixed-weight model compiled for the CPU (or with
--target nvptx, its scans and convs for an NVIDIA GPU), prints a
table with the expected values and PASS/FAIL and one machine-readable line
per result (accuracy=...), and exits 1 when a result misses its expected
value; --csv writes the table, --plot a PNG of the task's curves. `ssm-run
task --list` lists the tasks and their options, `ssm-run task NAME --help`
one task's.

common options:
  --time N          call once to warm up, then N times; print median_ms=
                    (model: the prefill's median)
  --emit=ssm|mlir|llvm|ptx
                    print the program (as built or parsed, lowered to the
                    LLVM dialect, as optimised LLVM IR, or the PTX of its GPU
                    kernels: needs no GPU) instead of running (model:
                    the program for the prompts' batch, one without them)
  --target cpu|nvptx|gpu-emulator
                    run the selective scans and causal convs on the CPU
                    (default) or as kernels on an NVIDIA GPU through the
                    CUDA driver (the other ops on the host, on its fast
                    paths and --threads); gpu-emulator runs those kernels on the CPU, one
                    fiber per GPU thread, to check them without a GPU
                    (slow: for tests, not speed)
  --chip SM         the GPU the kernels are compiled for (default sm_90)
  --gpu-items N     consecutive steps per thread of the GPU scan (default
                    16; a multiple of 4 lets them move as 16-byte vectors)
  --gpu-threads N   most threads per block of the GPU scan, a multiple of
                    32 up to 1024 (default 128)
  --gpu-states N    states the GPU scan handles together, their warp scans
                    interleaved under one barrier, 1 to 8 (default 1; 1
                    when N does not divide the state size)
  --gpu-prefetch    the GPU scan loads each state's A and B an iteration of
                    its state loop ahead, and C before the barrier
  --gpu-scan chunks|channels|auto
                    the GPU scan's kernel: a block per channel scanning
                    chunks of steps (default), a thread per channel with
                    its states in registers, serial in time (needs many
                    channels x batch rows; B and C varying with time and
                    n / N <= 32 for --gpu-channel-threads N, else chunks),
                    or both, chosen at run time
                    (channels from 8192 batch rows x channels)
  --gpu-channel-threads N
                    threads sharing each channel's states in the channels
                    kernel, 1, 2, 4 or 8 (default 1; 1 when N does not
                    divide the state size): N times the warps, for latency
  --gpu-all-kernels every op a kernel can run on the GPU (projections,
                    norms, gates, copies), not only the scans and convs;
                    intermediates stay on the device between its kernels
  --gpu-tiled-from-rows N
                    with --gpu-all-kernels, rows from which a projection
                    is a tiled matrix product (64 x 64 outputs per block)
                    rather than a warp per output (default 32; 0: never)
  --cpu NAME        target CPU for the JIT (default: the host)
  --mattr A,B       extra target features, e.g. -avx512f
  --reference       lower with the reference loops (the oracle of the tests)
                    instead of the fast vector paths
  --vector-width N  f32 lanes per vector on the fast paths, 1 to 16
                    (default: 16 with AVX-512, else 8)
  --packed-from-rows N
                    rows (batch x tokens) from which a projection runs the
                    packed prefill kernel rather than the decoding dot
                    products (default: 16 with float32 weights, 32 with
                    16-bit ones, 64 with int8 ones)
  --threads N       threads for parallel loops, i.e. the scan's channel
                    tiles, or time chunks of long scans with fewer tiles
                    than threads (default: every core; the reference
                    lowering uses one)
  --no-parallel-scan
                    never parallelise a scan over time (ssm-parallel-scan)
  -h, --help        this text

environment:
  SSM_CACHE_DIR     where compiled CPU programs are kept for the next run
                    (default $XDG_CACHE_HOME/ssm-mlir or ~/.cache/ssm-mlir;
                    off: compile every time)
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
  return {{"time", {true, false}},
          {"emit", {true, false}},
          {"cpu", {true, false}},
          {"mattr", {true, false}},
          {"threads", {true, false}},
          {"help", {false, false}},
          {"reference", {false, false}},
          {"vector-width", {true, false}},
          {"packed-from-rows", {true, false}},
          {"no-parallel-scan", {false, false}},
          {"target", {true, false}},
          {"chip", {true, false}},
          {"gpu-items", {true, false}},
          {"gpu-threads", {true, false}},
          {"gpu-states", {true, false}},
          {"gpu-prefetch", {false, false}},
          {"gpu-scan", {true, false}},
          {"gpu-channel-threads", {true, false}},
          {"gpu-all-kernels", {false, false}},
          {"gpu-tiled-from-rows", {true, false}},
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

/// positiveInt, and at most `max` (`unit` names what is counted).
llvm::Expected<int64_t> positiveIntAtMost(const Options &opts, StringRef name,
                                          int64_t fallback, int64_t max,
                                          StringRef unit) {
  auto n = positiveInt(opts, name, fallback);
  if (n && *n > max)
    return llvm::createStringError("option '--%s' expects at most %lld %s, "
                                   "got %lld",
                                   name.data(), static_cast<long long>(max),
                                   unit.data(), static_cast<long long>(*n));
  return n;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

struct Common {
  JitOptions jit;
  std::string emit; // empty: run
  int64_t timeRuns = 0;
};

llvm::Expected<Common> parseCommon(const Options &opts) {
  Common c;
  if (auto v = opts.value("emit")) {
    if (*v != "ssm" && *v != "mlir" && *v != "llvm" && *v != "ptx")
      return llvm::createStringError(
          "option '--emit' expects ssm, mlir, llvm or ptx, got '%s'",
          v->c_str());
    c.emit = *v;
  }
  if (auto v = opts.value("target")) {
    if (*v != "cpu" && *v != "nvptx" && *v != "gpu-emulator")
      return llvm::createStringError(
          "option '--target' expects cpu, nvptx or gpu-emulator, got '%s'",
          v->c_str());
    c.jit.target = *v == "nvptx"          ? Target::NVPTX
                   : *v == "gpu-emulator" ? Target::GPUEmulator
                                          : Target::CPU;
  }
  if (auto v = opts.value("chip")) {
    if (!StringRef(*v).starts_with("sm_") ||
        !llvm::all_of(StringRef(*v).drop_front(3).rtrim('a'),
                      [](char ch) { return ch >= '0' && ch <= '9'; }) ||
        v->size() < 5)
      return llvm::createStringError(
          "option '--chip' expects an NVIDIA chip such as sm_80 or sm_90, "
          "got '%s'",
          v->c_str());
    c.jit.gpuChip = *v;
  }
  auto items = positiveIntAtMost(opts, "gpu-items", c.jit.gpuItemsPerThread, 64,
                                 "steps per thread");
  if (!items)
    return items.takeError();
  c.jit.gpuItemsPerThread = *items;
  auto gpuThreads = positiveInt(opts, "gpu-threads", c.jit.gpuMaxThreads);
  if (!gpuThreads)
    return gpuThreads.takeError();
  if (*gpuThreads % 32 || *gpuThreads > 1024)
    return llvm::createStringError(
        "option '--gpu-threads' expects a multiple of 32 up to 1024, got %lld",
        static_cast<long long>(*gpuThreads));
  c.jit.gpuMaxThreads = *gpuThreads;
  auto gpuStates = positiveIntAtMost(opts, "gpu-states",
                                     c.jit.gpuStatesPerIteration, 8, "states");
  if (!gpuStates)
    return gpuStates.takeError();
  c.jit.gpuStatesPerIteration = *gpuStates;
  c.jit.gpuPrefetch = opts.flag("gpu-prefetch");
  if (auto scan = opts.value("gpu-scan")) {
    if (*scan != "chunks" && *scan != "channels" && *scan != "auto")
      return llvm::createStringError(
          "option '--gpu-scan' expects chunks, channels or auto, got '%s'",
          scan->c_str());
    c.jit.gpuStrategy = *scan;
  }
  auto channelThreads =
      positiveInt(opts, "gpu-channel-threads", c.jit.gpuThreadsPerChannel);
  if (!channelThreads)
    return channelThreads.takeError();
  if (*channelThreads > 8 || (*channelThreads & (*channelThreads - 1)))
    return llvm::createStringError(
        "option '--gpu-channel-threads' expects 1, 2, 4 or 8, got %lld",
        static_cast<long long>(*channelThreads));
  c.jit.gpuThreadsPerChannel = *channelThreads;
  c.jit.gpuAllKernels = opts.flag("gpu-all-kernels");
  if (auto v = opts.value("gpu-tiled-from-rows")) {
    int64_t rows;
    if (StringRef(*v).getAsInteger(10, rows) || rows < 0)
      return llvm::createStringError(
          "option '--gpu-tiled-from-rows' expects an integer >= 0, got '%s'",
          v->c_str());
    c.jit.gpuTiledFromRows = rows;
  }
  if (c.emit == "ptx")
    c.jit.target = Target::NVPTX;
  if (opts.value("time")) {
    auto n = positiveInt(opts, "time", 0);
    if (!n)
      return n.takeError();
    c.timeRuns = *n;
  }
  auto threads = positiveInt(opts, "threads", 1);
  if (!threads)
    return threads.takeError();
  c.jit.numThreads =
      opts.value("threads") ? static_cast<unsigned>(*threads) : 0;
  c.jit.reference = opts.flag("reference");
  c.jit.parallelScan = !opts.flag("no-parallel-scan");
  if (opts.value("vector-width")) {
    auto width = positiveInt(opts, "vector-width", 0);
    if (!width)
      return width.takeError();
    c.jit.vectorWidth = *width;
  }
  if (opts.value("packed-from-rows")) {
    auto rows = positiveInt(opts, "packed-from-rows", 0);
    if (!rows)
      return rows.takeError();
    c.jit.packedFromRows = *rows;
  }
  c.jit.cpu = opts.value("cpu").value_or("");
  c.jit.features = opts.value("mattr").value_or("");
  return c;
}

/// Prints `module` at the level --emit asks for.
llvm::Error emitModule(mlir::ModuleOp module, const Common &common) {
  if (common.emit == "ssm") {
    module.print(llvm::outs());
    llvm::outs() << "\n";
    return llvm::Error::success();
  }
  if (common.emit == "ptx") {
    auto ptx = emitPTX(module, common.jit);
    if (!ptx)
      return ptx.takeError();
    if (ptx->empty())
      return llvm::createStringError(
          "the program has no GPU kernel: only ssm.selective_scan (f32, real "
          "A, static n) and ssm.causal_conv1d (f32) run on the GPU");
    llvm::outs() << *ptx;
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
  return llvm::Error::success();
}

/// Emits, or compiles and calls `func` on `inputs` (with --time), and
/// writes the results to `outputs`. Nothing is written on any error.
llvm::Error runProgram(mlir::ModuleOp module, StringRef func,
                       llvm::MutableArrayRef<Array> inputs,
                       llvm::ArrayRef<std::string> inputLabels,
                       llvm::ArrayRef<std::string> outputs,
                       const Common &common) {
  if (!common.emit.empty())
    return emitModule(module, common);

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
    llvm::outs() << "median_ms=" << llvm::format("%.6f", median(times)) << "\n";
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
  const Operand operands[] = {
      {"u", true},  {"delta", true},       {"A", true},
      {"B", true},  {"C", true},           {"D", false},
      {"z", false}, {"delta-bias", false}, {"h0", false}};
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
    if (name == "u")
      spec.u = shape;
    else if (name == "delta")
      spec.delta = shape;
    else if (name == "A")
      spec.A = shape;
    else if (name == "B")
      spec.B = shape;
    else if (name == "C")
      spec.C = shape;
    else if (name == "D")
      spec.D = shape;
    else if (name == "z")
      spec.z = shape;
    else if (name == "delta-bias")
      spec.deltaBias = shape;
    else if (name == "h0")
      spec.h0 = shape;
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

/// A comma-separated list of token ids for `--option`. With `eos` (for
/// --stop-tokens), the word eos stands for those ids; `eosFrom` names the
/// config.json they come from, in the error when there are none.
llvm::Expected<std::vector<int64_t>>
parseIds(StringRef list, StringRef option,
         const llvm::SmallVectorImpl<int64_t> *eos = nullptr,
         StringRef eosFrom = {}) {
  llvm::SmallVector<StringRef> parts;
  list.split(parts, ',', -1, /*KeepEmpty=*/true);
  std::vector<int64_t> ids;
  for (StringRef part : parts) {
    if (eos && part.trim() == "eos") {
      if (eos->empty())
        return llvm::createStringError(
            "--%s eos: %s/config.json has no eos_token_id",
            option.str().c_str(), eosFrom.str().c_str());
      ids.insert(ids.end(), eos->begin(), eos->end());
      continue;
    }
    long long id;
    if (part.trim().getAsInteger(10, id))
      return llvm::createStringError(
          "--%s: '%s' is %s (expected e.g. --%s 0,2%s)", option.str().c_str(),
          part.str().c_str(),
          eos ? "neither a token id nor 'eos'" : "not an integer token id",
          option.str().c_str(),
          eos ? (" or --" + option.str() + " eos").c_str() : "");
    ids.push_back(id);
  }
  return ids;
}

/// The tokenizer of `model` and `tokenize`: --tokenizer FILE, else the
/// checkpoint's tokenizer.json; `why` says what needs it when there is none.
llvm::Expected<Tokenizer> loadTokenizer(const Options &opts, StringRef why) {
  if (std::optional<std::string> file = opts.value("tokenizer"))
    return Tokenizer::load(*file);
  std::optional<std::string> dir = opts.value("checkpoint");
  if (!dir)
    return llvm::createStringError(
        "%s needs a tokenizer: give '--checkpoint DIR' (its tokenizer.json) "
        "or '--tokenizer FILE'",
        why.str().c_str());
  llvm::SmallString<256> path(*dir);
  llvm::sys::path::append(path, "tokenizer.json");
  if (!llvm::sys::fs::exists(path))
    return llvm::createStringError(
        "%s needs a tokenizer: %s does not exist (give '--tokenizer "
        "FILE'%s)",
        why.str().c_str(), path.c_str(),
        why.starts_with("--prompt") ? ", or token ids with '--tokens'" : "");
  return Tokenizer::load(path);
}

/// The texts of `--NAME TEXT` and of `--NAME-file FILE` (the file's bytes),
/// each with the option that gave it, for errors.
llvm::Expected<std::vector<std::pair<std::string, std::string>>>
readTexts(const Options &opts, StringRef name) {
  std::vector<std::pair<std::string, std::string>> texts;
  for (const std::string &t : opts.list(name))
    texts.push_back({"--" + name.str(), t});
  for (const std::string &f : opts.list((name + "-file").str())) {
    auto buffer = llvm::MemoryBuffer::getFile(f, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return llvm::createStringError("--%s-file %s: cannot open: %s",
                                     name.str().c_str(), f.c_str(),
                                     buffer.getError().message().c_str());
    texts.push_back(
        {"--" + name.str() + "-file " + f, (*buffer)->getBuffer().str()});
  }
  return texts;
}

/// The prompts of `model`: --tokens 1,2,3 once per sequence (lengths may
/// differ), --tokens-npy with (batch, length) integers, or texts (--prompt
/// TEXT, --prompt-file FILE) once per sequence, made ids by `tokenizer`
/// (loaded here when null).
llvm::Expected<std::vector<std::vector<int64_t>>>
readPrompts(const Options &opts, std::optional<Tokenizer> &tokenizer) {
  std::vector<std::string> lists = opts.list("tokens");
  auto textsOr = readTexts(opts, "prompt");
  if (!textsOr)
    return textsOr.takeError();
  const std::vector<std::pair<std::string, std::string>> &texts = *textsOr;
  std::optional<std::string> file = opts.value("tokens-npy");
  if (!lists.empty() + !texts.empty() + file.has_value() != 1)
    return llvm::createStringError(
        "give the prompts with '--tokens 1,2,3' (once per sequence), with "
        "'--tokens-npy T.npy' or as text with '--prompt TEXT' or "
        "'--prompt-file FILE'%s",
        lists.empty() && texts.empty() && !file ? "" : ", only one of them");
  std::vector<std::vector<int64_t>> prompts;
  if (!texts.empty()) {
    if (!tokenizer) {
      auto t = loadTokenizer(
          opts, opts.value("prompt") ? "--prompt" : "--prompt-file");
      if (!t)
        return t.takeError();
      tokenizer = std::move(*t);
    }
    for (const auto &[from, text] : texts) {
      auto ids = tokenizer->encode(text);
      if (!ids)
        return llvm::createStringError("%s: %s", from.c_str(),
                                       llvm::toString(ids.takeError()).c_str());
      if (ids->empty())
        return llvm::createStringError(
            "%s: the text has no tokens (give at least one character)",
            from.c_str());
      prompts.push_back(std::move(*ids));
    }
    return prompts;
  }
  if (file) {
    auto a = readNpy(*file);
    if (!a)
      return a.takeError();
    if (a->rank() != 2 || isFloat(a->dtype()) || a->numElements() == 0)
      return llvm::createStringError(
          "--tokens-npy %s: expected a (batch, length) array of integers, "
          "at least one of each, got %s %s",
          file->c_str(), dtypeName(a->dtype()).data(),
          shapeString(a->shape()).c_str());
    Array ids = llvm::cantFail(a->convertTo(DType::I64));
    const int64_t length = ids.shape()[1];
    for (int64_t b = 0; b < ids.shape()[0]; ++b)
      prompts.emplace_back(ids.as<int64_t>() + b * length,
                           ids.as<int64_t>() + (b + 1) * length);
    return prompts;
  }
  for (const std::string &list : lists) {
    auto ids = parseIds(list, "tokens");
    if (!ids)
      return ids.takeError();
    prompts.push_back(std::move(*ids));
  }
  return prompts;
}

llvm::Error runModel(Options &opts) {
  auto common = parseCommon(opts);
  if (!common)
    return common.takeError();
  if (!opts.positional.empty())
    return llvm::createStringError("unexpected argument '%s' for 'model'",
                                   opts.positional.front().c_str());
  std::optional<std::string> dir = opts.value("checkpoint");
  if (!dir)
    return llvm::createStringError("missing required option '--checkpoint'");

  WeightPrecision precision = WeightPrecision::Stored;
  if (std::optional<std::string> w = opts.value("weights")) {
    if (*w == "f32")
      precision = WeightPrecision::Float32;
    else if (*w == "int8")
      precision = WeightPrecision::Int8;
    else if (*w != "stored")
      return llvm::createStringError(
          "option '--weights' expects 'stored', 'f32' or 'int8', got '%s'",
          w->c_str());
  }

  // The logits of every position only when they are written out; a
  // generation needs the last position's.
  const LMLogits which = opts.value("logits") ? LMLogits::All : LMLogits::Last;
  // Loaded for --prompt, or with --tokenizer to print the texts.
  std::optional<Tokenizer> tokenizer;
  if (!common->emit.empty()) {
    // The program of the prompts' batch when they are given (the one that
    // decodes them together), else of one sequence.
    int64_t batch = 1;
    if (opts.value("tokens") || opts.value("tokens-npy") ||
        opts.value("prompt") || opts.value("prompt-file")) {
      auto prompts = readPrompts(opts, tokenizer);
      if (!prompts)
        return prompts.takeError();
      batch = prompts->size();
    }
    auto ckpt = Checkpoint::open(*dir);
    if (!ckpt)
      return ckpt.takeError();
    std::unique_ptr<mlir::MLIRContext> ctx = createRunnerContext();
    auto module = buildMambaLMModule(
        *ctx, (*ckpt)->config(), batch, mlir::ShapedType::kDynamic, which,
        MambaLM::usesDeviceWeights(common->jit),
        MambaLM::matrixDType(**ckpt, common->jit, precision));
    if (!module)
      return module.takeError();
    return emitModule(**module, *common);
  }

  const bool textPrompts = opts.value("prompt") || opts.value("prompt-file");
  if (opts.value("tokenizer") && !textPrompts) {
    auto t = loadTokenizer(opts, "--tokenizer");
    if (!t)
      return t.takeError();
    tokenizer = std::move(*t);
  }
  auto prompts = readPrompts(opts, tokenizer);
  if (!prompts)
    return prompts.takeError();
  // What the texts became.
  if (textPrompts)
    for (const std::vector<int64_t> &p : *prompts) {
      llvm::outs() << "prompt=";
      llvm::interleave(p, llvm::outs(), ",");
      llvm::outs() << "\n";
    }
  const int64_t batch = prompts->size();
  int64_t length = prompts->front().size(), promptTokens = 0;
  bool ragged = false;
  for (const std::vector<int64_t> &p : *prompts) {
    promptTokens += p.size();
    ragged |= static_cast<int64_t>(p.size()) != length;
  }
  if (ragged && which == LMLogits::All)
    return llvm::createStringError(
        "--logits writes the logits of every position of prompts of one "
        "length; these prompts have different lengths (give prompts of one "
        "length, or leave out --logits)");
  int64_t steps = 0;
  if (opts.value("generate")) {
    auto n = positiveInt(opts, "generate", 0);
    if (!n)
      return n.takeError();
    steps = *n;
  }
  // Sampling: greedy unless --temperature is above 0.
  SamplingOptions sampling;
  if (std::optional<std::string> v = opts.value("temperature"))
    if (StringRef(*v).getAsDouble(sampling.temperature))
      return llvm::createStringError(
          "option '--temperature' expects a number, got '%s'", v->c_str());
  if (std::optional<std::string> v = opts.value("top-k"))
    if (StringRef(*v).getAsInteger(10, sampling.topK) || sampling.topK < 0)
      return llvm::createStringError(
          "option '--top-k' expects an integer >= 0, got '%s'", v->c_str());
  if (std::optional<std::string> v = opts.value("top-p"))
    if (StringRef(*v).getAsDouble(sampling.topP))
      return llvm::createStringError(
          "option '--top-p' expects a number, got '%s'", v->c_str());
  if (std::optional<std::string> v = opts.value("seed"))
    if (StringRef(*v).getAsInteger(10, sampling.seed))
      return llvm::createStringError(
          "option '--seed' expects an integer >= 0, got '%s'", v->c_str());
  if (llvm::Error e = sampling.validate())
    return e;
  bool samplingGiven = opts.value("temperature") || opts.value("top-k") ||
                       opts.value("top-p") || opts.value("seed");
  const bool scoring = opts.flag("score");
  if (opts.value("logprobs") && !scoring)
    return llvm::createStringError(
        "'--logprobs' writes what '--score' computes: give '--score' with it");
  if (scoring) {
    if (steps || opts.value("logits") || common->timeRuns)
      return llvm::createStringError(
          "'--score' runs the prompts to score them: leave out '--generate', "
          "'--logits' and '--time' (give them in a run of their own)");
    if (ragged)
      return llvm::createStringError(
          "'--score' takes prompts of one length (score the others in runs "
          "of their own)");
  }
  std::optional<std::string> stopSpec = opts.value("stop-tokens");
  if (stopSpec && !steps)
    return llvm::createStringError(
        "'--stop-tokens' ends generated sequences: give '--generate N' with "
        "it");
  if (samplingGiven && !steps)
    return llvm::createStringError(
        "'--temperature', '--top-k', '--top-p' and '--seed' choose the "
        "generated tokens: give '--generate N' with them");
  if ((opts.value("top-k") || opts.value("top-p") || opts.value("seed")) &&
      sampling.temperature == 0)
    return llvm::createStringError(
        "'--top-k', '--top-p' and '--seed' apply to sampling: give "
        "'--temperature T' above 0 with them (without it decoding is "
        "greedy)");
  std::optional<std::string> convIn = opts.value("conv-state"),
                             ssmIn = opts.value("ssm-state");
  std::optional<std::string> convOut = opts.value("conv-state-out"),
                             ssmOut = opts.value("ssm-state-out");
  if (convIn.has_value() != ssmIn.has_value())
    return llvm::createStringError(
        "give both '--conv-state' and '--ssm-state' (a state is both), or "
        "neither");
  if (convOut.has_value() != ssmOut.has_value())
    return llvm::createStringError(
        "give both '--conv-state-out' and '--ssm-state-out', or neither");

  auto lm = MambaLM::load(*dir, common->jit, precision);
  if (!lm)
    return lm.takeError();
  // --stop-tokens: ids, and `eos` for config.json's eos_token_id.
  std::vector<int64_t> stopTokens;
  if (stopSpec) {
    auto ids =
        parseIds(*stopSpec, "stop-tokens", &(*lm)->config().eosTokenIds, *dir);
    if (!ids)
      return ids.takeError();
    stopTokens = std::move(*ids);
  }
  MambaLM::State state = (*lm)->initialState(batch);
  if (convIn) {
    auto conv = readNpy(*convIn);
    if (!conv)
      return conv.takeError();
    auto ssm = readNpy(*ssmIn);
    if (!ssm)
      return ssm.takeError();
    // float64 states are accepted and converted.
    for (Array *a : {&*conv, &*ssm})
      if (a->dtype() == DType::F64) {
        auto f = a->convertTo(DType::F32);
        if (!f)
          return f.takeError();
        *a = std::move(*f);
      }
    state.conv = std::move(*conv);
    state.ssm = std::move(*ssm);
    if (llvm::Error err = (*lm)->checkState(state, batch))
      return llvm::createStringError("--conv-state %s / --ssm-state %s: %s",
                                     convIn->c_str(), ssmIn->c_str(),
                                     llvm::toString(std::move(err)).c_str());
  }

  if (scoring) {
    Array tokens(DType::I64, {batch, length});
    for (auto [b, p] : llvm::enumerate(*prompts))
      std::copy(p.begin(), p.end(), tokens.as<int64_t>() + b * length);
    double callsMs = 0;
    auto start = std::chrono::steady_clock::now();
    auto logprobs = (*lm)->score(tokens, state, /*chunk=*/0, &callsMs);
    if (!logprobs)
      return logprobs.takeError();
    double totalMs = std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    llvm::outs() << llvm::format(
        "score: %lld x %lld tokens in %.0f ms (the compiled calls %.0f ms; "
        "compile included)\n",
        static_cast<long long>(batch), static_cast<long long>(length), totalMs,
        callsMs);
    // Per sequence: the log-likelihood of tokens 1.. given the ones before,
    // its mean negative and the perplexity exp(mean).
    for (int64_t b = 0; b < batch; ++b) {
      double sum = 0;
      for (int64_t t = 0; t + 1 < length; ++t)
        sum += logprobs->as<double>()[b * (length - 1) + t];
      const double nll = length > 1 ? -sum / (length - 1) : 0;
      llvm::outs() << llvm::format(
          "log_prob=%.6f tokens=%lld nll=%.6f perplexity=%.6g\n", sum,
          static_cast<long long>(length - 1), nll, std::exp(nll));
    }
    std::vector<std::pair<std::string, const Array *>> files;
    if (std::optional<std::string> path = opts.value("logprobs")) {
      if (opts.list("tokens").size() + opts.list("prompt").size() +
              opts.list("prompt-file").size() ==
          1)
        logprobs->reshape({length - 1});
      files.push_back({*path, &*logprobs});
    }
    if (convOut) {
      files.push_back({*convOut, &state.conv});
      files.push_back({*ssmOut, &state.ssm});
    }
    return writeNpyFiles(files);
  }

  // The first call of a batch size compiles; its time is reported apart
  // from the call's own, which is cold (first touch of the weights' map and
  // of fresh buffers). With --time N the prefill is repeated N more times
  // from the same initial state and the median reported.
  auto compileStart = std::chrono::steady_clock::now();
  // A same-dtype conversion is a copy and cannot fail.
  auto copyOf = [](const MambaLM::State &st) {
    return MambaLM::State{llvm::cantFail(st.conv.convertTo(DType::F32)),
                          llvm::cantFail(st.ssm.convertTo(DType::F32))};
  };
  MambaLM::State initial = common->timeRuns ? copyOf(state) : MambaLM::State{};
  // Every position's logits need one (batch, length) call; the last
  // position's come from prefill(), which takes prompts of any lengths.
  Array tokens;
  const llvm::SmallVector<llvm::ArrayRef<int64_t>> promptRefs(prompts->begin(),
                                                              prompts->end());
  if (which == LMLogits::All) {
    tokens = Array(DType::I64, {batch, length});
    for (auto [b, p] : llvm::enumerate(*prompts))
      std::copy(p.begin(), p.end(), tokens.as<int64_t>() + b * length);
  }
  auto run = [&](MambaLM::State &st, double &ms) {
    return which == LMLogits::All ? (*lm)->forward(tokens, st, &ms, which)
                                  : (*lm)->prefill(promptRefs, st, &ms);
  };
  double prefillMs = 0;
  auto logits = run(state, prefillMs);
  if (!logits)
    return logits.takeError();
  double totalMs = std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - compileStart)
                       .count();
  std::string how = "first call";
  if (common->timeRuns) {
    std::vector<double> times;
    for (int64_t i = 0; i < common->timeRuns; ++i) {
      MambaLM::State again = copyOf(initial);
      double ms = 0;
      auto out = run(again, ms);
      if (!out)
        return out.takeError();
      times.push_back(ms);
    }
    prefillMs = median(times);
    how = "median of " + std::to_string(times.size()) + " after a first call";
  }
  const DType matrices = (*lm)->matrixType();
  llvm::outs() << llvm::format(
      "weights: %.1f MB, matrices %s%s\n", (*lm)->weightBytes() / 1e6,
      dtypeName(matrices).data(),
      matrices == DType::F32  ? ""
      : matrices == DType::I8 ? " with one scale per row (--weights int8)"
                              : " as stored (--weights f32 widens them)");
  std::string shape =
      ragged
          ? std::to_string(batch) + " sequences, " +
                std::to_string(promptTokens) + " tokens (one call each)"
          : std::to_string(batch) + " x " + std::to_string(length) + " tokens";
  llvm::outs() << llvm::format(
      "prefill: %s in %.2f ms (%.1f tokens/s; %s; %s and first call %.0f ms; "
      "logits of %s)\n",
      shape.c_str(), prefillMs, promptTokens / (prefillMs / 1e3), how.c_str(),
      (*lm)->programsFromCache() ? "program from the compile cache" : "compile",
      totalMs, which == LMLogits::All ? "every position" : "the last position");

  if (steps) {
    // Decoding from the prefill's state, with a progress line on long runs.
    auto lastReport = std::chrono::steady_clock::now();
    double decodeMs = 0;
    int64_t calls = 0;
    auto generatedOr = (*lm)->decode(
        *logits, steps, state, sampling, stopTokens,
        [&](int64_t s, llvm::ArrayRef<int64_t>) {
          auto now = std::chrono::steady_clock::now();
          if (now - lastReport > std::chrono::seconds(1)) {
            llvm::errs() << "decode: " << s + 1 << "/" << steps << " steps\n";
            lastReport = now;
          }
          return false;
        },
        &decodeMs, &calls);
    if (!generatedOr)
      return generatedOr.takeError();
    const MambaLM::Generated &generated = *generatedOr;
    // The tokens the calls decoded: each sequence's generated tokens but
    // its last (the rows of stopped sequences do not count).
    int64_t decoded = 0;
    for (int64_t n : generated.lengths)
      decoded += n - 1;
    if (calls)
      llvm::outs() << llvm::format(
          "decode: %lld steps x %lld sequences in %.2f ms (%.1f tokens/s, "
          "%.1f us per step per layer)\n",
          static_cast<long long>(calls), static_cast<long long>(batch),
          decodeMs, decoded / (decodeMs / 1e3),
          decodeMs * 1e3 / calls / (*lm)->config().nLayer);
    const int64_t width = generated.tokens.shape()[1];
    for (int64_t b = 0; b < batch; ++b) {
      llvm::outs() << "generated=";
      for (int64_t s = 0; s < generated.lengths[b]; ++s)
        llvm::outs() << (s ? "," : "")
                     << generated.tokens.as<int64_t>()[b * width + s];
      llvm::outs() << "\n";
      if (tokenizer) {
        // The sequence's text: its prompt and generated tokens decoded
        // together (a character may span the two).
        std::vector<int64_t> ids = (*prompts)[b];
        ids.insert(ids.end(), generated.tokens.as<int64_t>() + b * width,
                   generated.tokens.as<int64_t>() + b * width +
                       generated.lengths[b]);
        auto text = tokenizer->decode(ids);
        if (!text)
          return text.takeError();
        llvm::outs() << "text=" << llvm::json::Value(std::move(*text)) << "\n";
      }
    }
  } else if (tokenizer) {
    for (const std::vector<int64_t> &p : *prompts) {
      auto text = tokenizer->decode(p);
      if (!text)
        return text.takeError();
      llvm::outs() << "text=" << llvm::json::Value(std::move(*text)) << "\n";
    }
  }

  std::vector<std::pair<std::string, const Array *>> files;
  if (std::optional<std::string> path = opts.value("logits")) {
    // One sequence given as --tokens: (length, vocab).
    if (opts.list("tokens").size() + opts.list("prompt").size() +
            opts.list("prompt-file").size() ==
        1)
      logits->reshape({length, (*lm)->config().vocabSize});
    files.push_back({*path, &*logits});
  }
  if (convOut) {
    files.push_back({*convOut, &state.conv});
    files.push_back({*ssmOut, &state.ssm});
  }
  return writeNpyFiles(files);
}

/// Prints a task and its options.
void printTask(const tasks::TaskInfo &t) {
  llvm::outs() << t.name << ": " << t.summary << "\n";
  for (const tasks::TaskOption &o : t.options) {
    std::string name = "--" + o.name + (o.flag ? "" : " V");
    llvm::outs() << "    " << llvm::left_justify(name, 18) << o.help;
    if (!o.defaultValue.empty())
      llvm::outs() << " (default " << o.defaultValue << ")";
    llvm::outs() << "\n";
  }
}

/// `ssm-run task NAME --help`: that task's options and the common ones.
llvm::Error printTaskHelp(llvm::StringRef name) {
  auto task = tasks::findTask(name);
  if (!task)
    return task.takeError();
  printTask(**task);
  llvm::outs() << "  and, as every task: [--csv FILE] [--plot FILE.png] "
                  "[--threads N] [--target cpu|nvptx|gpu-emulator]\n";
  return llvm::Error::success();
}

llvm::Error runTaskMode(Options &opts,
                        llvm::ArrayRef<std::string> taskOptions) {
  auto common = parseCommon(opts);
  if (!common)
    return common.takeError();
  if (!common->emit.empty() || common->timeRuns)
    return llvm::createStringError(
        "'task' takes neither --emit nor --time (the table has the times)");
  if (opts.positional.size() != 1)
    return llvm::createStringError(
        "expected the name of one task after 'task' (see 'ssm-run task "
        "--list')");
  std::string name = opts.positional.front();
  llvm::StringMap<std::string> values;
  for (const std::string &o : taskOptions)
    if (auto v = opts.value(o))
      values[o] = *v;
    else if (opts.flag(o))
      values[o] = "";

  tasks::TaskContext context;
  context.jit = common->jit;
  // A progress line on stderr: rewritten in place on a terminal, else at
  // most one line every two seconds.
  bool tty = llvm::sys::Process::StandardErrIsDisplayed();
  auto last = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  bool pending = false;
  context.progress = [&](const std::string &line) {
    auto now = std::chrono::steady_clock::now();
    if (tty) {
      llvm::errs() << "\r\033[K" << line;
      pending = true;
    } else if (now - last >= std::chrono::seconds(2)) {
      llvm::errs() << line << "\n";
      last = now;
    }
  };
  auto report = tasks::runTask(name, values, context);
  if (pending)
    llvm::errs() << "\r\033[K";
  if (!report) {
    // The tasks' own messages may start with the task's name already.
    std::string message = llvm::toString(report.takeError());
    llvm::StringRef rest = message;
    rest.consume_front(name + ": ");
    return llvm::createStringError("task %s: %s", name.c_str(),
                                   rest.str().c_str());
  }
  llvm::outs() << report->table();
  for (const std::string &line : report->lines)
    llvm::outs() << line << "\n";
  llvm::outs().flush();
  if (std::optional<std::string> csv = opts.value("csv"))
    if (llvm::Error err = llvm::writeToOutput(
            *csv, [&](llvm::raw_ostream &os) -> llvm::Error {
              os << report->csv();
              return llvm::Error::success();
            }))
      return llvm::createStringError("--csv %s: %s", csv->c_str(),
                                     llvm::toString(std::move(err)).c_str());
  if (std::optional<std::string> plot = opts.value("plot")) {
    if (report->plots.empty())
      return llvm::createStringError("--plot %s: task %s draws no plot",
                                     plot->c_str(), name.c_str());
    std::vector<uint8_t> png = tasks::renderPng(report->plots);
    if (llvm::Error err = llvm::writeToOutput(
            *plot, [&](llvm::raw_ostream &os) -> llvm::Error {
              os.write(reinterpret_cast<const char *>(png.data()), png.size());
              return llvm::Error::success();
            }))
      return llvm::createStringError("--plot %s: %s", plot->c_str(),
                                     llvm::toString(std::move(err)).c_str());
  }
  if (!report->passed)
    return llvm::createStringError(
        "task %s: a result missed its expected value (FAIL above)",
        name.c_str());
  return llvm::Error::success();
}

/// `tokenize`: the ids of each --text and the text of each --ids list.
llvm::Error runTokenize(Options &opts) {
  if (!opts.positional.empty())
    return llvm::createStringError("unexpected argument '%s' for 'tokenize'",
                                   opts.positional.front().c_str());
  auto texts = readTexts(opts, "text");
  if (!texts)
    return texts.takeError();
  std::vector<std::string> lists = opts.list("ids");
  if (texts->empty() && lists.empty())
    return llvm::createStringError("give '--text TEXT' or '--text-file FILE' "
                                   "to tokenize, or '--ids 1,2,3' to decode");
  auto tokenizer = loadTokenizer(opts, "tokenize");
  if (!tokenizer)
    return tokenizer.takeError();
  for (const auto &[from, text] : *texts) {
    auto ids = tokenizer->encode(text);
    if (!ids)
      return llvm::createStringError("%s: %s", from.c_str(),
                                     llvm::toString(ids.takeError()).c_str());
    llvm::outs() << "ids=";
    llvm::interleave(*ids, llvm::outs(), ",");
    llvm::outs() << "\n";
  }
  for (const std::string &list : lists) {
    auto ids = parseIds(list, "ids");
    if (!ids)
      return ids.takeError();
    auto text = tokenizer->decode(*ids, opts.flag("skip-special"));
    if (!text)
      return llvm::createStringError("--ids %s: %s", list.c_str(),
                                     llvm::toString(text.takeError()).c_str());
    llvm::outs() << "text=" << llvm::json::Value(std::move(*text)) << "\n";
  }
  return llvm::Error::success();
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

  StringRef mode = args.empty() ? "" : StringRef(args.front());
  bool scan = mode == "scan", model = mode == "model", task = mode == "task",
       tokenize = mode == "tokenize";
  std::map<std::string, Options::Spec> specs = commonSpecs();
  std::vector<std::string> taskOptions;
  if (task) {
    args = args.drop_front();
    // The options of the task named first; an unknown name is reported
    // by runTask.
    for (const tasks::TaskInfo &t : tasks::allTasks())
      if (!args.empty() && t.name == args.front())
        for (const tasks::TaskOption &o : t.options) {
          specs[o.name] = {!o.flag, false};
          taskOptions.push_back(o.name);
        }
    specs["csv"] = {true, false};
    specs["plot"] = {true, false};
    specs["list"] = {false, false};
  } else if (model) {
    args = args.drop_front();
    for (const char *name :
         {"checkpoint", "tokens", "tokens-npy", "logits", "generate",
          "conv-state", "ssm-state", "conv-state-out", "ssm-state-out",
          "weights", "temperature", "top-k", "top-p", "seed", "stop-tokens",
          "tokenizer"})
      specs[name] = {true, false};
    for (const char *name : {"tokens", "prompt", "prompt-file"})
      specs[name] = {true, true};
    specs["score"] = {false, false};
    specs["logprobs"] = {true, false};
  } else if (tokenize) {
    args = args.drop_front();
    // No compiling: none of the common options apply.
    specs = {{"help", {false, false}}, {"h", {false, false}}};
    specs["checkpoint"] = {true, false};
    specs["tokenizer"] = {true, false};
    specs["text"] = {true, true};
    specs["text-file"] = {true, true};
    specs["ids"] = {true, true};
    specs["skip-special"] = {false, false};
  } else if (scan) {
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
  bool help = opts.flag("help") || opts.flag("h");
  // `ssm-run task NAME --help`: that task's options.
  if (task && opts.flag("list")) {
    for (const tasks::TaskInfo &t : tasks::allTasks())
      printTask(t);
    return 0;
  }
  if (task && help && opts.positional.size() == 1) {
    if (llvm::Error err = printTaskHelp(opts.positional.front()))
      return fail(std::move(err));
    return 0;
  }
  if (help || argc == 1) {
    llvm::outs() << kUsage;
    return argc == 1 ? 1 : 0;
  }
  if (llvm::Error err = task       ? runTaskMode(opts, taskOptions)
                        : model    ? runModel(opts)
                        : tokenize ? runTokenize(opts)
                        : scan     ? runScan(opts)
                                   : runFile(opts))
    return fail(std::move(err));
  return 0;
}
