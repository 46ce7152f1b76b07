// A function declared without a body that the process provides (libm's
// expf): the JIT links it.
func.func private @expf(f32) -> f32

func.func @calls_expf(%a: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant 1 : index
  %x = tensor.extract %a[%c] : tensor<4xf32>
  %e = func.call @expf(%x) : (f32) -> f32
  %r = tensor.insert %e into %a[%c] : tensor<4xf32>
  return %r : tensor<4xf32>
}
