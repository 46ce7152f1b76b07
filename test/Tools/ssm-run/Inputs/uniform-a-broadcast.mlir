// A uniform along the states, proven by a linalg.broadcast: the GPU chunks
// kernel takes the decays once per chunk (target-gpu-emulator.test).
func.func @main(%u: tensor<2x8x300xf32>, %dt: tensor<2x8x300xf32>, %a: tensor<8xf32>, %B: tensor<2x4x300xf32>) -> (tensor<2x8x300xf32>, tensor<2x8x4xf32>) {
  %e = tensor.empty() : tensor<8x4xf32>
  %A = linalg.broadcast ins(%a : tensor<8xf32>) outs(%e : tensor<8x4xf32>) dimensions = [1]
  %y, %h = ssm.selective_scan channel_first %u, %dt, %A, %B, %B delta_softplus
      : (tensor<2x8x300xf32>, tensor<2x8x300xf32>, tensor<8x4xf32>, tensor<2x4x300xf32>, tensor<2x4x300xf32>) -> tensor<2x8x300xf32>, tensor<2x8x4xf32>
  return %y, %h : tensor<2x8x300xf32>, tensor<2x8x4xf32>
}
