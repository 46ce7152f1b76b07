// The same A as uniform-a-broadcast.mlir passed as a plain argument: the
// GPU chunks kernel takes the decays per state (target-gpu-emulator.test).
func.func @main(%u: tensor<2x8x300xf32>, %dt: tensor<2x8x300xf32>, %A: tensor<8x4xf32>, %B: tensor<2x4x300xf32>) -> (tensor<2x8x300xf32>, tensor<2x8x4xf32>) {
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %B delta_softplus
      : (tensor<2x8x300xf32>, tensor<2x8x300xf32>, tensor<8x4xf32>, tensor<2x4x300xf32>, tensor<2x4x300xf32>) -> tensor<2x8x300xf32>, tensor<2x8x4xf32>
  return %y, %h : tensor<2x8x300xf32>, tensor<2x8x4xf32>
}
