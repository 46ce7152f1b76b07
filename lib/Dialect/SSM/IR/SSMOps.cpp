//===- SSMOps.cpp - verifiers of the ssm operations -----------------------===//
//
// The verifiers check ranks, every shape relation between operands and the
// element types, and say in their messages which operand is wrong, what shape
// the layout expects, and which operand fixed the dimension that disagrees.
// The same descriptions of the shapes make each op's run-time checks of the
// relations between dynamic sizes (RuntimeVerifiableOpInterface; the pass
// ssm-runtime-verification, docs/runtime-checks.md).
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Binds the symbolic dimensions of an op (b, d, L, n, ...) to the first
/// static size seen, and reports an operand whose shape disagrees.
///
/// The same description of an op's shapes (its verifyOp below) also makes
/// its run-time checks: a recording binder keeps every dimension it was
/// given, and emitRuntimeChecks compares each dynamic one with the size its
/// symbol has (a static size seen elsewhere, or the first operand's
/// dimension), plus the requirements a verifier checks on static sizes only
/// (at least one tap, groups that divide the channels, ...).
class DimBinder {
public:
  explicit DimBinder(Operation *op, StringRef layout = "",
                     bool recording = false)
      : op(op), layout(layout), recording(recording) {}

  /// Checks `v` against the symbolic shape `syms`. A symbol may carry a
  /// private suffix after '@' (e.g. "g@B") that keeps two operands' groups
  /// apart while printing both as "g".
  LogicalResult bind(Value v, StringRef name, ArrayRef<StringRef> syms) {
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getRank() != static_cast<int64_t>(syms.size()))
      return op->emitOpError()
             << kind(v) << " '" << name << "' must be a rank-" << syms.size()
             << " tensor " << spell(syms) << layoutNote() << ", got " << type;
    for (auto [i, sym] : llvm::enumerate(syms)) {
      if (recording) {
        auto [it, inserted] = seenIndex.try_emplace(sym, seen.size());
        if (inserted)
          seen.push_back({sym.str(), {}});
        seen[it->second].second.push_back(
            {v, static_cast<int64_t>(i), name.str(), spell(syms)});
      }
      if (type.isDynamicDim(i))
        continue;
      int64_t size = type.getDimSize(i);
      auto it = known.find(sym);
      if (it == known.end()) {
        known[sym] = {size, name.str()};
        continue;
      }
      if (it->second.first != size)
        return op->emitOpError()
               << kind(v) << " '" << name << "' " << spell(syms) << layoutNote()
               << " has " << display(sym) << " = " << size << " in dimension "
               << i << ", but '" << it->second.second << "' has "
               << display(sym) << " = " << it->second.first << " (got " << type
               << ")";
    }
    return success();
  }

  /// Fixes a symbol from a derived quantity (e.g. k-1 from the weight).
  void define(StringRef sym, int64_t value, StringRef source) {
    known[sym] = {value, source.str()};
  }

  /// At run time, `sym` is `base + offset` where `base` is dynamic (the
  /// conv state's k-1 from a weight of dynamic k).
  void defineOffset(StringRef sym, StringRef base, int64_t offset) {
    if (recording)
      offsets[sym] = {base.str(), offset};
  }

  /// At run time, where `sym` is dynamic: it is at least `min`.
  void requireAtLeast(StringRef sym, int64_t min, const Twine &what) {
    if (recording)
      requirements.push_back({sym.str(), "", min, what.str()});
  }

  /// At run time, where either is dynamic: `divisor` (a symbol) is not 0
  /// and divides `dividend` (a symbol).
  void requireDivides(StringRef divisor, StringRef dividend,
                      const Twine &what) {
    if (recording)
      requirements.push_back({dividend.str(), divisor.str(), 0, what.str()});
  }

  std::optional<int64_t> get(StringRef sym) const {
    auto it = known.find(sym);
    if (it == known.end())
      return std::nullopt;
    return it->second.first;
  }

  /// Emits, before the op, a cf.assert for each recorded dimension that was
  /// dynamic and each requirement on a dynamic size, with `message`'s text
  /// for what it checks.
  void
  emitRuntimeChecks(OpBuilder &b, Location loc,
                    function_ref<std::string(Operation *, StringRef)> message) {
    llvm::StringMap<Size> sizes;
    // A symbol's size at run time, built on first use: a static size seen
    // or defined (the verifier's `known`), another symbol's plus an offset,
    // or the first dynamic operand dimension bound to it.
    std::function<std::optional<Size>(StringRef)> sizeOf =
        [&](StringRef sym) -> std::optional<Size> {
      if (auto it = sizes.find(sym); it != sizes.end())
        return it->second;
      std::optional<Size> s;
      if (auto k = known.find(sym); k != known.end()) {
        s = Size{arith::ConstantIndexOp::create(b, loc, k->second.first),
                 k->second.second, nullptr, k->second.first};
      } else if (auto o = offsets.find(sym); o != offsets.end()) {
        if (std::optional<Size> base = sizeOf(o->second.first)) {
          Value offset =
              arith::ConstantIndexOp::create(b, loc, o->second.second);
          s = Size{arith::AddIOp::create(b, loc, base->value, offset),
                   base->source, nullptr, std::nullopt};
        }
      } else if (auto d = seenIndex.find(sym); d != seenIndex.end()) {
        for (const Dim &dim : seen[d->second].second)
          if (!isResult(dim.value)) {
            s = Size{tensor::DimOp::create(b, loc, dim.value, dim.index),
                     dim.name, &dim, std::nullopt};
            break;
          }
      }
      if (s)
        sizes[sym] = *s;
      return s;
    };
    auto check = [&](Value ok, const Twine &what) {
      cf::AssertOp::create(b, loc, ok, message(op, what.str()));
    };

    // What each size must be on its own (taps, groups) first, then how the
    // sizes agree.
    for (const Requirement &r : requirements) {
      // What is static the verifier has checked.
      if (get(r.sym) && (r.divisor.empty() || get(r.divisor)))
        continue;
      std::optional<Size> value = sizeOf(r.sym);
      if (!value)
        continue;
      if (r.divisor.empty()) {
        Value min = arith::ConstantIndexOp::create(b, loc, r.min);
        check(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                    value->value, min),
              r.what);
        continue;
      }
      std::optional<Size> divisor = sizeOf(r.divisor);
      if (!divisor)
        continue;
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      if (!divisor->constant)
        check(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                    divisor->value, zero),
              r.what);
      // Divided by at least 1: the remainder is computed before the
      // assert above stops a program whose divisor is 0.
      Value safe = arith::MaxUIOp::create(b, loc, divisor->value, one);
      Value rem = arith::RemUIOp::create(b, loc, value->value, safe);
      check(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rem, zero),
            r.what);
    }

    for (auto &[sym, dims] : seen) {
      // Results are what the op makes: their static sizes constrain the
      // operands (through `known`), their dynamic ones nothing.
      SmallVector<const Dim *> dynamic;
      for (const Dim &d : dims)
        if (!isResult(d.value) && isDynamic(d))
          dynamic.push_back(&d);
      // Without a static size, the first dynamic operand is the reference:
      // nothing to compare unless there is a second.
      bool fixed = known.count(sym) || offsets.count(sym);
      if (dynamic.empty() || (!fixed && dynamic.size() < 2))
        continue;
      std::optional<Size> want = sizeOf(sym);
      if (!want)
        continue;
      for (const Dim *d : dynamic) {
        if (want->from == d)
          continue;
        Value have = tensor::DimOp::create(b, loc, d->value, d->index);
        Value eq = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, have,
                                         want->value);
        std::string value =
            want->constant ? " = " + std::to_string(*want->constant) : "";
        check(eq, "operand '" + d->name + "' " + d->spelled + layoutNote() +
                      ": its " + display(sym) + " (dimension " +
                      Twine(d->index) + ") differs from the " + display(sym) +
                      value + " of '" + want->source + "'");
      }
    }
  }

private:
  /// One dimension of an operand or result as it was bound.
  struct Dim {
    Value value;
    int64_t index;
    std::string name, spelled;
  };
  /// A symbol's size at run time, the operand it comes from, the
  /// dimension it was read from (null for a constant or an offset), and
  /// its value where static.
  struct Size {
    Value value;
    std::string source;
    const Dim *from;
    std::optional<int64_t> constant;
  };
  /// sym >= min, or (divisor set) divisor != 0 and divisor divides sym.
  struct Requirement {
    std::string sym, divisor;
    int64_t min;
    std::string what;
  };

  bool isResult(Value v) const { return v.getDefiningOp() == op; }
  static bool isDynamic(const Dim &d) {
    return cast<RankedTensorType>(d.value.getType()).isDynamicDim(d.index);
  }
  StringRef kind(Value v) const { return isResult(v) ? "result" : "operand"; }
  static StringRef display(StringRef sym) { return sym.split('@').first; }
  static std::string spell(ArrayRef<StringRef> syms) {
    std::string s = "(";
    for (auto [i, sym] : llvm::enumerate(syms))
      s += (i ? ", " : "") + display(sym).str();
    return s + ")";
  }
  std::string layoutNote() const {
    return layout.empty() ? "" : (" in " + layout + " layout").str();
  }

  Operation *op;
  StringRef layout;
  bool recording;
  llvm::StringMap<std::pair<int64_t, std::string>> known;
  /// Every dimension bound, by symbol in the order first seen.
  SmallVector<std::pair<std::string, SmallVector<Dim>>> seen;
  llvm::StringMap<size_t> seenIndex;
  llvm::StringMap<std::pair<std::string, int64_t>> offsets;
  SmallVector<Requirement> requirements;
};

/// All operands and results of the scan ops share one real float type.
/// The operands named in `stored` (the weight matrices of the model ops) may
/// also be bf16 or f16: a checkpoint's 16-bit weights kept as they are
/// stored and widened where they are read, which is exact (docs/models.md,
/// "16-bit weights").
LogicalResult verifyElementTypes(Operation *op,
                                 ArrayRef<std::pair<Value, StringRef>> values,
                                 ArrayRef<StringRef> stored = {}) {
  Type expected = cast<ShapedType>(values.front().first.getType()).getElementType();
  StringRef expectedFrom = values.front().second;
  if (!expected.isF32() && !expected.isF64())
    return op->emitOpError() << "element type of '" << expectedFrom
                             << "' must be f32 or f64, got " << expected;
  for (auto [v, name] : values) {
    Type t = cast<ShapedType>(v.getType()).getElementType();
    if (t == expected)
      continue;
    if (llvm::is_contained(stored, name)) {
      if (t.isBF16() || t.isF16())
        continue;
      return op->emitOpError()
             << "element type of '" << name << "' must match '" << expectedFrom
             << "' (" << expected << ") or be bf16 or f16, got " << t;
    }
    return op->emitOpError()
           << "element type of '" << name << "' must match '" << expectedFrom
           << "' (" << expected << "), got " << t;
  }
  return success();
}

StringRef layoutName(Layout layout) { return stringifyLayout(layout); }

/// For the model ops: binds an operand that may be absent (null: nothing to
/// check) and records it for the element-type check.
auto optionalBinder(DimBinder &dims,
                    SmallVector<std::pair<Value, StringRef>> &typed) {
  return [&dims, &typed](Value v, StringRef name,
                         ArrayRef<StringRef> syms) -> LogicalResult {
    if (!v)
      return success();
    typed.push_back({v, name});
    return dims.bind(v, name, syms);
  };
}

/// A block op returns out, then with `states` its conv and ssm states.
LogicalResult verifyStateResultCount(Operation *op, bool states,
                                     size_t newStates) {
  size_t expected = states ? 2 : 0;
  if (newStates == expected)
    return success();
  return op->emitOpError() << (states ? "with 'states' the op returns the "
                                        "conv and ssm states after out"
                                      : "without 'states' the op returns "
                                        "only out")
                           << " (" << expected + 1 << " results), got "
                           << newStates + 1;
}

} // namespace

//===----------------------------------------------------------------------===//
// SelectiveScanOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyOp(SelectiveScanOp op, DimBinder &dims) {
  bool tm = op.isTokenMajor();
  SmallVector<StringRef> act = tm ? SmallVector<StringRef>{"b", "L", "d"}
                                  : SmallVector<StringRef>{"b", "d", "L"};

  if (failed(dims.bind(op.getU(), "u", act)) ||
      failed(dims.bind(op.getDelta(), "delta", act)) ||
      failed(dims.bind(op.getA(), "A", {"d", "n"})))
    return failure();

  auto bindProjection = [&](Value v, StringRef name,
                            StringRef group) -> LogicalResult {
    int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
    if (rank == 2)
      return dims.bind(v, name, {"d", "n"});
    if (rank == 3)
      return dims.bind(v, name,
                       tm ? SmallVector<StringRef>{"b", "L", "n"}
                          : SmallVector<StringRef>{"b", "n", "L"});
    if (rank == 4) {
      if (failed(dims.bind(v, name,
                           tm ? SmallVector<StringRef>{"b", "L", group, "n"}
                              : SmallVector<StringRef>{"b", group, "n", "L"})))
        return failure();
      dims.requireDivides(group, "d",
                          "operand '" + name +
                              "' must have at least one group (g), and g "
                              "must divide the d channels");
      std::optional<int64_t> g = dims.get(group), d = dims.get("d");
      if (g && *g == 0)
        return op.emitOpError()
               << "operand '" << name << "' must have at least one group";
      if (g && d && *d % *g != 0)
        return op.emitOpError()
               << "operand '" << name << "' has g = " << *g
               << " groups, which does not divide d = " << *d << " channels";
      return success();
    }
    return op.emitOpError()
           << "operand '" << name << "' must be (d, n) time-invariant, "
           << (tm ? "(b, L, n)" : "(b, n, L)") << " variable or "
           << (tm ? "(b, L, g, n)" : "(b, g, n, L)") << " grouped in "
           << layoutName(op.getLayout()) << " layout, got " << v.getType();
  };
  if (failed(bindProjection(op.getB(), "B", "g@B")) ||
      failed(bindProjection(op.getC(), "C", "g@C")))
    return failure();

  // With complex A, the state side (A, B, C, h0, last_state) is complex of
  // the real type of the rest.
  bool complex = op.isComplex();
  SmallVector<std::pair<Value, StringRef>> typed = {
      {op.getU(), "u"}, {op.getDelta(), "delta"}, {op.getY(), "y"}};
  SmallVector<std::pair<Value, StringRef>> stateSide = {
      {op.getA(), "A"}, {op.getB(), "B"}, {op.getC(), "C"}};
  if (!complex)
    typed.append(stateSide.begin(), stateSide.end());
  if (Value D = op.getD()) {
    if (failed(dims.bind(D, "D", {"d"})))
      return failure();
    typed.push_back({D, "D"});
  }
  if (Value z = op.getZ()) {
    if (failed(dims.bind(z, "z", act)))
      return failure();
    typed.push_back({z, "z"});
  }
  if (Value bias = op.getDeltaBias()) {
    if (failed(dims.bind(bias, "delta_bias", {"d"})))
      return failure();
    typed.push_back({bias, "delta_bias"});
  }
  if (Value h0 = op.getH0()) {
    if (failed(dims.bind(h0, "h0", {"b", "d", "n"})))
      return failure();
    (complex ? stateSide : typed).push_back({h0, "h0"});
  }
  if (failed(dims.bind(op.getY(), "y", act)))
    return failure();
  if (Value last = op.getLastState()) {
    if (failed(dims.bind(last, "last_state", {"b", "d", "n"})))
      return failure();
    (complex ? stateSide : typed).push_back({last, "last_state"});
  }
  if (failed(verifyElementTypes(op.getOperation(), typed)))
    return failure();
  if (!complex)
    return success();
  Type expected = ComplexType::get(op.getU().getType().getElementType());
  for (auto [v, name] : stateSide) {
    Type t = cast<ShapedType>(v.getType()).getElementType();
    if (t != expected)
      return op.emitOpError() << "with complex 'A', '" << name << "' must have "
                              << "element type " << expected
                              << " (complex of the type of 'u'), got " << t;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ScanOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyOp(ScanOp op, DimBinder &dims) {
  auto aType = op.getA().getType();
  int64_t rank = cast<RankedTensorType>(aType).getRank();
  if (rank < 1)
    return op.emitOpError() << "operand 'a' must have rank >= 1, got " << aType;
  int64_t dim = op.getDim();
  if (dim < 0 || dim >= rank)
    return op.emitOpError()
           << "dim = " << dim << " is out of range for 'a' of rank " << rank
           << " (expected 0 <= dim < " << rank << ")";

  // Name the lane dimensions of `a` d0, d1, ... and the scanned one L.
  SmallVector<std::string> names;
  for (int64_t i = 0; i < rank; ++i)
    names.push_back(i == dim ? "L" : "d" + std::to_string(i));
  SmallVector<StringRef> full(names.begin(), names.end());
  SmallVector<StringRef> lanes;
  for (int64_t i = 0; i < rank; ++i)
    if (i != dim)
      lanes.push_back(full[i]);

  if (failed(dims.bind(op.getA(), "a", full)) ||
      failed(dims.bind(op.getB(), "b", full)))
    return failure();
  SmallVector<std::pair<Value, StringRef>> typed = {
      {op.getA(), "a"}, {op.getB(), "b"}, {op.getResult(), "result"}};
  if (Value init = op.getInit()) {
    if (failed(dims.bind(init, "init", lanes)))
      return failure();
    typed.push_back({init, "init"});
  }
  if (failed(
          dims.bind(op.getResult(), "result", op.getLastOnly() ? lanes : full)))
    return failure();
  return verifyElementTypes(op.getOperation(), typed);
}

//===----------------------------------------------------------------------===//
// CausalConv1dOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyOp(CausalConv1dOp op, DimBinder &dims) {
  bool tm = op.isTokenMajor();
  SmallVector<StringRef> act = tm ? SmallVector<StringRef>{"b", "L", "d"}
                                  : SmallVector<StringRef>{"b", "d", "L"};
  if (failed(dims.bind(op.getX(), "x", act)) ||
      failed(dims.bind(op.getWeight(), "weight", {"d", "k"})))
    return failure();
  dims.defineOffset("k-1", "k", -1);
  dims.requireAtLeast("k", 1,
                      "operand 'weight' must have at least one tap (k >= 1)");
  std::optional<int64_t> k = dims.get("k");
  if (k && *k < 1)
    return op.emitOpError()
           << "operand 'weight' must have at least one tap (k >= "
              "1), got "
           << op.getWeight().getType();
  if (k)
    dims.define("k-1", *k - 1, "weight");

  SmallVector<std::pair<Value, StringRef>> typed = {
      {op.getX(), "x"}, {op.getWeight(), "weight"}, {op.getOut(), "out"}};
  if (Value bias = op.getBias()) {
    if (failed(dims.bind(bias, "bias", {"d"})))
      return failure();
    typed.push_back({bias, "bias"});
  }
  if (Value state = op.getConvState()) {
    if (failed(dims.bind(state, "conv_state", {"b", "d", "k-1"})))
      return failure();
    typed.push_back({state, "conv_state"});
  }
  if (failed(dims.bind(op.getOut(), "out", act)))
    return failure();
  if (Value fin = op.getFinalState()) {
    if (failed(dims.bind(fin, "final_state", {"b", "d", "k-1"})))
      return failure();
    typed.push_back({fin, "final_state"});
  }
  return verifyElementTypes(op.getOperation(), typed);
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyOp(RMSNormOp op, DimBinder &dims) {
  auto xType = cast<RankedTensorType>(op.getX().getType());
  if (xType.getRank() < 1)
    return op.emitOpError() << "operand 'x' must have rank >= 1, got " << xType;
  SmallVector<std::string> names;
  for (int64_t i = 0; i + 1 < xType.getRank(); ++i)
    names.push_back("d" + std::to_string(i));
  names.push_back("D");
  SmallVector<StringRef> full(names.begin(), names.end());
  if (failed(dims.bind(op.getX(), "x", full)) ||
      failed(dims.bind(op.getWeight(), "weight", {"D"})) ||
      failed(dims.bind(op.getY(), "y", full)))
    return failure();
  if (!(op.getEpsilon().convertToDouble() > 0))
    return op.emitOpError() << "epsilon must be positive, got "
                            << op.getEpsilon().convertToDouble();
  return verifyElementTypes(
      op.getOperation(),
      {{op.getX(), "x"}, {op.getWeight(), "weight"}, {op.getY(), "y"}});
}

//===----------------------------------------------------------------------===//
// LinearOp, EmbeddingOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyOp(LinearOp op, DimBinder &dims) {
  auto xType = cast<RankedTensorType>(op.getX().getType());
  if (xType.getRank() != 2 && xType.getRank() != 3)
    return op.emitOpError()
           << "operand 'x' must be (m, K) or (b, L, K), got " << xType;
  SmallVector<StringRef> in = xType.getRank() == 2
                                  ? SmallVector<StringRef>{"m", "K"}
                                  : SmallVector<StringRef>{"b", "L", "K"};
  SmallVector<StringRef> out(in);
  out.back() = "N";
  SmallVector<std::pair<Value, StringRef>> typed = {
      {op.getX(), "x"}, {op.getWeight(), "weight"}, {op.getY(), "y"}};
  if (failed(dims.bind(op.getX(), "x", in)) ||
      failed(dims.bind(op.getWeight(), "weight", {"N", "K"})))
    return failure();
  if (Value bias = op.getBias()) {
    if (failed(dims.bind(bias, "bias", {"N"})))
      return failure();
    typed.push_back({bias, "bias"});
  }
  if (failed(dims.bind(op.getY(), "y", out)))
    return failure();
  return verifyElementTypes(op.getOperation(), typed, {"weight"});
}

static LogicalResult verifyOp(DequantizeOp op, DimBinder &dims) {
  auto qType = cast<RankedTensorType>(op.getQ().getType());
  if (!qType.getElementType().isSignlessInteger(8))
    return op.emitOpError() << "operand 'q' must hold i8, got " << qType;
  if (failed(dims.bind(op.getQ(), "q", {"N", "K"})) ||
      failed(dims.bind(op.getScale(), "scale", {"N"})) ||
      failed(dims.bind(op.getWeight(), "weight", {"N", "K"})))
    return failure();
  return verifyElementTypes(op.getOperation(), {{op.getWeight(), "weight"},
                                                {op.getScale(), "scale"}});
}

static LogicalResult verifyOp(EmbeddingOp op, DimBinder &dims) {
  auto tokType = cast<RankedTensorType>(op.getTokens().getType());
  if (!tokType.getElementType().isSignlessInteger())
    return op.emitOpError()
           << "operand 'tokens' must hold integers, got " << tokType;
  if (failed(dims.bind(op.getTokens(), "tokens", {"b", "L"})) ||
      failed(dims.bind(op.getTable(), "table", {"V", "D"})) ||
      failed(dims.bind(op.getY(), "y", {"b", "L", "D"})))
    return failure();
  return verifyElementTypes(op.getOperation(),
                            {{op.getY(), "y"}, {op.getTable(), "table"}},
                            {"table"});
}

//===----------------------------------------------------------------------===//
// MambaBlockOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyOp(MambaBlockOp op, DimBinder &dims) {
  SmallVector<std::pair<Value, StringRef>> typed;
  auto bind = optionalBinder(dims, typed);
  if (failed(bind(op.getH(), "h", {"b", "L", "D"})) ||
      failed(bind(op.getConvWeight(), "conv_weight", {"E", "K"})) ||
      failed(bind(op.getALog(), "A_log", {"E", "N"})) ||
      failed(bind(op.getDtProj(), "dt_proj", {"E", "R"})))
    return failure();
  // The derived sizes: in_proj's rows are x and z, x_proj's dt, B and C.
  if (std::optional<int64_t> e = dims.get("E"))
    dims.define("2E", 2 * *e, "conv_weight");
  dims.defineOffset("K-1", "K", -1);
  dims.requireAtLeast("K", 1,
                      "operand 'conv_weight' must have at least one "
                      "tap (K >= 1)");
  if (std::optional<int64_t> k = dims.get("K")) {
    if (*k < 1)
      return op.emitOpError() << "operand 'conv_weight' must have at least one "
                                 "tap, got "
                              << op.getConvWeight().getType();
    dims.define("K-1", *k - 1, "conv_weight");
  }
  std::optional<int64_t> r = dims.get("R"), n = dims.get("N");
  if (r && n)
    dims.define("R+2N", *r + 2 * *n, "dt_proj and A_log");
  if (failed(bind(op.getInProj(), "in_proj", {"2E", "D"})) ||
      failed(bind(op.getInProjBias(), "in_proj_bias", {"2E"})) ||
      failed(bind(op.getConvBias(), "conv_bias", {"E"})) ||
      failed(bind(op.getXProj(), "x_proj", {"R+2N", "E"})) ||
      failed(bind(op.getDtProjBias(), "dt_proj_bias", {"E"})) ||
      failed(bind(op.getD(), "D", {"E"})) ||
      failed(bind(op.getOutProj(), "out_proj", {"D", "E"})) ||
      failed(bind(op.getOutProjBias(), "out_proj_bias", {"D"})) ||
      failed(bind(op.getConvState(), "conv_state", {"b", "E", "K-1"})) ||
      failed(bind(op.getSsmState(), "ssm_state", {"b", "E", "N"})) ||
      failed(bind(op.getOut(), "out", {"b", "L", "D"})))
    return failure();
  if (failed(verifyStateResultCount(op.getOperation(), op.getStates(),
                                    op.getNewStates().size())))
    return failure();
  if (op.getStates() &&
      (failed(bind(op.getNewStates()[0], "conv_state", {"b", "E", "K-1"})) ||
       failed(bind(op.getNewStates()[1], "ssm_state", {"b", "E", "N"}))))
    return failure();
  return verifyElementTypes(op.getOperation(), typed,
                            {"in_proj", "x_proj", "dt_proj", "out_proj"});
}

//===----------------------------------------------------------------------===//
// Mamba2BlockOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyOp(Mamba2BlockOp op, DimBinder &dims) {
  SmallVector<std::pair<Value, StringRef>> typed;
  auto bind = optionalBinder(dims, typed);
  int64_t g = op.getNgroups();
  if (g < 1)
    return op.emitOpError() << "ngroups must be at least 1, got " << g;
  if (!(op.getEpsilon().convertToDouble() > 0))
    return op.emitOpError() << "epsilon must be positive, got "
                            << op.getEpsilon().convertToDouble();
  if (failed(bind(op.getH(), "h", {"b", "L", "D"})) ||
      failed(bind(op.getConvWeight(), "conv_weight", {"X", "K"})) ||
      failed(bind(op.getALog(), "A_log", {"H"})) ||
      failed(bind(op.getNormWeight(), "norm_weight", {"I"})))
    return failure();
  std::optional<int64_t> x = dims.get("X"), k = dims.get("K"),
                         heads = dims.get("H"), inner = dims.get("I");
  dims.defineOffset("K-1", "K", -1);
  dims.requireAtLeast("K", 1,
                      "operand 'conv_weight' must have at least one "
                      "tap (K >= 1)");
  if (k) {
    if (*k < 1)
      return op.emitOpError() << "operand 'conv_weight' must have at least one "
                                 "tap, got "
                              << op.getConvWeight().getType();
    dims.define("K-1", *k - 1, "conv_weight");
  }
  if (heads && *heads < 1)
    return op.emitOpError() << "operand 'A_log' must have at least one head";
  if (heads && inner && *inner % *heads != 0)
    return op.emitOpError()
           << "d_inner I = " << *inner << " (from 'norm_weight') "
           << "is not a multiple of the H = " << *heads
           << " heads (from 'A_log')";
  if (heads && *heads % g != 0)
    return op.emitOpError()
           << "ngroups = " << g << " does not divide the H = " << *heads
           << " heads (from 'A_log')";
  int64_t normGroups = op.getNormGroups();
  if (normGroups < 1)
    return op.emitOpError()
           << "norm_groups must be at least 1, got " << normGroups;
  if (inner && *inner % normGroups != 0)
    return op.emitOpError() << "norm_groups = " << normGroups
                            << " does not divide d_inner I = " << *inner
                            << " (from 'norm_weight')";
  if (x && inner) {
    if (*x <= *inner || (*x - *inner) % (2 * g) != 0)
      return op.emitOpError()
             << "operand 'conv_weight' has X = " << *x
             << " channels; expected I + 2 * ngroups * N = " << *inner << " + "
             << 2 * g << " * N with N >= 1";
    if (heads)
      dims.define("2I+2GN+H", *x + *inner + *heads,
                  "conv_weight, norm_weight and A_log");
  }
  if (failed(bind(op.getInProj(), "in_proj", {"2I+2GN+H", "D"})) ||
      failed(bind(op.getConvBias(), "conv_bias", {"X"})) ||
      failed(bind(op.getDtBias(), "dt_bias", {"H"})) ||
      failed(bind(op.getD(), "D", {"H"})) ||
      failed(bind(op.getOutProj(), "out_proj", {"D", "I"})) ||
      failed(bind(op.getConvState(), "conv_state", {"b", "X", "K-1"})) ||
      failed(bind(op.getOut(), "out", {"b", "L", "D"})))
    return failure();
  if (x && inner && heads) {
    dims.define("P", *inner / *heads, "norm_weight and A_log");
    dims.define("N", (*x - *inner) / (2 * g), "conv_weight and ngroups");
  }
  if (failed(bind(op.getSsmState(), "ssm_state", {"b", "H", "P", "N"})))
    return failure();
  if (failed(verifyStateResultCount(op.getOperation(), op.getStates(),
                                    op.getNewStates().size())))
    return failure();
  if (op.getStates() &&
      (failed(bind(op.getNewStates()[0], "conv_state", {"b", "X", "K-1"})) ||
       failed(bind(op.getNewStates()[1], "ssm_state", {"b", "H", "P", "N"}))))
    return failure();
  return verifyElementTypes(op.getOperation(), typed, {"in_proj", "out_proj"});
}

//===----------------------------------------------------------------------===//
// S4DOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyOp(S4DOp op, DimBinder &dims) {
  SmallVector<std::pair<Value, StringRef>> typed;
  auto bind = optionalBinder(dims, typed);
  if (!op.getAImag() && (op.getBImag() || op.getCImag()))
    return op.emitOpError()
           << "'" << (op.getBImag() ? "B_imag" : "C_imag")
           << "' needs complex A: give 'A_imag' too (zeros for "
              "a real A with complex B or C)";
  if (failed(bind(op.getU(), "u", {"b", "L", "H"})) ||
      failed(bind(op.getLogDt(), "log_dt", {"H"})) ||
      failed(bind(op.getAReal(), "A_real", {"H", "N"})) ||
      failed(bind(op.getAImag(), "A_imag", {"H", "N"})) ||
      failed(bind(op.getB(), "B", {"H", "N"})) ||
      failed(bind(op.getBImag(), "B_imag", {"H", "N"})) ||
      failed(bind(op.getC(), "C", {"H", "N"})) ||
      failed(bind(op.getCImag(), "C_imag", {"H", "N"})) ||
      failed(bind(op.getD(), "D", {"H"})) ||
      failed(bind(op.getZ(), "z", {"b", "L", "H"})) ||
      failed(bind(op.getY(), "y", {"b", "L", "H"})))
    return failure();
  return verifyElementTypes(op.getOperation(), typed);
}

//===----------------------------------------------------------------------===//
// LinearAttentionOp
//===----------------------------------------------------------------------===//

static LogicalResult verifyOp(LinearAttentionOp op, DimBinder &dims) {
  int64_t heads = op.getHeads();
  if (heads < 1)
    return op.emitOpError() << "heads must be at least 1, got " << heads;
  if (failed(dims.bind(op.getQ(), "q", {"b", "L", "heads*dk"})) ||
      failed(dims.bind(op.getK(), "k", {"b", "L", "heads*dk"})) ||
      failed(dims.bind(op.getV(), "v", {"b", "L", "heads*dv"})) ||
      failed(dims.bind(op.getY(), "y", {"b", "L", "heads*dv"})))
    return failure();
  dims.define("heads", heads, "heads");
  for (auto [sym, name] : {std::pair<StringRef, StringRef>{"heads*dk", "q"},
                           {"heads*dv", "v"}}) {
    std::string what =
        ("operand '" + name + "' must have a positive multiple of heads = " +
         Twine(heads) + " columns")
            .str();
    dims.requireAtLeast(sym, 1, what);
    dims.requireDivides("heads", sym, what);
    std::optional<int64_t> width = dims.get(sym);
    if (width && (*width == 0 || *width % heads != 0))
      return op.emitOpError()
             << "operand '" << name << "' has " << *width
             << " columns, which is not a positive multiple of "
                "heads = "
             << heads;
  }
  return verifyElementTypes(
      op.getOperation(),
      {{op.getQ(), "q"}, {op.getK(), "k"}, {op.getV(), "v"}, {op.getY(), "y"}});
}

//===----------------------------------------------------------------------===//
// The verifiers and the run-time checks, from verifyOp
//===----------------------------------------------------------------------===//

namespace {
StringRef layoutOf(Operation *) { return ""; }
StringRef layoutOf(SelectiveScanOp op) { return layoutName(op.getLayout()); }
StringRef layoutOf(CausalConv1dOp op) { return layoutName(op.getLayout()); }

template <typename OpTy> LogicalResult verifyShapes(OpTy op) {
  DimBinder dims(op.getOperation(), layoutOf(op));
  return verifyOp(op, dims);
}

/// The checks of what verifyOp could not check at compile time (dynamic
/// sizes), as cf.assert ops before the op (RuntimeVerifiableOpInterface).
template <typename OpTy>
void generateShapeChecks(
    OpTy op, OpBuilder &b, Location loc,
    function_ref<std::string(Operation *, StringRef)> message) {
  DimBinder dims(op.getOperation(), layoutOf(op), /*recording=*/true);
  if (succeeded(verifyOp(op, dims)))
    dims.emitRuntimeChecks(b, loc, message);
}
} // namespace

#define SSM_SHAPE_CHECKS(OP)                                                   \
  LogicalResult OP::verify() { return verifyShapes(*this); }                   \
  void OP::generateRuntimeVerification(                                        \
      OpBuilder &b, Location loc,                                              \
      function_ref<std::string(Operation *, StringRef)> message) {             \
    generateShapeChecks(*this, b, loc, message);                               \
  }
SSM_SHAPE_CHECKS(SelectiveScanOp)
SSM_SHAPE_CHECKS(ScanOp)
SSM_SHAPE_CHECKS(CausalConv1dOp)
SSM_SHAPE_CHECKS(RMSNormOp)
SSM_SHAPE_CHECKS(LinearOp)
SSM_SHAPE_CHECKS(DequantizeOp)
SSM_SHAPE_CHECKS(MambaBlockOp)
SSM_SHAPE_CHECKS(Mamba2BlockOp)
SSM_SHAPE_CHECKS(S4DOp)
SSM_SHAPE_CHECKS(LinearAttentionOp)
#undef SSM_SHAPE_CHECKS

LogicalResult EmbeddingOp::verify() { return verifyShapes(*this); }

/// The shapes as for the other ops, then the ids: each must pick a row of
/// the table, [0, V). A loop over the ids at the op's level, outside any
/// parallel region; b x L compares against the gather of b x L rows.
void EmbeddingOp::generateRuntimeVerification(
    OpBuilder &b, Location loc,
    function_ref<std::string(Operation *, StringRef)> message) {
  generateShapeChecks(*this, b, loc, message);
  Value tokens = getTokens();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value rows = tensor::DimOp::create(b, loc, getTable(), 0);
  Value all = arith::ConstantIntOp::create(b, loc, 1, 1);
  // Compared as indices (sign-extended): an id type narrower than the
  // table's row count (i8 ids, 300 rows) must not wrap the bound.
  auto inRange = [&](OpBuilder &ib, Location l, ValueRange at, Value acc) {
    Value id = arith::IndexCastOp::create(
        ib, l, ib.getIndexType(), tensor::ExtractOp::create(ib, l, tokens, at));
    Value low =
        arith::CmpIOp::create(ib, l, arith::CmpIPredicate::sge, id, zero);
    Value high =
        arith::CmpIOp::create(ib, l, arith::CmpIPredicate::slt, id, rows);
    return arith::AndIOp::create(ib, l, acc,
                                 arith::AndIOp::create(ib, l, low, high));
  };
  auto outer = scf::ForOp::create(
      b, loc, zero, tensor::DimOp::create(b, loc, tokens, 0), one,
      ValueRange{all}, [&](OpBuilder &ob, Location l, Value i, ValueRange acc) {
        auto inner = scf::ForOp::create(
            ob, l, zero, tensor::DimOp::create(ob, l, tokens, 1), one, acc,
            [&](OpBuilder &ib, Location il, Value j, ValueRange inAcc) {
              scf::YieldOp::create(
                  ib, il, ValueRange{inRange(ib, il, {i, j}, inAcc[0])});
            });
        scf::YieldOp::create(ob, l, inner.getResults());
      });
  cf::AssertOp::create(b, loc, outer.getResult(0),
                       message(getOperation(),
                               "a token id in 'tokens' is outside the "
                               "table's rows [0, V)"));
}

//===----------------------------------------------------------------------===//
// custom<Layout>: the layout as a bare keyword (channel_first, token_major)
//===----------------------------------------------------------------------===//

static ParseResult parseLayout(OpAsmParser &parser, LayoutAttr &layout) {
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<Layout> value = symbolizeLayout(keyword);
  if (!value)
    return parser.emitError(loc)
           << "expected layout channel_first or token_major, got '" << keyword
           << "'";
  layout = LayoutAttr::get(parser.getContext(), *value);
  return success();
}

static void printLayout(OpAsmPrinter &printer, Operation *, LayoutAttr layout) {
  printer << stringifyLayout(layout.getValue());
}

#define GET_OP_CLASSES
#include "ssm/Dialect/SSM/IR/SSMOps.cpp.inc"
