func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = ssm.scan %a, %a dim = 3 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
