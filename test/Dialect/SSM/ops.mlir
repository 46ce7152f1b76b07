// RUN: ssm-opt %s | FileCheck %s
// RUN: ssm-opt %s | ssm-opt | FileCheck %s
// RUN: ssm-opt %s --mlir-print-op-generic | ssm-opt | FileCheck %s

// CHECK-LABEL: func.func @scan_minimal
// CHECK: ssm.selective_scan channel_first %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<2x8x64xf32>
func.func @scan_minimal(%u: tensor<2x8x64xf32>, %dt: tensor<2x8x64xf32>, %A: tensor<8x16xf32>,
                        %B: tensor<8x16xf32>, %C: tensor<8x16xf32>) -> tensor<2x8x64xf32> {
  %y = ssm.selective_scan channel_first %u, %dt, %A, %B, %C
      : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>)
      -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}

// CHECK-LABEL: func.func @scan_everything
// CHECK: %[[Y:.*]], %[[H:.*]] = ssm.selective_scan channel_first %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} D(%{{.*}} : tensor<8xf32>) z(%{{.*}} : tensor<2x8x64xf32>) delta_bias(%{{.*}} : tensor<8xf32>) h0(%{{.*}} : tensor<2x8x16xf32>) delta_softplus : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>, tensor<2x16x64xf32>, tensor<2x4x16x64xf32>) -> tensor<2x8x64xf32>, tensor<2x8x16xf32>
func.func @scan_everything(%u: tensor<2x8x64xf32>, %dt: tensor<2x8x64xf32>, %A: tensor<8x16xf32>,
                           %B: tensor<2x16x64xf32>, %C: tensor<2x4x16x64xf32>, %D: tensor<8xf32>,
                           %z: tensor<2x8x64xf32>, %bias: tensor<8xf32>, %h0: tensor<2x8x16xf32>)
    -> (tensor<2x8x64xf32>, tensor<2x8x16xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %C D(%D : tensor<8xf32>)
      z(%z : tensor<2x8x64xf32>) delta_bias(%bias : tensor<8xf32>) h0(%h0 : tensor<2x8x16xf32>)
      delta_softplus
      : (tensor<2x8x64xf32>, tensor<2x8x64xf32>, tensor<8x16xf32>, tensor<2x16x64xf32>, tensor<2x4x16x64xf32>)
      -> tensor<2x8x64xf32>, tensor<2x8x16xf32>
  return %y, %h : tensor<2x8x64xf32>, tensor<2x8x16xf32>
}

// Token-major layout, grouped B, dynamic sizes, f64.
// CHECK-LABEL: func.func @scan_token_major
// CHECK: ssm.selective_scan token_major {{.*}} : (tensor<?x?x6xf64>, tensor<?x?x6xf64>, tensor<6x3xf64>, tensor<?x?x2x3xf64>, tensor<?x?x3xf64>) -> tensor<?x?x6xf64>
func.func @scan_token_major(%u: tensor<?x?x6xf64>, %dt: tensor<?x?x6xf64>, %A: tensor<6x3xf64>,
                            %B: tensor<?x?x2x3xf64>, %C: tensor<?x?x3xf64>) -> tensor<?x?x6xf64> {
  %y = ssm.selective_scan token_major %u, %dt, %A, %B, %C
      : (tensor<?x?x6xf64>, tensor<?x?x6xf64>, tensor<6x3xf64>, tensor<?x?x2x3xf64>, tensor<?x?x3xf64>)
      -> tensor<?x?x6xf64>
  return %y : tensor<?x?x6xf64>
}

// CHECK-LABEL: func.func @linear_scan
// CHECK: ssm.scan %{{.*}}, %{{.*}} dim = 1 : tensor<4x128xf32>, tensor<4x128xf32> -> tensor<4x128xf32>
// CHECK: ssm.scan %{{.*}}, %{{.*}} init(%{{.*}} : tensor<4xf32>) dim = 1 reverse last_only : tensor<4x?xf32>, tensor<4x?xf32> -> tensor<4xf32>
func.func @linear_scan(%a: tensor<4x128xf32>, %b: tensor<4x128xf32>, %a2: tensor<4x?xf32>,
                       %b2: tensor<4x?xf32>, %h0: tensor<4xf32>) -> (tensor<4x128xf32>, tensor<4xf32>) {
  %all = ssm.scan %a, %b dim = 1 : tensor<4x128xf32>, tensor<4x128xf32> -> tensor<4x128xf32>
  %last = ssm.scan %a2, %b2 init(%h0 : tensor<4xf32>) dim = 1 reverse last_only
      : tensor<4x?xf32>, tensor<4x?xf32> -> tensor<4xf32>
  return %all, %last : tensor<4x128xf32>, tensor<4xf32>
}

// CHECK-LABEL: func.func @conv
// CHECK: ssm.causal_conv1d channel_first %{{.*}}, %{{.*}} : tensor<2x8x64xf32>, tensor<8x4xf32> -> tensor<2x8x64xf32>
// CHECK: ssm.causal_conv1d token_major %{{.*}}, %{{.*}} bias(%{{.*}} : tensor<8xf32>) conv_state(%{{.*}} : tensor<2x8x3xf32>) silu : tensor<2x64x8xf32>, tensor<8x4xf32> -> tensor<2x64x8xf32>, tensor<2x8x3xf32>
func.func @conv(%x: tensor<2x8x64xf32>, %xt: tensor<2x64x8xf32>, %w: tensor<8x4xf32>,
                %b: tensor<8xf32>, %s: tensor<2x8x3xf32>)
    -> (tensor<2x8x64xf32>, tensor<2x64x8xf32>, tensor<2x8x3xf32>) {
  %y = ssm.causal_conv1d channel_first %x, %w : tensor<2x8x64xf32>, tensor<8x4xf32> -> tensor<2x8x64xf32>
  %yt, %fin = ssm.causal_conv1d token_major %xt, %w bias(%b : tensor<8xf32>) conv_state(%s : tensor<2x8x3xf32>) silu
      : tensor<2x64x8xf32>, tensor<8x4xf32> -> tensor<2x64x8xf32>, tensor<2x8x3xf32>
  return %y, %yt, %fin : tensor<2x8x64xf32>, tensor<2x64x8xf32>, tensor<2x8x3xf32>
}
