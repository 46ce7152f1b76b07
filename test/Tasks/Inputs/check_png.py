"""Reads a PNG written by `ssm-run task --plot` with the standard library
only, checks its structure (signature, chunk CRCs, IHDR of 8-bit RGB, the
zlib stream, one filter-0 row per line) and prints its size and how many
of the plot palette's colours cover at least 50 pixels (one per drawn
series): `png 1280x840 crc ok series_colours 4`."""
import struct
import sys
import zlib

PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
           (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127),
           (188, 189, 34), (23, 190, 207)]

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
pos, chunks = 8, []
while pos < len(data):
    (length,) = struct.unpack(">I", data[pos:pos + 4])
    kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
    (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
    assert zlib.crc32(kind + body) == crc, "bad CRC in %r" % kind
    chunks.append((kind, body))
    pos += 12 + length
kinds = [k for k, _ in chunks]
assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND", kinds
width, height, depth, colour, _, _, interlace = struct.unpack(
    ">IIBBBBB", chunks[0][1])
assert (depth, colour, interlace) == (8, 2, 0), (depth, colour, interlace)
raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
stride = 3 * width + 1
assert len(raw) == stride * height, "pixel data of the wrong size"
counts = {}
for y in range(height):
    row = raw[y * stride:(y + 1) * stride]
    assert row[0] == 0, "row %d uses filter %d" % (y, row[0])
    for x in range(1, stride, 3):
        rgb = (row[x], row[x + 1], row[x + 2])
        counts[rgb] = counts.get(rgb, 0) + 1
present = sum(1 for c in PALETTE if counts.get(c, 0) >= 50)
print("png %dx%d crc ok series_colours %d" % (width, height, present))
