//===- Programs.cpp - ssm programs built for the runner -------------------===//

#include "ssm/Runtime/Programs.h"
#include "ssm/Dialect/SSM/IR/SSMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;

/// `module` if it verifies, else an error with `prefix` and the first
/// diagnostic (which names the op's operand at fault).
static llvm::Expected<OwningOpRef<ModuleOp>>
verified(OwningOpRef<ModuleOp> module, llvm::StringRef prefix) {
  std::string message;
  ScopedDiagnosticHandler handler(module->getContext(), [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error && message.empty())
      message = diag.str();
    return success();
  });
  if (succeeded(verify(*module)))
    return std::move(module);
  return llvm::createStringError("%s%s", prefix.str().c_str(), message.c_str());
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::ssm::buildSelectiveScanModule(MLIRContext &ctx, const SelectiveScanSpec &spec) {
  ctx.loadDialect<func::FuncDialect, ssm::SSMDialect>();
  OpBuilder b(&ctx);
  Location loc = NameLoc::get(b.getStringAttr("selective_scan"));
  Type elt = spec.f64 ? b.getF64Type() : b.getF32Type();
  auto tensor = [&](llvm::ArrayRef<int64_t> shape) -> Type {
    return RankedTensorType::get(shape, elt);
  };

  SmallVector<Type> argTypes = {tensor(spec.u), tensor(spec.delta),
                                tensor(spec.A), tensor(spec.B), tensor(spec.C)};
  for (const auto *opt : {&spec.D, &spec.z, &spec.deltaBias, &spec.h0})
    if (*opt)
      argTypes.push_back(tensor(**opt));
  // y has the shape of u; the last state is (b, d, n). If u or A has the
  // wrong rank the verifier reports it; the result types only need a rank.
  SmallVector<Type> resultTypes = {tensor(spec.u)};
  if (spec.returnLastState) {
    int64_t n = spec.A.size() == 2 ? spec.A[1] : ShapedType::kDynamic;
    int64_t bDim = spec.u.size() == 3 ? spec.u[0] : ShapedType::kDynamic;
    int64_t dDim = spec.u.size() == 3 ? spec.u[1] : ShapedType::kDynamic;
    resultTypes.push_back(tensor({bDim, dDim, n}));
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(b, loc, kSelectiveScanFunc,
                                   b.getFunctionType(argTypes, resultTypes));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  unsigned next = 5;
  auto optional = [&](const auto &shape) -> Value {
    return shape ? body->getArgument(next++) : Value();
  };
  Value D = optional(spec.D), z = optional(spec.z),
        bias = optional(spec.deltaBias), h0 = optional(spec.h0);
  Type lastType = spec.returnLastState ? resultTypes[1] : Type();
  auto scan = SelectiveScanOp::create(
      b, loc, resultTypes[0], lastType, Layout::channel_first,
      body->getArgument(0), body->getArgument(1), body->getArgument(2),
      body->getArgument(3), body->getArgument(4), D, z, bias, h0,
      spec.deltaSoftplus);
  func::ReturnOp::create(b, loc, scan->getResults());

  return verified(std::move(module), "");
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::ssm::buildCausalConv1dModule(MLIRContext &ctx,
                                   const CausalConv1dSpec &spec) {
  ctx.loadDialect<func::FuncDialect, ssm::SSMDialect>();
  OpBuilder b(&ctx);
  Location loc = NameLoc::get(b.getStringAttr("causal_conv1d"));
  auto tensor = [&](llvm::ArrayRef<int64_t> shape) -> Type {
    return RankedTensorType::get(shape, b.getF32Type());
  };
  SmallVector<Type> argTypes = {tensor(spec.x), tensor(spec.weight)};
  for (const auto *opt : {&spec.bias, &spec.initialStates})
    if (*opt)
      argTypes.push_back(tensor(**opt));
  // The output has the shape of x, the final states (b, d, k-1); with
  // operands of the wrong rank the verifier reports them.
  SmallVector<Type> resultTypes = {tensor(spec.x)};
  if (spec.returnFinalStates) {
    auto dim = [](llvm::ArrayRef<int64_t> s, size_t rank, size_t i) {
      return s.size() == rank ? s[i] : ShapedType::kDynamic;
    };
    int64_t k = dim(spec.weight, 2, 1);
    resultTypes.push_back(tensor({dim(spec.x, 3, 0), dim(spec.x, 3, 1),
                                  k >= 1 ? k - 1 : ShapedType::kDynamic}));
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(b, loc, kCausalConv1dFunc,
                                   b.getFunctionType(argTypes, resultTypes));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  unsigned next = 2;
  Value bias = spec.bias ? body->getArgument(next++) : Value();
  Value state = spec.initialStates ? body->getArgument(next++) : Value();
  auto conv = CausalConv1dOp::create(
      b, loc, resultTypes[0],
      spec.returnFinalStates ? resultTypes[1] : Type(), Layout::channel_first,
      body->getArgument(0), body->getArgument(1), bias, state, spec.silu);
  func::ReturnOp::create(b, loc, conv->getResults());
  return verified(std::move(module), "");
}

/// An ssm.mamba_block on `h` whose weights are `arg[name]` by the names of
/// mambaLayerWeights(); with `resultTypes` of three, it returns the states.
static ssm::MambaBlockOp createMambaBlock(OpBuilder &b, Location loc,
                                          TypeRange resultTypes, Value h,
                                          const llvm::StringMap<Value> &arg,
                                          Value convState = {},
                                          Value ssmState = {}) {
  return ssm::MambaBlockOp::create(
      b, loc, resultTypes, h, arg.lookup("mixer.in_proj.weight"),
      arg.lookup("mixer.conv1d.weight"), arg.lookup("mixer.conv1d.bias"),
      arg.lookup("mixer.x_proj.weight"), arg.lookup("mixer.dt_proj.weight"),
      arg.lookup("mixer.dt_proj.bias"), arg.lookup("mixer.A_log"),
      arg.lookup("mixer.D"), arg.lookup("mixer.out_proj.weight"),
      arg.lookup("mixer.in_proj.bias"), arg.lookup("mixer.out_proj.bias"),
      convState, ssmState, /*states=*/resultTypes.size() == 3);
}

/// An ssm.mamba2_block on `h` whose weights are `arg[name]` by the names of
/// mambaLayerWeights() for a Mamba-2 config; with `resultTypes` of three, it
/// returns the states.
static ssm::Mamba2BlockOp createMamba2Block(OpBuilder &b, Location loc,
                                            TypeRange resultTypes, Value h,
                                            const llvm::StringMap<Value> &arg,
                                            const ssm::MambaConfig &cfg,
                                            Value convState = {},
                                            Value ssmState = {}) {
  return ssm::Mamba2BlockOp::create(
      b, loc, resultTypes, h, arg.lookup("mixer.in_proj.weight"),
      arg.lookup("mixer.conv1d.weight"), arg.lookup("mixer.conv1d.bias"),
      arg.lookup("mixer.dt_bias"), arg.lookup("mixer.A_log"),
      arg.lookup("mixer.D"), arg.lookup("mixer.norm.weight"),
      arg.lookup("mixer.out_proj.weight"), convState, ssmState,
      static_cast<uint64_t>(cfg.nGroups), llvm::APFloat(cfg.eps),
      // mamba_ssm's RMSNormGated normalises per group of B and C
      // (group_size = d_inner / ngroups); current transformers does too.
      /*norm_groups=*/static_cast<uint64_t>(cfg.nGroups),
      /*states=*/resultTypes.size() == 3);
}

/// The S4D mixer (semantics.md section 6) on `h`: the Mamba-1 block with its
/// selective scan replaced by ssm.s4d, from the core ops:
///   x = silu(causal_conv1d(h @ in_proj[:E]^T)),  z = h @ in_proj[E:]^T
///   out = s4d(x, z) @ out_proj^T
/// There is no block op for it: it has no checkpoint form, and each of its
/// parts already has an op and a lowering.
static Value createS4DMixer(OpBuilder &b, Location loc, RankedTensorType hType,
                            Value h, const llvm::StringMap<Value> &arg,
                            const ssm::MambaConfig &cfg) {
  int64_t E = cfg.dInner, D = cfg.dModel;
  Type f32 = b.getF32Type();
  auto eType =
      RankedTensorType::get({hType.getDimSize(0), hType.getDimSize(1), E}, f32);
  // Rows [first, first + E) of the (2E, D) in_proj (and of its bias).
  auto rows = [&](llvm::StringRef name, int64_t first) -> Value {
    Value w = arg.lookup(name);
    if (!w)
      return w;
    auto type = cast<RankedTensorType>(w.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), sizes,
        strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t size : type.getShape())
      sizes.push_back(b.getIndexAttr(size));
    offsets[0] = b.getIndexAttr(first);
    sizes[0] = b.getIndexAttr(E);
    return tensor::ExtractSliceOp::create(b, loc, w, offsets, sizes, strides);
  };
  auto project = [&](int64_t first) -> Value {
    return ssm::LinearOp::create(b, loc, eType, h,
                                 rows("mixer.in_proj.weight", first),
                                 rows("mixer.in_proj.bias", first));
  };
  Value x = project(0), z = project(E);
  x = ssm::CausalConv1dOp::create(
          b, loc, eType, /*final_state=*/Type(), ssm::Layout::token_major, x,
          arg.lookup("mixer.conv1d.weight"), arg.lookup("mixer.conv1d.bias"),
          /*conv_state=*/Value(), /*silu=*/true)
          .getOut();
  Value y = ssm::S4DOp::create(
      b, loc, eType, x, arg.lookup("mixer.log_dt"), arg.lookup("mixer.A_real"),
      arg.lookup("mixer.A_imag"), arg.lookup("mixer.B"), /*B_imag=*/Value(),
      arg.lookup("mixer.C"), arg.lookup("mixer.C_imag"), arg.lookup("mixer.D"),
      z);
  return ssm::LinearOp::create(
      b, loc,
      RankedTensorType::get({hType.getDimSize(0), hType.getDimSize(1), D}, f32),
      y, arg.lookup("mixer.out_proj.weight"),
      arg.lookup("mixer.out_proj.bias"));
}

llvm::SmallVector<ssm::WeightSpec>
mlir::ssm::mambaLayerWeights(const MambaConfig &cfg, bool withNorm) {
  int64_t D = cfg.dModel, E = cfg.dInner, N = cfg.dState, K = cfg.dConv,
          R = cfg.dtRank;
  llvm::SmallVector<WeightSpec> w;
  auto add = [&](const char *name, llvm::SmallVector<int64_t> shape,
                 llvm::SmallVector<int64_t> arg = {}) {
    w.push_back({name, shape, arg.empty() ? shape : arg});
  };
  auto addMatrix = [&](const char *name, llvm::SmallVector<int64_t> shape) {
    w.push_back({name, shape, shape, /*matrix=*/true});
  };
  if (withNorm)
    add("norm.weight", {D});
  if (cfg.mixer == MixerKind::Mamba2) {
    // Mamba2Mixer: in_proj gives z (E), x, B and C (X), dt (H).
    int64_t H = cfg.nHeads, X = cfg.convChannels();
    addMatrix("mixer.in_proj.weight", {E + X + H, D});
    add("mixer.conv1d.weight", {X, 1, K}, {X, K});
    if (cfg.useConvBias)
      add("mixer.conv1d.bias", {X});
    add("mixer.dt_bias", {H});
    add("mixer.A_log", {H});
    add("mixer.D", {H});
    add("mixer.norm.weight", {E});
    addMatrix("mixer.out_proj.weight", {D, E});
    return w;
  }
  // Mamba-1 and the S4D mixer share the projections and the conv.
  addMatrix("mixer.in_proj.weight", {2 * E, D});
  if (cfg.useBias)
    add("mixer.in_proj.bias", {2 * E});
  add("mixer.conv1d.weight", {E, 1, K}, {E, K});
  if (cfg.useConvBias)
    add("mixer.conv1d.bias", {E});
  if (cfg.mixer == MixerKind::S4D) {
    // ssm.s4d's operand names (no checkpoint names them).
    add("mixer.log_dt", {E});
    add("mixer.A_real", {E, N});
    if (cfg.s4dComplex)
      add("mixer.A_imag", {E, N});
    add("mixer.B", {E, N});
    add("mixer.C", {E, N});
    if (cfg.s4dComplex)
      add("mixer.C_imag", {E, N});
  } else {
    addMatrix("mixer.x_proj.weight", {R + 2 * N, E});
    addMatrix("mixer.dt_proj.weight", {E, R});
    add("mixer.dt_proj.bias", {E});
    add("mixer.A_log", {E, N});
  }
  add("mixer.D", {E});
  addMatrix("mixer.out_proj.weight", {D, E});
  if (cfg.useBias)
    add("mixer.out_proj.bias", {D});
  return w;
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::ssm::buildMambaLMModule(MLIRContext &ctx, const MambaConfig &cfg,
                              int64_t batch, int64_t length, LMLogits which,
                              bool deviceWeights, DType matrices) {
  if (cfg.mixer == MixerKind::S4D)
    return llvm::createStringError(
        "a language model of S4D mixers is not supported: no checkpoint "
        "format has one, and ssm.s4d returns no decoding state");
  ctx.loadDialect<func::FuncDialect, arith::ArithDialect, tensor::TensorDialect,
                  ssm::SSMDialect>();
  OpBuilder b(&ctx);
  Location loc = NameLoc::get(b.getStringAttr("mamba_lm"));
  Type f32 = b.getF32Type();
  auto tensor = [&](llvm::ArrayRef<int64_t> shape) -> RankedTensorType {
    return RankedTensorType::get(shape, f32);
  };
  if (matrices != DType::F32 && matrices != DType::F16 &&
      matrices != DType::BF16 && matrices != DType::I8)
    return llvm::createStringError(
        "a language model's matrices are float32, float16, bfloat16 or int8, "
        "not %s",
        dtypeName(matrices).data());
  const bool int8 = matrices == DType::I8;
  Type matrixElt = matrices == DType::BF16  ? Type(b.getBF16Type())
                   : matrices == DType::F16 ? Type(b.getF16Type())
                   : int8                   ? Type(b.getI8Type())
                                            : f32;
  auto weightType = [&](const WeightSpec &w) -> RankedTensorType {
    return RankedTensorType::get(w.argShape, w.matrix ? matrixElt : f32);
  };
  // An int8 matrix's per-row scales (ssm.dequantize's), and the float
  // matrix its int8 rows and scales define.
  auto scaleType = [&](int64_t rows) { return tensor({rows}); };
  auto dequantized = [&](Value q, Value scale) -> Value {
    auto qType = cast<RankedTensorType>(q.getType());
    return DequantizeOp::create(b, loc, tensor(qType.getShape()), q, scale);
  };
  int64_t D = cfg.dModel, X = cfg.convChannels(), K = cfg.dConv,
          V = cfg.vocabSize, layers = cfg.nLayer;
  RankedTensorType hType = tensor({batch, length, D});
  RankedTensorType convType = tensor({batch, X, K - 1});
  llvm::SmallVector<int64_t> ssmShape = {batch};
  llvm::append_range(ssmShape, cfg.ssmStateShape());
  RankedTensorType ssmType = tensor(ssmShape);
  llvm::SmallVector<WeightSpec> weights = mambaLayerWeights(cfg);

  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());

  RankedTensorType tokType =
      RankedTensorType::get({batch, length}, b.getI64Type());
  RankedTensorType convStack = tensor({layers, batch, X, K - 1});
  llvm::SmallVector<int64_t> ssmStackShape = {layers};
  llvm::append_range(ssmStackShape, ssmShape);
  RankedTensorType ssmStack = tensor(ssmStackShape);
  RankedTensorType parts[2] = {convType, ssmType};

  // One layer: h + mixer(rmsnorm(h)). It takes the whole state stacks and
  // its index, reads its slice of each and writes its new states back
  // there, so that the stacks are updated in place (ssm-to-llvm drops a
  // private function's results that are its arguments). With the slices
  // as arguments and results, every call copied its states into buffers
  // of their own and the new states back.
  SmallVector<Type> layerArgs = {hType, convStack, ssmStack, b.getIndexType()};
  for (const WeightSpec &w : weights)
    layerArgs.push_back(weightType(w));
  for (const WeightSpec &w : weights)
    if (int8 && w.matrix)
      layerArgs.push_back(scaleType(w.argShape[0]));
  auto layer = func::FuncOp::create(
      b, loc, "mamba_layer",
      b.getFunctionType(layerArgs, {hType, convStack, ssmStack}));
  layer.setPrivate();
  {
    Block *body = layer.addEntryBlock();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(body);
    llvm::StringMap<Value> arg;
    for (auto [i, w] : llvm::enumerate(weights))
      arg[w.name] = body->getArgument(4 + i);
    unsigned nextScale = 4 + weights.size();
    for (const WeightSpec &w : weights)
      if (int8 && w.matrix)
        arg[w.name] =
            dequantized(arg[w.name], body->getArgument(nextScale++));
    Value h = body->getArgument(0);
    SmallVector<OpFoldResult> offsets[2], sizes[2], strides[2];
    Value states[2];
    for (int s = 0; s < 2; ++s) {
      Value stack = body->getArgument(1 + s);
      int64_t rank = parts[s].getRank() + 1;
      offsets[s].assign(rank, b.getIndexAttr(0));
      offsets[s][0] = body->getArgument(3);
      strides[s].assign(rank, b.getIndexAttr(1));
      sizes[s] = tensor::getMixedSizes(b, loc, stack);
      sizes[s][0] = b.getIndexAttr(1);
      states[s] = tensor::ExtractSliceOp::create(
          b, loc, parts[s], stack, offsets[s], sizes[s], strides[s]);
    }
    Value normed = RMSNormOp::create(b, loc, hType, h, arg["norm.weight"],
                                     b.getF64FloatAttr(cfg.eps));
    Operation *block =
        cfg.mixer == MixerKind::Mamba2
            ? createMamba2Block(b, loc, {hType, convType, ssmType}, normed, arg,
                                cfg, states[0], states[1])
                  .getOperation()
            : createMambaBlock(b, loc, {hType, convType, ssmType}, normed, arg,
                               states[0], states[1])
                  .getOperation();
    SmallVector<Value> results = {
        arith::AddFOp::create(b, loc, h, block->getResult(0))};
    for (int s = 0; s < 2; ++s)
      results.push_back(tensor::InsertSliceOp::create(
          b, loc, block->getResult(1 + s), body->getArgument(1 + s), offsets[s],
          sizes[s], strides[s]));
    func::ReturnOp::create(b, loc, results);
  }

  const bool lastOnly = which == LMLogits::Last;
  RankedTensorType logitsType = tensor({batch, lastOnly ? 1 : length, V});
  SmallVector<Type> args(kLayerWeightsArg);
  args[kTokensArg] = tokType;
  args[kEmbeddingArg] = args[kLMHeadArg] =
      RankedTensorType::get({V, D}, matrixElt);
  args[kNormFArg] = tensor({D});
  args[kConvStatesArg] = convStack;
  args[kSsmStatesArg] = ssmStack;
  for (int64_t l = 0; l < layers; ++l)
    for (const WeightSpec &w : weights)
      args.push_back(weightType(w));
  // With int8 matrices, their scales after the layers' weights: the
  // embedding's, the LM head's, then each layer's matrices' in order.
  const unsigned scalesArg = args.size();
  const int64_t matricesPerLayer =
      int8 ? llvm::count_if(weights,
                            [](const WeightSpec &w) { return w.matrix; })
           : 0;
  if (int8) {
    args.push_back(scaleType(V));
    args.push_back(scaleType(V));
    for (int64_t l = 0; l < layers; ++l)
      for (const WeightSpec &w : weights)
        if (w.matrix)
          args.push_back(scaleType(w.argShape[0]));
  }
  auto forward = func::FuncOp::create(
      b, loc, kMambaLMFunc,
      b.getFunctionType(args, {logitsType, convStack, ssmStack}));
  // Weights are read, never written: bufferization must not reuse them
  // (they may be a read-only map of the checkpoint). The states are
  // updated in place: the caller hands their buffers over, two buffers of
  // their own (llvm.noalias: on the GPU targets their device copies then
  // stay valid from layer to layer, and go back once).
  for (unsigned i = kEmbeddingArg; i < args.size(); ++i) {
    const bool state = i == kConvStatesArg || i == kSsmStatesArg;
    forward.setArgAttr(i, "bufferization.writable", b.getBoolAttr(state));
    if (state)
      forward.setArgAttr(i, "llvm.noalias", b.getUnitAttr());
    if (deviceWeights && !state)
      forward.setArgAttr(i, "ssm.device_resident", b.getUnitAttr());
  }
  Block *body = forward.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value embedding = body->getArgument(kEmbeddingArg),
        head = body->getArgument(kLMHeadArg);
  if (int8) {
    embedding = dequantized(embedding, body->getArgument(scalesArg));
    head = dequantized(head, body->getArgument(scalesArg + 1));
  }
  Value h = EmbeddingOp::create(b, loc, hType, body->getArgument(kTokensArg),
                                embedding);
  // The stacked conv and ssm states go through the layers, each updating
  // its slice.
  Value stacks[2] = {body->getArgument(kConvStatesArg),
                     body->getArgument(kSsmStatesArg)};
  for (int64_t l = 0; l < layers; ++l) {
    SmallVector<Value> operands = {h, stacks[0], stacks[1],
                                   arith::ConstantIndexOp::create(b, loc, l)};
    for (size_t i = 0; i < weights.size(); ++i)
      operands.push_back(
          body->getArgument(kLayerWeightsArg + l * weights.size() + i));
    for (int64_t i = 0; i < matricesPerLayer; ++i)
      operands.push_back(
          body->getArgument(scalesArg + 2 + l * matricesPerLayer + i));
    auto call = func::CallOp::create(b, loc, layer, operands);
    h = call.getResult(0);
    stacks[0] = call.getResult(1);
    stacks[1] = call.getResult(2);
  }
  RankedTensorType headIn = hType;
  if (lastOnly) {
    // h[:, L-1:L, :]: the norm is per position, so it and the head need
    // only the last one.
    headIn = tensor({batch, 1, D});
    Value last =
        arith::SubIOp::create(b, loc, tensor::DimOp::create(b, loc, h, 1),
                              arith::ConstantIndexOp::create(b, loc, 1));
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), last,
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, h);
    sizes[1] = b.getIndexAttr(1);
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    h = tensor::ExtractSliceOp::create(b, loc, headIn, h, offsets, sizes,
                                       strides);
  }
  Value normed =
      RMSNormOp::create(b, loc, headIn, h, body->getArgument(kNormFArg),
                        b.getF64FloatAttr(cfg.eps));
  Value logits = LinearOp::create(b, loc, logitsType, normed, head, Value());
  func::ReturnOp::create(b, loc, ValueRange{logits, stacks[0], stacks[1]});

  return verified(std::move(module), "the Mamba model does not verify: ");
}

llvm::Expected<OwningOpRef<ModuleOp>> mlir::ssm::buildMambaStackModule(
    MLIRContext &ctx, llvm::ArrayRef<MambaConfig> layers, bool residual,
    int64_t batch, int64_t length, llvm::ArrayRef<bool> uniformALog) {
  if (layers.empty())
    return llvm::createStringError("a mixer stack needs at least one layer");
  if (!uniformALog.empty() && uniformALog.size() != layers.size())
    return llvm::createStringError(
        "uniformALog has %zu flags for a stack of %zu layers",
        uniformALog.size(), layers.size());
  for (auto [l, uniform] : llvm::enumerate(uniformALog))
    if (uniform && layers[l].mixer != MixerKind::Mamba1)
      return llvm::createStringError(
          "layer %zu: only a Mamba-1 mixer takes A_log per channel", l);
  int64_t D = layers.front().dModel;
  for (auto [l, cfg] : llvm::enumerate(layers))
    if (cfg.dModel != D)
      return llvm::createStringError(
          "layer %zu of the mixer stack has width %lld, layer 0 has %lld", l,
          static_cast<long long>(cfg.dModel), static_cast<long long>(D));
  ctx.loadDialect<func::FuncDialect, arith::ArithDialect, tensor::TensorDialect,
                  linalg::LinalgDialect, ssm::SSMDialect>();
  OpBuilder b(&ctx);
  Location loc = NameLoc::get(b.getStringAttr("mamba_stack"));
  auto tensor = [&](llvm::ArrayRef<int64_t> shape) -> RankedTensorType {
    return RankedTensorType::get(shape, b.getF32Type());
  };
  RankedTensorType hType = tensor({batch, length, D});

  SmallVector<Type> args = {hType};
  SmallVector<SmallVector<WeightSpec>> weights;
  for (auto [l, cfg] : llvm::enumerate(layers)) {
    weights.push_back(mambaLayerWeights(cfg, /*withNorm=*/false));
    for (WeightSpec &w : weights.back()) {
      if (w.name == "mixer.A_log" && !uniformALog.empty() && uniformALog[l])
        w.argShape = {cfg.dInner};
      args.push_back(tensor(w.argShape));
    }
  }
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(b, loc, kMambaStackFunc,
                                   b.getFunctionType(args, {hType}));
  for (unsigned i = 1; i < args.size(); ++i)
    func.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value h = body->getArgument(0);
  unsigned next = 1;
  for (auto [l, cfg] : llvm::enumerate(layers)) {
    llvm::StringMap<Value> arg;
    for (const WeightSpec &w : weights[l])
      arg[w.name] = body->getArgument(next++);
    if (!uniformALog.empty() && uniformALog[l]) {
      // (E) -> (E, N): the same value for every state of a channel.
      Value &aLog = arg["mixer.A_log"];
      Value init = tensor::EmptyOp::create(b, loc, {cfg.dInner, cfg.dState},
                                           b.getF32Type());
      aLog =
          linalg::BroadcastOp::create(b, loc, aLog, init, ArrayRef<int64_t>{1})
              .getResult()
              .front();
    }
    Value out;
    switch (cfg.mixer) {
    case MixerKind::Mamba1:
      out = createMambaBlock(b, loc, {hType}, h, arg).getOut();
      break;
    case MixerKind::Mamba2:
      out = createMamba2Block(b, loc, {hType}, h, arg, cfg).getOut();
      break;
    case MixerKind::S4D:
      out = createS4DMixer(b, loc, hType, h, arg, cfg);
      break;
    }
    h = residual ? arith::AddFOp::create(b, loc, h, out).getResult() : out;
  }
  func::ReturnOp::create(b, loc, h);
  return verified(std::move(module), "the mixer stack does not verify: ");
}

llvm::Expected<OwningOpRef<ModuleOp>> mlir::ssm::buildLinearAttentionStackModule(
    MLIRContext &ctx, int64_t layers, int64_t width, int64_t heads,
    int64_t batch, int64_t length) {
  if (layers < 1 || width < 1 || heads < 1 || width % heads != 0)
    return llvm::createStringError(
        "a linear-attention stack needs at least one layer and a width that "
        "is a positive multiple of its heads; got %lld layers, width %lld, "
        "%lld heads",
        static_cast<long long>(layers), static_cast<long long>(width),
        static_cast<long long>(heads));
  ctx.loadDialect<func::FuncDialect, arith::ArithDialect, ssm::SSMDialect>();
  OpBuilder b(&ctx);
  Location loc = NameLoc::get(b.getStringAttr("linear_attention_stack"));
  auto hType = RankedTensorType::get({batch, length, width}, b.getF32Type());
  auto wType = RankedTensorType::get({width, width}, b.getF32Type());
  SmallVector<Type> args = {hType};
  args.append(3 * layers, wType);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(b, loc, kLinearAttentionStackFunc,
                                   b.getFunctionType(args, {hType}));
  for (unsigned i = 0; i < args.size(); ++i)
    func.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value h = body->getArgument(0);
  for (int64_t l = 0; l < layers; ++l) {
    auto project = [&](unsigned i) -> Value {
      return ssm::LinearOp::create(b, loc, hType, h,
                                   body->getArgument(1 + 3 * l + i), Value());
    };
    Value q = project(0), k = project(1), v = project(2);
    Value y = ssm::LinearAttentionOp::create(b, loc, hType, q, k, v,
                                             b.getI64IntegerAttr(heads));
    h = arith::AddFOp::create(b, loc, h, y);
  }
  func::ReturnOp::create(b, loc, h);
  return verified(std::move(module),
                  "the linear-attention stack does not verify: ");
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::ssm::buildScanReadoutModule(MLIRContext &ctx, int64_t batch,
                                  int64_t length, int64_t channels,
                                  int64_t outputs) {
  ctx.loadDialect<func::FuncDialect, ssm::SSMDialect>();
  OpBuilder b(&ctx);
  Location loc = NameLoc::get(b.getStringAttr("scan_readout"));
  auto seqType =
      RankedTensorType::get({batch, length, channels}, b.getF32Type());
  auto stateType = RankedTensorType::get({batch, channels}, b.getF32Type());
  auto wType = RankedTensorType::get({outputs, channels}, b.getF32Type());
  auto outType = RankedTensorType::get({batch, outputs}, b.getF32Type());
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(
      b, loc, kScanReadoutFunc,
      b.getFunctionType({seqType, seqType, wType}, {outType}));
  for (unsigned i = 0; i < 3; ++i)
    func.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value h = ssm::ScanOp::create(b, loc, stateType, body->getArgument(0),
                                body->getArgument(1), Value(),
                                b.getI64IntegerAttr(1), /*reverse=*/UnitAttr(),
                                /*last_only=*/b.getUnitAttr());
  Value y = ssm::LinearOp::create(b, loc, outType, h, body->getArgument(2),
                                  Value());
  func::ReturnOp::create(b, loc, y);
  return verified(std::move(module), "the scan readout does not verify: ");
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::ssm::buildS4DModule(MLIRContext &ctx, int64_t channels, int64_t states,
                          bool complex, int64_t batch, int64_t length) {
  if (channels < 1 || states < 1)
    return llvm::createStringError(
        "an S4D layer needs at least one channel and one state; got %lld "
        "channels, %lld states",
        static_cast<long long>(channels), static_cast<long long>(states));
  ctx.loadDialect<func::FuncDialect, ssm::SSMDialect>();
  OpBuilder b(&ctx);
  Location loc = NameLoc::get(b.getStringAttr("s4d"));
  auto uType = RankedTensorType::get({batch, length, channels}, b.getF32Type());
  auto dtType = RankedTensorType::get({channels}, b.getF32Type());
  auto mType = RankedTensorType::get({channels, states}, b.getF32Type());
  // u, log_dt, A_real, [A_imag], B, C, [C_imag].
  SmallVector<Type> args = {uType, dtType, mType, mType, mType};
  if (complex)
    args.append(2, mType);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(b, loc, kS4DFunc,
                                   b.getFunctionType(args, {uType}));
  for (unsigned i = 0; i < args.size(); ++i)
    func.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  auto arg = [&](unsigned i) -> Value { return body->getArgument(i); };
  Value aImag = complex ? arg(3) : Value();
  unsigned next = complex ? 4 : 3;
  Value bReal = arg(next), c = arg(next + 1);
  Value cImag = complex ? arg(next + 2) : Value();
  Value y = ssm::S4DOp::create(b, loc, uType, arg(0), arg(1), arg(2), aImag,
                               bReal, /*B_imag=*/Value(), c, cImag,
                               /*D=*/Value(), /*z=*/Value());
  func::ReturnOp::create(b, loc, y);
  return verified(std::move(module), "the S4D layer does not verify: ");
}
