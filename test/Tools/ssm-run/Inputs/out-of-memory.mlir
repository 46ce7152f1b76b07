// Programs whose buffers no machine can give (out-of-memory.test,
// test_compile.py): more than the 128 TiB of a process's address space, so
// that even a kernel that overcommits memory refuses them.

// A 300 MB buffer, then one of 364 TiB: the first is released when the
// second is refused.
func.func @huge_result(%x: tensor<2xf32>) -> (tensor<75000000xf32>, tensor<1000000x1000000x100xf32>) {
  %c = arith.constant 1.0 : f32
  %e0 = tensor.empty() : tensor<75000000xf32>
  %f0 = linalg.fill ins(%c : f32) outs(%e0 : tensor<75000000xf32>) -> tensor<75000000xf32>
  %e = tensor.empty() : tensor<1000000x1000000x100xf32>
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<1000000x1000000x100xf32>) -> tensor<1000000x1000000x100xf32>
  return %f0, %f : tensor<75000000xf32>, tensor<1000000x1000000x100xf32>
}

// 182 TiB asked for in each iteration of a parallel loop: inside an OpenMP
// parallel region with more than one thread, on the calling thread
// otherwise.
func.func @huge_in_parallel_loop(%x: memref<4xf32>) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %huge = arith.constant 50000000000000 : index
  %out = memref.alloc() : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %m = memref.alloc(%huge) : memref<?xf32>
    %v = memref.load %x[%i] : memref<4xf32>
    memref.store %v, %m[%i] : memref<?xf32>
    %w = memref.load %m[%i] : memref<?xf32>
    memref.store %w, %out[%i] : memref<4xf32>
    scf.reduce
  }
  return %out : memref<4xf32>
}
