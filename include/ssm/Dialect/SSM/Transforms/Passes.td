//===- Passes.td - ssm dialect transformations -------------*- tablegen -*-===//

#ifndef SSM_DIALECT_SSM_TRANSFORMS_PASSES_TD
#define SSM_DIALECT_SSM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SSMTile : Pass<"ssm-tile"> {
  let summary = "Tile ssm ops over batch x channel tiles and time chunks";
  let description = [{
    Tiles every ssm.selective_scan, ssm.scan and ssm.causal_conv1d on
    tensors in two independent steps:

    * lanes: the op's TilingInterface (batch x channel for the scan and the
      conv, the dimensions other than `dim` for ssm.scan) through upstream's
      `scf::tileUsingSCF`, with `tile-sizes` (0 leaves a dimension whole) and
      an `scf.forall` (or `scf.for` with `loop=for`) over the tiles;
    * time: with `time-chunk=T`, the op (or each tile) becomes an `scf.for`
      over chunks of T steps whose iteration arguments carry the state from
      one chunk to the next: the selective scan's `h0` / `last_state`, the
      conv's `conv_state` / `final_state`, ssm.scan's `init` and the last
      value of the chunk. The last chunk may be shorter. A reverse ssm.scan
      walks its chunks from the end.

    The result equals the untiled op. Grouped B/C require channel tiles that
    are multiples of the group size; an op that cannot be tiled as asked is
    reported with an error.
  }];
  let options = [
    ListOption<"tileSizes", "tile-sizes", "int64_t",
               "Tile sizes of the op's lanes (batch, channel for the scan and "
               "the conv); missing or 0: untiled">,
    Option<"timeChunk", "time-chunk", "int64_t", /*default=*/"0",
           "Steps per time chunk; 0: time is not cut">,
    Option<"loopKind", "loop", "std::string", /*default=*/"\"forall\"",
           "Loop over lane tiles: forall or for">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // SSM_DIALECT_SSM_TRANSFORMS_PASSES_TD
