//===- SSMToLoops.h - reference lowering of ssm ops -------------*- C++ -*-===//

#ifndef SSM_CONVERSION_SSMTOLOOPS_SSMTOLOOPS_H
#define SSM_CONVERSION_SSMTOLOOPS_SSMTOLOOPS_H

namespace mlir {
class RewritePatternSet;
namespace ssm {

/// Patterns of ssm-lower-to-loops: each ssm op to a scalar loop nest.
void populateSSMToLoopsPatterns(RewritePatternSet &patterns);

} // namespace ssm
} // namespace mlir

#endif // SSM_CONVERSION_SSMTOLOOPS_SSMTOLOOPS_H
