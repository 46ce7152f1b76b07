// The runner calls every function through the JIT's packed wrapper. A
// function only its wrapper calls is inlined into it (Jit.cpp,
// inlineIntoPackedWrappers: a model's entry takes over a thousand scalars,
// and the call was most of its compile time); a function another one calls
// keeps its call. Both kinds run here, and twelve arguments (sixty scalars,
// most passed on the stack before) arrive in order.

// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; [np.save('%t/x%%d.npy' %% i, np.arange(3, dtype=np.float32) + i + 1) for i in range(12)]"
// RUN: ssm-run %s -e wide --input %t/x0.npy --input %t/x1.npy --input %t/x2.npy --input %t/x3.npy --input %t/x4.npy --input %t/x5.npy --input %t/x6.npy --input %t/x7.npy --input %t/x8.npy --input %t/x9.npy --input %t/x10.npy --input %t/x11.npy --output %t/wide.npy
// Horner's rule in base 2: exchanging any two arguments changes the result.
// RUN: %python -c "import numpy as np; r = np.load('%t/wide.npy'); x = [np.arange(3.) + i + 1 for i in range(12)]; want = sum(x[i] * 2.0 ** (11 - i) for i in range(12)); assert np.array_equal(r, want), (r, want)"
// RUN: ssm-run %s -e pair --input %t/x0.npy --input %t/x1.npy --output %t/pair.npy
// RUN: ssm-run %s -e outer --input %t/x0.npy --input %t/x1.npy --output %t/outer.npy
// RUN: %python -c "import numpy as np; a, b = np.arange(3.) + 1, np.arange(3.) + 2; assert np.array_equal(np.load('%t/pair.npy'), 2 * a + b); assert np.array_equal(np.load('%t/outer.npy'), 2 * (2 * a + b) + a)"

func.func @wide(%x0: tensor<3xf32>, %x1: tensor<3xf32>, %x2: tensor<3xf32>,
                %x3: tensor<3xf32>, %x4: tensor<3xf32>, %x5: tensor<3xf32>,
                %x6: tensor<3xf32>, %x7: tensor<3xf32>, %x8: tensor<3xf32>,
                %x9: tensor<3xf32>, %x10: tensor<3xf32>, %x11: tensor<3xf32>)
    -> tensor<3xf32> {
  %r1 = call @pair(%x0, %x1) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r2 = call @pair(%r1, %x2) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r3 = call @pair(%r2, %x3) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r4 = call @pair(%r3, %x4) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r5 = call @pair(%r4, %x5) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r6 = call @pair(%r5, %x6) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r7 = call @pair(%r6, %x7) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r8 = call @pair(%r7, %x8) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r9 = call @pair(%r8, %x9) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r10 = call @pair(%r9, %x10) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r11 = call @pair(%r10, %x11) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %r11 : tensor<3xf32>
}

// 2 a + b; called by @wide and @outer, so it keeps its own body.
func.func @pair(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  %twice = arith.addf %a, %a : tensor<3xf32>
  %r = arith.addf %twice, %b : tensor<3xf32>
  return %r : tensor<3xf32>
}

func.func @outer(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  %p = call @pair(%a, %b) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r = call @pair(%p, %a) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}
