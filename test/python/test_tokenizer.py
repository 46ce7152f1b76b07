"""ssm_mlir.Tokenizer (lib/Runtime/Tokenizer.cpp) against the reference of
test/lib/tokenizer_reference.py (the `regex` module running GPT-2's
pattern, unicodedata's NFC, the plain merge loop) on tokenizer.json files
of GPT-NeoX's form trained here, on random text of many scripts: ids,
decoded text, NFC, the errors of unsupported or malformed files, and a
model run from a text prompt (ssm-run model --prompt, and in Python)."""
import json
import os
import subprocess
import unicodedata

import numpy as np
import pytest

import mamba_reference as mr
import ssm_mlir
import tokenizer_reference as tr

SSM_RUN = os.path.join(os.environ["SSM_TOOLS_DIR"], "ssm-run")
VARIANTS = ["neox", "prefix-space", "no-regex", "pair-merges", "template"]


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    """variant -> (ssm_mlir.Tokenizer, Reference, tokenizer.json dict)."""
    out = {}
    for i, variant in enumerate(VARIANTS):
        tj = tr.tokenizer_json(np.random.default_rng(100 + i), variant=variant)
        d = str(tmp_path_factory.mktemp("tok-" + variant))
        tr.write_tokenizer(d, tj)
        out[variant] = (ssm_mlir.Tokenizer.from_pretrained(d),
                        tr.Reference(tj), tj)
    return out


def test_nfc_matches_unicodedata_on_every_code_point():
    # Every code point alone (newlines between them are starters that
    # compose with nothing), then each composition's pair.
    cps = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    text = "\n".join(cps)
    assert ssm_mlir._ssm_mlir.normalize_nfc(text) == unicodedata.normalize(
        "NFC", text)
    assert ssm_mlir._ssm_mlir.unicode_version == unicodedata.unidata_version


def test_nfc_matches_unicodedata_on_random_text(rng):
    pool = tr.COMBINING + tr.NFC_CASES + ["a", "e", "o", "A", "s", " ",
                                          "\u1100", "\u1161", "\u11a8",
                                          "\uac00", "\u0958", "\u093c"]
    for _ in range(3000):
        n = int(rng.integers(1, 12))
        text = "".join(pool[rng.integers(len(pool))] if rng.random() < 0.8
                       else tr.random_char(rng) for _ in range(n))
        got = ssm_mlir._ssm_mlir.normalize_nfc(text)
        assert got == unicodedata.normalize("NFC", text), repr(text)


@pytest.mark.parametrize("variant", VARIANTS)
def test_encode_matches_reference(tokenizers, rng, variant):
    tok, ref, _ = tokenizers[variant]
    cases = [tr.random_text(rng, int(rng.integers(1, 40))) for _ in range(600)]
    cases += ["", " ", "  ", "\n", "a", "'s", " 's", "Hello world",
              "<|endoftext|>", "a<|endoftext|>b", "x  y", "x   \n  y",
              "e\u0301<|padding|>\u0301", "   end", "end   ", "\t\t x"]
    for text in cases:
        assert tok.encode(text) == ref.encode(text), repr(text)


@pytest.mark.parametrize("variant", VARIANTS)
def test_decode_matches_reference(tokenizers, rng, variant):
    tok, ref, _ = tokenizers[variant]
    for _ in range(300):
        text = tr.random_text(rng, int(rng.integers(1, 30)))
        ids = ref.encode(text)
        assert tok.decode(ids) == ref.decode(ids), repr(text)
        assert tok.decode(ids, skip_special_tokens=True) == ref.decode(
            ids, skip_special=True), repr(text)
    # Random ids: tokens that cut characters (U+FFFD as Python's
    # errors="replace" gives them).
    for _ in range(300):
        ids = [int(i) for i in rng.integers(0, tok.vocab_size,
                                            int(rng.integers(1, 20)))]
        assert tok.decode(ids) == ref.decode(ids), ids


def test_round_trip_is_the_normalized_text(tokenizers, rng):
    tok, _, _ = tokenizers["neox"]
    for _ in range(300):
        text = tr.random_text(rng, int(rng.integers(1, 30)))
        # NFC applies between the special tokens, which stay as written.
        pieces = text.split("<|endoftext|>")
        expected = "<|endoftext|>".join(
            "<|padding|>".join(unicodedata.normalize("NFC", q)
                               for q in p.split("<|padding|>"))
            for p in pieces)
        assert tok.decode(tok.encode(text)) == expected, repr(text)


def test_invalid_utf8_bytes_decode_as_replacement_characters(tokenizers, rng):
    # Single-byte tokens: decode is Python's bytes.decode(errors="replace")
    # of their bytes (maximal subparts, one U+FFFD each).
    tok, ref, _ = tokenizers["neox"]
    byte_id = {b: ref.vocab[tr.B2U[b]] for b in range(256)}
    special = [b"\xe0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
               b"\xf0\x9f\x98", b"\xc0\xaf", b"\xff", b"a\xe2\x82", b"\xe2\x82\xac"]
    for data in special + [bytes(rng.integers(0, 256, int(rng.integers(1, 12))))
                           for _ in range(500)]:
        got = tok.decode([byte_id[b] for b in data])
        assert got == data.decode("utf-8", "replace"), data


def test_long_word_and_long_text(tokenizers, rng):
    # One pre-token of 200k characters (the merges' heap) and a long text.
    tok, ref, _ = tokenizers["no-regex"]
    word = "the" * 1000
    assert tok.encode(word) == ref.encode(word)
    tok, ref, _ = tokenizers["neox"]
    text = "".join(tr.corpus(rng, 300))
    assert tok.encode(text) == ref.encode(text)
    big = "the" * 200000
    ids = tokenizers["no-regex"][0].encode(big)
    assert tokenizers["no-regex"][0].decode(ids) == big


def test_token_ids_and_vocab_size(tokenizers):
    tok, ref, tj = tokenizers["neox"]
    assert tok.vocab_size == max(ref.id_to_token) + 1
    assert tok.token_to_id("<|endoftext|>") == 0
    assert tok.token_to_id(tr.B2U[ord(" ")]) == ref.vocab["Ġ"]
    assert tok.token_to_id("no such token") is None
    with pytest.raises(ValueError, match="token id 100000 is not in the "
                       "vocabulary"):
        tok.decode([1, 100000])
    with pytest.raises(ValueError, match="token id -1"):
        tok.decode([-1])
    with pytest.raises(ValueError, match="token id 9223372036854775807"):
        tok.decode([2**63 - 1])
    with pytest.raises(TypeError):
        tok.encode(b"bytes")
    with pytest.raises(ValueError, match="no UTF-8 form .*surrogate"):
        tok.encode("a\ud800b")


def broken(tj, change):
    tj = json.loads(json.dumps(tj))
    change(tj)
    return tj


def _set(path, value):
    def change(tj):
        d = tj
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return change


UNSUPPORTED = [
    (_set(["model", "type"], "WordPiece"),
     r"model.type: 'WordPiece' is not supported \(only byte-level BPE"),
    (_set(["pre_tokenizer"], {"type": "Metaspace", "replacement": "▁"}),
     r"pre_tokenizer: 'Metaspace' is not supported"),
    (_set(["pre_tokenizer"], None), r"pre_tokenizer: 'null' is not supported"),
    (_set(["normalizer"], {"type": "Lowercase"}),
     r"normalizer: 'Lowercase' is not supported \(supported: NFC, none\)"),
    (_set(["normalizer"], {"type": "Sequence", "normalizers": [
        {"type": "NFC"}, {"type": "NFKC"}]}),
     r"normalizer.normalizers\[1\]: 'NFKC' is not supported"),
    (_set(["decoder"], {"type": "WordPiece"}), r"decoder: 'WordPiece' is not "
     "supported"),
    (_set(["post_processor"], {"type": "BertProcessing"}),
     r"post_processor: 'BertProcessing' is not supported"),
    (_set(["model", "byte_fallback"], True), r"model.byte_fallback: true is "
     "not supported"),
    (_set(["model", "dropout"], 0.1), r"model.dropout: BPE dropout"),
    (_set(["model", "end_of_word_suffix"], "</w>"),
     r"model.end_of_word_suffix: '</w>' is not supported"),
    (lambda tj: tj["added_tokens"][0].update(lstrip=True),
     r"added_tokens\[0\].lstrip: true is not supported \(token '<\|endoftext\|>'\)"),
    (lambda tj: tj["model"]["merges"].append("Ġ zzz"),
     r"model.merges\[\d+\]: 'zzz' is not in the vocabulary"),
    (lambda tj: tj["model"]["merges"].append("a b c"),
     r"model.merges\[\d+\]: 'a b c' is not two tokens"),
    (lambda tj: tj["model"]["merges"].append(7),
     r"model.merges\[\d+\]: expected \"left right\""),
    (lambda tj: tj["model"]["vocab"].update({"dup": 5}),
     r"model.vocab: tokens '.*' and '.*' share id 5"),
    (lambda tj: tj["model"]["vocab"].update({"neg": -3}),
     r"model.vocab: the id of token 'neg' must be an integer"),
    (lambda tj: tj.pop("model"), r"model: missing"),
    (lambda tj: tj["added_tokens"].append({"id": 3}),
     r"added_tokens\[6\]: expected an object with an integer 'id'"),
]


@pytest.mark.parametrize("case", range(len(UNSUPPORTED)))
def test_unsupported_or_malformed_files_name_the_field(tokenizers, tmp_path,
                                                        case):
    change, message = UNSUPPORTED[case]
    path = tr.write_tokenizer(str(tmp_path), broken(tokenizers["neox"][2],
                                                    change))
    with pytest.raises(ssm_mlir.Error, match=r"tokenizer.json: " + message):
        ssm_mlir.Tokenizer.from_pretrained(path)


def test_file_errors(tmp_path):
    with pytest.raises(ssm_mlir.Error, match="nowhere.json: cannot open"):
        ssm_mlir.Tokenizer.from_pretrained(str(tmp_path / "nowhere.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(ssm_mlir.Error, match="bad.json: not valid JSON"):
        ssm_mlir.Tokenizer.from_pretrained(str(bad))


def test_ssm_run_tokenize_agrees(tokenizers, rng, tmp_path):
    tok, ref, tj = tokenizers["neox"]
    d = str(tmp_path)
    tr.write_tokenizer(d, tj)
    texts = [tr.random_text(rng, 8) for _ in range(5)]
    args = [SSM_RUN, "tokenize", "--checkpoint", d]
    for t in texts:
        args += ["--text", t]
    ids = [ref.encode(t) for t in texts]
    for i in ids:
        args += ["--ids", ",".join(map(str, i))]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    lines = out.stdout.split("\n")[:-1]  # not splitlines: U+2028 is text
    assert lines[:5] == ["ids=" + ",".join(map(str, i)) for i in ids]
    assert [json.loads(l[len("text="):]) for l in lines[5:]] == [
        ref.decode(i) for i in ids]


def test_model_prompt_is_the_tokens_of_its_text(tmp_path, rng):
    tj = tr.tokenizer_json(np.random.default_rng(9), merges=80, lines=60)
    ref = tr.Reference(tj)
    cfg = mr.Config(d_model=8, n_layer=2, vocab=max(ref.id_to_token) + 1,
                    d_state=4)
    d = str(tmp_path)
    mr.write_checkpoint(d, cfg.hf_json(), mr.random_weights(cfg, rng))
    tr.write_tokenizer(d, tj)
    text = "Mamba's state\tspace  model, caf\u00e9 e\u0301\n"
    ids = ref.encode(text)

    def run(*args):
        out = subprocess.run([SSM_RUN, "model", "--checkpoint", d,
                              "--generate", "6", *args], capture_output=True,
                             text=True, check=True).stdout
        return dict(line.split("=", 1) for line in out.split("\n")
                    if line.startswith(("prompt=", "generated=", "text=")))

    by_text = run("--prompt", text)
    by_ids = run("--tokens", ",".join(map(str, ids)))
    assert by_text["prompt"] == ",".join(map(str, ids))
    assert by_text["generated"] == by_ids["generated"]
    generated = [int(t) for t in by_text["generated"].split(",")]
    assert json.loads(by_text["text"]) == ref.decode(ids + generated)
    # The same in Python: the tokenizer's ids through MambaLM.generate.
    lm = ssm_mlir.MambaLM.from_pretrained(d)
    tok = lm.tokenizer
    assert tok is lm.tokenizer and tok.path == os.path.join(d, "tokenizer.json")
    out = lm.generate(tok.encode(text), 6)
    assert list(out) == ids + generated
    assert tok.decode(out) == json.loads(by_text["text"])
