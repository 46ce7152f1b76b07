"""The tests' reference of a byte-level BPE tokenizer.json (the semantics of
Hugging Face `tokenizers`, docs/tokenizer.md), written independently of
lib/Runtime/Tokenizer.cpp: GPT-2's pre-tokenizer pattern run by the `regex`
module (Debian's python3-regex), NFC by `unicodedata`, the merges by the
plain quadratic loop. Also a small BPE trainer and the tokenizer.json files
the tests load."""
import json
import os
import unicodedata
from collections import Counter

import regex


def bytes_to_unicode():
    """GPT-2's map of bytes to printable characters."""
    keep = (list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD))
            + list(range(0xAE, 0x100)))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


B2U = bytes_to_unicode()
U2B = {c: b for b, c in B2U.items()}

# Oniguruma's \s (the engine `tokenizers` runs the pattern with): U+0009-000D,
# U+0085 and the separators; `regex`'s own \s differs (U+001C-001F).
_S = r"\t\n\v\f\r\x85\p{Zs}\p{Zl}\p{Zp}"
GPT2_PATTERN = regex.compile(
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^%s\p{L}\p{N}]+"
    r"|[%s]+(?![^%s])|[%s]+" % (_S, _S, _S, _S))


def byte_level(text):
    return "".join(B2U[b] for b in text.encode("utf-8"))


class Reference:
    """Encodes and decodes as `tokenizers` does with a tokenizer.json."""

    def __init__(self, tj):
        model = tj["model"]
        self.vocab = model["vocab"]
        self.ranks = {}
        for r, m in enumerate(model["merges"]):
            a, b = m.split(" ") if isinstance(m, str) else m
            self.ranks.setdefault((a, b), r)
        self.ignore_merges = model.get("ignore_merges", False)
        self.added = tj.get("added_tokens") or []
        norm = tj.get("normalizer")
        self.nfc = norm is not None and (
            norm["type"] == "NFC" or
            any(n["type"] == "NFC" for n in norm.get("normalizers", [])))
        pre = tj["pre_tokenizer"]
        self.prefix_space = pre.get("add_prefix_space", True)
        self.use_regex = pre.get("use_regex", True)
        self.prefix_ids, self.suffix_ids = [], []
        post = tj.get("post_processor")
        if post and post["type"] == "TemplateProcessing":
            seen = False
            for item in post["single"]:
                if "Sequence" in item:
                    seen = True
                    continue
                ids = post["special_tokens"][item["SpecialToken"]["id"]]["ids"]
                (self.suffix_ids if seen else self.prefix_ids).extend(ids)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.special = set()
        for a in self.added:
            self.id_to_token[a["id"]] = a["content"]
            if a.get("special"):
                self.special.add(a["id"])

    def split_added(self, text, normalized):
        """(piece, id or None): leftmost-longest matches of the added tokens
        of one kind (normalized or not)."""
        tokens = [a for a in self.added
                  if a.get("normalized", not a.get("special")) == normalized]
        out, start, i = [], 0, 0
        while i < len(text):
            best = None
            for a in tokens:
                if text.startswith(a["content"], i) and (
                        best is None or len(a["content"]) > len(best["content"])):
                    best = a
            if best is None:
                i += 1
                continue
            if i > start:
                out.append((text[start:i], None))
            out.append((best["content"], best["id"]))
            i += len(best["content"])
            start = i
        if start < len(text):
            out.append((text[start:], None))
        return out

    def pre_tokenize(self, text):
        words = GPT2_PATTERN.findall(text) if self.use_regex else [text]
        assert "".join(words) == text, (text, words)
        return words

    def bpe(self, word):
        if self.ignore_merges and word in self.vocab:
            return [self.vocab[word]]
        syms = list(word)
        while True:
            best = None
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            syms[i:i + 2] = [syms[i] + syms[i + 1]]
        return [self.vocab[s] for s in syms]

    def encode(self, text):
        ids = list(self.prefix_ids)
        for piece, pid in self.split_added(text, False):
            if pid is not None:
                ids.append(pid)
                continue
            if self.nfc:
                piece = unicodedata.normalize("NFC", piece)
            for q, qid in self.split_added(piece, True):
                if qid is not None:
                    ids.append(qid)
                    continue
                if self.prefix_space and not q.startswith(" "):
                    q = " " + q
                for w in self.pre_tokenize(q):
                    ids += self.bpe(byte_level(w))
        return ids + self.suffix_ids

    def decode(self, ids, skip_special=False):
        out = bytearray()
        for i in ids:
            if skip_special and i in self.special:
                continue
            t = self.id_to_token[i]
            if all(c in U2B for c in t):
                out += bytes(U2B[c] for c in t)
            else:
                out += t.encode("utf-8")
        return out.decode("utf-8", "replace")


def train_bpe(texts, merges, first_id):
    """(vocab, merges): the 256 byte-level characters from `first_id`, then
    up to `merges` merges of the most frequent adjacent pair, counted over
    the whole texts (across spaces and punctuation, so that a tokenizer
    that cut words wrongly would merge differently)."""
    seqs = [[B2U[b] for b in t.encode("utf-8")] for t in texts]
    vocab = {B2U[b]: first_id + b for b in range(256)}
    out = []
    for _ in range(merges):
        counts = Counter()
        for s in seqs:
            counts.update(zip(s, s[1:]))
        if not counts:
            break
        (a, b), c = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if c < 2:
            break
        out.append((a, b))
        vocab.setdefault(a + b, first_id + len(vocab))
        for s in seqs:
            i = 0
            while i < len(s) - 1:
                if s[i] == a and s[i + 1] == b:
                    s[i:i + 2] = [a + b]
                else:
                    i += 1
    return vocab, out


WORDS = ("the of and to in is was that for it with as his on be at by I "
         "this had not are but from or have an they which one you were her "
         "all she there would their we him been has when who will more no "
         "if out so said what up its about into than them can only other "
         "Mamba state space model selective scan token 2048 1536 16 3.14 "
         "1,000 x86_64 AVX-512 H100 café naïve résumé Straße façade "
         "Ελληνικά русский язык 日本語 中文 한국어 العربية हिन्दी "
         "emoji 🐍 🚀 ½ Ⅻ ٣").split()
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'x",
                "n't", "'", "''"]
PUNCT = list(".,;:!?()[]{}\"-—–…/\\@#$%^&*_+=<>|~`")
SPACES = [" ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", " \n", "\r\n",
          "\u00a0", "\u3000", "\u2003", "\u2028", "\x0b", "\x1c", "\x85"]
COMBINING = ["\u0301", "\u0300", "\u0308", "\u0323", "\u0307", "\u0327",
             "\u030a", "\u0342", "\u093c", "\u05b4"]
NFC_CASES = ["e\u0301", "A\u030a", "\u212b", "\u2126", "\u0958", "s\u0323\u0307",
             "s\u0307\u0323", "\u1100\u1161", "\u1100\u1161\u11a8",
             "\uac00\u11a8", "\u0f73", "\u1e9b\u0323", "\u00c5\u0301",
             "\u03b9\u0308\u0301", "\u0344", "q\u0307\u0323"]


def _draw(rng, choices):
    """An item of the first pool whose bound a uniform draw is below (a
    callable pool makes its item from the generator)."""
    r = rng.random()
    for bound, pool in choices:
        if r < bound:
            return pool(rng) if callable(pool) else pool[rng.integers(len(pool))]
    raise AssertionError("the last bound must be 1")


def _number(bound):
    return lambda rng: str(int(rng.integers(0, bound)))


def corpus(rng, n):
    """`n` random lines of the pools above."""
    lines = []
    for _ in range(n):
        parts = []
        for _ in range(int(rng.integers(3, 15))):
            parts.append(_draw(rng, [(0.6, WORDS), (0.7, CONTRACTIONS),
                                     (0.85, PUNCT), (1.0, _number(100000))]))
            parts.append(" " if rng.random() < 0.8 else
                         SPACES[rng.integers(len(SPACES))])
        lines.append("".join(parts))
    return lines


SPECIALS = ["<|endoftext|>", "<|padding|>"]
SPACE_RUNS = [" " * n for n in (8, 4, 3, 2)]


def tokenizer_json(rng, merges=300, lines=200, variant="neox"):
    """A tokenizer.json of GPT-NeoX's form (what Mamba's checkpoints ship)
    trained on the random corpus: the two special tokens first (not
    normalized), then the bytes and merges, then runs of spaces as
    normalized added tokens. Variants change one setting each."""
    vocab, pairs = train_bpe(corpus(rng, lines), merges, len(SPECIALS))
    for i, s in enumerate(SPECIALS):
        vocab[s] = i
    added = [{"id": i, "content": s, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True}
             for i, s in enumerate(SPECIALS)]
    for run in SPACE_RUNS:
        added.append({"id": len(vocab), "content": run, "single_word": False,
                      "lstrip": False, "rstrip": False, "normalized": True,
                      "special": False})
        vocab[run] = len(vocab)
    byte_level_step = {"type": "ByteLevel", "add_prefix_space": False,
                       "trim_offsets": True, "use_regex": True}
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": dict(byte_level_step),
        "post_processor": dict(byte_level_step),
        "decoder": dict(byte_level_step),
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": ["%s %s" % p for p in pairs]},
    }
    if variant == "prefix-space":
        tj["pre_tokenizer"]["add_prefix_space"] = True
    elif variant == "no-regex":
        tj["pre_tokenizer"]["use_regex"] = False
    elif variant == "pair-merges":
        # Newer files: merges as pairs; ignore_merges (whole words in the
        # vocabulary taken as they are).
        tj["model"]["merges"] = [list(p) for p in pairs]
        tj["model"]["ignore_merges"] = True
    elif variant == "template":
        # No normalizer, and a template around the sequence.
        tj["normalizer"] = None
        tj["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "<|padding|>", "type_id": 0}}],
            "pair": [],
            "special_tokens": {
                "<|endoftext|>": {"id": "<|endoftext|>", "ids": [0],
                                  "tokens": ["<|endoftext|>"]},
                "<|padding|>": {"id": "<|padding|>", "ids": [1],
                                "tokens": ["<|padding|>"]}}}
    else:
        assert variant == "neox", variant
    return tj


def write_tokenizer(directory, tj):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "tokenizer.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    return path


def random_text(rng, length):
    """Text to tokenize: the corpus' pools, NFC's hard cases, combining
    marks, added tokens and random code points of many scripts."""
    choices = [(0.35, WORDS), (0.45, SPACES), (0.55, CONTRACTIONS),
               (0.65, PUNCT), (0.72, NFC_CASES), (0.77, COMBINING),
               (0.80, SPECIALS + SPACE_RUNS), (0.85, _number(10**6)),
               (1.0, random_char)]
    return "".join(_draw(rng, choices) for _ in range(length))


def random_char(rng):
    """A code point assigned in this unicodedata's version whose letter,
    number and separator classes the `regex` module agrees on (its
    Unicode version may be newer)."""
    while True:
        block = rng.integers(4)
        cp = int(rng.integers(0x20, 0x3000) if block < 2 else
                 rng.integers(0x3000, 0x10000) if block == 2 else
                 rng.integers(0x10000, 0x20000))
        c = chr(cp)
        cat = unicodedata.category(c)
        if cat in ("Cn", "Cs", "Co"):
            continue
        letter = regex.match(r"\p{L}", c) is not None
        number = regex.match(r"\p{N}", c) is not None
        separator = regex.match(r"[\p{Zs}\p{Zl}\p{Zp}]", c) is not None
        if (letter == cat.startswith("L") and number == cat.startswith("N")
                and separator == (cat in ("Zs", "Zl", "Zp"))):
            return c
