// RUN: ssm-opt %s --ssm-gpu-emulate-kernels -split-input-file -verify-diagnostics | FileCheck %s

// A kernel using every GPU op the emulator models, launched twice: the
// launches become calls of the kernel's launcher (grid, block, shared
// bytes, then the arguments); a launch's async token becomes its single
// dependency, or a fresh gpu.wait when it has none. The kernel's body moves
// to a host function whose GPU ops are runtime calls (ids: quantity * 3 +
// dimension; shuffle modes: xor 0, up 1), and whose shared memory has lost
// its address space. The gpu.module is gone.

// CHECK-LABEL: func.func @host(
// CHECK-SAME:    %[[X:.*]]: memref<?xf32>, %[[N:.*]]: index, %[[T:.*]]: !gpu.async.token)
// CHECK-DAG:   %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:   %[[S128:.*]] = arith.constant 128 : i32
// CHECK-DAG:   %[[S0:.*]] = arith.constant 0 : i32
// CHECK:       call @kernels_k_launch(%[[C1]], %[[C1]], %[[C1]], %[[N]], %[[C1]], %[[C1]], %[[S0]], %[[X]], %[[N]])
// CHECK-SAME:    : (index, index, index, index, index, index, i32, memref<?xf32>, index) -> ()
// CHECK:       call @kernels_k_launch(%[[N]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[S128]], %[[X]], %[[N]])
// CHECK:       %[[W:.*]] = gpu.wait async
// CHECK:       return %[[T]], %[[W]]
// CHECK-NOT:   gpu.module
// CHECK-NOT:   gpu.launch_func

// CHECK-LABEL: func.func private @kernels_k(
// CHECK-SAME:    %[[KX:.*]]: memref<?xf32>, %{{.*}}: index) {
// CHECK:       %[[I0:.*]] = arith.constant 0 : i32
// CHECK:       %[[TX:.*]] = call @ssm_emu_id(%[[I0]]) : (i32) -> index
// CHECK:       %[[I4:.*]] = arith.constant 4 : i32
// CHECK:       %[[BY:.*]] = call @ssm_emu_id(%[[I4]])
// CHECK:       %[[I6:.*]] = arith.constant 6 : i32
// CHECK:       call @ssm_emu_id(%[[I6]])
// CHECK:       %[[I11:.*]] = arith.constant 11 : i32
// CHECK:       call @ssm_emu_id(%[[I11]])
// CHECK:       %[[I12:.*]] = arith.constant 12 : i32
// CHECK:       %[[LANE:.*]] = call @ssm_emu_id(%[[I12]])
// CHECK:       %[[RAW:.*]] = call @ssm_emu_shared() : () -> memref<?xi8>
// CHECK:       %[[S:.*]] = memref.view %[[RAW]][%{{.*}}][] : memref<?xi8> to memref<32xf32>
// CHECK:       %[[V:.*]] = memref.load %[[KX]][%[[TX]]]
// CHECK:       memref.store %[[V]], %[[S]][%[[LANE]]] : memref<32xf32>
// CHECK:       call @ssm_emu_barrier() : () -> ()
// CHECK:       %[[OFF:.*]] = arith.constant 1 : i32
// CHECK:       %[[WIDTH:.*]] = arith.constant 32 : i32
// CHECK:       %[[VI:.*]] = arith.bitcast %[[V]] : f32 to i32
// CHECK:       %[[UP:.*]] = arith.constant 1 : i32
// CHECK:       %[[RI:.*]] = call @ssm_emu_shuffle32(%[[VI]], %[[OFF]], %[[WIDTH]], %[[UP]])
// CHECK:       %[[R:.*]] = arith.bitcast %[[RI]] : i32 to f32
// CHECK:       %[[OKI:.*]] = call @ssm_emu_shuffle_valid(%[[OFF]], %[[WIDTH]], %[[UP]])
// CHECK:       %[[OK:.*]] = arith.cmpi ne, %[[OKI]], %{{.*}} : i32
// CHECK:       %[[XOR:.*]] = arith.constant 0 : i32
// CHECK:       call @ssm_emu_shuffle64(%{{.*}}, %[[OFF]], %[[WIDTH]], %[[XOR]]) : (i64, i32, i32, i32) -> i64
// CHECK:       arith.select %[[OK]], %[[R]], %[[V]] : f32
// CHECK:       return

// CHECK-DAG:   func.func private @ssm_emu_id(i32) -> index
// CHECK-DAG:   func.func private @ssm_emu_shared() -> memref<?xi8> attributes {llvm.emit_c_interface}
// CHECK-DAG:   func.func private @ssm_emu_barrier()
// CHECK-DAG:   func.func private @ssm_emu_shuffle32(i32, i32, i32, i32) -> i32
// CHECK-DAG:   func.func private @ssm_emu_shuffle64(i64, i32, i32, i32) -> i64
// CHECK-DAG:   func.func private @ssm_emu_shuffle_valid(i32, i32, i32) -> i32
// CHECK-DAG:   func.func private @kernels_k_launch(index, index, index, index, index, index, i32, memref<?xf32>, index) attributes {ssm.emulator_kernel = "kernels_k"}
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%x: memref<?xf32>, %n: index) kernel {
      %tx = gpu.thread_id x
      %by = gpu.block_id y
      %bd = gpu.block_dim x
      %gz = gpu.grid_dim z
      %lane = gpu.lane_id
      %c0 = arith.constant 0 : index
      %raw = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %s = memref.view %raw[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<32xf32, #gpu.address_space<workgroup>>
      %v = memref.load %x[%tx] : memref<?xf32>
      memref.store %v, %s[%lane] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %off = arith.constant 1 : i32
      %w = arith.constant 32 : i32
      %r, %ok = gpu.shuffle up %v, %off, %w : f32
      %i = arith.index_cast %by : index to i64
      %r64, %ok64 = gpu.shuffle xor %i, %off, %w : i64
      %sum = arith.addi %bd, %gz : index
      %f = arith.select %ok, %r, %v : f32
      memref.store %f, %x[%sum] : memref<?xf32>
      gpu.return
    }
  }
  func.func @host(%x: memref<?xf32>, %n: index, %t: !gpu.async.token) -> (!gpu.async.token, !gpu.async.token) {
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : i32
    %t2 = gpu.launch_func async [%t] @kernels::@k blocks in (%c1, %c1, %c1) threads in (%n, %c1, %c1) args(%x : memref<?xf32>, %n : index)
    %t3 = gpu.launch_func async @kernels::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) dynamic_shared_memory_size %c128 args(%x : memref<?xf32>, %n : index)
    return %t2, %t3 : !gpu.async.token, !gpu.async.token
  }
}

// -----

// An f32 exp2 marked afn (ex2.approx on NVIDIA GPUs) errs low, as the
// hardware's does at worst: scaled by 1 - 2^-24 (0.99999994). An exact
// exp2, or one of f64, is left alone.

// CHECK-LABEL: func.func private @exp2s_k(
// CHECK:       %[[APPROX:.*]] = math.exp2 %[[X:.*]] fastmath<afn> : f32
// CHECK:       %[[SCALE:.*]] = arith.constant 0.99999994 : f32
// CHECK:       %[[LOW:.*]] = arith.mulf %[[APPROX]], %[[SCALE]] : f32
// CHECK:       %[[EXACT:.*]] = math.exp2 %[[X]] : f32
// CHECK:       %[[WIDE:.*]] = math.exp2 %{{.*}} fastmath<afn> : f64
// CHECK-NOT:   arith.mulf
// CHECK:       memref.store %[[LOW]]
// CHECK:       memref.store %[[EXACT]]
module attributes {gpu.container_module} {
  gpu.module @exp2s {
    gpu.func @k(%x: memref<?xf32>, %y: memref<?xf64>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %v = memref.load %x[%c0] : memref<?xf32>
      %w = memref.load %y[%c0] : memref<?xf64>
      %a = math.exp2 %v fastmath<afn> : f32
      %e = math.exp2 %v : f32
      %d = math.exp2 %w fastmath<afn> : f64
      memref.store %a, %x[%c0] : memref<?xf32>
      memref.store %e, %x[%c1] : memref<?xf32>
      memref.store %d, %y[%c0] : memref<?xf64>
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @below {{is a device function; the GPU emulator runs kernels only}}
    gpu.func @helper(%x: f32) {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k() kernel {
      // expected-error @below {{'gpu.subgroup_id' op is not modelled by the GPU emulator}}
      %s = gpu.subgroup_id : index
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%v: f16) kernel {
      %o = arith.constant 1 : i32
      %w = arith.constant 32 : i32
      // expected-error @below {{shuffles a 'f16'; the GPU emulator shuffles 32- and 64-bit scalars only}}
      %r, %ok = gpu.shuffle xor %v, %o, %w : f16
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @below {{has workgroup or private attributions, which the GPU emulator does not model}}
    gpu.func @k() workgroup(%s : memref<32xf32, #gpu.address_space<workgroup>>) kernel {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @below {{in a gpu.module: the GPU emulator runs gpu.func kernels only}}
    func.func private @ext()
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k() kernel {
      gpu.return
    }
  }
  func.func @host() {
    %c1 = arith.constant 1 : index
    // expected-error @below {{has a cluster size, which the GPU emulator does not model}}
    gpu.launch_func @kernels::@k clusters in (%c1, %c1, %c1) blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k() kernel {
      gpu.return
    }
  }
  func.func @host(%stream: !llvm.ptr) {
    %c1 = arith.constant 1 : index
    // expected-error @below {{names a stream; the GPU emulator takes launches before gpu-to-llvm}}
    gpu.launch_func <%stream : !llvm.ptr> @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}
