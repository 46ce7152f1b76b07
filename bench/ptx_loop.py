"""Static cost of a GPU kernel's main loop, from its PTX (no GPU needed).

  python3 bench/ptx_loop.py KERNEL.ptx [UPDATES]

Counts the PTX instructions from the head of the kernel's longest loop (the
label that the latest backward branch targets, the scan's tile or chunk
loop) to that branch, by opcode. With UPDATES, the state updates one pass
of the loop performs per thread (the channels kernel: steps per tile x its
states, n / threads-per-channel), it also prints instructions, ex2 and
shuffles per update. Blocks that the compiler laid out after the back
branch (the rarely taken scalar fallbacks of the vector loads) are not
counted; both arms of a branch inside the span are. docs/performance.md
("Since then: built, not yet measured") uses it for the static figures.
"""
import collections
import re
import sys


def loop_span(lines):
    """(first, last) line indices of the longest backward-branch span."""
    labels = {}
    best = None
    for i, line in enumerate(lines):
        m = re.match(r"^(\$L__BB\d+_\d+):", line)
        if m:
            labels[m.group(1)] = i
            continue
        m = re.search(r"\bbra(?:\.uni)?\s+(\$L__BB\d+_\d+);", line)
        if m and m.group(1) in labels:
            span = (labels[m.group(1)], i)
            if best is None or span[1] - span[0] > best[1] - best[0]:
                best = span
    return best


def opcodes(lines):
    """The base opcode (before the first '.') of each instruction line."""
    for line in lines:
        t = line.strip()
        if not t or t.endswith(":") or t[0] in "/{}.":
            continue
        words = t.split()
        op = words[1] if words[0].startswith("@") and len(words) > 1 else words[0]
        yield op.split(".")[0]


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        lines = f.read().split("\n")
    span = loop_span(lines)
    if span is None:
        sys.exit("%s: no loop (backward branch) in the PTX" % sys.argv[1])
    counts = collections.Counter(opcodes(lines[span[0]:span[1] + 1]))
    total = sum(counts.values())
    print("%s: loop of %d instructions (lines %d-%d)" % (sys.argv[1], total, span[0] + 1,
                                                         span[1] + 1))
    print("  " + " ".join("%s %d" % kv for kv in counts.most_common()))
    if len(sys.argv) == 3:
        updates = int(sys.argv[2])
        print("  per update: %.2f instructions, %.2f ex2, %.2f shfl"
              % (total / updates, counts["ex2"] / updates, counts["shfl"] / updates))


if __name__ == "__main__":
    main()
