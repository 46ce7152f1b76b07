"""The tokenizer (lib/Runtime/Tokenizer.cpp) through ssm_mlir.Tokenizer,
side by side with the tests' Python reference (test/lib/tokenizer_reference.py:
the `regex` module, unicodedata, the quadratic merge loop), on a
tokenizer.json of GPT-NeoX's size (50k merges and tokens, made here from a
small trained one by merging random pairs) and mixed-script text.

    PYTHONPATH=build/python /usr/bin/python3 bench/tokenizer.py

Prints the load time of the file, and each side's encoding rate (MB of
UTF-8 per second, the best of REPEATS) on the same text, whose ids must be
equal, and the decoding rate."""
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "lib"))
import ssm_mlir  # noqa: E402
import tokenizer_reference as tr  # noqa: E402

REPEATS = 5
MERGES = 50000


def neox_sized(rng):
    tj = tr.tokenizer_json(rng, merges=300, lines=300)
    vocab, merges = tj["model"]["vocab"], tj["model"]["merges"]
    for a in tj["added_tokens"][len(tr.SPECIALS):]:
        del vocab[a["content"]]
    pieces = [t for t in vocab if not t.startswith("<|")]
    next_id = max(vocab.values()) + 1
    while len(merges) < MERGES:
        a = pieces[rng.integers(len(pieces))]
        b = pieces[rng.integers(len(pieces))]
        if a + b in vocab or len(a + b) > 12:
            continue
        vocab[a + b] = next_id
        next_id += 1
        merges.append(a + " " + b)
        pieces.append(a + b)
    for a in tj["added_tokens"][len(tr.SPECIALS):]:
        a["id"] = next_id
        vocab[a["content"]] = next_id
        next_id += 1
    return tj


def best(fn):
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    tj = neox_sized(np.random.default_rng(0))
    d = tempfile.mkdtemp()
    path = tr.write_tokenizer(d, tj)
    load_s, tok = best(lambda: ssm_mlir.Tokenizer.from_pretrained(d))
    print("tokenizer.json: %.1f MB, %d tokens, %d merges; load %.0f ms (best "
          "of %d)" % (os.path.getsize(path) / 1e6, tok.vocab_size,
                      len(tj["model"]["merges"]), load_s * 1e3, REPEATS))
    ref = tr.Reference(tj)
    text = "".join(tr.corpus(np.random.default_rng(1), 2000))
    mb = len(text.encode()) / 1e6
    ours_s, ids = best(lambda: tok.encode(text))
    ref_s, ref_ids = best(lambda: ref.encode(text))
    assert ids == ref_ids, "the ids differ"
    dec_s, back = best(lambda: tok.decode(ids))
    assert back == ref.decode(ids)
    print("text: %.3f MB, %d tokens" % (mb, len(ids)))
    print("encode: ours %.1f MB/s, reference %.1f MB/s (%.1fx)"
          % (mb / ours_s, mb / ref_s, ref_s / ours_s))
    print("decode: ours %.1f MB/s" % (mb / dec_s))


main()
