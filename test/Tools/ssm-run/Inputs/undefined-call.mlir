// A function declared without a body that nothing defines, called.
func.func private @not_anywhere(tensor<4xf32>) -> tensor<4xf32>

func.func @calls_undefined(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = func.call @not_anywhere(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
