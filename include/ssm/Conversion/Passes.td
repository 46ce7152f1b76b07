//===- Passes.td - ssm conversion passes -------------------*- tablegen -*-===//

#ifndef SSM_CONVERSION_PASSES_TD
#define SSM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def SSMLowerToLoops : Pass<"ssm-lower-to-loops"> {
  let summary = "Reference lowering of the ssm ops to scf loops on memrefs";
  let description = [{
    Rewrites every ssm op into a loop nest of scf/arith/math/memref ops that
    follows the op's definition literally, one scalar at a time: the oracle
    the fast lowerings are tested against, not a fast path. Tensor operands
    enter through `bufferization.to_buffer` and results leave through
    `bufferization.to_tensor restrict writable` of a fresh `memref.alloc`,
    so one-shot bufferization finishes the job for the surrounding program.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::complex::ComplexDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def SSMLowerToVector : Pass<"ssm-lower-to-vector"> {
  let summary = "Fused, vectorised lowering of the selective scan and the "
                "causal conv1d for CPUs";
  let description = [{
    Lowers each f32 `ssm.selective_scan` with a static state size into a
    parallel loop over (batch, group of channel tiles) of `vector-width`
    channels each. A tile keeps the n states of its channels in vector
    registers and walks time in chunks of `chunk-blocks` blocks of
    `vector-width` steps:
    a prologue reads the chunk's delta and u block by block (transposed in
    registers in channel_first layout) into a small per-iteration
    workspace and computes bias, softplus and dt * u for the chunk; the
    state loop computes per step and state
    `exp2(dt * A log2(e))` (A pre-scaled once per tile), the recurrence and
    the C contraction; an epilogue adds the D skip, applies the SiLU gate and
    writes y back. Each step of the state loop prefetches one row of the
    block four blocks ahead of its own; channel and sequence tails are
    masked; no (b, L, d, n) array exists.

    A decoding step (L = 1; with a dynamic length chosen at run time) skips
    the chunk machinery: with n a multiple of `vector-width` a channel's
    states lie in the lanes (rows of A and of the states read and written
    in place, the tile's C contractions reduced by a shuffle tree),
    otherwise the channels do.

    Each f32 `ssm.causal_conv1d` with a static k <= 16 becomes vector FMAs
    over its taps that walk memory contiguously (along time in
    channel_first, along channels in token_major layout).

    In token_major layout, groups of up to `tile-group` tiles (16 by
    default, fewer when `num-threads` threads need more parallel
    iterations) walk time together: each chunk runs over the group's tiles,
    whose states and scaled A are parked in small (b, tiles, n, width)
    buffers between chunks, so that a chunk reads rows group * width
    channels wide. channel_first keeps groups of one tile (measured: no
    gain there) unless its states take more than one block. With parked
    states a chunk runs its state loop once per block of at most
    `state-block` states, so that a block's states stay in registers
    however large n is (up to 256 states; larger n is split into scans over
    groups of states first, as without parking above 64).

    A grouped B or C whose groups split a channel tile is read as
    broadcasts blended by lane (up to four groups per tile) or gathered
    per lane (more, or a dynamic group count), in channel_first layout
    from a per-chunk copy of the groups' rows.

    Ops the fast path does not cover (f64, dynamic n or k, complex A) are
    left for ssm-lower-to-loops. Softplus and SiLU use
    the same exp2 as the recurrence; any other math op left behind gets
    upstream's polynomial approximations, applied by this pass.
    docs/cpu-fast-path.md explains the design.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "Channels per vector, 1 to 16: 16 for AVX-512, 8 for AVX2">,
    Option<"x86Avx512", "x86-avx512", "bool", /*default=*/"false",
           "With vector-width=16: scale exp2's polynomial by AVX-512's "
           "vscalefps (needs AVX512F)">,
    Option<"tileGroup", "tile-group", "int64_t", /*default=*/"0",
           "Channel tiles that advance through time together, chunk by "
           "chunk (1: each tile walks the whole sequence alone; 0: 16 in "
           "token_major layout and where the states take more than one "
           "state block, else 1)">,
    Option<"numThreads", "num-threads", "int64_t", /*default=*/"1",
           "Threads the parallel loops run on: tile groups shrink until "
           "each thread has one">,
    Option<"chunkBlocks", "chunk-blocks", "int64_t", /*default=*/"4",
           "Blocks of vector-width steps in a time chunk of the scan">,
    Option<"stateBlock", "state-block", "int64_t", /*default=*/"0",
           "With parked states (tile groups), the most states a pass of the "
           "state loop holds in registers; a chunk runs one pass per block "
           "of states (0: the measured default)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
    "::mlir::x86vector::X86VectorDialect"
  ];
}

def SSMLowerProjections : Pass<"ssm-lower-projections"> {
  let summary = "Register-blocked vector code for the models' projections";
  let description = [{
    Lowers each f32 projection `out[..., n] = init[..., n] + sum_k x[..., k]
    * w[n, k]` (the linalg.generic contractions of ssm-expand-blocks, x of
    rank 2 or 3, w in checkpoint layout) to one of two kernels, chosen at run
    time by the number of rows of x:

    * prefill (>= `packed-from-rows` rows): the rows of x in chunks of
      about 8 MB, and for each a parallel loop over panels of 2 x
      `vector-width` outputs; each iteration packs its panel of w
      transposed (k-major, so a step of k reads two contiguous vectors) and
      runs register blocks of 8 rows (4 with AVX2) x 2 vectors over the
      chunk's rows: per k, two vector loads, one broadcast per row and two
      FMAs per row, 16 accumulators in registers; over k in chunks of 2048
      when K exceeds that. Output tails are masked.
    * decoding (fewer rows): per output, a dot product of a row of x with a
      row of w, vectorised along k: w is read once and never packed; several
      rows (sequences decoding together) share each vector of w in blocks
      of 4 rows (2 with AVX2).

    docs/projections.md gives the design and the figures.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector, 1 to 16: 16 for AVX-512, 8 for AVX2">,
    Option<"packedFromRows", "packed-from-rows", "int64_t", /*default=*/"0",
           "rows of x (b * L) from which the packed prefill kernel runs "
           "rather than the decoding one; 0: by the weight's type (16 rows "
           "for f32, 32 for bf16 and f16, 64 for int8, as measured)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def SSMStridedCopies : Pass<"ssm-strided-copies"> {
  let summary = "Copy strided buffers with loops rather than memrefCopy";
  let description = [{
    Rewrites every `memref.copy` whose source or target is not contiguous
    (a slice of a larger buffer, as when a lane tile or a time chunk of
    ssm-tile or ssm-parallel-scan goes into its result) into `linalg.copy`.
    The LLVM lowering of memref.copy calls MLIR's generic `memrefCopy` for
    such copies, which walks the descriptor element by element: the
    selective scan b1 d16 n16 L 2^20 applied per block of 1024 steps (the
    blocks copied into the result) took 110 ms with it and 70 ms with loops,
    against 65 ms unblocked (one thread, this machine, one run each).
    convert-linalg-to-loops makes loops whose unit-stride innermost loop
    LLVM vectorises. Contiguous copies stay memcpy.

    A copy whose layouts are only known at run time (dynamic strides, as
    after an scf.if whose branches yield different layouts) branches on
    them: a memcpy (`llvm.intr.memcpy`) when both buffers are contiguous,
    nothing when they are the same buffer (a state a scan updated in place,
    put back where it came from), the loops otherwise. For a 786 KB state
    per layer of Mamba-2's decoding step the profile's shares put the
    memcpy at about 3x the vectorised loop's rate (docs/performance.md).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect"];
}

def SSMInlineAllocaScopes : Pass<"ssm-inline-alloca-scopes"> {
  let summary = "Inline memref.alloca_scope ops that contain no stack allocation";
  let description = [{
    convert-scf-to-openmp wraps each parallel loop body in a
    `memref.alloca_scope`. Upstream's canonicaliser inlines such a scope only
    when nothing in it may allocate on the stack, and it counts any op
    without memory-effect information as a possible allocation: the call to
    the ownership-based deallocation's `dealloc_helper` in the body of a
    tiled program is one. The scope then survives until scf-to-cf turns its
    body into several blocks, which the op does not allow. This pass inlines
    every scope whose body (outside nested scopes) has no `memref.alloca`
    and no `llvm.alloca`, which is the case for all code our lowerings and
    the bufferization produce.
  }];
}

def SSMHostToLLVM : Pass<"ssm-host-to-llvm", "::mlir::ModuleOp"> {
  let summary = "The host's scalar code, memrefs, functions, control flow "
                "and OpenMP regions to the LLVM dialect in one conversion";
  let description = [{
    One dialect conversion with the upstream patterns of
    convert-arith-to-llvm, convert-complex-to-llvm, convert-index-to-llvm,
    finalize-memref-to-llvm, convert-func-to-llvm, convert-cf-to-llvm,
    convert-ub-to-llvm and convert-openmp-to-llvm, sharing one type
    converter, instead of those eight passes one after the other. Each of
    them walks the whole module and checks every op's legality, and the
    programs the JIT compiles are one function of 10,000-30,000 ops after
    the vector lowering: one conversion instead of eight took 0.13-0.18 s
    off lowerings of 0.58-1.13 s (docs/compile-time.md). The LLVM dialect
    differs from the eight passes' only in the order of some ops; the
    optimised LLVM IR is the same.

    The dialects it converts are illegal afterwards: an op the patterns
    cannot lower (arith on a tensor) is an error at its location, not an
    unrealized cast that the translation to LLVM IR fails on later.

    Runs after convert-vector-to-llvm, convert-math-to-llvm and
    convert-math-to-libm, which stay passes of their own: the vector
    pass's progressive lowerings are a greedy rewrite before its
    conversion, and math-to-libm must see only the math ops that LLVM has
    no intrinsic for. Ops of other dialects are left as they are (a
    partial conversion: gpu-to-llvm takes the GPU targets' launches).
  }];
  let options = [
    Option<"runtimeAllocator", "runtime-allocator", "bool",
           /*default=*/"false",
           "Allocate and free host buffers through "
           "_mlir_memref_to_llvm_alloc/_aligned_alloc/_free "
           "(finalize-memref-to-llvm's use-generic-functions) instead of "
           "malloc, aligned_alloc and free">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def SSMLowerToGPU : Pass<"ssm-lower-to-gpu"> {
  let summary = "The selective scan and the causal conv1d as GPU kernels";
  let description = [{
    Rewrites each f32 `ssm.selective_scan` with a real A and a static state
    size, and each f32 `ssm.causal_conv1d`, into a `gpu.launch` on the
    buffers of its operands and results (the host's view: a later
    ssm-gpu-device-buffers gives each launch device copies).

    The scan follows mamba_ssm's fused kernel: one thread block per
    (channel, batch row); the sequence is cut into chunks of
    threads x `items-per-thread` steps, each thread holding
    `items-per-thread` consecutive steps in registers. Per chunk and state,
    each thread scans its steps serially into one (a, b) pair
    (h -> a * h + b), a shuffle-up warp scan combines the pairs of a warp,
    each warp's total goes through shared memory across one barrier, and
    the state carried from the previous chunk enters every thread's prefix;
    the thread then replays its steps from that state and accumulates
    C * h into its outputs. Bias, softplus, dt * u, the D skip and the SiLU
    gate are fused; exp(dt * A) is exp2 of dt times A * log2(e), scaled
    once per state (a math.exp2 marked `afn`, which ssm-math-to-nvvm makes
    `ex2.approx`); softplus and SiLU take their exp from it too, divide
    approximately (`arith.divf` marked `afn`) and evaluate log1p as a
    series, so that kernels need no libdevice.

    The block has as many warps as the sequence needs, up to
    `max-threads` threads. Complex A (S4D), f64 and dynamic n are left for
    the host's lowerings. docs/gpu.md explains the design.
  }];
  let options = [
    Option<"itemsPerThread", "items-per-thread", "int64_t", /*default=*/"16",
           "Consecutive steps each thread holds in registers">,
    Option<"maxThreads", "max-threads", "int64_t", /*default=*/"128",
           "Most threads per block of the scan (a multiple of 32)">,
    Option<"statesPerIteration", "states-per-iteration", "int64_t",
           /*default=*/"1",
           "States the scan's state loop handles together, interleaving "
           "their warp scans under one barrier (1 when it does not divide n)">,
    Option<"prefetch", "prefetch", "bool", /*default=*/"false",
           "Load each state's A and B an iteration of the state loop ahead, "
           "and C before the barrier">,
    Option<"strategy", "strategy", "std::string", /*default=*/"\"chunks\"",
           "The scan's kernel: chunks (a block per channel, a block-wide scan "
           "of chunks of steps), channels (a thread per channel, its states "
           "in registers, serial in time; B and C varying with time and "
           "at most 32 states per thread, else chunks) or auto (both, "
           "chosen at run time: channels from 8192 batch rows x channels)">,
    Option<"threadsPerChannel", "threads-per-channel", "int64_t",
           /*default=*/"1",
           "Threads sharing a channel's states in the channels kernel: 1, 2, "
           "4 or 8 (1 when it does not divide n)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def SSMMathToNVVM : Pass<"ssm-math-to-nvvm"> {
  let summary = "The kernels' f32 math as NVPTX instructions, not libdevice";
  let description = [{
    Rewrites, in GPU kernels, f32 `math.exp2` whose fastmath flags allow an
    approximation (`afn`) into `llvm.nvvm.ex2.approx.ftz.f32` (relative error
    about 2^-22, one special-function instruction; results under 2^-126
    flush to zero, which saves the subnormal fix-up of the non-ftz form),
    `math.floor` into
    `llvm.floor.f32`, `math.fma` into `llvm.intr.fma`, f32 `math.absf`
    into `llvm.fabs.f32`, f32 `math.sqrt` into `llvm.sqrt.f32` and f32
    `math.rsqrt` into its reciprocal (both correctly rounded). ssm-lower-to-gpu marks the scan's exp2 so and
    writes its multiply-adds as fma, its softplus uses absf, and upstream's
    polynomial approximations of exp and log use floor and fma;
    convert-gpu-to-nvvm would call libdevice for each, which needs the CUDA
    toolkit when the binary is built. Runs on
    the kernels (gpu.module), after bufferization: the intrinsic calls have
    no memory-effect information, which the buffer deallocation pipeline
    rejects.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def SSMHostOpsToGPU : Pass<"ssm-host-ops-to-gpu"> {
  let summary = "The host's remaining loops as GPU kernels";
  let description = [{
    Runs on memrefs, after bufferization and before ssm-gpu-device-buffers,
    for `--ssm-to-nvptx kernels=all`: everything ssm-lower-to-gpu left on
    the host that a GPU can run becomes a `gpu.launch`, so that a model's
    activations can stay on the device from kernel to kernel.

    - A projection (the linalg.generic of an expanded ssm.linear:
      `y[..., m, n] += x[..., m, k] * W[n, k]` in f32, with the zero fill
      of y just before it if there is one) with at least `tiled-from-rows`
      rows m becomes a tiled matrix product: blocks of 256 threads, each
      block 64 x 64 outputs from 64 x 16 tiles of x and W in shared memory,
      each thread 4 x 4 sums in registers. With m known only at run time,
      both it and the warp-per-output kernel below (decoding's shape) are
      launched, one of them on an empty grid: the tiled one from
      `tiled-from-rows` rows, the other on views with no rows from there on
      (one block's launches stay on one stream; a branch would split it).
    - `memref.copy` becomes `linalg.copy`, and linalg ops (the expanded
      projections, norms, gates, the embedding gather) become `scf.parallel`
      nests (upstream's linalgOpToParallelLoops); adjacent parallel loops
      over the same space are fused (upstream's parallel loop fusion: a
      projection's zero fill joins its accumulation).
    - A top-level `scf.parallel` whose body a kernel can run (arith, index,
      scf, memref loads, stores and views, affine index arithmetic, and f32
      math that upstream's polynomial approximations or ssm-math-to-nvvm
      lower without libdevice) has its views of host buffers sunk into it,
      so that the kernel captures row-major buffers only; a loop that would
      still capture a strided view, or holds anything else (f64 math,
      calls, allocations, nested parallel loops), stays on the host.
    - In its sequential loops, an accumulation into one memory location
      (a load and a store at loop-invariant indices, the loop's only
      write, with no other access that may alias it) is kept in a register
      and stored once after the loop.
    - Its dimensions are collapsed into one (upstream's
      collapseParallelLoops: consecutive iterations walk the innermost,
      contiguous dimension) and it becomes a launch of ceil(N / block-size)
      blocks of `block-size` threads, one iteration per thread, the last
      block's extra threads idle.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block of the kernels (a multiple of 32 up to 1024)">,
    Option<"tiledFromRows", "tiled-from-rows", "int64_t", /*default=*/"32",
           "Rows (m) from which a projection is a tiled matrix product "
           "(0: never)">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::affine::AffineDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def SSMGPUDeviceBuffers : Pass<"ssm-gpu-device-buffers"> {
  let summary = "Device copies of the host buffers a gpu.launch uses";
  let description = [{
    Runs on memrefs, after bufferization. For each synchronous `gpu.launch`
    whose body uses memrefs defined outside it, allocates a device buffer
    per memref, copies in those the kernel reads or writes (except a fresh
    `memref.alloc`, whose contents are undefined), launches on the device
    buffers, copies back what it writes and the host may read, all in one
    chain of async tokens (one stream). Each op has one dependency, the form
    gpu-to-llvm lowers. The launches of a block continue one chain while
    the host ops between them need not wait: the host waits for the stream
    (`gpu.wait`) only before an op that may read, write or free memory the
    stream copies (or memory it does not name), a call, or the block's
    terminator. Allocating, views and index arithmetic do not wait.

    A later launch of the same block that uses the same host buffer reuses
    its device buffer, without a copy in, while the device copy is still
    equal to it: for an allocation or an argument marked `llvm.noalias`
    (upstream's unit attribute: it shares memory with no other argument),
    when no host op in between may write or free it or a view of it; for
    any other function argument, when no op in between may write such an
    argument (two of them may alias). A kernel's writes to an allocation or
    a `llvm.noalias` argument are copied back only when the host may read
    it (or a view of it: any use other than a dim, a dealloc or a later
    launch served by the same device copy) before the next launch that
    writes the device copy again, and for the argument also after the last
    such launch (the caller reads it): an intermediate that only kernels
    read never leaves the device, and a state that every layer's kernels
    update goes back once. Other arguments go back after each kernel that
    writes them. Each device buffer is freed in the chain of the last
    launch that uses it.

    A memref argument marked `ssm.device_resident` (a unit argument
    attribute) already lives in device memory: the caller passes a device
    address, kernels use it with no copy, and any host use other than a
    view, a `memref.dim` or a call that takes it device-resident is an
    error. A private function's argument becomes device-resident when every
    call passes it a device-resident buffer (or a view of one); a call
    that passes one where another passes host memory, or to a public
    function, is an error. Views of host buffers that a kernel uses are
    made inside the kernel, which captures the whole buffer (a slice of a
    stacked state is strided).
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect"
  ];
}

def SSMGPUDedupKernels : Pass<"ssm-gpu-dedup-kernels", "::mlir::ModuleOp"> {
  let summary = "One gpu.module for each set of identical outlined kernels";
  let description = [{
    After gpu-kernel-outlining, which makes a `gpu.module` per launch: a
    module whose attributes (but its name) and single kernel equal an
    earlier module's (the kernel's attributes but its name, and its body,
    locations aside) is erased and its `gpu.launch_func` ops launch the
    earlier one. A model whose layers are inlined (the GPU pipelines with
    all-kernels) launches the same kernels once per layer; without this
    each copy would be compiled to PTX, assembled and loaded.

    Kernels that differ only in the static offsets of some `memref.subview`
    ops (each layer's slice of a stacked state), where only loads and
    stores use those subviews, are merged too: the kept kernel takes each
    offset that differs as an index argument after its others (its subview
    then has a dynamic offset), and every launch of the set passes its own
    module's offsets as constants. At most 16 offsets per kernel; any other
    difference (a constant, an attribute, a type) keeps kernels apart.
  }];
}

def SSMGPUEmulateKernels : Pass<"ssm-gpu-emulate-kernels", "::mlir::ModuleOp"> {
  let summary = "GPU kernels as host functions for the GPU emulator";
  let description = [{
    The first half of running GPU kernels on the CPU (`ssm-to-gpu-emulator`,
    `ssm-run --target gpu-emulator`), after gpu-kernel-outlining and
    scf-to-cf. Moves the body of every kernel of every `gpu.module` into a
    private `func.func` of the host module (named after the module and the
    kernel) and rewrites its GPU ops into calls of the emulator's runtime
    (include/ssm/Conversion/SSMToGPU/EmulatorABI.h): thread, block and lane
    ids and sizes, `gpu.barrier`, `gpu.shuffle` (32- and 64-bit values) and
    `gpu.dynamic_shared_memory`, whose memory space it drops. Each
    `gpu.launch_func` becomes a call of the kernel's launcher,
    `<kernel>_launch(grid x, y, z, block x, y, z, shared bytes, arguments)`,
    a declaration that ssm-gpu-emulate-launches defines once everything is
    in the LLVM dialect; the emulator runs a launch to completion, so its
    async token is its dependencies'. An f32 `math.exp2` marked `afn`
    (ex2.approx on NVIDIA GPUs) is scaled by 1 - 2^-24: one ulp low, the
    direction and about the size of the hardware's error. The `gpu.module`s are erased. A GPU op
    the emulator does not model, a device function or a kernel with
    attributions is an error.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::gpu::GPUDialect"
  ];
}

def SSMGPUEmulateLaunches : Pass<"ssm-gpu-emulate-launches", "::mlir::ModuleOp"> {
  let summary = "The GPU emulator's kernel launchers, in the LLVM dialect";
  let description = [{
    The second half of `ssm-to-gpu-emulator`, after the host's conversion
    to LLVM. Defines each launcher that ssm-gpu-emulate-kernels declared:
    it packs the kernel's arguments (memref descriptors expanded) as
    `cuLaunchKernel` takes them, an array of pointers to each, and calls
    `ssm_emu_launch` with `<kernel>_packed`, a wrapper that unpacks them
    and calls the kernel's host function, the grid, the block and the
    shared memory size.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // SSM_CONVERSION_PASSES_TD
