#!/usr/bin/env python3
"""Static host<->device transfer count of a GPU program.

Reads the IR printed after ssm-gpu-device-buffers and sums, per function,
the gpu.memcpy ops that copy into a device buffer (in) and out of one
(out), in MB, with each dynamic size taken as --dynamic (the sequence
length). Used for the static counts of docs/gpu.md:

  ssm-run model --checkpoint CKPT --tokens-npy T.npy --target nvptx \\
      --gpu-all-kernels --emit=ssm > model.mlir
  ssm-opt model.mlir --ssm-to-nvptx=all-kernels=1 \\
      --mlir-print-ir-after=ssm-gpu-device-buffers -o /dev/null 2> ir.txt
  utils/transfer-count.py ir.txt --dynamic 2048
"""
import argparse
import re
from functools import reduce

BYTES = {"f32": 4, "f64": 8, "i64": 8, "i32": 4, "f16": 2, "bf16": 2}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ir")
    parser.add_argument("--dynamic", type=int, default=1,
                        help="the size of every dynamic dimension")
    args = parser.parse_args()
    text = open(args.ir).read()
    for body in re.split(r"\n\s*func\.func ", text)[1:]:
        name = re.match(r"(?:private )?@([\w.$]+)", body).group(1)
        device = set(re.findall(r"(%[\w]+), %[\w]+ = gpu\.alloc", body))
        counts = {"in": [0, 0.0], "out": [0, 0.0]}
        for m in re.finditer(r"gpu\.memcpy async \[[^\]]*\] (%[\w]+), "
                             r"%[\w#]+ : memref<([^,>]*)", body):
            dst, ty = m.groups()
            *dims, elt = ty.split("x")
            size = reduce(lambda n, d: n * (args.dynamic if d == "?"
                                            else int(d)), dims, 1)
            way = counts["in" if dst in device else "out"]
            way[0] += 1
            way[1] += size * BYTES[elt] / 1e6
        print("@%s: in %d copies (%.2f MB), out %d copies (%.2f MB)" % (
            name, *counts["in"], *counts["out"]))


if __name__ == "__main__":
    main()
