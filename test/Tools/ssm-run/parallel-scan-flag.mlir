// With several threads the runner lets ssm-parallel-scan cut a long scan
// with few lanes into time chunks run by OpenMP threads; --no-parallel-scan
// (or one thread) keeps it sequential. ssm.scan's lowering has no parallel
// loop of its own, so any omp.parallel comes from the time chunks.

// RUN: ssm-run %s --threads 2 --emit=mlir | FileCheck %s --check-prefix=PAR
// PAR: omp.parallel

// RUN: ssm-run %s --threads 2 --no-parallel-scan --emit=mlir | FileCheck %s --check-prefix=SEQ
// RUN: ssm-run %s --threads 1 --emit=mlir | FileCheck %s --check-prefix=SEQ
// SEQ: llvm.func @scan
// SEQ-NOT: omp.parallel

func.func @scan(%a: tensor<131072x2xf32>, %b: tensor<131072x2xf32>) -> tensor<131072x2xf32> {
  %h = ssm.scan %a, %b dim = 0 : tensor<131072x2xf32>, tensor<131072x2xf32> -> tensor<131072x2xf32>
  return %h : tensor<131072x2xf32>
}
