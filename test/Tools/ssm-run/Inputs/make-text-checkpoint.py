"""Writes into argv[1] a tiny Mamba checkpoint with a tokenizer.json of
GPT-NeoX's form (test/lib/tokenizer_reference.py) and the variants of
tokenize.test, the test's texts as files (text0.txt ...; one not UTF-8, one
empty), and the FileCheck file of what the reference tokenizer gives for
them (expected.check)."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "lib"))
import mamba_reference as mr  # noqa: E402
import tokenizer_reference as tr  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
tj = tr.tokenizer_json(np.random.default_rng(5), merges=60, lines=40)
vocab = max(tr.Reference(tj).id_to_token) + 1


def write(name, tokenizer, vocab_size=vocab):
    cfg = mr.Config(d_model=8, n_layer=2, vocab=vocab_size, d_state=4)
    d = os.path.join(out, name)
    mr.write_checkpoint(d, cfg.hf_json(), mr.random_weights(
        cfg, np.random.default_rng(7)))
    if tokenizer is not None:
        tr.write_tokenizer(d, tokenizer)


write("text", tj)
write("no_tokenizer", None)
# A model whose vocabulary is smaller than its tokenizer's.
write("small_vocab", tj, vocab_size=200)
meta = json.loads(json.dumps(tj))
meta["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581"}
write("metaspace", meta)

# The ids the reference gives for tokenize.test's texts, and the texts of
# those ids.
ref = tr.Reference(tj)
texts = ["Hello world", "the  state's scan<|endoftext|>", "caf\u00e9 e\u0301\n"]
for i, t in enumerate(texts):
    with open(os.path.join(out, "text%d.txt" % i), "w", encoding="utf-8") as f:
        f.write(t)
# Not UTF-8: a Latin-1 byte (at offset 3).
with open(os.path.join(out, "latin1.txt"), "wb") as f:
    f.write("caf\u00e9".encode("latin-1"))
open(os.path.join(out, "empty.txt"), "w").close()
with open(os.path.join(out, "expected.check"), "w", encoding="utf-8") as f:
    # `tokenize --text-file text0.txt ...`: the ids of each text.
    for t in texts:
        f.write("IDS: ids=%s\n" % ",".join(map(str, ref.encode(t))))
    f.write("HELLO: ids=%s\n" % ",".join(map(str, ref.encode(texts[0]))))
    # `model --prompt-file text1.txt ...`: its ids and their text.
    f.write("PROMPT: prompt=%s\n" % ",".join(map(str, ref.encode(texts[1]))))
    f.write("PROMPT: text=%s\n" % json.dumps(ref.decode(ref.encode(texts[1])),
                                             ensure_ascii=False))
