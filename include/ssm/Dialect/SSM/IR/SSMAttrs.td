//===- SSMAttrs.td - attributes of the ssm dialect ---------*- tablegen -*-===//

#ifndef SSM_DIALECT_SSM_IR_SSMATTRS_TD
#define SSM_DIALECT_SSM_IR_SSMATTRS_TD

include "ssm/Dialect/SSM/IR/SSMDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def SSM_LayoutChannelFirst : I32EnumAttrCase<"channel_first", 0>;
def SSM_LayoutTokenMajor : I32EnumAttrCase<"token_major", 1>;

def SSM_Layout : I32EnumAttr<"Layout",
    "memory layout of per-token activations",
    [SSM_LayoutChannelFirst, SSM_LayoutTokenMajor]> {
  let cppNamespace = "::mlir::ssm";
  let genSpecializedAttr = 0;
}

// channel_first: (b, d, L), the layout of mamba_ssm and causal-conv1d.
// token_major:   (b, L, d), time outer and channels contiguous.
def SSM_LayoutAttr : EnumAttr<SSM_Dialect, SSM_Layout, "layout"> {
  // #ssm.layout<token_major> on its own; ops print the bare keyword
  // through custom<Layout>.
  let assemblyFormat = "`<` $value `>`";
}

#endif // SSM_DIALECT_SSM_IR_SSMATTRS_TD
