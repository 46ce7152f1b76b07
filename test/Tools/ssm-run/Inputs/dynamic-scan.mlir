// ssm.scan with every size dynamic: the run-time checks compare b's with a's.
func.func @main(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %h = ssm.scan %a, %b dim = 1 : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
  return %h : tensor<?x?xf32>
}
