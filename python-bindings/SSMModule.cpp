//===- SSMModule.cpp - ssm_mlir._ssm_mlir, the pybind11 module ------------===//
//
// Binds the project's C++ API (Runtime/, Tasks/) for numpy users: programs
// compiled from text or built by the public builders and called on arrays,
// Mamba checkpoints, and the research tasks. The pure-Python package around
// it (ssm_mlir/*.py) gives these mamba_ssm's and causal-conv1d's spellings
// and caches compiled programs.
//
// Every llvm::Error becomes a Python exception that carries its message
// (and, for programs, the compiler's diagnostics); the GIL is released while
// compiling and running compiled code.
//
//===----------------------------------------------------------------------===//

#include "ssm/Runtime/Jit.h"
#include "ssm/Runtime/MambaLM.h"
#include "ssm/Runtime/Programs.h"
#include "ssm/Runtime/Tokenizer.h"
#include "ssm/Tasks/Tasks.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <mutex>

namespace py = pybind11;
using namespace mlir::ssm;

namespace {

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

/// ssm_mlir.Error: the compiler or the runtime refused (a checkpoint, a
/// task); ssm_mlir.CompileError: a program does not parse, verify or lower.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct CompileError : Error {
  using Error::Error;
};

/// Which Python exception an llvm::Error becomes.
enum class Raise { Value, Compile, Runtime };

[[noreturn]] void raise(const std::string &message, Raise as) {
  switch (as) {
  case Raise::Value:
    throw py::value_error(message);
  case Raise::Compile:
    throw CompileError(message);
  case Raise::Runtime:
    throw Error(message);
  }
  throw Error(message);
}

[[noreturn]] void raise(llvm::Error err, Raise as,
                        const std::string &diagnostics = "") {
  // A program whose buffer the system refused (JitProgram::call) raises
  // MemoryError, as numpy does for an array it cannot allocate; one whose
  // run-time check of its arguments' sizes failed, ValueError.
  bool outOfMemory = false;
  std::string message;
  llvm::handleAllErrors(std::move(err), [&](const llvm::ErrorInfoBase &e) {
    outOfMemory |= e.convertToErrorCode() == std::errc::not_enough_memory;
    if (e.convertToErrorCode() == std::errc::invalid_argument)
      as = Raise::Value;
    message += (message.empty() ? "" : "\n") + e.message();
  });
  if (outOfMemory) {
    PyErr_SetString(PyExc_MemoryError, message.c_str());
    throw py::error_already_set();
  }
  if (!diagnostics.empty())
    message += "\n" + diagnostics;
  raise(message, as);
}

template <typename T>
T unwrap(llvm::Expected<T> value, Raise as,
         const std::string &diagnostics = "") {
  if (!value)
    raise(value.takeError(), as, diagnostics);
  return std::move(*value);
}

/// Runs `fn` without the GIL (compiling, compiled code) and returns its
/// result, which must not be a Python object.
template <typename Fn> auto withoutGIL(Fn fn) -> decltype(fn()) {
  py::gil_scoped_release release;
  return fn();
}

/// Collects a context's diagnostics as text (with locations and, for parsed
/// text, the source line) for the message of the exception.
class DiagnosticCapture {
public:
  DiagnosticCapture(llvm::SourceMgr &sourceMgr, mlir::MLIRContext *ctx)
      : os(text), handler(sourceMgr, ctx, os) {}
  std::string str() {
    os.flush();
    while (!text.empty() && text.back() == '\n')
      text.pop_back();
    return text;
  }

private:
  std::string text;
  llvm::raw_string_ostream os;
  mlir::SourceMgrDiagnosticHandler handler;
};

//===----------------------------------------------------------------------===//
// Arrays
//===----------------------------------------------------------------------===//

py::dtype numpyDType(DType dtype) {
  switch (dtype) {
  case DType::F32: return py::dtype::of<float>();
  case DType::F64: return py::dtype::of<double>();
  case DType::I32: return py::dtype::of<int32_t>();
  case DType::I64: return py::dtype::of<int64_t>();
  case DType::I8: return py::dtype::of<int8_t>();
  case DType::F16:
    return py::dtype("float16");
  case DType::BF16:
    break; // numpy has none: toNumpy widens
  }
  return py::dtype::of<float>();
}

/// Hands `array` to numpy without a copy: the ndarray owns it. numpy has
/// no bfloat16: such an array comes back as float32 (the same values).
py::array toNumpy(Array array) {
  if (array.dtype() == DType::BF16)
    array = llvm::cantFail(array.convertTo(DType::F32));
  auto *owned = new Array(std::move(array));
  py::capsule free(owned, [](void *p) { delete static_cast<Array *>(p); });
  std::vector<py::ssize_t> shape(owned->shape().begin(), owned->shape().end());
  return py::array(numpyDType(owned->dtype()), shape, owned->data(), free);
}

/// `obj` as a C-ordered, aligned numpy array of `want`'s kind (floating or
/// integer): float16, float32 and float64 (int8, int32 and int64) are kept,
/// other floats become float32 and other integers int64; prepareInputs converts
/// the width. Anything else is a TypeError naming `label`. `writable` asks for
/// an array compiled code may write (a copy of a read-only one).
py::array asNumpy(py::handle obj, bool wantFloat, const std::string &label,
                  bool writable = false) {
  py::module_ np = py::module_::import("numpy");
  py::array a = np.attr("asarray")(obj);
  char kind = a.dtype().kind();
  bool isFloatKind = kind == 'f', isIntKind = kind == 'i' || kind == 'u';
  if (wantFloat ? !isFloatKind : !isIntKind)
    throw py::type_error(label + ": expected an array of " +
                         (wantFloat ? "floating-point" : "integer") +
                         " numbers, got dtype " +
                         py::str(a.dtype()).cast<std::string>());
  py::dtype target = a.dtype();
  auto is = [&](const py::dtype &t) { return target.equal(t); };
  if (wantFloat && !is(py::dtype::of<float>()) &&
      !is(py::dtype::of<double>()) && !is(py::dtype("float16")))
    target = py::dtype::of<float>();
  if (!wantFloat && !is(py::dtype::of<int32_t>()) &&
      !is(py::dtype::of<int64_t>()) && !is(py::dtype::of<int8_t>()))
    target = py::dtype::of<int64_t>();
  // Native byte order, C order, aligned: what compiled code reads.
  bool usable = target.equal(a.dtype()) &&
                (a.flags() & py::array::c_style) &&
                a.attr("flags").attr("aligned").cast<bool>() &&
                a.dtype().attr("isnative").cast<bool>() &&
                (!writable || a.writeable());
  if (usable)
    return a;
  return np.attr("array")(a, py::arg("dtype") = target, py::arg("order") = "C",
                          py::arg("copy") = true);
}

DType dtypeOfNumpy(const py::array &a) {
  if (a.dtype().equal(py::dtype::of<float>()))
    return DType::F32;
  if (a.dtype().equal(py::dtype::of<double>()))
    return DType::F64;
  if (a.dtype().equal(py::dtype::of<int32_t>()))
    return DType::I32;
  if (a.dtype().equal(py::dtype("float16")))
    return DType::F16;
  if (a.dtype().equal(py::dtype::of<int8_t>()))
    return DType::I8;
  return DType::I64;
}

/// A view of a numpy array prepared by asNumpy (which must outlive it).
Array viewOf(const py::array &a) {
  llvm::SmallVector<int64_t> shape(a.shape(), a.shape() + a.ndim());
  return Array::view(dtypeOfNumpy(a), shape, const_cast<void *>(a.data()));
}

//===----------------------------------------------------------------------===//
// Programs
//===----------------------------------------------------------------------===//

/// A compiled program: the module as given (for ir()), and its JIT.
class Program {
public:
  /// Parses `text` (named `name` in diagnostics) and compiles it.
  static std::unique_ptr<Program> parse(const std::string &text,
                                        const std::string &name,
                                        const JitOptions &options) {
    std::unique_ptr<Program> p(new Program(options));
    std::string diagnostics;
    withoutGIL([&] {
      p->sourceMgr.AddNewSourceBuffer(
          llvm::MemoryBuffer::getMemBufferCopy(text, name), llvm::SMLoc());
      DiagnosticCapture capture(p->sourceMgr, p->ctx.get());
      p->input = mlir::parseSourceFile<mlir::ModuleOp>(p->sourceMgr,
                                                       p->ctx.get());
      diagnostics = capture.str();
    });
    if (!p->input)
      raise(name + ": the program does not parse or verify" +
                (diagnostics.empty() ? "" : ":\n" + diagnostics),
            Raise::Compile);
    p->compile();
    return p;
  }

  /// Compiles a module a builder made in `ctx`.
  static std::unique_ptr<Program>
  built(std::unique_ptr<mlir::MLIRContext> ctx,
        mlir::OwningOpRef<mlir::ModuleOp> module, const JitOptions &options) {
    std::unique_ptr<Program> p(new Program(options, std::move(ctx)));
    p->input = std::move(module);
    p->compile();
    return p;
  }

  std::vector<std::string> functions() const { return names; }

  /// {"args": [(dtype, shape, type)], "results": [...]}; '?' dims are None.
  py::dict signature(const std::string &name) const {
    const FunctionSig *sig = unwrap(jit->signature(name), Raise::Value);
    auto list = [](llvm::ArrayRef<TensorSig> sigs) {
      py::list out;
      for (const TensorSig &s : sigs) {
        py::list shape;
        for (int64_t d : s.shape)
          shape.append(d == mlir::ShapedType::kDynamic ? py::object(py::none())
                                                       : py::int_(d));
        out.append(py::make_tuple(dtypeName(s.dtype).str(), py::tuple(shape),
                                  s.type));
      }
      return out;
    };
    py::dict d;
    d["args"] = list(sig->args);
    d["results"] = list(sig->results);
    return d;
  }

  /// Calls `name` on `args`; returns the list of its results.
  py::list call(const std::string &name, const py::sequence &args) {
    const FunctionSig *sig = unwrap(jit->signature(name), Raise::Value);
    if (args.size() != sig->args.size())
      throw py::type_error("@" + name + " takes " +
                           std::to_string(sig->args.size()) +
                           " argument(s), got " + std::to_string(args.size()));
    std::vector<py::array> keep;
    llvm::SmallVector<Array> inputs;
    std::vector<std::string> labels;
    for (size_t i = 0; i < args.size(); ++i) {
      const TensorSig &want = sig->args[i];
      labels.push_back("argument #" + std::to_string(i) + " of @" + name);
      keep.push_back(asNumpy(args[i], isFloat(want.dtype), labels.back()));
      // Arguments are inputs: a memref argument the function may write
      // gets a private copy, never the caller's array.
      if (llvm::StringRef(want.type).starts_with("memref"))
        inputs.push_back(
            llvm::cantFail(viewOf(keep.back()).convertTo(
                dtypeOfNumpy(keep.back()))));
      else
        inputs.push_back(viewOf(keep.back()));
    }
    if (llvm::Error err = prepareInputs(*sig, inputs, labels))
      raise(std::move(err), Raise::Value);
    llvm::SmallVector<const Array *> ptrs;
    for (const Array &a : inputs)
      ptrs.push_back(&a);
    auto results = unwrap(withoutGIL([&] { return jit->call(name, ptrs); }),
                          Raise::Runtime);
    py::list out;
    for (Array &r : results)
      out.append(toNumpy(std::move(r)));
    return out;
  }

  /// The program at `stageName`: "input" (as given), the IR after a pass
  /// of the pipeline (its argument, e.g. "ssm-lower-to-vector": each op the
  /// pass ran on, as --mlir-print-ir-after prints it), "llvm-dialect" (the
  /// end of --ssm-to-llvm) or "llvm" (the optimised LLVM IR). "ssm" and
  /// "mlir" are accepted for "input" and "llvm-dialect", as ssm-run's --emit
  /// spells them.
  std::string ir(const std::string &stageName) {
    std::lock_guard<std::mutex> lock(mutex);
    std::string stage = stageName == "ssm"    ? "input"
                        : stageName == "mlir" ? "llvm-dialect"
                                              : stageName;
    std::string out;
    if (stage == "input") {
      llvm::raw_string_ostream os(out);
      input->print(os);
      return out;
    }
    std::string diagnostics, dump, llvmIR;
    bool ok = true;
    std::vector<std::string> passes;
    withoutGIL([&] {
      mlir::OwningOpRef<mlir::ModuleOp> module = input->clone();
      DiagnosticCapture capture(sourceMgr, ctx.get());
      // The printer needs one pass at a time.
      bool threaded = ctx->isMultithreadingEnabled();
      ctx->disableMultithreading();
      llvm::raw_string_ostream dumpOS(dump);
      llvm::Error err = lowerToLLVMDialect(
          *module, options, [&](mlir::PassManager &pm) {
            auto after = [&, stage](mlir::Pass *pass, mlir::Operation *) {
              std::string arg = pass->getArgument().str();
              if (!arg.empty() && !llvm::is_contained(passes, arg))
                passes.push_back(arg);
              return arg == stage;
            };
            pm.enableIRPrinting(
                [](mlir::Pass *, mlir::Operation *) { return false; }, after,
                /*printModuleScope=*/false, /*printAfterOnlyOnChange=*/false,
                /*printAfterOnlyOnFailure=*/false, dumpOS);
          });
      ctx->enableMultithreading(threaded);
      if (err) {
        ok = false;
        diagnostics = llvm::toString(std::move(err)) + "\n" + capture.str();
      } else if (stage == "llvm-dialect") {
        llvm::raw_string_ostream os(out);
        module->print(os);
      } else if (stage == "llvm") {
        llvm::Expected<std::string> text = emitLLVMIR(*module, options);
        if (text) {
          llvmIR = std::move(*text);
        } else {
          ok = false;
          diagnostics = llvm::toString(text.takeError());
        }
      }
    });
    if (!ok)
      raise(diagnostics, Raise::Compile);
    if (stage == "llvm")
      return llvmIR;
    if (stage == "llvm-dialect")
      return out;
    if (dump.empty()) {
      std::string known = "input";
      for (const std::string &p : passes)
        known += ", " + p;
      raise("unknown stage '" + stage + "'; the stages of this program are: " +
                known + ", llvm-dialect, llvm",
            Raise::Value);
    }
    return dump;
  }

private:
  explicit Program(const JitOptions &options,
                   std::unique_ptr<mlir::MLIRContext> ctx = nullptr)
      : options(options),
        ctx(ctx ? std::move(ctx) : createRunnerContext()) {}

  void compile() {
    std::string diagnostics;
    auto compiled = withoutGIL([&] {
      DiagnosticCapture capture(sourceMgr, ctx.get());
      // JitProgram lowers its module in place: keep `input` as given.
      mlir::OwningOpRef<mlir::ModuleOp> module = input->clone();
      auto result = JitProgram::compile(*module, options);
      diagnostics = capture.str();
      return result;
    });
    jit = unwrap(std::move(compiled), Raise::Compile, diagnostics);
    for (auto func : input->getOps<mlir::func::FuncOp>())
      if (!func.isExternal() && func.isPublic())
        names.push_back(func.getName().str());
  }

  JitOptions options;
  std::unique_ptr<mlir::MLIRContext> ctx;
  llvm::SourceMgr sourceMgr;
  mlir::OwningOpRef<mlir::ModuleOp> input;
  std::unique_ptr<JitProgram> jit;
  std::vector<std::string> names;
  std::mutex mutex; ///< ir() toggles the context's threading
};

std::optional<llvm::SmallVector<int64_t>>
optionalShape(const std::optional<std::vector<int64_t>> &shape) {
  if (!shape)
    return std::nullopt;
  return llvm::SmallVector<int64_t>(shape->begin(), shape->end());
}

llvm::SmallVector<int64_t> shapeOf(const std::vector<int64_t> &shape) {
  return llvm::SmallVector<int64_t>(shape.begin(), shape.end());
}

/// Builds a module in a fresh context; contract violations are ValueErrors.
template <typename BuildFn>
std::unique_ptr<Program> buildAndCompile(BuildFn build,
                                         const JitOptions &options) {
  std::unique_ptr<mlir::MLIRContext> ctx = createRunnerContext();
  auto module = unwrap(build(*ctx), Raise::Value);
  return Program::built(std::move(ctx), std::move(module), options);
}

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

/// A MambaLM; calls are serialised (it compiles a program per batch size
/// on first use).
class LanguageModel {
public:
  static std::unique_ptr<LanguageModel> load(const std::string &dir,
                                             const JitOptions &options,
                                             const std::string &weights) {
    WeightPrecision precision = WeightPrecision::Stored;
    if (weights == "float32")
      precision = WeightPrecision::Float32;
    else if (weights == "int8")
      precision = WeightPrecision::Int8;
    else if (weights != "stored")
      throw py::value_error("weights must be 'stored', 'float32' or 'int8', "
                            "got '" +
                            weights + "'");
    auto out = std::make_unique<LanguageModel>();
    out->lm = unwrap(
        withoutGIL([&] { return MambaLM::load(dir, options, precision); }),
        Raise::Runtime);
    return out;
  }

  /// The element type the model keeps its matrices in ("float32",
  /// "bfloat16", "float16", "int8") and the bytes of its weights.
  std::string matrixDType() const {
    return dtypeName(lm->matrixType()).str();
  }
  size_t weightBytes() const { return lm->weightBytes(); }
  int64_t programsFromCache() const { return lm->programsFromCache(); }

  py::dict config() const {
    const MambaConfig &c = lm->config();
    py::dict d;
    d["d_model"] = c.dModel;
    d["n_layer"] = c.nLayer;
    d["d_state"] = c.dState;
    d["d_conv"] = c.dConv;
    d["d_inner"] = c.dInner;
    d["dt_rank"] = c.dtRank;
    d["vocab_size"] = c.vocabSize;
    d["layer_norm_epsilon"] = c.eps;
    d["use_bias"] = c.useBias;
    d["use_conv_bias"] = c.useConvBias;
    d["tie_embeddings"] = c.tieEmbeddings;
    d["eos_token_ids"] =
        std::vector<int64_t>(c.eosTokenIds.begin(), c.eosTokenIds.end());
    return d;
  }

  py::tuple initialState(int64_t batch) const {
    if (batch < 1)
      throw py::value_error("batch must be at least 1, got " +
                            std::to_string(batch));
    MambaLM::State s = lm->initialState(batch);
    return py::make_tuple(toNumpy(std::move(s.conv)),
                          toNumpy(std::move(s.ssm)));
  }

  /// (logits, conv, ssm) after running `tokens` (b, L) from (conv, ssm);
  /// with `lastOnly`, the logits of the last position, (b, 1, vocab).
  py::tuple forward(const py::handle &tokensIn, const py::handle &convIn,
                    const py::handle &ssmIn, bool lastOnly) {
    py::array tokens = asNumpy(tokensIn, /*wantFloat=*/false, "tokens");
    // The compiled model updates the states in place.
    py::array conv = asNumpy(convIn, true, "the conv state", true);
    py::array ssm = asNumpy(ssmIn, true, "the ssm state", true);
    Array tokenView = viewOf(tokens);
    MambaLM::State state = stateOf(conv, ssm, tokenView);
    Array logits = unwrap(withoutGIL([&] {
                            std::lock_guard<std::mutex> lock(mutex);
                            return lm->forward(tokenView, state, nullptr,
                                               lastOnly ? LMLogits::Last
                                                        : LMLogits::All);
                          }),
                          Raise::Value);
    return py::make_tuple(toNumpy(std::move(logits)),
                          stateResult(std::move(state.conv), conv),
                          stateResult(std::move(state.ssm), ssm));
  }

  /// (log-probabilities (b, L - 1) float64, conv, ssm) of `tokens` (b, L)
  /// from (conv, ssm): MambaLM::score.
  py::tuple score(const py::handle &tokensIn, const py::handle &convIn,
                  const py::handle &ssmIn, int64_t chunk) {
    py::array tokens = asNumpy(tokensIn, /*wantFloat=*/false, "tokens");
    // The compiled model updates the states in place.
    py::array conv = asNumpy(convIn, true, "the conv state", true);
    py::array ssm = asNumpy(ssmIn, true, "the ssm state", true);
    Array tokenView = viewOf(tokens);
    MambaLM::State state = stateOf(conv, ssm, tokenView);
    Array logprobs = unwrap(withoutGIL([&] {
                              std::lock_guard<std::mutex> lock(mutex);
                              return lm->score(tokenView, state, chunk);
                            }),
                            Raise::Value);
    return py::make_tuple(toNumpy(std::move(logprobs)),
                          stateResult(std::move(state.conv), conv),
                          stateResult(std::move(state.ssm), ssm));
  }

  /// (logits (b, 1, vocab), conv, ssm) after running prompts of any
  /// lengths from (conv, ssm): MambaLM::prefill.
  py::tuple prefillPrompts(const std::vector<std::vector<int64_t>> &prompts,
                           const py::handle &convIn, const py::handle &ssmIn) {
    // The compiled model updates the states in place.
    py::array conv = asNumpy(convIn, true, "the conv state", true);
    py::array ssm = asNumpy(ssmIn, true, "the ssm state", true);
    MambaLM::State state = stateOf(
        conv, ssm, Array(DType::I64, {static_cast<int64_t>(prompts.size())}));
    const llvm::SmallVector<llvm::ArrayRef<int64_t>> refs(prompts.begin(),
                                                          prompts.end());
    Array logits = unwrap(withoutGIL([&] {
                            std::lock_guard<std::mutex> lock(mutex);
                            return lm->prefill(refs, state);
                          }),
                          Raise::Value);
    return py::make_tuple(toNumpy(std::move(logits)),
                          stateResult(std::move(state.conv), conv),
                          stateResult(std::move(state.ssm), ssm));
  }

  /// (tokens (b, n), lengths (b,), conv, ssm): decoding after `logits`,
  /// greedy or sampled as `sampling` says, each sequence up to `steps`
  /// tokens or its first stop token (MambaLM::decode). `callback`, unless
  /// None, is called with each step's tokens ((b,) int64) and ends decoding
  /// when it returns true; an exception in it ends decoding and is raised.
  py::tuple decode(const py::handle &logitsIn, int64_t steps,
                   const py::handle &convIn, const py::handle &ssmIn,
                   double temperature, int64_t topK, double topP, uint64_t seed,
                   const std::vector<int64_t> &stopTokens,
                   py::object callback) {
    SamplingOptions sampling;
    sampling.temperature = temperature;
    sampling.topK = topK;
    sampling.topP = topP;
    sampling.seed = seed;
    if (llvm::Error e = sampling.validate())
      throw py::value_error(llvm::toString(std::move(e)));
    if (steps < 1)
      throw py::value_error("the number of steps must be at least 1, got " +
                            std::to_string(steps));
    py::array logits = asNumpy(logitsIn, true, "logits");
    // The compiled model updates the states in place.
    py::array conv = asNumpy(convIn, true, "the conv state", true);
    py::array ssm = asNumpy(ssmIn, true, "the ssm state", true);
    Array logitsView = viewOf(logits);
    if (logitsView.dtype() != DType::F32)
      logitsView = llvm::cantFail(logitsView.convertTo(DType::F32));
    if (logitsView.rank() != 3)
      throw py::value_error("logits must be (batch, length, vocab), got " +
                            shapeString(logitsView.shape()));
    Array batchOnly(DType::I64, {logitsView.shape()[0], 1});
    MambaLM::State state = stateOf(conv, ssm, batchOnly);
    // Called from this thread without the GIL.
    std::optional<py::error_already_set> callbackError;
    auto onStep = [&](int64_t, llvm::ArrayRef<int64_t> tokens) {
      py::gil_scoped_acquire acquire;
      try {
        py::array_t<int64_t> t(static_cast<py::ssize_t>(tokens.size()));
        std::copy(tokens.begin(), tokens.end(), t.mutable_data());
        return py::bool_(callback(t)).cast<bool>();
      } catch (py::error_already_set &e) {
        callbackError = std::move(e);
        return true;
      }
    };
    auto generated = withoutGIL([&] {
      std::lock_guard<std::mutex> lock(mutex);
      return lm->decode(logitsView, steps, state, sampling, stopTokens,
                        callback.is_none() ? MambaLM::StepCallback()
                                           : MambaLM::StepCallback(onStep));
    });
    if (callbackError) {
      if (!generated)
        llvm::consumeError(generated.takeError());
      throw std::move(*callbackError);
    }
    MambaLM::Generated out = unwrap(std::move(generated), Raise::Value);
    Array lengths(DType::I64, {static_cast<int64_t>(out.lengths.size())});
    std::copy(out.lengths.begin(), out.lengths.end(), lengths.as<int64_t>());
    return py::make_tuple(toNumpy(std::move(out.tokens)),
                          toNumpy(std::move(lengths)),
                          stateResult(std::move(state.conv), conv),
                          stateResult(std::move(state.ssm), ssm));
  }

private:
  /// A state after a call: the numpy array it came from when the model
  /// updated that array in place (`state` is then a view of it), else its
  /// own new array (a float64 state was converted to a float32 copy).
  static py::array stateResult(Array state, const py::array &from) {
    if (state.data() == from.data())
      return from;
    return toNumpy(std::move(state));
  }

  /// Views of the state arrays, checked against the model and the batch of
  /// `tokens` (float64 states are converted).
  MambaLM::State stateOf(const py::array &conv, const py::array &ssm,
                         const Array &tokens) const {
    MambaLM::State state{viewOf(conv), viewOf(ssm)};
    for (Array *a : {&state.conv, &state.ssm})
      if (a->dtype() != DType::F32)
        *a = llvm::cantFail(a->convertTo(DType::F32));
    int64_t batch = tokens.rank() >= 1 ? tokens.shape()[0] : 0;
    if (llvm::Error err = lm->checkState(state, batch))
      raise(std::move(err), Raise::Value);
    return state;
  }

  std::unique_ptr<MambaLM> lm;
  std::mutex mutex;
};

//===----------------------------------------------------------------------===//
// Tasks
//===----------------------------------------------------------------------===//

py::list listTasks() {
  py::list out;
  for (const tasks::TaskInfo &t : tasks::allTasks()) {
    py::list options;
    for (const tasks::TaskOption &o : t.options) {
      py::dict d;
      d["name"] = o.name;
      d["default"] = o.defaultValue;
      d["help"] = o.help;
      d["flag"] = o.flag;
      options.append(d);
    }
    py::dict d;
    d["name"] = t.name;
    d["summary"] = t.summary;
    d["options"] = options;
    out.append(d);
  }
  return out;
}

py::dict runTask(const std::string &name,
                 const std::map<std::string, std::string> &options,
                 const JitOptions &jit, py::object progress) {
  llvm::StringMap<std::string> values;
  for (const auto &[k, v] : options)
    values[k] = v;
  tasks::TaskContext context;
  context.jit = jit;
  // The task calls back from this thread without the GIL; an exception in
  // the callback is raised once the task returns (it cannot be stopped).
  std::optional<py::error_already_set> callbackError;
  if (!progress.is_none())
    context.progress = [&](const std::string &line) {
      py::gil_scoped_acquire acquire;
      if (callbackError)
        return;
      try {
        progress(line);
      } catch (py::error_already_set &e) {
        callbackError = std::move(e);
      }
    };
  auto report =
      withoutGIL([&] { return tasks::runTask(name, values, context); });
  if (callbackError) {
    if (!report)
      llvm::consumeError(report.takeError());
    throw std::move(*callbackError);
  }
  if (!report)
    raise("task " + name + ": " + llvm::toString(report.takeError()),
          Raise::Value);
  py::dict d;
  d["title"] = report->title;
  d["columns"] = report->columns;
  d["rows"] = report->rows;
  d["lines"] = report->lines;
  d["passed"] = report->passed;
  d["wall_seconds"] = report->wallSeconds;
  d["target"] = report->target;
  d["table"] = report->table();
  d["csv"] = report->csv();
  return d;
}

} // namespace

PYBIND11_MODULE(_ssm_mlir, m) {
  m.doc() = "ssm-mlir's C++ API (private; use the ssm_mlir package)";

  // Translators run most recent first: CompileError before its base.
  auto &error = py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
  py::register_exception<CompileError>(m, "CompileError", error.ptr());

  py::class_<JitOptions>(m, "JitOptions")
      .def(py::init<>())
      .def_readwrite("opt_level", &JitOptions::optLevel)
      .def_readwrite("cpu", &JitOptions::cpu)
      .def_readwrite("features", &JitOptions::features)
      .def_readwrite("reference", &JitOptions::reference)
      .def_readwrite("vector_width", &JitOptions::vectorWidth)
      .def_readwrite("packed_from_rows", &JitOptions::packedFromRows)
      .def_readwrite("threads", &JitOptions::numThreads)
      .def_readwrite("parallel_scan", &JitOptions::parallelScan)
      // The GPU kernels' options (ssm-run's --chip and --gpu-*), validated
      // by ssm_mlir._cache.jit_options.
      .def_readwrite("gpu_chip", &JitOptions::gpuChip)
      .def_readwrite("gpu_items", &JitOptions::gpuItemsPerThread)
      .def_readwrite("gpu_threads", &JitOptions::gpuMaxThreads)
      .def_readwrite("gpu_states", &JitOptions::gpuStatesPerIteration)
      .def_readwrite("gpu_prefetch", &JitOptions::gpuPrefetch)
      .def_readwrite("gpu_scan", &JitOptions::gpuStrategy)
      .def_readwrite("gpu_channel_threads", &JitOptions::gpuThreadsPerChannel)
      .def_readwrite("gpu_all_kernels", &JitOptions::gpuAllKernels)
      .def_readwrite("gpu_tiled_from_rows", &JitOptions::gpuTiledFromRows)
      .def_property(
          "target",
          [](const JitOptions &o) -> std::string {
            return o.target == Target::NVPTX         ? "nvptx"
                   : o.target == Target::GPUEmulator ? "gpu-emulator"
                                                     : "cpu";
          },
          [](JitOptions &o, const std::string &v) {
            if (v == "nvptx")
              o.target = Target::NVPTX;
            else if (v == "gpu-emulator")
              o.target = Target::GPUEmulator;
            else if (v == "cpu")
              o.target = Target::CPU;
            else
              throw py::value_error("target must be cpu, nvptx or "
                                    "gpu-emulator, got '" +
                                    v + "'");
          });

  py::class_<Program>(m, "Program")
      .def_static("parse", &Program::parse, py::arg("text"), py::arg("name"),
                  py::arg("options"))
      .def_property_readonly("functions", &Program::functions)
      .def("signature", &Program::signature, py::arg("name"))
      .def("call", &Program::call, py::arg("name"), py::arg("args"))
      .def("ir", &Program::ir, py::arg("stage"));

  m.def(
      "build_selective_scan",
      [](const std::vector<int64_t> &u, const std::vector<int64_t> &delta,
         const std::vector<int64_t> &A, const std::vector<int64_t> &B,
         const std::vector<int64_t> &C,
         const std::optional<std::vector<int64_t>> &D,
         const std::optional<std::vector<int64_t>> &z,
         const std::optional<std::vector<int64_t>> &deltaBias,
         const std::optional<std::vector<int64_t>> &h0, bool deltaSoftplus,
         bool returnLastState, const JitOptions &options) {
        SelectiveScanSpec spec;
        spec.u = shapeOf(u);
        spec.delta = shapeOf(delta);
        spec.A = shapeOf(A);
        spec.B = shapeOf(B);
        spec.C = shapeOf(C);
        spec.D = optionalShape(D);
        spec.z = optionalShape(z);
        spec.deltaBias = optionalShape(deltaBias);
        spec.h0 = optionalShape(h0);
        spec.deltaSoftplus = deltaSoftplus;
        spec.returnLastState = returnLastState;
        return buildAndCompile(
            [&](mlir::MLIRContext &ctx) {
              return buildSelectiveScanModule(ctx, spec);
            },
            options);
      },
      "A compiled ssm.selective_scan of these shapes (function "
      "'selective_scan'); shapes that break the contract raise ValueError.",
      py::arg("u"), py::arg("delta"), py::arg("A"), py::arg("B"), py::arg("C"),
      py::arg("D"), py::arg("z"), py::arg("delta_bias"), py::arg("h0"),
      py::arg("delta_softplus"), py::arg("return_last_state"),
      py::arg("options"));

  m.def(
      "build_causal_conv1d",
      [](const std::vector<int64_t> &x, const std::vector<int64_t> &weight,
         const std::optional<std::vector<int64_t>> &bias,
         const std::optional<std::vector<int64_t>> &initialStates, bool silu,
         bool returnFinalStates, const JitOptions &options) {
        CausalConv1dSpec spec;
        spec.x = shapeOf(x);
        spec.weight = shapeOf(weight);
        spec.bias = optionalShape(bias);
        spec.initialStates = optionalShape(initialStates);
        spec.silu = silu;
        spec.returnFinalStates = returnFinalStates;
        return buildAndCompile(
            [&](mlir::MLIRContext &ctx) {
              return buildCausalConv1dModule(ctx, spec);
            },
            options);
      },
      "A compiled ssm.causal_conv1d of these shapes (function "
      "'causal_conv1d').",
      py::arg("x"), py::arg("weight"), py::arg("bias"),
      py::arg("initial_states"), py::arg("silu"),
      py::arg("return_final_states"), py::arg("options"));

  py::class_<LanguageModel>(m, "MambaLM")
      .def_static("load", &LanguageModel::load, py::arg("directory"),
                  py::arg("options"), py::arg("weights") = "stored")
      .def_property_readonly("config", &LanguageModel::config)
      .def_property_readonly("matrix_dtype", &LanguageModel::matrixDType)
      .def_property_readonly("weight_bytes", &LanguageModel::weightBytes)
      .def_property_readonly("programs_from_cache",
                             &LanguageModel::programsFromCache)
      .def("initial_state", &LanguageModel::initialState, py::arg("batch"))
      .def("forward", &LanguageModel::forward, py::arg("tokens"),
           py::arg("conv"), py::arg("ssm"), py::arg("last_only") = false)
      .def("decode", &LanguageModel::decode, py::arg("logits"),
           py::arg("steps"), py::arg("conv"), py::arg("ssm"),
           py::arg("temperature") = 0.0, py::arg("top_k") = 0,
           py::arg("top_p") = 1.0, py::arg("seed") = 0,
           py::arg("stop_tokens") = std::vector<int64_t>{},
           py::arg("callback") = py::none())
      .def("score", &LanguageModel::score, py::arg("tokens"), py::arg("conv"),
           py::arg("ssm"), py::arg("chunk") = 0)
      .def("prefill_prompts", &LanguageModel::prefillPrompts,
           py::arg("prompts"), py::arg("conv"), py::arg("ssm"));

  m.def(
      "quantize_rows",
      [](py::handle w) {
        py::array a = asNumpy(w, /*wantFloat=*/true, "w");
        auto out = unwrap(quantizeRows(viewOf(a), "w"), Raise::Value);
        return py::make_tuple(toNumpy(std::move(out.first)),
                              toNumpy(std::move(out.second)));
      },
      "(q, scale): a float matrix as int8 rows and one float32 scale per "
      "row, the operands of ssm.dequantize (what MambaLM's weights='int8' "
      "does to each matrix).",
      py::arg("w"));

  py::class_<Tokenizer>(m, "Tokenizer")
      .def_static(
          "load",
          [](const std::string &path) {
            return unwrap(Tokenizer::load(path), Raise::Runtime);
          },
          py::arg("path"))
      .def_property_readonly("vocab_size", &Tokenizer::vocabSize)
      .def(
          "token_id",
          [](const Tokenizer &t, const std::string &token) {
            return t.tokenId(token);
          },
          py::arg("token"))
      .def(
          "encode",
          [](const Tokenizer &t, const std::string &text) {
            return unwrap(t.encode(text), Raise::Value);
          },
          py::arg("text"))
      .def(
          "decode",
          [](const Tokenizer &t, const std::vector<int64_t> &ids,
             bool skipSpecial) {
            return unwrap(t.decode(ids, skipSpecial), Raise::Value);
          },
          py::arg("ids"), py::arg("skip_special_tokens"));
  m.def(
      "normalize_nfc",
      [](const std::string &text) {
        return unwrap(normalizeNFC(text), Raise::Value);
      },
      "The NFC form of a string, by the tokenizer's own tables (for tests "
      "against unicodedata).",
      py::arg("text"));
  m.attr("unicode_version") = tokenizerUnicodeVersion().str();

  m.def("list_tasks", &listTasks);
  m.def("run_task", &runTask, py::arg("name"), py::arg("options"),
        py::arg("jit"), py::arg("progress"));
}
