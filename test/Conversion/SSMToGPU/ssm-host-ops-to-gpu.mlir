// RUN: ssm-opt %s --split-input-file --verify-diagnostics --ssm-host-ops-to-gpu --canonicalize --cse | FileCheck %s
// RUN: ssm-opt %s --split-input-file --ssm-host-ops-to-gpu="block-size=128" --canonicalize | FileCheck %s --check-prefix=B128
// RUN: ssm-opt %s --split-input-file --ssm-host-ops-to-gpu="tiled-from-rows=0" --canonicalize | FileCheck %s --check-prefix=NEVER
// RUN: not ssm-opt %s --split-input-file --ssm-host-ops-to-gpu="block-size=100" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not ssm-opt %s --split-input-file --ssm-host-ops-to-gpu="tiled-from-rows=-1" 2>&1 | FileCheck %s --check-prefix=BADROWS

// BAD: ssm-host-ops-to-gpu: block-size must be a multiple of 32 in [32, 1024]
// BADROWS: ssm-host-ops-to-gpu: tiled-from-rows must be 0 (never) or more

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// An elementwise op on a (?, 5) buffer: one launch of ceil(5 n / 256)
// blocks of 256 threads, each thread one element (the index split with the
// innermost dimension fastest), the last block's extra threads idle; exp
// as upstream's polynomial (fma, floor: no libdevice).

// CHECK-LABEL: func.func @elementwise(
// CHECK-SAME:    %[[A:.*]]: memref<?x5xf32>, %[[B:.*]]: memref<?x5xf32>)
// CHECK-DAG:   %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG:   %[[C5:.*]] = arith.constant 5 : index
// CHECK:       %[[N:.*]] = memref.dim %[[A]]
// CHECK:       %[[TOTAL:.*]] = arith.muli %[[N]], %[[C5]]
// CHECK:       %[[ITER:.*]] = arith.maxsi %[[TOTAL]]
// CHECK:       %[[GRID:.*]] = arith.ceildivui %[[ITER]], %[[C256]]
// CHECK:       gpu.launch blocks({{.*}}) in ({{.*}} = %[[GRID]], {{.*}} threads({{.*}}) in ({{.*}} = %[[C256]],
// CHECK:         %[[BX:.*]] = gpu.block_id x
// CHECK:         %[[TX:.*]] = gpu.thread_id x
// CHECK:         %[[BASE:.*]] = arith.muli %[[BX]], %[[C256]]
// CHECK:         %[[I:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK:         %[[IN:.*]] = arith.cmpi ult, %[[I]], %[[ITER]]
// CHECK:         scf.if %[[IN]] {
// CHECK:           %[[COL:.*]] = arith.remsi %[[I]], %[[C5]]
// CHECK:           %[[ROW:.*]] = arith.divsi %[[I]], %[[C5]]
// CHECK:           memref.load %[[A]][%[[ROW]], %[[COL]]]
// CHECK-NOT:       math.exp
// CHECK:           math.floor
// CHECK:           memref.store %{{.*}}, %[[B]][%[[ROW]], %[[COL]]]
// CHECK-NOT:   scf.parallel
// B128-LABEL:  func.func @elementwise(
// B128:        gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c128,
func.func @elementwise(%a: memref<?x5xf32>, %b: memref<?x5xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<?x5xf32>) outs(%b : memref<?x5xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// A reduction into a fresh buffer: its zero fill joins it in one launch,
// the sum is kept in a register through the loop, and a warp shares it out:
// 8 rows per block of 256 threads, lane j taking columns j, j + 32, ...,
// the partial sums added across the warp by a butterfly of xor shuffles,
// lane 0 alone storing (the fill and the total).

// CHECK-LABEL: func.func @rowsum(
// CHECK-SAME:    %[[A:.*]]: memref<?x5xf32>)
// CHECK-DAG:   %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:   %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:       %[[S:.*]] = memref.alloc
// CHECK:       %[[GRID:.*]] = arith.ceildivui %{{.*}}, %[[C8]]
// CHECK:       gpu.launch blocks({{.*}}) in ({{.*}} = %[[GRID]],
// CHECK:         %[[TX:.*]] = gpu.thread_id x
// CHECK:         %[[W:.*]] = arith.divui %[[TX]], %[[C32]]
// CHECK:         scf.if
// CHECK:           %[[LANE:.*]] = arith.remui %[[TX]], %[[C32]]
// CHECK:           %[[FIRST:.*]] = arith.cmpi eq, %[[LANE]], %c0
// CHECK:           scf.if %[[FIRST]] {
// CHECK-NEXT:        memref.store %[[ZERO]], %[[S]][%[[I:.*]]]
// CHECK:           %[[INIT:.*]] = memref.load %[[S]][%[[I]]]
// CHECK:           %[[PART:.*]] = scf.for %{{.*}} = %[[LANE]] to %c5 step %[[C32]] iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK-NOT:         memref.store
// CHECK:             %[[X:.*]] = memref.load %[[A]]
// CHECK:             %[[P:.*]] = arith.mulf %[[X]], %[[X]]
// CHECK:             %[[Q:.*]] = arith.addf %[[P]], %[[ACC]]
// CHECK:             scf.yield %[[Q]]
// CHECK:           gpu.shuffle xor %[[PART]], %c1_i32, %c32_i32
// CHECK-COUNT-4:   gpu.shuffle xor
// CHECK:           %[[TOTAL:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK:           %[[SUM:.*]] = arith.addf %[[INIT]], %[[TOTAL]]
// CHECK:           scf.if %[[FIRST]] {
// CHECK-NEXT:        memref.store %[[SUM]], %[[S]][%[[I]]]
// CHECK-NOT:   gpu.launch
// CHECK:       return %[[S]]
func.func @rowsum(%a: memref<?x5xf32>) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?x5xf32>
  %s = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<?xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<?x5xf32>) outs(%s : memref<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %p = arith.mulf %x, %x : f32
    %q = arith.addf %p, %acc : f32
    linalg.yield %q : f32
  }
  return %s : memref<?xf32>
}

// Two arguments may alias: the accumulation into %s stays in memory.

// CHECK-LABEL: func.func @may_alias(
// CHECK:       gpu.launch
// CHECK:         scf.for
// CHECK-NOT:       iter_args
// CHECK:           memref.load
// CHECK:           memref.store
func.func @may_alias(%a: memref<?x5xf32>, %s: memref<?xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<?x5xf32>) outs(%s : memref<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %q = arith.addf %x, %acc : f32
    linalg.yield %q : f32
  }
  return
}

// An argument marked llvm.noalias shares memory with no other: the sum
// into %s is kept in a register again (and shared by a warp's lanes).

// CHECK-LABEL: func.func @no_alias(
// CHECK:       gpu.launch
// CHECK:         scf.for {{.*}} iter_args
// CHECK-NOT:       memref.store
// CHECK:           memref.load
// CHECK:         gpu.shuffle xor
func.func @no_alias(%a: memref<?x5xf32>, %s: memref<?xf32> {llvm.noalias}) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<?x5xf32>) outs(%s : memref<?xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %q = arith.addf %x, %acc : f32
    linalg.yield %q : f32
  }
  return
}

// -----

// A copy out of a column slice (a strided view): the kernel takes the
// slice's view itself, so that it captures only row-major buffers.

// CHECK-LABEL: func.func @slice_copy(
// CHECK-SAME:    %[[A:.*]]: memref<4x32xf32>
// CHECK:       %[[OUT:.*]] = memref.alloc() : memref<4x16xf32>
// CHECK-NOT:   memref.subview
// CHECK:       gpu.launch
// CHECK:         %[[V:.*]] = memref.subview %[[A]][0, 16] [4, 16] [1, 1]
// CHECK:         %[[X:.*]] = memref.load %[[V]]
// CHECK:         memref.store %[[X]], %[[OUT]]
// CHECK-NOT:   memref.copy
func.func @slice_copy(%a: memref<4x32xf32>) -> memref<4x16xf32> {
  %v = memref.subview %a[0, 16] [4, 16] [1, 1] : memref<4x32xf32> to memref<4x16xf32, strided<[32, 1], offset: 16>>
  %out = memref.alloc() : memref<4x16xf32>
  memref.copy %v, %out : memref<4x16xf32, strided<[32, 1], offset: 16>> to memref<4x16xf32>
  return %out : memref<4x16xf32>
}

// -----

// What a kernel cannot run stays on the host: f64 math (libdevice), a call,
// a loop that captures a strided buffer the pass cannot see through; the
// scan kernels' own launches are left alone.

// CHECK-LABEL: func.func @host(
// CHECK-NOT:   gpu.launch
// CHECK:       scf.parallel
// CHECK:         math.exp %{{.*}} : f64
// CHECK:       scf.parallel
// CHECK:         func.call @f
// CHECK:       scf.parallel
// CHECK:         memref.load %{{.*}} : memref<8xf32, strided<[2]>>
// CHECK:       gpu.launch
// CHECK-NOT:   gpu.launch
func.func private @f(f32) -> f32
func.func @host(%a: memref<8xf64>, %b: memref<8xf32>, %c: memref<8xf32, strided<[2]>>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %x = memref.load %a[%i] : memref<8xf64>
    %e = math.exp %x : f64
    memref.store %e, %a[%i] : memref<8xf64>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %x = memref.load %b[%i] : memref<8xf32>
    %e = func.call @f(%x) : (f32) -> f32
    memref.store %e, %b[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %x = memref.load %c[%i] : memref<8xf32, strided<[2]>>
    memref.store %x, %b[%i] : memref<8xf32>
    scf.reduce
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1) {
    %x = memref.load %b[%tx] : memref<8xf32>
    memref.store %x, %b[%tx] : memref<8xf32>
    gpu.terminator
  }
  return
}

// -----

// A loop from elsewhere with its own bounds: iteration i of the launch is
// lb + i * step, over ceil((ub - lb) / step) iterations.

// CHECK-LABEL: func.func @bounds(
// CHECK-SAME:    %[[LB:.*]]: index, %[[UB:.*]]: index, %[[B:.*]]: memref<?xf32>
// CHECK:       %[[SPAN:.*]] = arith.subi %[[UB]], %[[LB]]
// CHECK:       %[[POS:.*]] = arith.maxsi %[[SPAN]]
// CHECK:       %[[N:.*]] = arith.ceildivui %[[POS]], %c3
// CHECK:       gpu.launch
// CHECK:         arith.cmpi ult, %{{.*}}, %[[N]]
// CHECK:         %[[OFF:.*]] = arith.muli %{{.*}}, %c3
// CHECK:         %[[IV:.*]] = arith.addi %[[LB]], %[[OFF]]
// CHECK:         memref.store %{{.*}}, %[[B]][%[[IV]]]
func.func @bounds(%lb: index, %ub: index, %b: memref<?xf32>, %f: f32) {
  %c3 = arith.constant 3 : index
  scf.parallel (%i) = (%lb) to (%ub) step (%c3) {
    memref.store %f, %b[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>

// A projection (ssm.linear expanded: y[m, n] = sum_k x[m, k] w[n, k], the
// zero fill before it) with a row count known only at run time: from 32
// rows a tiled matrix product, one block per 64 x 64 outputs (column
// blocks fastest), 256 threads, 64 x 16 tiles of x and W stored k-major in
// 8704 bytes of shared memory (two 16 x 68 tiles), each thread 16 sums
// started at the fill's value and updated by fmas on two 16-byte shared
// loads per step, between two barriers per tile. Below 32 rows its grid is
// empty, and the fill and the product run as before (a warp per output) on
// views of the rows of x and y that are 0 from 32 rows on: both launches
// in the function's block.

// CHECK-LABEL: func.func @projection(
// CHECK-SAME:    %[[X:.*]]: memref<?x96xf32>, %[[W:.*]]: memref<80x96xf32>)
// CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:       %[[M:.*]] = memref.dim %[[X]], %c0
// CHECK:       %[[Y:.*]] = memref.alloc(%[[M]])
// CHECK:       %[[MANY:.*]] = arith.cmpi uge, %[[M]], %c32
// CHECK:       %[[RB:.*]] = arith.ceildivui %[[M]], %c64
// CHECK:       %[[TILES:.*]] = arith.muli %[[RB]], %c2
// CHECK:       %[[BLOCKS:.*]] = arith.select %[[MANY]], %[[TILES]], %c0
// CHECK:       gpu.launch blocks({{.*}}) in ({{.*}} = %[[BLOCKS]], {{.*}} threads({{.*}}) in ({{.*}} = %c256, {{.*}} dynamic_shared_memory_size %c8704_i32 {
// CHECK:         %[[BX:.*]] = gpu.block_id x
// CHECK:         %[[TX:.*]] = gpu.thread_id x
// CHECK:         %[[COLB:.*]] = arith.remui %[[BX]], %c2
// CHECK:         %[[SMEM:.*]] = gpu.dynamic_shared_memory
// CHECK:         %[[XS:.*]] = memref.view %[[SMEM]][%c0][] {{.*}} to memref<16x68xf32, #gpu.address_space<workgroup>>
// CHECK:         %[[WS:.*]] = memref.view %[[SMEM]][%c4352][] {{.*}} to memref<16x68xf32, #gpu.address_space<workgroup>>
// CHECK:         %[[SUMS:.*]]:16 = scf.for %[[K0:.*]] = %c0 to %c96 step %c16 iter_args(%{{.*}} = %[[ZERO]], {{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK-COUNT-4:   memref.load %[[X]]
// CHECK-NOT:       gpu.barrier
// CHECK:           gpu.barrier
// CHECK:           scf.for
// CHECK:             vector.load %[[XS]]{{.*}} {alignment = 16 : i64} : memref<16x68xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK:             vector.load %[[WS]]
// CHECK-COUNT-16:    math.fma
// CHECK:           gpu.barrier
// CHECK:         }
// CHECK-COUNT-16: memref.store %{{.*}}, %[[Y]]
// CHECK:       %[[FEW:.*]] = arith.select %[[MANY]], %c0, %[[M]]
// CHECK:       gpu.launch
// CHECK-DAG:     %[[XF:.*]] = memref.subview %[[X]][0, 0] [%[[FEW]], 96] [1, 1]
// CHECK-DAG:     %[[YF:.*]] = memref.subview %[[Y]][0, 0] [%[[FEW]], 80] [1, 1]
// CHECK-NOT:     gpu.barrier
// CHECK:         memref.store %[[ZERO]], %[[YF]]
// CHECK:         memref.load %[[XF]]
// CHECK:         gpu.shuffle xor
// CHECK:       return %[[Y]]
// NEVER-LABEL: func.func @projection(
// NEVER-NOT:   gpu.barrier
// NEVER:       gpu.shuffle xor
// NEVER-NOT:   gpu.barrier
// NEVER:       return
func.func @projection(%x: memref<?x96xf32>, %w: memref<80x96xf32>) -> memref<?x80xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %x, %c0 : memref<?x96xf32>
  %y = memref.alloc(%m) : memref<?x80xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<?x80xf32>)
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x96xf32>, memref<80x96xf32>) outs(%y : memref<?x80xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %p, %acc : f32
    linalg.yield %q : f32
  }
  return %y : memref<?x80xf32>
}

// -----

#xb = affine_map<(b, m, n, k) -> (b, m, k)>
#wb = affine_map<(b, m, n, k) -> (n, k)>
#yb = affine_map<(b, m, n, k) -> (b, m, n)>
#bias = affine_map<(b, m, n) -> (n)>
#id3 = affine_map<(b, m, n) -> (b, m, n)>

// A batch of 2 x 40 rows (static: one launch, its grid as it is), x a column slice of a wider
// buffer (dt_proj's input), W before x in the operands, the output
// initialised with a bias broadcast: the batch is the slowest part of the
// block index (here all of it: one block of rows and columns), the kernel
// makes the slice's view itself, and each thread
// starts its sums from the bias of its 4 columns (4 loads, no broadcast
// left). K = 4 is one tile: canonicalization unrolls its loop.

// CHECK-LABEL: func.func @batched_bias(
// CHECK-SAME:    %[[XW:.*]]: memref<2x40x36xf32>, %[[W:.*]]: memref<50x4xf32>, %[[B:.*]]: memref<50xf32>)
// CHECK-NOT:   arith.select
// CHECK-NOT:   memref.subview
// CHECK:       gpu.launch blocks({{.*}}) in ({{.*}} = %c2,
// CHECK:         %[[XS:.*]] = memref.subview %[[XW]][0, 0, 4] [2, 40, 4] [1, 1, 1]
// CHECK:         %[[BX:.*]] = gpu.block_id x
// CHECK:         %[[BATCH:.*]] = arith.remui %[[BX]], %c2
// CHECK-COUNT-4: memref.load %[[B]]
// CHECK-NOT:     memref.load %[[B]]
// CHECK:         memref.load %[[XS]][%[[BATCH]],
// CHECK:         memref.load %[[W]]
// CHECK:       return
func.func @batched_bias(%xw: memref<2x40x36xf32>, %w: memref<50x4xf32>, %b: memref<50xf32>) -> memref<2x40x50xf32> {
  %x = memref.subview %xw[0, 0, 4] [2, 40, 4] [1, 1, 1] : memref<2x40x36xf32> to memref<2x40x4xf32, strided<[1440, 36, 1], offset: 4>>
  %y = memref.alloc() : memref<2x40x50xf32>
  linalg.generic {indexing_maps = [#bias, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%b : memref<50xf32>) outs(%y : memref<2x40x50xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#wb, #xb, #yb], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<50x4xf32>, memref<2x40x4xf32, strided<[1440, 36, 1], offset: 4>>) outs(%y : memref<2x40x50xf32>) {
  ^bb0(%c: f32, %a: f32, %acc: f32):
    %p = arith.mulf %a, %c : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  }
  return %y : memref<2x40x50xf32>
}

// -----

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#y = affine_map<(m, n, k) -> (m, n)>
#id2 = affine_map<(m, n) -> (m, n)>

// Static rows below 32 (a decoding step's batch): no tiled kernel. With no
// init op before it, the tiled kernel starts from what the output holds
// (each thread loads its 16 outputs first). An output that may share
// memory with x (two arguments) is left to the loop kernels.

// CHECK-LABEL: func.func @few_rows(
// CHECK-NOT:   gpu.barrier
// CHECK:       gpu.shuffle xor
// CHECK-NOT:   gpu.barrier
// CHECK:       return
func.func @few_rows(%x: memref<8x96xf32>, %w: memref<80x96xf32>) -> memref<8x80xf32> {
  %zero = arith.constant 0.0 : f32
  %y = memref.alloc() : memref<8x80xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<8x80xf32>)
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x96xf32>, memref<80x96xf32>) outs(%y : memref<8x80xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %p, %acc : f32
    linalg.yield %q : f32
  }
  return %y : memref<8x80xf32>
}

// CHECK-LABEL: func.func @accumulate(
// CHECK-SAME:    %[[X:.*]]: memref<64x96xf32>, %[[W:.*]]: memref<80x96xf32>, %[[Y:.*]]: memref<64x80xf32> {llvm.noalias})
// CHECK:       gpu.launch
// CHECK:       gpu.launch
// CHECK-COUNT-16: memref.load %[[Y]]
// CHECK:         scf.for
// CHECK:           gpu.barrier
// CHECK-COUNT-16: memref.store %{{.*}}, %[[Y]]
func.func @accumulate(%x: memref<64x96xf32>, %w: memref<80x96xf32>, %y: memref<64x80xf32> {llvm.noalias}) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<64x80xf32>) outs(%y : memref<64x80xf32>) {
  ^bb0(%v: f32, %o: f32):
    %e = math.exp %v : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x96xf32>, memref<80x96xf32>) outs(%y : memref<64x80xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %p, %acc : f32
    linalg.yield %q : f32
  }
  return
}

// CHECK-LABEL: func.func @output_may_alias(
// CHECK-NOT:   gpu.barrier
// CHECK:       return
func.func @output_may_alias(%x: memref<64x96xf32>, %w: memref<80x96xf32>, %y: memref<64x80xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x96xf32>, memref<80x96xf32>) outs(%y : memref<64x80xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %p, %acc : f32
    linalg.yield %q : f32
  }
  return
}

// x as its own weight (y = x x^T): not tiled, since the views of x's rows
// that the warp kernel would run on with a dynamic row count would stand
// for W too.

// CHECK-LABEL: func.func @self_weight(
// CHECK-NOT:   gpu.barrier
// CHECK:       return
func.func @self_weight(%x: memref<?x96xf32>, %y: memref<?x?xf32> {llvm.noalias}) {
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %x : memref<?x96xf32>, memref<?x96xf32>) outs(%y : memref<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %p, %acc : f32
    linalg.yield %q : f32
  }
  return
}
