// bench/runtime_checks.py's programs: ssm.embedding (with its run-time
// check of the ids, docs/runtime-checks.md) and that check's loop alone,
// written out as ssm-runtime-verification emits it.
func.func @embedding(%t: tensor<1x?xi64>, %w: tensor<50280x768xf32>) -> tensor<1x?x768xf32> {
  %y = ssm.embedding %t, %w : tensor<1x?xi64>, tensor<50280x768xf32> -> tensor<1x?x768xf32>
  return %y : tensor<1x?x768xf32>
}
func.func @check_loop(%t: tensor<1x?xi64>, %w: tensor<50280x768xf32>) -> tensor<1xi32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %true = arith.constant true
  %rows = tensor.dim %w, %c0 : tensor<50280x768xf32>
  %b = tensor.dim %t, %c0 : tensor<1x?xi64>
  %l = tensor.dim %t, %c1 : tensor<1x?xi64>
  %all = scf.for %i = %c0 to %b step %c1 iter_args(%a = %true) -> i1 {
    %r = scf.for %j = %c0 to %l step %c1 iter_args(%acc = %a) -> i1 {
      %e = tensor.extract %t[%i, %j] : tensor<1x?xi64>
      %id = arith.index_cast %e : i64 to index
      %lo = arith.cmpi sge, %id, %c0 : index
      %hi = arith.cmpi slt, %id, %rows : index
      %in = arith.andi %lo, %hi : i1
      %n = arith.andi %acc, %in : i1
      scf.yield %n : i1
    }
    scf.yield %r : i1
  }
  %v = arith.extui %all : i1 to i32
  %out = tensor.from_elements %v : tensor<1xi32>
  return %out : tensor<1xi32>
}
