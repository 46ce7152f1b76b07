// RUN: ssm-opt %s --ssm-gpu-emulate-launches -split-input-file -verify-diagnostics | FileCheck %s

// The launcher ssm-gpu-emulate-kernels declared, once in the LLVM dialect:
// it packs the kernel's arguments as cuLaunchKernel takes them (an array
// of pointers to a slot per argument) and calls ssm_emu_launch with the
// packed wrapper, the grid, the block and the shared bytes. The wrapper
// loads each argument through its pointer and calls the kernel.

// CHECK-LABEL: llvm.func internal @m_k_launch(
// CHECK-SAME:    %[[GX:[^:]*]]: i64, %[[GY:[^:]*]]: i64, %[[GZ:[^:]*]]: i64, %[[BX:[^:]*]]: i64, %[[BY:[^:]*]]: i64, %[[BZ:[^:]*]]: i64, %[[SMEM:[^:]*]]: i32, %[[P:[^:]*]]: !llvm.ptr, %[[N:[^:]*]]: i64)
// CHECK-NOT:   ssm.emulator_kernel
// CHECK-DAG:   %[[ONE:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK-DAG:   %[[TWO:.*]] = llvm.mlir.constant(2 : i64) : i64
// CHECK:       %[[ARR:.*]] = llvm.alloca %[[TWO]] x !llvm.ptr
// CHECK:       %[[S0:.*]] = llvm.alloca %[[ONE]] x !llvm.ptr
// CHECK:       llvm.store %[[P]], %[[S0]]
// CHECK:       %[[E0:.*]] = llvm.getelementptr %[[ARR]][0]
// CHECK:       llvm.store %[[S0]], %[[E0]]
// CHECK:       %[[S1:.*]] = llvm.alloca %[[ONE]] x i64
// CHECK:       llvm.store %[[N]], %[[S1]]
// CHECK:       %[[E1:.*]] = llvm.getelementptr %[[ARR]][1]
// CHECK:       llvm.store %[[S1]], %[[E1]]
// CHECK:       %[[FN:.*]] = llvm.mlir.addressof @m_k_packed
// CHECK:       llvm.call @ssm_emu_launch(%[[FN]], %[[GX]], %[[GY]], %[[GZ]], %[[BX]], %[[BY]], %[[BZ]], %[[SMEM]], %[[ARR]], %[[TWO]])

// CHECK-LABEL: llvm.func internal @m_k_packed(
// CHECK-SAME:    %[[PARAMS:.*]]: !llvm.ptr)
// CHECK:       %[[G0:.*]] = llvm.getelementptr %[[PARAMS]][0]
// CHECK:       %[[A0:.*]] = llvm.load %[[G0]] : !llvm.ptr -> !llvm.ptr
// CHECK:       %[[V0:.*]] = llvm.load %[[A0]] : !llvm.ptr -> !llvm.ptr
// CHECK:       %[[G1:.*]] = llvm.getelementptr %[[PARAMS]][1]
// CHECK:       %[[A1:.*]] = llvm.load %[[G1]] : !llvm.ptr -> !llvm.ptr
// CHECK:       %[[V1:.*]] = llvm.load %[[A1]] : !llvm.ptr -> i64
// CHECK:       llvm.call @m_k(%[[V0]], %[[V1]])
// CHECK:       llvm.func @ssm_emu_launch(!llvm.ptr, i64, i64, i64, i64, i64, i64, i32, !llvm.ptr, i64)
module {
  llvm.func @m_k(%arg0: !llvm.ptr, %arg1: i64) {
    llvm.return
  }
  llvm.func @m_k_launch(i64, i64, i64, i64, i64, i64, i32, !llvm.ptr, i64) attributes {ssm.emulator_kernel = "m_k"}
}

// -----

module {
  llvm.func @m_k(%arg0: !llvm.ptr, %arg1: i64) {
    llvm.return
  }
  // expected-error @below {{does not take the grid, the block, the shared memory size and then the arguments of @m_k}}
  llvm.func @m_k_launch(i64, i64, i64, i64, i64, i64, i32, !llvm.ptr) attributes {ssm.emulator_kernel = "m_k"}
}
