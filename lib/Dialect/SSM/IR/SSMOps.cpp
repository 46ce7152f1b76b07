//===- SSMOps.cpp - verifiers of the ssm operations -----------------------===//
//
// The verifiers check ranks, every shape relation between operands and the
// element types, and say in their messages which operand is wrong, what shape
// the layout expects, and which operand fixed the dimension that disagrees.
//
//===----------------------------------------------------------------------===//

#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::ssm;

namespace {

/// Binds the symbolic dimensions of an op (b, d, L, n, ...) to the first
/// static size seen, and reports an operand whose shape disagrees.
class DimBinder {
public:
  explicit DimBinder(Operation *op, StringRef layout = "")
      : op(op), layout(layout) {}

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

  std::optional<int64_t> get(StringRef sym) const {
    auto it = known.find(sym);
    if (it == known.end())
      return std::nullopt;
    return it->second.first;
  }

private:
  StringRef kind(Value v) const {
    return v.getDefiningOp() == op ? "result" : "operand";
  }
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
  llvm::StringMap<std::pair<int64_t, std::string>> known;
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

LogicalResult SelectiveScanOp::verify() {
  bool tm = isTokenMajor();
  DimBinder dims(getOperation(), layoutName(getLayout()));
  SmallVector<StringRef> act = tm ? SmallVector<StringRef>{"b", "L", "d"}
                                  : SmallVector<StringRef>{"b", "d", "L"};

  if (failed(dims.bind(getU(), "u", act)) ||
      failed(dims.bind(getDelta(), "delta", act)) ||
      failed(dims.bind(getA(), "A", {"d", "n"})))
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
      std::optional<int64_t> g = dims.get(group), d = dims.get("d");
      if (g && *g == 0)
        return emitOpError() << "operand '" << name
                             << "' must have at least one group";
      if (g && d && *d % *g != 0)
        return emitOpError() << "operand '" << name << "' has g = " << *g
                             << " groups, which does not divide d = " << *d
                             << " channels";
      return success();
    }
    return emitOpError() << "operand '" << name
                         << "' must be (d, n) time-invariant, "
                         << (tm ? "(b, L, n)" : "(b, n, L)") << " variable or "
                         << (tm ? "(b, L, g, n)" : "(b, g, n, L)")
                         << " grouped in " << layoutName(getLayout())
                         << " layout, got " << v.getType();
  };
  if (failed(bindProjection(getB(), "B", "g@B")) ||
      failed(bindProjection(getC(), "C", "g@C")))
    return failure();

  // With complex A, the state side (A, B, C, h0, last_state) is complex of
  // the real type of the rest.
  bool complex = isComplex();
  SmallVector<std::pair<Value, StringRef>> typed = {
      {getU(), "u"}, {getDelta(), "delta"}, {getY(), "y"}};
  SmallVector<std::pair<Value, StringRef>> stateSide = {
      {getA(), "A"}, {getB(), "B"}, {getC(), "C"}};
  if (!complex)
    typed.append(stateSide.begin(), stateSide.end());
  if (Value D = getD()) {
    if (failed(dims.bind(D, "D", {"d"})))
      return failure();
    typed.push_back({D, "D"});
  }
  if (Value z = getZ()) {
    if (failed(dims.bind(z, "z", act)))
      return failure();
    typed.push_back({z, "z"});
  }
  if (Value bias = getDeltaBias()) {
    if (failed(dims.bind(bias, "delta_bias", {"d"})))
      return failure();
    typed.push_back({bias, "delta_bias"});
  }
  if (Value h0 = getH0()) {
    if (failed(dims.bind(h0, "h0", {"b", "d", "n"})))
      return failure();
    (complex ? stateSide : typed).push_back({h0, "h0"});
  }
  if (failed(dims.bind(getY(), "y", act)))
    return failure();
  if (Value last = getLastState()) {
    if (failed(dims.bind(last, "last_state", {"b", "d", "n"})))
      return failure();
    (complex ? stateSide : typed).push_back({last, "last_state"});
  }
  if (failed(verifyElementTypes(getOperation(), typed)))
    return failure();
  if (!complex)
    return success();
  Type expected = ComplexType::get(getU().getType().getElementType());
  for (auto [v, name] : stateSide) {
    Type t = cast<ShapedType>(v.getType()).getElementType();
    if (t != expected)
      return emitOpError() << "with complex 'A', '" << name << "' must have "
                           << "element type " << expected
                           << " (complex of the type of 'u'), got " << t;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ScanOp
//===----------------------------------------------------------------------===//

LogicalResult ScanOp::verify() {
  auto aType = getA().getType();
  int64_t rank = cast<RankedTensorType>(aType).getRank();
  if (rank < 1)
    return emitOpError() << "operand 'a' must have rank >= 1, got " << aType;
  int64_t dim = getDim();
  if (dim < 0 || dim >= rank)
    return emitOpError() << "dim = " << dim << " is out of range for 'a' of rank "
                         << rank << " (expected 0 <= dim < " << rank << ")";

  // Name the lane dimensions of `a` d0, d1, ... and the scanned one L.
  SmallVector<std::string> names;
  for (int64_t i = 0; i < rank; ++i)
    names.push_back(i == dim ? "L" : "d" + std::to_string(i));
  SmallVector<StringRef> full(names.begin(), names.end());
  SmallVector<StringRef> lanes;
  for (int64_t i = 0; i < rank; ++i)
    if (i != dim)
      lanes.push_back(full[i]);

  DimBinder dims(getOperation());
  if (failed(dims.bind(getA(), "a", full)) ||
      failed(dims.bind(getB(), "b", full)))
    return failure();
  SmallVector<std::pair<Value, StringRef>> typed = {
      {getA(), "a"}, {getB(), "b"}, {getResult(), "result"}};
  if (Value init = getInit()) {
    if (failed(dims.bind(init, "init", lanes)))
      return failure();
    typed.push_back({init, "init"});
  }
  if (failed(dims.bind(getResult(), "result", getLastOnly() ? lanes : full)))
    return failure();
  return verifyElementTypes(getOperation(), typed);
}

//===----------------------------------------------------------------------===//
// CausalConv1dOp
//===----------------------------------------------------------------------===//

LogicalResult CausalConv1dOp::verify() {
  bool tm = isTokenMajor();
  DimBinder dims(getOperation(), layoutName(getLayout()));
  SmallVector<StringRef> act = tm ? SmallVector<StringRef>{"b", "L", "d"}
                                  : SmallVector<StringRef>{"b", "d", "L"};
  if (failed(dims.bind(getX(), "x", act)) ||
      failed(dims.bind(getWeight(), "weight", {"d", "k"})))
    return failure();
  std::optional<int64_t> k = dims.get("k");
  if (k && *k < 1)
    return emitOpError() << "operand 'weight' must have at least one tap (k >= "
                            "1), got "
                         << getWeight().getType();
  if (k)
    dims.define("k-1", *k - 1, "weight");

  SmallVector<std::pair<Value, StringRef>> typed = {
      {getX(), "x"}, {getWeight(), "weight"}, {getOut(), "out"}};
  if (Value bias = getBias()) {
    if (failed(dims.bind(bias, "bias", {"d"})))
      return failure();
    typed.push_back({bias, "bias"});
  }
  if (Value state = getConvState()) {
    if (failed(dims.bind(state, "conv_state", {"b", "d", "k-1"})))
      return failure();
    typed.push_back({state, "conv_state"});
  }
  if (failed(dims.bind(getOut(), "out", act)))
    return failure();
  if (Value fin = getFinalState()) {
    if (failed(dims.bind(fin, "final_state", {"b", "d", "k-1"})))
      return failure();
    typed.push_back({fin, "final_state"});
  }
  return verifyElementTypes(getOperation(), typed);
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  auto xType = cast<RankedTensorType>(getX().getType());
  if (xType.getRank() < 1)
    return emitOpError() << "operand 'x' must have rank >= 1, got " << xType;
  SmallVector<std::string> names;
  for (int64_t i = 0; i + 1 < xType.getRank(); ++i)
    names.push_back("d" + std::to_string(i));
  names.push_back("D");
  SmallVector<StringRef> full(names.begin(), names.end());
  DimBinder dims(getOperation());
  if (failed(dims.bind(getX(), "x", full)) ||
      failed(dims.bind(getWeight(), "weight", {"D"})) ||
      failed(dims.bind(getY(), "y", full)))
    return failure();
  if (!(getEpsilon().convertToDouble() > 0))
    return emitOpError() << "epsilon must be positive, got "
                         << getEpsilon().convertToDouble();
  return verifyElementTypes(getOperation(), {{getX(), "x"},
                                             {getWeight(), "weight"},
                                             {getY(), "y"}});
}

//===----------------------------------------------------------------------===//
// LinearOp, EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  auto xType = cast<RankedTensorType>(getX().getType());
  if (xType.getRank() != 2 && xType.getRank() != 3)
    return emitOpError() << "operand 'x' must be (m, K) or (b, L, K), got "
                         << xType;
  SmallVector<StringRef> in = xType.getRank() == 2
                                  ? SmallVector<StringRef>{"m", "K"}
                                  : SmallVector<StringRef>{"b", "L", "K"};
  SmallVector<StringRef> out(in);
  out.back() = "N";
  DimBinder dims(getOperation());
  SmallVector<std::pair<Value, StringRef>> typed = {
      {getX(), "x"}, {getWeight(), "weight"}, {getY(), "y"}};
  if (failed(dims.bind(getX(), "x", in)) ||
      failed(dims.bind(getWeight(), "weight", {"N", "K"})))
    return failure();
  if (Value bias = getBias()) {
    if (failed(dims.bind(bias, "bias", {"N"})))
      return failure();
    typed.push_back({bias, "bias"});
  }
  if (failed(dims.bind(getY(), "y", out)))
    return failure();
  return verifyElementTypes(getOperation(), typed, {"weight"});
}

LogicalResult DequantizeOp::verify() {
  auto qType = cast<RankedTensorType>(getQ().getType());
  if (!qType.getElementType().isSignlessInteger(8))
    return emitOpError() << "operand 'q' must hold i8, got " << qType;
  DimBinder dims(getOperation());
  if (failed(dims.bind(getQ(), "q", {"N", "K"})) ||
      failed(dims.bind(getScale(), "scale", {"N"})) ||
      failed(dims.bind(getWeight(), "weight", {"N", "K"})))
    return failure();
  return verifyElementTypes(getOperation(),
                            {{getWeight(), "weight"}, {getScale(), "scale"}});
}

LogicalResult EmbeddingOp::verify() {
  auto tokType = cast<RankedTensorType>(getTokens().getType());
  if (!tokType.getElementType().isSignlessInteger())
    return emitOpError() << "operand 'tokens' must hold integers, got "
                         << tokType;
  DimBinder dims(getOperation());
  if (failed(dims.bind(getTokens(), "tokens", {"b", "L"})) ||
      failed(dims.bind(getTable(), "table", {"V", "D"})) ||
      failed(dims.bind(getY(), "y", {"b", "L", "D"})))
    return failure();
  return verifyElementTypes(getOperation(),
                            {{getY(), "y"}, {getTable(), "table"}}, {"table"});
}

//===----------------------------------------------------------------------===//
// MambaBlockOp
//===----------------------------------------------------------------------===//

LogicalResult MambaBlockOp::verify() {
  DimBinder dims(getOperation());
  SmallVector<std::pair<Value, StringRef>> typed;
  auto bind = optionalBinder(dims, typed);
  if (failed(bind(getH(), "h", {"b", "L", "D"})) ||
      failed(bind(getConvWeight(), "conv_weight", {"E", "K"})) ||
      failed(bind(getALog(), "A_log", {"E", "N"})) ||
      failed(bind(getDtProj(), "dt_proj", {"E", "R"})))
    return failure();
  // The derived sizes: in_proj's rows are x and z, x_proj's dt, B and C.
  if (std::optional<int64_t> e = dims.get("E"))
    dims.define("2E", 2 * *e, "conv_weight");
  if (std::optional<int64_t> k = dims.get("K")) {
    if (*k < 1)
      return emitOpError() << "operand 'conv_weight' must have at least one "
                              "tap, got "
                           << getConvWeight().getType();
    dims.define("K-1", *k - 1, "conv_weight");
  }
  std::optional<int64_t> r = dims.get("R"), n = dims.get("N");
  if (r && n)
    dims.define("R+2N", *r + 2 * *n, "dt_proj and A_log");
  if (failed(bind(getInProj(), "in_proj", {"2E", "D"})) ||
      failed(bind(getInProjBias(), "in_proj_bias", {"2E"})) ||
      failed(bind(getConvBias(), "conv_bias", {"E"})) ||
      failed(bind(getXProj(), "x_proj", {"R+2N", "E"})) ||
      failed(bind(getDtProjBias(), "dt_proj_bias", {"E"})) ||
      failed(bind(getD(), "D", {"E"})) ||
      failed(bind(getOutProj(), "out_proj", {"D", "E"})) ||
      failed(bind(getOutProjBias(), "out_proj_bias", {"D"})) ||
      failed(bind(getConvState(), "conv_state", {"b", "E", "K-1"})) ||
      failed(bind(getSsmState(), "ssm_state", {"b", "E", "N"})) ||
      failed(bind(getOut(), "out", {"b", "L", "D"})))
    return failure();
  if (failed(verifyStateResultCount(getOperation(), getStates(),
                                    getNewStates().size())))
    return failure();
  if (getStates() &&
      (failed(bind(getNewStates()[0], "conv_state", {"b", "E", "K-1"})) ||
       failed(bind(getNewStates()[1], "ssm_state", {"b", "E", "N"}))))
    return failure();
  return verifyElementTypes(getOperation(), typed,
                            {"in_proj", "x_proj", "dt_proj", "out_proj"});
}

//===----------------------------------------------------------------------===//
// Mamba2BlockOp
//===----------------------------------------------------------------------===//

LogicalResult Mamba2BlockOp::verify() {
  DimBinder dims(getOperation());
  SmallVector<std::pair<Value, StringRef>> typed;
  auto bind = optionalBinder(dims, typed);
  int64_t g = getNgroups();
  if (g < 1)
    return emitOpError() << "ngroups must be at least 1, got " << g;
  if (!(getEpsilon().convertToDouble() > 0))
    return emitOpError() << "epsilon must be positive, got "
                         << getEpsilon().convertToDouble();
  if (failed(bind(getH(), "h", {"b", "L", "D"})) ||
      failed(bind(getConvWeight(), "conv_weight", {"X", "K"})) ||
      failed(bind(getALog(), "A_log", {"H"})) ||
      failed(bind(getNormWeight(), "norm_weight", {"I"})))
    return failure();
  std::optional<int64_t> x = dims.get("X"), k = dims.get("K"),
                         heads = dims.get("H"), inner = dims.get("I");
  if (k) {
    if (*k < 1)
      return emitOpError() << "operand 'conv_weight' must have at least one "
                              "tap, got "
                           << getConvWeight().getType();
    dims.define("K-1", *k - 1, "conv_weight");
  }
  if (heads && *heads < 1)
    return emitOpError() << "operand 'A_log' must have at least one head";
  if (heads && inner && *inner % *heads != 0)
    return emitOpError() << "d_inner I = " << *inner << " (from 'norm_weight') "
                         << "is not a multiple of the H = " << *heads
                         << " heads (from 'A_log')";
  if (heads && *heads % g != 0)
    return emitOpError() << "ngroups = " << g << " does not divide the H = "
                         << *heads << " heads (from 'A_log')";
  int64_t normGroups = getNormGroups();
  if (normGroups < 1)
    return emitOpError() << "norm_groups must be at least 1, got "
                         << normGroups;
  if (inner && *inner % normGroups != 0)
    return emitOpError() << "norm_groups = " << normGroups
                         << " does not divide d_inner I = " << *inner
                         << " (from 'norm_weight')";
  if (x && inner) {
    if (*x <= *inner || (*x - *inner) % (2 * g) != 0)
      return emitOpError() << "operand 'conv_weight' has X = " << *x
                           << " channels; expected I + 2 * ngroups * N = "
                           << *inner << " + " << 2 * g
                           << " * N with N >= 1";
    if (heads)
      dims.define("2I+2GN+H", *x + *inner + *heads,
                  "conv_weight, norm_weight and A_log");
  }
  if (failed(bind(getInProj(), "in_proj", {"2I+2GN+H", "D"})) ||
      failed(bind(getConvBias(), "conv_bias", {"X"})) ||
      failed(bind(getDtBias(), "dt_bias", {"H"})) ||
      failed(bind(getD(), "D", {"H"})) ||
      failed(bind(getOutProj(), "out_proj", {"D", "I"})) ||
      failed(bind(getConvState(), "conv_state", {"b", "X", "K-1"})) ||
      failed(bind(getOut(), "out", {"b", "L", "D"})))
    return failure();
  if (x && inner && heads) {
    dims.define("P", *inner / *heads, "norm_weight and A_log");
    dims.define("N", (*x - *inner) / (2 * g), "conv_weight and ngroups");
  }
  if (failed(bind(getSsmState(), "ssm_state", {"b", "H", "P", "N"})))
    return failure();
  if (failed(verifyStateResultCount(getOperation(), getStates(),
                                    getNewStates().size())))
    return failure();
  if (getStates() &&
      (failed(bind(getNewStates()[0], "conv_state", {"b", "X", "K-1"})) ||
       failed(bind(getNewStates()[1], "ssm_state", {"b", "H", "P", "N"}))))
    return failure();
  return verifyElementTypes(getOperation(), typed, {"in_proj", "out_proj"});
}

//===----------------------------------------------------------------------===//
// S4DOp
//===----------------------------------------------------------------------===//

LogicalResult S4DOp::verify() {
  DimBinder dims(getOperation());
  SmallVector<std::pair<Value, StringRef>> typed;
  auto bind = optionalBinder(dims, typed);
  if (!getAImag() && (getBImag() || getCImag()))
    return emitOpError() << "'" << (getBImag() ? "B_imag" : "C_imag")
                         << "' needs complex A: give 'A_imag' too (zeros for "
                            "a real A with complex B or C)";
  if (failed(bind(getU(), "u", {"b", "L", "H"})) ||
      failed(bind(getLogDt(), "log_dt", {"H"})) ||
      failed(bind(getAReal(), "A_real", {"H", "N"})) ||
      failed(bind(getAImag(), "A_imag", {"H", "N"})) ||
      failed(bind(getB(), "B", {"H", "N"})) ||
      failed(bind(getBImag(), "B_imag", {"H", "N"})) ||
      failed(bind(getC(), "C", {"H", "N"})) ||
      failed(bind(getCImag(), "C_imag", {"H", "N"})) ||
      failed(bind(getD(), "D", {"H"})) ||
      failed(bind(getZ(), "z", {"b", "L", "H"})) ||
      failed(bind(getY(), "y", {"b", "L", "H"})))
    return failure();
  return verifyElementTypes(getOperation(), typed);
}

//===----------------------------------------------------------------------===//
// LinearAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult LinearAttentionOp::verify() {
  int64_t heads = getHeads();
  if (heads < 1)
    return emitOpError() << "heads must be at least 1, got " << heads;
  DimBinder dims(getOperation());
  if (failed(dims.bind(getQ(), "q", {"b", "L", "heads*dk"})) ||
      failed(dims.bind(getK(), "k", {"b", "L", "heads*dk"})) ||
      failed(dims.bind(getV(), "v", {"b", "L", "heads*dv"})) ||
      failed(dims.bind(getY(), "y", {"b", "L", "heads*dv"})))
    return failure();
  for (auto [sym, name] : {std::pair<StringRef, StringRef>{"heads*dk", "q"},
                           {"heads*dv", "v"}}) {
    std::optional<int64_t> width = dims.get(sym);
    if (width && (*width == 0 || *width % heads != 0))
      return emitOpError() << "operand '" << name << "' has " << *width
                           << " columns, which is not a positive multiple of "
                              "heads = "
                           << heads;
  }
  return verifyElementTypes(getOperation(), {{getQ(), "q"},
                                             {getK(), "k"},
                                             {getV(), "v"},
                                             {getY(), "y"}});
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
