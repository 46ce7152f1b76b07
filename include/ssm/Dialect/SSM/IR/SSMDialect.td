//===- SSMDialect.td - the ssm dialect ---------------------*- tablegen -*-===//

#ifndef SSM_DIALECT_SSM_IR_SSMDIALECT_TD
#define SSM_DIALECT_SSM_IR_SSMDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/RuntimeVerifiableOpInterface.td"

def SSM_Dialect : Dialect {
  let name = "ssm";
  let cppNamespace = "::mlir::ssm";
  let summary = "Selective state-space models: scans, recurrences, causal convolutions";
  let description = [{
    The `ssm` dialect expresses the core computations of selective state-space
    models (Mamba's S6 layer, S4D, Mamba-2) on tensors: the selective scan,
    the generic first-order linear recurrence, and the causal depthwise
    convolution. Every op has value semantics; the numeric contract of each
    op is stated in its description and in docs/dialect.md.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = [
    "::mlir::tensor::TensorDialect"
  ];
}

// Every op checks at run time the shape relations its verifier could not
// check at compile time, for dynamic sizes (ssm-runtime-verification).
class SSM_Op<string mnemonic, list<Trait> traits = []>
    : Op<SSM_Dialect, mnemonic, !listconcat(traits,
        [DeclareOpInterfaceMethods<RuntimeVerifiableOpInterface>])>;

#endif // SSM_DIALECT_SSM_IR_SSMDIALECT_TD
