// RUN: ssm-opt %s --inline --symbol-dce | FileCheck %s

// ssm ops may be inlined: a model's layer function called per layer
// becomes straight-line code (the GPU pipelines rely on it).

// CHECK-LABEL: func.func @model(
// CHECK-NOT:   call
// CHECK:       %[[N1:.*]] = ssm.rmsnorm %arg0, %arg1
// CHECK:       %[[N2:.*]] = ssm.rmsnorm %[[N1]], %arg2
// CHECK:       return %[[N2]]
// CHECK-NOT:   func.func private @layer
func.func private @layer(%h: tensor<2x?x8xf32>, %w: tensor<8xf32>) -> tensor<2x?x8xf32> {
  %n = ssm.rmsnorm %h, %w epsilon = 1.0e-05 : tensor<2x?x8xf32>, tensor<8xf32> -> tensor<2x?x8xf32>
  return %n : tensor<2x?x8xf32>
}

func.func @model(%h: tensor<2x?x8xf32>, %w0: tensor<8xf32>, %w1: tensor<8xf32>) -> tensor<2x?x8xf32> {
  %a = call @layer(%h, %w0) : (tensor<2x?x8xf32>, tensor<8xf32>) -> tensor<2x?x8xf32>
  %b = call @layer(%a, %w1) : (tensor<2x?x8xf32>, tensor<8xf32>) -> tensor<2x?x8xf32>
  return %b : tensor<2x?x8xf32>
}
