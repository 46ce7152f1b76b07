//===- SSMDialect.h - the ssm dialect ---------------------------*- C++ -*-===//

#ifndef SSM_DIALECT_SSM_IR_SSMDIALECT_H
#define SSM_DIALECT_SSM_IR_SSMDIALECT_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "ssm/Dialect/SSM/IR/SSMOpsDialect.h.inc"

#endif // SSM_DIALECT_SSM_IR_SSMDIALECT_H
