// RUN: ssm-opt --show-dialects | FileCheck %s
// CHECK: Available Dialects:
// CHECK-SAME: ssm
// RUN: ssm-opt --help | FileCheck %s --check-prefix=HELP
// HELP: --ssm-lower-to-loops
// HELP: --ssm-to-llvm
// HELP-NEXT: buffer-deallocation
