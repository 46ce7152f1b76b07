// --emit prints the program at a stage instead of running it; --time N runs
// once to warm up, then N times, and prints the median.

// RUN: ssm-run %s --emit=mlir | FileCheck %s --check-prefix=MLIR
// MLIR: llvm.func @twice
// MLIR-NOT: ssm.
// MLIR-NOT: tensor<

// What --emit prints allocates with malloc and free, so that any C caller
// links it (the JIT maps its programs' allocations to the buffer cache
// instead: ssm/Runtime/BufferCache.h).
// RUN: ssm-run %s --emit=llvm | FileCheck %s --check-prefix=LLVM
// LLVM: define {{.*}} @twice(
// LLVM: call {{.*}} @malloc

// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; np.save('%t/a.npy', np.ones((3, 5), np.float32)); np.save('%t/b.npy', np.arange(15, dtype=np.float64).reshape(3, 5))"
// RUN: ssm-run %s -e twice --input %t/a.npy --input %t/b.npy --output %t/h.npy --time 3 | FileCheck %s --check-prefix=TIME
// TIME: median_ms={{[0-9]+\.[0-9]+}}
// The recurrence with a = 1 is a running sum of b along dim 1.
// RUN: %python -c "import numpy as np; h = np.load('%t/h.npy'); b = np.arange(15.).reshape(3, 5); assert h.dtype == np.float32 and np.array_equal(h, np.cumsum(b, axis=1)), h"

// Users' runs verify the lowered program once, at the end of the pipeline;
// the test suites verify after every pass (SSM_VERIFY_PASSES=1, lit.cfg.py).
// Both give the same program.
// RUN: env -u SSM_VERIFY_PASSES ssm-run %s -e twice --input %t/a.npy --input %t/b.npy --output %t/h-once.npy
// RUN: env SSM_VERIFY_PASSES=0 ssm-run %s -e twice --input %t/a.npy --input %t/b.npy --output %t/h-zero.npy
// RUN: %python -c "import numpy as np; h = np.load('%t/h.npy'); assert all(np.array_equal(np.load('%t/' + n), h) for n in ('h-once.npy', 'h-zero.npy'))"

// scan mode builds its program through the dialect: --emit=ssm shows it.
// RUN: %python -c "import numpy as np; [np.save('%t/' + k + '.npy', np.ones(s, np.float32)) for k, s in [('u', (1, 4, 6)), ('A', (4, 2)), ('B', (1, 2, 2, 6))]]"
// RUN: not ssm-run scan --u %t/u.npy --delta %t/u.npy --A %t/A.npy --B %t/B.npy --C %t/A.npy --D %t/A.npy --emit=ssm 2>&1 | FileCheck %s --check-prefix=BADD
// BADD: [--D {{.*}}A.npy]: 'ssm.selective_scan' op operand 'D' must be a rank-1 tensor (d)
// RUN: ssm-run scan --u %t/u.npy --delta %t/u.npy --A %t/A.npy --B %t/B.npy --C %t/A.npy --delta-softplus --last-state %t/s.npy --emit=ssm | FileCheck %s --check-prefix=SSM
// SSM: func.func @selective_scan(%arg0: tensor<1x4x6xf32>, %arg1: tensor<1x4x6xf32>, %arg2: tensor<4x2xf32>, %arg3: tensor<1x2x2x6xf32>, %arg4: tensor<4x2xf32>) -> (tensor<1x4x6xf32>, tensor<1x4x2xf32>)
// SSM: ssm.selective_scan channel_first %arg0, %arg1, %arg2, %arg3, %arg4 delta_softplus

func.func @twice(%a: tensor<3x5xf32>, %b: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %h = ssm.scan %a, %b dim = 1 : tensor<3x5xf32>, tensor<3x5xf32> -> tensor<3x5xf32>
  return %h : tensor<3x5xf32>
}
