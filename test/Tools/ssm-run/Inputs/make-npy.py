"""Writes valid and malformed .npy files into the directory argv[1] for the
ssm-run error tests."""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)


def save(name, a):
    np.save(os.path.join(out, name), a)


def raw(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


b, d, L, n = 2, 4, 8, 3
save("u.npy", rng.standard_normal((b, d, L)).astype(np.float32))
save("delta.npy", rng.uniform(0.01, 0.3, (b, d, L)).astype(np.float32))
save("A.npy", -np.exp(rng.standard_normal((d, n))).astype(np.float32))
save("B.npy", rng.standard_normal((b, n, L)).astype(np.float32))
save("C.npy", rng.standard_normal((b, n, L)).astype(np.float32))
save("D.npy", rng.standard_normal(d).astype(np.float32))
save("h0_bad.npy", rng.standard_normal((b, d, n + 1)).astype(np.float32))
save("B_groups3.npy", rng.standard_normal((b, 3, n, L)).astype(np.float32))
save("u_int.npy", np.ones((b, d, L), dtype=np.int32))
u_f16 = rng.standard_normal((b, d, L)).astype(np.float16)
save("u_f16.npy", u_f16)
save("u_f16_as_f32.npy", u_f16.astype(np.float32))
save("u_c8.npy", np.ones((b, d, L), dtype=np.complex64))
save("u_big_endian.npy", np.ones((b, d, L), dtype=">f4"))
save("u_fortran.npy", np.asfortranarray(np.ones((b, d, L), dtype=np.float32)))
save("vec_f32.npy", np.arange(4, dtype=np.float32))
save("vec_i64_big.npy", np.array([1, 2, 3, 2**40], dtype=np.int64))
save("vec_i64.npy", np.array([1, 2, 3, 4], dtype=np.int64))

good = open(os.path.join(out, "u.npy"), "rb").read()
raw("not_npy.npy", b"PK\x03\x04 this is a zip file, not an npy file")
raw("empty.npy", b"")
raw("truncated_header.npy", good[:40])
raw("truncated_data.npy", good[:-5])
raw("trailing_data.npy", good + b"\x00\x00\x00\x00")
raw("bad_version.npy", good[:6] + b"\x07\x00" + good[8:])
raw("no_shape.npy", good.replace(b"'shape'", b"'shapx'"))
