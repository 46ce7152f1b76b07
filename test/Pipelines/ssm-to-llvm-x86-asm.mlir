// The machine code of the fast path's scan for an AVX-512 CPU (x86-64-v4,
// so the check runs on any x86 host): 512-bit FMAs, exp2's range reduction
// by vrndscaleps (round to nearest) and its scaling by vscalefps, and no call to a scalar exp or
// to any other function in the code (softplus and SiLU are polynomials too;
// only malloc/free remain).
// RUN: ssm-run %s --cpu x86-64-v4 --threads 1 --emit=llvm | llc -O3 -mcpu=x86-64-v4 -o - | FileCheck %s
// CHECK-LABEL: scan:
// CHECK: vfmadd{{[0-9]+}}ps {{.*}}%zmm
// CHECK: vrndscaleps $8, {{.*}}%zmm
// CHECK: vscalefps {{.*}}%zmm
// CHECK-NOT: call{{.*}}exp
// CHECK-NOT: call{{.*}}log

// With --threads 2 the tiles become an OpenMP worksharing loop.
// RUN: ssm-opt %s --pass-pipeline='builtin.module(ssm-to-llvm{num-threads=2 x86-avx512=true})' | FileCheck %s --check-prefix=OMP
// OMP: omp.parallel num_threads
// OMP: omp.wsloop
// OMP: omp.loop_nest

func.func @scan(%u: tensor<1x64x256xf32>, %dt: tensor<1x64x256xf32>, %A: tensor<64x16xf32>,
                %B: tensor<1x16x256xf32>, %C: tensor<1x16x256xf32>, %D: tensor<64xf32>,
                %z: tensor<1x64x256xf32>) -> tensor<1x64x256xf32> {
  %y = ssm.selective_scan channel_first %u, %dt, %A, %B, %C D(%D : tensor<64xf32>)
      z(%z : tensor<1x64x256xf32>) delta_softplus
      : (tensor<1x64x256xf32>, tensor<1x64x256xf32>, tensor<64x16xf32>, tensor<1x16x256xf32>, tensor<1x16x256xf32>)
      -> tensor<1x64x256xf32>
  return %y : tensor<1x64x256xf32>
}
